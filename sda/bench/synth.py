"""Synthetic one-shot sounds with the character of recordings.

Used for the bundled demo set, the benchmark's train/unseen sets and tests.
Each kind is a small recipe (a kick is a pitch-swept sine, a click and some
saturation; a pluck is Karplus-Strong; ...). Every sound then goes through the
same "recording chain": a small room, a gentle EQ tilt, rumble removed by a
highpass, a random level and a faint noise floor, so a model trained on them
meets the imperfections of real files rather than clean sine tones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

KINDS: tuple[str, ...] = (
    "kick", "snare", "hat", "cymbal", "clap", "tom",
    "rim", "pluck", "bell", "mallet", "bass", "vox",
)

# soundfile (format, subtype) per file extension.
_WRITE_AS = {
    "wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"), "mp3": ("MP3", "MPEG_LAYER_III"),
}
_Rng = np.random.Generator


# ---------------------------------------------------------------- helpers
def _time(n: int, sr: int) -> np.ndarray:
    return np.arange(n) / sr


def _decay(n: int, sr: int, seconds: float) -> np.ndarray:
    return np.exp(-_time(n, sr) / seconds)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.max(np.abs(x)) + 1e-12)


def _filter(x: np.ndarray, sr: int, btype: str, freq, order: int = 2) -> np.ndarray:
    """Butterworth filter; corners are kept below Nyquist so any sample rate works."""
    f = np.clip(np.atleast_1d(np.asarray(freq, dtype=float)), 10.0, 0.45 * sr)
    if f.size == 2:
        f[0] = min(f[0], 0.6 * f[1])
    sos = signal.butter(order, f if f.size == 2 else f[0], btype=btype, fs=sr, output="sos")
    return signal.sosfilt(sos, x, axis=0)


def _resonate(x: np.ndarray, sr: int, freq: float, q: float) -> np.ndarray:
    """Second-order resonator: rings at `freq` for about q / (pi * freq) seconds."""
    b, a = signal.iirpeak(min(freq, 0.45 * sr), q, fs=sr)
    return signal.lfilter(b, a, x)


def _swept_sine(n: int, sr: int, f_start: float, f_end: float, sweep_s: float) -> np.ndarray:
    freq = f_end + (f_start - f_end) * np.exp(-_time(n, sr) / sweep_s)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr)


def _saw(freq: np.ndarray, sr: int) -> np.ndarray:
    phase = np.cumsum(freq) / sr
    return 2.0 * (phase % 1.0) - 1.0


def _partials(n: int, sr: int, f0: float, ratios, amps, decays) -> np.ndarray:
    """Sum of decaying sine partials (modal synthesis); partials above Nyquist are dropped."""
    t, out = _time(n, sr), np.zeros(n)
    for r, a, d in zip(ratios, amps, decays):
        if f0 * r < 0.45 * sr:
            out += a * np.sin(2 * np.pi * f0 * r * t) * np.exp(-t / d)
    return out


# ---------------------------------------------------------------- recipes
def _kick(rng: _Rng, sr: int) -> np.ndarray:
    n = int(sr * rng.uniform(0.3, 1.0))
    f_end = rng.uniform(40, 65)
    body = _swept_sine(n, sr, f_end * rng.uniform(3, 8), f_end, rng.uniform(0.01, 0.05))
    body *= _decay(n, sr, rng.uniform(0.12, 0.45))
    click = _filter(rng.standard_normal(n), sr, "highpass", rng.uniform(1500, 4000))
    x = body + rng.uniform(0.1, 0.5) * _unit(click * _decay(n, sr, rng.uniform(0.001, 0.004)))
    drive = rng.uniform(1.0, 4.0)
    return np.tanh(drive * x) / np.tanh(drive)


def _tom(rng: _Rng, sr: int) -> np.ndarray:
    n = int(sr * rng.uniform(0.3, 1.0))
    f_end = rng.uniform(80, 250)
    ratio = rng.uniform(1.2, 1.8)
    body = _swept_sine(n, sr, f_end * ratio, f_end, rng.uniform(0.02, 0.08))
    body += 0.3 * _swept_sine(n, sr, 1.5 * f_end * ratio, 1.5 * f_end, 0.05)
    skin = _filter(rng.standard_normal(n), sr, "bandpass", (300, 3000)) * _decay(n, sr, 0.02)
    return body * _decay(n, sr, rng.uniform(0.15, 0.5)) + rng.uniform(0.05, 0.3) * _unit(skin)


def _snare(rng: _Rng, sr: int) -> np.ndarray:
    n = int(sr * rng.uniform(0.25, 0.7))
    t, f0 = _time(n, sr), rng.uniform(160, 260)
    tone = np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(2 * np.pi * f0 * rng.uniform(1.5, 1.7) * t)
    tone *= _decay(n, sr, rng.uniform(0.04, 0.12))
    band = (rng.uniform(800, 2000), rng.uniform(7000, 11000))
    wires = _unit(_filter(rng.standard_normal(n), sr, "bandpass", band)) * _decay(n, sr, rng.uniform(0.08, 0.25))
    return rng.uniform(0.3, 0.8) * _unit(tone) + rng.uniform(0.6, 1.0) * wires


def _metal(rng: _Rng, sr: int, n: int) -> np.ndarray:
    """Six detuned square waves at inharmonic ratios (the classic drum-machine cymbal)."""
    t = _time(n, sr)
    freqs = rng.uniform(0.8, 1.3) * np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0])
    squares = [np.sign(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))) for f in freqs]
    return _unit(np.sum(squares, axis=0)) + rng.uniform(0.1, 0.6) * rng.uniform(-1, 1, n)


def _hat(rng: _Rng, sr: int) -> np.ndarray:
    is_open = rng.random() < 0.35
    n = int(sr * (rng.uniform(0.4, 0.9) if is_open else rng.uniform(0.2, 0.4)))
    decay = rng.uniform(0.15, 0.35) if is_open else rng.uniform(0.015, 0.06)
    band = (rng.uniform(6000, 8000), rng.uniform(11000, 15000))
    return _filter(_metal(rng, sr, n), sr, "bandpass", band, order=4) * _decay(n, sr, decay)


def _cymbal(rng: _Rng, sr: int) -> np.ndarray:
    n = int(sr * rng.uniform(1.0, 2.4))
    x = _filter(_metal(rng, sr, n), sr, "highpass", rng.uniform(3000, 6000), order=4)
    bloom = 1.0 - np.exp(-_time(n, sr) / rng.uniform(0.003, 0.02))  # stick hit swells
    return x * bloom * _decay(n, sr, rng.uniform(0.3, 0.9))


def _clap(rng: _Rng, sr: int) -> np.ndarray:
    n = int(sr * rng.uniform(0.3, 0.8))
    t, env, start = _time(n, sr), np.zeros(n), 0.0
    band = (rng.uniform(700, 1200), rng.uniform(2500, 5000))
    noise = _filter(rng.standard_normal(n), sr, "bandpass", band)
    for _ in range(int(rng.integers(3, 6))):  # several hands, a few ms apart
        env += (t >= start) * np.exp(-np.clip(t - start, 0, None) / rng.uniform(0.003, 0.008))
        start += rng.uniform(0.006, 0.014)
    env += 0.4 * (t >= start) * np.exp(-np.clip(t - start, 0, None) / rng.uniform(0.06, 0.15))
    return _room(noise * env, sr, rng, rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.4))


def _rim(rng: _Rng, sr: int) -> np.ndarray:
    n = int(sr * rng.uniform(0.2, 0.45))
    click = np.zeros(n)
    click[: max(2, sr // 2000)] = rng.uniform(-1, 1, max(2, sr // 2000))
    x = _resonate(click, sr, rng.uniform(400, 2500), rng.uniform(15, 50))  # woodblock body
    if rng.random() < 0.5:  # rimshot: add a bright ring and a stick crack
        x = _unit(x) + 0.6 * _unit(_resonate(click, sr, rng.uniform(3000, 6000), rng.uniform(20, 60)))
        x += 0.3 * _unit(_filter(rng.standard_normal(n), sr, "highpass", 2000)) * _decay(n, sr, 0.004)
    return x


def _pluck(rng: _Rng, sr: int) -> np.ndarray:
    """Karplus-Strong, as an IIR filter: y[i] = x[i] + g/2 (y[i-N] + y[i-N-1])."""
    n, period = int(sr * rng.uniform(0.6, 2.4)), int(round(sr / rng.uniform(80, 700) - 0.5))
    excite = np.zeros(n)
    excite[:period] = _filter(rng.uniform(-1, 1, period), sr, "lowpass", rng.uniform(2000, 10000))
    g = rng.uniform(0.985, 0.998)
    a = np.zeros(period + 2)
    a[0], a[period], a[period + 1] = 1.0, -g / 2, -g / 2
    return signal.lfilter([1.0], a, excite)


def _bell(rng: _Rng, sr: int) -> np.ndarray:
    n = int(sr * rng.uniform(0.8, 2.4))
    ratios = np.array([0.5, 1.0, 1.19, 1.56, 2.0, 2.51, 2.66, 3.01, 4.1]) * rng.uniform(0.98, 1.02, 9)
    amps = rng.uniform(0.2, 1.0, 9) / (1 + 0.3 * np.arange(9))
    return _partials(n, sr, rng.uniform(300, 1500), ratios, amps, rng.uniform(0.4, 1.8) / ratios**0.7)


def _mallet(rng: _Rng, sr: int) -> np.ndarray:
    n = int(sr * rng.uniform(0.3, 1.2))
    ratios = np.array([1.0, 3.93, 9.2]) if rng.random() < 0.5 else np.array([1.0, 2.76, 5.4, 8.93])
    amps = rng.uniform(0.1, 1.0, ratios.size) * (ratios**-0.5)
    x = _partials(n, sr, rng.uniform(200, 1200), ratios, amps, rng.uniform(0.15, 0.6) / ratios)
    hit = _filter(rng.standard_normal(n), sr, "bandpass", (500, 4000)) * _decay(n, sr, 0.002)
    return _unit(x) + rng.uniform(0.05, 0.3) * _unit(hit)


def _bass(rng: _Rng, sr: int) -> np.ndarray:
    n = int(sr * rng.uniform(0.4, 1.5))
    f0 = rng.uniform(35, 110) * (1 + 0.05 * np.exp(-_time(n, sr) / 0.03))  # slight pitch drop
    x = _filter(_saw(f0, sr), sr, "lowpass", rng.uniform(200, 1200), order=4)
    env = (1 - np.exp(-_time(n, sr) / 0.004)) * _decay(n, sr, rng.uniform(0.2, 1.0))
    drive = rng.uniform(1.0, 3.0)
    return np.tanh(drive * _unit(x) * env)


_VOWELS = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240))


def _vox(rng: _Rng, sr: int) -> np.ndarray:
    n = int(sr * rng.uniform(0.3, 1.2))
    t = _time(n, sr)
    f0 = rng.uniform(100, 280) * (1 + rng.uniform(0.005, 0.02) * np.sin(2 * np.pi * rng.uniform(4, 6) * t))
    source = _filter(_saw(f0, sr), sr, "lowpass", 4000) + 0.05 * rng.standard_normal(n)  # + breath
    formants = np.array(_VOWELS[rng.integers(len(_VOWELS))]) * rng.uniform(0.92, 1.12)
    x = sum(a * _resonate(source, sr, f, f / rng.uniform(60, 120)) for f, a in zip(formants, (1.0, 0.5, 0.25)))
    attack, release = rng.uniform(0.02, 0.06), rng.uniform(0.05, 0.15)
    env = np.minimum(1.0, t / attack) * np.clip((t[-1] - t) / release, 0.0, 1.0)
    return x * env


# Recipe for kind "kick" is _kick, and so on; each returns an unscaled mono float64 array.
_RECIPES: dict[str, Callable[[_Rng, int], np.ndarray]] = {kind: globals()[f"_{kind}"] for kind in KINDS}


# ---------------------------------------------------------------- recording chain
def _room(x: np.ndarray, sr: int, rng: _Rng, rt60: float, wet: float) -> np.ndarray:
    """Convolve with a short room: exponentially decaying, lowpassed noise after a pre-delay."""
    m = int(sr * rt60)
    ir = rng.standard_normal(m) * np.exp(-6.9 * _time(m, sr) / rt60)  # -60 dB at rt60
    ir = _filter(ir, sr, "lowpass", rng.uniform(3000, 8000))  # air and walls absorb highs
    ir = np.concatenate([np.zeros(int(sr * rng.uniform(0.002, 0.01))), ir / np.sqrt(np.sum(ir**2))])
    return x + wet * signal.fftconvolve(x, ir)[: len(x)]


def _record(x: np.ndarray, sr: int, rng: _Rng, channels: int) -> np.ndarray:
    rt60, wet = rng.uniform(0.08, 0.5), rng.uniform(0.04, 0.2)
    # A separate room response per channel gives stereo its slight decorrelation.
    y = np.stack([_room(x * rng.uniform(0.85, 1.0), sr, rng, rt60, wet) for _ in range(channels)], axis=1)
    # Imperfect trim: a few ms of room tone before the hit.
    y = np.concatenate([np.zeros((int(sr * rng.uniform(0.0, 0.015)), channels)), y])
    # Gentle EQ tilt (up to 1.5 dB/octave around 1 kHz, at most 6 dB), applied in the frequency domain.
    spec = np.fft.rfft(y, axis=0)
    f = np.maximum(np.fft.rfftfreq(len(y), 1 / sr), 20.0)
    tilt_db = np.clip(rng.uniform(-1.5, 1.5) * np.log2(f / 1000.0), -6.0, 6.0)
    y = np.fft.irfft(spec * 10 ** (tilt_db / 20)[:, None], n=len(y), axis=0)
    # DC offset and rumble that a real signal chain picks up, then the highpass that removes them.
    t = _time(len(y), sr)[:, None]
    y = _unit(y) + rng.uniform(-0.01, 0.01) + 0.005 * np.sin(2 * np.pi * rng.uniform(3, 12) * t)
    y = _filter(y, sr, "highpass", rng.uniform(20, 40))
    fade = int(sr * 0.01)
    y[-fade:] *= np.linspace(1.0, 0.0, fade)[:, None]
    y *= 10 ** (rng.uniform(-18, -1) / 20) / (np.max(np.abs(y)) + 1e-12)
    y += 10 ** (rng.uniform(-70, -60) / 20) * rng.standard_normal(y.shape)  # noise floor (RMS)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------- public API
def make_sound(kind: str, rng: np.random.Generator, sample_rate: int = 48000, stereo: bool = False) -> np.ndarray:
    """One synthetic one-shot of `kind` (one of KINDS), 0.2-2.5 s, float32.

    Shape (n,) for mono or (n, 2) for stereo; peak between -18 and -1 dBFS
    (plus a noise floor around -65 dBFS). All randomness comes from `rng`.
    """
    if kind not in _RECIPES:
        raise ValueError(f"unknown sound kind {kind!r}; choose one of {', '.join(KINDS)}")
    y = _record(_RECIPES[kind](rng, sample_rate), sample_rate, rng, 2 if stereo else 1)
    return y if stereo else y[:, 0]


def _plan(count: int, seed: int, formats: tuple[str, ...]) -> list[tuple[str, str]]:
    """(kind, file name) per sound: kinds cycle through shuffled rounds of KINDS, so every kind is equally common."""
    rng = np.random.default_rng(seed)
    kinds: list[str] = []
    while len(kinds) < count:
        kinds.extend(str(k) for k in rng.permutation(KINDS))
    return [(k, f"{k}_{i:03d}.{formats[i % len(formats)]}") for i, k in enumerate(kinds[:count])]


def make_sound_set(
    folder, count: int, seed: int, sample_rate: int = 44100,
    stereo_fraction: float = 0.3, formats: tuple[str, ...] = ("wav",),
) -> list[Path]:
    """Write `count` one-shots named like `kick_003.wav` into `folder`; return their paths.

    Deterministic for a seed. File formats cycle through `formats` (wav/flac
    are 16-bit PCM, ogg is Vorbis, mp3 is MPEG layer III). About
    `stereo_fraction` of the files are stereo.
    """
    unknown = [f for f in formats if f not in _WRITE_AS]
    if unknown:
        raise ValueError(f"cannot write format(s) {unknown}; choose from {sorted(_WRITE_AS)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (kind, name) in enumerate(_plan(count, seed, formats)):
        rng = np.random.default_rng([seed, i])  # per-file stream: one file's recipe never shifts another's
        audio = make_sound(kind, rng, sample_rate, stereo=bool(rng.random() < stereo_fraction))
        fmt, subtype = _WRITE_AS[name.rsplit(".", 1)[1]]
        sf.write(folder / name, audio, sample_rate, format=fmt, subtype=subtype)
        paths.append(folder / name)
    return paths


def make_benchmark_set(root, train_count: int = 96, unseen_count: int = 12, seed: int = 7) -> tuple[Path, Path]:
    """Write root/train and root/unseen (44.1 kHz WAV, same mix of kinds, disjoint seeds).

    A folder that already holds exactly the expected files is reused, so
    repeated benchmarks do not regenerate it.
    """
    folders = []
    for name, count, set_seed in (("train", train_count, seed), ("unseen", unseen_count, seed + 10_007)):
        folder = Path(root) / name
        expected = {file for _, file in _plan(count, set_seed, ("wav",))}
        present = {p.name for p in folder.glob("*.wav")} if folder.is_dir() else set()
        if present != expected:
            for stale in present - expected:
                (folder / stale).unlink()
            make_sound_set(folder, count, set_seed, sample_rate=44100)
        folders.append(folder)
    return folders[0], folders[1]


def make_long_set(folder, count: int, seconds: float = 10.0, seed: int = 11, sample_rate: int = 44100) -> list[Path]:
    """Write `count` files of `seconds` each: sequences of one-shots, like loops or takes.

    For memory and speed benchmarks at the large end (e.g. 500 files of 10 s).
    Existing files of the right names are kept.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    length = int(seconds * sample_rate)
    paths = []
    for i in range(count):
        path = folder / f"take_{i:04d}.wav"
        paths.append(path)
        if path.exists():
            continue
        rng = np.random.default_rng([seed, i])
        out = np.zeros(length, dtype=np.float32)
        position = 0
        while position < length:
            hit = make_sound(str(rng.choice(KINDS)), rng, sample_rate)[: length - position]
            out[position : position + len(hit)] += hit
            position += int(rng.uniform(0.15, 0.8) * sample_rate)
        sf.write(path, np.clip(out, -1, 1), sample_rate, subtype="PCM_16")
    return paths


