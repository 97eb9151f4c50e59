"""Model-level comparison: distances on hand-made distributions, exact per-layer quantities."""

from __future__ import annotations

import math

import numpy as np
import pytest

import encsim
from encsim.compare import (
    BinnedDistribution,
    compare_models,
    distributions_by_layer,
    hellinger,
    jensen_shannon,
    stay_probabilities,
    total_variation,
    wasserstein1,
)

FWSE = "uncor_1200only_fwse_v1p2"


def dist(p, edges, zero=-1):
    return BinnedDistribution(np.asarray(p, float), np.asarray(edges, float), zero)


def test_known_values_on_hand_made_distributions():
    left, right = dist([1, 0], [0, 1, 2]), dist([0, 1], [0, 1, 2])
    assert hellinger(left, right) == pytest.approx(1.0)
    assert jensen_shannon(left, right) == pytest.approx(1.0)
    assert total_variation(left, right) == pytest.approx(1.0)
    assert wasserstein1(left, right) == pytest.approx(1.0)  # uniform [0,1] vs uniform [1,2]
    half = dist([0.5, 0.5], [0, 1, 2])
    assert total_variation(left, half) == pytest.approx(0.5)
    assert hellinger(left, half) == pytest.approx(math.sqrt(1 - math.sqrt(0.5)))
    assert jensen_shannon(left, half) == pytest.approx(
        0.5 * (math.log2(1 / 0.75)) + 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25))
    )
    # a point mass at 0 (zero bin) against uniform on [-1, 1]: W1 = 1/2
    atom = dist([0, 1, 0], [-1, -0.5, 0.5, 1], zero=1)
    spread = dist([1], [-1, 1])
    assert wasserstein1(atom, spread) == pytest.approx(0.5)
    assert total_variation(atom, spread) == pytest.approx(1.0)  # the atom has no density anywhere


def test_different_bin_edges_are_compared_on_the_union_grid():
    coarse = dist([1.0], [0, 2])
    fine = dist([0.5, 0.5], [0, 1, 2])
    for fn in (hellinger, jensen_shannon, total_variation, wasserstein1):
        assert fn(coarse, fine) == pytest.approx(0.0, abs=1e-12)
    shifted = dist([1.0], [1, 3])
    assert wasserstein1(coarse, shifted) == pytest.approx(1.0)


def test_symmetry_and_zero_self_distance_on_random_distributions():
    rng = np.random.default_rng(0)
    for _ in range(30):
        p = rng.dirichlet(np.ones(5))
        q = rng.dirichlet(np.ones(4))
        a, b = dist(p, np.cumsum(rng.uniform(0.5, 2, 6)) - 3, zero=2), dist(q, np.cumsum(rng.uniform(0.5, 2, 5)) - 3)
        for fn in (hellinger, jensen_shannon, total_variation, wasserstein1):
            assert fn(a, b) == pytest.approx(fn(b, a), abs=1e-12)
            assert fn(a, a) == pytest.approx(0.0, abs=1e-12)
            assert fn(a, b) >= 0


def test_a_model_against_itself_is_zero_and_layers_are_matched_by_edges():
    same = compare_models(FWSE, FWSE, presets={"G": 1, "A": 4})
    assert len(same.distances) == 16
    assert np.allclose(
        same.distances[["hellinger", "jensen_shannon", "total_variation", "wasserstein1"]], 0.0, atol=1e-12
    )
    radar = compare_models(FWSE, "uncor_1200code_v2p1", presets={"G": 1, "A": 4})
    assert radar.matched_layers == [(500.0, 1200.0), (1200.0, 3000.0), (3000.0, 5000.0)]
    assert (50.0, 500.0) in radar.unmatched_layers[FWSE]
    assert any("only on the layers both models have" in note for note in radar.notes)
    glider = compare_models(FWSE, "glider_v1", presets={"G": 1, "A": 4})
    assert any("glider_v1 has no A, G" in note for note in glider.notes)


def test_layer_conditionals_are_exact():
    model = encsim.load_model(FWSE)
    by_layer = distributions_by_layer(model, "v", {"G": 1, "A": 4})
    for layer_bin, layer in enumerate(sorted(by_layer), start=1):
        expected = model.exact_marginal("v", {"G": 1, "A": 4, "L": layer_bin})
        np.testing.assert_allclose(by_layer[layer].probabilities, expected, atol=1e-12)


