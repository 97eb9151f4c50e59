"""The encounter generator's flight and screen kernels against plain-Python twins, and the screen's exactness.

- `fly_segment_kernel` (each screened attempt flown once: to tCPA, then on for those that go on)
  against the dynamics twin of tests/test_dynamics.py and bit for bit against `fly_commands`;
- `altitude_reach_kernel` (the VMD screen's altitude bounds) against a plain twin;
- the screen never rejects what the full computation would accept: on many sampled tracks of
  every shipped model, the flown altitude never leaves its bounds, and on many attempts of the
  shipped scenarios every relative altitude at tCPA inside the VMD span passes the screen.
"""

from __future__ import annotations

import itertools
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


def _side(states, schedule, limits):
    return (
        np.stack([getattr(states, f) for f in InitialStates.FIELDS]),
        schedule.offsets,
        step_indices(schedule, dt_s=DT),
        schedule.hdot_fps,
        schedule.psidot_rad_s,
        schedule.vdot_fps2,
        limits.as_array(states.n_aircraft),
    )


def _fly_attempts(own, intruder, tracks, k_cpa, n_steps, draw=(0, 0, 0), vmd=None, groups=None, reach=None):
    """`fly_attempts_kernel` on (states, schedule, limits) sides; returns cpa, end and the records."""
    m = tracks.shape[0]
    if vmd is None:
        vmd = (np.zeros(1, np.uint64), np.zeros(m, np.uint64), np.zeros(m, np.uint64), np.zeros(2), np.ones(1))
    groups = np.arange(m + 1) if groups is None else groups
    cpa = (np.full((2, 7, m), np.nan), np.full((2, 4, m), np.nan), np.empty(m, np.bool_), np.empty(m, np.bool_))
    end = (np.full((2, 7, m), np.nan), np.full((2, 4, m), np.nan))
    records = (np.full((8, m, n_steps + 1), np.nan), np.full((8, m, n_steps + 1), np.nan))
    _kernels.fly_attempts_kernel(
        _side(*own),
        _side(*intruder),
        tracks,
        k_cpa,
        n_steps,
        DT,
        np.array(draw, np.int64),
        vmd,
        steps._reach_arrays(reach, m),
        groups,
        cpa,
        end,
        *records,
    )
    for side in records:
        _kernels.vertical_rate_kernel(side)
    return cpa, end, records


def _pair(rng, n):
    sides = []
    for _ in range(2):
        states, rows = random_case(rng, n)
        sides.append((states, CommandSchedule.from_lists(rows), _limits(rng, n), rows))
    return sides


