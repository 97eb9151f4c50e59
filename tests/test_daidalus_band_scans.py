"""The band scans' shortcuts against plain loops over the same candidate checks.

`_bands.kinematic_side_green` and its short-circuit variants test each candidate's straight line
first and let a free line answer the segment loss tests inside its window; the candidate memory
(`remembered_side_*`) shares answers between the regions and horizons of one decision; the recovery
tracks (`tracked_side_*`) answer the recovery-time bisection from per-candidate intervals. Each must
give the answers of the plain scan in DAIDALUS's order: the manoeuvre's first loss (the detector
from B on, the recovery cylinder before B) makes that candidate and every later one red, and every
earlier candidate is green when its straight line after the manoeuvre is free
(tests/test_daidalus_bands.py holds that plain scan against a closed-form twin).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from encsim.avoidance.daidalus import _bands as K
from encsim.avoidance.daidalus import bands as B

KIN = B.BandsSettings().kinematics()
LOOKAHEAD = KIN[K.KIN_LOOKAHEAD]
#: (dimension, time step of one band step, candidates per side) of the DO-365 band ranges
GRIDS = ((K.DIM_HDIR, 1 / 3, 180), (K.DIM_HS, 1.2861, 90), (K.DIM_VS, 0.2072, 60))


def plain_side_green(dim, direction, max_k, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, segments=True):
    """The scan written out: the first loss over the step ranges, then the free tests before it."""
    first_bad = max_k + 1
    k_lo = math.ceil(b / tstep)
    k_hi = min(math.floor(LOOKAHEAD / tstep), max_k)
    for k in range(k_lo, k_hi + 1):
        t_k = k * tstep
        state = K.manoeuvre_state(dim, direction, t_k, own, KIN)
        if K._loss_in_step(det, *state, traffic, t_k, t_k + tstep if segments else t_k, LOOKAHEAD):
            first_bad = k
            break
    if use_rec:
        for k in range(0, min(math.floor(b / tstep), max_k) + 1):
            if k >= first_bad:
                break
            t_k = k * tstep
            state = K.manoeuvre_state(dim, direction, t_k, own, KIN)
            t_next = min(b, t_k + tstep) if segments else t_k
            if K._loss_in_step(rdet, *state, traffic, t_k, t_next, LOOKAHEAD):
                first_bad = k
                break
    green = np.zeros(max_k + 1, dtype=bool)
    for k in range(first_bad):
        t_k = k * tstep
        state = K.manoeuvre_state(dim, direction, t_k, own, KIN)
        green[k] = K._free_after(det, rdet, use_rec, *state, traffic, t_k, b, t_horizon + t_k, LOOKAHEAD)
    return green


def plain_any_band(green, direction, value, step, lo, hi, modulo):
    for k in range(1, len(green)):
        if green[k] and green[k - 1]:
            a, b = value + step * direction * (k - 1), value + step * direction * k
            if K.free_piece(min(a, b), max(a, b), lo, hi, modulo):
                return True
    return False


def plain_any_red(dim, direction, max_k, tstep, own, traffic, det, t_horizon):
    for k in range(max_k + 1):
        t_k = k * tstep
        state = K.manoeuvre_state(dim, direction, t_k, own, KIN)
        if K._straight_after_conflict(det, *state, traffic, t_k, 0.0, t_horizon + t_k, LOOKAHEAD):
            return True
    return False


def encounter(rng):
    """An ownship and an intruder converging within the lookahead (some candidates free, some not)."""
    own = np.array([0.0, 0.0, 5000.0, rng.uniform(-60, 60), rng.uniform(150, 300), rng.uniform(-10, 10)])
    bearing, dist = rng.uniform(-0.8, 0.8), rng.uniform(3000, 30000)
    traffic = np.array(
        [dist * math.sin(bearing), dist * math.cos(bearing), 5000 + rng.uniform(-500, 500)]
        + [rng.uniform(-150, 150), -rng.uniform(50, 300), rng.uniform(-10, 10)]
    )
    return own, traffic


DETECTORS = {
    "wcv": B.wcv_detector(4010.24, 450.0, 35.0, 0.0),
    "cylinder": B.cylinder_detector(4010.24, 450.0),
    "wcv with SUM errors": B.wcv_detector(4010.24, 450.0, 35.0, 0.0, errors=(300.0, 50.0, 20.0, 5.0)),
}


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("detector", sorted(DETECTORS))
def test_free_first_scans_equal_the_plain_scan(seed, detector):
    rng = np.random.default_rng(1200 + seed)
    own, traffic = encounter(rng)
    det = DETECTORS[detector]
    rdet = B.cylinder_detector(rng.uniform(500, 4000), rng.uniform(100, 450))
    value, step, lo, hi = rng.uniform(0, 360), 1.0, 0.0, 360.0
    for use_rec, b in ((False, 0.0), (True, rng.uniform(0, 60)), (True, rng.uniform(60, 180))):
        for dim, tstep, max_k in GRIDS:
            for direction in (-1.0, 1.0):
                for segments, horizon in ((True, 180.0), (True, 25.0), (False, 180.0), (True, 0.1)):
                    args = (dim, direction, max_k, tstep, own, traffic, det, rdet, use_rec, b, horizon)
                    want = plain_side_green(*args, segments)
                    np.testing.assert_array_equal(K.kinematic_side_green(*args, KIN, segments), want)
                    assert K.kinematic_side_any_green(*args, KIN, segments) == want.any()
                want = plain_side_green(dim, direction, max_k, tstep, own, traffic, det, rdet, use_rec, b, 180.0)
                got = K.kinematic_side_any_band(
                    dim,
                    direction,
                    max_k,
                    tstep,
                    own,
                    traffic,
                    det,
                    rdet,
                    use_rec,
                    b,
                    180.0,
                    KIN,
                    value,
                    step,
                    lo,
                    hi,
                    360.0,
                )
                assert got == plain_any_band(want, direction, value, step, lo, hi, 360.0)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("detector", sorted(DETECTORS))
def test_the_candidate_memory_answers_as_fresh_scans(seed, detector):
    """One memory per side asked for several horizons in turn, as the regions of one decision ask it."""
    rng = np.random.default_rng(1300 + seed)
    own, traffic = encounter(rng)
    det = DETECTORS[detector]
    for dim, tstep, max_k in GRIDS:
        memory = K.new_candidate_memory(1, max_k)
        for horizon in (55.0, 25.0, 180.0, 55.0, 0.1, 75.0, 25.0):
            for side, direction in ((0, -1.0), (1, 1.0)):
                want = plain_side_green(dim, direction, max_k, tstep, own, traffic, det, det, False, 0.0, horizon)
                got = K.remembered_side_green(
                    memory[0, side], dim, direction, max_k, tstep, own, traffic, det, horizon, KIN
                )
                np.testing.assert_array_equal(got, want)
                want_red = plain_any_red(dim, direction, max_k, tstep, own, traffic, det, horizon)
                got_red = K.remembered_side_any_red(
                    memory[0, side], dim, direction, max_k, tstep, own, traffic, det, horizon, KIN
                )
                assert got_red == want_red


def _ask_tracks(own, traffic, det, value, step, rng):
    """Tracks kept per horizon (their cylinder rows filled afresh per cylinder, as they go), asked for the times B
    of a bisection and the final set, compared with the plain scans; returns how many questions had both free and
    conflicting candidates."""
    mixed = 0
    for dim, tstep, max_k in GRIDS:
        for horizon in (180.0, 55.0):
            tracks = np.empty((2, K.RT_ROWS, max_k + 1))
            filled = np.zeros((2, 2), dtype=np.int64)
            for d, h in ((4010.24, 450.0), (1500.0, 200.0), (500.0, 100.0)):
                rdet = B.cylinder_detector(d, h)
                filled[:, 1] = 0
                for b in (180.0, 90.0, 45.0, 22.5, 33.75, 11.25, 5.625, rng.uniform(0, horizon), 0.0):
                    if b > horizon:
                        continue
                    for side, direction in ((0, -1.0), (1, 1.0)):
                        args = (dim, direction, max_k, tstep, own, traffic, det, rdet, True, b, horizon)
                        want = plain_side_green(*args)
                        context = (tracks[side], filled[side], dim, direction, max_k, tstep, own, traffic, det, rdet)
                        band = K.tracked_side_any_band(*context, b, horizon, KIN, value, step, 0.0, 360.0, 360.0)
                        assert band == plain_any_band(want, direction, value, step, 0.0, 360.0, 360.0)
                        np.testing.assert_array_equal(K.tracked_side_green(*context, b, horizon, KIN), want)
                        mixed += want.any() and not want.all()
    return mixed


@pytest.mark.parametrize("seed", range(6))
def test_the_recovery_tracks_answer_as_fresh_scans(seed):
    rng = np.random.default_rng(1400 + seed)
    mixed = 0
    for _ in range(2):
        own, traffic = encounter(rng)
        mixed += _ask_tracks(own, traffic, DETECTORS["wcv"], rng.uniform(0, 360), 1.0, rng)
    assert mixed > 0  # some questions had both free and conflicting candidates


@pytest.mark.parametrize("seed", range(10))
def test_the_proof_that_turns_stay_clear_is_sound(seed):
    """Whenever `turns_stay_clear` holds, the scans find no red turn candidate; it holds for far traffic."""
    rng = np.random.default_rng(1500 + seed)
    det = DETECTORS["wcv"]
    proved = 0
    for _ in range(40):
        own = np.array([0.0, 0.0, 5000.0, rng.uniform(-60, 60), rng.uniform(150, 300), rng.uniform(-15, 15)])
        bearing, dist = rng.uniform(-math.pi, math.pi), rng.uniform(10000, 120000)
        traffic = np.array(
            [dist * math.sin(bearing), dist * math.cos(bearing), 5000 + rng.uniform(-3000, 3000)]
            + [rng.uniform(-250, 250), rng.uniform(-250, 250), rng.uniform(-20, 20)]
        )
        for horizon in (25.0, 55.0, 180.0):
            if not K.turns_stay_clear(own, traffic, det, 180, 1 / 3, horizon, KIN):
                continue
            proved += 1
            for direction in (-1.0, 1.0):
                assert not plain_any_red(K.DIM_HDIR, direction, 180, 1 / 3, own, traffic, det, horizon)
    assert proved > 0
    assert not K.turns_stay_clear(own, traffic, DETECTORS["wcv with SUM errors"], 180, 1 / 3, 55.0, KIN)


@pytest.mark.parametrize("seed", range(8))
def test_the_solid_test_from_the_cylinder_rows_equals_the_scan(seed):
    """The "solid" test of shrinking recovery cylinders, answered from the tracks' cylinder rows."""
    rng = np.random.default_rng(1600 + seed)
    own, traffic = encounter(rng)
    value, step = rng.uniform(0, 360), 1.0
    dummy = B.cylinder_detector(0.0, 0.0)
    for dim, tstep, max_k in GRIDS:
        for horizon in (180.0, 55.0):
            tracks = np.empty((2, K.RT_ROWS, max_k + 1))
            filled = np.zeros((2, 2), dtype=np.int64)
            d, h = 4010.24, 450.0
            while d > 500.0 or h > 100.0:
                cyl = B.cylinder_detector(d, h)
                filled[:, 1] = 0
                for side, direction in ((1, 1.0), (0, -1.0)):
                    band_args = (value, step, 0.0, 360.0, 360.0)
                    want = K.kinematic_side_any_band(
                        dim, direction, max_k, tstep, own, traffic, cyl, dummy, False, 0.0, horizon, KIN, *band_args
                    )
                    context = (tracks[side], filled[side], dim, direction, max_k, tstep, own, traffic, cyl)
                    assert K.tracked_side_any_band_cylinder(*context, horizon, KIN, *band_args) == want
                d, h = max(500.0, 0.9 * d), max(100.0, 0.9 * h)


@pytest.mark.parametrize("seed", range(6))
def test_the_closest_reach_is_the_minimum_of_its_function(seed):
    """`_closest_reach` (closed form) against the function sampled densely: min over t of |a - u t| - speed t."""
    rng = np.random.default_rng(1700 + seed)
    for _ in range(50):
        a = rng.uniform(-60000, 60000, 2)
        u = rng.uniform(-400, 400, 2)
        speed = rng.uniform(50, 400)
        t0, t1 = sorted(rng.uniform(0, 200, 2))
        ts = np.linspace(t0, t1, 20001)
        sampled = np.min(np.hypot(a[0] - u[0] * ts, a[1] - u[1] * ts) - speed * ts)
        got = K._closest_reach(a[0], a[1], u[0], u[1], speed, t0, t1)
        # the sampled minimum is above the true one by at most the slope times half a sample step
        assert got <= sampled + 1e-6
        assert got >= sampled - (math.hypot(*u) + speed) * (t1 - t0) / 20000 / 2 - 1e-6
