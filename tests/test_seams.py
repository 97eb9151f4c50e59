"""The closed loop's surveillance and pilot seams (issue 15): reference models, user models, the twin.

The reference sensor, tracker and pilot models are tested against their stated statistics in
tests/test_sensors.py, tests/test_tracker.py and tests/test_pilots.py; here, how the closed loop
uses them: the kernel against its plain-Python twin, chunk invariance, the R6 deterministic timeline,
TCAS non-compliance, no track, the contracts of user models, and the provenance.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import PROJECT_ROOT
from test_closed_loop import head_on

from encsim.avoidance import REFERENCE_LOGICS
from encsim.encounters import generate_encounters
from encsim.io.scenario import load_scenario
from encsim.sensors import ALTIMETRY_ICAO_ANNEX10, NAVIGATION_DO365, RadarParams
from encsim.simulate import (
    LogicRunError,
    SeamContractError,
    check_pilot,
    check_surveillance,
    closed_loop_provenance,
    pilot_config,
    pilot_from_provenance,
    simulate,
    simulate_states,
    surveillance_config,
    surveillance_from_provenance,
)

SCENARIO = PROJECT_ROOT / "scenarios" / "uncor_1200code_v2p1_above_500ft.toml"


@pytest.fixture(scope="module")
def encounters():
    scenario, text = load_scenario(SCENARIO)
    return generate_encounters(scenario, text, ids=np.arange(10))


def _numeric(frame):
    return frame[[c for c in frame.columns if c != "encounter_id"]].to_numpy(float)


def _twin(encounters, logic_name, **seams):
    function, make_params = REFERENCE_LOGICS[logic_name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return simulate(encounters, (function.py_func, make_params()), **seams)  # the plain-Python closed loop


@pytest.mark.parametrize(
    "seams",
    [
        {"surveillance": "adsb+tracker", "pilot": "r6"},
        {"surveillance": "radar", "pilot": "standard"},
        {
            "surveillance": surveillance_config(
                "active", navigation=NAVIGATION_DO365, altimetry=ALTIMETRY_ICAO_ANNEX10, altimetry_to_truth=True
            ),
            "pilot": "r6-deterministic",
        },
    ],
    ids=["adsb+tracker+r6", "radar+standard", "active+nav+altimetry-to-truth+r6-deterministic"],
)
def test_the_kernel_agrees_with_its_plain_python_twin(encounters, seams):
    fast = simulate(encounters, "daa", **seams)
    slow = _twin(encounters, "daa", **seams)
    np.testing.assert_array_equal(_numeric(fast), _numeric(slow))
    perfect = simulate(encounters, "daa")
    assert fast["alerted"].any()
    # what the logic sees changed the decisions, never the nominal flights
    assert not np.array_equal(fast["t_first_alert_s"].to_numpy(), perfect["t_first_alert_s"].to_numpy(), equal_nan=True)
    if not isinstance(seams["surveillance"], str):  # the altimetry bias moves the true vertical miss distance
        assert not np.array_equal(fast["nominal_vmd_ft"], perfect["nominal_vmd_ft"])
    else:
        np.testing.assert_array_equal(fast["nominal_hmd_ft"], perfect["nominal_hmd_ft"])


def test_draws_do_not_depend_on_chunking_and_models_do_not_shift_each_other(encounters):
    seams = {"surveillance": surveillance_config("adsb+tracker", navigation=NAVIGATION_DO365), "pilot": "r6"}
    whole = simulate(encounters, "daa", **seams)
    scenario, text = load_scenario(SCENARIO)
    part = simulate(generate_encounters(scenario, text, ids=np.arange(5, 10)), "daa", **seams)
    rows = whole.set_index("encounter_id").loc[part["encounter_id"]]
    np.testing.assert_array_equal(_numeric(rows.reset_index()), _numeric(part))
    # the pilot's draws are its own: the same sensor with another pilot sees the same first alerts
    standard = simulate(encounters, "daa", surveillance=seams["surveillance"])
    np.testing.assert_array_equal(standard["open_loop_t_first_alert_l1_s"], whole["open_loop_t_first_alert_l1_s"])


def test_r6_deterministic_manoeuvres_5_plus_11_plus_3_s_after_the_corrective_alert():
    own, own_s, intruder, int_s = head_on(3000.0)
    row = simulate_states(own, own_s, intruder, int_s, 60.0, "daa", pilot="r6-deterministic").iloc[0]
    assert row["t_first_manoeuvre_s"] - row["t_first_alert_l2_s"] == pytest.approx(19.0, abs=1e-9)
    standard = simulate_states(own, own_s, intruder, int_s, 60.0, "daa").iloc[0]
    assert standard["t_first_manoeuvre_s"] - standard["t_first_alert_l2_s"] == pytest.approx(5.0, abs=1e-9)


def test_tcas_non_compliance_one_flies_the_nominal_path_zero_changes_nothing():
    own, own_s, intruder, int_s = head_on(3000.0)
    standard = simulate_states(own, own_s, intruder, int_s, 60.0, "tcas").iloc[0]
    complying = simulate_states(own, own_s, intruder, int_s, 60.0, "tcas", pilot=pilot_config()).iloc[0]
    assert standard.equals(complying) and standard["max_deviation_ft"] > 100.0
    never = pilot_config("standard", probability_noncompliance=1.0)
    ignored = simulate_states(own, own_s, intruder, int_s, 60.0, "tcas", pilot=never).iloc[0]
    assert ignored["alerted"] and ignored["max_deviation_ft"] == 0.0 and ignored["mitigated_nmac"]
    assert math.isnan(ignored["t_first_manoeuvre_s"])


def test_without_a_track_the_logic_is_not_called():
    own, own_s, intruder, int_s = head_on(3000.0)
    never = ("seam_models:offset_sensor", [0.0, 0.0, 1000.0])
    row = simulate_states(own, own_s, intruder, int_s, 60.0, "daa", surveillance=never).iloc[0]
    assert not row["alerted"] and row["mitigated_nmac"]
    # a radar that sees only within 100 ft: the intruder is first tracked near the closest approach (40 s)
    short = surveillance_config("radar", params=RadarParams(max_range_nmi=100.0 / 6076.12))
    row = simulate_states(own, own_s, intruder, int_s, 60.0, "daa", surveillance=short).iloc[0]
    assert row["t_first_alert_s"] >= 39.0 and row["mitigated_nmac"]
    late = ("seam_models:offset_sensor", [0.0, 0.0, 30.0])  # a user's model, given by import path and params
    first = simulate_states(own, own_s, intruder, int_s, 60.0, "daa", surveillance=surveillance_config(late)).iloc[0]
    assert first["t_first_alert_s"] >= 30.0


def test_user_models_by_import_path_are_checked_and_flown():
    from seam_models import bad_mode_pilot, nan_sensor, offset_sensor, turn_right_pilot

    shares = check_surveillance(offset_sensor, np.array([100.0, 50.0, 10.0]))
    assert shares["head-on, co-altitude"] == pytest.approx(51 / 61)
    assert check_surveillance("adsb+tracker")["head-on, co-altitude"] > 0.3
    with pytest.raises(SeamContractError, match="non-finite seen state"):
        check_surveillance(nan_sensor)
    assert check_pilot(turn_right_pilot) == {"alert 10-40 s": True}
    assert check_pilot("r6-deterministic") == {"alert 10-40 s": True}
    with pytest.raises(SeamContractError, match="vertical mode 5.0"):
        check_pilot(bad_mode_pilot)
    own, own_s, intruder, int_s = head_on(3000.0)
    flown = simulate_states(own, own_s, intruder, int_s, 60.0, "daa", pilot="seam_models:turn_right_pilot").iloc[0]
    assert not flown["mitigated_nmac"] and flown["t_first_manoeuvre_s"] == flown["t_first_alert_l2_s"]
    with pytest.raises(
        LogicRunError, match=r"pilot model that wrote a non-finite or out-of-range command, command\[2\]"
    ):
        simulate_states(own, own_s, intruder, int_s, 60.0, "daa", pilot="seam_models:bad_mode_pilot")
    with pytest.raises(SeamContractError, match="expected one of"):
        surveillance_config("lidar")
    # a user's model runs bounds-checked in the kernel: writing past seen stops the run, named
    for sensor in ("seam_models:out_of_bounds_sensor", "seam_models:nan_sensor"):
        with pytest.raises(
            LogicRunError, match=r"non-finite state by the surveillance model .* at t = \d+ s of encounter 0"
        ):
            simulate_states(own, own_s, intruder, int_s, 60.0, "daa", surveillance=sensor)


def test_provenance_names_the_models_and_reads_back():
    seams = {
        "surveillance": surveillance_config("adsb+tracker", altimetry=ALTIMETRY_ICAO_ANNEX10),
        "pilot": pilot_config("r6"),
    }
    provenance = closed_loop_provenance("daa", **seams)
    assert provenance["surveillance"]["model"] == "adsb" and provenance["surveillance"]["tracker"]
    assert len(provenance["surveillance"]["source_sha256"]) == 64
    assert provenance["pilot"]["model"] == "r6" and provenance["pilot"]["params"]["coordination_delay_shape"] == 5.5
    assert provenance["pilot"]["initial_delay_s"] == 5.0  # the standard pilot's fields, as before the seam
    assert surveillance_from_provenance(provenance["surveillance"]) == seams["surveillance"]
    assert pilot_from_provenance(provenance["pilot"]) == seams["pilot"]
    user = closed_loop_provenance("daa", surveillance=("seam_models:offset_sensor", [1.0, 2.0, 3.0]))
    assert user["surveillance"]["model"] == "seam_models:offset_sensor"
    assert user["surveillance"]["params"] == {"params": [1.0, 2.0, 3.0]}
    perfect = closed_loop_provenance("daa")["surveillance"]
    assert perfect["model"] == "perfect" and surveillance_from_provenance(perfect) == surveillance_config()


SEAM_TABLES = """
[surveillance]
model = "radar"
navigation = true
[surveillance.radar]
azimuth_limit_deg = 60
[altimetry]
to_truth = false
[pilot]
model = "r6"
coordination_delay_scale_s = 3.0
"""


def test_scenario_tables_are_strict_and_reach_the_closed_loop(tmp_path):
    from conftest import small_scenario_text

    from encsim.io.scenario import ScenarioError, parse_scenario
    from encsim.simulate import scenario_seams

    plain = parse_scenario(small_scenario_text("seams"), check_models=False)
    assert scenario_seams(plain) == (surveillance_config(), pilot_config())  # no tables: perfect, standard
    text = small_scenario_text("seams", encounters=6, chunk_size=3) + SEAM_TABLES
    scenario = parse_scenario(text)
    surveillance, pilot = scenario_seams(scenario)
    assert surveillance.model == "radar" and surveillance.sensor_params.azimuth_limit_deg == 60
    assert surveillance.navigation is not None and surveillance.altimetry is not None
    assert pilot.r6_params.coordination_delay_scale_s == 3.0
    for bad, words in (
        ('[surveillance]\nmodel = "lidar"\n', "surveillance.model = 'lidar': surveillance model 'lidar': expected"),
        ('[surveillance]\nmodel = "radar"\n[surveillance.radar]\nazimuth_limit_deg = 200\n', r"azimuth_limit_deg=200"),
        ('[pilot]\nmodel = "r6"\ncoordination_delay = 3\n', r"pilot.coordination_delay = 3: unknown key"),
        ("[tracker]\n", r"tracker: surveillance model 'perfect' reports the truth"),
    ):
        with pytest.raises(ScenarioError, match=words):
            parse_scenario(small_scenario_text("seams") + bad, source="bad.toml", check_models=False)
    path = tmp_path / "seams.toml"
    path.write_text(text)
    from encsim.runner import run_scenario

    run = run_scenario(path, tmp_path / "run", logic="daa", pilot="r6-deterministic")
    from encsim import open_results

    results = open_results(run.results_path)
    closed_loop = results.provenance["closed_loop"]
    assert (
        closed_loop["surveillance"]["model"] == "radar"
        and closed_loop["surveillance"]["params"]["azimuth_limit_deg"] == 60
    )
    assert closed_loop["pilot"]["model"] == "r6-deterministic"  # the override, written into the run's text
    assert 'model = "r6-deterministic"' in results.provenance["scenario_text"]
    # the replay flies the recorded seams and finds the stored outcome
    import encsim

    replay = encsim.replay(results, int(results.outcomes["encounter_id"].iloc[0]))
    assert replay.outcome.equals(replay.stored) or np.allclose(replay.outcome, replay.stored, equal_nan=True)


def test_cli_run_takes_surveillance_and_pilot_options(tmp_path):
    import json

    import h5py
    from click.testing import CliRunner
    from conftest import small_scenario_text

    from encsim.cli import main

    path = tmp_path / "s.toml"
    path.write_text(small_scenario_text("cli_seams", encounters=4, chunk_size=4))
    output = tmp_path / "r.h5"
    result = CliRunner().invoke(
        main,
        ["run", str(path), "--logic", "daa", "--surveillance", "adsb+tracker", "--pilot", "r6", "-o", str(output)],
    )
    assert result.exit_code == 0, result.output
    with h5py.File(output) as file:
        group = next(file[name] for name in file if "closed_loop" in file[name].attrs)
        closed_loop = json.loads(group.attrs["closed_loop"])
    assert closed_loop["surveillance"]["model"] == "adsb" and closed_loop["surveillance"]["tracker"]
    assert closed_loop["pilot"]["model"] == "r6"
    bad = CliRunner().invoke(main, ["run", str(path), "--logic", "daa", "--pilot", "r7", "-o", str(tmp_path / "b.h5")])
    assert bad.exit_code == 2 and "pilot model 'r7'" in bad.output


def test_sweeps_address_the_seams_keys():
    from conftest import small_scenario_text

    from encsim.io.overrides import check_override_key, with_overrides
    from encsim.io.scenario import parse_scenario

    for key in ("surveillance.radar.azimuth_limit_deg", "pilot.coordination_delay_scale_s", "altimetry.to_truth"):
        check_override_key(key)
    text = small_scenario_text("sweep_seams") + SEAM_TABLES
    edited = with_overrides(text, {"surveillance.radar.azimuth_limit_deg": 90, "pilot.coordination_delay_scale_s": 1.0})
    surveillance, pilot = parse_scenario(edited, check_models=False).surveillance_config(), None
    pilot = parse_scenario(edited, check_models=False).pilot_config()
    assert surveillance.sensor_params.azimuth_limit_deg == 90 and pilot.r6_params.coordination_delay_scale_s == 1.0
