"""The mel filterbank, shared by the model's spectrogram and the fidelity metrics."""

from __future__ import annotations

import numpy as np

_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale: linear (200/3 Hz per mel) below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    return np.where(hz < 1000.0, hz * 3.0 / 200.0, 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / _LOG_STEP)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel < 15.0, mel * 200.0 / 3.0, 1000.0 * np.exp(_LOG_STEP * (mel - 15.0)))


def mel_filterbank(
    n_fft: int, n_mels: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None,
    area_normalized: bool = False,
) -> np.ndarray:
    """Triangular mel filters, shape (n_mels, n_fft // 2 + 1), float32.

    Band edges are n_mels + 2 points equally spaced on the Slaney mel scale
    from f_min to f_max (default sample_rate / 2). Each triangle peaks at 1,
    which keeps a full-scale sine near 0 dB in every band; with
    ``area_normalized`` each is scaled by 2 / (upper edge - lower edge)
    instead (Slaney), so wide high bands do not dominate a sum.
    """
    f_max = sample_rate / 2.0 if f_max is None else float(f_max)
    if not 0.0 <= f_min < f_max <= sample_rate / 2.0:
        raise ValueError(f"mel range must satisfy 0 <= f_min < f_max <= sample_rate/2, got {f_min}..{f_max}")
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    edges[0], edges[-1] = f_min, f_max  # exact ends: the mel round trip is off by an ulp
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if area_normalized:
        weights = weights * (2.0 / (upper - lower))
    return weights.astype(np.float32)
