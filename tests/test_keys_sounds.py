"""What the server does for the Keys panel, in process: the sounds it makes ahead and what it keeps.

The tiny kit model (``kit_run``) makes the sounds: velocity layers along its
level axis, octave renders, the Explore pool (a sound never handed out twice,
refilled in the background faster than notes use it), and the panel's store
(what comes back after a reload; a hostile or damaged store never reaches a file).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from sda.generation import load_generator
from sda.server.generation_gate import GenerationGate
from sda.server.keys_pool import ExplorePool
from sda.server.keys_render import layers, level_axis, octaves, render_at
from sda.server.keys_store import KeysStore
from sda.ui.play.keys_recording import received_upload


@pytest.fixture(scope="module")
def generator(kit_run):
    return load_generator(kit_run)


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def test_velocity_layers_lie_along_the_axis_that_changes_the_level_most(generator):
    effects = generator.info["analysis"]["axis_effects"]
    loudest = max(effects, key=lambda key: abs(effects[key].get("level", 0.0)))
    assert level_axis(generator)[0] == loudest
    louder = 0
    for seed in range(4):
        soft, middle, hard = layers(generator, render_at(generator, {}, seed, {}, 0.5))
        assert len(soft) == len(middle) == len(hard)
        louder += rms(soft) < rms(middle) < rms(hard)
    assert louder >= 3, "the soft layer is quieter and the hard one louder than the pad itself"


def test_octave_renders_are_the_sound_moved_by_whole_octaves(generator):
    sound = render_at(generator, {}, 3, {}, 0.5)
    made = octaves(generator, sound)
    assert sorted(made) == [-2, -1, 1, 2]
    for octave, audio in made.items():
        assert abs(len(audio) - len(sound) / 2.0**octave) <= 2


def test_explore_hands_out_each_sound_once_and_refills_faster_than_notes_use_it(generator, tmp_path):
    pool = ExplorePool("ws", lambda: generator, tmp_path / "explore", GenerationGate(2), size=24, seconds=0.3)
    pool.aim({}, 0.3)
    handed, started = [], time.perf_counter()
    while len(handed) < 120:
        got = pool.take(8, wait=10.0)
        assert got, pool.error or "the pool ran dry for 10 s"
        handed += got
    wall = time.perf_counter() - started
    pool.close()
    assert len({p.name for p in handed}) == len(handed)
    print(f"\nExplore pool, 0.3 s sounds: {pool.stats.per_second:.1f} sounds per second of rendering; "
          f"{len(handed) / wall:.1f} sounds/s handed out, sustained")
    assert len(handed) / wall > 4, "a player hitting four notes a second never waits"


def test_the_panel_comes_back_as_kept_and_a_hostile_state_reaches_no_file(tmp_path):
    store = KeysStore(tmp_path / "play")
    sound = store.new_sound_path("run-1")
    sound.write_bytes(b"RIFF")
    kept = store.save("run-1", {"mode": "Explore", "settings": {"curve": "soft", "mappings": {"21": "axis-0"}},
                                "pads": [{"name": "kick", "file": sound.name},
                                         {"name": "escape", "file": "../../../etc/passwd"},
                                         {"name": "hist", "history": "h-../../x"}]})
    assert kept == store.get("run-1")
    assert kept["mode"] == "Explore" and kept["settings"]["mappings"] == {"21": "axis-0"}
    assert [p["name"] for p in kept["pads"]] == ["kick"]
    assert store.get("another model") == {"mode": "Kit", "pads": [], "settings": {}}
    store.path.write_text("{ not json")
    assert store.get("run-1")["pads"] == []
    assert list(store.path.parent.glob("keys.json.unreadable-*")), "the damaged file is kept aside"
    store.save("run-1", kept)
    assert json.loads(store.path.read_text())["run-1"]["pads"][0]["name"] == "kick"


def test_a_recording_is_taken_only_from_files_the_page_uploaded(tmp_path, monkeypatch):
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"RIFF")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    with pytest.raises(ValueError, match="did not receive"):
        received_upload(str(outside))
    with pytest.raises(ValueError):
        received_upload(None)
    inside = tmp_path / "gradio" / "0a1b2c" / "performance.wav"
    inside.parent.mkdir(parents=True)
    inside.write_bytes(b"RIFF")
    assert received_upload(str(inside)) == inside.resolve()
    with pytest.raises(ValueError, match="did not receive"):
        received_upload(str(inside.parent / ".." / ".." / "secret.wav"))


@pytest.fixture
def keys_page(kit_run, tmp_path):
    """The Play handlers of a server whose one workspace holds the kit model, opened as a page does."""
    import dataclasses
    import shutil

    from sda.server.settings import AppSettings
    from sda.server.workspace import Workspace, new_workspace_id
    from sda.ui.play.page import PlayPage
    from sda.ui.train.state import PageState

    def make(**limits):
        settings = dataclasses.replace(AppSettings(data_root=tmp_path / "data"), **limits)
        workspace = Workspace(settings, new_workspace_id()).ensure()
        shutil.copytree(kit_run, workspace.runs / "run-20250101-000000")
        page = PlayPage(settings)
        play = page.load(PageState(workspace_id=workspace.id))["play"]
        return page, play

    return make


def test_a_kit_is_refused_beyond_the_pack_limit_and_while_the_visitor_has_a_sound_being_made(keys_page):
    page, play = keys_page(max_pack_seconds=4.0, max_generations_per_workspace=1)
    refused = page.keys.fill(play, "Kit", "16 new sounds around the sliders", 1.0, False, False)
    assert "SDA_MAX_PACK_SECONDS" in refused["keys_note"] and "keys_feed" not in refused
    with page.gate.job(play.workspace_id):  # the visitor's Generate is being made
        busy = page.keys.fill(play, "Kit", "16 new sounds around the sliders", 0.2, False, False)
    assert "still being made" in busy["keys_note"] and "keys_feed" not in busy
    made = page.keys.fill(play, "Kit", "16 new sounds around the sliders", 0.2, False, False)
    assert len(made["keys_feed"]) == 16 and json.loads(made["keys"])["mode"] == "Kit"
    restored = page.keys.restore(play)
    assert [p["name"] for p in json.loads(restored["keys"])["pads"]] == [
        p["name"] for p in json.loads(made["keys"])["pads"]]


def test_explore_hands_the_page_new_sounds_within_the_pack_limit(keys_page):
    import gradio as gr

    page, play = keys_page(max_pack_seconds=6.0)
    page.keys.set_mode(play, "Explore")
    event = gr.EventData(None, {"count": 8, "fresh": True})
    seen = set()
    for _ in range(4):
        out = page.keys.explore(play, event, 1.0)
        names = {Path(f).name for f in out["keys_explore"]}
        assert names and not names & seen
        seen |= names
    pool = next(iter(page.keys.pools._pools.values()))[1]
    assert pool.size == 6, "no more seconds of sound waiting than one pack may hold"
    pool.close()
