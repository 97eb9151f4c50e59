"""Numba kernels of the pilot models (private): the MIT LL UAS heuristic operator model (R6).

The R6 pilot is a pure decision component. Called at each decision time (1 Hz) with the
logic's alert level, the resolutions on both sides of each dimension (the nearest conflict-free
heading to the left and to the right, the nearest conflict-free altitude below and above), the
logic's preferred direction per dimension, the ownship's state and its own memory, it returns a
commanded target (heading or altitude) once its delays have run out. The closed loop flies the
target (turn rate, vertical rate) and calls it again.

Timeline: the alert reaching the trigger level starts the initial delay (min + exponential);
then a coordination delay (min + gamma) after which the pilot decides: which dimension (the
probability of turning depends on the ownship's vertical rate and the alert level), which
direction (the logic's preferred one with ``p_follow``, otherwise left with ``p_left`` /
down with ``p_descend``; a side without a resolution is never chosen when the other has one),
and how far (the distance to the band edge on that side plus a gamma-distributed extra with a
negative offset, the sum never below 0, so the manoeuvre never reverses). The target is
commanded after an execution delay (min + exponential). While manoeuvring, the pilot looks
again at update intervals (min + exponential, by alert level): if the band edge on its side has
moved past its target, it picks a new magnitude on the same side. Turns are at most 180 deg. The
manoeuvre ends ``alert_hold_s`` after the last decision that saw the alert at the trigger level
(the closed loop then resumes the nominal path).

Random draws: the pilot sub-stream (6) of the encounter, one slot per (10-Hz step, component)
(`encsim.model_streams`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..model_streams import (
    STREAM_SIZE,
    SUB_STREAM_PILOT,
    draw_exponential,
    draw_gamma,
    draw_uniform,
    slot_init,
)

# components of the pilot sub-stream (6)
INITIAL_DELAY, COORDINATION_DELAY, EXECUTION_DELAY, UPDATE_INTERVAL = 1, 2, 3, 4
DIMENSION, FOLLOW, DIRECTION, MAGNITUDE, TCAS_COMPLIANCE = 5, 6, 7, 8, 9

# alert levels the pilot knows: encsim's 0 none, 1 preventive, 2 corrective, 3 warning, plus 4
# recovery (no conflict-free resolution: DAIDALUS's recovery bands)
N_LEVELS = 5
# parameter layout
(
    _DETERMINISTIC,
    _TRIGGER,
    _HOLD,
    _INIT_MIN,
    _INIT_MEAN,
    _COORD_MIN,
    _COORD_SHAPE,
    _COORD_SCALE,
    _EXEC_MIN,
    _EXEC_MEAN,
    _P_FOLLOW,
    _P_LEFT,
    _P_DESCEND,
    _TURN_SHAPE,
    _TURN_SCALE,
    _TURN_OFFSET,
    _ALT_TURN_SHAPE,
    _ALT_TURN_SCALE,
    _ALT_TURN_OFFSET,
    _ALTITUDE_SHAPE,
    _ALTITUDE_SCALE,
    _ALTITUDE_OFFSET,
    _VRATE_THRESHOLD,
) = range(23)
_UPDATE_MIN = 23  # N_LEVELS values
_UPDATE_MEAN = _UPDATE_MIN + N_LEVELS
_P_TURN = _UPDATE_MEAN + N_LEVELS  # 3 x 3: vertical-rate class (<= 0, <= threshold, above) x level column
R6_PARAMS_SIZE = _P_TURN + 9

# resolutions and preferred directions
HEADING_LEFT, HEADING_RIGHT, ALTITUDE_DOWN, ALTITUDE_UP = range(4)
RESOLUTION_SIZE = 4
PREFERRED_HORIZONTAL, PREFERRED_VERTICAL = range(2)
# command: active, dimension (0 none, 1 horizontal, 2 vertical), target heading rad, target
# altitude ft, direction (-1 left / down, +1 right / up)
CMD_ACTIVE, CMD_DIMENSION, CMD_HEADING, CMD_ALTITUDE, CMD_DIRECTION = range(5)
COMMAND_SIZE = 5
HORIZONTAL, VERTICAL = 1, 2
# memory
IDLE, INITIAL, COORDINATING, EXECUTING, MANOEUVRING = range(5)
(
    _M_PHASE,
    _M_PHASE_END,
    _M_DIMENSION,
    _M_DIRECTION,
    _M_HEADING,
    _M_ALTITUDE,
    _M_NEXT_UPDATE,
    _M_LAST_ALERT,
    _M_FOLLOWED,
) = range(9)
R6_MEMORY_SIZE = 9

_HEADING, _UP, _V_UP = 6, 2, 5
_TWO_PI = 2.0 * math.pi


@njit(cache=True)
def draw_initial_delay(params, stream, seed, encounter_id, step):
    slot_init(stream, seed, encounter_id, SUB_STREAM_PILOT, step, INITIAL_DELAY)
    return params[_INIT_MIN] + draw_exponential(stream, params[_INIT_MEAN])


@njit(cache=True)
def draw_coordination_delay(params, stream, seed, encounter_id, step):
    slot_init(stream, seed, encounter_id, SUB_STREAM_PILOT, step, COORDINATION_DELAY)
    return params[_COORD_MIN] + draw_gamma(stream, params[_COORD_SHAPE], params[_COORD_SCALE])


@njit(cache=True)
def draw_execution_delay(params, stream, seed, encounter_id, step):
    slot_init(stream, seed, encounter_id, SUB_STREAM_PILOT, step, EXECUTION_DELAY)
    return params[_EXEC_MIN] + draw_exponential(stream, params[_EXEC_MEAN])


@njit(cache=True)
def draw_update_interval(params, level, stream, seed, encounter_id, step):
    """Time to the pilot's next look: min + exponential(mean) by level; min + mean when deterministic."""
    minimum = params[_UPDATE_MIN + level]
    mean = params[_UPDATE_MEAN + level]
    if params[_DETERMINISTIC] != 0.0:
        return minimum + mean
    slot_init(stream, seed, encounter_id, SUB_STREAM_PILOT, step, UPDATE_INTERVAL)
    return minimum + draw_exponential(stream, mean)


