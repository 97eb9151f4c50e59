"""Philox4x64-10 in Numba (encsim.random) against numpy.random.Philox, bit for bit.

numpy increments its 256-bit counter *before* computing a block, so numpy at counter ``c`` yields
our block at ``c + 1``; a plain-Python Philox written from the algorithm's definition checks that
claim independently of both.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit, prange

from encsim.random import (
    STREAM_SIZE,
    mul_hi_lo,
    next_raw,
    next_uniform,
    next_uniform_open0,
    philox4x64_10,
    seed_to_uint64,
    stream_init,
    stream_seek,
    uniforms,
)

MASK64 = 2**64 - 1
U64 = st.integers(min_value=0, max_value=MASK64)
# counter words: anything, plus values at both ends so that numpy's increment carries and wraps
WORD = st.one_of(U64, st.integers(MASK64 - 3, MASK64), st.integers(0, 3))
SMALL = st.one_of(st.integers(0, 3), U64)


def python_block(counter, key):
    """Philox4x64-10 with Python integers, from the definition (128-bit products are exact)."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2E7470EE14C6C93 * c0
        p1 = 0xCA5A826395121157 * c2
        c0, c1, c2, c3 = (p1 >> 64) ^ c1 ^ k0, p1 & MASK64, (p0 >> 64) ^ c3 ^ k1, p0 & MASK64
        k0 = (k0 + 0x9E3779B97F4A7C15) & MASK64
        k1 = (k1 + 0xBB67AE8584CAA73B) & MASK64
    return [c0, c1, c2, c3]


def as_words(value):
    return [(value >> (64 * word)) & MASK64 for word in range(4)]


def as_int(words):
    return sum(word << (64 * position) for position, word in enumerate(words))


def numpy_philox(key, counter):
    return np.random.Philox(key=np.array(key, dtype=np.uint64), counter=np.array(counter, dtype=np.uint64))


def numpy_block(key, counter):
    """Our block at ``counter``, from numpy: start numpy one below it (256-bit, with borrow)."""
    previous = as_words((as_int(counter) - 1) % 2**256)
    return [int(v) for v in numpy_philox(key, previous).random_raw(4)]


def numpy_twin(key0, key1, sub_stream, attempt):
    """numpy's Philox whose random_raw() sequence is the whole stream, draw 0 first."""
    return numpy_philox((key0, key1), as_words((as_int((0, sub_stream, attempt, 0)) - 1) % 2**256))


def kernel_block(counter, key):
    return [int(v) for v in philox4x64_10(*(np.uint64(c) for c in counter), *(np.uint64(k) for k in key))]


def new_stream(key0, key1, sub_stream=0, attempt=0):
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    stream_init(stream, np.uint64(key0), np.uint64(key1), np.uint64(sub_stream), np.uint64(attempt))
    return stream


# --- the block ------------------------------------------------------------------------------------


def test_known_answers_of_random123():
    """The published Philox4x64-10 known-answer vectors (Random123's kat_vectors)."""
    cases = [
        ((0, 0, 0, 0), (0, 0), (0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B, 0x7E68B68AEC7BA23B)),
        (
            (MASK64,) * 4,
            (MASK64,) * 2,
            (0x87B092C3013FE90B, 0x438C3C67BE8D0224, 0x9CC7D7C69CD777B6, 0xA09CAEBF594F0BA0),
        ),
        (
            (0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89),
            (0x452821E638D01377, 0xBE5466CF34E90C6C),
            (0xA528F45403E61D95, 0x38C72DBD566E9788, 0xA5A1610E72FD18B5, 0x57BD43B5E52B7FE6),
        ),
    ]
    for counter, key, expected in cases:
        assert kernel_block(counter, key) == list(expected)
        assert python_block(counter, key) == list(expected)


@njit
def _product_words(a, b):
    return mul_hi_lo(a, b)


@settings(max_examples=500, deadline=None)
@given(a=st.one_of(U64, st.integers(MASK64 - 3, MASK64), st.integers(0, 3)), b=U64)
def test_product_words_are_those_of_the_python_integer_product(a, b):
    """The 128-bit product's two words, as Python's exact integers give them (the Philox round's multiply)."""
    high, low = _product_words(np.uint64(a), np.uint64(b))
    assert (int(high), int(low)) == ((a * b) >> 64, (a * b) & MASK64)


