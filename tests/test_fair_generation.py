"""One visitor cannot take the Play tab: one job per workspace at a time, and each action capped by its cost.

Findings covered (see tests/README.md): "generation has 2 slots shared by everyone
with no per-user limit" (a workspace's second job is refused at once, with
a message saying to wait, while another workspace's Generate is answered)
and "One sample pack of 64 × 60 s ... costs minutes of CPU" (pack, vary,
morph and dropped-sound limits that scale with cost, each message naming
the limit and what to do). Handlers are called in-process; the model is
the tiny kit, its generator held mid-sound by a test gate.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from audio_files import write_tone

from sda.generation import load_generator
from sda.server.credentials import new_api_key
from sda.server.generation_gate import generating
from sda.server.generators import GeneratorCache
from sda.server.public_mode import FAIRNESS_DEFAULTS
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace, new_workspace_id
from sda.ui.play.page import PlayPage
from sda.ui.train.state import PageState

PUBLIC = {name: shared for name, (_, shared) in FAIRNESS_DEFAULTS.items()}


class HeldGenerator:
    """A real generator whose next ``generate`` waits until the test lets it go (a slow job, on demand)."""

    def __init__(self, real, hold: threading.Event, entered: threading.Event) -> None:
        self._real, self._hold, self._entered = real, hold, entered

    def __getattr__(self, name):
        return getattr(self._real, name)

    def generate(self, **kwargs):
        self._entered.set()
        self._hold.wait(60)
        return self._real.generate(**kwargs)


def _server(root: Path, kit_run: Path, public: bool, workspaces: int = 2):
    settings = AppSettings(data_root=root / "data", public=public, **(PUBLIC if public else {}))
    release, entered = threading.Event(), threading.Event()
    cache = GeneratorCache(loader=lambda path: HeldGenerator(load_generator(path), release, entered))
    play = PlayPage(settings, cache)
    states = []
    for _ in range(workspaces):
        workspace = Workspace(settings, new_workspace_id()).ensure()
        shutil.copytree(kit_run, workspace.runs / "run-20250101-000000")
        states.append(play.load(PageState(workspace_id=workspace.id))["play"])
    return SimpleNamespace(settings=settings, play=play, states=states, release=release, entered=entered)


def _in_thread(call) -> tuple[threading.Thread, dict]:
    box: dict = {}
    thread = threading.Thread(target=lambda: box.update(out=call()), daemon=True)
    thread.start()
    return thread, box


def _generate(server, state, seed=1):
    return server.play.sounds.generate(state, seed, 1.0, 0.0, *[0.0] * len(state.axes))


def _pack(server, state, count=2, seconds=1.0):
    return server.play.export.pack(state, count, False, 1, seconds, 0.0, "wav", 48000, "16", True)


def test_a_second_job_of_one_workspace_is_refused_at_once_and_another_workspace_is_answered(kit_run, tmp_path):
    server = _server(tmp_path, kit_run, public=True)
    alice, bob = server.states
    first, first_box = _in_thread(lambda: _generate(server, alice))
    assert server.entered.wait(60), "alice's first sound is being made"
    assert generating(alice.workspace_id), "a workspace whose sound is being made is busy: cleanup leaves it"
    assert not generating(bob.workspace_id)

    for again in (lambda: _generate(server, alice, seed=2), lambda: _pack(server, alice)):
        refused, box = _in_thread(again)
        refused.join(30)
        assert not refused.is_alive(), "the refusal does not wait for alice's first sound"
        note = box["out"].get("play_note") or box["out"].get("pack_note")
        assert "still being made" in note and "Wait for it to finish" in note
        assert "gen_audio" not in box["out"] and "pack_file" not in box["out"]

    server.entered.clear()
    answered, bob_box = _in_thread(lambda: _generate(server, bob))
    assert server.entered.wait(60), "bob's Generate reached the model while alice's job still runs"
    assert first.is_alive() and answered.is_alive()
    server.release.set()
    answered.join(60)
    first.join(60)
    assert bob_box["out"].get("gen_audio"), bob_box["out"].get("play_note")
    assert first_box["out"].get("gen_audio"), first_box["out"].get("play_note")
    assert _generate(server, alice, seed=3).get("gen_audio"), "once it finished, alice may ask again"
    assert server.play.gate.jobs_of(alice.workspace_id) == 0
    assert not generating(alice.workspace_id)


def test_the_api_shares_the_workspace_share_of_the_page(kit_run, tmp_path):
    server = _server(tmp_path, kit_run, public=True, workspaces=1)
    (alice,) = server.states
    first, _ = _in_thread(lambda: _generate(server, alice))
    assert server.entered.wait(60)
    with pytest.raises(ValueError, match="still being made"):
        key = new_api_key(Workspace(server.play.settings, alice.workspace_id))
        server.play.api_generate(key, alice.model_key, 1.0, 5, None, 0.0)
    server.release.set()
    first.join(60)


def test_a_local_run_lets_one_workspace_queue_several_sounds(kit_run, tmp_path):
    server = _server(tmp_path, kit_run, public=False, workspaces=1)
    (alice,) = server.states
    first, first_box = _in_thread(lambda: _generate(server, alice))
    assert server.entered.wait(60)
    second, second_box = _in_thread(lambda: _generate(server, alice, seed=2))
    second.join(1.0)
    assert second.is_alive(), "the second sound waits for the model instead of being refused"
    server.release.set()
    first.join(60)
    second.join(60)
    assert first_box["out"].get("gen_audio") and second_box["out"].get("gen_audio")


def test_play_actions_are_capped_by_cost_and_say_which_limit_and_what_to_do(kit_run, tmp_path):
    server = _server(tmp_path, kit_run, public=True, workspaces=1)
    server.release.set()
    (alice,) = server.states
    sounds = tmp_path / "in"
    short = write_tone(sounds / "short.wav", seconds=8.0, sr=48000, freq=220.0)
    other = write_tone(sounds / "other.wav", seconds=3.0, sr=48000, freq=330.0)
    long = write_tone(sounds / "long.wav", seconds=61.0, sr=8000, freq=110.0)

    pack = _pack(server, alice, count=64, seconds=60)
    assert pack["pack_note"].startswith("This server makes at most 120 s of sound per pack (64 sounds × 60 s asked)")
    assert "ask for fewer or shorter sounds" in pack["pack_note"] and "pack_file" not in pack

    vary = server.play.sounds.vary(alice, str(short), 16, 0.5, 1)
    assert "at most 120 s of variations" in vary["play_note"] and "16 variations × 8.0 s" in vary["play_note"]
    assert "gen_audio" not in vary
    assert server.play.sounds.vary(alice, str(short), 2, 0.5, 1).get("gen_audio"), "a cheaper Vary is made"

    steps = server.play.sounds.morph(alice, str(short), str(other), "Steps", 12, 4.0)
    assert "at most 8 steps (12 asked)" in steps["play_note"] and "fewer steps" in steps["play_note"]
    continuous = server.play.sounds.morph(alice, str(short), str(other), "Continuous", 5, 30.0)
    assert "at most 20 s (30 s asked)" in continuous["play_note"]

    dropped = server.play.sounds.resynthesise(alice, str(long))
    assert "long.wav' lasts 61 s" in dropped["play_note"] and "at most 60 s" in dropped["play_note"]
    assert "Trim it" in dropped["play_note"] and "gen_audio" not in dropped


def test_a_local_run_keeps_todays_largest_pack_and_longest_inputs(tmp_path):
    from sda.ui.play.cost_limits import check_morph_steps, check_pack, check_variations
    from sda.ui.play.inputs import max_seconds

    local = AppSettings(data_root=tmp_path)
    check_pack(local, 64, 60.0)
    check_variations(local, 16, 600.0)
    check_morph_steps(local, 16)
    assert max_seconds(local) == 600.0


def test_on_a_public_server_each_generation_slot_works_on_its_share_of_the_cores():
    """Two sounds made at once with every core each oversubscribe the CPU and both crawl (the flood finding)."""
    import torch

    from sda.runs.device import CPU_THREADS, use_cpu_threads
    from sda.server.generation_gate import GenerationGate

    def threads_in_a_job(gate: GenerationGate) -> int:
        seen = []

        def job():
            with gate.job(new_workspace_id()):
                seen.append(torch.get_num_threads())

        worker = threading.Thread(target=job)
        worker.start()
        worker.join(10)
        return seen[0]

    assert threads_in_a_job(GenerationGate(2, 1, share_cores=True)) == max(1, CPU_THREADS // 2)
    assert threads_in_a_job(GenerationGate(2)) == CPU_THREADS, "a local run's sound takes every core"

    threads_in_a_job(GenerationGate(2, 1, share_cores=True))
    trained_with = []
    training = threading.Thread(target=lambda: (use_cpu_threads(), trained_with.append(torch.get_num_threads())))
    training.start()
    training.join(10)
    assert trained_with == [CPU_THREADS], "a training started after a shared job still gets every core"
