"""Reconstruction, the one path: a sound through a trained model (encode -> latent mean -> decode -> audio).

The CLI's ``reconstruct``, the generator's resynthesis and variations,
training's reconstruction previews and the benchmark all call
``reconstruct_audio``, so the same model, sound, seed and quality give the
same audio wherever it is made. An optional latent edit (``add_offsets``)
moves the latents before decoding; without one, or with zero offsets, the
audio is the plain reconstruction, sample for sample.

The model is convolutional, so a sound goes through in one pass; very long
sounds go in overlapping windows blended in the mel domain, each starting on
a latent frame so an edit lines up across windows. The inversion then runs
once over the whole sound: no joins to click, exactly the input's length.
The model runs in fp32: reconstruction is inversion-bound, and one dtype
keeps every caller's audio identical on every device.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from sda.audio.spectrogram import AudioSpectrogram
from sda.generation.checks import check_quality
from sda.generation.inverter import Inverter
from sda.models.vae import ConvVAE

WINDOW_FRAMES = 94 * 30  # about 30 s per pass (rounded down to whole latent frames)
BLEND_FRAMES = 94  # frames blended between windows, about 1 s (rounded up to whole latent frames)

# latents (N, latent_dim, frames) of one window, and which of the whole sound's latent frames they are -> latents
LatentEdit = Callable[[torch.Tensor, slice], torch.Tensor]


def add_offsets(offsets: torch.Tensor) -> LatentEdit:
    """A latent edit adding ``offsets`` (latent_dim, latent frames of the whole sound) to the latent means."""
    return lambda latents, frames: latents + offsets[..., frames].to(latents.device)


@torch.no_grad()
def reconstruct_audio(model: ConvVAE, spectrogram: AudioSpectrogram, audio: np.ndarray | torch.Tensor, *,
                      seed: int = 0, quality: str = "best", edit: LatentEdit | None = None,
                      inverter: Inverter | None = None) -> np.ndarray:
    """Mono audio (samples,) or a batch (N, samples) at the model's rate -> its reconstruction, same shape.

    ``model`` (in eval mode) and ``spectrogram`` must be on the same device.
    ``quality`` is the inversion's: "best" for files a user keeps, "fast"
    for previews. ``edit`` moves the latents before decoding. ``inverter``
    is the model's (its learned inversion, if any; default the standard
    one). Float32 out, non-finite samples zeroed.
    """
    quality = check_quality(quality)
    wave = audio if isinstance(audio, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    single = wave.dim() == 1
    batch = wave[None] if single else wave
    mel = spectrogram.waveform_to_mel(batch)
    recon = reconstruct_mel(model, mel, edit)
    inverter = inverter or Inverter(spectrogram)
    out = inverter(recon, batch.shape[-1], seed=seed, quality=quality)
    out = np.nan_to_num(out.float().cpu().numpy().astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return out[0] if single else out


@torch.no_grad()
def reconstruct_mel(model: ConvVAE, mel: torch.Tensor, edit: LatentEdit | None = None) -> torch.Tensor:
    """Normalised mel (N, n_mels, frames) -> its reconstruction through the latent means, same shape."""
    frames = mel.shape[-1]
    window, blend = window_frames(model.time_stride)
    if frames <= window:
        return _pass(model, mel, 0, edit)
    out = torch.zeros_like(mel)
    weight = torch.zeros(frames, device=mel.device)
    ramp = torch.linspace(0.0, 1.0, blend + 2, device=mel.device)[1:-1]
    for start in range(0, frames, window - blend):  # every start is a whole number of latent frames
        end = min(start + window, frames)
        w = torch.ones(end - start, device=mel.device)
        if start > 0:
            w[: min(blend, end - start)] = ramp[: min(blend, end - start)]
        if end < frames:
            w[-blend:] = torch.minimum(w[-blend:], ramp.flip(0))
        out[..., start:end] += _pass(model, mel[..., start:end], start, edit) * w
        weight[start:end] += w
        if end == frames:
            break
    return out / weight.clamp_min(1e-6)


def window_frames(time_stride: int) -> tuple[int, int]:
    """Mel frames per window and blended between windows, both whole latent frames of ``time_stride``."""
    return WINDOW_FRAMES // time_stride * time_stride, -(-BLEND_FRAMES // time_stride) * time_stride


def _pass(model: ConvVAE, mel: torch.Tensor, first_frame: int, edit: LatentEdit | None) -> torch.Tensor:
    latents, _ = model.encode(mel)
    if edit is not None:
        first = first_frame // model.time_stride
        latents = edit(latents, slice(first, first + latents.shape[-1]))
    return model.decode(latents, mel.shape[-1]).float()


@torch.no_grad()
def invert_only(spectrogram: AudioSpectrogram, audio: np.ndarray, seed: int = 0,
                inverter: Inverter | None = None) -> np.ndarray:
    """Mel -> audio with no model in between ("fast" inversion): the ceiling of the representation."""
    wave = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(spectrogram.device)
    mel = spectrogram.waveform_to_mel(wave)
    return (inverter or Inverter(spectrogram))(mel, len(audio), seed=seed).cpu().numpy().astype(np.float32)
