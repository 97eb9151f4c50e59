"""Numba kernel: the DAIDALUS-exact DAA logic of the closed loop (one intruder, one decision per call).

``daidalus_logic(t_s, own, intruder, memory, params, advisory)`` follows the logic contract of
`encsim.avoidance.interface`. Each decision:

1. **Detection**: each alert level's WCV_TAUMOD (or WCV_TAUMOD_SUM, fed from the states' SUM
   entries 8-15) interval over the lookahead, relative state own - intruder as DAIDALUS.
2. **Alerting**: DAIDALUS's raw level, M-of-N, persistence and resets, done incrementally with the
   kernels of `_alerting` on the alerting state kept in ``memory`` (the same steps `alert_levels`
   runs over a series, so a replay and the closed loop cannot disagree).
3. **Guidance**: from the first decision at which any level's detector predicts a violation within
   the lookahead, the bands of the dimension(s) the preset guides in are computed at every decision
   (`_guidance.dimension_guidance`: their display history lives in ``memory``) and written into the
   advisory's guidance blocks (direction in rad [0, 2 pi), speeds ft/s, altitude ft; a resolution
   with none on its side is NaN, as the contract says). The band frame is the ownship's air
   velocity (state entries 16-17): with wind the direction bands are headings.
4. **What the standard pilot flies** (entries 0-6), at displayed level >= 2 only: toward the
   preferred resolution (the other side's when the preferred side has none; the current value
   when the current value is not in a corrective band), as a target heading (direction), a target
   vertical rate (vertical speed) or, for "both", a turn when a conflict-free heading lies within
   the preset's angle, else a vertical rate. The change counter increments on a new displayed
   level >= 2 and on a new side or mode.

Layouts of ``params`` (`P_*`, built by `encsim.avoidance.daidalus.logic.daidalus_params`) and
``memory`` (`M_*`) are below.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ...units import FPS_PER_FPM, FPS_PER_KT, RAD_PER_DEG
from ..interface import (
    AIR_V_EAST,
    AIR_V_NORTH,
    BAND_HI,
    BAND_LO,
    BAND_REGION,
    CHANGE_COUNTER,
    DIRECTION,
    EAST,
    G_N_BANDS,
    G_PREFERRED,
    G_RECOVERY,
    G_REGION,
    G_RESOLUTION_LOW,
    G_RESOLUTION_UP,
    HEADING,
    HORIZONTAL_MODE,
    HORIZONTAL_SPEED,
    LEGACY_ADVISORY_SIZE,
    LEVEL,
    MAX_BANDS,
    NORTH,
    S_EW_STD,
    TARGET_HEADING,
    TARGET_VERTICAL_RATE,
    UP,
    V_EAST,
    V_NORTH,
    V_UP,
    VERTICAL_MODE,
    VERTICAL_SPEED,
    band_index,
    clear_guidance,
    guidance_index,
)
from . import _bands
from ._alerting import alert_state_size, displayed_level, raw_level, reset_alert_state
from ._detection import (
    SUM_MIN_ERROR_FT,
    _almost_less,
    _horizontal_interval,
    _sum_vertical_interval,
    _vertical_interval,
    relative_sum_errors,
    wcv_taumod_interval,
    wcv_taumod_sum_interval,
)
from ._guidance import (
    BAND_SETTINGS_SIZE,
    GUIDANCE_MEMORY_SIZE,
    GUIDANCE_OUT_SIZE,
    LEVEL_SIZE,
    LV_ALERTING_TIME,
    LV_DETECTOR,
    LV_EARLY_ALERTING_TIME,
    LV_REGION,
    O_BANDS,
    O_N_BANDS,
    O_OWN_VALUE,
    O_PREFERRED,
    O_RECOVERY,
    O_REGION,
    O_RES_LOW,
    O_RES_UP,
    TL_DISPLAYED_LEVEL,
    TL_LEVELS,
    TL_N_LEVELS,
    TRAFFIC_LEVELS_SIZE,
    dimension_guidance,
)

# --- parameter layout ---------------------------------------------------------------------------------------
#: guidance dimension(s) of the preset (`GUIDE_*`)
P_DIMENSION = 0
#: number of alert levels of the intruder's alerter (1..`MAX_LEVELS`)
P_N_LEVELS = 1
P_ALERTING_M, P_ALERTING_N = 2, 3
P_HYSTERESIS_S, P_PERSISTENCE_S, P_LOOKAHEAD_S = 4, 5, 6
#: SUM z-scores (h_pos, h_vel_min, h_vel_max, h_vel_distance_ft, v_pos, v_vel): 6 entries
P_Z_SCORES = 7
#: "both": turn when a conflict-free heading lies within this angle (rad), else change the vertical rate
P_BOTH_MAX_TURN_RAD = 13
#: the alerter's 1-based index in the configuration (information: its levels follow)
P_ALERTER = 14
#: 1: scan the candidates even for an intruder proved to colour no band (the tests compare both ways); 0: skip
P_SCAN_ALL = 15
#: alert level k (0-based) at P_LEVELS + k * LEVEL_FIELDS: detector (0 WCV_TAUMOD, 1 WCV_TAUMOD_SUM),
#: DTHR ft, ZTHR ft, TTHR s, TCOA s, alerting time s, early alerting time s, band region (0 NONE .. 3 NEAR)
P_LEVELS = 16
L_SUM, L_DTHR, L_ZTHR, L_TTHR, L_TCOA, L_ALERTING, L_EARLY, L_REGION = range(8)
LEVEL_FIELDS = 8
#: the alert levels the contract can report (1 preventive, 2 corrective, 3 warning)
MAX_LEVELS = 3
#: the band settings (`_guidance.pack_band_settings`)
P_BANDS = P_LEVELS + MAX_LEVELS * LEVEL_FIELDS
N_PARAMS = P_BANDS + BAND_SETTINGS_SIZE

GUIDE_DIRECTION, GUIDE_VERTICAL_SPEED, GUIDE_BOTH = 0, 1, 2
#: alerting only: no bands, no guidance (the closed loop's open-loop pass, which scores alert levels only; the
#: level never depends on the bands)
GUIDE_NONE = 3

# --- memory layout ------------------------------------------------------------------------------------------
#: 1 once the alerting state is initialised (the memory of a new run is all zero)
M_STARTED = 0
#: the level displayed at the previous decision (0 before the first)
M_PREVIOUS_LEVEL = 1
#: the change counter the pilot watches
M_COUNTER = 2
#: the side (-1, +1) and mode (1 turn, 2 vertical rate) flown at the previous decision (0: none)
M_SIDE, M_MODE = 3, 4
#: 1 from the first decision at which a level predicts a violation within the lookahead: bands every decision
M_BANDS_ON = 5
#: the alerting state (`_alerting`), sized for the longest M-of-N window
M_ALERT = 8
MAX_ALERTING_N = 8
#: the display history of the bands: direction, then vertical speed
M_GUIDANCE = M_ALERT + 3 + MAX_ALERTING_N + 5
SLOT_DIRECTION, SLOT_VERTICAL_SPEED = 0, 1
MEMORY_SIZE = M_GUIDANCE + 2 * GUIDANCE_MEMORY_SIZE

_TWO_PI = 2.0 * math.pi


@njit(cache=True)
def _detect(own, intruder, params, n_levels, t_in, t_out):
    """Each level's violation interval over the lookahead; True when any is a conflict (a level is predicted)."""
    sx, sy, sz = own[EAST] - intruder[EAST], own[NORTH] - intruder[NORTH], own[UP] - intruder[UP]
    vx, vy, vz = own[V_EAST] - intruder[V_EAST], own[V_NORTH] - intruder[V_NORTH], own[V_UP] - intruder[V_UP]
    lookahead = params[P_LOOKAHEAD_S]
    errors_known = False
    s_err, sz_err, v_err, vz_err = 0.0, 0.0, 0.0, 0.0
    predicted = False
    for k in range(n_levels):
        base = P_LEVELS + k * LEVEL_FIELDS
        dthr, zthr, tthr, tcoa = (
            params[base + L_DTHR],
            params[base + L_ZTHR],
            params[base + L_TTHR],
            params[base + L_TCOA],
        )
        if params[base + L_SUM] != 0.0:
            if not errors_known:
                s_err, sz_err, v_err, vz_err = relative_sum_errors(
                    own[S_EW_STD : S_EW_STD + 8],
                    intruder[S_EW_STD : S_EW_STD + 8],
                    math.hypot(sx, sy),
                    params[P_Z_SCORES : P_Z_SCORES + 6],
                )
                errors_known = True
            t_in[k], t_out[k] = wcv_taumod_sum_interval(
                sx, sy, sz, vx, vy, vz, dthr, zthr, tthr, tcoa, 0.0, lookahead, s_err, sz_err, v_err, vz_err
            )
        else:
            t_in[k], t_out[k] = wcv_taumod_interval(sx, sy, sz, vx, vy, vz, dthr, zthr, tthr, tcoa, 0.0, lookahead)
        if _almost_less(t_in[k], t_out[k]):
            predicted = True
    return predicted


