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
  persistence); flown at 3 deg/s.
- **Recovery** when no heading is conflict-free (daa-reference 1.5, DAIDALUS's recovery bands): a
  heading *keeps* a cylinder (D, H) if its straight trajectory never has horizontal range < D
  and vertical separation < H together within the lookahead. The recovery cylinders start at
  (min_horizontal_recovery 0.66 nmi = 4010.24 ft, min_vertical_recovery 450 ft) and shrink as
  DAIDALUS does, D <- max(500 ft, (1 - ca_factor) D), H <- max(100 ft, (1 - ca_factor) H) with
  ca_factor 0.1, down to the NMAC cylinder (500 ft, 100 ft): 21 cylinders for the defaults. The
  target is the heading closest to the current one (same band persistence) that keeps the largest
  cylinder any heading keeps. When no heading keeps even the NMAC cylinder the guidance
  saturates: the heading with the largest predicted minimum horizontal range. Inside the
  corrective DTHR/ZTHR cylinder every heading conflicts at once, so the conflict-free scan is
  skipped there.
- **Changes for the pilot**: a new turn direction or a new alert level (>= 2) increments the
  change counter (5 s to the first manoeuvre, 2.5 s for later changes, by the pilot model).

Guidance dimension (`daa_params(dimension=...)`): ``"horizontal"`` (default, headings),
``"vertical"`` (the closest conflict-free vertical rate, 100 ft/min steps up to +-6000 ft/min,
flown by the pilot at its acceleration, 250 ft/min band persistence; recovery: the closest rate
that keeps the largest recovery cylinder, as for headings; saturated: the strongest rate away from
the intruder) or ``"both"`` (turn when a conflict-free heading lies within 30 deg, else
the vertical rate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..metrics._predicates import well_clear_violation_interval_s
from ..metrics.detection import DAIDALUS_DWC, DO365_DWC, DO365_PREVENTIVE, NMAC, NONCOOP_DWC, WellClearVolume
from ..units import FPM_PER_FPS, FT_PER_NM
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
# recovery: min horizontal and vertical recovery, the NMAC cylinder, ca_factor (daa-reference 1.5)
_RECOVERY_D, _RECOVERY_H, _NMAC_D, _NMAC_H, _CA_FACTOR = range(_GUIDANCE + 12, _GUIDANCE + 17)
#: length of the parameter array (`daa_params`)
N_PARAMS = _GUIDANCE + 17
#: cap on the number of recovery cylinders (the defaults give 21)
_MAX_RECOVERY_VOLUMES = 200
DIMENSIONS = {"horizontal": 0.0, "vertical": 1.0, "both": 2.0}
#: "both": turn when a conflict-free heading lies within this many degrees, else change the vertical rate
BOTH_MAX_TURN_DEG = 30.0
# memory layout
_HISTORY = 0  # 4 slots: raw levels of the last decisions (newest first)
_REPORTED, _REPORTED_SINCE, _BELOW_SINCE, _PREVIOUS_REPORTED, _SIDE, _COUNTER, _LAST_DIRECTION = range(4, 11)
_VERTICAL_SIDE, _LAST_VERTICAL_DIRECTION = range(11, 13)


@dataclass(frozen=True)
class AlertLevel:
    """One level of the alerter: its detection volume and its alerting and early alerting times (s)."""

    volume: WellClearVolume
    alerting_time_s: float
    early_alerting_time_s: float


def _phase1(dwc: WellClearVolume) -> tuple[AlertLevel, AlertLevel, AlertLevel]:
    """DO-365 Phase I: preventive (level 1), corrective (2) and warning (3) around the DWC volume ``dwc``."""
    return (AlertLevel(DO365_PREVENTIVE, 55.0, 75.0), AlertLevel(dwc, 55.0, 75.0), AlertLevel(dwc, 25.0, 55.0))


#: the alerter of each preset, levels 1-3, built from the named well-clear volumes of `encsim.metrics.detection`
ALERTERS = {
    "do365": _phase1(DO365_DWC),
    "daidalus": _phase1(DAIDALUS_DWC),
    "noncoop": (
        AlertLevel(NONCOOP_DWC, 55.0, 110.0),
        AlertLevel(NONCOOP_DWC, 55.0, 110.0),
        AlertLevel(NONCOOP_DWC, 25.0, 90.0),
    ),
}
#: DAIDALUS's recovery defaults (daa-reference 1.5): the first recovery cylinder, and the factor it shrinks by
MIN_HORIZONTAL_RECOVERY_FT = 0.66 * FT_PER_NM
MIN_VERTICAL_RECOVERY_FT = 450.0
CA_FACTOR = 0.1
#: vertical guidance: candidate rates every RATE_STEP_FPM up to +-RATE_MAX_FPM, band persistence RATE_PERSISTENCE_FPM
RATE_STEP_FPM = 100.0
RATE_MAX_FPM = 6000.0
RATE_PERSISTENCE_FPM = 250.0


def daa_params(preset: str = "do365", dimension: str = "horizontal") -> np.ndarray:
    """Parameters of the Phase I alerter for a volume preset (`ALERTERS`): ``do365`` (DMOD = HMD* = 4000 ft),
    ``daidalus`` (0.66 nmi = 4010.24 ft) or ``noncoop`` (2200 ft cylinder, no tau); guidance in
    ``dimension`` ``"horizontal"`` (headings), ``"vertical"`` (vertical rates every 100 ft/min up to
    +-6000 ft/min, 250 ft/min band persistence) or ``"both"`` (a turn when a conflict-free heading
    lies within 30 deg, else a vertical rate). Recovery (all presets): min_horizontal_recovery
    0.66 nmi, min_vertical_recovery 450 ft, NMAC cylinder 500 ft / 100 ft, ca_factor 0.1
    (`recovery_volumes`)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension {dimension!r}; expected one of {sorted(DIMENSIONS)}")
    if preset not in ALERTERS:
        raise ValueError(f"unknown DAA preset {preset!r}; expected one of {sorted(ALERTERS)}")
    levels = []
    for level in ALERTERS[preset]:
        volume = level.volume
        if volume.tcoa_s > 0:  # the logic's detector has no vertical time test
            raise ValueError(f"DAA preset {preset!r}: volume {volume.name} has a TCOA test, which the daa logic lacks")
        levels += [volume.dthr_ft, volume.zthr_ft, volume.tthr_s, volume.hmd_ft]
        levels += [level.alerting_time_s, level.early_alerting_time_s]
    guidance = [55.0, math.radians(1.0), math.radians(15.0), math.radians(3.0)]
    filters = [2.0, 4.0, 4.0, 5.0]
    vertical = [
        DIMENSIONS[dimension],
        RATE_STEP_FPM / FPM_PER_FPS,
        RATE_MAX_FPM / FPM_PER_FPS,
        RATE_PERSISTENCE_FPM / FPM_PER_FPS,
    ]
    recovery = [MIN_HORIZONTAL_RECOVERY_FT, MIN_VERTICAL_RECOVERY_FT, NMAC.radius_ft, NMAC.half_height_ft, CA_FACTOR]
    values = levels + guidance + filters + vertical + recovery
    return np.array(values, dtype=np.float64)


def recovery_volumes(params: np.ndarray) -> np.ndarray:
    """The recovery cylinders (D ft, H ft) tried in turn, largest first, ending with the NMAC cylinder.

    D <- max(NMAC D, (1 - ca_factor) D), H <- max(NMAC H, (1 - ca_factor) H), as DAIDALUS shrinks
    its recovery volume, from (min_horizontal_recovery, min_vertical_recovery).
    """
    radius, height = _recovery_table(np.asarray(params, dtype=np.float64))
    return np.column_stack([radius, height])


@njit(cache=True)
def _conflict_start(sx, sy, sz, vx, vy, vz, dthr, zthr, tthr, hmd, lookahead):
    """Earliest time in [0, lookahead] of a predicted violation of the volume (straight lines), NaN if none.

    The DAA volumes (DO-365 Phase I, non-cooperative) have no TCOA test.
    """
    return well_clear_violation_interval_s(sx, sy, sz, vx, vy, vz, dthr, zthr, tthr, hmd, 0.0, lookahead)[0]


@njit(cache=True)
def _wrap_angle(angle):
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


@njit(cache=True)
def _relative(own, intruder):
    return (
        intruder[EAST] - own[EAST],
        intruder[NORTH] - own[NORTH],
        intruder[UP] - own[UP],
        intruder[V_EAST] - own[V_EAST],
        intruder[V_NORTH] - own[V_NORTH],
        intruder[V_UP] - own[V_UP],
    )


@njit(cache=True)
def _raw_level(own, intruder, params, previous_reported):
    sx, sy, sz, vx, vy, vz = _relative(own, intruder)
    raw = 0
    for level in range(_N_LEVELS, 0, -1):
        base = (level - 1) * _LEVEL_FIELDS
        alert_time = params[base + 5] if previous_reported >= level else params[base + 4]
        start = _conflict_start(
            sx, sy, sz, vx, vy, vz, params[base], params[base + 1], params[base + 2], params[base + 3], alert_time
        )
        if start >= 0.0:
            raw = level
            break
    return raw


@njit(cache=True)
def _n_recovery_volumes(params):
    """How many recovery cylinders there are: the last one is the NMAC cylinder."""
    factor, scale = 1.0 - params[_CA_FACTOR], 1.0
    for k in range(_MAX_RECOVERY_VOLUMES):
        if params[_RECOVERY_D] * scale <= params[_NMAC_D] and params[_RECOVERY_H] * scale <= params[_NMAC_H]:
            return k + 1
        scale *= factor
    return _MAX_RECOVERY_VOLUMES


@njit(cache=True)
def _recovery_table(params):
    """Radius and half-height of every recovery cylinder, largest first (the last is the NMAC cylinder)."""
    n = _n_recovery_volumes(params)
    radius, height = np.empty(n), np.empty(n)
    factor, scale = 1.0 - params[_CA_FACTOR], 1.0
    for k in range(n):
        radius[k] = max(params[_NMAC_D], params[_RECOVERY_D] * scale)
        height[k] = max(params[_NMAC_H], params[_RECOVERY_H] * scale)
        scale *= factor
    return radius, height


@njit(cache=True)
def _z_window(sz, vz, h, lookahead):
    """The times in [0, lookahead] with |sz + vz t| < h, as (start, end); empty when start >= end."""
    if abs(vz) > 1e-12:
        z_lo, z_hi = (-h - sz) / vz, (h - sz) / vz
        if z_lo > z_hi:
            z_lo, z_hi = z_hi, z_lo
        return max(z_lo, 0.0), min(z_hi, lookahead)
    if abs(sz) < h:
        return 0.0, lookahead
    return 0.0, -1.0


@njit(cache=True)
def _range_kept(sx, sy, vx, vy, d, start, end):
    """Whether the horizontal range stays >= d for t in the window [start, end] (always if the window is empty).

    No division (this test runs for every heading in recovery): the range at both ends of the window,
    and the closest-approach distance when closest approach falls inside it.
    """
    if start >= end:
        return True
    d2 = d * d
    ax, ay = sx + vx * start, sy + vy * start
    if ax * ax + ay * ay < d2:
        return False
    bx, by = sx + vx * end, sy + vy * end
    if bx * bx + by * by < d2:
        return False
    vv = vx * vx + vy * vy
    sv = sx * vx + sy * vy
    if start * vv < -sv < end * vv:  # closest approach inside the window: DCPA^2 = r^2 - sv^2 / vv
        return (sx * sx + sy * sy) * vv - sv * sv >= d2 * vv
    return True


@njit(cache=True)
def _cylinder_kept(sx, sy, sz, vx, vy, vz, d, h, lookahead):
    """Whether straight relative motion never has range < d and |dz| < h together in [0, lookahead]."""
    start, end = _z_window(sz, vz, h, lookahead)
    return _range_kept(sx, sy, vx, vy, d, start, end)


@njit(cache=True)
def _recovery_level(sx, sy, vx, vy, radius, z_start, z_end, known):
    """Index of the largest recovery cylinder kept, given that cylinder ``known`` is kept.

    The cylinders are nested (a candidate keeping one keeps every smaller one): bisection.
    """
    low, high = 0, known
    while low < high:
        middle = (low + high) // 2
        if _range_kept(sx, sy, vx, vy, radius[middle], z_start[middle], z_end[middle]):
            high = middle
        else:
            low = middle + 1
    return high


@njit(cache=True)
def _persist(best_low, best_high, memory, slot, band):
    """Side (-1 low/left, +1 high/right) and offset of the target, keeping memory[slot]'s side unless the other is
    more than ``band`` closer (band persistence)."""
    preferred = memory[slot]
    if preferred == 0.0:
        preferred = -1.0 if best_low < best_high else 1.0
    own_side, other_side = (best_low, best_high) if preferred < 0 else (best_high, best_low)
    if own_side - other_side > band:
        preferred, own_side = -preferred, other_side
    memory[slot] = preferred
    return preferred, own_side


@njit(cache=True)
def _inside_now(sx, sy, sz, dthr, zthr):
    """Inside the DTHR cylinder now (with a 1e-9 relative margin), so every candidate conflicts at t = 0
    whatever its velocity: the conflict-free scan can be skipped (it would find nothing)."""
    return sx * sx + sy * sy <= dthr * dthr * (1.0 - 1e-9) and abs(sz) <= zthr * (1.0 - 1e-9)


@njit(cache=True)
def _guidance(own, intruder, params, memory):
    """Target heading: the closest conflict-free heading (band persistence on the preferred side), else recovery.

    Candidate headings are scanned outward from the current one on each side, the direction
    rotated step by step (no trigonometry in the loop: this scan is most of the logic's cost).
    """
    current = own[HEADING]
    ground = math.sqrt(own[V_NORTH] ** 2 + own[V_EAST] ** 2)
    sx, sy, sz = intruder[EAST] - own[EAST], intruder[NORTH] - own[NORTH], intruder[UP] - own[UP]
    vz = intruder[V_UP] - own[V_UP]
    base = 1 * _LEVEL_FIELDS  # the corrective volume
    dthr, zthr, tthr, hmd, lookahead = (
        params[base],
        params[base + 1],
        params[base + 2],
        params[base + 3],
        params[_LOOKAHEAD],
    )
    step = params[_STEP]
    n = int(round(math.pi / step))
    cos_step, sin_step = math.cos(step), math.sin(step)
    if _inside_now(sx, sy, sz, dthr, zthr):
        return _recovery_heading(own, intruder, params, memory)
    best = [math.inf, math.inf]  # offsets to the first conflict-free heading on the left, right
    for side in range(2):
        turn_sin = -sin_step if side == 0 else sin_step
        c, s = math.cos(current), math.sin(current)
        for k in range(n + 1):
            vx, vy = intruder[V_EAST] - ground * s, intruder[V_NORTH] - ground * c
            if math.isnan(_conflict_start(sx, sy, sz, vx, vy, vz, dthr, zthr, tthr, hmd, lookahead)):
                best[side] = k * step
                break
            c, s = c * cos_step - s * turn_sin, s * cos_step + c * turn_sin
    if math.isinf(best[0]) and math.isinf(best[1]):
        return _recovery_heading(own, intruder, params, memory)
    preferred, offset = _persist(best[0], best[1], memory, _SIDE, params[_PERSIST_BAND])
    return current + preferred * offset, preferred


@njit(cache=True)
def _recovery_heading(own, intruder, params, memory):
    """No conflict-free heading: the closest heading keeping the largest recovery cylinder any heading keeps
    (band persistence); saturated (not even the NMAC cylinder): the largest predicted minimum range.

    One test per heading against the best cylinder found so far (its vertical window does not depend
    on the heading); a bisection only for a heading that keeps it.
    """
    current = own[HEADING]
    ground = math.sqrt(own[V_NORTH] ** 2 + own[V_EAST] ** 2)
    sx, sy, sz = intruder[EAST] - own[EAST], intruder[NORTH] - own[NORTH], intruder[UP] - own[UP]
    vz = intruder[V_UP] - own[V_UP]
    lookahead = params[_LOOKAHEAD]
    step = params[_STEP]
    n = int(round(math.pi / step))
    cos_step, sin_step = math.cos(step), math.sin(step)
    radius, height = _recovery_table(params)
    z_start, z_end = np.empty(radius.shape[0]), np.empty(radius.shape[0])
    for level in range(radius.shape[0]):  # the vertical part does not depend on the heading
        z_start[level], z_end[level] = _z_window(sz, vz, height[level], lookahead)
    best_level = radius.shape[0] - 1  # the NMAC cylinder until some heading keeps a larger one
    found = False
    best = [math.inf, math.inf]  # offsets to the first heading keeping cylinder best_level on the left, right
    best_separation, saturated_offset = -1.0, 0.0
    for side in range(2):
        sign = -1.0 if side == 0 else 1.0
        turn_sin = sign * sin_step
        c, s = math.cos(current), math.sin(current)
        for k in range(n + 1):
            vx, vy = intruder[V_EAST] - ground * s, intruder[V_NORTH] - ground * c
            if _range_kept(sx, sy, vx, vy, radius[best_level], z_start[best_level], z_end[best_level]):
                level = best_level
                if not found:
                    found = True
                    level = _recovery_level(sx, sy, vx, vy, radius, z_start, z_end, best_level)
                elif level > 0 and _range_kept(sx, sy, vx, vy, radius[level - 1], z_start[level - 1], z_end[level - 1]):
                    level = _recovery_level(sx, sy, vx, vy, radius, z_start, z_end, level - 1)
                if level < best_level:  # a larger cylinder: the headings found so far no longer count
                    best_level, best[0], best[1] = level, math.inf, math.inf
                if math.isinf(best[side]):
                    best[side] = k * step
            elif not found:  # saturation: the largest predicted minimum horizontal range
                vv = vx * vx + vy * vy
                t = 0.0 if vv <= 1e-12 else min(max(-(sx * vx + sy * vy) / vv, 0.0), lookahead)
                separation = (sx + vx * t) ** 2 + (sy + vy * t) ** 2
                if separation > best_separation:
                    best_separation, saturated_offset = separation, sign * k * step
            c, s = c * cos_step - s * turn_sin, s * cos_step + c * turn_sin
    if not found:
        return current + saturated_offset, 1.0 if saturated_offset >= 0 else -1.0
    preferred, offset = _persist(best[0], best[1], memory, _SIDE, params[_PERSIST_BAND])
    return current + preferred * offset, preferred


@njit(cache=True)
def _rate_conflict(own, intruder, rate, params):
    """Whether flying straight at the current velocity but vertical rate ``rate`` violates the corrective volume."""
    sx, sy, sz = intruder[EAST] - own[EAST], intruder[NORTH] - own[NORTH], intruder[UP] - own[UP]
    vx, vy, vz = intruder[V_EAST] - own[V_EAST], intruder[V_NORTH] - own[V_NORTH], intruder[V_UP] - rate
    base = 1 * _LEVEL_FIELDS
    start = _conflict_start(
        sx, sy, sz, vx, vy, vz, params[base], params[base + 1], params[base + 2], params[base + 3], params[_LOOKAHEAD]
    )
    return start >= 0.0


@njit(cache=True)
def _vertical_guidance(own, intruder, params, memory):
    """Target vertical rate: the closest conflict-free one (rate band persistence on the preferred side), else
    recovery."""
    current = own[V_UP]
    base = 1 * _LEVEL_FIELDS
    if _inside_now(
        intruder[EAST] - own[EAST], intruder[NORTH] - own[NORTH], intruder[UP] - own[UP], params[base], params[base + 1]
    ):
        return _recovery_rate(own, intruder, params, memory)
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
    if math.isinf(best[0]) and math.isinf(best[1]):
        return _recovery_rate(own, intruder, params, memory)
    preferred, offset = _persist(best[0], best[1], memory, _VERTICAL_SIDE, params[_PERSIST_RATE])
    return current + preferred * offset, preferred


@njit(cache=True)
def _recovery_rate(own, intruder, params, memory):
    """No conflict-free rate: the closest rate keeping the largest recovery cylinder any rate keeps (rate band
    persistence); saturated (not even the NMAC cylinder): the strongest rate away from the intruder."""
    current = own[V_UP]
    sx, sy, sz = intruder[EAST] - own[EAST], intruder[NORTH] - own[NORTH], intruder[UP] - own[UP]
    vx, vy = intruder[V_EAST] - own[V_EAST], intruder[V_NORTH] - own[V_NORTH]
    lookahead = params[_LOOKAHEAD]
    n = int(round(2 * params[_RATE_MAX] / params[_RATE_STEP]))
    radius, height = _recovery_table(params)
    best_level = radius.shape[0] - 1
    found = False
    best = [math.inf, math.inf]  # offsets to the first rate keeping cylinder best_level, down and up
    for side in range(2):
        sign = -1.0 if side == 0 else 1.0
        for k in range(n + 1):
            rate = current + sign * k * params[_RATE_STEP]
            if abs(rate) > params[_RATE_MAX]:
                break
            vz = intruder[V_UP] - rate
            if _cylinder_kept(sx, sy, sz, vx, vy, vz, radius[best_level], height[best_level], lookahead):
                level = best_level
                if not found or (
                    level > 0
                    and _cylinder_kept(sx, sy, sz, vx, vy, vz, radius[level - 1], height[level - 1], lookahead)
                ):
                    low = 0  # bisection: the largest cylinder kept (they are nested)
                    while low < level:
                        middle = (low + level) // 2
                        if _cylinder_kept(sx, sy, sz, vx, vy, vz, radius[middle], height[middle], lookahead):
                            level = middle
                        else:
                            low = middle + 1
                found = True
                if level < best_level:
                    best_level, best[0], best[1] = level, math.inf, math.inf
                if math.isinf(best[side]):
                    best[side] = k * params[_RATE_STEP]
    if not found:
        away = -1.0 if intruder[UP] > own[UP] else 1.0
        return away * params[_RATE_MAX], away
    preferred, offset = _persist(best[0], best[1], memory, _VERTICAL_SIDE, params[_PERSIST_RATE])
    return current + preferred * offset, preferred


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
