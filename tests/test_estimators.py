"""Weighted estimators: the hand example, the DEGAS sample results, interval coverage."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.io as sio
from conftest import SHARED_DATA_DIR

from encsim.metrics import (
    MIN_EVENTS,
    EstimatorWarning,
    clopper_pearson,
    kish_effective_size,
    risk_ratio,
    risk_ratio_with_cautions,
    weighted_probability,
)

DEGAS = SHARED_DATA_DIR / "degas-sample-results"


def test_hand_example_of_daa_reference_4_4():
    w = np.array([1, 1, 2, 2, 4.0])
    nominal = np.array([1, 1, 1, 0, 0])
    mitigated = np.array([0, 1, 0, 1, 0])
    with warnings.catch_warnings(record=True) as caught:  # five encounters say little, and it is said
        warnings.simplefilter("always")
        r = risk_ratio(nominal, mitigated, w, n_boot=200)
    messages = " | ".join(str(c.message) for c in caught if issubclass(c.category, EstimatorWarning))
    assert "wider than half" in messages and "only 3 nominal event(s)" in messages and "about 17 encounters" in messages
    assert r.p_nominal == pytest.approx(0.4) and r.p_mitigated == pytest.approx(0.3)
    assert r.ratio == pytest.approx(0.75) and r.induced == pytest.approx(0.5) and r.resolved == pytest.approx(0.75)
    assert r.ratio != pytest.approx(2 / 3)  # the unweighted answer


def degas_outcomes():
    nominal = sio.loadmat(DEGAS / "results_nom.mat", squeeze_me=True)
    mitigated = sio.loadmat(DEGAS / "results_mit.mat", squeeze_me=True)
    weights = sio.loadmat(DEGAS / "weights.mat", squeeze_me=True)["weights"]
    fields = list(nominal["fields"])
    assert fields[:5] == ["encId", "systemTime_s", "alert", "wcv", "nmac"]
    np.testing.assert_array_equal(nominal["data"][0], mitigated["data"][0])  # same encounters, same order
    return {
        name: (nominal["data"][fields.index(name)], mitigated["data"][fields.index(name)]) for name in ("nmac", "wcv")
    }, weights


@pytest.mark.parametrize("event", ["nmac", "wcv"])
def test_degas_sample_results_follow_the_definitions(event):
    outcomes, w = degas_outcomes()
    x_nom, x_mit = outcomes[event]
    r = risk_ratio(x_nom, x_mit, w, n_boot=1000, rng=1)
    # the definitions of decisions.md section 6, written out by loops over encounters
    total = sum(w)
    p_nom = sum(wi * xi for wi, xi in zip(w, x_nom)) / total
    p_mit = sum(wi * xi for wi, xi in zip(w, x_mit)) / total
    induced = sum(wi for wi, a, b in zip(w, x_nom, x_mit) if b > a) / total / p_nom
    resolved = sum(wi for wi, a, b in zip(w, x_nom, x_mit) if a > b) / total / p_nom
    sd = np.sqrt(sum((wi * (b - p_mit)) ** 2 for wi, b in zip(w, x_mit))) / total / p_nom
    assert r.p_nominal == pytest.approx(p_nom, rel=1e-12) and r.p_mitigated == pytest.approx(p_mit, rel=1e-12)
    assert r.ratio == pytest.approx(p_mit / p_nom, rel=1e-12)
    assert r.induced == pytest.approx(induced, rel=1e-12) and r.resolved == pytest.approx(resolved, rel=1e-12)
    assert r.ratio == pytest.approx(1 - r.resolved + r.induced, rel=1e-12)
    assert r.sd == pytest.approx(sd, rel=1e-12)
    assert r.ci_low < r.ratio < r.ci_high
    # the bootstrap interval and the analytic sd describe the same spread (within 30 %)
    assert (r.ci_high - r.ci_low) / 3.92 == pytest.approx(r.sd, rel=0.3)
    assert r.n_eff == pytest.approx(kish_effective_size(w))


def test_degas_figures():
    """The figures stated in the encounters issue's closing note."""
    outcomes, w = degas_outcomes()
    nmac = risk_ratio(*outcomes["nmac"], w, rng=1)
    wcv = risk_ratio(*outcomes["wcv"], w, rng=1)
    assert nmac.p_nominal == pytest.approx(0.002456, abs=5e-7) and nmac.ratio == pytest.approx(0.1268, abs=5e-5)
    assert wcv.p_nominal == pytest.approx(0.04599, abs=5e-6) and wcv.ratio == pytest.approx(0.4149, abs=5e-5)