#: margins of the proofs that an intruder colours no band (ft on DTHR and ZTHR, s on TTHR and the lookahead)
_CLEAR_MARGIN_FT, _CLEAR_MARGIN_S = 1.0, 1.0


@njit(cache=True)
def _vertically_clear(own, intruder, params, n_levels):
    """True when no level's volume can be violated vertically within the lookahead (ZTHR and the lookahead
    widened by a margin; for SUM, the vertical errors, which do not depend on range, at least DAIDALUS's floor).
    Direction candidates leave the vertical motion unchanged, so the intruder then colours no direction band."""
    sz, vz = own[UP] - intruder[UP], own[V_UP] - intruder[V_UP]
    horizon = params[P_LOOKAHEAD_S] + _CLEAR_MARGIN_S
    for k in range(n_levels):
        base = P_LEVELS + k * LEVEL_FIELDS
        zthr, tcoa = params[base + L_ZTHR] + _CLEAR_MARGIN_FT, params[base + L_TCOA] + _CLEAR_MARGIN_S
        if params[base + L_SUM] != 0.0:
            errors = relative_sum_errors(
                own[S_EW_STD : S_EW_STD + 8],
                intruder[S_EW_STD : S_EW_STD + 8],
                0.0,
                params[P_Z_SCORES : P_Z_SCORES + 6],
            )
            sz_err, vz_err = max(errors[1], SUM_MIN_ERROR_FT), max(errors[3], SUM_MIN_ERROR_FT)
            t_in, t_out = _sum_vertical_interval(sz, vz, sz_err, vz_err, zthr, tcoa, 0.0, horizon)
        else:
            t_in, t_out = _vertical_interval(sz, vz, zthr, tcoa, 0.0, horizon)
        if t_in <= t_out:
            return False
    return True


