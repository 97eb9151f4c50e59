"""The reference logics, one record each: the single table every other table is built from.

A record names the logic's ``@njit`` function, its integer id (how the disk-cached closed-loop
kernel picks it, `encsim.simulate._kernels`), the length of its parameter array and its presets
(name -> parameter factory). From `RECORDS` come the name table `REFERENCE_LOGICS` (used by
`resolve_logic`), the id table `REFERENCE_LOGIC_IDS` and the kernel's dispatch; adding a reference
logic is adding one record here (docs/closed_loop.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .daidalus.logic import DAA_PRESETS, alerting_only_params, daidalus_logic
from .daidalus.logic import MEMORY_SIZE as DAA_MEMORY_SIZE
from .daidalus.logic import N_PARAMS as DAA_N_PARAMS
from .interface import MEMORY_SIZE, logic_memory_size, unequipped
from .tcas import N_PARAMS as TCAS_N_PARAMS
from .tcas import tcas, tcas_params

__all__ = [
    "RECORDS",
    "REFERENCE_LOGICS",
    "REFERENCE_LOGIC_IDS",
    "ReferenceLogic",
    "memory_size_of",
    "open_loop_params_of",
    "record_of",
    "reference_logic_id",
]


@dataclass(frozen=True)
class ReferenceLogic:
    """One reference logic.

    Attributes
    ----------
    logic_id : int
        The id the disk-cached closed-loop kernel dispatches on (unique, >= 0).
    function : numba dispatcher
        The ``@njit`` logic, ``function(t_s, own, intruder, memory, params, advisory)``.
    n_params : int or None
        The length of its parameter array; None for a logic that reads no parameters.
    presets : mapping of str to callable
        Name -> function returning the parameter array (it may take ``pilot=`` a `PilotModel`).
    memory_size : int
        The length of the memory array the closed loop keeps for it.
    open_loop_params : callable or None
        The parameters of the closed loop's open-loop pass (the logic on the nominal encounter, scored
        for its alert levels only) from the run's parameters, where the logic can skip work that does not
        change its levels (the DAA logic's bands); None: the same parameters.
    """

    logic_id: int
    function: Callable
    n_params: int | None
    presets: Mapping[str, Callable[..., np.ndarray]] = field(default_factory=dict)
    memory_size: int = MEMORY_SIZE
    open_loop_params: Callable[[np.ndarray], np.ndarray] | None = None


def _no_params() -> np.ndarray:
    return np.zeros(1)


RECORDS: tuple[ReferenceLogic, ...] = (
    ReferenceLogic(0, unequipped, None, {"unequipped": _no_params}),
    # the DAIDALUS-exact DAA logic (daa, daa-vertical, daa-both, daa-sum, daa-a, daa-noncoop; daa-daidalus
    # a deprecated alias of daa): encsim.avoidance.daidalus.logic
    ReferenceLogic(
        1,
        daidalus_logic,
        DAA_N_PARAMS,
        {name: preset.params for name, preset in DAA_PRESETS.items()},
        memory_size=DAA_MEMORY_SIZE,
        open_loop_params=alerting_only_params,
    ),
    ReferenceLogic(2, tcas, TCAS_N_PARAMS, {"tcas": tcas_params}),
)


def _check_records(records) -> None:
    """Ids and names unique (a clash would route one logic's name or id to another)."""
    ids = [record.logic_id for record in records]
    names = [name for record in records for name in record.presets]
    if len(set(ids)) != len(ids) or min(ids) < 0:
        raise ValueError(f"reference logic ids must be unique and >= 0, got {ids}")
    if len(set(names)) != len(names):
        raise ValueError(f"reference logic names must be unique, got {names}")


_check_records(RECORDS)

#: name -> (fast-path logic, function giving its parameter array)
REFERENCE_LOGICS: dict[str, tuple[Callable, Callable[..., np.ndarray]]] = {
    name: (record.function, factory) for record in RECORDS for name, factory in record.presets.items()
}
#: fast-path logic -> the id the disk-cached closed-loop kernel takes in its place
REFERENCE_LOGIC_IDS: dict[Callable, int] = {record.function: record.logic_id for record in RECORDS}


def record_of(function) -> ReferenceLogic | None:
    """The record of a reference logic given its ``@njit`` function or that function's plain ``py_func``."""
    for record in RECORDS:
        if function is record.function or function is getattr(record.function, "py_func", None):
            return record
    return None


def reference_logic_id(function) -> int:
    """The kernel id of a reference logic; a function that is not one is refused (never routed to another).

    Raises
    ------
    ValueError
        ``function`` is not the ``@njit`` function of a record of `RECORDS`.
    """
    try:
        return REFERENCE_LOGIC_IDS[function]
    except (KeyError, TypeError):
        known = ", ".join(f"{record.logic_id} {getattr(record.function, '__name__', '?')}" for record in RECORDS)
        raise ValueError(f"{function!r:.80} is not a reference logic (ids: {known})") from None


def memory_size_of(function) -> int:
    """The memory array length of a logic: its record's for a reference logic, else what it declares
    (`encsim.avoidance.interface.logic_memory_size`)."""
    record = record_of(function)
    return record.memory_size if record is not None else logic_memory_size(function)


def open_loop_params_of(function, params: np.ndarray) -> np.ndarray:
    """The parameters of the open-loop pass for a logic flown with ``params`` (its record's rule, else ``params``)."""
    record = record_of(function)
    if record is None or record.open_loop_params is None:
        return params
    return np.asarray(record.open_loop_params(params), dtype=np.float64)
