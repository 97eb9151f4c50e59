"""Sensitivity sweeps (encsim.sweep, encsim sweep): every point a run over the same encounters, the
same outcomes as a single run with the point's settings, resumable, refusing what would unpair them.

The varied keys are those the scenario has on main today outside the encounter tables: the logic,
the well-clear volume (metrics.well_clear) and the NMAC cylinder (metrics.nmac_radius_ft).
"""

from __future__ import annotations

import json
import tomllib

import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pydantic import BaseModel

import encsim
from encsim.cli import main
from encsim.io.overrides import check_override_key, parse_override_value, set_in_text, toml_literal, with_overrides
from encsim.io.scenario import Scenario, ScenarioError, parse_scenario
from encsim.metrics import closed_loop_summary
from encsim.metrics.paired import risk_ratio_difference
from encsim.runner import run_scenario
from encsim.runner.sweeps import SweepDefinitionError, read_sweep_table

SCENARIO = """
name = "sweep_test"
[ownship]
model = "uncor_1200only_fwse_v1p2"
presets = { G = 1, A = 4 }
[intruder]
model = "uncor_1200only_rotorcraft_v1p2"
presets = { G = 1, A = 4 }
[geometry]
tcpa_s = 60
duration_s = 90
hmd_edges_ft = [-4000, -1000, -500, 0, 500, 1000, 4000]
hmd_proportions = [1, 1, 3, 3, 1, 1]
vmd_edges_ft = [-600, -200, -100, 0, 100, 200, 600]
vmd_weights = [1, 1, 3, 3, 1, 1]

[metrics]
# the DO-365 volume by default
well_clear = "do365"

[run]
encounters = 120
seed = 3
chunk_size = 40
"""
VARY = {"logic": ["daa", "tcas"], "metrics.well_clear": ["do365", "noncoop"]}


def outcomes_of(run_dir) -> dict:
    with h5py.File(run_dir / "results.h5", "r") as f:
        return {f"{g}/{name}": f[g][name][()] for g in ("metadata", "outcomes") for name in f[g]}


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "sweep.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def swept(scenario_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("swept") / "out"
    return encsim.sweep(scenario_file, vary=VARY, out_dir=out, baseline={"logic": "daa"})


def test_every_point_flies_the_same_encounters_as_a_single_run_with_its_settings(swept, scenario_file, tmp_path):
    table = swept.table
    assert list(table["logic"]) == ["daa", "daa", "tcas", "tcas"]
    assert list(table["metrics.well_clear"]) == ["do365", "noncoop", "do365", "noncoop"]
    assert list(table["baseline"]) == [True, False, False, False]
    assert swept.points_computed == 4 and swept.points_reused == 0
    # the point (tcas, noncoop) is, bit for bit, a plain run of the scenario edited by hand
    edited = tmp_path / "by_hand.toml"
    edited.write_text(SCENARIO.replace('well_clear = "do365"', 'well_clear = "noncoop"'))
    single = run_scenario(edited, tmp_path / "single", logic="tcas")
    point = outcomes_of(swept.out_dir / "point_003")
    for name, values in outcomes_of(single.run_dir).items():
        np.testing.assert_array_equal(point[name], values, err_msg=name)
    # every point: the same encounters and weights (common random numbers), nominal flights alike
    base = outcomes_of(swept.out_dir / "point_000")
    for k in range(1, 4):
        other = outcomes_of(swept.out_dir / f"point_{k:03d}")
        for name in ("metadata/encounter_id", "metadata/weight", "outcomes/nominal_nmac", "outcomes/nominal_hmd_ft"):
            np.testing.assert_array_equal(other[name], base[name], err_msg=f"point {k}: {name}")
    # the two well-clear volumes give different LoWC outcomes: the key really reached the closed loop
    assert not np.array_equal(
        outcomes_of(swept.out_dir / "point_001")["outcomes/nominal_lowc"], base["outcomes/nominal_lowc"]
    )


