"""Validated public entry points to the detection kernels (`_detection`).

Conventions: relative position ``s = own - intruder`` and velocity ``v = own - intruder`` (as
DAIDALUS), x east, y north, z up, ft and ft/s; intervals relative to now, empty as (inf, -inf).
"""

from __future__ import annotations

import math

import numpy as np

from . import _detection


def _check_finite(**values) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} = {value!r}: expected a finite number")


def _check_volume(dthr_ft, zthr_ft, tthr_s, tcoa_s, t_from_s, t_to_s) -> None:
    for name, value in (("dthr_ft", dthr_ft), ("zthr_ft", zthr_ft), ("tthr_s", tthr_s), ("tcoa_s", tcoa_s)):
        if value < 0:
            raise ValueError(f"{name} = {value!r}: expected >= 0")
    if not 0 <= t_from_s <= t_to_s:
        raise ValueError(f"[t_from_s, t_to_s] = [{t_from_s}, {t_to_s}]: expected 0 <= t_from_s <= t_to_s")


def wcv_taumod_interval(
    sx_ft, sy_ft, sz_ft, vx_fps, vy_fps, vz_fps, dthr_ft, zthr_ft, tthr_s, tcoa_s, t_from_s, t_to_s
) -> tuple[float, float]:
    """Time interval within [t_from_s, t_to_s] during which the DO-365 WCV_TAUMOD volume is violated.

    Parameters
    ----------
    sx_ft, sy_ft, sz_ft : float
        Relative position own - intruder (east, north, up).
    vx_fps, vy_fps, vz_fps : float
        Relative velocity own - intruder.
    dthr_ft, zthr_ft, tthr_s, tcoa_s : float
        The volume: DTHR (also the HMD filter), ZTHR, TTHR (tau_mod), TCOA.
    t_from_s, t_to_s : float
        The time window (relative to now), 0 <= t_from_s <= t_to_s.

    Returns
    -------
    (t_in_s, t_out_s) : tuple of float
        (inf, -inf) when the straight-line relative track never violates the volume in the window.

    Examples
    --------
    >>> t_in, t_out = wcv_taumod_interval(-30000.0, 0.0, 0.0, 300.0, 0.0, 0.0, 4010.0, 450.0, 35.0, 0.0, 0.0, 180.0)
    >>> round(t_in, 3), round(t_out, 3)
    (60.479, 113.367)
    """
    _check_finite(sx_ft=sx_ft, sy_ft=sy_ft, sz_ft=sz_ft, vx_fps=vx_fps, vy_fps=vy_fps, vz_fps=vz_fps)
    _check_volume(dthr_ft, zthr_ft, tthr_s, tcoa_s, t_from_s, t_to_s)
    args = np.array([sx_ft, sy_ft, sz_ft, vx_fps, vy_fps, vz_fps, dthr_ft, zthr_ft, tthr_s, tcoa_s, t_from_s, t_to_s])
    return _detection.wcv_taumod_interval(*(float(a) for a in args))


def wcv_taumod_sum_interval(
    sx_ft, sy_ft, sz_ft, vx_fps, vy_fps, vz_fps, dthr_ft, zthr_ft, tthr_s, tcoa_s, t_from_s, t_to_s,
    s_err_ft, sz_err_ft, v_err_fps, vz_err_fps,
) -> tuple[float, float]:  # fmt: skip
    """As `wcv_taumod_interval` for WCV_TAUMOD_SUM: the volume violated by any state within the errors.

    ``s_err_ft``, ``sz_err_ft``, ``v_err_fps``, ``vz_err_fps``: relative horizontal/vertical
    position and velocity errors, already scaled by their z-scores (`relative_sum_errors`).
    All zero gives `wcv_taumod_interval`; otherwise each is floored at 0.001 m (m/s) as in DAIDALUS.
    """
    _check_finite(sx_ft=sx_ft, sy_ft=sy_ft, sz_ft=sz_ft, vx_fps=vx_fps, vy_fps=vy_fps, vz_fps=vz_fps)
    _check_volume(dthr_ft, zthr_ft, tthr_s, tcoa_s, t_from_s, t_to_s)
    for name, value in (
        ("s_err_ft", s_err_ft),
        ("sz_err_ft", sz_err_ft),
        ("v_err_fps", v_err_fps),
        ("vz_err_fps", vz_err_fps),
    ):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} = {value!r}: expected a finite number >= 0")
    values = (sx_ft, sy_ft, sz_ft, vx_fps, vy_fps, vz_fps, dthr_ft, zthr_ft, tthr_s, tcoa_s, t_from_s, t_to_s)
    errors = (s_err_ft, sz_err_ft, v_err_fps, vz_err_fps)
    return _detection.wcv_taumod_sum_interval(*(float(a) for a in values + errors))


def relative_sum_errors(own_std, intruder_std, range_ft: float, z_scores) -> tuple[float, float, float, float]:
    """Relative SUM errors (s_err_ft, sz_err_ft, v_err_fps, vz_err_fps) of a pair of aircraft.

    Parameters
    ----------
    own_std, intruder_std : array of 8 floats
        The .daa std terms in ft and ft/s: s_EW, s_NS, s_EN, sz, v_EW, v_NS, v_EN, vz.
    range_ft : float
        Current horizontal range.
    z_scores : 6 floats
        (h_pos, h_vel_min, h_vel_max, h_vel_distance_ft, v_pos, v_vel), e.g. `DaidalusConfig.z_scores`.
    """
    own = np.asarray(own_std, dtype=float)
    intruder = np.asarray(intruder_std, dtype=float)
    z = np.asarray(z_scores, dtype=float)
    if own.shape != (8,) or intruder.shape != (8,) or z.shape != (6,):
        raise ValueError("own_std and intruder_std need 8 terms each, z_scores 6")
    if z[3] <= 0:
        raise ValueError(f"h_vel_distance_ft = {z[3]}: expected > 0")
    return _detection.relative_sum_errors(own, intruder, float(range_ft), z)
