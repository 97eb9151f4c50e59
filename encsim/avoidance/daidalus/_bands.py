"""Numba kernels of DAIDALUS-style kinematic guidance bands (track/heading, speed, vertical speed, altitude).

Frame and units: x east, y north, z up; feet, feet per second, seconds, radians. An aircraft state
is a float array ``(x, y, z, vx, vy, vz)``; the ownship's is in the band frame (air-relative when
there is wind, every traffic velocity then has the wind removed too, which leaves the relative
motion unchanged).

The model (docs/daidalus.md, "Guidance bands", says which source each part comes from):

- A band value is reached by a *kinematic manoeuvre*: a constant-rate turn, a constant horizontal
  acceleration or a constant vertical acceleration in one direction, stopped after ``k`` time
  steps (``tstep = value step / rate``) and flown straight from then on; for altitude, a
  level-off manoeuvre (accelerate to the vertical rate, climb or descend, decelerate) to the
  target altitude, held level afterwards. The traffic flies straight.
- Candidate ``k`` is in conflict if the straight line after the manoeuvre is predicted to violate
  the detector's volume within ``[max(B, t_k), t_k + T]`` (capped at the lookahead), or if the
  manoeuvre itself loses separation at or just after a step time before it (then every later
  ``k`` in that direction is in conflict too: it would fly through the same loss). With a recovery detector
  (recovery bands), the inner cylinder must also be kept from 0 to ``B``.
- Detectors: ``det`` is a float array ``(kind, DTHR, ZTHR, TTHR, TCOA, s_err, sz_err, v_err,
  vz_err, own std x 8, traffic std x 8, z-scores x 6)``; kind 0 is WCV_TAUMOD (its SUM variant
  when a fixed error is nonzero), kind 1 a cylinder (DTHR, ZTHR) entered when range < DTHR and
  |dz| < ZTHR, kind 2 WCV_TAUMOD_SUM with the relative errors recomputed from the horizontal
  range between the evaluated ownship position and the traffic (the velocity z-score depends on
  it).

Kernels are private; ``encsim.avoidance.daidalus.bands`` wraps them.

The scans (the public kernels that loop over candidates) borrow their array arguments first
(`encsim.borrow`: their caller holds the arrays for the call). Their helpers take those arrays at
every candidate and step; counted, the arrays' atomic reference counts were about 60 % of the CPU
time of a `daa` closed loop (perf, the samples in ``NRT_incref`` / ``NRT_decref`` attributed by
return address to `_loss_at`, `_errors`, `manoeuvre_state`, `_tracked_candidate`, ...). A borrowed
array is the same data without the count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ...borrow import borrowed
from ._detection import (
    _almost_equal,
    _almost_less,
    _horizontal_violation,
    _vertical_interval,
    _vertical_violation,
    relative_sum_errors,
    wcv_taumod_sum_interval,
)

DIM_HDIR = 0
DIM_HS = 1
DIM_VS = 2
DIM_ALT = 3

DET_WCV = 0
DET_CYLINDER = 1
#: WCV_TAUMOD_SUM whose relative errors are recomputed from each evaluated ownship position
DET_WCV_SUM = 2
#: detector vector length: kind, DTHR, ZTHR, TTHR, TCOA, 4 fixed errors, own std (8), traffic std (8), z-scores (6)
DET_SIZE = 31

#: band edges closer than about 5 significant digits are equal (an interval clipped to within that of
#: the range's end makes no band): DAIDALUS's band precision of 2^40 ulps, as a power of two
COARSE_ULPS_EXPONENT = 40

#: kinematic parameter vector layout: turn rate (rad/s), horizontal accel (ft/s^2), vertical accel
#: (ft/s^2), vertical rate for altitude bands (ft/s), lookahead (s)
KIN_TURN_RATE = 0
KIN_HS_ACCEL = 1
KIN_VS_ACCEL = 2
KIN_VERTICAL_RATE = 3
KIN_LOOKAHEAD = 4


# --- detection on one relative state --------------------------------------------------------------


@njit(cache=True)
def _cylinder_interval(sx, sy, sz, vx, vy, vz, d, h, t_from, t_to):
    """Times in [t_from, t_to] with horizontal range < d and |dz| < h (straight motion); empty (inf, -inf)."""
    lo, hi = t_from, t_to
    if vz == 0.0:
        if abs(sz) >= h:
            return math.inf, -math.inf
    else:
        a = (-h - sz) / vz
        b = (h - sz) / vz
        lo = max(lo, min(a, b))
        hi = min(hi, max(a, b))
    vv = vx * vx + vy * vy
    if vv == 0.0:
        if sx * sx + sy * sy >= d * d:
            return math.inf, -math.inf
    else:
        sdotv = sx * vx + sy * vy
        disc = sdotv * sdotv - vv * (sx * sx + sy * sy - d * d)
        if disc <= 0.0:
            return math.inf, -math.inf
        root = math.sqrt(disc)
        lo = max(lo, (-sdotv - root) / vv)
        hi = min(hi, (-sdotv + root) / vv)
    if lo > hi:
        return math.inf, -math.inf
    return lo, hi


@njit(cache=True)
def _errors(det, range_ft):
    """SUM relative errors (s, sz, v, vz) of the detector for an ownship at this horizontal range."""
    if det[0] == DET_WCV_SUM:
        return relative_sum_errors(det[9:17], det[17:25], range_ft, det[25:31])
    return det[5], det[6], det[7], det[8]


@njit(cache=True)
def _sum_range(det, sx, sy):
    """The horizontal range at which a `DET_WCV_SUM` detector evaluates its errors (0 for the others, which
    do not read it: the scans skip the square root)."""
    return math.hypot(sx, sy) if det[0] == DET_WCV_SUM else 0.0


@njit(cache=True)
def _relative_interval(det, sx, sy, sz, vx, vy, vz, t_from, t_to, range_ft):
    """Violation interval of the detector for relative state s, v (own - traffic); empty (inf, -inf).

    ``range_ft``: horizontal range at which SUM errors are evaluated (kind 2 only).
    """
    if det[0] == DET_CYLINDER:
        return _cylinder_interval(sx, sy, sz, vx, vy, vz, det[1], det[2], t_from, t_to)
    e_s, e_sz, e_v, e_vz = _errors(det, range_ft)
    return wcv_taumod_sum_interval(
        sx, sy, sz, vx, vy, vz, det[1], det[2], det[3], det[4], t_from, t_to, e_s, e_sz, e_v, e_vz
    )


@njit(cache=True)
def _relative_violation(det, sx, sy, sz, vx, vy, vz, range_ft):
    """Is the relative state inside the detector's volume now?"""
    if det[0] == DET_CYLINDER:
        return sx * sx + sy * sy < det[1] * det[1] and abs(sz) < det[2]
    e_s, e_sz, e_v, e_vz = _errors(det, range_ft)
    if e_s == 0.0 and e_sz == 0.0 and e_v == 0.0 and e_vz == 0.0:
        return _horizontal_violation(sx, sy, vx, vy, det[1], det[3]) and _vertical_violation(sz, vz, det[2], det[4])
    # SUM: in violation now when the interval over the next second is a conflict that starts now
    t_in, t_out = wcv_taumod_sum_interval(
        sx, sy, sz, vx, vy, vz, det[1], det[2], det[3], det[4], 0.0, 1.0, e_s, e_sz, e_v, e_vz
    )
    return _almost_less(t_in, t_out) and _almost_equal(t_in, 0.0)


