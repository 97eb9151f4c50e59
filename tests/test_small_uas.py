"""Small-UAS encounter source (issue 20): patterns, presets, weights, the gas-model identity, files."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import PROJECT_ROOT

from encsim import units
from encsim.commands import CommandSchedule
from encsim.dynamics import fly_commands
from encsim.encounters import generate_encounters, relative_speed_normaliser, vmd_acceptance
from encsim.encounters.small_uas import (
    HOVER_SPEED_FPS,
    PATTERN_PRESETS,
    PERFORMANCE_PRESETS,
    STEP_S,
    Mission,
    MissionSample,
    commanded_segments,
    mission_rows,
    sample_missions,
)
from encsim.io.scenario import ScenarioError, SmallUasScenario, load_scenario, parse_scenario
from encsim.metrics import CYLINDER_PRESETS, SMALL_UAS_NMAC, SMALL_UAS_WC, WELL_CLEAR_PRESETS

SCENARIO = PROJECT_ROOT / "scenarios" / "suas_survey_vs_1200code.toml"


def fly_pattern(pattern: str, performance: str, speed_kt: float, periods: float = 1.0):
    """One aircraft flying ``periods`` periods of a pattern from mission time 0 (heading north)."""
    preset = PERFORMANCE_PRESETS[performance]
    speed_fps = HOVER_SPEED_FPS if pattern == "hover" else units.kt_to_fps(speed_kt)
    segments = commanded_segments(PATTERN_PRESETS[pattern], preset, speed_fps)
    period_s = sum(n for n, _ in segments) * STEP_S
    duration = round(period_s * periods, 1)
    schedule = CommandSchedule.from_lists([mission_rows(segments, 0, duration)])
    initial = pd.DataFrame({"speed_kt": [units.fps_to_kt(speed_fps)], "alt_ft": [300.0]})
    mission = MissionSample(initial, schedule, preset.limits())
    flown = fly_commands(mission.initial_states(), schedule, duration, limits=preset.limits())
    return flown, period_s, segments


SPEEDS = [("multirotor", 25.0), ("multirotor", 40.0), ("fixed_wing", 30.0), ("fixed_wing", 60.0)]


@pytest.mark.parametrize(("performance", "speed_kt"), SPEEDS)
def test_transit_is_a_straight_two_nm_per_period(performance, speed_kt):
    flown, period_s, _ = fly_pattern("transit", performance, speed_kt)
    assert period_s == pytest.approx(2 * units.FT_PER_NM / units.kt_to_fps(speed_kt), abs=0.1)
    assert flown.north_ft[0, -1] == pytest.approx(2 * units.FT_PER_NM, abs=10.0)
    assert np.abs(flown.east_ft[0]).max() < 1e-6


@pytest.mark.parametrize(("performance", "speed_kt"), SPEEDS)
def test_lawnmower_flies_2000_ft_legs_300_ft_apart(performance, speed_kt):
    flown, _, _ = fly_pattern("lawnmower", performance, speed_kt, periods=2.0)
    north, east = flown.north_ft[0], flown.east_ft[0]
    heading = np.mod(flown.heading_rad[0], 2 * np.pi)
    # the legs: runs of samples heading north or south within 1 deg
    on_leg = np.abs(np.sin(heading)) < math.sin(math.radians(1.0))
    starts = np.flatnonzero(np.diff(on_leg.astype(int)) == 1) + 1
    ends = np.flatnonzero(np.diff(on_leg.astype(int)) == -1) + 1
    runs = [(0, ends[0])] + list(zip(starts, ends[1:]))
    legs = [(a, b) for a, b in runs if b - a > 100]  # not the moments an omega turn passes north or south
    assert len(legs) == 4  # two periods: four legs
    lanes = []
    for a, b in legs:
        assert 1800.0 < abs(north[b - 1] - north[a]) < 2100.0  # a 2000-ft leg (less the roll-in and roll-out)
        assert np.ptp(east[a:b]) < 0.02 * 2000.0  # straight, to 2 % of its length
        lanes.append(east[a:b].mean())
    spacing = np.diff(lanes)
    assert np.all(np.abs(spacing - 300.0) < 0.1 * 300.0), spacing  # 300 ft apart, to 10 %


@pytest.mark.parametrize(("performance", "speed_kt"), SPEEDS)
def test_orbit_has_a_1000_ft_radius(performance, speed_kt):
    flown, period_s, _ = fly_pattern("orbit", performance, speed_kt)
    north, east = flown.north_ft[0], flown.east_ft[0]
    centre_n, centre_e = north.mean(), east.mean()
    radius = np.hypot(north - centre_n, east - centre_e)
    assert np.abs(radius - 1000.0).max() < 10.0
    assert period_s == pytest.approx(2 * math.pi * 1000.0 / units.kt_to_fps(speed_kt), abs=0.2)


@pytest.mark.parametrize(("performance", "speed_kt"), SPEEDS)
def test_out_and_back_inspects_a_1_nm_line_and_returns(performance, speed_kt):
    flown, _, _ = fly_pattern("out_and_back", performance, speed_kt)
    north, east = flown.north_ft[0], flown.east_ft[0]
    heading = np.mod(flown.heading_rad[0], 2 * np.pi)
    on_line = (np.abs(np.sin(heading)) < math.sin(math.radians(1.0))) & (north > 0) & (north < units.FT_PER_NM)
    # out and back along the same line (within 2 % of its length), and back at the start
    assert np.abs(east[on_line]).max() < 0.02 * units.FT_PER_NM
    assert north[on_line].max() > 0.95 * units.FT_PER_NM
    assert math.hypot(north[-1], east[-1]) < 0.02 * units.FT_PER_NM


def test_hover_holds_station_for_60_s():
    flown, period_s, _ = fly_pattern("hover", "multirotor", 0.0)
    assert period_s == 60.0
    range_ft = np.hypot(flown.north_ft[0], flown.east_ft[0])
    assert range_ft.max() < 10.0  # a 3.2-ft circle at the 1.7-ft/s floor: far inside the 50-ft sNMAC radius
    np.testing.assert_allclose(flown.speed_fps[0], HOVER_SPEED_FPS)


def test_a_fixed_wing_cannot_hover_and_speeds_stay_in_the_envelope():
    text = SCENARIO.read_text()
    with pytest.raises(ScenarioError, match="fixed_wing cannot hover"):
        parse_scenario(
            text.replace('pattern = "lawnmower"', 'pattern = "hover"').replace('"multirotor"', '"fixed_wing"')
        )
    with pytest.raises(
        ScenarioError, match=r"ownship: speed_kt = \[20.0, 50.0\] leaves the multirotor envelope \[0, 40\] kt"
    ):
        parse_scenario(text.replace("alt_ft = [200, 400]", "alt_ft = [200, 400]\nspeed_kt = [20, 50]"))
    with pytest.raises(ScenarioError, match=r"fly turns reliably only from 25 kt .*speed_kt = \[10.0, 40.0\]"):
        parse_scenario(text.replace("alt_ft = [200, 400]", "alt_ft = [200, 400]\nspeed_kt = [10, 40]"))
    slow_transit = text.replace('"lawnmower"', '"transit"').replace("alt_ft = [200, 400]", "speed_kt = [0, 10]")
    assert parse_scenario(slow_transit).ownship.speed_kt == [0.0, 10.0]  # a straight line needs no turn
    with pytest.raises(ScenarioError, match=r"ownship.pattern = 'zigzag': unknown pattern .*lawnmower"):
        parse_scenario(text.replace('pattern = "lawnmower"', 'pattern = "zigzag"'))
    with pytest.raises(ScenarioError, match="encounter.kind = 'gliders'"):
        parse_scenario(text.replace('kind = "small_uas"', 'kind = "gliders"'))
    with pytest.raises(ScenarioError, match="nmac = 'suas' is the cylinder 50 ft / 15 ft: leave out nmac_radius_ft"):
        parse_scenario(text.replace('nmac = "suas"', 'nmac = "suas"\nnmac_radius_ft = 500'))


def test_presets_name_the_small_uas_volumes():
    assert CYLINDER_PRESETS["suas"] is SMALL_UAS_NMAC
    assert (SMALL_UAS_NMAC.radius_ft, SMALL_UAS_NMAC.half_height_ft) == (50.0, 15.0)
    assert WELL_CLEAR_PRESETS["suas"] is SMALL_UAS_WC
    assert (SMALL_UAS_WC.dthr_ft, SMALL_UAS_WC.zthr_ft, SMALL_UAS_WC.tthr_s) == (2000.0, 250.0, 0.0)
    scenario, _ = load_scenario(SCENARIO)
    assert isinstance(scenario, SmallUasScenario)
    assert (scenario.metrics.nmac_radius_ft, scenario.metrics.nmac_half_height_ft) == (50.0, 15.0)
    assert scenario.metrics.well_clear == "suas"


def test_mission_time_at_tcpa_is_uniform_over_the_pattern():
    scenario, _ = load_scenario(SCENARIO)
    mission = Mission.from_spec(scenario.ownship)
    n = 4000
    sample = sample_missions(mission, 7, np.arange(n), np.zeros(n, dtype=np.int64), 60, 90)
    phase = (sample.initial["mission_time_tcpa_s"] / sample.initial["period_s"]).to_numpy()
    counts = np.histogram(phase, np.linspace(0, 1, 11))[0]
    chi2 = float(np.sum((counts - n / 10) ** 2 / (n / 10)))
    assert chi2 < 27.88  # chi-square, 9 degrees of freedom, 99.9 % quantile
    speed, alt = sample.initial["speed_kt"].to_numpy(), sample.initial["alt_ft"].to_numpy()
    assert speed.min() >= 25.0 and speed.max() <= 40.0 and alt.min() >= 200.0 and alt.max() <= 400.0
    # at tCPA each flies the segment its drawn mission time falls in
    for row in range(20):
        speed_fps = units.kt_to_fps(speed[row])
        sense = sample.initial["sense"].iloc[row]
        segments = commanded_segments(mission.pattern, mission.performance, speed_fps, sense)
        ends = np.cumsum([k for k, _ in segments])
        step = int(round(sample.initial["mission_time_tcpa_s"].iloc[row] / STEP_S))
        expected = segments[int(np.searchsorted(ends, step, side="right"))][1]
        rows = sample.schedule.rows_of(row)
        in_force = rows["psidot_rad_s"][np.searchsorted(rows["t_s"], 60.0 + 1e-9) - 1]
        assert in_force == pytest.approx(expected, rel=1e-12)


@pytest.fixture(scope="module")
def survey():
    scenario, text = load_scenario(SCENARIO)
    return scenario, generate_encounters(scenario, text, ids=np.arange(300), keep_trajectories=True)


def test_survey_encounters_stay_in_their_presets_and_replay_exactly(survey):
    scenario, encounters = survey
    own, intr = encounters.trajectories
    assert own.up_ft.min() >= 200.0 and own.up_ft.max() <= 400.0  # level inside the band
    assert np.ptp(own.up_ft, axis=1).max() < 1e-6
    speed_kt = units.fps_to_kt(own.speed_fps)
    assert speed_kt.min() >= 25.0 and speed_kt.max() <= 40.0
    turn_rate = np.abs(np.diff(np.unwrap(own.heading_rad, axis=1), axis=1)) / 0.1
    assert np.degrees(turn_rate.max()) <= 30.0 + 1.0  # the multirotor's 30 deg/s (1 deg/s of roll-loop jitter)
    assert np.degrees(np.abs(own.bank_rad).max()) <= 31.0  # pattern turns bank at most 30 deg
    assert encounters.own_limits == PERFORMANCE_PRESETS["multirotor"].limits()
    assert "ownship small UAS lawnmower (multirotor), intruder uncor_1200only_rotorcraft_v1p2" in repr(encounters)
    for initial, schedule, placed, limits in (
        (encounters.own_initial, encounters.own_schedule, own, encounters.own_limits),
        (encounters.int_initial, encounters.int_schedule, intr, None),
    ):
        replay = fly_commands(initial, schedule, scenario.geometry.duration_s, limits=limits)
        np.testing.assert_allclose(replay.north_ft, placed.north_ft, atol=1e-6)
        np.testing.assert_allclose(replay.up_ft, placed.up_ft, atol=1e-6)
    from encsim.simulate import simulate

    nominal = simulate(encounters, "unequipped")  # the closed loop flies the ownship with its limits too
    np.testing.assert_array_equal(nominal["nominal_nmac"].to_numpy(), encounters.metadata["nmac"].to_numpy())


def test_survey_geometry_and_weights_are_the_pairings(survey):
    scenario, encounters = survey
    meta = encounters.metadata
    own, intr = encounters.trajectories
    k = scenario.geometry.tcpa_s * 10
    np.testing.assert_allclose(np.mod(own.heading_rad[:, k] + np.pi, 2 * np.pi) - np.pi, 0.0, atol=1e-9)
    range_at_tcpa = np.hypot(intr.north_ft[:, k] - own.north_ft[:, k], intr.east_ft[:, k] - own.east_ft[:, k])
    np.testing.assert_allclose(range_at_tcpa, np.abs(meta["hmd_signed_sampled_ft"]), rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(
        meta["weight"], meta["weight_normaliser"] * meta["weight_hmd"] * meta["weight_vmd"], rtol=1e-12
    )
    recomputed = relative_speed_normaliser(
        meta["own_hspeed_tcpa_fps"].to_numpy(),
        meta["int_hspeed_tcpa_fps"].to_numpy(),
        meta["own_hdot_tcpa_fps"].to_numpy(),
        meta["int_hdot_tcpa_fps"].to_numpy(),
    )
    np.testing.assert_allclose(meta["weight_normaliser"], recomputed, rtol=1e-12)
    acceptance = vmd_acceptance(scenario.geometry.vmd_weights)
    np.testing.assert_allclose(meta["weight_vmd"], 1 / acceptance[meta["vmd_bin"] - 1])
    edges = np.asarray(scenario.geometry.hmd_edges_ft)
    proportions = np.asarray(scenario.geometry.hmd_proportions) / np.sum(scenario.geometry.hmd_proportions)
    b = np.searchsorted(edges, meta["hmd_signed_sampled_ft"].to_numpy(), side="right") - 1
    q = proportions[b] / np.diff(edges)[b]
    np.testing.assert_allclose(meta["weight_hmd"], (1 / (2 * scenario.geometry.max_hmd_ft)) / q, rtol=1e-12)
    assert encounters.rejections["vmd"] > 0 and encounters.rejections["filter_ownship"] == 0


GAS_SCENARIO = """
[encounter]
kind = "small_uas"
[ownship]
pattern = "lawnmower"
performance = "multirotor"
[intruder]
model = "uncor_1200only_rotorcraft_v1p2"
presets = { G = 1, A = 4, L = 1 }
[geometry]
tcpa_s = 30
duration_s = 40
hmd_edges_ft = [-2000, -1000, -500, -50, 0, 50, 500, 1000, 2000]
hmd_proportions = [1, 1, 1, 2, 2, 1, 1, 1]
vmd_edges_ft = [-500, -100, 0, 100, 500]
vmd_weights = [1, 1, 1, 1]
check_hmd_vmd = false
[metrics]
nmac = "suas"
well_clear = "suas"
[run]
encounters = 3000
seed = 5
"""


def test_gas_model_identity_for_the_small_cylinder():
    """Weighted P(|HMD| < 50 ft given |HMD| < R) = 50 / R for R = 500, 1000, 2000 ft, within 99 % intervals."""
    scenario = parse_scenario(GAS_SCENARIO)
    meta = generate_encounters(scenario).metadata
    hmd = np.abs(meta["hmd_signed_sampled_ft"].to_numpy())
    w = meta["weight"].to_numpy()
    for radius in (500.0, 1000.0, 2000.0):
        inside = hmd < radius
        x, wi = (hmd[inside] < 50.0).astype(float), w[inside]
        p = np.sum(wi * x) / np.sum(wi)
        se = np.sqrt(np.sum((wi * (x - p)) ** 2)) / np.sum(wi)  # ratio estimator, delta method
        assert abs(p - 50.0 / radius) <= 2.576 * se, (radius, p, 50.0 / radius, se)
        assert se < 0.25 * 50.0 / radius  # the interval is tight enough to mean something


def test_files_record_the_kind_and_refuse_a_newer_format(tmp_path):
    from encsim.io.encounters_file import FORMAT_VERSION, UnsupportedFormatError, read_encounter_file
    from encsim.io.results_file import read_results
    from encsim.runner import write_encounter_file

    scenario, text = load_scenario(SCENARIO)
    path = tmp_path / "suas.h5"
    scenario = scenario.model_copy(update={"run": scenario.run.model_copy(update={"encounters": 20})})
    write_encounter_file(path, scenario, text, "unequipped", [0])
    data = read_encounter_file(path)
    assert data["attrs"]["encounter_format_version"] == FORMAT_VERSION == 2
    assert data["attrs"]["encounter_kind"] == "small_uas"
    assert data["attrs"]["ownship_model"] == "small_uas:lawnmower/multirotor"
    assert data["closed_loop"]["ownship_limits"]["hdot_max_fps"] == pytest.approx(500 / 60)
    with h5py.File(path, "r+") as f:
        f.attrs["encounter_format_version"] = FORMAT_VERSION + 1
    for reader in (read_encounter_file, read_results):
        with pytest.raises(UnsupportedFormatError, match=f"format version {FORMAT_VERSION + 1}, newer than"):
            reader(path)


def test_the_small_uas_daa_preset_is_do365b_with_every_detector_at_the_small_uas_well_clear():
    from encsim.avoidance.daidalus import preset

    sua, do365b = preset("sua"), preset("do365b")
    assert [a.name for a in sua.alerters] == [a.name for a in do365b.alerters]
    for small, manned in zip(sua.alerters, do365b.alerters):
        assert len(small.levels) == len(manned.levels) == 3
        for level, reference in zip(small.levels, manned.levels):
            assert (level.dthr_ft, level.zthr_ft, level.tthr_s, level.tcoa_s) == (2000.0, 250.0, 0.0, 0.0)
            assert (level.region, level.alerting_time_s, level.early_alerting_time_s, level.detector) == (
                reference.region,
                reference.alerting_time_s,
                reference.early_alerting_time_s,
                reference.detector,
            )
    assert (sua.min_horizontal_recovery_ft, sua.min_vertical_recovery_ft) == (2000.0, 250.0)
    assert (sua.horizontal_nmac_ft, sua.vertical_nmac_ft) == (SMALL_UAS_NMAC.radius_ft, SMALL_UAS_NMAC.half_height_ft)
    assert sua.lookahead_time_s == do365b.lookahead_time_s and sua.turn_rate_dps == do365b.turn_rate_dps


def test_the_summary_warns_about_the_scored_volumes_not_the_manned_ones(survey):
    from encsim.io.scenario import scored_regions_ft
    from encsim.metrics import closed_loop_summary
    from encsim.simulate import simulate

    scenario, encounters = survey
    outcomes = simulate(encounters, "unequipped")
    outcomes["nominal_vmd_ft"] = np.minimum(outcomes["nominal_vmd_ft"], 300.0)  # all inside the manned 450 ft
    assert outcomes["nominal_hmd_ft"].max() < 4000.0 < 2 * outcomes["nominal_hmd_ft"].max()

    def lowc_notes(**kwargs):
        rows = closed_loop_summary(outcomes, **kwargs)
        return " ".join(next(row for row in rows if row.name == "P(LoWC) nominal").notes)

    assert "inside the LoWC region (4000 ft / 450 ft)" in lowc_notes()  # DEGAS's default regions
    assert scored_regions_ft(scenario) == ((50.0, 15.0), (2000.0, 250.0))
    assert "inside the LoWC region" not in lowc_notes(regions_ft=scored_regions_ft(scenario))


def test_a_run_directory_of_small_uas_encounters_resumes_and_joins(tmp_path):
    from encsim.io.results_file import read_results
    from encsim.runner import run_scenario

    text = (
        SCENARIO.read_text()
        .replace("encounters = 2000", "encounters = 12")
        .replace("chunk_size = 500", "chunk_size = 6")
    )
    scenario_file = tmp_path / "suas.toml"
    scenario_file.write_text(text)
    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario_file, run_dir, logic="unequipped", stop_after=1)
    result = run_scenario(scenario_file, run_dir, logic="unequipped", resume=True)
    assert (result.chunks_computed, result.chunks_reused, result.encounters) == (1, 1, 12)
    joined = read_results(run_dir)
    assert joined["attrs"]["encounter_kind"] == "small_uas"
    assert joined["attrs"]["ownship_model"] == "small_uas:lawnmower/multirotor"
    assert joined["closed_loop"]["ownship_limits"]["speed_max_fps"] == pytest.approx(units.kt_to_fps(40.0))
    direct = generate_encounters(load_scenario(scenario_file)[0], ids=np.arange(12)).metadata
    np.testing.assert_array_equal(joined["metadata"]["weight"].to_numpy(), direct["weight"].to_numpy())
