"""The closed-loop summary with shared bootstrap passes against the summary of one pass per estimator.

Estimators over the same encounters with the same seed draw the same resamples, and the bootstrap
kernel sums each column on its own in draw order: so the summary draws the sums of all of them in
one pass per set of encounters (`summary._SharedResamples`, and `summary._resampled` over all of
them). Every number and text of every row must be what each estimator drawing its own gives
(`summary._SHARE_PASSES` off: the code path before), on outcome tables with the open-loop alerting
columns, SLoWC and encounter metadata (geometry classes and intruder layers), including sets that
coincide (every level's must-alert encounters, levels alerted alike), empty sets and refused ratios.
The alert-to-LoWC medians' bootstrap sorts its resamples by rank: against sorting by value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from encsim.metrics import closed_loop_summary, weighted_quantiles
from encsim.metrics import estimators as estimators_module
from encsim.metrics import summary as summary_module
from encsim.metrics.alerting import _median_interval
from encsim.simulate import OUTCOME_COLUMNS

AT_S, EAT_S = np.array([55.0, 55.0, 25.0]), np.array([75.0, 75.0, 55.0])
LAYER_EDGES_FT = [50.0, 500.0, 1200.0, 3000.0, 5000.0]


def scored_outcomes(
    n: int = 600, seed: int = 3, starts_inside: float = 0.1, same_levels: bool = False, lowc_share: float = 0.4
):
    """Outcomes with open-loop alerting columns, SLoWC and metadata; alerts nest by level (L3 within L2 within L1)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({column: np.full(n, np.nan) for column in OUTCOME_COLUMNS})
    w = rng.lognormal(0.0, 1.2, size=n)
    w[::29] = 0.0
    nominal_lowc = rng.random(n) < lowc_share
    nominal_nmac = nominal_lowc & (rng.random(n) < 0.3)
    t_lowc = np.where(nominal_lowc, rng.uniform(-20.0, 120.0, n), np.nan)
    t_lowc[nominal_lowc & (rng.random(n) < starts_inside)] = 0.0
    if starts_inside == 0:
        t_lowc = np.where(nominal_lowc, np.maximum(t_lowc, 1.0), np.nan)
    first = [np.where(rng.random(n) < 0.6, rng.uniform(-30.0, 110.0, n), np.nan)]
    for _ in (2, 3):
        delay = rng.exponential(15.0, n) if not same_levels else np.zeros(n)
        first.append(np.where(rng.random(n) < (1.0 if same_levels else 0.7), first[-1] + delay, np.nan))
    alerted = np.isfinite(first[0]) | (rng.random(n) < 0.05)
    mitigated_nmac = np.where(alerted, nominal_nmac & (rng.random(n) < 0.3), nominal_nmac) | (rng.random(n) < 0.01)
    mitigated_lowc = np.where(alerted, nominal_lowc & (rng.random(n) < 0.5), nominal_lowc) | mitigated_nmac
    columns = {
        "weight": w,
        "nominal_nmac": nominal_nmac,
        "nominal_lowc": nominal_lowc,
        "nominal_t_lowc_s": t_lowc,
        "nominal_hmd_ft": rng.uniform(0.0, 8000.0, n),
        "nominal_vmd_ft": rng.uniform(-800.0, 800.0, n),
        "mitigated_nmac": mitigated_nmac,
        "mitigated_lowc": mitigated_lowc,
        "alerted": alerted,
        "open_loop_alert_level_changes": np.where(np.isfinite(first[0]), rng.integers(1, 6, n), 0).astype(float),
        "nominal_max_slowc": np.where(nominal_lowc, rng.uniform(0.0, 100.0, n), 0.0),
        "mitigated_max_slowc": np.where(mitigated_lowc, rng.uniform(0.0, 60.0, n), 0.0),
    }
    for level in (1, 2, 3):
        columns[f"open_loop_t_first_alert_l{level}_s"] = first[level - 1]
        shortest = rng.uniform(0.5, 30.0, n)
        columns[f"open_loop_min_alert_episode_l{level}_s"] = np.where(np.isfinite(first[level - 1]), shortest, np.nan)
    for name, values in columns.items():
        frame[name] = values
    metadata = pd.DataFrame(
        {
            "int_heading_tcpa_rad": rng.uniform(-np.pi, np.pi, n),
            "int_alt_tcpa_ft": rng.choice([20.0, 300.0, 800.0, 2000.0, 4000.0, 6000.0], n),
        }
    )
    return frame, metadata


def summarise(outcomes, metadata, rng):
    return closed_loop_summary(
        outcomes,
        rng=rng,
        alerting_times=(AT_S, EAT_S, "test"),
        metadata=metadata,
        layer_edges_ft=LAYER_EDGES_FT,
    )