@njit(cache=True)
def conflict_interval(det, own, traffic, t_from, t_to):
    """Detector interval for straight ownship and traffic states (arrays of 6) within [t_from, t_to]."""
    return _relative_interval(
        det,
        own[0] - traffic[0],
        own[1] - traffic[1],
        own[2] - traffic[2],
        own[3] - traffic[3],
        own[4] - traffic[4],
        own[5] - traffic[5],
        t_from,
        t_to,
        math.hypot(own[0] - traffic[0], own[1] - traffic[1]),
    )


@njit(cache=True)
def violation_now(det, own, traffic):
    """Are straight ownship and traffic states inside the detector's volume now?"""
    sx, sy = own[0] - traffic[0], own[1] - traffic[1]
    return _relative_violation(
        det,
        sx,
        sy,
        own[2] - traffic[2],
        own[3] - traffic[3],
        own[4] - traffic[4],
        own[5] - traffic[5],
        math.hypot(sx, sy),
    )


# --- manoeuvres ------------------------------------------------------------------------------------


@njit(cache=True)
def _turn(own, t, omega):
    """State after turning for t s at signed rate omega (rad/s, > 0 = right/clockwise), speed and vz kept."""
    vx, vy = own[3], own[4]
    if omega == 0.0 or t == 0.0:
        return own[0] + vx * t, own[1] + vy * t, own[2] + own[5] * t, vx, vy, own[5]
    theta = omega * t
    c = math.cos(theta)
    s = math.sin(theta)
    x = own[0] + (vx * s + vy * (1.0 - c)) / omega
    y = own[1] + (vy * s - vx * (1.0 - c)) / omega
    return x, y, own[2] + own[5] * t, vx * c + vy * s, vy * c - vx * s, own[5]


@njit(cache=True)
def _speed_change(own, t, accel):
    """State after t s of constant horizontal acceleration (signed, ft/s^2) along the track."""
    gs = math.hypot(own[3], own[4])
    if gs == 0.0:
        ux, uy = 0.0, 0.0
    else:
        ux, uy = own[3] / gs, own[4] / gs
    dist = gs * t + 0.5 * accel * t * t
    new_gs = gs + accel * t
    return own[0] + ux * dist, own[1] + uy * dist, own[2] + own[5] * t, ux * new_gs, uy * new_gs, own[5]


@njit(cache=True)
def _vertical_speed_change(own, t, accel):
    """State after t s of constant vertical acceleration (signed, ft/s^2); horizontal motion kept."""
    z = own[2] + own[5] * t + 0.5 * accel * t * t
    return own[0] + own[3] * t, own[1] + own[4] * t, z, own[3], own[4], own[5] + accel * t


@njit(cache=True)
def _climb_then_stop_times(z0, vz0, rate, target, a_first, a_second):
    """Phase ends (t1, t2, t3, a1, a2) of a level-off with vz0 in the direction of the target.

    Accelerate at a1 to the climb rate (or keep a faster current rate), hold it, decelerate at a2
    to reach the target level; when there is not room to reach the rate, the two accelerations meet.
    """
    up = target >= z0
    direction = 1.0 if up else -1.0
    climb = direction * max(abs(rate), abs(vz0))
    dz = target - z0
    a1 = a_first if climb >= vz0 else a_second
    a2 = a_second if up else a_first
    t1 = (climb - vz0) / a1
    dz1 = vz0 * t1 + 0.5 * a1 * t1 * t1
    v1 = vz0 + a1 * t1
    dz3 = -v1 * v1 / (2.0 * a2)
    if abs(dz) >= abs(dz1 + dz3):
        t2 = (dz - dz1 - dz3) / climb
        return t1, t1 + t2, t1 + t2 - climb / a2, a1, a2
    qa = 0.5 * a1 * (1.0 - a1 / a2)
    qb = vz0 * (1.0 - a1 / a2)
    qc = -vz0 * vz0 / (2.0 * a2) - dz
    if qa == 0.0:
        r1 = -qc / qb if qb != 0.0 else 0.0
        r2 = r1
    else:
        root = math.sqrt(max(qb * qb - 4.0 * qa * qc, 0.0))
        r1 = (-qb + root) / (2.0 * qa)
        r2 = (-qb - root) / (2.0 * qa)
    if r1 < 0.0:
        t1 = r2
    elif r2 < 0.0:
        t1 = r1
    else:
        t1 = min(r1, r2)
    v1 = vz0 + a1 * t1
    return t1, t1, t1 - v1 / a2, a1, a2


@njit(cache=True)
def level_off_times(z0, vz0, rate, target, accel):
    """Phase ends (t1, t2, t3, a1, a2) of the level-off manoeuvre from (z0, vz0) to the target altitude.

    If the ownship is moving away from the target (or would overshoot it), it first stops its
    vertical motion, then levels off toward the target; the returned times include that stop.
    """
    up = target >= z0
    a_up, a_down = accel, -accel
    a1 = a_up if up else a_down
    a2 = a_down if up else a_up
    moving_toward = (vz0 >= 0.0) == up
    if moving_toward or _almost_equal(vz0, 0.0):
        stop_dz = -vz0 * vz0 / (2.0 * a2)
        if abs(target - z0) >= abs(stop_dz):
            return _climb_then_stop_times(z0, vz0, rate, target, a_up, a_down)
        t_stop = -vz0 / a2
        t1, t2, t3, b1, b2 = _climb_then_stop_times(z0 + stop_dz, 0.0, rate, target, a_up, a_down)
        return t_stop + t1, t_stop + t2, t_stop + t3, b1, b2
    t_stop = -vz0 / a1
    stop_dz = -vz0 * vz0 / (2.0 * a1)
    t1, t2, t3, b1, b2 = _climb_then_stop_times(z0 + stop_dz, 0.0, rate, target, a_up, a_down)
    return t_stop + t1, t_stop + t2, t_stop + t3, b1, b2