@njit(cache=True)
def delays_batch(seed, encounter_ids, step, params, out):
    """The three delays each encounter's pilot would draw at ``step`` (n, 3): for the statistics."""
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    for e in range(encounter_ids.shape[0]):
        out[e, 0] = draw_initial_delay(params, stream, seed, encounter_ids[e], step)
        out[e, 1] = draw_coordination_delay(params, stream, seed, encounter_ids[e], step)
        out[e, 2] = draw_execution_delay(params, stream, seed, encounter_ids[e], step)


@njit(cache=True, inline="always")
def _wrap_pi(angle):
    return (angle + math.pi) % _TWO_PI - math.pi


@njit(cache=True)
def turn_to_edge_rad(heading, edge, direction):
    """Turn (>= 0) from ``heading`` to ``edge`` in ``direction`` (+1 right); 0 if the edge is behind."""
    delta = (direction * (edge - heading)) % _TWO_PI
    return delta if delta <= math.pi else 0.0


@njit(cache=True)
def _vertical_rate_class(params, v_up_fps):
    if v_up_fps <= 0.0:
        return 0
    return 1 if v_up_fps <= params[_VRATE_THRESHOLD] else 2


@njit(cache=True)
def _choose_dimension(params, level, own, has_horizontal, has_vertical, stream, seed, encounter_id, step):
    if not has_vertical:
        return HORIZONTAL
    if not has_horizontal:
        return VERTICAL
    column = min(max(level, 1), 3) - 1
    p_turn = params[_P_TURN + 3 * _vertical_rate_class(params, own[_V_UP]) + column]
    slot_init(stream, seed, encounter_id, SUB_STREAM_PILOT, step, DIMENSION)
    return HORIZONTAL if draw_uniform(stream) < p_turn else VERTICAL


@njit(cache=True)
def _choose_direction(params, dimension, resolutions, preferred, stream, seed, encounter_id, step):
    """(direction, followed): the preferred side with p_follow, else a free choice; never a side without resolution."""
    low = HEADING_LEFT if dimension == HORIZONTAL else ALTITUDE_DOWN
    has_low = not math.isnan(resolutions[low])
    has_high = not math.isnan(resolutions[low + 1])
    wanted = preferred[PREFERRED_HORIZONTAL if dimension == HORIZONTAL else PREFERRED_VERTICAL]
    slot_init(stream, seed, encounter_id, SUB_STREAM_PILOT, step, FOLLOW)
    follow = draw_uniform(stream) < params[_P_FOLLOW]
    followed = follow and wanted != 0.0
    if followed:
        direction = 1.0 if wanted > 0.0 else -1.0
    else:
        slot_init(stream, seed, encounter_id, SUB_STREAM_PILOT, step, DIRECTION)
        p_low = params[_P_LEFT] if dimension == HORIZONTAL else params[_P_DESCEND]
        direction = -1.0 if draw_uniform(stream) < p_low else 1.0
    if direction < 0.0 and not has_low:
        direction = 1.0
    elif direction > 0.0 and not has_high:
        direction = -1.0
    return direction, followed


