"""`EncounterModel.exact_marginal` / `exact_joint` (chain rule on the counts) against pgmpy.

* pgmpy's VariableElimination on ``model.to_pgmpy()`` gives the same conditional distributions
  (pgmpy states are 0-based bins, encsim's ``given`` is 1-based);
* for a file whose tables are marginals of one joint count array (fwse) the chain rule gives the
  marginals summed directly from the counts; for skydiving_v1 (mitll-reference 1.8 e) it does not;
* bad queries are refused with a useful message.

pgmpy is slow on the big tables, so the queries are chosen with few ancestors.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from conftest import MODEL_DIR

from encsim.bayes.model import EncounterModel
from encsim.bayes.model_file import read_model_file

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # pgmpy announces renamed modules on import
    from pgmpy.inference import VariableElimination

FWSE = "uncor_1200only_fwse_v1p2"

# (model, query variable, given as 1-based bins)
PGMPY_CASES = [
    (FWSE, "L", {"G": 1, "A": 4}),
    (FWSE, "v", {"G": 1, "A": 4, "L": 2}),
    (FWSE, "hdot", {}),
    (FWSE, "psidot", {"L": 1}),
    (FWSE, "A", {"v": 3}),  # evidence on a descendant: needs inference, not a table lookup
    (FWSE, "G", {"L": 4, "v": 1}),
    ("dueregard_v1", "v", {"G": 2}),
    ("dueregard_v1", "L", {"\\psi": 3}),
    ("dueregard_v1", "G", {}),
    ("glider_v1", "hdot", {"L": 3}),
    ("glider_v1", "L", {"vdot": 1}),
    ("paramotor_v1", "vdot", {}),  # ancestors L, v, psidot, hdot (not in file order)
    ("paramotor_v1", "psidot", {"v": 2}),
    ("paramotor_v1", "v", {"hdot": 7}),
    ("uncor_1200code_v1", "v", {"A": 1}),
    ("uncor_1200code_v1", "L", {"A": 2, "v": 5}),
    ("terminal_v3_opensky_encounter_model", "int_runway", {"own_intent": 2}),
    ("terminal_v3_opensky_encounter_model", "airspace_class", {"int_type": 2}),
    ("terminal_v3_opensky_encounter_model", "own_alt", {"airspace_class": 2}),  # class 1 has no counts
]
PGMPY_MODELS = sorted({case[0] for case in PGMPY_CASES})


@functools.cache
def model_of(name: str) -> EncounterModel:
    return EncounterModel(name=name, contents=read_model_file(MODEL_DIR / f"{name}.txt"), sha256="test")


@functools.cache
def pgmpy_of(name: str):
    network = model_of(name).to_pgmpy()
    return network, VariableElimination(network)


def pgmpy_evidence(model: EncounterModel, given: dict) -> dict:
    return {model.labels[model.variable_index(key)]: bin1 - 1 for key, bin1 in given.items()}


def case_id(case) -> str:
    name, var, given = case
    return f"{name}:{var}|" + ",".join(f"{k}={v}" for k, v in given.items())


@pytest.mark.parametrize("case", PGMPY_CASES, ids=case_id)
def test_exact_marginal_equals_pgmpy_variable_elimination(case):
    name, var, given = case
    model = model_of(name)
    ours = model.exact_marginal(var, given=given)
    label = model.labels[model.variable_index(var)]
    _, inference = pgmpy_of(name)
    factor = inference.query([label], evidence=pgmpy_evidence(model, given) or None, show_progress=False)
    assert list(factor.variables) == [label]
    assert factor.state_names[label] == list(range(int(model.r[model.variable_index(var)])))
    theirs = factor.values
    assert ours.shape == theirs.shape == (int(model.r[model.variable_index(var)]),)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    assert ours.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(ours >= 0)


def test_exact_joint_equals_pgmpy_joint():
    model = model_of(FWSE)
    ours = model.exact_joint(["v", "L"], given={"G": 1, "A": 3})  # axes (v, L)
    _, inference = pgmpy_of(FWSE)
    factor = inference.query(["L", "v"], evidence={"G": 0, "A": 2}, joint=True, show_progress=False)
    theirs = np.transpose(factor.values, [list(factor.variables).index(name) for name in ("v", "L")])
    assert ours.shape == (8, 4)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    # the marginal of the joint is the marginal
    np.testing.assert_allclose(ours.sum(axis=0), model.exact_marginal("L", given={"G": 1, "A": 3}), atol=1e-14)


@pytest.mark.parametrize("name", PGMPY_MODELS)
def test_pgmpy_network_has_the_edges_and_cpds_of_the_file(name):
    model = model_of(name)
    network, _ = pgmpy_of(name)
    graph = model.initial.graph
    expected = {(model.labels[p], model.labels[c]) for p, c in np.argwhere(graph)}
    assert set(network.edges()) == expected
    assert set(network.nodes()) == set(model.labels)
    for i, label in enumerate(model.labels):
        cpd = network.get_cpds(label)
        assert cpd.variable_card == int(model.r[i])
        # pgmpy's columns run last-evidence-fastest; the bridge lists parents in descending order
        assert cpd.variables[1:] == [model.labels[p] for p in model.parents(i)][::-1]


def test_paramotor_graph_is_sparse_and_kept_as_is_by_pgmpy():
    model = model_of("paramotor_v1")
    graph = model.initial.graph
    n = model.n_variables
    assert graph.sum() < n * (n - 1) // 2  # not fully connected
    assert np.any(np.tril(graph))  # and not upper-triangular
    network, _ = pgmpy_of("paramotor_v1")
    assert set(network.edges()) == {
        ("L", "v"),
        ("v", "\\dot h"),
        ("v", "\\dot \\psi"),
        ("\\dot \\psi", "\\dot h"),
        ("\\dot h", "\\dot v"),
    }
    assert network.check_model()


# ------------------------------------------------------------------------------------------------
# chain rule versus counts summed directly


def direct_marginal(model: EncounterModel, i: int) -> np.ndarray:
    """P(X_i) from X_i's own count table: row sums over all parent configurations / total."""
    table = model.initial.tables[i].astype(np.float64)
    return table.sum(axis=1) / table.sum()


