"""The closed loop in plain Python: the slow path for Python-object logics, and the kernel's twin.

`run_encounter` follows `encsim.simulate._kernels` step for step (same pilot rules, same order of
operations, the dynamics' step function run as plain Python), so the tests can check the Numba
kernel against it, and a logic written as a plain Python callable
``logic(t_s, own, intruder, memory, params, advisory)`` can be flown without Numba (slowly).
"""

from __future__ import annotations

import math

import numpy as np

from ..avoidance.interface import (
    ADVISORY_SIZE,
    CHANGE_COUNTER,
    HORIZONTAL_MODE,
    LEVEL,
    PC_ACCEL_G,
    PC_HORIZONTAL_MODE,
    PC_TARGET_HEADING,
    PC_TURN_RATE,
    PC_VERTICAL_MODE,
    PC_VERTICAL_RATE,
    PC_VERTICAL_TARGET,
    PILOT_COMMAND_SIZE,
    STATE_SIZE,
    TARGET_HEADING,
    TARGET_VERTICAL_RATE,
    TURN_RATE,
    UP,
    VERTICAL_MODE,
    clear_guidance,
)
from ..dynamics._kernels import step as _step_kernel
from ..metrics._predicates import inside_cylinder as _inside_cylinder
from ..units import G_FPS2
from . import _kernels, _seams

_step = _step_kernel.py_func
_state = _kernels._state.py_func
_lowc = _kernels._lowc.py_func
_slowc = _kernels._slowc.py_func
_wrap = _kernels._wrap.py_func
_observe = _kernels._observe  # the same draws: njit functions are callable from Python
_advisory_fault = _kernels.advisory_fault.py_func
_clear_guidance = clear_guidance.py_func
_no_traffic = _kernels._no_traffic.py_func
_seen_fault = _kernels._seen_fault.py_func
_pilot_command_fault = _kernels.pilot_command_fault.py_func


def _row(steps, lo, hi, i):
    """Index of the last schedule row whose step is <= i."""
    row = lo
    while row < hi - 1 and steps[row + 1] <= i:
        row += 1
    return row


def _encounter(flight, a):
    """Encounter a's initial state (7 numbers), step indices and (3, rows) commands of ``flight``."""
    rows = slice(flight.offsets[a], flight.offsets[a + 1])
    return flight.init[:, a], flight.steps[rows], flight.commands[:, rows]


def _intruder_states(init, steps, cmd, limits, n_steps, dt):
    speed, north, east, up, heading, pitch, bank = init
    states = np.empty((n_steps + 1, STATE_SIZE))
    _state(states[0], speed, north, east, up, heading, pitch)
    for i in range(1, n_steps + 1):
        r = _row(steps, 0, steps.shape[0], i - 1)
        speed, north, east, up, heading, pitch, bank = _step(
            speed, north, east, up, heading, pitch, bank, *cmd[:, r], *limits, dt
        )
        _state(states[i], speed, north, east, up, heading, pitch)
    return states


def _score(t, level, first_at_level, episode_start, shortest, level_changes, previous_level):
    """Per level k + 1 at a decision: first time at or above it, its completed episodes; level changes."""
    for k in range(len(first_at_level)):
        if level >= k + 1:
            first_at_level[k] = t if math.isnan(first_at_level[k]) else first_at_level[k]
            episode_start[k] = t if math.isnan(episode_start[k]) else episode_start[k]
        elif not math.isnan(episode_start[k]):
            shortest[k] = min(t - episode_start[k], math.inf if math.isnan(shortest[k]) else shortest[k])
            episode_start[k] = math.nan
    return level_changes + (level != previous_level), level


def _perceive_plain(
    sensor, settings, encounter_id, i, own, own_seen, intruder_states, latency_steps, stream, biases, memory, seen
):
    """The kernel's `_perceive`, step for step (the reference models' njit functions called from Python)."""
    model = int(sensor) if isinstance(sensor, (int, np.integer)) else -1
    if model in (_seams.PERFECT, _seams.NOISE):
        _observe(intruder_states, i, latency_steps, settings.surveillance, stream, seen)
        if settings.altimetry[_seams.ALT_ON] != 0.0:
            seen[UP] += biases[1]
        return True
    arguments = (settings.seed, np.uint64(encounter_id), i, own, intruder_states[i], own_seen, biases)
    if model < 0:
        return bool(sensor(*arguments, settings.surveillance, memory, seen))
    return bool(_seams.reference_surveillance(model, *arguments, settings.surveillance, memory, seen))


