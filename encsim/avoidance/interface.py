"""The contract between a logic under test, the pilot model and the closed-loop engine.

A fast-path logic is an ``@njit`` function

    logic(t_s, own, intruder, memory, params, advisory) -> None

called at the decision rate (1 Hz by default) inside the closed-loop kernel, with

- ``own``, ``intruder``: float64 arrays of `STATE_SIZE` = 18 (what the logic can see):
  0-7 north_ft, east_ft, up_ft, v_north_fps, v_east_fps, v_up_fps, heading_rad, speed_fps;
  8-15 the state's 1-sd uncertainty as DAIDALUS's SUM terms (`S_EW_STD` ... `VZ_STD`: ft and
  ft/s; the east-north cross terms are sign(c) sqrt(|c|) of the covariance c; all zero for an exact
  state); 16-17 `AIR_V_NORTH`, `AIR_V_EAST`: the air-relative horizontal velocity (ft/s), equal to
  the ground velocity when there is no wind. A logic written for the first 8 entries keeps working.
- ``memory``: float64 array of the logic's own, zero at the start of each run and kept between
  decisions (hysteresis, previous advisory); its length is the logic's declared memory size
  (`MEMORY_SIZE` = 16 unless the logic declares more: `logic_memory_size`).
- ``params``: float64 array of the logic's parameters (from its preset);
- ``advisory``: float64 array of `ADVISORY_SIZE` the logic fills, zero before the first decision.
  Entries 0-6 (`LEGACY_ADVISORY_SIZE`) are what the standard pilot flies: alert level (0 none,
  1 preventive/TA, 2 corrective/RA, 3 warning), vertical mode (0 none, 1 target rate), target
  vertical rate ft/s, horizontal mode (0 none, 1 target heading), target heading rad, turn rate
  rad/s (0: the pilot's), and a change counter. From `GUIDANCE_START` on, one block of
  `GUIDANCE_BLOCK_SIZE` per guidance dimension (`DIRECTION` rad in [0, 2 pi), `HORIZONTAL_SPEED`
  ft/s, `VERTICAL_SPEED` ft/s, `ALTITUDE` ft; `guidance_index(dimension, field)`): the region of
  the current value (`REGION_*`; `REGION_UNKNOWN` = -1 when the logic computed no bands in that
  dimension, which is what a logic that never writes the block leaves: see `clear_guidance`), the
  resolutions below and above (NaN: none on that side), the preferred direction (-1 down/left,
  +1 up/right, 0 none), a recovery flag (0/1), the number of bands and up to `MAX_BANDS` bands
  (lo, hi, region) (`band_index(dimension, k, part)`). The R6 pilot model reads the resolutions
  and preferred directions; the standard pilot reads entries 0-6 only.

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

STATE_SIZE = 18
NORTH, EAST, UP, V_NORTH, V_EAST, V_UP, HEADING, SPEED = range(8)
#: the state's 1-sd uncertainty in DAIDALUS's SUM terms (.daa ``*_std`` columns): ft, then ft/s
S_EW_STD, S_NS_STD, S_EN_STD, SZ_STD, V_EW_STD, V_NS_STD, V_EN_STD, VZ_STD = range(8, 16)
#: the air-relative horizontal velocity (wind: ground velocity minus air velocity)
AIR_V_NORTH, AIR_V_EAST = 16, 17
#: the entries of the state before the contract grew (what the first logics read)
LEGACY_STATE_SIZE = 8

LEGACY_ADVISORY_SIZE = 7
LEVEL, VERTICAL_MODE, TARGET_VERTICAL_RATE, HORIZONTAL_MODE, TARGET_HEADING, TURN_RATE, CHANGE_COUNTER = range(
    LEGACY_ADVISORY_SIZE
)
#: guidance dimensions (DAIDALUS's bands): track or heading (rad), horizontal speed (ft/s), vertical speed
#: (ft/s), altitude (ft)
DIRECTION, HORIZONTAL_SPEED, VERTICAL_SPEED, ALTITUDE = range(4)
N_GUIDANCE_DIMENSIONS = 4
#: fields of a dimension's guidance block, then its bands
G_REGION, G_RESOLUTION_LOW, G_RESOLUTION_UP, G_PREFERRED, G_RECOVERY, G_N_BANDS = range(6)
GUIDANCE_FIELDS = 6
#: band regions (DAIDALUS's, by severity); UNKNOWN: no bands computed in that dimension
REGION_UNKNOWN, REGION_NONE, REGION_FAR, REGION_MID, REGION_NEAR, REGION_RECOVERY = -1, 0, 1, 2, 3, 4
MAX_BANDS = 12
BAND_LO, BAND_HI, BAND_REGION = range(3)
GUIDANCE_START = LEGACY_ADVISORY_SIZE
GUIDANCE_BLOCK_SIZE = GUIDANCE_FIELDS + 3 * MAX_BANDS
ADVISORY_SIZE = GUIDANCE_START + N_GUIDANCE_DIMENSIONS * GUIDANCE_BLOCK_SIZE
#: the memory a logic gets unless it declares more (`logic_memory_size`)
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


@njit(cache=True, inline="always")
def guidance_index(dimension, field):
    """Index in the advisory of ``field`` (``G_*``) of guidance ``dimension`` (``DIRECTION`` ...)."""
    return GUIDANCE_START + dimension * GUIDANCE_BLOCK_SIZE + field


@njit(cache=True, inline="always")
def band_index(dimension, k, part):
    """Index in the advisory of ``part`` (``BAND_LO``, ``BAND_HI``, ``BAND_REGION``) of band ``k`` of ``dimension``."""
    return GUIDANCE_START + dimension * GUIDANCE_BLOCK_SIZE + GUIDANCE_FIELDS + 3 * k + part


@njit(cache=True)
def clear_guidance(advisory):
    """Mark every guidance dimension as not computed (region UNKNOWN, no resolutions, no bands)."""
    for dimension in range(N_GUIDANCE_DIMENSIONS):
        advisory[guidance_index(dimension, G_REGION)] = REGION_UNKNOWN
        advisory[guidance_index(dimension, G_RESOLUTION_LOW)] = np.nan
        advisory[guidance_index(dimension, G_RESOLUTION_UP)] = np.nan
        advisory[guidance_index(dimension, G_PREFERRED)] = 0.0
        advisory[guidance_index(dimension, G_RECOVERY)] = 0.0
        advisory[guidance_index(dimension, G_N_BANDS)] = 0.0


@njit(cache=True)
def guidance_fault(advisory):
    """(7, index) of the first out-of-range field of the guidance blocks, or (0, 0.0).

    The region must be an integer in [`REGION_UNKNOWN`, `REGION_RECOVERY`], the preferred direction
    -1, 0 or +1, the recovery flag 0 or 1 and the band count an integer in [0, `MAX_BANDS`];
    resolutions may be NaN (no resolution on that side), and band values are not checked.
    """
    for dimension in range(N_GUIDANCE_DIMENSIONS):
        k = guidance_index(dimension, G_REGION)
        region = advisory[k]
        if not (region == math.floor(region) and REGION_UNKNOWN <= region <= REGION_RECOVERY):
            return 7, float(k)
        k = guidance_index(dimension, G_PREFERRED)
        if not (advisory[k] == -1.0 or advisory[k] == 0.0 or advisory[k] == 1.0):
            return 7, float(k)
        k = guidance_index(dimension, G_RECOVERY)
        if not (advisory[k] == 0.0 or advisory[k] == 1.0):
            return 7, float(k)
        k = guidance_index(dimension, G_N_BANDS)
        n_bands = advisory[k]
        if not (n_bands == math.floor(n_bands) and 0.0 <= n_bands <= MAX_BANDS):
            return 7, float(k)
    return 0, 0.0


def logic_memory_size(function) -> int:
    """The memory a logic declares: its ``memory_size`` attribute (a reference logic's record sets it), else
    `MEMORY_SIZE`."""
    size = getattr(function, "memory_size", MEMORY_SIZE)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"{function!r:.80}: memory_size must be a positive int, got {size!r}")
    return size


@njit(cache=True)
def unequipped(t_s, own, intruder, memory, params, advisory):
    """No advisory, ever: the nominal run."""
    for k in range(LEGACY_ADVISORY_SIZE):
        advisory[k] = 0.0
    clear_guidance(advisory)


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
