"""Numba kernel of the encounter geometry draws (mitll-reference 4.3-4.5, decisions.md section 5).

Per encounter attempt, from the geometry stream (seed, encounter id; sub-stream 2, attempt):
one uniform for the VMD acceptance, pairs of uniforms for the intruder heading at CPA (density
proportional to the relative speed, by rejection), two uniforms for the signed HMD (bin, then
uniform within it).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..dynamics._kernels import (
    HDOT_MAX,
    HDOT_MIN,
    PITCH_RATE_MAX,
    SPEED_MAX,
    SPEED_MAX_MARGIN_FPS,
    SPEED_MIN,
    YAW_RATE_MAX,
    step,
)
from ..random import next_uniform, stream_init

GEOMETRY_SUB_STREAM = 2
#: heading rejection rounds before giving up on an attempt (never reached unless speeds are NaN)
_MAX_HEADING_ROUNDS = 100_000


class Attempts(NamedTuple):
    """Encounter attempts, row ``i`` each: the geometry stream's key (``seed``, ``ids[i]``) and
    ``attempts[i]``; ``rel_alt_ft`` intruder minus ownship altitude at tCPA; the horizontal speeds
    (``v_own``, ``v_int``, ft/s) and vertical rates (``hdot_own``, ``hdot_int``, ft/s) used for the
    heading density."""

    seed: np.uint64
    ids: np.ndarray
    attempts: np.ndarray
    rel_alt_ft: np.ndarray
    v_own: np.ndarray
    v_int: np.ndarray
    hdot_own: np.ndarray
    hdot_int: np.ndarray


class Proposal(NamedTuple):
    """The importance-sampling proposal: VMD bin edges (ft) with each bin's acceptance probability,
    HMD bin edges (ft) with the cumulative bin probabilities."""

    vmd_edges: np.ndarray
    vmd_accept: np.ndarray
    hmd_edges: np.ndarray
    hmd_cumulative: np.ndarray


class GeometryOutputs(NamedTuple):
    """What the kernel fills per attempt: VMD bin (-1 outside the span), accepted, intruder heading
    at CPA (rad), signed HMD (ft) and its bin."""

    vmd_bin: np.ndarray
    accepted: np.ndarray
    psi_int: np.ndarray
    hmd_signed: np.ndarray
    hmd_bin: np.ndarray


@njit(cache=True)
def _relative_speed(psi, v_own, v_int, hdot_diff):
    return math.sqrt((v_int * math.cos(psi) - v_own) ** 2 + (v_int * math.sin(psi)) ** 2 + hdot_diff**2)


@njit(parallel=True, cache=True, nogil=True)
def geometry_kernel(attempt_rows, proposal, out):
    """VMD acceptance, intruder heading at CPA and signed HMD for every attempt (row i) of
    ``attempt_rows`` (`Attempts`) under ``proposal`` (`Proposal`), into ``out`` (`GeometryOutputs`)."""
    # each row in a function of its own: arrays unpacked from the tuples inside a prange loop body
    # are not written back by Numba's parallel lowering
    for i in prange(attempt_rows.ids.shape[0]):
        _one_attempt(i, attempt_rows, proposal, out)


@njit(cache=True)
def _vmd_bin(rel, vmd_edges):
    """The VMD bin of the relative altitude ``rel`` (0-based), -1 outside the span."""
    n_vmd = vmd_edges.shape[0] - 1
    b = -1
    if rel >= vmd_edges[0] and rel < vmd_edges[n_vmd]:
        b = 0
        while b < n_vmd - 1 and rel >= vmd_edges[b + 1]:
            b += 1
    return b


@njit(cache=True)
def _vmd_uniform(seed, encounter_id, attempt):
    """The uniform an attempt's VMD draw compares with its bin's acceptance: its geometry stream's first."""
    stream = np.empty(9, dtype=np.uint64)
    stream_init(stream, np.uint64(seed), np.uint64(encounter_id), np.uint64(GEOMETRY_SUB_STREAM), np.uint64(attempt))
    return next_uniform(stream)