@njit(cache=True)
def _level_off_vertical(z0, vz0, target, a1, a2, t1, t2, t3, t):
    """Altitude and vertical speed at time t of a level-off with phase ends t1 <= t2 <= t3."""
    if t <= t1:
        return z0 + vz0 * t + 0.5 * a1 * t * t, vz0 + a1 * t
    v1 = vz0 + a1 * t1
    z1 = z0 + vz0 * t1 + 0.5 * a1 * t1 * t1
    if t <= t2:
        return z1 + v1 * (t - t1), v1
    if t <= t3:
        dt = t - t2
        return z1 + v1 * (t2 - t1) + v1 * dt + 0.5 * a2 * dt * dt, v1 + a2 * dt
    return target, 0.0


@njit(cache=True)
def _level_off(own, t, rate, target, accel, t_hold):
    """State at time t of the level-off to the target altitude; level at the target after t_hold."""
    t1, t2, t3, a1, a2 = level_off_times(own[2], own[5], rate, target, accel)
    return _level_off_phased(own, t, target, t1, t2, t3, a1, a2, t_hold)


@njit(cache=True)
def _level_off_phased(own, t, target, t1, t2, t3, a1, a2, t_hold):
    """`_level_off` with the phase ends and accelerations of `level_off_times` already computed."""
    x = own[0] + own[3] * t
    y = own[1] + own[4] * t
    if t <= t_hold:
        z, vz = _level_off_vertical(own[2], own[5], target, a1, a2, t1, t2, t3, t)
        return x, y, z, own[3], own[4], vz
    return x, y, target, own[3], own[4], 0.0


@njit(cache=True)
def manoeuvre_state(dim, direction, t, own, kin):
    """Ownship state after t s of the band's kinematic manoeuvre (direction +1 right/up/faster, -1 left/down/slower)."""
    if dim == DIM_HDIR:
        return _turn(own, t, direction * kin[KIN_TURN_RATE])
    if dim == DIM_HS:
        return _speed_change(own, t, direction * kin[KIN_HS_ACCEL])
    return _vertical_speed_change(own, t, direction * kin[KIN_VS_ACCEL])


# --- candidate checks --------------------------------------------------------------------------------


@njit(cache=True)
def _loss_at(det, x, y, z, vx, vy, vz, traffic, t, lookahead):
    """Is the ownship at (x..vz) at time t inside the detector's volume around the straight traffic?"""
    if t >= lookahead:
        return False
    # the ownship is placed at its straight-line origin (x, y) - t v, as the SUM errors expect
    range_ft = _sum_range(det, x - vx * t - traffic[0], y - vy * t - traffic[1])
    e_s, e_sz, e_v, e_vz = _errors(det, range_ft)
    if det[0] != DET_CYLINDER and (e_s != 0.0 or e_sz != 0.0 or e_v != 0.0 or e_vz != 0.0):
        # uncertain states: a conflict over [t, t + 1] that starts at t, predicted from the origin (the
        # velocity error grows the position error with time, so the prediction is not shift-invariant)
        t_in, t_out = wcv_taumod_sum_interval(
            x - vx * t - traffic[0],
            y - vy * t - traffic[1],
            z - vz * t - traffic[2],
            vx - traffic[3],
            vy - traffic[4],
            vz - traffic[5],
            det[1],
            det[2],
            det[3],
            det[4],
            t,
            t + 1.0,
            e_s,
            e_sz,
            e_v,
            e_vz,
        )
        return _almost_less(t_in, t_out) and _almost_equal(t_in, t)
    return _relative_violation(
        det,
        x - (traffic[0] + traffic[3] * t),
        y - (traffic[1] + traffic[4] * t),
        z - (traffic[2] + traffic[5] * t),
        vx - traffic[3],
        vy - traffic[4],
        vz - traffic[5],
        range_ft,
    )


@njit(cache=True)
def _loss_in_step(det, x, y, z, vx, vy, vz, traffic, t_k, t_next, lookahead):
    """Loss of separation at step time t_k or while flying on (straight) to the next step time.

    The manoeuvre is sampled at step times; checking the straight segment to the next step catches
    a loss that falls between two samples (this matches DAIDALUS's outputs far better than a check
    at the step times alone: speed bands 0.92 -> 0.99 of the reference steps).
    """
    if _loss_at(det, x, y, z, vx, vy, vz, traffic, t_k, lookahead):
        return True
    if t_next <= t_k:
        return False
    return _straight_after_conflict(det, x, y, z, vx, vy, vz, traffic, t_k, t_k, t_next, lookahead)


@njit(cache=True)
def _straight_after_conflict(det, x, y, z, vx, vy, vz, traffic, t_k, t_from, t_to, lookahead):
    """Conflict on the straight line flown from (x..vz) at time t_k, within [max(t_from, t_k), min(t_to, lookahead)]."""
    t_to = min(lookahead, t_to)
    if t_k > t_to or t_from > t_to:
        return False
    sx = x - vx * t_k - traffic[0]
    sy = y - vy * t_k - traffic[1]
    sz = z - vz * t_k - traffic[2]
    t_in, t_out = _relative_interval(
        det,
        sx,
        sy,
        sz,
        vx - traffic[3],
        vy - traffic[4],
        vz - traffic[5],
        max(t_from, t_k),
        t_to,
        _sum_range(det, sx, sy),
    )
    return _almost_less(t_in, t_out)


@njit(cache=True)
def _free_after(det, rdet, use_rec, x, y, z, vx, vy, vz, traffic, t_k, b, t_to, lookahead):
    """No conflict after the manoeuvre ends at t_k (detector from B, recovery cylinder before B)."""
    if _straight_after_conflict(det, x, y, z, vx, vy, vz, traffic, t_k, b, t_to, lookahead):
        return False
    if use_rec and _straight_after_conflict(rdet, x, y, z, vx, vy, vz, traffic, t_k, 0.0, b, lookahead):
        return False
    return True


@njit(cache=True)
def _loss_ranges(b, tstep, max_k, lookahead, use_rec):
    """Candidates whose step is tested for a loss: the detector's k_lo..k_hi (from B to the lookahead), the
    recovery cylinder's 0..k_hi_rec (up to B; -1 without it)."""
    k_lo = math.ceil(b / tstep)
    k_hi = min(math.floor(lookahead / tstep), max_k)
    k_hi_rec = min(math.floor(b / tstep), max_k) if use_rec else -1
    return k_lo, k_hi, k_hi_rec


