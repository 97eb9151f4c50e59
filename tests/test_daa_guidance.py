"""DAA guidance: recovery (daa-reference 1.5) against brute force, and the logic's private detector
against the public detection API."""

from __future__ import annotations

import math

import numpy as np
import pytest

from encsim.avoidance import ADVISORY_SIZE, MEMORY_SIZE, daa, daa_params
from encsim.avoidance.daa import _SIDE, _conflict_start, _guidance, recovery_volumes
from encsim.avoidance.interface import HORIZONTAL_MODE, LEVEL, TARGET_HEADING, TARGET_VERTICAL_RATE, VERTICAL_MODE
from encsim.metrics.detection import DO365_DWC, WELL_CLEAR_PRESETS, detect_well_clear

FT_PER_NMI = 1852.0 / 0.3048
LOOKAHEAD_S = 55.0


def _state(north_ft, east_ft, up_ft, heading_deg, speed_fps, v_up_fps=0.0):
    heading = math.radians(heading_deg)
    return np.array(
        [
            north_ft,
            east_ft,
            up_ft,
            speed_fps * math.cos(heading),
            speed_fps * math.sin(heading),
            v_up_fps,
            heading,
            speed_fps,
        ]
    )


def _decide(own, intruder, params, decisions=2):
    """Advisory after ``decisions`` 1-Hz decisions on the same states (2 of 4: the second one reports the level)."""
    memory = np.zeros(MEMORY_SIZE)
    advisory = np.zeros(ADVISORY_SIZE)
    for t in range(decisions):
        advisory = np.zeros(ADVISORY_SIZE)
        daa(float(t), own, intruder, memory, params, advisory)
    return advisory


# --- brute force, plain numpy: every candidate sampled every 10 ms over the lookahead ---------------------------

_T = np.linspace(0.0, LOOKAHEAD_S, 5501)


def _headings(own, offsets_deg):
    heading = own[6] + np.radians(offsets_deg)
    ground = math.hypot(own[3], own[4])
    return ground * np.cos(heading), ground * np.sin(heading)  # ownship v_north, v_east per candidate


def _separations(own, intruder, v_north, v_east, v_up):
    """Horizontal range and |dz| (candidates x time) for ownship velocities (arrays broadcast over candidates)."""
    rn = (intruder[0] - own[0]) + np.outer(intruder[3] - v_north, _T)
    re = (intruder[1] - own[1]) + np.outer(intruder[4] - v_east, _T)
    dz = (intruder[2] - own[2]) + np.outer(intruder[5] - v_up, _T)
    return np.hypot(rn, re), np.abs(dz)


def _expected_recovery(values, rng, dz, params):
    """Index of the largest recovery cylinder some candidate keeps and the candidate keeping it closest to 0 (ties:
    the positive side, as the logic prefers right/up when both sides are equally close); (None, None) if none."""
    for k, (d, h) in enumerate(recovery_volumes(params)):
        kept = np.all((rng >= d) | (dz >= h), axis=1)
        if kept.any():
            candidates = values[kept]
            return k, candidates[np.lexsort((-candidates, np.abs(candidates)))[0]]
    return None, None


def _no_conflict_free(own, intruder, v_north, v_east, v_up):
    n = np.broadcast(v_north, v_east, v_up).shape[0]
    own_pos = np.broadcast_to([own[1], own[0], own[2]], (n, 3))
    own_vel = np.stack(np.broadcast_arrays(v_east, v_north, v_up), axis=-1)
    int_pos = np.broadcast_to([intruder[1], intruder[0], intruder[2]], (n, 3))
    int_vel = np.broadcast_to([intruder[4], intruder[3], intruder[5]], (n, 3))
    return detect_well_clear(own_pos, own_vel, int_pos, int_vel, DO365_DWC, LOOKAHEAD_S).conflict.all()


def _offset_deg(advisory, own):
    return math.degrees(advisory[TARGET_HEADING] - own[6])


def test_recovery_volumes_shrink_as_daidalus_down_to_the_nmac_cylinder():
    volumes = recovery_volumes(daa_params())
    assert volumes[0] == pytest.approx((0.66 * FT_PER_NMI, 450.0))  # 4010.24 ft
    assert tuple(volumes[-1]) == (500.0, 100.0) and len(volumes) == 21
    assert tuple(volumes[-2]) != (500.0, 100.0)
    np.testing.assert_allclose(volumes[1:6, 0] / volumes[:5, 0], 0.9)  # (1 - ca_factor) each step
    assert np.all(np.diff(volumes, axis=0) <= 0)


OFFSETS = np.arange(-180, 181)


