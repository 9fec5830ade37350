"""Decode one audio file to mono float32 at the model's sample rate, and write WAVs.

A file's header (length, rate, channels) is read first: a file longer than
the caller's limit is refused before any audio is decoded, since a small
compressed file can hold hours of many-channel audio. The rest is decoded in
blocks, each mixed to mono and resampled as it arrives, so memory stays near
the size of the final mono 48 kHz audio whatever the file holds. The bytes
are hashed for the run manifest. Anything a musician could drop into a
dataset folder that cannot be used raises `AudioLoadError` with a short
reason they can act on.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from sda.atomic import atomic_write_bytes
from sda.audio.resampling import StreamingResampler, fit_length, output_length

SAMPLE_RATE = 48000
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".aifc", ".mp3"}
)
MIN_DURATION_S = 0.05
SILENCE_PEAK = 1e-4  # -80 dBFS
DEFAULT_MAX_FILE_SECONDS = 600.0  # one file; callers pass their own limit (None: no limit)
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1000, 768000

_BLOCK_SAMPLES = 1 << 20  # samples (all channels together) per decoded block: 4 MB of float32
_UNKNOWN_FRAMES = 1 << 62  # libsndfile says SF_COUNT_MAX when a file does not state its length
_PREALLOCATE_SECONDS = 3600.0  # longest output reserved in one piece from the header's length
_HASH_CHUNK = 1 << 20

# libsndfile logs "data : <header size> (should be <actual size>)" for WAV/AIFF
# files whose data chunk runs past the end of the file: an interrupted copy.
_TRUNCATED_CHUNK = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.M)
# Streaming writers put placeholder sizes in the header; those files are fine.
_PLACEHOLDER_SIZES = {0, 0x7FFFFFFF, 0xFFFFFFFF}


class AudioLoadError(Exception):
    """A file cannot be used as training audio; the message says why (no path)."""


class AudioTooLongError(AudioLoadError):
    """A file lasts longer than the caller's limit (found in its header, or counted while decoding)."""

    def __init__(self, seconds: float, limit_s: float, at_least: bool = False) -> None:
        self.seconds, self.limit_s, self.at_least = seconds, limit_s, at_least
        lasts = ("at least " if at_least else "") + format_duration(seconds)
        super().__init__(
            f"too long: lasts {lasts}, and files up to {format_duration(limit_s)} are used "
            "(cut it into shorter files)"
        )


