"""Band-limited sample-rate conversion and true-peak measurement, for export.

`resample` runs scipy's polyphase filter with a Kaiser-window low-pass designed
for the pair of rates: flat to 91 % of the lower Nyquist frequency (20.07 kHz
for 44.1 kHz), at least 110 dB down from the lower Nyquist frequency on, so
nothing above the new Nyquist folds back into the audible band. scipy's own
default filter (Kaiser beta 5, cut at Nyquist) is -6 dB at Nyquist and only
about 50 dB down above it.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy.signal import firwin, kaiser_beta, kaiserord, resample_poly

PASSBAND = 0.91  # flat up to this fraction of the lower Nyquist frequency
STOPBAND_DB = 110.0
TRUE_PEAK_OVERSAMPLING = 4  # as ITU-R BS.1770 for 48 kHz


@lru_cache(maxsize=16)
def _lowpass(up: int, down: int, from_rate: int, to_rate: int) -> np.ndarray:
    """Low-pass FIR at the intermediate rate (from_rate * up), odd length, linear phase."""
    rate = from_rate * up
    nyquist = min(from_rate, to_rate) / 2.0
    edge = PASSBAND * nyquist
    numtaps, _ = kaiserord(STOPBAND_DB, (nyquist - edge) / (rate / 2.0))
    numtaps |= 1  # odd: resample_poly centres the filter, so the output is not shifted
    return firwin(numtaps, (edge + nyquist) / 2.0, window=("kaiser", kaiser_beta(STOPBAND_DB)), fs=rate)


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample along the first axis to exactly round(n * to_rate / from_rate) samples.

    ``audio`` is mono (samples,) or (samples, channels); float32 comes back.
    """
    from_rate, to_rate = int(from_rate), int(to_rate)
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    audio = np.asarray(audio, dtype=np.float32)
    if from_rate == to_rate:
        return audio.copy()
    ratio = Fraction(to_rate, from_rate)
    if max(ratio.numerator, ratio.denominator) > 4096:  # unusual rate pairs: a near ratio, trimmed below
        ratio = ratio.limit_denominator(4096)
    up, down = ratio.numerator, ratio.denominator
    taps = _lowpass(up, down, from_rate, to_rate)
    out = resample_poly(audio.astype(np.float64), up, down, axis=0, window=taps)
    n_out = int(round(audio.shape[0] * to_rate / from_rate))
    if out.shape[0] < n_out:
        out = np.pad(out, [(0, n_out - out.shape[0])] + [(0, 0)] * (out.ndim - 1))
    return np.ascontiguousarray(out[:n_out], dtype=np.float32)


def sample_peak(audio: np.ndarray) -> float:
    """Largest absolute sample value (0 for empty audio)."""
    return float(np.max(np.abs(audio))) if audio.size else 0.0


def true_peak(audio: np.ndarray) -> float:
    """Peak of the signal between samples too, estimated by 4x oversampling.

    A DAC, a later resampler or a lossy decoder reconstructs the waveform
    between the samples; a sharp transient peaks higher there than at any
    sample, so a file whose samples stay under 1.0 can still clip downstream.
    """
    if not audio.size:
        return 0.0
    over = resample_poly(np.asarray(audio, dtype=np.float32), TRUE_PEAK_OVERSAMPLING, 1, axis=0)
    return max(float(np.max(np.abs(over))), sample_peak(audio))
