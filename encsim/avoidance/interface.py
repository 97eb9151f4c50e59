"""The contract between a logic under test, the pilot model and the closed-loop engine.

A fast-path logic is an ``@njit`` function

    logic(t_s, own, intruder, memory, params, advisory) -> None

called at the decision rate (1 Hz by default) inside the closed-loop kernel, with

- ``own``, ``intruder``: float64 arrays of `STATE_SIZE` = 8: north_ft, east_ft, up_ft,
  v_north_fps, v_east_fps, v_up_fps, heading_rad, speed_fps (what the logic can see);
- ``memory``: float64 array of the logic's own (`MEMORY_SIZE`), zero at the start of each run and
  kept between decisions (hysteresis, previous advisory);
- ``params``: float64 array of the logic's parameters (from its preset);
- ``advisory``: float64 array of `ADVISORY_SIZE` = 7 the logic fills: alert level (0 none,
  1 preventive/TA, 2 corrective/RA, 3 warning), vertical mode (0 none, 1 target rate), target
  vertical rate ft/s, horizontal mode (0 none, 1 target heading), target heading rad, turn rate
  rad/s (0: the pilot's), and a change counter.

The pilot reacts to a *change* after its delay (the initial delay for the first guidance, the
subsequent one afterwards): a change is a new guidance mode or a new value of the change
counter, which the logic increments when its guidance changes in a way a pilot must react to
(a new RA sense, a new turn direction, a new alert level). Between changes the targets may move
(band updates) and the pilot follows them at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

STATE_SIZE = 8
NORTH, EAST, UP, V_NORTH, V_EAST, V_UP, HEADING, SPEED = range(STATE_SIZE)
ADVISORY_SIZE = 7
LEVEL, VERTICAL_MODE, TARGET_VERTICAL_RATE, HORIZONTAL_MODE, TARGET_HEADING, TURN_RATE, CHANGE_COUNTER = range(
    ADVISORY_SIZE
)
MEMORY_SIZE = 16


@dataclass(frozen=True)
class PilotModel:
    """How a pilot flies an advisory: response delays and vertical accelerations, turn rate.

    The standard TCAS pilot: 5 s and 0.25 g for the initial advisory, 2.5 s and 0.35 g for later
    ones (a change of guidance); turns at 3 deg/s.
    """

    initial_delay_s: float = 5.0
    subsequent_delay_s: float = 2.5
    initial_accel_g: float = 0.25
    subsequent_accel_g: float = 0.35
    turn_rate_rad_s: float = math.radians(3.0)

    def as_array(self) -> np.ndarray:
        values = np.array(
            [
                self.initial_delay_s,
                self.subsequent_delay_s,
                self.initial_accel_g,
                self.subsequent_accel_g,
                self.turn_rate_rad_s,
            ],
            dtype=np.float64,
        )
        if np.any(values[:2] < 0) or np.any(values[2:] <= 0):
            raise ValueError(f"PilotModel: delays must be >= 0 and accelerations and turn rate > 0, got {values}")
        return values


@njit(cache=True)
def unequipped(t_s, own, intruder, memory, params, advisory):
    """No advisory, ever: the nominal run."""
    for k in range(advisory.shape[0]):
        advisory[k] = 0.0


@dataclass(frozen=True)
class Surveillance:
    """What the logic sees of the intruder: Gaussian errors (1 sd) and a latency.

    The default is perfect surveillance (the true state, no delay).
    """

    position_sd_ft: float = 0.0
    altitude_sd_ft: float = 0.0
    velocity_sd_fps: float = 0.0
    vertical_rate_sd_fps: float = 0.0
    latency_s: float = 0.0

    def as_array(self) -> np.ndarray:
        values = np.array(
            [self.position_sd_ft, self.altitude_sd_ft, self.velocity_sd_fps, self.vertical_rate_sd_fps, self.latency_s],
            dtype=np.float64,
        )
        if np.any(values < 0) or not np.all(np.isfinite(values)):
            raise ValueError(f"Surveillance: standard deviations and latency must be finite and >= 0, got {values}")
        return values
