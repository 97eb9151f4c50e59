"""The paired bootstrap of sweep differences (encsim.metrics.paired) against the exact bootstrap.

On a set of 6 weighted encounters every one of the 6^6 ordered resamples is enumerated, each with
probability 6^-6: that gives the exact (ideal) bootstrap distribution of the paired difference, and
its mean, variance and fourth central moment. The Monte Carlo bootstrap of B replicates must agree
within 4 standard errors derived from B: sd(mean) = sqrt(var / B), sd(sample variance) =
sqrt((mu4 - var^2 (B - 3) / (B - 1)) / B). The unpaired replicates resample the two points
independently: their exact variance is the sum of the two statistics' exact bootstrap variances.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from encsim.metrics import risk_ratio
from encsim.metrics.paired import difference_replicates, ratio_difference, risk_ratio_difference

N_BOOT = 40_000
W = np.array([1.0, 3.0, 0.5, 2.0, 1.5, 4.0])
#: two correlated points: b differs from a in one encounter out of six
Y_A = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
Y_B = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0])


def all_resamples(n: int) -> np.ndarray:
    return np.array(list(itertools.product(range(n), repeat=n)), dtype=np.int64)


def exact_moments(values: np.ndarray) -> tuple[float, float, float]:
    """Mean, variance and fourth central moment of equally likely values (NaN ones excluded)."""
    values = values[np.isfinite(values)]
    mean = values.mean()
    return float(mean), float(np.mean((values - mean) ** 2)), float(np.mean((values - mean) ** 4))


def ratio_over(resamples: np.ndarray, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return numerator[resamples].sum(axis=1) / denominator[resamples].sum(axis=1)


def assert_matches_exact(replicates: np.ndarray, exact: tuple[float, float, float]) -> None:
    mean, variance, mu4 = exact
    replicates = replicates[np.isfinite(replicates)]
    b = replicates.size
    mean_tolerance = 4 * np.sqrt(variance / b)
    variance_tolerance = 4 * np.sqrt((mu4 - variance**2 * (b - 3) / (b - 1)) / b)
    assert abs(replicates.mean() - mean) < mean_tolerance
    assert abs(replicates.var(ddof=1) - variance) < variance_tolerance
    # the test can fail: a tolerance well below the variance itself (ratios have heavier tails)
    assert variance_tolerance < 0.2 * variance


def test_paired_difference_of_weighted_means_has_the_exact_bootstrap_variance():
    resamples = all_resamples(W.size)
    exact = exact_moments(ratio_over(resamples, W * Y_B, W) - ratio_over(resamples, W * Y_A, W))
    replicates = difference_replicates(W * Y_A, W, W * Y_B, W, n_boot=N_BOOT, rng=3)
    assert_matches_exact(replicates, exact)


def test_unpaired_difference_has_the_sum_of_the_two_exact_variances():
    resamples = all_resamples(W.size)
    mean_a, var_a, mu4_a = exact_moments(ratio_over(resamples, W * Y_A, W))
    mean_b, var_b, mu4_b = exact_moments(ratio_over(resamples, W * Y_B, W))
    # the difference of independent variables: variance var_a + var_b; fourth central moment
    # mu4_a + mu4_b + 6 var_a var_b
    exact = (mean_b - mean_a, var_a + var_b, mu4_a + mu4_b + 6 * var_a * var_b)
    replicates = difference_replicates(W * Y_A, W, W * Y_B, W, n_boot=N_BOOT, rng=3, paired=False)
    assert_matches_exact(replicates, exact)
    paired = difference_replicates(W * Y_A, W, W * Y_B, W, n_boot=N_BOOT, rng=3)
    assert paired.var() < 0.5 * replicates.var()


def test_paired_risk_ratio_difference_has_the_exact_conditional_bootstrap_variance():
    """Ratios over resamples with a nominal event in both points (the others have no ratio)."""
    x_nom = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    x_mit_a = np.array([0.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    x_mit_b = np.array([0.0, 1.0, 0.0, 0.0, 0.0, 1.0])
    resamples = all_resamples(W.size)
    exact = exact_moments(ratio_over(resamples, W * x_mit_b, W * x_nom) - ratio_over(resamples, W * x_mit_a, W * x_nom))
    replicates = difference_replicates(W * x_mit_a, W * x_nom, W * x_mit_b, W * x_nom, n_boot=N_BOOT, rng=11)
    assert np.isnan(replicates).any()  # resamples without a nominal event: no ratio, left out
    assert_matches_exact(replicates, exact)
    estimate = risk_ratio_difference(x_nom, x_mit_a, x_nom, x_mit_b, W, n_boot=N_BOOT, rng=11)
    point = risk_ratio(x_nom, x_mit_b, W).ratio
    baseline = risk_ratio(x_nom, x_mit_a, W).ratio
    assert estimate.difference == pytest.approx(point - baseline, abs=1e-15)
    assert estimate.n_valid == np.isfinite(replicates).sum()
    assert estimate.ci_low <= estimate.difference <= estimate.ci_high


def test_pairing_narrows_the_interval_of_correlated_points():
    """Two settings that change the outcome of 2 % of the encounters: the paired interval is several
    times narrower than the unpaired one, and the unpaired one cannot tell the points apart."""
    rng = np.random.default_rng(4)
    n = 4000
    w = rng.gamma(2.0, 1.0, n)
    x_nom = (rng.random(n) < 0.3).astype(float)
    x_mit_a = x_nom * (rng.random(n) < 0.5)
    # point b resolves some more of a's mitigated events
    x_mit_b = x_mit_a * (rng.random(n) >= 0.08)
    paired = risk_ratio_difference(x_nom, x_mit_a, x_nom, x_mit_b, w, rng=1)
    unpaired = risk_ratio_difference(x_nom, x_mit_a, x_nom, x_mit_b, w, rng=1, paired=False)
    assert paired.difference == unpaired.difference < 0
    paired_width = paired.ci_high - paired.ci_low
    unpaired_width = unpaired.ci_high - unpaired.ci_low
    assert paired_width < 0.4 * unpaired_width
    assert paired.ci_high < 0 < unpaired.ci_high  # only the paired interval shows the improvement


def test_identical_points_have_a_zero_difference_and_refusals_name_the_fault():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    x_nom = np.array([1.0, 0.0, 1.0, 1.0])
    x_mit = np.array([0.0, 0.0, 1.0, 0.0])
    same = risk_ratio_difference(x_nom, x_mit, x_nom, x_mit, w, n_boot=200)
    assert (same.difference, same.ci_low, same.ci_high, same.sd) == (0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="no nominal event at the point"):
        risk_ratio_difference(x_nom, x_mit, np.zeros(4), x_mit, w)
    with pytest.raises(ValueError, match="0 or 1"):
        risk_ratio_difference(x_nom, x_mit, x_nom, x_mit * 2, w)
    with pytest.raises(ValueError, match="method"):
        ratio_difference(w, w, w, w, method="bca")
