"""Phase from the magnitude's own gradient: phase gradient heap integration (PGHI).

For a Gaussian window exp(-pi t^2 / lam) the STFT's log-magnitude and
phase are the real and imaginary parts of one analytic function, so each
phase derivative is a derivative of the log-magnitude (Portnoff; Prusa,
Balazs & Sondergaard 2017). With N the FFT size, H the hop, s = ln|X| and
the phase measured from each window's centre:

    along time (per hop):  dphi/dm = H N / lam * ds/dk + 2 pi k H / N   (instantaneous frequency)
    along frequency (per bin): dphi/dk = -lam / (N H) * ds/dm          (local group delay)

A Hann window of length N behaves like a Gaussian with lam = 0.25645 N^2.
The phase is integrated from the loudest coefficient outwards, always
through the loudest coefficients reached so far, because the derivatives
are only trustworthy where there is energy. The heap of the published
algorithm visits coefficients one at a time, in Python far too slow; here
each coefficient is reached along a maximum spanning tree of the coefficient
grid instead (edges between time and frequency neighbours, weighted by the
quieter end, so every path runs through the loudest coefficients that
connect its ends: the heap's principle, not always its exact tree), which
scipy builds in C, and the increments are summed along the tree by pointer
doubling, so a 2-second sound takes milliseconds in numpy. Coefficients below the
tolerance get a random phase; islands above it each start at their own
loudest coefficient. Phases given for some frames (the end of the previous
chunk of a long sound) are kept, and the rest grows from them.

Returned phases follow ``torch.stft``'s convention (each frame's FFT starts
at the window's first sample), so they plug straight into Griffin-Lim.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

HANN_LAMBDA = 0.25645  # lam / N^2 of the Gaussian closest to a Hann window of length N
DEFAULT_TOLERANCE_DB = 40.0  # coefficients this far below the loudest get a random phase


def phase_derivatives(magnitude: np.ndarray, n_fft: int, hop: int, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Phase derivatives (per hop along time, per bin along frequency) of a (frames, bins) magnitude."""
    log_mag = np.log(np.maximum(magnitude, 1e-12))
    bins = np.arange(magnitude.shape[1])
    d_freq = np.gradient(log_mag, axis=1) if magnitude.shape[1] > 1 else np.zeros_like(log_mag)
    d_time = np.gradient(log_mag, axis=0) if magnitude.shape[0] > 1 else np.zeros_like(log_mag)
    along_time = hop * n_fft / lam * d_freq + 2 * np.pi * hop * bins / n_fft
    along_freq = -lam / (n_fft * hop) * d_time
    return along_time, along_freq


def pghi_phase(
    magnitude: np.ndarray, n_fft: int, hop: int, *, tolerance_db: float | None = None,
    known_phase: np.ndarray | None = None, known_frames: int = 0, seed: int = 0,
) -> np.ndarray:
    """Magnitude (frames, bins) of a Hann-window STFT -> phase (frames, bins) in radians.

    ``known_phase`` (frames, bins) with ``known_frames`` > 0: the first
    ``known_frames`` frames keep those phases and the rest is integrated
    from them.
    """
    tolerance_db = DEFAULT_TOLERANCE_DB if tolerance_db is None else tolerance_db
    magnitude = np.asarray(magnitude, dtype=np.float64)
    frames, bins = magnitude.shape
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0.0, 2 * np.pi, magnitude.shape)
    if known_frames:
        phase[:known_frames] = known_phase[:known_frames]
    peak = float(magnitude.max()) if magnitude.size else 0.0
    if peak <= 0.0:
        return phase
    along_time, along_freq = phase_derivatives(magnitude, n_fft, hop, HANN_LAMBDA * n_fft**2)
    flat = magnitude.ravel()
    usable = flat >= peak * 10 ** (-tolerance_db / 20)
    usable[: known_frames * bins] = True
    nodes = np.flatnonzero(usable)  # the graph holds only these, renumbered 0..count-1
    count = len(nodes)
    number = np.full(flat.size + bins + 1, -1, dtype=np.int64)  # padded: neighbours past the end are unusable
    number[nodes] = np.arange(count)
    level = np.log(np.maximum(flat[nodes], 1e-300) / peak) + tolerance_db / 20 * np.log(10.0)  # >= 0 when usable
    level = np.maximum(level, 0.0)
    pinned = nodes < known_frames * bins
    top = float(level.max()) + 1.0
    starts, ends = [], []
    for step in (bins, 1):  # time neighbours, then frequency neighbours
        other = number[nodes + step]
        keep = other >= 0
        if step == 1:
            keep &= nodes % bins != bins - 1  # the next bin of a frame's last bin is the next frame's first
        first = np.flatnonzero(keep)
        second = other[keep]
        both = pinned[first] & pinned[second]
        starts.append(first[~both])
        ends.append(second[~both])
    a, b = np.concatenate(starts), np.concatenate(ends)
    quiet, loud = np.minimum(level[a], level[b]), np.maximum(level[a], level[b])
    # Cheapest tree = through the loudest coefficients: the quieter end decides, the louder breaks ties.
    weight = top - quiet - 1e-3 * loud + 1e-6
    # A virtual root (number ``count``) joins each island at its loudest coefficient; pinned ones join first.
    root = count
    root_weight = np.where(pinned, 1e-9, 2 * top + (top - level))
    rows = np.concatenate([a, np.arange(count)])
    cols = np.concatenate([b, np.full(count, root)])
    graph = coo_matrix((np.concatenate([weight, root_weight]), (rows, cols)), shape=(root + 1, root + 1)).tocsr()
    order, parent = breadth_first_order(minimum_spanning_tree(graph), root, directed=False, return_predecessors=True)
    order = order[1:]  # the virtual root itself
    parent_of = parent[order]

    # The phase step from each coefficient's parent: trapezoid rule along the tree edge.
    increment = np.zeros(root + 1)
    from_root = parent_of == root
    child, par = order[~from_root], parent_of[~from_root]
    child_at, par_at = nodes[child], nodes[par]
    delta = child_at - par_at
    steps = np.where(np.abs(delta) == bins, along_time.ravel()[child_at] + along_time.ravel()[par_at],
                     along_freq.ravel()[child_at] + along_freq.ravel()[par_at] + 2 * np.pi)  # +pi per bin: see above
    increment[child] = 0.5 * np.sign(delta) * steps
    island_start = order[from_root]
    increment[island_start] = np.where(pinned[island_start], phase.ravel()[nodes[island_start]], 0.0)

    # Pointer doubling: each coefficient's phase is the sum of the steps on its path to the root.
    jump = np.full(root + 1, root)
    jump[order] = parent_of
    total = increment
    while True:
        total = total + total[jump]
        total[root] = 0.0
        jump = jump[jump]
        if (jump == root).all():
            break
    out = phase.ravel().copy()
    out[nodes] = total[:count]
    return out.reshape(frames, bins)

