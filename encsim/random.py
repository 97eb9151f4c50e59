"""Philox4x64-10, counter-based, in Numba: the one random generator of encsim.

A public module at the top of the package, beside `units`, because four packages draw from it
(sampling, encounters, metrics, simulate) and a plug-in logic may too: it imports only numpy and
numba (and llvmlite, Numba's code generator), so every layer may use it. (Inside the package
``import random`` still means the standard library: imports are absolute.)

Project decision: key = (seed, id) and counter = (draw index // 4, sub-stream, attempt, 0).
Sub-streams of an encounter attempt are 0 ownship, 1 intruder, 2 geometry; a track sampled alone
uses sub-stream 0, attempt 0. A redraw inside a sub-stream (a rejected track) keeps consuming the
same stream, so a track depends only on its own key and position, never on what else is sampled.

Stream layout
-------------
The raw output number ``j`` (0-based *draw index*) of the stream ``(key0, key1, sub_stream,
attempt)`` is lane ``j % 4`` of the Philox4x64-10 block computed at counter
``(j // 4, sub_stream, attempt, 0)``. A uniform is ``(raw >> 11) * 2**-53``: the top 53 bits, in
[0, 1), with every value a multiple of 2**-53. Because ``j // 4 < 2**62``, counter word 0 never
carries, so two streams differing in sub-stream or attempt never share a block.

Relation to numpy
-----------------
The output is bit-identical to ``numpy.random.Philox`` (the tests' twin), with one offset: numpy
increments its 256-bit counter (word 0 least significant, carrying into words 1, 2, 3, modulo
2**256) *before* computing each block. So ``Philox(key=k, counter=c).random_raw(4)`` is our block
at counter ``c + 1``, and numpy's ``state["counter"]`` always names the block it computed last
(a fresh generator has an empty buffer, ``buffer_pos == 4``). Hence a whole stream's numpy twin is
``Philox(key=[key0, key1], counter=(0, sub_stream, attempt, 0) - 1)`` (subtraction with borrow,
e.g. ``(2**64 - 1, sub_stream - 1, attempt, 0)`` when ``sub_stream > 0``): its
``random_raw(n)`` are our draws ``0 .. n - 1``, and ``Generator(twin).random(n)`` our uniforms,
since numpy's doubles use the same ``(raw >> 11) * 2**-53``.

Stream object
-------------
A stream lives in a ``uint64`` array of length 9,
``[key0, key1, sub_stream, attempt, draw_index, buf0, buf1, buf2, buf3]``, one per track: the
draw functions allocate nothing and touch only that array, so they can run inside any njit
kernel, including a ``prange`` loop whose iterations each own their array. ``buf0..buf3`` hold
the block of the current draw index; they are valid whenever ``draw_index % 4 != 0``.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = [
    "STREAM_SIZE",
    "mul_hi_lo",
    "next_raw",
    "next_uniform",
    "next_uniform_open0",
    "philox4x64_10",
    "seed_to_uint64",
    "stream_init",
    "stream_seek",
    "uniforms",
]

#: length of a stream array: key0, key1, sub_stream, attempt, draw_index, 4 buffered outputs
STREAM_SIZE = 9

# Every constant is an np.uint64: in Numba, uint64 mixed with a Python int (int64) is float64.
PHILOX_MULTIPLIER_0 = np.uint64(0xD2E7470EE14C6C93)
PHILOX_MULTIPLIER_1 = np.uint64(0xCA5A826395121157)
PHILOX_WEYL_0 = np.uint64(0x9E3779B97F4A7C15)  # key bump after each round (golden ratio)
PHILOX_WEYL_1 = np.uint64(0xBB67AE8584CAA73B)  # key bump after each round (sqrt(3) - 1)
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_TWO = np.uint64(2)
_LANE_MASK = np.uint64(3)
_SHIFT_53_BITS = np.uint64(11)
PHILOX_ROUNDS = 10
_TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0  # exact: 2**-53

# positions in a stream array
_KEY0 = 0
_KEY1 = 1
_SUB_STREAM = 2
_ATTEMPT = 3
_DRAW_INDEX = 4
_BUFFER = np.uint64(5)  # uint64 so that _BUFFER + lane stays an integer index

_UINT64_LIMIT = 2**64


@intrinsic
def mul_hi_lo(typingctx, a, b):
    """64 x 64 -> 128-bit product of two uint64, as (high, low) words.

    Numba has no 128-bit integer type, but LLVM has: the product is one 128-bit multiply, which
    x86-64 does in one instruction giving both words (``mulx``). Assembling the high word from four
    32 x 32-bit partial products, as before, gave the same bits at five multiplies per product: it
    made a Philox block 2.3x slower. The tests check both words against Python's integers. Usable
    only inside Numba-compiled code (the bootstrap's Philox, `encsim.metrics._bootstrap`, uses it too).
    """
    signature = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, sig, args):
        word, wide = ir.IntType(64), ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        high = builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), word)
        return context.make_tuple(builder, sig.return_type, [high, builder.trunc(product, word)])

    return signature, codegen


@njit(cache=True)
def philox4x64_10(c0, c1, c2, c3, k0, k1) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """One Philox4x64 block with 10 rounds.

    Parameters
    ----------
    c0, c1, c2, c3 : np.uint64
        The counter, word 0 least significant (any integer is taken modulo 2**64).
    k0, k1 : np.uint64
        The key.

    Returns
    -------
    tuple of 4 np.uint64
        The block, in numpy's lane order: ``Philox(key=[k0, k1], counter=c - 1).random_raw(4)``.

    Notes
    -----
    A round is ``(hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0))`` followed by the
    Weyl key bump; the bump after the last round is never used.
    """
    # Fresh uint64 names: an int64 argument added to a uint64 constant would become float64.
    x0 = np.uint64(c0)
    x1 = np.uint64(c1)
    x2 = np.uint64(c2)
    x3 = np.uint64(c3)
    key0 = np.uint64(k0)
    key1 = np.uint64(k1)
    for _ in range(PHILOX_ROUNDS):
        hi0, lo0 = mul_hi_lo(PHILOX_MULTIPLIER_0, x0)
        hi1, lo1 = mul_hi_lo(PHILOX_MULTIPLIER_1, x2)
        x0, x1, x2, x3 = hi1 ^ x1 ^ key0, lo1, hi0 ^ x3 ^ key1, lo0
        key0 = key0 + PHILOX_WEYL_0
        key1 = key1 + PHILOX_WEYL_1
    return x0, x1, x2, x3


@njit(cache=True, inline="always")
def _refill(stream: np.ndarray, block_index: np.uint64) -> None:
    """Compute the stream's block at ``block_index`` into its buffer."""
    o0, o1, o2, o3 = philox4x64_10(
        block_index, stream[_SUB_STREAM], stream[_ATTEMPT], _ZERO, stream[_KEY0], stream[_KEY1]
    )
    stream[5] = o0
    stream[6] = o1
    stream[7] = o2
    stream[8] = o3