@settings(max_examples=300, deadline=None)
@given(k0=U64, k1=U64, c0=WORD, c1=WORD, c2=WORD, c3=WORD)
def test_numpy_increments_its_counter_before_each_block(k0, k1, c0, c1, c2, c3):
    """numpy at counter c gives the block of c + 1 (256-bit, carrying); its state then names c + 1."""
    generator = numpy_philox((k0, k1), (c0, c1, c2, c3))
    raw = [int(v) for v in generator.random_raw(4)]
    following = as_words((as_int((c0, c1, c2, c3)) + 1) % 2**256)
    assert raw == python_block(following, (k0, k1))
    assert [int(v) for v in generator.state["state"]["counter"]] == following


@settings(max_examples=300, deadline=None)
@given(k0=U64, k1=U64, c0=WORD, c1=WORD, c2=WORD, c3=WORD)
def test_block_equals_numpy_bit_for_bit(k0, k1, c0, c1, c2, c3):
    counter = (c0, c1, c2, c3)
    assert kernel_block(counter, (k0, k1)) == numpy_block((k0, k1), counter)


@pytest.mark.parametrize(
    "counter",
    [
        (0, 0, 0, 0),  # numpy starts from all ones: its increment wraps the whole 256-bit counter
        (0, 1, 0, 0),
        (0, 0, 1, 0),
        (0, 0, 0, 1),
        (MASK64, 0, 0, 0),
        (MASK64, MASK64, 5, 0),
        (MASK64, MASK64, MASK64, MASK64),
        (0, MASK64, MASK64, MASK64),
        (1, MASK64, 0, MASK64),
    ],
)
def test_counter_words_at_the_ends_carry_like_numpy(counter):
    for key in ((7, 9), (0, 0), (MASK64, MASK64)):
        assert kernel_block(counter, key) == numpy_block(key, counter)


def test_consecutive_numpy_blocks_are_consecutive_counters():
    """random_raw(12) from counter c is our blocks c + 1, c + 2, c + 3, carrying across words."""
    key = (3, 4)
    start = (MASK64 - 1, 2, 0, 0)
    raw = [int(v) for v in numpy_philox(key, start).random_raw(12)]
    for block in range(3):
        counter = as_words(as_int(start) + 1 + block)
        assert raw[4 * block : 4 * block + 4] == kernel_block(counter, key)


def test_block_accepts_signed_integers_inside_njit():
    """Python int literals are int64 in Numba; mixed with uint64 they must not turn into float64."""

    @njit
    def block_of_literals():
        return philox4x64_10(1, 2, 3, 4, 5, 6)

    assert [int(v) for v in block_of_literals()] == python_block((1, 2, 3, 4), (5, 6))


