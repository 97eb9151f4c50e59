"""Numba kernels: the DO-365 well-clear volume WCV_TAUMOD and its SUM variant, as time intervals.

Conventions (as DAIDALUS): relative position ``s = own - intruder`` and relative velocity
``v = own - intruder``; x east, y north, z up; feet and feet per second. An interval is returned as
``(t_in_s, t_out_s)`` relative to now. **Empty** is ``t_in_s > t_out_s`` (the public kernels return
``(inf, -inf)``). A non-empty interval with ``t_in == t_out`` (a graze) is returned as computed; it
counts as a conflict only if `_almost_less` ``(t_in, t_out)`` holds, as DAIDALUS counts it.

Sources (docs/daidalus.md has the detail):

- DO-365 / Munoz, Narkawicz et al., "DAIDALUS: Detect and Avoid Alerting Logic for Unmanned
  Systems" (2015) and Narkawicz, Munoz, Dutle, "The MITRE/NASA well-clear ... tau_mod" papers: the
  volume (range <= DTHR, or HMD <= DTHR and 0 <= tau_mod <= TTHR; |dz| <= ZTHR or
  0 <= t_coa <= TCOA) and its straight-line entry/exit times.
- Narkawicz, Chamberlain, Munoz et al., "Sensor uncertainty mitigation" (SUM): the uncertain
  volume (positions inflated by the position error, the velocity taken over a disc of radius
  the velocity error) used by WCV_TAUMOD_SUM.
- Details the papers leave open (floating-point tolerances, the exact entry/exit rules of the SUM
  variant, the 0.001 m / m/s floor on SUM errors) were learnt from reading DAIDALUS v2.0.4's source
  and re-implemented here.

Kernels are private; `encsim.avoidance.daidalus.detection` wraps them with validation.
"""

from __future__ import annotations

import math

from numba import njit

from ...units import M_PER_FT

#: almost-equality as DAIDALUS's default precision: about 16348 units in the last place.
_ULP_TOLERANCE = 16348.0 * 2.0**-52
#: values closer to zero than this are equal to zero (DAIDALUS's default precision).
_ZERO_TOLERANCE = 1.0e-13
#: DAIDALUS floors every nonzero SUM error at 0.001 internal units (m, m/s): here in ft and ft/s.
SUM_MIN_ERROR_FT = 0.001 / M_PER_FT


@njit(cache=True)
def _almost_equal(a, b):
    """a == b up to ~16348 ulps (relative ~3.6e-12), values within 1e-13 of zero equal to zero."""
    if a == b:
        return True
    if (a == 0.0 or b == 0.0) and abs(a) < _ZERO_TOLERANCE and abs(b) < _ZERO_TOLERANCE:
        return True
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return False
    return abs(a - b) <= _ULP_TOLERANCE * max(abs(a), abs(b))


@njit(cache=True)
def _almost_less(a, b):
    """a < b and not almost equal: an interval [a, b] is a conflict, a time a is before b."""
    return a < b and not _almost_equal(a, b)


@njit(cache=True)
def _quadratic_root(a, b, c, side):
    """Root (-b + side sqrt(b^2 - 4ac)) / 2a of a t^2 + b t + c (linear if a == 0); nan if none."""
    if a == 0.0:
        if b == 0.0:
            return math.nan
        return -c / b
    disc = b * b - 4.0 * a * c
    if disc < 0.0:
        return math.nan
    return (-b + side * math.sqrt(disc)) / (2.0 * a)


@njit(cache=True)
def _range_exit_time(sx, sy, vx, vy, radius):
    """Time the straight relative track leaves the horizontal disc of the given radius (nan if never in)."""
    return _quadratic_root(vx * vx + vy * vy, 2.0 * (sx * vx + sy * vy), sx * sx + sy * sy - radius * radius, 1.0)


@njit(cache=True)
def horizontal_taumod(sx, sy, vx, vy, dthr):
    """Modified tau (DTHR^2 - r^2) / (s.v) when closing (s.v < 0), else -1."""
    sdotv = sx * vx + sy * vy
    if sdotv < 0.0:
        return (dthr * dthr - (sx * sx + sy * sy)) / sdotv
    return -1.0


