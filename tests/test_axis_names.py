"""Sliders named by what they do: distinct names from what each axis moves most and second most, plain words
at each end, the clearest first, and the names an earlier analysis gave still accepted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from helpers import make_tiny_config, quick_previews, sda

from sda.generation.analysis import ANALYSIS_FILE
from sda.generation.axis_names import MEASURABLE, name_axes
from sda.generation.descriptors import NAMES
from sda.ui.play.state import AxisView

DEMO = Path(__file__).resolve().parent.parent / "assets" / "demo"


def _effects(**rows: dict) -> np.ndarray:
    return np.array([[row.get(n, 0.0) for n in NAMES] for row in rows.values()])


def test_each_axis_is_named_by_what_it_moves_most_and_second_most():
    effect = _effects(
        loud=dict(level=1.0),
        loud_again=dict(level=0.8, brightness=0.1),  # moves only what the first moves: merged into it
        dark_short=dict(brightness=-1.0, decay=-0.6),  # + is made "more brightness": bright, long
        nothing=dict(level=0.01, pitch=-0.02),
        pitch=dict(pitch=0.9, noisiness=-0.3),  # the second one too weak to name
        pitch_noise=dict(pitch=0.7, noisiness=0.5),
    )
    names, merged = name_axes(effect, np.ones_like(effect))
    by_key = {n.key: n for n in names}
    assert list(by_key) == ["level", "pitch", "brightness+decay", "pitch+noisiness", "axis5"], "clearest first"
    assert (by_key["level"].low, by_key["level"].high) == ("soft", "loud")
    assert (by_key["brightness+decay"].low, by_key["brightness+decay"].high) == ("dark, short", "bright, long")
    assert by_key["brightness+decay"].flip and by_key["brightness+decay"].title == "brightness + decay"
    assert (by_key["pitch+noisiness"].low, by_key["pitch+noisiness"].high) == ("low, tonal", "high, noisy")
    assert merged == {"level2": "level"} and "level2" in by_key["level"].aliases, "the old name still reaches it"
    assert "noisiness" in by_key["pitch+noisiness"].aliases and "axis4" in by_key["axis5"].aliases

    shares = np.array([0.3, 0.2, 0.2, 0.05, 0.01, 0.24])  # an axis holding little of the variety is heard least
    ranked, _ = name_axes(effect, np.ones_like(effect), shares)
    assert [n.key for n in ranked] == ["level", "pitch+noisiness", "brightness+decay", "pitch", "axis5"]


def _check_names(axes: list[dict], effects: dict) -> None:
    keys = [a["key"] for a in axes]
    assert len(set(keys)) == len(keys) and len({a["title"] for a in axes}) == len(keys), keys
    for axis in axes:
        assert not re.fullmatch(r"[a-z]+\d+", axis["key"]) or axis["key"].startswith("axis"), axis
        if axis["key"].startswith("axis"):
            assert max(abs(v) for v in effects[axis["key"]].values()) < MEASURABLE, (axis, effects[axis["key"]])
        else:
            assert axis["low"] and axis["high"] and axis["low"] != axis["high"], axis
            first = axis["key"].split("+")[0]
            assert effects[axis["key"]][first] > 0, "+ is more of the descriptor it is named after"


def test_no_slider_of_the_kit_is_named_twice_or_numbered_where_something_moves(kit_run):
    summary = json.loads((kit_run / "analysis.json").read_text())
    _check_names(summary["axes"], summary["info"]["axis_effects"])
    proc = sda("axes", "--model", kit_run)
    assert proc.returncode == 0, proc.stderr
    for axis in summary["axes"]:
        assert f"{axis['low']} <-> {axis['high']}" in proc.stdout
        view = AxisView.of(type("A", (), {**axis, "ends": (axis["low"], axis["high"]), "name": axis["title"]}))
        assert view.title.startswith(axis["title"]) and f"◀ {axis['low']} · {axis['high']} ▶" in view.info()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    """A tiny model of the bundled demo sounds (what "Use the demo sounds" trains on)."""
    from sda.training.loop import train

    run = tmp_path_factory.mktemp("demo") / "run"
    config = make_tiny_config(max_epochs=12, hidden_channels=48, latent_dim=8, dropout=0.0, batch_size=4)
    with quick_previews():
        train(config, [DEMO], run, "cpu")
    return run


def test_no_slider_of_the_demo_model_is_named_twice_or_numbered_where_something_moves(demo_run):
    summary = json.loads((demo_run / "analysis.json").read_text())
    assert len(summary["axes"]) >= 4
    _check_names(summary["axes"], summary["info"]["axis_effects"])


def _one(run, out, setting) -> np.ndarray:
    proc = sda("generate", "--model", run, "--out", out, "--seconds", 0.5, "--seed", 4, "--set", setting)
    assert proc.returncode == 0, proc.stderr
    return sf.read(next(Path(out).glob("*.wav")))[0]


def test_names_from_an_earlier_analysis_still_work_with_set(kit_run_copy, tmp_path):
    summary = json.loads((kit_run_copy / "analysis.json").read_text())
    renamed = next(a for a in summary["axes"] if a["aliases"])
    old, new = renamed["aliases"][0], renamed["key"]
    spaced = new.replace("+", " + ")
    by_number = _one(kit_run_copy, tmp_path / "n", f"{renamed['index']}=1.0")
    for name, setting in {"old": f"{old}=1.0", "new": f"{new}=1.0", "spaced": f"{spaced}=1.0"}.items():
        assert np.array_equal(_one(kit_run_copy, tmp_path / name, setting), by_number), setting

    # A model analysed before names were made this way keeps its stored keys ("level2", "axis5").
    state = torch.load(kit_run_copy / ANALYSIS_FILE, weights_only=True)
    for number, axis in enumerate(state["axes"], start=1):
        axis["key"] = "level2" if number == 2 else f"axis{number}"
        for field in ("title", "low", "high", "aliases"):
            axis.pop(field, None)
    torch.save(state, kit_run_copy / ANALYSIS_FILE)
    assert np.array_equal(_one(kit_run_copy, tmp_path / "stored", "level2=0.7"),
                          _one(kit_run_copy, tmp_path / "stored-number", "2=0.7"))
    listed = sda("axes", "--model", kit_run_copy)
    assert listed.returncode == 0 and "level2" in listed.stdout, listed.stderr