@njit(cache=True)
def _target(params, dimension, direction, followed, resolutions, own, stream, seed, encounter_id, step, memory):
    """Set the target of the chosen side: band edge plus a gamma extra, never reversing."""
    slot_init(stream, seed, encounter_id, SUB_STREAM_PILOT, step, MAGNITUDE)
    if dimension == HORIZONTAL:
        edge = resolutions[HEADING_LEFT] if direction < 0.0 else resolutions[HEADING_RIGHT]
        if followed:
            shape, scale, offset = params[_TURN_SHAPE], params[_TURN_SCALE], params[_TURN_OFFSET]
        else:
            shape, scale, offset = params[_ALT_TURN_SHAPE], params[_ALT_TURN_SCALE], params[_ALT_TURN_OFFSET]
        turn = turn_to_edge_rad(own[_HEADING], edge, direction) + offset + draw_gamma(stream, shape, scale)
        # never the other way: at least 0, at most half a turn (a larger one reads as a turn the other way)
        turn = min(max(turn, 0.0), math.pi)
        memory[_M_HEADING] = _wrap_pi(own[_HEADING] + direction * turn)
        memory[_M_ALTITUDE] = own[_UP]
    else:
        edge = resolutions[ALTITUDE_DOWN] if direction < 0.0 else resolutions[ALTITUDE_UP]
        to_edge = max(direction * (edge - own[_UP]), 0.0)
        extra = params[_ALTITUDE_OFFSET] + draw_gamma(stream, params[_ALTITUDE_SHAPE], params[_ALTITUDE_SCALE])
        memory[_M_ALTITUDE] = own[_UP] + direction * max(to_edge + extra, 0.0)
        memory[_M_HEADING] = own[_HEADING]


@njit(cache=True)
def _decide(params, level, resolutions, preferred, own, memory, stream, seed, encounter_id, step):
    """Dimension, direction and target; False when no resolution exists on any side yet."""
    has_horizontal = not (math.isnan(resolutions[HEADING_LEFT]) and math.isnan(resolutions[HEADING_RIGHT]))
    has_vertical = not (math.isnan(resolutions[ALTITUDE_DOWN]) and math.isnan(resolutions[ALTITUDE_UP]))
    if not (has_horizontal or has_vertical):
        return False
    dimension = _choose_dimension(params, level, own, has_horizontal, has_vertical, stream, seed, encounter_id, step)
    direction, followed = _choose_direction(params, dimension, resolutions, preferred, stream, seed, encounter_id, step)
    memory[_M_DIMENSION] = dimension
    memory[_M_DIRECTION] = direction
    memory[_M_FOLLOWED] = 1.0 if followed else 0.0
    _target(params, dimension, direction, followed, resolutions, own, stream, seed, encounter_id, step, memory)
    return True


@njit(cache=True)
def _edge_passed_target(memory, resolutions, own):
    """True when the band edge on the pilot's side now lies beyond its target (it must go further)."""
    direction = memory[_M_DIRECTION]
    if memory[_M_DIMENSION] == HORIZONTAL:
        edge = resolutions[HEADING_LEFT] if direction < 0.0 else resolutions[HEADING_RIGHT]
        if math.isnan(edge):
            return False
        return turn_to_edge_rad(memory[_M_HEADING], edge, direction) > 0.0
    edge = resolutions[ALTITUDE_DOWN] if direction < 0.0 else resolutions[ALTITUDE_UP]
    if math.isnan(edge):
        return False
    return direction * (edge - memory[_M_ALTITUDE]) > 0.0


