"""Levels that mean something: a model's sounds keep its dynamics (one gain per model), the level axis is heard
in the player, the exported file and the pack, and normalising each sound is an option, off by default."""

from __future__ import annotations

import json
import shutil
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
import torch
from helpers import sda

from sda.generation.analysis import ANALYSIS_FILE, load_analysis
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace, new_workspace_id
from sda.ui.play.page import PlayPage
from sda.ui.train.state import PageState


def _peak_db(path) -> float:
    audio, _ = sf.read(str(path), dtype="float64")
    return float(20 * np.log10(np.max(np.abs(audio))))


def _level_axis(run) -> dict:
    """The axis that moves the level most, found the way other code finds it: through axis_effects."""
    summary = json.loads((run / "analysis.json").read_text())
    effects = summary["info"]["axis_effects"]
    key = max(effects, key=lambda k: effects[k]["level"])
    return next(a for a in summary["axes"] if a["key"] == key)


def _generate(run, out, *args):
    proc = sda("generate", "--model", run, "--out", out, "--seconds", 1.0, *args)
    assert proc.returncode == 0, proc.stderr
    return sorted(out.glob("*.wav"))


def test_a_generated_set_keeps_the_spread_of_levels_of_the_kit_it_learned(kit_run, tmp_path):
    training = [_peak_db(p) for p in sorted((kit_run.parent / "kit").glob("*.wav"))]
    files = _generate(kit_run, tmp_path / "kept", "--count", 12)
    made = [_peak_db(p) for p in files]
    assert np.std(made) >= 0.5 * np.std(training), (made, training)
    assert max(made) - min(made) >= 0.5 * (max(training) - min(training)), (made, training)
    assert max(made) <= -0.1 + 0.01, "never past the ceiling"
    gain = load_analysis(kit_run).info["level"]["gain_db"]
    for path in files:
        level = json.loads(path.with_suffix(".json").read_text())["level"]
        assert level["rule"] == "model" and level["model_gain_db"] == pytest.approx(gain, abs=1e-3)
        assert level["gain_db"] == pytest.approx(gain, abs=1e-3) or level["limited"]

    normalised = [_peak_db(p) for p in _generate(kit_run, tmp_path / "norm", "--count", 3, "--normalise")]
    assert normalised == pytest.approx([-1.0] * 3, abs=0.02), "--normalise: each sound to -1 dBFS on its own"
    record = json.loads(sorted((tmp_path / "norm").glob("*.json"))[0].read_text())
    assert record["level"]["rule"] == "normalised" and record["export"]["normalise"] is True
    assert sda("generate", "--model", kit_run, "--out", tmp_path / "old", "--seconds", 0.5,
               "--keep-level").returncode == 0, "the old option is still accepted"


def test_the_level_axis_changes_the_level_of_the_exported_file(kit_run, tmp_path):
    axis = _level_axis(kit_run)
    low = [_peak_db(p) for p in _generate(kit_run, tmp_path / "low", "--count", 4,
                                          "--set", f"{axis['key']}={axis['safe_min']}")]
    high = [_peak_db(p) for p in _generate(kit_run, tmp_path / "high", "--count", 4,
                                           "--set", f"{axis['index']}={axis['safe_max']}")]
    assert np.median(high) > np.median(low) + 3.0, (axis, low, high)


def test_a_model_analysed_before_levels_gets_its_gain_when_first_used(kit_run_copy, tmp_path):
    stored = load_analysis(kit_run_copy)
    gain = stored.info["level"]["gain_db"]
    state = torch.load(kit_run_copy / ANALYSIS_FILE, weights_only=True)
    del state["info"]["level"]
    torch.save(state, kit_run_copy / ANALYSIS_FILE)
    (path,) = _generate(kit_run_copy, tmp_path / "out", "--seed", 2)
    assert json.loads(path.with_suffix(".json").read_text())["level"]["model_gain_db"] == pytest.approx(gain, abs=1e-3)
    assert load_analysis(kit_run_copy).info["level"]["gain_db"] == pytest.approx(gain, abs=1e-3), "stored once"


@pytest.fixture(scope="module")
def play(kit_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("play-levels")
    settings = AppSettings(data_root=root / "data")
    workspace = Workspace(settings, new_workspace_id()).ensure()
    shutil.copytree(kit_run, workspace.runs / "run-20250101-000000")
    page = PlayPage(settings)
    state = page.load(PageState(workspace_id=workspace.id))["play"]
    return SimpleNamespace(page=page, state=state, axis=_level_axis(kit_run))


def _made(play, seed: int, level: float) -> SimpleNamespace:
    sliders = [level if a.key == play.axis["key"] else 0.0 for a in play.state.axes]
    play.page.sounds.generate(play.state, seed, 1.0, 0.0, *sliders)
    item = play.page.library.files(play.state).history.get(play.state.current)
    out = play.page.export.export(play.state, "wav", 48000, "24", False)
    exported, _ = out["export_file"]["value"]
    return SimpleNamespace(heard=_peak_db(item.audio_path), exported=_peak_db(exported), note=out["export_note"])


def test_the_play_page_player_and_export_follow_the_level_slider(play):
    low = [_made(play, seed, play.axis["safe_min"]) for seed in range(3)]
    high = [_made(play, seed, play.axis["safe_max"]) for seed in range(3)]
    assert np.median([h.heard for h in high]) > np.median([h.heard for h in low]) + 3.0, "heard in the player"
    assert np.median([h.exported for h in high]) > np.median([h.exported for h in low]) + 3.0, "and in the file"
    assert "the model's level" in low[0].note, low[0].note
    normalised = play.page.export.export(play.state, "wav", 48000, "24", True)
    assert _peak_db(normalised["export_file"]["value"][0]) == pytest.approx(-1.0, abs=0.02), "the option still works"
    assert "normalised to -1 dBFS" in normalised["export_note"]


def test_a_pack_shares_one_gain_so_levels_compare_inside_it(play):
    sliders = [0.0] * len(play.state.axes)
    for normalise in (False, True):
        out = play.page.export.pack(play.state, 4, True, 11, 0.5, 0.0, "wav", 48000, "24", normalise, *sliders)
        with zipfile.ZipFile(out["pack_file"]["value"]) as pack:
            records = [json.loads(pack.read(n)) for n in pack.namelist() if n.endswith(".json")]
            peaks = [float(20 * np.log10(np.max(np.abs(sf.read(pack.open(n))[0]))))
                     for n in pack.namelist() if n.endswith(".wav")]
        gains = {r["level"]["gain_db"] for r in records}
        assert len(gains) == 1 and not any(r["level"]["limited"] for r in records), records
        assert max(peaks) - min(peaks) > 1.0, "relative levels kept, not each sound to the same peak"
        if normalise:
            assert max(peaks) == pytest.approx(-1.0, abs=0.02), "normalised together: the loudest at -1 dBFS"