@njit(cache=True)
def _segments_implied(det, rdet, use_rec, tstep, t_horizon, segments):
    """Can a free straight line after the manoeuvre answer the segment loss tests of its step?

    The segment after step k lies on the same straight line as the free test, inside its window (the detector's
    [t_k, t_k + tstep] within [t_k, t_k + T] once t_k >= B; the recovery cylinder's [t_k, min(B, t_k + tstep)]
    within [t_k, B]); for detectors whose conflict only grows with the window (`grows_with_horizon`), a free window
    has no conflict in any part of it. The point test at the step time is always made.
    """
    if not segments or t_horizon < tstep or not grows_with_horizon(det):
        return False
    return not use_rec or grows_with_horizon(rdet)


@njit(cache=True)
def _step_loss(det, rdet, x, y, z, vx, vy, vz, traffic, k, t_k, ranges, b, tstep, segments, lookahead, implied):
    """The manoeuvre's loss at step k (the detector from B, the recovery cylinder before B); ``implied``: the
    candidate's straight line is known free and `_segments_implied` holds, so only the point tests are made."""
    k_lo, k_hi, k_hi_rec = ranges
    if k_lo <= k <= k_hi:
        if implied and t_k >= b:
            if _loss_at(det, x, y, z, vx, vy, vz, traffic, t_k, lookahead):
                return True
        elif _loss_in_step(det, x, y, z, vx, vy, vz, traffic, t_k, t_k + tstep if segments else t_k, lookahead):
            return True
    if k <= k_hi_rec:
        if implied:
            return _loss_at(rdet, x, y, z, vx, vy, vz, traffic, t_k, lookahead)
        t_next = min(b, t_k + tstep) if segments else t_k
        return _loss_in_step(rdet, x, y, z, vx, vy, vz, traffic, t_k, t_next, lookahead)
    return False


@njit(cache=True)
def kinematic_side_green(
    dim, direction, max_k, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, segments=True
):
    """Conflict-free flags of candidates k = 0..max_k on one side of a turn/speed/vertical-speed band.

    Candidate k stops the manoeuvre at k * tstep. The manoeuvre's first loss of separation (the
    detector from B on, the recovery cylinder up to B) makes that candidate and every later one red.
    With ``segments`` a loss is also one entered on the straight segment to the next step time
    (the bands); without, only at step times (the all-red test of the last time to manoeuvre):
    each choice is the one that reproduces DAIDALUS's outputs (docs/daidalus.md).
    Each candidate's straight line is tested first, so that a free one answers its segment tests
    (`_segments_implied`).
    """
    own, traffic, det, rdet, kin = borrowed((own, traffic, det, rdet, kin))
    lookahead = kin[KIN_LOOKAHEAD]
    green = np.zeros(max_k + 1, dtype=np.bool_)
    ranges = _loss_ranges(b, tstep, max_k, lookahead, use_rec)
    implied_ok = _segments_implied(det, rdet, use_rec, tstep, t_horizon, segments)
    for k in range(0, max_k + 1):
        t_k = k * tstep
        x, y, z, vx, vy, vz = manoeuvre_state(dim, direction, t_k, own, kin)
        free = _free_after(det, rdet, use_rec, x, y, z, vx, vy, vz, traffic, t_k, b, t_horizon + t_k, lookahead)
        implied = free and implied_ok
        if _step_loss(det, rdet, x, y, z, vx, vy, vz, traffic, k, t_k, ranges, b, tstep, segments, lookahead, implied):
            break  # this candidate and every later one fly through the loss
        green[k] = free
    return green


@njit(cache=True)
def _coarse_less(a, b):
    """a < b and not equal to about 5 significant digits (2^`COARSE_ULPS_EXPONENT` ulps of the larger)."""
    if not a < b:
        return False
    _, e = math.frexp(max(abs(a), abs(b)))
    return b - a > math.ldexp(1.0, e - 53 + COARSE_ULPS_EXPONENT)


@njit(cache=True)
def free_piece(a, b, lo, hi, modulo):
    """Do two adjacent free candidates a < b make a band within the display range [lo, hi] (or modulo)?"""
    if modulo != 0.0:
        if b - a >= modulo - 1e-9:
            return True
        return abs(a % modulo - b % modulo) >= 1e-9
    return _coarse_less(max(a, lo), min(b, hi))


@njit(cache=True)
def _pair_makes_band(k, direction, value, step, lo, hi, modulo):
    """Do the free candidates k - 1 and k (values ``value + direction k step``) make a band in the display range?"""
    v_prev = value + step * (direction * (k - 1))
    v_k = value + step * (direction * k)
    return free_piece(min(v_prev, v_k), max(v_prev, v_k), lo, hi, modulo)


@njit(cache=True)
def kinematic_side_any_band(
    dim, direction, max_k, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, value, step, lo, hi, modulo
):
    """Does this side hold a conflict-free band: two adjacent free candidates (k - 1, k) making a band in range?

    The candidates' values are ``value + direction k step``; the loss tests are those of
    `kinematic_side_green`, and the scan stops at the first loss (every later candidate is red).
    """
    own, traffic, det, rdet, kin = borrowed((own, traffic, det, rdet, kin))
    lookahead = kin[KIN_LOOKAHEAD]
    ranges = _loss_ranges(b, tstep, max_k, lookahead, use_rec)
    implied_ok = _segments_implied(det, rdet, use_rec, tstep, t_horizon, True)
    previous = False
    for k in range(0, max_k + 1):
        t_k = k * tstep
        x, y, z, vx, vy, vz = manoeuvre_state(dim, direction, t_k, own, kin)
        free = _free_after(det, rdet, use_rec, x, y, z, vx, vy, vz, traffic, t_k, b, t_horizon + t_k, lookahead)
        implied = free and implied_ok
        if _step_loss(det, rdet, x, y, z, vx, vy, vz, traffic, k, t_k, ranges, b, tstep, True, lookahead, implied):
            return False
        if free and previous and _pair_makes_band(k, direction, value, step, lo, hi, modulo):
            return True
        previous = free
    return False


@njit(cache=True)
def kinematic_side_any_green(
    dim, direction, max_k, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, segments=True
):
    """``kinematic_side_green(...).any()``, stopping at the first conflict-free candidate.

    Candidate k is conflict-free when no loss of separation occurs at any step up to k (the same
    loss tests as `kinematic_side_green`, in the same ranges) and its straight line after the
    manoeuvre is free; a loss makes every later candidate red, so the scan stops there.
    """
    own, traffic, det, rdet, kin = borrowed((own, traffic, det, rdet, kin))
    lookahead = kin[KIN_LOOKAHEAD]
    ranges = _loss_ranges(b, tstep, max_k, lookahead, use_rec)
    implied_ok = _segments_implied(det, rdet, use_rec, tstep, t_horizon, segments)
    for k in range(0, max_k + 1):
        t_k = k * tstep
        x, y, z, vx, vy, vz = manoeuvre_state(dim, direction, t_k, own, kin)
        free = _free_after(det, rdet, use_rec, x, y, z, vx, vy, vz, traffic, t_k, b, t_horizon + t_k, lookahead)
        implied = free and implied_ok
        if _step_loss(det, rdet, x, y, z, vx, vy, vz, traffic, k, t_k, ranges, b, tstep, segments, lookahead, implied):
            return False
        if free:
            return True
    return False


