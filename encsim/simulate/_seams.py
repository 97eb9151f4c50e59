"""Numba kernels of the closed loop's seams (private): what the logic sees, and what the pilot does.

Perception, at each decision of the logic: the altimetry biases (one per aircraft and encounter,
drawn before the flights), the ownship as its navigation sees it, and the intruder as the
surveillance model reports it, optionally through the constant-velocity Kalman tracker. The
reference surveillance models are chosen by a small integer id (`SURVEILLANCE_IDS`) with a float
parameter array, like the reference logics; a user's model is an ``@njit`` function with the
signature of `encsim.simulate.seams` (the kernel specialises on which, see `call_surveillance`).

The pilot, for pilots other than the standard one (which the closed loop flies itself, unchanged):
at each decision, ``pilot(seed, encounter_id, step, own_seen, advisory, params, memory, command)``
writes a command (`encsim.avoidance.interface.PILOT_COMMAND_SIZE`) that the closed loop flies until
the next decision. The reference R6 pilot (`encsim.pilots`) reads the advisory's guidance blocks.

Random draws: sub-streams 3 (surveillance), 4 (navigation), 5 (altimetry), 6 (pilot) of the
encounter, keyed by (10-Hz step, component) (`encsim.model_streams`), so the draws of one model
never move when another model, a parameter or the chunking changes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from ..avoidance.interface import (
    ALTITUDE,
    DIRECTION,
    G_N_BANDS,
    G_PREFERRED,
    G_RECOVERY,
    G_REGION,
    G_RESOLUTION_LOW,
    G_RESOLUTION_UP,
    HEADING,
    HORIZONTAL_MODE,
    LEGACY_STATE_SIZE,
    LEVEL,
    PC_HORIZONTAL_MODE,
    PC_TARGET_HEADING,
    PC_VERTICAL_ALTITUDE,
    PC_VERTICAL_MODE,
    PC_VERTICAL_TARGET,
    PILOT_COMMAND_SIZE,
    REGION_RECOVERY,
    REGION_UNKNOWN,
    STATE_SIZE,
    TARGET_HEADING,
    UP,
    V_EAST,
    V_NORTH,
    V_UP,
    guidance_index,
)
from ..model_streams import STREAM_SIZE
from ..pilots import _kernels as pk
from ..sensors import _kernels as sk
from ..sensors import _tracker as tk

#: reference surveillance models by id: the truth; the older white-noise-plus-latency `Surveillance`;
#: ADS-B In; air-to-air radar; active surveillance (transponder interrogation)
PERFECT, NOISE, ADSB, RADAR, ACTIVE = 0, 1, 2, 3, 4
SURVEILLANCE_IDS = {"perfect": PERFECT, "noise": NOISE, "adsb": ADSB, "radar": RADAR, "active": ACTIVE}
#: reference pilots by id: the standard pilot (flown by the closed loop itself) and the R6 UAS pilot
STANDARD, R6 = 0, 1
PILOT_IDS = {"standard": STANDARD, "r6": R6}

# tracker settings (`tracker_array`): on/off, white-acceleration PSDs, initial spread, maximum coast
TRK_ON, TRK_Q_HORIZONTAL, TRK_Q_VERTICAL, TRK_INIT_POSITION_SD, TRK_INIT_VELOCITY_SD, TRK_MAX_COAST = range(6)
TRACKER_SETTINGS_SIZE = 6
# navigation settings: on/off, then `NavigationParams.as_array`
NAV_ON = 0
NAVIGATION_SETTINGS_SIZE = 1 + sk.NAVIGATION_PARAMS_SIZE
NAVIGATION_MEMORY_SIZE = sk.GAUSS_MARKOV_MEMORY_SIZE
# altimetry settings: on/off, applied to the truth (NMAC, LoWC) too, then `AltimetryParams.as_array`
ALT_ON, ALT_TO_TRUTH = 0, 1
ALTIMETRY_SETTINGS_SIZE = 2 + sk.ALTIMETRY_PARAMS_SIZE
# pilot flying settings: the vertical rate at which an altitude target is flown (ft/s), the time
# constant of its capture (s), and the standard pilot's probability of ignoring the advisories
FLY_ALTITUDE_RATE, FLY_CAPTURE_S, FLY_NONCOMPLIANCE = range(3)
FLY_SETTINGS_SIZE = 3

# a reference surveillance model's memory: the sensor's (Gauss-Markov errors, biases), the last
# report, the track (started flag, times, state, covariance)
_SM_GAUSS_MARKOV = 0  # 6 values
_SM_BIASES = 6  # 4 values
_SM_BIASES_DRAWN = 10
_SM_STARTED = 11
_SM_LAST_UPDATE_T = 12
_SM_LAST_REPORT_T = 13
_SM_REPORT = 14  # 6 values: the last report's absolute state (untracked ADS-B)
_SM_X = 20  # 6 values
_SM_P = 26  # 36 values
REFERENCE_SURVEILLANCE_MEMORY_SIZE = 62


@njit(cache=True)
def perception_buffers():
    """(stream, report, z, measured, R, P) scratch arrays of the reference surveillance and tracker."""
    return (
        np.empty(STREAM_SIZE, dtype=np.uint64),
        np.zeros(sk.RADAR_MEASUREMENT_SIZE),
        np.zeros(tk.TRACK_SIZE),
        np.zeros(tk.TRACK_SIZE, dtype=np.bool_),
        np.zeros((tk.TRACK_SIZE, tk.TRACK_SIZE)),
        np.zeros((tk.TRACK_SIZE, tk.TRACK_SIZE)),
    )


@njit(cache=True)
def draw_altimetry(seed, encounter_id, own_up_ft, intruder_up_ft, altimetry, stream, biases):
    """The encounter's altimetry biases (ft) into ``biases`` (2,): ownship, intruder; zero when off."""
    biases[0] = 0.0
    biases[1] = 0.0
    if altimetry[ALT_ON] == 0.0:
        return
    out = np.empty(sk.ALTIMETRY_OUT_SIZE)
    sk.altimetry_biases(seed, encounter_id, own_up_ft, intruder_up_ft, altimetry[2:], stream, out)
    biases[0] = out[0]
    biases[1] = out[1]


