"""Band-limited polyphase resampling, for a whole signal or one that arrives in blocks.

`resample` filters a whole 1-D signal at once. `StreamingResampler` gives the
same samples from a signal fed block by block: it uses the same FIR filter as
scipy's `resample_poly` and keeps the tail of input the next outputs still
need, so block joins are exact and memory stays near one block plus the output.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import firwin, resample_poly, upfirdn

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


def resample(audio: np.ndarray, source_sr: int, target_sr: int) -> np.ndarray:
    """Polyphase-resample 1-D audio to exactly round(n * target / source) samples."""
    if source_sr == target_sr:
        return audio
    up, down = rate_ratio(source_sr, target_sr)
    out = resample_poly(audio, up, down).astype(np.float32)
    return fit_length(out, output_length(len(audio), source_sr, target_sr))


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
