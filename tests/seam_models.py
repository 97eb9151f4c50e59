"""User surveillance and pilot models for tests/test_seams.py (importable as ``seam_models:NAME``)."""

from __future__ import annotations

import numpy as np
from numba import njit

from encsim.avoidance.interface import (
    DIRECTION,
    G_N_BANDS,
    G_RESOLUTION_UP,
    LEVEL,
    PC_HORIZONTAL_MODE,
    PC_TARGET_HEADING,
    PILOT_COMMAND_SIZE,
    STATE_SIZE,
    guidance_index,
)
from encsim.model_streams import STREAM_SIZE, SUB_STREAM_SURVEILLANCE, draw_normal, slot_init


@njit
def offset_sensor(seed, encounter_id, step, own, intruder, own_seen, altitude_bias_ft, params, memory, seen):
    """The truth moved ``params[0]`` ft east plus white noise of ``params[1]`` ft; no track before ``params[2]`` s."""
    memory[0] += 1.0  # calls so far: what a model remembers lives in its memory
    if 0.1 * step < params[2]:
        return False
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    slot_init(stream, seed, encounter_id, SUB_STREAM_SURVEILLANCE, step, 100)
    for k in range(STATE_SIZE):
        seen[k] = intruder[k]
    seen[1] += params[0] + params[1] * draw_normal(stream)
    return True


offset_sensor.memory_size = 4


@njit
def nan_sensor(seed, encounter_id, step, own, intruder, own_seen, altitude_bias_ft, params, memory, seen):
    """Breaks the contract: a track with a NaN position."""
    for k in range(STATE_SIZE):
        seen[k] = intruder[k]
    seen[0] = np.nan
    return True


@njit
def turn_right_pilot(seed, encounter_id, step, own_seen, advisory, params, memory, command):
    """Turns at once, while the level is >= 2, to the right resolution (or 30 deg right) it saw first."""
    for k in range(PILOT_COMMAND_SIZE):
        command[k] = 0.0
    if advisory[LEVEL] < 2.0:
        memory[0] = 0.0
        return
    if memory[0] == 0.0:
        right = advisory[guidance_index(DIRECTION, G_RESOLUTION_UP)]
        no_bands = advisory[guidance_index(DIRECTION, G_N_BANDS)] == 0.0 or np.isnan(right)
        memory[0], memory[1] = 1.0, own_seen[6] + 0.5236 if no_bands else right
    command[PC_HORIZONTAL_MODE] = 1.0
    command[PC_TARGET_HEADING] = memory[1]


@njit
def bad_mode_pilot(seed, encounter_id, step, own_seen, advisory, params, memory, command):
    """Breaks the contract: vertical mode 5."""
    for k in range(PILOT_COMMAND_SIZE):
        command[k] = 0.0
    command[2] = 5.0


@njit
def out_of_bounds_sensor(seed, encounter_id, step, own, intruder, own_seen, altitude_bias_ft, params, memory, seen):
    """Breaks the contract after 5 s: writes past the end of ``seen`` (contained: an IndexError, fault 9)."""
    for k in range(STATE_SIZE):
        seen[k] = intruder[k]
    if step >= 50:
        seen[STATE_SIZE] = 1.0
    return True
