"""The Philox4x64-10 kernel generator against numpy's, bit for bit (decisions.md section 4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encsim.sampling._philox import next_raw, next_uniform, philox4x64_10, seed_to_uint64, stream_init

U64 = st.integers(min_value=0, max_value=2**64 - 1)


def numpy_block(key, counter):
    """numpy increments the counter before each block: counter c yields the block of c + 1."""
    previous = list(counter)
    for word in range(4):  # c - 1 with borrow, so that numpy's increment lands on `counter`
        if previous[word] > 0:
            previous[word] -= 1
            break
        previous[word] = 2**64 - 1
    generator = np.random.Philox(key=np.array(key, dtype=np.uint64), counter=np.array(previous, dtype=np.uint64))
    return [int(v) for v in generator.random_raw(4)]


@settings(max_examples=200, deadline=None)
@given(k0=U64, k1=U64, c0=U64, c1=U64, c2=U64, c3=U64)
def test_block_equals_numpy(k0, k1, c0, c1, c2, c3):
    ours = philox4x64_10(np.uint64(c0), np.uint64(c1), np.uint64(c2), np.uint64(c3), np.uint64(k0), np.uint64(k1))
    assert [int(v) for v in ours] == numpy_block((k0, k1), (c0, c1, c2, c3))


def test_counter_words_near_overflow_carry_like_numpy():
    for counter in ((2**64 - 1, 0, 0, 0), (2**64 - 1, 2**64 - 1, 5, 0), (0, 0, 0, 2**64 - 1)):
        ours = philox4x64_10(*(np.uint64(c) for c in counter), np.uint64(7), np.uint64(9))
        assert [int(v) for v in ours] == numpy_block((7, 9), counter)


def test_stream_layout_draw_j_is_lane_j_mod_4_of_block_j_div_4():
    seed, track, sub, attempt = 2026, 17, 1, 3
    stream = np.empty(9, dtype=np.uint64)
    stream_init(stream, np.uint64(seed), np.uint64(track), np.uint64(sub), np.uint64(attempt))
    raws = [int(next_raw(stream)) for _ in range(12)]
    for block in range(3):
        assert raws[4 * block : 4 * block + 4] == numpy_block((seed, track), (block, sub, attempt, 0))
    stream_init(stream, np.uint64(seed), np.uint64(track), np.uint64(sub), np.uint64(attempt))
    uniforms = [next_uniform(stream) for _ in range(12)]
    assert uniforms == [(raw >> 11) * 2.0**-53 for raw in raws]


def test_streams_differ_by_key_sub_stream_and_attempt():
    def first(seed, track, sub, attempt):
        stream = np.empty(9, dtype=np.uint64)
        stream_init(stream, np.uint64(seed), np.uint64(track), np.uint64(sub), np.uint64(attempt))
        return [next_uniform(stream) for _ in range(4)]

    base = first(1, 2, 0, 0)
    assert base != first(2, 2, 0, 0) and base != first(1, 3, 0, 0)
    assert base != first(1, 2, 1, 0) and base != first(1, 2, 0, 1)


def test_uniforms_look_uniform_and_lanes_are_not_repeated():
    stream = np.empty(9, dtype=np.uint64)
    stream_init(stream, np.uint64(5), np.uint64(0), np.uint64(0), np.uint64(0))
    u = np.array([next_uniform(stream) for _ in range(200_000)])
    assert np.all((u >= 0) & (u < 1))
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / np.sqrt(u.size)
    assert np.unique(u).size == u.size


def test_seed_to_uint64():
    assert seed_to_uint64(12) == 12
    sequence = np.random.SeedSequence(3)
    assert seed_to_uint64(sequence) == int(np.random.SeedSequence(3).generate_state(1, np.uint64)[0])
    assert seed_to_uint64(np.random.default_rng(1)) == seed_to_uint64(np.random.default_rng(1))
    with pytest.raises(ValueError, match="-1"):
        seed_to_uint64(-1)
    with pytest.raises(ValueError):
        seed_to_uint64(2**64)
    with pytest.raises(TypeError, match="str"):
        seed_to_uint64("7")
