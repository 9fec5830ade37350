"""Writing a sound to disk: the audio file plus a JSON sidecar with every setting that made it.

Audio goes through ``sda.audio.export`` (formats, rates, bit depths,
normalisation) when that module is present; otherwise through a plain
soundfile writer with the same settings.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from sda.atomic import atomic_write_bytes, atomic_write_json
from sda.audio.io import resample
from sda.generation.errors import GenerationError

SIDECAR_VERSION = 1
FORMATS = ("wav", "flac", "ogg", "mp3")
RATES = (44100, 48000, 96000)
BIT_DEPTHS = ("16", "24", "32f")
_SUBTYPES = {("wav", "16"): "PCM_16", ("wav", "24"): "PCM_24", ("wav", "32f"): "FLOAT",
             ("flac", "16"): "PCM_16", ("flac", "24"): "PCM_24"}
_CONTAINERS = {"wav": ("WAV", None), "flac": ("FLAC", None), "ogg": ("OGG", "VORBIS"), "mp3": ("MP3", "MPEG_LAYER_III")}


def export_settings(format: str = "wav", sample_rate: int = 48000, bit_depth: str = "24", normalise: bool = True):
    """ExportSettings (from sda.audio.export where present), checked; GenerationError naming a bad setting."""
    try:
        from sda.audio.export import ExportSettings
    except ImportError:
        ExportSettings = _FallbackSettings
    settings = ExportSettings(format=str(format).lower(), sample_rate=int(sample_rate), bit_depth=str(bit_depth), normalise=bool(normalise))
    try:
        settings.validate()
    except ValueError as exc:
        raise GenerationError(str(exc)) from None
    return settings


class _FallbackSettings:
    def __init__(self, format: str = "wav", sample_rate: int = 48000, bit_depth: str = "24", normalise: bool = True) -> None:
        self.format, self.sample_rate, self.bit_depth, self.normalise = format, sample_rate, bit_depth, normalise

    def validate(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"Format '{self.format}' is not supported; use one of {', '.join(FORMATS)}.")
        if self.sample_rate not in RATES:
            raise ValueError(f"Sample rate {self.sample_rate} is not supported; use one of {', '.join(map(str, RATES))}.")
        if self.bit_depth not in BIT_DEPTHS:
            raise ValueError(f"Bit depth '{self.bit_depth}' is not supported; use one of {', '.join(BIT_DEPTHS)}.")
        if self.format in ("wav", "flac") and (self.format, self.bit_depth) not in _SUBTYPES:
            raise ValueError(f"Bit depth '{self.bit_depth}' is not available for {self.format.upper()}; use 16 or 24.")

    def to_dict(self) -> dict:
        return {"format": self.format, "sample_rate": self.sample_rate, "bit_depth": self.bit_depth, "normalise": self.normalise}


def write_audio(path: Path, audio: np.ndarray, source_rate: int, settings, tags: dict[str, str] | None = None) -> Path:
    """Write ``audio`` as ``settings`` say; the suffix becomes the format's. Returns the written path."""
    try:
        from sda.audio.export import export_audio
    except ImportError:
        return _fallback_write(Path(path), audio, source_rate, settings)
    return Path(export_audio(Path(path), audio, source_rate, settings, tags=tags))


def _fallback_write(path: Path, audio: np.ndarray, source_rate: int, settings) -> Path:
    samples = resample(np.asarray(audio, dtype=np.float32), source_rate, settings.sample_rate)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > 0 and (settings.normalise or peak > 1.0):  # never clipped
        samples = samples * ((10 ** (-1 / 20) if settings.normalise else 1.0) / peak if settings.normalise else 1.0 / peak)
    path = path.with_suffix("." + settings.format)
    container, subtype = _CONTAINERS[settings.format]
    subtype = _SUBTYPES.get((settings.format, settings.bit_depth), subtype)
    buffer = io.BytesIO()
    sf.write(buffer, samples.astype(np.float32), settings.sample_rate, format=container, subtype=subtype)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def save_sound(sound, path: Path, export=None) -> tuple[Path, Path]:
    """Write ``sound`` to ``path`` (its suffix set by the format) and a .json sidecar; return both paths."""
    settings = export if export is not None else export_settings()
    tags = {"title": Path(path).stem, "model": str(sound.settings.get("model_name", "")),
            "comment": f"sda model {sound.settings.get('model_id', '')} seed {sound.settings.get('seed', '')}".strip()}
    if "seed" in sound.settings:
        tags["seed"] = str(sound.settings["seed"])
    try:
        written = write_audio(Path(path), sound.audio, sound.sample_rate, settings, tags)
    except OSError as exc:
        raise GenerationError(f"Could not write '{path}' ({exc.strerror or exc}).") from None
    sidecar = written.with_suffix(".json")
    record = {"sda_sound": SIDECAR_VERSION, "file": written.name, "created_at": time.time(),
              "settings": sound.settings, "export": settings.to_dict(), "notes": list(sound.notes)}
    atomic_write_json(sidecar, json.loads(json.dumps(record, default=str)))
    return written, sidecar


def read_sidecar(path: Path) -> dict:
    """A sound's sidecar, as written by ``save_sound``."""
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise GenerationError(f"Sidecar '{path}' could not be read ({exc}).") from None
