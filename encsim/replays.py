"""Replay one encounter of a run: both arms re-flown, step by step, with what the logic said and the pilot did.

`replay` re-flies encounter ID of a results file or run directory from its stored initial states
and commands, nominal and mitigated, with the run's logic and closed-loop settings (its
provenance), through the plain-Python closed loop (`encsim.simulate.record_encounter`), and
returns tidy tables with units in their column names. The outcome computed on the way is checked
against the stored one: a replay shows the flight that was scored.

Usage (needs files on disk, so shown rather than run as a doctest)::

    import encsim

    replay = encsim.replay("out/results.h5", 17)
    replay.steps.query("arm == 'mitigated'")[["t_s", "horizontal_separation_ft"]]
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .avoidance import PilotModel, Surveillance
from .avoidance.interface import (
    ALTITUDE,
    CHANGE_COUNTER,
    DIRECTION,
    EAST,
    G_PREFERRED,
    G_REGION,
    G_RESOLUTION_LOW,
    G_RESOLUTION_UP,
    HEADING,
    HORIZONTAL_MODE,
    LEGACY_ADVISORY_SIZE,
    LEGACY_STATE_SIZE,
    LEVEL,
    NORTH,
    SPEED,
    TARGET_HEADING,
    TARGET_VERTICAL_RATE,
    TURN_RATE,
    UP,
    V_EAST,
    V_NORTH,
    V_UP,
    VERTICAL_MODE,
    guidance_index,
)
from .commands import CommandSchedule, InitialStates
from .metrics.detection import WellClearVolume, well_clear_preset
from .simulate import OUTCOME_COLUMNS, closed_loop_provenance, record_encounter
from .units import FPM_PER_FPS, FPS_PER_KT

__all__ = ["Replay", "ReplayError", "replay"]

ARMS = ("nominal", "mitigated")


class ReplayError(ValueError):
    """An encounter that cannot be replayed as it was run (no states stored, another logic, another outcome)."""


@dataclasses.dataclass
class Replay:
    """One encounter re-flown nominal and mitigated (see `replay`).

    Attributes
    ----------
    steps : DataFrame
        One row per arm and 10-Hz step: ``arm`` ("nominal", "mitigated"), ``step``, ``t_s``; both
        aircraft's state (``own_``/``intruder_`` ``north_ft``, ``east_ft``, ``up_ft``,
        ``heading_deg``, ``speed_kt``, ``vertical_rate_fpm``); ``horizontal_separation_ft``,
        ``vertical_separation_ft`` (intruder above ownship is positive); the guidance the pilot is
        flying (``flying_vertical``, ``flying_horizontal``, ``flown_target_vertical_rate_fpm``,
        ``flown_target_heading_deg``) and the commands it led to over the next step
        (``commanded_vertical_rate_fpm``, ``commanded_turn_rate_deg_s``; NaN at the last step). The
        nominal arm flies its stored commands throughout.
    decisions : DataFrame
        One row per arm and decision of the logic (the nominal arm runs it open loop: nobody
        responds): ``t_s``, ``alert_level``, ``vertical_mode``, ``target_vertical_rate_fpm``,
        ``vertical_sense`` (+1 climb, -1 descend, 0 none: a TCAS RA's sense; its strength is the
        target rate), ``horizontal_mode``, ``target_heading_deg``, ``turn_rate_deg_s``,
        ``change_counter``; the guidance blocks of the direction and altitude dimensions
        (``direction_region``, ``direction_resolution_low_deg``, ``direction_resolution_up_deg``,
        ``direction_preferred``, ``altitude_region``, ``altitude_resolution_low_ft``,
        ``altitude_resolution_up_ft``, ``altitude_preferred``: region -1 unknown (no bands computed)
        to 4 recovery, NaN for no resolution on that side, preferred -1 left/down, +1 right/up, 0 none);
        and what the logic saw of the intruder (``seen_`` ``north_ft``, ``east_ft``, ``up_ft``).
    outcome : Series
        The outcome row computed by this replay (`encsim.simulate.OUTCOME_COLUMNS`); it equals
        ``stored``, the run's row (checked).
    """

    encounter_id: int
    logic: str
    steps: pd.DataFrame
    decisions: pd.DataFrame
    outcome: pd.Series
    stored: pd.Series
    nmac_ft: tuple[float, float]
    well_clear: WellClearVolume
    weight: float

    def __repr__(self) -> str:
        o = self.outcome
        return (
            f"<Replay encounter {self.encounter_id} with {self.logic}: HMD {o['nominal_hmd_ft']:.0f} ft nominal, "
            f"{o['mitigated_hmd_ft']:.0f} ft mitigated; NMAC {bool(o['nominal_nmac'])} -> {bool(o['mitigated_nmac'])}; "
            f"{len(self.steps)} steps, {len(self.decisions)} decisions>"
        )


#: the guidance fields a decision row keeps: (dimension, field) of the advisory's guidance blocks
_GUIDANCE_RECORDED = tuple(
    (dimension, field)
    for dimension in (DIRECTION, ALTITUDE)
    for field in (G_REGION, G_RESOLUTION_LOW, G_RESOLUTION_UP, G_PREFERRED)
)
_GUIDANCE_INDICES = [guidance_index(dimension, field) for dimension, field in _GUIDANCE_RECORDED]


class _Recorder:
    """Collects the plain closed loop's per-step and per-decision values as plain lists.

    A step row: arm, step, t_s, the first `LEGACY_STATE_SIZE` entries of both states, the legacy
    advisory entries the pilot flies and the command; a decision row: arm, t_s, the legacy state
    entries seen, the legacy advisory entries and the recorded guidance fields (`_GUIDANCE_RECORDED`).
    """

    def __init__(self):
        self.steps: list[tuple] = []
        self.decisions: list[tuple] = []

    def step(self, mitigated, i, t_s, own, intruder, active, command):
        self.steps.append(
            (
                int(mitigated),
                i,
                t_s,
                *own[:LEGACY_STATE_SIZE],
                *intruder[:LEGACY_STATE_SIZE],
                *active[:LEGACY_ADVISORY_SIZE],
                *command,
            )
        )

    def decision(self, mitigated, t_s, seen, advisory):
        self.decisions.append(
            (
                int(mitigated),
                t_s,
                *seen[:LEGACY_STATE_SIZE],
                *advisory[:LEGACY_ADVISORY_SIZE],
                *advisory[_GUIDANCE_INDICES],
            )
        )


def _aircraft_columns(raw: np.ndarray, prefix: str) -> dict:
    return {
        f"{prefix}_north_ft": raw[:, NORTH],
        f"{prefix}_east_ft": raw[:, EAST],
        f"{prefix}_up_ft": raw[:, UP],
        f"{prefix}_heading_deg": np.degrees(raw[:, HEADING]) % 360.0,
        f"{prefix}_speed_kt": raw[:, SPEED] / FPS_PER_KT,
        f"{prefix}_ground_speed_kt": np.hypot(raw[:, V_NORTH], raw[:, V_EAST]) / FPS_PER_KT,
        f"{prefix}_vertical_rate_fpm": raw[:, V_UP] * FPM_PER_FPS,
    }


def _steps_frame(rows: list[tuple]) -> pd.DataFrame:
    raw = np.array(rows, dtype=np.float64)
    n_state, n_advisory = LEGACY_STATE_SIZE, LEGACY_ADVISORY_SIZE
    own, intruder = raw[:, 3 : 3 + n_state], raw[:, 3 + n_state : 3 + 2 * n_state]
    active = raw[:, 3 + 2 * n_state : 3 + 2 * n_state + n_advisory]
    command = raw[:, 3 + 2 * n_state + n_advisory :]
    frame = pd.DataFrame(
        {
            "arm": np.array(ARMS)[raw[:, 0].astype(int)],
            "step": raw[:, 1].astype(np.int64),
            "t_s": raw[:, 2],
            **_aircraft_columns(own, "own"),
            **_aircraft_columns(intruder, "intruder"),
            "horizontal_separation_ft": np.hypot(intruder[:, NORTH] - own[:, NORTH], intruder[:, EAST] - own[:, EAST]),
            "vertical_separation_ft": intruder[:, UP] - own[:, UP],
            "flying_vertical": active[:, VERTICAL_MODE] > 0,
            "flying_horizontal": active[:, HORIZONTAL_MODE] > 0,
            "flown_target_vertical_rate_fpm": np.where(
                active[:, VERTICAL_MODE] > 0, active[:, TARGET_VERTICAL_RATE] * FPM_PER_FPS, np.nan
            ),
            "flown_target_heading_deg": np.where(
                active[:, HORIZONTAL_MODE] > 0, np.degrees(active[:, TARGET_HEADING]) % 360.0, np.nan
            ),
            "commanded_vertical_rate_fpm": command[:, 0] * FPM_PER_FPS,
            "commanded_turn_rate_deg_s": np.degrees(command[:, 1]),
        }
    )
    return frame


def _decisions_frame(rows: list[tuple]) -> pd.DataFrame:
    n_seen, n_advisory, n_guidance = LEGACY_STATE_SIZE, LEGACY_ADVISORY_SIZE, len(_GUIDANCE_RECORDED)
    raw = np.array(rows, dtype=np.float64).reshape(len(rows), 2 + n_seen + n_advisory + n_guidance)
    seen, advisory = raw[:, 2 : 2 + n_seen], raw[:, 2 + n_seen : 2 + n_seen + n_advisory]
    guidance = raw[:, 2 + n_seen + n_advisory :]
    vertical = advisory[:, VERTICAL_MODE] > 0
    return pd.DataFrame(
        {
            "arm": np.array(ARMS)[raw[:, 0].astype(int)],
            "t_s": raw[:, 1],
            "alert_level": advisory[:, LEVEL].astype(np.int64),
            "vertical_mode": advisory[:, VERTICAL_MODE].astype(np.int64),
            "target_vertical_rate_fpm": np.where(vertical, advisory[:, TARGET_VERTICAL_RATE] * FPM_PER_FPS, np.nan),
            "vertical_sense": np.where(vertical, np.sign(advisory[:, TARGET_VERTICAL_RATE]), 0.0).astype(np.int64),
            "horizontal_mode": advisory[:, HORIZONTAL_MODE].astype(np.int64),
            "target_heading_deg": np.where(
                advisory[:, HORIZONTAL_MODE] > 0, np.degrees(advisory[:, TARGET_HEADING]) % 360.0, np.nan
            ),
            "turn_rate_deg_s": np.degrees(advisory[:, TURN_RATE]),
            "change_counter": advisory[:, CHANGE_COUNTER].astype(np.int64),
            **_guidance_columns(guidance),
            "seen_north_ft": seen[:, NORTH],
            "seen_east_ft": seen[:, EAST],
            "seen_up_ft": seen[:, UP],
        }
    )


def _guidance_columns(guidance: np.ndarray) -> dict:
    """The recorded guidance fields (`_GUIDANCE_RECORDED` order) as named columns, directions in degrees."""
    columns = {}
    for k, (dimension, field) in enumerate(_GUIDANCE_RECORDED):
        values = guidance[:, k]
        name, unit = ("direction", "_deg") if dimension == DIRECTION else ("altitude", "_ft")
        if field == G_REGION:
            columns[f"{name}_region"] = values.astype(np.int64)
        elif field == G_PREFERRED:
            columns[f"{name}_preferred"] = values.astype(np.int64)
        else:
            side = "low" if field == G_RESOLUTION_LOW else "up"
            columns[f"{name}_resolution_{side}{unit}"] = (
                np.degrees(values) % 360.0 if dimension == DIRECTION else values
            )
    return columns


def _one_encounter(results, role: str, row: int):
    """The stored initial state and commands of one aircraft of encounter row ``row``."""
    initial, schedule = results.states(role)
    picked = InitialStates(*(getattr(initial, f)[[row]] for f in InitialStates.FIELDS))
    part = schedule.rows_of(int(row))
    offsets = np.array([0, len(part["t_s"])], dtype=np.int64)
    return picked, CommandSchedule(offsets, *part.values())


def _well_clear(stored) -> WellClearVolume:
    return well_clear_preset(stored) if isinstance(stored, str) else WellClearVolume(**stored)


def _check_logic(results, logic, recorded: dict, settings: dict) -> None:
    """Refuse a logic whose source file or parameters differ from those the run recorded."""
    now = closed_loop_provenance(logic, **settings)
    for key, what in (("logic_source_sha256", "source sha256"), ("logic_params", "parameters")):
        if recorded.get(key) is not None and now[key] != recorded[key]:
            raise ReplayError(
                f"{results.path}: logic {now['logic']} has {what} {now[key]}, but the run recorded {recorded[key]} "
                f"for logic {recorded.get('logic', '?')}: the replay would not be the flight that was scored "
                "(replay with the logic's version that made the run)"
            )


def replay(results, encounter_id: int, *, logic=None) -> Replay:
    """Re-fly encounter ``encounter_id`` of a run nominal and mitigated, as the run flew it.

    Parameters
    ----------
    results : Results or path-like
        An `encsim.open_results` result, or the path of a results file or run directory made with
        a logic (``encsim run --logic ...``).
    encounter_id : int
        The encounter (e.g. from ``results.worst(n, by=...).encounter_id``).
    logic : str, function or (function, params), optional
        The logic to fly; by default the run's own (its provenance's name). Needed for a logic
        given to the run as an object rather than by name or import path.

    Returns
    -------
    Replay
        ``steps`` (per 10-Hz step), ``decisions`` (per decision of the logic) and ``outcome``.

    Raises
    ------
    ReplayError
        For results without outcomes or stored states, a logic whose source sha256 or parameters
        differ from the run's (both named), or a replayed outcome that differs from the stored one.
    KeyError
        For an encounter id the run does not hold.
    """
    from .results import Results, open_results

    if not isinstance(results, Results):
        results = open_results(Path(results))
    if not results.has_outcomes:
        raise ReplayError(f"{results.path}: holds no closed-loop outcomes to replay (run it with --logic)")
    if results.states("ownship") is None:
        raise ReplayError(f"{results.path}: holds no initial states and commands to replay")
    ids = results.metadata["encounter_id"].to_numpy()
    matches = np.flatnonzero(ids == int(encounter_id))
    if matches.size == 0:
        raise KeyError(f"encounter id {encounter_id} is not in {results.path} (ids {ids.min()}..{ids.max()})")
    row = int(matches[0])
    recorded = results.provenance["closed_loop"]
    logic = recorded["logic"] if logic is None else logic
    nmac_ft = tuple(float(x) for x in recorded["nmac_cylinder_ft"])
    settings = {
        "pilot": PilotModel(**recorded["pilot"]),
        "surveillance": Surveillance(**recorded["surveillance"]),
        "decision_period_s": float(recorded["decision_period_s"]),
        "well_clear": _well_clear(recorded["well_clear"]),
        "nmac_ft": nmac_ft,
    }
    _check_logic(results, logic, recorded, settings)
    recorder = _Recorder()
    own, own_schedule = _one_encounter(results, "ownship", row)
    intruder, int_schedule = _one_encounter(results, "intruder", row)
    out = record_encounter(
        own,
        own_schedule,
        intruder,
        int_schedule,
        float(results.scenario.geometry.duration_s),
        logic,
        recorder,
        seed=int(results.provenance["seed"]),
        encounter_id=int(encounter_id),
        **settings,
    )
    outcome = pd.Series(out, index=list(OUTCOME_COLUMNS), name=int(encounter_id))
    stored = results.outcomes.iloc[row][list(OUTCOME_COLUMNS)].astype(float).rename(int(encounter_id))
    differs = [c for c in OUTCOME_COLUMNS if not _same(outcome[c], stored[c])]
    if differs:
        raise ReplayError(
            f"{results.path}: encounter {encounter_id} replays to another outcome than the run stored: "
            + ", ".join(f"{c} {outcome[c]!r} (stored {stored[c]!r})" for c in differs[:5])
        )
    return Replay(
        encounter_id=int(encounter_id),
        logic=str(recorded["logic"] if isinstance(logic, str) and logic == recorded["logic"] else logic),
        steps=_steps_frame(recorder.steps),
        decisions=_decisions_frame(recorder.decisions),
        outcome=outcome,
        stored=stored,
        nmac_ft=nmac_ft,
        well_clear=settings["well_clear"],
        weight=float(results.metadata["weight"].iloc[row]),
    )


def _same(a: float, b: float) -> bool:
    """Floating-point equal, NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b
