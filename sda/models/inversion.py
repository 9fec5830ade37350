"""The learned inversion's network: a model's normalised log-mel -> the linear magnitude spectrum it hides.

128 mel bands hide the fine structure of a spectrum: partials, the grain of
noise, the exact shape of a resonance. A small network that has heard the
user's own sounds can put much of it back. ``InversionNet`` is a stack of
1-D ConvNeXt blocks over frames (mel bands as channels) with a linear head
giving, per STFT bin and frame, a correction to a baseline log-magnitude:
the non-negative mel fit the standard inversion starts from. Untrained (a
zero head) it answers with that baseline, so training only learns what the
bands hide. Phase comes after it, from the spectrogram's own phase
retrieval (see ``sda.generation.inverter``); a head predicting phase as
well (Vocos-style, through an inverse STFT) was tried and, with the few
minutes of CPU training sda can give it, lost to Griffin-Lim's phase.

This module knows nothing of audio files or training: a loader checks
``inversion_architecture`` and the weights' shapes (``check_inversion_weights``)
before anything is built.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

INVERSION_LIMITS = {"channels": (16, 512), "blocks": (1, 16), "n_fft": (256, 8192), "n_mels": (16, 512)}


class InversionArchitectureError(ValueError):
    """The architecture or weights are not ones sda builds. The message says what is wrong."""


def inversion_architecture(n_mels: int, n_fft: int, hop_length: int, channels: int = 128, blocks: int = 4) -> dict:
    """The numbers an ``InversionNet`` is built from (stored beside its weights)."""
    return {"kind": "mel_detail", "n_mels": int(n_mels), "n_fft": int(n_fft), "hop_length": int(hop_length),
            "channels": int(channels), "blocks": int(blocks)}


class _Block(nn.Module):
    """ConvNeXt over frames: depthwise conv, norm, pointwise MLP, scaled residual."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.up = nn.Linear(channels, channels * 2)
        self.down = nn.Linear(channels * 2, channels)
        self.scale = nn.Parameter(torch.full((channels,), 0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        y = self.depthwise(x).transpose(1, 2)
        y = self.down(F.gelu(self.up(self.norm(y))))
        return x + (y * self.scale).transpose(1, 2)


class InversionNet(nn.Module):
    """Normalised log-mel (B, n_mels, frames) + baseline log-magnitude (B, bins, frames) -> log-magnitude."""

    def __init__(self, architecture: dict) -> None:
        super().__init__()
        check_inversion_architecture(architecture)
        self.arch = dict(architecture)
        n_mels, channels = architecture["n_mels"], architecture["channels"]
        self.embed = nn.Conv1d(n_mels, channels, 7, padding=3)
        self.blocks = nn.ModuleList(_Block(channels) for _ in range(architecture["blocks"]))
        self.norm = nn.LayerNorm(channels)
        self.head = nn.Linear(channels, architecture["n_fft"] // 2 + 1)
        nn.init.zeros_(self.head.weight)  # untrained, the network answers with the baseline itself
        nn.init.zeros_(self.head.bias)

    def forward(self, mel: torch.Tensor, baseline: torch.Tensor) -> torch.Tensor:
        x = self.embed(mel)
        for block in self.blocks:
            x = block(x)
        correction = self.head(self.norm(x.transpose(1, 2))).transpose(1, 2)
        return (baseline + correction.float()).clamp(-25.0, 12.0)

    def architecture(self) -> dict:
        return dict(self.arch)


def check_inversion_architecture(architecture) -> None:
    if not isinstance(architecture, dict) or architecture.get("kind") != "mel_detail":
        raise InversionArchitectureError("its inversion network is of an unknown kind")
    for key, (low, high) in INVERSION_LIMITS.items():
        value = architecture.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InversionArchitectureError(f"its inversion network's {key} is {value!r}, outside {low}-{high}")
    hop = architecture.get("hop_length")
    if not isinstance(hop, int) or isinstance(hop, bool) or hop < 16 or architecture["n_fft"] % hop:
        raise InversionArchitectureError(f"its inversion network's hop length {hop!r} does not divide its n_fft")


def expected_inversion_shapes(architecture: dict) -> dict[str, tuple[int, ...]]:
    """Every weight's shape for ``architecture``, from the numbers alone (nothing is built)."""
    check_inversion_architecture(architecture)
    c, m, bins = architecture["channels"], architecture["n_mels"], architecture["n_fft"] // 2 + 1
    shapes = {"embed.weight": (c, m, 7), "embed.bias": (c,), "norm.weight": (c,), "norm.bias": (c,),
              "head.weight": (bins, c), "head.bias": (bins,)}
    for i in range(architecture["blocks"]):
        p = f"blocks.{i}."
        shapes.update({p + "depthwise.weight": (c, 1, 7), p + "depthwise.bias": (c,), p + "norm.weight": (c,),
                       p + "norm.bias": (c,), p + "up.weight": (2 * c, c), p + "up.bias": (2 * c,),
                       p + "down.weight": (c, 2 * c), p + "down.bias": (c,), p + "scale": (c,)})
    return shapes


def check_inversion_weights(architecture, weights) -> None:
    """Raise InversionArchitectureError unless ``weights`` are finite tensors of exactly the expected shapes."""
    expected = expected_inversion_shapes(architecture)
    if not isinstance(weights, dict) or set(weights) != set(expected):
        raise InversionArchitectureError("its inversion weights do not match the inversion network it describes")
    for name, shape in expected.items():
        tensor = weights[name]
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != shape:
            raise InversionArchitectureError(f"its inversion weight {name} has the wrong shape")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise InversionArchitectureError("its inversion weights contain NaN or infinite values")
