"""How close an estimate sounds to its reference: the fidelity and inversion scores.

Standard spectral distances and an attack measure between two mono float
signals at 48 kHz (reference first, estimate second). They live beside the
audio code, below every layer, so the benchmark, the learned inversion's
own check and the tests all score with the same functions. If the lengths differ, both are truncated
to the shorter one. Everything is numpy on the CPU; a few seconds of audio
takes milliseconds.

Shared STFT convention: periodic Hann window of length n_fft, frames centred
(the signal is reflect-padded by n_fft // 2 on both sides, after zero-padding
to at least n_fft samples), power P = |rfft(frame)|^2.

The dB-based metrics floor both spectrograms at (reference maximum - 80 dB):
bins quieter than that in both signals are equal, so silence or near-silence
in the reference is not weighted as an enormous error, and the same floor
value (from the reference) is applied to the estimate so an estimate cannot
lower its error by being quieter than the reference everywhere.
"""

from __future__ import annotations

import numpy as np

from sda.audio.mel import mel_filterbank

DYNAMIC_RANGE_DB = 80.0
_TINY = 1e-20  # keeps log10 finite for exact digital silence


def _pair(ref, est) -> tuple[np.ndarray, np.ndarray]:
    ref = np.squeeze(np.asarray(ref, dtype=np.float64))
    est = np.squeeze(np.asarray(est, dtype=np.float64))
    if ref.ndim != 1 or est.ndim != 1:
        raise ValueError(f"fidelity metrics take mono signals; got shapes {ref.shape} and {est.shape}")
    n = min(len(ref), len(est))
    return ref[:n], est[:n]