# The stream functions are inlined into their callers (inline="always"): a real call passing the
# stream array costs reference counting on every draw.


@njit(cache=True, inline="always")
def stream_init(stream: np.ndarray, key0, key1, sub_stream, attempt) -> None:
    """Start the stream ``(key0, key1, sub_stream, attempt)`` at draw index 0.

    Parameters
    ----------
    stream : ndarray (9,) uint64
        The stream array; overwritten.
    key0, key1 : np.uint64
        The key: (seed, track or encounter id).
    sub_stream : np.uint64
        0 ownship, 1 intruder, 2 geometry; 0 for a track sampled alone.
    attempt : np.uint64
        Encounter attempt; 0 for a track sampled alone.
    """
    stream[_KEY0] = np.uint64(key0)
    stream[_KEY1] = np.uint64(key1)
    stream[_SUB_STREAM] = np.uint64(sub_stream)
    stream[_ATTEMPT] = np.uint64(attempt)
    stream[_DRAW_INDEX] = _ZERO


@njit(cache=True, inline="always")
def stream_seek(stream: np.ndarray, draw_index) -> None:
    """Move an initialised stream to ``draw_index`` (e.g. to continue a stream stopped earlier).

    Parameters
    ----------
    stream : ndarray (9,) uint64
        A stream set up by `stream_init`.
    draw_index : np.uint64
        The draw index of the next draw.

    Notes
    -----
    Inside a block the buffer is refilled now, since `next_raw` computes a block only at a
    multiple of 4; at a multiple of 4 nothing is computed.
    """
    index = np.uint64(draw_index)
    stream[_DRAW_INDEX] = index
    if (index & _LANE_MASK) != _ZERO:
        _refill(stream, index >> _TWO)


