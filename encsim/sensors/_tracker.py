"""Numba kernels of the constant-velocity Kalman filter tracker (private).

State ``[north_ft, east_ft, up_ft, v_north_fps, v_east_fps, v_up_fps]``; process noise is white
acceleration of power spectral density ``q`` (ft^2/s^3) per axis, horizontal and vertical apart
(Bar-Shalom, Li and Kirubarajan, *Estimation with Applications to Tracking and Navigation*, 2001,
section 6.2.2: the continuous white-noise acceleration model, exactly discretised). Measurements
are any subset of the six state components with a full covariance, so an ADS-B report (position
and velocity), a radar or active-surveillance position converted from polar coordinates (with
its north-east cross term) and an altitude alone all fit. The covariance update is the optimal-gain
form P - K H P, symmetrised (cheaper than the Joseph form; the consistency tests show no loss).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

TRACK_SIZE = 6
SUM_SIZE = 8  # s_EW, s_NS, s_EN, sz, v_EW, v_NS, v_EN, vz (DAIDALUS SUM order)


@njit(cache=True)
def kf_predict(x, P, dt, q_horizontal, q_vertical):
    """Propagate state and covariance by ``dt`` seconds (in place)."""
    for axis in range(3):
        x[axis] += dt * x[axis + 3]
    # P <- F P F^T with F = [[I, dt I], [0, I]]: rows then columns
    for j in range(TRACK_SIZE):
        for axis in range(3):
            P[axis, j] += dt * P[axis + 3, j]
    for i in range(TRACK_SIZE):
        for axis in range(3):
            P[i, axis] += dt * P[i, axis + 3]
    for axis in range(3):
        q = q_vertical if axis == 2 else q_horizontal
        P[axis, axis] += q * dt * dt * dt / 3.0
        P[axis, axis + 3] += q * dt * dt / 2.0
        P[axis + 3, axis] += q * dt * dt / 2.0
        P[axis + 3, axis + 3] += q * dt


@njit(cache=True)
def _invert_in_place(A, m, work):
    """Invert the leading m x m block of A (Gauss-Jordan, partial pivoting); False if singular.

    ``work`` is a 6 x 6 scratch array.
    """
    for i in range(m):
        for j in range(m):
            work[i, j] = 1.0 if i == j else 0.0
    for col in range(m):
        pivot = col
        for row in range(col + 1, m):
            if abs(A[row, col]) > abs(A[pivot, col]):
                pivot = row
        if A[pivot, col] == 0.0:
            return False
        if pivot != col:
            for k in range(m):
                A[col, k], A[pivot, k] = A[pivot, k], A[col, k]
                work[col, k], work[pivot, k] = work[pivot, k], work[col, k]
        scale = 1.0 / A[col, col]
        for k in range(m):
            A[col, k] *= scale
            work[col, k] *= scale
        for row in range(m):
            if row != col and A[row, col] != 0.0:
                factor = A[row, col]
                for k in range(m):
                    A[row, k] -= factor * A[col, k]
                    work[row, k] -= factor * work[col, k]
    for i in range(m):
        for j in range(m):
            A[i, j] = work[i, j]
    return True


@njit(cache=True)
def kf_update(x, P, z, measured, R):
    """Update with the components of ``z`` flagged in ``measured`` (in place); False if skipped.

    ``R`` is the 6 x 6 measurement covariance of which the measured rows and columns are used.
    Measuring components of the state itself (H selects rows), the gain is ``P[:, m] S^-1`` and
    the covariance ``P - K P[m, :]``, symmetrised against rounding.
    """
    index = np.empty(TRACK_SIZE, dtype=np.int64)
    m = 0
    for i in range(TRACK_SIZE):
        if measured[i]:
            index[m] = i
            m += 1
    if m == 0:
        return False
    S = np.empty((TRACK_SIZE, TRACK_SIZE))
    work = np.empty((TRACK_SIZE, TRACK_SIZE))
    for a in range(m):
        for b in range(m):
            S[a, b] = P[index[a], index[b]] + R[index[a], index[b]]
    if not _invert_in_place(S, m, work):
        return False
    # gain K = P H^T S^-1 (6 x m), kept in work; the rows H P saved before P changes
    HP = np.empty((TRACK_SIZE, TRACK_SIZE))
    for a in range(m):
        for j in range(TRACK_SIZE):
            HP[a, j] = P[index[a], j]
    for i in range(TRACK_SIZE):
        for b in range(m):
            total = 0.0
            for a in range(m):
                total += P[i, index[a]] * S[a, b]
            work[i, b] = total
    innovation = np.empty(TRACK_SIZE)
    for a in range(m):
        innovation[a] = z[index[a]] - x[index[a]]
    for i in range(TRACK_SIZE):
        for a in range(m):
            x[i] += work[i, a] * innovation[a]
    for i in range(TRACK_SIZE):
        for j in range(TRACK_SIZE):
            total = 0.0
            for a in range(m):
                total += work[i, a] * HP[a, j]
            P[i, j] -= total
    for i in range(TRACK_SIZE):
        for j in range(i + 1, TRACK_SIZE):
            mean = 0.5 * (P[i, j] + P[j, i])
            P[i, j] = mean
            P[j, i] = mean
    return True


@njit(cache=True)
def kf_initialise(x, P, z, measured, R, initial_position_sd_ft, initial_velocity_sd_fps):
    """Start a track: measured components from ``z`` and ``R``, the others at 0 with a wide variance."""
    for i in range(TRACK_SIZE):
        x[i] = z[i] if measured[i] else 0.0
        for j in range(TRACK_SIZE):
            P[i, j] = R[i, j] if measured[i] and measured[j] else 0.0
        if not measured[i]:
            sd = initial_position_sd_ft if i < 3 else initial_velocity_sd_fps
            P[i, i] = sd * sd


@njit(cache=True)
def sum_uncertainty(P, out):
    """DAIDALUS SUM values of a track covariance (ft, ft/s).

    s_EW_std, s_NS_std, s_EN_std, sz_std, v_EW_std, v_NS_std, v_EN_std, vz_std; DAIDALUS reads
    the cross term as ``sign(s_EN_std) * s_EN_std**2`` = the east-north covariance, so it is
    the signed square root of that covariance.
    """
    out[0] = math.sqrt(max(P[1, 1], 0.0))
    out[1] = math.sqrt(max(P[0, 0], 0.0))
    out[2] = math.copysign(math.sqrt(abs(P[0, 1])), P[0, 1])
    out[3] = math.sqrt(max(P[2, 2], 0.0))
    out[4] = math.sqrt(max(P[4, 4], 0.0))
    out[5] = math.sqrt(max(P[3, 3], 0.0))
    out[6] = math.copysign(math.sqrt(abs(P[3, 4])), P[3, 4])
    out[7] = math.sqrt(max(P[5, 5], 0.0))


@njit(cache=True)
def polar_position_covariance(distance, bearing_abs, elevation, var_range, var_bearing, var_elevation, R):
    """Covariance (north, east, up) of a position converted from range, bearing and elevation.

    First-order propagation ``J diag(var) J^T`` through north = r cos(el) cos(b), east = r cos(el)
    sin(b), up = r sin(el); written into ``R[:3, :3]``.
    """
    ce = math.cos(elevation)
    se = math.sin(elevation)
    cb = math.cos(bearing_abs)
    sb = math.sin(bearing_abs)
    J = np.array(
        [
            [ce * cb, -distance * ce * sb, -distance * se * cb],
            [ce * sb, distance * ce * cb, -distance * se * sb],
            [se, 0.0, distance * ce],
        ]
    )
    variances = np.array([var_range, var_bearing, var_elevation])
    for i in range(3):
        for j in range(3):
            total = 0.0
            for k in range(3):
                total += J[i, k] * variances[k] * J[j, k]
            R[i, j] = total


@njit(cache=True)
def track_batch(
    times_s, z, measured, R, q_horizontal, q_vertical, initial_position_sd_ft, initial_velocity_sd_fps, x_out, P_out
):
    """Filter one track: NaN until the first measurement, then the estimate after each time's update."""
    x = np.zeros(TRACK_SIZE)
    P = np.zeros((TRACK_SIZE, TRACK_SIZE))
    started = False
    last_t = 0.0
    for k in range(times_s.shape[0]):
        if not started:
            if np.any(measured[k]):
                kf_initialise(x, P, z[k], measured[k], R[k], initial_position_sd_ft, initial_velocity_sd_fps)
                started = True
                last_t = times_s[k]
            else:
                x_out[k, :] = np.nan
                P_out[k, :, :] = np.nan
                continue
        else:
            kf_predict(x, P, times_s[k] - last_t, q_horizontal, q_vertical)
            last_t = times_s[k]
            kf_update(x, P, z[k], measured[k], R[k])
        x_out[k, :] = x
        P_out[k, :, :] = P