def test_stay_probability_matches_the_sampler():
    """One transition from the initial network: the fraction of tracks with no bin change."""
    model = encsim.load_model(FWSE)
    exact = stay_probabilities(model, {"G": 1, "A": 4})
    tracks = encsim.sample_tracks(model, 200_000, 2, rng=6, start={"G": 1, "A": 4})
    changed = tracks.bin_changes.to_numpy().sum(axis=1) > 0
    layers = tracks.initial["L"].to_numpy()
    for layer_bin, layer in enumerate(sorted(exact), start=1):
        mask = layers == layer_bin
        p = exact[layer]["stay_probability"]
        observed = 1 - changed[mask].mean()
        assert abs(observed - p) <= 5 * math.sqrt(p * (1 - p) / mask.sum()), (layer, observed, p)
    # command changes include within-bin resamples: about 0.22 per second on top of bin changes
    any_layer = exact[(500.0, 1200.0)]
    assert any_layer["command_changes_per_min"] > 3 * any_layer["manoeuvres_per_min"]


def test_track_level_features_on_synthetic_samples():
    import pandas as pd

    from encsim.compare.track_level import compare_features

    rng = np.random.default_rng(1)
    a = pd.DataFrame({"x": rng.normal(0.0, 1.0, 4000)})
    b = pd.DataFrame({"x": rng.normal(1.0, 1.0, 4000)})
    row = compare_features(a, b, n_boot=200).iloc[0]
    # a shift of 1 between equal-shape distributions: W1 = 1, KS = 2 Phi(1/2) - 1 = 0.383
    assert row["wasserstein1_ci"][0] < 1.0 < row["wasserstein1_ci"][1]
    assert row["ks_statistic_ci"][0] < 0.3829 < row["ks_statistic_ci"][1]
    assert row["mean_difference_ci"][0] < 1.0 < row["mean_difference_ci"][1]


@pytest.mark.slow
def test_track_level_self_comparison_contains_zero_and_fwse_differs_from_rotorcraft():
    from encsim.compare.track_level import compare_tracks

    same = compare_tracks(FWSE, FWSE, n=1500, duration_s=90, presets={"G": 1, "A": 4}, confidence=0.999, n_boot=300)
    for low, high in same["mean_difference_ci"]:
        assert low <= 0.0 <= high
    other = compare_tracks(
        FWSE, "uncor_1200only_rotorcraft_v1p2", n=1500, duration_s=90, presets={"G": 1, "A": 4}, n_boot=300
    )
    speed = other.set_index("feature").loc["speed_kt"]
    assert speed["mean_difference_ci"][1] < 0  # rotorcraft fly slower
    assert speed["ks_pvalue"] < 1e-6


@pytest.mark.slow
def test_outcome_level_self_comparison_contains_zero_and_gives_a_verdict():
    from conftest import PROJECT_ROOT

    from encsim.compare.outcome_level import compare_outcomes
    from encsim.io.scenario import load_scenario

    scenario, _ = load_scenario(PROJECT_ROOT / "scenarios" / "fwse_vs_rotorcraft.toml")
    same = compare_outcomes(
        scenario,
        "uncor_1200only_rotorcraft_v1p2",
        "uncor_1200only_rotorcraft_v1p2",
        encounters=800,
        n_boot=200,
        tolerance=0.5,
    )
    table = same.table.set_index("metric")
    assert np.all(table["difference"] == 0)
    finite = table.dropna()
    assert np.all((finite["ci_low"] <= 0) & (finite["ci_high"] >= 0))
    assert "can stand in" in same.verdict
    assert same.dropped == table.loc["risk_ratio", "dropped"] and same.dropped <= 0.05 * 200  # counted, few at 800
    assert np.all(table["resamples"] == 200) and table.loc["alert_rate", "dropped"] == 0
    glider = compare_outcomes(scenario, "uncor_1200only_rotorcraft_v1p2", "glider_v1", encounters=300, n_boot=100)
    assert any("glider_v1 has no" in note for note in glider.notes)
    with pytest.raises(ValueError, match="metric"):
        compare_outcomes(scenario, "glider_v1", "glider_v1", metric="speed")