def test_the_table_holds_the_project_estimates_and_paired_differences(swept):
    table = swept.table
    frames = {}
    for _, row in table.iterrows():
        outcomes = pd.DataFrame(
            {k.split("/")[1]: v for k, v in outcomes_of(swept.out_dir / row["directory"]).items() if "outcomes/" in k}
        )
        outcomes["weight"] = outcomes_of(swept.out_dir / row["directory"])["metadata/weight"]
        rows = {r.name.strip(): r for r in closed_loop_summary(outcomes)}
        for column, name in (
            ("lowc_ratio", "LoWC ratio"),
            ("p_lowc_nominal", "P(LoWC) nominal"),
            ("alert_rate", "alert rate"),
        ):
            assert row[column] == rows[name].estimate
            assert (row[f"{column}_ci_low"], row[f"{column}_ci_high"]) == (rows[name].ci_low, rows[name].ci_high)
        frames[row["point"]] = outcomes
    base = frames[0]
    for _, row in table.iterrows():
        outcomes = frames[row["point"]]
        expected = risk_ratio_difference(
            base["nominal_lowc"], base["mitigated_lowc"], outcomes["nominal_lowc"], outcomes["mitigated_lowc"],
            outcomes["weight"],
        )  # fmt: skip
        assert row["lowc_ratio_diff"] == pytest.approx(row["lowc_ratio"] - table.loc[0, "lowc_ratio"], abs=1e-12)
        if row["point"]:
            assert (row["lowc_ratio_diff_ci_low"], row["lowc_ratio_diff_ci_high"]) == (
                expected.ci_low,
                expected.ci_high,
            )
            # paired: the difference's interval is narrower than the sum of the two ratios' half-widths
            width = row["lowc_ratio_diff_ci_high"] - row["lowc_ratio_diff_ci_low"]
            assert width < (row["lowc_ratio_ci_high"] - row["lowc_ratio_ci_low"]) + (
                table.loc[0, "lowc_ratio_ci_high"] - table.loc[0, "lowc_ratio_ci_low"]
            )


def test_every_output_file_carries_the_provenance(swept):
    table, provenance = read_sweep_table(swept.csv_path)
    assert len(table) == 4 and "risk_ratio_diff_ci_high" in table.columns
    sha256 = provenance["scenario_sha256"]
    assert len(sha256) == 64 and provenance["encsim_version"] == encsim.__version__
    assert provenance["varied_keys"] == ["logic", "metrics.well_clear"] and provenance["vary"] == VARY
    assert provenance["logic"] == "varied: daa, tcas"
    import pyarrow.parquet as pq

    arrow = pq.read_table(swept.parquet_path)
    assert json.loads(arrow.schema.metadata[b"encsim_sweep"])["scenario_sha256"] == sha256
    assert arrow.num_rows == 4
    page = swept.html_path.read_text()
    assert sha256 in page and f"encsim {encsim.__version__}" in page
    assert page.count('src="data:image/png;base64,') == 2  # a figure per varied key
    assert "metrics.well_clear" in page and "point_000 (baseline)" in page
    recorded = json.loads((swept.out_dir / "sweep.json").read_text())
    assert recorded["provenance"]["scenario_sha256"] == sha256
    # each point's run records its own scenario text, with its value written in
    point_text = (swept.out_dir / "point_001" / "scenario.toml").read_text()
    assert parse_scenario(point_text).metrics.well_clear == "noncoop" and "# the DO-365 volume" in point_text


