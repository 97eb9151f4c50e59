"""Philox4x64-10, counter-based, in Numba: the one random generator of encsim (decisions.md section 4).

Key = (seed, id) and counter = (block index, sub-stream, attempt, 0). Draw number j of a stream is
lane ``j % 4`` of the block computed at counter ``(j // 4, sub_stream, attempt, 0)``; a uniform is
``(raw >> 11) * 2**-53``, in [0, 1). Sub-streams of an encounter attempt: 0 ownship, 1 intruder,
2 geometry; a track sampled alone uses sub-stream 0, attempt 0.

The output is bit-identical to numpy's ``numpy.random.Philox`` (the tests' twin). numpy increments
its counter *before* computing a block, so ``Philox(key=k, counter=c).random_raw(4)`` is our block at
counter ``c + 1`` (with carry into the next word).

A stream lives in a ``uint64`` array of length 9:
``[key0, key1, sub_stream, attempt, draw_index, buf0, buf1, buf2, buf3]``; it allocates nothing
per draw and can be used from any njit kernel, one array per track.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_MULTIPLIER_0 = np.uint64(0xD2E7470EE14C6C93)
_MULTIPLIER_1 = np.uint64(0xCA5A826395121157)
_WEYL_0 = np.uint64(0x9E3779B97F4A7C15)
_WEYL_1 = np.uint64(0xBB67AE8584CAA73B)
_LOW_32 = np.uint64(0xFFFFFFFF)
_SHIFT_32 = np.uint64(32)
_ROUNDS = 10
_TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0


@njit(cache=True, inline="always")
def _mul_hi_lo(a, b):
    """64 x 64 -> 128-bit product as (low, high) words, from 32-bit halves (Numba has no uint128).

    Every operand stays np.uint64: mixing uint64 with a Python int would give float64 in Numba.
    """
    a_lo = a & _LOW_32
    a_hi = a >> _SHIFT_32
    b_lo = b & _LOW_32
    b_hi = b >> _SHIFT_32
    lo_lo = a_lo * b_lo
    lo_hi = a_lo * b_hi
    hi_lo = a_hi * b_lo
    middle = (lo_lo >> _SHIFT_32) + (lo_hi & _LOW_32) + (hi_lo & _LOW_32)
    high = a_hi * b_hi + (lo_hi >> _SHIFT_32) + (hi_lo >> _SHIFT_32) + (middle >> _SHIFT_32)
    return a * b, high


@njit(cache=True)
def philox4x64_10(c0, c1, c2, c3, k0, k1):
    """One Philox4x64 block with 10 rounds: the 4 uint64 outputs for counter (c0..c3), key (k0, k1)."""
    for round_index in range(_ROUNDS):
        if round_index > 0:
            k0 = k0 + _WEYL_0
            k1 = k1 + _WEYL_1
        lo0, hi0 = _mul_hi_lo(_MULTIPLIER_0, c0)
        lo1, hi1 = _mul_hi_lo(_MULTIPLIER_1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


@njit(cache=True)
def stream_init(stream, key0, key1, sub_stream, attempt):
    """Start the stream of (key0, key1, sub_stream, attempt) at draw 0."""
    stream[0] = key0
    stream[1] = key1
    stream[2] = sub_stream
    stream[3] = attempt
    stream[4] = np.uint64(0)


@njit(cache=True)
def next_raw(stream):
    """The next raw 64-bit output of the stream."""
    draw = stream[4]
    lane = draw & np.uint64(3)
    if lane == np.uint64(0):
        o0, o1, o2, o3 = philox4x64_10(draw >> np.uint64(2), stream[2], stream[3], np.uint64(0), stream[0], stream[1])
        stream[5] = o0
        stream[6] = o1
        stream[7] = o2
        stream[8] = o3
    stream[4] = draw + np.uint64(1)
    return stream[np.uint64(5) + lane]


@njit(cache=True)
def next_uniform(stream):
    """The next uniform in [0, 1) with 53 random bits."""
    return (next_raw(stream) >> np.uint64(11)) * _TWO_POW_MINUS_53


@njit(cache=True)
def next_uniform_open0(stream):
    """The next uniform in (0, 1] (``1 - u``), safe for ``log``."""
    return 1.0 - next_uniform(stream)


@njit(cache=True)
def _fill_uniforms(key0, key1, sub_stream, attempt, start, out):
    stream = np.empty(9, dtype=np.uint64)
    stream_init(stream, key0, key1, sub_stream, attempt)
    for _ in range(start):
        next_raw(stream)
    for k in range(out.shape[0]):
        out[k] = next_uniform(stream)


def uniforms(key0: int, key1: int, sub_stream: int, attempt: int, n: int, start: int = 0) -> np.ndarray:
    """Uniforms number ``start .. start + n - 1`` of a stream (for tests and debugging)."""
    out = np.empty(n, dtype=np.float64)
    _fill_uniforms(np.uint64(key0), np.uint64(key1), np.uint64(sub_stream), np.uint64(attempt), start, out)
    return out


def seed_to_uint64(rng) -> int:
    """The 64-bit seed (first key word) from ``int | SeedSequence | Generator``.

    An int is used as is (0 <= seed < 2**64); a SeedSequence gives its first 64-bit state word; a
    Generator gives one 64-bit draw (this advances the generator).
    """
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        value = int(rng)
        if not 0 <= value < 2**64:
            raise ValueError(f"seed {value} is outside [0, 2**64)")
        return value
    if isinstance(rng, np.random.SeedSequence):
        return int(rng.generate_state(1, np.uint64)[0])
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**64, dtype=np.uint64, endpoint=False))
    raise TypeError(f"rng must be an int, numpy.random.SeedSequence or numpy.random.Generator, not {type(rng).__name__}")