@njit(cache=True)
def finish_state(state):
    """Exact state (zero SUM terms), no wind: the air velocity entries equal the ground velocity."""
    for k in range(LEGACY_STATE_SIZE, STATE_SIZE):
        state[k] = 0.0
    state[16] = state[V_NORTH]
    state[17] = state[V_EAST]


@njit(cache=True)
def navigate(seed, encounter_id, step, own, own_bias_ft, navigation, memory, stream, own_seen):
    """The ownship as its logic sees it: GPS/INS errors (when on) and its altimeter's bias."""
    if navigation[NAV_ON] != 0.0:
        sk.navigation_estimate(seed, encounter_id, step, own, navigation[1:], memory, stream, own_seen)
        finish_state(own_seen)
    else:
        own_seen[:] = own
    own_seen[UP] += own_bias_ft


def call_surveillance(model, seed, encounter_id, step, own, intruder, own_seen, biases, params, memory, seen):
    """``model(seed, encounter_id, step, own, intruder, own_seen, biases, params, memory, seen)`` for a compiled
    user model, or the reference model of id ``model`` (Numba specialises on which: see the overload)."""
    return model(seed, encounter_id, step, own, intruder, own_seen, biases, params, memory, seen)


@overload(call_surveillance)
def _call_surveillance_overload(model, seed, encounter_id, step, own, intruder, own_seen, biases, params, memory, seen):
    if not isinstance(model, types.Integer):

        def call_function(model, seed, encounter_id, step, own, intruder, own_seen, biases, params, memory, seen):
            return model(seed, encounter_id, step, own, intruder, own_seen, biases, params, memory, seen)

        return call_function

    def call_reference(model, seed, encounter_id, step, own, intruder, own_seen, biases, params, memory, seen):
        return reference_surveillance(
            model, seed, encounter_id, step, own, intruder, own_seen, biases, params, memory, seen
        )

    return call_reference


@njit(cache=True)
def reference_surveillance(model_id, seed, encounter_id, step, own, intruder, own_seen, biases, params, memory, seen):
    """A reference sensor (ADS-B, radar, active surveillance) at ``step``, through the tracker or not.

    ``params`` is the sensor's parameter array (`encsim.sensors` ``as_array``) followed by the report
    stride (steps between reports) and the `tracker_array` settings. Returns True when the logic
    has a track of the intruder (``seen`` written), False when it has none (never reported, or
    not reported for longer than the maximum coast time).
    """
    n_tracker = TRACKER_SETTINGS_SIZE
    tracker = params[params.shape[0] - n_tracker :]
    stride = int(params[params.shape[0] - n_tracker - 1])
    sensor = params[: params.shape[0] - n_tracker - 1]
    stream, report, z, measured, R, P = perception_buffers()
    t_s = 0.1 * step
    valid = False
    if step % stride == 0:
        valid = _report(
            model_id,
            seed,
            encounter_id,
            step,
            own,
            intruder,
            own_seen,
            biases,
            sensor,
            memory,
            stream,
            report,
            z,
            measured,
            R,
        )
    if tracker[TRK_ON] != 0.0:
        return _track(t_s, valid, z, measured, R, tracker, memory, P, seen)
    return _hold(t_s, valid, z, tracker[TRK_MAX_COAST], memory, seen)


