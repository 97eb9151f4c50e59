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

Guidance dimension (`daa_params(dimension=...)`): ``"horizontal"`` (default, headings),
``"vertical"`` (the closest conflict-free vertical rate, 100 ft/min steps up to +-6000 ft/min,
flown by the pilot at its acceleration, 250 ft/min band persistence; recovery: the strongest rate
away from the intruder) or ``"both"`` (turn when a conflict-free heading lies within 30 deg, else
the vertical rate).
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
    TARGET_VERTICAL_RATE,
    TURN_RATE,
    UP,
    V_EAST,
    V_NORTH,
    V_UP,
    VERTICAL_MODE,
)

# parameter layout: 3 levels x (dthr, zthr, tthr, hmd, alerting time, early alerting time), then
# guidance (lookahead, heading step, band persistence, turn rate) and filters (M, N, persistence, hysteresis)
_LEVEL_FIELDS = 6
_N_LEVELS = 3
_GUIDANCE = _N_LEVELS * _LEVEL_FIELDS
_LOOKAHEAD, _STEP, _PERSIST_BAND, _TURN = range(_GUIDANCE, _GUIDANCE + 4)
_M, _N, _PERSISTENCE, _HYSTERESIS = range(_GUIDANCE + 4, _GUIDANCE + 8)
# vertical guidance: dimension (0 heading, 1 vertical rate, 2 both), rate step, max rate, band persistence
_DIMENSION, _RATE_STEP, _RATE_MAX, _PERSIST_RATE = range(_GUIDANCE + 8, _GUIDANCE + 12)
_N_PARAMS = _GUIDANCE + 12
DIMENSIONS = {"horizontal": 0.0, "vertical": 1.0, "both": 2.0}
#: "both": turn when a conflict-free heading lies within this many degrees, else change the vertical rate
BOTH_MAX_TURN_DEG = 30.0
# memory layout
_HISTORY = 0  # 4 slots: raw levels of the last decisions (newest first)
_REPORTED, _REPORTED_SINCE, _BELOW_SINCE, _PREVIOUS_REPORTED, _SIDE, _COUNTER, _LAST_DIRECTION = range(4, 11)
_VERTICAL_SIDE, _LAST_VERTICAL_DIRECTION = range(11, 13)


