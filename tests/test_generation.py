"""Generating with a trained model: exact lengths, same seed same audio, axes, variations, morphs, long sounds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from generation_helpers import SR, frame_rms_db, mel_distance

from sda.audio.io import load_audio
from sda.generation import GenerationError, load_generator, save_sound
from sda.generation.analysis import ANALYSIS_FILE
from sda.generation.windows import JOIN_FRAMES


@pytest.fixture(scope="module")
def gen(kit_run):
    return load_generator(kit_run, device="cpu")


@pytest.fixture(scope="module")
def kit_sounds(kit_run):
    folder = kit_run.parent / "kit"
    return [load_audio(p).audio for p in sorted(folder.glob("*.wav"))]


def test_training_stores_an_analysis_with_the_run(kit_run, gen):
    assert (kit_run / ANALYSIS_FILE).is_file()
    summary = json.loads((kit_run / "analysis.json").read_text())
    assert summary["model_id"] == gen.model_id
    assert [a["key"] for a in summary["axes"]] == [a.key for a in gen.axes]
    state = torch.load(kit_run / ANALYSIS_FILE, weights_only=True)
    assert state["format"] == "sda-analysis"


@pytest.mark.parametrize("seconds", [0.1, 0.77, 2.0, 7.3])
def test_generated_sounds_have_exactly_the_asked_length(gen, seconds):
    sound = gen.generate(seconds=seconds, seed=3)
    assert len(sound.audio) == round(seconds * SR)
    assert sound.audio.dtype == np.float32 and np.isfinite(sound.audio).all()
    assert np.abs(sound.audio).max() > 1e-3  # not silence


def test_same_seed_gives_identical_audio_and_other_seeds_differ(gen):
    a = gen.generate(seconds=1.5, seed=11, axes={1: 0.5})
    b = gen.generate(seconds=1.5, seed=11, axes={1: 0.5})
    c = gen.generate(seconds=1.5, seed=12, axes={1: 0.5})
    assert np.array_equal(a.audio, b.audio)
    assert not np.array_equal(a.audio, c.audio)
    assert a.settings["seed"] == 11 and a.settings["model_id"] == gen.model_id


def test_durations_outside_the_range_are_refused(gen):
    for bad in (0.05, 60.5, float("nan"), "long"):
        with pytest.raises(GenerationError, match="0.1 to 60"):
            gen.generate(seconds=bad)


def test_axes_are_listed_and_move_the_sound_by_name_and_by_number(gen):
    assert gen.axes and all(0 < a.share <= 1 and a.safe_min < 0 < a.safe_max for a in gen.axes)
    assert [a.index for a in gen.axes] == list(range(1, len(gen.axes) + 1))
    first = gen.axes[0]
    base = gen.generate(seconds=1.0, seed=4)
    by_name = gen.generate(seconds=1.0, seed=4, axes={first.key: first.safe_max})
    by_number = gen.generate(seconds=1.0, seed=4, axes={"1": first.safe_max})
    assert np.array_equal(by_name.audio, by_number.audio)
    assert mel_distance(gen.spectrogram, base.audio, by_name.audio) > 0.5
    low = gen.generate(seconds=1.0, seed=4, axes={first.key: first.safe_min})
    assert mel_distance(gen.spectrogram, low.audio, by_name.audio) > 1.0


def test_unknown_axes_are_named_and_out_of_range_values_clamped(gen):
    with pytest.raises(GenerationError) as info:
        gen.generate(axes={"sparkle": 1.0})
    assert "sparkle" in str(info.value) and gen.axes[0].key in str(info.value)
    first = gen.axes[0]
    low, high = first.reach
    assert low < first.safe_min and high > first.safe_max
    sound = gen.generate(seconds=0.5, axes={1: 99.0})
    assert sound.settings["axes"][first.key] == pytest.approx(high, abs=1e-5)
    assert sound.notes and "safe range" in sound.notes[0] and "used" in sound.notes[0]
    # A little past the safe range is honoured (and said), not pulled back to its edge.
    beyond = (first.safe_max + high) / 2
    past = gen.generate(seconds=0.5, seed=3, axes={1: beyond})
    edge = gen.generate(seconds=0.5, seed=3, axes={1: first.safe_max})
    assert past.settings["axes"][first.key] == pytest.approx(beyond, abs=1e-5)
    assert past.notes and "outside its safe range" in past.notes[0]
    assert not np.array_equal(past.audio, edge.audio)


def test_vary_amount_zero_is_the_plain_reconstruction(gen, kit_sounds):
    source = kit_sounds[0]
    plain = gen.resynthesise(source)
    same = gen.vary(source, count=1, amount=0.0, seed=0)[0]
    assert np.array_equal(plain.audio, same.audio)
    assert len(plain.audio) == len(source)


def test_resynthesis_is_the_one_reconstruction_and_a_zero_axis_offset_changes_nothing(gen, kit_sounds):
    from sda.generation.reconstruct import reconstruct_audio

    source = kit_sounds[0]
    plain = reconstruct_audio(gen.model, gen.spectrogram, source, quality="fast")
    assert np.array_equal(gen.resynthesise(source).audio, plain)
    assert np.array_equal(gen.resynthesise(source, {gen.axes[0].key: 0.0}).audio, plain)
    assert not np.array_equal(gen.resynthesise(source, {gen.axes[0].key: gen.axes[0].safe_max}).audio, plain)
    # A batch gives each sound its own reconstruction (what training's previews write). Equal up to
    # float rounding: the CPU's kernels may sum in another order for a batch of two than for one.
    batch = np.stack([source, source[::-1].copy()])
    first = reconstruct_audio(gen.model, gen.spectrogram, batch, quality="fast")[0]
    assert np.max(np.abs(first - plain)) <= 1e-4 * np.max(np.abs(plain))


def test_long_sounds_go_in_windows_whose_latent_frames_line_up(gen, kit_sounds, monkeypatch):
    import sda.generation.reconstruct as reconstruct

    mel = gen.spectrogram.waveform_to_mel(torch.from_numpy(np.concatenate(kit_sounds[:3])))[None]
    one_pass = reconstruct.reconstruct_mel(gen.model, mel)
    monkeypatch.setattr(reconstruct, "WINDOW_FRAMES", 64)  # a few windows instead of one per 30 s
    monkeypatch.setattr(reconstruct, "BLEND_FRAMES", 12)
    seen = []

    def record(latents, frames):
        assert latents.shape[-1] == frames.stop - frames.start
        seen.append(frames)
        return latents

    windowed = reconstruct.reconstruct_mel(gen.model, mel, record)
    stride, length = gen.model.time_stride, gen.model.latent_frames(mel.shape[-1])
    assert len(seen) > 3 and seen[0].start == 0 and seen[-1].stop == length
    assert all(b.start < a.stop for a, b in zip(seen, seen[1:]))  # windows overlap: no latent frame is skipped
    zero = reconstruct.add_offsets(torch.zeros(gen.model.latent_dim, length))
    assert torch.equal(reconstruct.reconstruct_mel(gen.model, mel, zero), windowed)
    # Blending in the mel domain barely moves the reconstruction, far less than the model's own error.
    assert (windowed - one_pass).abs().mean() < 0.2 * (one_pass - mel).abs().mean()
    window, blend = reconstruct.window_frames(stride)
    assert window % stride == 0 and blend % stride == 0 and window <= 64 and blend >= 12


def test_cli_reconstruct_gives_the_same_audio_with_and_without_a_zero_axis_offset(kit_run, gen, tmp_path):
    import soundfile as sf
    from helpers import sda

    sound = sorted((kit_run.parent / "kit").glob("*.wav"))[0]
    written = {}
    for name, extra in {"plain": [], "zero": ["--set", f"{gen.axes[0].key}=0"], "moved": ["--set", "1=1.5"]}.items():
        proc = sda("reconstruct", "--model", kit_run, sound, "--out", tmp_path / name, "--device", "cpu", *extra)
        assert proc.returncode == 0, proc.stderr
        written[name], rate = sf.read(tmp_path / name / sound.name, dtype="float32")
        assert rate == SR and len(written[name]) == len(load_audio(sound).audio)
    assert np.array_equal(written["plain"], written["zero"])
    assert not np.array_equal(written["plain"], written["moved"])


def test_cli_reconstruct_needs_no_axis_analysis_without_set(kit_run, tmp_path):
    """A checkpoint away from its run (no analysis, no record of its sounds) still reconstructs.

    With --set, which needs the axes, the one line error says what is missing."""
    import shutil

    from helpers import assert_user_error, sda

    from sda.runs.checkpoints import get_latest_checkpoint

    lone = tmp_path / "lone.pt"
    shutil.copy(get_latest_checkpoint(kit_run / "checkpoints"), lone)
    sound = sorted((kit_run.parent / "kit").glob("*.wav"))[0]
    proc = sda("reconstruct", "--model", lone, sound, "--out", tmp_path / "out", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / sound.name).is_file() and not list(tmp_path.glob("*analysis*"))
    moved = sda("reconstruct", "--model", lone, sound, "--out", tmp_path / "moved", "--device", "cpu", "--set", "1=0")
    assert_user_error(moved, "lone.pt", "no axis analysis", "analyse")


def test_variations_keep_the_length_and_stay_closer_to_their_source_than_other_sounds(gen, kit_sounds):
    source = kit_sounds[0]
    variations = gen.vary(source, count=3, amount=0.3, seed=7)
    assert len(variations) == 3 and all(len(v.audio) == len(source) for v in variations)
    assert not np.array_equal(variations[0].audio, variations[1].audio)
    plain = gen.resynthesise(source).audio
    own = np.mean([mel_distance(gen.spectrogram, plain, v.audio) for v in variations])
    others = np.mean([mel_distance(gen.spectrogram, plain, gen.resynthesise(o).audio) for o in kit_sounds[1:6]])
    assert own < others


def test_morph_steps_go_from_a_to_b(gen, kit_sounds):
    a, b = kit_sounds[0], kit_sounds[5]
    steps = gen.morph(a, b, steps=4)
    assert [len(s.audio) for s in steps][0] == len(a) and len(steps[-1].audio) == len(b)
    rec_a, rec_b = gen.resynthesise(a).audio, gen.resynthesise(b).audio
    assert mel_distance(gen.spectrogram, steps[0].audio, rec_a) < mel_distance(gen.spectrogram, steps[0].audio, rec_b)
    assert mel_distance(gen.spectrogram, steps[-1].audio, rec_b) < mel_distance(gen.spectrogram, steps[-1].audio, rec_a)


def test_continuous_morph_has_the_asked_length(gen, kit_sounds):
    sound = gen.morph_continuous(kit_sounds[0], kit_sounds[5], seconds=3.0)
    assert len(sound.audio) == 3 * SR and np.abs(sound.audio).max() > 1e-3


def _joins(gen, seconds: float) -> list[int]:
    hop_samples = gen.spectrogram.config.hop_length
    hop = gen.window * gen.model.time_stride * hop_samples - JOIN_FRAMES * hop_samples
    return [k * hop + JOIN_FRAMES * hop_samples // 2 for k in range(1, int(seconds * SR / hop))]


def test_long_evolving_sounds_have_no_level_dips_at_window_joins(gen):
    sound = gen.generate(seconds=12.0, seed=2, evolve=0.6)
    rms = frame_rms_db(sound.audio, 256)
    joins = _joins(gen, 12.0)
    assert len(joins) >= 3
    for centre in joins:
        at = centre // 256
        before, after = rms[at - 16 : at - 6].mean(), rms[at + 6 : at + 16].mean()
        assert rms[at - 3 : at + 4].min() >= min(before, after) - 3.0, (centre, before, after)


def test_a_long_sound_that_does_not_evolve_repeats_its_window_attack_and_all(gen):
    one = gen.generate(seconds=gen.window * gen.model.time_stride * 512 / SR, seed=5).audio
    long = gen.generate(seconds=8.0, seed=5, evolve=0.0).audio
    joins = _joins(gen, 8.0)
    assert len(joins) >= 2, f"8 s spans {len(joins) + 1} windows; the check needs two joins"
    for centre in joins[:2]:
        start = centre + JOIN_FRAMES * 256  # the next window, past the handover
        again = frame_rms_db(long[start : start + 20 * 256], 256)
        first = frame_rms_db(one[JOIN_FRAMES * 512 : JOIN_FRAMES * 512 + 20 * 256], 256)
        assert np.abs(again - first).max() < 3.0  # the repeated hit keeps its level and attack


def test_saved_sound_has_a_sidecar_with_its_settings(gen, tmp_path):
    sound = gen.generate(seconds=0.8, seed=9, axes={1: 0.3}, evolve=0.2)
    audio_path, sidecar = save_sound(sound, tmp_path / "hit.wav")
    assert audio_path.exists() and sidecar.suffix == ".json"
    record = json.loads(sidecar.read_text())
    settings = record["settings"]
    assert settings["seed"] == 9 and settings["seconds"] == 0.8 and settings["evolve"] == 0.2
    assert settings["model_id"] == gen.model_id and settings["axes"] == {gen.axes[0].key: 0.3}
    again = gen.generate(
        seconds=settings["seconds"],
        seed=settings["seed"],
        axes=settings["axes"],
        evolve=settings["evolve"],
        quality=settings["quality"],
    )
    assert np.array_equal(again.audio, sound.audio)


def test_a_named_axis_moves_its_descriptor_the_named_way(gen):
    from sda.generation.descriptors import NAMES, band_frequencies, describe_db

    named = [a for a in gen.axes if a.key.split("+")[0] in NAMES]  # "brightness+decay": brightness most
    assert named, [a.key for a in gen.axes]
    axis = named[0]
    band = band_frequencies(gen.spectrogram.mel_basis, SR)
    moves = []
    for seed in range(6):
        pair = [gen.generate(1.0, seed, {axis.key: value}).audio for value in (axis.safe_min, axis.safe_max)]
        db = torch.stack([gen.spectrogram.waveform_to_db(torch.from_numpy(a)) for a in pair])
        values = describe_db(db, band, 512 / SR)[:, NAMES.index(axis.key.split("+")[0])]
        moves.append(values[1] > values[0])
    assert np.mean(moves) >= 0.66, (axis, moves)


def test_final_training_previews_are_far_louder_than_standard_normal_draws(kit_run, tmp_path):
    """The previews come from the data prior: not the quiet, noise-like sounds N(0, I) latents decode to."""
    import soundfile as sf

    from sda.generation.loader import load_source
    from sda.runs.checkpoints import get_latest_checkpoint
    from sda.training.preview import generate_preview

    final = sorted((kit_run / "previews").glob("preview_epoch*_00.wav"))[-1]
    preview, _ = sf.read(final, dtype="float32")
    source = load_source(get_latest_checkpoint(kit_run / "checkpoints"))
    normal = generate_preview(source.model, source.spectrogram, tmp_path, 99, num_samples=4, seed=1234)
    normal_peak = np.median([20 * np.log10(np.abs(sf.read(p)[0]).max()) for p in normal])
    assert 20 * np.log10(np.abs(preview).max()) > normal_peak + 6, normal_peak
