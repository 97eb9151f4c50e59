"""Exact marginals by the chain rule on the counts, against pgmpy's VariableElimination."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import encsim

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from pgmpy.inference import VariableElimination

CASES = [
    ("uncor_1200only_fwse_v1p2", "L", {"G": 1, "A": 4}),
    ("uncor_1200only_fwse_v1p2", "v", {"G": 1, "A": 4, "L": 2}),
    ("uncor_1200only_fwse_v1p2", "hdot", {}),
    ("uncor_1200only_fwse_v1p2", "psidot", {"L": 1}),  # evidence on a child: needs real inference
    ("dueregard_v1", "v", {"G": 2}),
    ("glider_v1", "hdot", {"L": 3}),
    ("paramotor_v1", "psidot", {"v": 2}),  # graph not fully connected
    ("uncor_1200code_v1", "v", {"A": 1}),
    ("terminal_v3_opensky_encounter_model", "int_intent", {"own_intent": 2}),
]


@pytest.fixture(scope="module")
def networks():
    return {}


@pytest.mark.parametrize("name,var,given", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_exact_marginal_equals_pgmpy_variable_elimination(name, var, given, networks):
    model = encsim.load_model(name)
    if name not in networks:
        networks[name] = model.to_pgmpy()
    network = networks[name]
    ours = model.exact_marginal(var, given)
    label = model.labels[model.variable_index(var)]
    evidence = {model.labels[model.variable_index(k)]: b - 1 for k, b in given.items()}
    theirs = VariableElimination(network).query([label], evidence=evidence or None, show_progress=False)
    np.testing.assert_allclose(ours, theirs.values, rtol=0, atol=1e-10)
    assert ours.sum() == pytest.approx(1.0, abs=1e-12)


def test_pgmpy_network_has_the_file_graph_even_when_not_connected():
    model = encsim.load_model("paramotor_v1")
    network = model.to_pgmpy()
    expected = {(model.labels[a], model.labels[b]) for a, b in np.argwhere(model.initial.graph)}
    assert set(network.edges()) == expected
    assert set(network.nodes()) == set(model.labels)
    assert network.check_model()
    assert len(expected) < model.n_variables * (model.n_variables - 1) // 2


def test_chain_rule_equals_table_sums_for_consistent_files_but_not_for_skydiving():
    fwse = encsim.load_model("uncor_1200only_fwse_v1p2")
    layer = fwse.variable_index("L")
    from_table = fwse.initial.tables[layer].sum(axis=1) / fwse.initial.tables[layer].sum()
    np.testing.assert_allclose(fwse.exact_marginal("L"), from_table, atol=1e-12)
    skydiving = encsim.load_model("skydiving_v1")
    hdot = skydiving.variable_index("hdot")
    table = skydiving.initial.tables[hdot]
    from_table = table.sum(axis=1) / table.sum()
    assert np.abs(skydiving.exact_marginal("hdot") - from_table).max() > 1e-3  # the documented quirk


def test_errors_name_the_variable_the_bin_and_zero_probability_evidence():
    fwse = encsim.load_model("uncor_1200only_fwse_v1p2")
    with pytest.raises(ValueError, match="no variable 'altitude'.*known"):
        fwse.exact_marginal("altitude")
    with pytest.raises(ValueError, match=r"A=5 is not a bin; expected an integer 1..4"):
        fwse.exact_marginal("L", {"A": 5})
    with pytest.raises(ValueError, match="probability 0"):
        fwse.exact_marginal("L", {"G": 2, "A": 1})
