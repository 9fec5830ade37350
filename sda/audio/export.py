"""Write a sound a user keeps: format, sample rate, bit depth, level, tags.

Every setting is applied and shows in the written file's header. The audio is
resampled with a band-limited filter (`sda.audio.resampling`), then its level
is set: by default the level it comes with is kept, times ``gain_db`` (the
model's level gain, see `sda.generation.level`); with ``normalise=True`` the
sample peak goes to -1 dBFS instead. Either way the result is never clipped: the peak
between samples (true peak) is kept under a ceiling, -0.1 dBFS for PCM and
float, -1 dBFS for MP3 and Ogg Vorbis (their decoders overshoot a little), and
a lossy file is decoded once after encoding and made quieter if it would
still clip. Files are replaced atomically.

Choices where formats differ:
- FLAC holds 16- or 24-bit integers only: ``bit_depth="32f"`` with FLAC is
  refused (ValueError) rather than silently written at another depth.
- MP3 exists at 44.1 and 48 kHz only (MPEG-1): 96 kHz MP3 is refused too.
- MP3 and Ogg Vorbis have no bit depth; ``bit_depth`` is ignored for them and
  recorded as None by `ExportSettings.to_dict`.
- MP3 is 320 kbps constant bitrate; Ogg Vorbis is quality 9 of 10 (VBR).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import soundfile as sf

from sda.atomic import atomic_write_bytes
from sda.audio.io import AUDIO_EXTENSIONS
from sda.audio.resampling import resample, sample_peak, true_peak

EXPORT_FORMATS = ("wav", "flac", "ogg", "mp3")
EXPORT_RATES = (44100, 48000, 96000)
BIT_DEPTHS = ("16", "24", "32f")
LOSSY_FORMATS = ("ogg", "mp3")
MP3_RATES = (44100, 48000)
PEAK_DBFS = -1.0

_CONTAINER = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "mp3": "MP3"}
_PCM_SUBTYPE = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
# soundfile's compression_level: MP3 CBR bitrate = 320 - level * 288 kbps (MPEG-1),
# so 0.0 is 320 kbps; Vorbis quality = 1 - level, so 0.1 is quality 9 of 10.
_LOSSY = {"mp3": ("MPEG_LAYER_III", dict(compression_level=0.0, bitrate_mode="CONSTANT")),
          "ogg": ("VORBIS", dict(compression_level=0.1))}
_CEILING = {"pcm": 10 ** (-0.1 / 20), "lossy": 10 ** (-1.0 / 20)}
_DECODED_LIMIT = 10 ** (-0.05 / 20)  # a decoded lossy file must stay under this
_NOTICEABLE = 10 ** (-0.1 / 20)  # less than 0.1 dB under the asked level does not count as lowered
# Fields libsndfile stores (WAV INFO chunk, FLAC/Vorbis comments, MP3 ID3v1).
_TAG_FIELDS = ("title", "artist", "album", "comment", "software", "date", "copyright", "genre", "license")


@dataclass(frozen=True)
class ExportSettings:
    """How to write a sound; ``validate`` says what is wrong with a combination."""

    format: str = "wav"
    sample_rate: int = 48000
    bit_depth: str = "24"
    normalise: bool = False  # True: each sound's peak to -1 dBFS; False: its level kept, times the gain asked

    def __post_init__(self) -> None:
        # Accept what a CLI or a form hands over: "WAV", 24, "48000".
        if isinstance(self.format, str):
            object.__setattr__(self, "format", self.format.strip().lower().lstrip("."))
        if isinstance(self.bit_depth, int) and not isinstance(self.bit_depth, bool):
            object.__setattr__(self, "bit_depth", str(self.bit_depth))
        if isinstance(self.sample_rate, str) and self.sample_rate.strip().isdigit():
            object.__setattr__(self, "sample_rate", int(self.sample_rate))

    def validate(self) -> None:
        """Raise ValueError naming the setting at fault and the values allowed."""
        if self.format not in EXPORT_FORMATS:
            raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}; got {self.format!r}")
        if self.sample_rate not in EXPORT_RATES or isinstance(self.sample_rate, bool):
            raise ValueError(
                f"sample rate must be one of {', '.join(map(str, EXPORT_RATES))} Hz; got {self.sample_rate!r}"
            )
        if self.bit_depth not in BIT_DEPTHS:
            raise ValueError(
                f"bit depth must be one of {', '.join(BIT_DEPTHS)} (32f = 32-bit float); got {self.bit_depth!r}"
            )
        if self.format == "flac" and self.bit_depth == "32f":
            raise ValueError("bit depth 32f is not possible in FLAC (16 or 24 only); use 24, or WAV for 32-bit float")
        if self.format == "mp3" and self.sample_rate not in MP3_RATES:
            raise ValueError(
                f"sample rate {self.sample_rate} Hz is not possible in MP3 (44100 or 48000 only); use FLAC or WAV "
                "for 96000"
            )

    @property
    def suffix(self) -> str:
        return "." + self.format

    def describe(self) -> str:
        """One line for a user: "FLAC, 48000 Hz, 24-bit, peak -1 dBFS"."""
        depth = {"mp3": "320 kbps", "ogg": "Vorbis q9"}.get(self.format) or (
            "32-bit float" if self.bit_depth == "32f" else f"{self.bit_depth}-bit")
        level = "peak -1 dBFS" if self.normalise else "model's level"
        return f"{self.format.upper()}, {self.sample_rate} Hz, {depth}, {level}"

    def to_dict(self) -> dict:
        """Plain settings for a sidecar; bit_depth is None where the format has none."""
        return {"format": self.format, "sample_rate": self.sample_rate,
                "bit_depth": None if self.format in LOSSY_FORMATS else self.bit_depth,
                "normalise": self.normalise}

    @classmethod
    def from_dict(cls, data: dict) -> ExportSettings:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names and v is not None})


@dataclass(frozen=True)
class ExportResult:
    """What `export_audio_report` wrote, and the gain it applied to get there."""

    path: Path
    gain_db: float  # applied after resampling (the gain asked, when the level was kept and fitted)
    peak_dbfs: float  # sample peak of the written audio (before any lossy encoding)
    limited: bool  # True when the level was lowered to stay clear of clipping


def peak_ceiling(fmt: str) -> float:
    """The highest true peak (linear) a file of format ``fmt`` is written with."""
    return _CEILING["lossy" if str(fmt).lower() in LOSSY_FORMATS else "pcm"]


def export_audio(path: Path, audio: np.ndarray, source_rate: int, settings: ExportSettings,
                 tags: dict[str, str] | None = None, *, gain_db: float = 0.0) -> Path:
    """Write ``audio`` (mono float, or (samples, channels)) as ``settings`` say; return the path written.

    The suffix of ``path`` becomes the format's (an audio suffix is replaced,
    any other kept: "kick.seed3" -> "kick.seed3.wav"). ``tags`` (title, model,
    seed, comment, ...) go into the file's metadata: known fields by name, the
    others into the comment as "key: value". ``gain_db`` is applied when the
    level is kept (not when normalising), then lowered only as far as the
    ceiling needs.
    """
    return export_audio_report(path, audio, source_rate, settings, tags, gain_db=gain_db).path


def export_audio_report(path: Path, audio: np.ndarray, source_rate: int, settings: ExportSettings,
                        tags: dict[str, str] | None = None, *, gain_db: float = 0.0) -> ExportResult:
    """`export_audio`, also saying which gain was applied and whether the level was limited."""
    settings.validate()
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim not in (1, 2) or samples.shape[0] == 0:
        raise ValueError(f"export needs mono (samples,) or (samples, channels) audio; got shape {samples.shape}")
    samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    samples = resample(samples, source_rate, settings.sample_rate)

    lossy = settings.format in LOSSY_FORMATS
    ceiling = _CEILING["lossy" if lossy else "pcm"]
    peak, over = sample_peak(samples), true_peak(samples)
    if settings.normalise:
        wanted = (10 ** (PEAK_DBFS / 20) / peak) if peak > 0 else 1.0
    else:
        wanted = 10 ** (float(gain_db) / 20) if np.isfinite(gain_db) else 1.0
    gain = min(wanted, ceiling / over) if over > 0 else wanted
    samples = samples * np.float32(gain)

    data = _encode(samples, settings, tags or {})
    if lossy:  # the decoder may overshoot what went in: check, and make it quieter if needed
        for _ in range(3):
            decoded = sample_peak(sf.read(io.BytesIO(data), dtype="float32")[0])
            if decoded <= _DECODED_LIMIT:
                break
            correction = _DECODED_LIMIT / decoded * 0.99
            samples, gain = samples * np.float32(correction), gain * correction
            data = _encode(samples, settings, tags or {})

    target = _target_path(Path(path), settings)
    atomic_write_bytes(target, data)
    peak_out = sample_peak(samples)
    limited = gain < wanted * _NOTICEABLE  # lowered below the level asked for
    return ExportResult(target, float(20 * np.log10(gain)) if gain > 0 else 0.0,
                        float(20 * np.log10(peak_out)) if peak_out > 0 else float("-inf"), bool(limited))


def _target_path(path: Path, settings: ExportSettings) -> Path:
    if path.suffix.lower() in AUDIO_EXTENSIONS or not path.suffix:
        return path.with_suffix(settings.suffix)
    return path.with_name(path.name + settings.suffix)


def _encode(samples: np.ndarray, settings: ExportSettings, tags: dict[str, str]) -> bytes:
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    if settings.format in _LOSSY:
        subtype, options = _LOSSY[settings.format]
    else:
        subtype, options = _PCM_SUBTYPE[settings.bit_depth], {}
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", settings.sample_rate, channels, subtype,
                      format=_CONTAINER[settings.format], **options) as handle:
        _write_tags(handle, tags)  # FLAC and Ogg need them before the first samples
        handle.write(samples)
    return buffer.getvalue()


def _tag_text(value) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(value)).strip()


def _write_tags(handle: sf.SoundFile, tags: dict[str, str]) -> None:
    """Known fields by name; everything else (model, seed, ...) first in the comment.

    Model and seed come first because MP3's ID3v1 comment holds only 30 characters.
    """
    values = {"software": "sda"}
    extra = []
    for key, value in tags.items():
        key, text = str(key).strip().lower(), _tag_text(value)
        if not text:
            continue
        if key in _TAG_FIELDS:
            values[key] = text
        else:
            extra.append(f"{key}: {text}")
    comment = "; ".join(extra + ([values["comment"]] if "comment" in values else []))
    if comment:
        values["comment"] = comment
    for key, text in values.items():
        try:
            setattr(handle, key, text)
        except (RuntimeError, sf.LibsndfileError):
            pass  # a field this format cannot hold; the caller's sidecar still records it
