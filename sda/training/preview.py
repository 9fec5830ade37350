"""Audio previews written while training, so the user hears the model improve.

Two kinds per preview epoch: ``preview_epochNNNN_XX.wav``, new sounds
drawn from the data prior the generator uses after training (or, without
training spectrograms at hand, from N(0, I)), and ``recon_epochNNNN_XX.wav``, a validation
clip passed through the model (the clearest sign of what it has learned), by
the same reconstruction path as ``python -m sda reconstruct``.
Both run without gradients, in one batched inversion, in a fraction of a
second on CPU.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from sda.audio.io import write_wav
from sda.audio.spectrogram import AudioSpectrogram
from sda.generation.quick_prior import data_prior_previews
from sda.generation.reconstruct import reconstruct_audio
from sda.models.vae import ConvVAE

_PREVIEW = re.compile(r"(preview|recon)_epoch(\d+)_(\d+)\.wav$")


def _write_batch(waves: np.ndarray, output_dir: Path, prefix: str, epoch: int, sample_rate: int) -> list[Path]:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, wave in enumerate(waves):
        path = output_dir / f"{prefix}_epoch{epoch:04d}_{number:02d}.wav"
        write_wav(path, wave, sample_rate)
        paths.append(path)
    return paths


@torch.no_grad()
def generate_preview(
    model: ConvVAE,
    spectrogram: AudioSpectrogram,
    output_dir: Path,
    epoch: int,
    device: torch.device | str = "cpu",
    num_samples: int = 2,
    seconds: float = 2.0,
    seed: int = 0,
    temperature: float = 1.0,
    data_mels: list[torch.Tensor] | None = None,
) -> list[Path]:
    """Write ``num_samples`` new sounds to WAV files; return their paths.

    With ``data_mels`` (normalised training spectrograms) they come from the
    data prior, as after training; without, from N(0, I).
    """
    was_training = model.training
    model.eval()
    try:
        if data_mels:
            waves = data_prior_previews(model, spectrogram, data_mels, num_samples, seconds, seed + 1000 * epoch)
            return _write_batch(np.stack(waves), output_dir, "preview", epoch, spectrogram.config.sample_rate)
        num_samples_audio = int(seconds * spectrogram.config.sample_rate)
        frames = spectrogram.config.frames_for(num_samples_audio)
        generator = torch.Generator().manual_seed(seed + epoch)
        mel = model.sample(num_samples, frames, device=device, temperature=temperature, generator=generator)
        waves = spectrogram.mel_to_waveform(mel.float(), num_samples_audio, seed=seed + epoch).cpu().numpy()
    finally:
        model.train(was_training)
    return _write_batch(waves, output_dir, "preview", epoch, spectrogram.config.sample_rate)


@torch.no_grad()
def generate_reconstruction_preview(
    model: ConvVAE,
    spectrogram: AudioSpectrogram,
    waveforms: torch.Tensor,
    output_dir: Path,
    epoch: int,
    device: torch.device | str = "cpu",
) -> list[Path]:
    """Pass ``waveforms`` (N, samples) through the model as ``sda reconstruct`` does; return the paths written.

    The one reconstruction path (``sda.generation.reconstruct``), batched, with
    the "fast" inversion: previews must not slow training down.
    """
    was_training = model.training
    model.eval()
    try:
        waves = reconstruct_audio(model, spectrogram, waveforms.to(device), seed=epoch, quality="fast")
    finally:
        model.train(was_training)
    return _write_batch(waves, output_dir, "recon", epoch, spectrogram.config.sample_rate)


def list_previews(preview_dir: Path) -> list[Path]:
    """Preview WAVs in ``preview_dir``, ordered by epoch, then kind, then number."""
    directory = Path(preview_dir)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob("*.wav"):
        match = _PREVIEW.search(path.name)
        if match:
            found.append(((int(match.group(2)), match.group(1), int(match.group(3))), path))
    return [path for _, path in sorted(found)]


def preview_epoch(path: Path) -> int | None:
    """The epoch a preview file belongs to, from its name."""
    match = _PREVIEW.search(Path(path).name)
    return int(match.group(2)) if match else None
