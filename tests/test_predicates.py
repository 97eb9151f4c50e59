"""Separation predicates: the scalar Numba ones against their numpy twins, against brute force and hand values;
TCOA honoured by every path (closed loop, its plain-Python twin, time-series metrics)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from encsim.avoidance import REFERENCE_LOGICS
from encsim.commands import CommandSchedule
from encsim.dynamics import DT_S, fly_commands, initial_states_from_sample
from encsim.metrics import _predicates as scalar
from encsim.metrics import predicates as vectorised
from encsim.metrics.detection import DO365_DWC, NMAC, WellClearVolume, loss_of_well_clear, separation_metrics
from encsim.simulate import simulate_states

VOLUME = (DO365_DWC.dthr_ft, DO365_DWC.zthr_ft, DO365_DWC.tthr_s, DO365_DWC.hmd_ft)


def _random_states(n=3000, seed=11):
    """Relative states (intruder minus ownship) with the degenerate cases mixed in."""
    rng = np.random.default_rng(seed)
    s = np.column_stack([rng.uniform(-20000, 20000, (n, 2)), rng.uniform(-2000, 2000, n)])
    v = np.column_stack([rng.uniform(-500, 500, (n, 2)), rng.uniform(-60, 60, n)])
    s[: n // 10, :2] *= 0.15  # inside the horizontal threshold
    v[n // 10 : n // 8, :2] = 0.0  # no horizontal motion
    v[n // 8 : n // 6, 2] = 0.0  # no vertical motion
    aimed = slice(n // 2, n)  # closing on the ownship
    v[aimed, :2] = -s[aimed, :2] / rng.uniform(10, 90, (n - n // 2, 1)) + rng.uniform(-30, 30, (n - n // 2, 2))
    v[aimed, 2] = -s[aimed, 2] / rng.uniform(5, 90, n - n // 2)
    return s, v


@pytest.mark.parametrize("tcoa_s", [0.0, 20.0])
def test_scalar_predicates_equal_their_numpy_twins(tcoa_s):
    s, v = _random_states()
    sx, sy, sz = s.T
    vx, vy, vz = v.T
    lookahead = np.random.default_rng(1).choice([25.0, 55.0, 180.0], sx.size)
    thresholds = (*VOLUME, tcoa_s)
    twins = {
        "tau_mod_s": (vectorised.tau_mod_s(sx, sy, vx, vy, 4000.0), (sx, sy, vx, vy), (4000.0,)),
        "horizontal_miss_distance_sq_ft2": (
            vectorised.horizontal_miss_distance_sq_ft2(sx, sy, vx, vy),
            (sx, sy, vx, vy),
            (),
        ),
        "time_to_co_altitude_s": (vectorised.time_to_co_altitude_s(sz, vz), (sz, vz), ()),
        "inside_cylinder": (
            vectorised.inside_cylinder(np.hypot(sx, sy), sz, 4000.0, 450.0),
            (np.hypot(sx, sy), sz),
            (4000.0, 450.0),
        ),
        "horizontal_well_clear_lost": (
            vectorised.horizontal_well_clear_lost(sx, sy, vx, vy, VOLUME[0], VOLUME[2], VOLUME[3]),
            (sx, sy, vx, vy),
            (VOLUME[0], VOLUME[2], VOLUME[3]),
        ),
        "vertical_well_clear_lost": (
            vectorised.vertical_well_clear_lost(sz, vz, VOLUME[1], tcoa_s),
            (sz, vz),
            (VOLUME[1], tcoa_s),
        ),
        "well_clear_lost": (
            vectorised.well_clear_lost(sx, sy, sz, vx, vy, vz, *thresholds),
            (sx, sy, sz, vx, vy, vz),
            thresholds,
        ),
    }
    for name, (expected, columns, constants) in twins.items():
        function = getattr(scalar, name)
        got = np.array([function(*row, *constants) for row in zip(*columns, strict=True)])
        np.testing.assert_array_equal(got, expected, err_msg=name)  # bit for bit, NaN where NaN
    t_in, t_out = vectorised.well_clear_violation_interval_s(sx, sy, sz, vx, vy, vz, *thresholds, lookahead)
    got = np.array(
        [
            scalar.well_clear_violation_interval_s(*row, *thresholds, h)
            for row, h in zip(np.column_stack([s, v]), lookahead, strict=True)
        ]
    )
    np.testing.assert_array_equal(got[:, 0], t_in)
    np.testing.assert_array_equal(got[:, 1], t_out)
    found = np.isfinite(t_in)
    assert s.shape[0] // 10 < found.sum() < s.shape[0] - s.shape[0] // 10  # both outcomes well represented
    assert vectorised.well_clear_lost(sx, sy, sz, vx, vy, vz, *thresholds).any()


@pytest.mark.parametrize("tcoa_s", [0.0, 20.0])
def test_the_predicted_interval_is_where_the_instantaneous_predicate_holds(tcoa_s):
    """Brute force: move the straight-line states on a 0.05-s grid and apply the instantaneous predicate."""
    s, v = _random_states(n=400, seed=5)
    lookahead = 90.0
    t = np.arange(0.0, lookahead + 1e-9, 0.05)
    for i in range(s.shape[0]):
        moved = s[i][None, :] + v[i][None, :] * t[:, None]
        lost = vectorised.well_clear_lost(*moved.T, *np.broadcast_to(v[i], moved.shape).T, *VOLUME, tcoa_s)
        t_in, t_out = scalar.well_clear_violation_interval_s(*s[i], *v[i], *VOLUME, tcoa_s, lookahead)
        if math.isnan(t_in):
            assert not lost[1:-1].any(), i  # the grid's ends may graze an interval of zero length
        else:
            inside = (t > t_in + 0.05) & (t < t_out - 0.05)
            outside = (t < t_in - 0.05) | (t > t_out + 0.05)
            assert lost[inside].all() and not lost[outside].any(), (i, t_in, t_out)


def test_hand_values():
    # head-on at 400 ft/s from 20,000 ft: tau_mod (4000^2 - 20000^2) / (20000 x -400) = 48 s
    assert scalar.tau_mod_s(20000.0, 0.0, -400.0, 0.0, 4000.0) == pytest.approx(48.0)
    assert math.isnan(scalar.tau_mod_s(20000.0, 0.0, 400.0, 0.0, 4000.0))  # opening
    assert scalar.time_to_co_altitude_s(600.0, -20.0) == pytest.approx(30.0)
    assert math.isnan(scalar.time_to_co_altitude_s(600.0, 20.0))  # diverging
    assert scalar.horizontal_miss_distance_sq_ft2(10000.0, 3000.0, -400.0, 0.0) == pytest.approx(9e6)
    assert scalar.inside_cylinder(499.9, -99.9, NMAC.radius_ft, NMAC.half_height_ft)
    assert not scalar.inside_cylinder(500.0, 0.0, NMAC.radius_ft, NMAC.half_height_ft)  # strict
    # 600 ft above, closing at 20 ft/s (30 s to co-altitude): lost with TCOA 30 s, not with 29 s or none
    assert scalar.vertical_well_clear_lost(600.0, -20.0, 450.0, 30.0)
    assert not scalar.vertical_well_clear_lost(600.0, -20.0, 450.0, 29.0)
    assert not scalar.vertical_well_clear_lost(600.0, -20.0, 450.0, 0.0)
    # entering 600 ft above at 20 ft/s: with TCOA 30 s the violation starts where |dz| = 600 ft
    t_in, _ = scalar.well_clear_violation_interval_s(0.0, 0.0, 1500.0, 0.0, 0.0, -20.0, *VOLUME, 30.0, 180.0)
    assert t_in == pytest.approx((1500.0 - 600.0) / 20.0)


def _descending_intruder():
    """Parallel tracks 1,000 ft apart (horizontally lost all along); the intruder 1,500 ft above, descending
    at 20 ft/s: |dz| reaches ZTHR (450 ft) at 52.5 s, and 600 ft (30 s to co-altitude) at 45 s."""
    own = initial_states_from_sample([200.0], [3000.0], [0.0], [0.0], heading_rad=0.0)
    intruder = initial_states_from_sample([200.0], [4500.0], [-20.0], [0.0], heading_rad=0.0, east_ft=[1000.0])
    return own, CommandSchedule.from_lists([[(0, 0, 0, 0)]]), intruder, CommandSchedule.from_lists([[(0, -20.0, 0, 0)]])


def test_the_closed_loop_and_the_time_series_metrics_honour_tcoa():
    with_tcoa = WellClearVolume("DO-365 DWC with TCOA 30 s", *VOLUME, tcoa_s=30.0)
    states = _descending_intruder()
    plain = simulate_states(*states, 70.0, "unequipped").iloc[0]
    tcoa = simulate_states(*states, 70.0, "unequipped", well_clear=with_tcoa).iloc[0]
    assert plain["nominal_t_lowc_s"] == pytest.approx(52.5, abs=DT_S + 1e-9)
    assert tcoa["nominal_t_lowc_s"] == pytest.approx(45.0, abs=DT_S + 1e-9)
    assert tcoa["mitigated_t_lowc_s"] == tcoa["nominal_t_lowc_s"]
    # the plain-Python closed loop (slow path) gives the same
    function, make_params = REFERENCE_LOGICS["unequipped"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        slow = simulate_states(*states, 70.0, (function.py_func, make_params()), well_clear=with_tcoa).iloc[0]
    assert slow["nominal_t_lowc_s"] == tcoa["nominal_t_lowc_s"]
    # and so do the time-series metrics of the same flights (the generator's path), no longer refusing TCOA
    own_initial, own_schedule, int_initial, int_schedule = states
    own = fly_commands(own_initial, own_schedule, 70.0)
    intruder = fly_commands(int_initial, int_schedule, 70.0)
    series = {}
    keys = ("north_ft", "east_ft", "up_ft", "speed_fps", "heading_rad", "pitch_rad")
    for name, track in (("own", own), ("intruder", intruder)):
        series[name] = {key: getattr(track, key) for key in keys}
    metrics = separation_metrics(np.asarray(own.t_s), series["own"], series["intruder"], volume=with_tcoa)
    assert metrics.t_lowc_entry_s[0] == pytest.approx(tcoa["nominal_t_lowc_s"])
    plain_metrics = separation_metrics(np.asarray(own.t_s), series["own"], series["intruder"])
    assert plain_metrics.t_lowc_entry_s[0] == pytest.approx(plain["nominal_t_lowc_s"])


def test_loss_of_well_clear_uses_the_shared_predicate_with_tcoa():
    volume = WellClearVolume("with TCOA", *VOLUME, tcoa_s=30.0)
    assert bool(loss_of_well_clear(1000.0, 0.0, 600.0, 0.0, 0.0, -20.0, volume))
    assert not bool(loss_of_well_clear(1000.0, 0.0, 600.0, 0.0, 0.0, -20.0, DO365_DWC))
    np.testing.assert_array_equal(volume.as_array(), [*VOLUME, 30.0])