@njit(cache=True)
def _horizontally_clear(own, intruder, params, n_levels):
    """True when no level's volume can be violated horizontally within the lookahead (DTHR, TTHR and the lookahead
    widened by a margin; never for SUM, whose horizontal errors depend on the evaluated position). Vertical-speed
    candidates leave the horizontal motion unchanged, so the intruder then colours no vertical-speed band."""
    sx, sy = own[EAST] - intruder[EAST], own[NORTH] - intruder[NORTH]
    vx, vy = own[V_EAST] - intruder[V_EAST], own[V_NORTH] - intruder[V_NORTH]
    horizon = params[P_LOOKAHEAD_S] + _CLEAR_MARGIN_S
    for k in range(n_levels):
        base = P_LEVELS + k * LEVEL_FIELDS
        if params[base + L_SUM] != 0.0:
            return False
        dthr, tthr = params[base + L_DTHR] + _CLEAR_MARGIN_FT, params[base + L_TTHR] + _CLEAR_MARGIN_S
        t_in, t_out = _horizontal_interval(sx, sy, vx, vy, dthr, tthr, horizon)
        if t_in <= t_out:
            return False
    return True


@njit(cache=True)
def _band_frame(own, intruder, own_band, traffic_band):
    """Ownship and intruder states (x east, y north, z up) in the band frame: the ownship's air velocity, the
    wind removed from the intruder's velocity too (relative motion unchanged)."""
    wind_east = own[V_EAST] - own[AIR_V_EAST]
    wind_north = own[V_NORTH] - own[AIR_V_NORTH]
    own_band[0], own_band[1], own_band[2] = own[EAST], own[NORTH], own[UP]
    own_band[3], own_band[4], own_band[5] = own[AIR_V_EAST], own[AIR_V_NORTH], own[V_UP]
    traffic_band[0, 0], traffic_band[0, 1], traffic_band[0, 2] = intruder[EAST], intruder[NORTH], intruder[UP]
    traffic_band[0, 3] = intruder[V_EAST] - wind_east
    traffic_band[0, 4] = intruder[V_NORTH] - wind_north
    traffic_band[0, 5] = intruder[V_UP]


