"""The logic under test: its contract with the closed loop, the pilot model and reference logics.

Reference logics: `unequipped`, the DO-365-style heading logic `daa` (presets ``daa``,
``daa-daidalus``, ``daa-noncoop``) and the TCAS-II-style vertical logic `tcas`. A user logic is an
``@njit`` function with the signature of `interface` (fast path) or any Python callable with the
same signature (slow path); `check_logic` checks either on canonical geometries, and
`resolve_logic` finds one by name or ``module:object`` import path.
"""

import numpy as np

from .check import LogicContractError, canonical_geometries, check_logic
from .daa import daa, daa_params
from .interface import ADVISORY_SIZE, MEMORY_SIZE, STATE_SIZE, PilotModel, Surveillance, unequipped
from .plugins import LogicSpecError, check_named_logic, describe_logic, is_compiled, resolve_logic
from .tcas import tcas, tcas_params

#: name -> (fast-path logic, function giving its parameter array)
REFERENCE_LOGICS = {
    "unequipped": (unequipped, lambda: np.zeros(1)),
    "daa": (daa, lambda: daa_params("do365")),
    "daa-daidalus": (daa, lambda: daa_params("daidalus")),
    "daa-noncoop": (daa, lambda: daa_params("noncoop")),
    "daa-vertical": (daa, lambda: daa_params("do365", dimension="vertical")),
    "daa-both": (daa, lambda: daa_params("do365", dimension="both")),
    "tcas": (tcas, tcas_params),
}

__all__ = [
    "ADVISORY_SIZE",
    "MEMORY_SIZE",
    "REFERENCE_LOGICS",
    "STATE_SIZE",
    "LogicContractError",
    "LogicSpecError",
    "PilotModel",
    "Surveillance",
    "canonical_geometries",
    "check_logic",
    "check_named_logic",
    "daa",
    "daa_params",
    "describe_logic",
    "is_compiled",
    "resolve_logic",
    "tcas",
    "tcas_params",
    "unequipped",
]
