"""Recorded encounters end to end (issue 20): the closed loop flies each recording for its own
duration with both aircraft's fitted limits, the kernel agrees with its plain-Python twin, and
`encsim run FOLDER --logic daa` runs the twelve NRC intercepts (read in place)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from test_recorded_encounters import ENDS_BEFORE_CPA, HORIZONTAL_MAX_FT

from encsim.cli import main
from encsim.commands import CommandSchedule, InitialStates
from encsim.encounters import generate_encounters
from encsim.io.encounters_file import read_summary_tables
from encsim.io.recorded_set import recorded_encounter_set, recorded_limits
from encsim.io.scenario import ScenarioError, load_scenario
from encsim.simulate import simulate, simulate_states


@pytest.fixture(scope="module")
def nrc_set(shared_data_dir):
    return recorded_encounter_set(shared_data_dir / "nrc-intercepts")


def _one(states: InitialStates, a: int) -> InitialStates:
    return InitialStates(*(getattr(states, f)[a : a + 1] for f in InitialStates.FIELDS))


def _one_schedule(schedule, a: int) -> CommandSchedule:
    rows = schedule.rows_of(a)
    return CommandSchedule(np.array([0, len(rows["t_s"])]), *rows.values())


def test_unequipped_nominal_flights_are_the_re_flown_recordings(nrc_set):
    # each encounter over its own duration with its own pitch-rate limits: the nominal HMD is the
    # fitted flight's (metadata, measured on the 10-Hz fit) and the recording's within the fit's tolerance
    assert len(set(nrc_set.durations_s)) > 1  # the recordings differ in length
    outcome = simulate(nrc_set, "unequipped")
    meta = nrc_set.metadata
    np.testing.assert_allclose(outcome["nominal_hmd_ft"], meta["hmd_ft"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(outcome["nominal_vmd_ft"], meta["vmd_ft"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(outcome["nominal_nmac"], meta["nmac"])
    np.testing.assert_array_equal(outcome["nominal_lowc"], meta["lowc"])
    assert (np.abs(outcome["nominal_hmd_ft"] - meta["recorded_hmd_ft"]) < HORIZONTAL_MAX_FT).all()
    np.testing.assert_array_equal(outcome["nominal_hmd_ft"], outcome["mitigated_hmd_ft"])  # nobody manoeuvres


def test_per_encounter_durations_and_limits_are_each_encounters_own(nrc_set):
    # the set flown at once (durations and limits per encounter) = each encounter flown alone with a
    # scalar duration and its own limits; and the longest duration for all would measure other steps
    together = simulate_states(
        nrc_set.own_initial,
        nrc_set.own_schedule,
        nrc_set.int_initial,
        nrc_set.int_schedule,
        nrc_set.durations_s,
        "daa",
        own_limits=nrc_set.own_limits,
        int_limits=nrc_set.int_limits,
    )
    meta = nrc_set.metadata
    for a in (0, 5, 7):  # 101 (ends before CPA, 30 deg/s turns), 3, 53
        alone = simulate_states(
            _one(nrc_set.own_initial, a),
            _one_schedule(nrc_set.own_schedule, a),
            _one(nrc_set.int_initial, a),
            _one_schedule(nrc_set.int_schedule, a),
            float(nrc_set.durations_s[a]),
            "daa",
            own_limits=recorded_limits(meta.iloc[a : a + 1], "ownship"),
            int_limits=recorded_limits(meta.iloc[a : a + 1], "intruder"),
        )
        np.testing.assert_array_equal(together.iloc[a].to_numpy(float), alone.iloc[0].to_numpy(float))
    default_limits = simulate_states(
        nrc_set.own_initial,
        nrc_set.own_schedule,
        nrc_set.int_initial,
        nrc_set.int_schedule,
        nrc_set.durations_s,
        "unequipped",
    )
    turning = meta["int_pitch_rate_max_rad_s"] > np.radians(3.0) + 1e-9
    assert turning.any()  # without their fitted limits the hard-turning intruders fly elsewhere
    assert (default_limits["nominal_hmd_ft"][turning] != together["nominal_hmd_ft"][turning]).any()


def test_durations_are_checked_per_encounter(nrc_set):
    args = (nrc_set.own_initial, nrc_set.own_schedule, nrc_set.int_initial, nrc_set.int_schedule)
    bad = nrc_set.durations_s.copy()
    bad[4] = 10.05
    with pytest.raises(ValueError, match=r"duration_s\[4\] = 10.05 must be a positive multiple of 0.1 s"):
        simulate_states(*args, bad, "unequipped")
    with pytest.raises(ValueError, match=r"expected one duration or 12 \(one per encounter\)"):
        simulate_states(*args, bad[:3], "unequipped")


def test_the_kernel_agrees_with_its_plain_python_twin_on_recorded_encounters(nrc_set):
    from encsim.avoidance import REFERENCE_LOGICS

    fast = simulate(nrc_set, "daa")
    function, make_params = REFERENCE_LOGICS["daa"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        slow = simulate(nrc_set, (function.py_func, make_params()))  # the plain-Python closed loop
    numeric = [c for c in fast.columns if c != "encounter_id"]
    np.testing.assert_allclose(
        fast[numeric].to_numpy(float), slow[numeric].to_numpy(float), rtol=1e-9, atol=1e-6, equal_nan=True
    )
    assert fast["alerted"].any()


def test_a_recorded_scenario_file_finds_its_recordings_relative_to_itself(shared_data_dir, tmp_path):
    folder = shared_data_dir / "nrc-intercepts"
    (tmp_path / "sub").mkdir()
    relative = __import__("os").path.relpath(folder, tmp_path / "sub")
    scenario_file = tmp_path / "sub" / "nrc.toml"
    scenario_file.write_text(
        f'name = "NRC"\n[encounter]\nkind = "recorded"\npath = "{relative}"\n'
        '[metrics]\nwell_clear = "do365"\n[run]\nseed = 7\n'
    )
    scenario, text = load_scenario(scenario_file)
    assert scenario.encounter.kind == "recorded" and scenario.run.encounters == 12 and scenario.run.seed == 7
    assert scenario.name == "NRC" and "[ownship]" in text
    encounters = generate_encounters(scenario, text, ids=[2, 9])
    assert encounters.kind == "recorded" and encounters.metadata["encounter_id"].tolist() == [2, 9]
    whole = recorded_encounter_set(folder)
    np.testing.assert_array_equal(encounters.metadata["hmd_ft"], whole.metadata["hmd_ft"].iloc[[2, 9]])
    scenario_file.write_text('[encounter]\nkind = "recorded"\npath = "nowhere"\n')
    with pytest.raises(ScenarioError, match=r"nrc\.toml: .*nowhere: no such \.daa file"):
        load_scenario(scenario_file)
    scenario_file.write_text(f'[encounter]\nkind = "recorded"\npath = "{relative}"\n[geometry]\ntcpa_s = 40\n')
    with pytest.raises(ScenarioError, match=r"nrc\.toml: \[geometry\]: a recorded scenario takes"):
        load_scenario(scenario_file)


def test_a_bad_recording_is_named_with_its_line(tmp_path):
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "bad.daa").write_text("NAME sx sy sz vx vy vz time\nown, 0, 0, 1000, 0, 36, 0, zero\n")
    result = CliRunner().invoke(main, ["run", str(folder), "-o", str(tmp_path / "x.h5"), "--quiet"])
    assert result.exit_code != 0
    assert "bad.daa" in result.output and "line 2" in result.output, result.output


def test_encsim_run_flies_the_nrc_intercepts_with_the_daa_logic(shared_data_dir, tmp_path, nrc_set):
    output = tmp_path / "nrc.h5"
    folder = shared_data_dir / "nrc-intercepts"
    result = CliRunner().invoke(main, ["run", str(folder), "--logic", "daa", "-o", str(output), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "wrote 12 encounters" in result.output
    early = sorted(nrc_set.metadata["encounter_id"][nrc_set.metadata["ends_before_cpa"]].tolist())
    assert len(early) == len(ENDS_BEFORE_CPA)
    assert f"recordings ending before their closest approach: 3 (ids {early})" in result.output
    attrs, metadata, outcomes = read_summary_tables(output)
    assert "daa" in str(attrs["logic"])
    assert len(outcomes) == 12 and (metadata["weight"] == 1.0).all()
    for column in ("nominal_hmd_ft", "nominal_vmd_ft", "mitigated_hmd_ft", "mitigated_vmd_ft"):
        assert np.isfinite(outcomes[column]).all(), column
    np.testing.assert_allclose(outcomes["nominal_hmd_ft"], nrc_set.metadata["hmd_ft"], rtol=0, atol=1e-6)
    assert (np.abs(outcomes["nominal_hmd_ft"] - metadata["recorded_hmd_ft"]) < HORIZONTAL_MAX_FT).all()
    assert metadata["ends_before_cpa"].astype(bool).sum() == 3


def test_a_run_directory_of_recordings_runs_and_resumes(shared_data_dir, tmp_path):
    # the chunks re-read the recordings from the absolute path in the run's scenario text; a resume
    # holds the run to the same identity (no per-encounter limits in it: they are in the metadata)
    folder, run_dir = shared_data_dir / "nrc-intercepts", tmp_path / "run"
    args = ["run", str(folder), "--logic", "daa", "-o", str(run_dir), "--workers", "0", "--quiet"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "recordings ending before their closest approach: 3" in first.output
    again = CliRunner().invoke(main, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    assert "0 chunks computed, 1 reused" in again.output
