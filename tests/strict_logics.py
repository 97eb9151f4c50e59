"""Logics that break the contract on the encounters of a run but pass `check_logic`'s canonical
geometries (flown at 3,000 ft and above): they misbehave only below 2,000 ft, after 5 s.

Used by tests/test_strict_plugins.py (issue 18, case 9); importable by worker processes, which
inherit the tests folder on their path.
"""

from __future__ import annotations

import time

from numba import njit

from encsim.avoidance.interface import ADVISORY_SIZE

LOW_FT = 2000.0


@njit
def misbehaves(t_s, own, intruder, memory, params, advisory):
    """One compiled logic for every breach (one closed-loop compilation): ``params[0]`` picks it.

    1: writes advisory[ADVISORY_SIZE] (past its end); 2: writes past memory; 3: alert level 7; 4: vertical
    mode 3; 5: raises ValueError; 0: behaves (no alert).
    """
    for k in range(advisory.shape[0]):
        advisory[k] = 0.0
    if own[2] >= LOW_FT or t_s < 5.0:
        return
    how = params[0]
    if how == 1.0:
        advisory[ADVISORY_SIZE] = 1.0
    elif how == 2.0:
        memory[memory.shape[0] + 1000] = 1.0
    elif how == 3.0:
        advisory[0] = 7.0
    elif how == 4.0:
        advisory[1] = 3.0
    elif how == 5.0:
        raise ValueError("a user's error")


@njit
def returns_its_advisory(t_s, own, intruder, memory, params, advisory):
    out = advisory.copy()
    out[0] = 2.0
    return out


def python_boom(t_s, own, intruder, memory, params, advisory):
    for k in range(advisory.shape[0]):
        advisory[k] = 0.0
    if own[2] < LOW_FT and t_s >= 5.0:
        raise RuntimeError("boom")


def python_hangs(t_s, own, intruder, memory, params, advisory):
    for k in range(advisory.shape[0]):
        advisory[k] = 0.0
    while own[2] < LOW_FT and t_s >= 5.0:
        time.sleep(0.01)