def _vertical_rate_target(command, altimeter_ft, fly):
    if command[PC_VERTICAL_MODE] == PC_VERTICAL_RATE:
        return command[PC_VERTICAL_TARGET]
    limit = fly[_seams.FLY_ALTITUDE_RATE]
    wanted = (command[PC_VERTICAL_TARGET] - altimeter_ft) / fly[_seams.FLY_CAPTURE_S]
    return min(max(wanted, -limit), limit)


def run_encounter(
    logic, params, ownship, intruder, settings, a, encounter_id, faults=None, recorder=None, models=None
) -> np.ndarray:
    """Encounter ``a``, nominal then mitigated; returns the row of `OUTCOME_COLUMNS`.

    ``ownship``, ``intruder`` and ``settings`` are the kernel's `Flight` and `Settings` groups;
    ``encounter_id`` keys the models' random streams; ``models`` the kernel's (surveillance, pilot)
    arguments (a reference id or a user's function each; default perfect surveillance and the
    standard pilot). ``faults`` (3,), if given, receives the first contract breach of the logic
    as the kernel's ``Outputs.faults`` row does.
    ``recorder``, if given, sees the flights as they are flown (for `encsim.replay`): its
    ``decision(mitigated, t_s, seen, advisory)`` after each decision of the logic, and its
    ``step(mitigated, i, t_s, own, intruder, active, command)`` at each 10-Hz step with the guidance the
    pilot flies (``active``, an advisory array) and the command it leads to over the next step
    (hdot fps, psidot rad/s, vdot fps^2; NaN at the last step). The arrays are reused: copy what you keep.
    """
    faults = np.zeros(3) if faults is None else faults
    from ..random import stream_init

    sensor, pilot_model = (np.int64(_seams.PERFECT), np.int64(_seams.STANDARD)) if models is None else models
    standard_pilot = isinstance(pilot_model, (int, np.integer)) and int(pilot_model) == _seams.STANDARD
    pilot, cylinder, wc, surveillance = settings.pilot, settings.nmac_ft, settings.well_clear, settings.surveillance
    n_steps, stride, dt, seed = int(settings.encounter_steps[a]), int(settings.stride), settings.dt_s, settings.seed
    own_init, own_steps, own_cmd = _encounter(ownship, a)
    int_init, int_steps, int_cmd = _encounter(intruder, a)
    limits = ownship.limits[:, a]
    intruder_states = _intruder_states(int_init, int_steps, int_cmd, intruder.limits[:, a], n_steps, dt)
    biases = np.zeros(2)
    altimetry = settings.altimetry
    _seams.draw_altimetry(
        seed, np.uint64(encounter_id), own_init[3], int_init[3], altimetry, np.empty(9, dtype=np.uint64), biases
    )
    to_truth = altimetry[_seams.ALT_ON] != 0.0 and altimetry[_seams.ALT_TO_TRUTH] != 0.0
    if to_truth:
        intruder_states[:, UP] -= biases[1]
    altimeter_offset = biases[0] if altimetry[_seams.ALT_ON] != 0.0 and not to_truth else 0.0
    fly = settings.fly
    out = np.full(len(_kernels.OUTCOME_COLUMNS), np.nan)
    nominal_path = np.empty((n_steps + 1, 3))
    for mitigated in (False, True):
        speed, north, east, up, heading, pitch, bank = own_init
        own, own_seen, seen = np.empty(STATE_SIZE), np.empty(STATE_SIZE), np.empty(STATE_SIZE)
        stream = np.empty(9, dtype=np.uint64)
        stream_init(
            stream, np.uint64(seed), np.uint64(encounter_id), np.uint64(_kernels.SURVEILLANCE_SUB_STREAM), np.uint64(0)
        )
        model_stream = np.empty(9, dtype=np.uint64)
        latency_steps = int(round(surveillance[4] / dt))
        memory, advisory = np.zeros(int(settings.memory_size)), np.zeros(ADVISORY_SIZE)
        navigation_memory = np.zeros(_seams.NAVIGATION_MEMORY_SIZE)
        surveillance_memory = np.zeros(int(settings.surveillance_memory_size))
        pilot_memory, command = np.zeros(int(settings.pilot_memory_size)), np.zeros(PILOT_COMMAND_SIZE)
        complies, compliance_drawn, flying_vertical = True, False, False
        _clear_guidance(advisory)
        pending, active = np.zeros(ADVISORY_SIZE), np.zeros(ADVISORY_SIZE)
        has_pending, responded, pending_time, accel, hdot_pilot = False, False, 0.0, 0.0, 0.0
        best, vmd, nmac, lowc, t_lowc = math.inf, 0.0, False, False, math.nan
        alerted, t_alert, first_level, max_level, t_manoeuvre, deviation = False, math.nan, 0.0, 0.0, math.nan, 0.0
        faulty = False
        slowc = 0.0
        levels = _kernels.N_ALERT_LEVELS
        first_at_level, episode_start, shortest = [math.nan] * levels, [math.nan] * levels, [math.nan] * levels
        level_changes, previous_level = 0, 0.0
        for i in range(n_steps + 1):
            t = i * dt
            _state(own, speed, north, east, up, heading, pitch)
            if to_truth:
                own[UP] -= biases[0]
            other = intruder_states[i]
            horizontal = math.sqrt((other[0] - own[0]) ** 2 + (other[1] - own[1]) ** 2)
            vertical = other[2] - own[2]
            if horizontal < best:
                best, vmd = horizontal, abs(vertical)
            nmac |= _inside_cylinder(horizontal, vertical, cylinder[0], cylinder[1])
            if not lowc and _lowc(own, other, wc):
                lowc, t_lowc = True, t
            slowc = max(slowc, _slowc(own, other, wc))
            if mitigated:
                # the kernel's sum of squares, not math.dist (rounded differently): the replay's outcome is exact
                nominal = nominal_path[i]
                deviation = max(
                    deviation,
                    math.sqrt((north - nominal[0]) ** 2 + (east - nominal[1]) ** 2 + (up - nominal[2]) ** 2),
                )
            else:
                nominal_path[i] = (north, east, up)
            if i % stride == 0:  # a decision (open loop in the nominal run: nobody responds)
                exact_own = settings.navigation[_seams.NAV_ON] == 0.0 and altimetry[_seams.ALT_ON] == 0.0
                _seams.navigate(
                    seed,
                    np.uint64(encounter_id),
                    i,
                    own,
                    biases[0],
                    settings.navigation,
                    navigation_memory,
                    model_stream,
                    own_seen,
                )
                tracked = _perceive_plain(
                    sensor,
                    settings,
                    encounter_id,
                    i,
                    own,
                    own_seen,
                    intruder_states,
                    latency_steps,
                    stream,
                    biases,
                    surveillance_memory,
                    seen,
                )
                truth_model = isinstance(sensor, (int, np.integer)) and int(sensor) in (_seams.PERFECT, _seams.NOISE)
                code, value = _seen_fault(seen) if tracked and not truth_model else (0, 0.0)
                own_seen = own.copy() if exact_own else own_seen
                if tracked and code == 0:
                    logic(t, own_seen, seen, memory, params if mitigated else settings.open_loop_params, advisory)
                elif code == 0:
                    _no_traffic(advisory)
                if code == 0:
                    code, value = _advisory_fault(advisory)
                if code != 0:
                    faults[:] = (code, t, value)
                    faulty = True
                    break
                if recorder is not None:
                    recorder.decision(mitigated, t, seen, advisory)
                level = advisory[LEVEL]
                if mitigated:
                    if level >= 1.0 and not alerted:
                        alerted, t_alert, first_level = True, t, level
                    max_level = max(max_level, level)
                level_changes, previous_level = _score(
                    t, level, first_at_level, episode_start, shortest, level_changes, previous_level
                )
                if mitigated and standard_pilot:
                    reference = pending if has_pending else active
                    changed = (
                        advisory[VERTICAL_MODE] != reference[VERTICAL_MODE]
                        or advisory[HORIZONTAL_MODE] != reference[HORIZONTAL_MODE]
                        or advisory[CHANGE_COUNTER] != reference[CHANGE_COUNTER]
                    )
                    guidance = advisory[VERTICAL_MODE] > 0 or advisory[HORIZONTAL_MODE] > 0
                    noncompliance = fly[_seams.FLY_NONCOMPLIANCE]
                    if guidance and noncompliance > 0.0 and not compliance_drawn:
                        compliance_drawn = True
                        complies = _seams.tcas_complies(seed, np.uint64(encounter_id), i, noncompliance, model_stream)
                    if not changed:
                        for k in (TARGET_VERTICAL_RATE, TARGET_HEADING, TURN_RATE):
                            reference[k] = advisory[k]
                    elif complies:
                        pending[:] = advisory
                        has_pending = True
                        if not guidance:
                            pending_time = t
                        else:
                            pending_time = t + (pilot[1] if responded else pilot[0])
                elif mitigated:
                    pilot_arguments = (seed, np.uint64(encounter_id), i, own_seen, advisory, settings.pilot_params)
                    if isinstance(pilot_model, (int, np.integer)):
                        _seams.r6_pilot(*pilot_arguments, pilot_memory, command)
                    else:
                        pilot_model(*pilot_arguments, pilot_memory, command)
                    code, value = _pilot_command_fault(command)
                    if code != 0:
                        faults[:] = (code, t, value)
                        faulty = True
                        break
                    if not responded and (command[PC_HORIZONTAL_MODE] > 0 or command[PC_VERTICAL_MODE] > 0):
                        responded, t_manoeuvre = True, t
            if mitigated and standard_pilot and has_pending and t >= pending_time - 1e-9:
                active[:] = pending
                has_pending = False
                if active[VERTICAL_MODE] > 0 or active[HORIZONTAL_MODE] > 0:
                    accel = (pilot[3] if responded else pilot[2]) * G_FPS2
                    if not responded:
                        responded, t_manoeuvre = True, t
                    hdot_pilot = speed * math.sin(pitch)
            flown = active if standard_pilot else _command_as_advisory(command, up + altimeter_offset, fly, active)
            if i == n_steps:
                if recorder is not None:
                    recorder.step(mitigated, i, t, own, other, flown, (math.nan, math.nan, math.nan))
                break
            r = _row(own_steps, 0, own_steps.shape[0], i)
            hdot_cmd, psidot_cmd, vdot_cmd = own_cmd[:, r]
            if mitigated and standard_pilot:
                if active[VERTICAL_MODE] > 0:
                    hdot_pilot += min(max(active[TARGET_VERTICAL_RATE] - hdot_pilot, -accel * dt), accel * dt)
                    hdot_cmd = hdot_pilot
                if active[HORIZONTAL_MODE] > 0:
                    rate = active[TURN_RATE] if active[TURN_RATE] > 0 else pilot[4]
                    psidot_cmd = min(max(_wrap(active[TARGET_HEADING] - heading), -rate), rate)
            elif mitigated:
                if command[PC_VERTICAL_MODE] > 0:
                    if not flying_vertical:
                        hdot_pilot = speed * math.sin(pitch)
                        flying_vertical = True
                    target_rate = _vertical_rate_target(command, up + altimeter_offset, fly)
                    accel = (command[PC_ACCEL_G] if command[PC_ACCEL_G] > 0 else pilot[2]) * G_FPS2
                    hdot_pilot += min(max(target_rate - hdot_pilot, -accel * dt), accel * dt)
                    hdot_cmd = hdot_pilot
                else:
                    flying_vertical = False
                if command[PC_HORIZONTAL_MODE] > 0:
                    rate = command[PC_TURN_RATE] if command[PC_TURN_RATE] > 0 else pilot[4]
                    psidot_cmd = min(max(_wrap(command[PC_TARGET_HEADING] - heading), -rate), rate)
            if recorder is not None:
                recorder.step(mitigated, i, t, own, other, flown, (hdot_cmd, psidot_cmd, vdot_cmd))
            speed, north, east, up, heading, pitch, bank = _step(
                speed, north, east, up, heading, pitch, bank, hdot_cmd, psidot_cmd, vdot_cmd, *limits, dt
            )
        base = 5 if mitigated else 0
        if not all(math.isfinite(x) for x in (north, east, up, speed)):
            faulty = True
            if mitigated and faults[0] == 0:
                faults[:] = (6, n_steps * dt, 0.0)
        out[base : base + 5] = (math.nan if faulty else best, vmd, float(nmac), float(lowc), t_lowc)
        if mitigated:
            out[10:16] = (float(alerted), t_alert, first_level, max_level, t_manoeuvre, deviation)
            out[16:23] = (*first_at_level, level_changes, *shortest)
        else:
            out[25:32] = (*first_at_level, level_changes, *shortest)
        out[23 + mitigated] = slowc
    return out


def _command_as_advisory(command, altimeter_ft, fly, out):
    """A pilot's command in the advisory entries the recorder reads (modes, target rate and heading)."""
    out[:] = 0.0
    if command[PC_VERTICAL_MODE] > 0:
        out[VERTICAL_MODE] = 1.0
        out[TARGET_VERTICAL_RATE] = _vertical_rate_target(command, altimeter_ft, fly)
    if command[PC_HORIZONTAL_MODE] > 0:
        out[HORIZONTAL_MODE] = 1.0
        out[TARGET_HEADING] = command[PC_TARGET_HEADING]
        out[TURN_RATE] = command[PC_TURN_RATE]
    return out