@njit(cache=True)
def kinematic_side_any_red(dim, direction, max_k, tstep, own, traffic, det, t_horizon, kin):
    """Does any candidate on this side conflict on its straight line after the manoeuvre (B = 0)?"""
    own, traffic, det, kin = borrowed((own, traffic, det, kin))
    lookahead = kin[KIN_LOOKAHEAD]
    for k in range(0, max_k + 1):
        t_k = k * tstep
        x, y, z, vx, vy, vz = manoeuvre_state(dim, direction, t_k, own, kin)
        if _straight_after_conflict(det, x, y, z, vx, vy, vz, traffic, t_k, 0.0, t_horizon + t_k, lookahead):
            return True
    return False


@njit(cache=True)
def altitude_candidate_green(target, own, traffic, det, rdet, use_rec, b, t_horizon, kin):
    """Is the level-off to the target altitude conflict-free (checked at whole seconds while manoeuvring)?"""
    own, traffic, det, rdet, kin = borrowed((own, traffic, det, rdet, kin))
    lookahead = kin[KIN_LOOKAHEAD]
    rate = kin[KIN_VERTICAL_RATE]
    accel = kin[KIN_VS_ACCEL]
    tstep = 1.0
    t1, t2, t3, a1, a2 = level_off_times(own[2], own[5], rate, target, accel)
    hold = t3 + tstep
    # the trajectory holds the target level one step after the level-off ends (from the start if unreachable)
    t_hold_traj = (t3 if t1 >= 0.0 else -1.0) + tstep
    # manoeuvring phases: loss checks at whole steps, straight-line check over the constant-rate phase
    for i in range(0, math.floor(t1 / tstep) + 1):
        t = i * tstep
        x, y, z, vx, vy, vz = _level_off_phased(own, t, target, t1, t2, t3, a1, a2, t_hold_traj)
        if b <= t and _loss_at(det, x, y, z, vx, vy, vz, traffic, t, lookahead):
            return False
        if use_rec and t <= b and _loss_at(rdet, x, y, z, vx, vy, vz, traffic, t, lookahead):
            return False
    t_k1 = max(t1, 0.0)
    x, y, z, vx, vy, vz = _level_off_phased(own, t_k1, target, t1, t2, t3, a1, a2, t_hold_traj)
    if t2 >= b and _straight_after_conflict(
        det, x, y, z, vx, vy, vz, traffic, t_k1, b, min(t_horizon + t_k1, t2), lookahead
    ):
        return False
    if (
        use_rec
        and t2 >= 0.0
        and _straight_after_conflict(rdet, x, y, z, vx, vy, vz, traffic, t_k1, 0.0, min(b, t2), lookahead)
    ):
        return False
    for i in range(math.ceil(t2 / tstep), math.floor(hold / tstep) + 1):
        t = i * tstep
        x, y, z, vx, vy, vz = _level_off_phased(own, t, target, t1, t2, t3, a1, a2, t_hold_traj)
        if b <= t and _loss_at(det, x, y, z, vx, vy, vz, traffic, t, lookahead):
            return False
        if use_rec and t <= b and _loss_at(rdet, x, y, z, vx, vy, vz, traffic, t, lookahead):
            return False
    t_k3 = max(hold, 0.0)
    x, y, z, vx, vy, vz = _level_off_phased(own, t_k3, target, t1, t2, t3, a1, a2, t_hold_traj)
    return _free_after(det, rdet, use_rec, x, y, z, vx, vy, vz, traffic, t_k3, b, t_horizon + t_k3, lookahead)


@njit(cache=True)
def altitude_green(min_alt, step, n, own, traffic, det, rdet, use_rec, b, t_horizon, kin):
    """Conflict-free flags of the altitude candidates min_alt + k * step, k = 0..n-1."""
    green = np.zeros(n, dtype=np.bool_)
    for k in range(n):
        green[k] = altitude_candidate_green(min_alt + k * step, own, traffic, det, rdet, use_rec, b, t_horizon, kin)
    return green


@njit(cache=True)
def altitude_any_red(min_alt, step, n, own, traffic, det, t_horizon, kin):
    """Does any altitude candidate conflict (B = 0, no recovery cylinder)?"""
    rdet = det
    for k in range(n):
        if not altitude_candidate_green(min_alt + k * step, own, traffic, det, rdet, False, 0.0, t_horizon, kin):
            return True
    return False


@njit(cache=True)
def altitude_any_green(min_alt, step, n, own, traffic, det, rdet, use_rec, b, t_horizon, kin):
    """``altitude_green(...).any()``, stopping at the first conflict-free altitude."""
    for k in range(n):
        if altitude_candidate_green(min_alt + k * step, own, traffic, det, rdet, use_rec, b, t_horizon, kin):
            return True
    return False


@njit(cache=True)
def altitude_any_band(min_alt, step, n, own, traffic, det, rdet, use_rec, b, t_horizon, kin, max_alt):
    """Do two adjacent altitude candidates make a conflict-free band within [min_alt, max_alt]?"""
    previous = False
    for k in range(n):
        free = altitude_candidate_green(min_alt + k * step, own, traffic, det, rdet, use_rec, b, t_horizon, kin)
        if free and previous and free_piece(min_alt + step * (k - 1), min_alt + step * k, min_alt, max_alt, 0.0):
            return True
        previous = free
    return False


# --- candidate memory: one decision's checks of a side, shared by the regions and horizons asking them -------------
#
# The regions of one decision ask the same questions of the same candidates with the same detector (DO-365B's
# MID and NEAR levels share one), differing only in the time horizon of the straight line after the manoeuvre
# (the alerting time, or the lookahead for an intruder in conflict). Each answer is remembered per candidate:
# the longest horizon known conflict-free and the shortest known in conflict. For detectors whose straight-line
# interval over [t_k, t_to] only grows with t_to (WCV_TAUMOD without SUM errors, the cylinder: the entry time
# does not depend on t_to and the exit is clipped at it), a free answer holds for every shorter horizon and a
# conflict for every longer one, and a manoeuvre's loss on the segment after step k (a sub-window of the same
# straight line) cannot happen when that line is known free over at least one step. SUM detectors reuse equal
# horizons only. Same answers as the plain scans (`kinematic_side_green`, `kinematic_side_any_red` with B = 0
# and no recovery cylinder), in fewer interval computations.

