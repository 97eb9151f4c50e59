"""Numba kernel: DAIDALUS v2.0.4 alert levels of one intruder over its time steps.

Per step (sources in docs/daidalus.md):

- **Raw level**: the most severe level k whose detector interval (over the lookahead) starts
  before its alerting time: ``t_in == 0`` or ``t_in`` almost-less-than the alerting time, and the
  interval is not empty (almost-less ``t_in < t_out``). "Almost less" excludes values within
  ~16348 ulps (relative ~3.6e-12), so a ``t_in`` equal to the alerting time does not count.
  The *early* alerting time replaces the alerting time for level k only when the level displayed at
  the previous step is exactly k (observed in the references; DAIDALUS source confirms).
- **M of N** (2 of 4): the displayed candidate is the highest level L such that at least M of the
  last N raw levels are >= L. The window starts, at the first step and after every reset, as
  [raw] * M + [none] * (N - M), so the first level shows at once.
- **Persistence** (4 s): a displayed level > 0 is held while the candidate is lower and less than
  the persistence time has passed since the level was raised.
- **Reset**: the history restarts when a step is more than the hysteresis time (5 s) after the
  previous one, or not after it. That is all "hysteresis_time" does to the alert level.
- An intruder whose alerter index is out of range gets level -1 (its history untouched).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._detection import _almost_less


@njit(cache=True)
def _conflict_before(t_in, t_out, limit):
    """DAIDALUS's 'loss before t': starts at 0 or (almost) before the limit, and is a real interval."""
    return (t_in == 0.0 or _almost_less(t_in, limit)) and _almost_less(t_in, t_out)


@njit(cache=True)
def _m_of_n(window, value, m):
    """Push value into the window (dropping the oldest); highest level held by >= m entries, or -1."""
    n = window.shape[0]
    for i in range(n - 1):
        window[i] = window[i + 1]
    window[n - 1] = value
    top = -1
    for i in range(n):
        top = max(top, window[i])
    for level in range(top, -1, -1):
        count = 0
        for i in range(n):
            if window[i] >= level:
                count += 1
        if count >= m:
            return level
    return -1


@njit(cache=True)
def alert_levels(times_s, t_in, t_out, alerting_s, early_s, valid, m, n, hysteresis_s, persistence_s):
    """Displayed alert level at each step of one intruder.

    Parameters
    ----------
    times_s : (steps,) float
        Step times, increasing.
    t_in, t_out : (steps, levels) float
        Each level's violation interval over the lookahead ((inf, -inf) when none).
    alerting_s, early_s : (steps, levels) float
        Each level's alerting and early alerting time (nan for a level the alerter lacks).
    valid : (steps,) bool
        False where the intruder's alerter index is out of range (level -1).
    m, n : int
        M-of-N parameters. hysteresis_s, persistence_s : float.

    Returns
    -------
    (levels, raw) : two (steps,) int64 arrays: displayed and raw levels.
    """
    steps, n_levels = t_in.shape
    shown = np.empty(steps, dtype=np.int64)
    raw_out = np.empty(steps, dtype=np.int64)
    window = np.full(n, -1, dtype=np.int64)
    last_time = math.nan
    last_value = -1
    init_time = math.nan
    for i in range(steps):
        t = times_s[i]
        if not valid[i]:
            shown[i] = -1
            raw_out[i] = -1
            continue
        raw = 0
        for k in range(n_levels - 1, -1, -1):
            limit = alerting_s[i, k]
            if math.isnan(limit):
                continue
            if not math.isnan(last_time) and last_time < t and last_value == k + 1:
                limit = early_s[i, k]
            if _conflict_before(t_in[i, k], t_out[i, k], limit):
                raw = k + 1
                break
        raw_out[i] = raw
        if math.isnan(last_time) or t <= last_time or t - last_time > hysteresis_s:
            for j in range(n):
                window[j] = raw if j < m else -1
            init_time = math.nan
            last_value = -1
        candidate = _m_of_n(window, raw, m)
        held = (
            not math.isnan(init_time)
            and last_value > 0
            and candidate < last_value
            and t >= init_time
            and t - init_time < persistence_s
        )
        if not held:
            if candidate > 0 and candidate > last_value:
                init_time = t
            last_value = max(0, candidate)
        last_time = t
        shown[i] = last_value
    return shown, raw_out
