"""DAIDALUS files: the .daa reader and writer, and the .conf reader with its presets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import SHARED_DATA_DIR

from encsim.avoidance.daidalus import (
    PRESETS,
    DaidalusConfigError,
    alert_timeline,
    preset,
    read_daidalus_config,
    replay_daa,
)
from encsim.io.daa_file import (
    EARTH_RADIUS_FT,
    STD_FIELDS,
    DaaFileError,
    project_geodetic,
    project_to_plane,
    read_daa,
    write_daa,
)
from encsim.units import FPS_PER_KT, FT_PER_NM

SCENARIO_DIR = SHARED_DATA_DIR / "daidalus" / "scenarios"
CONFIG_DIR = SHARED_DATA_DIR / "daidalus" / "configurations"
NRC_DIR = SHARED_DATA_DIR / "nrc-intercepts"
DAA_FILES = [*sorted(SCENARIO_DIR.glob("*.daa")), SCENARIO_DIR / "H0_0_120.xyz"] if SCENARIO_DIR.is_dir() else []

EUCLIDEAN = """\
# a comment line
lookahead_time = 120 [s]
NAME sx sy sz trk gs vs time alerter   # trailing comment
[none] [nmi] [nmi] [ft] [deg] [knot] [fpm] [s] [none]
Own, 0.0, 0.0, 5000.0, 90.0, 120.0, 0.0, 0.0, 1
Bob, 5.0, 0.0, 5100.0, 270.0, 100.0, -600.0, 0.0, 2
Own, 0.0333333, 0.0, 5000.0, 90.0, 120.0, 0.0, 1.0, 1
Bob; 4.9722222; 0.0; 5090.0; 270.0; 100.0; -600.0; 1.0; 2
"""


@pytest.mark.parametrize("path", DAA_FILES, ids=lambda p: p.name)
def test_every_shared_daa_file_reads(shared_data_dir, path):
    daa = read_daa(path)
    assert daa.geodetic == (path.suffix == ".daa" and path.stem[0] in "CH")
    assert daa.aircraft[0] == "Ownship" and len(daa.aircraft) >= 2
    steps = daa.steps()
    assert [s.time_s for s in steps] == sorted({float(t) for t in daa.rows["time_s"]})


@pytest.mark.parametrize("path", sorted(NRC_DIR.glob("*.daa")) if NRC_DIR.is_dir() else [], ids=lambda p: p.stem)
def test_nrc_intercepts_read_as_they_are(shared_data_dir, path):
    daa = read_daa(path)
    assert daa.geodetic and daa.aircraft[0] == "C-FYZV" and len(daa.aircraft) == 2
    times = np.unique(daa.rows["time_s"])
    assert np.allclose(np.diff(times), 0.1, atol=1e-6)  # 10 Hz, large absolute times
    assert times[0] > 1000
    # m/s columns: the intruder's horizontal speed is that of a light aircraft, not 3x it
    speeds_kt = np.hypot(daa.rows["vx_fps"], daa.rows["vy_fps"]) / FPS_PER_KT
    assert 20 < np.median(speeds_kt) < 200


def test_nrc_vertical_rate_from_the_altitude_track(shared_data_dir):
    as_written = read_daa(NRC_DIR / "NRC_Intercept3.daa")
    derived = read_daa(NRC_DIR / "NRC_Intercept3.daa", vz_from="altitude")
    own = as_written.rows["aircraft"] == "C-FYZV"
    climb = np.gradient(as_written.rows.loc[own, "alt_ft"], as_written.rows.loc[own, "time_s"])
    assert np.allclose(derived.rows.loc[own, "vz_fps"], climb)
    # the ownship's written vz is positive down: anti-correlated with the altitude track
    assert np.corrcoef(as_written.rows.loc[own, "vz_fps"], climb)[0, 1] < -0.5


def test_euclidean_text_with_aliases_separators_comments_and_parameters():
    daa = read_daa(EUCLIDEAN)
    assert daa.parameters == {"lookahead_time": "120 [s]"}
    assert daa.aircraft == ("Own", "Bob") and not daa.geodetic
    bob = daa.rows[daa.rows["aircraft"] == "Bob"].iloc[0]
    assert bob["x_ft"] == pytest.approx(5 * FT_PER_NM)
    assert bob["vx_fps"] == pytest.approx(-100 * FPS_PER_KT) and abs(bob["vy_fps"]) < 1e-9
    assert bob["vz_fps"] == pytest.approx(-10.0) and bob["alerter"] == 2
    step = daa.steps()[1]
    assert step.time_s == 1.0 and step.traffic_names == ("Bob",)
    assert step.traffic[0, 2] == 5090.0


def test_defaults_without_a_units_row_and_the_clock_column():
    text = "aircraft x y\n".replace("x y", "lat lon alt track groundspeed hdot clock")
    text += "A 10.0 20.0 1000 0 100 0 01:00:00\nB 10.1 20.0 1000 180 100 0 01:00:00\n"
    daa = read_daa(text)
    assert daa.geodetic and list(daa.rows["time_s"]) == [3600.0, 3600.0]
    assert daa.rows["vy_fps"].iloc[0] == pytest.approx(100 * FPS_PER_KT)
    step = daa.steps()[0]
    assert step.traffic[0, 1] == pytest.approx(EARTH_RADIUS_FT * math.sin(math.radians(0.1)), rel=1e-12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NAME sx sy sz vx vy time\nA 0 0 0 1 1 0\n", ["line 1", "vz"]),
        (
            "NAME sx sy sz vx vy vz time\n[none] [nmi] [deg] [ft] [knot] [knot] [fpm] [s]\nA 0 0 0 1 1 0 0\n",
            ["line 2", "'sy'", "length"],
        ),
        (
            "NAME sx sy sz vx vy vz time\n[none] [nmi] [furlong] [ft] [knot] [knot] [fpm] [s]\nA 0 0 0 1 1 0 0\n",
            ["line 2", "furlong"],
        ),
        ("NAME sx sy sz vx vy vz time\nA 0 0 zero 1 1 0 0\n", ["line 2", "'sz'", "'zero'"]),
        ("NAME sx sy sz vx vy vz time\nA 0 0 0 1 1 0\n", ["line 2", "7 fields", "8 columns"]),
        ("NAME sx sy sz vx vy vz time\nA 0 0 0 1 1 0 5\nA 0 0 0 1 1 0 4\n", ["line 3", "backwards"]),
        ("NAME sx sy sz vx vy vz clock\nA 0 0 0 1 1 0 12.5\n", ["line 2", "HH:MM:SS"]),
        ("# nothing\n", ["no header"]),
        ("NAME sx sy sz vx vy vz time\n", ["no data rows"]),
    ],
)
def test_reader_errors_name_the_line_and_column(text, expected):
    with pytest.raises(DaaFileError) as err:
        read_daa(text)
    for fragment in expected:
        assert fragment in str(err.value)


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(DaaFileError, match="cannot read"):
        read_daa(tmp_path / "absent.daa")


@pytest.mark.parametrize("name", ["P15.daa", "P08.daa", "H0_0_120.xyz", "C1_0_120_W.daa", "H1_SUM.daa"])
def test_writer_round_trip(shared_data_dir, tmp_path, name):
    original = read_daa(SCENARIO_DIR / name)
    path = tmp_path / "copy.daa"
    write_daa(path, original.rows, comment=f"copy of {name}")
    copy = read_daa(path)
    assert copy.geodetic == original.geodetic and copy.aircraft == original.aircraft
    assert copy.has_wind == original.has_wind
    columns = ["time_s", "alt_ft", "vx_fps", "vy_fps", "vz_fps", "alerter", *STD_FIELDS]
    columns += ["lat_deg", "lon_deg"] if original.geodetic else ["x_ft", "y_ft"]
    columns += ["heading_deg", "airspeed_fps"] if original.has_wind else []
    for column in columns:
        np.testing.assert_allclose(copy.rows[column], original.rows[column], rtol=1e-13, atol=1e-12, err_msg=column)


def test_written_file_replays_to_the_same_alerts(shared_data_dir, tmp_path):
    original = read_daa(SCENARIO_DIR / "C1_0_120_W.daa")
    write_daa(tmp_path / "w.daa", original.rows)
    assert alert_timeline(replay_daa(tmp_path / "w.daa", "do365b")) == alert_timeline(replay_daa(original, "do365b"))


def test_geodetic_and_euclidean_h0_give_the_same_alerts(shared_data_dir):
    geodetic = replay_daa(SCENARIO_DIR / "H0_0_120.daa", "do365b")
    euclidean = replay_daa(SCENARIO_DIR / "H0_0_120.xyz", "do365b")
    assert alert_timeline(geodetic) == alert_timeline(euclidean)


def test_projection_keeps_distances_and_velocities_near_the_ownship():
    x, y = project_to_plane(np.array([45.01]), np.array([-75.0]), 45.0, -75.0)
    assert x[0] == pytest.approx(0.0, abs=1e-6)
    assert y[0] == pytest.approx(EARTH_RADIUS_FT * math.sin(math.radians(0.01)), rel=1e-12)
    _, _, vx, vy = project_geodetic(
        np.array([45.0]), np.array([-75.0]), np.array([100.0]), np.array([0.0]), 45.0, -75.0
    )
    assert vx[0] == pytest.approx(100.0, rel=1e-8) and abs(vy[0]) < 1e-3


# --- configurations -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(name for name, (_, file_name) in PRESETS.items() if file_name))
def test_presets_equal_the_shared_configuration_files(shared_data_dir, name):
    text, file_name = PRESETS[name]
    assert preset(name) == read_daidalus_config(CONFIG_DIR / file_name)
    assert preset(name).sha256 != read_daidalus_config(text + "# edited\n").sha256


def test_config_values_in_encsim_units():
    cfg = preset("do365b")
    assert cfg.lookahead_time_s == 180.0 and cfg.turn_rate_dps == 3.0
    assert cfg.horizontal_accel_fps2 == pytest.approx(2.0 / 0.3048)
    assert cfg.vertical_accel_fps2 == pytest.approx(0.25 * 9.80665 / 0.3048)
    assert cfg.min_horizontal_recovery_ft == pytest.approx(0.66 * FT_PER_NM)
    assert cfg.vertical_rate_fpm == 500.0 and cfg.corrective_region == "MID"
    assert cfg.alerter(3).name == "DWC_Non_Coop" and cfg.alerter(4) is None
    assert preset("do365a").alerter(3) is None
    assert cfg.alerters[0].corrective_level("MID") == 2


def test_a_value_without_unit_is_in_daidalus_internal_units():
    text = PRESETS["do365b"][0].replace("min_vertical_recovery = 450.0 [ft]", "min_vertical_recovery = 100")
    assert read_daidalus_config(text).min_vertical_recovery_ft == pytest.approx(100 / 0.3048)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("lookahead_time = 180.0 [s]", "lookahead_time = 180.0 [s]\nwidget = 3"),
            ["line 3", "'widget'", "unknown key"],
        ),
        (("lookahead_time = 180.0 [s]", "lookahead_time 180.0 [s]"), ["line 2", "malformed"]),
        (("lookahead_time = 180.0 [s]", "lookahead_time = 180.0 [ft]"), ["line 2", "'lookahead_time'", "[ft]"]),
        (("lookahead_time = 180.0 [s]", "lookahead_time = 180.0 [parsec]"), ["'lookahead_time'", "unknown unit"]),
        (("lookahead_time = 180.0 [s]", "lookahead_time = soon [s]"), ["'lookahead_time'", "not a number"]),
        (("ca_bands = true", "ca_bands = maybe"), ["'ca_bands'", "true or false"]),
        (("corrective_region = MID", "corrective_region = SOMEWHERE"), ["corrective_region", "not one of"]),
        (("ACCoRD.WCV_TAUMOD\n", "ACCoRD.CDCylinder\n"), ["load_core_detection", "not supported"]),
        (("DWC_Phase_I_alert_1_region = NONE\n", ""), ["DWC_Phase_I_alert_1", "missing region"]),
        (("lookahead_time = 180.0 [s]\n", ""), ["missing parameter", "lookahead_time_s"]),
    ],
)
def test_config_errors_name_the_line_and_key(edit, expected):
    old, new = edit
    text = PRESETS["do365b"][0]
    assert old in text
    with pytest.raises(DaidalusConfigError) as err:
        read_daidalus_config(text.replace(old, new, 1))
    for fragment in expected:
        assert fragment in str(err.value)