def test_chain_rule_equals_count_sums_for_a_consistent_file():
    model = model_of(FWSE)
    assert model.quirks == ()
    for i in range(model.n_variables):
        np.testing.assert_allclose(model.exact_marginal(i), direct_marginal(model, i), rtol=0, atol=1e-12)
    # P(L) spelled out: the L table's row sums over the total count
    l_table = model.initial.tables[model.roles["L"]]
    np.testing.assert_allclose(model.exact_marginal("L"), l_table.sum(axis=1) / l_table.sum(), atol=1e-12)
    # a joint too: P(G, A) is the A table ([a, g]) over its total
    a_table = model.initial.tables[model.roles["A"]].astype(np.float64)
    np.testing.assert_allclose(model.exact_joint(["G", "A"]), (a_table / a_table.sum()).T, atol=1e-12)
    # and a conditional: P(L | G=1, A=4) is the normalised (G=1, A=4) column of the L table
    column = 0 + 3 * int(model.r[0])  # first parent (G) fastest
    expected = l_table[:, column] / l_table[:, column].sum()
    np.testing.assert_allclose(model.exact_marginal("L", given={"G": 1, "A": 4}), expected, atol=1e-12)


def test_chain_rule_differs_from_count_sums_for_skydiving():
    """mitll-reference 1.8 (e): skydiving_v1's tables have different totals, so the two disagree."""
    model = model_of("skydiving_v1")
    assert len(model.quirks) == 1 and "different totals" in model.quirks[0]
    totals = [int(table.sum()) for table in model.initial.tables]
    assert len(set(totals)) > 1
    # L and v come from tables with the same total: no difference there ...
    for role in ("L", "v"):
        i = model.roles[role]
        np.testing.assert_allclose(model.exact_marginal(i), direct_marginal(model, i), atol=1e-12)
    # ... but the rate variables do differ, measurably
    differences = {
        role: float(np.abs(model.exact_marginal(role) - direct_marginal(model, model.roles[role])).max())
        for role in ("vdot", "hdot", "psidot")
    }
    assert all(difference > 0.01 for difference in differences.values()), differences
    assert max(differences.values()) > 0.05, differences


# ------------------------------------------------------------------------------------------------
# ways of naming a variable, and errors


def test_variable_by_role_label_or_index_gives_the_same_marginal():
    model = model_of(FWSE)
    by_role = model.exact_marginal("hdot", given={"A": 2})
    np.testing.assert_array_equal(model.exact_marginal("\\dot h", given={"A": 2}), by_role)
    np.testing.assert_array_equal(model.exact_marginal(5, given={"A": 2}), by_role)
    np.testing.assert_array_equal(model.exact_marginal('"\\dot h"', given={"A": 2}), by_role)
    np.testing.assert_array_equal(model.exact_marginal("hdot", given={1: 2}), by_role)


def test_unknown_variable_lists_the_known_names():
    model = model_of(FWSE)
    with pytest.raises(ValueError) as info:
        model.exact_marginal("altitude")
    message = str(info.value)
    assert "'altitude'" in message and FWSE in message and "known" in message
    for name in ("'G'", "'A'", "'L'", "'v'", "'hdot'", "'psidot'"):
        assert name in message
    with pytest.raises(ValueError, match="known"):
        model.exact_marginal("L", given={"Q": 1})
    with pytest.raises(ValueError, match="outside 0..6"):
        model.exact_marginal(7)


@pytest.mark.parametrize("bin1", [0, 5, -1, 2.0, "2", True, None])
def test_a_bin_outside_1_to_r_is_refused(bin1):
    model = model_of(FWSE)  # L has 4 bins
    with pytest.raises(ValueError) as info:
        model.exact_marginal("v", given={"L": bin1})
    message = str(info.value)
    assert "1..4" in message and "1-based" in message and "L=" in message


def test_bins_1_and_r_are_accepted():
    model = model_of(FWSE)
    for bin1 in (1, 4, np.int64(2)):
        assert model.exact_marginal("v", given={"L": bin1}).sum() == pytest.approx(1.0)


def test_evidence_of_probability_zero_is_refused():
    model = model_of(FWSE)
    a_table = model.initial.tables[model.roles["A"]]
    assert a_table[0, 1] == 0  # the A table ([a, g]) has no count for A=1 under G=2
    with pytest.raises(ValueError) as info:
        model.exact_marginal("L", given={"G": 2, "A": 1})
    message = str(info.value)
    assert "probability 0" in message and "G=2" in message and "A=1" in message
    assert model.exact_joint(["G", "A"])[1, 0] == 0.0


def test_a_variable_both_queried_and_given_is_refused():
    model = model_of(FWSE)
    with pytest.raises(ValueError, match="both queried and given"):
        model.exact_marginal("L", given={"L": 2})