@njit(cache=True)
def _horizontal_miss_distance(sx, sy, vx, vy):
    """Distance of closest approach of the infinite straight relative track (range now if v = 0)."""
    vv = vx * vx + vy * vy
    if vv == 0.0:
        return math.sqrt(sx * sx + sy * sy)
    t = -(sx * vx + sy * vy) / vv
    return math.hypot(sx + t * vx, sy + t * vy)


@njit(cache=True)
def _horizontal_violation(sx, sy, vx, vy, dthr, tthr):
    """Horizontal WCV now: inside DTHR, or HMD <= DTHR with 0 <= tau_mod <= TTHR (the HMD filter = DTHR)."""
    if math.hypot(sx, sy) <= dthr:
        return True
    if _horizontal_miss_distance(sx, sy, vx, vy) <= dthr:
        tau = horizontal_taumod(sx, sy, vx, vy, dthr)
        return 0.0 <= tau <= tthr
    return False


@njit(cache=True)
def _vertical_violation(sz, vz, zthr, tcoa):
    """Vertical WCV now: |dz| <= ZTHR, or converging with time to co-altitude <= TCOA."""
    if abs(sz) <= zthr:
        return True
    return (not _almost_equal(vz, 0.0)) and sz * vz <= 0.0 and -sz / vz <= tcoa


@njit(cache=True)
def _horizontal_interval(sx, sy, vx, vy, dthr, tthr, horizon):
    """Horizontal WCV_TAUMOD interval within [0, horizon]; empty as (horizon, 0).

    Entry: the first time tau_mod <= TTHR while closing, i.e. the smaller root of
    |s + t v|^2 + TTHR (s + t v).v - DTHR^2 = 0; only if the track passes within DTHR (HMD filter).
    Exit: leaving the DTHR disc.
    """
    ss = sx * sx + sy * sy
    sdotv = sx * vx + sy * vy
    vv = vx * vx + vy * vy
    dd = dthr * dthr
    if _almost_equal(vv, 0.0) and ss <= dd:
        return 0.0, horizon
    if ss <= dd:
        return 0.0, min(horizon, _range_exit_time(sx, sy, vx, vy, dthr))
    b = 2.0 * sdotv + tthr * vv
    c = ss + tthr * sdotv - dd
    disc = b * b - 4.0 * vv * c
    if sdotv >= 0.0 or disc < 0.0:
        return horizon, 0.0
    t_entry = (-b - math.sqrt(disc)) / (2.0 * vv)
    passes_within = dd * vv - (sx * vy - sy * vx) ** 2 >= 0.0
    if passes_within and t_entry <= horizon:
        return max(0.0, t_entry), min(horizon, _range_exit_time(sx, sy, vx, vy, dthr))
    return horizon, 0.0


@njit(cache=True)
def _vertical_interval(sz, vz, zthr, tcoa, t_from, t_to):
    """Vertical WCV interval within [t_from, t_to]; empty as (t_to, t_from).

    Entry when |dz| reaches max(ZTHR, TCOA |vz|) on the approaching side, exit when it leaves ZTHR
    on the far side.
    """
    if _almost_equal(vz, 0.0):
        if abs(sz) <= zthr:
            return t_from, t_to
        return t_to, t_from
    sign = 1.0 if vz > 0.0 else -1.0
    entry_h = max(zthr, abs(vz) * tcoa)
    t_entry = (-sign * entry_h - sz) / vz
    t_exit = (sign * zthr - sz) / vz
    if t_to < t_entry or t_exit < t_from:
        return t_to, t_from
    return max(t_from, t_entry), min(t_to, t_exit)


@njit(cache=True)
def _wcv_interval(sx, sy, sz, vx, vy, vz, dthr, zthr, tthr, tcoa, t_from, t_to):
    """WCV_TAUMOD interval; empty as (inf, -inf)."""
    lo, hi = _vertical_interval(sz, vz, zthr, tcoa, t_from, t_to)
    if lo > hi:
        return math.inf, -math.inf
    px = sx + lo * vx
    py = sy + lo * vy
    if _almost_equal(lo, hi):
        if _horizontal_violation(px, py, vx, vy, dthr, tthr):
            return lo, hi
        return math.inf, -math.inf
    h_in, h_out = _horizontal_interval(px, py, vx, vy, dthr, tthr, hi - lo)
    if h_in > h_out:
        return math.inf, -math.inf
    return h_in + lo, h_out + lo


