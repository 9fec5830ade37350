"""Augmentation: costly variants made once, cheap changes applied per batch.

``make_variants`` builds pitch/speed-shifted copies of a clip before training
(resampling is too slow for every step). ``AugmentationPipeline`` applies
gain and delay to a whole batch of log-mels on the training device.
Only training data is augmented; validation sees the files as they are.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch
from scipy.signal import resample_poly


def make_variants(
    audio: np.ndarray, count: int, rng: np.random.Generator, max_semitones: float = 2.0
) -> list[np.ndarray]:
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
    """Random gain (up to +-6 dB) and delay (up to about 100 ms) on a batch of log-mels.

    Works in the normalised log-mel domain the model trains on: a gain is an
    offset in dB, a delay shifts frames and fills the front with silence (the
    floor value). Both are exact there and cost microseconds per batch.
    ``strength`` in [0, 1] scales both.
    """

    def __init__(self, strength: float = 0.5, db_scale: float = 1.0, floor: float = -100.0,
                 frames_per_second: float = 48000 / 512) -> None:
        self.strength = float(strength)
        self.max_gain = 6.0 * self.strength / db_scale  # dB -> normalised units
        self.floor = floor  # normalised value of silence
        self.max_shift = int(0.1 * frames_per_second * self.strength)

    def __call__(self, mel: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.strength <= 0:
            return mel
        count = mel.shape[0]
        gains = ((torch.rand(count, generator=generator) * 2 - 1) * self.max_gain).to(mel.device, mel.dtype)
        mel = (mel + gains[:, None, None]).clamp_min(self.floor)
        if self.max_shift > 0:
            shifts = torch.randint(0, self.max_shift + 1, (count,), generator=generator).tolist()
            for row, shift in enumerate(shifts):
                if shift:  # the sound starts later; the front is silent
                    mel[row, :, shift:] = mel[row, :, :-shift].clone()
                    mel[row, :, :shift] = self.floor
        return mel