@njit(cache=True)
def _traffic_levels(own, intruder, params, n_levels, displayed, row):
    """The intruder's alert levels as the bands read them (region, alerting times, detector vector)."""
    for i in range(TRAFFIC_LEVELS_SIZE):
        row[i] = 0.0
    row[TL_N_LEVELS] = n_levels
    row[TL_DISPLAYED_LEVEL] = displayed
    for k in range(n_levels):
        base = P_LEVELS + k * LEVEL_FIELDS
        out = TL_LEVELS + k * LEVEL_SIZE
        row[out + LV_REGION] = params[base + L_REGION]
        row[out + LV_ALERTING_TIME] = params[base + L_ALERTING]
        row[out + LV_EARLY_ALERTING_TIME] = params[base + L_EARLY]
        det = out + LV_DETECTOR
        row[det + 1] = params[base + L_DTHR]
        row[det + 2] = params[base + L_ZTHR]
        row[det + 3] = params[base + L_TTHR]
        row[det + 4] = params[base + L_TCOA]
        if params[base + L_SUM] != 0.0:
            # errors recomputed by the bands from each evaluated ownship position, as DAIDALUS does
            row[det] = _bands.DET_WCV_SUM
            for j in range(8):
                row[det + 9 + j] = own[S_EW_STD + j]
                row[det + 17 + j] = intruder[S_EW_STD + j]
            for j in range(6):
                row[det + 25 + j] = params[P_Z_SCORES + j]
        else:
            row[det] = _bands.DET_WCV


@njit(cache=True)
def _advisory_value(dimension, value):
    """A band value (deg, kt, fpm, ft) in the advisory's units (direction rad in [0, 2 pi), ft/s, ft)."""
    if dimension == DIRECTION:
        angle = (value % 360.0) * RAD_PER_DEG
        return angle if angle < _TWO_PI else 0.0
    if dimension == VERTICAL_SPEED:
        return value * FPS_PER_FPM
    if dimension == HORIZONTAL_SPEED:
        return value * FPS_PER_KT
    return value


@njit(cache=True)
def _resolution(dimension, value):
    """A resolution in the advisory's units; NaN when there is none (DAIDALUS's nan and +-inf)."""
    if not math.isfinite(value):
        return math.nan
    return _advisory_value(dimension, value)


@njit(cache=True)
def _write_block(dimension, out, advisory):
    """The guidance block of ``dimension`` from a `dimension_guidance` output."""
    advisory[guidance_index(dimension, G_REGION)] = out[O_REGION]
    advisory[guidance_index(dimension, G_RESOLUTION_LOW)] = _resolution(dimension, out[O_RES_LOW])
    advisory[guidance_index(dimension, G_RESOLUTION_UP)] = _resolution(dimension, out[O_RES_UP])
    advisory[guidance_index(dimension, G_PREFERRED)] = out[O_PREFERRED]
    advisory[guidance_index(dimension, G_RECOVERY)] = out[O_RECOVERY]
    n_bands = min(int(out[O_N_BANDS]), MAX_BANDS)
    advisory[guidance_index(dimension, G_N_BANDS)] = n_bands
    for k in range(n_bands):
        lo, hi = out[O_BANDS + 3 * k], out[O_BANDS + 3 * k + 1]
        if dimension == DIRECTION:  # the band edges keep 360 deg as 2 pi
            advisory[band_index(dimension, k, BAND_LO)] = lo * RAD_PER_DEG
            advisory[band_index(dimension, k, BAND_HI)] = hi * RAD_PER_DEG
        else:
            advisory[band_index(dimension, k, BAND_LO)] = _advisory_value(dimension, lo)
            advisory[band_index(dimension, k, BAND_HI)] = _advisory_value(dimension, hi)
        advisory[band_index(dimension, k, BAND_REGION)] = out[O_BANDS + 3 * k + 2]