@njit(cache=True)
def _report(
    model_id, seed, encounter_id, step, own, intruder, own_seen, biases, sensor, memory, stream, report, z, measured, R
):
    """One sensor report as a measurement of the intruder's absolute state in the ownship's navigation frame.

    ``z`` (north, east, up, v_north, v_east, v_up), ``measured`` (which of them) and their covariance
    ``R``; False when the sensor reports nothing at this step. Radar and active surveillance
    measure the intruder relative to the ownship: their position is the ownship's navigated one
    plus the measured offset, turned by the navigated heading.
    """
    for k in range(tk.TRACK_SIZE):
        measured[k] = False
        for j in range(tk.TRACK_SIZE):
            R[k, j] = 0.0
    if model_id == ADSB:
        sk.adsb_report(
            seed, encounter_id, step, own, intruder, biases[1], sensor, memory[_SM_GAUSS_MARKOV:], stream, report
        )
        if report[0] == 0.0:
            return False
        variances = (
            sensor[sk._A_POS_SD] ** 2,
            sensor[sk._A_POS_SD] ** 2,
            max(sensor[sk._A_ALT_Q] ** 2 / 12.0, 1.0),
            sensor[sk._A_VEL_SD] ** 2,
            sensor[sk._A_VEL_SD] ** 2,
            max(2.0 * sensor[sk._A_VRATE_B] ** 2, 1e-4),
        )
        for k in range(tk.TRACK_SIZE):
            z[k] = report[1 + k]
            measured[k] = True
            R[k, k] = variances[k]
        return True
    if memory[_SM_BIASES_DRAWN] == 0.0:
        if model_id == RADAR:
            sk.radar_biases(seed, encounter_id, sensor, stream, memory[_SM_BIASES:])
        else:
            sk.active_biases(seed, encounter_id, sensor, stream, memory[_SM_BIASES:])
        memory[_SM_BIASES_DRAWN] = 1.0
    if model_id == RADAR:
        sk.radar_measurement(seed, encounter_id, step, own, intruder, sensor, memory[_SM_BIASES:], stream, report)
        if report[0] == 0.0:
            return False
        distance, elevation = report[1], report[4]
        bearing = own_seen[HEADING] + report[3]
        horizontal = distance * math.cos(elevation)
        z[0] = own_seen[0] + horizontal * math.cos(bearing)
        z[1] = own_seen[1] + horizontal * math.sin(bearing)
        z[2] = own_seen[UP] + distance * math.sin(elevation)
        var_range = sensor[sk._R_RANGE_SD] ** 2 + sensor[sk._R_RANGE_BIAS] ** 2 / 3.0
        var_azimuth = sensor[sk._R_AZ_SD] ** 2 + sensor[sk._R_AZ_BIAS] ** 2 / 3.0
        var_elevation = sensor[sk._R_EL_SD] ** 2 + sensor[sk._R_EL_BIAS] ** 2 / 3.0
        tk.polar_position_covariance(distance, bearing, elevation, var_range, var_azimuth, var_elevation, R)
    else:
        sk.active_measurement(
            seed, encounter_id, step, own, intruder, biases[1], sensor, memory[_SM_BIASES:], stream, report
        )
        if report[0] == 0.0:
            return False
        distance, altitude = report[1], report[3]
        bearing = own_seen[HEADING] + report[2]
        relative_up = altitude - own_seen[UP]
        horizontal = math.sqrt(max(distance * distance - relative_up * relative_up, 0.0))
        z[0] = own_seen[0] + horizontal * math.cos(bearing)
        z[1] = own_seen[1] + horizontal * math.sin(bearing)
        z[2] = altitude
        elevation = math.asin(max(-1.0, min(1.0, relative_up / distance))) if distance > 0.0 else 0.0
        bearing_sd, _ = sk.bearing_error_sd_and_bound(sensor, elevation)
        var_range = sensor[sk._S_RANGE_SD] ** 2 + sensor[sk._S_RANGE_BIAS] ** 2 / 3.0
        tk.polar_position_covariance(distance, bearing, 0.0, var_range, bearing_sd * bearing_sd, 0.0, R)
        for k in range(3):
            R[2, k] = 0.0
            R[k, 2] = 0.0
        R[2, 2] = max(sensor[sk._S_ALT_Q] ** 2 / 12.0, 1.0)
    for k in range(3):
        measured[k] = True
    return True


