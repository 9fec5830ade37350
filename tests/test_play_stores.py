"""The Play tab's per-browser stores: models, history, presets; and the pictures of sounds."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from sda.server.history import History
from sda.server.models_store import ModelStore
from sda.server.pictures import dataset_picture, sound_picture
from sda.server.presets import Preset, PresetStore
from sda.training.checkpoint import checkpoint_name


def _fake_run(runs: Path, name: str, with_checkpoint: bool = True) -> Path:
    run = runs / name
    (run / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text("{}")
    if with_checkpoint:
        (run / "checkpoints" / f"{checkpoint_name(3)}").write_bytes(b"weights")
    return run


def _not_a_model(path: Path):
    raise ValueError(f"'{path.name}' is not an sda model file.")


def test_runs_with_a_checkpoint_are_models_and_can_be_renamed_described_hidden_and_restored(tmp_path):
    store = ModelStore(tmp_path / "play", tmp_path / "runs")
    _fake_run(tmp_path / "runs", "run-20250101-000000")
    _fake_run(tmp_path / "runs", "run-20250102-000000", with_checkpoint=False)  # nothing to play yet
    (entry,) = store.list()
    assert entry.key == "run-20250101-000000" and entry.kind == "run"
    assert entry.weights_path().name == checkpoint_name(3)

    store.rename(entry.key, "  Kick   drums ")
    store.describe(entry.key, "my 808s")
    again = ModelStore(tmp_path / "play", tmp_path / "runs").get(entry.key)  # from disk
    assert (again.name, again.description) == ("Kick drums", "my 808s")
    with pytest.raises(ValueError, match="name"):
        store.rename(entry.key, "   ")

    store.remove(entry.key)
    assert store.list() == [] and (tmp_path / "runs" / entry.key).is_dir(), "the run itself stays"
    assert store.restore_run(entry.key).name == "Kick drums"


def test_imported_model_files_are_checked_kept_and_deleted(tmp_path):
    store = ModelStore(tmp_path / "play", tmp_path / "runs")
    upload = tmp_path / "upload" / "pads.sdamodel"
    upload.parent.mkdir()
    upload.write_bytes(b"model bytes")
    entry = store.import_file(upload, lambda path: ("Pads", "soft pads"))
    assert entry.kind == "file" and entry.name == "Pads" and entry.source.read_bytes() == b"model bytes"

    with pytest.raises(ValueError, match="not an sda model"):
        store.import_file(upload, _not_a_model)
    text = upload.with_name("notes.txt")
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.txt.*\\.sdamodel"):
        store.import_file(text, lambda path: ("x", ""))
    assert [e.key for e in store.list()] == [entry.key], "refused files leave nothing behind"
    assert not list((tmp_path / "play" / "models" / ".incoming").iterdir())

    store.remove(entry.key)
    assert store.list() == [] and not entry.source.exists()
    with pytest.raises(ValueError, match="not among yours"):
        store.rename(entry.key, "x")


def _add(history: History, label: str, seconds: float = 1.0):
    folder = history.new_folder()
    (folder / "sound.wav").write_bytes(b"RIFF")
    return history.commit(folder, kind="generate", model_key="run-1", model_name="m", label=label, audio="sound.wav",
                          seconds=seconds, settings={"seed": 1})


def test_history_is_newest_first_survives_reopening_and_keeps_the_newest(tmp_path):
    history = History(tmp_path / "play", max_items=3)
    for n in range(5):
        _add(history, f"sound {n}")
    reopened = History(tmp_path / "play", max_items=3)
    items = reopened.list()
    assert [i.label for i in items] == ["sound 4", "sound 3", "sound 2"]
    assert items[0].audio_path.is_file() and items[0].settings == {"seed": 1}
    assert reopened.get(items[1].id).label == "sound 3"
    assert reopened.get("../../etc") is None

    half = history.new_folder()  # a save that never finished is not listed
    (half / "sound.wav").write_bytes(b"RIFF")
    assert len(history.list()) == 3
    assert history.delete(items[0].id) and [i.label for i in history.list()] == ["sound 3", "sound 2"]


def test_presets_belong_to_one_model_and_can_be_recalled_renamed_deleted(tmp_path):
    store = PresetStore(tmp_path / "play")
    store.save("run-a", "Bright hit", Preset({"brightness": 1.2, "axis3": -0.5}, seed=7, seconds=1.5, evolve=0.2))
    store.save("run-b", "Other", Preset())
    assert store.names("run-a") == ["Bright hit"]
    recalled = PresetStore(tmp_path / "play").get("run-a", "Bright hit")
    assert recalled == Preset({"brightness": 1.2, "axis3": -0.5}, 7, 1.5, 0.2)

    store.save("run-a", "Dark", Preset(seed=1))
    with pytest.raises(ValueError, match="exists already"):
        store.rename("run-a", "Dark", "Bright hit")
    assert store.rename("run-a", "Dark", " Very  dark ") == "Very dark"
    assert store.names("run-a") == ["Bright hit", "Very dark"]
    assert store.delete("run-a", "Bright hit") and store.names("run-a") == ["Very dark"]
    assert store.names("run-b") == ["Other"]
    with pytest.raises(ValueError, match="name"):
        store.save("run-a", "  ", Preset())
    json.loads((tmp_path / "play" / "presets.json").read_text())  # valid JSON on disk


def test_pictures_of_a_sound_and_of_a_dataset_are_drawn(tmp_path):
    sr = 48000
    t = np.arange(sr) / sr
    loud = (0.8 * np.sin(2 * np.pi * 440 * t) * np.exp(-3 * t)).astype(np.float32)
    picture = np.asarray(sound_picture(loud, sr, "seed 1"))
    silent = np.asarray(sound_picture(np.zeros(sr, np.float32), sr))
    assert picture.shape == silent.shape and picture.shape[2] == 3
    assert np.abs(picture.astype(int) - silent.astype(int)).mean() > 5, "the sound shows in its picture"

    clips = [SimpleNamespace(audio=loud * (0.01 if i == 1 else 1), path=Path(f"tone_{i}.wav")) for i in range(6)]
    tiles = dataset_picture(clips)
    assert tiles.size[0] >= 800 and tiles.size[1] > 100
    assert dataset_picture([]) is None
    assert np.asarray(sound_picture(np.tile(loud, 60), sr)).shape == picture.shape  # a 60 s sound fits the same frame