def test_the_attempt_flights_agree_with_the_plain_twin():
    rng = np.random.default_rng(11)
    n = 40
    sides = _pair(rng, n)
    tracks = rng.permutation(n)[:25]
    cpa, end, records = _fly_attempts(sides[0][:3], sides[1][:3], tracks, 150, 300)
    assert cpa[2].all()
    for s, (states, _, limits, rows) in enumerate(sides):
        limit_rows = limits.as_array(n)
        for a, p in enumerate(tracks):
            start = [getattr(states, f)[p] for f in InitialStates.FIELDS]
            twin = twin_fly(start, rows[p], 30.0, limit_rows[:, p])
            ours = records[s][[3, 0, 1, 2, 4, 5, 6], a].T  # speed, north, east, up, heading, pitch, bank
            np.testing.assert_allclose(ours, twin, rtol=1e-9, atol=1e-9, err_msg=f"aircraft {p}")
            np.testing.assert_allclose(records[s][7, a], twin[:, 0] * np.sin(twin[:, 5]), rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(cpa[0][s, :, a], twin[150], rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(end[0][s, :, a], twin[-1], rtol=1e-9, atol=1e-9)
            expected = [twin[:151, 3].min(), twin[:151, 3].max(), twin[:151, 0].min(), twin[:151, 0].max()]
            np.testing.assert_allclose(cpa[1][s, :, a], expected, rtol=1e-12)
            expected = [twin[:, 3].min(), twin[:, 3].max(), twin[:, 0].min(), twin[:, 0].max()]
            np.testing.assert_allclose(end[1][s, :, a], expected, rtol=1e-12)


@pytest.mark.parametrize("k_cpa", [0, 1, 137, 300])
def test_the_attempt_flights_are_bit_for_bit_the_flights_in_one_piece(k_cpa):
    rng = np.random.default_rng(k_cpa)
    n = 300
    sides = _pair(rng, n)
    _, end, records = _fly_attempts(sides[0][:3], sides[1][:3], np.arange(n), k_cpa, 300)
    for s, (states, schedule, limits, _) in enumerate(sides):
        whole = fly_commands(states, schedule, 30.0, limits=limits)
        for k, name in enumerate(whole.FIELDS):
            assert np.array_equal(records[s][k], getattr(whole, name)), name
        assert np.array_equal(end[1][s], whole.extremes)


def test_only_the_attempts_that_go_on_are_flown_on():
    """Below ground before tCPA, or refused by the VMD draw: flown to tCPA only (exactly as `draw_geometry` draws)."""
    rng = np.random.default_rng(3)
    n = 400
    sides = _pair(rng, n)
    states = sides[0][0]
    states.alt_ft[:50] = rng.uniform(1, 60, 50)  # some of these dive below ground before tCPA
    edges, accept = np.array([-800.0, -100.0, 0.0, 100.0, 800.0]), np.array([0.3, 1.0, 1.0, 0.3])
    ids, attempts = rng.integers(0, 10**6, n).astype(np.uint64), rng.integers(0, 9, n).astype(np.uint64)
    vmd = (np.array([17], np.uint64), ids, attempts, edges, accept)
    cpa, end, records = _fly_attempts(sides[0][:3], sides[1][:3], np.arange(n), 200, 300, draw=(1, 1, 0), vmd=vmd)
    ground = (cpa[1][0, 0] < 0) | (cpa[1][1, 0] < 0)
    rel = cpa[0][1, 3] - cpa[0][0, 3]
    out = _kernels.GeometryOutputs(
        np.empty(n, np.int64), np.empty(n, np.bool_), *(np.zeros(n) for _ in range(2)), np.zeros(n, np.int64)
    )
    speeds = np.full(n, 100.0)
    _kernels.geometry_kernel(
        _kernels.Attempts(np.uint64(17), ids, attempts, rel, speeds, speeds, speeds * 0, speeds * 0),
        _kernels.Proposal(edges, accept, np.array([0.0, 1.0]), np.array([1.0])),
        out,
    )
    expected = out.accepted & ~ground
    assert ground.any() and (~out.accepted & ~ground).any() and expected.any()
    assert np.array_equal(cpa[2], expected)
    assert np.isnan(records[0][0, ~expected, 250]).all() and np.isnan(end[0][0, 0, ~expected]).all()
    assert not np.isnan(records[1][0, expected]).any() and not cpa[3].any()
    # the same attempts in groups of 7 (one id each), those after the first that goes on not flown at all
    groups = np.append(np.arange(0, n, 7), n)
    grouped = _fly_attempts(sides[0][:3], sides[1][:3], np.arange(n), 200, 300, (1, 1, 1), vmd, groups)
    first = np.zeros(n, dtype=bool)
    for start, stop in itertools.pairwise(groups):
        going = np.flatnonzero(expected[start:stop])
        first[start + going[0] if going.size else stop - 1] = going.size > 0
        later = np.arange(start + going[0] + 1, stop) if going.size else np.zeros(0, np.int64)
        assert grouped[0][3][later].all() and not grouped[0][3][start : stop - later.size].any()
        assert np.isnan(grouped[0][0][:, :, later]).all()
    assert np.array_equal(grouped[0][2], first)
    assert np.array_equal(grouped[2][0][:, first], records[0][:, first], equal_nan=True)


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
    lo, hi, floor = steps.altitude_reach(states, schedule, limit_rows, t_s)
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
        # the floor: the least of the lower bounds after 0 .. n steps (each the kernel's bound for that n)
        lowest = min(
            twin_altitude_reach(
                states.alt_ft[a], states.speed_fps[a], rate0[a], rows[a], limit_rows[:, a], k, steps._SCREEN_MARGINS
            )[0]
            for k in range(1, round(t_s / DT) + 1)
        )
        assert floor[a] == pytest.approx(min(states.alt_ft[a], lowest), rel=1e-12, abs=1e-9)
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
        lo, hi, floor = steps.altitude_reach(states, tracks.schedule, limit_rows, t_s)
        alt = flown.up_ft[:, int(round(t_s / DT))]
        slack = np.minimum(alt - lo, hi - alt)
        # the margins (10 ft and more) are far wider than what the dynamics use of them
        assert slack.min() > 5.0, (t_s, float(slack.min()))
        lowest = flown.up_ft[:, : int(round(t_s / DT)) + 1].min(axis=1)
        assert (lowest - floor).min() >= 0.0  # the floor holds at every sample (it is the initial altitude at worst)
        assert (lowest - floor)[floor < states.alt_ft].min() > 5.0, t_s


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


def test_attempts_not_flown_ahead_change_neither_encounters_nor_counts():
    """Ids generated together (one attempt per id per round) and one by one (64 attempts per round,
    those after one that goes on not flown): the same encounters and the same rejection counts."""
    import pandas as pd

    from encsim.encounters import generate_encounters

    scenario, text = load_scenario(ROOT / "scenarios" / "fwse_vs_rotorcraft.toml")
    ids = np.arange(40)
    together = generate_encounters(scenario, text, ids=ids)
    alone = [generate_encounters(scenario, text, ids=ids[k : k + 1]) for k in ids]
    frame = pd.concat([one.metadata for one in alone], ignore_index=True)
    pd.testing.assert_frame_equal(frame, together.metadata, check_exact=True)
    counts = {key: sum(one.rejections[key] for one in alone) for key in together.rejections}
    assert counts == together.rejections
    assert together.attempts_total > 3 * len(ids)  # enough rejected attempts for rounds to try ahead


def twin_place(own_n, own_e, int_n, int_e, k, own_angle, int_angle, offset_n, offset_e):
    """Plain twin of `place_kernel`: the array expressions of the placement (rotate, translate)."""

    def rotate(north, east, angle):
        cos_a, sin_a = np.cos(angle)[:, None], np.sin(angle)[:, None]
        pivot_n, pivot_e = north[:, k : k + 1], east[:, k : k + 1]
        dn, de = north - pivot_n, east - pivot_e
        return pivot_n + cos_a * dn - sin_a * de, pivot_e + sin_a * dn + cos_a * de

    on, oe = rotate(own_n, own_e, own_angle)
    in_, ie = rotate(int_n, int_e, int_angle)
    in_ += (on[:, k] + offset_n - in_[:, k])[:, None]
    ie += (oe[:, k] - offset_e - ie[:, k])[:, None]
    origin_n, origin_e = on[:, :1].copy(), oe[:, :1].copy()
    return on - origin_n, oe - origin_e, in_ - origin_n, ie - origin_e


def test_the_placement_is_bit_for_bit_its_plain_twin():
    rng = np.random.default_rng(8)
    m, samples, k = 50, 601, 300
    tracks = [np.cumsum(rng.normal(0, 30, (m, samples)), axis=1) + rng.uniform(-1e4, 1e4, (m, 1)) for _ in range(4)]
    own_angle, int_angle = rng.uniform(-7, 7, m), rng.uniform(-7, 7, m)
    offset = rng.uniform(-2000, 2000, (2, m))
    out = np.empty((4, m, samples))
    turn = np.stack([np.cos(own_angle), np.sin(own_angle), np.cos(int_angle), np.sin(int_angle)])
    _kernels.place_kernel(*tracks, k, turn, offset, out)
    for ours, twin in zip(out, twin_place(*tracks, k, own_angle, int_angle, *offset)):
        assert np.array_equal(ours, twin)


def test_gathering_the_flights_that_went_on_copies_them_and_adds_the_vertical_rate():
    rng = np.random.default_rng(4)
    records = rng.normal(size=(8, 30, 61))
    chosen = np.array([3, 0, 29, 17])
    out = np.empty((8, 4, 61))
    _kernels.gather_flights_kernel(records, chosen, out)
    assert np.array_equal(out[:7], records[:7, chosen])
    expected = records[:, chosen].copy()
    _kernels.vertical_rate_kernel(expected)  # the twin of the rate: speed * sin(pitch), tested above
    assert np.array_equal(out[7], expected[7])
    np.testing.assert_allclose(out[7], records[3, chosen] * np.sin(records[5, chosen]), rtol=1e-15)
    without_rate = np.empty((7, 4, 61))  # seven rows out: the copy alone
    _kernels.gather_flights_kernel(records, chosen, without_rate)
    assert np.array_equal(without_rate, out[:7])


def test_flights_finished_without_their_vertical_rate_refuse_to_give_one():
    rng = np.random.default_rng(5)
    records = (rng.normal(size=(8, 6, 11)), rng.normal(size=(8, 6, 11)))
    flights = steps.Flights(
        records, rng.normal(size=(2, 4, 6)), np.ones(6, bool), np.zeros(6, bool), 10, np.array([4, 1])
    )
    with_rate, without = flights.finish(1.0), flights.finish(1.0, vertical_rate=False)
    for name in ("north_ft", "up_ft", "speed_fps", "pitch_rad", "bank_rad"):
        assert np.array_equal(getattr(with_rate[1], name), getattr(without[1], name))
    assert with_rate[0].hdot_fps.shape == (2, 11)
    with pytest.raises(IndexError):
        without[0].hdot_fps[:, 3]
    with pytest.raises(ValueError):
        without[0].hdot_fps[...] = 0.0


def test_attempts_their_vmd_draw_must_reject_are_not_flown_and_end_as_if_flown():
    """With the screen's reach, attempts whose draw rejects them wherever they can be at tCPA (and that
    cannot go below ground) are not flown, nor the second aircraft of an attempt the first one's
    flight decides; every attempt ends as it does when all are flown: the same ones go on with the
    same flights, the same ones are below ground, the rest are refused by the draw."""
    rng = np.random.default_rng(8)
    n = 600
    sides = _pair(rng, n)
    sides[0][0].alt_ft[:60] = rng.uniform(1, 60, 60)  # some dive below ground before tCPA
    sides[1][0].alt_ft[:] = sides[0][0].alt_ft + rng.uniform(-900, 900, n)
    edges, accept = np.array([-300.0, -100.0, 0.0, 100.0, 300.0]), np.array([0.2, 1.0, 1.0, 0.2])
    ids, attempts = rng.integers(0, 10**6, n).astype(np.uint64), rng.integers(0, 9, n).astype(np.uint64)
    vmd = (np.array([23], np.uint64), ids, attempts, edges, accept)
    k_cpa = 200
    (own_lo, own_hi, own_floor), (int_lo, int_hi, int_floor) = (
        steps.altitude_reach(states, schedule, limits.as_array(n), k_cpa * DT) for states, schedule, limits, _ in sides
    )
    reach = steps.Reach(np.stack([own_lo, int_lo]), np.stack([own_hi, int_hi]), np.stack([own_floor, int_floor]) >= 0)
    reach.alt_lo_ft[:, :20] = np.nan  # unknown bounds are flown
    flown = _fly_attempts(sides[0][:3], sides[1][:3], np.arange(n), k_cpa, 300, (1, 1, 0), vmd)
    screened = _fly_attempts(sides[0][:3], sides[1][:3], np.arange(n), k_cpa, 300, (1, 1, 0), vmd, reach=reach)

    def ending(cpa):
        ground = (cpa[1][0, 0] < 0) | (cpa[1][1, 0] < 0)
        return np.where(ground, "ground", np.where(cpa[2], "on", "vmd"))

    skipped = np.isnan(screened[0][0][:, 0])  # (aircraft, attempt): not flown
    neither, one = skipped.all(axis=0), skipped.any(axis=0) & ~skipped.all(axis=0)
    assert 50 < neither.sum() < n - 50 and not skipped[:, :20].any()
    assert 20 < one.sum() < n - 50 and skipped[0, one].any() and skipped[1, one].any()  # either may fly first
    assert np.array_equal(ending(screened[0]), ending(flown[0]))
    assert (ending(flown[0]) == "ground").any() and (ending(flown[0]) == "on").any()
    going = flown[0][2]
    assert not skipped[:, going].any()
    for s in range(2):
        assert np.array_equal(screened[2][s][:, going], flown[2][s][:, going])
        assert np.array_equal(screened[0][0][s][:, ~skipped[s]], flown[0][0][s][:, ~skipped[s]])
        assert np.array_equal(screened[0][1][s][:, ~skipped[s]], flown[0][1][s][:, ~skipped[s]])
