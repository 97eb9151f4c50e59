"""The logic under test: its contract with the closed loop, the pilot model and reference logics.

So far: `unequipped` and the TCAS-II-style vertical logic `tcas`; the DO-365-style `daa` logic,
Python-object logics and `check_logic` are still to come.
"""

from .interface import ADVISORY_SIZE, MEMORY_SIZE, STATE_SIZE, PilotModel, unequipped
from .tcas import tcas, tcas_params

REFERENCE_LOGICS = {
    "unequipped": (unequipped, lambda: __import__("numpy").zeros(1)),
    "tcas": (tcas, tcas_params),
}

__all__ = ["ADVISORY_SIZE", "MEMORY_SIZE", "REFERENCE_LOGICS", "STATE_SIZE", "PilotModel", "tcas", "tcas_params", "unequipped"]
