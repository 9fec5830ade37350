"""Write real test audio files of every kind a musician might drop into a dataset.

Signals are generated (tones, decaying noise bursts), never just silence, so
decoders, resamplers and level checks see something like music.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

# Files `write_bad_files` creates that a scan must skip without reporting.
HIDDEN_FILES = (".hidden.wav", "._mac.wav", ".DS_Store", "__MACOSX/._song.wav", ".git/HEAD.wav")
# Files `write_bad_files` creates that must still decode (relative posix paths).
BAD_FOLDER_GOOD_FILES = ("good.wav", "sub/good_in_sub.flac")


def tone(
    seconds: float, sr: int, freq: float = 440.0, amplitude: float = 0.5,
    decay: float = 0.0, noise: float = 0.0, seed: int = 0,
) -> np.ndarray:
    """A sine of peak `amplitude` as float64 1-D (exact peak for level checks).

    `decay` (per second) makes it die away like a struck note; `noise` adds that
    much white noise (standard deviation), drawn from `seed`.
    """
    t = np.arange(int(round(seconds * sr))) / sr
    out = amplitude * np.sin(2 * np.pi * freq * t)
    if decay:
        out *= np.exp(-decay * t)
    if noise:
        out += noise * np.random.default_rng(seed).standard_normal(t.size)
    return out


def texture(seconds: float, sr: int, amplitude: float = 0.5, seed: int = 0) -> np.ndarray:
    """Decaying noise bursts over a quiet tone, peak-normalised to `amplitude`."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    out = tone(seconds, sr, freq=220.0 * (1 + seed % 5), amplitude=0.2)
    for start in rng.integers(0, max(n - 1, 1), size=4):
        length = min(n - start, int(0.2 * sr))
        decay = np.exp(-np.arange(length) / (0.03 * sr))
        out[start : start + length] += rng.standard_normal(length) * decay
    return amplitude * out / np.max(np.abs(out))


def write_signal(
    path: Path, signal: np.ndarray, sr: int, channels: int = 1,
    subtype: str | None = "PCM_16", format: str | None = None,
) -> Path:
    """Write a 1-D signal, copied to `channels` identical channels."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.repeat(np.asarray(signal)[:, None], channels, axis=1) if channels > 1 else signal
    sf.write(str(path), data, sr, subtype=subtype, format=format)
    return path


def write_tone(
    path: Path, seconds: float = 1.0, sr: int = 48000, channels: int = 1,
    subtype: str | None = "PCM_16", format: str | None = None,
    freq: float = 440.0, amplitude: float = 0.5, decay: float = 0.0, noise: float = 0.0, seed: int = 0,
) -> Path:
    """Write a tone file (see `tone`); every channel carries the same tone."""
    return write_signal(path, tone(seconds, sr, freq, amplitude, decay, noise, seed), sr, channels, subtype, format)


def write_texture(path: Path, seconds: float = 1.0, sr: int = 48000, seed: int = 0, **kw) -> Path:
    """Write a noise-burst texture file (more music-like than a tone)."""
    return write_signal(path, texture(seconds, sr, seed=seed), sr, **kw)


# The six varied sounds `write_sound_folder` writes when no count is given.
SOUND_FOLDER_FILES = ("bursts_a.wav", "bursts_b.wav", "tone_44k_stereo.wav", "short.flac", "long.wav", "aiff_tone.aiff")


def write_sound_folder(folder: Path, count: int | None = None, suffix: str = ".wav") -> list[Path]:
    """Sounds a user trains on or uploads, written into `folder`; returns their paths, sorted.

    Without `count`: six short, varied sounds (SOUND_FOLDER_FILES: 0.3-2.5 s,
    48/44.1 kHz, mono/stereo, WAV/FLAC/AIFF). With `count`: that many decaying
    44.1 kHz tones with a little noise, ``tone_00{suffix}``, ``tone_01{suffix}``...,
    lasting 1.2, 1.4, 1.6, 1.2... s (about 105-140 kB each as WAV).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if count is not None:
        return [
            write_tone(folder / f"tone_{i:02d}{suffix}", seconds=1.2 + 0.2 * (i % 3), sr=44100,
                       freq=110.0 * (1 + i % 5), decay=2.0, noise=0.02, seed=i)
            for i in range(count)
        ]
    write_texture(folder / "bursts_a.wav", seconds=1.2, seed=1)
    write_texture(folder / "bursts_b.wav", seconds=0.8, seed=2)
    write_tone(folder / "tone_44k_stereo.wav", seconds=1.0, sr=44100, channels=2, freq=330.0)
    write_texture(folder / "short.flac", seconds=0.3, seed=3, format="FLAC")
    write_texture(folder / "long.wav", seconds=2.5, seed=4)
    write_signal(folder / "aiff_tone.aiff", tone(0.9, 48000, freq=550.0, amplitude=0.3), 48000, format="AIFF")
    return sorted(folder / name for name in SOUND_FOLDER_FILES)


