"""Long sounds back to audio in chunks: bounded memory, joins that neither click nor dip.

Griffin-Lim holds a few complex copies of the whole spectrogram; a 60-s
sound at 48 kHz is 5600 frames of 1025 bins, so it is inverted about 10 s at
a time. Consecutive chunks share ``OVERLAP_FRAMES`` frames. The next chunk
starts from the previous chunk's final phases over those frames and keeps
them fixed while it iterates, so both chunks describe the shared stretch
with the same phases; the two waveforms are then crossfaded over the middle
half of the shared stretch, away from either chunk's edge. Since the two
agree there, the crossfade neither cancels (a dip) nor jumps (a click).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

CHUNK_FRAMES = 938  # about 10 s at hop 512, 48 kHz
OVERLAP_FRAMES = 32  # about 0.34 s shared between chunks; the crossfade is the middle half

# (mel power chunk (B, bands, frames), samples, known unit phasors (B, k, bins) or None, seed)
#   -> (waveform (B, samples), final unit phasors (B, frames, bins))
ChunkInverter = Callable[[torch.Tensor, int, torch.Tensor | None, int], tuple[torch.Tensor, torch.Tensor]]


def invert_in_chunks(
    invert: ChunkInverter, mel_power: torch.Tensor, num_samples: int, hop: int, seed: int = 0,
    chunk_frames: int | None = None, overlap: int | None = None,
) -> torch.Tensor:
    """Mel power (B, bands, frames) -> waveform (B, num_samples), one chunk of frames at a time.

    ``chunk_frames`` and ``overlap`` default to the module's CHUNK_FRAMES and OVERLAP_FRAMES.
    """
    chunk_frames = CHUNK_FRAMES if chunk_frames is None else chunk_frames
    overlap = OVERLAP_FRAMES if overlap is None else overlap
    frames = mel_power.shape[-1]
    described = frames * hop - 1  # the most samples whose centred frames are exactly these
    if frames <= chunk_frames and (frames - 1) * hop <= num_samples <= described:
        return invert(mel_power, num_samples, None, seed)[0]
    if frames > chunk_frames and not 4 <= overlap < chunk_frames // 2:
        raise ValueError(f"overlap must be from 4 to half of chunk_frames; got {overlap} of {chunk_frames}")
    length = max(num_samples, (frames - 1) * hop)
    out = mel_power.new_zeros(mel_power.shape[0], length)
    fade = (overlap // 2) * hop
    ramp = torch.linspace(0.0, 1.0, fade + 2, device=out.device)[1:-1]
    start, known, index = 0, None, 0
    while True:
        end = min(start + chunk_frames, frames)
        first = start * hop
        samples = min(length, described) - first if end == frames else (end - 1 - start) * hop
        wave, unit = invert(mel_power[..., start:end], samples, known, seed + index)
        if known is None:
            out[:, first : first + samples] = wave
        else:
            fade_at = first + (overlap // 4) * hop
            offset = fade_at - first
            joined = out[:, fade_at : fade_at + fade]
            out[:, fade_at : fade_at + fade] = torch.lerp(joined, wave[:, offset : offset + fade], ramp)
            out[:, fade_at + fade : first + samples] = wave[:, offset + fade :]
        if end == frames:  # past what the frames describe: silence
            return out[:, :num_samples]
        known = unit[:, -overlap:]
        start, index = end - overlap, index + 1
