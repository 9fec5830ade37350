"""Quota on every write: each byte a workspace causes counts, and is checked before it is written.

Covers the shared-server findings "the disk quota is checked only at upload and at
Start: never for generated sounds, exports, packs, previews or the copies in
Gradio's cache" and "history is capped by count, not bytes". Handler level,
on the tiny kit model: a refused action names the quota and leaves every
file on disk as it was.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from audio_files import write_tone
from generation_helpers import folder_state
from web_helpers import FakeRunner

from sda.server import sessions
from sda.server.disk_quota import disk_used, folder_bytes
from sda.server.history import History
from sda.server.public_mode import fairness_default
from sda.server.sessions import TrainingJob, TrainingManager
from sda.server.settings import HISTORY_MAX_MB, AppSettings
from sda.server.training_quota import quota_watch
from sda.server.workspace import Workspace, new_workspace_id
from sda.server.workspace_quota import MB, WorkspaceQuota
from sda.server.write_sizes import history_bytes, pack_bytes
from sda.ui.play.page import PlayPage
from sda.ui.serving import cache_schedule, servable, served_folder
from sda.ui.train.page import TrainPage
from sda.ui.train.run_status import status_markdown
from sda.ui.train.state import PageState

QUOTA_VARIABLES = ("SDA_WORKSPACE_DISK_MB", "SDA_MAX_DISK_GB")


@pytest.fixture(scope="module")
def kit_workspace(kit_run, tmp_path_factory):
    """A workspace holding the tiny kit model as its one run."""
    root = tmp_path_factory.mktemp("quota")
    settings = AppSettings(data_root=root / "data")
    workspace = Workspace(settings, new_workspace_id()).ensure()
    shutil.copytree(kit_run, workspace.runs / "run-20250101-000000")
    return SimpleNamespace(settings=settings, workspace=workspace, root=root)


def _with_room(kit_workspace, room_mb: float) -> tuple[PlayPage, object]:
    """The Play handlers of a server whose workspace quota leaves ``room_mb`` beyond what it holds now."""
    used = WorkspaceQuota(kit_workspace.settings, kit_workspace.workspace.id).used()
    settings = dataclasses.replace(kit_workspace.settings, workspace_disk_mb=used / MB + room_mb)
    page = PlayPage(settings)
    play = page.load(PageState(workspace_id=kit_workspace.workspace.id))["play"]
    assert play.model_key, "the kit model is picked"
    return page, play


def _everything(kit_workspace) -> dict:
    """Every file of the workspace and every copy of them served to a browser."""
    served = served_folder(kit_workspace.workspace.id)
    return {**folder_state(kit_workspace.workspace.dir), **(folder_state(served) if served.is_dir() else {})}


def test_the_quota_refuses_a_pack_that_would_pass_it_naming_the_quota(kit_workspace):
    page, play = _with_room(kit_workspace, room_mb=50)
    before = _everything(kit_workspace)
    sliders = [0.0] * len(play.axes)
    started = time.monotonic()
    out = page.export.pack(play, 64, False, 1, 60.0, 0.0, "wav", 96000, "32f", True, *sliders)
    note = out["pack_note"]
    assert "pack_file" not in out
    assert "SDA_WORKSPACE_DISK_MB" in note and "quota" in note and "this pack of 64 sounds" in note
    assert "Remove sounds from the history" in note and "fewer or shorter sounds" in note, "says what to do"
    assert time.monotonic() - started < 5, "refused before any sound is made"
    assert _everything(kit_workspace) == before, "nothing written, nothing served"


def test_a_pack_that_fits_is_made_within_its_estimate_and_its_served_copy_counts(kit_workspace):
    page, play = _with_room(kit_workspace, room_mb=50)
    quota = WorkspaceQuota(page.settings, play.workspace_id)
    used = quota.used()
    sliders = [0.0] * len(play.axes)
    out = page.export.pack(play, 2, False, 1, 0.5, 0.0, "wav", 48000, "24", True, *sliders)
    served = Path(out["pack_file"]["value"])
    with zipfile.ZipFile(served) as pack:
        assert len([n for n in pack.namelist() if n.endswith(".wav")]) == 2
    grown = quota.used() - used
    assert grown >= 2 * served.stat().st_size, "the zip and its served copy both count"
    assert grown <= pack_bytes(2, 0.5, 48000, "24"), "the estimate checked beforehand is an upper bound"


def test_a_generation_is_refused_at_the_quota_and_fits_when_there_is_room(kit_workspace):
    page, play = _with_room(kit_workspace, room_mb=0.2)
    history = page.library.files(play).history
    before, listed = _everything(kit_workspace), len(history.list())
    sliders = [0.0] * len(play.axes)
    out = page.sounds.generate(play, 3, 2.0, 0.0, *sliders)
    assert "SDA_WORKSPACE_DISK_MB" in out["play_note"] and "this sound" in out["play_note"]
    assert "fewer or shorter sounds" in out["play_note"] and "gen_audio" not in out
    assert _everything(kit_workspace) == before and len(history.list()) == listed

    page, play = _with_room(kit_workspace, room_mb=5)
    out = page.sounds.generate(play, 3, 2.0, 0.0, *sliders)
    assert out["gen_audio"] and len(history.list()) == listed + 1


def test_at_the_quota_the_oldest_history_sounds_make_way_for_a_new_one(kit_workspace):
    page, play = _with_room(kit_workspace, room_mb=50)
    history = page.library.files(play).history
    sliders = [0.0] * len(play.axes)
    for seed in (11, 12, 13):
        assert page.sounds.generate(play, seed, 2.0, 0.0, *sliders).get("gen_audio")
    kept = history.list()
    assert len(kept) >= 3

    # Full: one more 2-s sound fits only once the oldest sound (and no other) has gone.
    oldest = folder_bytes(kept[-1].folder)
    page, play = _with_room(kit_workspace, room_mb=(history_bytes([2.0]) - oldest / 2) / MB)
    out = page.sounds.generate(play, 14, 2.0, 0.0, *sliders)
    assert out.get("gen_audio"), out.get("play_note")
    now = [item.id for item in history.list()]
    assert kept[-1].id not in now, "the oldest sound made way"
    assert all(item.id in now for item in kept[:-1]), "only as many as needed went"
    assert WorkspaceQuota(page.settings, play.workspace_id).room() >= 0


def test_an_export_and_a_model_file_are_refused_beyond_the_quota(kit_workspace):
    page, play = _with_room(kit_workspace, room_mb=12)
    sliders = [0.0] * len(play.axes)
    made = page.sounds.generate(play, 4, 30.0, 0.0, *sliders)  # 30 s at 48 kHz 24-bit: 4.3 MB, twice with its copy
    assert made["gen_audio"], made["play_note"]
    page, play = _with_room(kit_workspace, room_mb=1)
    play.current = page.library.files(play).history.list()[0].id
    before = _everything(kit_workspace)
    note = page.export.export(play, "wav", 96000, "32f", True)["export_note"]
    assert "SDA_WORKSPACE_DISK_MB" in note and "this export" in note and "lower sample rate" in note
    page, play = _with_room(kit_workspace, room_mb=0)
    note = page.models.export_file(play)["models_note"]
    assert "SDA_WORKSPACE_DISK_MB" in note and "model file" in note
    assert _everything(kit_workspace) == before


def test_served_copies_count_for_the_workspace_whose_file_they_copy(tmp_path):
    settings = AppSettings(data_root=tmp_path / "data", workspace_disk_mb=1.0)
    alice, bob = (Workspace(settings, new_workspace_id()).ensure() for _ in range(2))
    sound = alice.dir / "play" / "sound.wav"
    sound.parent.mkdir(parents=True)
    sound.write_bytes(b"x" * 300_000)
    alice_quota, bob_quota = WorkspaceQuota(settings, alice.id), WorkspaceQuota(settings, bob.id)
    before_alice, before_bob = alice_quota.used(), bob_quota.used()
    copy = servable(sound)
    assert alice.id not in copy, "the served address does not give the workspace id away"
    assert alice_quota.used() == before_alice + 300_000, "alice's copy counts for alice"
    assert bob_quota.used() == before_bob, "and not for bob"
    assert alice_quota.server_used() == disk_used(settings) + 300_000, "and for the whole server's quota"
    assert "SDA_WORKSPACE_DISK_MB" in alice_quota.refusal(500_000, "this sound")
    assert bob_quota.refusal(500_000, "this sound") == ""
    assert cache_schedule(settings)[1] <= 6 * 3600, "with a quota, served copies age out within hours"


def test_history_is_capped_in_bytes_oldest_first_with_their_files(tmp_path):
    history = History(tmp_path / "play", max_bytes=250_000)
    ids = []
    for index in range(4):
        folder = history.new_folder()
        (folder / "sound.wav").write_bytes(b"x" * 100_000)
        ids.append(history.commit(folder, kind="generate", model_key="m", model_name="m", label=str(index),
                                  audio="sound.wav").id)
    assert [item.id for item in history.list()] == ids[:1:-1], "the newest two fit in 250 kB"
    assert not (history.dir / ids[0]).exists() and not (history.dir / ids[1]).exists(), "their files went too"

    folder = history.new_folder()
    (folder / "sound.wav").write_bytes(b"x" * 400_000)
    newest = history.commit(folder, kind="generate", model_key="m", model_name="m", label="big", audio="sound.wav")
    assert [item.id for item in history.list()] == [newest.id], "the newest item stays, whatever its size"


def test_an_upload_past_the_workspace_quota_is_left_out_naming_it(tmp_path):
    settings = AppSettings(data_root=tmp_path / "data", workspace_disk_mb=0.3)
    workspace = Workspace(settings, new_workspace_id()).ensure()
    small = write_tone(tmp_path / "small.wav", seconds=0.5, sr=16000)
    large = write_tone(tmp_path / "large.wav", seconds=10.0, sr=48000)
    report = workspace.add_uploads([small, large])
    assert report.added == ["small.wav"]
    (name, reason), = report.rejected
    assert name == "large.wav" and "SDA_WORKSPACE_DISK_MB" in reason and "fewer or shorter files" in reason


def test_a_training_stops_before_its_checkpoints_pass_the_quota_and_start_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sessions, "_QUOTA_WATCH_SECONDS", 0.05)
    settings = AppSettings(data_root=tmp_path / "data", workspace_disk_mb=3.5)
    workspace = Workspace(settings, new_workspace_id()).ensure()
    run_dir = workspace.runs / "run-1"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "checkpoint_epoch0001.pt").write_bytes(b"x" * MB)
    runner = FakeRunner()
    manager = TrainingManager(1, runner_factory=lambda: runner, device_resolver=lambda: "cpu",
                              quota_watch=quota_watch(settings))
    manager.submit(TrainingJob(run_dir, workspace.id, None, []))
    time.sleep(0.3)
    assert manager.phase(run_dir) == "running", "two more 1 MB checkpoints still fit in 3.5 MB"

    # 2 MB held: room for one more, but not for the one that may come before the next look as well
    (run_dir / "checkpoints" / "checkpoint_epoch0002.pt").write_bytes(b"x" * MB)
    assert runner.cancelled.wait(5), "the run is stopped (the engine saves its checkpoint on cancel)"
    note = manager.stop_note(run_dir)
    assert "SDA_WORKSPACE_DISK_MB" in note and "next checkpoints" in note and "Resume" in note
    shown = status_markdown("cancelled", SimpleNamespace(epochs=[], checkpoint=None, complete=None), manager, run_dir)
    assert shown.startswith("**Disk quota:**") and note in shown
    restarted = TrainingManager(1, runner_factory=FakeRunner, device_resolver=lambda: "cpu")
    assert restarted.stop_note(run_dir) == note, "after a restart the page still says the quota stopped the run"

    page = TrainPage(settings, manager)
    message = page.runs.start(PageState(workspace_id=workspace.id), "Auto")["settings_msg"]
    assert "Disk quota" in message and "SDA_WORKSPACE_DISK_MB" in message


def test_a_local_run_without_quota_variables_behaves_as_before(tmp_path, monkeypatch):
    for name in QUOTA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SDA_DATA_ROOT", str(tmp_path / "data"))
    settings = AppSettings.from_env()
    assert settings.workspace_disk_mb is None and settings.max_disk_gb is None
    assert quota_watch(settings) is None, "no watcher thread beside the trainings"
    assert cache_schedule(settings) == (6 * 3600, 2 * 86400), "Gradio's cache is cleaned as before"
    assert settings.history_max_bytes == HISTORY_MAX_MB * MB
    workspace = Workspace(settings, new_workspace_id()).ensure()
    assert WorkspaceQuota(settings, workspace.id).refusal(10**15, "a petabyte") == ""
    assert WorkspaceQuota(settings, workspace.id).room() is None
    assert fairness_default("workspace_disk_mb", public=True) == 1000.0, "the public default the public mode applies"
    assert fairness_default("workspace_disk_mb", public=False) is None

    monkeypatch.setenv("SDA_WORKSPACE_DISK_MB", "250")
    assert AppSettings.from_env().history_max_bytes == 125 * MB, "history keeps at most half a workspace quota"
    monkeypatch.setenv("SDA_WORKSPACE_DISK_MB", "-1")
    with pytest.raises(ValueError, match="SDA_WORKSPACE_DISK_MB"):
        AppSettings.from_env()
