"""Model files: all 27 read through one code path, round trip, and refusal of broken files.

Every refusal must name the file, the section and what is wrong.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from encsim.bayes.model import EncounterModel
from encsim.bayes.model_file import (
    ModelFileContents,
    ModelFileError,
    NetworkTables,
    format_model_text,
    parse_model_text,
    read_model_file,
    write_model_file,
)
from conftest import ALL_MODEL_FILES, MODEL_DIR

# mitll-reference 1.8: n0, N_initial tokens, n1, N_transition tokens
EXPECTED_SIZES = {
    "balloon_v1": (2, 32, 3, 49),
    "blimp_v1": (5, 31, 8, 123),
    "cor_v1": (16, 21193, 20, 8100),
    "terminal_v3_opensky_encounter_model": (15, 311650, None, None),
    "terminal_v3_radar_encounter_model": (15, 311650, None, None),
    "dueregard_v1": (7, 143898, 10, 11620),
    "fai1_v1": (5, 9156, 8, 16772),
    "fai5_v1": (5, 9156, 8, 16772),
    "glider_v1": (5, 9156, 8, 51744),
    "paraglider_v1": (5, 9156, 8, 51744),
    "haa_v1": (9, 1633348, 12, 1472),
    "littoral_cor_v1": (16, 21193, 20, 324),
    "littoral_uncor_v1": (6, 36628, 9, 6972),
    "paramotor_v1": (5, 519, 8, 2268),
    "skydiving_v1": (5, 519, 8, 2268),
    "uncor_1200code_v1": (6, 36628, 9, 22344),
    "uncor_1200code_v2p1": (7, 146516, 10, 74480),
    "weatherballoon_v1": (2, 48, 3, 294),
}
for _code in ("1200only", "1200exclude"):
    for _class in ("fwse", "fwme", "rotorcraft"):
        EXPECTED_SIZES[f"uncor_{_code}_{_class}_v1p2"] = (7, 183145, 10, 74480)
for _class in ("fwsingle", "fwmulti", "rotorcraft"):
    EXPECTED_SIZES[f"uncor_allcode_{_class}_v1"] = (7, 146516, 10, 74480)

# mitll-reference 1.6, 1-based (X(t), X(t+1)) pairs
EXPECTED_TEMPORAL_MAPS = {
    "uncor_1200only_fwse_v1p2": [(5, 8), (6, 9), (7, 10)],
    "uncor_1200code_v1": [(4, 7), (5, 8), (6, 9)],
    "littoral_uncor_v1": [(4, 7), (5, 8), (6, 9)],
    "glider_v1": [(3, 6), (4, 7), (5, 8)],
    "balloon_v1": [(2, 3)],
    "weatherballoon_v1": [(2, 3)],
    "dueregard_v1": [(5, 8), (6, 9), (7, 10)],
    "haa_v1": [(7, 10), (8, 11), (9, 12)],
    "cor_v1": [(11, 17), (12, 18), (13, 19), (14, 20)],
}


def load(name: str) -> EncounterModel:
    return EncounterModel(name=name, contents=read_model_file(MODEL_DIR / f"{name}.txt"), sha256="test")


def test_the_shared_folder_holds_27_files():
    assert len(ALL_MODEL_FILES) == 27
    assert {path.stem for path in ALL_MODEL_FILES} == set(EXPECTED_SIZES)


@pytest.mark.parametrize("path", ALL_MODEL_FILES, ids=lambda p: p.stem)
def test_every_file_loads_with_the_documented_sizes_and_round_trips(path, tmp_path):
    contents = read_model_file(path)
    n0, n_initial, n1, n_transition = EXPECTED_SIZES[path.stem]
    assert contents.initial.n == n0
    assert sum(t.size for t in contents.initial.tables) == n_initial
    if n1 is None:
        assert contents.transition is None
    else:
        assert contents.transition.n == n1
        assert sum(t.size for t in contents.transition.tables if t is not None) == n_transition
    assert bool(contents.quirks) == (path.stem == "skydiving_v1")
    again = read_model_file(write_model_file(contents, tmp_path / path.name))
    assert_same_contents(contents, again)


def assert_same_contents(a: ModelFileContents, b: ModelFileContents) -> None:
    for net_a, net_b in ((a.initial, b.initial), (a.transition, b.transition)):
        if net_a is None:
            assert net_b is None
            continue
        assert net_a.labels == net_b.labels
        np.testing.assert_array_equal(net_a.graph, net_b.graph)
        np.testing.assert_array_equal(net_a.r, net_b.r)
        for ta, tb in zip(net_a.tables, net_b.tables):
            assert (ta is None and tb is None) or np.array_equal(ta, tb)
    for ea, eb in zip(a.boundaries, b.boundaries):
        assert (ea is None and eb is None) or np.array_equal(ea, eb)
    np.testing.assert_array_equal(a.resample_rates, b.resample_rates)


def test_derived_structure_matches_the_reference():
    for name, pairs in EXPECTED_TEMPORAL_MAPS.items():
        assert [(t + 1, t1 + 1) for t, t1 in load(name).temporal_map] == pairs, name
    fwse = load("uncor_1200only_fwse_v1p2")
    assert [b + 1 if b >= 0 else None for b in fwse.zero_bins] == [None, None, None, None, 3, 4, 4]
    for name in ("skydiving_v1", "weatherballoon_v1"):
        model = load(name)
        assert model.zero_bins[model.roles["hdot"]] == -1, name  # an edge exactly at 0: no zero bin
    dueregard = load("dueregard_v1")
    assert dueregard.roles == {"L": 0, "G": 1, "v": 2, "psi": 3, "vdot": 4, "hdot": 5, "psidot": 6}


@pytest.mark.parametrize("name", ["cor_v1", "littoral_cor_v1", "paramotor_v1", "skydiving_v1", "glider_v1", "uncor_1200code_v1"])
def test_orders_are_topological_for_non_triangular_graphs_and_t1_edges(name):
    model = load(name)
    position = {v: k for k, v in enumerate(model.initial_order)}
    for parent, child in np.argwhere(model.initial.graph):
        assert position[parent] < position[child]
    t_position = {v: k for k, v in enumerate(model.transition_order)}
    for parent, child in np.argwhere(model.transition.graph):
        if parent >= model.n_variables:
            assert t_position[parent] < t_position[child]


def test_counts_are_column_major_with_the_first_parent_fastest():
    fwse = load("uncor_1200only_fwse_v1p2")
    g_counts = fwse.initial.tables[0][:, 0]
    a_table = fwse.initial.tables[1]  # (A, G): column = G
    np.testing.assert_array_equal(a_table.sum(axis=0), g_counts)
    l_table = fwse.initial.tables[2]  # columns = G + 5 A (G fastest)
    joint_ga = l_table.sum(axis=0).reshape((5, 4), order="F")  # [G, A]
    np.testing.assert_array_equal(joint_ga, a_table.T)
    last_parent_fastest = l_table.sum(axis=0).reshape((4, 5), order="F")  # would be [A, G]
    assert not np.array_equal(last_parent_fastest, a_table)  # the other convention fails


# ------------------------------------------------------------------ refusals

BLIMP = (MODEL_DIR / "blimp_v1.txt").read_text()


def section_lines(text: str, name: str) -> tuple[int, int]:
    lines = text.split("\n")
    start = lines.index(f"# {name}") + 1
    end = start
    while end < len(lines) and not lines[end].startswith("#"):
        end += 1
    return start, end


def replace_section(text: str, name: str, new_lines: list[str]) -> str:
    lines = text.split("\n")
    start, end = section_lines(text, name)
    return "\n".join(lines[:start] + new_lines + lines[end:])


def get_section(text: str, name: str) -> list[str]:
    start, end = section_lines(text, name)
    return text.split("\n")[start:end]


def refused(text: str, section: str | None, *words: str) -> None:
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(text, source="broken.txt")
    error = caught.value
    assert error.source == "broken.txt" and "broken.txt" in str(error)
    assert error.section == section, str(error)
    for word in words:
        assert word in str(error), str(error)


def test_count_length_must_match_the_graph():
    counts = get_section(BLIMP, "N_initial")[0].split()
    refused(replace_section(BLIMP, "N_initial", [" ".join(counts[:-1])]), "N_initial", "30 counts", "imply 31")
    refused(replace_section(BLIMP, "N_initial", [" ".join(counts + ["1"])]), "N_initial", "32 counts")
    t_counts = get_section(BLIMP, "N_transition")[0].split()
    refused(replace_section(BLIMP, "N_transition", [" ".join(t_counts[1:])]), "N_transition", "122 counts")


@pytest.mark.parametrize("token,word", [("1.5", "'1.5'"), ("-3", "-3"), ("abc", "'abc'")])
def test_counts_must_be_non_negative_integers(token, word):
    counts = get_section(BLIMP, "N_initial")[0].split()
    counts[4] = token
    refused(replace_section(BLIMP, "N_initial", [" ".join(counts)]), "N_initial", "token 5", word)


def test_boundaries_need_r_plus_one_increasing_edges():
    lines = get_section(BLIMP, "boundaries")
    wrong_count = lines.copy()
    wrong_count[1] = " ".join(lines[1].split()[:-1])
    refused(replace_section(BLIMP, "boundaries", wrong_count), "boundaries", "'v'", "expected r + 1 = 9")
    not_increasing = lines.copy()
    edges = lines[1].split()
    edges[2], edges[3] = edges[3], edges[2]
    not_increasing[1] = " ".join(edges)
    refused(replace_section(BLIMP, "boundaries", not_increasing), "boundaries", "not strictly increasing")
    refused(replace_section(BLIMP, "boundaries", lines[:-1]), "boundaries", "expected 5 lines")


def test_cyclic_graphs_are_refused():
    graph = ["0 1 1 1 1", "0 0 1 1 1", "0 0 0 1 1", "0 0 0 0 1", "1 0 0 0 0"]
    refused(replace_section(BLIMP, "G_initial", graph), "G_initial", "cyclic")


def test_graph_rows_and_entries_are_checked():
    graph = get_section(BLIMP, "G_initial")
    refused(replace_section(BLIMP, "G_initial", graph[:-1]), "G_initial", "expected 5 rows")
    bad = graph.copy()
    bad[0] = "0 2 1 1 1"
    refused(replace_section(BLIMP, "G_initial", bad), "G_initial", "0 or 1")
    short = graph.copy()
    short[2] = "0 0 0 1"
    refused(replace_section(BLIMP, "G_initial", short), "G_initial", "row 3 has 4 entries")


def test_unknown_missing_and_duplicate_sections():
    refused(BLIMP.replace("# boundaries", "# edges"), "edges", "unknown section")
    refused(BLIMP[: BLIMP.index("# resample_rates")], "resample_rates", "missing")
    refused(BLIMP + "# r_initial\n4 8 5 7 7\n", "r_initial", "twice")
    no_g_transition = BLIMP.replace("# G_transition", "# G_transition_x")
    refused(no_g_transition, "G_transition_x", "unknown")
    lines = BLIMP.split("\n")
    start = lines.index("# N_transition")
    refused("\n".join(lines[:start] + lines[start + 2 :]), "N_transition", "incomplete")


def test_rates_must_be_probabilities():
    refused(replace_section(BLIMP, "resample_rates", ["0 0.1 -0.2 0.3 0.4"]), "resample_rates", "entry 3", "[0, 1]")
    refused(replace_section(BLIMP, "resample_rates", ["0 0.1 1.5 0.3 0.4"]), "resample_rates", "1.5")
    refused(replace_section(BLIMP, "resample_rates", ["0 0.1 0.3 0.4"]), "resample_rates", "expected 5")


def test_transition_part_must_mirror_the_initial_network():
    refused(replace_section(BLIMP, "r_transition", ["4 8 5 7 6 5 7 7"]), "r_transition", "differ from r_initial")
    graph = get_section(BLIMP, "G_transition")
    into_t = graph.copy()
    row = into_t[5].split()
    row[2] = "1"
    into_t[5] = " ".join(row)
    refused(replace_section(BLIMP, "G_transition", into_t), "G_transition", "time-t variable")
    labels = get_section(BLIMP, "labels_transition")[0].replace('"v"', '"w"')
    refused(replace_section(BLIMP, "labels_transition", [labels]), "labels_transition", "expected initial label 'v'")
    wrong_r = get_section(BLIMP, "r_transition")[0].split()
    wrong_r[-1] = "6"
    refused(replace_section(BLIMP, "r_transition", [" ".join(wrong_r)]), "r_transition", "has 6 bins")


def test_r_must_match_the_labels():
    refused(replace_section(BLIMP, "r_initial", ["4 8 5 7"]), "r_initial", "expected 5")


# ------------------------------------------------------------------ generated models


@st.composite
def small_models(draw) -> ModelFileContents:
    n = draw(st.integers(2, 5))
    r = np.array(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), dtype=np.int64)
    order = draw(st.permutations(list(range(n))))  # file order differs from topological order
    upper = np.triu(np.array(draw(st.lists(st.booleans(), min_size=n * n, max_size=n * n))).reshape(n, n), 1)
    graph = np.zeros((n, n), dtype=bool)
    for a, b in np.argwhere(upper):
        graph[order[a], order[b]] = True
    labels = tuple(f"x{i}" for i in range(n))

    def tables_for(graph_, r_, first):
        tables = []
        for i in range(graph_.shape[0]):
            if i < first:
                tables.append(None)
                continue
            q = int(np.prod(r_[np.flatnonzero(graph_[:, i])], dtype=np.int64))
            values = draw(st.lists(st.integers(0, 10**9), min_size=int(r_[i]) * q, max_size=int(r_[i]) * q))
            tables.append(np.array(values, dtype=np.int64).reshape((int(r_[i]), q), order="F"))
        return tuple(tables)

    initial = NetworkTables(labels, graph, r, tables_for(graph, r, 0))
    transition = None
    if draw(st.booleans()):
        n_dyn = draw(st.integers(1, min(2, n)))
        dynamic = draw(st.lists(st.sampled_from(range(n)), min_size=n_dyn, max_size=n_dyn, unique=True))
        t_labels = tuple(f"x{i}(t)" if i in dynamic else f"x{i}" for i in range(n)) + tuple(f"x{i}(t+1)" for i in dynamic)
        n1 = n + n_dyn
        t_graph = np.zeros((n1, n1), dtype=bool)
        for k, i in enumerate(dynamic):
            t_graph[i, n + k] = True
            for parent in range(n):
                t_graph[parent, n + k] |= draw(st.booleans())
        if n_dyn == 2 and draw(st.booleans()):
            t_graph[n, n + 1] = True  # a (t+1) -> (t+1) edge
        t_r = np.concatenate([r, r[dynamic]])
        transition = NetworkTables(t_labels, t_graph, t_r, tables_for(t_graph, t_r, n))
    boundaries = []
    for i in range(n):
        if draw(st.booleans()):
            boundaries.append(None)
        else:
            steps = draw(st.lists(st.integers(1, 1000), min_size=int(r[i]), max_size=int(r[i])))
            boundaries.append(np.cumsum([draw(st.integers(-500, 500))] + steps).astype(np.float64) / 4.0)
    rates = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    return ModelFileContents("generated", initial, transition, tuple(boundaries), rates)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_models())
def test_generated_models_round_trip(contents):
    assert_same_contents(contents, parse_model_text(format_model_text(contents)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_models(), st.data())
def test_corrupting_a_count_is_always_refused(contents, data):
    text = format_model_text(contents)
    section = "N_transition" if contents.transition is not None and data.draw(st.booleans()) else "N_initial"
    counts = get_section(text, section)[0].split()
    position = data.draw(st.integers(0, len(counts) - 1))
    action = data.draw(st.sampled_from(["negative", "fraction", "delete"]))
    if action == "negative":
        counts[position] = "-" + str(int(counts[position]) + 1)
    elif action == "fraction":
        counts[position] = counts[position] + ".5"
    else:
        del counts[position]
    with pytest.raises(ModelFileError) as caught:
        parse_model_text(replace_section(text, section, [" ".join(counts)]), source="g.txt")
    assert caught.value.section == section