def _stft_power(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Power spectrogram, shape (frames, n_fft // 2 + 1), using the module's STFT convention."""
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    x = np.pad(x, n_fft // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    return np.abs(np.fft.rfft(frames * window, axis=1)) ** 2


def _floored_db(p_ref: np.ndarray, p_est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref_db = 10.0 * np.log10(np.maximum(p_ref, _TINY))
    est_db = 10.0 * np.log10(np.maximum(p_est, _TINY))
    floor = ref_db.max() - DYNAMIC_RANGE_DB
    return np.maximum(ref_db, floor), np.maximum(est_db, floor)


def mel_l1_db(ref, est, sample_rate: int = 48000) -> float:
    """Mean absolute difference, in dB, of 128-band log-mel power spectrograms.

    STFT: n_fft 2048, hop 512, periodic Hann, centred frames. Mel: the
    `sda.audio.mel.mel_filterbank` (Slaney, area-normalised), 0 Hz to sample_rate / 2, applied to power.
    Both spectrograms are converted to dB (10 log10) and floored at the
    reference's maximum minus 80 dB before averaging |ref_db - est_db| over
    all frames and bands. 0 means identical; a uniform gain of g dB gives g.
    """
    ref, est = _pair(ref, est)
    fb = mel_filterbank(2048, 128, sample_rate, area_normalized=True)
    ref_db, est_db = _floored_db(_stft_power(ref, 2048, 512) @ fb.T, _stft_power(est, 2048, 512) @ fb.T)
    return float(np.mean(np.abs(ref_db - est_db)))


def lsd_db(ref, est) -> float:
    """Log-spectral distance in dB.

    Per frame: sqrt(mean over the 1025 linear-frequency bins of
    (10 log10 P_ref - 10 log10 P_est)^2), then the mean over frames. STFT as
    in `mel_l1_db` (n_fft 2048, hop 512); dB floored at the reference's
    maximum minus 80 dB. A uniform gain of g dB gives g.
    """
    ref, est = _pair(ref, est)
    ref_db, est_db = _floored_db(_stft_power(ref, 2048, 512), _stft_power(est, 2048, 512))
    return float(np.mean(np.sqrt(np.mean((ref_db - est_db) ** 2, axis=1))))


def mrstft(ref, est) -> float:
    """Multi-resolution STFT loss (dimensionless; 0 means identical).

    For each FFT size in (512, 1024, 2048), hop = size / 4, periodic Hann,
    magnitudes S = |STFT|:
      spectral convergence  ||S_ref - S_est||_F / ||S_ref||_F
      + log-magnitude L1    mean |ln(S_ref + 1e-5) - ln(S_est + 1e-5)|
    and the result is the mean of that sum over the three sizes. Unlike the
    dB metrics it has no floor: with eps 1e-5 it still notices errors around
    -100 dBFS.
    """
    ref, est = _pair(ref, est)
    eps, total = 1e-5, 0.0
    sizes = (512, 1024, 2048)
    for n_fft in sizes:
        s_ref = np.sqrt(_stft_power(ref, n_fft, n_fft // 4))
        s_est = np.sqrt(_stft_power(est, n_fft, n_fft // 4))
        convergence = np.linalg.norm(s_ref - s_est) / max(np.linalg.norm(s_ref), 1e-12)
        log_l1 = np.mean(np.abs(np.log(s_ref + eps) - np.log(s_est + eps)))
        total += convergence + log_l1
    return float(total / len(sizes))


def fidelity(ref, est) -> dict[str, float]:
    """All three metrics at 48 kHz: {"mel_l1_db": ..., "lsd_db": ..., "mrstft": ...}."""
    return {"mel_l1_db": mel_l1_db(ref, est), "lsd_db": lsd_db(ref, est), "mrstft": mrstft(ref, est)}


ATTACK_BEFORE_S, ATTACK_AFTER_S = 0.020, 0.040
_ONSET_RISE_DB = 10.0  # a rise this large within 5 ms marks an onset
_ONSET_GAP_S = 0.050  # onsets closer than this are one


def envelope_db(x: np.ndarray, sample_rate: int = 48000, block_s: float = 0.001) -> np.ndarray:
    """RMS level of each ``block_s`` block, in dB (10 log10 of the mean square)."""
    block = max(1, int(round(block_s * sample_rate)))
    count = len(x) // block
    mean_square = np.mean(np.square(x[: count * block]).reshape(count, block), axis=1) if count else np.zeros(0)
    return 10.0 * np.log10(np.maximum(mean_square, _TINY))


def onsets(ref, sample_rate: int = 48000) -> list[int]:
    """Onset blocks (1 ms each) of ``ref``: where its 1-ms envelope rises 10 dB above the loudest of the 20 ms
    before (up to 5 ms back), so the ripple of a low tone in 1-ms blocks is no onset.

    Only rises ending within 40 dB of the loudest block count, and a rise
    within 50 ms of the previous onset is part of it. A sound with no such
    rise (a fade-in) gets one onset: the first block within 20 dB of its peak.
    """
    env = envelope_db(np.squeeze(np.asarray(ref, dtype=np.float64)), sample_rate)
    if env.size == 0:
        return []
    env = np.maximum(env, env.max() - DYNAMIC_RANGE_DB)
    lag, span = 5, 20
    padded = np.concatenate([np.full(span, env.min()), env])
    earlier = np.lib.stride_tricks.sliding_window_view(padded, span - lag + 1)[: len(env)].max(axis=1)
    rise = env - earlier
    loud = env >= env.max() - 40.0
    found, gap = [], int(_ONSET_GAP_S * 1000)
    for i in np.flatnonzero((rise >= _ONSET_RISE_DB) & loud):
        start = max(0, i - lag)
        start += int(np.argmax(env[start : i + 1] - env[start] >= 3.0))  # where the rise begins
        if not found or start - found[-1] >= gap:
            found.append(start)
    return found or [int(np.argmax(env >= env.max() - 20.0))]


def attack_db(ref, est, sample_rate: int = 48000) -> float:
    """Mean absolute dB error of the 1-ms envelope from 20 ms before to 40 ms after each onset of ``ref``.

    Catches pre-echo (energy before the onset) and softened or late attacks,
    which whole-sound averages dilute. Both envelopes are floored at the
    reference's loudest block minus 80 dB. 0 means identical attacks.
    """
    ref, est = _pair(ref, est)
    ref_env, est_env = envelope_db(ref, sample_rate), envelope_db(est, sample_rate)
    if ref_env.size == 0:
        return 0.0
    floor = ref_env.max() - DYNAMIC_RANGE_DB
    ref_env, est_env = np.maximum(ref_env, floor), np.maximum(est_env, floor)
    before, after = int(ATTACK_BEFORE_S * 1000), int(ATTACK_AFTER_S * 1000)
    errors = [np.mean(np.abs(ref_env[a:b] - est_env[a:b]))
              for a, b in ((max(0, o - before), min(len(ref_env), o + after)) for o in onsets(ref, sample_rate))]
    return float(np.mean(errors))


def inversion_scores(reference, estimate, sample_rate: int = 48000) -> dict[str, float]:
    """MR-STFT, LSD (dB), mel-L1 (dB) and attack error (dB) of ``estimate`` against ``reference``.

    0 everywhere means identical; lower is closer. The keys are "mrstft",
    "lsd_db", "mel_l1_db" and "attack_db".
    """
    if sample_rate != 48000:
        raise ValueError(f"inversion scores are defined at 48 kHz; got {sample_rate} Hz")
    return {"mrstft": mrstft(reference, estimate), "lsd_db": lsd_db(reference, estimate),
            "mel_l1_db": mel_l1_db(reference, estimate), "attack_db": attack_db(reference, estimate, sample_rate)}