#: rows of a side's memory, one entry per candidate: the longest horizon known free, the shortest known in
#: conflict, the manoeuvre's loss at the step (0 unknown, 1 no, 2 yes)
CM_FREE_MAX, CM_RED_MIN, CM_LOSS = 0, 1, 2
CM_ROWS = 3


@njit(cache=True)
def new_candidate_memory(n_slots, max_k):
    """Empty memory of ``n_slots`` detectors x 2 sides (left/down/slower 0, right/up/faster 1) x `CM_ROWS` rows x
    candidates 0..max_k."""
    memory = np.empty((max(n_slots, 1), 2, CM_ROWS, max_k + 1))
    memory[:, :, CM_FREE_MAX, :] = -math.inf
    memory[:, :, CM_RED_MIN, :] = math.inf
    memory[:, :, CM_LOSS, :] = 0.0
    return memory


@njit(cache=True)
def grows_with_horizon(det):
    """Does the detector's straight-line conflict over [t_k, t_to] only grow with t_to (see above)?"""
    if det[0] == DET_CYLINDER:
        return True
    return det[0] == DET_WCV and det[5] == 0.0 and det[6] == 0.0 and det[7] == 0.0 and det[8] == 0.0


@njit(cache=True)
def _known_free(side, k, t_horizon, grows):
    """1 known free, 0 known in conflict, -1 unknown (``side``: one side's memory, rows x candidates)."""
    if grows:
        if t_horizon <= side[CM_FREE_MAX, k]:
            return 1
        if t_horizon >= side[CM_RED_MIN, k]:
            return 0
    elif t_horizon == side[CM_FREE_MAX, k]:
        return 1
    elif t_horizon == side[CM_RED_MIN, k]:
        return 0
    return -1


@njit(cache=True)
def _remember_free(side, k, t_horizon, grows, free):
    if free:
        side[CM_FREE_MAX, k] = max(side[CM_FREE_MAX, k], t_horizon) if grows else t_horizon
    else:
        side[CM_RED_MIN, k] = min(side[CM_RED_MIN, k], t_horizon) if grows else t_horizon


@njit(cache=True)
def _line_interval(det, x, y, z, vx, vy, vz, traffic, t_k, t_horizon, lookahead):
    """The detector's conflict interval on the straight line flown from (x..vz) at t_k, within
    [t_k, min(lookahead, t_k + T)] (inf, -inf: none): what `_straight_after_conflict` tests with B <= t_k."""
    t_to = min(lookahead, t_horizon + t_k)
    if t_k > t_to:
        return math.inf, -math.inf
    sx = x - vx * t_k - traffic[0]
    sy = y - vy * t_k - traffic[1]
    sz = z - vz * t_k - traffic[2]
    rvx, rvy, rvz = vx - traffic[3], vy - traffic[4], vz - traffic[5]
    return _relative_interval(det, sx, sy, sz, rvx, rvy, rvz, t_k, t_to, _sum_range(det, sx, sy))


@njit(cache=True)
def _losses_on_line(t_in, t_out, t_k, tstep, lookahead):
    """The step's loss tests (`_loss_in_step`: in violation at t_k, or a conflict on the segment to the next step)
    read from the line's conflict interval over a window that holds the segment (a detector that
    `grows_with_horizon`): in violation at t_k is an interval starting at t_k, a conflict on the segment is the
    interval's part before t_k + tstep. The same predicates as the tests made afresh; their computations differ in
    rounding only, so the two can disagree only for an interval end within about 1e-12 s of t_k or t_k + tstep."""
    if t_k >= lookahead:
        return False
    if t_in == t_k and t_in <= t_out:
        return True
    return _almost_less(t_in, min(t_out, min(lookahead, t_k + tstep)))


@njit(cache=True)
def remembered_side_green(side, dim, direction, max_k, tstep, own, traffic, det, t_horizon, kin):
    """`kinematic_side_green` with B = 0, no recovery cylinder and segments, answered from the side's memory."""
    side, own, traffic, det, kin = borrowed((side, own, traffic, det, kin))
    grows = grows_with_horizon(det)
    lookahead = kin[KIN_LOOKAHEAD]
    k_hi = min(math.floor(lookahead / tstep), max_k)
    green = np.zeros(max_k + 1, dtype=np.bool_)
    for k in range(0, max_k + 1):
        known = _known_free(side, k, t_horizon, grows)
        check_loss = k <= k_hi and side[CM_LOSS, k] == 0.0
        if known >= 0 and not check_loss:
            if side[CM_LOSS, k] == 2.0:
                break
            green[k] = known == 1
            continue
        t_k = k * tstep
        x, y, z, vx, vy, vz = manoeuvre_state(dim, direction, t_k, own, kin)
        if known < 0:
            t_in, t_out = _line_interval(det, x, y, z, vx, vy, vz, traffic, t_k, t_horizon, lookahead)
            free = not _almost_less(t_in, t_out)
            _remember_free(side, k, t_horizon, grows, free)
            if check_loss and grows and t_horizon >= tstep:
                # the step's loss tests read from the same line's interval (its window holds the segment)
                side[CM_LOSS, k] = 2.0 if _losses_on_line(t_in, t_out, t_k, tstep, lookahead) else 1.0
                check_loss = False
        else:
            free = known == 1
        if check_loss:
            loss = _loss_at(det, x, y, z, vx, vy, vz, traffic, t_k, lookahead)
            if not loss and not (grows and side[CM_FREE_MAX, k] >= tstep):
                loss = _straight_after_conflict(det, x, y, z, vx, vy, vz, traffic, t_k, t_k, t_k + tstep, lookahead)
            side[CM_LOSS, k] = 2.0 if loss else 1.0
        if k <= k_hi and side[CM_LOSS, k] == 2.0:
            break  # this candidate and every later one fly through the loss
        green[k] = free
    return green


@njit(cache=True)
def remembered_side_any_red(side, dim, direction, max_k, tstep, own, traffic, det, t_horizon, kin):
    """`kinematic_side_any_red`, answered from the side's memory."""
    side, own, traffic, det, kin = borrowed((side, own, traffic, det, kin))
    grows = grows_with_horizon(det)
    lookahead = kin[KIN_LOOKAHEAD]
    for k in range(0, max_k + 1):
        known = _known_free(side, k, t_horizon, grows)
        if known < 0:
            t_k = k * tstep
            x, y, z, vx, vy, vz = manoeuvre_state(dim, direction, t_k, own, kin)
            free = not _straight_after_conflict(det, x, y, z, vx, vy, vz, traffic, t_k, 0.0, t_horizon + t_k, lookahead)
            _remember_free(side, k, t_horizon, grows, free)
            known = 1 if free else 0
        if known == 0:
            return True
    return False