def counted_passes(monkeypatch) -> list[int]:
    """Patch the estimators' bootstrap and the summary's shared passes to record the number of
    encounters of each pass."""
    passes = []
    draw, draw_set = estimators_module._bootstrap_sums, summary_module._resample_set

    def counting(values, n_boot, rng):
        passes.append(values[0].size)
        return draw(values, n_boot, rng)

    def counting_set(w, events, reals, rng):
        passes.append(w.size)
        return draw_set(w, events, reals, rng)

    monkeypatch.setattr(estimators_module, "_bootstrap_sums", counting)
    monkeypatch.setattr(summary_module, "_resample_set", counting_set)
    return passes


def one_pass_per_estimator(monkeypatch, compute):
    """``compute()``'s summary as before: every estimator over a subset of the encounters draws its own
    resamples; and the number of encounters of each pass."""
    with monkeypatch.context() as patched:
        patched.setattr(summary_module, "_SHARE_PASSES", False)
        passes = counted_passes(patched)
        rows = compute()
    return rows, passes


def assert_identical_rows(rows, expected):
    assert [row.name for row in rows] == [row.name for row in expected]
    for row, old in zip(rows, expected, strict=True):
        numbers = np.array([np.nan if row.estimate is None else row.estimate, row.ci_low, row.ci_high])
        old_numbers = np.array([np.nan if old.estimate is None else old.estimate, old.ci_low, old.ci_high])
        assert (row.estimate is None) == (old.estimate is None), row.name
        assert np.array_equal(numbers, old_numbers, equal_nan=True), (row.name, numbers, old_numbers)
        assert row.detail == old.detail, row.name
        assert row.notes == old.notes, row.name


@pytest.mark.parametrize("rng", [0, 9, 2**64 - 3])  # (the alerting rows' medians take an int seed)
@pytest.mark.parametrize(
    "case",
    [
        {},
        {"seed": 5, "starts_inside": 0.0},  # the must-alert encounters are the nominal-LoWC ones (SLoWC's set)
        {"seed": 6, "same_levels": True},  # every level alerts the same encounters
        {"seed": 7, "lowc_share": 1.0},  # every encounter has a nominal LoWC: SLoWC's set is all of them
    ],
)
def test_shared_passes_give_every_row_of_one_pass_per_estimator(monkeypatch, rng, case):
    outcomes, metadata = scored_outcomes(**case)
    expected, passes_before = one_pass_per_estimator(monkeypatch, lambda: summarise(outcomes, metadata, rng))
    with monkeypatch.context() as patched:
        passes = counted_passes(patched)
        rows = summarise(outcomes, metadata, rng)
    assert len(rows) == len(expected) > 50
    assert_identical_rows(rows, expected)
    # one pass per distinct set of encounters: all of them (every rate over all of them: starts
    # inside, nuisance per level), the must-alert set (all levels), each level's alerted set, the
    # jitter's (level 1's alerted set again), the nominal-LoWC set (SLoWC; all of them when every
    # encounter has a nominal LoWC, then it joins their pass) and each class
    n = outcomes.shape[0]
    n_classes = sum(row.name.startswith("[") for row in rows)
    must = np.count_nonzero(outcomes["nominal_lowc"] & (outcomes["nominal_t_lowc_s"] > 0))
    alerted = [np.count_nonzero(np.isfinite(outcomes[f"open_loop_t_first_alert_l{k}_s"])) for k in (1, 2, 3)]
    distinct_alerted = 1 if case.get("same_levels") else 3
    nominal_lowc = np.count_nonzero(outcomes["nominal_lowc"])
    nominal_lowc_set = 0 if case.get("starts_inside") == 0.0 or nominal_lowc == n else 1
    assert len(passes) == 1 + 1 + distinct_alerted + nominal_lowc_set + n_classes
    assert must in passes and set(alerted) <= set(passes)
    assert len(rows) < n and passes.count(n) == 1
    assert len(passes_before) == 1 + 3 * 8 + 1 + 2 + 3 * n_classes


def test_empty_sets_and_refused_class_ratios(monkeypatch):
    outcomes, metadata = scored_outcomes(n=300, seed=8)
    outcomes["open_loop_t_first_alert_l3_s"] = np.nan  # level 3 never alerts: no short rate, no lead
    outcomes.loc[metadata["int_alt_tcpa_ft"] == 6000.0, "nominal_lowc"] = False  # a layer without nominal LoWC
    rows = summarise(outcomes, metadata, 2)
    by_name = {row.name: row for row in rows}
    assert by_name["L3 warning: short"].estimate is None
    assert by_name["[intruder layer above 5000 ft] LoWC ratio"].estimate is None
    expected, _ = one_pass_per_estimator(monkeypatch, lambda: summarise(outcomes, metadata, 2))
    assert_identical_rows(rows, expected)


