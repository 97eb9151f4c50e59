"""The DAIDALUS-exact DAA logic of the closed loop: its parameter array, presets and provenance.

`daidalus_logic` (the ``@njit`` kernel of `_logic`) is the ``daa`` reference logic: DAIDALUS v2.0.4's
alerting of the one intruder and its guidance bands, at every decision (docs/closed_loop.md, "DAA").
`daidalus_params` packs a `DaidalusConfig` (a preset name, a ``.conf`` path or a configuration),
the alerter the intruder is given and the guidance dimension into the float64 array the logic
reads. `DAA_PRESETS` names the reference presets (``daa``, ``daa-vertical``, ``daa-both``,
``daa-sum``, ``daa-a``, ``daa-noncoop``; ``daa-daidalus`` a deprecated alias of ``daa``), and
`daa_configuration` gives a preset's configuration for provenance (its text and sha256).

Parameter layout (`N_PARAMS` floats; offsets are the ``P_*`` constants of `_logic`):

====================  ==========================================================================
0                     guidance dimension: 0 direction, 1 vertical speed, 2 both, 3 none (alerting only)
1                     number of alert levels of the alerter (1-3)
2, 3                  alerting M and N (M-of-N)
4, 5, 6               hysteresis time s, persistence time s, lookahead time s
7-12                  SUM z-scores: h_pos, h_vel_min, h_vel_max, h_vel_distance ft, v_pos, v_vel
13                    "both": the largest turn (rad) taken before a vertical-rate change (30 deg)
14                    the alerter's 1-based index in the configuration
15                    1: scan every band candidate even for an intruder proved to colour none (tests); 0
16 + 8 k ...          alert level k + 1: detector (0 WCV_TAUMOD, 1 WCV_TAUMOD_SUM), DTHR ft, ZTHR ft,
                      TTHR s, TCOA s, alerting time s, early alerting time s, band region (0 NONE,
                      1 FAR, 2 MID, 3 NEAR); unused levels zero
40 ...                the band settings (`_guidance.pack_band_settings`: steps, ranges,
                      kinematics, recovery, persistence)
====================  ==========================================================================

Examples
--------
>>> params = daidalus_params("do365b")
>>> params.shape == (N_PARAMS,), int(params[P_N_LEVELS]), float(params[P_LEVELS + L_DTHR])
(True, 3, 4010.236220472441)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ._guidance import pack_band_settings
from ._logic import (
    GUIDE_BOTH,
    GUIDE_DIRECTION,
    GUIDE_NONE,
    GUIDE_VERTICAL_SPEED,
    L_ALERTING,
    L_DTHR,
    L_EARLY,
    L_REGION,
    L_SUM,
    L_TCOA,
    L_TTHR,
    L_ZTHR,
    LEVEL_FIELDS,
    MAX_ALERTING_N,
    MAX_LEVELS,
    MEMORY_SIZE,
    N_PARAMS,
    P_ALERTER,
    P_ALERTING_M,
    P_ALERTING_N,
    P_BANDS,
    P_BOTH_MAX_TURN_RAD,
    P_DIMENSION,
    P_HYSTERESIS_S,
    P_LEVELS,
    P_LOOKAHEAD_S,
    P_N_LEVELS,
    P_PERSISTENCE_S,
    P_Z_SCORES,
    daidalus_logic,
)
from .config import DaidalusConfig, load_config

__all__ = [
    "BOTH_MAX_TURN_DEG",
    "DAA_PRESETS",
    "DIMENSIONS",
    "MEMORY_SIZE",
    "N_PARAMS",
    "DaaPreset",
    "alerting_only_params",
    "alerting_times_s",
    "daa_configuration",
    "daa_provenance",
    "daidalus_logic",
    "daidalus_params",
]

#: guidance dimensions of `daidalus_params`
DIMENSIONS = {"direction": GUIDE_DIRECTION, "vertical": GUIDE_VERTICAL_SPEED, "both": GUIDE_BOTH, "none": GUIDE_NONE}
#: "both": turn when a conflict-free heading lies within this many degrees, else change the vertical rate
BOTH_MAX_TURN_DEG = 30.0
_REGIONS = {"NONE": 0, "FAR": 1, "MID": 2, "NEAR": 3}


def daidalus_params(
    config: str | DaidalusConfig = "do365b", *, dimension: str = "direction", alerter: int = 1
) -> np.ndarray:
    """The parameter array of `daidalus_logic` for a configuration, guidance dimension and alerter.

    Parameters
    ----------
    config : str, Path or DaidalusConfig
        ``do365b``, ``do365b-sum``, ``do365a``, a DAIDALUS ``.conf`` path, or a configuration.
    dimension : {"direction", "vertical", "both"}
        Where the logic guides: horizontal direction (heading) bands, vertical-speed bands, or a
        turn when a conflict-free heading lies within `BOTH_MAX_TURN_DEG`, else a vertical rate.
    alerter : int
        The 1-based alerter of the configuration the intruder gets (the .daa ``alerter`` column):
        1 Phase I (cooperative), 2 Phase II, 3 Non-Cooperative in the DO-365B configurations.

    Raises
    ------
    ValueError
        An unknown dimension, an alerter the configuration lacks, an alerter with more than 3
        levels (the contract reports levels 0-3), an M-of-N window the logic cannot keep, or band
        settings the bands refuse.
    """
    cfg = load_config(config)
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension {dimension!r}: expected one of {sorted(DIMENSIONS)}")
    spec = cfg.alerter(alerter) if isinstance(alerter, int) and not isinstance(alerter, bool) else None
    if spec is None:
        names = ", ".join(f"{i} {a.name}" for i, a in enumerate(cfg.alerters, start=1))
        raise ValueError(f"{cfg.source or 'configuration'}: no alerter {alerter!r} (it has {names})")
    if len(spec.levels) > MAX_LEVELS:
        raise ValueError(
            f"{cfg.source}: alerter {spec.name} has {len(spec.levels)} alert levels; the logic reports at most "
            f"{MAX_LEVELS}"
        )
    m, n = int(cfg.alerting_m), int(cfg.alerting_n)
    if not 1 <= m <= n <= MAX_ALERTING_N:
        raise ValueError(f"{cfg.source}: alerting_m = {m}, alerting_n = {n}: expected 1 <= m <= n <= {MAX_ALERTING_N}")
    params = np.zeros(N_PARAMS)
    params[P_DIMENSION] = DIMENSIONS[dimension]
    params[P_N_LEVELS] = len(spec.levels)
    params[P_ALERTING_M], params[P_ALERTING_N] = m, n
    params[P_HYSTERESIS_S] = cfg.hysteresis_time_s
    params[P_PERSISTENCE_S] = cfg.persistence_time_s
    params[P_LOOKAHEAD_S] = cfg.lookahead_time_s
    params[P_Z_SCORES : P_Z_SCORES + 6] = cfg.z_scores
    params[P_BOTH_MAX_TURN_RAD] = math.radians(BOTH_MAX_TURN_DEG)
    params[P_ALERTER] = alerter
    for k, level in enumerate(spec.levels):
        base = P_LEVELS + k * LEVEL_FIELDS
        params[base + L_SUM] = 1.0 if level.sum else 0.0
        params[base + L_DTHR] = level.dthr_ft
        params[base + L_ZTHR] = level.zthr_ft
        params[base + L_TTHR] = level.tthr_s
        params[base + L_TCOA] = level.tcoa_s
        params[base + L_ALERTING] = level.alerting_time_s
        params[base + L_EARLY] = level.early_alerting_time_s
        params[base + L_REGION] = _REGIONS[level.region]
    bands = pack_band_settings(cfg)
    params[P_BANDS : P_BANDS + bands.shape[0]] = bands
    if not np.all(np.isfinite(params)):
        raise ValueError(f"{cfg.source}: non-finite parameters {params[~np.isfinite(params)]}")
    return params


def alerting_times_s(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Alerting times AT_k and early alerting times EAT_k (s) of levels 1-3 of a `daidalus_params` array
    (NaN for a level the alerter lacks).

    Examples
    --------
    >>> at, eat = alerting_times_s(daidalus_params("do365b"))
    >>> at.tolist(), eat.tolist()
    ([55.0, 55.0, 25.0], [75.0, 75.0, 55.0])
    """
    params = np.asarray(params, dtype=np.float64)
    if params.shape != (N_PARAMS,):
        raise ValueError(f"expected a DAA parameter array of {N_PARAMS} values, got shape {params.shape}")
    at, eat = np.full(MAX_LEVELS, np.nan), np.full(MAX_LEVELS, np.nan)
    for k in range(int(params[P_N_LEVELS])):
        at[k] = params[P_LEVELS + k * LEVEL_FIELDS + L_ALERTING]
        eat[k] = params[P_LEVELS + k * LEVEL_FIELDS + L_EARLY]
    return at, eat


