"""Distances between binned distributions of encounter-model variables.

A model variable's distribution is a mixture: a point mass at exactly 0 for its zero bin (the
de-discretisation sets those values to 0) and a uniform density inside every other bin
(decisions.md section 6). Two models may bin a variable differently; they are then compared on the
union of their edges (each bin's mass spread uniformly over the finer cells), with the zero atom
kept as a cell of its own.

- Hellinger: sqrt(sum (sqrt p - sqrt q)^2 / 2) (= sqrt(1 - sum sqrt(p q))), in [0, 1];
- Jensen-Shannon divergence, base 2: (KL(p||m) + KL(q||m)) / 2 with m = (p + q) / 2, in [0, 1];
- total variation: sum |p - q| / 2, in [0, 1];
- Wasserstein-1 on the physical scale: the integral of |F_p - F_q|, in the variable's units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BinnedDistribution:
    """Probabilities over bins with edges (physical units) and an optional zero bin (0-based, or -1)."""

    probabilities: np.ndarray
    edges: np.ndarray
    zero_bin: int = -1

    def __post_init__(self):
        p = np.asarray(self.probabilities, dtype=np.float64)
        edges = np.asarray(self.edges, dtype=np.float64)
        if p.ndim != 1 or edges.shape != (p.shape[0] + 1,):
            raise ValueError(f"{p.shape[0]} probabilities need {p.shape[0] + 1} edges, got {edges.shape[0]}")
        if np.any(p < 0) or not np.isclose(p.sum(), 1.0, atol=1e-9):
            raise ValueError(f"probabilities must be non-negative and sum to 1, got sum {p.sum()}")
        if np.any(np.diff(edges) <= 0):
            raise ValueError("edges must increase strictly")
        object.__setattr__(self, "probabilities", p)
        object.__setattr__(self, "edges", edges)

    def cells(self, grid: np.ndarray) -> np.ndarray:
        """Mass on the cells of a finer grid (which contains all edges), then the zero atom last."""
        out = np.zeros(grid.shape[0])  # grid.shape[0] - 1 cells + 1 atom
        widths = np.diff(grid)
        for b, mass in enumerate(self.probabilities):
            if mass == 0:
                continue
            if b == self.zero_bin:
                out[-1] += mass
                continue
            lo, hi = self.edges[b], self.edges[b + 1]
            inside = (grid[:-1] >= lo) & (grid[1:] <= hi)
            out[:-1][inside] += mass * widths[inside] / (hi - lo)
        return out

    def cdf_breakpoints(self) -> np.ndarray:
        points = set(self.edges.tolist())
        if self.zero_bin >= 0:
            points.add(0.0)
        return np.array(sorted(points))


def _common_cells(p: BinnedDistribution, q: BinnedDistribution) -> tuple[np.ndarray, np.ndarray]:
    grid = np.union1d(p.edges, q.edges)
    return p.cells(grid), q.cells(grid)


def hellinger(p: BinnedDistribution, q: BinnedDistribution) -> float:
    a, b = _common_cells(p, q)
    return float(np.sqrt(0.5 * np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)))


def total_variation(p: BinnedDistribution, q: BinnedDistribution) -> float:
    a, b = _common_cells(p, q)
    return float(0.5 * np.sum(np.abs(a - b)))


def jensen_shannon(p: BinnedDistribution, q: BinnedDistribution) -> float:
    a, b = _common_cells(p, q)
    m = 0.5 * (a + b)

    def kl(x):
        mask = x > 0
        return np.sum(x[mask] * np.log2(x[mask] / m[mask]))

    return float(max(0.0, 0.5 * (kl(a) + kl(b))))


def _cdf(dist: BinnedDistribution, x: np.ndarray, *, left: bool) -> np.ndarray:
    """CDF at x; ``left`` gives the limit from the left (excludes the zero atom at x = 0)."""
    total = np.zeros_like(x)
    for b, mass in enumerate(dist.probabilities):
        if mass == 0:
            continue
        if b == dist.zero_bin:
            total += mass * ((x > 0) if left else (x >= 0))
            continue
        lo, hi = dist.edges[b], dist.edges[b + 1]
        total += mass * np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return total


def wasserstein1(p: BinnedDistribution, q: BinnedDistribution) -> float:
    """Exact W1 = integral of |F_p - F_q| for the bin-uniform mixtures with zero atoms.

    Between consecutive breakpoints (all edges and 0) both CDFs are linear, so the integral of
    the absolute difference is exact piece by piece (split where the difference changes sign).
    """
    points = np.union1d(p.cdf_breakpoints(), q.cdf_breakpoints())
    lo, hi = points[:-1], points[1:]
    d_lo = _cdf(p, lo, left=False) - _cdf(q, lo, left=False)  # right limits at the left end
    d_hi = _cdf(p, hi, left=True) - _cdf(q, hi, left=True)  # left limits at the right end
    width = hi - lo
    same_sign = d_lo * d_hi >= 0
    area = np.where(same_sign, 0.5 * width * (np.abs(d_lo) + np.abs(d_hi)), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.where(same_sign, 0.0, width * np.abs(d_lo) / (np.abs(d_lo) + np.abs(d_hi)))
    area = np.where(same_sign, area, 0.5 * root * np.abs(d_lo) + 0.5 * (width - root) * np.abs(d_hi))
    return float(np.sum(area))


DISTANCES = {
    "hellinger": hellinger,
    "jensen_shannon": jensen_shannon,
    "total_variation": total_variation,
    "wasserstein1": wasserstein1,
}
