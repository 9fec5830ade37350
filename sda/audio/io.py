"""Decode one audio file to mono float32 at the model's sample rate, and write WAVs.

Every file is read from disk once: the bytes are hashed (for the run manifest)
and decoded from memory. Anything a musician could drop into a dataset folder
that cannot be used raises `AudioLoadError` with a short reason they can act on.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from sda.atomic import atomic_write_bytes
from scipy.signal import resample_poly

SAMPLE_RATE = 48000
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".aifc", ".mp3"}
)
MIN_DURATION_S = 0.05
SILENCE_PEAK = 1e-4  # -80 dBFS

# libsndfile logs "data : <header size> (should be <actual size>)" for WAV/AIFF
# files whose data chunk runs past the end of the file: an interrupted copy.
_TRUNCATED_CHUNK = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.M)
# Streaming writers put placeholder sizes in the header; those files are fine.
_PLACEHOLDER_SIZES = {0, 0x7FFFFFFF, 0xFFFFFFFF}


class AudioLoadError(Exception):
    """A file cannot be used as training audio; the message says why (no path)."""


@dataclass
class DecodedClip:
    """One decoded file: mono float32 audio at the target rate plus its provenance."""

    path: Path
    audio: np.ndarray
    source_sample_rate: int
    channels: int
    format: str
    subtype: str
    duration_s: float
    sha256: str


def _codec_reason(exc: Exception) -> str:
    """Shorten a libsndfile message to its useful part ("format not recognised")."""
    text = getattr(exc, "error_string", None) or str(exc)
    # soundfile prefixes "Error opening <_io.BytesIO object at 0x...>: ", noise to a user.
    text = re.sub(r"^Error opening .*?>:\s*", "", text).strip().rstrip(".")
    text = " ".join(text.split())
    if text[:1].isupper() and not text[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text[:77] + "..." if len(text) > 80 else text or "unknown decoder error"


def _open(data: bytes, path: Path) -> sf.SoundFile:
    """Open from memory; MP3 falls back to the path if content sniffing fails."""
    try:
        return sf.SoundFile(io.BytesIO(data))
    except sf.LibsndfileError as exc:
        if path.suffix.lower() == ".mp3":
            try:
                return sf.SoundFile(str(path))
            except Exception:
                pass
        raise AudioLoadError(f"not a readable audio file ({_codec_reason(exc)})") from exc


def _check_truncated(log: str, seconds_held: float) -> None:
    """Reject WAV/AIFF files whose header promises more audio than the file holds."""
    match = _TRUNCATED_CHUNK.search(log)
    if not match:
        return
    declared, actual = int(match.group(1)), int(match.group(2))
    if declared in _PLACEHOLDER_SIZES or declared <= actual + 8 or actual <= 0:
        return
    promised = seconds_held * declared / actual
    raise AudioLoadError(
        f"truncated: holds {seconds_held:.2f} s of the {promised:.2f} s its header "
        "declares (copy or export it again)"
    )


def resample(audio: np.ndarray, source_sr: int, target_sr: int) -> np.ndarray:
    """Polyphase-resample 1-D audio to exactly round(n * target / source) samples."""
    if source_sr == target_sr:
        return audio
    ratio = Fraction(target_sr, source_sr).limit_denominator(1000)
    out = resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)
    n_out = int(round(len(audio) * target_sr / source_sr))
    # An approximated ratio (odd rates) can be a few samples off: trim or pad.
    if len(out) >= n_out:
        return out[:n_out]
    return np.pad(out, (0, n_out - len(out)))


def load_audio(path: str | os.PathLike, target_sr: int = SAMPLE_RATE) -> DecodedClip:
    """Decode `path` to mono float32 at `target_sr`, or raise AudioLoadError saying why."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AudioLoadError(f"could not be read ({exc.strerror or exc})") from exc
    if not data:
        raise AudioLoadError("the file is empty (0 bytes)")

    with _open(data, path) as f:
        source_sr, channels = int(f.samplerate), int(f.channels)
        fmt, subtype, log = f.format, f.subtype, f.extra_info
        try:
            frames = f.read(dtype="float32", always_2d=True)
        except Exception as exc:
            raise AudioLoadError(f"not a readable audio file ({_codec_reason(exc)})") from exc

    n = frames.shape[0]
    if n == 0:
        raise AudioLoadError("contains no audio frames")
    if fmt in ("WAV", "AIFF"):
        _check_truncated(log, n / source_sr)
    if n / source_sr < MIN_DURATION_S:
        ms = n / source_sr * 1000
        raise AudioLoadError(
            f"too short ({ms:.0f} ms; at least {MIN_DURATION_S * 1000:.0f} ms needed)"
        )

    finite = np.isfinite(frames)
    if not finite.all():
        if finite.mean() < 0.5:
            raise AudioLoadError("mostly invalid samples (NaN or infinity)")
        frames = np.where(finite, frames, np.float32(0.0))
    mono = frames.mean(axis=1, dtype=np.float32) if channels > 1 else frames[:, 0]
    audio = np.ascontiguousarray(resample(mono, source_sr, target_sr), dtype=np.float32)

    if not audio.size or float(np.max(np.abs(audio))) < SILENCE_PEAK:
        if channels > 1 and float(np.max(np.abs(frames))) >= SILENCE_PEAK:
            # Channels in opposite phase cancel when averaged.
            raise AudioLoadError("silent once mixed to mono (channels cancel out)")
        raise AudioLoadError("silent (peak level below -80 dBFS)")

    return DecodedClip(
        path=path,
        audio=audio,
        source_sample_rate=source_sr,
        channels=channels,
        format=fmt,
        subtype=subtype,
        duration_s=len(audio) / target_sr,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write mono audio as 16-bit PCM WAV atomically (temp file, fsync, rename)."""
    path = Path(path)
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"write_wav expects mono 1-D audio, got shape {samples.shape}")
    samples = np.clip(np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)

    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV", subtype="PCM_16")
    atomic_write_bytes(path, buffer.getvalue())