@njit(cache=True)
def _offset(low_side, value, resolution, modulo):
    """How far the resolution lies from the current value on its side (band units)."""
    delta = value - resolution if low_side else resolution - value
    return delta % modulo if modulo > 0.0 else delta


@njit(cache=True)
def _choose(out, modulo, limit):
    """(side, resolution) to fly: the preferred side's resolution if it lies within ``limit`` of the current
    value (band units), else the other side's; (0, NaN) when neither does (no resolution: the current value is
    not in a corrective band, or no side has one)."""
    low, up, value = out[O_RES_LOW], out[O_RES_UP], out[O_OWN_VALUE]
    first = -1.0 if out[O_PREFERRED] < 0.0 else 1.0
    for side in (first, -first):
        resolution = up if side > 0.0 else low
        if math.isfinite(resolution) and _offset(side < 0.0, value, resolution, modulo) <= limit:
            return side, resolution
    return 0.0, math.nan


@njit(cache=True)
def _fly(advisory, memory, mode, side):
    """Remember the side and mode flown; a new side or mode is a change the pilot reacts to."""
    if side == 0.0:
        side = memory[M_SIDE] if memory[M_MODE] == mode else 0.0
    if side != memory[M_SIDE] or mode != memory[M_MODE]:
        memory[M_COUNTER] += 1.0
    memory[M_SIDE], memory[M_MODE] = side, mode


@njit(cache=True)
def _fly_direction(own, out, advisory, memory):
    side, resolution = _choose(out, 360.0, math.inf)
    advisory[HORIZONTAL_MODE] = 1.0
    advisory[TARGET_HEADING] = own[HEADING] if side == 0.0 else resolution * RAD_PER_DEG
    _fly(advisory, memory, 1.0, side)


@njit(cache=True)
def _fly_vertical(own, out, advisory, memory):
    side, resolution = _choose(out, 0.0, math.inf)
    advisory[VERTICAL_MODE] = 1.0
    advisory[TARGET_VERTICAL_RATE] = own[V_UP] if side == 0.0 else resolution * FPS_PER_FPM
    _fly(advisory, memory, 2.0, side)