@njit(cache=True)
def wcv_taumod_interval(
    sx_ft, sy_ft, sz_ft, vx_fps, vy_fps, vz_fps, dthr_ft, zthr_ft, tthr_s, tcoa_s, t_from_s, t_to_s
):
    """Interval within [t_from_s, t_to_s] during which the WCV_TAUMOD volume is violated.

    Straight-line relative motion, s = own - intruder and v = own - intruder (DAIDALUS's
    convention; the volume is symmetric, so intruder - own gives the same times). The volume:
    horizontal range <= DTHR, or (HMD <= DTHR and 0 <= tau_mod <= TTHR) with tau_mod =
    (DTHR^2 - r^2)/(s.v) while closing; and |dz| <= ZTHR or 0 <= t_coa <= TCOA. The HMD filter
    equals DTHR, as in the DO-365 configurations.

    Returns ``(t_in_s, t_out_s)``; ``(inf, -inf)`` when there is none. A graze (t_in == t_out) is
    returned as is: count a conflict with ``_almost_less(t_in, t_out)``.
    """
    return _wcv_interval(
        sx_ft, sy_ft, sz_ft, vx_fps, vy_fps, vz_fps, dthr_ft, zthr_ft, tthr_s, tcoa_s, t_from_s, t_to_s
    )


# --- SUM (sensor uncertainty mitigation) -------------------------------------------------------


@njit(cache=True)
def _unit(x, y):
    n = math.hypot(x, y)
    if n == 0.0:
        return 0.0, 0.0
    return x / n, y / n


@njit(cache=True)
def _tangent_direction(sx, sy, radius, side):
    """Unit direction from point s to its tangent point on the circle of the given radius about 0.

    side = -1 / +1 picks one tangent or the other; zero vector when s is inside the circle.
    """
    ss = sx * sx + sy * sy
    rr = radius * radius
    if _almost_equal(ss, rr):
        return _unit(side * sy, -side * sx)
    excess = ss - rr
    if excess < 0.0:
        return 0.0, 0.0
    alpha = rr / ss
    beta = radius * math.sqrt(excess) / ss
    qx = alpha * sx + side * beta * sy
    qy = alpha * sy - side * beta * sx
    if qx == 0.0 and qy == 0.0:
        return 0.0, 0.0
    return _unit(qx - sx, qy - sy)


@njit(cache=True)
def _cross(ax, ay, bx, by):
    return ax * by - ay * bx


@njit(cache=True)
def _inside_cone(ax, ay, bx, by, wx, wy):
    """Is direction w between directions a and b (the cone they span)?"""
    orient = _cross(bx, by, ax, ay)
    return _cross(wx, wy, ax, ay) * orient >= 0.0 and _cross(wx, wy, bx, by) * orient <= 0.0


