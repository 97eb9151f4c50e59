"""Numba kernel of the time-series encounter metrics (twin: plain loops in tests/test_detection.py)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def separation_kernel(
    t_s,
    own_n,
    own_e,
    own_u,
    own_v,
    own_psi,
    own_theta,
    int_n,
    int_e,
    int_u,
    int_v,
    int_psi,
    int_theta,
    radius,
    half_height,
    dthr,
    zthr,
    tthr,
    hmd_filter,
    out_hmd,
    out_vmd_signed,
    out_tca,
    out_nmac,
    out_lowc,
    out_entry,
    out_exit,
    out_duration,
):
    """HMD (min range), signed VMD and time at it, NMAC, LoWC with first entry/exit and duration."""
    n, m = own_n.shape
    dt = t_s[1] - t_s[0] if m > 1 else 0.0
    for a in prange(n):
        best, vmd, tca = np.inf, 0.0, 0.0
        nmac = False
        entry, exit_, count = -1, -1, 0
        for k in range(m):
            dx = int_e[a, k] - own_e[a, k]
            dy = int_n[a, k] - own_n[a, k]
            dz = int_u[a, k] - own_u[a, k]
            r = math.sqrt(dx * dx + dy * dy)
            if r < best:
                best, vmd, tca = r, dz, t_s[k]
            if r < radius and abs(dz) < half_height:
                nmac = True
            lowc = False
            if abs(dz) <= zthr:
                if r * r <= dthr * dthr:
                    lowc = True
                else:
                    h_own = own_v[a, k] * math.cos(own_theta[a, k])
                    h_int = int_v[a, k] * math.cos(int_theta[a, k])
                    dvx = h_int * math.sin(int_psi[a, k]) - h_own * math.sin(own_psi[a, k])
                    dvy = h_int * math.cos(int_psi[a, k]) - h_own * math.cos(own_psi[a, k])
                    sv = dx * dvx + dy * dvy
                    if sv < 0.0:
                        tau = (dthr * dthr - r * r) / sv
                        vv = dvx * dvx + dvy * dvy
                        dcpa2 = r * r - sv * sv / vv
                        lowc = 0.0 <= tau <= tthr and dcpa2 <= hmd_filter * hmd_filter
            if lowc:
                count += 1
                if entry < 0:
                    entry = k
            elif entry >= 0 and exit_ < 0:
                exit_ = k
        out_hmd[a] = best
        out_vmd_signed[a] = vmd
        out_tca[a] = tca
        out_nmac[a] = nmac
        out_lowc[a] = entry >= 0
        out_entry[a] = t_s[entry] if entry >= 0 else np.nan
        out_exit[a] = (t_s[exit_] if exit_ >= 0 else t_s[m - 1]) if entry >= 0 else np.nan
        out_duration[a] = count * dt
