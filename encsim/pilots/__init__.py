"""How the ownship's pilot flies the logic's guidance: the MIT LL R6 UAS pilot model and the TCAS
pilot's compliance (docs/sensors_and_pilots.md). Pure decision components; the closed loop
calls them at its decision rate and flies their targets."""

from .params import R6_DETERMINISTIC, R6_STOCHASTIC, R6PilotParams, TcasPilotParams
from .r6 import COMMAND_COLUMNS, R6_MEMORY_SIZE, r6_delays, r6_run, tcas_complies

__all__ = [
    "COMMAND_COLUMNS",
    "R6_DETERMINISTIC",
    "R6_MEMORY_SIZE",
    "R6_STOCHASTIC",
    "R6PilotParams",
    "TcasPilotParams",
    "r6_delays",
    "r6_run",
    "tcas_complies",
]
