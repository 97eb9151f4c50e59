"""`encsim.borrow`: borrowed arrays are the same memory, shape and strides, in any tuple."""

from typing import NamedTuple

import numpy as np
from numba import njit

from encsim.borrow import borrowed, keep_alive


class Pair(NamedTuple):
    values: np.ndarray
    count: int


@njit
def _write_through_borrowed(values, grid):
    view, (grid_view, scale) = borrowed((values, (grid, 2.0)))
    view[0] = 7.0
    grid_view[1, 2] = scale
    return view.shape[0], grid_view.shape, grid_view.strides, view.sum()


@njit
def _borrow_a_named_tuple(pair):
    view = borrowed(pair)
    view.values[1] = view.count
    return view.values.sum()


@njit
def _borrow_what_the_kernel_owns(n):
    owned = np.arange(n, dtype=np.float64)
    view = borrowed(owned)
    total = 0.0
    for i in range(n):
        total += view[i]
    keep_alive((owned,))
    return total


def test_a_borrowed_array_is_the_same_memory_shape_and_strides():
    values, grid = np.zeros(5), np.zeros((3, 4))
    n, shape, strides, total = _write_through_borrowed(values, grid)
    assert values[0] == 7.0 and grid[1, 2] == 2.0  # written through the views
    assert (n, shape, strides, total) == (5, (3, 4), grid.strides, 7.0)


def test_a_named_tuple_is_borrowed_field_by_field():
    pair = Pair(np.ones(3), 5)
    assert _borrow_a_named_tuple(pair) == 7.0
    np.testing.assert_array_equal(pair.values, [1.0, 5.0, 1.0])


def test_a_kernel_s_own_array_borrowed_until_kept_alive():
    assert _borrow_what_the_kernel_owns(1000) == 999 * 1000 / 2


def test_a_value_without_arrays_is_returned_as_it_is():
    @njit
    def borrow_a_number(x):
        return borrowed((x, 2))

    assert borrow_a_number(1.5) == (1.5, 2)
