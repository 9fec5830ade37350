"""The named ways back from a mel to audio, for the ``invert`` command, the benchmark and the tests.

Each non-learned method is a quality ("fast" fits the linear power in 10
steps and runs 16 Griffin-Lim iterations; "best" 100 steps, 128 iterations
and mel refits) and a phase start: from the phase gradient (PGHI) or random
(how sda inverted before). "fast" and "best" are the defaults each quality
uses everywhere else in sda (Play uses "fast", files a user keeps "best").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sda.audio.spectrogram import DEFAULT_PHASE_START, AudioSpectrogram


@dataclass(frozen=True)
class InversionMethod:
    quality: str
    phase_start: str
    iterations: int | None = None  # None: the quality's own; 0: the starting phase alone
    summary: str = ""


INVERSION_METHODS: dict[str, InversionMethod] = {
    "fast": InversionMethod("fast", DEFAULT_PHASE_START["fast"], summary="the default quick inversion (Play)"),
    "best": InversionMethod("best", DEFAULT_PHASE_START["best"], summary="the default for files you keep"),
    "gl-fast": InversionMethod("fast", "random", summary="random phase start, 16 Griffin-Lim iterations"),
    "gl-best": InversionMethod("best", "random", summary="random phase start, 128 iterations with mel refits"),
    "pghi": InversionMethod("fast", "pghi", 0, summary="phase from the phase gradient alone, no iterations"),
    "pghi-fast": InversionMethod("fast", "pghi", summary="PGHI start, 16 Griffin-Lim iterations"),
    "pghi-best": InversionMethod("best", "pghi", summary="PGHI start, 128 iterations with mel refits"),
}
LEARNED = "learned"  # a model's own trained inversion, where it has one


def invert_mel(spectrogram: AudioSpectrogram, mel: torch.Tensor, num_samples: int | None = None,
               method: str = "best", seed: int = 0) -> torch.Tensor:
    """Normalised log-mel (B, n_mels, frames) or (n_mels, frames) -> waveform, by a named method."""
    if method not in INVERSION_METHODS:
        raise ValueError(f"inversion method must be one of {', '.join(INVERSION_METHODS)}; got {method!r}")
    m = INVERSION_METHODS[method]
    return spectrogram.mel_to_waveform(mel, num_samples, seed, quality=m.quality, phase_start=m.phase_start,
                                       iterations=m.iterations)
