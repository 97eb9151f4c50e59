"""A TCAS-II-style vertical resolution logic (simplified; no claim of DO-185B compliance).

Per decision (daa-reference 1.3, 3.2):

1. Sensitivity level from the ownship altitude (one altitude for all bands, as DAIDALUS does):
   SL 2 below 1,000 ft gives traffic advisories only.
2. Threat tests with the SL's thresholds: range test (r < DMOD, or closing with
   tau_mod = (r^2 - DMOD^2) / (r |rdot|) < tau) and altitude test (|dz| < ZTHR, or converging with
   time to co-altitude < tau); the RA also needs the HMD filter (projected horizontal miss
   distance < HMD threshold). TA thresholds give level 1, RA thresholds level 2.
3. Sense selection at the first RA: project the ownship climbing or descending at 1500 ft/min
   (after the pilot's 5 s delay and 0.25 g) and the intruder straight to the closest approach;
   prefer the sense that does not cross the intruder's altitude if it reaches ALIM, else the
   sense with the larger separation.
4. The RA (target vertical rate +-1500 ft/min) is kept, with its sense, while the RA threat
   test holds; then clear of conflict. Strengthening and reversals are left out (kept simple).

Memory: [current sense (0 none, +1 climb, -1 descend), number of RAs issued (the change counter)].
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..units import FT_PER_NM, G_FPS2
from .interface import (
    CHANGE_COUNTER,
    EAST,
    HORIZONTAL_MODE,
    LEVEL,
    NORTH,
    TARGET_VERTICAL_RATE,
    UP,
    V_EAST,
    V_NORTH,
    V_UP,
    VERTICAL_MODE,
)

#: lower altitude bound (ft) of sensitivity levels 2..7 (the last row is 7 above 42,000 ft)
SL_ALT_FT = np.array([0.0, 1000.0, 2350.0, 5000.0, 10000.0, 20000.0, 42000.0])
TA_TAU_S = np.array([20.0, 25.0, 30.0, 40.0, 45.0, 48.0, 48.0])
TA_DMOD_FT = np.array([0.30, 0.33, 0.48, 0.75, 1.00, 1.30, 1.30]) * FT_PER_NM
TA_ZTHR_FT = np.array([850.0, 850.0, 850.0, 850.0, 850.0, 850.0, 1200.0])
RA_TAU_S = np.array([0.0, 15.0, 20.0, 25.0, 30.0, 35.0, 35.0])  # 0: TA only (SL 2)
RA_DMOD_FT = np.array([0.0, 0.20, 0.35, 0.55, 0.80, 1.10, 1.10]) * FT_PER_NM
RA_ZTHR_FT = np.array([0.0, 600.0, 600.0, 600.0, 600.0, 700.0, 800.0])
RA_HMD_FT = np.array([0.0, 1215.0, 2126.0, 3342.0, 4861.0, 6683.0, 6683.0])
ALIM_FT = np.array([0.0, 300.0, 300.0, 350.0, 400.0, 600.0, 700.0])

#: the RA's target vertical rate, ft/s (1500 ft/min)
RA_RATE_FPS = 25.0
#: the pilot response assumed by the sense selection (the standard initial response)
SENSE_DELAY_S = 5.0
SENSE_ACCEL_FPS2 = 0.25 * G_FPS2


def tcas_params() -> np.ndarray:
    """The logic's parameter array (the tables above, row by row)."""
    return np.concatenate([SL_ALT_FT, TA_TAU_S, TA_DMOD_FT, TA_ZTHR_FT, RA_TAU_S, RA_DMOD_FT, RA_ZTHR_FT, RA_HMD_FT, ALIM_FT])


@njit(cache=True)
def _threat(r, rdot, dz, vz, hmd, tau, dmod, zthr, hmd_filter):
    if tau <= 0.0:
        return False
    range_ok = r < dmod
    if not range_ok and rdot < 0.0:
        range_ok = (r * r - dmod * dmod) / (r * -rdot) < tau
    altitude_ok = abs(dz) < zthr or (dz * vz < 0.0 and -dz / vz < tau)
    return range_ok and altitude_ok and (hmd_filter <= 0.0 or hmd < hmd_filter)


@njit(cache=True)
def _own_displacement(t, v0, target):
    """Ownship altitude change after t s: v0 during the delay, then ramp to target at the assumed acceleration."""
    if t <= SENSE_DELAY_S:
        return v0 * t
    change = v0 * SENSE_DELAY_S
    t_ramp = min(abs(target - v0) / SENSE_ACCEL_FPS2, t - SENSE_DELAY_S)
    direction = 1.0 if target > v0 else -1.0
    change += v0 * t_ramp + 0.5 * direction * SENSE_ACCEL_FPS2 * t_ramp * t_ramp
    change += target * (t - SENSE_DELAY_S - t_ramp)
    return change


@njit(cache=True)
def tcas(t_s, own, intruder, memory, params, advisory):
    """TCAS-II-style vertical RA logic (see the module docstring)."""
    n = 7
    sl = 0
    for k in range(n):
        if own[UP] >= params[k]:
            sl = k
    sx = intruder[EAST] - own[EAST]
    sy = intruder[NORTH] - own[NORTH]
    vx = intruder[V_EAST] - own[V_EAST]
    vy = intruder[V_NORTH] - own[V_NORTH]
    dz = intruder[UP] - own[UP]
    vz = intruder[V_UP] - own[V_UP]
    r = math.sqrt(sx * sx + sy * sy)
    rdot = (sx * vx + sy * vy) / r if r > 0 else 0.0
    vv = vx * vx + vy * vy
    tcpa = max(0.0, -(sx * vx + sy * vy) / vv) if vv > 0 else 0.0
    hmd = math.sqrt((sx + vx * tcpa) ** 2 + (sy + vy * tcpa) ** 2)
    for k in range(advisory.shape[0]):
        advisory[k] = 0.0
    ta = _threat(r, rdot, dz, vz, hmd, params[n + sl], params[2 * n + sl], params[3 * n + sl], 0.0)
    ra = _threat(r, rdot, dz, vz, hmd, params[4 * n + sl], params[5 * n + sl], params[6 * n + sl], params[7 * n + sl])
    if not ra:
        memory[0] = 0.0
        advisory[LEVEL] = 1.0 if ta else 0.0
        return
    if memory[0] == 0.0:  # a new RA: choose the sense
        t_cpa = tcpa if tcpa > 0 else params[4 * n + sl]
        alim = params[8 * n + sl]
        z_int = dz + intruder[V_UP] * t_cpa  # intruder relative to the ownship's current altitude
        climb = z_int - _own_displacement(t_cpa, own[V_UP], RA_RATE_FPS)
        descend = z_int - _own_displacement(t_cpa, own[V_UP], -RA_RATE_FPS)
        # the non-crossing sense keeps the intruder on its current side (above -> descend)
        non_crossing = -1.0 if dz > 0 else 1.0
        separation_nc = abs(descend) if non_crossing < 0 else abs(climb)
        crosses_nc = (descend < 0) if non_crossing < 0 else (climb > 0)
        if separation_nc >= alim and not crosses_nc:
            memory[0] = non_crossing
        else:
            memory[0] = 1.0 if abs(climb) > abs(descend) else -1.0
        memory[1] += 1.0
    advisory[LEVEL] = 2.0
    advisory[VERTICAL_MODE] = 1.0
    advisory[TARGET_VERTICAL_RATE] = memory[0] * RA_RATE_FPS
    advisory[HORIZONTAL_MODE] = 0.0
    advisory[CHANGE_COUNTER] = memory[1]