PERCUSSIVE: tuple[str, ...] = ("kick", "snare", "hat", "cymbal", "clap", "tom", "rim")
TONAL: tuple[str, ...] = ("pluck", "bell", "mallet", "bass", "vox")


def make_sequence(kinds, seconds: float, rng: np.random.Generator, sample_rate: int = 48000) -> np.ndarray:
    """``seconds`` of one-shots drawn from ``kinds``, each a fresh recipe (no single kit), at irregular times."""
    length = int(seconds * sample_rate)
    out = np.zeros(length)
    position = int(rng.uniform(0.02, 0.1) * sample_rate)
    while position < length:
        hit = make_sound(str(rng.choice(kinds)), rng, sample_rate)[: length - position]
        out[position : position + len(hit)] += hit
        position += int(rng.uniform(0.12, 0.6) * sample_rate)
    return _unit(out).astype(np.float32) * np.float32(10 ** (rng.uniform(-12, -1) / 20))


def make_texture(seconds: float, rng: np.random.Generator, sample_rate: int = 48000) -> np.ndarray:
    """A texture: noise bands that swell in turn (wind, surf), a drone of detuned partials and sparse crackle."""
    n = int(seconds * sample_rate)
    t = _time(n, sample_rate)
    wind = sum(_filter(rng.standard_normal(n), sample_rate, "bandpass", (f / 1.4, f * 1.4))
               * (1.1 + np.sin(2 * np.pi * rng.uniform(0.05, 0.4) * t + rng.uniform(0, 2 * np.pi)))
               for f in rng.uniform(200, 6000, 4))
    f0 = rng.uniform(50, 200)
    drone = sum(np.sin(2 * np.pi * f0 * r * (1 + rng.uniform(-0.003, 0.003)) * t + rng.uniform(0, 2 * np.pi)) / r
                for r in (1, 2, 3, 5))
    crackle = np.zeros(n)
    clicks = rng.integers(0, n, int(rng.uniform(5, 40) * seconds))
    crackle[clicks] = rng.uniform(-1, 1, len(clicks))
    crackle = _filter(crackle, sample_rate, "highpass", 2000)
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t + rng.uniform(0, 2 * np.pi))
    mix = swell * (_unit(wind) + rng.uniform(0.1, 0.5) * _unit(drone)) + rng.uniform(0.1, 0.6) * _unit(crackle)
    return _record(mix, sample_rate, rng, 1)[:n, 0]


def make_inversion_sets(count: int = 4, seconds: float = 4.0, seed: int = 23,
                        sample_rate: int = 48000) -> dict[str, list[np.ndarray]]:
    """Test sets for mel -> audio: "percussive", "tonal" and "textures", ``count`` sounds of ``seconds`` each."""
    makers = {"percussive": lambda rng: make_sequence(PERCUSSIVE, seconds, rng, sample_rate),
              "tonal": lambda rng: make_sequence(TONAL, seconds, rng, sample_rate),
              "textures": lambda rng: make_texture(seconds, rng, sample_rate)}
    return {name: [make(np.random.default_rng([seed, k, i])) for i in range(count)]
            for k, (name, make) in enumerate(makers.items())}
