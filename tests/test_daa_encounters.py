"""Generated encounters written as DAIDALUS .daa files (issue 14): round trips and a replay."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import small_scenario_text

from encsim.checksums import text_sha256
from encsim.cli import main
from encsim.dynamics import fly_commands
from encsim.encounters import generate_encounters
from encsim.io.daa_encounters import daa_file_name, write_encounters_daa
from encsim.io.daa_file import project_geodetic, project_to_plane, read_daa
from encsim.io.scenario import parse_scenario

ANCHOR = {"lat_deg": 45.2, "lon_deg": -75.3, "ground_alt_ft": 250.0}
ANCHOR_TOML = "[anchor]\nlat_deg = 45.2\nlon_deg = -75.3\nground_alt_ft = 250.0\n"


@pytest.fixture(scope="module")
def encounter_set():
    text = small_scenario_text("daa export", encounters=4, seed=11, hmd_ft=3000, vmd_ft=400)
    return generate_encounters(parse_scenario(text), text)


def _flown_1hz(encounters):
    duration = encounters.scenario.geometry.duration_s
    own = fly_commands(encounters.own_initial, encounters.ownship.schedule, duration, output_hz=1.0)
    intruder = fly_commands(encounters.int_initial, encounters.intruder.schedule, duration, output_hz=1.0)
    return own, intruder


def _expected(flown, row):
    horizontal = flown.speed_fps[row] * np.cos(flown.pitch_rad[row])
    return {
        "x_ft": flown.east_ft[row],
        "y_ft": flown.north_ft[row],
        "alt_ft": flown.up_ft[row],
        "vx_fps": horizontal * np.sin(flown.heading_rad[row]),
        "vy_fps": horizontal * np.cos(flown.heading_rad[row]),
        "vz_fps": flown.hdot_fps[row],
    }


def test_euclidean_files_read_back_as_the_flown_nominal_trajectories(encounter_set, tmp_path):
    paths = write_encounters_daa(encounter_set, tmp_path)
    ids = encounter_set.metadata["encounter_id"].to_numpy()
    assert [p.name for p in paths] == [daa_file_name(i) for i in ids]
    own, intruder = _flown_1hz(encounter_set)
    for row, path in enumerate(paths):
        daa = read_daa(path)
        assert not daa.geodetic and daa.aircraft == ("ownship", "intruder")  # ownship first
        text = path.read_text()
        assert f"scenario_sha256: {text_sha256(encounter_set.scenario_text)}" in text
        assert f"encounter_id: {ids[row]}" in text and "seed: 11" in text and "encsim " in text
        for name, flown in (("ownship", own), ("intruder", intruder)):
            rows = daa.rows[daa.rows["aircraft"] == name]
            np.testing.assert_array_equal(rows["time_s"].to_numpy(), np.arange(61.0))  # 1 Hz, 0..60 s
            for column, values in _expected(flown, row).items():
                np.testing.assert_allclose(rows[column].to_numpy(), values, rtol=0, atol=1e-6, err_msg=column)
        assert daa.rows["aircraft"].iloc[0] == "ownship" and daa.rows["x_ft"].iloc[0] == 0.0


def test_geodetic_files_read_back_at_the_anchor_within_the_stated_tolerance(encounter_set, tmp_path):
    paths = write_encounters_daa(encounter_set, tmp_path, anchor=ANCHOR)
    own, intruder = _flown_1hz(encounter_set)
    for row, path in enumerate(paths):
        daa = read_daa(path)
        assert daa.geodetic and "anchor 45.2, -75.3" in path.read_text()
        for name, flown in (("ownship", own), ("intruder", intruder)):
            rows = daa.rows[daa.rows["aircraft"] == name]
            x, y, vx, vy = project_geodetic(
                rows["lat_deg"].to_numpy(),
                rows["lon_deg"].to_numpy(),
                rows["vx_fps"].to_numpy(),
                rows["vy_fps"].to_numpy(),
                ANCHOR["lat_deg"],
                ANCHOR["lon_deg"],
            )
            expected = _expected(flown, row)
            np.testing.assert_allclose(x, expected["x_ft"], rtol=0, atol=1e-6)
            np.testing.assert_allclose(y, expected["y_ft"], rtol=0, atol=1e-6)
            np.testing.assert_allclose(vx, expected["vx_fps"], rtol=0, atol=1e-3)
            np.testing.assert_allclose(vy, expected["vy_fps"], rtol=0, atol=1e-3)
            np.testing.assert_allclose(rows["alt_ft"] - ANCHOR["ground_alt_ft"], expected["alt_ft"], rtol=0, atol=1e-9)
            np.testing.assert_allclose(rows["vz_fps"], expected["vz_fps"], rtol=0, atol=1e-9)
        # what DAIDALUS sees: each step projected at the ownship; the relative geometry (range,
        # range rate) is the flown one, whatever the tangent plane
        steps = daa.steps()
        rel = np.array([s.traffic[0] - s.own for s in steps])
        range_read = np.hypot(rel[:, 0], rel[:, 1])
        range_rate_read = (rel[:, 0] * rel[:, 3] + rel[:, 1] * rel[:, 4]) / range_read
        own_e, int_e = _expected(own, row), _expected(intruder, row)
        dx, dy = int_e["x_ft"] - own_e["x_ft"], int_e["y_ft"] - own_e["y_ft"]
        dvx, dvy = int_e["vx_fps"] - own_e["vx_fps"], int_e["vy_fps"] - own_e["vy_fps"]
        range_flown = np.hypot(dx, dy)
        np.testing.assert_allclose(range_read, range_flown, rtol=1e-5, atol=0.01)
        np.testing.assert_allclose(range_rate_read, (dx * dvx + dy * dvy) / range_flown, rtol=0, atol=0.01)


def test_anchor_projection_round_trip_is_exact_to_rounding():
    east = np.array([0.0, 6076.0, -40000.0, 90000.0])
    north = np.array([0.0, -3000.0, 45000.0, -120000.0])
    from encsim.io.daa_file import plane_to_geodetic

    lat, lon = plane_to_geodetic(east, north, 45.2, -75.3)
    x, y = project_to_plane(lat, lon, 45.2, -75.3)
    np.testing.assert_allclose(x, east, rtol=0, atol=1e-6)
    np.testing.assert_allclose(y, north, rtol=0, atol=1e-6)


def test_cli_writes_daa_files_that_encsim_daa_replays(tmp_path):
    scenario = tmp_path / "anchored.toml"
    scenario.write_text(small_scenario_text("anchored", encounters=3, seed=2) + ANCHOR_TOML)
    runner = CliRunner()
    result = runner.invoke(
        main, ["encounters", str(scenario), "-o", str(tmp_path / "set.h5"), "--daa", str(tmp_path / "daa"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 3 .daa files" in result.output and "geodetic" in result.output
    written = sorted((tmp_path / "daa").glob("*.daa"))
    assert len(written) == 3 and all(read_daa(p).geodetic for p in written)
    assert f"scenario_sha256: {text_sha256(scenario.read_text())}" in written[0].read_text()
    replay = runner.invoke(main, ["daa", str(written[0]), "--config", "do365b", "-o", str(tmp_path / "out.csv")])
    assert replay.exit_code == 0, replay.output
    assert "wrote" in replay.output and "intruder:" in replay.output
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert len(lines) == 1 + 61  # header + one row per 1-Hz step
    again = runner.invoke(
        main,
        ["encounters", str(scenario), "-o", str(tmp_path / "set2.h5"), "--daa", str(tmp_path / "daa"), "--quiet"],
    )
    assert again.exit_code == 2 and "already holds 3 encounter .daa files" in again.output


def test_the_scenario_anchor_is_optional_and_checked():
    from encsim.io.scenario import ScenarioError

    plain = small_scenario_text("plain")
    assert parse_scenario(plain).anchor is None
    anchored = parse_scenario(plain + ANCHOR_TOML).anchor
    assert (anchored.lat_deg, anchored.lon_deg, anchored.ground_alt_ft) == (45.2, -75.3, 250.0)
    with pytest.raises(ScenarioError, match=r"anchor\.lat_deg = 91\.0"):
        parse_scenario(plain + "[anchor]\nlat_deg = 91.0\nlon_deg = 0.0\n")
    with pytest.raises(ScenarioError, match=r"anchor\.height_ft .*unknown key"):
        parse_scenario(plain + "[anchor]\nlat_deg = 1.0\nlon_deg = 0.0\nheight_ft = 3.0\n")


def test_geodetic_and_euclidean_files_of_an_encounter_give_daidalus_the_same_alerts(encounter_set, tmp_path):
    from encsim.avoidance.daidalus import alert_timeline, replay_daa

    flat = write_encounters_daa(encounter_set, tmp_path / "flat")
    placed = write_encounters_daa(encounter_set, tmp_path / "placed", anchor=ANCHOR)
    timelines = []
    for euclidean, geodetic in zip(flat, placed, strict=True):
        a, b = replay_daa(euclidean, "do365b"), replay_daa(geodetic, "do365b")
        assert alert_timeline(a) == alert_timeline(b)
        np.testing.assert_allclose(a["hmd_nmi"], b["hmd_nmi"], rtol=1e-5, atol=1e-6)
        timelines.append(alert_timeline(a)["intruder"])
    assert any(timeline != "0@0" for timeline in timelines)  # some encounter alerts: the comparison means something
