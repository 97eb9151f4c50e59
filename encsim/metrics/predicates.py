"""Separation predicates, vectorised: the numpy twins of the scalar Numba predicates.

Same names, arguments and definitions as `encsim.metrics._predicates` (read its docstring: relative
quantities intruder minus ownship, tau_mod, time to co-altitude, well clear with TCOA, cylinders),
written with the same operations in the same order, over arrays of any (broadcast) shape. The
public detection API (`encsim.metrics.detection`) is built on these; kernels call the scalar ones.

Examples
--------
>>> import numpy as np
>>> tau_mod_s(np.array([10000.0, 10000.0]), 0.0, np.array([-400.0, 400.0]), 0.0, 4000.0)  # closing, opening
array([21., nan])
>>> bool(well_clear_lost(10000.0, 0.0, 0.0, -400.0, 0.0, 0.0, 4000.0, 450.0, 35.0, 4000.0, 0.0))  # tau_mod 21 s
True
"""

from __future__ import annotations

import numpy as np

from ._predicates import STILL

__all__ = [
    "STILL",
    "horizontal_miss_distance_sq_ft2",
    "horizontal_well_clear_lost",
    "inside_cylinder",
    "tau_mod_s",
    "time_to_co_altitude_s",
    "vertical_well_clear_lost",
    "well_clear_lost",
    "well_clear_violation_interval_s",
]


def _floats(*arrays):
    return np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in arrays))


def tau_mod_s(sx, sy, vx, vy, dthr_ft):
    """Modified tau (s): (DTHR^2 - r^2) / (s.v) where closing (s.v < 0), NaN elsewhere."""
    sx, sy, vx, vy = _floats(sx, sy, vx, vy)
    sv = sx * vx + sy * vy
    closing = sv < 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(closing, (dthr_ft * dthr_ft - (sx * sx + sy * sy)) / np.where(closing, sv, -1.0), np.nan)


def horizontal_miss_distance_sq_ft2(sx, sy, vx, vy):
    """Square of the horizontal distance at closest approach of the straight lines (r^2 where not moving)."""
    sx, sy, vx, vy = _floats(sx, sy, vx, vy)
    r2 = sx * sx + sy * sy
    vv = vx * vx + vy * vy
    sv = sx * vx + sy * vy
    moving = vv > 0.0
    return np.where(moving, r2 - sv * sv / np.where(moving, vv, 1.0), r2)


def time_to_co_altitude_s(sz, vz):
    """Time until co-altitude (s), -sz / vz, where converging vertically (sz vz < 0), NaN elsewhere."""
    sz, vz = _floats(sz, vz)
    converging = sz * vz < 0.0
    return np.where(converging, -sz / np.where(converging, vz, 1.0), np.nan)


def inside_cylinder(range_ft, sz, radius_ft, half_height_ft):
    """Strictly inside a cylinder: horizontal range < R and |sz| < H."""
    range_ft, sz = _floats(range_ft, sz)
    return (range_ft < radius_ft) & (np.abs(sz) < half_height_ft)


def horizontal_well_clear_lost(sx, sy, vx, vy, dthr_ft, tthr_s, hmd_ft):
    """r <= DTHR, or closing with 0 <= tau_mod <= TTHR and the horizontal miss distance <= HMD*."""
    sx, sy, vx, vy = _floats(sx, sy, vx, vy)
    tau = tau_mod_s(sx, sy, vx, vy, dthr_ft)
    inside = sx * sx + sy * sy <= dthr_ft * dthr_ft
    with np.errstate(invalid="ignore"):
        soon = (tau >= 0.0) & (tau <= tthr_s)
    return inside | (soon & (horizontal_miss_distance_sq_ft2(sx, sy, vx, vy) <= hmd_ft * hmd_ft))


def vertical_well_clear_lost(sz, vz, zthr_ft, tcoa_s):
    """|sz| <= ZTHR, or (TCOA > 0) converging with time to co-altitude <= TCOA."""
    sz, vz = _floats(sz, vz)
    with np.errstate(invalid="ignore"):
        return (np.abs(sz) <= zthr_ft) | ((tcoa_s > 0.0) & (time_to_co_altitude_s(sz, vz) <= tcoa_s))


def well_clear_lost(sx, sy, sz, vx, vy, vz, dthr_ft, zthr_ft, tthr_s, hmd_ft, tcoa_s):
    """The instantaneous loss-of-well-clear predicate: vertical and horizontal loss together."""
    return vertical_well_clear_lost(sz, vz, zthr_ft, tcoa_s) & horizontal_well_clear_lost(
        sx, sy, vx, vy, dthr_ft, tthr_s, hmd_ft
    )


def well_clear_violation_interval_s(sx, sy, sz, vx, vy, vz, dthr_ft, zthr_ft, tthr_s, hmd_ft, tcoa_s, lookahead_s):
    """(t_in, t_out): the predicted loss of well clear within [0, lookahead] for straight-line flight, NaN where none.

    ``lookahead_s`` may be an array (broadcast with the states); the volume's thresholds are scalars.
    """
    sx, sy, sz, vx, vy, vz, lookahead_s = _floats(sx, sy, sz, vx, vy, vz, lookahead_s)
    vv = vx * vx + vy * vy
    sv = sx * vx + sy * vy
    r2 = sx * sx + sy * sy
    d2 = dthr_ft * dthr_ft
    moving = vv > STILL
    safe_vv = np.where(moving, vv, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        disc = sv * sv - vv * (r2 - d2)
        circle = moving & (disc >= 0)
        root = np.sqrt(np.where(circle, disc, 0.0))
        h_lo = np.where(circle, (-sv - root) / safe_vv, np.inf)
        h_hi = np.where(circle, (-sv + root) / safe_vv, -np.inf)
        tcpa = -sv / safe_vv
        dcpa2 = r2 - sv * sv / safe_vv
        b = 2 * sv + tthr_s * vv
        c = r2 - d2 + tthr_s * sv
        disc = b * b - 4 * vv * c
        tau_region = moving & (tthr_s > 0) & (dcpa2 <= hmd_ft * hmd_ft) & (disc >= 0)
        root = np.sqrt(np.where(tau_region, disc, 0.0))
        lo = (-b - root) / (2 * safe_vv)
        hi = np.minimum((-b + root) / (2 * safe_vv), tcpa)
        tau_region &= lo <= hi
        h_lo = np.where(tau_region, np.minimum(h_lo, lo), h_lo)
        h_hi = np.where(tau_region, np.maximum(h_hi, hi), h_hi)
        still_inside = ~moving & (r2 <= d2)
        h_lo = np.where(still_inside, -np.inf, h_lo)
        h_hi = np.where(still_inside, np.inf, h_hi)

        climbing = np.abs(vz) > STILL
        safe_vz = np.where(climbing, vz, 1.0)
        entry = np.maximum(zthr_ft, np.abs(vz) * tcoa_s)
        level_inside = np.abs(sz) <= zthr_ft
        z_lo = np.where(
            climbing,
            np.minimum((-entry - sz) / safe_vz, (entry - sz) / safe_vz),
            np.where(level_inside, -np.inf, np.inf),
        )
        z_hi = np.where(
            climbing,
            np.maximum((-zthr_ft - sz) / safe_vz, (zthr_ft - sz) / safe_vz),
            np.where(level_inside, np.inf, -np.inf),
        )
        start = np.maximum(np.maximum(h_lo, z_lo), 0.0)
        end = np.minimum(np.minimum(h_hi, z_hi), lookahead_s)
    found = (h_lo <= h_hi) & (start <= end)
    return np.where(found, start, np.nan), np.where(found, end, np.nan)