@njit(cache=True)
def _track(t_s, valid, z, measured, R, tracker, memory, P, seen):
    """The constant-velocity Kalman tracker: start, predict, update; its covariance fills the SUM terms."""
    x = memory[_SM_X : _SM_X + tk.TRACK_SIZE]
    started = memory[_SM_STARTED] != 0.0
    coasted_out = started and t_s - memory[_SM_LAST_REPORT_T] > tracker[TRK_MAX_COAST]
    if valid and (not started or coasted_out):
        tk.kf_initialise(x, P, z, measured, R, tracker[TRK_INIT_POSITION_SD], tracker[TRK_INIT_VELOCITY_SD])
        memory[_SM_STARTED] = 1.0
        memory[_SM_LAST_UPDATE_T] = t_s
        memory[_SM_LAST_REPORT_T] = t_s
        _store_covariance(P, memory)
    elif started and not coasted_out:
        _load_covariance(memory, P)
        tk.kf_predict(x, P, t_s - memory[_SM_LAST_UPDATE_T], tracker[TRK_Q_HORIZONTAL], tracker[TRK_Q_VERTICAL])
        memory[_SM_LAST_UPDATE_T] = t_s
        if valid:
            tk.kf_update(x, P, z, measured, R)
            memory[_SM_LAST_REPORT_T] = t_s
        _store_covariance(P, memory)
    else:
        memory[_SM_STARTED] = 0.0
        return False
    _state_of_track(x, seen)
    tk.sum_uncertainty(P, seen[LEGACY_STATE_SIZE : LEGACY_STATE_SIZE + tk.SUM_SIZE])
    return True


@njit(cache=True)
def _store_covariance(P, memory):
    for i in range(tk.TRACK_SIZE):
        for j in range(tk.TRACK_SIZE):
            memory[_SM_P + tk.TRACK_SIZE * i + j] = P[i, j]


@njit(cache=True)
def _load_covariance(memory, P):
    for i in range(tk.TRACK_SIZE):
        for j in range(tk.TRACK_SIZE):
            P[i, j] = memory[_SM_P + tk.TRACK_SIZE * i + j]


@njit(cache=True)
def _state_of_track(x, seen):
    """A `STATE_SIZE` state from a track (or report) state x (6): heading from the ground track, no wind."""
    for k in range(tk.TRACK_SIZE):
        seen[k] = x[k]
    seen[HEADING] = math.atan2(x[4], x[3])
    seen[7] = math.sqrt(x[3] * x[3] + x[4] * x[4] + x[5] * x[5])
    finish_state(seen)


@njit(cache=True)
def _hold(t_s, valid, z, max_coast_s, memory, seen):
    """Untracked reports: the last report (position and velocity) flown on at its velocity, up to the maximum coast."""
    if valid:
        for k in range(tk.TRACK_SIZE):
            memory[_SM_REPORT + k] = z[k]
        memory[_SM_STARTED] = 1.0
        memory[_SM_LAST_REPORT_T] = t_s
    if memory[_SM_STARTED] == 0.0:
        return False
    age = t_s - memory[_SM_LAST_REPORT_T]
    if age > max_coast_s:
        memory[_SM_STARTED] = 0.0
        return False
    for k in range(3):
        seen[k] = memory[_SM_REPORT + k] + age * memory[_SM_REPORT + 3 + k]
        seen[3 + k] = memory[_SM_REPORT + 3 + k]
    seen[HEADING] = math.atan2(seen[V_EAST], seen[V_NORTH])
    seen[7] = math.sqrt(seen[V_NORTH] ** 2 + seen[V_EAST] ** 2 + seen[V_UP] ** 2)
    finish_state(seen)
    return True


def model_id(model):
    """The id of a reference model (an integer), or -1 for a compiled user model (see the overload)."""
    return model if isinstance(model, int) else -1


@overload(model_id)
def _model_id_overload(model):
    if isinstance(model, types.Integer):
        return lambda model: model
    return lambda model: -1


@njit(cache=True)
def tcas_complies(seed, encounter_id, step, probability_noncompliance, stream):
    """Whether the standard pilot follows the advisories of this run (drawn at its first guidance)."""
    return pk.tcas_pilot_complies(seed, encounter_id, step, probability_noncompliance, stream)


