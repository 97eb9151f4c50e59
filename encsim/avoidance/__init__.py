"""The logic under test: its contract with the closed loop, the pilot model and reference logics.

Reference logics: `unequipped`, the DAIDALUS-exact DO-365 logic `daidalus_logic` (presets ``daa``,
``daa-vertical``, ``daa-both``, ``daa-sum``, ``daa-a``, ``daa-noncoop``; ``daa-daidalus`` a deprecated
alias of ``daa``; parameters from `daidalus_params`) and the TCAS-II-style vertical logic `tcas`. A user logic is an
``@njit`` function with the signature of `interface` (fast path) or any Python callable with the
same signature (slow path); `check_logic` checks either on canonical geometries, and
`resolve_logic` finds one by name or ``module:object`` import path. Each reference logic is one
`ReferenceLogic` record in `encsim.avoidance.reference_logics`, from which `REFERENCE_LOGICS`
(names), `REFERENCE_LOGIC_IDS` (kernel ids) and the closed-loop kernel's dispatch are built.
"""

from .check import LogicContractError, canonical_geometries, check_logic
from .daidalus.logic import daidalus_logic, daidalus_params
from .interface import ADVISORY_SIZE, MEMORY_SIZE, STATE_SIZE, PilotModel, Surveillance, unequipped
from .plugins import LogicSpecError, check_named_logic, describe_logic, is_compiled, resolve_logic
from .reference_logics import REFERENCE_LOGIC_IDS, REFERENCE_LOGICS, ReferenceLogic
from .tcas import tcas, tcas_params

__all__ = [
    "ADVISORY_SIZE",
    "MEMORY_SIZE",
    "REFERENCE_LOGICS",
    "REFERENCE_LOGIC_IDS",
    "STATE_SIZE",
    "LogicContractError",
    "LogicSpecError",
    "PilotModel",
    "ReferenceLogic",
    "Surveillance",
    "canonical_geometries",
    "check_logic",
    "check_named_logic",
    "daidalus_logic",
    "daidalus_params",
    "describe_logic",
    "is_compiled",
    "resolve_logic",
    "tcas",
    "tcas_params",
    "unequipped",
]
