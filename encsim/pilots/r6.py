"""Public wrappers of the pilot kernels: the R6 pilot over a scripted decision sequence, its
delays, and the TCAS pilot's compliance draw."""

from __future__ import annotations

import numpy as np

from ..random import seed_to_uint64
from . import _kernels as k
from .params import R6_STOCHASTIC, R6PilotParams, TcasPilotParams

__all__ = ["COMMAND_COLUMNS", "R6_MEMORY_SIZE", "r6_delays", "r6_run", "tcas_complies"]

#: columns of the R6 pilot's command
COMMAND_COLUMNS = ("active", "dimension", "target_heading_rad", "target_altitude_ft", "direction")
#: length of the R6 pilot's memory array (zero at the start of each run)
R6_MEMORY_SIZE = k.R6_MEMORY_SIZE


def _params(params) -> np.ndarray:
    if not isinstance(params, R6PilotParams):
        raise TypeError(f"params: expected R6PilotParams, got {type(params).__name__}")
    return params.as_array()


def r6_run(
    steps, levels, resolutions, preferred, own, params: R6PilotParams = R6_STOCHASTIC, *, rng=0, encounter_id=0
) -> tuple[np.ndarray, np.ndarray]:
    """Run the R6 pilot over one encounter's decisions (what the closed loop will do step by step).

    Parameters
    ----------
    steps : array_like of int (n,)
        Increasing 10-Hz steps of the decisions (every 10th step for 1 Hz).
    levels : array_like of int (n,)
        Alert level at each decision: 0 none, 1 preventive, 2 corrective, 3 warning, 4 recovery.
    resolutions : array_like (n, 4)
        Heading left, heading right (rad), altitude down, altitude up (ft); NaN for no resolution.
    preferred : array_like (n, 2)
        Preferred direction, horizontal (-1 left, +1 right) and vertical (-1 down, +1 up); 0 none.
    own : array_like (n, 8)
        The ownship's state at each decision.
    params : R6PilotParams
    rng, encounter_id : int
        The encounter's key.

    Returns
    -------
    commands : ndarray (n, 5)
        `COMMAND_COLUMNS` after each decision.
    phases : ndarray (n,)
        0 idle, 1 initial delay, 2 coordination, 3 execution delay, 4 manoeuvring.
    """
    values = _params(params)
    steps = np.asarray(steps)
    n = steps.size
    if (
        steps.ndim != 1
        or not np.issubdtype(steps.dtype, np.integer)
        or (n and (steps[0] < 0 or np.any(np.diff(steps) <= 0)))
    ):
        raise ValueError("steps: expected increasing integer 10-Hz steps >= 0")
    levels = np.asarray(levels)
    if (
        levels.shape != (n,)
        or not np.issubdtype(levels.dtype, np.integer)
        or np.any((levels < 0) | (levels >= k.N_LEVELS))
    ):
        raise ValueError(f"levels: expected {n} integer alert levels in 0..{k.N_LEVELS - 1}")
    resolutions = np.ascontiguousarray(resolutions, dtype=np.float64)
    preferred = np.ascontiguousarray(preferred, dtype=np.float64)
    own = np.ascontiguousarray(own, dtype=np.float64)
    if resolutions.shape != (n, 4) or preferred.shape != (n, 2) or own.shape != (n, 8):
        raise ValueError(
            f"resolutions {resolutions.shape}, preferred {preferred.shape}, own {own.shape}: "
            f"expected ({n}, 4), ({n}, 2), ({n}, 8)"
        )
    if not np.all(np.isfinite(own)) or not np.all(np.isin(preferred, (-1.0, 0.0, 1.0))):
        raise ValueError("own must be finite and preferred in {-1, 0, +1}")
    commands = np.empty((n, k.COMMAND_SIZE))
    phases = np.empty(n)
    k.r6_batch(
        np.uint64(seed_to_uint64(rng)),
        np.uint64(encounter_id),
        steps.astype(np.int64),
        levels.astype(np.int64),
        resolutions,
        preferred,
        own,
        values,
        commands,
        phases,
    )
    return commands, phases


def r6_delays(n: int, params: R6PilotParams = R6_STOCHASTIC, *, rng=0, step: int = 0) -> np.ndarray:
    """Initial, coordination and execution delays (s) the pilots of encounters 0..n-1 draw at ``step``.

    The same draws `r6_run` makes when the alert starts (initial delay) or the previous delay
    ends at that step; for the model's statistics.
    """
    values = _params(params)
    if int(n) < 0 or int(step) < 0:
        raise ValueError(f"n={n} and step={step} must be >= 0")
    out = np.empty((int(n), 3))
    k.delays_batch(np.uint64(seed_to_uint64(rng)), np.arange(int(n), dtype=np.uint64), int(step), values, out)
    return out


def tcas_complies(params: TcasPilotParams, steps, *, rng=0, encounter_ids=None) -> np.ndarray:
    """Whether each encounter's TCAS pilot follows the advisory issued at its step (bool array).

    Examples
    --------
    >>> bool(tcas_complies(TcasPilotParams(0.0), [30])[0])
    True
    """
    if not isinstance(params, TcasPilotParams):
        raise TypeError(f"params: expected TcasPilotParams, got {type(params).__name__}")
    steps = np.atleast_1d(np.asarray(steps))
    if steps.ndim != 1 or not np.issubdtype(steps.dtype, np.integer) or np.any(steps < 0):
        raise ValueError("steps: expected integer 10-Hz steps >= 0")
    ids = np.arange(steps.size) if encounter_ids is None else np.asarray(encounter_ids)
    if ids.shape != steps.shape or not np.issubdtype(ids.dtype, np.integer) or np.any(ids < 0):
        raise ValueError(f"encounter_ids: expected {steps.size} integers >= 0")
    out = np.empty(steps.size, dtype=np.bool_)
    k.tcas_compliance_batch(
        np.uint64(seed_to_uint64(rng)),
        ids.astype(np.uint64),
        steps.astype(np.int64),
        params.probability_noncompliance,
        out,
    )
    return out