@dataclass(frozen=True)
class DaaPreset:
    """A reference preset of the DAA logic: configuration preset, guidance dimension, alerter."""

    config: str
    dimension: str = "direction"
    alerter: int = 1
    deprecated_alias_of: str | None = None

    def params(self) -> np.ndarray:
        if self.deprecated_alias_of is not None:
            warnings.warn(
                f"logic preset {self.name!r} is deprecated: it is {self.deprecated_alias_of!r}, the DAIDALUS-exact "
                "DAA logic; use that name",
                DeprecationWarning,
                stacklevel=3,
            )
        return daidalus_params(self.config, dimension=self.dimension, alerter=self.alerter)

    @property
    def name(self) -> str:
        return next(name for name, preset in DAA_PRESETS.items() if preset is self)


#: the reference presets of the DAA logic (their names are logic names: ``encsim run --logic daa-sum``)
DAA_PRESETS: dict[str, DaaPreset] = {
    "daa": DaaPreset("do365b"),
    "daa-vertical": DaaPreset("do365b", dimension="vertical"),
    "daa-both": DaaPreset("do365b", dimension="both"),
    "daa-sum": DaaPreset("do365b-sum"),
    "daa-a": DaaPreset("do365a"),
    "daa-noncoop": DaaPreset("do365b", alerter=3),
    # a small-UAS ownship (issue 20): DO-365B's structure with every detector at ASTM F3442's well clear
    "daa-sua": DaaPreset("sua"),
    "daa-daidalus": DaaPreset("do365b", deprecated_alias_of="daa"),
}