def rms_db(audio: np.ndarray) -> float:
    """The level of a whole signal in dB (full-scale sine: -3 dB)."""
    return float(20 * np.log10(np.sqrt(np.mean(np.square(audio, dtype=np.float64))) + 1e-12))


# name -> (sample rate, channels, soundfile format, subtype, expected format name)
GOOD_FORMATS: dict[str, tuple[int, int, str, str, str]] = {
    "u8_8k_mono.wav": (8000, 1, "WAV", "PCM_U8", "WAV"),
    "pcm16_44k_stereo.wav": (44100, 2, "WAV", "PCM_16", "WAV"),
    "pcm24_96k_mono.wav": (96000, 1, "WAV", "PCM_24", "WAV"),
    "pcm32_22k_6ch.wav": (22050, 6, "WAV", "PCM_32", "WAV"),
    "float_48k_stereo.wave": (48000, 2, "WAV", "FLOAT", "WAV"),
    "double_8k_mono.WAV": (8000, 1, "WAV", "DOUBLE", "WAV"),
    "flac24_44k_stereo.flac": (44100, 2, "FLAC", "PCM_24", "FLAC"),
    "flac16_96k_6ch.flac": (96000, 6, "FLAC", "PCM_16", "FLAC"),
    "vorbis_22k_mono.ogg": (22050, 1, "OGG", "VORBIS", "OGG"),
    "vorbis_48k_stereo.oga": (48000, 2, "OGG", "VORBIS", "OGG"),
    "aiff16_48k_stereo.aiff": (48000, 2, "AIFF", "PCM_16", "AIFF"),
    "aiff24_44k_mono.aif": (44100, 1, "AIFF", "PCM_24", "AIFF"),
    "mp3_44k_stereo.mp3": (44100, 2, "MP3", "MPEG_LAYER_III", "MP3"),
    "mp3_22k_mono.mp3": (22050, 1, "MP3", "MPEG_LAYER_III", "MP3"),
}
LOSSY_FORMATS = {"OGG", "MP3"}


def write_all_formats(
    folder: Path, seconds: float = 0.5, amplitude: float = 0.5
) -> dict[str, tuple[int, int, str, str, str]]:
    """Write a 440 Hz tone in every supported format; returns GOOD_FORMATS."""
    for name, (sr, channels, fmt, subtype, _) in GOOD_FORMATS.items():
        write_tone(Path(folder) / name, seconds, sr, channels, subtype, fmt, amplitude=amplitude)
    return GOOD_FORMATS


def _garbage(n: int, seed: int = 0) -> bytes:
    # Bytes that never spell a chunk id, so no parser can mistake them for audio.
    return np.random.default_rng(seed).integers(128, 256, n, dtype=np.uint8).tobytes()


def _wav_bytes(seconds: float, sr: int = 48000, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, tone(seconds, sr), sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def write_bad_files(folder: Path) -> dict[str, str]:
    """Write every kind of unusable file, plus hidden files and good ones beside them.

    Returns {relative name: keyword its issue reason must contain}. Hidden files
    (HIDDEN_FILES) and good files (BAD_FOLDER_GOOD_FILES) are written too.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    full = _wav_bytes(1.0)
    # RIFF + fmt chunk (36 bytes) followed by noise: the data chunk never appears.
    (folder / "corrupt.wav").write_bytes(full[:36] + _garbage(4000))
    # Header promises 1 s; the file stops after 0.2 s (an interrupted copy).
    (folder / "truncated.wav").write_bytes(full[: 44 + 2 * 9600])
    (folder / "empty.wav").write_bytes(b"")
    (folder / "song.wav").write_text("these are my lyrics, not audio\n" * 20)
    (folder / "notes.txt").write_text("recorded in the kitchen\n")
    (folder / "no_frames.wav").write_bytes(_wav_bytes(0.0))
    write_signal(folder / "silent.wav", np.zeros(48000), 48000)
    write_tone(folder / "short.wav", seconds=0.02)
    write_signal(folder / "nan.wav", np.full(4800, np.nan), 48000, subtype="FLOAT")
    stereo = tone(0.5, 48000)
    sf.write(str(folder / "cancel.wav"), np.stack([stereo, -stereo], axis=1), 48000)

    for name in HIDDEN_FILES:
        hidden = folder / name
        hidden.parent.mkdir(parents=True, exist_ok=True)
        hidden.write_bytes(_garbage(500, seed=1))
    write_texture(folder / "good.wav", seconds=0.5)
    write_texture(folder / "sub" / "good_in_sub.flac", seconds=0.5, seed=1, format="FLAC")

    return {
        "corrupt.wav": "not a readable audio file",
        "truncated.wav": "truncated",
        "empty.wav": "empty (0 bytes)",
        "song.wav": "not a readable audio file",
        "notes.txt": "not an audio file type (.txt)",
        "no_frames.wav": "no audio frames",
        "silent.wav": "silent (peak level below -80 dBFS)",
        "short.wav": "too short (20 ms; at least 50 ms needed)",
        "nan.wav": "NaN",
        "cancel.wav": "channels cancel",
    }