@njit(cache=True, inline="always")
def next_raw(stream: np.ndarray) -> np.uint64:
    """The stream's next raw 64-bit output (its draw index advances by one).

    Parameters
    ----------
    stream : ndarray (9,) uint64
        A stream set up by `stream_init`.

    Returns
    -------
    np.uint64
        Lane ``j % 4`` of the block at counter ``(j // 4, sub_stream, attempt, 0)``, ``j`` being
        the draw index before the call.
    """
    draw_index = stream[_DRAW_INDEX]
    lane = draw_index & _LANE_MASK
    if lane == _ZERO:
        _refill(stream, draw_index >> _TWO)
    stream[_DRAW_INDEX] = draw_index + _ONE
    return stream[_BUFFER + lane]


@njit(cache=True, inline="always")
def next_uniform(stream: np.ndarray) -> float:
    """The stream's next uniform in [0, 1): ``(raw >> 11) * 2**-53``, 53 random bits."""
    return (next_raw(stream) >> _SHIFT_53_BITS) * _TWO_POW_MINUS_53


@njit(cache=True, inline="always")
def next_uniform_open0(stream: np.ndarray) -> float:
    """The stream's next uniform in (0, 1]: ``1 - u`` with ``u`` from `next_uniform`, for ``log``.

    ``u`` is a multiple of 2**-53 below 1, so ``1 - u`` is exact and at least 2**-53: it is the
    same draw (same draw index consumed), reflected so that ``log`` never sees 0.
    """
    return 1.0 - next_uniform(stream)


@njit(cache=True)
def _fill_uniforms(key0, key1, sub_stream, attempt, start, out: np.ndarray) -> None:
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    stream_init(stream, key0, key1, sub_stream, attempt)
    stream_seek(stream, start)
    for k in range(out.shape[0]):
        out[k] = next_uniform(stream)


def _check_uint64(name: str, value: int) -> np.uint64:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= int(value) < _UINT64_LIMIT:
        raise ValueError(f"{name}={int(value)} is outside [0, 2**64)")
    return np.uint64(int(value))


def uniforms(key0: int, key1: int, sub_stream: int, attempt: int, n: int, start: int = 0) -> np.ndarray:
    """Uniforms of draw indices ``start .. start + n - 1`` of a stream (for tests and debugging).

    Parameters
    ----------
    key0, key1 : int
        The key, each in [0, 2**64).
    sub_stream, attempt : int
        Counter words 1 and 2, each in [0, 2**64).
    n : int
        How many uniforms (>= 0).
    start : int, optional
        Draw index of the first one (>= 0); reached directly, not by drawing the ones before.

    Returns
    -------
    ndarray (n,) float64
        What `next_uniform` returns for those draw indices, in [0, 1).
    """
    words = [
        _check_uint64(name, value)
        for name, value in (("key0", key0), ("key1", key1), ("sub_stream", sub_stream), ("attempt", attempt))
    ]
    if int(n) < 0:
        raise ValueError(f"n={n} must be >= 0")
    if not 0 <= int(start) <= _UINT64_LIMIT - int(n):
        raise ValueError(f"start={start} must be >= 0 with start + n <= 2**64")
    out = np.empty(int(n), dtype=np.float64)
    _fill_uniforms(*words, np.uint64(int(start)), out)
    return out


def seed_to_uint64(rng: int | np.random.SeedSequence | np.random.Generator) -> int:
    """The 64-bit seed (key word 0) of an ``int``, ``SeedSequence`` or ``Generator``.

    Parameters
    ----------
    rng : int, numpy.random.SeedSequence or numpy.random.Generator
        An int (or numpy integer) in [0, 2**64) is the seed itself. A SeedSequence gives its first
        64-bit state word, ``generate_state(1, np.uint64)[0]``; it is not modified. A Generator
        gives one ``integers(0, 2**64, dtype=np.uint64)`` draw: this *advances the generator*, so
        two calls with the same Generator give different seeds.

    Returns
    -------
    int
        The seed, in [0, 2**64).

    Raises
    ------
    ValueError
        An int below 0 or at least 2**64.
    TypeError
        Any other type, including ``bool`` (``True`` as a seed is almost surely a mistake).
    """
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        value = int(rng)
        if not 0 <= value < _UINT64_LIMIT:
            raise ValueError(f"seed {value} is outside [0, 2**64)")
        return value
    if isinstance(rng, np.random.SeedSequence):
        return int(rng.generate_state(1, np.uint64)[0])
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, _UINT64_LIMIT, dtype=np.uint64, endpoint=False))
    raise TypeError(
        f"rng must be an int, numpy.random.SeedSequence or numpy.random.Generator, not {type(rng).__name__}"
    )