def test_a_rerun_skips_finished_points_and_resumes_an_interrupted_one(swept, scenario_file, tmp_path):
    first = {k: outcomes_of(swept.out_dir / f"point_{k:03d}") for k in range(4)}
    out = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        encsim.sweep(scenario_file, vary=VARY, out_dir=out, stop_after_points=1, html=False)
    # point_001 half done: one chunk of three, as a run killed mid-way leaves it
    (out / "point_001").mkdir()
    (out / "point_001" / "scenario.toml").write_text((swept.out_dir / "point_001" / "scenario.toml").read_text())
    with pytest.raises(KeyboardInterrupt):
        run_scenario(out / "point_001" / "scenario.toml", out / "point_001", logic="daa", stop_after=1)
    resumed = encsim.sweep(scenario_file, vary=VARY, out_dir=out, baseline={"logic": "daa"}, html=False)
    assert (resumed.points_computed, resumed.points_reused) == (3, 1)
    for k in range(4):
        for name, values in outcomes_of(out / f"point_{k:03d}").items():
            np.testing.assert_array_equal(values, first[k][name], err_msg=f"point {k}: {name}")
    pd.testing.assert_frame_equal(resumed.table, swept.table)
    again = encsim.sweep(scenario_file, vary=VARY, out_dir=out, html=False)
    assert (again.points_computed, again.points_reused) == (0, 4)


def test_a_folder_of_another_sweep_or_anything_else_is_refused_naming_the_difference(swept, scenario_file, tmp_path):
    with pytest.raises(SweepDefinitionError, match=r"values of metrics.well_clear \(\['do365', 'noncoop'\] recorded"):
        encsim.sweep(scenario_file, vary={**VARY, "metrics.well_clear": ["do365"]}, out_dir=swept.out_dir)
    with pytest.raises(SweepDefinitionError, match="scenario_sha256"):
        encsim.sweep(scenario_file, vary=VARY, out_dir=swept.out_dir, encounters=60)
    with pytest.raises(SweepDefinitionError, match="varied keys"):
        encsim.sweep(scenario_file, vary={"metrics.well_clear": ["do365"], "logic": ["daa"]}, out_dir=swept.out_dir)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(SweepDefinitionError, match="holds no sweep.json"):
        encsim.sweep(scenario_file, logic="daa", vary={"metrics.well_clear": ["do365"]}, out_dir=other)