# --- recovery tracks: the recovery-time bisection answered from per-candidate intervals ------------------------------
#
# The recovery-time bisection asks, for one cylinder and about ten times B, whether a band keeps out of the cylinder
# until B and out of the detector's volume after it; the recovery set is then computed at the time found. Each
# question is answered here from numbers computed once per candidate (the candidate's straight line after the
# manoeuvre is the same line for every B):
#
# - the cylinder's conflict within [t_k, t_to] is [lo, min(t_to, hi)] with lo and hi independent of t_to
#   (`_cylinder_interval` clips its exit with a minimum), so every B and every segment is answered exactly;
# - the detector's window starts at t_k once t_k >= B: its interval over [t_k, t_k + T] is the one computed for the
#   candidate, exactly;
# - before that the window is [B, t_k + T]: the part after B of the same interval (a volume crossed along a
#   straight line in one interval). Computed afresh from B the entry and exit differ only in rounding, so the two
#   can disagree only for an exit within about 1e-12 s of B.

#: rows of one side's tracks, per candidate: the detector's conflict interval on the straight line over
#: [t_k, min(lookahead, t_k + T)] (inf, -inf: none), its loss at the step or on the segment after it (0/1), the
#: cylinder's conflict interval from t_k before the clip at t_to (inf, -inf: none), its loss at the step (0/1)
RT_IN, RT_OUT, RT_LOSS, RT_CYL_LO, RT_CYL_HI, RT_CYL_POINT = 0, 1, 2, 3, 4, 5
RT_ROWS = 6


#: candidates filled at a time: the scans stop early (at a band, at a loss), so the tracks are filled as they go
TRACK_BLOCK = 16


@njit(cache=True)
def fill_detector_tracks(tracks, k0, k1, dim, direction, max_k, tstep, own, traffic, det, t_horizon, kin):
    """The detector rows of candidates k0..k1-1 of one side's tracks (a detector that `grows_with_horizon`)."""
    tracks, own, traffic, det, kin = borrowed((tracks, own, traffic, det, kin))
    lookahead = kin[KIN_LOOKAHEAD]
    k_hi = min(math.floor(lookahead / tstep), max_k)
    for k in range(k0, k1):
        t_k = k * tstep
        x, y, z, vx, vy, vz = manoeuvre_state(dim, direction, t_k, own, kin)
        t_in, t_out = _line_interval(det, x, y, z, vx, vy, vz, traffic, t_k, t_horizon, lookahead)
        tracks[RT_IN, k], tracks[RT_OUT, k] = t_in, t_out
        loss = False
        if k <= k_hi:
            if t_horizon >= tstep:
                loss = _losses_on_line(t_in, t_out, t_k, tstep, lookahead)
            else:
                loss = _loss_in_step(det, x, y, z, vx, vy, vz, traffic, t_k, t_k + tstep, lookahead)
        tracks[RT_LOSS, k] = 1.0 if loss else 0.0


@njit(cache=True)
def fill_cylinder_tracks(tracks, k0, k1, dim, direction, tstep, own, traffic, rdet, kin):
    """The cylinder rows of candidates k0..k1-1 of one side's tracks."""
    tracks, own, traffic, rdet, kin = borrowed((tracks, own, traffic, rdet, kin))
    lookahead = kin[KIN_LOOKAHEAD]
    for k in range(k0, k1):
        t_k = k * tstep
        x, y, z, vx, vy, vz = manoeuvre_state(dim, direction, t_k, own, kin)
        sx = x - vx * t_k - traffic[0]
        sy = y - vy * t_k - traffic[1]
        sz = z - vz * t_k - traffic[2]
        lo, hi = _cylinder_interval(
            sx, sy, sz, vx - traffic[3], vy - traffic[4], vz - traffic[5], rdet[1], rdet[2], t_k, math.inf
        )
        tracks[RT_CYL_LO, k], tracks[RT_CYL_HI, k] = lo, hi
        point = _loss_at(rdet, x, y, z, vx, vy, vz, traffic, t_k, lookahead)
        tracks[RT_CYL_POINT, k] = 1.0 if point else 0.0


@njit(cache=True)
def _fill_to(tracks, filled, k, dim, direction, max_k, tstep, own, traffic, det, rdet, t_horizon, kin):
    """Fill the tracks' rows (filled[0] detector rows, filled[1] cylinder rows so far) to at least candidate k."""
    if k >= filled[0]:
        k1 = min(max_k + 1, max(k + 1, filled[0] + TRACK_BLOCK))
        fill_detector_tracks(tracks, filled[0], k1, dim, direction, max_k, tstep, own, traffic, det, t_horizon, kin)
        filled[0] = k1
    if k >= filled[1]:
        k1 = min(max_k + 1, max(k + 1, filled[1] + TRACK_BLOCK))
        fill_cylinder_tracks(tracks, filled[1], k1, dim, direction, tstep, own, traffic, rdet, kin)
        filled[1] = k1


@njit(cache=True)
def tracked_side_any_band_cylinder(
    tracks, filled, dim, direction, max_k, tstep, own, traffic, cyl, t_horizon, kin, value, step, lo, hi, modulo
):
    """`kinematic_side_any_band` with the cylinder as the detector (B = 0, no recovery cylinder: the "solid" test of
    a recovery cylinder), from the side's cylinder rows (filled as it goes, kept for the bisection that follows)."""
    tracks, filled, own, traffic, cyl, kin = borrowed((tracks, filled, own, traffic, cyl, kin))
    lookahead = kin[KIN_LOOKAHEAD]
    k_hi = min(math.floor(lookahead / tstep), max_k)
    previous = False
    for k in range(0, max_k + 1):
        if k >= filled[1]:
            k1 = min(max_k + 1, max(k + 1, filled[1] + TRACK_BLOCK))
            fill_cylinder_tracks(tracks, filled[1], k1, dim, direction, tstep, own, traffic, cyl, kin)
            filled[1] = k1
        t_k = k * tstep
        lo_k, hi_k = tracks[RT_CYL_LO, k], tracks[RT_CYL_HI, k]
        if k <= k_hi and (tracks[RT_CYL_POINT, k] != 0.0 or _almost_less(lo_k, min(min(lookahead, t_k + tstep), hi_k))):
            return False
        free = not _almost_less(lo_k, min(min(lookahead, t_horizon + t_k), hi_k))
        if free and previous and _pair_makes_band(k, direction, value, step, lo, hi, modulo):
            return True
        previous = free
    return False


