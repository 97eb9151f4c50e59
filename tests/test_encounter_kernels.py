"""The encounter generator's flight and screen kernels against plain-Python twins, and the screen's exactness.

- `fly_segment_kernel` (each screened attempt flown once: to tCPA, then on for those that go on)
  against the dynamics twin of tests/test_dynamics.py and bit for bit against `fly_commands`;
- `altitude_reach_kernel` (the VMD screen's altitude bounds) against a plain twin;
- the screen never rejects what the full computation would accept: on many sampled tracks of
  every shipped model, the flown altitude never leaves its bounds, and on many attempts of the
  shipped scenarios every relative altitude at tCPA inside the VMD span passes the screen.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pinned_outcomes import ROOT
from test_dynamics import DT, random_case, twin_fly

from encsim.commands import CommandSchedule, InitialStates
from encsim.dynamics import DynamicLimits, fly_commands, step_indices
from encsim.encounters import _kernels, steps
from encsim.encounters.pairing import INTRUDER_SUB_STREAM, OWNSHIP_SUB_STREAM, model_aircraft
from encsim.io.scenario import load_scenario

SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def _limits(rng, n):
    return DynamicLimits(
        speed_min_fps=rng.uniform(1.7, 60, n),
        speed_max_fps=rng.uniform(250, 500, n),
        hdot_min_fps=-25.0,
        hdot_max_fps=25.0,
    )


def _segments(states, schedule, limits, tracks, cut, n_steps):
    """Fly ``tracks`` to step ``cut`` with the kernel, then on to ``n_steps`` (returns records, extremes)."""
    n_all = states.n_aircraft
    init = np.stack([getattr(states, f) for f in InitialStates.FIELDS])
    m = tracks.shape[0]
    state, records, extremes = np.empty((7, m)), np.empty((8, m, n_steps + 1)), np.empty((4, m))
    args = (
        init,
        tracks,
        schedule.offsets,
        step_indices(schedule, dt_s=DT),
        schedule.hdot_fps,
        schedule.psidot_rad_s,
        schedule.vdot_fps2,
        limits.as_array(n_all),
    )
    _kernels.fly_segment_kernel(*args, 0, cut, DT, state, records, extremes)
    _kernels.fly_segment_kernel(*args, cut, n_steps, DT, state, records, extremes)
    _kernels.vertical_rate_kernel(records)
    return records, extremes, state


def test_the_flight_in_two_segments_agrees_with_the_plain_twin():
    rng = np.random.default_rng(11)
    n = 60
    states, rows = random_case(rng, n)
    limits = _limits(rng, n)
    tracks = rng.permutation(n)[:40]
    records, extremes, state = _segments(states, CommandSchedule.from_lists(rows), limits, tracks, 150, 300)
    limit_rows = limits.as_array(n)
    for a, p in enumerate(tracks):
        start = [getattr(states, f)[p] for f in InitialStates.FIELDS]
        twin = twin_fly(start, rows[p], 30.0, limit_rows[:, p])
        ours = records[[3, 0, 1, 2, 4, 5, 6], a].T  # speed, north, east, up, heading, pitch, bank
        np.testing.assert_allclose(ours, twin, rtol=1e-9, atol=1e-9, err_msg=f"aircraft {p}")
        np.testing.assert_allclose(state[:, a], twin[-1], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(records[7, a], twin[:, 0] * np.sin(twin[:, 5]), rtol=1e-9, atol=1e-9)
        assert extremes[0, a] == pytest.approx(twin[:, 3].min()) and extremes[1, a] == pytest.approx(twin[:, 3].max())
        assert extremes[2, a] == pytest.approx(twin[:, 0].min()) and extremes[3, a] == pytest.approx(twin[:, 0].max())


@pytest.mark.parametrize("cut", [0, 1, 137, 300])
def test_the_flight_in_two_segments_is_bit_for_bit_the_flight_in_one(cut):
    rng = np.random.default_rng(cut)
    n = 300
    states, rows = random_case(rng, n)
    limits = _limits(rng, n)
    schedule = CommandSchedule.from_lists(rows)
    records, extremes, _ = _segments(states, schedule, limits, np.arange(n), cut, 300)
    whole = fly_commands(states, schedule, 30.0, limits=limits)
    for k, name in enumerate(whole.FIELDS):
        assert np.array_equal(records[k], getattr(whole, name)), name
    assert np.array_equal(extremes, whole.extremes)


def twin_altitude_reach(alt, speed, rate0, rows, limits, n_steps, margins):
    """Plain twin of `altitude_reach_kernel` for one aircraft (rows: (t_s, hdot, psidot, vdot) per command)."""
    frac, rate_margin, alt_margin, follow = margins
    v_min, v_max, hdot_min, hdot_max = limits[:4]
    lo = hi = rate0
    free = False
    sum_lo = sum_hi = 0.0
    for i in range(1, n_steps + 1):
        widen = frac * max(abs(lo), abs(hi)) + rate_margin
        free = free or max(abs(lo), abs(hi)) + widen > follow * speed
        sum_lo += -speed if free else lo - widen
        sum_hi += speed if free else hi + widen
        _, command, _, accel = [row for row in rows if round(row[0] / DT) <= i - 1][-1]
        command = min(max(command, hdot_min), hdot_max)
        lo, hi = min(lo, command), max(hi, command)
        speed = min(max(speed + accel * DT, v_min), v_max - 1e-6 if speed + accel * DT >= v_max else math.inf)
    return alt + DT * sum_lo - alt_margin, alt + DT * sum_hi + alt_margin


@pytest.mark.parametrize("t_s", [1.0, 20.0])
def test_the_altitude_bounds_agree_with_the_plain_twin(t_s):
    rng = np.random.default_rng(5)
    n = 100
    states, rows = random_case(rng, n)
    schedule = CommandSchedule.from_lists(rows)
    limit_rows = _limits(rng, n).as_array(n)
    lo, hi = steps.altitude_reach(states, schedule, limit_rows, t_s)
    rate0 = states.speed_fps * np.sin(states.pitch_rad)
    free = 0
    for a in range(n):
        expected = twin_altitude_reach(
            states.alt_ft[a],
            states.speed_fps[a],
            rate0[a],
            rows[a],
            limit_rows[:, a],
            round(t_s / DT),
            steps._SCREEN_MARGINS,
        )
        assert (lo[a], hi[a]) == pytest.approx(expected, rel=1e-12, abs=1e-9)
        free += hi[a] - lo[a] > 1.5 * states.speed_fps[a] * t_s
    assert t_s < 5 or 0 < free < n  # the cases cover both regimes


def _model_sides():
    """Every (scenario, side spec) of the shipped scenarios with a model aircraft, once per model and presets."""
    seen, sides = set(), []
    for path in SCENARIOS:
        scenario, _ = load_scenario(path)
        for name in ("ownship", "intruder"):
            spec = getattr(scenario, name)
            if getattr(spec, "model", None) is None:
                continue
            key = repr((spec.model, sorted(dict(spec.presets).items()), spec.layers_ft))
            if key not in seen:
                seen.add(key)
                sides.append((path.name, name))
    return sides


@pytest.mark.parametrize("scenario_name,side", _model_sides())
def test_no_flown_altitude_leaves_the_screen_bounds(scenario_name, side):
    """Every model's tracks, flown: the altitude at 5 s, 15 s, tCPA and the end lies inside its bounds."""
    scenario, _ = load_scenario(ROOT / "scenarios" / scenario_name)
    aircraft = model_aircraft(getattr(scenario, side))
    n = 4000
    ids = np.arange(n, dtype=np.int64)
    duration = scenario.geometry.duration_s
    tracks = steps.sample_model_aircraft(
        aircraft, np.uint64(3), ids, np.zeros(n, np.int64), OWNSHIP_SUB_STREAM, duration
    )
    states = tracks.initial_states()
    flown = fly_commands(states, tracks.schedule, duration, output_hz=10.0)
    limit_rows = DynamicLimits().as_array(n)
    for t_s in (5, 15, scenario.geometry.tcpa_s, duration):
        lo, hi = steps.altitude_reach(states, tracks.schedule, limit_rows, t_s)
        alt = flown.up_ft[:, int(round(t_s / DT))]
        slack = np.minimum(alt - lo, hi - alt)
        # the margins (10 ft and more) are far wider than what the dynamics use of them
        assert slack.min() > 5.0, (t_s, float(slack.min()))


