"""A shared server stays fair and keeps its secrets: caps, queue, disk quota, Clear, locks, names, paths."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from audio_files import write_sound_folder, write_tone
from helpers import REPO_ROOT, SUBPROCESS_ENV, make_tiny_config
from web_helpers import FakeRunner, make_zip

from sda.runs.checkpoints import list_checkpoints, read_checkpoint_summary
from sda.runs.folder import read_run_info
from sda.server.dataset_summary import DatasetCheck
from sda.server.ingest import safe_file_name
from sda.server.secret import browser_secret
from sda.server.sessions import TrainingManager
from sda.server.settings import AppSettings, SettingsError
from sda.server.workspace import Workspace, new_workspace_id
from sda.training import train
from sda.training.config import ConfigError
from sda.ui.public_text import public_text
from sda.ui.serving import servable
from sda.ui.train import config_form
from sda.ui.train.config_form import ServerCaps
from sda.ui.train.page import TrainPage
from sda.ui.train.run_status import run_state
from sda.ui.train.state import PageState


def _page(settings, manager=None, runners=None):
    runners = [] if runners is None else runners

    def factory():
        runners.append(FakeRunner())
        return runners[-1]

    manager = manager or TrainingManager(
        max_concurrent=1, runner_factory=factory, device_resolver=lambda: "cpu", max_queue=settings.max_queue
    )
    return TrainPage(settings, manager), runners


def _workspace_with_sounds(settings, tmp_path, count=3) -> Workspace:
    workspace = Workspace(settings, new_workspace_id()).ensure()
    workspace.add_uploads(write_sound_folder(tmp_path / f"src-{workspace.id[:6]}", count=count))
    return workspace


def _ready_page(workspace: Workspace) -> PageState:
    return PageState(workspace_id=workspace.id, dataset=DatasetCheck(file_count=len(workspace.dataset_files())))


# ------------------------------------------------------------------ settings
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SDA_MAX_CONCURRENT_TRAININGS", "0"),
        ("SDA_MAX_CONCURRENT_TRAININGS", "1.5"),
        ("SDA_MAX_EPOCHS", "-3"),
        ("SDA_MAX_EPOCHS", "0"),
        ("SDA_MAX_TRAINING_MINUTES", "0"),
        ("SDA_MAX_QUEUE", "-1"),
        ("SDA_MAX_QUEUE", "many"),
        ("SDA_MAX_DISK_GB", "nan"),
        ("SDA_MAX_FILE_MB", "-1"),
        ("SDA_MAX_FILES", "inf"),
        ("SDA_WORKSPACE_TTL_DAYS", "-7"),
        ("SDA_TEST_TINY", "maybe"),
    ],
)
def test_nonsense_settings_are_refused_naming_the_variable(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv("SDA_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=f"{name}={value!r}"):
        AppSettings.from_env()


def test_caps_are_read_from_the_environment(monkeypatch, tmp_path):
    for name, value in {"SDA_DATA_ROOT": str(tmp_path), "SDA_MAX_EPOCHS": "50", "SDA_MAX_TRAINING_MINUTES": "2.5",
                        "SDA_MAX_QUEUE": "0", "SDA_MAX_DISK_GB": "1.5"}.items():
        monkeypatch.setenv(name, value)
    settings = AppSettings.from_env()
    assert (settings.max_epochs, settings.max_training_minutes, settings.max_queue, settings.max_disk_gb) == (
        50,
        2.5,
        0,
        1.5,
    )
    assert settings.max_disk_bytes == int(1.5 * 1024**3)


def test_the_app_does_not_start_with_a_nonsense_setting(tmp_path):
    env = {**SUBPROCESS_ENV, "SDA_DATA_ROOT": str(tmp_path), "SDA_MAX_CONCURRENT_TRAININGS": "0"}
    result = subprocess.run([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    assert "SDA_MAX_CONCURRENT_TRAININGS='0'" in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------ caps
def test_epoch_cap_lowers_presets_and_refuses_typed_values_over_it():
    caps = ServerCaps(max_epochs=40, max_training_minutes=5)
    config = config_form.build_config(10, "Auto", {}, caps=caps)
    assert config.max_epochs == 40 and config.max_training_minutes == 5
    with pytest.raises(ConfigError, match="'epochs' is 90; this server trains at most 40"):
        config_form.build_config(10, "Auto", {"epochs": "90"}, caps=caps)
    assert config_form.resume_config({"max_epochs": 300}, {}, caps).max_epochs == 40


def test_a_run_stops_with_a_checkpoint_when_its_minutes_are_up(tmp_path, sound_folder):
    settings = AppSettings(data_root=tmp_path / "data", max_training_minutes=3 / 60)
    workspace = Workspace(settings, new_workspace_id()).ensure()
    run = workspace.runs / "run-1"
    events = []
    config = make_tiny_config(max_epochs=100000, max_training_minutes=3 / 60)
    started = time.time()
    result = train(config, sound_folder, run, callback=events.append)
    took = time.time() - started
    assert result["was_cancelled"] and 3 <= took < 30
    assert read_run_info(run)["status"] == "time_limit"
    checkpoint = list_checkpoints(run / "checkpoints")[-1]
    summary = read_checkpoint_summary(checkpoint)
    assert summary["reason"] == "time_limit" and summary["elapsed_seconds"] >= 3
    assert any(getattr(e, "phase", "") == "time_limit" for e in events)

    page, runners = _page(settings)
    assert run_state(page.manager, run) == "time_limit"
    state = _ready_page(workspace)
    out = page.live.attach(state, run)
    assert "Time limit" in out["status"] and "the most this server gives one run" in out["status"]
    refused = page.runs.resume(state)
    assert "at most 0.05 min" in refused["settings_msg"] and not runners


def test_a_full_queue_refuses_a_start_and_says_so(tmp_path):
    settings = AppSettings(data_root=tmp_path / "data", max_queue=1)
    page, runners = _page(settings)
    pages = [_ready_page(_workspace_with_sounds(settings, tmp_path)) for _ in range(3)]
    assert "settings_msg" in page.runs.start(pages[0], "Auto") and page.manager.running_count() == 1
    page.runs.start(pages[1], "Auto")
    assert page.manager.queue_position(pages[1].view.run_dir) == 1
    refused = page.runs.start(pages[2], "Auto")
    assert "busy" in refused["settings_msg"] and "Try again" in refused["settings_msg"]
    assert pages[2].view is None
    assert not list(Workspace(settings, pages[2].workspace_id).runs.iterdir()), "no half-made run left behind"


def test_over_the_disk_quota_uploads_and_starts_are_refused(tmp_path):
    settings = AppSettings(data_root=tmp_path / "data", max_disk_gb=200_000 / 1024**3)  # 200 kB for everyone
    first = Workspace(settings, new_workspace_id()).ensure()
    report = first.add_uploads([write_tone(tmp_path / "a.wav", seconds=1.5, sr=44100)])  # about 130 kB
    assert report.added == ["a.wav"]
    second = Workspace(settings, new_workspace_id()).ensure()
    report = second.add_uploads([write_tone(tmp_path / "b.wav", seconds=1.5, sr=44100)])
    assert report.added == [] and "storage" in report.rejected[0][1] and "SDA_MAX_DISK_GB" in report.rejected[0][1]
    assert second.dataset_files() == []

    page, runners = _page(settings)
    write_tone(first.dataset_dir() / "c.wav", seconds=1.5, sr=44100)  # now over the quota
    refused = page.runs.start(_ready_page(first), "Auto")
    assert "storage" in refused["settings_msg"] and not runners


# ------------------------------------------------------------------ one workspace, two tabs
def test_two_tabs_of_one_workspace_start_one_training(tmp_path):
    settings = AppSettings(data_root=tmp_path / "data")
    page, runners = _page(settings, runners=[])
    workspace = _workspace_with_sounds(settings, tmp_path)
    tabs = [_ready_page(workspace) for _ in range(4)]
    gate = threading.Barrier(len(tabs))
    results = []

    def press_start(tab):
        gate.wait()
        results.append(page.runs.start(tab, "Auto"))

    threads = [threading.Thread(target=press_start, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runners) == 1 and len(list(workspace.runs.iterdir())) == 1
    assert sum("already training" in r.get("settings_msg", "") for r in results) == 3


# ------------------------------------------------------------------ Clear
@pytest.mark.parametrize("phase", ["running", "queued"])
def test_clear_keeps_the_sounds_a_waiting_or_running_training_will_read(tmp_path, phase):
    settings = AppSettings(data_root=tmp_path / "data")
    page, runners = _page(settings)
    if phase == "queued":  # someone else holds the only slot
        page.runs.start(_ready_page(_workspace_with_sounds(settings, tmp_path)), "Auto")
    workspace = _workspace_with_sounds(settings, tmp_path)
    files = workspace.dataset_files()
    tab = _ready_page(workspace)
    page.runs.start(tab, "Auto")
    assert page.manager.phase(tab.view.run_dir) == phase
    assert not read_run_info(tab.view.run_dir).get("dataset"), "no run.json names the files yet"

    out = page.dataset.clear_dataset(tab, "Auto")
    assert "could not be deleted now" in out["dataset_note"]
    assert all(f.is_file() for f in files)
    assert workspace.dataset_files() == []

    page.manager.cancel(tab.view.run_dir)
    for runner in runners:
        runner.running = False
    workspace.add_uploads(write_sound_folder(tmp_path / "more", count=1))
    out = page.dataset.clear_dataset(tab, "Auto")
    assert "deleted" in out["dataset_note"]


def test_the_demo_button_keeps_the_sounds_a_training_reads_and_says_so(tmp_path):
    settings = AppSettings(data_root=tmp_path / "data")
    page, runners = _page(settings)
    workspace = _workspace_with_sounds(settings, tmp_path)
    files = workspace.dataset_files()
    tab = _ready_page(workspace)
    page.runs.start(tab, "Auto")
    note = page.dataset.use_demo(tab, "Auto")["dataset_note"]
    assert "Loaded the demo sounds" in note and "previous sounds stay" in note
    assert all(f.is_file() for f in files) and {f.name for f in workspace.dataset_files()}.isdisjoint(
        f.name for f in files
    )


# ------------------------------------------------------------------ names and paths
def test_file_name_limits_count_bytes():
    name = safe_file_name("🎵" * 70 + ".wav")
    assert name.endswith(".wav") and len(name.encode("utf-8")) <= 120 and name.startswith("🎵")


def test_a_long_emoji_name_gets_the_right_reason(tmp_path):
    workspace = Workspace(AppSettings(data_root=tmp_path / "data"), new_workspace_id()).ensure()
    sound = write_tone(tmp_path / "t.wav").read_bytes()
    archive = make_zip(tmp_path / "pack.zip", {"🎵" * 70 + ".wav": sound, "🥁" * 70 + ".txt": b"notes"})
    report = workspace.add_uploads([archive])
    assert len(report.added) == 1 and report.added[0].endswith(".wav")
    assert len(report.rejected) == 1 and "not an audio file type (.txt)" in report.rejected[0][1]


def test_messages_show_file_names_not_server_paths():
    workspace_id = new_workspace_id()
    path = f"/data/workspaces/{workspace_id}/uploads/set-00000000000000000001/kick.wav"
    assert (
        public_text(f"Error opening '{path}': Format not recognised.")
        == "Error opening 'kick.wav': Format not recognised."
    )
    assert public_text(f"No such file or directory: {path}") == "No such file or directory: kick.wav"
    assert workspace_id not in public_text(f"workspace {workspace_id}")
    for kept in ("3 / 10 epochs", "chunks/s", "see http://localhost:7860/", "loss 0.5 · KL 1/2"):
        assert public_text(kept) == kept
    root = "/home/me/My Sound Data"
    sound = f"{root}/workspaces/{workspace_id}/uploads/set-00000000000000000001/kick drum.wav"
    message = f"Skipped {sound}: could not be read ({sound} is damaged)"
    assert public_text(message, [root]) == "Skipped kick drum.wav: could not be read (kick drum.wav is damaged)"


def test_api_errors_pass_the_same_filter_as_the_page(tmp_path):
    import gradio as gr

    from sda.ui.api_errors import public_errors

    settings = AppSettings(data_root=tmp_path / "My Data")
    workspace_id = new_workspace_id()
    sound = settings.workspaces_root / workspace_id / "play" / "drop.wav"

    def failing(kind):
        raise (ValueError if kind == "engine" else gr.Error)(f"Could not read {sound}: it is damaged.")

    for kind in ("engine", "page"):
        with pytest.raises(gr.Error) as caught:
            public_errors(failing, settings)(kind)
        text = str(caught.value.message)
        assert text == "Could not read drop.wav: it is damaged.", text
        assert workspace_id not in text and str(tmp_path) not in text


def test_the_browser_secret_is_private_from_its_first_byte(tmp_path, monkeypatch):
    monkeypatch.delenv("SDA_BROWSER_SECRET", raising=False)
    settings = AppSettings(data_root=tmp_path / "data")
    old = os.umask(0)  # even where new files are world-readable by default
    try:
        browser_secret(settings)
    finally:
        os.umask(old)
    assert (settings.data_root / ".sda-browser-secret").stat().st_mode & 0o777 == 0o600
    assert ".sda-browser-secret" in (REPO_ROOT / ".gitignore").read_text().split()


def test_servable_copies_any_file_where_gradio_serves_it(tmp_path):
    from gradio.utils import get_upload_folder

    hidden = tmp_path / "anywhere" / ".picture.png"
    hidden.parent.mkdir()
    hidden.write_bytes(b"one")
    served = Path(servable(hidden, name="dataset.png"))
    assert served.is_relative_to(Path(get_upload_folder())) and served.name == "dataset.png"
    assert served.read_bytes() == b"one" and servable(hidden, name="dataset.png") == str(served)
    time.sleep(0.01)
    hidden.write_bytes(b"two")
    again = Path(servable(hidden, name="dataset.png"))
    assert again != served and again.read_bytes() == b"two"
    assert Path(servable(hidden)).name == "picture.png", "never a dotfile"
