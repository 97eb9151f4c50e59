"""The bootstrap kernels (encsim.metrics._bootstrap) against a plain-Python twin, bit for bit, and the
one-pass summary against the summary of one bootstrap per estimator (the code path before it).

The twin draws resample b's uniforms from numpy's Philox (the stream (seed, b) on sub-stream 7, see
encsim.random for numpy's counter offset) and sums each column in draw order with Python
floats: it is the definition of the resamples, independent of the kernels' Philox and layout.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numba import njit

from encsim.metrics import EstimatorWarning, closed_loop_summary, risk_ratio, weighted_probability
from encsim.metrics import _bootstrap as bootstrap_module
from encsim.metrics import estimators as estimators_module
from encsim.metrics import summary as summary_module
from encsim.metrics._bootstrap import (
    BOOTSTRAP_SUB_STREAM,
    CHUNK_DRAWS,
    _philox_block,
    resample_indicator_sums,
    resample_record_sums,
    resample_row_sums,
)
from encsim.random import philox4x64_10, seed_to_uint64

MASK64 = 2**64 - 1


def twin_resample_sums(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """out[b, c] = sum over the draws of resample b, in draw order, of values[c, i] (values (k, n))."""
    k, n = values.shape
    out = np.zeros((n_boot, k))
    for b in range(n_boot):
        # numpy's Philox computes counter + 1 before its first block: start one below (0, 7, 0, 0)
        counter = np.array([MASK64, BOOTSTRAP_SUB_STREAM - 1, 0, 0], dtype=np.uint64)
        stream = np.random.Philox(key=np.array([seed, b], dtype=np.uint64), counter=counter)
        picks = [min(int(u * n), n - 1) for u in np.random.Generator(stream).random(n)]
        for c in range(k):
            total = 0.0
            for i in picks:
                total += float(values[c, i])
            out[b, c] = total
    return out


@njit
def _blocks_both_ways(block_indices, seeds, resamples):
    same = 0
    for j in range(block_indices.size):
        fast = _philox_block(block_indices[j], seeds[j], resamples[j])
        plain = philox4x64_10(block_indices[j], np.uint64(BOOTSTRAP_SUB_STREAM), 0, 0, seeds[j], resamples[j])
        same += fast[0] == plain[0] and fast[1] == plain[1] and fast[2] == plain[2] and fast[3] == plain[3]
    return same


def test_the_128_bit_product_philox_block_is_the_generators_block():
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**64, size=(3, 500), dtype=np.uint64)
    words[:, :4] = [[0, 1, MASK64, 2**63], [0, MASK64, 1, 5], [0, 0, MASK64, 999]]
    assert _blocks_both_ways(words[0], words[1], words[2]) == 500


@pytest.mark.parametrize("n", [1, 3, 37, CHUNK_DRAWS, 2 * CHUNK_DRAWS + 5])
@pytest.mark.parametrize("k", [1, 2, 4, 9, 12])
def test_row_sums_are_the_twins(n, k):
    rng = np.random.default_rng(n * 100 + k)
    values = rng.normal(size=(k, n)) * 10.0 ** rng.integers(-8, 8, size=(k, n))  # order-sensitive sums
    n_boot = 23
    seed = int(rng.integers(0, 2**63))
    expected = twin_resample_sums(values, n_boot, seed)
    sums = resample_row_sums(list(values), n_boot, seed)
    for c in range(k):
        np.testing.assert_array_equal(sums[c], expected[:, c])


@pytest.mark.parametrize("n", [1, 5, 300, 2 * CHUNK_DRAWS + 3])
@pytest.mark.parametrize("n_indicators", [1, 7, 8, 20])
def test_indicator_sums_are_the_twins_sums_of_weight_times_indicator(n, n_indicators):
    rng = np.random.default_rng(n * 1000 + n_indicators)
    w = rng.lognormal(0.0, 3.0, size=n)
    w[rng.random(n) < 0.1] = 0.0
    w[rng.random(n) < 0.05] = -0.0
    rates = rng.uniform(0.0, 1.0, size=n_indicators)
    indicators = [rng.random(n) < rate for rate in rates]
    indicators[0] = indicators[0].astype(float)  # 0.0 / 1.0 columns count as well as booleans
    n_boot = 19
    expected = twin_resample_sums(np.stack([w] + [w * np.asarray(x, float) for x in indicators]), n_boot, 77)
    weight_sums, sums = resample_indicator_sums(w, indicators, n_boot, 77)
    np.testing.assert_array_equal(weight_sums, expected[:, 0])
    for c in range(n_indicators):
        np.testing.assert_array_equal(sums[c], expected[:, c + 1])


@pytest.mark.parametrize("n", [1, 5, 2 * CHUNK_DRAWS, 2 * CHUNK_DRAWS + 3])
@pytest.mark.parametrize(("n_indicators", "n_reals"), [(0, 1), (3, 2), (9, 8), (14, 9), (15, 2), (20, 0)])
def test_record_sums_with_reals_are_the_twins(n, n_indicators, n_reals):
    # events as flags and real values (NaN included) in one record per encounter: the twin's sums of w x;
    # whole chunks and a part, flags in one, two and three groups of eight, any weight
    rng = np.random.default_rng(n * 100 + n_indicators * 10 + n_reals)
    w = rng.lognormal(0.0, 3.0, size=n)
    w[rng.random(n) < 0.1] = 0.0
    if n > 5:
        w[[1, 3, 4]] = [np.nan, np.inf, -2.5]
    indicators = [rng.random(n) < 0.3 for _ in range(n_indicators)]
    reals = [rng.normal(size=n) * 10.0 ** rng.integers(-8, 8, size=n) for _ in range(n_reals)]
    for y in reals[:1]:
        y[rng.random(n) < 0.1] = np.nan
    n_boot = 13
    with np.errstate(invalid="ignore"):  # inf * 0
        columns = [w] + [w * x.astype(float) for x in indicators] + [w * y for y in reals]
        expected = twin_resample_sums(np.stack(columns), n_boot, 5)
        weight_sums, indicator_sums, real_sums = resample_record_sums(w, indicators, reals, n_boot, 5)
    for c, sums in enumerate([weight_sums, *indicator_sums, *real_sums]):
        np.testing.assert_array_equal(sums, expected[:, c])


def test_indicator_sums_refuse_more_indicators_than_flag_bits():
    with pytest.raises(ValueError, match="at most 63"):
        resample_indicator_sums(np.ones(3), [np.ones(3)] * 64, 10, 0)
    with pytest.raises(ValueError, match="indicator 1: 2 values for 3 weights"):
        resample_indicator_sums(np.ones(3), [np.ones(3), np.ones(2)], 10, 0)
    with pytest.raises(ValueError, match="real column 0: 4 values for 3 weights"):
        resample_record_sums(np.ones(3), [np.ones(3)], [np.ones(4)], 10, 0)


@pytest.mark.parametrize("n_reals", [0, 2, 6])
def test_records_start_on_cache_lines(monkeypatch, n_reals):
    # numpy starts large arrays 16 bytes past a line: half the 32-byte records would straddle two lines
    seen = {}

    def capture(records, bits, width_shift, *rest):
        seen.update(address=records.ctypes.data, width_bytes=8 << width_shift, bits=bits.ctypes.data)

    monkeypatch.setattr(bootstrap_module, "bootstrap_record_sums", capture)
    n = 100_000  # large enough for numpy's large-allocation path
    resample_record_sums(np.ones(n), [np.ones(n)], [np.ones(n)] * n_reals, 1, 0)
    assert seen["address"] % bootstrap_module.CACHE_LINE_BYTES == 0
    assert seen["bits"] == seen["address"]
    assert bootstrap_module.CACHE_LINE_BYTES % seen["width_bytes"] == 0  # so no record straddles two lines


@pytest.mark.parametrize("count", [0, 1, 7, 1000, 250_000])
def test_zeros_on_cache_lines(count):
    zeros = bootstrap_module._zeros_on_cache_lines(count)
    assert zeros.shape == (count,) and zeros.dtype == np.float64 and not zeros.any()
    assert count == 0 or zeros.ctypes.data % bootstrap_module.CACHE_LINE_BYTES == 0


def small_outcomes(n: int = 150, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.lognormal(0.0, 1.5, size=n)
    w[::17] = 0.0
    nominal_lowc = rng.random(n) < 0.35
    nominal_nmac = nominal_lowc & (rng.random(n) < 0.4)
    alerted = nominal_lowc | (rng.random(n) < 0.1)
    mitigated_nmac = np.where(alerted, nominal_nmac & (rng.random(n) < 0.3), nominal_nmac) | (rng.random(n) < 0.02)
    mitigated_lowc = np.where(alerted, nominal_lowc & (rng.random(n) < 0.5), nominal_lowc) | mitigated_nmac
    return pd.DataFrame(
        {
            "weight": w,
            "nominal_nmac": nominal_nmac,
            "mitigated_nmac": mitigated_nmac,
            "nominal_lowc": nominal_lowc,
            "mitigated_lowc": mitigated_lowc,
            "alerted": alerted,
        }
    )


def _one_bootstrap_per_estimator_by_the_twin(monkeypatch):
    """The code path before the one-pass summary: each estimator draws its own resamples (the twin)."""

    def twin_sums(values, n_boot, rng):
        sums = twin_resample_sums(np.stack(values), n_boot, seed_to_uint64(rng))
        return [sums[:, c] for c in range(sums.shape[1])]

    monkeypatch.setattr(summary_module, "_SHARE_PASSES", False)
    monkeypatch.setattr(summary_module, "_resampled", lambda outcomes, w, rng, extra=None: None)
    monkeypatch.setattr(estimators_module, "_bootstrap_sums", twin_sums)


def assert_same_rows(rows, expected):
    assert [row.name for row in rows] == [row.name for row in expected]
    for row, twin in zip(rows, expected, strict=True):
        numbers = [row.estimate, row.ci_low, row.ci_high]
        twin_numbers = [twin.estimate, twin.ci_low, twin.ci_high]
        assert np.array_equal(np.array(numbers, float), np.array(twin_numbers, float), equal_nan=True), row.name
        assert (row.detail, row.notes) == (twin.detail, twin.notes), row.name


@pytest.mark.parametrize("rng", [0, 5, np.random.SeedSequence(3)])
def test_one_pass_summary_is_the_summary_of_one_bootstrap_per_estimator(monkeypatch, rng):
    outcomes = small_outcomes()
    rows = closed_loop_summary(outcomes, rng=rng)
    assert len(rows) >= 12 and all(row.estimate is not None for row in rows)
    with monkeypatch.context() as patched:
        _one_bootstrap_per_estimator_by_the_twin(patched)
        expected = closed_loop_summary(outcomes, rng=rng)
    assert_same_rows(rows, expected)


def test_one_pass_summary_with_a_refused_ratio_and_a_generator(monkeypatch):
    no_nominal_nmac = small_outcomes(seed=12).assign(nominal_nmac=False)
    rows = closed_loop_summary(no_nominal_nmac, rng=2)
    assert {row.name: row for row in rows}["risk ratio (NMAC)"].estimate is None
    # a Generator gives each estimator a seed of its own, in the order they run, as before
    generated = closed_loop_summary(small_outcomes(seed=13), rng=np.random.default_rng(8))
    with monkeypatch.context() as patched:
        _one_bootstrap_per_estimator_by_the_twin(patched)
        expected = closed_loop_summary(no_nominal_nmac, rng=2)
        expected_generated = closed_loop_summary(small_outcomes(seed=13), rng=np.random.default_rng(8))
    assert_same_rows(rows, expected)
    assert_same_rows(generated, expected_generated)


def test_precomputed_sums_must_match_the_estimator():
    x, w = np.array([1.0, 0, 1, 0]), np.ones(4)
    sums = resample_row_sums([w * x, w], 50, 3)
    assert weighted_probability(x, w, n_boot=50, rng=3, resample_sums=sums) == weighted_probability(
        x, w, n_boot=50, rng=3
    )
    with pytest.raises(ValueError, match="expected 2 arrays of 40 sums"):
        weighted_probability(x, w, n_boot=40, resample_sums=sums)
    with pytest.raises(ValueError, match="expected 4 arrays of 50 sums"), warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimatorWarning)
        risk_ratio(x, x, w, n_boot=50, resample_sums=sums)
