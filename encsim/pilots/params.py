"""Parameters of the R6 UAS pilot model, with its stochastic and deterministic presets.

Values: MIT LL's UAS heuristic operator model, release 6 (the "UAS Pilot Model" shipped for DEGAS
as `mit-ll/degas-pilotmodel`, block HeuristicOperatorModelR6), whose design is documented in
MIT LL's report "A Model of Unmanned Aircraft Pilot Detect and Avoid Maneuver Decisions" (DTIC
AD1080987). See docs/sensors_and_pilots.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from ..units import FPS_PER_FPM, RAD_PER_DEG
from . import _kernels as k

__all__ = ["R6_DETERMINISTIC", "R6_STOCHASTIC", "R6PilotParams", "TcasPilotParams"]


@dataclass(frozen=True)
class R6PilotParams:
    """The R6 UAS pilot: delays, direction choices, manoeuvre magnitudes, update intervals.

    Delays: initial = ``initial_delay_min_s`` + exponential(``initial_delay_mean_s``);
    coordination = min + gamma(shape, scale); execution = min + exponential(mean). Magnitudes:
    the distance to the band edge plus ``offset`` + gamma(shape, scale), never below 0; the
    ``alternate_turn_*`` values apply when the pilot does not follow the logic's preferred
    direction. Update intervals by alert level (none, preventive, corrective, warning,
    recovery): min + exponential(mean), or min + mean in deterministic mode.
    ``turn_probability`` gives P(turn rather than change altitude) by ownship vertical rate
    (rows: <= 0, <= ``vertical_rate_threshold_fpm``, above) and alert level (columns:
    preventive, corrective, warning; recovery uses warning).
    """

    deterministic: bool = False
    trigger_level: int = 2
    alert_hold_s: float = 4.0
    initial_delay_min_s: float = 0.0
    initial_delay_mean_s: float = 5.0
    coordination_delay_min_s: float = 0.0
    coordination_delay_shape: float = 5.5
    coordination_delay_scale_s: float = 2.0
    execution_delay_min_s: float = 0.0
    execution_delay_mean_s: float = 3.0
    probability_follow_preferred: float = 0.8
    probability_turn_left: float = 0.6
    probability_descend: float = 0.5
    turn_shape: float = 6.21
    turn_scale_deg: float = 9.67
    turn_offset_deg: float = -30.0
    alternate_turn_shape: float = 5.47
    alternate_turn_scale_deg: float = 8.25
    alternate_turn_offset_deg: float = -30.0
    altitude_shape: float = 9.73
    altitude_scale_ft: float = 207.98
    altitude_offset_ft: float = -1500.0
    vertical_rate_threshold_fpm: float = 1000.0
    update_min_s: tuple[float, ...] = (12.0, 9.0, 6.0, 6.0, 0.0)
    update_mean_s: tuple[float, ...] = (12.0, 6.0, 3.0, 3.0, 3.0)
    turn_probability: tuple[tuple[float, ...], ...] = ((0.5, 1.0, 1.0), (0.0, 0.5, 0.65), (0.0, 0.5, 0.4))

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.deterministic, bool):
            raise ValueError(f"{name}.deterministic={self.deterministic!r}: expected True or False")
        if not isinstance(self.trigger_level, int) or not 1 <= self.trigger_level <= 4:
            raise ValueError(f"{name}.trigger_level={self.trigger_level!r}: expected an alert level in 1..4")
        offsets = {"turn_offset_deg", "alternate_turn_offset_deg", "altitude_offset_ft"}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, (bool, tuple)) or field.name == "trigger_level":
                continue
            low = -math.inf if field.name in offsets else 0.0
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < low:
                raise ValueError(f"{name}.{field.name}={value!r}: expected a finite number >= {low}")
        for field_name in ("probability_follow_preferred", "probability_turn_left", "probability_descend"):
            if getattr(self, field_name) > 1.0:
                raise ValueError(f"{name}.{field_name}={getattr(self, field_name)!r}: expected a probability in [0, 1]")
        for field_name in ("update_min_s", "update_mean_s"):
            values = getattr(self, field_name)
            if len(values) != k.N_LEVELS or not all(math.isfinite(v) and v >= 0.0 for v in values):
                raise ValueError(f"{name}.{field_name}={values!r}: expected {k.N_LEVELS} finite numbers >= 0")
        table = self.turn_probability
        if len(table) != 3 or any(len(row) != 3 or not all(0.0 <= p <= 1.0 for p in row) for row in table):
            raise ValueError(f"{name}.turn_probability={table!r}: expected 3 rows of 3 probabilities")

    def as_array(self) -> np.ndarray:
        values = np.empty(k.R6_PARAMS_SIZE)
        values[k._DETERMINISTIC] = 1.0 if self.deterministic else 0.0
        values[k._TRIGGER] = self.trigger_level
        values[k._HOLD] = self.alert_hold_s
        values[k._INIT_MIN] = self.initial_delay_min_s
        values[k._INIT_MEAN] = self.initial_delay_mean_s
        values[k._COORD_MIN] = self.coordination_delay_min_s
        values[k._COORD_SHAPE] = self.coordination_delay_shape
        values[k._COORD_SCALE] = self.coordination_delay_scale_s
        values[k._EXEC_MIN] = self.execution_delay_min_s
        values[k._EXEC_MEAN] = self.execution_delay_mean_s
        values[k._P_FOLLOW] = self.probability_follow_preferred
        values[k._P_LEFT] = self.probability_turn_left
        values[k._P_DESCEND] = self.probability_descend
        values[k._TURN_SHAPE] = self.turn_shape
        values[k._TURN_SCALE] = self.turn_scale_deg * RAD_PER_DEG
        values[k._TURN_OFFSET] = self.turn_offset_deg * RAD_PER_DEG
        values[k._ALT_TURN_SHAPE] = self.alternate_turn_shape
        values[k._ALT_TURN_SCALE] = self.alternate_turn_scale_deg * RAD_PER_DEG
        values[k._ALT_TURN_OFFSET] = self.alternate_turn_offset_deg * RAD_PER_DEG
        values[k._ALTITUDE_SHAPE] = self.altitude_shape
        values[k._ALTITUDE_SCALE] = self.altitude_scale_ft
        values[k._ALTITUDE_OFFSET] = self.altitude_offset_ft
        values[k._VRATE_THRESHOLD] = self.vertical_rate_threshold_fpm * FPS_PER_FPM
        values[k._UPDATE_MIN : k._UPDATE_MIN + k.N_LEVELS] = self.update_min_s
        values[k._UPDATE_MEAN : k._UPDATE_MEAN + k.N_LEVELS] = self.update_mean_s
        values[k._P_TURN : k._P_TURN + 9] = np.asarray(self.turn_probability, dtype=np.float64).ravel()
        return values


@dataclass(frozen=True)
class TcasPilotParams:
    """The standard TCAS pilot (`encsim.avoidance.interface.PilotModel`) plus non-compliance.

    ``probability_noncompliance`` is the chance that the pilot ignores an advisory; the closed
    loop draws it with `tcas_complies` at the step the advisory is issued (at the first RA of an
    encounter to decide once per encounter).
    """

    probability_noncompliance: float = 0.0

    def __post_init__(self) -> None:
        p = self.probability_noncompliance
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
            raise ValueError(f"TcasPilotParams.probability_noncompliance={p!r}: expected a probability in [0, 1]")


#: the R6 pilot as MIT LL fitted it
R6_STOCHASTIC = R6PilotParams()
#: the R6 deterministic mode: delays 5 + 11 + 3 s, always the preferred direction and a turn,
#: 30 deg (15 deg when not preferred) or 500 ft beyond the band edge
R6_DETERMINISTIC = replace(
    R6_STOCHASTIC,
    deterministic=True,
    initial_delay_min_s=5.0,
    initial_delay_mean_s=0.0,
    coordination_delay_min_s=11.0,
    coordination_delay_shape=0.0,
    coordination_delay_scale_s=0.0,
    execution_delay_min_s=3.0,
    execution_delay_mean_s=0.0,
    probability_follow_preferred=1.0,
    probability_turn_left=1.0,
    probability_descend=0.0,
    turn_shape=0.0,
    turn_scale_deg=0.0,
    turn_offset_deg=30.0,
    alternate_turn_shape=0.0,
    alternate_turn_scale_deg=0.0,
    alternate_turn_offset_deg=15.0,
    altitude_shape=0.0,
    altitude_scale_ft=0.0,
    altitude_offset_ft=500.0,
    turn_probability=((1.0, 1.0, 1.0), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0)),
)
