"""Numba kernels: DAIDALUS v2.0.4 alert levels of one intruder, step by step or over its time steps.

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

The state of one intruder's alerting lives in a float64 array (`alert_state_size`): the closed-loop
logic keeps it in its memory array and calls `raw_level` then `displayed_level` once per decision;
`alert_levels` runs the same two steps over a whole time series (the replay).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._detection import _almost_less

#: alerting state layout: time of the last step, level displayed at it (-1: none yet), time the
#: displayed level was raised (nan: not raised since the last reset), then the M-of-N window of raw
#: levels (oldest first, -1 empty)
STATE_LAST_TIME, STATE_LAST_LEVEL, STATE_RAISED_AT, STATE_WINDOW = 0, 1, 2, 3


@njit(cache=True)
def alert_state_size(n):
    """Length of the alerting state of one intruder for an M-of-N window of ``n`` steps."""
    return STATE_WINDOW + n


@njit(cache=True)
def reset_alert_state(state):
    """A fresh alerting state: no step seen yet."""
    state[STATE_LAST_TIME] = math.nan
    state[STATE_LAST_LEVEL] = -1.0
    state[STATE_RAISED_AT] = math.nan
    for i in range(STATE_WINDOW, state.shape[0]):
        state[i] = -1.0


@njit(cache=True)
def _conflict_before(t_in, t_out, limit):
    """DAIDALUS's 'loss before t': starts at 0 or (almost) before the limit, and is a real interval."""
    return (t_in == 0.0 or _almost_less(t_in, limit)) and _almost_less(t_in, t_out)


@njit(cache=True)
def _m_of_n(state, value, m):
    """Push value into the window (dropping the oldest); highest level held by >= m entries, or -1."""
    first, n = STATE_WINDOW, state.shape[0] - STATE_WINDOW
    for i in range(n - 1):
        state[first + i] = state[first + i + 1]
    state[first + n - 1] = value
    top = -1
    for i in range(n):
        top = max(top, int(state[first + i]))
    for level in range(top, -1, -1):
        count = 0
        for i in range(n):
            if state[first + i] >= level:
                count += 1
        if count >= m:
            return level
    return -1


@njit(cache=True)
def raw_level(state, t_s, t_in, t_out, alerting_s, early_s):
    """Raw level at ``t_s``: the most severe level whose interval (t_in[k], t_out[k]) starts before its
    alerting time, the early one for the level displayed at the previous step (levels 1.. = k + 1; a
    nan alerting time marks a level the alerter lacks). ``state`` is read, not changed."""
    last_time = state[STATE_LAST_TIME]
    last_value = state[STATE_LAST_LEVEL]
    for k in range(t_in.shape[0] - 1, -1, -1):
        limit = alerting_s[k]
        if math.isnan(limit):
            continue
        if not math.isnan(last_time) and last_time < t_s and last_value == k + 1:
            limit = early_s[k]
        if _conflict_before(t_in[k], t_out[k], limit):
            return k + 1
    return 0


@njit(cache=True)
def displayed_level(state, t_s, raw, m, hysteresis_s, persistence_s):
    """Level displayed at ``t_s`` given this step's raw level; updates ``state`` (M-of-N, persistence, resets)."""
    last_time = state[STATE_LAST_TIME]
    if math.isnan(last_time) or t_s <= last_time or t_s - last_time > hysteresis_s:
        for j in range(state.shape[0] - STATE_WINDOW):
            state[STATE_WINDOW + j] = raw if j < m else -1.0
        state[STATE_RAISED_AT] = math.nan
        state[STATE_LAST_LEVEL] = -1.0
    candidate = _m_of_n(state, raw, m)
    raised_at = state[STATE_RAISED_AT]
    last_value = state[STATE_LAST_LEVEL]
    held = (
        not math.isnan(raised_at)
        and last_value > 0
        and candidate < last_value
        and t_s >= raised_at
        and t_s - raised_at < persistence_s
    )
    if not held:
        if candidate > 0 and candidate > last_value:
            state[STATE_RAISED_AT] = t_s
        state[STATE_LAST_LEVEL] = max(0, candidate)
    state[STATE_LAST_TIME] = t_s
    return int(state[STATE_LAST_LEVEL])


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
    steps = t_in.shape[0]
    shown = np.empty(steps, dtype=np.int64)
    raw_out = np.empty(steps, dtype=np.int64)
    state = np.empty(alert_state_size(n))
    reset_alert_state(state)
    for i in range(steps):
        if not valid[i]:
            shown[i] = -1
            raw_out[i] = -1
            continue
        raw = raw_level(state, times_s[i], t_in[i], t_out[i], alerting_s[i], early_s[i])
        raw_out[i] = raw
        shown[i] = displayed_level(state, times_s[i], raw, m, hysteresis_s, persistence_s)
    return shown, raw_out
