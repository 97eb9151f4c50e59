"""Paired differences between two settings flown over the same encounters (sensitivity sweeps).

Two points of a sweep fly the same weighted encounters (common random numbers), so their estimates
are correlated: an encounter that loses well clear under one setting usually does under the other.
The difference of a statistic between the points is then far better determined than either
statistic, and its interval must keep the pairing: each bootstrap replicate draws the encounter
indices once and applies them to both points (the same Philox resamples as every other interval of
the project, `encsim.metrics._bootstrap`), so the replicate's difference carries the correlation.

Every statistic here is a ratio of weighted sums over the encounters, sum(a) / sum(b): a weighted
probability (a = w x, b = w), a weighted mean (a = w y, b = w) or a risk ratio (a = w x_mit,
b = w x_nom). Importance weights enter through those sums, resampled with their encounters.

``paired=False`` resamples the two points independently (as if each had its own encounters): the
interval a comparison would get by ignoring the pairing, for contrast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .estimators import _check, _check_method, _interval

__all__ = ["DifferenceEstimate", "difference_replicates", "ratio_difference", "risk_ratio_difference"]

#: interval methods for a difference (BCa's jackknife is not defined for the paired statistic here)
DIFFERENCE_METHODS = ("bc", "percentile")


@dataclass(frozen=True)
class DifferenceEstimate:
    """A difference between two points (point - baseline) with its bootstrap sd and interval."""

    difference: float
    baseline: float
    point: float
    sd: float
    ci_low: float
    ci_high: float
    confidence: float
    method: str
    paired: bool
    n: int
    n_boot: int
    #: replicates where both statistics are defined (a replicate without a nominal event has no ratio)
    n_valid: int

    def __str__(self) -> str:
        kind = "paired" if self.paired else "unpaired"
        return (
            f"difference {self.difference:+.4g} ({self.point:.4g} - {self.baseline:.4g}; {kind} bootstrap sd "
            f"{self.sd:.2g}, {self.confidence:.0%} CI {self.ci_low:+.4g} to {self.ci_high:+.4g})"
        )


def _sums(columns: list[np.ndarray], n_boot: int, seed: int) -> list[np.ndarray]:
    from ._bootstrap import resample_row_sums

    return resample_row_sums(columns, n_boot, seed)


def difference_replicates(
    numerator_a, denominator_a, numerator_b, denominator_b, *, n_boot: int = 1000, rng=0, paired: bool = True
) -> np.ndarray:
    """Bootstrap replicates of sum(numerator_b) / sum(denominator_b) - sum(numerator_a) / sum(denominator_a).

    Parameters
    ----------
    numerator_a, denominator_a, numerator_b, denominator_b : array (n,)
        Per-encounter terms of the two statistics (already multiplied by the weights), in the
        same encounter order.
    n_boot : int
        Number of replicates.
    rng : int, SeedSequence or Generator
        Seed of the resamples (`encsim.random.seed_to_uint64`).
    paired : bool
        True: replicate b resamples the encounters once (Philox stream (seed, b)) and sums the
        four columns over the same draws. False: point a uses the streams of ``seed``, point b
        those of ``seed + 1`` (independent resamples).

    Returns
    -------
    ndarray (n_boot,)
        One difference per replicate; NaN where a denominator sums to zero.

    Examples
    --------
    >>> d = difference_replicates([1.0, 0, 0], [1.0, 1, 1], [1.0, 0, 0], [1.0, 1, 1], n_boot=20)
    >>> bool(np.all(d == 0))
    True
    """
    from ..random import seed_to_uint64

    columns = [
        np.asarray(c, dtype=np.float64).ravel() for c in (numerator_a, denominator_a, numerator_b, denominator_b)
    ]
    if len({c.size for c in columns}) != 1 or columns[0].size == 0:
        raise ValueError(
            f"difference_replicates: columns of {[c.size for c in columns]} encounters (need as many, >= 1)"
        )
    seed = seed_to_uint64(rng)
    if paired:
        num_a, den_a, num_b, den_b = _sums(columns, n_boot, seed)
    else:
        num_a, den_a = _sums(columns[:2], n_boot, seed)
        num_b, den_b = _sums(columns[2:], n_boot, (seed + 1) % 2**64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return num_b / den_b - num_a / den_a


def ratio_difference(
    numerator_a,
    denominator_a,
    numerator_b,
    denominator_b,
    *,
    confidence: float = 0.95,
    n_boot: int = 1000,
    rng=0,
    method: str = "bc",
    paired: bool = True,
) -> DifferenceEstimate:
    """The difference of two ratios of weighted sums (b - a) over the same encounters, with its interval.

    See `difference_replicates` for the arguments; ``method`` is ``"bc"`` (bias-corrected
    percentile, the project's default) or ``"percentile"``; ``sd`` is the replicates' standard deviation.

    Examples
    --------
    >>> w = np.array([1.0, 2.0, 1.0, 4.0])
    >>> y_a, y_b = np.array([0.0, 1, 1, 0]), np.array([0.0, 1, 0, 0])
    >>> e = ratio_difference(w * y_a, w, w * y_b, w)
    >>> round(e.difference, 12), round(e.baseline, 12), round(e.point, 12)
    (-0.125, 0.375, 0.25)
    """
    if method not in DIFFERENCE_METHODS:
        raise ValueError(f"method={method!r}; expected one of {DIFFERENCE_METHODS}")
    _check_method(method, confidence, n_boot)
    terms = [np.asarray(c, dtype=np.float64).ravel() for c in (numerator_a, denominator_a, numerator_b, denominator_b)]
    with np.errstate(divide="ignore", invalid="ignore"):
        baseline = float(terms[0].sum() / terms[1].sum())
        point = float(terms[2].sum() / terms[3].sum())
    if not (np.isfinite(baseline) and np.isfinite(point)):
        raise ValueError(
            "ratio_difference: a denominator sums to zero (no nominal event?): the difference is undefined"
        )
    replicates = difference_replicates(*terms, n_boot=n_boot, rng=rng, paired=paired)
    valid = replicates[np.isfinite(replicates)]
    difference = point - baseline
    low, high = _interval(difference, valid, confidence, method, None)
    sd = float(np.std(valid, ddof=1)) if valid.size > 1 else float("nan")
    return DifferenceEstimate(
        difference, baseline, point, sd, low, high, confidence, method, paired, terms[0].size, n_boot, int(valid.size)
    )


def risk_ratio_difference(x_nominal_a, x_mitigated_a, x_nominal_b, x_mitigated_b, w, **options) -> DifferenceEstimate:
    """Risk ratio of point b minus that of point a, both flown over the encounters of weights ``w``.

    Each ratio is sum(w x_mit) / sum(w x_nom) (`encsim.metrics.risk_ratio`); ``options`` are those
    of `ratio_difference` (``paired=True`` by default).

    Raises
    ------
    ValueError
        For outcomes that are not 0/1, weights that are not finite and non-negative, arrays of
        different lengths, or a point without a nominal event (its ratio is undefined).

    Examples
    --------
    >>> w = [1.0, 1, 2, 2, 4]
    >>> e = risk_ratio_difference([1, 1, 1, 0, 0], [0, 1, 0, 1, 0], [1, 1, 1, 0, 0], [0, 0, 0, 1, 0], w)
    >>> round(e.baseline, 12), round(e.point, 12), round(e.difference, 12)
    (0.75, 0.5, -0.25)
    """
    x_nom_a, w = _check(x_nominal_a, w, "risk_ratio_difference (baseline nominal)")
    x_mit_a, _ = _check(x_mitigated_a, w, "risk_ratio_difference (baseline mitigated)")
    x_nom_b, _ = _check(x_nominal_b, w, "risk_ratio_difference (point nominal)")
    x_mit_b, _ = _check(x_mitigated_b, w, "risk_ratio_difference (point mitigated)")
    for name, x_nom in (("baseline", x_nom_a), ("point", x_nom_b)):
        if not np.any(x_nom[w > 0]):
            raise ValueError(f"risk_ratio_difference: no nominal event at the {name}: its ratio is undefined")
    return ratio_difference(w * x_mit_a, w * x_nom_a, w * x_mit_b, w * x_nom_b, **options)
