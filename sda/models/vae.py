"""A convolutional VAE over log-mel spectrograms.

Mel bands are channels and convolutions run over time (1-D). At equal
capacity this is several times cheaper than 2-D convolutions over the mel
image. Frames are grouped ``time_stride`` at a time before the first layer
(a lossless reshape), so every layer runs at 1/``time_stride`` of the frame
rate, where parameters cost the least.

Each convolution is written as one matrix multiply over time-shifted copies
of its input, in a (batch, time, channels) layout. That is the same
computation as ``nn.Conv1d``, but its backward pass runs through the plain
matrix kernels, which on CPUs with AMX (bf16) are much faster than the
convolution kernels at these small sizes.

The latent is a sequence: ``latent_dim`` channels per latent frame, one frame
per ``time_stride`` spectrogram frames (8: about 85 ms at 48 kHz). A sequence
latent reconstructs unseen sounds far better than one vector per chunk, and
still samples from a N(0, I) prior. Public tensors are (batch, channels, time).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TimeConv(nn.Module):
    """A 'same' 1-D convolution over time on (B, T, C_in) -> (B, T, C_out), as one matmul."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd")
        self.kernel_size = kernel_size
        self.linear = nn.Linear(in_channels * kernel_size, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel_size == 1:
            return self.linear(x)
        half = self.kernel_size // 2
        padded = F.pad(x, (0, 0, half, half))
        length = x.shape[1]
        shifted = [padded[:, k : k + length] for k in range(self.kernel_size)]
        return self.linear(torch.cat(shifted, dim=-1))


class ResBlock(nn.Module):
    """x + W2(drop(act(conv3(act(x))))), with W2 starting at zero (the block starts as identity)."""

    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__()
        self.conv = TimeConv(channels, channels, 3)
        self.mix = nn.Linear(channels, channels)
        self.dropout = dropout
        # Starting as the identity lets the stack train stably without
        # normalisation layers.
        nn.init.zeros_(self.mix.weight)
        nn.init.zeros_(self.mix.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.conv(F.silu(x)))
        if self.training and self.dropout > 0:
            # Whole channels per example are dropped: as regularising as
            # element dropout here, and it draws C random numbers, not C x T.
            keep = torch.rand(x.shape[0], 1, h.shape[-1], device=h.device) >= self.dropout
            h = h * keep.to(h.dtype) / (1.0 - self.dropout)
        return x + self.mix(h)


def _patchify(mel: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, n_mels, T) -> (B, T / patch, n_mels * patch): each step holds ``patch`` frames."""
    b, c, t = mel.shape
    return mel.transpose(1, 2).reshape(b, t // patch, c * patch)


def _unpatchify(x: torch.Tensor, patch: int, n_mels: int) -> torch.Tensor:
    b, t, _ = x.shape
    return x.reshape(b, t * patch, n_mels).transpose(1, 2)


class ConvEncoder(nn.Module):
    """(B, n_mels, T) -> mu, logvar, each (B, latent_dim, T / patch). T must divide by patch."""

    def __init__(self, n_mels: int = 128, latent_dim: int = 128, hidden_channels: int = 400,
                 dropout: float = 0.1, patch: int = 8, blocks: int = 2) -> None:
        super().__init__()
        self.patch = patch
        self.net = nn.Sequential(
            nn.Linear(n_mels * patch, hidden_channels),
            *[ResBlock(hidden_channels, dropout) for _ in range(blocks)],
            nn.SiLU(),
        )
        self.to_stats = TimeConv(hidden_channels, 2 * latent_dim, 3)

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stats = self.to_stats(self.net(_patchify(mel, self.patch))).transpose(1, 2)
        mu, logvar = stats.chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)


class ConvDecoder(nn.Module):
    """(B, latent_dim, T / patch) -> (B, n_mels, T). The output is unbounded."""

    def __init__(self, n_mels: int = 128, latent_dim: int = 128, hidden_channels: int = 400,
                 dropout: float = 0.1, patch: int = 8, blocks: int = 2) -> None:
        super().__init__()
        self.patch = patch
        self.n_mels = n_mels
        self.net = nn.Sequential(
            TimeConv(latent_dim, hidden_channels, 3),
            *[ResBlock(hidden_channels, dropout) for _ in range(blocks)],
            nn.SiLU(),
            nn.Linear(hidden_channels, n_mels * patch),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return _unpatchify(self.net(z.transpose(1, 2)), self.patch, self.n_mels)


class ConvVAE(nn.Module):
    """Encoder + reparameterisation + decoder, for any number of frames."""

    def __init__(
        self,
        latent_dim: int = 128,
        dropout: float = 0.1,
        n_mels: int = 128,
        hidden_channels: int = 400,
        time_stride: int = 8,
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.n_mels = n_mels
        self.hidden_channels = hidden_channels
        self.time_stride = time_stride
        self.encoder = ConvEncoder(n_mels, latent_dim, hidden_channels, dropout, time_stride)
        self.decoder = ConvDecoder(n_mels, latent_dim, hidden_channels, dropout, time_stride)

    def architecture(self) -> dict:
        """What a checkpoint must match to load into this model."""
        return {
            "type": "ConvVAE1d",
            "latent_dim": self.latent_dim,
            "n_mels": self.n_mels,
            "hidden_channels": self.hidden_channels,
            "time_stride": self.time_stride,
        }

    def latent_frames(self, frames: int) -> int:
        return -(-frames // self.time_stride)

    def _pad(self, mel: torch.Tensor) -> torch.Tensor:
        extra = self.latent_frames(mel.shape[-1]) * self.time_stride - mel.shape[-1]
        # Replicate the edge so padding adds no artificial silence or step.
        return F.pad(mel, (0, extra), mode="replicate") if extra else mel

    def encode(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(self._pad(mel))

    def decode(self, z: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        out = self.decoder(z)
        return out[..., :frames] if frames is not None else out

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(mel)
        z = self.reparameterize(mu, logvar) if self.training else mu
        return self.decode(z, mel.shape[-1]), mu, logvar

    def sample(self, num_samples: int, frames: int, device: torch.device | str = "cpu", temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode latents drawn from the prior: (num_samples, n_mels, frames)."""
        shape = (num_samples, self.latent_dim, self.latent_frames(frames))
        z = torch.randn(shape, generator=generator).to(device) * temperature
        return self.decode(z, frames)
