"""A prior over whole-sound latents that stays where the training sounds are.

Every training sound (or window of a long one) is encoded to its latent mean
sequence, a fixed ``window_frames`` long, and flattened. PCA over those
points gives the main directions of variation (the axes) and a scale per
direction. A new sound is drawn near the data: a training point, moved part
of the way towards one of its nearest neighbours, plus a little noise in the
PCA space. Draws from N(0, I) fall outside the region the decoder learned to
render well; these stay inside it, and the mix of two neighbours keeps them
from being copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

MAX_COMPONENTS = 48
NEIGHBOURS = 4
MIX_RANGE = (0.25, 0.75)  # how far towards the neighbour a draw moves
NOISE = 0.2  # noise per PCA direction, in that direction's standard deviations
COPY_QUANTILE = 0.1  # a draw must be at least as far from every training point as the closest 10 % of training pairs
REDRAWS = 8


@dataclass
class LatentPrior:
    """PCA of training latents (N, D) plus the points themselves, for neighbour-mix draws."""

    mean: torch.Tensor  # (D,)
    components: torch.Tensor  # (K, D), orthonormal rows
    stds: torch.Tensor  # (K,) spread of the training points along each component
    total_variance: float
    points: torch.Tensor  # (N, D)
    neighbours: torch.Tensor  # (N, k) indices of each point's nearest others
    min_distance: float = 0.0  # draws closer than this to a training point are drawn again
    _norms: torch.Tensor | None = field(default=None, repr=False)

    @classmethod
    def fit(cls, points: torch.Tensor, seed: int = 0) -> LatentPrior:
        points = points.double()
        count = points.shape[0]
        mean = points.mean(0)
        centred = points - mean
        total = float(centred.square().sum()) / max(count - 1, 1)
        rank = max(1, min(MAX_COMPONENTS, count - 1, points.shape[1]))
        if count < 2:
            components = torch.zeros(1, points.shape[1], dtype=points.dtype)
            components[0, 0] = 1.0
        elif count <= 2 * rank + 8:
            _, _, vh = torch.linalg.svd(centred, full_matrices=False)
            components = vh[:rank]
        else:
            with torch.random.fork_rng(devices=[]):  # the randomised solver must not vary between runs
                torch.manual_seed(seed)
                _, _, v = torch.pca_lowrank(centred, q=min(rank + 8, count), center=False, niter=4)
            components = v[:, :rank].T
        coords = centred @ components.T
        stds = coords.std(0, unbiased=True) if count > 1 else torch.ones(rank, dtype=points.dtype)
        order = torch.argsort(stds, descending=True)
        components, stds = components[order], stds[order].clamp_min(1e-6)
        k = min(NEIGHBOURS, count - 1)
        if k > 0:
            distances = torch.cdist(points, points)
            distances.fill_diagonal_(float("inf"))
            neighbours = distances.topk(k, largest=False).indices
            closest = float(torch.quantile(distances.min(1).values, COPY_QUANTILE))
        else:
            neighbours = torch.zeros(count, 1, dtype=torch.long)
            closest = 0.0
        return cls(mean.float(), components.float(), stds.float(), total, points.float(), neighbours, closest)

    # -- coordinates ---------------------------------------------------
    def coords(self, z: torch.Tensor) -> torch.Tensor:
        """(..., D) latents -> (..., K) positions along the components, in standard deviations."""
        return ((z.float() - self.mean) @ self.components.T) / self.stds

    def shift(self, z: torch.Tensor, component: int, amount: float) -> torch.Tensor:
        """Move ``z`` by ``amount`` standard deviations along one component."""
        return z + amount * self.stds[component] * self.components[component]

    def set_position(self, z: torch.Tensor, component: int, value: float) -> torch.Tensor:
        """Put ``z`` at ``value`` standard deviations along one component (0 = the training centre)."""
        return self.shift(z, component, value - float(self.coords(z)[..., component]))

    def training_coords(self) -> torch.Tensor:
        return self.coords(self.points)

    # -- drawing -------------------------------------------------------
    def draw(self, rng: np.random.Generator) -> torch.Tensor:
        """One latent (D,) near the training points, but not on top of one (that would be a copy)."""
        for _ in range(REDRAWS):
            z = self._draw_once(rng)
            if self._nearest(z) >= self.min_distance:
                break
        return z

    def _nearest(self, z: torch.Tensor) -> float:
        """Distance from ``z`` to the closest training point."""
        if self._norms is None:
            self._norms = self.points.square().sum(1)
        squared = self._norms - 2.0 * (self.points @ z) + z.square().sum()
        return float(squared.min().clamp_min(0.0).sqrt())

    def _draw_once(self, rng: np.random.Generator) -> torch.Tensor:
        count = self.points.shape[0]
        anchor = int(rng.integers(count))
        z = self.points[anchor].clone()
        if count > 1:
            other = int(self.neighbours[anchor, int(rng.integers(self.neighbours.shape[1]))])
            z += float(rng.uniform(*MIX_RANGE)) * (self.points[other] - z)
        noise = torch.from_numpy(rng.standard_normal(self.components.shape[0])).float()
        return z + (NOISE * noise * self.stds) @ self.components

    def perturb(self, z: torch.Tensor, rng: np.random.Generator, amount: float) -> torch.Tensor:
        """``z`` moved at random in the PCA space, ``amount`` 0..1 (0 leaves it exactly as it is)."""
        if amount <= 0:
            return z
        noise = torch.from_numpy(rng.standard_normal(self.components.shape[0])).float()
        return z + (amount * 0.8 * noise * self.stds) @ self.components

    # -- storage -------------------------------------------------------
    def state_dict(self) -> dict:
        big = self.points.numel() > 4_000_000  # keep model files small for large datasets
        return {
            "mean": self.mean,
            "components": self.components,
            "stds": self.stds,
            "total_variance": self.total_variance,
            "points": self.points.half() if big else self.points,
            "neighbours": self.neighbours,
            "min_distance": self.min_distance,
        }

    @classmethod
    def from_state(cls, state: dict) -> LatentPrior:
        return cls(
            state["mean"].float(),
            state["components"].float(),
            state["stds"].float(),
            float(state["total_variance"]),
            state["points"].float(),
            state["neighbours"].long(),
            float(state.get("min_distance", 0.0)),
        )

    def check_shapes(self, dims: int) -> str | None:
        """None when consistent with ``dims`` latent values per window, else what is wrong."""
        k = self.components.shape[0] if self.components.dim() == 2 else -1
        n = self.points.shape[0] if self.points.dim() == 2 else -1
        if self.mean.shape != (dims,) or self.components.shape != (k, dims) or self.stds.shape != (k,):
            return f"its latent analysis does not fit the model (expected {dims} values per window)"
        if self.points.shape != (n, dims) or n < 1 or self.neighbours.dim() != 2 or self.neighbours.shape[0] != n:
            return "its training points are damaged"
        if int(self.neighbours.min()) < 0 or int(self.neighbours.max()) >= n:
            return "its neighbour table is damaged"
        return None
