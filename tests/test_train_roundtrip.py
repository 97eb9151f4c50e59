"""Counting round trip: tracks sampled from uncor_1200only_fwse_v1p2, counted back at 1 s from their
sampled bins with the template's graph, reproduce the model (chi-square per column, Holm).

The full-size run (200,000 tracks of 300 s) is `benchmarks/bench_train.py`. Here 20,000 tracks of
300 s (6e6 track-seconds): about 900 transition columns and 20 initial columns have >= 1,000 counts,
enough for the negative control below (a different model's tracks) to be rejected by hundreds.
"""

from __future__ import annotations

import numpy as np
import pytest

import encsim
from encsim.train import ModelCounter, learn_initial_structure, model_layout
from encsim.train.roundtrip import holm, round_trip_tests, sample_bins

N_TRACKS, DURATION_S, SEED = 20_000, 300, 7
FAMILY_LEVEL = 0.01


def counted(model_name: str, template, n: int = N_TRACKS) -> ModelCounter:
    sample = encsim.sample_tracks(model_name, n, DURATION_S, rng=SEED, empty_column="hold")
    counter = ModelCounter(model_layout(template), initial="first")
    track, second, bins = sample_bins(sample, encsim.load_model(model_name))
    counter.add_bins(track, second, bins)
    return counter


@pytest.fixture(scope="module")
def fwse_counts(fwse):
    return counted("uncor_1200only_fwse_v1p2", fwse)


def test_counting_round_trip_rejects_no_column(fwse, fwse_counts):
    tests = round_trip_tests(fwse, fwse_counts, min_count=1000)
    per_network = tests.groupby("network").size()
    assert per_network["transition"] > 500 and per_network["initial"] >= 10
    rejected = holm(tests["p"].to_numpy(), FAMILY_LEVEL)
    assert not rejected.any(), tests[rejected]
    assert fwse_counts.pairs == N_TRACKS * (DURATION_S - 1)
    assert fwse_counts.initial_tables[0].sum() == N_TRACKS


def test_round_trip_test_detects_another_model(fwse):
    """Negative control: rotorcraft tracks (same graph and bins) counted against the FWSE model."""
    counter = counted("uncor_1200only_rotorcraft_v1p2", fwse, n=5_000)
    tests = round_trip_tests(fwse, counter, min_count=1000)
    assert holm(tests["p"].to_numpy(), FAMILY_LEVEL).sum() > 50


def test_time_shifted_pairs_are_detected(fwse):
    """Negative control: pairs two seconds apart instead of one are not the transition law."""
    sample = encsim.sample_tracks(fwse, 5_000, DURATION_S, rng=SEED, empty_column="hold")
    track, second, bins = sample_bins(sample, fwse)
    counter = ModelCounter(model_layout(fwse), initial="first")
    keep = second % 2 == 0
    counter.add_bins(track[keep], second[keep] // 2, bins[keep])
    tests = round_trip_tests(fwse, counter, min_count=1000)
    assert holm(tests["p"].to_numpy(), FAMILY_LEVEL).sum() > 10


@pytest.mark.slow
def test_structure_learning_finds_template_edges_and_no_others(fwse):
    """BDeu hill climbing on 200,000 independent first seconds.

    Measured skeleton recall: 0.43 (20,000 states), 0.67 (200,000), 0.76 (1,000,000), never an
    edge outside the template. The 90 % aim of the issue is not reached: the template's initial
    network is a complete DAG (21 edges over 7 variables) and the missing edges (G and A into the
    rates, hdot - psidot) carry little information given the other parents (docs/train.md).
    """
    sample = encsim.sample_tracks(fwse, 200_000, 1, rng=11)
    _, _, bins = sample_bins(sample, fwse)
    learned = learn_initial_structure(model_layout(fwse), bins, score="bdeu")
    assert not learned.extra
    assert learned.skeleton_recall >= 0.6
    assert np.isclose(len(learned.recovered) + len(learned.missing), 21)