@njit(cache=True)
def vmd_accepted(seed, encounter_id, attempt, rel, vmd_edges, vmd_accept):
    """The VMD acceptance of an attempt: its geometry stream's first uniform against its bin's probability."""
    b = _vmd_bin(rel, vmd_edges)
    return b >= 0 and _vmd_uniform(seed, encounter_id, attempt) <= vmd_accept[b]


@njit(cache=True)
def _one_attempt(i, attempt_rows, proposal, out):
    """Row ``i`` of `geometry_kernel`."""
    seed, ids, attempts, rel_alt_ft, v_own, v_int, hdot_own, hdot_int = attempt_rows
    vmd_edges, vmd_accept, hmd_edges, hmd_cumulative = proposal
    out_vmd_bin, out_accepted, out_psi_int, out_hmd_signed, out_hmd_bin = out
    n_hmd = hmd_edges.shape[0] - 1
    stream = np.empty(9, dtype=np.uint64)
    stream_init(stream, np.uint64(seed), np.uint64(ids[i]), np.uint64(GEOMETRY_SUB_STREAM), np.uint64(attempts[i]))
    u_vmd = next_uniform(stream)
    b = _vmd_bin(rel_alt_ft[i], vmd_edges)
    out_vmd_bin[i] = b
    if b < 0 or u_vmd > vmd_accept[b]:
        out_accepted[i] = False
        return
    out_accepted[i] = True
    hdot_diff = hdot_int[i] - hdot_own[i]
    head_on = _relative_speed(math.pi, v_own[i], v_int[i], hdot_diff)
    psi = 0.0
    for _ in range(_MAX_HEADING_ROUNDS):
        psi = (next_uniform(stream) - 0.5) * 2.0 * math.pi
        u_accept = next_uniform(stream)
        if head_on <= 0.0 or u_accept * head_on <= _relative_speed(psi, v_own[i], v_int[i], hdot_diff):
            break
    out_psi_int[i] = psi
    u_bin = next_uniform(stream)
    k = 0
    while k < n_hmd - 1 and u_bin >= hmd_cumulative[k]:
        k += 1
    out_hmd_bin[i] = k
    out_hmd_signed[i] = hmd_edges[k] + next_uniform(stream) * (hmd_edges[k + 1] - hmd_edges[k])


# ------------------------------------------------------------------ flights of the screened attempts


@njit(cache=True)
def _record_state(rec, k, speed, north, east, up, heading, pitch, bank):
    """Sample ``k`` of one aircraft's flight records ``rec`` (rows in the order of
    `encsim.dynamics.Trajectories`; the vertical rate, row 7, only for the flights that are
    finished: `vertical_rate_kernel`)."""
    rec[0, k] = north
    rec[1, k] = east
    rec[2, k] = up
    rec[3, k] = speed
    rec[4, k] = heading
    rec[5, k] = pitch
    rec[6, k] = bank


@njit(cache=True)
def _fly_span(
    state, ext, p, offsets, row_step, hdot_cmd, psidot_cmd, accel_cmd, limits, first_step, last_step, dt, rec
):
    """Fly the track at ``p`` of the schedules from ``state`` (7: speed, north, east, up, heading,
    pitch, bank; updated in place) over steps ``first_step + 1 .. last_step``, recording sample k
    into ``rec[:, k]`` (north, east, up, speed, heading, pitch, bank) and updating ``ext`` (minimum
    and maximum altitude and speed). The steps of `encsim.dynamics._kernels.fly_kernel` without
    the command lead, so that a flight cut into spans is bit for bit the flight in one piece.
    """
    speed, north, east, up, heading, pitch, bank = state[0], state[1], state[2], state[3], state[4], state[5], state[6]
    up_min, up_max, speed_lo, speed_hi = ext[0], ext[1], ext[2], ext[3]
    row = offsets[p]
    last_row = offsets[p + 1] - 1
    for i in range(first_step + 1, last_step + 1):
        while row < last_row and row_step[row + 1] <= i - 1:
            row += 1
        speed, north, east, up, heading, pitch, bank = step(
            speed,
            north,
            east,
            up,
            heading,
            pitch,
            bank,
            hdot_cmd[row],
            psidot_cmd[row],
            accel_cmd[row],
            limits[SPEED_MIN, p],
            limits[SPEED_MAX, p],
            limits[HDOT_MIN, p],
            limits[HDOT_MAX, p],
            limits[PITCH_RATE_MAX, p],
            limits[YAW_RATE_MAX, p],
            dt,
        )
        _record_state(rec, i, speed, north, east, up, heading, pitch, bank)
        up_min = min(up_min, up)
        up_max = max(up_max, up)
        speed_lo = min(speed_lo, speed)
        speed_hi = max(speed_hi, speed)
    ext[0], ext[1], ext[2], ext[3] = up_min, up_max, speed_lo, speed_hi
    state[0], state[1], state[2], state[3], state[4], state[5], state[6] = speed, north, east, up, heading, pitch, bank


