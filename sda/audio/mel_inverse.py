"""Mel power -> linear power: a non-negative inverse of the mel filterbank.

A pseudo-inverse of the filterbank answers with negative power wherever
neighbouring bands differ much (every transient, every spectral edge);
clamping those to zero adds energy the mel never had and leaves holes
elsewhere, so the spectrum Griffin-Lim is asked to match is not one whose
mel is the input. That, not the phase retrieval, was the round trip's main
loss (mel-L1 about 2.6 dB whatever the number of Griffin-Lim iterations).

Here the linear power is found as the non-negative spectrum whose mel best
matches the input in the Kullback-Leibler sense (multiplicative updates,
Lee & Seung 2001), starting from a smooth guess: each band's power spread
over its bins in proportion to the triangles (Fᵀ(m / row sums)).
KL weighs every band by its own level, so quiet bands are fitted as closely
as loud ones, which is what a dB-domain ear (and metric) notices.

Each FFT bin lies under at most two triangles, so the filterbank and its
transpose are applied as sparse (CSR) products on the CPU, and as two
gathers on accelerators, instead of dense matrix products (10 fitting steps on a
10 s sound: about 10 ms instead of 50).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

_FLOOR = 1e-15  # keeps the updates away from zeros and denormal floats (-150 dB)


class MelInverse:
    """Non-negative least-KL inverse of a filterbank whose bins lie under at most two bands."""

    def __init__(self, filterbank: np.ndarray, device: torch.device | str = "cpu") -> None:
        fb = torch.from_numpy(np.asarray(filterbank, dtype=np.float32))
        bands, bins = fb.shape
        if int((fb > 0).sum(0).max()) > 2:
            raise ValueError("MelInverse needs a filterbank with at most two bands over each bin")
        rows = torch.arange(bands)[:, None].expand(bands, bins)
        covered = fb > 0
        self.lower = torch.where(covered, rows, bands).min(0).values.clamp_max(bands - 1)
        self.upper = torch.where(covered, rows, -1).max(0).values.clamp_min(0)
        cols = torch.arange(bins)
        self.lower_weight = fb[self.lower, cols]
        self.upper_weight = torch.where(self.upper != self.lower, fb[self.upper, cols], torch.zeros(bins))
        column_sum = self.lower_weight + self.upper_weight
        # Bins under no band (DC, Nyquist, outside f_min..f_max) get no power.
        self.inverse_column_sum = torch.where(column_sum > 0, 1.0 / column_sum.clamp_min(1e-12), torch.zeros(bins))
        self.row_sum = fb.sum(1)
        self.bands = bands
        self._dense = fb
        self.to(device)

    def to(self, device: torch.device | str) -> MelInverse:
        device = torch.device(device)
        for name in ("lower", "upper", "lower_weight", "upper_weight", "inverse_column_sum", "row_sum"):
            setattr(self, name, getattr(self, name).to(device))
        self._sparse = None
        if device.type == "cpu":
            with warnings.catch_warnings():  # torch calls its CSR support beta; products are all we use
                warnings.simplefilter("ignore", UserWarning)
                dense = self._dense.to(device)
                self._sparse = (dense.to_sparse_csr(), dense.T.contiguous().to_sparse_csr())
        return self

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        """Filterbank times power: (B, bins, frames) -> (B, bands, frames)."""
        if self._sparse is not None:
            return self._sparse_product(self._sparse[0], power)
        out = power.new_zeros(power.shape[0], self.bands, power.shape[2])
        out.index_add_(1, self.lower, power * self.lower_weight[:, None])
        out.index_add_(1, self.upper, power * self.upper_weight[:, None])
        return out

    def transpose(self, mel: torch.Tensor) -> torch.Tensor:
        """Filterbank transposed times mel: (B, bands, frames) -> (B, bins, frames)."""
        if self._sparse is not None:
            return self._sparse_product(self._sparse[1], mel)
        return mel[:, self.lower] * self.lower_weight[:, None] + mel[:, self.upper] * self.upper_weight[:, None]

    @staticmethod
    def _sparse_product(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        batch, rows, frames = x.shape
        if batch == 1:
            return (matrix @ x[0])[None]
        flat = x.transpose(0, 1).reshape(rows, batch * frames)
        return (matrix @ flat).reshape(-1, batch, frames).transpose(0, 1)

    def initial(self, mel_power: torch.Tensor) -> torch.Tensor:
        """Each band's power spread over its bins along the triangles: smooth and non-negative."""
        return self.transpose(mel_power / self.row_sum.clamp_min(1e-12)[:, None])

    def __call__(self, mel_power: torch.Tensor, iterations: int) -> torch.Tensor:
        """Mel power (B, bands, frames) -> linear power (B, bins, frames), non-negative."""
        power = self.refine(self.initial(mel_power), mel_power, iterations)
        return power * (self.inverse_column_sum > 0)[:, None]

    def refine(self, power: torch.Tensor, mel_power: torch.Tensor, iterations: int = 1) -> torch.Tensor:
        """Fitting steps from ``power`` (B, bins, frames) towards ``mel_power``; each lowers KL(mel || F power)."""
        mel_power = mel_power.clamp_min(_FLOOR)
        power = power.clamp_min(_FLOOR)
        scale = self.inverse_column_sum[:, None]
        for _ in range(iterations):
            ratio = mel_power / self.forward(power).clamp_min(_FLOOR)
            power = (power * self.transpose(ratio) * scale).clamp_min(_FLOOR)
        return power
