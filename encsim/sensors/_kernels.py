"""Numba kernels of the sensor, navigation and altimetry error models (private).

Each model is a per-report kernel the closed loop will call at the report's 10-Hz step, plus a
batch kernel (encounters x report times) behind the public wrappers of `encsim.sensors.models`.
States are encsim's 8-float layout: north_ft, east_ft, up_ft, v_north_fps, v_east_fps, v_up_fps,
heading_rad, speed_fps. Random draws come from the encounter's model sub-streams
(`encsim.model_streams`), one slot per (10-Hz step, component).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..model_streams import (
    STREAM_SIZE,
    SUB_STREAM_ALTIMETRY,
    SUB_STREAM_NAVIGATION,
    SUB_STREAM_SURVEILLANCE,
    draw_laplace,
    draw_normal,
    draw_uniform,
    slot_init,
)

# state layout (as encsim.avoidance.interface)
NORTH, EAST, UP, V_NORTH, V_EAST, V_UP, HEADING, SPEED = range(8)

# components of the surveillance sub-stream (3)
ADSB_POSITION, ADSB_VELOCITY, ADSB_VERTICAL_RATE, ADSB_DROPOUT = 1, 2, 3, 4
RADAR_BIAS, RADAR_NOISE = 10, 11
ACTIVE_BIAS, ACTIVE_NOISE, ACTIVE_DETECTION = 20, 21, 22
# components of the navigation sub-stream (4)
NAV_POSITION, NAV_VELOCITY, NAV_HEADING = 1, 2, 3
# components of the altimetry sub-stream (5): biases are drawn once, at step 0
ALT_OWNSHIP, ALT_INTRUDER_SCALE, ALT_INTRUDER = 1, 2, 3

# ---------------------------------------------------------------- ADS-B
_A_POS_SD, _A_VEL_SD, _A_TAU, _A_VRATE_B, _A_ALT_Q, _A_MAX_RANGE, _A_NEAR_RANGE, _A_DROP_NEAR, _A_DROP_FAR = range(9)
ADSB_PARAMS_SIZE = 9
# Gauss-Markov memory of a model: north, east errors of position, of velocity, initialised, last time
_GM_POS_N, _GM_POS_E, _GM_VEL_N, _GM_VEL_E, _GM_INIT, _GM_LAST_T = range(6)
GAUSS_MARKOV_MEMORY_SIZE = 6
# an ADS-B report: valid flag, then the intruder's state as reported
REPORT_VALID = 0
ADSB_REPORT_SIZE = 7


@njit(cache=True, inline="always")
def _gauss_markov(previous, sd, phi, z, first):
    """Exact discretisation of a first-order Gauss-Markov process, stationary from the start."""
    if first:
        return sd * z
    return phi * previous + sd * math.sqrt(1.0 - phi * phi) * z


@njit(cache=True)
def _advance_pair(memory, first_index, sd, phi, stream, seed, encounter_id, sub_stream, step, component, first):
    """Advance the (north, east) pair of Gauss-Markov errors at ``memory[first_index:first_index + 2]``."""
    slot_init(stream, seed, encounter_id, sub_stream, step, component)
    z_north = draw_normal(stream)
    z_east = draw_normal(stream)
    memory[first_index] = _gauss_markov(memory[first_index], sd, phi, z_north, first)
    memory[first_index + 1] = _gauss_markov(memory[first_index + 1], sd, phi, z_east, first)


@njit(cache=True)
def _advance_gauss_markov(memory, t_s, pos_sd, pos_tau, vel_sd, vel_tau, stream, seed, encounter_id, sub_stream, step):
    """Bring the position and velocity errors to time ``t_s`` (components 1 and 2 of the sub-stream)."""
    first = memory[_GM_INIT] == 0.0
    dt = 0.0 if first else t_s - memory[_GM_LAST_T]
    phi_pos = math.exp(-dt / pos_tau) if pos_tau > 0.0 else 0.0
    phi_vel = math.exp(-dt / vel_tau) if vel_tau > 0.0 else 0.0
    _advance_pair(memory, _GM_POS_N, pos_sd, phi_pos, stream, seed, encounter_id, sub_stream, step, 1, first)
    _advance_pair(memory, _GM_VEL_N, vel_sd, phi_vel, stream, seed, encounter_id, sub_stream, step, 2, first)
    memory[_GM_INIT] = 1.0
    memory[_GM_LAST_T] = t_s


@njit(cache=True, inline="always")
def quantise(value, quantum):
    """Nearest multiple of ``quantum`` (halves round up); ``quantum <= 0`` leaves the value."""
    if quantum <= 0.0:
        return value
    return quantum * math.floor(value / quantum + 0.5)


@njit(cache=True, inline="always")
def slant_range_ft(own, intruder):
    dn = intruder[NORTH] - own[NORTH]
    de = intruder[EAST] - own[EAST]
    du = intruder[UP] - own[UP]
    return math.sqrt(dn * dn + de * de + du * du)


@njit(cache=True)
def adsb_report(seed, encounter_id, step, own, intruder, altitude_bias_ft, params, memory, stream, report):
    """One ADS-B report of the intruder at the 10-Hz ``step`` (called once per report period).

    The position and velocity errors advance whether or not the report arrives (they belong to
    the intruder's navigation source); the report is lost beyond the maximum range or when the
    drop draw says so. ``report`` gets [valid, north, east, up, v_north, v_east, v_up]; the rest
    of it is left untouched when invalid.
    """
    t_s = 0.1 * step
    tau = params[_A_TAU]
    _advance_gauss_markov(
        memory,
        t_s,
        params[_A_POS_SD],
        tau,
        params[_A_VEL_SD],
        tau,
        stream,
        seed,
        encounter_id,
        SUB_STREAM_SURVEILLANCE,
        step,
    )
    report[REPORT_VALID] = 0.0
    distance = slant_range_ft(own, intruder)
    if distance > params[_A_MAX_RANGE]:
        return
    drop = params[_A_DROP_NEAR] if distance <= params[_A_NEAR_RANGE] else params[_A_DROP_FAR]
    slot_init(stream, seed, encounter_id, SUB_STREAM_SURVEILLANCE, step, ADSB_DROPOUT)
    if draw_uniform(stream) < drop:
        return
    slot_init(stream, seed, encounter_id, SUB_STREAM_SURVEILLANCE, step, ADSB_VERTICAL_RATE)
    vertical_rate_error = draw_laplace(stream, params[_A_VRATE_B])
    report[REPORT_VALID] = 1.0
    report[1] = intruder[NORTH] + memory[_GM_POS_N]
    report[2] = intruder[EAST] + memory[_GM_POS_E]
    report[3] = quantise(intruder[UP] + altitude_bias_ft, params[_A_ALT_Q])
    report[4] = intruder[V_NORTH] + memory[_GM_VEL_N]
    report[5] = intruder[V_EAST] + memory[_GM_VEL_E]
    report[6] = intruder[V_UP] + vertical_rate_error


@njit(cache=True)
def adsb_batch(seed, encounter_ids, steps, own, intruder, altitude_bias_ft, params, out):
    """ADS-B reports for encounters x report steps; ``out`` (n_enc, n_steps, 7) with NaN when lost."""
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    memory = np.empty(GAUSS_MARKOV_MEMORY_SIZE)
    report = np.empty(ADSB_REPORT_SIZE)
    for e in range(own.shape[0]):
        memory[:] = 0.0
        for k in range(steps.shape[0]):
            adsb_report(
                seed,
                encounter_ids[e],
                steps[k],
                own[e, k],
                intruder[e, k],
                altitude_bias_ft[e],
                params,
                memory,
                stream,
                report,
            )
            if report[REPORT_VALID] == 0.0:
                out[e, k, 0] = 0.0
                out[e, k, 1:] = np.nan
            else:
                out[e, k, :] = report


# ---------------------------------------------------------------- air-to-air radar
(
    _R_RANGE_SD,
    _R_RANGE_BIAS,
    _R_RATE_SD,
    _R_RATE_BIAS,
    _R_AZ_SD,
    _R_AZ_BIAS,
    _R_EL_SD,
    _R_EL_BIAS,
    _R_AZ_LIMIT,
    _R_EL_LIMIT,
    _R_MIN_RANGE,
    _R_MAX_RANGE,
) = range(12)
RADAR_PARAMS_SIZE = 12
RADAR_BIAS_SIZE = 4  # range ft, range rate ft/s, azimuth rad, elevation rad
# a radar measurement: valid, range, range rate, azimuth and elevation relative to the ownship's
# heading, and the relative position (intruder - ownship) they convert to with that heading
RADAR_MEASUREMENT_SIZE = 8


@njit(cache=True)
def radar_biases(seed, encounter_id, params, stream, biases):
    """The encounter's radar biases, each uniform within +-bound (slot: step 0, RADAR_BIAS)."""
    slot_init(stream, seed, encounter_id, SUB_STREAM_SURVEILLANCE, 0, RADAR_BIAS)
    biases[0] = params[_R_RANGE_BIAS] * (2.0 * draw_uniform(stream) - 1.0)
    biases[1] = params[_R_RATE_BIAS] * (2.0 * draw_uniform(stream) - 1.0)
    biases[2] = params[_R_AZ_BIAS] * (2.0 * draw_uniform(stream) - 1.0)
    biases[3] = params[_R_EL_BIAS] * (2.0 * draw_uniform(stream) - 1.0)


@njit(cache=True, inline="always")
def wrap_pi(angle):
    """Angle in [-pi, pi)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


@njit(cache=True)
def relative_polar(own, intruder):
    """(range ft, range rate ft/s, azimuth from the ownship's heading rad, elevation rad)."""
    dn = intruder[NORTH] - own[NORTH]
    de = intruder[EAST] - own[EAST]
    du = intruder[UP] - own[UP]
    horizontal = math.sqrt(dn * dn + de * de)
    distance = math.sqrt(horizontal * horizontal + du * du)
    rate = 0.0
    if distance > 0.0:
        rate = (
            dn * (intruder[V_NORTH] - own[V_NORTH])
            + de * (intruder[V_EAST] - own[V_EAST])
            + du * (intruder[V_UP] - own[V_UP])
        ) / distance
    azimuth = wrap_pi(math.atan2(de, dn) - own[HEADING])
    elevation = math.atan2(du, horizontal)
    return distance, rate, azimuth, elevation


@njit(cache=True)
def radar_measurement(seed, encounter_id, step, own, intruder, params, biases, stream, out):
    """One radar measurement at ``step``: none outside the field of regard or the range limits."""
    distance, rate, azimuth, elevation = relative_polar(own, intruder)
    out[REPORT_VALID] = 0.0
    if abs(azimuth) > params[_R_AZ_LIMIT] or abs(elevation) > params[_R_EL_LIMIT]:
        return
    if distance < params[_R_MIN_RANGE] or distance > params[_R_MAX_RANGE]:
        return
    slot_init(stream, seed, encounter_id, SUB_STREAM_SURVEILLANCE, step, RADAR_NOISE)
    measured_range = distance + biases[0] + params[_R_RANGE_SD] * draw_normal(stream)
    measured_rate = rate + biases[1] + params[_R_RATE_SD] * draw_normal(stream)
    measured_azimuth = wrap_pi(azimuth + biases[2] + params[_R_AZ_SD] * draw_normal(stream))
    measured_elevation = elevation + biases[3] + params[_R_EL_SD] * draw_normal(stream)
    out[REPORT_VALID] = 1.0
    out[1] = measured_range
    out[2] = measured_rate
    out[3] = measured_azimuth
    out[4] = measured_elevation
    _polar_to_relative(measured_range, own[HEADING] + measured_azimuth, measured_elevation, out, 5)


@njit(cache=True, inline="always")
def _polar_to_relative(distance, bearing_abs, elevation, out, first):
    horizontal = distance * math.cos(elevation)
    out[first] = horizontal * math.cos(bearing_abs)
    out[first + 1] = horizontal * math.sin(bearing_abs)
    out[first + 2] = distance * math.sin(elevation)


@njit(cache=True)
def radar_batch(seed, encounter_ids, steps, own, intruder, params, out, biases_out):
    """Radar measurements for encounters x steps; ``out`` (n_enc, n_steps, 8), NaN when undetected."""
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    measurement = np.empty(RADAR_MEASUREMENT_SIZE)
    for e in range(own.shape[0]):
        radar_biases(seed, encounter_ids[e], params, stream, biases_out[e])
        for k in range(steps.shape[0]):
            radar_measurement(
                seed, encounter_ids[e], steps[k], own[e, k], intruder[e, k], params, biases_out[e], stream, measurement
            )
            _copy_or_nan(measurement, out[e, k])


@njit(cache=True, inline="always")
def _copy_or_nan(measurement, row):
    if measurement[REPORT_VALID] == 0.0:
        row[0] = 0.0
        row[1:] = np.nan
    else:
        row[:] = measurement


# ---------------------------------------------------------------- active surveillance (transponder)
(
    _S_RANGE_SD,
    _S_RANGE_BIAS,
    _S_ALT_Q,
    _S_P_DETECT,
    _S_MAX_FRONT,
    _S_MAX_SIDE,
    _S_MAX_REAR,
    _S_FRONT_HALF,
    _S_REAR_HALF,
    _S_EL_MIN,
    _S_EL_MAX,
    _S_INNER_EL,
    _S_INNER_SD,
    _S_INNER_BOUND,
    _S_OUTER_SD,
    _S_OUTER_BOUND,
) = range(16)
ACTIVE_PARAMS_SIZE = 16
ACTIVE_BIAS_SIZE = 1  # range ft
# an active surveillance measurement: valid, range, bearing from the ownship's heading, reported
# altitude, and relative north, east (range and bearing, horizontal) and up (altitudes)
ACTIVE_MEASUREMENT_SIZE = 7


@njit(cache=True)
def active_biases(seed, encounter_id, params, stream, biases):
    """The encounter's range bias, uniform within +-bound (slot: step 0, ACTIVE_BIAS)."""
    slot_init(stream, seed, encounter_id, SUB_STREAM_SURVEILLANCE, 0, ACTIVE_BIAS)
    biases[0] = params[_S_RANGE_BIAS] * (2.0 * draw_uniform(stream) - 1.0)


@njit(cache=True)
def bearing_error_sd_and_bound(params, elevation):
    """Bearing error sd and bound (rad): the inner values within +-inner elevation, else the outer."""
    if abs(elevation) <= params[_S_INNER_EL]:
        return params[_S_INNER_SD], params[_S_INNER_BOUND]
    return params[_S_OUTER_SD], params[_S_OUTER_BOUND]


@njit(cache=True)
def active_range_limit_ft(params, azimuth):
    """Maximum detection range in the direction ``azimuth`` (rad from the ownship's heading)."""
    off_nose = abs(azimuth)
    if off_nose <= params[_S_FRONT_HALF]:
        return params[_S_MAX_FRONT]
    if off_nose >= math.pi - params[_S_REAR_HALF]:
        return params[_S_MAX_REAR]
    return params[_S_MAX_SIDE]


@njit(cache=True)
def active_measurement(seed, encounter_id, step, own, intruder, intruder_altitude_bias_ft, params, biases, stream, out):
    """One interrogation reply at ``step``: range, bearing and the Mode C/S altitude, or none."""
    distance, _, azimuth, elevation = relative_polar(own, intruder)
    out[REPORT_VALID] = 0.0
    if elevation < params[_S_EL_MIN] or elevation > params[_S_EL_MAX]:
        return
    if distance > active_range_limit_ft(params, azimuth):
        return
    slot_init(stream, seed, encounter_id, SUB_STREAM_SURVEILLANCE, step, ACTIVE_DETECTION)
    if draw_uniform(stream) >= params[_S_P_DETECT]:
        return
    slot_init(stream, seed, encounter_id, SUB_STREAM_SURVEILLANCE, step, ACTIVE_NOISE)
    measured_range = max(distance + biases[0] + params[_S_RANGE_SD] * draw_normal(stream), 0.0)
    sd, bound = bearing_error_sd_and_bound(params, elevation)
    bearing_error = min(max(sd * draw_normal(stream), -bound), bound)
    bearing = wrap_pi(azimuth + bearing_error)
    altitude = quantise(intruder[UP] + intruder_altitude_bias_ft, params[_S_ALT_Q])
    out[REPORT_VALID] = 1.0
    out[1] = measured_range
    out[2] = bearing
    out[3] = altitude
    relative_up = altitude - own[UP]
    # the reply gives slant range: its horizontal part follows from the altitude difference
    horizontal = math.sqrt(max(measured_range * measured_range - relative_up * relative_up, 0.0))
    out[4] = horizontal * math.cos(own[HEADING] + bearing)
    out[5] = horizontal * math.sin(own[HEADING] + bearing)
    out[6] = relative_up


@njit(cache=True)
def active_batch(seed, encounter_ids, steps, own, intruder, altitude_bias_ft, params, out, biases_out):
    """Active surveillance for encounters x steps; ``out`` (n_enc, n_steps, 7), NaN when no reply."""
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    measurement = np.empty(ACTIVE_MEASUREMENT_SIZE)
    for e in range(own.shape[0]):
        active_biases(seed, encounter_ids[e], params, stream, biases_out[e])
        for k in range(steps.shape[0]):
            active_measurement(
                seed,
                encounter_ids[e],
                steps[k],
                own[e, k],
                intruder[e, k],
                altitude_bias_ft[e],
                params,
                biases_out[e],
                stream,
                measurement,
            )
            _copy_or_nan(measurement, out[e, k])


# ---------------------------------------------------------------- ownship navigation (GPS/INS)
_N_POS_SD, _N_POS_TAU, _N_VEL_SD, _N_VEL_TAU, _N_HEADING_SD = range(5)
NAVIGATION_PARAMS_SIZE = 5


@njit(cache=True)
def navigation_estimate(seed, encounter_id, step, own, params, memory, stream, out):
    """What the ownship's GPS/INS says of its own state at ``step`` (altitude is the altimetry's).

    Horizontal position and velocity errors are Gauss-Markov (components 1, 2 of the navigation
    sub-stream); the heading error is white (component 3). Speed follows the estimated velocity.
    """
    _advance_gauss_markov(
        memory,
        0.1 * step,
        params[_N_POS_SD],
        params[_N_POS_TAU],
        params[_N_VEL_SD],
        params[_N_VEL_TAU],
        stream,
        seed,
        encounter_id,
        SUB_STREAM_NAVIGATION,
        step,
    )
    slot_init(stream, seed, encounter_id, SUB_STREAM_NAVIGATION, step, NAV_HEADING)
    heading_error = params[_N_HEADING_SD] * draw_normal(stream)
    out[NORTH] = own[NORTH] + memory[_GM_POS_N]
    out[EAST] = own[EAST] + memory[_GM_POS_E]
    out[UP] = own[UP]
    out[V_NORTH] = own[V_NORTH] + memory[_GM_VEL_N]
    out[V_EAST] = own[V_EAST] + memory[_GM_VEL_E]
    out[V_UP] = own[V_UP]
    out[HEADING] = wrap_pi(own[HEADING] + heading_error)
    out[SPEED] = math.sqrt(out[V_NORTH] * out[V_NORTH] + out[V_EAST] * out[V_EAST])


@njit(cache=True)
def navigation_batch(seed, encounter_ids, steps, own, params, out):
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    memory = np.empty(GAUSS_MARKOV_MEMORY_SIZE)
    for e in range(own.shape[0]):
        memory[:] = 0.0
        for k in range(steps.shape[0]):
            navigation_estimate(seed, encounter_ids[e], steps[k], own[e, k], params, memory, stream, out[e, k])


# ---------------------------------------------------------------- altimetry (ICAO Annex 10 Vol. IV)
ALTIMETRY_LAYERS = 6
# params: 5 layer tops (ft), ownship scales (6), other scales (6), P(intruder uses ownship scale) (6)
ALTIMETRY_PARAMS_SIZE = 5 + 3 * ALTIMETRY_LAYERS
ALTIMETRY_OUT_SIZE = 4  # ownship bias, intruder bias, ownship scale, intruder scale (ft)


@njit(cache=True)
def altitude_layer(params, altitude_ft):
    """0-based layer: the number of layer tops at or below the altitude."""
    layer = 0
    for k in range(ALTIMETRY_LAYERS - 1):
        if altitude_ft >= params[k]:
            layer = k + 1
    return layer


@njit(cache=True)
def altimetry_biases(seed, encounter_id, own_altitude_ft, intruder_altitude_ft, params, stream, out):
    """One Laplacian altimetry bias per aircraft for the whole encounter (step-0 slots).

    The scale follows each aircraft's layer at its reference altitude (the encounter's start);
    the intruder takes the ownship scale of its layer with the layer's probability, otherwise
    the other scale.
    """
    own_layer = altitude_layer(params, own_altitude_ft)
    intruder_layer = altitude_layer(params, intruder_altitude_ft)
    own_scale = params[5 + own_layer]
    slot_init(stream, seed, encounter_id, SUB_STREAM_ALTIMETRY, 0, ALT_INTRUDER_SCALE)
    same = draw_uniform(stream) < params[5 + 2 * ALTIMETRY_LAYERS + intruder_layer]
    intruder_scale = params[5 + intruder_layer] if same else params[5 + ALTIMETRY_LAYERS + intruder_layer]
    slot_init(stream, seed, encounter_id, SUB_STREAM_ALTIMETRY, 0, ALT_OWNSHIP)
    out[0] = draw_laplace(stream, own_scale)
    slot_init(stream, seed, encounter_id, SUB_STREAM_ALTIMETRY, 0, ALT_INTRUDER)
    out[1] = draw_laplace(stream, intruder_scale)
    out[2] = own_scale
    out[3] = intruder_scale


@njit(cache=True)
def altimetry_batch(seed, encounter_ids, own_altitude_ft, intruder_altitude_ft, params, out):
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    for e in range(encounter_ids.shape[0]):
        altimetry_biases(seed, encounter_ids[e], own_altitude_ft[e], intruder_altitude_ft[e], params, stream, out[e])
