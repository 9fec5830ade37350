"""A model's way from mel to audio: the object ``invert`` and the benchmark call.

Today every model inverts through the non-learned methods of
`sda.audio.inversion_methods`, with the model's own spectrogram settings and
normalisation. A model that carries a learned inversion (a
``learned_inversion`` attribute on its ModelSource, following
``MelInversion``) returns it here under the method "learned"; nothing else
has to change to use it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from sda.audio.inversion_methods import INVERSION_METHODS, LEARNED, invert_mel
from sda.audio.spectrogram import AudioSpectrogram
from sda.generation.errors import GenerationError

METHOD_NAMES = (*INVERSION_METHODS, LEARNED)


class MelInversion(Protocol):
    """What ``invert``, the benchmark and generation call: a model's mel -> audio."""

    def __call__(self, mel: torch.Tensor, num_samples: int, seed: int = 0) -> np.ndarray: ...

    def audio(self, audio: np.ndarray, seed: int = 0) -> np.ndarray: ...


class FallbackInversion:
    """Mel -> audio through a named non-learned method, for one spectrogram (settings and normalisation)."""

    def __init__(self, spectrogram: AudioSpectrogram, method: str = "best") -> None:
        if method not in INVERSION_METHODS:
            raise GenerationError(f"Inversion method '{method}' is not one of {', '.join(METHOD_NAMES)}.")
        self.spectrogram = spectrogram
        self.method = method

    @torch.no_grad()
    def __call__(self, mel: torch.Tensor, num_samples: int, seed: int = 0) -> np.ndarray:
        """Normalised log-mel (n_mels, frames) -> float32 audio of ``num_samples``."""
        wave = invert_mel(self.spectrogram, mel, num_samples, self.method, seed)
        return np.nan_to_num(wave.float().cpu().numpy().astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)

    @torch.no_grad()
    def audio(self, audio: np.ndarray, seed: int = 0) -> np.ndarray:
        """A sound's mel turned back to audio, nothing in between: same length."""
        wave = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(self.spectrogram.device)
        return self(self.spectrogram.waveform_to_mel(wave), len(audio), seed)


def inversion_for(spectrogram: AudioSpectrogram, method: str = "best", model_source=None) -> MelInversion:
    """The inversion object for ``method``; with ``model_source``, the model's (its learned one for "learned")."""
    if method == LEARNED:
        learned = getattr(model_source, "learned_inversion", None) if model_source is not None else None
        if learned is None:
            where = "this model has none" if model_source is not None else "it needs --model"
            raise GenerationError(
                f"Inversion method 'learned' is not available: {where}. Use one of {', '.join(INVERSION_METHODS)}."
            )
        return learned
    return FallbackInversion(spectrogram, method)