@njit(cache=True)
def _tracked_candidate(tracks, k, t_k, b, tstep, lookahead, k_lo, k_hi, k_hi_rec):
    """(free, loss) of candidate k with the cylinder kept until B: `_free_after` and the step's loss tests of
    `kinematic_side_green`, from the side's tracks."""
    t_in, t_out = tracks[RT_IN, k], tracks[RT_OUT, k]
    if t_k >= b:
        det_conflict = _almost_less(t_in, t_out)
    else:
        det_conflict = _almost_less(max(b, t_in), t_out)
    lo, hi = tracks[RT_CYL_LO, k], tracks[RT_CYL_HI, k]
    free = not det_conflict and not _almost_less(lo, min(min(lookahead, b), hi))
    if k_lo <= k <= k_hi and tracks[RT_LOSS, k] != 0.0:
        return free, True
    if k <= k_hi_rec:
        if tracks[RT_CYL_POINT, k] != 0.0:
            return free, True
        t_next = min(b, t_k + tstep)
        if t_next > t_k and _almost_less(lo, min(min(lookahead, t_next), hi)):
            return free, True
    return free, False


@njit(cache=True)
def tracked_side_green(tracks, filled, dim, direction, max_k, tstep, own, traffic, det, rdet, b, t_horizon, kin):
    """`kinematic_side_green` with the cylinder kept until B (segments), from the side's tracks (filled as it goes)."""
    tracks, filled, own, traffic, det, rdet, kin = borrowed((tracks, filled, own, traffic, det, rdet, kin))
    lookahead = kin[KIN_LOOKAHEAD]
    k_lo, k_hi, k_hi_rec = _loss_ranges(b, tstep, max_k, lookahead, True)
    green = np.zeros(max_k + 1, dtype=np.bool_)
    for k in range(0, max_k + 1):
        if k >= filled[0] or k >= filled[1]:
            _fill_to(tracks, filled, k, dim, direction, max_k, tstep, own, traffic, det, rdet, t_horizon, kin)
        free, loss = _tracked_candidate(tracks, k, k * tstep, b, tstep, lookahead, k_lo, k_hi, k_hi_rec)
        if loss:
            break
        green[k] = free
    return green


@njit(cache=True)
def tracked_side_any_band(
    tracks,
    filled,
    dim,
    direction,
    max_k,
    tstep,
    own,
    traffic,
    det,
    rdet,
    b,
    t_horizon,
    kin,
    value,
    step,
    lo,
    hi,
    modulo,
):
    """`kinematic_side_any_band` with the cylinder kept until B, from the side's tracks (filled as it goes)."""
    tracks, filled, own, traffic, det, rdet, kin = borrowed((tracks, filled, own, traffic, det, rdet, kin))
    lookahead = kin[KIN_LOOKAHEAD]
    k_lo, k_hi, k_hi_rec = _loss_ranges(b, tstep, max_k, lookahead, True)
    previous = False
    for k in range(0, max_k + 1):
        if k >= filled[0] or k >= filled[1]:
            _fill_to(tracks, filled, k, dim, direction, max_k, tstep, own, traffic, det, rdet, t_horizon, kin)
        free, loss = _tracked_candidate(tracks, k, k * tstep, b, tstep, lookahead, k_lo, k_hi, k_hi_rec)
        if loss:
            return False
        if free and previous and _pair_makes_band(k, direction, value, step, lo, hi, modulo):
            return True
        previous = free
    return False


# --- a proof that no turn can bring a conflict: the "nothing coloured" decisions --------------------------------------


@njit(cache=True)
def _closest_reach(ax, ay, ux, uy, speed, t0, t1):
    """min over t in [t0, t1] of |a - u t| - speed t: how far the traffic stays beyond any point the ownship can
    reach by time t (a disc of radius speed t about its position now; ``a`` = own - traffic now, ``u`` the traffic's
    velocity). The function is convex: its minimum is at the clipped stationary point or at an end."""
    best = min(math.hypot(ax - ux * t0, ay - uy * t0) - speed * t0, math.hypot(ax - ux * t1, ay - uy * t1) - speed * t1)
    u = math.hypot(ux, uy)
    if u > speed:  # else the function only falls: the minimum is at t1
        a_along = (ax * ux + ay * uy) / u
        a_across = abs(ax * uy - ay * ux) / u
        ratio = speed / u
        t_star = min(t1, max(t0, (a_along + a_across * ratio / math.sqrt(1.0 - ratio * ratio)) / u))
        best = min(best, math.hypot(ax - ux * t_star, ay - uy * t_star) - speed * t_star)
    return best


@njit(cache=True)
def turns_stay_clear(own, traffic, det, max_k, tstep, t_horizon, kin):
    """True when no turn candidate (0..max_k steps either way, then straight) can violate the detector's volume
    within its window [t_k, t_k + T]: a sufficient condition, for WCV_TAUMOD without SUM errors.

    A turn keeps the vertical motion (the vertical window where a violation is possible is the same for every
    candidate, ZTHR and TCOA widened by a margin) and the speed (the ownship stays within speed * t of where it is
    now). A horizontal violation needs range <= DTHR, or tau_mod <= TTHR while closing:
    r^2 - DTHR^2 <= TTHR (-s.v) <= TTHR r |v|, so r <= r* with |v| at most own speed + traffic speed. If the
    traffic stays farther than r* (plus a margin) from every reachable point through the vertical window, no
    candidate is in conflict: the scan would find none.
    """
    if not grows_with_horizon(det) or det[0] != DET_WCV:
        return False
    lookahead = kin[KIN_LOOKAHEAD]
    t_end = min(lookahead, max_k * tstep + t_horizon)
    sz, vz = own[2] - traffic[2], own[5] - traffic[5]
    v_in, v_out = _vertical_interval(sz, vz, det[2] + 1.0, det[4] + 1.0, 0.0, t_end)
    if v_in > v_out:
        return True
    speed = math.hypot(own[3], own[4])
    closing = speed + math.hypot(traffic[3], traffic[4])
    dthr, tthr = det[1], det[3]
    reach = 0.5 * (tthr * closing + math.sqrt((tthr * closing) ** 2 + 4.0 * dthr * dthr))
    clearance = _closest_reach(own[0] - traffic[0], own[1] - traffic[1], traffic[3], traffic[4], speed, v_in, v_out)
    return clearance > reach + 10.0 + 1e-9 * abs(reach)
