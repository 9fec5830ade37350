"""Mel -> audio: the linear power matches the mel it came from, and both qualities beat a clamped pseudo-inverse."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sda.audio.mel_inverse import MelInverse
from sda.audio.spectrogram import AudioSpectrogram
from sda.bench.fidelity import lsd_db, mel_l1_db
from sda.bench.synth import make_sound

SR = 48000


@pytest.fixture(scope="module")
def spec() -> AudioSpectrogram:
    return AudioSpectrogram()


@pytest.fixture(scope="module")
def one_shots() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [make_sound(kind, rng, SR)[: int(0.6 * SR)].astype(np.float32) for kind in ("kick", "snare", "hat", "pluck")]


def _mel_power(spec: AudioSpectrogram, audio: np.ndarray) -> torch.Tensor:
    return torch.pow(10.0, spec.waveform_to_db(torch.from_numpy(audio))[None] / 10.0)


def _mel_misfit_db(spec: AudioSpectrogram, mel_power: torch.Tensor, power: torch.Tensor) -> float:
    want = 10 * torch.log10(mel_power)
    got = 10 * torch.log10((spec.mel_basis @ power).clamp_min(1e-20))
    floor = want.max() - 80
    return float((want.clamp_min(floor) - got.clamp_min(floor)).abs().mean())


def _pseudo_inverse_round_trip(spec: AudioSpectrogram, audio: np.ndarray) -> np.ndarray:
    """The inversion sda used before: filterbank pseudo-inverse, negatives clamped to zero."""
    pinv = torch.from_numpy(np.linalg.pinv(spec.mel_basis.numpy().astype(np.float64))).float()
    power = (pinv @ _mel_power(spec, audio)).clamp_min(0.0)
    return spec.griffin_lim((power / spec._power_scale).sqrt(), len(audio))[0].numpy()


def test_linear_power_is_non_negative_and_reproduces_the_mel(spec, one_shots):
    pinv = torch.from_numpy(np.linalg.pinv(spec.mel_basis.numpy().astype(np.float64))).float()
    clamped_misfits = []
    for audio in one_shots:
        mel_power = _mel_power(spec, audio)
        power = spec.mel_inverse(mel_power, 100)
        assert power.shape == (1, 1025, mel_power.shape[-1]) and bool((power >= 0).all())
        ours = _mel_misfit_db(spec, mel_power, power)
        clamped = _mel_misfit_db(spec, mel_power, (pinv @ mel_power).clamp_min(0))
        assert ours < 0.1 and clamped > 3 * ours
        clamped_misfits.append(clamped)
    # the clamped pseudo-inverse's spectrum has a different mel: this was the round trip's loss
    assert np.mean(clamped_misfits) > 1.0


def test_sparse_and_gather_products_agree(spec, one_shots):
    mel_power = torch.cat([_mel_power(spec, a[: SR // 3]) for a in one_shots[:2]])  # a batch of two
    on_gathers = MelInverse(spec.mel_basis.numpy())
    on_gathers._sparse = None  # the path devices without sparse support take
    a, b = spec.mel_inverse(mel_power, 10), on_gathers(mel_power, 10)
    assert torch.allclose(a, b, rtol=1e-3, atol=1e-12)


def test_both_qualities_are_closer_to_the_input_than_the_clamped_pseudo_inverse(spec, one_shots):
    before, fast, best = [], [], []
    for audio in one_shots:
        mel = spec.waveform_to_mel(torch.from_numpy(audio))
        out_fast = spec.mel_to_waveform(mel, len(audio)).numpy()
        out_best = spec.mel_to_waveform(mel, len(audio), quality="best").numpy()
        assert len(out_fast) == len(out_best) == len(audio)
        old = _pseudo_inverse_round_trip(spec, audio)
        before.append((mel_l1_db(audio, old), lsd_db(audio, old)))
        fast.append((mel_l1_db(audio, out_fast), lsd_db(audio, out_fast)))
        best.append((mel_l1_db(audio, out_best), lsd_db(audio, out_best)))
    before, fast, best = (np.mean(x, axis=0) for x in (before, fast, best))
    assert fast[0] < before[0] - 0.8 and fast[1] < before[1] - 0.3, (before, fast)
    assert best[0] < fast[0] - 0.2 and best[1] < fast[1], (fast, best)


def test_unknown_quality_is_refused_by_name(spec, one_shots):
    mel = spec.waveform_to_mel(torch.from_numpy(one_shots[0]))
    with pytest.raises(ValueError, match="quality must be one of fast, best"):
        spec.mel_to_waveform(mel, quality="ultra")
