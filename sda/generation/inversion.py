"""A model's way from mel to audio: the object ``invert`` and the benchmark call.

The non-learned methods of `sda.audio.inversion_methods` work for any
spectrogram settings and normalisation (the model's, with a model). A model
whose run kept a learned inversion (its ModelSource's ``inverter``, see
inverter.py) offers it under the method "learned".
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


class LearnedInversion(FallbackInversion):
    """Mel -> audio through a model's learned inversion (its ``Inverter``), at the quality of files kept."""

    def __init__(self, spectrogram: AudioSpectrogram, inverter, quality: str = "best") -> None:
        self.spectrogram, self.method = spectrogram, LEARNED
        self.inverter, self.quality = inverter.to(spectrogram.device), quality

    @torch.no_grad()
    def __call__(self, mel: torch.Tensor, num_samples: int, seed: int = 0) -> np.ndarray:
        wave = self.inverter(mel, num_samples, seed=seed, quality=self.quality)
        return np.nan_to_num(wave.float().cpu().numpy().astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)


def has_learned_inversion(model_source) -> bool:
    """True when the model kept a learned inversion (its run found it closer than the standard one)."""
    return getattr(getattr(model_source, "inverter", None), "kind", "") == LEARNED


def inversion_for(spectrogram: AudioSpectrogram, method: str = "best", model_source=None) -> MelInversion:
    """The inversion object for ``method``; with ``model_source``, the model's (its learned one for "learned")."""
    if method == LEARNED:
        learned = LearnedInversion(spectrogram, model_source.inverter) if has_learned_inversion(model_source) else None
        if learned is None:
            where = "this model has none" if model_source is not None else "it needs --model"
            raise GenerationError(
                f"Inversion method 'learned' is not available: {where}. Use one of {', '.join(INVERSION_METHODS)}."
            )
        return learned
    return FallbackInversion(spectrogram, method)
