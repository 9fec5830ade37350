"""Using a trained model: load it from a run, reconstruct audio through it.

Reconstruction is encode (latent mean) -> decode -> inversion. The model is
convolutional, so a whole file goes through in one pass; very long files go
in overlapping windows blended in the mel domain. Griffin-Lim then runs once
over the whole file, so there are no joins to click, and the output has
exactly the input's length and follows its level.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sda.audio.spectrogram import AudioSpectrogram, SpectrogramConfig
from sda.models.vae import ConvVAE
from sda.runs.checkpoints import CheckpointError, load_checkpoint, resolve_model_checkpoint
from sda.runs.device import autocast, choose_dtype, resolve_device

MAX_WINDOW_FRAMES = 94 * 30  # about 30 s per pass
WINDOW_OVERLAP = 94  # frames blended between windows (about 1 s)


@dataclass
class LoadedModel:
    model: ConvVAE
    spectrogram: AudioSpectrogram
    checkpoint_path: Path
    state: dict
    device: torch.device
    dtype: torch.dtype


def load_model(path_or_run: Path, device: str | torch.device = "auto", precision: str = "auto") -> LoadedModel:
    """The model in a checkpoint file, or in a run's best checkpoint, ready for inference."""
    path = resolve_model_checkpoint(Path(path_or_run))
    device = resolve_device(device)
    state = load_checkpoint(path)
    arch = state.get("model_architecture", {})
    try:
        model = ConvVAE(int(arch["latent_dim"]), 0.0, int(arch["n_mels"]), int(arch["hidden_channels"]), int(arch["time_stride"]))
        model.load_state_dict(state["model_state"])
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"Checkpoint '{path}' does not hold a model this version of sda can build ({exc}).") from None
    model.to(device).eval()
    spectrogram = AudioSpectrogram(SpectrogramConfig.from_dict(state["spectrogram_config"]), device)
    spectrogram.load_normalization_state(state["normalization"])
    return LoadedModel(model, spectrogram, path, state, device, choose_dtype(device, precision))


@torch.no_grad()
def reconstruct_mel(loaded: LoadedModel, mel: torch.Tensor) -> torch.Tensor:
    """Normalised mel (n_mels, frames) -> its reconstruction through the latent mean."""
    frames = mel.shape[-1]
    if frames <= MAX_WINDOW_FRAMES:
        return _pass(loaded, mel)
    out = torch.zeros_like(mel)
    weight = torch.zeros(frames, device=mel.device)
    hop = MAX_WINDOW_FRAMES - WINDOW_OVERLAP
    ramp = torch.linspace(0.0, 1.0, WINDOW_OVERLAP + 2, device=mel.device)[1:-1]
    for start in range(0, frames, hop):
        end = min(start + MAX_WINDOW_FRAMES, frames)
        piece = _pass(loaded, mel[:, start:end])
        w = torch.ones(end - start, device=mel.device)
        if start > 0:
            w[: min(WINDOW_OVERLAP, end - start)] = ramp[: min(WINDOW_OVERLAP, end - start)]
        if end < frames:
            w[-WINDOW_OVERLAP:] = torch.minimum(w[-WINDOW_OVERLAP:], ramp.flip(0))
        out[:, start:end] += piece * w
        weight[start:end] += w
        if end == frames:
            break
    return out / weight.clamp_min(1e-6)


def _pass(loaded: LoadedModel, mel: torch.Tensor) -> torch.Tensor:
    with autocast(loaded.device, loaded.dtype):
        mu, _ = loaded.model.encode(mel[None])
        return loaded.model.decode(mu, mel.shape[-1])[0].float()


def reconstruct_audio(loaded: LoadedModel, audio: np.ndarray, seed: int = 0) -> np.ndarray:
    """Mono float32 audio at the model's rate -> its reconstruction, same length."""
    wave = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(loaded.device)
    mel = loaded.spectrogram.waveform_to_mel(wave)
    recon = reconstruct_mel(loaded, mel)
    out = loaded.spectrogram.mel_to_waveform(recon, len(audio), seed=seed)
    return out.cpu().numpy().astype(np.float32)


def invert_only(spectrogram: AudioSpectrogram, audio: np.ndarray, seed: int = 0) -> np.ndarray:
    """Mel -> audio with no model in between: the ceiling of the representation."""
    wave = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(spectrogram.device)
    mel = spectrogram.waveform_to_mel(wave)
    return spectrogram.mel_to_waveform(mel, len(audio), seed=seed).cpu().numpy().astype(np.float32)
