"""The MIT LL model-file reader and writer (`encsim.bayes.model_file`) against mitll-reference section 1.

* all 27 stored files load with the sizes of the table in mitll-reference 1.8, and the structure
  derived from them (temporal map 1.6, zero bins 1.5/1.9, topological orders 1.3, roles) is as
  documented;
* the count layout is "first parent fastest" (1.4), checked on the counts of fwse themselves;
* writing a model and reading it back gives identical arrays, for every stored file and for random
  valid models (hypothesis);
* broken files are refused with an error naming the file, the section and the problem.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import ALL_MODEL_FILES, MODEL_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from encsim.bayes.model import EncounterModel
from encsim.bayes.model_file import (
    REQUIRED_SECTIONS,
    TRANSITION_SECTIONS,
    ModelFileContents,
    ModelFileError,
    NetworkTables,
    format_model_text,
    parse_model_text,
    read_model_file,
    write_model_file,
)

# ------------------------------------------------------------------------------------------------
# expected values, transcribed from mitll-reference 1.8 (sizes), 1.6 (temporal maps) and 1.5/1.9
# (zero bins)

_R_UNCOR_V1P2 = (5, 4, 4, 8, 5, 7, 7)
_R_UNCOR_G4 = (4, 4, 4, 8, 5, 7, 7)
_R_UNCONVENTIONAL = (4, 8, 5, 7, 7)
_R_COR = (4, 5, 2, 12, 2, 2, 6, 6, 5, 5, 9, 9, 9, 9, 4, 10)
_R_TERMINAL = (4, 2, 3, 2, 4, 7, 36, 7, 5, 36, 7, 36, 7, 5, 36)

# file -> (n0, r_initial, N_initial tokens, n1, N_transition tokens, number of (t+1)->(t+1) edges);
# n1 / N_transition / edges are None for the static terminal encounter-geometry files.
TABLE_1_8 = {
    "balloon_v1": (2, (4, 7), 32, 3, 49, 0),
    "blimp_v1": (5, _R_UNCONVENTIONAL, 31, 8, 123, 0),
    "cor_v1": (16, _R_COR, 21193, 20, 8100, 2),
    "terminal_v3_opensky_encounter_model": (15, _R_TERMINAL, 311650, None, None, None),
    "terminal_v3_radar_encounter_model": (15, _R_TERMINAL, 311650, None, None, None),
    "dueregard_v1": (7, (6, 7, 5, 6, 5, 9, 7), 143898, 10, 11620, 0),
    "fai1_v1": (5, _R_UNCONVENTIONAL, 9156, 8, 16772, 2),
    "fai5_v1": (5, _R_UNCONVENTIONAL, 9156, 8, 16772, 2),
    "glider_v1": (5, _R_UNCONVENTIONAL, 9156, 8, 51744, 3),
    "paraglider_v1": (5, _R_UNCONVENTIONAL, 9156, 8, 51744, 3),
    "haa_v1": (9, (4, 6, 5, 5, 3, 3, 7, 7, 5), 1633348, 12, 1472, 0),
    "littoral_cor_v1": (16, _R_COR, 21193, 20, 324, 0),
    "littoral_uncor_v1": (6, (4, 4, 8, 5, 7, 7), 36628, 9, 6972, 2),
    "paramotor_v1": (5, _R_UNCONVENTIONAL, 519, 8, 2268, 2),
    "skydiving_v1": (5, _R_UNCONVENTIONAL, 519, 8, 2268, 2),
    "uncor_1200code_v1": (6, (4, 4, 8, 5, 7, 7), 36628, 9, 22344, 2),
    "uncor_1200code_v2p1": (7, _R_UNCOR_G4, 146516, 10, 74480, 0),
    "uncor_1200only_fwse_v1p2": (7, _R_UNCOR_V1P2, 183145, 10, 74480, 0),
    "uncor_1200only_fwme_v1p2": (7, _R_UNCOR_V1P2, 183145, 10, 74480, 0),
    "uncor_1200only_rotorcraft_v1p2": (7, _R_UNCOR_V1P2, 183145, 10, 74480, 0),
    "uncor_1200exclude_fwse_v1p2": (7, _R_UNCOR_V1P2, 183145, 10, 74480, 0),
    "uncor_1200exclude_fwme_v1p2": (7, _R_UNCOR_V1P2, 183145, 10, 74480, 0),
    "uncor_1200exclude_rotorcraft_v1p2": (7, _R_UNCOR_V1P2, 183145, 10, 74480, 0),
    "uncor_allcode_fwsingle_v1": (7, _R_UNCOR_G4, 146516, 10, 74480, 0),
    "uncor_allcode_fwmulti_v1": (7, _R_UNCOR_G4, 146516, 10, 74480, 0),
    "uncor_allcode_rotorcraft_v1": (7, _R_UNCOR_G4, 146516, 10, 74480, 0),
    "weatherballoon_v1": (2, (6, 7), 48, 3, 294, 0),
}

_UNCOR_GAL = ((5, 8), (6, 9), (7, 10))
_UNCOR_AL = ((4, 7), (5, 8), (6, 9))
_UNCONVENTIONAL_LV = ((3, 6), (4, 7), (5, 8))
_BALLOON = ((2, 3),)
_COR = ((11, 17), (12, 18), (13, 19), (14, 20))
# mitll-reference 1.6, 1-based (index of X(t), index of X(t+1)); () for the static terminal files
TEMPORAL_MAPS_1_BASED = {
    **{name: _UNCOR_GAL for name in TABLE_1_8 if name.endswith("_v1p2") or name.startswith("uncor_allcode_")},
    "uncor_1200code_v2p1": _UNCOR_GAL,
    "uncor_1200code_v1": _UNCOR_AL,
    "littoral_uncor_v1": _UNCOR_AL,
    **{
        name: _UNCONVENTIONAL_LV
        for name in ("glider_v1", "paraglider_v1", "fai1_v1", "fai5_v1", "paramotor_v1", "skydiving_v1", "blimp_v1")
    },
    "balloon_v1": _BALLOON,
    "weatherballoon_v1": _BALLOON,
    "dueregard_v1": ((5, 8), (6, 9), (7, 10)),
    "haa_v1": ((7, 10), (8, 11), (9, 12)),
    "cor_v1": _COR,
    "littoral_cor_v1": _COR,
    "terminal_v3_opensky_encounter_model": (),
    "terminal_v3_radar_encounter_model": (),
}

# 1-based zero bin per initial variable (None: no zero bin), mitll-reference 1.5 and 1.9
_Z_UNCOR = (None, None, None, None, 3, 4, 4)  # G A L v vdot hdot psidot
_Z_COR = (None,) * 8 + (3, 3, 5, 5, 5, 5, None, None)
ZERO_BINS_1_BASED = {
    "uncor_1200only_fwse_v1p2": _Z_UNCOR,
    "uncor_1200exclude_rotorcraft_v1p2": _Z_UNCOR,
    "uncor_allcode_fwsingle_v1": _Z_UNCOR,
    "uncor_1200code_v2p1": _Z_UNCOR,
    "uncor_1200code_v1": (None, None, None, 3, 4, 4),  # A L v vdot hdot psidot
    "glider_v1": (None, None, 3, 4, 4),  # L v vdot hdot psidot
    "skydiving_v1": (None, None, 3, None, 4),  # hdot has an edge exactly at 0
    "balloon_v1": (None, 4),  # L hdot
    "weatherballoon_v1": (None, None),  # hdot has an edge exactly at 0
    "dueregard_v1": (None, None, None, None, 3, 5, 4),  # L G v psi vdot hdot psidot
    "cor_v1": _Z_COR,
    "littoral_cor_v1": _Z_COR,
    "terminal_v3_opensky_encounter_model": (None,) * 15,
}

NOT_UPPER_TRIANGULAR = ("cor_v1", "littoral_cor_v1", "paramotor_v1", "skydiving_v1")
WITH_T1_T1_EDGES = tuple(name for name, row in TABLE_1_8.items() if row[5])


@functools.cache
def contents_of(name: str) -> ModelFileContents:
    return read_model_file(MODEL_DIR / f"{name}.txt")


@functools.cache
def model_of(name: str) -> EncounterModel:
    return EncounterModel(name=name, contents=contents_of(name), sha256="test")


def assert_same_network(a: NetworkTables | None, b: NetworkTables | None) -> None:
    if a is None or b is None:
        assert a is None and b is None
        return
    assert a.labels == b.labels
    assert a.graph.dtype == b.graph.dtype == bool
    np.testing.assert_array_equal(a.graph, b.graph)
    np.testing.assert_array_equal(a.r, b.r)
    assert len(a.tables) == len(b.tables)
    for ta, tb in zip(a.tables, b.tables):
        if ta is None or tb is None:
            assert ta is None and tb is None
            continue
        assert ta.shape == tb.shape
        assert ta.dtype == tb.dtype == np.int64
        np.testing.assert_array_equal(ta, tb)


def assert_same_contents(a: ModelFileContents, b: ModelFileContents) -> None:
    assert_same_network(a.initial, b.initial)
    assert_same_network(a.transition, b.transition)
    assert len(a.boundaries) == len(b.boundaries)
    for ea, eb in zip(a.boundaries, b.boundaries):
        if ea is None or eb is None:
            assert ea is None and eb is None
            continue
        np.testing.assert_array_equal(ea, eb)  # exact, not approximate
    np.testing.assert_array_equal(a.resample_rates, b.resample_rates)


def is_topological(order, graph: np.ndarray, nodes=None) -> bool:
    """Every node of ``nodes`` once, each after all of its parents that are in ``nodes``."""
    nodes = set(range(graph.shape[0])) if nodes is None else set(nodes)
    if sorted(order) != sorted(nodes):
        return False
    position = {node: k for k, node in enumerate(order)}
    return all(position[p] < position[c] for p, c in np.argwhere(graph) if p in nodes and c in nodes)


# ------------------------------------------------------------------------------------------------
# the 27 stored files


def test_the_model_folder_holds_exactly_the_27_files_of_the_reference():
    assert len(ALL_MODEL_FILES) == 27
    assert sorted(path.stem for path in ALL_MODEL_FILES) == sorted(TABLE_1_8)


@pytest.mark.parametrize("name", sorted(TABLE_1_8))
def test_file_loads_with_the_sizes_of_reference_table_1_8(name):
    n0, r_initial, n_initial_tokens, n1, n_transition_tokens, t1_edges = TABLE_1_8[name]
    contents = contents_of(name)
    initial = contents.initial
    assert contents.source.endswith(f"{name}.txt")
    assert initial.n == n0 == len(initial.labels) == len(initial.tables)
    assert tuple(initial.r.tolist()) == r_initial
    assert sum(table.size for table in initial.tables) == n_initial_tokens
    for i, table in enumerate(initial.tables):
        q = int(np.prod(initial.r[initial.parents(i)]))
        assert table.shape == (initial.r[i], q)
        assert table.dtype == np.int64 and table.min() >= 0
    assert len(contents.boundaries) == n0 and contents.resample_rates.shape == (n0,)
    assert np.all((contents.resample_rates >= 0) & (contents.resample_rates <= 1))

    transition = contents.transition
    if n1 is None:
        assert transition is None
    else:
        assert transition.n == n1
        assert np.array_equal(transition.r[:n0], initial.r)
        assert all(table is None for table in transition.tables[:n0])  # time-t variables: no table
        assert sum(table.size for table in transition.tables[n0:]) == n_transition_tokens
        assert int(transition.graph[n0:, n0:].sum()) == t1_edges
        assert not transition.graph[:, :n0].any()  # no edge into a time-t variable


@pytest.mark.parametrize("name", sorted(TABLE_1_8))
def test_only_skydiving_reports_inconsistent_table_totals(name):
    contents = contents_of(name)
    totals = {int(table.sum()) for table in contents.initial.tables}
    if name == "skydiving_v1":
        assert len(contents.quirks) == 1
        assert "different totals" in contents.quirks[0]
        assert len(totals) > 1
    else:
        assert contents.quirks == ()
        assert len(totals) == 1


@pytest.mark.parametrize("name", sorted(TABLE_1_8))
def test_temporal_map_is_the_one_listed_in_reference_1_6(name):
    model = model_of(name)
    expected_0_based = tuple((t - 1, t1 - 1) for t, t1 in TEMPORAL_MAPS_1_BASED[name])
    assert model.temporal_map == expected_0_based
    if model.transition is not None:
        labels = model.transition.labels
        for t, t1 in model.temporal_map:  # X(t) <-> X(t+1), X(t) at the variable's initial index
            assert labels[t] == f"{model.labels[t]}(t)"
            assert labels[t1] == f"{model.labels[t]}(t+1)"
        assert model.dynamic_variables == tuple(t for t, _ in expected_0_based)


@pytest.mark.parametrize("name", sorted(ZERO_BINS_1_BASED))
def test_zero_bins_as_in_reference_1_5_and_1_9(name):
    model = model_of(name)
    found = tuple(None if b < 0 else b + 1 for b in model.zero_bins)
    assert found == ZERO_BINS_1_BASED[name]


def test_zero_bins_of_fwse_spelled_out_and_edges_at_zero_give_none():
    fwse = model_of("uncor_1200only_fwse_v1p2")
    assert fwse.zero_bins[fwse.roles["vdot"]] + 1 == 3
    assert fwse.zero_bins[fwse.roles["hdot"]] + 1 == 4
    assert fwse.zero_bins[fwse.roles["psidot"]] + 1 == 4
    for name in ("skydiving_v1", "weatherballoon_v1"):
        model = model_of(name)
        hdot = model.roles["hdot"]
        assert 0.0 in model.boundaries[hdot].tolist(), name  # an edge exactly at 0 ...
        assert model.zero_bins[hdot] == -1, name  # ... hence no zero bin


@pytest.mark.parametrize("name", sorted(TABLE_1_8))
def test_zero_bin_straddles_zero_strictly_and_categorical_variables_have_none(name):
    model = model_of(name)
    for i, edges in enumerate(model.boundaries):
        k = model.zero_bins[i]
        if edges is None:
            assert k == -1
        elif k >= 0:
            assert edges[k] < 0.0 < edges[k + 1]
        else:
            assert not np.any((edges[:-1] < 0.0) & (edges[1:] > 0.0)) or edges.size <= 2
    for role in ("L", "v"):  # altitude layers and speeds never have a zero bin
        if role in model.roles:
            assert model.zero_bins[model.roles[role]] == -1


@pytest.mark.parametrize("name", NOT_UPPER_TRIANGULAR)
def test_initial_order_is_topological_where_file_order_is_not(name):
    model = model_of(name)
    graph = model.initial.graph
    assert np.any(np.tril(graph)), "expected a file that is not upper-triangular"
    assert not is_topological(list(range(model.n_variables)), graph)  # file order would be wrong
    assert is_topological(model.initial_order, graph)


@pytest.mark.parametrize("name", sorted(TABLE_1_8))
def test_initial_order_is_topological_for_every_file(name):
    model = model_of(name)
    assert is_topological(model.initial_order, model.initial.graph)
    triangular = not np.any(np.tril(model.initial.graph))
    assert triangular == (name not in NOT_UPPER_TRIANGULAR)


@pytest.mark.parametrize("name", WITH_T1_T1_EDGES)
def test_transition_order_respects_t1_to_t1_edges(name):
    model = model_of(name)
    n0, n1 = model.n_variables, model.transition.n
    graph = model.transition.graph
    assert graph[n0:, n0:].any()
    assert is_topological(model.transition_order, graph, range(n0, n1))


def test_transition_orders_spelled_out():
    # glider / paraglider (reference 1.9 e): hdot(t+1), psidot(t+1), vdot(t+1)
    for name in ("glider_v1", "paraglider_v1"):
        labels = model_of(name).transition.labels
        assert [labels[j] for j in model_of(name).transition_order] == [
            "\\dot h(t+1)",
            "\\dot \\psi(t+1)",
            "\\dot v(t+1)",
        ]
    # uncor_1200code_v1 (1.9 d): vdot(t+1) depends on hdot(t+1) and psidot(t+1)
    model = model_of("uncor_1200code_v1")
    assert model.transition_order[-1] == model.transition.labels.index("\\dot v(t+1)")
    # no (t+1)->(t+1) edge: label order
    fwse = model_of("uncor_1200only_fwse_v1p2")
    assert fwse.transition_order == (7, 8, 9)
    assert model_of("terminal_v3_opensky_encounter_model").transition_order == ()


def test_roles_follow_labels_not_positions():
    dueregard = model_of("dueregard_v1")
    assert dueregard.labels[:2] == ("L", "G")
    assert dueregard.roles["L"] == 0 and dueregard.roles["G"] == 1
    assert dueregard.roles == {"L": 0, "G": 1, "v": 2, "psi": 3, "vdot": 4, "hdot": 5, "psidot": 6}
    assert "A" not in dueregard.roles
    fwse = model_of("uncor_1200only_fwse_v1p2")
    assert fwse.roles == {"G": 0, "A": 1, "L": 2, "v": 3, "vdot": 4, "hdot": 5, "psidot": 6}
    assert model_of("balloon_v1").roles == {"L": 0, "hdot": 1}
    assert model_of("uncor_1200code_v1").roles["L"] == 1  # no G: L is the second variable
    assert model_of("terminal_v3_opensky_encounter_model").roles == {}


# ------------------------------------------------------------------------------------------------
# count layout: first (lowest-index) parent varies fastest (reference 1.4)


def test_first_parent_fastest_on_the_fwse_counts():
    initial = contents_of("uncor_1200only_fwse_v1p2").initial
    assert initial.labels[:4] == ("G", "A", "L", "v")
    g_table, a_table, l_table, v_table = initial.tables[:4]
    r_g, r_a, r_l = (int(x) for x in initial.r[:3])
    assert g_table.shape == (r_g, 1) and a_table.shape == (r_a, r_g)
    assert l_table.shape == (r_l, r_g * r_a) and v_table.shape[1] == r_g * r_a * r_l

    # A has the single parent G: summing A out of each G column gives the G counts
    np.testing.assert_array_equal(a_table.sum(axis=0), g_table[:, 0])

    # L has parents (G, A); its column sums are the joint (G, A) counts, i.e. the A table read as [a, g]
    joint_ga = a_table.T  # [g, a]
    columns = l_table.sum(axis=0)
    np.testing.assert_array_equal(columns.reshape((r_g, r_a), order="F"), joint_ga)  # G fastest
    reversed_order = columns.reshape((r_a, r_g), order="F").T  # as if A varied fastest
    assert not np.array_equal(reversed_order, joint_ga)

    # v has parents (G, A, L): its column sums are the joint (G, A, L) counts held by the L table
    joint_gal = l_table.reshape((r_l, r_g, r_a), order="F").transpose(1, 2, 0)  # [g, a, l]
    v_columns = v_table.sum(axis=0)
    np.testing.assert_array_equal(v_columns.reshape((r_g, r_a, r_l), order="F"), joint_gal)
    last_fastest = v_columns.reshape((r_l, r_a, r_g), order="F").transpose(2, 1, 0)
    assert not np.array_equal(last_fastest, joint_gal)


def test_reader_keeps_the_file_order_of_the_count_tokens():
    """The tables, written back column by column, are the N_initial line token for token."""
    text = (MODEL_DIR / "balloon_v1.txt").read_text()
    tokens = section_lines(text, "N_initial")[0].split()
    tables = contents_of("balloon_v1").initial.tables
    flat = np.concatenate([table.ravel(order="F") for table in tables])
    assert flat.tolist() == [int(token) for token in tokens]
    # hdot has parent L (4 bins): column j holds the 7 hdot counts for L = j + 1
    assert tables[1][:, 0].tolist() == [int(token) for token in tokens[4:11]]


# ------------------------------------------------------------------------------------------------
# round trip of the stored files


@pytest.mark.parametrize("path", ALL_MODEL_FILES, ids=lambda path: path.stem)
def test_round_trip_of_every_stored_file(path, tmp_path):
    original = read_model_file(path)
    written = write_model_file(original, tmp_path / path.name)
    assert written == tmp_path / path.name
    again = read_model_file(written)
    assert_same_contents(original, again)
    assert again.quirks == original.quirks
    assert format_model_text(again) == written.read_text()  # the writer is deterministic


# ------------------------------------------------------------------------------------------------
# text surgery on small real files, and a tiny synthetic generator


def split_sections(text: str) -> list[tuple[str, list[str]]]:
    sections: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("#"):
            sections.append((line[1:].strip(), []))
        else:
            sections[-1][1].append(line)
    return sections


def join_sections(sections) -> str:
    return "".join(f"# {name}\n" + "".join(f"{line}\n" for line in lines) for name, lines in sections)


def section_lines(text: str, name: str) -> list[str]:
    return next(lines for section, lines in split_sections(text) if section == name)


def replace_section(text: str, name: str, lines: list[str]) -> str:
    sections = split_sections(text)
    assert name in [section for section, _ in sections]
    return join_sections([(section, lines if section == name else old) for section, old in sections])


def drop_section(text: str, name: str) -> str:
    sections = split_sections(text)
    assert name in [section for section, _ in sections]
    return join_sections([(section, lines) for section, lines in sections if section != name])


def edit_tokens(text: str, name: str, edit, line: int = 0) -> str:
    """Apply ``edit`` (list of tokens -> list of tokens) to one line of a section."""
    lines = list(section_lines(text, name))
    lines[line] = " ".join(edit(lines[line].split())) + " "
    return replace_section(text, name, lines)


def set_token(position: int, value: str):
    def edit(tokens):
        tokens = list(tokens)
        tokens[position] = value
        return tokens

    return edit


def real_text(name: str) -> str:
    return (MODEL_DIR / f"{name}.txt").read_text()


def make_contents(
    labels,
    graph,
    r,
    *,
    dynamic=(),
    transition_graph=None,
    boundaries=None,
    rates=None,
    fill=None,
    source="synthetic",
) -> ModelFileContents:
    """A model built from its structure, without validation (so it can also be a broken one).

    ``dynamic`` lists the initial variables with a (t+1) copy; ``transition_graph`` defaults to the
    edges X(t) -> X(t+1). ``fill(size)`` gives the counts of one table (default 1, 2, 3, ...).
    """
    labels = tuple(labels)
    graph = np.asarray(graph, dtype=bool)
    r = np.asarray(r, dtype=np.int64)
    n0 = len(labels)
    fill = fill or (lambda size: np.arange(1, size + 1, dtype=np.int64))

    def tables(g: np.ndarray, rr: np.ndarray, first: int):
        out: list[np.ndarray | None] = [None] * first
        for i in range(first, rr.shape[0]):
            q = int(np.prod(rr[np.flatnonzero(g[:, i])]))
            block = np.asarray(fill(int(rr[i]) * q), dtype=np.int64)
            out.append(block.reshape((int(rr[i]), q), order="F"))
        return tuple(out)

    initial = NetworkTables(labels, graph, r, tables(graph, r, 0))
    transition = None
    if dynamic:
        dynamic = list(dynamic)
        t_labels = tuple(f"{label}(t)" if i in dynamic else label for i, label in enumerate(labels))
        t_labels += tuple(f"{labels[d]}(t+1)" for d in dynamic)
        t_r = np.concatenate([r, r[dynamic]])
        if transition_graph is None:
            transition_graph = np.zeros((len(t_labels),) * 2, dtype=bool)
            for k, d in enumerate(dynamic):
                transition_graph[d, n0 + k] = True
        t_graph = np.asarray(transition_graph, dtype=bool)
        transition = NetworkTables(t_labels, t_graph, t_r, tables(t_graph, t_r, n0))
    boundaries = tuple(boundaries) if boundaries is not None else (None,) * n0
    rates = np.asarray(rates if rates is not None else np.zeros(n0), dtype=np.float64)
    return ModelFileContents(source, initial, transition, boundaries, rates)


@pytest.fixture
def refused(tmp_path):
    """Write ``text`` to a file, read it, and check the error names the file, section and problem."""

    def check(text: str, section: str | None, *words: str, name: str = "broken_model.txt") -> ModelFileError:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ModelFileError) as info:
            read_model_file(path)
        error = info.value
        message = str(error)
        assert error.source == str(path)
        assert name in message
        assert error.section == section, message
        if section is not None:
            assert f"'{section}'" in message
        for word in words:
            assert word.lower() in error.reason.lower(), (word, message)
            assert word.lower() in message.lower()
        return error

    return check


def test_the_small_texts_used_below_are_valid():
    for name in ("balloon_v1", "blimp_v1"):
        text = real_text(name)
        assert_same_contents(parse_model_text(text), contents_of(name))
        assert_same_contents(parse_model_text(join_sections(split_sections(text))), contents_of(name))
    synthetic = make_contents(["a", "b", "c"], [[0, 1, 1], [0, 0, 1], [0, 0, 0]], [2, 3, 2], dynamic=[2])
    assert_same_contents(parse_model_text(format_model_text(synthetic)), synthetic)


# --- N_initial / N_transition


@pytest.mark.parametrize("section, expected", [("N_initial", 32), ("N_transition", 49)])
def test_refuses_a_count_line_one_token_short(refused, section, expected):
    text = edit_tokens(real_text("balloon_v1"), section, lambda tokens: tokens[:-1])
    refused(text, section, f"has {expected - 1} counts", f"imply {expected}")
    text = edit_tokens(real_text("balloon_v1"), section, lambda tokens: tokens[:3] + tokens[4:])
    refused(text, section, f"has {expected - 1} counts", f"imply {expected}")


@pytest.mark.parametrize("section, expected", [("N_initial", 31), ("N_transition", 123)])
def test_refuses_a_count_line_one_token_long(refused, section, expected):
    text = edit_tokens(real_text("blimp_v1"), section, lambda tokens: tokens + ["7"])
    refused(text, section, f"has {expected + 1} counts", f"imply {expected}")


@pytest.mark.parametrize("section", ["N_initial", "N_transition"])
@pytest.mark.parametrize(
    "token, words",
    [
        ("1.5", ["token 6", "'1.5'", "non-negative integer"]),
        ("3.0", ["token 6", "'3.0'"]),
        ("1e3", ["token 6", "'1e3'"]),
        ("-3", ["token 6", "-3", "non-negative"]),
        ("abc", ["token 6", "'abc'"]),
        ("NaN", ["token 6", "'NaN'"]),
        ("1_000", ["token 6", "'1_000'"]),  # Python's int() would accept it
        ("0x1f", ["token 6", "'0x1f'"]),
    ],
)
def test_refuses_a_count_that_is_not_a_non_negative_integer(refused, section, token, words):
    text = edit_tokens(real_text("balloon_v1"), section, set_token(5, token))
    refused(text, section, *words)


def test_refuses_a_count_written_with_non_ascii_digits():
    text = edit_tokens(real_text("balloon_v1"), "N_initial", set_token(0, "\u0663"))  # Arabic-Indic 3
    with pytest.raises(ModelFileError) as info:
        parse_model_text(text, source="digits.txt")
    assert info.value.section == "N_initial" and "token 1" in info.value.reason


def test_refuses_a_count_too_large_for_int64(refused):
    text = edit_tokens(real_text("balloon_v1"), "N_initial", set_token(2, "9" * 30))
    refused(text, "N_initial", "out of range")


# --- boundaries


def test_refuses_boundaries_with_the_wrong_number_of_edges(refused):
    text = edit_tokens(real_text("balloon_v1"), "boundaries", lambda tokens: tokens[:-1], line=1)
    refused(text, "boundaries", "line 2", "has 7 edges", "r + 1 = 8")
    text = edit_tokens(real_text("balloon_v1"), "boundaries", lambda tokens: tokens + ["20000"], line=0)
    refused(text, "boundaries", "line 1", "has 6 edges", "r + 1 = 5")


def test_refuses_boundaries_that_do_not_increase(refused):
    swap = lambda tokens: [tokens[1], tokens[0], *tokens[2:]]  # noqa: E731
    text = edit_tokens(real_text("balloon_v1"), "boundaries", swap, line=1)
    refused(text, "boundaries", "line 2", "not strictly increasing")
    repeat = lambda tokens: [tokens[0], tokens[0], *tokens[2:]]  # noqa: E731
    text = edit_tokens(real_text("blimp_v1"), "boundaries", repeat, line=3)
    refused(text, "boundaries", "line 4", "not strictly increasing")


@pytest.mark.parametrize("token", ["abc", "1_200", "nan", "inf"])
def test_refuses_boundaries_that_are_not_finite_numbers(refused, token):
    text = edit_tokens(real_text("balloon_v1"), "boundaries", set_token(1, token), line=0)
    refused(text, "boundaries", "line 1")


def test_refuses_the_wrong_number_of_boundary_lines(refused):
    lines = section_lines(real_text("blimp_v1"), "boundaries")
    refused(replace_section(real_text("blimp_v1"), "boundaries", lines[:-1]), "boundaries", "expected 5 lines")


# --- graphs


def test_refuses_a_cyclic_initial_graph(refused):
    cyclic = [[0, 1, 0], [0, 0, 1], [1, 0, 0]]  # a -> b -> c -> a
    text = format_model_text(make_contents(["a", "b", "c"], cyclic, [2, 3, 2]))
    error = refused(text, "G_initial", "cyclic")
    assert all(label in error.reason for label in ("a", "b", "c"))


def test_refuses_a_cycle_among_t1_variables(refused):
    t_graph = np.zeros((5, 5), dtype=bool)
    t_graph[1, 3] = t_graph[2, 4] = True  # X(t) -> X(t+1)
    t_graph[3, 4] = t_graph[4, 3] = True  # b(t+1) <-> c(t+1)
    contents = make_contents(["a", "b", "c"], np.zeros((3, 3)), [2, 3, 2], dynamic=[1, 2], transition_graph=t_graph)
    refused(format_model_text(contents), "G_transition", "cyclic", "b(t+1)", "c(t+1)")


def test_refuses_a_self_loop(refused):
    text = format_model_text(make_contents(["a", "b"], [[1, 0], [0, 0]], [2, 3]))
    refused(text, "G_initial", "its own parent")


def test_refuses_a_graph_row_of_the_wrong_length(refused):
    text = edit_tokens(real_text("balloon_v1"), "G_initial", lambda tokens: tokens + ["0"], line=0)
    refused(text, "G_initial", "row 1 has 3 entries", "expected 2")
    text = edit_tokens(real_text("blimp_v1"), "G_transition", lambda tokens: tokens[:-1], line=4)
    refused(text, "G_transition", "row 5 has 7 entries", "expected 8")


def test_refuses_the_wrong_number_of_graph_rows(refused):
    lines = section_lines(real_text("balloon_v1"), "G_initial")
    refused(replace_section(real_text("balloon_v1"), "G_initial", lines + ["0 0 "]), "G_initial", "expected 2 rows")


@pytest.mark.parametrize("entry", ["2", "-1", "0.5", "x"])
def test_refuses_graph_entries_other_than_0_or_1(refused, entry):
    text = edit_tokens(real_text("balloon_v1"), "G_initial", set_token(1, entry), line=0)
    refused(text, "G_initial", "row 1", "0 or 1")


def test_refuses_an_edge_into_a_time_t_variable(refused):
    # blimp: \dot v(t+1) (row 6) -> L (column 1)
    text = edit_tokens(real_text("blimp_v1"), "G_transition", set_token(0, "1"), line=5)
    refused(text, "G_transition", "time-t", "\\dot v(t+1)", "'L'")
    # balloon: \dot h(t+1) -> \dot h(t) (also a cycle; the time-t rule is reported)
    text = edit_tokens(real_text("balloon_v1"), "G_transition", set_token(1, "1"), line=2)
    refused(text, "G_transition", "time-t")


# --- r


def test_refuses_r_of_the_wrong_length(refused):
    text = edit_tokens(real_text("balloon_v1"), "r_initial", lambda tokens: tokens + ["3"])
    refused(text, "r_initial", "3 entries", "expected 2")
    text = edit_tokens(real_text("blimp_v1"), "r_transition", lambda tokens: tokens[:-1])
    refused(text, "r_transition", "7 entries", "expected 8")


def test_refuses_a_variable_without_bins(refused):
    text = edit_tokens(real_text("balloon_v1"), "r_initial", set_token(0, "0"))
    refused(text, "r_initial", "at least one bin")


def test_refuses_r_transition_that_disagrees_with_r_initial(refused):
    text = edit_tokens(real_text("balloon_v1"), "r_transition", set_token(1, "6"))
    refused(text, "r_transition", "r_initial", "[4, 6]", "[4, 7]")


def test_refuses_a_t1_variable_with_other_bins_than_its_time_t_copy(refused):
    text = edit_tokens(real_text("balloon_v1"), "r_transition", set_token(2, "6"))
    refused(text, "r_transition", "\\dot h(t+1)", "6 bins", "7")


# --- labels of the transition network


def test_refuses_transition_labels_that_do_not_mirror_the_initial_ones(refused):
    text = replace_section(real_text("balloon_v1"), "labels_transition", ['"M", "\\dot h(t)", "\\dot h(t+1)" '])
    refused(text, "labels_transition", "'M'", "expected initial label 'L'")


def test_refuses_a_t1_variable_without_time_t_copy(refused):
    text = replace_section(real_text("balloon_v1"), "labels_transition", ['"L", "\\dot h(t)", "\\dot x(t+1)" '])
    refused(text, "labels_transition", "\\dot x(t+1)", "no matching '(t)'")


def test_refuses_a_transition_network_without_t1_variables(refused):
    contents = contents_of("balloon_v1")
    transition = contents.transition
    text = format_model_text(
        ModelFileContents(
            "x",
            contents.initial,
            NetworkTables(transition.labels[:2], transition.graph[:2, :2], transition.r[:2], (None, None)),
            contents.boundaries,
            contents.resample_rates,
        )
    )
    refused(text, "labels_transition", "(t+1)")


# --- sections


@pytest.mark.parametrize("section", REQUIRED_SECTIONS)
def test_refuses_a_file_missing_a_required_section(refused, section):
    refused(drop_section(real_text("balloon_v1"), section), section, "missing", section)


@pytest.mark.parametrize("section", TRANSITION_SECTIONS)
def test_refuses_an_incomplete_transition_part(refused, section):
    refused(drop_section(real_text("blimp_v1"), section), section, "incomplete", section)


def test_a_file_without_any_transition_section_is_a_static_network():
    text = real_text("balloon_v1")
    for section in TRANSITION_SECTIONS:
        text = drop_section(text, section)
    contents = parse_model_text(text)
    assert contents.transition is None
    assert_same_network(contents.initial, contents_of("balloon_v1").initial)


@pytest.mark.parametrize("header", ["zero_bins", "temporal_map", "N_Initial", "labels"])
def test_refuses_an_unknown_section_header(refused, header):
    sections = split_sections(real_text("balloon_v1"))
    sections.insert(4, (header, ["1 2 "]))
    refused(join_sections(sections), header, "unknown section header", "line")


@pytest.mark.parametrize("section", ["labels_initial", "N_transition", "resample_rates"])
def test_refuses_a_duplicated_section(refused, section):
    sections = split_sections(real_text("balloon_v1"))
    copy = next(item for item in sections if item[0] == section)
    sections.append(copy)
    refused(join_sections(sections), section, "twice")


def test_refuses_data_before_the_first_header(refused):
    refused("1 2 3\n" + real_text("balloon_v1"), None, "before the first section header")


# --- resample rates


@pytest.mark.parametrize("rate", ["-0.1", "1.5", "-1e-9", "1.0000001", "nan"])
def test_refuses_resample_rates_outside_0_1(refused, rate):
    text = edit_tokens(real_text("balloon_v1"), "resample_rates", set_token(1, rate))
    refused(text, "resample_rates", "entry 2", rate, "outside [0, 1]")


def test_accepts_resample_rates_at_the_ends_of_0_1():
    text = edit_tokens(real_text("balloon_v1"), "resample_rates", lambda tokens: ["1", "0.0"])
    assert parse_model_text(text).resample_rates.tolist() == [1.0, 0.0]


@pytest.mark.parametrize("tokens, words", [(["0"], ["1 entries", "expected 2"]), (["0", "x"], ["not all numbers"])])
def test_refuses_malformed_resample_rates(refused, tokens, words):
    text = edit_tokens(real_text("balloon_v1"), "resample_rates", lambda _: tokens)
    refused(text, "resample_rates", *words)


# ------------------------------------------------------------------------------------------------
# hypothesis: random valid models

LABEL_CHARACTERS = "abcdxyzGALvhpsi019_^{}\\ "
labels_strategy = st.text(alphabet=LABEL_CHARACTERS, min_size=1, max_size=8).map(str.strip).filter(bool)
finite_floats = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)


def _with_a_count(counts: np.ndarray) -> np.ndarray:
    counts[0] = max(counts[0], 1)
    return counts


def counts_strategy(size: int):
    """Counts of a valid table: not all zero, each up to 2^43 (a table of up to 4 x 4^4 = 1,024 counts
    then sums below 2^53, the largest total the loader accepts)."""
    return arrays(np.int64, size, elements=st.integers(0, 2**43)).map(_with_a_count)


@st.composite
def random_models(draw):
    """Small valid models: a random DAG (upper-triangular mask, then a random relabelling of the
    variables so files are not always upper-triangular), r in 1..4, counts of the right length,
    '*' or increasing edges, rates in [0, 1], optionally a transition part with 1-2 dynamic
    variables and possibly a (t+1) -> (t+1) edge."""
    n0 = draw(st.integers(2, 5))
    labels = draw(st.lists(labels_strategy, min_size=n0, max_size=n0, unique=True))
    r = draw(st.lists(st.integers(1, 4), min_size=n0, max_size=n0))
    mask = np.triu(np.array(draw(st.lists(st.booleans(), min_size=n0 * n0, max_size=n0 * n0))).reshape(n0, n0), 1)
    permutation = draw(st.permutations(range(n0)))
    graph = np.zeros((n0, n0), dtype=bool)
    for i, j in np.argwhere(mask):
        graph[permutation[i], permutation[j]] = True

    boundaries = []
    for i in range(n0):
        if draw(st.booleans()):
            boundaries.append(None)
        else:
            edges = sorted(draw(st.lists(finite_floats, min_size=r[i] + 1, max_size=r[i] + 1, unique=True)))
            edges = np.array(edges, dtype=np.float64)
            if not np.all(np.diff(edges) > 0):  # 0.0 and -0.0 compare equal
                edges = np.arange(r[i] + 1, dtype=np.float64)
            boundaries.append(edges)
    rates = draw(st.lists(st.floats(0.0, 1.0), min_size=n0, max_size=n0))

    dynamic: list[int] = []
    transition_graph = None
    if draw(st.booleans()):
        k = draw(st.integers(1, min(2, n0)))
        dynamic = draw(st.lists(st.integers(0, n0 - 1), min_size=k, max_size=k, unique=True))
        n1 = n0 + k
        transition_graph = np.zeros((n1, n1), dtype=bool)
        for m in range(k):
            parents = draw(st.lists(st.integers(0, n0 - 1), max_size=3, unique=True))
            transition_graph[parents, n0 + m] = True
        if k == 2 and draw(st.booleans()):
            first, second = draw(st.permutations([n0, n0 + 1]))
            transition_graph[first, second] = True

    return make_contents(
        labels,
        graph,
        r,
        dynamic=dynamic,
        transition_graph=transition_graph,
        boundaries=boundaries,
        rates=rates,
        fill=lambda size: draw(counts_strategy(size)),
        source="random",
    )


HYPOTHESIS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPOTHESIS
@given(random_models())
def test_random_valid_models_survive_format_and_parse(contents):
    text = format_model_text(contents)
    parsed = parse_model_text(text, source="random")
    assert_same_contents(contents, parsed)
    assert format_model_text(parsed) == text


def test_the_random_models_include_non_triangular_graphs_and_t1_edges():
    """The strategy does reach the cases that matter (searched without shrinking, to stay fast)."""
    from hypothesis import Phase, find

    strategy = random_models()
    search = settings(database=None, phases=[Phase.generate], max_examples=1000)
    non_triangular = find(strategy, lambda c: bool(np.any(np.tril(c.initial.graph))), settings=search)
    assert np.any(np.tril(non_triangular.initial.graph))
    with_t1_edge = find(
        strategy,
        lambda c: c.transition is not None and bool(c.transition.graph[c.initial.n :, c.initial.n :].any()),
        settings=search,
    )
    assert with_t1_edge.transition.n == with_t1_edge.initial.n + 2


@HYPOTHESIS
@given(random_models(), st.data())
def test_a_corrupted_count_token_is_always_refused(contents, data):
    lines = format_model_text(contents).split("\n")
    candidates = ["N_initial"] + (["N_transition"] if contents.transition is not None else [])
    section = data.draw(st.sampled_from(candidates), label="section")
    row = lines.index(f"# {section}") + 1
    tokens = lines[row].split()
    k = data.draw(st.integers(0, len(tokens) - 1), label="token")
    kind = data.draw(st.sampled_from(["negative", "fractional", "deleted"]), label="kind")
    if kind == "negative":
        tokens[k] = f"-{data.draw(st.integers(1, 2**63 - 1))}"
    elif kind == "fractional":
        tokens[k] = f"{tokens[k]}.{data.draw(st.integers(1, 9))}"
    else:
        del tokens[k]
    lines[row] = " ".join(tokens) + " "
    with pytest.raises(ModelFileError) as info:
        parse_model_text("\n".join(lines), source="corrupted.txt")
    assert info.value.section == section
    assert info.value.source == "corrupted.txt"
    if kind == "deleted":
        assert "counts, but the graph and r imply" in info.value.reason
    else:
        assert f"token {k + 1} is" in info.value.reason
