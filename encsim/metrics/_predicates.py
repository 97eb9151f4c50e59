"""Scalar Numba predicates of separation: well clear, cylinders, tau_mod, time to co-altitude.

The one place each is written; every kernel that tests them calls these (the closed loop, the
time-series metrics, the DAA logic), and `encsim.metrics.predicates` holds their numpy
(vectorised) twins, written with the same operations in the same order and tested against them.

Arguments are relative quantities, **intruder minus ownship** (decisions.md section 1):
horizontal position ``sx, sy`` (ft) and velocity ``vx, vy`` (ft/s) in any orthonormal horizontal
frame (east/north or north/east: every predicate is symmetric under the swap and under
s -> -s, v -> -v), vertical separation ``sz`` (ft) and rate ``vz`` (ft/s), up positive.

Definitions (daa-reference 1.2; DO-365 / DAIDALUS WCV_TAUMOD with the TCOA vertical test):

- tau_mod = (DTHR^2 - r^2) / (s.v) for closing traffic (s.v < 0), NaN otherwise;
- time to co-altitude = -sz / vz while converging (sz vz < 0), NaN otherwise;
- horizontal loss: r <= DTHR, or 0 <= tau_mod <= TTHR with the horizontal miss distance (at
  closest approach, straight lines) <= HMD*;
- vertical loss: |sz| <= ZTHR, or TCOA > 0 and 0 <= time to co-altitude <= TCOA;
- loss of well clear: both; a cylinder (NMAC): range < R and |sz| < H (strict).
"""

from __future__ import annotations

import math

from numba import njit

#: tolerance below which a squared horizontal speed (ft^2/s^2) or a vertical rate (ft/s) counts as zero
#: in the predicted intervals (straight lines that do not move in that plane)
STILL = 1e-12


@njit(cache=True)
def tau_mod_s(sx, sy, vx, vy, dthr_ft):
    """Modified tau (s) with DTHR (or DMOD) ``dthr_ft``: (DTHR^2 - r^2) / (s.v) when closing, else NaN."""
    sv = sx * vx + sy * vy
    if not sv < 0.0:
        return math.nan
    return (dthr_ft * dthr_ft - (sx * sx + sy * sy)) / sv


@njit(cache=True)
def horizontal_miss_distance_sq_ft2(sx, sy, vx, vy):
    """Square of the horizontal distance at closest approach of the straight lines (r^2 when not moving)."""
    r2 = sx * sx + sy * sy
    vv = vx * vx + vy * vy
    if vv <= 0.0:
        return r2
    sv = sx * vx + sy * vy
    return r2 - sv * sv / vv


@njit(cache=True)
def time_to_co_altitude_s(sz, vz):
    """Time until co-altitude (s), -sz / vz, while the aircraft converge vertically (sz vz < 0), else NaN."""
    if not sz * vz < 0.0:
        return math.nan
    return -sz / vz


@njit(cache=True)
def inside_cylinder(range_ft, sz, radius_ft, half_height_ft):
    """Strictly inside a cylinder (e.g. NMAC, 500 ft / 100 ft): horizontal range < R and |sz| < H."""
    return range_ft < radius_ft and abs(sz) < half_height_ft


@njit(cache=True)
def horizontal_well_clear_lost(sx, sy, vx, vy, dthr_ft, tthr_s, hmd_ft):
    """r <= DTHR, or closing with 0 <= tau_mod <= TTHR and the horizontal miss distance <= HMD*."""
    if sx * sx + sy * sy <= dthr_ft * dthr_ft:
        return True
    tau = tau_mod_s(sx, sy, vx, vy, dthr_ft)
    if not 0.0 <= tau <= tthr_s:  # NaN (not closing) too
        return False
    return horizontal_miss_distance_sq_ft2(sx, sy, vx, vy) <= hmd_ft * hmd_ft


@njit(cache=True)
def vertical_well_clear_lost(sz, vz, zthr_ft, tcoa_s):
    """|sz| <= ZTHR, or (TCOA > 0) converging with time to co-altitude <= TCOA."""
    if abs(sz) <= zthr_ft:
        return True
    return tcoa_s > 0.0 and time_to_co_altitude_s(sz, vz) <= tcoa_s


@njit(cache=True)
def well_clear_lost(sx, sy, sz, vx, vy, vz, dthr_ft, zthr_ft, tthr_s, hmd_ft, tcoa_s):
    """The instantaneous loss-of-well-clear predicate: vertical and horizontal loss together."""
    return vertical_well_clear_lost(sz, vz, zthr_ft, tcoa_s) and horizontal_well_clear_lost(
        sx, sy, vx, vy, dthr_ft, tthr_s, hmd_ft
    )


@njit(cache=True)
def well_clear_violation_interval_s(sx, sy, sz, vx, vy, vz, dthr_ft, zthr_ft, tthr_s, hmd_ft, tcoa_s, lookahead_s):
    """(t_in, t_out): the predicted loss of well clear within [0, lookahead] for straight-line flight, or NaNs.

    Horizontal: the DTHR circle, united with the tau_mod region before closest approach when the
    miss distance is within HMD*. Vertical: |sz + vz t| <= ZTHR, entered earlier, at |vz| TCOA,
    when TCOA reaches further while converging.
    """
    vv = vx * vx + vy * vy
    sv = sx * vx + sy * vy
    r2 = sx * sx + sy * sy
    d2 = dthr_ft * dthr_ft
    h_lo, h_hi = math.inf, -math.inf
    if vv > STILL:
        disc = sv * sv - vv * (r2 - d2)
        if disc >= 0:
            root = math.sqrt(disc)
            h_lo, h_hi = (-sv - root) / vv, (-sv + root) / vv
        tcpa = -sv / vv
        dcpa2 = r2 - sv * sv / vv
        if tthr_s > 0 and dcpa2 <= hmd_ft * hmd_ft:
            # r^2 + 2 sv t + vv t^2 <= DTHR^2 - TTHR (sv + vv t): where tau_mod of the moved state is <= TTHR
            b = 2 * sv + tthr_s * vv
            c = r2 - d2 + tthr_s * sv
            disc = b * b - 4 * vv * c
            if disc >= 0:
                root = math.sqrt(disc)
                lo, hi = (-b - root) / (2 * vv), min((-b + root) / (2 * vv), tcpa)
                if lo <= hi:
                    h_lo, h_hi = min(h_lo, lo), max(h_hi, hi)
    elif r2 <= d2:
        h_lo, h_hi = -math.inf, math.inf
    if h_lo > h_hi:
        return math.nan, math.nan
    if abs(vz) > STILL:
        entry = max(zthr_ft, abs(vz) * tcoa_s)
        z_lo = min((-entry - sz) / vz, (entry - sz) / vz)
        z_hi = max((-zthr_ft - sz) / vz, (zthr_ft - sz) / vz)
    elif abs(sz) <= zthr_ft:
        z_lo, z_hi = -math.inf, math.inf
    else:
        return math.nan, math.nan
    start = max(h_lo, z_lo, 0.0)
    end = min(h_hi, z_hi, lookahead_s)
    if start <= end:
        return start, end
    return math.nan, math.nan
