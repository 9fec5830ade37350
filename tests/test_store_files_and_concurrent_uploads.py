"""Smaller faults: unparsable store files are kept aside and reported; uploads to one workspace take turns.

Issue 13, "Smaller faults": a models.json or presets.json that could not be
parsed read as empty and the next save overwrote it; two tabs uploading at
once could pass the file and size limits, or abort on a name clash.
"""

from __future__ import annotations

import logging
import threading

import pytest
from audio_files import write_sound_folder

from sda.server import ingest
from sda.server.generators import GeneratorCache
from sda.server.models_store import ModelStore
from sda.server.presets import Preset, PresetStore
from sda.server.settings import AppSettings
from sda.server.store_file import take_notes
from sda.server.workspace import Workspace, new_workspace_id
from sda.ui.play.models import ModelHandlers
from sda.ui.play.state import PlayState

BROKEN = '{"file-0123456789abcdef": {"name": "my favourite'  # cut off mid-write


def _kept_aside(play_dir, name: str) -> list:
    return sorted(play_dir.glob(f"{name}.unreadable-*"))


def test_an_unparsable_models_json_is_kept_aside_and_reported_not_overwritten(tmp_path, caplog):
    settings = AppSettings(data_root=tmp_path / "data")
    workspace = Workspace(settings, new_workspace_id()).ensure()
    play_dir = workspace.dir / "play"
    play_dir.mkdir()
    (play_dir / "models.json").write_text(BROKEN)

    with caplog.at_level(logging.WARNING, logger="sda.server"):
        shown = ModelHandlers(settings, GeneratorCache()).show(PlayState(workspace_id=workspace.id))
    [kept] = _kept_aside(play_dir, "models.json")
    assert kept.read_text() == BROKEN, "the broken file is kept as it was"
    assert "models.json could not be read" in shown["models_note"] and kept.name in shown["models_note"]
    assert any("models.json" in r.getMessage() for r in caplog.records), "and said in the server's log"

    upload = tmp_path / "mine.sdamodel"
    upload.write_bytes(b"model")
    ModelStore(play_dir, workspace.runs).import_file(upload, check=lambda path: ("mine", ""))
    assert kept.read_text() == BROKEN, "the next save wrote over the kept file"
    assert "mine" in (play_dir / "models.json").read_text()
    again = ModelHandlers(settings, GeneratorCache()).show(PlayState(workspace_id=workspace.id))
    assert again["models_note"] == "", "the note is shown once"


def test_an_unparsable_presets_json_is_kept_aside_not_overwritten(tmp_path):
    (tmp_path / "presets.json").write_text("not json at all")
    store = PresetStore(tmp_path)
    store.save("run-a", "bright", Preset(seed=3))
    [kept] = _kept_aside(tmp_path, "presets.json")
    assert kept.read_text() == "not json at all"
    assert store.names("run-a") == ["bright"]
    assert "presets.json could not be read" in take_notes(tmp_path), "reported for the page to show"


@pytest.fixture
def uploads_meet(monkeypatch):
    """Make two uploads that are not serialised measure the dataset's room at the same moment."""
    meeting = threading.Barrier(2)
    real_of = ingest._Budget.of.__func__

    def of(cls, *args, **kwargs):
        try:
            meeting.wait(timeout=1.0)  # a serialised upload waits in vain, then goes on alone
        except threading.BrokenBarrierError:
            pass
        return real_of(cls, *args, **kwargs)

    monkeypatch.setattr(ingest._Budget, "of", classmethod(of))


def _upload_at_once(workspace: Workspace, batches: list) -> list:
    reports, errors = [], []

    def upload(batch):
        try:
            reports.append(workspace.add_uploads(batch))
        except Exception as exc:  # what the user would see as a failed upload
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [], f"an upload failed: {errors}"
    return reports


def test_two_concurrent_uploads_stay_within_the_file_limit(tmp_path, uploads_meet):
    settings = AppSettings(data_root=tmp_path / "data", max_files=3)
    workspace = Workspace(settings, new_workspace_id()).ensure()
    first = write_sound_folder(tmp_path / "a", count=2)
    second = write_sound_folder(tmp_path / "b", count=2)
    reports = _upload_at_once(workspace, [first, second])
    assert len(workspace.dataset_files()) == 3, "the dataset passed SDA_MAX_FILES"
    assert sum(len(r.added) for r in reports) == 3
    [(_, reason)] = [rejected for r in reports for rejected in r.rejected]
    assert "the most one dataset can hold" in reason


def test_two_concurrent_uploads_of_the_same_names_both_succeed(tmp_path, uploads_meet):
    settings = AppSettings(data_root=tmp_path / "data")
    workspace = Workspace(settings, new_workspace_id()).ensure()
    first = write_sound_folder(tmp_path / "a", count=2)
    second = write_sound_folder(tmp_path / "b", count=2)  # the same file names
    reports = _upload_at_once(workspace, [first, second])
    assert all(r.rejected == [] and len(r.added) == 2 for r in reports)
    names = sorted(p.name for p in workspace.dataset_files())
    assert names == ["tone_00 (2).wav", "tone_00.wav", "tone_01 (2).wav", "tone_01.wav"]
