"""Phase from the phase gradient, the inversion scores, and long sounds inverted in chunks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sda.audio.chunked_inversion as chunked
from sda.audio.pghi import pghi_phase
from sda.audio.scores import attack_db, inversion_scores, onsets
from sda.audio.spectrogram import AudioSpectrogram
from sda.bench.synth import make_sequence, make_sound, make_texture

SR = 48000


@pytest.fixture(scope="module")
def spec() -> AudioSpectrogram:
    return AudioSpectrogram()


def _click(seconds: float = 0.6, at: float = 0.25) -> np.ndarray:
    """A 1-ms click (a decaying burst of noise) in silence, with a faint noise floor."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(int(seconds * SR)) * 1e-4
    start = int(at * SR)
    x[start : start + 48] += rng.standard_normal(48) * np.exp(-np.arange(48) / 12) * 0.5
    return x.astype(np.float32)


def test_pghi_places_attacks_better_than_griffin_lim_from_random_phase(spec):
    """A click, a kick, a rim shot and a tom after 0.1 s of silence, through the quick ("fast") inversion."""
    sounds = [_click()] + [
        np.concatenate([np.zeros(SR // 10, np.float32), make_sound(kind, np.random.default_rng(12), SR)[: SR // 2]])
        for kind in ("kick", "rim", "tom")
    ]
    random, pghi = [], []
    for sound in sounds:
        mel = spec.waveform_to_mel(torch.from_numpy(sound))
        from_random = spec.mel_to_waveform(mel, len(sound), quality="fast", phase_start="random").numpy()
        from_pghi = spec.mel_to_waveform(mel, len(sound), quality="fast", phase_start="pghi").numpy()
        assert len(from_pghi) == len(sound)
        random.append(attack_db(sound, from_random))
        pghi.append(attack_db(sound, from_pghi))
    assert pghi[0] < 0.5 * random[0], (pghi, random)  # the click: pre-echo smeared over the whole window
    assert np.mean(pghi) < np.mean(random) - 2.0, (pghi, random)


def test_pghi_alone_is_close_to_a_consistent_phase_where_random_phase_is_not(spec):
    """From the exact magnitude, the integrated phase alone nearly rebuilds the sound; a random one does not."""
    sound = make_sequence(("snare", "pluck", "bell"), 1.5, np.random.default_rng(4), SR)
    magnitude = spec._stft(torch.from_numpy(sound)[None]).abs()
    pghi = spec.griffin_lim(magnitude, len(sound), iters=0, initial=spec.start_phase(magnitude, "pghi"))[0].numpy()
    random = spec.griffin_lim(magnitude, len(sound), iters=0)[0].numpy()
    ours, theirs = inversion_scores(sound, pghi), inversion_scores(sound, random)
    assert ours["mrstft"] < 0.75 * theirs["mrstft"] and ours["mel_l1_db"] < 0.5 * theirs["mel_l1_db"], (ours, theirs)
    assert ours["attack_db"] < theirs["attack_db"] - 2.0, (ours, theirs)


def test_known_phases_are_kept():
    magnitude = np.abs(np.random.default_rng(0).standard_normal((20, 65))) + 0.1
    known = np.random.default_rng(1).uniform(-np.pi, np.pi, magnitude.shape)
    phase = pghi_phase(magnitude, 128, 32, known_phase=known, known_frames=5)
    assert np.array_equal(phase[:5], known[:5]) and not np.allclose(phase[5:], known[5:])


def test_identical_signals_score_perfectly_and_each_score_sees_its_fault():
    sound = make_sequence(("kick", "snare", "hat"), 2.0, np.random.default_rng(2), SR)
    perfect = inversion_scores(sound, sound.copy(), SR)
    assert set(perfect) == {"mrstft", "lsd_db", "mel_l1_db", "attack_db"} and all(v == 0 for v in perfect.values())
    late = np.concatenate([np.zeros(int(0.005 * SR), np.float32), sound[: -int(0.005 * SR)]])  # attacks 5 ms late
    quieter = sound * np.float32(10 ** (-1 / 20))  # 1 dB down everywhere
    assert attack_db(sound, late) > 3 * attack_db(sound, quieter)
    assert 0.5 < attack_db(sound, quieter) <= 1.0 + 1e-6  # 1 dB where it is above the floor
    smeared = sound.copy()  # pre-echo: the sound's own tail played 15 ms before each onset
    for onset in onsets(sound, SR):
        at = onset * 48
        smeared[max(0, at - 720) : at] += 0.05 * sound[at : at + 720][: min(at, 720)]
    assert attack_db(sound, smeared) > 1.0
    noisy = sound + np.random.default_rng(0).standard_normal(len(sound)).astype(np.float32) * 0.01
    worse = inversion_scores(sound, noisy, SR)
    assert all(worse[k] > 0.1 for k in ("mrstft", "lsd_db", "mel_l1_db")), worse


def test_onsets_are_found_where_the_hits_are():
    hits = [0.1, 0.55, 1.2]
    x = np.zeros(int(1.6 * SR), np.float32)
    for i, t in enumerate(hits):
        hit = make_sound(("kick", "snare", "tom")[i], np.random.default_rng(i), SR)[: int(0.4 * SR)]
        lead = int(np.argmax(np.abs(hit) > 0.05 * np.abs(hit).max()))  # the recipe's room tone before the hit
        x[int(t * SR) - lead : int(t * SR) - lead + len(hit)] += hit
    found = onsets(x, SR)
    assert len(found) == 3 and all(abs(f / 1000 - t) < 0.004 for f, t in zip(found, hits)), found


def _levels_db(x: np.ndarray, block: int = 960) -> np.ndarray:
    """RMS level of each 20-ms block, in dB."""
    blocks = x[: len(x) // block * block].reshape(-1, block)
    return 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-12)


def _held_chord(seconds: float) -> np.ndarray:
    """A sustained chord with slow vibrato: two chunks' waveforms that disagree in phase would cancel at a join."""
    t = np.arange(int(seconds * SR)) / SR
    wobble = 1 + 0.004 * np.sin(2 * np.pi * 0.7 * t)
    chord = sum(np.sin(2 * np.pi * np.cumsum(np.full_like(t, f) * wobble) / SR) / (i + 1)
                for i, f in enumerate((220.0, 277.2, 329.6, 440.0, 660.0)))
    return (0.2 * chord).astype(np.float32)


def test_long_sounds_are_inverted_in_chunks_with_seamless_joins(spec, monkeypatch):
    """Chunks of 2 s here (10 s in use): no level dip at the joins, and the sound is as close as in one pass."""
    monkeypatch.setattr(chunked, "CHUNK_FRAMES", 188)
    seen = []
    original = chunked.invert_in_chunks

    def spy(invert, mel_power, *args, **kwargs):
        def counting(chunk, *rest):
            seen.append(chunk.shape[-1])
            return invert(chunk, *rest)
        return original(counting, mel_power, *args, **kwargs)

    monkeypatch.setattr("sda.audio.spectrogram.invert_in_chunks", spy)
    for sound in (_held_chord(7.0), make_texture(7.0, np.random.default_rng(5), SR)):
        seen.clear()
        mel = spec.waveform_to_mel(torch.from_numpy(sound))
        out = spec.mel_to_waveform(mel, len(sound), quality="fast").numpy()
        chunks = len(seen)
        assert len(out) == len(sound) and chunks >= 4 and max(seen) <= 188
        whole = spec.mel_to_waveform(mel, len(sound), quality="fast", chunk_frames=10_000).numpy()
        # the middle of each crossfade, where two chunks that disagree would cancel most
        joins = [((i + 1) * (188 - chunked.OVERLAP_FRAMES) + chunked.OVERLAP_FRAMES // 2) * 512 // 960
                 for i in range(chunks - 1)]
        level = _levels_db(out) - _levels_db(sound)  # both sounds hold a steady level
        dips = [float(level[j - 3 : j + 3].min()) for j in joins]
        # 16 iterations from random phases leave the chord within 2 dB of its level anywhere;
        # chunks that disagreed in phase dip 4 to 8 dB at their joins
        assert min(dips) > -2.5, np.round(dips, 2)
        ours, one_pass = inversion_scores(sound, out), inversion_scores(sound, whole)
        assert ours["mel_l1_db"] < one_pass["mel_l1_db"] + 0.15 and ours["mrstft"] < one_pass["mrstft"] + 0.03


def test_a_minute_long_sound_comes_back_whole(spec):
    rng = np.random.default_rng(9)
    sound = np.concatenate([make_sequence(("pluck", "hat", "bass"), 10.0, rng, SR) for _ in range(6)])
    mel = spec.waveform_to_mel(torch.from_numpy(sound))
    out = spec.mel_to_waveform(mel, len(sound) + 100, quality="fast").numpy()
    assert out.shape == (len(sound) + 100,) and np.isfinite(out).all()
    scores = inversion_scores(sound, out[: len(sound)])
    assert scores["mel_l1_db"] < 2.0, scores