@pytest.mark.parametrize("seed", ["generator", "seed sequence"])
def test_class_rows_with_a_generator_or_a_seed_sequence(monkeypatch, seed):
    # a Generator gives each estimator a seed of its own in the order they run: nothing is shared; a
    # SeedSequence gives all the same seed, as an int does (no alerting rows: their medians take an int)
    outcomes, metadata = scored_outcomes(n=300, seed=10)
    kwargs = {"metadata": metadata, "layer_edges_ft": LAYER_EDGES_FT}

    def rng():
        return np.random.default_rng(1) if seed == "generator" else np.random.SeedSequence(4)

    with monkeypatch.context() as patched:
        passes = counted_passes(patched)
        rows = closed_loop_summary(outcomes, rng=rng(), **kwargs)
    expected, passes_before = one_pass_per_estimator(
        monkeypatch, lambda: closed_loop_summary(outcomes, rng=rng(), **kwargs)
    )
    assert_identical_rows(rows, expected)
    assert len(passes) == (len(passes_before) if seed == "generator" else 10)  # 9 classes and all encounters


def median_interval_by_value(values, w, confidence=0.95, n_boot=400, rng=0):
    """The definition: each resample's `weighted_quantiles` median, its values sorted as they are."""
    generator = np.random.Generator(np.random.Philox(key=int(rng)))
    boot = np.empty(n_boot)
    for b in range(n_boot):
        pick = generator.integers(0, values.size, values.size)
        boot[b] = weighted_quantiles(values[pick], w[pick], [0.5])[0]
    low, high = np.quantile(boot, [(1 - confidence) / 2, 1 - (1 - confidence) / 2])
    return float(weighted_quantiles(values, w, [0.5])[0]), float(low), float(high)


@pytest.mark.parametrize(
    ("n", "distinct", "n_boot"),
    [(1, 1, 50), (2, 2, 50), (37, 5, 400), (2000, 60, 400), (3000, 3000, 100), (70_000, 70_000, 12)],
)
def test_median_interval_sorts_resamples_by_rank_as_by_value(n, distinct, n_boot):
    rng = np.random.default_rng(n + distinct)
    levels = np.round(rng.normal(40.0, 30.0, distinct), 1)  # leads in s, ties among the picks
    levels[0] = -0.0
    values = rng.choice(levels, n)
    values[values == 0.0] = rng.choice([0.0, -0.0], np.count_nonzero(values == 0.0))  # equal, told apart by sign
    w = rng.lognormal(0.0, 1.0, n)
    w[rng.random(n) < 0.1] = 0.0
    for seed in (0, 7):
        got = _median_interval(values, w, n_boot=n_boot, rng=seed)
        expected = median_interval_by_value(values, w, n_boot=n_boot, rng=seed)
        assert np.array_equal(np.array(got), np.array(expected)), (got, expected)
        assert [np.signbit(x) for x in got] == [np.signbit(x) for x in expected]


def test_a_column_zero_one_in_one_set_but_not_in_another_gives_each_set_its_sums():
    # a column is tested for 0 / 1 once, over all encounters: over the set where it is 0 / 1 it is then
    # summed as a real value, not as a flag; both sets' sums must be what one pass of w x over each gives
    from encsim.metrics._bootstrap import resample_row_sums
    from encsim.random import seed_to_uint64

    rng = np.random.default_rng(12)
    n = 500
    w = rng.lognormal(0.0, 1.0, n)
    column = (rng.random(n) < 0.4).astype(float)
    outside = rng.random(n) < 0.5
    column[outside] = rng.integers(2, 5, np.count_nonzero(outside))  # 0 / 1 only where not outside
    flags = rng.random(n) < 0.3
    shared = summary_module._SharedResamples(w, 7, active=True)
    sets = {"zero-one part": ~outside, "mixed part": outside | (rng.random(n) < 0.2)}
    for subset in sets.values():
        shared.add(subset, {"column": column, "flag": flags})
    shared.draw()
    for name, subset in sets.items():
        column_sums, flag_sums, weight_sums = shared.sums(subset, "column", "flag")
        expected = resample_row_sums(
            [w[subset] * column[subset], w[subset] * flags[subset], w[subset]], summary_module.N_BOOT, seed_to_uint64(7)
        )
        for got, want in zip((column_sums, flag_sums, weight_sums), expected, strict=True):
            np.testing.assert_array_equal(got, want, err_msg=name)