def test_bootstrap_methods_and_reproducibility():
    outcomes, w = degas_outcomes()
    x_nom, x_mit = outcomes["wcv"]
    first = risk_ratio(x_nom, x_mit, w, rng=5, n_boot=300)
    again = risk_ratio(x_nom, x_mit, w, rng=5, n_boot=300)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    for method in ("percentile", "bca"):
        other = risk_ratio(x_nom, x_mit, w, rng=5, n_boot=300, method=method)
        assert other.ci_low < other.ratio < other.ci_high
        assert abs(other.ci_low - first.ci_low) < 0.05 and abs(other.ci_high - first.ci_high) < 0.05


def test_interval_coverage_on_a_known_probability():
    """95 % bias-corrected intervals cover the true weighted probability about 95 % of the time."""
    rng = np.random.default_rng(2)
    true_p, covered, trials = 0.1, 0, 200
    for trial in range(trials):
        w = rng.choice([1.0, 3.0], size=1500)
        x = (rng.random(1500) < true_p).astype(float)
        estimate = weighted_probability(x, w, n_boot=300, rng=trial)
        covered += estimate.ci_low <= true_p <= estimate.ci_high
    # binomial(200, 0.95): sd 1.5 %; 0.89 is four sd below
    assert 0.89 <= covered / trials <= 0.995


def test_refusals_and_warnings():
    w = np.ones(50)
    with pytest.raises(ValueError, match=r"no nominal event in 50 encounters \(N_eff 50\).*P_nom < 0.06"):
        risk_ratio(np.zeros(50), np.zeros(50), w)
    with pytest.raises(ValueError, match="0 or 1"):
        weighted_probability([0.5, 1], [1, 1])
    with pytest.raises(ValueError, match="3 outcomes but 2 weights"):
        weighted_probability([0, 1, 1], [1, 1])
    with pytest.raises(ValueError, match="method"):
        weighted_probability([0, 1], [1, 1], method="exact")
    nominal = np.zeros(50)
    nominal[:2] = 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        risk_ratio(nominal, nominal, w, n_boot=100)
    messages = [str(c.message) for c in caught if issubclass(c.category, EstimatorWarning)]
    assert any(">= 1" in m for m in messages)


def test_cautions_are_returned_as_text_for_summaries_and_reports():
    w = np.ones(50)
    nominal = np.zeros(50)
    nominal[:2] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may escape as a warning
        estimate, cautions = risk_ratio_with_cautions(nominal, nominal, w, n_boot=100)
    assert estimate.ratio == 1 and any(">= 1" in c for c in cautions)
    many = np.zeros(20_000)
    many[:4_000] = 1
    halved = np.zeros(20_000)
    halved[:2_000] = 1
    estimate, cautions = risk_ratio_with_cautions(many, halved, np.ones(20_000), n_boot=200)
    assert estimate.ratio == pytest.approx(0.5) and cautions == []


