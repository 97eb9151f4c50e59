"""The `tcas` logic's strengthening and reversal rules, and its pilot-response parameters.

Hand-built head-on encounters (as in test_closed_loop.py): ownship north at 200 ft/s from the
origin at 3,000 ft (sensitivity level 4: ALIM 300 ft), intruder south at 200 ft/s from 16,000 ft
north, closest approach at 40 s. The RA comes at 19 s, the pilot flies it from 24 s.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from encsim.avoidance import ADVISORY_SIZE, MEMORY_SIZE, PilotModel, tcas, tcas_params
from encsim.avoidance.interface import CHANGE_COUNTER, LEVEL, TARGET_VERTICAL_RATE
from encsim.avoidance.tcas import SCALAR_PARAMS
from encsim.commands import CommandSchedule
from encsim.dynamics import initial_states_from_sample
from encsim.simulate import simulate_states
from encsim.units import G_FPS2

DURATION_S = 60.0


def head_on(int_alt_ft, intruder_rows=((0, 0, 0, 0),), own_alt_ft=3000.0):
    own = initial_states_from_sample([200.0], [own_alt_ft], [0.0], [0.0], heading_rad=0.0)
    intruder = initial_states_from_sample([200.0], [int_alt_ft], [0.0], [0.0], heading_rad=math.pi, north_ft=[16000.0])
    return (
        own,
        CommandSchedule.from_lists([[(0, 0, 0, 0)]]),
        intruder,
        CommandSchedule.from_lists([list(intruder_rows)]),
    )


def fly(encounter, params=None):
    """Numba closed loop, and the plain-Python twin recording every RA: (row, [(t, rate_fpm, counter)])."""
    params = tcas_params() if params is None else params
    row = simulate_states(*encounter, DURATION_S, (tcas, params)).iloc[0]
    log = []

    def recording(t_s, own, intruder, memory, p, advisory):
        if t_s == 0.0:  # the logic also runs open loop on the nominal flight first: keep the mitigated pass
            log.clear()
        tcas.py_func(t_s, own, intruder, memory, p, advisory)
        if advisory[LEVEL] == 2.0:
            log.append((t_s, advisory[TARGET_VERTICAL_RATE] * 60.0, advisory[CHANGE_COUNTER]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the slow path warns
        twin = simulate_states(*encounter, DURATION_S, (recording, params)).iloc[0]
    np.testing.assert_allclose(row.to_numpy(float), twin.to_numpy(float), rtol=1e-9, atol=1e-6, equal_nan=True)
    return row, log


def advisories(log):
    """The distinct RAs in order: (rate_fpm, counter) at each change, with the time it was issued."""
    changes = []
    for t_s, rate, counter in log:
        if not changes or changes[-1][2] != counter:
            changes.append((t_s, rate, counter))
    return changes


# the intruder (100 ft below) starts climbing at 1,800 ft/min at 26 s, after the climb RA is flown
STRENGTHENING = head_on(2900.0, ((0, 0, 0, 0), (26, 30.0, 0, 0)))
# the intruder (200 ft below) starts climbing at 2,400 ft/min at 20 s, just after the climb RA
REVERSAL = head_on(2800.0, ((0, 0, 0, 0), (20, 40.0, 0, 0)))


def test_the_climb_ra_is_strengthened_when_the_intruder_climbs_toward_the_ownship():
    row, log = fly(STRENGTHENING)
    changes = advisories(log)
    assert [(rate, counter) for _, rate, counter in changes] == [
        (pytest.approx(1500.0), 1.0),
        (pytest.approx(2500.0), 2.0),
    ]
    t_ra, t_strengthened = changes[0][0], changes[1][0]
    assert t_ra == 19.0 and t_strengthened > t_ra + 5.0  # only once the pilot flies the initial RA
    # the same encounter without strengthening: the 1500 ft/min climb ends in an NMAC
    weak, weak_log = fly(STRENGTHENING, tcas_params(strengthening=False))
    assert {round(rate, 6) for _, rate, _ in weak_log} == {1500.0}
    assert not row["nominal_nmac"] and weak["mitigated_nmac"] and not row["mitigated_nmac"]
    assert row["mitigated_vmd_ft"] > weak["mitigated_vmd_ft"] + 100.0
    assert row["t_first_manoeuvre_s"] == weak["t_first_manoeuvre_s"] == 24.0


def test_strengthening_is_flown_with_the_subsequent_pilot_response():
    """The 2500 ft/min change is a new counter value: the pilot waits 2.5 s, then pulls at most 0.35 g."""
    row, log = fly(STRENGTHENING)
    t_strengthened = advisories(log)[1][0]
    # ownship vertical rate (ft/min) at each decision, from the plain-Python closed loop
    rates = []

    def recording(t_s, own, intruder, memory, p, advisory):
        if t_s == 0.0:  # keep the mitigated pass (the open-loop nominal pass comes first)
            rates.clear()
        tcas.py_func(t_s, own, intruder, memory, p, advisory)
        rates.append((t_s, own[5] * 60.0))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        simulate_states(*STRENGTHENING, DURATION_S, (recording, tcas_params()))

    def rate_at(t_s):
        return min(rates, key=lambda item: abs(item[0] - t_s))[1]

    # still 1500 ft/min until the subsequent delay (2.5 s) has passed, then climbing faster, then 2500 ft/min
    assert rate_at(t_strengthened + 2.0) == pytest.approx(1500.0, abs=1.0)
    assert 1550.0 < rate_at(t_strengthened + 4.0) <= 1500.0 + 60.0 * 0.35 * G_FPS2 * 1.5 + 1.0
    assert rate_at(t_strengthened + 10.0) == pytest.approx(2500.0, abs=1.0)
    assert not row["mitigated_nmac"]


def test_the_ra_is_reversed_once_when_the_intruder_follows_the_ownship():
    row, log = fly(REVERSAL)
    changes = advisories(log)
    assert [(rate, counter) for _, rate, counter in changes] == [
        (pytest.approx(1500.0), 1.0),
        (pytest.approx(-2500.0), 2.0),
    ]
    assert changes[1][0] > changes[0][0] + 5.0  # once the initial RA is flown
    assert not row["nominal_nmac"] and not row["mitigated_nmac"] and row["mitigated_vmd_ft"] > 500.0
    # no reversal: the climb is only strengthened and the intruder climbs into the ownship
    kept, kept_log = fly(REVERSAL, tcas_params(reversal=False))
    assert all(rate > 0 for _, rate, _ in kept_log)
    assert kept["mitigated_nmac"] and kept["mitigated_vmd_ft"] < row["mitigated_vmd_ft"] - 300.0


@pytest.mark.parametrize("int_alt_ft, sense", [(3000.0, 1.0), (3200.0, -1.0)])
def test_a_plain_head_on_keeps_its_initial_1500_fpm_ra(int_alt_ft, sense):
    row, log = fly(head_on(int_alt_ft))
    assert log and {(round(rate, 6), counter) for _, rate, counter in log} == {(sense * 1500.0, 1.0)}
    assert not row["mitigated_nmac"] and row["mitigated_vmd_ft"] > 300.0


def _call(t_s, own, intruder, memory, params):
    advisory = np.zeros(ADVISORY_SIZE)
    tcas(t_s, own, intruder, memory, params, advisory)
    return advisory


def test_reversal_happens_at_most_once_per_run_and_only_with_the_intruder_moving_in_the_ra_sense():
    params = tcas_params()
    memory = np.zeros(MEMORY_SIZE)
    # 8,000 ft apart head-on (20 s to CPA), intruder 200 ft below: a climb RA
    own = np.array([0.0, 0.0, 3000.0, 200.0, 0.0, 0.0, 0.0, 200.0])
    intruder = np.array([8000.0, 0.0, 2800.0, -200.0, 0.0, 0.0, math.pi, 200.0])
    first = _call(0.0, own, intruder, memory, params)
    assert (
        first[LEVEL] == 2.0 and first[TARGET_VERTICAL_RATE] * 60 == pytest.approx(1500.0) and first[CHANGE_COUNTER] == 1
    )
    # 6 s later the pilot flies it (ownship climbing 1500 ft/min), 14 s to CPA
    own_later = np.array([1200.0, 0.0, 3010.0, 200.0, 0.0, 25.0, 0.0, 200.0])

    def intruder_at(alt_ft, v_up_fps):
        return np.array([6800.0, 0.0, alt_ft, -200.0, 0.0, v_up_fps, math.pi, 200.0])

    # level intruder still 200 ft below: the RA reaches ALIM, nothing changes
    kept = _call(6.0, own_later, intruder_at(2810.0, 0.0), memory.copy(), params)
    assert kept[TARGET_VERTICAL_RATE] * 60 == pytest.approx(1500.0) and kept[CHANGE_COUNTER] == 1
    # co-altitude intruder climbing 400 ft/min (under the 500 ft/min reversal threshold): strengthened
    slow = _call(6.0, own_later, intruder_at(3010.0, 400 / 60), memory.copy(), params)
    assert slow[TARGET_VERTICAL_RATE] * 60 == pytest.approx(2500.0) and slow[CHANGE_COUNTER] == 2
    # intruder climbing 3,000 ft/min: the climb fails, a descent reaches ALIM: reversed at 2500 ft/min
    reversed_ = _call(6.0, own_later, intruder_at(2810.0, 50.0), memory, params)
    assert reversed_[TARGET_VERTICAL_RATE] * 60 == pytest.approx(-2500.0) and reversed_[CHANGE_COUNTER] == 2
    # 4 s later the intruder dives after the descending ownship: a climb would now reach ALIM, but a run
    # reverses at most once (and 2500 ft/min is the strongest RA)
    own_desc = np.array([2000.0, 0.0, 2950.0, 200.0, 0.0, -2500 / 60, 0.0, 200.0])
    diving = np.array([6000.0, 0.0, 3100.0, -200.0, 0.0, -60.0, math.pi, 200.0])
    not_yet_reversed = memory.copy()
    not_yet_reversed[3] = 0.0
    assert _call(10.0, own_desc, diving, not_yet_reversed, params)[TARGET_VERTICAL_RATE] > 0  # without the once rule
    again = _call(10.0, own_desc, diving, memory, params)
    assert again[TARGET_VERTICAL_RATE] * 60 == pytest.approx(-2500.0) and again[CHANGE_COUNTER] == 2
    # the RA clears; the run still remembers its reversal
    far = np.array([-30000.0, 0.0, 2950.0, -200.0, 0.0, 0.0, math.pi, 200.0])
    assert _call(30.0, own_desc, far, memory, params)[LEVEL] == 0.0 and memory[3] == 1.0


def test_the_assumed_pilot_response_is_a_parameter():
    names = list(SCALAR_PARAMS)
    scalars = dict(zip(names, tcas_params()[-len(names) :]))
    assert scalars["initial_delay_s"] == 5.0 and scalars["subsequent_delay_s"] == 2.5
    assert scalars["initial_accel_fps2"] == pytest.approx(0.25 * G_FPS2)
    assert scalars["subsequent_accel_fps2"] == pytest.approx(0.35 * G_FPS2)
    assert scalars["ra_rate_fps"] == 25.0 and scalars["strengthened_rate_fps"] == pytest.approx(2500 / 60)
    slow = dict(zip(names, tcas_params(PilotModel(initial_delay_s=8.0, subsequent_accel_g=0.3))[-len(names) :]))
    assert slow["initial_delay_s"] == 8.0 and slow["subsequent_accel_fps2"] == pytest.approx(0.3 * G_FPS2)
    with pytest.raises(ValueError, match="ra_rate_fpm"):
        tcas_params(ra_rate_fpm=3000.0)
    # the sense selection uses it: an ownship already climbing 2,000 ft/min, co-altitude intruder
    # 13 s from CPA; with the standard 5 s delay it keeps climbing, with a 0.5 s delay a descent wins
    own = np.array([0.0, 0.0, 3000.0, 200.0, 0.0, 33.3, 0.0, 200.0])
    intruder = np.array([5200.0, 0.0, 3260.0, -200.0, 0.0, 0.0, math.pi, 200.0])
    standard = _call(0.0, own, intruder, np.zeros(MEMORY_SIZE), tcas_params())
    quick = _call(
        0.0, own, intruder, np.zeros(MEMORY_SIZE), tcas_params(PilotModel(initial_delay_s=0.5, initial_accel_g=0.5))
    )
    assert standard[LEVEL] == quick[LEVEL] == 2.0
    assert np.sign(standard[TARGET_VERTICAL_RATE]) != np.sign(quick[TARGET_VERTICAL_RATE])


def test_the_tcas_name_assumes_the_pilot_the_closed_loop_flies():
    from encsim.avoidance import PilotModel, resolve_logic, tcas_params

    slow_pilot = PilotModel(initial_delay_s=8.0, initial_accel_g=0.15)
    _, params = resolve_logic("tcas", slow_pilot)
    np.testing.assert_array_equal(params, tcas_params(slow_pilot))
    assert not np.array_equal(params, resolve_logic("tcas")[1])
    np.testing.assert_array_equal(
        resolve_logic("daa", slow_pilot)[1], resolve_logic("daa")[1]
    )  # no pilot in daa's params
