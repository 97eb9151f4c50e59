"""Numba kernel of the time-series encounter metrics (twin: plain loops in tests/test_detection.py)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ._predicates import horizontal_well_clear_lost, inside_cylinder, vertical_well_clear_lost

# the volume's numbers (`WellClearVolume.as_array`)
_DTHR, _ZTHR, _TTHR, _HMD, _TCOA = range(5)


class Samples(NamedTuple):
    """One aircraft's sampled trajectories, (n encounters, n samples) arrays each."""

    north_ft: np.ndarray
    east_ft: np.ndarray
    up_ft: np.ndarray
    speed_fps: np.ndarray
    heading_rad: np.ndarray
    pitch_rad: np.ndarray


class SeparationOutputs(NamedTuple):
    """Per-encounter results the kernel fills, (n,) arrays (``nmac`` and ``lowc`` booleans)."""

    hmd_ft: np.ndarray
    vmd_signed_ft: np.ndarray
    tca_s: np.ndarray
    nmac: np.ndarray
    lowc: np.ndarray
    t_lowc_entry_s: np.ndarray
    t_lowc_exit_s: np.ndarray
    lowc_duration_s: np.ndarray


@njit(parallel=True, cache=True, nogil=True)
def separation_kernel(t_s, own, intruder, cylinder, volume, out):
    """HMD (min range), signed VMD and time at it, NMAC, LoWC with first entry/exit and duration.

    ``own``, ``intruder``: `Samples`; ``cylinder``: radius and half-height (ft); ``volume``: DTHR,
    ZTHR, TTHR, HMD*, TCOA (`WellClearVolume.as_array`); ``out``: `SeparationOutputs`.
    """
    # one plain assignment per array: Numba 0.68 mis-compiles the prange loop below when they are unpacked
    # together (``a, b = t.x, t.y``) or written as ``out.field[a]`` inside it (tests/test_detection.py catches it)
    own_n = own.north_ft
    own_e = own.east_ft
    own_u = own.up_ft
    own_v = own.speed_fps
    own_psi = own.heading_rad
    own_theta = own.pitch_rad
    int_n = intruder.north_ft
    int_e = intruder.east_ft
    int_u = intruder.up_ft
    int_v = intruder.speed_fps
    int_psi = intruder.heading_rad
    int_theta = intruder.pitch_rad
    out_hmd = out.hmd_ft
    out_vmd_signed = out.vmd_signed_ft
    out_tca = out.tca_s
    out_nmac = out.nmac
    out_lowc = out.lowc
    out_entry = out.t_lowc_entry_s
    out_exit = out.t_lowc_exit_s
    out_duration = out.lowc_duration_s
    n, m = own_n.shape
    dt = t_s[1] - t_s[0] if m > 1 else 0.0
    tcoa = volume[_TCOA]
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
            if inside_cylinder(r, dz, cylinder[0], cylinder[1]):
                nmac = True
            # the vertical rates only matter with a TCOA test, the horizontal velocities only when
            # the vertical test holds: the trigonometry is skipped otherwise
            dvz = 0.0
            if tcoa > 0.0:
                dvz = int_v[a, k] * math.sin(int_theta[a, k]) - own_v[a, k] * math.sin(own_theta[a, k])
            lowc = False
            if vertical_well_clear_lost(dz, dvz, volume[_ZTHR], tcoa):
                h_own = own_v[a, k] * math.cos(own_theta[a, k])
                h_int = int_v[a, k] * math.cos(int_theta[a, k])
                dvx = h_int * math.sin(int_psi[a, k]) - h_own * math.sin(own_psi[a, k])
                dvy = h_int * math.cos(int_psi[a, k]) - h_own * math.cos(own_psi[a, k])
                lowc = horizontal_well_clear_lost(dx, dy, dvx, dvy, volume[_DTHR], volume[_TTHR], volume[_HMD])
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