@pytest.mark.parametrize("event", ["nmac", "wcv"])
def test_induced_and_resolved_parts_have_bootstrap_intervals(event):
    """The parts' intervals agree with a plain numpy bootstrap on other random numbers."""
    outcomes, w = degas_outcomes()
    x_nom, x_mit = outcomes[event]
    r = risk_ratio(x_nom, x_mit, w, n_boot=2000, rng=3, method="percentile")
    rng = np.random.default_rng(11)
    parts = {"induced": [], "resolved": []}
    for _ in range(2000):
        pick = rng.integers(0, w.size, w.size)
        nominal_sum = np.sum(w[pick] * x_nom[pick])
        parts["induced"].append(np.sum(w[pick] * (x_mit[pick] > x_nom[pick])) / nominal_sum)
        parts["resolved"].append(np.sum(w[pick] * (x_nom[pick] > x_mit[pick])) / nominal_sum)
    for name, low, high in (
        ("induced", r.induced_ci_low, r.induced_ci_high),
        ("resolved", r.resolved_ci_low, r.resolved_ci_high),
    ):
        point = getattr(r, name)
        assert low <= point <= high, name
        expected_low, expected_high = np.quantile(parts[name], [0.025, 0.975])
        part_events = int(np.sum((x_mit > x_nom) if name == "induced" else (x_nom > x_mit)))
        if part_events < MIN_EVENTS:  # thin evidence: Clopper-Pearson on N_eff over P_nom, when wider
            n_eff = kish_effective_size(w)
            cp_low, cp_high = clopper_pearson(point * r.p_nominal * n_eff, n_eff)
            assert cp_high - cp_low > (expected_high - expected_low) * r.p_nominal, "CP is the wider one here"
            assert (low, high) == pytest.approx((cp_low / r.p_nominal, cp_high / r.p_nominal), rel=1e-12), name
            continue
        # two bootstraps of 2000 resamples: the 2.5 % / 97.5 % quantiles agree to a tenth of the width
        width = expected_high - expected_low
        assert abs(low - expected_low) < 0.1 * width and abs(high - expected_high) < 0.1 * width, (
            name,
            low,
            high,
            expected_low,
            expected_high,
        )


def test_closed_loop_summary_rows_are_the_estimators_own_figures():
    import pandas as pd

    from encsim.metrics import closed_loop_summary

    outcomes_by_event, w = degas_outcomes()
    (nmac_nom, nmac_mit), (wcv_nom, wcv_mit) = outcomes_by_event["nmac"], outcomes_by_event["wcv"]
    alerted = (
        (wcv_nom > 0) | (nmac_mit != nmac_nom) | (np.arange(w.size) % 7 == 0)
    )  # some alerts without a nominal LoWC
    outcomes = pd.DataFrame(
        {
            "weight": w,
            "nominal_nmac": nmac_nom > 0,
            "mitigated_nmac": nmac_mit > 0,
            "nominal_lowc": wcv_nom > 0,
            "mitigated_lowc": wcv_mit > 0,
            "alerted": alerted,
        }
    )
    rows = {row.name: row for row in closed_loop_summary(outcomes, rng=4)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimatorWarning)
        lowc = risk_ratio(wcv_nom, wcv_mit, w, rng=4)
    assert rows["LoWC ratio"].estimate == lowc.ratio and rows["LoWC ratio"].ci_low == lowc.ci_low
    assert (rows["  induced (LOWC)"].ci_low, rows["  induced (LOWC)"].ci_high) == (
        lowc.induced_ci_low,
        lowc.induced_ci_high,
    )
    assert rows["  resolved (LOWC)"].estimate == lowc.resolved
    nuisance = weighted_probability((alerted & (wcv_nom == 0)).astype(float), w, rng=4)
    assert (
        rows["nuisance alert rate"].estimate == nuisance.probability
        and rows["nuisance alert rate"].ci_high == nuisance.ci_high
    )
    assert rows["P(NMAC) nominal"].estimate == pytest.approx(0.002456, abs=5e-7)
    no_events = outcomes.assign(nominal_nmac=False)
    refused = {row.name: row for row in closed_loop_summary(no_events)}["risk ratio (NMAC)"]
    assert refused.estimate is None and "no nominal event" in refused.detail
    assert all(row.notes == [] for row in rows.values() if not row.name.startswith("LoWC"))
    # DEGAS's sanity check: a set built inside the LoWC region cannot measure LoWC
    narrow = outcomes.assign(nominal_hmd_ft=3000.0, nominal_vmd_ft=np.where(np.arange(w.size) % 2, 50.0, 400.0))
    narrow_rows = {row.name: row for row in closed_loop_summary(narrow)}
    assert any("inside the LoWC region" in note for note in narrow_rows["P(LoWC) nominal"].notes)
    assert narrow_rows["P(NMAC) nominal"].notes == []  # HMD 3000 ft is outside the NMAC region
    one_event = outcomes.assign(nominal_nmac=np.arange(w.size) == 3, mitigated_nmac=False)
    row = {row.name: row for row in closed_loop_summary(one_event)}["risk ratio (NMAC)"]
    assert any("only 1 nominal event" in note and f"{w.size * 10} encounters" in note for note in row.notes)


