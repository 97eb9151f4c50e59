"""The summary's bootstrap as it was before the one-pass kernel (parent of issue 19's change), for
`bench_summary.py` to time side by side: each estimator of `closed_loop_summary` draws its own
1,000 resamples (8 passes) with the former kernel, which reads an encounter's k values from a
(k, n) array, one strided read per column.

The kernel below is the former `encsim/metrics/_bootstrap.py:bootstrap_sums` unchanged; the rest
of the summary (estimators, intervals) is today's code, which only the bootstrap sums changed.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from numba import njit, prange

from encsim.metrics import estimators, summary
from encsim.metrics._bootstrap import BOOTSTRAP_SUB_STREAM
from encsim.random import next_uniform, seed_to_uint64, stream_init


@njit(parallel=True, cache=True)
def bootstrap_sums_before(values, n_boot, seed, out):
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


def _bootstrap_sums_before(values, n_boot, rng):
    """The former `estimators._bootstrap_sums`."""
    stacked = np.ascontiguousarray(np.stack(values), dtype=np.float64)
    out = np.empty((n_boot, stacked.shape[0]))
    bootstrap_sums_before(stacked, n_boot, np.uint64(seed_to_uint64(rng)), out)
    return [out[:, c] for c in range(stacked.shape[0])]


@contextmanager
def bootstrap_before():
    """Inside: `closed_loop_summary` runs one bootstrap per estimator with the former kernel."""
    saved = summary._resampled, estimators._bootstrap_sums, summary._SHARE_PASSES
    summary._resampled = lambda outcomes, w, rng, extra=None: None
    estimators._bootstrap_sums = _bootstrap_sums_before
    summary._SHARE_PASSES = False  # nor passes shared among the estimators over subsets of the encounters
    try:
        yield
    finally:
        summary._resampled, estimators._bootstrap_sums, summary._SHARE_PASSES = saved


def median_interval_by_value(values, w, confidence=0.95, n_boot=400, rng=0):
    """The former `alerting._median_interval`: each resample's median sorts its picked values by value."""
    from encsim.metrics.alerting import weighted_quantiles

    median = float(weighted_quantiles(values, w, [0.5])[0])
    generator = np.random.Generator(np.random.Philox(key=int(rng)))
    boot = np.empty(n_boot)
    for b in range(n_boot):
        pick = generator.integers(0, values.size, values.size)
        boot[b] = weighted_quantiles(values[pick], w[pick], [0.5])[0]
    alpha = 1.0 - confidence
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return median, float(low), float(high)


def closed_loop_summary_before(outcomes, *, rng=0):
    """`closed_loop_summary` with the former bootstrap."""
    with bootstrap_before():
        return summary.closed_loop_summary(outcomes, rng=rng)
