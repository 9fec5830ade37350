"""The whole flow in real Chromium, wherever the app's data lives.

README's way: `python app.py` from the repository root with no SDA_* or
GRADIO_* variable but the port, the real model, and the data under the
working folder (workspaces/, .sda-browser-secret, .sda-server-key), which the test removes
again. A Space's way: the data root outside both the working folder and
the temp folder (like a Space's persistent /data). In both, every file the
page shows or offers must reach the browser: the dataset picture, previews
that really play, the model download.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import soundfile as sf
from helpers import REPO_ROOT
from web_helpers import (
    DEMO_COUNT,
    AppServer,
    download_model,
    open_app,
    readme_app,
    require_browser,
    set_advanced,
    text,
    wait_enabled,
    wait_line_points,
    wait_text,
)

require_browser()

PREVIEW_SECONDS = 2.0  # a preview drawn from the model lasts this long (sda/training/preview.py)

# Characters of an element's text that the page's font cannot draw: each is drawn
# on a canvas and compared with a code point no font has (the missing-glyph box).
MISSING_GLYPHS_JS = """(sel) => {
    const el = document.querySelector(sel);
    const style = getComputedStyle(el);
    const canvas = document.createElement("canvas");
    canvas.width = 80; canvas.height = 80;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    const draw = (ch) => {
        ctx.clearRect(0, 0, 80, 80);
        ctx.font = style.fontSize + " " + style.fontFamily;
        ctx.fillText(ch, 10, 50);
        return ctx.getImageData(0, 0, 80, 80).data.join(",");
    };
    const box = draw("\\u0378");  // unassigned: drawn as the missing-glyph box
    const chars = [...new Set([...el.textContent])].filter((c) => c.codePointAt(0) > 127 && c.trim());
    return { missing: chars.filter((c) => draw(c) === box), checked: chars, boxDetected: draw("\\u0379") === box };
}"""

# Play a preview's player and report how far it got.
PLAY_JS = """async (url) => {
    const audio = [...document.querySelectorAll("#previews audio")].find((a) => a.src === url);
    audio.currentTime = 0;
    await audio.play();
    const start = performance.now();
    while (audio.currentTime < 0.3 && performance.now() - start < 10000) await new Promise((ok) => setTimeout(ok, 50));
    const reached = audio.currentTime;
    audio.pause();
    return { reached, duration: audio.duration };
}"""


def _run_id(page) -> str:
    match = re.search(r"run-[0-9-]+", text(page, "#status"))
    assert match, text(page, "#status")
    return match.group(0)


def _picture_shown(page) -> None:
    """The dataset picture is on the page and its file really came from the server."""
    page.wait_for_function(
        "() => "
        "{ const i = document.querySelector('#dataset-picture img'); return i && i.complete && i.naturalWidth > 100; }",
        timeout=30_000,
    )


def _preview_plays(page) -> None:
    """A preview's URL serves a WAV of a preview's length, and its player plays it."""
    page.wait_for_selector("#previews audio", timeout=180_000)
    items = page.locator("#previews .sda-preview")
    sample = next(
        i for i in range(items.count()) if "new sound" in items.nth(i).locator(".sda-preview-label").inner_text()
    )
    url = items.nth(sample).locator("audio").get_attribute("src")
    response = page.request.get(url)
    assert response.ok, (url, response.status)
    body = response.body()
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    audio, rate = sf.read(io.BytesIO(body))
    assert rate == 48000 and len(audio) == int(PREVIEW_SECONDS * rate)
    assert abs(audio).max() > 0
    played = page.evaluate(PLAY_JS, page.evaluate("(u) => new URL(u, location.href).href", url))
    assert played["reached"] >= 0.3, played
    assert abs(played["duration"] - PREVIEW_SECONDS) < 0.05, played


def _no_missing_glyphs(page, selector: str) -> None:
    found = page.evaluate(MISSING_GLYPHS_JS, selector)
    assert found["boxDetected"], "the check must tell a missing glyph"
    assert not found["missing"], f"{selector} shows boxes for {found['missing']}"


def _main_flow(page, *, start_timeout: float) -> str:
    """Demo sounds -> summary and picture -> Start -> live plots -> previews play -> Cancel -> reload -> Resume
    -> model."""
    page.click("#demo-data-btn")
    summary = wait_text(page, "#dataset-summary", f"{DEMO_COUNT} files", timeout=120)
    assert "48 kHz" in summary
    _picture_shown(page)
    wait_enabled(page, "#start-btn", timeout=30)

    page.click("#start-btn")
    wait_text(page, "#status", "is training", timeout=start_timeout)
    run_id = _run_id(page)
    _no_missing_glyphs(page, "#status")
    wait_line_points(page, "#step-plot", 2, timeout=start_timeout)
    _preview_plays(page)

    page.click("#cancel-btn")
    status = wait_text(page, "#status", "was cancelled", timeout=120)
    assert "checkpoint was saved" in status
    _no_missing_glyphs(page, "#status")

    page.reload()
    wait_text(page, "#status", run_id, timeout=60)
    wait_text(page, "#status", "was cancelled")
    page.wait_for_selector("#previews audio", timeout=30_000)
    wait_enabled(page, "#resume-btn")
    page.click("#resume-btn")
    wait_text(page, "#status", "Resumed from", timeout=60)
    wait_text(page, "#status", "is training", timeout=start_timeout)
    wait_enabled(page, "#cancel-btn")
    page.click("#cancel-btn")
    wait_text(page, "#status", "was cancelled", timeout=120)
    assert download_model(page)[:2] == b"PK", "a PyTorch checkpoint (zip)"
    _no_missing_glyphs(page, "body")
    return run_id


@pytest.mark.skipif(not DEMO_COUNT, reason="no demo sounds in assets/demo")
def test_as_readme_runs_it_demo_sounds_train_preview_cancel_resume_and_download(browser, tmp_path):
    with readme_app(tmp_path / "server.log") as (server, before):
        context, page = open_app(browser, server)
        # The real model, on whatever this machine is: stopped early, at the first preview.
        _main_flow(page, start_timeout=300)
        context.close()
        assert (REPO_ROOT / "workspaces").is_dir(), "the data lives under the working folder, as README says"
        for key_file in (".sda-browser-secret", ".sda-server-key"):
            mode = (REPO_ROOT / key_file).stat().st_mode & 0o777
            assert key_file in before[1] or mode == 0o600, f"{key_file} is readable by its owner only"


def _outside_cwd_and_temp() -> Path:
    """A fresh folder under neither the working folder nor the temp folder (as a Space's /data)."""
    temp, cwd = Path(tempfile.gettempdir()).resolve(), Path.cwd().resolve()
    for parent in (Path("/var/tmp"), Path.home() / ".cache"):
        try:
            parent = parent.resolve()
            if parent.is_relative_to(temp) or parent.is_relative_to(cwd) or parent.is_relative_to(REPO_ROOT):
                continue
            folder = parent / f"sda-test-data-{uuid.uuid4().hex[:8]}"
            folder.mkdir(parents=True)
            return folder
        except OSError:
            continue
    pytest.fail("no writable folder outside the working folder and the temp folder")


@pytest.mark.skipif(not DEMO_COUNT, reason="no demo sounds in assets/demo")
def test_with_data_outside_the_working_and_temp_folders_every_file_reaches_the_page(browser, tmp_path):
    data = _outside_cwd_and_temp()
    server = AppServer(data, log_path=tmp_path / "server.log")
    try:
        server.start()
        context, page = open_app(browser, server)
        set_advanced(page, epochs=100000, preview_interval=10, checkpoint_interval=10)
        run_id = _main_flow(page, start_timeout=120)
        assert next((data / "workspaces").glob(f"*/runs/{run_id}/checkpoints/*.pt"), None), (
            "the run lives in the data root"
        )
        _no_server_paths_in_the_page(page, data, run_id)
        context.close()
    except Exception:
        print(server.log())
        raise
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def _no_server_paths_in_the_page(page, data: Path, run_id: str) -> None:
    """Errors and warnings that name files by their server path show only the file's name."""
    from sda.runs.folder import update_run_info
    from sda.training.metrics import TrainingCompleteEvent, WarningEvent
    from sda.training.metrics_log import MetricsLog

    (run,) = (data / "workspaces").glob(f"*/runs/{run_id}")
    workspace_id = run.parent.parent.name
    sound = next((run.parent.parent / "uploads").glob("set-*/*.ogg"))
    past = run.parent / "run-20250101-000000"
    past.mkdir()
    log = MetricsLog(past)
    log.append(WarningEvent(0, "file_skipped", f"Skipped {sound}: could not be read ({sound} is damaged)"))
    error = f"[Errno 2] No such file or directory: '{sound}'"
    log.append(TrainingCompleteEvent(float("nan"), float("nan"), None, None, 10, 1.0, error=error))
    log.close()
    update_run_info(
        past, status="failed", created_at=time.time(), config={"max_epochs": 10}, error=error, dataset={"files": []}
    )

    page.click("#runs-refresh-btn")
    page.locator("#runs [data-testid=cell-0-0]").get_by_text(past.name).click()
    status = wait_text(page, "#status", "stopped with an error")
    assert f"No such file or directory: '{sound.name}'" in status
    assert f"Skipped {sound.name}" in wait_text(page, "#warnings", "Skipped")
    shown = page.evaluate("() => document.body.innerText")
    for secret in (str(data), workspace_id):
        assert secret not in shown
    assert json.dumps(shown).count(sound.name) >= 2