def format_duration(seconds: float) -> str:
    """'4.5 s', '10 min 00 s', '2 h 05 min': how long a file or dataset lasts, for messages."""
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


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
    # soundfile prefixes "Error opening <_io.BufferedReader name=...>: ", noise to a user.
    text = re.sub(r"^Error opening .*?>:\s*", "", text).strip().rstrip(".")
    text = " ".join(text.split())
    if text[:1].isupper() and not text[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text[:77] + "..." if len(text) > 80 else text or "unknown decoder error"


def _open(path: Path, stack: contextlib.ExitStack) -> sf.SoundFile:
    """Open through a file object; MP3 falls back to the path if content sniffing fails."""
    handle = stack.enter_context(open(path, "rb"))
    try:
        return stack.enter_context(sf.SoundFile(handle))
    except sf.LibsndfileError as exc:
        if path.suffix.lower() == ".mp3":
            try:
                return stack.enter_context(sf.SoundFile(str(path)))
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


def header_frames(f: sf.SoundFile) -> int | None:
    """Frames the file's header declares, or None when it does not say (a streamed FLAC)."""
    frames = int(f.frames)
    return frames if 0 <= frames < _UNKNOWN_FRAMES else None


def _read_into(f: sf.SoundFile, block: np.ndarray) -> int:
    """Read up to len(block) frames into `block` (C-contiguous float32); 0 at the end of the audio.

    This is libsndfile's own read, not SoundFile.read: after every read
    soundfile seeks to where it thinks the read ended, which restarts MP3
    decoding on a different frame at each block join (clicks) and fails
    outright for a FLAC that does not state its length.
    """
    pointer = sf._ffi.cast("float *", block.ctypes.data)
    count = sf._snd.sf_readf_float(f._file, pointer, len(block))
    code = sf._snd.sf_error(f._file)
    if code:
        raise sf.LibsndfileError(code)
    return max(int(count), 0)


class _Samples:
    """Output audio gathered block by block: in one array when the length is known ahead."""

    def __init__(self, capacity: int | None) -> None:
        self.buffer = np.empty(capacity, dtype=np.float32) if capacity else np.zeros(0, dtype=np.float32)
        self.filled = 0
        self.overflow: list[np.ndarray] = []  # anything past the expected length

    def add(self, samples: np.ndarray) -> None:
        if not self.overflow:
            take = min(len(self.buffer) - self.filled, len(samples))
            self.buffer[self.filled : self.filled + take] = samples[:take]
            self.filled += take
            samples = samples[take:]
        if len(samples):
            self.overflow.append(np.array(samples, dtype=np.float32))  # a copy: blocks are reused

    def audio(self) -> np.ndarray:
        head = self.buffer[: self.filled]
        if self.overflow:
            return np.concatenate([head, *self.overflow])
        # A header that promised far more than the file held: do not keep the unused room.
        return head.copy() if self.filled < 0.9 * len(self.buffer) else head


@dataclass
class _Decoded:
    audio: np.ndarray  # mono float32 at the target rate
    frames: int  # source frames decoded
    peak: float  # largest absolute sample over all channels, before mixing
    invalid_fraction: float  # NaN or infinite samples, replaced by silence


def _decode_mono(f: sf.SoundFile, target_sr: int, max_seconds: float | None) -> _Decoded:
    """Decode `f` block by block, mixing to mono and resampling as it goes."""
    source_sr, channels = int(f.samplerate), int(f.channels)
    block = np.empty((max(_BLOCK_SAMPLES // channels, 1024), channels), dtype=np.float32)
    resampler = StreamingResampler(source_sr, target_sr)
    declared = header_frames(f)
    capacity = None
    if declared:
        capacity = min(output_length(declared, source_sr, target_sr) + 1, int(_PREALLOCATE_SECONDS * target_sr))
    out = _Samples(capacity)
    max_frames = None if max_seconds is None else int(max_seconds * source_sr)
    frames, peak, invalid = 0, 0.0, 0
    while True:
        try:
            count = _read_into(f, block)
        except Exception as exc:
            raise AudioLoadError(f"not a readable audio file ({_codec_reason(exc)})") from exc
        if count <= 0:
            break
        frames += count
        if max_frames is not None and frames > max_frames:  # a header that understated the length
            raise AudioTooLongError(frames / source_sr, max_seconds, at_least=True)
        data = block[:count]
        finite = np.isfinite(data)
        if not finite.all():
            invalid += data.size - int(np.count_nonzero(finite))
            data = np.where(finite, data, np.float32(0.0))
        peak = max(peak, float(data.max()), -float(data.min()))  # no |data| copy of the block
        mono = data.mean(axis=1, dtype=np.float32) if channels > 1 else data[:, 0]
        out.add(resampler.push(mono))
    out.add(resampler.finish())
    audio = fit_length(out.audio(), output_length(frames, source_sr, target_sr))
    return _Decoded(np.ascontiguousarray(audio, dtype=np.float32), frames, peak, invalid / max(frames * channels, 1))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load_audio(
    path: str | os.PathLike,
    target_sr: int = SAMPLE_RATE,
    max_seconds: float | None = DEFAULT_MAX_FILE_SECONDS,
) -> DecodedClip:
    """Decode `path` to mono float32 at `target_sr`, or raise AudioLoadError saying why.

    A file longer than `max_seconds` (None: no limit) raises AudioTooLongError,
    before decoding when its header states its length, else as soon as the
    decoded audio passes the limit.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioLoadError(f"could not be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise AudioLoadError("the file is empty (0 bytes)")

    try:
        with contextlib.ExitStack() as stack:
            f = _open(path, stack)
            source_sr, channels = int(f.samplerate), int(f.channels)
            fmt, subtype, log = f.format, f.subtype, f.extra_info
            if not MIN_SAMPLE_RATE <= source_sr <= MAX_SAMPLE_RATE:
                raise AudioLoadError(
                    f"unusual sample rate ({source_sr} Hz; files from {MIN_SAMPLE_RATE // 1000} kHz "
                    f"to {MAX_SAMPLE_RATE // 1000} kHz are used)"
                )
            declared = header_frames(f)
            if max_seconds is not None and declared is not None and declared > max_seconds * source_sr:
                raise AudioTooLongError(declared / source_sr, max_seconds)
            decoded = _decode_mono(f, target_sr, max_seconds)
    except OSError as exc:
        raise AudioLoadError(f"could not be read ({exc.strerror or exc})") from exc

    n = decoded.frames
    if n == 0:
        raise AudioLoadError("contains no audio frames")
    if fmt in ("WAV", "AIFF"):
        _check_truncated(log, n / source_sr)
    if n / source_sr < MIN_DURATION_S:
        ms = n / source_sr * 1000
        raise AudioLoadError(
            f"too short ({ms:.0f} ms; at least {MIN_DURATION_S * 1000:.0f} ms needed)"
        )
    if decoded.invalid_fraction > 0.5:
        raise AudioLoadError("mostly invalid samples (NaN or infinity)")

    audio = decoded.audio
    if not audio.size or float(np.max(np.abs(audio))) < SILENCE_PEAK:
        if channels > 1 and decoded.peak >= SILENCE_PEAK:
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
        sha256=_sha256(path),
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
