"""What an instrument needs to know of a rendered sample: where it starts, how loud it is, how long it holds,
whether it sounds like a hi-hat, its pitch; and a pitch shift by resampling."""

from __future__ import annotations

import numpy as np

from sda.audio.resampling import resample

FRAME_SECONDS = 0.01
ONSET_DB = 30.0  # a sample starts where it first comes within this of its loudest moment ...
LEAD_KEEP_SECONDS = 0.003  # ... less this much, faded in, so the attack is whole
HOLD_DB = 30.0  # a sound holds while it stays within this of its peak
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _frames_db(audio: np.ndarray, rate: int) -> np.ndarray:
    size = max(1, int(FRAME_SECONDS * rate))
    count = max(1, len(audio) // size)
    frames = np.asarray(audio[: count * size], dtype=np.float64).reshape(count, -1)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)


def trim_lead(audio: np.ndarray, rate: int) -> np.ndarray:
    """``audio`` from its onset on, faded in over LEAD_KEEP_SECONDS: a sampler's note should sound when the key
    is struck. The onset is the first 5 ms whose level comes within ONSET_DB of the loudest 5 ms, so a quiet
    lead-in before a late hit is cut too."""
    size = max(1, int(0.005 * rate))
    count = len(audio) // size
    if count < 2:
        return audio
    frames = np.asarray(audio[: count * size], dtype=np.float64).reshape(count, size)
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    first = int(np.argmax(db >= db.max() - ONSET_DB)) * size
    keep = int(LEAD_KEEP_SECONDS * rate)
    out = np.array(audio[max(0, first - keep):], dtype=np.float32)
    fade = min(keep, len(out))
    if first > 0 and fade > 1:
        out[:fade] *= np.linspace(0.0, 1.0, fade, dtype=np.float32)
    return out


def loudness_db(audio: np.ndarray, rate: int) -> float:
    """RMS level (dBFS) of the loudest 100 ms: what a velocity layer is heard as."""
    db = _frames_db(audio, rate)
    width = min(len(db), 10)
    power = np.convolve(10 ** (db / 10), np.ones(width) / width, mode="valid")
    return float(10 * np.log10(power.max() + 1e-20))


def hold_seconds(audio: np.ndarray, rate: int) -> float:
    """How long the sound stays within HOLD_DB of its peak, from the peak on."""
    db = _frames_db(audio, rate)
    peak_at = int(np.argmax(db))
    above = np.nonzero(db >= db[peak_at] - HOLD_DB)[0]
    return float((above.max() - peak_at + 1) * FRAME_SECONDS)


def brightness_hz(audio: np.ndarray, rate: int) -> float:
    """Spectral centroid of the whole sound."""
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    return float((spectrum * freqs).sum() / max(spectrum.sum(), 1e-20))


def flatness(audio: np.ndarray) -> float:
    """Spectral flatness (0 tonal .. 1 white noise) of the first 100 ms' spectrum."""
    part = audio[: max(256, min(len(audio), 4800))].astype(np.float64)
    power = np.abs(np.fft.rfft(part * np.hanning(len(part)))) ** 2 + 1e-20
    return float(np.exp(np.mean(np.log(power))) / np.mean(power))


def is_hat_like(audio: np.ndarray, rate: int) -> bool:
    """Short, bright and noisy: a sound that a drummer's hi-hats choke."""
    return hold_seconds(audio, rate) < 0.35 and brightness_hz(audio, rate) > 3000 and flatness(audio) > 0.1


def pitch_hz(audio: np.ndarray, rate: int, low: float = 40.0, high: float = 2000.0) -> float | None:
    """The fundamental of the held part (autocorrelation), or None when the sound has no clear pitch."""
    start = int(0.03 * rate)
    part = audio[start : start + int(0.25 * rate)].astype(np.float64)
    if len(part) < int(rate / low) * 2:
        return None
    part = (part - part.mean()) * np.hanning(len(part))
    spectrum = np.fft.rfft(part, 2 * len(part))
    corr = np.fft.irfft(np.abs(spectrum) ** 2)[: len(part)]
    if corr[0] <= 0:
        return None
    corr = corr / corr[0]
    lo, hi = int(rate / high), min(int(rate / low), len(corr) - 2)
    lag = lo + int(np.argmax(corr[lo:hi]))
    if corr[lag] < 0.5:
        return None
    if 0 < lag < len(corr) - 1:  # parabolic interpolation for a fractional lag
        a, b, c = corr[lag - 1], corr[lag], corr[lag + 1]
        lag = lag + 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else lag
    return rate / lag


def shift_semitones(audio: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    """``audio`` played faster (up) or slower (down) by ``semitones``, band-limited: pitch and length change."""
    if abs(semitones) < 1e-6:
        return np.asarray(audio, dtype=np.float32).copy()
    return resample(audio, int(round(rate * 2 ** (semitones / 12))), rate)


def note_name(note: int) -> str:
    """MIDI note number -> "C4" (60 is middle C, C4)."""
    return f"{NOTE_NAMES[note % 12]}{note // 12 - 1}"