def test_no_event_gives_the_one_sided_upper_bound_on_n_eff_not_a_zero_width_interval():
    w = np.array([1.0, 2.0, 1.0, 4.0] * 25)
    n_eff = w.sum() ** 2 / np.sum(w**2)  # written out: (sum w)^2 / sum w^2
    e = weighted_probability(np.zeros(w.size), w, n_boot=200)
    assert e.probability == 0 and e.ci_low == 0
    assert e.ci_high == pytest.approx(1 - 0.05 ** (1 / n_eff), rel=1e-12)
    assert e.ci_high > 0 and any("no event" in note for note in e.notes)
    # every encounter an event: the mirror image
    e = weighted_probability(np.ones(w.size), w, n_boot=200)
    assert e.ci_high == 1 and e.ci_low == pytest.approx(0.05 ** (1 / n_eff), rel=1e-12)


def test_few_events_use_clopper_pearson_on_n_eff_when_wider_than_the_bootstrap():
    from scipy.stats import beta

    w = np.ones(200)
    x = np.zeros(200)
    x[[3, 50, 120]] = 1  # 3 events in 200 equal weights: the bootstrap and CP differ, CP is wider
    e = weighted_probability(x, w, n_boot=500)
    # the exact binomial interval from the beta quantiles, written out
    assert e.ci_low == pytest.approx(beta.ppf(0.025, 3, 198), rel=1e-9)
    assert e.ci_high == pytest.approx(beta.ppf(0.975, 4, 197), rel=1e-9)
    assert any("Clopper-Pearson" in note for note in e.notes)
    many = np.zeros(200)
    many[::10] = 1  # 20 events: the bootstrap's interval stands, no caution
    assert weighted_probability(many, w, n_boot=500).notes == ()


def test_a_ratio_without_mitigated_event_is_bounded_by_p_mit_bound_over_p_nom():
    w = np.ones(400)
    nominal = np.zeros(400)
    nominal[:40] = 1  # P_nom = 0.1, 40 events: plenty
    r, cautions = risk_ratio_with_cautions(nominal, np.zeros(400), w, n_boot=300)
    assert r.ratio == 0 and r.ci_low == 0
    assert r.ci_high == pytest.approx((1 - 0.05 ** (1 / 400)) / 0.1, rel=1e-12)
    assert any("no event" in caution for caution in cautions)
    # a few mitigated events: Clopper-Pearson of P_mit on N_eff, over P_nom held fixed
    mitigated = np.zeros(400)
    mitigated[[0, 100]] = 1
    r, _ = risk_ratio_with_cautions(nominal, mitigated, w, n_boot=300)
    low, high = clopper_pearson(2, 400)
    assert (r.ci_low, r.ci_high) == pytest.approx((low / 0.1, high / 0.1), rel=1e-12)


def test_clopper_pearson_equals_the_scipy_stats_beta_quantiles_bit_for_bit():
    """The interval takes the beta quantile from scipy.special (no scipy.stats import at start-up):
    it must be scipy.stats.beta.ppf's value exactly, for whole and effective (fractional) counts."""
    from scipy.stats import beta

    rng = np.random.default_rng(19)
    n = np.concatenate([rng.uniform(1.0, 50.0, 300), 10.0 ** rng.uniform(2, 6, 300), np.arange(1.0, 41.0)])
    x = np.concatenate([rng.uniform(0.0, 1.0, 600) * n[:600], np.arange(0.0, 40.0)])
    x[::7] = np.floor(x[::7])
    for confidence in (0.95, 0.99):
        alpha = 1.0 - confidence
        for events, trials in zip(x, n, strict=True):
            low, high = clopper_pearson(events, trials, confidence)
            assert low == (0.0 if events <= 0 else float(beta.ppf(alpha / 2, events, trials - events + 1)))
            assert high == (1.0 if events >= trials else float(beta.ppf(1 - alpha / 2, events + 1, trials - events)))
