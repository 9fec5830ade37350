"""Sounds dropped on the Play tab: checked against the server's limits, then decoded.

The Train tab's limits apply: a file over the upload size is refused by
Gradio before it arrives; its duration is read from the header and checked
before a sample is decoded; decoding is ``sda.audio.io.load_audio`` (mono,
48 kHz), so every format the dataset accepts works here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from sda.audio.io import AUDIO_EXTENSIONS, AudioLoadError, load_audio
from sda.audio.validation import SUPPORTED_NAMES
from sda.server.settings import AppSettings

# Longest recording Play takes in (vary, morph and resynthesis run a whole
# file through the model at once) is SDA_MAX_PLAY_INPUT_SECONDS (600 s, 60 s
# in public mode). The Train tab's limits may be lower.
# What gr.File hands a handler: a path (str), a list of paths, an object with .name or .path, or None.
UploadValue = Any


class DroppedSoundError(ValueError):
    """A dropped file cannot be used; the message names it and says why."""


def max_seconds(settings: AppSettings) -> float:
    per_file = getattr(settings, "max_file_minutes", None)  # a per-file cap, where the server has one
    limits = [settings.max_play_input_seconds, settings.max_total_minutes * 60]
    if per_file:
        limits.append(float(per_file) * 60)
    return min(limits)


def uploaded_path(upload: UploadValue) -> Path | None:
    """The server path of a gr.File value (a path, or an object with .name)."""
    if not upload:
        return None
    if isinstance(upload, (list, tuple)):
        upload = upload[0] if upload else None
    value = (
        upload if isinstance(upload, (str, Path)) else getattr(upload, "name", None) or getattr(upload, "path", None)
    )
    return Path(value) if value else None


def read_dropped_sound(upload: UploadValue, settings: AppSettings, what: str = "the sound") -> tuple[np.ndarray, str]:
    """(mono float32 audio at 48 kHz, file name) of a dropped file, or DroppedSoundError."""
    path = uploaded_path(upload)
    if path is None:
        raise DroppedSoundError(f"Drop {what} first (any audio file: {SUPPORTED_NAMES}).")
    name = _original_name(path)
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise DroppedSoundError(f"'{name}' is not an audio file this server reads ({SUPPORTED_NAMES}).")
    if path.stat().st_size > settings.max_file_bytes:
        raise DroppedSoundError(f"'{name}' is larger than {settings.max_file_mb:g} MB, the most this server accepts.")
    limit = max_seconds(settings)
    try:
        info = sf.info(str(path))
        seconds = info.frames / info.samplerate if info.samplerate else 0.0
    except Exception:  # an unreadable header: load_audio below names the reason
        seconds = 0.0
    if seconds > limit:
        raise DroppedSoundError(_too_long(name, seconds, limit))
    try:
        clip = load_audio(path)
    except AudioLoadError as exc:
        raise DroppedSoundError(f"'{name}' cannot be used: {exc}.") from None
    if clip.duration_s > limit:
        raise DroppedSoundError(_too_long(name, clip.duration_s, limit))
    return clip.audio, name


def _too_long(name: str, seconds: float, limit: float) -> str:
    return (f"'{name}' lasts {seconds:.0f} s; this server takes dropped sounds of at most {limit:.0f} s. "
            "Trim it and drop it again. (Server setting SDA_MAX_PLAY_INPUT_SECONDS.)")


def _original_name(path: Path) -> str:
    return path.name
