"""Fidelity metrics behave as their definitions promise, and the synthetic sound sets are usable data."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sda.audio.mel import mel_filterbank
from sda.bench.fidelity import fidelity, lsd_db, mel_l1_db, mrstft
from sda.bench.synth import KINDS, make_benchmark_set, make_sound, make_sound_set

SR = 48000
MINUS_6_DB = 10 ** (-6 / 20)


def _noise(seed: int, seconds: float = 1.0, level: float = 0.1) -> np.ndarray:
    return level * np.random.default_rng(seed).standard_normal(int(SR * seconds))


def _tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * freq * np.arange(int(SR * seconds)) / SR)


def test_identical_signals_score_zero():
    for x in (_noise(0), make_sound("bell", np.random.default_rng(0), SR)):
        scores = fidelity(x, x)
        assert all(abs(v) < 1e-9 for v in scores.values()), scores


def test_six_db_quieter_copy_reads_as_six_db():
    x = _noise(1)
    assert mel_l1_db(x, x * MINUS_6_DB) == pytest.approx(6.0, abs=0.2)
    assert lsd_db(x, x * MINUS_6_DB) == pytest.approx(6.0, abs=0.2)
    # Spectral convergence 1 - 0.5 plus log-magnitude ln(2).
    assert mrstft(x, x * MINUS_6_DB) == pytest.approx(0.5 + np.log(2), abs=0.02)


def test_two_noises_of_equal_level_are_close_on_mel_but_not_per_bin():
    a, b = _noise(2), _noise(3)
    # Mel bands average many bins at high frequencies, so level matches dominate.
    assert mel_l1_db(a, b) < 3.0
    # Per bin the two power spectra are independent: LSD ~ 7.9 dB, MR-STFT ~ 1.35 in theory.
    assert 7.0 < lsd_db(a, b) < 9.0
    assert 1.2 < mrstft(a, b) < 1.5


def test_different_pitches_score_far_apart():
    same, other = fidelity(_tone(440), _tone(440)), fidelity(_tone(440), _tone(1000))
    assert other["mel_l1_db"] > 5.0 and other["lsd_db"] > 5.0 and other["mrstft"] > 1.5
    assert all(same[k] < 1e-9 for k in same)


def test_lengths_are_truncated_to_the_shorter_signal():
    x = _noise(4)
    assert fidelity(x, x[: SR // 2]) == fidelity(x[: SR // 2], x[: SR // 2])


def test_silent_estimate_error_is_bounded_by_the_floor():
    x = make_sound("snare", np.random.default_rng(1), SR)
    assert 0.0 < mel_l1_db(x, np.zeros_like(x)) <= 80.0
    assert 0.0 < lsd_db(x, np.zeros_like(x)) <= 80.0


@pytest.mark.parametrize("f_min,f_max", [(0.0, None), (100.0, 8000.0)])
def test_mel_filterbank_is_nonnegative_and_covers_its_range(f_min, f_max):
    fb = mel_filterbank(2048, 128, SR, f_min, f_max)
    assert fb.shape == (128, 1025)
    assert fb.min() >= 0.0 and (fb.sum(axis=1) > 0).all()
    freqs = np.arange(1025) * SR / 2048
    inside = (freqs > f_min) & (freqs < (f_max or SR / 2))
    assert (fb.sum(axis=0)[inside] > 0).all()
    assert (fb.sum(axis=0)[~inside] == 0).all()


def _centroid(audio: np.ndarray, sr: int) -> float:
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    power = np.abs(np.fft.rfft(mono)) ** 2
    return float(np.sum(np.fft.rfftfreq(len(mono), 1 / sr) * power) / np.sum(power))


def test_every_kind_makes_a_plausible_one_shot():
    for kind in KINDS:
        mono = make_sound(kind, np.random.default_rng(5), SR)
        stereo = make_sound(kind, np.random.default_rng(5), SR, stereo=True)
        assert mono.dtype == np.float32 and mono.ndim == 1 and 0.2 <= len(mono) / SR <= 2.5, kind
        assert stereo.shape[1] == 2 and np.isfinite(stereo).all(), kind
        # Channels are slightly decorrelated, not copies.
        assert 0.5 < np.corrcoef(stereo[:, 0], stereo[:, 1])[0, 1] < 0.9999, kind


def test_sound_set_writes_varied_decodable_files(tmp_path):
    paths = make_sound_set(tmp_path, 24, seed=11, formats=("wav", "flac", "ogg"))
    assert len(paths) == 24 and {p.suffix for p in paths} == {".wav", ".flac", ".ogg"}
    centroids: dict[str, list[float]] = {}
    peaks_db, channels = [], set()
    for path in paths:
        audio, sr = sf.read(path, dtype="float32")
        assert sr == 44100 and 0.2 <= len(audio) / sr <= 2.5
        channels.add(audio.ndim)
        centroids.setdefault(path.stem.split("_")[0], []).append(_centroid(audio, sr))
        peaks_db.append(20 * np.log10(np.abs(audio).max()))
    assert set(centroids) == set(KINDS)  # 24 files = every kind twice
    assert channels == {1, 2}
    # Kinds differ clearly in brightness: kicks are low, hats are high.
    assert max(centroids["kick"]) < 400 < 5000 < min(centroids["hat"])
    # Levels vary like real files do, within -18..-1 dBFS (a little slack for codec and noise floor).
    assert -19.0 < min(peaks_db) and max(peaks_db) < -0.5 and np.ptp(peaks_db) > 6.0


def test_sound_set_is_deterministic_per_seed(tmp_path):
    first = make_sound_set(tmp_path / "a", 6, seed=3)
    again = make_sound_set(tmp_path / "b", 6, seed=3)
    other = make_sound_set(tmp_path / "c", 6, seed=4)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert [p.read_bytes() for p in first] != [p.read_bytes() for p in other]


def test_benchmark_set_is_unseen_and_reused(tmp_path):
    train, unseen = make_benchmark_set(tmp_path, train_count=12, unseen_count=12, seed=1)
    train_files, unseen_files = sorted(train.glob("*.wav")), sorted(unseen.glob("*.wav"))
    assert len(train_files) == 12 and len(unseen_files) == 12
    assert {p.stem.split("_")[0] for p in unseen_files} == set(KINDS)
    assert not {p.read_bytes() for p in train_files} & {p.read_bytes() for p in unseen_files}
    stamps = [p.stat().st_mtime_ns for p in train_files + unseen_files]
    make_benchmark_set(tmp_path, train_count=12, unseen_count=12, seed=1)
    assert [p.stat().st_mtime_ns for p in train_files + unseen_files] == stamps