@njit(cache=True)
def _closest_directions(a1x, a1y, a2x, a2y, b1x, b1y, b2x, b2y):
    """The pair of directions, one in cone (a1, a2) and one in cone (b1, b2), that are most aligned.

    Where the cones overlap both are the bisector of the overlap; else the best pair of edges.
    Returns (ax, ay, bx, by).
    """
    if _inside_cone(a1x, a1y, a2x, a2y, b1x, b1y) and _inside_cone(a1x, a1y, a2x, a2y, b2x, b2y):
        mx, my = _unit(b1x + b2x, b1y + b2y)
        return mx, my, mx, my
    if _inside_cone(b1x, b1y, b2x, b2y, a1x, a1y) and _inside_cone(b1x, b1y, b2x, b2y, a2x, a2y):
        mx, my = _unit(a1x + a2x, a1y + a2y)
        return mx, my, mx, my
    a1_in_b = _inside_cone(b1x, b1y, b2x, b2y, a1x, a1y)
    a2_in_b = _inside_cone(b1x, b1y, b2x, b2y, a2x, a2y)
    b1_in_a = _inside_cone(a1x, a1y, a2x, a2y, b1x, b1y)
    b2_in_a = _inside_cone(a1x, a1y, a2x, a2y, b2x, b2y)
    for a_in, ax, ay in ((a1_in_b, a1x, a1y), (a2_in_b, a2x, a2y)):
        for b_in, bx, by in ((b1_in_a, b1x, b1y), (b2_in_a, b2x, b2y)):
            if a_in and b_in:
                mx, my = _unit(ax + bx, ay + by)
                return mx, my, mx, my
    d11 = a1x * b1x + a1y * b1y
    d12 = a1x * b2x + a1y * b2y
    d21 = a2x * b1x + a2y * b1y
    d22 = a2x * b2x + a2y * b2y
    if d11 >= d12 and d11 >= d21 and d11 >= d22:
        return a1x, a1y, b1x, b1y
    if d12 >= d11 and d12 >= d21 and d12 >= d22:
        return a1x, a1y, b2x, b2y
    if d21 >= d11 and d21 >= d12 and d21 >= d22:
        return a2x, a2y, b1x, b1y
    return a2x, a2y, b2x, b2y


@njit(cache=True)
def _worst_case_pair(sx, sy, vx, vy, s_err, v_err):
    """Worst-case relative position and velocity within the error discs (closest, fastest-closing).

    The position is taken at range - s_err and the velocity at speed + v_err, in the pair of
    directions (within the tangent cones of the two error discs) that points the velocity most
    directly at the ownship.
    """
    d1x, d1y = _tangent_direction(sx, sy, s_err, -1.0)
    d2x, d2y = _tangent_direction(sx, sy, s_err, 1.0)
    e1x, e1y = _tangent_direction(-vx, -vy, v_err, -1.0)
    e2x, e2y = _tangent_direction(-vx, -vy, v_err, 1.0)
    px, py, qx, qy = _closest_directions(d1x, d1y, d2x, d2y, e1x, e1y, e2x, e2y)
    s_norm = math.hypot(sx, sy) - s_err
    v_norm = math.hypot(vx, vy) + v_err
    return -px * s_norm, -py * s_norm, qx * v_norm, qy * v_norm


@njit(cache=True)
def _sum_horizontal_entry(sx, sy, vx, vy, s_err, v_err, dthr, tthr, horizon):
    ss = sx * sx + sy * sy
    if _horizontal_violation(sx, sy, vx, vy, dthr, tthr) or ss <= (dthr + s_err) ** 2:
        return 0.0
    if vx * vx + vy * vy <= v_err * v_err:
        # The velocity disc holds zero: worst case heads straight in at speed + v_err.
        ux, uy = _unit(sx, sy)
        r = math.hypot(sx, sy) - s_err
        w = -(math.hypot(vx, vy) + v_err)
        t_in, t_out = _horizontal_interval(ux * r, uy * r, ux * w, uy * w, dthr, tthr, horizon)
        if t_out < t_in:
            return horizon + 1.0
        return t_in
    wsx, wsy, wvx, wvy = _worst_case_pair(sx, sy, vx, vy, s_err, v_err)
    if wsx * wvx + wsy * wvy < 0.0:
        nominal_in = _horizontal_interval(sx, sy, vx, vy, dthr, tthr, horizon)[0]
        worst_in = _horizontal_interval(wsx, wsy, wvx, wvy, dthr, tthr, horizon)[0]
        return min(nominal_in, worst_in)
    return horizon + 1.0


@njit(cache=True)
def _sum_horizontal_exit(sx, sy, vx, vy, s_err, v_err, dthr, tthr, horizon):
    vv = vx * vx + vy * vy
    if vv <= v_err * v_err:
        if sx * sx + sy * sy <= (dthr + s_err) ** 2:
            return horizon
        ux, uy = _unit(sx, sy)
        r = math.hypot(sx, sy) - s_err
        w = -(math.hypot(vx, vy) + v_err)
        t_in, t_out = _horizontal_interval(ux * r, uy * r, ux * w, uy * w, dthr, tthr, horizon)
        if t_out < t_in:
            return -1.0
        return horizon
    # Last time the range, shrunk by the position error and growing at most at |v| - v_err, is within DTHR.
    grown = dthr + s_err
    t = _quadratic_root(
        vv - v_err * v_err, 2.0 * (sx * vx + sy * vy - v_err * grown), sx * sx + sy * sy - grown * grown, 1.0
    )
    if math.isfinite(t):
        return t
    return -1.0