def test_horizontal_recovery_takes_the_closest_heading_keeping_the_recovery_cylinder():
    """A fast intruder 10,000 ft ahead, 400 ft above and climbing away at 4 ft/s: every heading violates DWC now
    (tau_mod, |dz| <= 450 ft), but headings that slow the closure reach 4010 ft only once |dz| >= 450 ft."""
    params = daa_params()
    own = _state(0.0, 0.0, 3000.0, 0.0, 200.0)
    intruder = _state(10000.0, 500.0, 3400.0, 180.0, 600.0, v_up_fps=4.0)
    v_north, v_east = _headings(own, OFFSETS)
    assert _no_conflict_free(own, intruder, v_north, v_east, 0.0)  # so the recovery branch is reached
    level, expected = _expected_recovery(OFFSETS, *_separations(own, intruder, v_north, v_east, 0.0), params)
    assert level == 0 and 20 < abs(expected) < 160  # the full recovery cylinder, not a trivial turn
    advisory = _decide(own, intruder, params)
    assert advisory[LEVEL] >= 2 and advisory[HORIZONTAL_MODE] == 1.0
    assert _offset_deg(advisory, own) == pytest.approx(expected, abs=1e-9)


def test_horizontal_recovery_shrinks_the_cylinder_when_no_heading_keeps_it():
    """An intruder twice as fast, 6,000 ft ahead and 300 ft above: no heading passes 4010 ft away (the best DCPA
    is ~3,000 ft) and 300 ft < 450 ft, so the cylinder must shrink until some heading keeps it."""
    params = daa_params()
    own = _state(0.0, 0.0, 3000.0, 0.0, 200.0)
    intruder = _state(6000.0, 300.0, 3300.0, 180.0, 400.0)
    v_north, v_east = _headings(own, OFFSETS)
    assert _no_conflict_free(own, intruder, v_north, v_east, 0.0)
    level, expected = _expected_recovery(OFFSETS, *_separations(own, intruder, v_north, v_east, 0.0), params)
    assert level is not None and level >= 1
    assert _offset_deg(_decide(own, intruder, params), own) == pytest.approx(expected, abs=1e-9)


def test_horizontal_recovery_keeps_the_preferred_side_within_band_persistence():
    params = daa_params()
    own = _state(0.0, 0.0, 3000.0, 0.0, 200.0)
    intruder = _state(10000.0, 500.0, 3400.0, 180.0, 600.0, v_up_fps=4.0)
    v_north, v_east = _headings(own, OFFSETS)
    rng, dz = _separations(own, intruder, v_north, v_east, 0.0)
    d, h = recovery_volumes(params)[0]
    kept = np.all((rng >= d) | (dz >= h), axis=1)
    left, right = -OFFSETS[kept & (OFFSETS <= 0)].max(), OFFSETS[kept & (OFFSETS >= 0)].min()
    for side, own_side, other_side in ((-1.0, left, right), (1.0, right, left)):
        memory = np.zeros(MEMORY_SIZE)
        memory[_SIDE] = side
        target, direction = _guidance(own, intruder, params, memory)
        expected = side * own_side if own_side - other_side <= 15 else -side * other_side
        assert math.degrees(target - own[6]) == pytest.approx(expected, abs=1e-9)
        assert direction == np.sign(expected) and memory[_SIDE] == direction


def test_horizontal_recovery_saturates_to_the_largest_predicted_minimum_range():
    """Already inside the NMAC cylinder: no heading keeps even it; the largest predicted minimum range wins."""
    params = daa_params()
    own = _state(0.0, 0.0, 3000.0, 0.0, 200.0)
    intruder = _state(300.0, 100.0, 3020.0, 200.0, 300.0)
    v_north, v_east = _headings(own, OFFSETS)
    rng, dz = _separations(own, intruder, v_north, v_east, 0.0)
    assert _expected_recovery(OFFSETS, rng, dz, params) == (None, None)
    offset = _offset_deg(_decide(own, intruder, params), own)
    chosen = np.flatnonzero(OFFSETS == round(offset))[0]
    assert abs(offset - round(offset)) < 1e-9
    assert rng[chosen].min() >= rng.min(axis=1).max() - 1e-3


RATES_FPS = np.arange(-60, 61) * 100.0 / 60.0  # +-6000 ft/min every 100 ft/min from a level ownship


