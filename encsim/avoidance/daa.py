"""A DO-365-style remain-well-clear logic: DWC detection, the Phase I alerter, heading guidance.

Decisions.md section 7 and daa-reference 1.2-1.5; no claim of DO-365 compliance.

- **Raw level** each decision: the most severe level whose detector predicts a violation within
  its alerting time (straight-line projection of both aircraft), using the early alerting time if
  that level was reported at the previous decision.
- **M-of-N** (2 of 4): candidate = the largest L such that raw >= L in at least 2 of the last 4
  decisions (missing history counts as 0).
- **Persistence 4 s, hysteresis 5 s**: a reported level is held at least 4 s; it drops only after
  the candidate has stayed below it for 5 s, and then to the current candidate.
- **Guidance** at reported level >= 2 (the pilot manoeuvres only then): candidate headings at 1
  deg resolution, each an instantaneous heading change flown straight at the current ground speed
  against a straight intruder; a heading is conflict-free if it gives no corrective-volume
  violation within 55 s. The target is the conflict-free heading closest to the current one,
  keeping the previously preferred side unless the other side is more than 15 deg closer (band
  persistence); flown at 3 deg/s. **Recovery** when no heading is conflict-free: the heading with
  the largest predicted minimum horizontal separation over the lookahead (a simplification of
  DAIDALUS's shrinking recovery volumes, documented as such).
- **Changes for the pilot**: a new turn direction or a new alert level (>= 2) increments the
  change counter (5 s to the first manoeuvre, 2.5 s for later changes, by the pilot model).

Vertical guidance (``dimension="both"``) is not implemented yet; this logic turns only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..units import FT_PER_NM
from .interface import (
    CHANGE_COUNTER,
    EAST,
    HEADING,
    HORIZONTAL_MODE,
    LEVEL,
    NORTH,
    TARGET_HEADING,
    TURN_RATE,
    UP,
    V_EAST,
    V_NORTH,
    V_UP,
)

# parameter layout: 3 levels x (dthr, zthr, tthr, hmd, alerting time, early alerting time), then
# guidance (lookahead, heading step, band persistence, turn rate) and filters (M, N, persistence, hysteresis)
_LEVEL_FIELDS = 6
_N_LEVELS = 3
_GUIDANCE = _N_LEVELS * _LEVEL_FIELDS
_LOOKAHEAD, _STEP, _PERSIST_BAND, _TURN = range(_GUIDANCE, _GUIDANCE + 4)
_M, _N, _PERSISTENCE, _HYSTERESIS = range(_GUIDANCE + 4, _GUIDANCE + 8)
_N_PARAMS = _GUIDANCE + 8
# memory layout
_HISTORY = 0  # 4 slots: raw levels of the last decisions (newest first)
_REPORTED, _REPORTED_SINCE, _BELOW_SINCE, _PREVIOUS_REPORTED, _SIDE, _COUNTER, _LAST_DIRECTION = range(4, 11)


def daa_params(preset: str = "do365") -> np.ndarray:
    """Parameters of the Phase I alerter for a volume preset: ``do365`` (DMOD = HMD* = 4000 ft),
    ``daidalus`` (0.66 nmi = 4010.24 ft) or ``noncoop`` (2200 ft cylinder, no tau)."""
    if preset in ("do365", "daidalus"):
        dthr = 4000.0 if preset == "do365" else 0.66 * FT_PER_NM
        levels = [(0.66 * FT_PER_NM, 700.0, 35.0, 0.66 * FT_PER_NM, 55.0, 75.0),  # preventive
                  (dthr, 450.0, 35.0, dthr, 55.0, 75.0),  # corrective
                  (dthr, 450.0, 35.0, dthr, 25.0, 55.0)]  # warning  # fmt: skip
    elif preset == "noncoop":
        levels = [(2200.0, 450.0, 0.0, 2200.0, 55.0, 110.0), (2200.0, 450.0, 0.0, 2200.0, 55.0, 110.0),
                  (2200.0, 450.0, 0.0, 2200.0, 25.0, 90.0)]  # fmt: skip
    else:
        raise ValueError(f"unknown DAA preset {preset!r}; expected 'do365', 'daidalus' or 'noncoop'")
    guidance = [55.0, math.radians(1.0), math.radians(15.0), math.radians(3.0)]
    filters = [2.0, 4.0, 4.0, 5.0]
    return np.array([value for level in levels for value in level] + guidance + filters, dtype=np.float64)


@njit(cache=True)
def _interval_start(sx, sy, sz, vx, vy, vz, dthr, zthr, tthr, hmd, lookahead):
    """Earliest time in [0, lookahead] of a predicted violation (straight lines), or -1."""
    vv = vx * vx + vy * vy
    sv = sx * vx + sy * vy
    r2 = sx * sx + sy * sy
    # horizontal interval: DTHR circle, united with the tau_mod region before CPA when DCPA <= HMD*
    h_lo, h_hi = math.inf, -math.inf
    if vv > 1e-12:
        disc = sv * sv - vv * (r2 - dthr * dthr)
        if disc >= 0:
            root = math.sqrt(disc)
            h_lo, h_hi = (-sv - root) / vv, (-sv + root) / vv
        tcpa = -sv / vv
        dcpa2 = r2 - sv * sv / vv
        if tthr > 0 and dcpa2 <= hmd * hmd:
            b = 2 * sv + tthr * vv
            c = r2 - dthr * dthr + tthr * sv
            disc = b * b - 4 * vv * c
            if disc >= 0:
                root = math.sqrt(disc)
                lo, hi = (-b - root) / (2 * vv), min((-b + root) / (2 * vv), tcpa)
                if lo <= hi:
                    h_lo, h_hi = min(h_lo, lo), max(h_hi, hi)
    elif r2 <= dthr * dthr:
        h_lo, h_hi = -math.inf, math.inf
    if h_lo > h_hi:
        return -1.0
    if abs(vz) > 1e-12:
        z_lo, z_hi = (-zthr - sz) / vz, (zthr - sz) / vz
        if z_lo > z_hi:
            z_lo, z_hi = z_hi, z_lo
    elif abs(sz) <= zthr:
        z_lo, z_hi = -math.inf, math.inf
    else:
        return -1.0
    start = max(h_lo, z_lo, 0.0)
    end = min(h_hi, z_hi, lookahead)
    return start if start <= end else -1.0


@njit(cache=True)
def _relative(own, intruder):
    return (intruder[EAST] - own[EAST], intruder[NORTH] - own[NORTH], intruder[UP] - own[UP],
            intruder[V_EAST] - own[V_EAST], intruder[V_NORTH] - own[V_NORTH], intruder[V_UP] - own[V_UP])  # fmt: skip


@njit(cache=True)
def _raw_level(own, intruder, params, previous_reported):
    sx, sy, sz, vx, vy, vz = _relative(own, intruder)
    raw = 0
    for level in range(_N_LEVELS, 0, -1):
        base = (level - 1) * _LEVEL_FIELDS
        alert_time = params[base + 5] if previous_reported >= level else params[base + 4]
        start = _interval_start(sx, sy, sz, vx, vy, vz, params[base], params[base + 1], params[base + 2], params[base + 3], alert_time)
        if start >= 0.0:
            raw = level
            break
    return raw


@njit(cache=True)
def _heading_outcome(own, intruder, heading, params):
    """(conflict, minimum horizontal range) of flying straight at ``heading`` at the current ground speed."""
    ground = math.sqrt(own[V_NORTH] ** 2 + own[V_EAST] ** 2)
    vn, ve = ground * math.cos(heading), ground * math.sin(heading)
    sx, sy, sz = intruder[EAST] - own[EAST], intruder[NORTH] - own[NORTH], intruder[UP] - own[UP]
    vx, vy, vz = intruder[V_EAST] - ve, intruder[V_NORTH] - vn, intruder[V_UP] - own[V_UP]
    base = 1 * _LEVEL_FIELDS  # the corrective volume
    start = _interval_start(sx, sy, sz, vx, vy, vz, params[base], params[base + 1], params[base + 2], params[base + 3], params[_LOOKAHEAD])
    vv = vx * vx + vy * vy
    t = 0.0 if vv <= 1e-12 else min(max(-(sx * vx + sy * vy) / vv, 0.0), params[_LOOKAHEAD])
    return start >= 0.0, math.sqrt((sx + vx * t) ** 2 + (sy + vy * t) ** 2)


@njit(cache=True)
def _guidance(own, intruder, params, memory):
    """Target heading: the closest conflict-free heading (band persistence on the preferred side)."""
    current = own[HEADING]
    n = int(round(math.pi / params[_STEP]))
    best = [math.inf, math.inf]  # offsets to the first conflict-free heading on the left, right
    best_recovery, recovery_offset = -1.0, 0.0
    for side in range(2):
        sign = -1.0 if side == 0 else 1.0
        for k in range(n + 1):
            offset = sign * k * params[_STEP]
            conflict, separation = _heading_outcome(own, intruder, current + offset, params)
            if not conflict:
                best[side] = abs(offset)
                break
            if separation > best_recovery:
                best_recovery, recovery_offset = separation, offset
    if math.isinf(best[0]) and math.isinf(best[1]):
        return current + recovery_offset, 1.0 if recovery_offset >= 0 else -1.0
    preferred = memory[_SIDE]
    if preferred == 0.0:
        preferred = -1.0 if best[0] < best[1] else 1.0
    other = 1.0 if preferred < 0 else -1.0
    own_side, other_side = (best[0], best[1]) if preferred < 0 else (best[1], best[0])
    if own_side - other_side > params[_PERSIST_BAND]:
        preferred, own_side = other, other_side
    memory[_SIDE] = preferred
    return current + preferred * own_side, preferred


@njit(cache=True)
def daa(t_s, own, intruder, memory, params, advisory):
    """DO-365-style alerting and heading guidance (see the module docstring)."""
    for k in range(advisory.shape[0]):
        advisory[k] = 0.0
    raw = _raw_level(own, intruder, params, memory[_PREVIOUS_REPORTED])
    for k in range(3, 0, -1):  # shift the raw-level history (newest first)
        memory[_HISTORY + k] = memory[_HISTORY + k - 1]
    memory[_HISTORY] = raw
    m, n = int(params[_M]), int(params[_N])
    candidate = 0
    for level in range(_N_LEVELS, 0, -1):
        count = 0
        for k in range(n):
            if memory[_HISTORY + k] >= level:
                count += 1
        if count >= m:
            candidate = level
            break
    reported = memory[_REPORTED]
    if candidate > reported:
        reported = candidate
        memory[_REPORTED_SINCE] = t_s
        memory[_BELOW_SINCE] = -1.0
    elif candidate < reported:
        if memory[_BELOW_SINCE] < 0:
            memory[_BELOW_SINCE] = t_s
        held = t_s - memory[_REPORTED_SINCE] >= params[_PERSISTENCE]
        if held and t_s - memory[_BELOW_SINCE] >= params[_HYSTERESIS]:
            reported = candidate
            memory[_REPORTED_SINCE] = t_s
            memory[_BELOW_SINCE] = -1.0
    else:
        memory[_BELOW_SINCE] = -1.0
    if reported != memory[_REPORTED] and reported >= 2:
        memory[_COUNTER] += 1.0  # a new alert level is a change for the pilot
    memory[_REPORTED] = reported
    memory[_PREVIOUS_REPORTED] = reported
    advisory[LEVEL] = reported
    if reported >= 2:
        target, direction = _guidance(own, intruder, params, memory)
        if direction != memory[_LAST_DIRECTION]:
            memory[_COUNTER] += 1.0  # a new turn direction is a change for the pilot
            memory[_LAST_DIRECTION] = direction
        advisory[HORIZONTAL_MODE] = 1.0
        advisory[TARGET_HEADING] = target
        advisory[TURN_RATE] = params[_TURN]
    else:
        memory[_SIDE] = 0.0
        memory[_LAST_DIRECTION] = 0.0
    advisory[CHANGE_COUNTER] = memory[_COUNTER]
