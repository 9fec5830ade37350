"""New-sound previews while training, drawn from the data prior of the model as it is now.

Training hands over its in-memory normalised spectrograms; a quick prior is
fitted on the current model's encodings of (up to 128 of) them, and the
previews are generated exactly as ``Generator.generate`` makes sounds after
training, so what is heard while training is what the model will give.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sda.audio.spectrogram import AudioSpectrogram
from sda.generation.analysis import Analysis, choose_window_frames, encode_windows
from sda.generation.generator import Generator
from sda.generation.model_source import ModelSource
from sda.generation.prior import LatentPrior
from sda.models.vae import ConvVAE

MAX_PREVIEW_SOUNDS = 128


@torch.no_grad()
def data_prior_previews(model: ConvVAE, spectrogram: AudioSpectrogram, mels: list[torch.Tensor], count: int,
                        seconds: float, seed: int) -> list[np.ndarray]:
    """``count`` sounds of ``seconds`` from a prior fitted to ``mels`` through ``model`` (left in eval mode)."""
    picks = np.unique(np.linspace(0, len(mels) - 1, min(MAX_PREVIEW_SOUNDS, len(mels))).round().astype(int))
    chosen = [mels[i] for i in picks]
    model.eval()
    window = choose_window_frames([m.shape[-1] for m in chosen], model, spectrogram)
    prior = LatentPrior.fit(encode_windows(model, chosen, spectrogram.silence_value, window), seed)
    source = ModelSource(model, spectrogram, "training", "preview", Path("."))
    generator = Generator(source, Analysis(prior, [], window, "training"), spectrogram.device)
    return [generator.generate(seconds, seed + number).audio for number in range(count)]