def call_pilot(model, seed, encounter_id, step, own_seen, advisory, params, memory, command):
    """``model(seed, encounter_id, step, own_seen, advisory, params, memory, command)`` for a compiled user
    pilot, or the reference pilot of id ``model`` (Numba specialises on which: see the overload)."""
    model(seed, encounter_id, step, own_seen, advisory, params, memory, command)


@overload(call_pilot)
def _call_pilot_overload(model, seed, encounter_id, step, own_seen, advisory, params, memory, command):
    if not isinstance(model, types.Integer):

        def call_function(model, seed, encounter_id, step, own_seen, advisory, params, memory, command):
            model(seed, encounter_id, step, own_seen, advisory, params, memory, command)

        return call_function

    def call_reference(model, seed, encounter_id, step, own_seen, advisory, params, memory, command):
        r6_pilot(seed, encounter_id, step, own_seen, advisory, params, memory, command)

    return call_reference


@njit(cache=True, inline="always")
def guidance_computed(advisory, dimension):
    """Whether a logic computed bands in ``dimension``: a region other than UNKNOWN and at least one band
    (bands cover the whole range of a dimension, so a block without any holds no guidance: a logic that
    zeroes its whole advisory leaves that)."""
    return (
        advisory[guidance_index(dimension, G_REGION)] != REGION_UNKNOWN
        and advisory[guidance_index(dimension, G_N_BANDS)] > 0.0
    )


@njit(cache=True)
def r6_guidance(advisory, own, resolutions, preferred):
    """The R6 pilot's view of an advisory: its level (4 when a dimension is in recovery), the resolutions
    (heading left, right rad; altitude down, up ft) and preferred directions (horizontal, vertical).

    A dimension without bands (`guidance_computed`) has no resolutions. A logic that computes no
    direction bands but guides in heading through the legacy entries (horizontal mode 1) is read as
    having one resolution, its target heading, on the side it turns to, and that side preferred:
    today's logics keep working with the R6 pilot.
    """
    level = int(advisory[LEVEL])
    for index in range(2):
        dimension = DIRECTION if index == 0 else ALTITUDE
        computed = guidance_computed(advisory, dimension)
        if computed and advisory[guidance_index(dimension, G_REGION)] == REGION_RECOVERY:
            level = 4
        if computed and advisory[guidance_index(dimension, G_RECOVERY)] != 0.0:
            level = 4
        low = advisory[guidance_index(dimension, G_RESOLUTION_LOW)]
        up = advisory[guidance_index(dimension, G_RESOLUTION_UP)]
        resolutions[2 * index] = low if computed else np.nan
        resolutions[2 * index + 1] = up if computed else np.nan
        preferred[index] = advisory[guidance_index(dimension, G_PREFERRED)] if computed else 0.0
    if not guidance_computed(advisory, DIRECTION) and advisory[HORIZONTAL_MODE] > 0.0:
        turn = pk._wrap_pi(advisory[TARGET_HEADING] - own[HEADING])
        side = 1.0 if turn >= 0.0 else -1.0
        resolutions[0] = np.nan if side > 0.0 else advisory[TARGET_HEADING]
        resolutions[1] = advisory[TARGET_HEADING] if side > 0.0 else np.nan
        preferred[0] = side
    return min(max(level, 0), pk.N_LEVELS - 1)


@njit(cache=True)
def r6_pilot(seed, encounter_id, step, own_seen, advisory, params, memory, command):
    """The R6 UAS pilot at a decision (`encsim.pilots`): reads the guidance, commands a heading or an altitude."""
    resolutions = np.empty(pk.RESOLUTION_SIZE)
    preferred = np.empty(2)
    level = r6_guidance(advisory, own_seen, resolutions, preferred)
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    r6 = np.empty(pk.COMMAND_SIZE)
    pk.r6_step(seed, encounter_id, step, level, resolutions, preferred, own_seen, params, memory, stream, r6)
    for k in range(PILOT_COMMAND_SIZE):
        command[k] = 0.0
    if r6[pk.CMD_ACTIVE] == 0.0:
        return
    if r6[pk.CMD_DIMENSION] == pk.HORIZONTAL:
        command[PC_HORIZONTAL_MODE] = 1.0
        command[PC_TARGET_HEADING] = r6[pk.CMD_HEADING]
    else:
        command[PC_VERTICAL_MODE] = PC_VERTICAL_ALTITUDE
        command[PC_VERTICAL_TARGET] = r6[pk.CMD_ALTITUDE]
