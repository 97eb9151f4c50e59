"""Plug-in containment: a user's ``@njit`` logic runs bounds-checked, and its exceptions are caught.

A compiled logic writing ``advisory[ADVISORY_SIZE]`` or past ``memory`` would write over whatever lies next to
those arrays (a crash, "double free or corruption", or silently wrong outcomes), and an exception
raised inside the parallel closed loop does not reach Python reliably. So the closed loop never
calls a user's compiled logic directly: it calls `contained`'s wrapper, which runs the logic
recompiled from its Python source with ``boundscheck=True`` (an out-of-bounds index raises
IndexError instead of writing) inside ``try``; on any exception the wrapper writes
`RAISED_LEVEL` as the alert level, which the engine's per-decision check reports as code 5
(`encsim.simulate._kernels.FAULT_CODES`) with the encounter and time. The exception's own text
is then recovered by replaying that one encounter on the plain-Python twin (`explain_raise`).

Helper functions the logic itself calls keep their own compilation options (bounds checks
apply to the logic's own body); compile them with ``boundscheck=True`` too, or set
``NUMBA_BOUNDSCHECK=1``, when developing.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import _kernels

_CONTAINED: dict = {}


def contained(function):
    """The bounds-checked, exception-catching wrapper of a compiled logic (one per logic and process)."""
    wrapper = _CONTAINED.get(function)
    if wrapper is not None:
        return wrapper
    checked = njit(boundscheck=True)(function.py_func)
    raised_level, level = _kernels.RAISED_LEVEL, _kernels.LEVEL

    @njit
    def logic_contained(t_s, own, intruder, memory, params, advisory):
        try:
            checked(t_s, own, intruder, memory, params, advisory)
        except Exception:  # Numba cannot bind the exception: the engine reports where it happened
            advisory[level] = raised_level

    logic_contained.contained_function = function
    _CONTAINED[function] = logic_contained
    return logic_contained


def explain_raise(function, params, ownship, intruder, settings, a, encounter_id) -> str:
    """Replay encounter ``a`` on the plain-Python twin with the bounds-checked logic: what it raised, and when."""
    from .plain import run_encounter

    checked = njit(boundscheck=True)(function.py_func)
    try:
        run_encounter(checked, params, ownship, intruder, settings, a, encounter_id, np.zeros(3))
    except Exception as exc:  # any exception of the user's code is what we report
        return f"{type(exc).__name__}: {exc}"
    return "an exception that a replay in Python did not reproduce"