@pytest.mark.parametrize(
    ("vary", "logic", "message"),
    [
        ({"geometry.tcpa_s": [30, 60]}, "daa", "geometry.tcpa_s: a sweep cannot vary it: the encounter geometry"),
        ({"ownship.model": ["x"]}, "daa", "ownship.model: a sweep cannot vary it"),
        ({"run.seed": [1, 2]}, "daa", "run.seed: a sweep cannot vary it: the encounter count, seed"),
        ({"cluster.workers": [1, 2]}, "daa", "nothing to sweep"),
        ({"metrics.radius": [1]}, "daa", r"unknown key 'radius' in metrics \(its keys: nmac_radius_ft"),
        ({"surveilance.x": [1]}, "daa", "unknown key 'surveilance' in the scenario"),
        (
            {"metrics.nmac_radius_ft": ["wide"]},
            "daa",
            r"metrics.nmac_radius_ft = 'wide': Input should be a valid number",
        ),
        ({"metrics.nmac_radius_ft": [500, -1]}, "daa", r"metrics.nmac_radius_ft = -1: Input should be greater than 0"),
        ({"metrics": [1]}, "daa", "is a table"),
        ({"logic": ["daa"]}, "tcas", "is given and also varied"),
        ({"metrics.well_clear": ["do365"]}, None, "a sweep needs a logic"),
        ({"logic": ["no_such_logic"]}, None, "no_such_logic"),
        ({"metrics.well_clear": ["do365", "do365"]}, "daa", "repeated"),
    ],
)
def test_bad_keys_values_and_logics_are_refused_before_anything_runs(scenario_file, tmp_path, vary, logic, message):
    with pytest.raises(ValueError, match=message):
        encsim.sweep(scenario_file, logic=logic, vary=vary, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_baseline_outside_the_grid_is_refused(scenario_file, tmp_path):
    with pytest.raises(ValueError, match="baseline: no point has metrics.well_clear = 'noncoop'"):
        encsim.sweep(scenario_file, logic="daa", vary={"metrics.well_clear": ["do365"]}, out_dir=tmp_path,
                     baseline={"metrics.well_clear": "noncoop"})  # fmt: skip
    with pytest.raises(ValueError, match="baseline: pilot not varied"):
        encsim.sweep(scenario_file, logic="daa", vary={"metrics.well_clear": ["do365"]}, out_dir=tmp_path,
                     baseline={"pilot": 1})  # fmt: skip


def test_overrides_edit_the_text_in_place_and_insert_missing_keys():
    text = SCENARIO.replace("[metrics]", "[metrics]\nnmac_radius_ft = 500.0  # the standard # cylinder")
    edited = with_overrides(text, {"metrics.nmac_radius_ft": 600, "metrics.nmac_half_height_ft": 150.5})
    assert "nmac_radius_ft = 600  # the standard # cylinder\n" in edited
    assert "[metrics]\nnmac_half_height_ft = 150.5\n" in edited
    assert edited.count("\n") == text.count("\n") + 1  # nothing else moved
    bare = SCENARIO.replace('[metrics]\n# the DO-365 volume by default\nwell_clear = "do365"\n', "")
    added = with_overrides(bare, {"metrics.well_clear": "noncoop"})
    assert added.endswith('\n[metrics]\nwell_clear = "noncoop"\n')
    assert parse_scenario(added).metrics.well_clear == "noncoop"
    inline = bare.replace('name = "sweep_test"', 'name = "sweep_test"\nmetrics = { well_clear = "do365" }')
    with pytest.raises(ScenarioError, match="cannot set metrics.well_clear"):
        with_overrides(inline, {"metrics.well_clear": "noncoop"})


def test_command_line_values_are_toml_literals_or_names():
    assert [parse_override_value(v) for v in ("60", "1.5", "true", "do365", '"60"', "[1, 2]")] == [
        60, 1.5, True, "do365", "60", [1, 2],
    ]  # fmt: skip
    for value in (60, 1.5, 1e-05, True, 'a "quoted" name', [1, 2.5], {"a": 1}):
        assert parse_override_value(toml_literal(value)) == value
    check_override_key("metrics.nmac_half_height_ft")
    from encsim.cli import _split_values

    assert _split_values("60, 90,110") == ["60", "90", "110"]
    assert _split_values('[1, 2],[3, 4],"a,b",c') == ["[1, 2]", "[3, 4]", '"a,b"', "c"]


def test_the_command_reuses_the_sweep_and_prints_every_point(swept, scenario_file):
    runner = CliRunner()
    args = ["sweep", str(scenario_file), "--vary", "logic=daa,tcas", "--vary", "metrics.well_clear=do365,noncoop"]
    result = runner.invoke(main, [*args, "-o", str(swept.out_dir), "--workers", "0", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "4 points in" in result.output and "0 computed, 4 reused" in result.output
    assert "point_003 logic=tcas, metrics.well_clear=noncoop: risk ratio" in result.output
    assert "paired difference: risk" in result.output
    refused = runner.invoke(main, ["sweep", str(scenario_file), "--logic", "daa", "--vary", "geometry.tcpa_s=30,60",
                                   "-o", str(swept.out_dir / "x")])  # fmt: skip
    assert refused.exit_code == 2 and "geometry.tcpa_s: a sweep cannot vary it" in refused.output
    baseline = runner.invoke(main, [*args, "-o", str(swept.out_dir), "--workers", "0", "--quiet",
                                    "--baseline", "logic=tcas,metrics.well_clear=noncoop"])  # fmt: skip
    assert baseline.exit_code == 0, baseline.output
    assert "point_003 logic=tcas, metrics.well_clear=noncoop [baseline]" in baseline.output


@pytest.mark.slow
def test_points_on_dask_workers_are_bit_identical_to_serial_points(swept, scenario_file, tmp_path):
    from dask.distributed import Client, LocalCluster

    vary = {"logic": ["daa"], "metrics.well_clear": ["do365", "noncoop"]}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            result = encsim.sweep(scenario_file, vary=vary, out_dir=tmp_path / "dask", executor=client, html=False)
    assert result.points_computed == 2
    for k in range(2):
        serial = outcomes_of(swept.out_dir / f"point_{k:03d}")
        for name, values in outcomes_of(tmp_path / "dask" / f"point_{k:03d}").items():
            np.testing.assert_array_equal(values, serial[name], err_msg=f"point {k}: {name}")
    columns = ["risk_ratio", "lowc_ratio", "lowc_ratio_diff", "lowc_ratio_diff_ci_low", "lowc_ratio_diff_ci_high"]
    pd.testing.assert_frame_equal(result.table[columns], swept.table.loc[:1, columns])


class _Radar(BaseModel):
    azimuth_limit_deg: float = 110.0


class _Adsb(BaseModel):
    drop_probability: float = 0.368


class _Surveillance(BaseModel):
    model: str = "perfect"
    radar: _Radar | None = None
    sensor: _Radar | _Adsb | None = None
    params: dict[str, float] = {}


class _FutureScenario(Scenario):
    """The scenario with a nested table like the [surveillance] table issue 15 adds."""

    surveillance: _Surveillance | None = None


def test_keys_of_tables_added_later_are_walked_generically():
    for key in (
        "surveillance.model",
        "surveillance.radar.azimuth_limit_deg",
        "surveillance.sensor.drop_probability",  # a field of one member of a union of tables
        "surveillance.params.anything",  # a free-form table: its validation decides
    ):
        check_override_key(key, schema=_FutureScenario)
    with pytest.raises(ScenarioError, match=r"unknown key 'azimuth' in surveillance.radar \(its keys: azimuth_limit"):
        check_override_key("surveillance.radar.azimuth", schema=_FutureScenario)
    with pytest.raises(ScenarioError, match="is a table"):
        check_override_key("surveillance.radar", schema=_FutureScenario)
    with pytest.raises(ScenarioError, match="surveillance.model is a value, not a table"):
        check_override_key("surveillance.model.x", schema=_FutureScenario)
    with pytest.raises(ScenarioError, match="unknown key 'sensors' in the scenario"):
        check_override_key("sensors.model")  # not in today's schema


def test_nested_keys_are_written_into_their_table_or_a_new_one():
    base = (
        "[surveillance]\nmodel = 'radar'\n\n[surveillance.radar]  # DO-365\nazimuth_limit_deg = 110.0\n\n"
        "[run]\nseed = 1\n"
    )
    edited = set_in_text(base, {"surveillance.radar.azimuth_limit_deg": 60})
    assert edited == base.replace("azimuth_limit_deg = 110.0", "azimuth_limit_deg = 60")
    dotted = "[surveillance]\nmodel = 'radar'\nradar.azimuth_limit_deg = 110.0  # deg\n\n[run]\nseed = 1\n"
    assert "radar.azimuth_limit_deg = 90  # deg\n" in set_in_text(dotted, {"surveillance.radar.azimuth_limit_deg": 90})
    added = set_in_text(
        "[surveillance]\nmodel = 'radar'\n[run]\nseed = 1\n", {"surveillance.radar.azimuth_limit_deg": 90}
    )
    assert tomllib.loads(added)["surveillance"] == {"model": "radar", "radar": {"azimuth_limit_deg": 90}}
    assert "[surveillance]\nradar.azimuth_limit_deg = 90\nmodel" in added
    new = set_in_text("[run]\nseed = 1\n", {"pilot.coordination_delay_scale_s": 2.0})
    assert new == "[run]\nseed = 1\n\n[pilot]\ncoordination_delay_scale_s = 2.0\n"
