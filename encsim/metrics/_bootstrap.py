"""Numba kernel of the encounter bootstrap: sums of several columns over resamples with replacement.

Resample b draws its n indices from the Philox stream keyed by (seed, b), so the resamples are the
same whatever the number of threads; a million encounters x 1,000 resamples takes seconds.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..random import next_uniform, stream_init

#: sub-stream of the bootstrap's streams (kept apart from the generation's 0-3)
BOOTSTRAP_SUB_STREAM = 7


@njit(parallel=True, cache=True)
def bootstrap_sums(values, n_boot, seed, out):
    """out[b, c] = sum over n draws i (uniform, with replacement) of values[c, i], for resample b."""
    k, n = values.shape
    for b in prange(n_boot):
        stream = np.empty(9, dtype=np.uint64)
        stream_init(stream, np.uint64(seed), np.uint64(b), np.uint64(BOOTSTRAP_SUB_STREAM), np.uint64(0))
        acc = np.zeros(k)
        for _ in range(n):
            i = min(int(next_uniform(stream) * n), n - 1)
            for c in range(k):
                acc[c] += values[c, i]
        for c in range(k):
            out[b, c] = acc[c]