@njit(cache=True)
def _start(state, ext, init, p, rec):
    """Sample 0 of the track at ``p``: the state from ``init``, recorded, the extremes started."""
    for f in range(7):
        state[f] = init[f, p]
    _record_state(rec, 0, state[0], state[1], state[2], state[3], state[4], state[5], state[6])
    ext[0] = state[3]
    ext[1] = state[3]
    ext[2] = state[0]
    ext[3] = state[0]


@njit(parallel=True, cache=True, nogil=True)
def fly_attempts_kernel(
    own, intruder, tracks, k_cpa, n_steps, dt, draw, vmd, reach, groups, cpa, end, out_own, out_int
):
    """Each attempt's pair flown once: both to tCPA, then on to the end only for the attempts that go on.

    ``own``, ``intruder``: (init (7, n_tracks), offsets, row_step, hdot, psidot, accel, limits
    (6, n_tracks)) of the two samples; attempt ``a`` flies the track at ``tracks[a]`` of each.
    Both fly to sample ``k_cpa`` in a scratch record; the attempt goes on when neither went below
    ground before tCPA (``draw[0]`` > 0 only) and, when ``draw[1]`` > 0, the VMD draw of its
    geometry stream (seed ``vmd[0][0]``, id ``vmd[1][a]``, attempt ``vmd[2][a]``) accepts the
    relative altitude at tCPA (bins ``vmd[3]``, acceptance ``vmd[4]``). Only then both fly on to
    ``n_steps``, recorded into ``out_own[:7, a]`` and ``out_int[:7, a]`` from sample 0. With the
    VMD draw, an attempt the draw must reject is not flown at all (`_draw_rejects_unflown`, from
    ``reach``: the bounds of its relative altitude at tCPA and whether neither aircraft can go
    below ground before it): its outputs stay NaN, as if flown and rejected. ``cpa``:
    (state (2, 7, n) at tCPA, extremes (2, 4, n) to tCPA, going on (n,) bool, not flown (n,) bool);
    ``end``: (state, extremes) at the end, for the attempts that go on.

    Attempts ``groups[g]:groups[g + 1]`` are tried in order, and when ``draw[2]`` > 0 those after
    the first that goes on are not flown at all (marked not flown): they matter only if that one
    is rejected later, and are then tried again.
    """
    for g in prange(groups.shape[0] - 1):
        found = False
        for a in range(groups[g], groups[g + 1]):
            if found and draw[2] > 0:
                cpa[2][a] = False
                cpa[3][a] = True
                continue
            cpa[3][a] = False
            _attempt_flight(a, own, intruder, tracks, k_cpa, n_steps, dt, draw, vmd, reach, cpa, end, out_own, out_int)
            found = found or cpa[2][a]


@njit(cache=True)
def _fly_to_cpa(s, a, p, side, k_cpa, dt, states, exts, scratch, cpa):
    """Fly aircraft ``s`` (0 ownship, 1 intruder; ``side`` its arrays, ``p`` its track) of attempt
    ``a`` to tCPA into ``scratch[s]``; its state and extremes there go to ``cpa``."""
    init, offsets, row_step, hdot_cmd, psidot_cmd, accel_cmd, limits = side
    _start(states[s], exts[s], init, p, scratch[s])
    _fly_span(
        states[s], exts[s], p, offsets, row_step, hdot_cmd, psidot_cmd, accel_cmd, limits, 0, k_cpa, dt, scratch[s]
    )
    cpa[0][s, :, a] = states[s]
    cpa[1][s, :, a] = exts[s]


