"""Random draws of the closed-loop models (sensors, navigation, altimetry, pilot), keyed by time.

Project decision (design notes, section 10): the random sub-streams of an encounter are 0 ownship,
1 intruder, 2 geometry (its generation), 3 surveillance, 4 ownship navigation, 5 altimetry,
6 pilot; inside a model sub-stream the counters are keyed by (10-Hz step, component), so that
changing one model's parameter never shifts another model's draws, nor the same model's draws at
another step or of another component (common random numbers for sensitivity sweeps).

Layout on the Philox stream of `encsim.random` (key = (seed, encounter id)): the *slot*
``(sub_stream, step, component)`` is the stream ``stream_init(stream, seed, encounter_id,
sub_stream, attempt=(step << 16) | component)``; its draws are that stream's draw indices 0, 1,
2, ... . Generation uses sub-streams 0-2 only, so no slot ever shares a Philox block with the
encounter's generation; components start at 1, so slot (step 0, component 0) of sub-stream 3,
the stream of the older white-noise `Surveillance` (attempt 0), is never used here. A model may
draw any number of values in a slot (a rejection sampler, a draw skipped when a target is out of
range): nothing outside the slot moves.

Every draw function takes a slot stream set up by `slot_init` and is inlined into the caller's
kernel; the tests compare each with a plain-Python twin on numpy's ``Philox``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .random import STREAM_SIZE, next_uniform, next_uniform_open0, stream_init

__all__ = [
    "COMPONENT_BITS",
    "MAX_COMPONENT",
    "STREAM_SIZE",
    "SUB_STREAM_ALTIMETRY",
    "SUB_STREAM_NAVIGATION",
    "SUB_STREAM_PILOT",
    "SUB_STREAM_SURVEILLANCE",
    "draw_exponential",
    "draw_gamma",
    "draw_laplace",
    "draw_normal",
    "draw_uniform",
    "slot_attempt",
    "slot_init",
]

#: sub-stream of the intruder surveillance sensors (ADS-B, radar, active surveillance)
SUB_STREAM_SURVEILLANCE = 3
#: sub-stream of the ownship navigation error (GPS/INS)
SUB_STREAM_NAVIGATION = 4
#: sub-stream of the altimetry biases
SUB_STREAM_ALTIMETRY = 5
#: sub-stream of the pilot model
SUB_STREAM_PILOT = 6
#: bits of the stream's counter word 2 that hold the component; the step fills the bits above
COMPONENT_BITS = 16
#: largest component id
MAX_COMPONENT = (1 << COMPONENT_BITS) - 1

_COMPONENT_SHIFT = np.uint64(COMPONENT_BITS)
_TWO_PI = 2.0 * math.pi
_HALF_GRID = 2.0**-54  # half the spacing of the uniforms' 2**-53 grid


def slot_attempt(step: int, component: int) -> int:
    """Counter word 2 of the slot ``(step, component)``: ``(step << 16) | component`` (for twins)."""
    if not 1 <= component <= MAX_COMPONENT:
        raise ValueError(f"component={component} must be in [1, {MAX_COMPONENT}]")
    if not 0 <= step < 2 ** (64 - COMPONENT_BITS):
        raise ValueError(f"step={step} must be in [0, 2**{64 - COMPONENT_BITS})")
    return (int(step) << COMPONENT_BITS) | int(component)


@njit(cache=True, inline="always")
def slot_init(stream, seed, encounter_id, sub_stream, step, component) -> None:
    """Start the slot stream ``(sub_stream, step, component)`` of encounter ``(seed, encounter_id)``.

    Parameters
    ----------
    stream : ndarray (STREAM_SIZE,) uint64
        Overwritten.
    seed, encounter_id : int or np.uint64
        The encounter's key.
    sub_stream : int
        One of the ``SUB_STREAM_*`` constants.
    step : int
        The 10-Hz step the draws belong to (>= 0).
    component : int
        The model's component id, in [1, MAX_COMPONENT].
    """
    attempt = (np.uint64(step) << _COMPONENT_SHIFT) | np.uint64(component)
    stream_init(stream, np.uint64(seed), np.uint64(encounter_id), np.uint64(sub_stream), attempt)


@njit(cache=True, inline="always")
def draw_uniform(stream) -> float:
    """One uniform in [0, 1) (one draw)."""
    return next_uniform(stream)


@njit(cache=True, inline="always")
def draw_normal(stream) -> float:
    """One standard normal by Box-Muller (two draws; the cosine branch is kept)."""
    radius = math.sqrt(-2.0 * math.log(next_uniform_open0(stream)))
    return radius * math.cos(_TWO_PI * next_uniform(stream))


@njit(cache=True, inline="always")
def draw_exponential(stream, mean) -> float:
    """One exponential of the given mean (one draw); 0 when the mean is 0."""
    return -mean * math.log(next_uniform_open0(stream))


@njit(cache=True, inline="always")
def draw_laplace(stream, scale) -> float:
    """One Laplace(0, scale) by inversion (one draw).

    The uniform is moved half a grid step, ``t = u + 2**-54``, so that it is symmetric about 1/2
    and never 0 or 1: ``scale * log(2 t)`` below 1/2, ``-scale * log(2 (1 - t))`` above.
    """
    t = next_uniform(stream) + _HALF_GRID
    if t < 0.5:
        return scale * math.log(2.0 * t)
    return -scale * math.log(2.0 * (1.0 - t))


@njit(cache=True)
def draw_gamma(stream, shape, scale) -> float:
    """One Gamma(shape, scale) (mean shape * scale) by Marsaglia and Tsang's squeeze method.

    Marsaglia, G. and Tsang, W. W. (2000), "A simple method for generating gamma variables",
    ACM TOMS 26(3). For shape < 1 the shape + 1 variate is boosted by ``u**(1/shape)`` (one more
    draw, taken last). Shape or scale 0 gives 0 with no draw. The number of draws varies (the
    rejection loop): a slot is never shared with another quantity.
    """
    if shape <= 0.0 or scale <= 0.0:
        return 0.0
    boosted = shape < 1.0
    a = shape + 1.0 if boosted else shape
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = draw_normal(stream)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = next_uniform_open0(stream)
        if math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v):
            break
    value = d * v
    if boosted:
        value *= next_uniform_open0(stream) ** (1.0 / shape)
    return value * scale
