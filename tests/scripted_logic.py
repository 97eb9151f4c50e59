"""A plug-in logic whose alerts follow the clock, for tests with known answers (docs/closed_loop.md contract).

One ``@njit`` function serves every test that needs one, so the per-process closed-loop kernel is
compiled once for all of them. ``params``: the climb rate to command while alerting (ft/s; 0: no
guidance), then (start s, end s, level) triples; the reported level is the highest level whose
interval [start, end) holds the decision time. It never looks at the aircraft.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from encsim.avoidance.interface import CHANGE_COUNTER, LEVEL, TARGET_VERTICAL_RATE, VERTICAL_MODE


@njit
def scripted_logic(t_s, own, intruder, memory, params, advisory):
    level = 0.0
    for k in range(1, params.shape[0] - 2, 3):
        if params[k] <= t_s < params[k + 1]:
            level = max(level, params[k + 2])
    advisory[:] = 0.0
    advisory[LEVEL] = level
    if level >= 1.0 and params[0] != 0.0:
        advisory[VERTICAL_MODE] = 1.0
        advisory[TARGET_VERTICAL_RATE] = params[0]
        advisory[CHANGE_COUNTER] = 1.0


def scripted(climb_fps: float, *segments: tuple[float, float, float]):
    """The (function, params) pair: climb rate, then (start s, end s, level) segments."""
    return scripted_logic, np.array([climb_fps] + [value for segment in segments for value in segment])
