"""A TCAS-II-style vertical resolution logic (simplified; no claim of DO-185B compliance).

Per decision (daa-reference 1.3, 3.2):

1. Sensitivity level from the ownship altitude (one altitude for all bands, as DAIDALUS does):
   SL 2 below 1,000 ft gives traffic advisories only.
2. Threat tests with the SL's thresholds: range test (r < DMOD, or closing with
   tau_mod = (r^2 - DMOD^2) / (r |rdot|) < tau) and altitude test (|dz| < ZTHR, or converging with
   time to co-altitude < tau); the RA also needs the HMD filter (projected horizontal miss
   distance < HMD threshold). TA thresholds give level 1, RA thresholds level 2.
3. Sense selection at a new RA (always at 1500 ft/min): project the ownship climbing or descending
   at the RA rate with the pilot response it will get (the initial one, 5 s and 0.25 g, until the
   pilot has flown an RA in this run; the subsequent one, 2.5 s and 0.35 g, afterwards) and the
   intruder straight to the closest approach (CPA; the RA tau when not converging); prefer the
   sense that does not cross the intruder's altitude if it reaches ALIM, else the sense with the
   larger separation.
4. The RA is kept, with its sense, while the RA threat test holds; then clear of conflict.
   While it is active, once the pilot flies it (from the first decision after its response delay;
   a change issued earlier would restart the pilot's delay) and while the aircraft still converge
   horizontally (time to CPA > 0), each decision projects to CPA the ownship following the current
   RA (from its current vertical rate to the RA's rate at the acceleration of the RA's response)
   and the intruder straight: sep(sense) = sense x (own - intruder altitude) at CPA (>= ALIM is
   a success; negative means the aircraft cross).

   - Reversal (at most once per run): if sep(current) < ALIM, the intruder's vertical rate in the
     RA's sense is at least `reversal_intruder_rate_fpm` (500 ft/min: it follows the ownship),
     and the opposite sense at the strengthened rate (2500 ft/min, with the subsequent response)
     projects sep >= ALIM, then the sense is reversed, at 2500 ft/min.
   - Strengthening: otherwise, if sep(current) < ALIM and the RA is at 1500 ft/min, it is raised
     to 2500 ft/min in the same sense. There is no weakening: the RA keeps its strength until
     clear of conflict.

   A reversal or a strengthening is a change: the change counter (advisory[6]) is incremented, so
   the pilot responds after the subsequent delay (2.5 s) with the subsequent acceleration (0.35 g).

No coordination between equipped aircraft, no "level off"/"do not climb" RAs, no altitude inhibits.

The pilot response the logic assumes is a parameter (`tcas_params(pilot=...)`, the standard
pilot by default); it should match the `PilotModel` the closed loop flies.

Parameters (`tcas_params`): nine tables of 7 sensitivity-level rows (`SL_ALT_FT`, `TA_TAU_S`,
`TA_DMOD_FT`, `TA_ZTHR_FT`, `RA_TAU_S`, `RA_DMOD_FT`, `RA_ZTHR_FT`, `RA_HMD_FT`, `ALIM_FT`), then
the scalars named in `SCALAR_PARAMS`.

Memory: [current sense (0 none, +1 climb, -1 descend), change counter, current RA rate (ft/s, 0
none), reversed (0/1, kept for the run), time of the RA's last change (s), delay (s) and
acceleration (ft/s^2) of the pilot response to it, pilot has responded to an RA (0/1, kept)].
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..metrics._predicates import time_to_co_altitude_s
from ..units import FPM_PER_FPS, FT_PER_NM, G_FPS2
from .interface import (
    CHANGE_COUNTER,
    EAST,
    HORIZONTAL_MODE,
    LEGACY_ADVISORY_SIZE,
    LEVEL,
    NORTH,
    TARGET_VERTICAL_RATE,
    UP,
    V_EAST,
    V_NORTH,
    V_UP,
    VERTICAL_MODE,
    PilotModel,
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

_N_SL = 7
#: the scalars after the nine tables, in this order
SCALAR_PARAMS = (
    "ra_rate_fps",
    "strengthened_rate_fps",
    "initial_delay_s",
    "initial_accel_fps2",
    "subsequent_delay_s",
    "subsequent_accel_fps2",
    "strengthening",
    "reversal",
    "reversal_intruder_rate_fps",
)
_P = 9 * _N_SL
_RATE, _STRONG, _DELAY0, _ACCEL0, _DELAY1, _ACCEL1, _STRENGTHEN, _REVERSE, _REV_INT_RATE = range(
    _P, _P + len(SCALAR_PARAMS)
)
#: length of the parameter array (`tcas_params`)
N_PARAMS = _P + len(SCALAR_PARAMS)
# memory slots
_SENSE, _COUNTER, _RA_RATE, _REVERSED, _T_CHANGE, _M_DELAY, _M_ACCEL, _RESPONDED = range(8)


def tcas_params(
    pilot: PilotModel | None = None,
    *,
    ra_rate_fpm: float = 1500.0,
    strengthened_rate_fpm: float = 2500.0,
    strengthening: bool = True,
    reversal: bool = True,
    reversal_intruder_rate_fpm: float = 500.0,
) -> np.ndarray:
    """The logic's parameter array: the tables above row by row, then `SCALAR_PARAMS`.

    ``pilot`` is the response the logic assumes when it projects the ownship (default: the
    standard pilot, 5 s / 0.25 g initial, 2.5 s / 0.35 g subsequent); pass the `PilotModel` the
    closed loop flies. ``strengthening``/``reversal`` switch those rules off (for comparisons).
    """
    pilot_array = (pilot or PilotModel()).as_array()
    if not 0 < ra_rate_fpm <= strengthened_rate_fpm:
        raise ValueError(
            f"tcas_params: need 0 < ra_rate_fpm <= strengthened_rate_fpm, got {ra_rate_fpm} and {strengthened_rate_fpm}"
        )
    if reversal_intruder_rate_fpm < 0:
        raise ValueError(f"tcas_params: reversal_intruder_rate_fpm must be >= 0, got {reversal_intruder_rate_fpm}")
    scalars = np.array(
        [
            ra_rate_fpm / FPM_PER_FPS,
            strengthened_rate_fpm / FPM_PER_FPS,
            pilot_array[0],
            pilot_array[2] * G_FPS2,
            pilot_array[1],
            pilot_array[3] * G_FPS2,
            float(strengthening),
            float(reversal),
            reversal_intruder_rate_fpm / FPM_PER_FPS,
        ]
    )
    return np.concatenate(
        [SL_ALT_FT, TA_TAU_S, TA_DMOD_FT, TA_ZTHR_FT, RA_TAU_S, RA_DMOD_FT, RA_ZTHR_FT, RA_HMD_FT, ALIM_FT, scalars]
    )


@njit(cache=True)
def _threat(r, rdot, dz, vz, hmd, tau, dmod, zthr, hmd_filter):
    if tau <= 0.0:
        return False
    range_ok = r < dmod
    if not range_ok and rdot < 0.0:
        range_ok = (r * r - dmod * dmod) / (r * -rdot) < tau
    altitude_ok = abs(dz) < zthr or time_to_co_altitude_s(dz, vz) < tau  # NaN when not converging
    return range_ok and altitude_ok and (hmd_filter <= 0.0 or hmd < hmd_filter)


@njit(cache=True)
def _own_displacement(t, v0, target, delay, accel):
    """Ownship altitude change after t s: v0 during the delay, then a ramp to target at accel (ft/s^2)."""
    if t <= delay:
        return v0 * t
    change = v0 * delay
    t_ramp = min(abs(target - v0) / accel, t - delay)
    direction = 1.0 if target > v0 else -1.0
    change += v0 * t_ramp + 0.5 * direction * accel * t_ramp * t_ramp
    change += target * (t - delay - t_ramp)
    return change


@njit(cache=True)
def _new_change(t_s, memory, params):
    """Count a change the pilot must react to and remember the response it will get."""
    memory[_COUNTER] += 1.0
    memory[_T_CHANGE] = t_s
    if memory[_RESPONDED] > 0.0:
        memory[_M_DELAY], memory[_M_ACCEL] = params[_DELAY1], params[_ACCEL1]
    else:
        memory[_M_DELAY], memory[_M_ACCEL] = params[_DELAY0], params[_ACCEL0]


@njit(cache=True)
def tcas(t_s, own, intruder, memory, params, advisory):
    """TCAS-II-style vertical RA logic (see the module docstring)."""
    n = _N_SL
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
    for k in range(LEGACY_ADVISORY_SIZE):  # TCAS gives no guidance bands: the block stays "not computed"
        advisory[k] = 0.0
    ta = _threat(r, rdot, dz, vz, hmd, params[n + sl], params[2 * n + sl], params[3 * n + sl], 0.0)
    ra = _threat(r, rdot, dz, vz, hmd, params[4 * n + sl], params[5 * n + sl], params[6 * n + sl], params[7 * n + sl])
    if not ra:
        memory[_SENSE] = 0.0
        memory[_RA_RATE] = 0.0
        advisory[LEVEL] = 1.0 if ta else 0.0
        return
    alim = params[8 * n + sl]
    if memory[_SENSE] == 0.0:  # a new RA: choose the sense
        t_cpa = tcpa if tcpa > 0 else params[4 * n + sl]
        delay, accel = (
            (params[_DELAY1], params[_ACCEL1]) if memory[_RESPONDED] > 0.0 else (params[_DELAY0], params[_ACCEL0])
        )
        z_int = dz + intruder[V_UP] * t_cpa  # intruder relative to the ownship's current altitude
        climb = z_int - _own_displacement(t_cpa, own[V_UP], params[_RATE], delay, accel)
        descend = z_int - _own_displacement(t_cpa, own[V_UP], -params[_RATE], delay, accel)
        # the non-crossing sense keeps the intruder on its current side (above -> descend)
        non_crossing = -1.0 if dz > 0 else 1.0
        separation_nc = abs(descend) if non_crossing < 0 else abs(climb)
        crosses_nc = (descend < 0) if non_crossing < 0 else (climb > 0)
        if separation_nc >= alim and not crosses_nc:
            memory[_SENSE] = non_crossing
        else:
            memory[_SENSE] = 1.0 if abs(climb) > abs(descend) else -1.0
        memory[_RA_RATE] = params[_RATE]
        _new_change(t_s, memory, params)
    elif t_s > memory[_T_CHANGE] + memory[_M_DELAY] + 1e-9:
        # the pilot flies the current RA (the engine applies a change after the decision at which its
        # delay ends, so from the next decision on): check it still works (strengthening, reversal)
        memory[_RESPONDED] = 1.0
        if tcpa > 0.0:
            sense = memory[_SENSE]
            z_int = dz + intruder[V_UP] * tcpa
            current = sense * (
                _own_displacement(tcpa, own[V_UP], sense * memory[_RA_RATE], 0.0, memory[_M_ACCEL]) - z_int
            )
            if current < alim:
                reversed_sep = -sense * (
                    _own_displacement(tcpa, own[V_UP], -sense * params[_STRONG], params[_DELAY1], params[_ACCEL1])
                    - z_int
                )
                if (
                    params[_REVERSE] > 0.0
                    and memory[_REVERSED] == 0.0
                    and sense * intruder[V_UP] >= params[_REV_INT_RATE]
                    and reversed_sep >= alim
                ):
                    memory[_SENSE] = -sense
                    memory[_RA_RATE] = params[_STRONG]
                    memory[_REVERSED] = 1.0
                    _new_change(t_s, memory, params)
                elif params[_STRENGTHEN] > 0.0 and memory[_RA_RATE] < params[_STRONG]:
                    memory[_RA_RATE] = params[_STRONG]
                    _new_change(t_s, memory, params)
    advisory[LEVEL] = 2.0
    advisory[VERTICAL_MODE] = 1.0
    advisory[TARGET_VERTICAL_RATE] = memory[_SENSE] * memory[_RA_RATE]
    advisory[HORIZONTAL_MODE] = 0.0
    advisory[CHANGE_COUNTER] = memory[_COUNTER]