def daa_configuration(logic_name: str) -> DaidalusConfig | None:
    """The DAIDALUS configuration of a DAA reference preset (None for any other logic name)."""
    preset = DAA_PRESETS.get(logic_name) if isinstance(logic_name, str) else None
    return None if preset is None else load_config(preset.config)


def daa_provenance(logic_name) -> dict:
    """What a DAA preset adds to a run's provenance: its configuration's name, text and sha256 (else nothing)."""
    cfg = daa_configuration(logic_name)
    if cfg is None:
        return {}
    preset = DAA_PRESETS[logic_name]
    return {
        "daa_config": preset.config,
        "daa_config_sha256": cfg.sha256,
        "daa_config_text": cfg.text,
        "daa_alerter": cfg.alerter(preset.alerter).name,
        "daa_dimension": preset.dimension,
    }


def alerting_only_params(params: np.ndarray) -> np.ndarray:
    """The same parameters with guidance off (dimension "none"): what the closed loop's open-loop pass flies.

    That pass calls the logic on the nominal encounter to score its alerting (DO-365) and nobody reads
    its guidance; the alert level never depends on the bands, so the levels are the same, without the
    cost of the bands (most of the logic's time: benchmarks/README.md). `tests/test_daidalus_logic.py`
    holds the levels equal decision by decision.

    >>> full = daidalus_params("do365b")
    >>> int(alerting_only_params(full)[P_DIMENSION]), int(full[P_DIMENSION])
    (3, 0)
    """
    out = np.array(params, dtype=np.float64, copy=True)
    out[P_DIMENSION] = GUIDE_NONE
    return out