@njit(cache=True)
def _sum_horizontal_interval(sx, sy, vx, vy, s_err, v_err, dthr, tthr, horizon):
    """Horizontal SUM interval within [0, horizon]; empty as (inf, -inf)."""
    t_in = _sum_horizontal_entry(sx, sy, vx, vy, s_err, v_err, dthr, tthr, horizon)
    t_out = _sum_horizontal_exit(sx, sy, vx, vy, s_err, v_err, dthr, tthr, horizon)
    if t_in > horizon or t_out < 0.0 or t_in > t_out:
        return math.inf, -math.inf
    return max(0.0, t_in), min(horizon, t_out)


@njit(cache=True)
def _sum_vertical_positive(horizon, min_sz, max_sz, min_vz, max_vz, zthr, tcoa):
    """Vertical SUM interval for dz in [min_sz, max_sz] >= 0 and vz in [min_vz, max_vz]; empty (inf, -inf)."""
    only_up = min_vz >= 0.0
    only_down = (not only_up) and max_vz <= 0.0
    up_in, up_out = math.inf, -math.inf
    if not only_down:
        up_in, up_out = _vertical_interval(min_sz, max(min_vz, 0.0), zthr, tcoa, 0.0, horizon)
    down_in, down_out = math.inf, -math.inf
    if not only_up:
        e_in, e_out = _vertical_interval(min_sz, min_vz, zthr, tcoa, 0.0, horizon)
        x_in, x_out = _vertical_interval(max_sz, min(max_vz, 0.0), zthr, tcoa, 0.0, horizon)
        if e_in > e_out:
            down_in, down_out = math.inf, -math.inf
        elif x_in > x_out:
            down_in, down_out = e_in, horizon
        else:
            down_in, down_out = e_in, x_out
    if only_up or down_in > down_out:
        return up_in, up_out
    if only_down or up_in > up_out:
        return down_in, down_out
    return min(up_in, down_in), max(up_out, down_out)


@njit(cache=True)
def _sum_vertical_interval(sz, vz, sz_err, vz_err, zthr, tcoa, t_from, t_to):
    """Vertical SUM interval over dz in sz +- sz_err and vz in vz +- vz_err; empty (inf, -inf)."""
    min_sz, max_sz = sz - sz_err, sz + sz_err
    min_vz, max_vz = vz - vz_err, vz + vz_err
    only_pos = min_sz >= 0.0
    only_neg = (not only_pos) and max_sz <= 0.0
    pos_in, pos_out = math.inf, -math.inf
    if not only_neg:
        pos_in, pos_out = _sum_vertical_positive(t_to, max(min_sz, 0.0), max_sz, min_vz, max_vz, zthr, tcoa)
    neg_in, neg_out = math.inf, -math.inf
    if not only_pos:
        neg_in, neg_out = _sum_vertical_positive(t_to, -min(max_sz, 0.0), -min_sz, -max_vz, -min_vz, zthr, tcoa)
    if only_pos or neg_in > neg_out:
        t_in, t_out = pos_in, pos_out
    elif only_neg or pos_in > pos_out:
        t_in, t_out = neg_in, neg_out
    else:
        t_in, t_out = min(pos_in, neg_in), max(pos_out, neg_out)
    if t_in > t_out or t_out < t_from:
        return math.inf, -math.inf
    return max(t_from, t_in), min(t_to, t_out)