@njit(cache=True)
def _attempt_flight(a, own, intruder, tracks, k_cpa, n_steps, dt, draw, vmd, reach, cpa, end, out_own, out_int):
    """Attempt ``a`` of `fly_attempts_kernel`."""
    p = tracks[a]
    going_on = cpa[2]
    end_state, end_ext = end
    seed, ids, attempts, vmd_edges, vmd_accept = vmd
    screened = draw[0] > 0 and draw[1] > 0
    if screened and _draw_rejects_unflown(a, vmd, reach):
        going_on[a] = False
        return
    states = np.empty((2, 7))
    exts = np.empty((2, 4))
    scratch = np.empty((2, 7, k_cpa + 1))
    first = _first_side(a, reach)
    for s in (first, 1 - first):
        _fly_to_cpa(s, a, p, own if s == 0 else intruder, k_cpa, dt, states, exts, scratch, cpa)
        if screened and s == first and _first_side_decides(a, first, states[first, 3], exts[first, 0], vmd, reach):
            going_on[a] = False
            return
    go = not (draw[0] > 0 and (exts[0, 0] < 0 or exts[1, 0] < 0))
    if go and draw[1] > 0:
        go = vmd_accepted(seed[0], ids[a], attempts[a], states[1, 3] - states[0, 3], vmd_edges, vmd_accept)
    going_on[a] = go
    if not go:
        return
    for s in range(2):
        _, offsets, row_step, hdot_cmd, psidot_cmd, accel_cmd, limits = own if s == 0 else intruder
        rec = out_own[:, a, :] if s == 0 else out_int[:, a, :]
        rec[:7, : k_cpa + 1] = scratch[s]
        _fly_span(
            states[s], exts[s], p, offsets, row_step, hdot_cmd, psidot_cmd, accel_cmd, limits, k_cpa, n_steps, dt, rec
        )
        end_state[s, :, a] = states[s]
        end_ext[s, :, a] = exts[s]


@njit(cache=True)
def _first_side(a, reach):
    """The aircraft of attempt ``a`` to fly first: the one with the wider altitude bounds at tCPA
    (knowing its altitude narrows the relative altitude most); the ownship when they are unknown."""
    alt_lo, alt_hi, _ = reach
    return 1 if alt_hi[1, a] - alt_lo[1, a] > alt_hi[0, a] - alt_lo[0, a] else 0


@njit(cache=True)
def _first_side_decides(a, first, first_alt, first_lowest, vmd, reach):
    """True when attempt ``a`` must end whatever the other aircraft does, from the first one's flight
    to tCPA (altitude ``first_alt`` there, lowest ``first_lowest`` before): it went below ground, or
    the other cannot go below ground and the VMD draw accepts no relative altitude that the first's
    altitude and the other's bounds allow. The relative altitude is the intruder's altitude minus
    the ownship's, a rounding monotone in both, so it stays within the bounds formed here. An
    attempt without bounds (NaN: not screened) flies both."""
    alt_lo, alt_hi, floor_clear = reach
    other = 1 - first
    if not alt_lo[other, a] <= alt_hi[other, a]:
        return False
    if first_lowest < 0:
        return True
    if not floor_clear[other, a]:
        return False
    if first == 0:
        rel_lo, rel_hi = alt_lo[1, a] - first_alt, alt_hi[1, a] - first_alt
    else:
        rel_lo, rel_hi = first_alt - alt_hi[0, a], first_alt - alt_lo[0, a]
    return _draw_rejects_between(a, vmd, rel_lo, rel_hi)


