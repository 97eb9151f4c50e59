"""`encsim.metrics._lanes`: eight float64 lanes in a register and unchecked loads, against plain numpy."""

import numpy as np
import pytest
from numba import njit

from encsim.metrics._lanes import lanes_add_scaled, lanes_load, lanes_store, load


@njit
def _scaled_sums(values, weights, out):
    total = lanes_load(out, 0)
    for j in range(weights.shape[0]):
        total = lanes_add_scaled(total, load(weights, j), lanes_load(values, 8 * j))
    lanes_store(out, 0, total)


def test_lanes_sum_as_eight_scalar_chains_bit_for_bit():
    # plain twin: each lane c is the scalar chain out[c] += w_j * values[j, c], in order (no fused multiply-add)
    rng = np.random.default_rng(4)
    values = rng.normal(size=(300, 8)) * 10.0 ** rng.integers(-8, 8, size=(300, 8))
    weights = rng.lognormal(0.0, 3.0, size=300)
    weights[[3, 7]] = [np.nan, 0.0]
    start = rng.normal(size=8)
    expected = start.copy()
    for j in range(300):
        for c in range(8):
            expected[c] = expected[c] + weights[j] * values[j, c]
    out = start.copy()
    _scaled_sums(values.ravel(), weights, out)
    np.testing.assert_array_equal(out, expected)


def test_only_flat_contiguous_arrays_are_read_unchecked():
    @njit
    def first(array):
        return load(array, 0)

    assert first(np.arange(3.0)) == 0.0
    with pytest.raises(TypeError, match="1-D C-contiguous"):
        first(np.zeros((2, 2)))
