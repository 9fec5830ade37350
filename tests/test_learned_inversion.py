"""The learned inversion: learned after the epochs, kept only when closer, stored, used everywhere, seamless."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from audio_files import tone, write_signal
from helpers import make_tiny_config, sda

from sda.audio.spectrogram import AudioSpectrogram, SpectrogramConfig
from sda.generation import export_model_file, load_generator
from sda.generation.errors import GenerationError
from sda.generation.inversion_store import INVERSION_FILE
from sda.generation.inverter import Inverter
from sda.generation.loader import load_source
from sda.models.inversion import InversionNet, inversion_architecture
from sda.server.sessions import TrainingManager
from sda.training import TrainingRunner, inversion_phase
from sda.training.loop import train
from sda.training.metrics import StatusEvent
from sda.ui.train.dashboard import RunView
from sda.ui.train.run_status import inversion_text, status_markdown

SR = 48000


def _harmonic(seconds: float, f0: float, decay: float, level: float, seed: int) -> np.ndarray:
    """A bright harmonic note: its partials are finer than the mel bands above a few kHz."""
    out = sum(tone(seconds, SR, f0 * k, 1.0 / k, decay=decay * (1 + k / 8)) for k in range(1, 60) if f0 * k < 20000)
    out += 0.002 * np.random.default_rng(seed).standard_normal(out.size)
    return level * out / np.max(np.abs(out))


@pytest.fixture(scope="module")
def notes(tmp_path_factory):
    """Twelve notes of one instrument (the same pitch, different lengths, decays and levels)."""
    folder = tmp_path_factory.mktemp("notes")
    for i in range(12):
        write_signal(folder / f"note_{i:02d}.wav", _harmonic(0.8 + 0.1 * (i % 4), 293.0, 1.5 + 0.5 * (i % 3),
                                                            0.3 + 0.05 * i, i), SR, subtype="FLOAT")
    return folder


@pytest.fixture(scope="module")
def learned_run(notes, tmp_path_factory, fast_previews):
    """A tiny model whose learned inversion was kept (the notes' partials are what it learns)."""
    run = tmp_path_factory.mktemp("learned") / "run"
    with pytest.MonkeyPatch.context() as patch:  # a 2-epoch model would give it only the 10-s floor
        patch.setattr(inversion_phase, "FLOOR_SECONDS", 30.0)
        train(make_tiny_config(max_epochs=2, inversion_seconds=30.0), [notes], run, "cpu")
    return run


def test_the_phase_keeps_a_closer_inversion_and_says_why(learned_run):
    record = json.loads((learned_run / "run.json").read_text())["inversion"]
    assert record["kind"] == "learned", record["reason"]
    assert record["learned"]["mrstft"] < record["standard"]["mrstft"] * 0.99
    assert record["learned"]["lsd_db"] < record["standard"]["lsd_db"]
    assert record["reason"].startswith("Learned inversion: closer") and "validation files" in record["reason"]
    assert (learned_run / INVERSION_FILE).is_file() and record["steps"] > 0
    manager = TrainingManager(max_concurrent=1)
    line = status_markdown("completed", RunView(learned_run), manager, learned_run)  # the Train page's status line
    assert line.startswith("**Finished:**") and line.endswith(f"Sound: {record['reason']}")
    generator = load_generator(learned_run, "cpu")
    assert generator.inverter.kind == "learned" and generator.info["inversion"]["kind"] == "learned"


def test_a_learned_inversion_that_is_not_closer_is_refused_and_the_standard_one_used(notes, tmp_path,
                                                                                     fast_previews):
    run = tmp_path / "run"
    events = []
    train(make_tiny_config(max_epochs=1, inversion_seconds=0.001), [notes], run, "cpu", callback=events.append)
    record = json.loads((run / "run.json").read_text())["inversion"]
    assert record["kind"] == "standard" and record["steps"] <= 2
    assert record["reason"].startswith("Standard inversion: the learned one was not closer (MR-STFT")
    assert not (run / INVERSION_FILE).exists()
    assert any(isinstance(e, StatusEvent) and e.message == record["reason"] for e in events)
    assert inversion_text(run) == f" Sound: {record['reason']}"
    generator = load_generator(run, "cpu")
    assert generator.inverter.kind == "standard"
    sound = generator.generate(0.5, seed=1)
    spec = generator.spectrogram
    assert len(sound.audio) == SR // 2 and np.sqrt(np.mean(sound.audio**2)) > 1e-4
    assert spec is generator.inverter.spectrogram


def test_the_train_page_says_while_it_learns(tmp_path):
    view = RunView(tmp_path)
    view.status = StatusEvent("inversion", "Learning the model's own sound: step 40, 12 s left", 0.6)
    line = status_markdown("running", view, None, tmp_path)
    assert line.startswith("**Learning its sound:**") and "(60%)" in line and line.endswith("step 40, 12 s left")


def test_turned_off_it_says_which_setting(notes, tmp_path, fast_previews):
    run = tmp_path / "run"
    train(make_tiny_config(max_epochs=1, inversion_seconds=0.0), [notes], run, "cpu")
    record = json.loads((run / "run.json").read_text())["inversion"]
    assert record == {"kind": "standard",
                      "reason": "Standard inversion: learning one is turned off (setting 'inversion seconds' is 0)."}


def test_the_setting_is_checked_by_name(notes, tmp_path):
    proc = sda("train", notes, "--epochs", 1, "--out", tmp_path / "run", "--device", "cpu",
               "--inversion-seconds", "-5")
    assert proc.returncode == 2, proc.stderr
    assert "Setting 'inversion seconds' is -5.0" in proc.stderr and not (tmp_path / "run").exists()


def test_cancel_during_the_phase_keeps_the_model_and_resume_completes(notes, tmp_path, fast_previews):
    run = tmp_path / "run"
    runner = TrainingRunner()
    events = []

    def on_event(event):
        events.append(event)
        if isinstance(event, StatusEvent) and event.phase == "inversion" and "step" in event.message:
            runner.cancel()

    runner.start(make_tiny_config(max_epochs=2, inversion_seconds=60.0), [notes], run, "cpu", callback=on_event)
    assert runner.wait(120) and runner.last_error() is None
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "cancelled" and "inversion" not in info and not (run / INVERSION_FILE).exists()
    final = sorted((run / "checkpoints").glob("checkpoint_epoch0002.pt"))
    assert final, "the model's last checkpoint is kept"
    assert load_source(run).inverter.kind == "standard"  # usable at once, with the standard inversion

    resumed = TrainingRunner()
    resumed.resume(make_tiny_config(max_epochs=2, inversion_seconds=20.0), [notes], run, "cpu", final[0])
    assert resumed.wait(120) and resumed.last_error() is None
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "completed" and info["inversion"]["kind"] in ("learned", "standard")
    assert (run / INVERSION_FILE).exists() == (info["inversion"]["kind"] == "learned")


def test_old_runs_and_model_files_without_it_load_and_generate(kit_run_copy, tmp_path):
    generator = load_generator(kit_run_copy, "cpu")  # trained with no learned inversion, as every older run
    assert generator.inverter.kind == "standard"
    path = export_model_file(kit_run_copy, tmp_path / "old")
    state = torch.load(path, weights_only=True)
    assert "inversion" not in state
    from_file = load_generator(path, "cpu")
    assert from_file.inverter.kind == "standard"
    a, b = generator.generate(0.4, seed=3), from_file.generate(0.4, seed=3)
    assert np.array_equal(a.audio, b.audio)


def test_a_model_file_carries_it_and_sounds_the_same(learned_run, tmp_path):
    path = export_model_file(learned_run, tmp_path / "notes")
    state = torch.load(path, weights_only=True)
    assert state["inversion"]["architecture"]["kind"] == "mel_detail"
    run_gen, file_gen = load_generator(learned_run, "cpu"), load_generator(path, "cpu")
    assert file_gen.inverter.kind == "learned"
    assert np.array_equal(run_gen.generate(0.6, seed=2).audio, file_gen.generate(0.6, seed=2).audio)
    audio = _harmonic(0.7, 293.0, 2.0, 0.4, 99).astype(np.float32)
    assert np.array_equal(run_gen.resynthesise(audio).audio, file_gen.resynthesise(audio).audio)

    weights = state["inversion"]["weights"]
    weights["head.weight"] = weights["head.weight"][:-1]  # damaged: refused before anything is built
    damaged = tmp_path / "damaged.sdamodel"
    torch.save(state, damaged)
    with pytest.raises(GenerationError, match=r"damaged\.sdamodel' cannot be used: its inversion weight head\.weight"):
        load_source(damaged)


def test_a_run_folder_with_a_damaged_inversion_file_is_named(learned_run, tmp_path):
    run = shutil.copytree(learned_run, tmp_path / "run")
    (run / INVERSION_FILE).write_bytes(b"not a torch file")
    with pytest.raises(GenerationError, match="inversion.pt"):
        load_source(run)


def test_long_sounds_are_seamless_in_bounded_blocks(monkeypatch):
    """60 s through the learned inversion: blocks of frames join exactly, with no level dip or click at the joins."""
    import sda.generation.inverter as inverter_module

    spec = AudioSpectrogram(SpectrogramConfig(griffin_lim_iters=4))  # the joins, not the phase, are tested
    spec.load_normalization_state({"mean": -60.0, "std": 20.0})
    torch.manual_seed(0)
    net = InversionNet(inversion_architecture(128, 2048, 512, channels=32, blocks=2))
    with torch.no_grad():
        net.head.weight.normal_(0, 0.05)  # a network that changes the spectrum, as a trained one does
    inverter = Inverter(spec, net)
    seconds = 60
    audio = np.concatenate([tone(1.0, SR, 220.0 * (1 + i % 3), 0.4) for i in range(seconds)]).astype(np.float32)
    mel = spec.waveform_to_mel(torch.from_numpy(audio))[None]
    whole, _ = inverter.magnitude(mel)  # one block: 5626 frames > BLOCK_FRAMES, so this is already in blocks
    monkeypatch.setattr(inverter_module, "BLOCK_FRAMES", 100000)
    single, _ = inverter.magnitude(mel)
    assert torch.allclose(whole, single, rtol=1e-4, atol=1e-6)
    monkeypatch.setattr(inverter_module, "BLOCK_FRAMES", 500)  # joins every 5.3 s, mid-note
    joined = inverter(mel[0], len(audio)).numpy()
    monkeypatch.setattr(inverter_module, "BLOCK_FRAMES", 100000)
    one_pass = inverter(mel[0], len(audio)).numpy()
    assert len(joined) == len(one_pass) == len(audio)
    hop, block = spec.config.hop_length, int(0.01 * SR)
    for join in range(500, mel.shape[-1], 500):  # around each join: the same audio as with no join at all
        around = slice(join * hop - 4 * block, join * hop + 4 * block)
        assert np.max(np.abs(joined[around] - one_pass[around])) < 1e-3, join
    levels = 20 * np.log10(np.sqrt(np.mean(joined[: len(joined) // block * block].reshape(-1, block) ** 2, axis=1)))
    for join in range(500, mel.shape[-1], 500):  # no level dip at a join: as loud as the note 0.1-0.2 s before
        if not 0.25 < (join * hop / SR) % 1.0 < 0.95:
            continue  # too near a change of note (every whole second)
        at = join * hop // block
        assert abs(_power_db(levels[at - 3 : at + 3]) - _power_db(levels[at - 20 : at - 10])) < 1.0, join


def _power_db(levels_db: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(10 ** (levels_db / 10))))
