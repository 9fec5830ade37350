"""The Play tab's handlers and public API on a small model trained here (no browser).

The handlers are what the page calls; the API (gradio_client) is what a
script calls. Both must give real sounds from the trained model, files with
the asked format, and nothing of one browser to another.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from audio_files import write_tone
from web_helpers import free_port

from sda.server.credentials import new_api_key
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace, new_workspace_id
from sda.ui.app import build_demo, launch_options
from sda.ui.play.models import AXIS_NAMES
from sda.ui.play.page import PlayPage
from sda.ui.train.state import PageState


@pytest.fixture(scope="module")
def trained(kit_run, tmp_path_factory):
    """A workspace whose runs folder holds the tiny kit model, and the Play handlers of its server."""
    root = tmp_path_factory.mktemp("play")
    settings = AppSettings(data_root=root / "data")
    workspace = Workspace(settings, new_workspace_id()).ensure()
    shutil.copytree(kit_run, workspace.runs / "run-20250101-000000")
    sounds = [write_tone(root / "in" / f"in_{i}.wav", seconds=1.0 + 0.3 * i, sr=44100, freq=150.0 * (i + 1),
                         decay=2.0, noise=0.02, seed=i) for i in range(3)]
    return SimpleNamespace(settings=settings, workspace=workspace, play=PlayPage(settings), sounds=sounds, root=root)


def _opened(trained):
    out = trained.play.load(PageState(workspace_id=trained.workspace.id))
    return out["play"], out


def _generate(trained, play, seed=3, seconds=1.0, **axes):
    sliders = [axes.get(a.key, 0.0) for a in play.axes]
    out = trained.play.sounds.generate(play, seed, seconds, 0.0, *sliders)
    item = trained.play.library.files(play).history.get(play.current)
    assert item is not None, out.get("play_note")
    audio, rate = sf.read(str(item.audio_path), dtype="float32")
    return audio, rate, out


def test_a_model_opens_with_its_axes_as_sliders_and_generates_steerable_repeatable_sounds(trained):
    play, out = _opened(trained)
    assert play.model_key == "run-20250101-000000" and play.axes
    first = out[AXIS_NAMES[0]]
    assert first["visible"] and "%" in first["label"] and "safe range" in first["info"]
    assert first["minimum"] < play.axes[0].safe_min and first["maximum"] > play.axes[0].safe_max, (
        "the zone outside is reachable"
    )

    audio, rate, shown = _generate(trained, play)
    assert rate == 48000 and len(audio) == 48000, "exactly the asked duration"
    assert shown["gen_audio"] and shown["gen_picture"] and len(shown["history"]) == 1
    again, _, _ = _generate(trained, play)
    np.testing.assert_allclose(again, audio, atol=1e-4, err_msg="same model, settings and seed: the same sound")
    axis = play.axes[0]
    moved, _, _ = _generate(trained, play, **{axis.key: axis.safe_max})
    assert not np.allclose(moved, audio, atol=1e-3), "moving a slider changes the sound"

    randomised = trained.play.sounds.randomize(play)
    assert all(a.safe_min <= randomised[name] <= a.safe_max for name, a in zip(AXIS_NAMES, play.axes))
    bad = trained.play.sounds.generate(play, 1, 75, 0.0)
    assert "60" in bad["play_note"] and "gen_audio" not in bad


def test_variations_morphs_and_resynthesis_join_the_history_and_bad_drops_are_named(trained, tmp_path):
    play, _ = _opened(trained)
    history = trained.play.library.files(play).history
    before = len(history.list())
    out = trained.play.sounds.vary(play, str(trained.sounds[0]), 3, 0.4, 1)
    assert out["results"]["visible"] and len(out["results"]["value"]) == 3
    out = trained.play.sounds.morph(play, str(trained.sounds[1]), str(trained.sounds[2]), "Steps", 4, 4.0)
    assert len(out["results"]["value"]) == 4
    out = trained.play.sounds.morph(play, str(trained.sounds[1]), str(trained.sounds[2]), "Continuous", 4, 2.5)
    assert sf.info(out["gen_audio"]).duration == pytest.approx(2.5, abs=0.001)
    out = trained.play.sounds.resynthesise(play, str(trained.sounds[0]))
    assert sf.info(out["gen_audio"]).duration == pytest.approx(sf.info(str(trained.sounds[0])).duration, abs=0.001)
    assert len(history.list()) == before + 3 + 4 + 1 + 1

    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEnot audio")
    note = trained.play.sounds.resynthesise(play, str(broken))["play_note"]
    assert "broken.wav" in note and "cannot be used" in note and str(tmp_path) not in note
    assert "Drop" in trained.play.sounds.vary(play, None, 2, 0.5, 0)["play_note"]


def test_export_applies_format_rate_and_depth_and_a_pack_holds_n_sounds(trained):
    play, _ = _opened(trained)
    _generate(trained, play, seed=5)
    out = trained.play.export.export(play, "flac", 96000, "24", True)
    audio_file, sidecar = out["export_file"]["value"]
    info = sf.info(audio_file)
    assert (info.format, info.samplerate, info.subtype) == ("FLAC", 96000, "PCM_24")
    record = json.loads(Path(sidecar).read_text())
    assert record["export"]["format"] == "flac" and record["settings"]["seed"] == 5
    assert record["settings"]["quality"] == "best", "a kept file gets the best inversion"
    mp3 = trained.play.export.export(play, "mp3", 96000, "24", True)
    assert "96000" in mp3["export_note"] and "export_file" not in mp3

    sliders = [0.0] * len(play.axes)
    out = trained.play.export.pack(play, 3, True, 7, 0.5, 0.0, "wav", 44100, "16", True, *sliders)
    with zipfile.ZipFile(out["pack_file"]["value"]) as pack:
        wavs = [n for n in pack.namelist() if n.endswith(".wav")]
        assert len(wavs) == 3 and "sounds.txt" in pack.namelist()
        assert len([n for n in pack.namelist() if n.endswith(".json")]) == 3
        info = sf.info(io.BytesIO(pack.read(wavs[0])))
        assert (info.samplerate, info.subtype, round(info.duration, 3)) == (44100, "PCM_16", 0.5)


def test_presets_history_and_models_belong_to_one_browser(trained, tmp_path):
    play, _ = _opened(trained)
    sliders = [0.0] * len(play.axes)
    sliders[0] = 0.5
    saved = trained.play.library.save_preset(play, "soft", 9, 1.5, 0.2, *sliders)
    assert saved["preset_select"]["value"] == "soft"
    reopened, _ = _opened(trained)  # a reload: state rebuilt from disk
    recalled = trained.play.library.load_preset(reopened, "soft")
    assert recalled[AXIS_NAMES[0]] == 0.5 and recalled["seed"] == 9 and recalled["duration"] == 1.5

    exported = trained.play.models.export_file(play)["model_export_file"]["value"]
    assert exported.endswith(".sdamodel")
    upload = tmp_path / "kit copy.sdamodel"
    upload.write_bytes(Path(exported).read_bytes())
    imported = trained.play.models.import_file(play, str(upload))
    assert "Imported" in imported["models_note"] and play.model_key.startswith("file-")
    fake = tmp_path / "fake.sdamodel"
    fake.write_bytes(b"not a model at all")
    assert "was not imported" in trained.play.models.import_file(play, str(fake))["models_note"]

    imported_key = play.model_key
    asked = trained.play.models.ask_remove(play)
    assert asked["model_delete_row"]["visible"] and "Remove" in asked["models_note"]
    assert trained.play.models.files(play).models.get(imported_key), "nothing removed before the confirmation"
    removed = trained.play.models.confirm_remove(play)
    assert imported_key not in [key for _, key in removed["model_select"]["choices"]]
    assert play.model_key == "run-20250101-000000", "the remaining model is picked"

    stranger = Workspace(trained.settings, new_workspace_id()).ensure()
    out = trained.play.load(PageState(workspace_id=stranger.id))
    assert out["model_select"]["choices"] == [] and len(out["history"]) == 0


def test_the_api_generates_varies_morphs_and_resynthesises(trained):
    gradio_client = pytest.importorskip("gradio_client")
    demo = build_demo(trained.settings, play=trained.play)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **launch_options(trained.settings),
    )
    try:
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        ws = new_api_key(trained.workspace)
        (model,) = [m for m in client.predict(ws, api_name="/list_models") if m["model"].startswith("run-")]
        axis = trained.play.generators.get(
            trained.play.models.files(_opened(trained)[0]).models.get(model["model"])
        ).axes[0]
        path, settings = client.predict(ws, model["model"], 1.5, 4, {axis.key: 0.5}, 0.0, api_name="/generate")
        assert sf.info(path).duration == pytest.approx(1.5, abs=0.001) and settings["seed"] == 4
        assert settings["axes"] == {axis.key: 0.5}
        sound = gradio_client.handle_file(str(trained.sounds[0]))
        files, _ = client.predict(ws, model["model"], sound, 2, 0.3, 1, api_name="/vary")
        assert len(files) == 2
        files, _ = client.predict(
            ws, model["model"], sound, gradio_client.handle_file(str(trained.sounds[1])), 3, 0, api_name="/morph"
        )
        assert len(files) == 3
        path, _ = client.predict(ws, model["model"], sound, {}, api_name="/resynthesise")
        assert sf.info(path).duration == pytest.approx(sf.info(str(trained.sounds[0])).duration, abs=0.001)
        with pytest.raises(Exception, match="Unknown axis"):
            client.predict(ws, model["model"], 1.0, 0, {"no-such-axis": 1}, 0.0, api_name="/generate")
        # An error about a file in the workspace names the file, not where the server keeps it.
        damaged = Workspace(trained.settings, new_workspace_id()).ensure()
        shutil.copytree(trained.workspace.runs / model["model"], damaged.runs / model["model"])
        for checkpoint in (damaged.runs / model["model"] / "checkpoints").glob("*.pt"):
            checkpoint.write_bytes(b"PK not a checkpoint")
        with pytest.raises(Exception, match="checkpoint") as error:
            client.predict(new_api_key(damaged), model["model"], 1.0, 0, {}, 0.0, api_name="/generate")
        for secret in (str(trained.settings.data_root), damaged.id, "workspaces/"):
            assert secret not in str(error.value)
        for refused in (trained.workspace.id, new_workspace_id(), ws[:-1] + "0", ""):
            with pytest.raises(Exception, match="opens no workspace"):
                client.predict(refused, api_name="/list_models")
    finally:
        demo.close()
