"""Checks on what a caller hands the generator: durations, sounds, seeds, amounts, counts, quality.

Each failure is a GenerationError whose message names the setting and the
values allowed.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch

from sda.audio.spectrogram import INVERSION_QUALITIES
from sda.generation.errors import GenerationError

# How long a made sound may be: the generator, the Play page, the sample pack and the CLI all take these.
MIN_SECONDS, MAX_SECONDS = 0.1, 60.0
SECONDS_RANGE = f"{MIN_SECONDS:g} to {MAX_SECONDS:g}"  # "0.1 to 60", for messages
MIN_INPUT_SECONDS, MAX_INPUT_SECONDS = 0.05, 600.0


def check_seconds(seconds, sample_rate: int) -> int:
    """A duration of MIN_SECONDS to MAX_SECONDS (0.1 to 60 s) -> its number of samples."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise GenerationError(f"Duration {seconds!r} is not a number of seconds ({SECONDS_RANGE}).") from None
    if not math.isfinite(value) or not MIN_SECONDS <= value <= MAX_SECONDS:
        raise GenerationError(f"Duration {seconds!r} s is outside {SECONDS_RANGE} seconds.")
    return int(round(value * sample_rate))


def check_audio(audio, what: str, sample_rate: int) -> np.ndarray:
    """Mono float32 audio of 50 ms to 10 minutes with finite samples, contiguous."""
    wave = np.asarray(audio, dtype=np.float32)
    if wave.ndim != 1:
        raise GenerationError(f"The {what} must be mono audio (one channel); it has shape {wave.shape}.")
    seconds = len(wave) / sample_rate
    if seconds < MIN_INPUT_SECONDS:
        raise GenerationError(f"The {what} is too short ({seconds * 1000:.0f} ms; at least 50 ms).")
    if seconds > MAX_INPUT_SECONDS:
        raise GenerationError(f"The {what} is too long ({seconds:.0f} s; at most {MAX_INPUT_SECONDS:.0f} s).")
    if not np.isfinite(wave).all():
        raise GenerationError(f"The {what} contains invalid samples (NaN or infinity).")
    return np.ascontiguousarray(wave)


def pad_frames(mel: torch.Tensor, frames: int, value: float) -> torch.Tensor:
    extra = frames - mel.shape[-1]
    return torch.nn.functional.pad(mel, (0, extra), value=value) if extra > 0 else mel


def short_digest(wave: np.ndarray) -> str:
    return hashlib.sha256(wave.tobytes()).hexdigest()[:16]


def rounded(value: float) -> float:
    return round(float(value), 6)


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise GenerationError(f"Seed {seed!r} must be a whole number from 0 to 4294967295.")
    return int(seed)


def check_fraction(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not 0.0 <= number <= 1.0:
        raise GenerationError(f"{name.capitalize()} {value!r} must be a number from 0 to 1.")
    return number


def check_whole(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= int(value) <= high:
        raise GenerationError(f"{name.capitalize()} {value!r} must be a whole number from {low} to {high}.")
    return int(value)


def check_quality(quality) -> str:
    """An inversion quality: "fast" (previews, the Play page) or "best" (files a user keeps)."""
    if quality not in INVERSION_QUALITIES:
        raise GenerationError(f"Quality '{quality}' is not known; use fast or best.")
    return quality
