"""Band-limited sample-rate conversion: for decoding (block by block) and for export.

`StreamingResampler` resamples a signal that arrives in blocks (decoding): it
uses the same FIR filter as scipy's `resample_poly` and keeps the tail of
input the next outputs still need, so block joins are exact and memory stays
near one block plus the output.

`resample` converts a whole signal for export with a Kaiser-window low-pass
designed for the pair of rates: flat to 91 % of the lower Nyquist frequency
(20.07 kHz for 44.1 kHz), at least 110 dB down from the lower Nyquist
frequency on, so nothing above the new Nyquist folds back into the audible
band. scipy's own default filter (Kaiser beta 5, cut at Nyquist), good enough
for a model's input, is -6 dB at Nyquist and only about 50 dB down above it.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy.signal import firwin, kaiser_beta, kaiserord, resample_poly, upfirdn

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


_MAX_DENOMINATOR = 1000  # odd rates are approximated; the output length is fixed afterwards


def rate_ratio(source_sr: int, target_sr: int) -> tuple[int, int]:
    """(up, down): the resampling ratio as small coprime integers."""
    ratio = Fraction(target_sr, source_sr).limit_denominator(_MAX_DENOMINATOR)
    return ratio.numerator, ratio.denominator


def output_length(n_in: int, source_sr: int, target_sr: int) -> int:
    """Samples `n_in` input samples become: round(n * target / source)."""
    return int(round(n_in * target_sr / source_sr))


def fit_length(audio: np.ndarray, n_out: int) -> np.ndarray:
    """Trim or zero-pad to exactly `n_out` samples (an approximated ratio can be a few off)."""
    if len(audio) >= n_out:
        return audio[:n_out]
    return np.pad(audio, (0, n_out - len(audio)))


class StreamingResampler:
    """Resample float32 mono audio given in blocks; `push` each block, then `finish`.

    The concatenated outputs equal `resample_poly(whole, up, down)` (before the
    final length fix, which the caller does with `fit_length`).
    """

    def __init__(self, source_sr: int, target_sr: int) -> None:
        self.up, self.down = rate_ratio(source_sr, target_sr)
        self.passthrough = self.up == self.down
        self._pending = np.zeros(0, dtype=np.float32)  # input from index self._start on
        self._start = 0  # always a multiple of `down`, so outputs line up with upfirdn's
        self._received = 0
        self._next_output = 0  # index (in upfirdn's output) of the next sample to hand out
        if self.passthrough:
            return
        half_len = 10 * max(self.up, self.down)
        # The filter resample_poly designs, built the same way (float32, then gain).
        taps = firwin(2 * half_len + 1, 1.0 / max(self.up, self.down), window=("kaiser", 5.0)).astype(np.float32)
        taps *= self.up
        pre_pad = self.down - half_len % self.down  # centres the outputs on the inputs
        self.taps = np.concatenate([np.zeros(pre_pad, dtype=np.float32), taps])
        self.delay = (half_len + pre_pad) // self.down  # leading filter outputs that are not audio

    def push(self, block: np.ndarray) -> np.ndarray:
        """Resampled audio that `block` (and what came before) fully determines."""
        block = np.asarray(block, dtype=np.float32)
        if self.passthrough:
            return block
        self._pending = np.concatenate([self._pending, block])
        self._received += len(block)
        # Output j uses inputs up to j * down / up: ready once that input has arrived.
        ready = -(-self._received * self.up // self.down)
        return self._emit(ready, self._pending)

    def finish(self) -> np.ndarray:
        """The remaining outputs, reading silence after the last input (as resample_poly does)."""
        if self.passthrough:
            return np.zeros(0, dtype=np.float32)
        total = -(-self._received * self.up // self.down) + self.delay
        tail = np.zeros(len(self.taps) // self.up + 2 * self.down, dtype=np.float32)
        return self._emit(total, np.concatenate([self._pending, tail]))

    def _emit(self, end: int, signal: np.ndarray) -> np.ndarray:
        first = max(self._next_output, self.delay)
        if end <= first:
            return np.zeros(0, dtype=np.float32)
        # upfirdn over input from self._start: its output i is output start*up/down + i overall.
        shift = self._start // self.down * self.up
        filtered = upfirdn(self.taps, signal, self.up, self.down)
        out = filtered[first - shift : end - shift].astype(np.float32, copy=False)
        self._next_output = end
        # Keep only the input the next output still reaches back to.
        needed = max((end * self.down - len(self.taps)) // self.up + 1, 0)
        keep_from = max(needed // self.down * self.down, self._start)
        self._pending = self._pending[keep_from - self._start :]
        self._start = keep_from
        return out