@pytest.mark.parametrize("path", [p for p in SCENARIOS if "suas" not in p.name], ids=lambda p: p.name)
def test_the_screen_passes_every_attempt_whose_relative_altitude_lies_in_the_vmd_span(path):
    """Attempts flown in full, screen or no screen: each one in the VMD span at tCPA passed the screen."""
    scenario, _ = load_scenario(path)
    geometry = scenario.geometry
    own_side, int_side = model_aircraft(scenario.ownship), model_aircraft(scenario.intruder)
    n = 3000
    ids = np.arange(n, dtype=np.int64)
    attempts = np.full(n, 7, dtype=np.int64)
    own = steps.sample_model_aircraft(own_side, np.uint64(9), ids, attempts, OWNSHIP_SUB_STREAM, geometry.duration_s)
    intr = steps.sample_model_aircraft(int_side, np.uint64(9), ids, attempts, INTRUDER_SUB_STREAM, geometry.duration_s)
    passed = steps.screen_vmd(own, intr, geometry)
    at = steps.fly_to_tcpa(own, intr, geometry)
    edges = geometry.vmd_edges_ft
    in_span = (at.rel_alt >= edges[0]) & (at.rel_alt < edges[-1])
    assert in_span.sum() > 20
    assert np.all(passed[in_span])
    assert passed.sum() < n  # and the screen does reject
    assert math.isfinite(float(at.rel_alt.sum()))
