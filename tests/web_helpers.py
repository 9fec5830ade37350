"""Helpers for the web tests: the app as a subprocess, a headless browser, page actions, a fake runner.

The server runs as `python app.py` in its own process (as a user runs it),
on a free port, with its data in a temporary folder and the tiny test model
(SDA_TEST_TINY=1), or (``AppServer.as_readme_says``) from the repository
root with no SDA_* or GRADIO_* variable but the port, exactly as README
tells a user. The browser is the system Chromium driven by Playwright;
without it (or without Playwright) browser tests are skipped, except in CI
(CI=true), where that is a failure. The fixtures built on these (one
Chromium per module, one started app per module, the sounds to upload) are
in conftest.py; sounds to upload come from audio_files.write_sound_folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import REPO_ROOT

DEMO_DIR = REPO_ROOT / "assets" / "demo"
DEMO_COUNT = sum(p.suffix.lower() in (".ogg", ".flac", ".wav") for p in DEMO_DIR.iterdir()) if DEMO_DIR.is_dir() else 0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]


IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_browser():
    """Playwright's sync API, for a module of browser tests (call it at import).

    Locally a missing Playwright or Chromium skips the module; in CI it fails
    it, so a CI run that ran no browser test never passes.
    """
    problem = None
    try:
        import playwright.sync_api as api
    except ImportError:
        api, problem = None, "the playwright package is not installed"
    if problem is None and not Path(CHROMIUM).exists():
        problem = f"Chromium is not at {CHROMIUM}"
    if problem:
        if IN_CI:
            pytest.fail(f"Browser tests cannot run: {problem} (CI=true, so this is a failure).", pytrace=False)
        pytest.skip(f"browser tests need a browser: {problem}", allow_module_level=True)
    return api


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip with entries named exactly as given (including hostile names)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """`python app.py` on a free port; stopped (and its log kept) at the end."""

    def __init__(self, data_root: Path, extra_env: dict | None = None, log_path: Path | None = None) -> None:
        self.data_root = Path(data_root)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or self.data_root / "server.log"
        self.env = {
            **os.environ,
            "GRADIO_SERVER_PORT": str(self.port),
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "SDA_DATA_ROOT": str(self.data_root),
            "SDA_TEST_TINY": "1",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None

    @classmethod
    def as_readme_says(cls, log_path: Path) -> AppServer:
        """`python app.py` from the repository root with no SDA_* or GRADIO_* variable but the port.

        Its data lands where a user's would: workspaces/, .sda-browser-secret and .sda-server-key
        in the repository root (the caller removes what the test made).
        """
        server = cls(REPO_ROOT, log_path=log_path)
        server.env = {k: v for k, v in os.environ.items() if not k.startswith(("SDA_", "GRADIO_"))}
        server.env.update(GRADIO_SERVER_PORT=str(server.port), PYTHONUNBUFFERED="1")
        return server

    def start(self, timeout: float = 90.0) -> AppServer:
        self.data_root.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app.py exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/config", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"app.py did not answer within {timeout:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""


_KEY_FILES = (".sda-browser-secret", ".sda-server-key")  # what app.py keeps in its data root besides workspaces/


def _what_the_app_leaves_in_the_repo() -> tuple[set[Path], set[str]]:
    workspaces = REPO_ROOT / "workspaces"
    had = {name for name in _KEY_FILES if (REPO_ROOT / name).exists()}
    return (set(workspaces.iterdir()) if workspaces.is_dir() else set()), had


def _remove_what_the_test_made(before: tuple[set[Path], set[str]]) -> None:
    workspaces, had_keys = before
    root = REPO_ROOT / "workspaces"
    if root.is_dir():
        for path in set(root.iterdir()) - workspaces:
            shutil.rmtree(path, ignore_errors=True)
        if not workspaces:
            shutil.rmtree(root, ignore_errors=True)
    for name in set(_KEY_FILES) - had_keys:
        (REPO_ROOT / name).unlink(missing_ok=True)


@contextmanager
def readme_app(log_path: Path):
    """`AppServer.as_readme_says`, started; yields (server, workspaces the repo had before).

    Its log is printed if the block fails; afterwards the server is stopped, what
    it wrote into the repository is removed, and the repository is checked to be
    as it was.
    """
    before = _what_the_app_leaves_in_the_repo()
    server = AppServer.as_readme_says(log_path=log_path)
    try:
        server.start()
        yield server, before
    except Exception:
        print(server.log())
        raise
    finally:
        server.stop()
        _remove_what_the_test_made(before)
    assert _what_the_app_leaves_in_the_repo() == before


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


# ------------------------------------------------------------------ page helpers
def open_app(browser, server: AppServer, **context_options):
    """A new browser context (a new user: its own localStorage) with the app loaded."""
    context = browser.new_context(viewport={"width": 1400, "height": 2000}, accept_downloads=True, **context_options)
    page = context.new_page()
    page.goto(server.url)
    # The page's load event has run: the status line says something.
    page.wait_for_function(f"(({_TEXT_JS})('#status') || '').trim().length > 0", timeout=60_000)
    return context, page


# The text a user reads in a component, without Gradio's (invisible) progress tracker.
_TEXT_JS = """(sel) => {
    const e = document.querySelector(sel);
    if (!e) return null;
    const copy = e.cloneNode(true);
    copy.querySelectorAll('[data-testid="status-tracker"]').forEach((n) => n.remove());
    return copy.textContent;
}"""


def text(page, selector: str) -> str:
    return page.evaluate(_TEXT_JS, selector) or ""


def wait_text(page, selector: str, expected: str, timeout: float = 60.0) -> str:
    """Wait until the element's text contains ``expected``; return the text."""
    page.wait_for_function(
        f"([sel, expected]) => {{ const t = ({_TEXT_JS})(sel); return t !== null && t.includes(expected); }}",
        arg=[selector, expected], timeout=timeout * 1000,
    )
    return text(page, selector)


