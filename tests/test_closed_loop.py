"""Closed loop: the nominal run equals the generator's flight; hand-built encounters for `tcas`."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import PROJECT_ROOT

from encsim.avoidance import PilotModel
from encsim.commands import CommandSchedule
from encsim.dynamics import initial_states_from_sample
from encsim.encounters import generate_encounters
from encsim.io.scenario import load_scenario
from encsim.metrics import risk_ratio
from encsim.simulate import simulate, simulate_states


def head_on(int_alt_ft, intruder_rows=((0, 0, 0, 0),), own_alt_ft=3000.0):
    """Ownship north at 200 ft/s from the origin, intruder south at 200 ft/s from 16,000 ft north: CPA at 40 s."""
    own = initial_states_from_sample([200.0], [own_alt_ft], [0.0], [0.0], heading_rad=0.0)
    intruder = initial_states_from_sample([200.0], [int_alt_ft], [0.0], [0.0], heading_rad=math.pi, north_ft=[16000.0])
    return (
        own,
        CommandSchedule.from_lists([[(0, 0, 0, 0)]]),
        intruder,
        CommandSchedule.from_lists([list(intruder_rows)]),
    )


def test_unequipped_mitigated_equals_nominal_and_nominal_equals_the_generator():
    scenario, text = load_scenario(PROJECT_ROOT / "scenarios" / "fwse_vs_rotorcraft.toml")
    encounters = generate_encounters(scenario, text, ids=np.arange(150))
    outcome = simulate(encounters, "unequipped")
    np.testing.assert_allclose(outcome["nominal_hmd_ft"], encounters.metadata["hmd_ft"], atol=1e-6)
    np.testing.assert_array_equal(outcome["nominal_nmac"], encounters.metadata["nmac"])
    np.testing.assert_array_equal(outcome["nominal_lowc"], encounters.metadata["lowc"])
    np.testing.assert_array_equal(outcome["mitigated_hmd_ft"], outcome["nominal_hmd_ft"])
    assert not outcome["alerted"].any() and np.all(outcome["max_deviation_ft"] == 0)


@pytest.mark.parametrize(
    "seams",
    [
        {},
        {"surveillance": "adsb+tracker"},
        {"surveillance": "active", "navigation": True, "altimetry_to_truth": True},
        {"pilot": "r6"},
    ],
    ids=["perfect", "adsb+tracker", "active+nav+altimetry-to-truth", "r6-pilot"],
)
def test_unequipped_flown_once_is_bit_identical_to_flown_twice(monkeypatch, seams):
    """The kernel flies the ownship once for `unequipped` with the standard pilot (`_one_flight`); forced to
    fly the nominal and mitigated runs apart, it must give the same outcome table bit for bit."""
    import encsim.simulate as closed_loop
    from encsim.sensors import ALTIMETRY_ICAO_ANNEX10, NAVIGATION_DO365
    from encsim.simulate import surveillance_config

    scenario, text = load_scenario(PROJECT_ROOT / "scenarios" / "uncor_1200code_v2p1_above_500ft.toml")
    encounters = generate_encounters(scenario, text, ids=np.arange(60))
    options = {"pilot": seams.get("pilot", "standard"), "surveillance": seams.get("surveillance", "perfect")}
    if seams.get("navigation"):
        options["surveillance"] = surveillance_config(
            options["surveillance"],
            navigation=NAVIGATION_DO365,
            altimetry=ALTIMETRY_ICAO_ANNEX10,
            altimetry_to_truth=True,
        )
    decided = []
    real_decision = closed_loop._one_flight
    monkeypatch.setattr(closed_loop, "_one_flight", lambda *a: decided.append(real_decision(*a)) or decided[-1])
    once = simulate(encounters, "unequipped", **options)
    monkeypatch.setattr(closed_loop, "_one_flight", lambda *a: False)
    twice = simulate(encounters, "unequipped", **options)
    assert decided == [options["pilot"] == "standard"]  # the r6 pilot is not proved to fly straight: both runs
    assert list(once.columns) == list(twice.columns)
    for column in once.columns:  # bit for bit, NaN patterns included
        assert once[column].to_numpy().tobytes() == twice[column].to_numpy().tobytes(), column
    assert not once["alerted"].any() and (once["max_deviation_ft"] == 0).all()


def test_only_unequipped_with_reference_models_and_the_standard_pilot_is_flown_once():
    from encsim.avoidance import REFERENCE_LOGICS
    from encsim.simulate import _one_flight

    standard, r6, perfect = np.int64(0), np.int64(1), np.int64(0)
    assert _one_flight(REFERENCE_LOGICS["unequipped"][0], perfect, standard)
    assert not _one_flight(REFERENCE_LOGICS["unequipped"][0], perfect, r6)
    assert not _one_flight(REFERENCE_LOGICS["unequipped"][0].py_func, perfect, standard)  # plain Python: the twin
    assert not _one_flight(REFERENCE_LOGICS["unequipped"][0], lambda *a: None, standard)  # a user's sensor
    for name in ("daa", "tcas"):
        assert not _one_flight(REFERENCE_LOGICS[name][0], perfect, standard)


def test_tcas_resolves_a_co_altitude_head_on_collision():
    own, own_s, intruder, int_s = head_on(3000.0)
    row = simulate_states(own, own_s, intruder, int_s, 60.0, "tcas").iloc[0]
    assert row["nominal_nmac"] and row["nominal_hmd_ft"] < 1.0
    assert not row["mitigated_nmac"] and row["mitigated_vmd_ft"] > 100.0
    assert row["alerted"] and row["max_alert_level"] == 2.0 and row["first_alert_level"] == 1.0  # TA before RA
    assert row["max_deviation_ft"] > 100.0
    unequipped = simulate_states(own, own_s, intruder, int_s, 60.0, "unequipped").iloc[0]
    assert unequipped["mitigated_nmac"]


def test_pilot_responds_after_the_initial_delay():
    own, own_s, intruder, int_s = head_on(3200.0)
    slow = simulate_states(own, own_s, intruder, int_s, 60.0, "tcas", pilot=PilotModel(initial_delay_s=8.0)).iloc[0]
    fast = simulate_states(own, own_s, intruder, int_s, 60.0, "tcas").iloc[0]
    # the RA comes at the same decision; the manoeuvre starts 5 s (default) or 8 s later
    assert slow["t_first_manoeuvre_s"] - fast["t_first_manoeuvre_s"] == pytest.approx(3.0)
    assert fast["t_first_manoeuvre_s"] > fast["t_first_alert_s"]


def test_tcas_can_induce_an_nmac_that_nominal_flight_did_not_have():
    """The intruder climbs at 3,600 ft/min into the ownship's climb after the RA, too late for a reversal:
    the strengthened climb meets it, an induced NMAC, counted as such by the estimator."""
    import pandas as pd

    induced = simulate_states(*head_on(2800.0, intruder_rows=((0, 0, 0, 0), (26, 60.0, 0, 0))), 60.0, "tcas")
    resolved = simulate_states(*head_on(3000.0), 60.0, "tcas")  # the co-altitude head-on above
    assert not induced["nominal_nmac"].iloc[0] and induced["mitigated_nmac"].iloc[0]
    outcome = pd.concat([resolved, induced], ignore_index=True)
    with pytest.warns(UserWarning):  # ratio >= 1
        ratio = risk_ratio(
            outcome["nominal_nmac"].to_numpy(float), outcome["mitigated_nmac"].to_numpy(float), np.ones(2), n_boot=50
        )
    assert ratio.induced > 0
    assert ratio.induced == pytest.approx(1.0) and ratio.resolved == pytest.approx(1.0)


def test_closed_loop_arguments_are_checked():
    own, own_s, intruder, int_s = head_on(3000.0)
    with pytest.raises(ValueError, match="unknown logic 'acas'"):
        simulate_states(own, own_s, intruder, int_s, 60.0, "acas")
    with pytest.raises(ValueError, match="decision_period_s"):
        simulate_states(own, own_s, intruder, int_s, 60.0, "tcas", decision_period_s=0.05)
    with pytest.raises(ValueError, match="accelerations"):
        simulate_states(own, own_s, intruder, int_s, 60.0, "tcas", pilot=PilotModel(initial_accel_g=0.0))


def _call(logic, params, own, intruder, memory, t_s):
    from encsim.avoidance import ADVISORY_SIZE

    advisory = np.zeros(ADVISORY_SIZE)
    logic(t_s, own, intruder, memory, params, advisory)
    return advisory


def _states(north_int_ft, east_int_ft=0.0):
    from encsim.avoidance.interface import AIR_V_EAST, AIR_V_NORTH, STATE_SIZE

    own, intruder = np.zeros(STATE_SIZE), np.zeros(STATE_SIZE)
    own[:8] = [0.0, 0.0, 3000.0, 200.0, 0.0, 0.0, 0.0, 200.0]
    intruder[:8] = [north_int_ft, east_int_ft, 3000.0, -200.0, 0.0, 0.0, math.pi, 200.0]
    for state in (own, intruder):  # no wind: air velocity = ground velocity
        state[AIR_V_NORTH], state[AIR_V_EAST] = state[3], state[4]
    return own, intruder


def test_daa_alerter_m_of_n_persistence_and_reset():
    from encsim.avoidance import daidalus_logic, daidalus_params
    from encsim.avoidance.daidalus.logic import MEMORY_SIZE

    params = daidalus_params("do365b")
    memory = np.zeros(MEMORY_SIZE)
    own, threat = _states(20000.0)  # DWC entry predicted in about 12 s: warning level (25 s)
    far_own, clear = _states(-50000.0)  # diverging: nothing predicted
    levels = []
    for t in range(9):
        own_now, intruder_now = (own, threat) if t < 3 else (far_own, clear)
        levels.append(_call(daidalus_logic, params, own_now, intruder_now, memory, float(t))[0])
    # DAIDALUS's 2 of 4 starts its window as [raw, raw, none, none]: level 3 at once; raw 3 at t = 0, 1, 2 and 0
    # after, so the candidate stays 3 to t = 4 (two of the last four) and is 0 from t = 5, which the 4-s
    # persistence of a level raised at t = 0 no longer holds
    assert levels == [3, 3, 3, 3, 3, 0, 0, 0, 0]
    # the threat again: one raw 3 of the last four shows nothing at t = 9; after a gap of more than the 5-s
    # hysteresis time the history restarts and the level shows at once (t = 15)
    levels = [_call(daidalus_logic, params, own, threat, memory, t)[0] for t in (9.0, 15.0)]
    assert levels == [0, 3]


def test_daa_resolves_a_head_on_loss_of_well_clear():
    own = initial_states_from_sample([200.0], [3000.0], [0.0], [0.0], heading_rad=0.0)
    intruder = initial_states_from_sample([200.0], [3000.0], [0.0], [0.0], heading_rad=math.pi, north_ft=[24000.0])
    straight = CommandSchedule.from_lists([[(0, 0, 0, 0)]])
    row = simulate_states(own, straight, intruder, straight, 90.0, "daa").iloc[0]
    assert row["nominal_lowc"] and row["nominal_nmac"]
    assert not row["mitigated_lowc"] and row["mitigated_hmd_ft"] > 4000.0
    assert row["t_first_manoeuvre_s"] == pytest.approx(row["t_first_alert_s"] + 5.0)


def test_daa_can_induce_a_loss_of_well_clear_and_it_is_counted():
    """Hand-built: a loitering intruder (150 ft/s in a steady 3 deg/s right orbit, radius ~2,900 ft, centre
    ~6,500 ft east of the ownship's track). Nominally the ownship passes it 7,500 ft away; the DAA, which predicts
    the intruder straight, sees it crossing the ownship's path and turns right, behind it, towards the orbit: a
    loss of well clear the nominal flight did not have. Flown together with the resolved head-on, the simulated
    outcome columns give the estimator an induced part."""
    n = 2
    own = initial_states_from_sample([200.0] * n, [3000.0] * n, [0.0] * n, [0.0] * n, heading_rad=0.0)
    intruder = initial_states_from_sample(
        [150.0, 200.0],
        [3000.0] * n,
        [0.0] * n,
        [math.radians(3.0), 0.0],
        heading_rad=[math.radians(315.0), math.pi],
        north_ft=[8000.0, 24000.0],
        east_ft=[4500.0, 0.0],
    )
    own_schedule = CommandSchedule.from_lists([[(0, 0, 0, 0)]] * n)
    int_schedule = CommandSchedule.from_lists([[(0, 0, math.radians(3.0), 0)], [(0, 0, 0, 0)]])
    outcome = simulate_states(own, own_schedule, intruder, int_schedule, 120.0, "daa")
    orbit, head_on = outcome.iloc[0], outcome.iloc[1]
    assert not orbit["nominal_lowc"] and orbit["nominal_hmd_ft"] > 7000.0
    assert orbit["alerted"] and orbit["t_first_manoeuvre_s"] < orbit["mitigated_t_lowc_s"]
    assert orbit["mitigated_lowc"]
    assert head_on["nominal_lowc"] and not head_on["mitigated_lowc"]
    with pytest.warns(UserWarning):  # two encounters: a wide interval, and a ratio of 1
        ratio = risk_ratio(
            outcome["nominal_lowc"].to_numpy(float), outcome["mitigated_lowc"].to_numpy(float), np.ones(n), n_boot=50
        )
    assert ratio.induced > 0 and ratio.induced == pytest.approx(1.0) and ratio.resolved == pytest.approx(1.0)


@pytest.mark.parametrize("logic_name", ["daa", "tcas"])
def test_numba_closed_loop_agrees_with_its_plain_python_twin(logic_name):
    import warnings

    from encsim.avoidance import REFERENCE_LOGICS

    scenario, text = load_scenario(PROJECT_ROOT / "scenarios" / "uncor_1200code_v2p1_above_500ft.toml")
    encounters = generate_encounters(scenario, text, ids=np.arange(12))
    fast = simulate(encounters, logic_name)
    function, make_params = REFERENCE_LOGICS[logic_name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        slow = simulate(encounters, (function.py_func, make_params()))  # the plain Python logic: slow path
    numeric = [c for c in fast.columns if c not in ("encounter_id",)]
    np.testing.assert_allclose(
        fast[numeric].to_numpy(float), slow[numeric].to_numpy(float), rtol=1e-9, atol=1e-6, equal_nan=True
    )
    assert fast["alerted"].any()


def test_surveillance_errors_and_latency_change_what_the_logic_sees():
    from encsim.avoidance import Surveillance

    scenario, text = load_scenario(PROJECT_ROOT / "scenarios" / "uncor_1200code_v2p1_above_500ft.toml")
    encounters = generate_encounters(scenario, text, ids=np.arange(40))
    perfect = simulate(encounters, "daa")
    noisy = Surveillance(
        position_sd_ft=300.0, altitude_sd_ft=50.0, velocity_sd_fps=10.0, vertical_rate_sd_fps=2.0, latency_s=2.0
    )
    first = simulate(encounters, "daa", surveillance=noisy)
    again = simulate(encounters, "daa", surveillance=noisy)
    pd_equal = first.equals(again)
    assert pd_equal  # the errors are drawn from the encounter's own stream
    np.testing.assert_array_equal(first["nominal_hmd_ft"], perfect["nominal_hmd_ft"])  # nominal runs do not see
    alerted = perfect["alerted"].to_numpy()
    assert np.any(first["t_first_alert_s"].to_numpy()[alerted] != perfect["t_first_alert_s"].to_numpy()[alerted])
    # the plain Python twin draws the same errors
    import warnings

    from encsim.avoidance import REFERENCE_LOGICS

    function, make_params = REFERENCE_LOGICS["daa"]
    subset = generate_encounters(scenario, text, ids=np.arange(6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        slow = simulate(subset, (function.py_func, make_params()), surveillance=noisy)
    fast = simulate(subset, "daa", surveillance=noisy)
    numeric = [c for c in fast.columns if c != "encounter_id"]
    np.testing.assert_allclose(
        fast[numeric].to_numpy(float), slow[numeric].to_numpy(float), rtol=1e-9, atol=1e-6, equal_nan=True
    )


@pytest.mark.parametrize("logic_name", ["daa-vertical", "daa-both"])
def test_daa_vertical_and_both_dimensions_resolve_a_head_on(logic_name):
    own = initial_states_from_sample([200.0], [3000.0], [0.0], [0.0], heading_rad=0.0)
    intruder = initial_states_from_sample([200.0], [3000.0], [0.0], [0.0], heading_rad=math.pi, north_ft=[30000.0])
    straight = CommandSchedule.from_lists([[(0, 0, 0, 0)]])
    row = simulate_states(own, straight, intruder, straight, 100.0, logic_name).iloc[0]
    assert row["nominal_nmac"] and not row["mitigated_nmac"]
    if logic_name == "daa-vertical":
        assert row["mitigated_hmd_ft"] < 100.0 and row["mitigated_vmd_ft"] > 300.0  # resolved vertically


def test_reference_logics_fly_in_a_kernel_cached_on_disk():
    """The reference logics are chosen by id inside a disk-cached kernel, so a new process (a CLI
    run, a runner worker, a notebook) loads it instead of compiling it again for half a minute."""
    import subprocess
    import sys

    scenario, text = load_scenario(PROJECT_ROOT / "scenarios" / "fwse_vs_rotorcraft.toml")
    simulate(generate_encounters(scenario, text, ids=np.arange(2)), "daa")  # compiled and saved here if not yet
    child = (
        "import numpy as np\n"
        "from encsim.encounters import generate_encounters\n"
        "from encsim.io.scenario import load_scenario\n"
        "from encsim.simulate import simulate, _kernels\n"
        f"scenario, text = load_scenario({str(PROJECT_ROOT / 'scenarios' / 'fwse_vs_rotorcraft.toml')!r})\n"
        "for logic in ('daa', 'tcas', 'unequipped'):\n"
        "    simulate(generate_encounters(scenario, text, ids=np.arange(2)), logic)\n"
        "stats = _kernels.reference_closed_loop_kernel.stats\n"
        "print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))\n"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True, timeout=600)
    hits, misses = map(int, done.stdout.split()[-2:])
    assert (hits, misses) == (1, 0), done.stdout  # one signature for all three logics, loaded from disk