@njit(cache=True)
def _draw_rejects_unflown(a, vmd, reach):
    """True when attempt ``a`` would only be flown to be rejected by its VMD draw: the bounds
    ``reach`` gives its relative altitude at tCPA leave the draw nothing to accept, and neither
    aircraft can go below ground before tCPA (so the flight could not have rejected it as below
    ground first). Unknown bounds (NaN) fly.

    The relative altitude is computed as the intruder's altitude minus the ownship's, a rounding
    monotone in both, so it cannot leave the bounds formed from the aircraft's altitude bounds.
    """
    alt_lo, alt_hi, floor_clear = reach
    if not (floor_clear[0, a] and floor_clear[1, a]):
        return False
    return _draw_rejects_between(a, vmd, alt_lo[1, a] - alt_hi[0, a], alt_hi[1, a] - alt_lo[0, a])


@njit(cache=True)
def _draw_rejects_between(a, vmd, rel_lo, rel_hi):
    """True when no VMD bin whose acceptance takes attempt ``a``'s uniform overlaps ``rel_lo`` ..
    ``rel_hi`` (False for unknown bounds: NaN)."""
    seed, ids, attempts, vmd_edges, vmd_accept = vmd
    if not rel_lo <= rel_hi:
        return False
    u_vmd = _vmd_uniform(seed[0], ids[a], attempts[a])
    for b in range(vmd_edges.shape[0] - 1):
        if u_vmd <= vmd_accept[b] and rel_hi >= vmd_edges[b] and rel_lo < vmd_edges[b + 1]:
            return False
    return True


@njit(parallel=True, cache=True, nogil=True)
def vertical_rate_kernel(records):
    """Row 7 of flight records (the vertical rate) from their speed and pitch, as the dynamics record it."""
    for a in prange(records.shape[1]):
        for k in range(records.shape[2]):
            records[7, a, k] = records[3, a, k] * math.sin(records[5, a, k])


@njit(parallel=True, cache=True, nogil=True)
def gather_flights_kernel(records, chosen, out):
    """``out[:, i] = records[:, chosen[i]]`` for the seven recorded rows, and, when ``out`` has an
    eighth row, the vertical rate from speed and pitch as `vertical_rate_kernel`, in one pass."""
    with_rate = out.shape[0] > 7
    for i in prange(chosen.shape[0]):
        a = chosen[i]
        for k in range(records.shape[2]):
            for f in range(7):
                out[f, i, k] = records[f, a, k]
            if with_rate:
                out[7, i, k] = records[3, a, k] * math.sin(records[5, a, k])


# ---------------------------------------------------------------------------------- the VMD screen


@njit(parallel=True, cache=True, nogil=True)
def altitude_reach_kernel(
    state0, offsets, row_step, hdot_cmd, accel_cmd, limits, n_steps, dt, margins, out_lo, out_hi, out_floor
):
    """Bounds of each aircraft's altitude after ``n_steps`` steps from its commanded vertical rates,
    and a lower bound of its altitude at every sample up to then (``out_floor``).

    The altitude after N steps is ``alt + dt * sum(r_0 .. r_{N-1})`` with ``r_i`` the vertical rate
    at sample i (each step moves the altitude by the rate of its old state). While the aircraft
    can follow its commands (the rates in question below ``margins[3]`` times its airspeed), the
    dynamics move the rate toward the command in force (clipped to [hdot_min, hdot_max]) and
    overshoot it by little, so ``r_i`` stays within the range of ``r_0`` and the commands of steps
    1..i, widened by ``margins[0]`` times its largest magnitude plus ``margins[1]`` ft/s. From the
    first step where it might not, only ``|r_i| <= V_i`` is used (the airspeed follows the
    commanded acceleration within its limits exactly, whatever the attitude). ``margins[2]`` ft
    more on the altitude. ``state0`` is (3, n): altitude, airspeed and vertical rate at sample 0;
    command rows of aircraft ``a`` from ``offsets[a]``, row k in force from step ``row_step[k] + 1``
    on (no command lead), as in the flight; ``limits`` (6, n) in the rows of the dynamics kernel.
    The bound after i steps is the one this kernel gives with ``n_steps`` = i, so ``out_floor`` (the
    initial altitude and the least of those lower bounds) bounds the lowest altitude flown up to
    ``n_steps``.
    """
    frac, rate_margin, alt_margin, follow = margins[0], margins[1], margins[2], margins[3]
    for a in prange(state0.shape[1]):
        speed = state0[1, a]
        lo = state0[2, a]
        hi = state0[2, a]
        free = False
        sum_lo = 0.0
        sum_hi = 0.0
        least_sum_lo = math.inf  # over steps 1 .. n_steps (sample 0 is the initial altitude itself)
        row = offsets[a]
        last_row = offsets[a + 1] - 1
        for i in range(1, n_steps + 1):
            widen = frac * max(abs(lo), abs(hi)) + rate_margin
            if free or max(abs(lo), abs(hi)) + widen > follow * speed:
                free = True
                sum_lo -= speed
                sum_hi += speed
            else:
                sum_lo += lo - widen
                sum_hi += hi + widen
            least_sum_lo = min(least_sum_lo, sum_lo)
            while row < last_row and row_step[row + 1] <= i - 1:
                row += 1
            command = min(max(hdot_cmd[row], limits[HDOT_MIN, a]), limits[HDOT_MAX, a])
            lo = min(lo, command)
            hi = max(hi, command)
            speed = speed + accel_cmd[row] * dt
            if speed < limits[SPEED_MIN, a]:
                speed = limits[SPEED_MIN, a]
            if speed >= limits[SPEED_MAX, a]:
                speed = limits[SPEED_MAX, a] - SPEED_MAX_MARGIN_FPS
        out_lo[a] = state0[0, a] + dt * sum_lo - alt_margin
        out_hi[a] = state0[0, a] + dt * sum_hi + alt_margin
        out_floor[a] = min(state0[0, a], state0[0, a] + dt * least_sum_lo - alt_margin)


