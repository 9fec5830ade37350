"""Sounds longer than one window: windows laid end to end with crossfades.

Decoded windows (log-mel) are joined by a short crossfade of complementary
raised-cosine weights (they sum to exactly 1) on mel power: every band at a
join lies between its levels on the two sides, so a join never dips, and the
next window's attack arrives within ``JOIN_FRAMES`` frames instead of being
faded in slowly. The whole sound is then inverted to audio in one pass, so
there is no phase jump to click either. Latent offsets (variations, axis
pushes) are crossfaded more gently, over a quarter of a window.
"""

from __future__ import annotations

import math

import torch


def overlap_frames(window: int) -> int:
    """How many frames (of any rate) neighbouring windows share."""
    return max(1, window // 4)


def window_count(total: int, window: int, overlap: int) -> int:
    """Windows needed to cover ``total`` frames."""
    if total <= window:
        return 1
    return 1 + math.ceil((total - window) / (window - overlap))


def crossfade(windows: torch.Tensor, overlap: int, total: int) -> torch.Tensor:
    """(n, ..., L) windows -> (..., total): each starts L - overlap after the previous one."""
    count, length = windows.shape[0], windows.shape[-1]
    hop = length - overlap
    span = max(total, (count - 1) * hop + length)
    out = windows.new_zeros(*windows.shape[1:-1], span)
    position = (torch.arange(overlap, dtype=torch.float64) + 0.5) / overlap
    fade_in = torch.sin(0.5 * math.pi * position).square().to(windows)
    for k in range(count):
        weight = torch.ones(length, dtype=windows.dtype, device=windows.device)
        if k > 0:
            weight[:overlap] = fade_in
        if k < count - 1:
            weight[-overlap:] = 1.0 - fade_in
        out[..., k * hop : k * hop + length] += windows[k] * weight
    return out[..., :total]


JOIN_FRAMES = 6  # spectrogram frames (64 ms at 48 kHz) over which one window hands over to the next


def join_db(windows: torch.Tensor, total: int, overlap: int = JOIN_FRAMES) -> torch.Tensor:
    """(n, n_mels, L) windows in dB -> (n_mels, total) dB, crossfaded on power."""
    power = torch.pow(10.0, windows.double() / 10.0)
    return (10.0 * torch.log10(crossfade(power, overlap, total).clamp_min(1e-30))).to(windows.dtype)


def tile(sequence: torch.Tensor, total: int) -> torch.Tensor:
    """(..., L) repeated end to end and cut to (..., total)."""
    reps = -(-total // sequence.shape[-1])
    return sequence.repeat(*([1] * (sequence.dim() - 1)), reps)[..., :total]