def daa_params(preset: str = "do365", dimension: str = "horizontal") -> np.ndarray:
    """Parameters of the Phase I alerter for a volume preset: ``do365`` (DMOD = HMD* = 4000 ft),
    ``daidalus`` (0.66 nmi = 4010.24 ft) or ``noncoop`` (2200 ft cylinder, no tau); guidance in
    ``dimension`` ``"horizontal"`` (headings), ``"vertical"`` (vertical rates every 100 ft/min up to
    +-6000 ft/min, 250 ft/min band persistence) or ``"both"`` (a turn when a conflict-free heading
    lies within 30 deg, else a vertical rate)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension {dimension!r}; expected one of {sorted(DIMENSIONS)}")
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
    vertical = [DIMENSIONS[dimension], 100.0 / 60.0, 6000.0 / 60.0, 250.0 / 60.0]
    return np.array([value for level in levels for value in level] + guidance + filters + vertical, dtype=np.float64)


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
def _wrap_angle(angle):
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


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
def _guidance(own, intruder, params, memory):
    """Target heading: the closest conflict-free heading (band persistence on the preferred side).

    Candidate headings are scanned outward from the current one on each side, the direction
    rotated step by step (no trigonometry in the loop: this scan is most of the logic's cost).
    """
    current = own[HEADING]
    ground = math.sqrt(own[V_NORTH] ** 2 + own[V_EAST] ** 2)
    sx, sy, sz = intruder[EAST] - own[EAST], intruder[NORTH] - own[NORTH], intruder[UP] - own[UP]
    vz = intruder[V_UP] - own[V_UP]
    base = 1 * _LEVEL_FIELDS  # the corrective volume
    dthr, zthr, tthr, hmd, lookahead = params[base], params[base + 1], params[base + 2], params[base + 3], params[_LOOKAHEAD]
    step = params[_STEP]
    n = int(round(math.pi / step))
    cos_step, sin_step = math.cos(step), math.sin(step)
    best = [math.inf, math.inf]  # offsets to the first conflict-free heading on the left, right
    best_separation, recovery_offset = -1.0, 0.0  # for recovery, tracked during the same scan
    for side in range(2):
        sign = -1.0 if side == 0 else 1.0
        turn_sin = sign * sin_step
        c, s = math.cos(current), math.sin(current)
        for k in range(n + 1):
            vx, vy = intruder[V_EAST] - ground * s, intruder[V_NORTH] - ground * c
            if _interval_start(sx, sy, sz, vx, vy, vz, dthr, zthr, tthr, hmd, lookahead) < 0.0:
                best[side] = k * step
                break
            vv = vx * vx + vy * vy
            t = 0.0 if vv <= 1e-12 else min(max(-(sx * vx + sy * vy) / vv, 0.0), lookahead)
            separation = (sx + vx * t) ** 2 + (sy + vy * t) ** 2
            if separation > best_separation:
                best_separation, recovery_offset = separation, sign * k * step
            c, s = c * cos_step - s * turn_sin, s * cos_step + c * turn_sin
    if math.isinf(best[0]) and math.isinf(best[1]):  # recovery: the largest predicted minimum range
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
def _rate_conflict(own, intruder, rate, params):
    """Whether flying straight at the current velocity but vertical rate ``rate`` violates the corrective volume."""
    sx, sy, sz = intruder[EAST] - own[EAST], intruder[NORTH] - own[NORTH], intruder[UP] - own[UP]
    vx, vy, vz = intruder[V_EAST] - own[V_EAST], intruder[V_NORTH] - own[V_NORTH], intruder[V_UP] - rate
    base = 1 * _LEVEL_FIELDS
    start = _interval_start(sx, sy, sz, vx, vy, vz, params[base], params[base + 1], params[base + 2], params[base + 3], params[_LOOKAHEAD])
    return start >= 0.0


@njit(cache=True)
def _vertical_guidance(own, intruder, params, memory):
    """Target vertical rate: the closest conflict-free one (rate band persistence on the preferred side)."""
    current = own[V_UP]
    n = int(round(2 * params[_RATE_MAX] / params[_RATE_STEP]))
    best = [math.inf, math.inf]  # down, up
    for side in range(2):
        sign = -1.0 if side == 0 else 1.0
        for k in range(n + 1):
            rate = current + sign * k * params[_RATE_STEP]
            if abs(rate) > params[_RATE_MAX]:
                break
            if not _rate_conflict(own, intruder, rate, params):
                best[side] = k * params[_RATE_STEP]
                break
    if math.isinf(best[0]) and math.isinf(best[1]):  # recovery: the strongest rate away from the intruder
        away = -1.0 if intruder[UP] > own[UP] else 1.0
        return away * params[_RATE_MAX], away
    preferred = memory[_VERTICAL_SIDE]
    if preferred == 0.0:
        preferred = -1.0 if best[0] < best[1] else 1.0
    own_side, other_side = (best[0], best[1]) if preferred < 0 else (best[1], best[0])
    if own_side - other_side > params[_PERSIST_RATE]:
        preferred, own_side = -preferred, other_side
    memory[_VERTICAL_SIDE] = preferred
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
        turn = params[_DIMENSION] != 1.0
        target, direction = own[HEADING], 0.0
        if turn:
            target, direction = _guidance(own, intruder, params, memory)
            if params[_DIMENSION] == 2.0 and abs(_wrap_angle(target - own[HEADING])) > math.radians(BOTH_MAX_TURN_DEG):
                turn = False
        if turn:
            if direction != memory[_LAST_DIRECTION]:
                memory[_COUNTER] += 1.0  # a new turn direction is a change for the pilot
                memory[_LAST_DIRECTION] = direction
            advisory[HORIZONTAL_MODE] = 1.0
            advisory[TARGET_HEADING] = target
            advisory[TURN_RATE] = params[_TURN]
        else:
            rate, vertical_direction = _vertical_guidance(own, intruder, params, memory)
            if vertical_direction != memory[_LAST_VERTICAL_DIRECTION]:
                memory[_COUNTER] += 1.0  # a new vertical sense is a change for the pilot
                memory[_LAST_VERTICAL_DIRECTION] = vertical_direction
            advisory[VERTICAL_MODE] = 1.0
            advisory[TARGET_VERTICAL_RATE] = rate
    else:
        memory[_SIDE] = 0.0
        memory[_LAST_DIRECTION] = 0.0
        memory[_VERTICAL_SIDE] = 0.0
        memory[_LAST_VERTICAL_DIRECTION] = 0.0
    advisory[CHANGE_COUNTER] = memory[_COUNTER]