# ---------------------------------------------------------------------------------------- placement


@njit(parallel=True, cache=True, nogil=True)
def place_kernel(own_north, own_east, int_north, int_east, k_cpa, turn, offset, out):
    """Both aircraft of each attempt (row i) placed in one pass over their samples.

    Each is rotated about its position at sample ``k_cpa`` by the angle whose cosine and sine are
    ``turn[0, i]``, ``turn[1, i]`` (ownship) and ``turn[2, i]``, ``turn[3, i]`` (intruder); the
    intruder is translated so that at ``k_cpa`` it sits at the ownship's position plus
    (``offset[0, i]``, ``-offset[1, i]``) (the signed HMD across the relative velocity); both are
    translated so that the ownship starts at the origin. ``out``: (4, n, n_samples) placed north
    and east of the ownship, then of the intruder. The arithmetic is that of the array expressions
    it replaced, operation for operation, so the placed positions are bit for bit the same.
    """
    for i in prange(own_north.shape[0]):
        _rotate_row(own_north, own_east, i, k_cpa, turn[0, i], turn[1, i], out, 0)
        _rotate_row(int_north, int_east, i, k_cpa, turn[2, i], turn[3, i], out, 2)
        shift_n = (out[0, i, k_cpa] + offset[0, i]) - out[2, i, k_cpa]
        shift_e = (out[1, i, k_cpa] - offset[1, i]) - out[3, i, k_cpa]
        origin_n = out[0, i, 0]
        origin_e = out[1, i, 0]
        for j in range(own_north.shape[1]):
            out[0, i, j] = out[0, i, j] - origin_n
            out[1, i, j] = out[1, i, j] - origin_e
            out[2, i, j] = (out[2, i, j] + shift_n) - origin_n
            out[3, i, j] = (out[3, i, j] + shift_e) - origin_e


@njit(cache=True)
def _rotate_row(north, east, i, k_cpa, cos_a, sin_a, out, first):
    """Row ``i`` rotated about its sample ``k_cpa`` into ``out[first]`` (north) and ``out[first + 1]`` (east)."""
    pivot_n = north[i, k_cpa]
    pivot_e = east[i, k_cpa]
    for j in range(north.shape[1]):
        dn = north[i, j] - pivot_n
        de = east[i, j] - pivot_e
        out[first, i, j] = (pivot_n + cos_a * dn) - sin_a * de
        out[first + 1, i, j] = (pivot_e + sin_a * dn) + cos_a * de
