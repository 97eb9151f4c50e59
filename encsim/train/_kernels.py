"""Numba kernels of the counting (private; `encsim.train.counting.ModelCounter` validates inputs).

One pass over the rows of a chunk: for every variable, the column index is the sum of its parents'
0-based bins times first-parent-fastest strides, and one count is added at ``offset + bin + r *
column`` of a flat int64 array holding every table. Plain-Python twins are in tests/test_train.py.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def count_initial(bins, use, parents, strides, r, offsets, counts):
    """Add one count per used row and variable (``parents`` padded with -1)."""
    n_rows, n_vars = bins.shape
    for row in range(n_rows):
        if not use[row]:
            continue
        for i in range(n_vars):
            column = 0
            for k in range(parents.shape[1]):
                p = parents[i, k]
                if p < 0:
                    break
                column += np.int64(bins[row, p]) * strides[i, k]
            counts[offsets[i] + np.int64(bins[row, i]) + r[i] * column] += 1


@njit(cache=True)
def count_transitions(bins, segment, time_s, keep, child, parents, strides, r, offsets, counts):
    """Add one count per (t+1) variable for each pair of kept rows 1 s apart in one segment.

    ``child[j]`` and the entries of ``parents`` are initial-variable indices; a parent entry
    ``>= n_vars`` means the (t+1) value of variable ``entry - n_vars``. Returns the pairs counted.
    """
    n_rows, n_vars = bins.shape
    pairs = 0
    for row in range(n_rows - 1):
        if not (
            keep[row] and keep[row + 1] and segment[row] == segment[row + 1] and time_s[row + 1] - time_s[row] == 1
        ):
            continue
        pairs += 1
        for j in range(child.shape[0]):
            column = 0
            for k in range(parents.shape[1]):
                p = parents[j, k]
                if p < 0:
                    break
                value = bins[row + 1, p - n_vars] if p >= n_vars else bins[row, p]
                column += np.int64(value) * strides[j, k]
            counts[offsets[j] + np.int64(bins[row + 1, child[j]]) + r[j] * column] += 1
    return pairs


@njit(cache=True)
def moving_median_mad(values, room_before, room_after, half):
    """Centred moving median and MAD over up to ``half`` rows each side, inside the segment.

    ``room_before[i]``/``room_after[i]``: rows of the same segment before/after row i.
    """
    n = values.shape[0]
    median = np.empty(n)
    mad = np.empty(n)
    window = np.empty(2 * half + 1)
    for i in range(n):
        lo = i - min(half, room_before[i])
        hi = i + min(half, room_after[i])
        m = hi - lo + 1
        for k in range(m):
            window[k] = values[lo + k]
        sorted_window = np.sort(window[:m])
        med = 0.5 * (sorted_window[(m - 1) // 2] + sorted_window[m // 2])
        for k in range(m):
            window[k] = abs(sorted_window[k] - med)
        deviations = np.sort(window[:m])
        median[i] = med
        mad[i] = 0.5 * (deviations[(m - 1) // 2] + deviations[m // 2])
    return median, mad


@njit(cache=True)
def gaussian_smooth(values, time_s, room, sigma_s, half):
    """Gaussian-weighted mean over up to ``min(half, room[i])`` rows each side (3-sigma cut in time)."""
    n = values.shape[0]
    out = np.empty(n)
    for i in range(n):
        reach = min(half, room[i])
        total = 0.0
        weights = 0.0
        for j in range(i - reach, i + reach + 1):
            dt = time_s[j] - time_s[i]
            if abs(dt) <= 3.0 * sigma_s:
                w = np.exp(-0.5 * (dt / sigma_s) ** 2)
                total += w * values[j]
                weights += w
        out[i] = total / weights
    return out
