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
    return own, CommandSchedule.from_lists([[(0, 0, 0, 0)]]), intruder, CommandSchedule.from_lists([list(intruder_rows)])


def test_unequipped_mitigated_equals_nominal_and_nominal_equals_the_generator():
    scenario, text = load_scenario(PROJECT_ROOT / "scenarios" / "fwse_vs_rotorcraft.toml")
    encounters = generate_encounters(scenario, text, ids=np.arange(150))
    outcome = simulate(encounters, "unequipped")
    np.testing.assert_allclose(outcome["nominal_hmd_ft"], encounters.metadata["hmd_ft"], atol=1e-6)
    np.testing.assert_array_equal(outcome["nominal_nmac"], encounters.metadata["nmac"])
    np.testing.assert_array_equal(outcome["nominal_lowc"], encounters.metadata["lowc"])
    np.testing.assert_array_equal(outcome["mitigated_hmd_ft"], outcome["nominal_hmd_ft"])
    assert not outcome["alerted"].any() and np.all(outcome["max_deviation_ft"] == 0)


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
    """The intruder climbs into the ownship's escape after the RA: an induced NMAC, counted as such."""
    own, own_s, intruder, int_s = head_on(2700.0, intruder_rows=((0, 0, 0, 0), (22, 40.0, 0, 0)))
    row = simulate_states(own, own_s, intruder, int_s, 60.0, "tcas").iloc[0]
    assert not row["nominal_nmac"] and row["mitigated_nmac"]
    nominal = np.array([1.0, 0.0])
    mitigated = np.array([0.0, 1.0])  # one resolved (the head-on above), one induced (this one)
    with pytest.warns(UserWarning):
        ratio = risk_ratio(nominal, mitigated, np.ones(2), n_boot=50)
    assert ratio.induced == pytest.approx(1.0) and ratio.resolved == pytest.approx(1.0)


def test_closed_loop_arguments_are_checked():
    own, own_s, intruder, int_s = head_on(3000.0)
    with pytest.raises(ValueError, match="unknown logic 'acas'"):
        simulate_states(own, own_s, intruder, int_s, 60.0, "acas")
    with pytest.raises(ValueError, match="decision_period_s"):
        simulate_states(own, own_s, intruder, int_s, 60.0, "tcas", decision_period_s=0.05)
    with pytest.raises(ValueError, match="accelerations"):
        simulate_states(own, own_s, intruder, int_s, 60.0, "tcas", pilot=PilotModel(initial_accel_g=0.0))