@njit(cache=True)
def _guide(t_s, own, intruder, memory, params, advisory, level, previous):
    """Bands of the preset's dimension(s) into the guidance blocks; at level >= 2 the targets the pilot flies."""
    n_levels = int(params[P_N_LEVELS])
    own_band = np.empty(6)
    traffic_band = np.empty((1, 6))
    _band_frame(own, intruder, own_band, traffic_band)
    levels = np.empty((1, TRAFFIC_LEVELS_SIZE))
    _traffic_levels(own, intruder, params, n_levels, max(previous, 0.0), levels[0])
    bands = params[P_BANDS : P_BANDS + BAND_SETTINGS_SIZE]
    guide = params[P_DIMENSION]
    direction = np.empty(GUIDANCE_OUT_SIZE)
    vertical = np.empty(GUIDANCE_OUT_SIZE)
    # an intruder proved to colour no band of a dimension is left out of it (no traffic: the same raw colours, NONE
    # everywhere, without the candidate scans; the display history advances as it would)
    if guide != GUIDE_VERTICAL_SPEED:
        slot = memory[M_GUIDANCE + SLOT_DIRECTION * GUIDANCE_MEMORY_SIZE : M_GUIDANCE + GUIDANCE_MEMORY_SIZE]
        clear = params[P_SCAN_ALL] == 0.0 and _vertically_clear(own, intruder, params, n_levels)
        n_traffic = 0 if clear else 1
        dimension_guidance(_bands.DIM_HDIR, t_s, own_band, traffic_band, levels, n_traffic, bands, slot, direction)
        _write_block(DIRECTION, direction, advisory)
    if guide != GUIDE_DIRECTION:
        start = M_GUIDANCE + SLOT_VERTICAL_SPEED * GUIDANCE_MEMORY_SIZE
        slot = memory[start : start + GUIDANCE_MEMORY_SIZE]
        clear = params[P_SCAN_ALL] == 0.0 and _horizontally_clear(own, intruder, params, n_levels)
        n_traffic = 0 if clear else 1
        dimension_guidance(_bands.DIM_VS, t_s, own_band, traffic_band, levels, n_traffic, bands, slot, vertical)
        _write_block(VERTICAL_SPEED, vertical, advisory)
    if level < 2:
        memory[M_SIDE], memory[M_MODE] = 0.0, 0.0
        return
    if guide == GUIDE_DIRECTION:
        _fly_direction(own, direction, advisory, memory)
    elif guide == GUIDE_VERTICAL_SPEED:
        _fly_vertical(own, vertical, advisory, memory)
    else:
        side, resolution = _choose(direction, 360.0, params[P_BOTH_MAX_TURN_RAD] / RAD_PER_DEG)
        conflict_free_now = math.isnan(direction[O_RES_LOW]) and math.isnan(direction[O_RES_UP])
        if side != 0.0 or conflict_free_now:
            advisory[HORIZONTAL_MODE] = 1.0
            advisory[TARGET_HEADING] = own[HEADING] if side == 0.0 else resolution * RAD_PER_DEG
            _fly(advisory, memory, 1.0, side)
        else:
            _fly_vertical(own, vertical, advisory, memory)


@njit(cache=True)
def daidalus_logic(t_s, own, intruder, memory, params, advisory):
    """DAIDALUS v2.0.4 alerting and guidance for one intruder (see the module docstring)."""
    if memory.shape[0] < MEMORY_SIZE or params.shape[0] != N_PARAMS:  # never write past the arrays it is given
        raise ValueError("daidalus_logic: memory shorter than its MEMORY_SIZE or params not of N_PARAMS")
    n_levels = int(params[P_N_LEVELS])
    state = memory[M_ALERT : M_ALERT + alert_state_size(int(params[P_ALERTING_N]))]
    if memory[M_STARTED] == 0.0:
        reset_alert_state(state)
        memory[M_STARTED] = 1.0
    t_in = np.empty(n_levels)
    t_out = np.empty(n_levels)
    alerting = np.empty(n_levels)
    early = np.empty(n_levels)
    for k in range(n_levels):
        alerting[k] = params[P_LEVELS + k * LEVEL_FIELDS + L_ALERTING]
        early[k] = params[P_LEVELS + k * LEVEL_FIELDS + L_EARLY]
    if _detect(own, intruder, params, n_levels, t_in, t_out):
        memory[M_BANDS_ON] = 1.0
    raw = raw_level(state, t_s, t_in, t_out, alerting, early)
    level = float(
        displayed_level(state, t_s, raw, int(params[P_ALERTING_M]), params[P_HYSTERESIS_S], params[P_PERSISTENCE_S])
    )
    previous = memory[M_PREVIOUS_LEVEL]
    for k in range(LEGACY_ADVISORY_SIZE):
        advisory[k] = 0.0
    clear_guidance(advisory)
    advisory[LEVEL] = level
    if level >= 2.0 and level != previous:
        memory[M_COUNTER] += 1.0  # a new alert level is a change for the pilot
    if memory[M_BANDS_ON] != 0.0 and params[P_DIMENSION] != GUIDE_NONE:
        _guide(t_s, own, intruder, memory, params, advisory, level, previous)
    else:
        memory[M_SIDE], memory[M_MODE] = 0.0, 0.0
    memory[M_PREVIOUS_LEVEL] = level
    advisory[CHANGE_COUNTER] = memory[M_COUNTER]