@njit(cache=True)
def r6_step(seed, encounter_id, step, level, resolutions, preferred, own, params, memory, stream, command):
    """One decision of the R6 pilot at the 10-Hz ``step`` (call it at 1 Hz).

    Parameters
    ----------
    level : int
        0 none, 1 preventive, 2 corrective, 3 warning, 4 recovery.
    resolutions : ndarray (4,)
        Heading left, heading right (rad), altitude down, altitude up (ft): the nearest
        conflict-free value on each side; NaN when that side has none.
    preferred : ndarray (2,)
        The logic's preferred direction, horizontal (-1 left, +1 right) and vertical (-1 down,
        +1 up); 0 for none.
    own : ndarray (8,)
        The ownship's state (heading, altitude and vertical rate are read).
    memory : ndarray (R6_MEMORY_SIZE,)
        Zero at the start of each run.
    command : ndarray (COMMAND_SIZE,)
        Written: active, dimension, target heading rad, target altitude ft, direction.
    """
    t_s = 0.1 * step
    trigger = params[_TRIGGER]
    if level >= trigger:
        memory[_M_LAST_ALERT] = t_s
    elif memory[_M_PHASE] != IDLE and t_s - memory[_M_LAST_ALERT] >= params[_HOLD]:
        memory[_M_PHASE] = IDLE
    phase = memory[_M_PHASE]
    if phase == IDLE and level >= trigger:
        phase = INITIAL
        memory[_M_PHASE_END] = t_s + draw_initial_delay(params, stream, seed, encounter_id, step)
    if phase == INITIAL and t_s >= memory[_M_PHASE_END]:
        phase = COORDINATING
        memory[_M_PHASE_END] = t_s + draw_coordination_delay(params, stream, seed, encounter_id, step)
    if phase == COORDINATING and t_s >= memory[_M_PHASE_END]:
        if _decide(params, level, resolutions, preferred, own, memory, stream, seed, encounter_id, step):
            phase = EXECUTING
            memory[_M_PHASE_END] = t_s + draw_execution_delay(params, stream, seed, encounter_id, step)
    if phase == EXECUTING and t_s >= memory[_M_PHASE_END]:
        phase = MANOEUVRING
        memory[_M_NEXT_UPDATE] = t_s + draw_update_interval(params, level, stream, seed, encounter_id, step)
    elif phase == MANOEUVRING and t_s >= memory[_M_NEXT_UPDATE]:
        if level >= trigger and _edge_passed_target(memory, resolutions, own):
            _target(
                params,
                int(memory[_M_DIMENSION]),
                memory[_M_DIRECTION],
                memory[_M_FOLLOWED] != 0.0,
                resolutions,
                own,
                stream,
                seed,
                encounter_id,
                step,
                memory,
            )
        memory[_M_NEXT_UPDATE] = t_s + draw_update_interval(params, level, stream, seed, encounter_id, step)
    memory[_M_PHASE] = phase
    active = phase == MANOEUVRING
    command[CMD_ACTIVE] = 1.0 if active else 0.0
    command[CMD_DIMENSION] = memory[_M_DIMENSION] if active else 0.0
    command[CMD_HEADING] = memory[_M_HEADING] if active else own[_HEADING]
    command[CMD_ALTITUDE] = memory[_M_ALTITUDE] if active else own[_UP]
    command[CMD_DIRECTION] = memory[_M_DIRECTION] if active else 0.0


@njit(cache=True)
def r6_batch(seed, encounter_id, steps, levels, resolutions, preferred, own, params, commands, phases):
    """Run the pilot over a scripted sequence of decisions (one encounter)."""
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    memory = np.zeros(R6_MEMORY_SIZE)
    for k in range(steps.shape[0]):
        r6_step(
            seed,
            encounter_id,
            steps[k],
            levels[k],
            resolutions[k],
            preferred[k],
            own[k],
            params,
            memory,
            stream,
            commands[k],
        )
        phases[k] = memory[_M_PHASE]


@njit(cache=True)
def tcas_pilot_complies(seed, encounter_id, step, probability_noncompliance, stream):
    """Whether the TCAS pilot follows the advisory issued at ``step`` (one draw of its own slot)."""
    slot_init(stream, seed, encounter_id, SUB_STREAM_PILOT, step, TCAS_COMPLIANCE)
    return draw_uniform(stream) >= probability_noncompliance


@njit(cache=True)
def tcas_compliance_batch(seed, encounter_ids, steps, probability_noncompliance, out):
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    for e in range(encounter_ids.shape[0]):
        out[e] = tcas_pilot_complies(seed, encounter_ids[e], steps[e], probability_noncompliance, stream)
