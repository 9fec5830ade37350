"""Shared test setup and fixtures: import paths, a small thread budget, sounds, the tiny kit model, the browser.

Test modules import helpers by name from helpers.py, audio_files.py,
generation_helpers.py and web_helpers.py (tests/ is put on sys.path here),
never from this file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
for _path in (str(TESTS_DIR.parent), str(TESTS_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

os.environ["SDA_TEST"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402
from audio_files import write_sound_folder  # noqa: E402
from helpers import quick_previews  # noqa: E402

# CI machines are small and shared; more threads only add contention.
torch.set_num_threads(2)


def pytest_configure(config):
    config.addinivalue_line("markers", "steps: the class's tests are steps of one story, run in order on shared "
                                       "state; after a step fails the later ones xfail")
    config.addinivalue_line("markers", "app_env(env): extra environment for the module's `server` (python app.py)")


# ------------------------------------------------------------------ steps of one story
_failed_step: dict[str, str] = {}


def pytest_runtest_makereport(item, call):
    if call.excinfo is not None and call.when in ("setup", "call") and item.get_closest_marker("steps"):
        _failed_step.setdefault(item.parent.nodeid, item.name)


def pytest_runtest_setup(item):
    if item.get_closest_marker("steps") and item.parent.nodeid in _failed_step:
        pytest.xfail(f"an earlier step failed ({_failed_step[item.parent.nodeid]})")


# ------------------------------------------------------------------ training
@pytest.fixture(scope="module")
def fast_previews():
    """Cheap previews for in-process train() calls in this module (not for the plan's own scripts)."""
    with quick_previews():
        yield


@pytest.fixture(scope="session")
def kit_run(tmp_path_factory) -> Path:
    """The tiny kit model (generation_helpers.train_tiny_kit, quick previews), trained once per session.

    Its run folder and its sounds (``kit_run.parent / "kit"``) are shared: a test
    that writes into the run (analyse, rename, move) takes ``kit_run_copy``. At the
    end of the session the folder is checked to be as training left it.
    """
    from generation_helpers import folder_state, train_tiny_kit

    root = tmp_path_factory.mktemp("kit")
    with quick_previews():
        run = train_tiny_kit(root)
    trained = folder_state(root)
    yield run
    assert folder_state(root) == trained, "a test changed the shared kit; it must work on kit_run_copy"


@pytest.fixture
def kit_run_copy(kit_run, tmp_path) -> Path:
    """This test's own copy of the kit's run (with its sounds beside it, as in kit_run)."""
    from generation_helpers import copy_kit

    return copy_kit(kit_run, tmp_path / "kit")


# ------------------------------------------------------------------ sounds
@pytest.fixture
def sound_folder(tmp_path) -> Path:
    """A fresh folder of six short, varied sound files (audio_files.SOUND_FOLDER_FILES)."""
    folder = tmp_path / "sounds"
    write_sound_folder(folder)
    return folder


@pytest.fixture(scope="session")
def shared_sound_folder(tmp_path_factory) -> Path:
    """The same six sounds, written once per session (tests must not modify it)."""
    folder = tmp_path_factory.mktemp("shared_sounds")
    write_sound_folder(folder)
    return folder


@pytest.fixture(scope="session")
def sounds(tmp_path_factory) -> list[Path]:
    """Six decaying tones a user uploads on the page, written once per session (tests must not modify them)."""
    return write_sound_folder(tmp_path_factory.mktemp("upload_sounds"), count=6)


# ------------------------------------------------------------------ the app and a browser
@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test module (each such module calls web_helpers.require_browser() at import)."""
    import playwright.sync_api as api
    from web_helpers import launch_browser

    with api.sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """`python app.py` on a free port with the tiny test model and its data in a temporary folder, for this module.

    A module marked ``pytest.mark.app_env({...})`` starts it with that extra environment.
    """
    from web_helpers import AppServer

    marker = request.node.get_closest_marker("app_env")
    app = AppServer(tmp_path_factory.mktemp("sda-app"), extra_env=marker.args[0] if marker else None).start()
    yield app
    app.stop()
