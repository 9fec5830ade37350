"""Augmentation: costly variants made once, cheap changes applied per batch.

``make_variants`` builds pitch/speed-shifted copies of a clip before training
(resampling is too slow for every step). ``AugmentationPipeline`` applies
gain and time-shift to a whole batch on the training device in microseconds.
Only training data is augmented; validation sees the files as they are.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch
from scipy.signal import resample_poly


def make_variants(audio: np.ndarray, count: int, rng: np.random.Generator, max_semitones: float = 2.0) -> list[np.ndarray]:
    """``count`` copies of ``audio`` played slightly faster or slower (pitch moves with speed)."""
    variants = []
    for _ in range(count):
        semitones = rng.uniform(-max_semitones, max_semitones)
        if abs(semitones) < 0.25:  # too close to the original to be worth memory
            semitones = 0.25 if semitones >= 0 else -0.25
        ratio = Fraction(2 ** (-semitones / 12)).limit_denominator(64)
        shifted = resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)
        gain = 10 ** (rng.uniform(-3.0, 3.0) / 20)
        variants.append(np.clip(shifted * gain, -1.0, 1.0))
    return variants


class AugmentationPipeline:
    """Random gain (up to +-6 dB) and delay (up to 100 ms), scaled by ``strength`` in [0, 1]."""

    def __init__(self, strength: float = 0.5, sample_rate: int = 48000) -> None:
        self.strength = float(strength)
        self.max_gain_db = 6.0 * self.strength
        self.max_shift = int(0.1 * sample_rate * self.strength)

    def __call__(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.strength <= 0:
            return batch
        count = batch.shape[0]
        gain_db = (torch.rand(count, generator=generator) * 2 - 1) * self.max_gain_db
        gains = torch.pow(10.0, gain_db / 20).to(batch.device, batch.dtype)
        batch = batch * gains[:, None]
        if self.max_shift > 0:
            shifts = torch.randint(0, self.max_shift + 1, (count,), generator=generator).tolist()
            # A delay: the sound starts later, the front is silent.
            delayed = torch.zeros_like(batch)
            for row, shift in enumerate(shifts):
                if shift:
                    delayed[row, shift:] = batch[row, :-shift]
                else:
                    delayed[row] = batch[row]
            batch = delayed
        return batch.clamp(-1.0, 1.0)
