"""The closed-loop models' random slots: layout against numpy's Philox, independence, laws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from model_twins import Slot
from numba import njit

from encsim.model_streams import (
    STREAM_SIZE,
    draw_exponential,
    draw_gamma,
    draw_laplace,
    draw_normal,
    draw_uniform,
    slot_attempt,
    slot_init,
)

Z = 4.5


@njit(cache=True)
def _draws(seed, encounter_id, sub_stream, step, component, kind, a, b, n):
    stream = np.empty(STREAM_SIZE, dtype=np.uint64)
    slot_init(stream, seed, encounter_id, sub_stream, step, component)
    out = np.empty(n)
    for i in range(n):
        if kind == 0:
            out[i] = draw_uniform(stream)
        elif kind == 1:
            out[i] = draw_normal(stream)
        elif kind == 2:
            out[i] = draw_exponential(stream, a)
        elif kind == 3:
            out[i] = draw_laplace(stream, a)
        else:
            out[i] = draw_gamma(stream, a, b)
    return out


def twin_draws(seed, encounter_id, sub_stream, step, component, kind, a, b, n):
    slot = Slot(seed, encounter_id, sub_stream, step, component)
    draw = [slot.uniform, slot.normal, lambda: slot.exponential(a), lambda: slot.laplace(a), lambda: slot.gamma(a, b)]
    return np.array([draw[kind]() for _ in range(n)])


@pytest.mark.parametrize(
    ("kind", "a", "b"), [(0, 0, 0), (1, 0, 0), (2, 5.0, 0), (3, 2.02, 0), (4, 5.5, 2.0), (4, 0.4, 3.0)]
)
def test_slot_draws_match_numpy_philox(kind, a, b):
    for key in [(0, 0, 3, 0, 1), (2**64 - 1, 12345, 6, 987654, 8), (7, 2**40, 4, 10, 65535)]:
        got = _draws(*(np.uint64(v) for v in key), kind, a, b, 50)
        np.testing.assert_allclose(got, twin_draws(*key, kind, a, b, 50), rtol=1e-14, atol=1e-300)


def test_slots_are_distinct():
    base = _draws(1, 2, 3, 10, 1, 0, 0, 0, 8)
    for other in [(1, 2, 3, 11, 1), (1, 2, 3, 10, 2), (1, 2, 4, 10, 1), (1, 3, 3, 10, 1), (2, 2, 3, 10, 1)]:
        assert not np.any(np.isin(_draws(*other, 0, 0, 0, 8), base))
    # the step 0, component 0 stream (the older white-noise surveillance) is never a slot
    with pytest.raises(ValueError, match="component=0"):
        slot_attempt(0, 0)
    assert slot_attempt(3, 5) == (3 << 16) | 5


def test_laws():
    n = 40_000
    gamma = _draws(5, 6, 6, 0, 2, 4, 5.5, 2.0, n)
    assert abs(gamma.mean() - 11.0) < Z * math.sqrt(22.0 / n)
    small = _draws(5, 6, 6, 0, 3, 4, 0.4, 3.0, n)  # the boosted branch
    assert abs(small.mean() - 1.2) < Z * math.sqrt(0.4 * 9.0 / n)
    laplace = _draws(5, 6, 5, 0, 1, 3, 2.0, 0, n)
    assert abs(np.abs(laplace).mean() - 2.0) < Z * 2.0 / math.sqrt(n)
    assert abs(np.mean(laplace > 0) - 0.5) < Z * 0.5 / math.sqrt(n)
    normal = _draws(5, 6, 3, 0, 1, 1, 0, 0, n)
    assert abs(normal.std() - 1.0) < Z / math.sqrt(2 * n)