@pytest.mark.parametrize("range_ft, shrinks", [(8000.0, False), (5000.0, True)])
def test_vertical_recovery_takes_the_closest_rate_keeping_the_recovery_cylinder(range_ft, shrinks):
    """Head-on, closing at 400 ft/s, 70 ft apart vertically, already inside the tau_mod region: no rate is
    conflict-free. From 8,000 ft a 2,300 ft/min descent keeps 450 ft by the time the range is 4010 ft; from 5,000
    ft no rate does, and the cylinder shrinks."""
    params = daa_params(dimension="vertical")
    own = _state(0.0, 0.0, 3000.0, 0.0, 200.0)
    intruder = _state(range_ft, 0.0, 3070.0, 180.0, 200.0)
    assert _no_conflict_free(own, intruder, own[3], own[4], RATES_FPS)
    rng, dz = _separations(own, intruder, own[3], own[4], RATES_FPS)
    level, expected = _expected_recovery(RATES_FPS, rng, dz, params)
    assert level is not None and (level > 0) == shrinks and expected < 0  # away from the intruder above
    advisory = _decide(own, intruder, params)
    assert advisory[VERTICAL_MODE] == 1.0 and advisory[HORIZONTAL_MODE] == 0.0
    assert advisory[TARGET_VERTICAL_RATE] == pytest.approx(expected, abs=1e-9)
    if not shrinks:
        assert expected * 60.0 == pytest.approx(-2300.0)


def test_private_detector_agrees_with_the_public_detection_api():
    """`daa._conflict_start` (the logic's compiled copy) against `metrics.detection.detect_well_clear` on random
    straight-line states for every well-clear preset and several lookaheads, degenerate velocities included."""
    rng = np.random.default_rng(20240605)
    n = 1500
    disagreements = []
    for volume in WELL_CLEAR_PRESETS.values():
        rel_pos = np.column_stack(
            [rng.uniform(-25000, 25000, n), rng.uniform(-25000, 25000, n), rng.uniform(-1500, 1500, n)]
        )
        rel_pos[: n // 10, :2] *= 0.1  # some already inside the horizontal threshold
        own_vel = np.column_stack([rng.uniform(-400, 400, (n, 2)), rng.uniform(-50, 50, n)])
        int_vel = np.column_stack([rng.uniform(-400, 400, (n, 2)), rng.uniform(-50, 50, n)])
        closing = slice(n // 2, n)  # half of them aimed roughly at the ownship
        bearing = rel_pos[closing, :2] / np.linalg.norm(rel_pos[closing, :2], axis=1, keepdims=True)
        int_vel[closing, :2] = (
            own_vel[closing, :2]
            - bearing * rng.uniform(100, 600, (n - n // 2, 1))
            + rng.uniform(-80, 80, (n - n // 2, 2))
        )
        int_vel[closing, 2] = own_vel[closing, 2] - rel_pos[closing, 2] / rng.uniform(10, 60, n - n // 2)
        int_vel[n // 10 : n // 5, 2] = own_vel[n // 10 : n // 5, 2]  # no vertical closure
        int_vel[n // 5 : n // 4, :2] = own_vel[n // 5 : n // 4, :2]  # no horizontal closure
        lookahead = rng.choice([25.0, 55.0, 75.0, 110.0, 180.0], n)
        own_pos = rng.uniform(-1000, 1000, (n, 3))
        int_pos = own_pos + rel_pos
        public = detect_well_clear(own_pos, own_vel, int_pos, int_vel, volume, lookahead)
        for i in range(n):
            s, v = int_pos[i] - own_pos[i], int_vel[i] - own_vel[i]
            start = _conflict_start(
                s[0],
                s[1],
                s[2],
                v[0],
                v[1],
                v[2],
                volume.dthr_ft,
                volume.zthr_ft,
                volume.tthr_s,
                volume.hmd_ft,
                lookahead[i],
            )
            if (start >= 0.0) != bool(public.conflict[i]) or (start >= 0.0 and abs(start - public.t_in[i]) > 1e-6):
                disagreements.append((volume.name, i, start, public.t_in[i]))
        assert n // 10 < public.conflict.sum() < n - n // 10  # both outcomes well represented
    assert not disagreements, disagreements[:5]


def test_inside_the_corrective_cylinder_no_heading_or_rate_is_conflict_free():
    """The premise of the logic's shortcut to recovery (no conflict-free scan when inside the DTHR cylinder
    now), checked with the public detector over every heading and every rate."""
    rng = np.random.default_rng(7)
    for _ in range(50):
        own = _state(0.0, 0.0, 3000.0, rng.uniform(0, 360), rng.uniform(50, 400), rng.uniform(-30, 30))
        bearing, distance = rng.uniform(0, 2 * math.pi), rng.uniform(0, 3990)
        intruder = _state(
            distance * math.cos(bearing),
            distance * math.sin(bearing),
            3000.0 + rng.uniform(-445, 445),
            rng.uniform(0, 360),
            rng.uniform(0, 400),
            rng.uniform(-30, 30),
        )
        v_north, v_east = _headings(own, OFFSETS)
        assert _no_conflict_free(own, intruder, v_north, v_east, own[5])
        assert _no_conflict_free(own, intruder, own[3], own[4], RATES_FPS)
