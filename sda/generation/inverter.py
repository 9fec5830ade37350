"""Mel -> audio, the one seam: every sound a model makes passes through its ``Inverter``.

A model has either a learned inversion (an ``InversionNet`` trained on its
own sounds after the VAE, kept only where it measured closer than the
standard one) or none; the ``Inverter`` hides which. Both start from the
same non-negative mel fit (``sda.audio.mel_inverse``); the learned one adds
the fine spectral detail its network predicts, optionally a few fitting
steps that pull the detailed spectrum back onto the input mel, and both end
in the spectrogram's own phase retrieval (Griffin-Lim) over the whole sound
at once, so there are no joins to click and the length is exact.

The network runs over long sounds in blocks of frames, each with more context
on both sides than the network can see (its receptive field), so the blocks
join sample-exactly and memory stays bounded whatever the length.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from sda.audio.spectrogram import _BEST_GL_FACTOR, INVERSION_QUALITIES, AudioSpectrogram
from sda.models.inversion import InversionNet

BLOCK_FRAMES = 2048  # frames the network sees at once (about 22 s), plus CONTEXT_FRAMES each side
CONTEXT_FRAMES = 48  # more than the network's receptive field (3 frames per side per conv, 5 convs)
FIT_ITERATIONS = 10  # the baseline's mel fit, as in training (the network learned on this baseline)


class Inverter:
    """Normalised log-mel -> audio, by the model's learned inversion where it has one, else the standard one."""

    def __init__(self, spectrogram: AudioSpectrogram, net: InversionNet | None = None, refine_steps: int = 0,
                 info: dict | None = None) -> None:
        self.spectrogram = spectrogram
        self.net = net.eval() if net is not None else None
        self.refine_steps = int(refine_steps)
        self.info = dict(info or {})

    @property
    def kind(self) -> str:
        """"learned" or "standard"."""
        return "learned" if self.net is not None else "standard"

    def to(self, device: torch.device | str) -> Inverter:
        self.spectrogram.to(device)
        if self.net is not None:
            self.net.to(device)
        return self

    @torch.no_grad()
    def __call__(self, mel: torch.Tensor, num_samples: int | None = None, seed: int = 0,
                 quality: str = "fast") -> torch.Tensor:
        """Normalised log-mel (n_mels, frames) or (B, n_mels, frames) -> waveform (samples,) or (B, samples).

        ``num_samples`` defaults to (frames - 1) * hop; the result is always
        exactly that long. ``quality="best"`` runs 8x the phase retrieval.
        """
        spec = self.spectrogram
        if self.net is None:
            return spec.mel_to_waveform(mel, num_samples, seed=seed, quality=quality)
        if quality not in INVERSION_QUALITIES:
            raise ValueError(f"quality must be one of {', '.join(INVERSION_QUALITIES)}; got {quality!r}")
        squeeze = mel.dim() == 2
        mel = (mel.unsqueeze(0) if squeeze else mel).to(spec.device).float()
        if num_samples is None:
            num_samples = (mel.shape[-1] - 1) * spec.config.hop_length
        magnitude, _ = self.magnitude(mel)
        iters = spec.config.griffin_lim_iters * (_BEST_GL_FACTOR if quality == "best" else 1)
        wave = spec.griffin_lim(magnitude, num_samples, seed, iters=iters)
        return wave[0] if squeeze else wave

    def magnitude(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(linear magnitude (B, bins, frames), mel power (B, n_mels, frames)) for a normalised mel."""
        spec = self.spectrogram
        mel_power = torch.pow(10.0, spec.mel_to_db(mel).clamp(max=40.0) / 10.0)
        log_mag = baseline_log_magnitude(spec, mel_power)
        log_mag = torch.cat([self._net_block(mel, log_mag, start) for start in range(0, mel.shape[-1], BLOCK_FRAMES)],
                            dim=-1)
        power = torch.exp(2.0 * log_mag) * spec._power_scale
        if self.refine_steps:
            power = spec.mel_inverse.refine(power, mel_power, self.refine_steps)
        power = power * (spec.mel_inverse.inverse_column_sum > 0)[:, None]
        return (power / spec._power_scale).sqrt(), mel_power

    def _net_block(self, mel: torch.Tensor, baseline: torch.Tensor, start: int) -> torch.Tensor:
        frames = mel.shape[-1]
        lo, hi = max(0, start - CONTEXT_FRAMES), min(frames, start + BLOCK_FRAMES + CONTEXT_FRAMES)
        out = self.net(mel[..., lo:hi], baseline[..., lo:hi])
        return out[..., start - lo : min(frames, start + BLOCK_FRAMES) - lo]

    def invert_numpy(self, mel: torch.Tensor, num_samples: int, seed: int = 0, quality: str = "fast") -> np.ndarray:
        """As ``__call__``, to float32 numpy with non-finite samples zeroed."""
        audio = self(mel, num_samples, seed=seed, quality=quality).float().cpu().numpy().astype(np.float32)
        return np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)


def baseline_log_magnitude(spec: AudioSpectrogram, mel_power: torch.Tensor,
                           fit_iterations: int = FIT_ITERATIONS) -> torch.Tensor:
    """Natural-log linear magnitude of the standard inversion's non-negative mel fit (B, bins, frames)."""
    power = spec.mel_inverse(mel_power, fit_iterations)
    return 0.5 * (power / spec._power_scale).clamp_min(1e-22).log()


def log_floor(magnitude_max: float) -> float:
    """The natural-log magnitude 80 dB under ``magnitude_max``: quieter than this counts as silence."""
    return math.log(max(magnitude_max, 1e-10)) - 80.0 * math.log(10.0) / 20.0