# --- the stream layout ----------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(k0=U64, k1=U64, sub_stream=SMALL, attempt=SMALL)
def test_stream_is_numpy_twin_random_raw_and_random(k0, k1, sub_stream, attempt):
    """Draw j is lane j % 4 of the block at (j // 4, sub_stream, attempt, 0): numpy started one
    counter below (0, sub_stream, attempt, 0) reproduces the whole stream, raw and uniform."""
    n = 11  # not a multiple of 4: a partly used block at the end
    stream = new_stream(k0, k1, sub_stream, attempt)
    raws = [int(next_raw(stream)) for _ in range(n)]
    assert raws == [int(v) for v in numpy_twin(k0, k1, sub_stream, attempt).random_raw(n)]
    for j in range(n):
        assert raws[j] == python_block((j // 4, sub_stream, attempt, 0), (k0, k1))[j % 4]
    expected = np.random.Generator(numpy_twin(k0, k1, sub_stream, attempt)).random(n)
    np.testing.assert_array_equal(uniforms(k0, k1, sub_stream, attempt, n), expected)


def test_long_stream_equals_numpy_twin():
    n = 10_003
    stream = new_stream(2026, 17, 1, 3)
    raws = np.array([next_raw(stream) for _ in range(n)], dtype=np.uint64)
    np.testing.assert_array_equal(raws, numpy_twin(2026, 17, 1, 3).random_raw(n))
    assert int(stream[4]) == n


@settings(max_examples=100, deadline=None)
@given(k0=U64, k1=U64, sub_stream=SMALL, attempt=SMALL)
def test_uniform_is_top_53_bits_of_raw(k0, k1, sub_stream, attempt):
    n = 9
    raw_stream = new_stream(k0, k1, sub_stream, attempt)
    raws = [int(next_raw(raw_stream)) for _ in range(n)]
    expected = [(raw >> 11) * 2.0**-53 for raw in raws]
    stream = new_stream(k0, k1, sub_stream, attempt)
    assert [next_uniform(stream) for _ in range(n)] == expected
    assert uniforms(k0, k1, sub_stream, attempt, n).tolist() == expected
    stream = new_stream(k0, k1, sub_stream, attempt)
    open0 = [next_uniform_open0(stream) for _ in range(n)]
    assert open0 == [1.0 - u for u in expected]
    assert all(0.0 < u <= 1.0 for u in open0)


def test_extreme_raw_values_map_to_the_ends_of_the_interval():
    """raw 0 -> 0.0 (so open0 gives 1.0); raw 2**64 - 1 -> 1 - 2**-53 (so open0 gives 2**-53)."""
    stream = new_stream(0, 0)
    stream[4] = 1  # mid-block: the buffer is used as is
    stream[5:9] = [1, 0, 0, MASK64]
    assert next_uniform(stream) == 0.0
    assert next_uniform_open0(stream) == 1.0
    assert next_uniform(stream) == 1.0 - 2.0**-53
    assert int(stream[4]) == 4
    stream[4] = 3
    assert next_uniform_open0(stream) == 2.0**-53


def test_next_uniform_sequence_equals_uniforms_and_seek():
    key0, key1, sub_stream, attempt = 5, 123456789, 2, 1
    reference = uniforms(key0, key1, sub_stream, attempt, 40)
    stream = new_stream(key0, key1, sub_stream, attempt)
    np.testing.assert_array_equal([next_uniform(stream) for _ in range(40)], reference)
    for start in range(9):  # every lane, so seeking both at and inside a block
        np.testing.assert_array_equal(
            uniforms(key0, key1, sub_stream, attempt, 40 - start, start=start), reference[start:]
        )
        stream = new_stream(key0, key1, sub_stream, attempt)
        stream_seek(stream, np.uint64(start))
        np.testing.assert_array_equal([next_uniform(stream) for _ in range(40 - start)], reference[start:])


def test_far_draw_index_is_reached_directly():
    start = 4 * 10**15 + 3
    far = uniforms(1, 2, 0, 0, 6, start=start)
    raw = numpy_philox((1, 2), ((start // 4) - 1, 0, 0, 0)).random_raw(9)
    np.testing.assert_array_equal(far, (raw[3:] >> np.uint64(11)) * 2.0**-53)


def test_streams_differ_by_key_sub_stream_and_attempt():
    base = uniforms(1, 2, 0, 0, 8)
    for other in ((2, 2, 0, 0), (1, 3, 0, 0), (1, 2, 1, 0), (1, 2, 2, 0), (1, 2, 0, 1), (2, 1, 0, 0), (1, 2, 0, 4)):
        assert not np.any(uniforms(*other, 8) == base), other


def test_draw_functions_inside_njit_with_int_literals():
    @njit
    def first_draws(n):
        stream = np.empty(STREAM_SIZE, dtype=np.uint64)
        stream_init(stream, 1, 2, 1, 0)
        out = np.empty(n)
        for k in range(n):
            out[k] = next_uniform(stream)
        return out

    np.testing.assert_array_equal(first_draws(10), uniforms(1, 2, 1, 0, 10))


@njit(parallel=True)
def _per_track_uniforms_parallel(seed, n_tracks, n_draws):
    out = np.empty((n_tracks, n_draws))
    for track in prange(n_tracks):
        stream = np.empty(STREAM_SIZE, dtype=np.uint64)  # one stream per iteration
        stream_init(stream, np.uint64(seed), np.uint64(track), np.uint64(0), np.uint64(0))
        for k in range(n_draws):
            out[track, k] = next_uniform(stream) if k % 2 == 0 else 1.0 - next_uniform_open0(stream)
    return out


def test_prange_with_one_stream_per_iteration():
    seed, n_tracks, n_draws = 99, 257, 13
    out = _per_track_uniforms_parallel(seed, n_tracks, n_draws)
    for track in range(n_tracks):
        np.testing.assert_array_equal(out[track], uniforms(seed, track, 0, 0, n_draws))


# --- statistics (catch lanes or blocks repeated by a layout bug) ----------------------------------


def test_uniforms_look_uniform_and_lanes_are_not_repeated():
    u = uniforms(5, 0, 0, 0, 200_000)
    assert np.all((u >= 0.0) & (u < 1.0))
    sigma = np.sqrt(1.0 / 12.0 / u.size)
    assert abs(u.mean() - 0.5) < 5 * sigma
    assert abs(u.var() - 1.0 / 12.0) < 5 * np.sqrt(1.0 / 180.0 / u.size)
    assert np.all(u[1:] != u[:-1])
    assert np.unique(u).size == u.size
    for lag in (1, 2, 3, 4, 5, 8):  # within a block and across blocks
        assert abs(np.corrcoef(u[:-lag], u[lag:])[0, 1]) < 5 / np.sqrt(u.size), lag
    lanes = u.reshape(-1, 4)
    for lane in range(4):
        assert abs(lanes[:, lane].mean() - 0.5) < 5 * np.sqrt(1.0 / 12.0 / lanes.shape[0]), lane


def test_neighbouring_streams_are_uncorrelated():
    a = uniforms(5, 0, 0, 0, 50_000)
    for other in (uniforms(5, 1, 0, 0, 50_000), uniforms(5, 0, 1, 0, 50_000), uniforms(5, 0, 0, 1, 50_000)):
        assert abs(np.corrcoef(a, other)[0, 1]) < 5 / np.sqrt(a.size)


# --- seeds and argument checks --------------------------------------------------------------------


def test_seed_from_int():
    assert seed_to_uint64(0) == 0
    assert seed_to_uint64(12) == 12
    assert seed_to_uint64(MASK64) == MASK64
    assert seed_to_uint64(np.uint64(MASK64)) == MASK64
    assert seed_to_uint64(np.int32(7)) == 7
    assert type(seed_to_uint64(np.uint64(3))) is int


@pytest.mark.parametrize("bad", [-1, 2**64, -(2**70)])
def test_seed_out_of_range_is_refused_with_its_value(bad):
    with pytest.raises(ValueError, match=str(bad)):
        seed_to_uint64(bad)


def test_seed_from_seed_sequence_does_not_change_it():
    sequence = np.random.SeedSequence(3)
    expected = int(np.random.SeedSequence(3).generate_state(1, np.uint64)[0])
    assert seed_to_uint64(sequence) == expected
    assert seed_to_uint64(sequence) == expected


def test_seed_from_generator_is_one_draw_and_advances_it():
    generator = np.random.default_rng(1)
    first = seed_to_uint64(generator)
    assert first == int(np.random.default_rng(1).integers(0, 2**64, dtype=np.uint64, endpoint=False))
    assert 0 <= first < 2**64
    assert seed_to_uint64(generator) != first
    assert seed_to_uint64(np.random.default_rng(1)) == first


@pytest.mark.parametrize("bad", ["7", 7.0, None, True, np.random.PCG64(1), np.random.RandomState(1)])
def test_seed_of_another_type_is_refused_with_its_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        seed_to_uint64(bad)


def test_uniforms_argument_checks():
    assert uniforms(1, 2, 0, 0, 0).shape == (0,)
    with pytest.raises(ValueError, match="key0"):
        uniforms(-1, 2, 0, 0, 3)
    with pytest.raises(ValueError, match="attempt"):
        uniforms(1, 2, 0, 2**64, 3)
    with pytest.raises(ValueError, match="n=-1"):
        uniforms(1, 2, 0, 0, -1)
    with pytest.raises(ValueError, match="start"):
        uniforms(1, 2, 0, 0, 3, start=-2)
    with pytest.raises(TypeError, match="float"):
        uniforms(1.5, 2, 0, 0, 3)
