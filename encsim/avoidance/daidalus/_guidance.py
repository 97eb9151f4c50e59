"""Numba orchestration of DAIDALUS-style guidance bands: one dimension, one decision, fixed-size arrays.

This is `encsim.avoidance.daidalus.bands.GuidanceBands` re-expressed for ``@njit`` callers (the
closed-loop DAA logic calls it at every decision; replays call it step by step): per dimension the
raw colour field by region (NEAR, MID, FAR) from the traffic's alert levels, recovery bands (the
collision-avoidance shrinking of the recovery cylinder, the recovery-time bisection), the M-of-N of
colour fields, bands persistence, resolution and preferred-direction persistence; and, per
intruder, the last time to manoeuvre. `tests/test_daidalus_guidance_nb.py` holds it equal to the
Python twin step by step. Sources of each behaviour: docs/daidalus.md, "Guidance bands".

The functions that loop over intruders, candidates or recovery steps borrow their array arguments
first (`encsim.borrow`; their caller holds the arrays for the call), as `_bands`'s scans do: the
arrays they pass down at every step are then not reference-counted (`_bands`'s docstring: that
counting was most of a `daa` closed loop's time).

Published interface (stable)
----------------------------
Frame and units of the states: x east, y north, z up; ft and ft/s; the ownship's velocity is the
band frame's (air-relative with wind, and then every traffic velocity has the wind removed too).

``dimension_guidance(dim, t_s, own, traffic_states, traffic_levels, n_traffic, band_settings, memory, out)``
    dim: `DIM_HDIR` 0 (direction), `DIM_HS` 1 (horizontal speed), `DIM_VS` 2 (vertical speed),
    `DIM_ALT` 3 (altitude). t_s: decision time (s); a time not after the previous one, or more than
    the hysteresis time after it, restarts the dimension's history. own: float64[6] ownship state.
    traffic_states: float64[>= n_traffic, 6]. traffic_levels: float64[>= n_traffic,
    `TRAFFIC_LEVELS_SIZE`], one row per intruder (`pack_traffic_levels`): `TL_N_LEVELS`,
    `TL_DISPLAYED_LEVEL` (the alert level reported for it at the previous decision, 0 if none: it
    keeps that level's early alerting time), then per level k (0-based, up to `MAX_ALERT_LEVELS`)
    at ``level_base(k)``: `LV_REGION` (0 NONE .. 3 NEAR), `LV_ALERTING_TIME`,
    `LV_EARLY_ALERTING_TIME`, and at `LV_DETECTOR` the `_bands` detector vector (`DET_SIZE`).
    band_settings: float64[`BAND_SETTINGS_SIZE`] from `pack_band_settings` (includes the kinematic
    vector at `S_KIN`). memory: float64[`GUIDANCE_MEMORY_SIZE`] of this dimension, zero at the start
    (a zero memory is a fresh history), kept between decisions. out: float64[`GUIDANCE_OUT_SIZE`],
    filled:

    - `O_OWN_VALUE`: the current value in the band's units (deg in [0, 360), kt, fpm, ft);
    - `O_REGION`: region of the current value (0 NONE, 1 FAR, 2 MID, 3 NEAR, 4 RECOVERY; -1 none);
    - `O_RES_LOW`, `O_RES_UP`: resolutions below/left and above/right in the band's units (NaN: no
      conflict; -inf/+inf: none on that side);
    - `O_PREFERRED`: -1 down/left, +1 up/right, 0 when there is no resolution (both NaN);
      `O_PREFERRED_UP`: DAIDALUS's displayed preferred flag (1 up/right, 0 down/left), always set;
    - `O_RECOVERY`: 1 when recovery bands were computed; `O_REC_TIME`: recovery time (s; NaN not
      computed, -inf no recovery); `O_NFACTOR`: recovery n-factor (-1 not computed);
    - `O_N_BANDS`: the number of bands n; band k (k < n <= `GUIDANCE_MAX_BANDS`) at
      ``O_BANDS + 3 k``: lo, hi, region, in the band's units, sorted, covering the whole range
      (0-360 deg, min-max kt, fpm, ft). The advisory's `MAX_BANDS` are the first ones.

``last_time_to_manoeuvre(dim, own, traffic_state, traffic_levels_row, band_settings)``
    The latest time (s from now) at which a manoeuvre in ``dim`` still avoids the intruder's
    corrective volume: NaN without a corrective conflict within the lookahead, -inf when too late.

``guidance_step(t_s, own, traffic_states, traffic_levels, n_traffic, band_settings, memory, out)``
    All four dimensions: memory float64[4 * `GUIDANCE_MEMORY_SIZE`], out float64[4,
    `GUIDANCE_OUT_SIZE`].
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ...borrow import borrowed
from ...units import FPS_PER_FPM, FPS_PER_KT, FT_PER_NM, RAD_PER_DEG
from . import _bands as K
from ._band_settings import BandsSettings, settings_from_config
from ._bands import DET_SIZE, DIM_ALT, DIM_HDIR, DIM_HS, DIM_VS

__all__ = [
    "BAND_SETTINGS_SIZE",
    "DIM_ALT",
    "DIM_HDIR",
    "DIM_HS",
    "DIM_VS",
    "GUIDANCE_MAX_BANDS",
    "GUIDANCE_MEMORY_SIZE",
    "GUIDANCE_OUT_SIZE",
    "TRAFFIC_LEVELS_SIZE",
    "dimension_guidance",
    "guidance_step",
    "last_time_to_manoeuvre",
    "pack_band_settings",
    "pack_traffic_levels",
]

#: regions by severity (as bands.py)
NONE, FAR, MID, NEAR, RECOVERY = 0, 1, 2, 3, 4

# --- band settings vector ------------------------------------------------------------------------------------

S_LOOKAHEAD = 0
#: steps per dimension (deg, kt, fpm, ft) at S_STEP + dim
S_STEP = 1
S_MIN_HS_KT, S_MAX_HS_KT, S_MIN_VS_FPM, S_MAX_VS_FPM, S_MIN_ALT_FT, S_MAX_ALT_FT = 5, 6, 7, 8, 9, 10
S_MIN_HORIZONTAL_RECOVERY_NMI, S_MIN_VERTICAL_RECOVERY_FT = 11, 12
#: recovery bands enabled per dimension at S_RECOVERY + dim (0/1)
S_RECOVERY = 13
S_CA_BANDS, S_CA_FACTOR, S_HORIZONTAL_NMAC_FT, S_VERTICAL_NMAC_FT, S_STABILITY_TIME = 17, 18, 19, 20, 21
S_HYSTERESIS_TIME, S_PERSISTENCE_TIME, S_BANDS_PERSISTENCE = 22, 23, 24
#: preferred-resolution persistence thresholds per dimension at S_PREFERRED_DELTA + dim
S_PREFERRED_DELTA = 25
S_ALERTING_M, S_ALERTING_N, S_CORRECTIVE_REGION = 29, 30, 31
#: the `_bands` kinematic vector (KIN_* order, 5 entries)
S_KIN = 32
BAND_SETTINGS_SIZE = 37

# --- traffic alert levels -----------------------------------------------------------------------------------

#: alert levels per alerter the packed rows hold
MAX_ALERT_LEVELS = 4
TL_N_LEVELS = 0
TL_DISPLAYED_LEVEL = 1
TL_LEVELS = 2
LV_REGION, LV_ALERTING_TIME, LV_EARLY_ALERTING_TIME, LV_DETECTOR = 0, 1, 2, 3
LEVEL_SIZE = 3 + DET_SIZE
TRAFFIC_LEVELS_SIZE = TL_LEVELS + MAX_ALERT_LEVELS * LEVEL_SIZE

# --- per-dimension memory -----------------------------------------------------------------------------------

#: colour fields kept (bands out) hold at most this many segments
GUIDANCE_MAX_BANDS = 64
#: raw colour fields remembered for the M-of-N (alerting_n - 1 <= this)
MAX_HISTORY = 4
M_VALID = 0  # 0: fresh (the memory of a new run is all zero)
M_LAST_TIME = 1
M_N_HISTORY = 2
M_CONFLICT_REGION = 3
M_CONFLICT_LO = 4
M_CONFLICT_HI = 5
M_TIME_OF_CONFLICT_REGION = 6
M_PREFERRED_UP = 7
M_TIME_OF_DIR = 8
M_RES_LOW = 9
M_RES_UP = 10
M_NFACTOR_LOW = 11
M_NFACTOR_UP = 12
M_HISTORY = 16
#: one stored field: its segment count, then (lo, hi, region) per segment
FIELD_SIZE = 1 + 3 * GUIDANCE_MAX_BANDS
GUIDANCE_MEMORY_SIZE = M_HISTORY + MAX_HISTORY * FIELD_SIZE

# --- output --------------------------------------------------------------------------------------------------

O_OWN_VALUE = 0
O_REGION = 1
O_RES_LOW = 2
O_RES_UP = 3
O_PREFERRED = 4
O_PREFERRED_UP = 5
O_RECOVERY = 6
O_REC_TIME = 7
O_NFACTOR = 8
O_N_BANDS = 9
O_BANDS = 10
GUIDANCE_OUT_SIZE = O_BANDS + 3 * GUIDANCE_MAX_BANDS


@njit(cache=True)
def level_base(k):
    """Offset of alert level k (0-based) in a traffic-levels row."""
    return TL_LEVELS + k * LEVEL_SIZE


def pack_band_settings(settings) -> np.ndarray:
    """The `BAND_SETTINGS_SIZE` vector of a `bands.BandsSettings` or of a `DaidalusConfig` (its band parameters).

    Raises
    ------
    ValueError
        When the M-of-N window does not fit the fixed memory (alerting_n - 1 > `MAX_HISTORY`).
    """
    s = settings if isinstance(settings, BandsSettings) else settings_from_config(settings)
    if s.hysteresis_time_s > 0 and 0 < s.alerting_m <= s.alerting_n and not 2 <= s.alerting_n <= MAX_HISTORY + 1:
        raise ValueError(f"band settings: alerting_n must be 2..{MAX_HISTORY + 1} for the bands, got {s.alerting_n}")
    v = np.zeros(BAND_SETTINGS_SIZE)
    v[S_LOOKAHEAD] = s.lookahead_s
    v[S_STEP : S_STEP + 4] = (s.hdir_step_deg, s.hs_step_kt, s.vs_step_fpm, s.alt_step_ft)
    v[S_MIN_HS_KT], v[S_MAX_HS_KT] = s.min_hs_kt, s.max_hs_kt
    v[S_MIN_VS_FPM], v[S_MAX_VS_FPM] = s.min_vs_fpm, s.max_vs_fpm
    v[S_MIN_ALT_FT], v[S_MAX_ALT_FT] = s.min_alt_ft, s.max_alt_ft
    v[S_MIN_HORIZONTAL_RECOVERY_NMI] = s.min_horizontal_recovery_nmi
    v[S_MIN_VERTICAL_RECOVERY_FT] = s.min_vertical_recovery_ft
    v[S_RECOVERY : S_RECOVERY + 4] = (s.recovery_hdir, s.recovery_hs, s.recovery_vs, s.recovery_alt)
    v[S_CA_BANDS], v[S_CA_FACTOR] = s.ca_bands, s.ca_factor
    v[S_HORIZONTAL_NMAC_FT], v[S_VERTICAL_NMAC_FT] = s.horizontal_nmac_ft, s.vertical_nmac_ft
    v[S_STABILITY_TIME] = s.recovery_stability_time_s
    v[S_HYSTERESIS_TIME], v[S_PERSISTENCE_TIME] = s.hysteresis_time_s, s.persistence_time_s
    v[S_BANDS_PERSISTENCE] = s.bands_persistence
    v[S_PREFERRED_DELTA : S_PREFERRED_DELTA + 4] = (
        s.persistence_preferred_hdir_deg,
        s.persistence_preferred_hs_kt,
        s.persistence_preferred_vs_fpm,
        s.persistence_preferred_alt_ft,
    )
    v[S_ALERTING_M], v[S_ALERTING_N] = s.alerting_m, s.alerting_n
    v[S_CORRECTIVE_REGION] = s.corrective_region
    v[S_KIN : S_KIN + 5] = s.kinematics()
    return v


def pack_traffic_levels(traffic, capacity: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """States and level rows of a list of `bands.Traffic`: (states [cap, 6], levels [cap, TRAFFIC_LEVELS_SIZE], n).

    ``capacity`` (at least one row, so that an empty list still gives arrays Numba can type).
    """
    n = len(traffic)
    cap = max(1, n if capacity is None else capacity)
    if cap < n:
        raise ValueError(f"pack_traffic_levels: {n} traffic aircraft for a capacity of {cap}")
    states = np.zeros((cap, 6))
    levels = np.zeros((cap, TRAFFIC_LEVELS_SIZE))
    for i, ac in enumerate(traffic):
        if len(ac.levels) > MAX_ALERT_LEVELS:
            raise ValueError(f"traffic {ac.name}: {len(ac.levels)} alert levels, at most {MAX_ALERT_LEVELS}")
        states[i] = ac.state
        levels[i, TL_N_LEVELS] = len(ac.levels)
        levels[i, TL_DISPLAYED_LEVEL] = ac.displayed_level
        for k, spec in enumerate(ac.levels):
            base = level_base(k)
            levels[i, base + LV_REGION] = spec.region
            levels[i, base + LV_ALERTING_TIME] = spec.alerting_time_s
            levels[i, base + LV_EARLY_ALERTING_TIME] = spec.early_alerting_time_s
            levels[i, base + LV_DETECTOR : base + LV_DETECTOR + DET_SIZE] = spec.detector
    return states, levels, n


# --- small numerics ------------------------------------------------------------------------------------------


@njit(cache=True)
def _isclose(a, b, rel_tol, abs_tol):
    """math.isclose."""
    if a == b:
        return True
    if math.isinf(a) or math.isinf(b):
        return False
    diff = abs(b - a)
    return diff <= abs(rel_tol * b) or diff <= abs(rel_tol * a) or diff <= abs_tol


@njit(cache=True)
def _is_conflict(t_in, t_out):
    """An interval counts as a conflict (the Python layer's ``t_in < t_out and not isclose``)."""
    return t_in < t_out and not _isclose(t_in, t_out, 1e-9, 0.0)


@njit(cache=True)
def _safe_mod(x, modulo):
    return x % modulo if modulo != 0.0 else x


@njit(cache=True)
def _to_the_left(a, b, modulo):
    """a is at or before b (within half a turn counter-clockwise of b for directions)."""
    if _isclose(a, b, 1e-12, 1e-9):
        return True
    if modulo == 0.0:
        return a < b
    return (b - a) % modulo < modulo / 2.0 - 1e-9


@njit(cache=True)
def _conflict_region_at_or_above(region, corrective):
    return FAR <= region <= NEAR and region >= corrective


# --- the value grid ------------------------------------------------------------------------------------------


@njit(cache=True)
def _ceil_steps(span, step):
    return math.ceil(span / step - 1e-9)


@njit(cache=True)
def _grid(dim, own, bs):
    """(own value, step, lo, hi, modulo, n_down, n_up, tstep) of a dimension's candidate grid."""
    kin = bs[S_KIN : S_KIN + 5]
    vx, vy, vz = own[3], own[4], own[5]
    step = bs[S_STEP + dim]
    if dim == DIM_HDIR:
        value = math.degrees(math.atan2(vx, vy)) % 360.0
        n = _ceil_steps(180.0, step)
        if n * step > 180.0 + 1e-9:
            n -= 1
        return value, step, 0.0, 360.0, 360.0, n, n, step * RAD_PER_DEG / kin[K.KIN_TURN_RATE]
    if dim == DIM_ALT:
        lo, hi = bs[S_MIN_ALT_FT], bs[S_MAX_ALT_FT]
        return own[2], step, lo, hi, 0.0, 0, math.floor((hi - lo) / step) + 1, 1.0
    if dim == DIM_HS:
        value = math.hypot(vx, vy) / FPS_PER_KT
        lo, hi = bs[S_MIN_HS_KT], bs[S_MAX_HS_KT]
        tstep = step * FPS_PER_KT / kin[K.KIN_HS_ACCEL]
    else:
        value = vz / FPS_PER_FPM
        lo, hi = bs[S_MIN_VS_FPM], bs[S_MAX_VS_FPM]
        tstep = step * FPS_PER_FPM / kin[K.KIN_VS_ACCEL]
    n_down = max(0, _ceil_steps(value - lo, step))
    n_up = max(0, _ceil_steps(hi - value, step))
    return value, step, lo, hi, 0.0, n_down, n_up, tstep


@njit(cache=True)
def _grid_values(dim, value, step, lo, n_down, n_up):
    if dim == DIM_ALT:
        out = np.empty(n_up + 1)
        for k in range(n_up + 1):
            out[k] = lo + step * k
        return out
    out = np.empty(n_down + n_up + 1)
    for i in range(n_down + n_up + 1):
        out[i] = value + step * (i - n_down)
    return out


@njit(cache=True)
def _join_sides(left, right, n_down, n_up):
    """One grid from the two sides' flags (left/down/slower k = n_down..1, then right k = 0..n_up)."""
    out = np.empty(n_down + n_up + 1, dtype=np.bool_)
    for i in range(n_down):
        out[i] = left[n_down - i]
    for k in range(n_up + 1):
        out[n_down + k] = right[k]
    return out


@njit(cache=True)
def _green(dim, lo, step, n_down, n_up, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, segments):
    """Conflict-free flags over the grid for one intruder and detector."""
    if dim == DIM_ALT:
        return K.altitude_green(lo, step, n_up + 1, own, traffic, det, rdet, use_rec, b, t_horizon, kin)
    left = K.kinematic_side_green(
        dim, -1.0, n_down, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, segments
    )
    right = K.kinematic_side_green(dim, 1.0, n_up, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, segments)
    return _join_sides(left, right, n_down, n_up)


@njit(cache=True)
def _any_red(dim, lo, step, n_down, n_up, tstep, own, traffic, det, t_horizon, kin):
    if dim == DIM_ALT:
        return K.altitude_any_red(lo, step, n_up + 1, own, traffic, det, t_horizon, kin)
    if K.kinematic_side_any_red(dim, -1.0, n_down, tstep, own, traffic, det, t_horizon, kin):
        return True
    return K.kinematic_side_any_red(dim, 1.0, n_up, tstep, own, traffic, det, t_horizon, kin)


@njit(cache=True)
def _any_green(dim, lo, step, n_down, n_up, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, segments):
    """``_green(...).any()``, stopping at the first conflict-free candidate."""
    if dim == DIM_ALT:
        return K.altitude_any_green(lo, step, n_up + 1, own, traffic, det, rdet, use_rec, b, t_horizon, kin)
    if K.kinematic_side_any_green(dim, 1.0, n_up, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, segments):
        return True
    return K.kinematic_side_any_green(
        dim, -1.0, n_down, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, segments
    )


@njit(cache=True)
def _any_band(g, own, traffic, det, rdet, use_rec, b, t_horizon, kin):
    """Is the conflict-free set of one intruder non-empty (a band of two free candidates in range)?"""
    dim, value, step, lo, hi, modulo, n_down, n_up, tstep = g
    if dim == DIM_ALT:
        return K.altitude_any_band(lo, step, n_up + 1, own, traffic, det, rdet, use_rec, b, t_horizon, kin, hi)
    if K.kinematic_side_any_band(
        dim, 1.0, n_up, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, value, step, lo, hi, modulo
    ):
        return True
    return K.kinematic_side_any_band(
        dim, -1.0, n_down, tstep, own, traffic, det, rdet, use_rec, b, t_horizon, kin, value, step, lo, hi, modulo
    )


# --- interval sets and colour fields (arrays of (lo, hi, region) rows with a count) ----------------------


@njit(cache=True)
def _sort_pairs(pairs, n):
    """Sort the first n (lo, hi) rows lexicographically (insertion sort: the sets are short)."""
    for i in range(1, n):
        a, b = pairs[i, 0], pairs[i, 1]
        j = i - 1
        while j >= 0 and (pairs[j, 0] > a or (pairs[j, 0] == a and pairs[j, 1] > b)):
            pairs[j + 1, 0] = pairs[j, 0]
            pairs[j + 1, 1] = pairs[j, 1]
            j -= 1
        pairs[j + 1, 0] = a
        pairs[j + 1, 1] = b


@njit(cache=True)
def _none_set(dim, value, step, lo, hi, modulo, n_down, n_up, green):
    """Conflict-free intervals (sorted, united) of a green grid: runs of at least two candidates."""
    values = _grid_values(dim, value, step, lo, n_down, n_up)
    n = len(green)
    pairs = np.empty((2 * n + 2, 2))
    m = 0
    i = 0
    while i < n:
        if not green[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and green[j + 1]:
            j += 1
        if j > i:
            a, b = values[i], values[j]
            if modulo != 0.0:
                if b - a >= modulo - 1e-9:
                    pairs[m, 0], pairs[m, 1] = 0.0, modulo
                    m += 1
                else:
                    am, bm = a % modulo, b % modulo
                    if abs(am - bm) < 1e-9:
                        pass
                    elif am < bm:
                        pairs[m, 0], pairs[m, 1] = am, bm
                        m += 1
                    else:
                        pairs[m, 0], pairs[m, 1] = am, modulo
                        pairs[m + 1, 0], pairs[m + 1, 1] = 0.0, bm
                        m += 2
            else:
                a, b = max(a, lo), min(b, hi)
                if K._coarse_less(a, b):
                    pairs[m, 0], pairs[m, 1] = a, b
                    m += 1
        i = j + 1
    _sort_pairs(pairs, m)
    out = np.empty((max(m, 1), 2))
    k = 0
    for r in range(m):
        a, b = pairs[r, 0], pairs[r, 1]
        if k > 0 and a <= out[k - 1, 1] + 1e-9:
            out[k - 1, 1] = max(out[k - 1, 1], b)
        else:
            out[k, 0], out[k, 1] = a, b
            k += 1
    return out, k


@njit(cache=True)
def _merge(src, n):
    """Drop empty segments and join touching segments of one region."""
    out = np.empty((max(n, 1), 3))
    k = 0
    for i in range(n):
        a, b, r = src[i, 0], src[i, 1], src[i, 2]
        if b - a <= 1e-9:
            continue
        if k > 0 and out[k - 1, 2] == r and abs(out[k - 1, 1] - a) <= 1e-9:
            out[k - 1, 1] = b
        else:
            out[k, 0], out[k, 1], out[k, 2] = a, b, r
            k += 1
    return out, k


@njit(cache=True)
def _paint(field, n, lo, hi, region, only_raise):
    """Colour [lo, hi] with region (raising, or overwriting when only_raise is False)."""
    tmp = np.empty((3 * n + 1, 3))
    k = 0
    for i in range(n):
        a, b, r = field[i, 0], field[i, 1], field[i, 2]
        if b <= lo or a >= hi:
            tmp[k, 0], tmp[k, 1], tmp[k, 2] = a, b, r
            k += 1
            continue
        if a < lo:
            tmp[k, 0], tmp[k, 1], tmp[k, 2] = a, lo, r
            k += 1
        new = max(r, region) if only_raise else region
        tmp[k, 0], tmp[k, 1], tmp[k, 2] = max(a, lo), min(b, hi), new
        k += 1
        if b > hi:
            tmp[k, 0], tmp[k, 1], tmp[k, 2] = hi, b, r
            k += 1
    return _merge(tmp, k)


@njit(cache=True)
def _paint_complement(field, n, none_set, m, lo, hi, region):
    """Raise every part of [lo, hi] outside the (sorted) conflict-free set to region."""
    cur = lo
    for i in range(m):
        a, b = none_set[i, 0], none_set[i, 1]
        if a > cur:
            field, n = _paint(field, n, cur, a, region, True)
        cur = max(cur, b)
    if cur < hi:
        field, n = _paint(field, n, cur, hi, region, True)
    return field, n


@njit(cache=True)
def _region_at(field, n, x):
    for i in range(n):
        if field[i, 0] - 1e-9 <= x <= field[i, 1] + 1e-9:
            return int(field[i, 2])
    return -1


@njit(cache=True)
def _m_of_n(fields, counts, n_fields, current, n_current, m):
    """Pointwise M-of-N of region orders over the stacked fields (the current one is fields[n_fields - 1])."""
    total = 0
    for f in range(n_fields):
        total += 2 * counts[f]
    pts = np.empty(total)
    p = 0
    for f in range(n_fields):
        for i in range(counts[f]):
            pts[p] = round(fields[f, i, 0], 9)
            pts[p + 1] = round(fields[f, i, 1], 9)
            p += 2
    pts = np.unique(pts)
    tmp = np.empty((max(len(pts) - 1, 1), 3))
    orders = np.empty(n_fields, dtype=np.int64)
    k = 0
    for q in range(len(pts) - 1):
        a, b = pts[q], pts[q + 1]
        mid = 0.5 * (a + b)
        top = -1
        for f in range(n_fields):
            orders[f] = _region_at(fields[f], counts[f], mid)
            top = max(top, orders[f])
        shown = -1
        for level in range(top, -1, -1):
            held = 0
            for f in range(n_fields):
                if orders[f] >= level:
                    held += 1
            if held >= m:
                shown = level
                break
        if shown < 0:
            shown = _region_at(current, n_current, mid)
        tmp[k, 0], tmp[k, 1], tmp[k, 2] = a, b, shown
        k += 1
    return _merge(tmp, k)


# --- memory helpers ------------------------------------------------------------------------------------------


@njit(cache=True)
def _reset(memory):
    memory[:M_HISTORY] = 0.0
    memory[M_VALID] = 1.0
    memory[M_LAST_TIME] = np.nan
    memory[M_N_HISTORY] = 0.0
    memory[M_CONFLICT_REGION] = -1.0
    memory[M_CONFLICT_LO] = np.nan
    memory[M_CONFLICT_HI] = np.nan
    memory[M_TIME_OF_CONFLICT_REGION] = np.nan
    memory[M_PREFERRED_UP] = 0.0
    memory[M_TIME_OF_DIR] = np.nan
    memory[M_RES_LOW] = np.nan
    memory[M_RES_UP] = np.nan
    memory[M_NFACTOR_LOW] = 0.0
    memory[M_NFACTOR_UP] = 0.0


@njit(cache=True)
def _store_field(memory, slot, field, n):
    if n > GUIDANCE_MAX_BANDS:
        raise ValueError("guidance bands: a colour field has more segments than GUIDANCE_MAX_BANDS")
    base = M_HISTORY + slot * FIELD_SIZE
    memory[base] = n
    for i in range(n):
        memory[base + 1 + 3 * i] = field[i, 0]
        memory[base + 2 + 3 * i] = field[i, 1]
        memory[base + 3 + 3 * i] = field[i, 2]


@njit(cache=True)
def _load_field(memory, slot, into):
    base = M_HISTORY + slot * FIELD_SIZE
    n = int(memory[base])
    for i in range(n):
        into[i, 0] = memory[base + 1 + 3 * i]
        into[i, 1] = memory[base + 2 + 3 * i]
        into[i, 2] = memory[base + 3 + 3 * i]
    return n


# --- which intruders colour a region, and their conflict-free grids --------------------------------------


@njit(cache=True)
def _level_for_region(levels_row, region):
    """1-based alert level whose band region is `region`, 0 if none."""
    for k in range(int(levels_row[TL_N_LEVELS])):
        if int(levels_row[level_base(k) + LV_REGION]) == region:
            return k + 1
    return 0


@njit(cache=True)
def _detector(levels_row, level):
    base = level_base(level - 1) + LV_DETECTOR
    return levels_row[base : base + DET_SIZE]


@njit(cache=True)
def _aircraft_for_region(g, own, traffic_states, traffic_levels, n_traffic, region, bs, candidates, slot_of):
    """(traffic index, alert level, time horizon) rows of the intruders that colour this region's bands.

    ``candidates``/``slot_of``: the decision's candidate memory (`_candidate_memory`); a slot of -1 scans afresh.
    """
    own, traffic_states, traffic_levels, bs, candidates, slot_of = borrowed(
        (own, traffic_states, traffic_levels, bs, candidates, slot_of)
    )
    dim, _value, step, lo, _hi, _modulo, n_down, n_up, tstep = g
    kin = bs[S_KIN : S_KIN + 5]
    lookahead = bs[S_LOOKAHEAD]
    listed = np.empty((2 * max(n_traffic, 1), 3))
    n = 0
    for idx in range(n_traffic):
        row = traffic_levels[idx]
        level = _level_for_region(row, region)
        if level == 0:
            continue
        base = level_base(level - 1)
        det = row[base + LV_DETECTOR : base + LV_DETECTOR + DET_SIZE]
        alerting = min(lookahead, row[base + LV_ALERTING_TIME])
        if int(row[TL_DISPLAYED_LEVEL]) == level:
            alerting_for_conflict = min(lookahead, row[base + LV_EARLY_ALERTING_TIME])
        else:
            alerting_for_conflict = alerting
        t_in, t_out = K.conflict_interval(det, own, traffic_states[idx], 0.0, lookahead)
        conflict = _is_conflict(t_in, t_out)
        if conflict and t_in < alerting_for_conflict:
            listed[n, 0], listed[n, 1], listed[n, 2] = idx, level, lookahead
            n += 1
        if not (conflict and t_in < alerting):
            slot = slot_of[idx, level]
            if dim == DIM_HDIR and K.turns_stay_clear(
                own, traffic_states[idx], det, max(n_down, n_up), tstep, alerting, kin
            ):
                red = False  # proved without the scan: no turn reaches the volume within the alerting time
            elif slot >= 0:
                red = K.remembered_side_any_red(
                    candidates[slot, 0], dim, -1.0, n_down, tstep, own, traffic_states[idx], det, alerting, kin
                ) or K.remembered_side_any_red(
                    candidates[slot, 1], dim, 1.0, n_up, tstep, own, traffic_states[idx], det, alerting, kin
                )
            else:
                red = _any_red(dim, lo, step, n_down, n_up, tstep, own, traffic_states[idx], det, alerting, kin)
            if red:
                listed[n, 0], listed[n, 1], listed[n, 2] = idx, level, alerting
                n += 1
    return listed, n


@njit(cache=True)
def _candidate_memory(g, traffic_levels, n_traffic):
    """The decision's candidate memory (`_bands.new_candidate_memory`) and slot_of[intruder, level] into it.

    Kinematic dimensions only (altitude: every slot -1). The levels of one intruder whose band region is FAR..NEAR
    get a slot each, shared by levels with equal detectors (DO-365B's MID and NEAR levels).
    """
    dim, _value, _step, _lo, _hi, _modulo, n_down, n_up, _tstep = g
    slot_of = np.full((max(n_traffic, 1), MAX_ALERT_LEVELS + 1), -1, dtype=np.int64)
    n_slots = 0
    if dim != DIM_ALT:
        for idx in range(n_traffic):
            row = traffic_levels[idx]
            first_slot = n_slots
            for level in range(1, int(row[TL_N_LEVELS]) + 1):
                region = int(row[level_base(level - 1) + LV_REGION])
                if not FAR <= region <= NEAR:
                    continue
                det = _detector(row, level)
                for other in range(1, level):
                    if slot_of[idx, other] >= first_slot and np.array_equal(_detector(row, other), det):
                        slot_of[idx, level] = slot_of[idx, other]
                        break
                if slot_of[idx, level] < 0:
                    slot_of[idx, level] = n_slots
                    n_slots += 1
    return K.new_candidate_memory(n_slots, max(n_down, n_up)), slot_of


@njit(cache=True)
def _grid_size(g):
    dim, _value, _step, _lo, _hi, _modulo, n_down, n_up, _tstep = g
    return n_up + 1 if dim == DIM_ALT else n_down + n_up + 1


@njit(cache=True)
def _green_of(g, own, traffic_states, traffic_levels, listed, n_listed, bs, override, use_override, rdet, use_rdet, b):
    """Conflict-free grid for every listed intruder (a detector override, a recovery cylinder before B)."""
    own, traffic_states, traffic_levels, listed, bs, override, rdet = borrowed(
        (own, traffic_states, traffic_levels, listed, bs, override, rdet)
    )
    dim, _value, step, lo, _hi, _modulo, n_down, n_up, tstep = g
    kin = bs[S_KIN : S_KIN + 5]
    green = np.ones(_grid_size(g), dtype=np.bool_)
    dummy = _cylinder(0.0, 0.0)
    for r in range(n_listed):
        idx, level, horizon = int(listed[r, 0]), int(listed[r, 1]), listed[r, 2]
        det = override if use_override else _detector(traffic_levels[idx], level)
        if b > horizon:
            if not use_rdet:
                continue
            gr = _green(
                dim,
                lo,
                step,
                n_down,
                n_up,
                tstep,
                own,
                traffic_states[idx],
                rdet,
                dummy,
                False,
                0.0,
                horizon,
                kin,
                True,
            )
        else:
            gr = _green(
                dim,
                lo,
                step,
                n_down,
                n_up,
                tstep,
                own,
                traffic_states[idx],
                det,
                rdet if use_rdet else dummy,
                use_rdet,
                b,
                horizon,
                kin,
                True,
            )
        green &= gr
        if not green.any():
            break
    return green


@njit(cache=True)
def _region_green(g, own, traffic_states, traffic_levels, listed, n_listed, bs, candidates, slot_of):
    """`_green_of` of a region's listed intruders (no override, no recovery cylinder, B = 0), answered from the
    decision's candidate memory where the intruder's level has a slot."""
    own, traffic_states, traffic_levels, listed, bs, candidates, slot_of = borrowed(
        (own, traffic_states, traffic_levels, listed, bs, candidates, slot_of)
    )
    dim, _value, step, lo, _hi, _modulo, n_down, n_up, tstep = g
    kin = bs[S_KIN : S_KIN + 5]
    dummy = _cylinder(0.0, 0.0)
    green = np.ones(_grid_size(g), dtype=np.bool_)
    for r in range(n_listed):
        idx, level, horizon = int(listed[r, 0]), int(listed[r, 1]), listed[r, 2]
        if 0.0 > horizon:
            continue
        det = _detector(traffic_levels[idx], level)
        slot = slot_of[idx, level]
        if slot < 0:
            gr = _green(
                dim, lo, step, n_down, n_up, tstep, own, traffic_states[idx], det, dummy, False, 0.0, horizon, kin, True
            )
        else:
            traffic = traffic_states[idx]
            left = K.remembered_side_green(
                candidates[slot, 0], dim, -1.0, n_down, tstep, own, traffic, det, horizon, kin
            )
            right = K.remembered_side_green(candidates[slot, 1], dim, 1.0, n_up, tstep, own, traffic, det, horizon, kin)
            gr = _join_sides(left, right, n_down, n_up)
        green &= gr
        if not green.any():
            break
    return green


@njit(cache=True)
def _any_band_of(
    g, own, traffic_states, traffic_levels, listed, n_listed, bs, override, use_override, rdet, use_rdet, b
):
    """Is the conflict-free set of `_green_of` non-empty? With one intruder to test, stop at its first free band."""
    own, traffic_states, traffic_levels, listed, bs, override, rdet = borrowed(
        (own, traffic_states, traffic_levels, listed, bs, override, rdet)
    )
    dim, value, step, lo, hi, modulo, n_down, n_up, _tstep = g
    active = 0
    only = -1
    for r in range(n_listed):
        if not (b > listed[r, 2] and not use_rdet):
            active += 1
            only = r
    if active != 1:
        green = _green_of(
            g, own, traffic_states, traffic_levels, listed, n_listed, bs, override, use_override, rdet, use_rdet, b
        )
        _, m = _none_set(dim, value, step, lo, hi, modulo, n_down, n_up, green)
        return m > 0
    kin = bs[S_KIN : S_KIN + 5]
    dummy = _cylinder(0.0, 0.0)
    idx, level, horizon = int(listed[only, 0]), int(listed[only, 1]), listed[only, 2]
    det = override if use_override else _detector(traffic_levels[idx], level)
    if b > horizon:
        return _any_band(g, own, traffic_states[idx], rdet, dummy, False, 0.0, horizon, kin)
    return _any_band(g, own, traffic_states[idx], det, rdet if use_rdet else dummy, use_rdet, b, horizon, kin)


@njit(cache=True)
def _cylinder(d, h):
    det = np.zeros(DET_SIZE)
    det[0] = K.DET_CYLINDER
    det[1] = d
    det[2] = h
    return det


@njit(cache=True)
def _trackable(g, traffic_levels, listed, n_listed):
    """Can the recovery-time bisection use the recovery tracks (`_bands`)? Kinematic dimensions, and detectors
    whose conflict only grows with the window (not SUM)."""
    if g[0] == DIM_ALT:
        return False
    for r in range(n_listed):
        if not K.grows_with_horizon(_detector(traffic_levels[int(listed[r, 0])], int(listed[r, 1]))):
            return False
    return True


@njit(cache=True)
def _new_tracks(g, n_listed):
    """Recovery tracks of every listed intruder and side, and how far each is filled (detector rows, cylinder
    rows; none yet)."""
    _dim, _value, _step, _lo, _hi, _modulo, n_down, n_up, _tstep = g
    tracks = np.empty((max(n_listed, 1), 2, K.RT_ROWS, max(n_down, n_up) + 1))
    filled = np.zeros((max(n_listed, 1), 2, 2), dtype=np.int64)
    return tracks, filled


@njit(cache=True)
def _tracked_side_green(g, own, traffic_states, traffic_levels, listed, r, side, bs, cyl, b, tracks, filled):
    dim, _value, _step, _lo, _hi, _modulo, n_down, n_up, tstep = g
    idx, level, horizon = int(listed[r, 0]), int(listed[r, 1]), listed[r, 2]
    det = _detector(traffic_levels[idx], level)
    direction, max_k = (1.0, n_up) if side == 1 else (-1.0, n_down)
    kin = bs[S_KIN : S_KIN + 5]
    traffic = traffic_states[idx]
    return K.tracked_side_green(
        tracks[r, side], filled[r, side], dim, direction, max_k, tstep, own, traffic, det, cyl, b, horizon, kin
    )


@njit(cache=True)
def _tracked_green(g, own, traffic_states, traffic_levels, listed, n_listed, bs, cyl, b, tracks, filled):
    """`_green_of` with the recovery cylinder ``cyl`` kept until B, from the tracks."""
    own, traffic_states, traffic_levels, listed, bs, cyl, tracks, filled = borrowed(
        (own, traffic_states, traffic_levels, listed, bs, cyl, tracks, filled)
    )
    dim, _value, step, lo, _hi, _modulo, n_down, n_up, tstep = g
    kin = bs[S_KIN : S_KIN + 5]
    dummy = _cylinder(0.0, 0.0)
    green = np.ones(_grid_size(g), dtype=np.bool_)
    for r in range(n_listed):
        idx, horizon = int(listed[r, 0]), listed[r, 2]
        if b > horizon:
            gr = _green(
                dim, lo, step, n_down, n_up, tstep, own, traffic_states[idx], cyl, dummy, False, 0.0, horizon, kin, True
            )
        else:
            args = (g, own, traffic_states, traffic_levels, listed, r)
            left = _tracked_side_green(*args, 0, bs, cyl, b, tracks, filled)
            right = _tracked_side_green(*args, 1, bs, cyl, b, tracks, filled)
            gr = _join_sides(left, right, n_down, n_up)
        green &= gr
        if not green.any():
            break
    return green


@njit(cache=True)
def _tracked_any_band(g, own, traffic_states, traffic_levels, listed, n_listed, bs, cyl, b, tracks, filled):
    """`_any_band_of` with the recovery cylinder ``cyl`` kept until B, from the tracks."""
    own, traffic_states, traffic_levels, listed, bs, cyl, tracks, filled = borrowed(
        (own, traffic_states, traffic_levels, listed, bs, cyl, tracks, filled)
    )
    dim, value, step, lo, hi, modulo, n_down, n_up, tstep = g
    if n_listed != 1:  # with the cylinder every listed intruder is tested
        green = _tracked_green(g, own, traffic_states, traffic_levels, listed, n_listed, bs, cyl, b, tracks, filled)
        _, m = _none_set(dim, value, step, lo, hi, modulo, n_down, n_up, green)
        return m > 0
    kin = bs[S_KIN : S_KIN + 5]
    idx, level, horizon = int(listed[0, 0]), int(listed[0, 1]), listed[0, 2]
    traffic = traffic_states[idx]
    if b > horizon:
        return _any_band(g, own, traffic, cyl, _cylinder(0.0, 0.0), False, 0.0, horizon, kin)
    det = _detector(traffic_levels[idx], level)
    for side, direction, max_k in ((1, 1.0, n_up), (0, -1.0, n_down)):
        if K.tracked_side_any_band(
            tracks[0, side],
            filled[0, side],
            dim,
            direction,
            max_k,
            tstep,
            own,
            traffic,
            det,
            cyl,
            b,
            horizon,
            kin,
            value,
            step,
            lo,
            hi,
            modulo,
        ):
            return True
    return False


@njit(cache=True)
def _tracked_any_band_cylinder(g, own, traffic_states, listed, bs, cyl, tracks, filled):
    """`_any_band_of` with the cylinder as the detector (the "solid" test), one listed intruder, from the tracks."""
    own, traffic_states, listed, bs, cyl, tracks, filled = borrowed(
        (own, traffic_states, listed, bs, cyl, tracks, filled)
    )
    dim, value, step, lo, hi, modulo, n_down, n_up, tstep = g
    kin = bs[S_KIN : S_KIN + 5]
    idx, horizon = int(listed[0, 0]), listed[0, 2]
    traffic = traffic_states[idx]
    for side, direction, max_k in ((1, 1.0, n_up), (0, -1.0, n_down)):
        rows, done = tracks[0, side], filled[0, side]
        if K.tracked_side_any_band_cylinder(
            rows, done, dim, direction, max_k, tstep, own, traffic, cyl, horizon, kin, value, step, lo, hi, modulo
        ):
            return True
    return False


@njit(cache=True)
def _recovery(g, own, traffic_states, traffic_levels, listed, n_listed, bs):
    """Recovery bands: (green, recovery time, n-factor); green all False with time -inf if none."""
    own, traffic_states, traffic_levels, listed, bs = borrowed((own, traffic_states, traffic_levels, listed, bs))
    dummy = _cylinder(0.0, 0.0)
    nmac = _cylinder(bs[S_HORIZONTAL_NMAC_FT], bs[S_VERTICAL_NMAC_FT])
    none_green = np.zeros(_grid_size(g), dtype=np.bool_)
    # "solid red" is an empty conflict-free set (no band of two free candidates in range); before the
    # final set only that matters, so stop at the first band
    if not _any_band_of(g, own, traffic_states, traffic_levels, listed, n_listed, bs, nmac, True, dummy, False, 0.0):
        return none_green, -math.inf, 0
    d = bs[S_MIN_HORIZONTAL_RECOVERY_NMI] * FT_PER_NM
    h = bs[S_MIN_VERTICAL_RECOVERY_FT]
    ca_bands = bs[S_CA_BANDS] != 0.0
    nfactor = 0
    factor = 1.0 - bs[S_CA_FACTOR]
    t_look = bs[S_LOOKAHEAD]
    # the bisection and the recovery set from per-candidate intervals where they apply (`_bands`, recovery tracks)
    tracked = _trackable(g, traffic_levels, listed, n_listed)
    tracks, filled = _new_tracks(g, n_listed if tracked else 0)
    while d > bs[S_HORIZONTAL_NMAC_FT] or h > bs[S_VERTICAL_NMAC_FT]:
        cyl = _cylinder(d, h)
        # a new cylinder: its rows of the tracks are filled afresh (the detector's rows do not depend on it)
        filled[:, :, 1] = 0
        if tracked and n_listed == 1:
            solid = not _tracked_any_band_cylinder(g, own, traffic_states, listed, bs, cyl, tracks, filled)
        else:
            solid = not _any_band_of(
                g, own, traffic_states, traffic_levels, listed, n_listed, bs, cyl, True, dummy, False, 0.0
            )
        if solid and not ca_bands:
            return none_green, -math.inf, nfactor
        if not solid:
            red_t, green_t = 0.0, t_look + 1.0
            pivot = green_t - 1.0
            while green_t - red_t > 0.5:
                if tracked:
                    band = _tracked_any_band(
                        g, own, traffic_states, traffic_levels, listed, n_listed, bs, cyl, pivot, tracks, filled
                    )
                else:
                    band = _any_band_of(
                        g, own, traffic_states, traffic_levels, listed, n_listed, bs, dummy, False, cyl, True, pivot
                    )
                if band:
                    green_t = pivot
                else:
                    red_t = pivot
                pivot = 0.5 * (red_t + green_t)
            rec_time = min(t_look, green_t + bs[S_STABILITY_TIME]) if green_t <= t_look else red_t
            if tracked:
                green = _tracked_green(
                    g, own, traffic_states, traffic_levels, listed, n_listed, bs, cyl, rec_time, tracks, filled
                )
            else:
                green = _green_of(
                    g, own, traffic_states, traffic_levels, listed, n_listed, bs, dummy, False, cyl, True, rec_time
                )
            dim, value, step, lo, hi, modulo, n_down, n_up, _tstep = g
            _, m = _none_set(dim, value, step, lo, hi, modulo, n_down, n_up, green)
            if m > 0:
                return green, rec_time, nfactor
            if not ca_bands:
                return none_green, -math.inf, nfactor
        nfactor += 1
        d = max(bs[S_HORIZONTAL_NMAC_FT], d * factor)
        h = max(bs[S_VERTICAL_NMAC_FT], h * factor)
    return none_green, -math.inf, nfactor


@njit(cache=True)
def _raw_colours(g, own, traffic_states, traffic_levels, n_traffic, bs):
    """Raw colour field (array, count), recovery flag, recovery time and n-factor."""
    own, traffic_states, traffic_levels, bs = borrowed((own, traffic_states, traffic_levels, bs))
    dim, value, step, lo, hi, modulo, n_down, n_up, _tstep = g
    corrective = int(bs[S_CORRECTIVE_REGION])
    recovery_enabled = bs[S_RECOVERY + dim] != 0.0
    field = np.empty((1, 3))
    field[0, 0], field[0, 1], field[0, 2] = lo, hi, NONE
    n = 1
    rec_time, nfactor, recovery = np.nan, -1, False
    candidates, slot_of = _candidate_memory(g, traffic_levels, n_traffic)
    present = np.zeros(NEAR + 1, dtype=np.bool_)
    for region in (NEAR, MID, FAR):
        for idx in range(n_traffic):
            if _level_for_region(traffic_levels[idx], region) > 0:
                present[region] = True
                break
    greens = np.empty((NEAR + 1, _grid_size(g)), dtype=np.bool_)
    known = np.zeros(NEAR + 1, dtype=np.bool_)
    if dim != DIM_ALT:
        # the less severe regions first: their horizons are the longer ones, and a candidate free over a longer
        # horizon is free over a shorter one (the candidate memory), so the severe regions' scans mostly reuse them
        for region in (FAR, MID, NEAR):
            if present[region]:
                listed, n_listed = _aircraft_for_region(
                    g, own, traffic_states, traffic_levels, n_traffic, region, bs, candidates, slot_of
                )
                greens[region] = _region_green(
                    g, own, traffic_states, traffic_levels, listed, n_listed, bs, candidates, slot_of
                )
                known[region] = True
    for region in (NEAR, MID, FAR):
        if not present[region]:
            continue
        if not known[region]:
            listed, n_listed = _aircraft_for_region(
                g, own, traffic_states, traffic_levels, n_traffic, region, bs, candidates, slot_of
            )
            greens[region] = _region_green(
                g, own, traffic_states, traffic_levels, listed, n_listed, bs, candidates, slot_of
            )
        none_set, m = _none_set(dim, value, step, lo, hi, modulo, n_down, n_up, greens[region])
        field, n = _paint_complement(field, n, none_set, m, lo, hi, region)
        if m > 0:
            continue
        if recovery_enabled and region >= corrective:
            c_listed, c_n = _aircraft_for_region(
                g, own, traffic_states, traffic_levels, n_traffic, corrective, bs, candidates, slot_of
            )
            rgreen, rec_time, nfactor = _recovery(g, own, traffic_states, traffic_levels, c_listed, c_n, bs)
            rec_set, rm = _none_set(dim, value, step, lo, hi, modulo, n_down, n_up, rgreen)
            if region > corrective:
                # the corrective region's colour comes from its recovery set
                field, n = _paint_complement(field, n, rec_set, rm, lo, hi, corrective)
            for i in range(rm):
                field, n = _paint(field, n, rec_set[i, 0], rec_set[i, 1], RECOVERY, False)
            recovery = True
        break
    return field, n, recovery, rec_time, nfactor


# --- display logic: bands persistence, resolutions, preferred direction --------------------------------------


@njit(cache=True)
def _keep_conflict_band(memory, shown, n, val, bs):
    """Bands persistence: a conflict band the current value just left is kept for the persistence time."""
    if not (bs[S_HYSTERESIS_TIME] > 0 and bs[S_PERSISTENCE_TIME] > 0 and bs[S_BANDS_PERSISTENCE] != 0.0):
        return shown, n
    c_lo, c_hi = memory[M_CONFLICT_LO], memory[M_CONFLICT_HI]
    last_time = memory[M_LAST_TIME]
    if math.isfinite(c_lo) and math.isfinite(c_hi):
        current = _region_at(shown, n, val)
        c_region = int(memory[M_CONFLICT_REGION])
        if current >= 0 and FAR <= c_region <= NEAR:
            t_region = memory[M_TIME_OF_CONFLICT_REGION]
            held = (
                not math.isnan(t_region)
                and current < c_region
                and last_time >= t_region
                and last_time - t_region < bs[S_PERSISTENCE_TIME]
            )
            if held:
                modulo = 360.0 if n > 0 and shown[0, 0] == 0.0 and shown[n - 1, 1] == 360.0 else 0.0
                if modulo != 0.0 and c_lo > c_hi:
                    shown, n = _paint(shown, n, c_lo, modulo, c_region, False)
                    shown, n = _paint(shown, n, 0.0, c_hi, c_region, False)
                else:
                    shown, n = _paint(shown, n, c_lo, c_hi, c_region, False)
            elif FAR <= current <= NEAR and current > c_region:
                memory[M_TIME_OF_CONFLICT_REGION] = last_time
    else:
        memory[M_TIME_OF_CONFLICT_REGION] = last_time
    return shown, n


@njit(cache=True)
def _index_of(ranges, n, x, modulo):
    """Index of the range holding x; on a shared edge, the less severe range (`bands._index_of`; 0 is 360)."""
    alias = np.nan
    if modulo != 0.0 and abs(x) <= 1e-9:
        alias = x + modulo
    elif modulo != 0.0 and abs(x - modulo) <= 1e-9:
        alias = x - modulo
    best, best_order = -1, 99
    for value in (x, alias):  # the other name counts only when its range is less severe
        for i in range(n):
            if ranges[i, 0] - 1e-9 <= value <= ranges[i, 1] + 1e-9:
                r = int(ranges[i, 2])
                order = 0 if (r == NONE or r == RECOVERY) else r
                if order < best_order:
                    best, best_order = i, order
    if best < 0 and n > 0 and (x == 0.0 or x == 360.0) and ranges[n - 1, 1] == 360.0:
        return 0
    return best


@njit(cache=True)
def _remember_conflict_band(memory, ranges, n, idx, modulo):
    if 0 <= idx < n and FAR <= int(ranges[idx, 2]) <= NEAR:
        region = ranges[idx, 2]
        lo, hi = ranges[idx, 0], ranges[idx, 1]
        last = n - 1
        if modulo != 0.0 and idx == 0 and ranges[last, 2] == ranges[0, 2]:
            lo = ranges[last, 0]
        if modulo != 0.0 and idx == last and ranges[0, 2] == ranges[last, 2]:
            hi = ranges[0, 1]
        memory[M_CONFLICT_REGION] = region
        memory[M_CONFLICT_LO], memory[M_CONFLICT_HI] = lo, hi
    else:
        memory[M_TIME_OF_CONFLICT_REGION] = np.nan
        memory[M_CONFLICT_REGION] = -1.0
        memory[M_CONFLICT_LO] = np.nan
        memory[M_CONFLICT_HI] = np.nan


@njit(cache=True)
def _raw_resolutions(ranges, n, idx, val, modulo, corrective):
    """Nearest conflict-free edges on each side of a current value in a corrective-or-worse band."""
    if not (0 <= idx < n and _conflict_region_at_or_above(int(ranges[idx, 2]), corrective)):
        return np.nan, np.nan, idx, idx
    last = n - 1
    low, idx_low = -math.inf, idx
    while idx_low >= 0 and _conflict_region_at_or_above(int(ranges[idx_low, 2]), corrective):
        if _to_the_left(ranges[idx_low, 0], val, modulo):
            idx_low = last if (idx_low == 0 and modulo != 0.0) else idx_low - 1
        else:
            idx_low = -1
        if idx_low == idx:
            idx_low = -1
    if idx_low >= 0:
        low = 0.0 if (idx_low == last and modulo != 0.0) else ranges[idx_low, 1]
    up, idx_up = math.inf, idx
    while idx_up <= last and _conflict_region_at_or_above(int(ranges[idx_up, 2]), corrective):
        if _to_the_left(val, ranges[idx_up, 1], modulo):
            idx_up = 0 if (idx_up == last and modulo != 0.0) else idx_up + 1
        else:
            idx_up = last + 1
        if idx_up == idx:
            idx_up = last + 1
    if idx_up <= last:
        up = ranges[idx_up, 0]
    return low, up, idx_low, idx_up


@njit(cache=True)
def _contiguous_resolutions(ranges, n, upward, idx_from, idx_to, modulo, corrective):
    """Are the ranges from idx_from to idx_to (walking up or down) all conflict-free or below corrective?"""
    idx = idx_from
    while idx != idx_to and 0 <= idx < n and not _conflict_region_at_or_above(int(ranges[idx, 2]), corrective):
        if upward:
            idx += 1
            if modulo != 0.0 and idx == n:
                idx = 0
        else:
            idx -= 1
            if modulo != 0.0 and idx == -1:
                idx = n - 1
    return 0 <= idx < n and not _conflict_region_at_or_above(int(ranges[idx, 2]), corrective)


@njit(cache=True)
def _resolution_persistence(memory, ranges, n, delta, nfactor, val, idx_low, raw_low, idx_up, raw_up, modulo, bs):
    """Keep the previous resolutions while they stay valid, near the new ones or within the persistence time."""
    last_time = memory[M_LAST_TIME]
    time_of_dir = memory[M_TIME_OF_DIR]
    corrective = int(bs[S_CORRECTIVE_REGION])
    if bs[S_HYSTERESIS_TIME] <= 0 or math.isnan(time_of_dir) or last_time <= time_of_dir or delta <= 0:
        memory[M_RES_LOW], memory[M_RES_UP] = raw_low, raw_up
        memory[M_NFACTOR_LOW] = nfactor
        memory[M_NFACTOR_UP] = nfactor
        memory[M_TIME_OF_DIR] = np.nan
        return
    young = last_time - time_of_dir < bs[S_PERSISTENCE_TIME]
    preferred_up = memory[M_PREFERRED_UP] != 0.0
    res_up = memory[M_RES_UP]
    keep_up = (
        math.isfinite(raw_up)
        and math.isfinite(res_up)
        and _to_the_left(val, res_up, modulo)
        and (young or memory[M_NFACTOR_UP] < nfactor or K._coarse_less(_safe_mod(res_up - raw_up, modulo), delta))
    )
    idx = _index_of(ranges, n, res_up, modulo) if keep_up else -1
    if not (0 <= idx and _contiguous_resolutions(ranges, n, preferred_up, idx_up, idx, modulo, corrective)):
        memory[M_RES_UP], memory[M_NFACTOR_UP] = raw_up, nfactor
    res_low = memory[M_RES_LOW]
    keep_low = (
        math.isfinite(raw_low)
        and math.isfinite(res_low)
        and _to_the_left(res_low, val, modulo)
        and (young or memory[M_NFACTOR_LOW] < nfactor or K._coarse_less(_safe_mod(raw_low - res_low, modulo), delta))
    )
    idx = _index_of(ranges, n, res_low, modulo) if keep_low else -1
    if not (0 <= idx and _contiguous_resolutions(ranges, n, preferred_up, idx_low, idx, modulo, corrective)):
        memory[M_RES_LOW], memory[M_NFACTOR_LOW] = raw_low, nfactor


@njit(cache=True)
def _switch_preferred(memory, upward, nfactor, low, up):
    memory[M_PREFERRED_UP] = 1.0 if upward else 0.0
    memory[M_TIME_OF_DIR] = memory[M_LAST_TIME]
    if nfactor <= memory[M_NFACTOR_LOW]:
        memory[M_RES_LOW] = low
    if nfactor <= memory[M_NFACTOR_UP]:
        memory[M_RES_UP] = up


@njit(cache=True)
def _preferred_direction(memory, delta, nfactor, val, low, up, modulo, bs):
    """Preferred side: the nearer resolution, changed only after the persistence time and by more than delta."""
    preferred_up = memory[M_PREFERRED_UP] != 0.0
    last_time = memory[M_LAST_TIME]
    time_of_dir = memory[M_TIME_OF_DIR]
    if not math.isfinite(up) and not math.isfinite(low):
        memory[M_TIME_OF_DIR] = np.nan
        memory[M_PREFERRED_UP] = 0.0
    elif not math.isfinite(up):
        if preferred_up:
            _switch_preferred(memory, False, nfactor, low, up)
    elif not math.isfinite(low):
        if not preferred_up:
            _switch_preferred(memory, True, nfactor, low, up)
    else:
        to_up = _safe_mod(up - val, modulo)
        to_low = _safe_mod(val - low, modulo)
        actual = to_up <= to_low + 1e-12 * max(1.0, abs(to_low))
        if bs[S_HYSTERESIS_TIME] <= 0 or math.isnan(time_of_dir) or last_time < time_of_dir or delta <= 0:
            memory[M_TIME_OF_DIR] = last_time
            memory[M_PREFERRED_UP] = 1.0 if actual else 0.0
        elif last_time - time_of_dir < bs[S_PERSISTENCE_TIME] or abs(to_up - to_low) < delta:
            pass  # persistence prevails
        elif (preferred_up and memory[M_NFACTOR_LOW] > memory[M_NFACTOR_UP]) or (
            not preferred_up and memory[M_NFACTOR_UP] > memory[M_NFACTOR_LOW]
        ):
            pass  # never switch toward a side that needs a smaller recovery cylinder
        elif preferred_up != actual:
            _switch_preferred(memory, actual, nfactor, low, up)


# --- entry points --------------------------------------------------------------------------------------------


@njit(cache=True)
def dimension_guidance(dim, t_s, own, traffic_states, traffic_levels, n_traffic, band_settings, memory, out):
    """One dimension's guidance at one decision (layouts in the module docstring); updates memory, fills out."""
    own, traffic_states, traffic_levels, band_settings, memory, out = borrowed(
        (own, traffic_states, traffic_levels, band_settings, memory, out)
    )
    bs = band_settings
    value, step, lo, hi, modulo, n_down, n_up, tstep = _grid(dim, own, bs)
    g = (dim, value, step, lo, hi, modulo, n_down, n_up, tstep)
    raw, n_raw, recovery, rec_time, nfactor = _raw_colours(g, own, traffic_states, traffic_levels, n_traffic, bs)
    if n_raw > GUIDANCE_MAX_BANDS:
        raise ValueError("guidance bands: a colour field has more segments than GUIDANCE_MAX_BANDS")
    last = memory[M_LAST_TIME]
    if memory[M_VALID] == 0.0 or math.isnan(last) or t_s <= last or t_s - last > bs[S_HYSTERESIS_TIME]:
        _reset(memory)
    memory[M_LAST_TIME] = t_s
    shown, n_shown = raw, n_raw
    m, n_window = int(bs[S_ALERTING_M]), int(bs[S_ALERTING_N])
    if bs[S_HYSTERESIS_TIME] > 0 and 0 < m <= n_window:
        n_hist = int(memory[M_N_HISTORY])
        first = n_hist == 0
        n_fields = n_hist + 1 + (1 if first else 0)
        fields = np.empty((n_fields, GUIDANCE_MAX_BANDS, 3))
        counts = np.empty(n_fields, dtype=np.int64)
        f = 0
        if first:
            fields[0, :n_raw] = raw[:n_raw]
            counts[0] = n_raw
            f = 1
        for slot in range(n_hist):
            counts[f] = _load_field(memory, slot, fields[f])
            f += 1
        fields[f, :n_raw] = raw[:n_raw]
        counts[f] = n_raw
        shown, n_shown = _m_of_n(fields, counts, n_fields, raw, n_raw, m)
        # remember the last n - 1 raw fields, oldest first
        keep = n_window - 1
        if n_hist < keep:
            _store_field(memory, n_hist, raw, n_raw)
            memory[M_N_HISTORY] = n_hist + 1
        else:
            for slot in range(keep - 1):
                src = M_HISTORY + (slot + 1) * FIELD_SIZE
                dst = M_HISTORY + slot * FIELD_SIZE
                memory[dst : dst + FIELD_SIZE] = memory[src : src + FIELD_SIZE]
            _store_field(memory, keep - 1, raw, n_raw)
    val = value % modulo if modulo != 0.0 else value
    shown, n_shown = _keep_conflict_band(memory, shown, n_shown, val, bs)
    # the conflict-free colour is RECOVERY while recovery bands are computed, NONE otherwise
    green_colour = RECOVERY if recovery else NONE
    recoloured = np.empty((max(n_shown, 1), 3))
    for i in range(n_shown):
        r = int(shown[i, 2])
        recoloured[i, 0], recoloured[i, 1] = shown[i, 0], shown[i, 1]
        recoloured[i, 2] = green_colour if (r == NONE or r == RECOVERY) else r
    ranges, n = _merge(recoloured, n_shown)
    idx = _index_of(ranges, n, val, modulo)
    if not math.isnan(memory[M_TIME_OF_CONFLICT_REGION]):
        _remember_conflict_band(memory, ranges, n, idx, modulo)
    delta = bs[S_PREFERRED_DELTA + dim]
    corrective = int(bs[S_CORRECTIVE_REGION])
    raw_low, raw_up, idx_low, idx_up = _raw_resolutions(ranges, n, idx, val, modulo, corrective)
    _resolution_persistence(memory, ranges, n, delta, nfactor, val, idx_low, raw_low, idx_up, raw_up, modulo, bs)
    _preferred_direction(memory, delta, nfactor, val, raw_low, raw_up, modulo, bs)
    _write_out(out, value, ranges, n, idx, memory, recovery, rec_time, nfactor)


@njit(cache=True)
def _write_out(out, value, ranges, n, idx, memory, recovery, rec_time, nfactor):
    if n > GUIDANCE_MAX_BANDS:
        raise ValueError("guidance bands: more bands than GUIDANCE_MAX_BANDS")
    out[:] = np.nan
    out[O_OWN_VALUE] = value
    out[O_REGION] = ranges[idx, 2] if 0 <= idx < n else -1.0
    res_low, res_up = memory[M_RES_LOW], memory[M_RES_UP]
    out[O_RES_LOW], out[O_RES_UP] = res_low, res_up
    preferred_up = memory[M_PREFERRED_UP] != 0.0
    out[O_PREFERRED_UP] = 1.0 if preferred_up else 0.0
    if math.isnan(res_low) and math.isnan(res_up):
        out[O_PREFERRED] = 0.0
    else:
        out[O_PREFERRED] = 1.0 if preferred_up else -1.0
    out[O_RECOVERY] = 1.0 if recovery else 0.0
    out[O_REC_TIME] = rec_time
    out[O_NFACTOR] = nfactor
    out[O_N_BANDS] = n
    for k in range(n):
        out[O_BANDS + 3 * k] = ranges[k, 0]
        out[O_BANDS + 3 * k + 1] = ranges[k, 1]
        out[O_BANDS + 3 * k + 2] = ranges[k, 2]


@njit(cache=True)
def guidance_step(t_s, own, traffic_states, traffic_levels, n_traffic, band_settings, memory, out):
    """All four dimensions at one decision: memory[4 * GUIDANCE_MEMORY_SIZE], out[4, GUIDANCE_OUT_SIZE]."""
    for dim in range(4):
        dimension_guidance(
            dim,
            t_s,
            own,
            traffic_states,
            traffic_levels,
            n_traffic,
            band_settings,
            memory[dim * GUIDANCE_MEMORY_SIZE : (dim + 1) * GUIDANCE_MEMORY_SIZE],
            out[dim],
        )


@njit(cache=True)
def _all_red(dim, own, traffic_state, det, bs):
    _value, step, lo, _hi, _modulo, n_down, n_up, tstep = _grid(dim, own, bs)
    # the all-red test checks losses at step times only (not on the segments between them)
    dummy = _cylinder(0.0, 0.0)
    kin = bs[S_KIN : S_KIN + 5]
    return not _any_green(
        dim, lo, step, n_down, n_up, tstep, own, traffic_state, det, dummy, False, 0.0, bs[S_LOOKAHEAD], kin, False
    )


@njit(cache=True)
def last_time_to_manoeuvre(dim, own, traffic_state, traffic_levels_row, band_settings):
    """Latest time (s from now) at which a manoeuvre in ``dim`` still avoids the corrective volume.

    NaN when the corrective detector predicts no conflict within the lookahead, -inf when it is
    already too late. Bisection (to 0.5 s) on the time at which both aircraft, flown straight until
    then, are either in violation or have every candidate of the dimension in conflict.
    """
    own, traffic_state, traffic_levels_row, band_settings = borrowed(
        (own, traffic_state, traffic_levels_row, band_settings)
    )
    bs = band_settings
    corrective = int(bs[S_CORRECTIVE_REGION])
    level = 0
    for k in range(int(traffic_levels_row[TL_N_LEVELS])):
        region = int(traffic_levels_row[level_base(k) + LV_REGION])
        if FAR <= region <= NEAR and region >= corrective:
            level = k + 1
            break
    if level == 0:
        return np.nan
    det = _detector(traffic_levels_row, level)
    t_in, t_out = K.conflict_interval(det, own, traffic_state, 0.0, bs[S_LOOKAHEAD])
    if not _is_conflict(t_in, t_out):
        return np.nan
    if t_in == 0.0:
        return -math.inf
    red_t, green_t = t_in, 0.0
    pivot = green_t
    own_p = np.empty(6)
    ac_p = np.empty(6)
    while red_t - green_t > 0.5:
        for i in range(6):
            own_p[i] = own[i]
            ac_p[i] = traffic_state[i]
        for i in range(3):
            own_p[i] += pivot * own[3 + i]
            ac_p[i] += pivot * traffic_state[3 + i]
        if K.violation_now(det, own_p, ac_p) or _all_red(dim, own_p, ac_p, det, bs):
            red_t = pivot
        else:
            green_t = pivot
        pivot = 0.5 * (red_t + green_t)
    return -math.inf if green_t == 0.0 else green_t