@njit(cache=True)
def wcv_taumod_sum_interval(
    sx_ft,
    sy_ft,
    sz_ft,
    vx_fps,
    vy_fps,
    vz_fps,
    dthr_ft,
    zthr_ft,
    tthr_s,
    tcoa_s,
    t_from_s,
    t_to_s,
    s_err_ft,
    sz_err_ft,
    v_err_fps,
    vz_err_fps,
):
    """WCV_TAUMOD_SUM interval: as `wcv_taumod_interval` over all states within the error bounds.

    ``s_err_ft``, ``sz_err_ft``, ``v_err_fps``, ``vz_err_fps`` are the relative errors already
    multiplied by their z-scores (see `relative_sum_errors`). All four zero gives exactly
    `wcv_taumod_interval`; otherwise each is floored at 0.001 m (m/s), as DAIDALUS does.
    Empty: ``(inf, -inf)``.
    """
    if s_err_ft == 0.0 and sz_err_ft == 0.0 and v_err_fps == 0.0 and vz_err_fps == 0.0:
        return _wcv_interval(
            sx_ft, sy_ft, sz_ft, vx_fps, vy_fps, vz_fps, dthr_ft, zthr_ft, tthr_s, tcoa_s, t_from_s, t_to_s
        )
    s_err = max(s_err_ft, SUM_MIN_ERROR_FT)
    sz_err = max(sz_err_ft, SUM_MIN_ERROR_FT)
    v_err = max(v_err_fps, SUM_MIN_ERROR_FT)
    vz_err = max(vz_err_fps, SUM_MIN_ERROR_FT)
    v_in, v_out = _sum_vertical_interval(sz_ft, vz_fps, sz_err, vz_err, zthr_ft, tcoa_s, t_from_s, t_to_s)
    if v_in > v_out:
        return math.inf, -math.inf
    h_in, h_out = _sum_horizontal_interval(sx_ft, sy_ft, vx_fps, vy_fps, s_err, v_err, dthr_ft, tthr_s, t_to_s)
    if h_in > h_out or h_out < t_from_s:
        return math.inf, -math.inf
    return max(v_in, h_in), min(v_out, h_out)


@njit(cache=True)
def _horizontal_error(x_std, y_std, xy_std):
    """Largest standard deviation of a 2-D error: sqrt of the larger eigenvalue of its covariance.

    The covariance is [[x^2, c], [c, y^2]] with c = sign(xy) xy^2 (the .daa cross term is a signed
    square root of the covariance).
    """
    var_x = x_std * x_std
    var_y = y_std * y_std
    cov = math.copysign(xy_std * xy_std, xy_std) if xy_std != 0.0 else 0.0
    mean = 0.5 * (var_x + var_y)
    det = var_x * var_y - cov * cov
    return math.sqrt(max(0.0, mean + math.sqrt(max(0.0, mean * mean - det))))


@njit(cache=True)
def relative_sum_errors(own_std, intruder_std, range_ft, z_scores):
    """Relative SUM errors (s_err_ft, sz_err_ft, v_err_fps, vz_err_fps) of one pair of aircraft.

    ``own_std``/``intruder_std``: the 8 .daa std terms in ft and ft/s (s_EW, s_NS, s_EN, sz, v_EW,
    v_NS, v_EN, vz). ``z_scores``: (h_pos, h_vel_min, h_vel_max, h_vel_distance_ft, v_pos, v_vel).
    The errors of the two aircraft add; the horizontal velocity z-score grows linearly from its
    minimum at h_vel_distance to its maximum at zero range (range reduced by s_err).
    """
    s_err = z_scores[0] * (
        _horizontal_error(own_std[0], own_std[1], own_std[2])
        + _horizontal_error(intruder_std[0], intruder_std[1], intruder_std[2])
    )
    sz_err = z_scores[4] * (own_std[3] + intruder_std[3])
    reduced = max(range_ft - s_err, 0.0)
    if reduced >= z_scores[3]:
        z_vel = z_scores[1]
    else:
        frac = reduced / z_scores[3]
        z_vel = (1.0 - frac) * z_scores[2] + frac * z_scores[1]
    v_err = z_vel * (
        _horizontal_error(own_std[4], own_std[5], own_std[6])
        + _horizontal_error(intruder_std[4], intruder_std[5], intruder_std[6])
    )
    vz_err = z_scores[5] * (own_std[7] + intruder_std[7])
    return s_err, sz_err, v_err, vz_err