def wait_enabled(page, selector: str, enabled: bool = True, timeout: float = 30.0) -> None:
    page.wait_for_function(
        "([sel, on]) => { const e = document.querySelector(sel); return !!e && e.disabled === !on; }",
        arg=[selector, enabled], timeout=timeout * 1000,
    )


def line_points(page, plot_selector: str) -> int:
    """Points on the longest line of a gr.LinePlot (Vega draws each line as one SVG path)."""
    return page.evaluate(
        """(sel) => Math.max(0, ...[...document.querySelectorAll(sel + ' path[aria-roledescription="line mark"]')]
               .map((p) => (p.getAttribute('d') || '').split('L').length))""",
        plot_selector,
    )


def wait_line_points(page, plot_selector: str, at_least: int, timeout: float = 60.0) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        points = line_points(page, plot_selector)
        if points >= at_least:
            return points
        time.sleep(0.3)
    raise AssertionError(f"{plot_selector} has {line_points(page, plot_selector)} points, expected {at_least}")


def upload_sounds(page, paths) -> None:
    page.set_input_files("#dataset-upload input[type=file]", [str(p) for p in paths])


def set_advanced(page, **values) -> None:
    """Fill Advanced fields by key (epochs=8, learning_rate="-1")."""
    if not page.is_visible("#adv-epochs"):
        page.click("#advanced")
    for key, value in values.items():
        page.fill(f"#adv-{key} input, #adv-{key} textarea", str(value))


def epoch_shown(page) -> int:
    import re

    match = re.search(r"Epoch (\d+) of", text(page, "#progress"))
    return int(match.group(1)) if match else 0


def download_model(page) -> bytes:
    """Press "Get the best model" and fetch the checkpoint it offers (a PyTorch zip of some size)."""
    page.click("#download-model-btn")
    wait_text(page, "#model-note", "Best model so far")
    link = page.locator("#model-file a").first
    link.wait_for(timeout=30_000)
    response = page.request.get(link.get_attribute("href"))
    assert response.ok and len(response.body()) > 10_000
    return response.body()


# ------------------------------------------------------------------ a fake training runner
class FakeRunner:
    """Stands in for TrainingRunner: runs until told to finish."""

    def __init__(self):
        self.running = False
        self.calls = []
        self.cancelled = threading.Event()
        self.saves = 0

    def start(self, config, file_paths, output_dir, device, limits=None):
        self.calls.append(("start", output_dir))
        self.running = True

    def resume(self, config, file_paths, output_dir, device, checkpoint_path, limits=None):
        self.calls.append(("resume", output_dir, checkpoint_path))
        self.running = True

    def cancel(self):
        self.cancelled.set()
        self.running = False

    def request_checkpoint(self):
        self.saves += 1

    def is_running(self):
        return self.running

    def last_error(self):
        return None

    def wait(self, timeout=None):
        return not self.running
