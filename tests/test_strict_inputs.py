"""Strict inputs (issue 18, cases 5, 6 and 7): scenario files and model files refused before any work.

Property-based where the space is large: any non-finite number or non-number in any numeric key of
a scenario, any byte string that is not UTF-8, any model with an all-zero table or a count beyond
2^53 is refused with a message naming the key (line, table) and the value; valid variations pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import small_scenario_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_model_file import make_contents

from encsim.bayes.model_file import MAX_COUNT, ModelFileError, format_model_text, parse_model_text
from encsim.cli import main
from encsim.io.scenario import ScenarioError, check_filters_feasible, load_scenario, parse_scenario
from encsim.runner.resources import InsufficientMemoryError, check_memory, estimate_memory

BASE = small_scenario_text("strict", encounters=20, chunk_size=10)

# every numeric key of a scenario: (section, key, a valid TOML value); scalars are set, arrays get
# their first entry replaced
SCALAR_KEYS = [
    ("geometry", "tcpa_s", "30"),
    ("geometry", "duration_s", "60"),
    ("geometry", "max_hmd_ft", "60000.0"),
    ("geometry", "min_initial_vertical_ft", "0.0"),
    ("geometry", "min_initial_range_nm", "1.0"),
    ("geometry", "hmd_tolerance_ft", "500.0"),
    ("metrics", "nmac_radius_ft", "500.0"),
    ("metrics", "nmac_half_height_ft", "100.0"),
    ("run", "encounters", "20"),
    ("run", "seed", "5"),
    ("run", "chunk_size", "10"),
    ("run", "max_attempts", "10000"),
    ("ownship", "min_alt_ft", "0.0"),
    ("ownship", "max_speed_kt", "400.0"),
]
ARRAY_KEYS = [("hmd_edges_ft", "-1000"), ("hmd_proportions", "1"), ("vmd_edges_ft", "-200"), ("vmd_weights", "1")]
NON_FINITE = ["nan", "inf", "-inf", "+inf", "-nan"]
NOT_NUMBERS = ["true", "false", '"200"', '"1e3"', '"nan"']
INTEGER_KEYS = {"tcpa_s", "duration_s", "encounters", "seed", "chunk_size", "max_attempts"}


def with_scalar(section: str, key: str, literal: str) -> str:
    """BASE with ``key = literal`` in ``[section]`` (replacing the key if BASE has it)."""
    lines = [line for line in BASE.splitlines() if not line.startswith(f"{key} =")]
    position = lines.index(f"[{section}]") if f"[{section}]" in lines else None
    if position is None:
        lines += [f"[{section}]", f"{key} = {literal}"]
    else:
        lines.insert(position + 1, f"{key} = {literal}")
    return "\n".join(lines) + "\n"


def with_array_entry(key: str, literal: str) -> str:
    line = next(line for line in BASE.splitlines() if line.startswith(f"{key} ="))
    entries = line.split("=", 1)[1].strip()[1:-1].split(",")
    entries[0] = literal
    return BASE.replace(line, f"{key} = [{', '.join(entries)}]")


@pytest.mark.parametrize(("section", "key", "valid"), SCALAR_KEYS)
def test_every_numeric_scalar_accepts_its_valid_value(section, key, valid):
    parse_scenario(with_scalar(section, key, valid), check_models=False)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SCALAR_KEYS), st.sampled_from(NON_FINITE + NOT_NUMBERS))
def test_no_numeric_scalar_takes_a_non_finite_value_or_a_non_number(entry, literal):
    section, key, _ = entry
    with pytest.raises(ScenarioError) as info:
        parse_scenario(with_scalar(section, key, literal), source="s.toml", check_models=False)
    message = str(info.value)
    assert f"{section}.{key} = " in message, message
    if literal in NON_FINITE and key not in INTEGER_KEYS:
        assert "finite number" in message
    if literal in NOT_NUMBERS:
        assert "encsim does not convert" in message  # not silently read as 1 or 200


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(ARRAY_KEYS), st.sampled_from(NON_FINITE + NOT_NUMBERS))
def test_no_proportion_weight_or_edge_takes_a_non_finite_value_or_a_non_number(entry, literal):
    key, _ = entry
    with pytest.raises(ScenarioError) as info:
        parse_scenario(with_array_entry(key, literal), source="s.toml", check_models=False)
    assert f"geometry.{key}.0 = " in str(info.value), str(info.value)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(min_value=1.0, max_value=1e6, allow_nan=False),
    st.integers(min_value=1, max_value=10**6),
    st.lists(st.floats(min_value=0.001, max_value=100.0, allow_nan=False), min_size=2, max_size=2),
)
def test_valid_finite_variations_pass(radius_ft, encounters, proportions):
    text = with_scalar("metrics", "nmac_radius_ft", repr(radius_ft))
    text = text.replace("encounters = 20", f"encounters = {encounters}")
    text = text.replace("hmd_proportions = [1, 1]", f"hmd_proportions = [{proportions[0]!r}, {proportions[1]!r}]")
    scenario = parse_scenario(text, check_models=False)
    assert scenario.metrics.nmac_radius_ft == radius_ft and scenario.run.encounters == encounters


def test_case_5_the_issue_values_are_refused_by_name():
    """NaN hmd_proportions, inf max_hmd_ft, encounters = true, "200", an inf VMD edge and NMAC radius."""
    text = (
        BASE.replace("hmd_proportions = [1, 1]", "hmd_proportions = [nan, 1]")
        .replace("vmd_edges_ft = [-200, 0, 200]", "vmd_edges_ft = [-inf, 0, 200]")
        .replace("encounters = 20", "encounters = true")
        .replace("seed = 5", 'seed = "200"')
        .replace("[run]", "[metrics]\nnmac_radius_ft = inf\n[run]")
        .replace("[geometry]", "[geometry]\nmax_hmd_ft = inf")
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="case5.toml", check_models=False)
    message = str(info.value)
    for words in (
        "geometry.hmd_proportions.0 = nan: Input should be a finite number",
        "geometry.max_hmd_ft = inf: Input should be a finite number",
        "geometry.vmd_edges_ft.0 = -inf: Input should be a finite number",
        "metrics.nmac_radius_ft = inf: Input should be a finite number",
        "run.encounters = True: Input should be a valid integer (got a boolean",
        "run.seed = '200': Input should be a valid integer (got a string",
    ):
        assert words in message, (words, message)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=40))
def test_a_scenario_file_that_is_not_utf8_is_named_by_line_and_column(tmp_path, junk):
    path = tmp_path / "s.toml"
    raw = BASE.encode() + b"# " + junk + b"\n"
    path.write_bytes(raw)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        with pytest.raises(ScenarioError, match=r"not UTF-8 text: byte 0x[0-9a-f]{2} at line \d+, column \d+") as info:
            load_scenario(path, check_filters=False)
        line = raw[: exc.start].count(b"\n") + 1
        assert f"at line {line}," in str(info.value)
    else:  # valid UTF-8: read, or refused as TOML (control characters) with the TOML parser's words
        try:
            scenario, _ = load_scenario(path, check_filters=False)
        except ScenarioError as error:
            assert "not valid TOML" in str(error)
        else:
            assert scenario.run.encounters == 20


def test_case_6_sizes_are_checked_against_memory_before_any_work(tmp_path):
    long = parse_scenario(BASE.replace("duration_s = 60", "duration_s = 1000000000"), check_models=False)
    many = parse_scenario(BASE.replace("encounters = 20", "encounters = 1000000000000"), check_models=False)
    with pytest.raises(InsufficientMemoryError, match=r"needs about 320 TB of memory .* lower run.chunk_size or"):
        check_memory(long, available=8 * 10**9)
    with pytest.raises(InsufficientMemoryError, match=r"summary of 1,000,000,000,000 encounters: 600 TB; split"):
        check_memory(many, available=8 * 10**9)
    small = parse_scenario(BASE, check_models=False)
    assert check_memory(small, available=8 * 10**9).total_bytes < 10**9
    # linear in what it counts: twice the encounters per chunk and twice the duration, four times the chunk
    doubled = parse_scenario(
        BASE.replace("chunk_size = 10", "chunk_size = 2000")
        .replace("encounters = 20", "encounters = 4000")
        .replace("duration_s = 60", "duration_s = 120"),
        check_models=False,
    )
    single = parse_scenario(
        BASE.replace("chunk_size = 10", "chunk_size = 1000").replace("encounters = 20", "encounters = 4000"),
        check_models=False,
    )
    assert estimate_memory(doubled).per_chunk_bytes == 4 * estimate_memory(single).per_chunk_bytes
    scenario_file = tmp_path / "long.toml"
    scenario_file.write_text(BASE.replace("duration_s = 60", "duration_s = 1000000000"))
    for output, options in ((tmp_path / "r.h5", []), (tmp_path / "run_dir", ["--workers", "0"])):
        result = CliRunner().invoke(main, ["run", str(scenario_file), "-o", str(output), *options])
        assert result.exit_code == 2 and "of memory and the machine has" in result.output, result.output
        assert "Traceback" not in result.output and not output.exists()


def test_case_6_an_impossible_filter_is_refused_before_sampling_and_a_possible_one_passes(tmp_path):
    impossible = parse_scenario(with_scalar("ownship", "min_alt_ft", "900000.0"), check_models=False)
    with pytest.raises(
        ScenarioError, match=r"ownship: the alt filter \[900000, inf\] ft can never be met.*probability 0"
    ):
        check_filters_feasible(impossible, "s.toml")
    too_fast = parse_scenario(with_scalar("intruder", "min_speed_kt", "2000.0"), check_models=False)
    with pytest.raises(ScenarioError, match=r"intruder: the speed filter \[2000, inf\] kt can never be met"):
        check_filters_feasible(too_fast, "s.toml")
    check_filters_feasible(parse_scenario(with_scalar("ownship", "min_alt_ft", "1000.0"), check_models=False))
    path = tmp_path / "impossible.toml"
    path.write_text(with_scalar("ownship", "min_alt_ft", "900000.0"))
    result = CliRunner().invoke(main, ["run", str(path), "-o", str(tmp_path / "r.h5")])
    assert result.exit_code == 2 and "can never be met" in result.output and not (tmp_path / "r.h5").exists()


# ------------------------------------------------------------------------------------------- models


def _model_text(fill) -> str:
    contents = make_contents(["a", "b", "c"], [[0, 1, 1], [0, 0, 1], [0, 0, 0]], [2, 3, 2], dynamic=[2], fill=fill)
    return format_model_text(contents)


def test_a_synthetic_model_with_ordinary_counts_loads():
    parse_model_text(_model_text(None))


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=3), st.data())
def test_an_all_zero_table_is_refused_naming_its_variable(which, data):
    tables_made = []

    def fill(size):
        tables_made.append(size)
        values = data.draw(st.lists(st.integers(0, 1000), min_size=size, max_size=size))
        values[0] = max(values[0], 1)  # every table has a count, except the one zeroed
        return np.zeros(size, dtype=np.int64) if len(tables_made) - 1 == which else np.asarray(values)

    text = _model_text(fill)
    labels = ["a", "b", "c", "c(t+1)"]
    with pytest.raises(ModelFileError, match=rf"count table of variable '{labels[which].split('(')[0]}.*is all zero"):
        parse_model_text(text, source="zero.txt")


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=MAX_COUNT + 1, max_value=2**63 - 1), st.integers(min_value=0, max_value=5))
def test_a_count_beyond_2_to_53_is_refused(count, position):
    def fill(size):
        values = np.arange(1, size + 1, dtype=np.int64)
        values[position % size] = count
        return values

    with pytest.raises(ModelFileError, match=r"beyond 2\^53"):
        parse_model_text(_model_text(fill), source="huge.txt")


def test_counts_that_sum_beyond_2_to_53_are_refused_though_each_fits():
    def fill(size):
        return np.full(size, MAX_COUNT // 2 + 1, dtype=np.int64)

    with pytest.raises(ModelFileError, match=r"sum to \d+, beyond 2\^53"):
        parse_model_text(_model_text(fill), source="sum.txt")


def test_case_7_models_verify_reports_an_all_zero_model_file(tmp_path):
    path = tmp_path / "zero_model.txt"
    path.write_text(_model_text(lambda size: np.zeros(size, dtype=np.int64)))
    result = CliRunner().invoke(main, ["models", "verify", str(path)])
    assert result.exit_code == 1 and "FAIL" in result.output and "is all zero" in result.output, result.output
