"""A folder of .daa recordings as an `EncounterSet` (each file one encounter, weight 1; issue 20).

`recorded_encounter_set` converts every file with `encsim.encounters.recorded.recorded_encounter`
and packs the results into the container `encsim.simulate.simulate` and the runner's writer take:
encounter ids 0, 1, ... in file-name order, ``own_initial``/``int_initial`` and the schedules of
``ownship``/``intruder`` (`TrackSample` with model name ``"recorded"``), and one metadata row per
file. Lives in io (not beside the converter) because it builds a `Scenario`.

Two things the closed loop must take from the metadata (today's `simulate` flies every encounter
of a set for ``scenario.geometry.duration_s`` with the default `DynamicLimits`):

- ``duration_s``: each recording's run length (the last time both aircraft have data). The set's
  placeholder scenario has ``duration_s`` = the longest, rounded up to a whole second.
- ``own_pitch_rate_max_rad_s``, ``int_pitch_rate_max_rad_s``: the pitch-rate limits each aircraft
  was fitted with (`encsim.encounters.recorded`, "Limits"); the other limits are the defaults.

Until the encounter-source seam gives recorded encounters their own scenario kind, the scenario is
a placeholder built here (models ``"recorded"``, a degenerate geometry the source does not use),
with the files and their sha256 in its description.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import units
from ..checksums import file_sha256
from ..commands import CommandSchedule, InitialStates
from ..dynamics import DynamicLimits, fly_commands
from ..encounters import EncounterSet
from ..encounters.recorded import RecordedEncounter, recorded_encounter, recorded_paths
from ..metrics.detection import Cylinder, separation_metrics, well_clear_preset
from ..sampling import TrackSample
from .scenario import parse_scenario

__all__ = ["fly_recorded_set", "recorded_encounter_set", "recorded_limits", "recorded_metadata"]

#: the model name of recorded tracks in the set's scenario and track samples
RECORDED_MODEL = "recorded"


def _scenario_text(recorded, sha256s, duration_s: int) -> str:
    files = "; ".join(
        f"id {k}: {Path(r.source).name} (sha256 {s}, ownship {r.aircraft[0]}, intruder {r.aircraft[1]})"
        for k, (r, s) in enumerate(zip(recorded, sha256s, strict=True))
    )
    description = (
        f"{len(recorded)} recorded encounters from .daa files: {files}. "
        "Geometry and run are placeholders: recorded encounters are not sampled."
    )
    # a JSON string is a valid TOML basic string (names with quotes or backslashes stay intact)
    return f"""name = "recorded encounters"
description = {json.dumps(description)}
[ownship]
model = "{RECORDED_MODEL}"
[intruder]
model = "{RECORDED_MODEL}"
[geometry]
tcpa_s = 0
duration_s = {duration_s}
hmd_edges_ft = [-1.0, 1.0]
hmd_proportions = [1.0]
max_hmd_ft = 1.0
vmd_edges_ft = [-1.0, 1.0]
vmd_weights = [1.0]
check_hmd_vmd = false
[run]
encounters = {len(recorded)}
seed = 0
"""


def _pick(states: InitialStates, index: int) -> InitialStates:
    return InitialStates(*(getattr(states, f)[index : index + 1] for f in InitialStates.FIELDS))


def _concat_schedules(parts: list[dict]) -> CommandSchedule:
    offsets = np.concatenate([[0], np.cumsum([len(p["t_s"]) for p in parts])]).astype(np.int64)
    return CommandSchedule(offsets, *(np.concatenate([p[n] for p in parts]) for n in parts[0]))


def _track_sample(recorded: list[RecordedEncounter], index: int, duration_s: int) -> TrackSample:
    initial = _stack_initial(recorded, index)
    schedule = _concat_schedules([r.schedule.rows_of(index) for r in recorded])
    frame = pd.DataFrame(
        {
            "track_id": np.arange(len(recorded), dtype=np.int64),
            "alt_ft": initial.alt_ft,
            "speed_kt": units.fps_to_kt(initial.speed_fps),
            "heading_deg": np.degrees(initial.heading_rad),
        }
    )
    empty = pd.DataFrame(index=range(len(recorded)))
    return TrackSample(
        model_name=RECORDED_MODEL,
        model_sha256="",
        seed=0,
        first_id=0,
        duration_s=duration_s,
        presets={},
        empty_column="",
        initial=frame,
        schedule=schedule,
        schedule_bins=np.zeros((schedule.t_s.shape[0], 3), dtype=np.int8),
        bin_changes=empty,
        resamples=empty.copy(),
    )


def recorded_metadata(recorded: RecordedEncounter, encounter_id: int, metrics) -> dict:
    """One metadata row: identity, recording times, closest approach, limits, fit errors, nominal outcome."""
    errors = recorded.errors()
    flown = recorded.fitted
    names = ("north_ft", "east_ft", "up_ft", "speed_fps", "heading_rad", "pitch_rad")
    own = {name: getattr(flown, name)[:1] for name in names}
    intr = {name: getattr(flown, name)[1:] for name in names}
    cylinder = Cylinder("NMAC", metrics.nmac_radius_ft, metrics.nmac_half_height_ft)
    nominal = separation_metrics(flown.t_s, own, intr, cylinder=cylinder, volume=well_clear_preset(metrics.well_clear))
    k_tca = int(round(recorded.tca_s * 10))
    pitch_rate = np.asarray(recorded.limits.pitch_rate_max_rad_s, dtype=np.float64)
    return {
        "encounter_id": encounter_id,
        "attempts": 1,
        "weight": 1.0,
        "t_start_s": recorded.t_start_s,
        "t_end_s": recorded.t_end_s,
        "duration_s": recorded.duration_s,
        "recorded_tca_s": recorded.tca_s,
        "recorded_hmd_ft": recorded.hmd_ft,
        "recorded_vmd_ft": recorded.vmd_ft,
        "recorded_vmd_signed_ft": recorded.vmd_signed_ft,
        "ends_before_cpa": recorded.ends_before_cpa,
        "own_pitch_rate_max_rad_s": float(pitch_rate[0]),
        "int_pitch_rate_max_rad_s": float(pitch_rate[1]),
        "own_fit_horizontal_max_ft": float(errors["horizontal_max_ft"][0]),
        "int_fit_horizontal_max_ft": float(errors["horizontal_max_ft"][1]),
        "own_fit_altitude_max_ft": float(errors["altitude_max_ft"][0]),
        "int_fit_altitude_max_ft": float(errors["altitude_max_ft"][1]),
        "int_heading_tcpa_rad": float(_wrap(flown.heading_rad[1, k_tca] - flown.heading_rad[0, k_tca])),
        "int_alt_tcpa_ft": float(flown.up_ft[1, k_tca]),
        "hmd_ft": float(nominal.hmd_ft[0]),
        "vmd_ft": float(nominal.vmd_ft[0]),
        "vmd_signed_ft": float(nominal.vmd_signed_ft[0]),
        "tca_s": float(nominal.tca_s[0]),
        "nmac": bool(nominal.nmac[0]),
        "lowc": bool(nominal.lowc[0]),
        "t_lowc_entry_s": float(nominal.t_lowc_entry_s[0]),
        "t_lowc_exit_s": float(nominal.t_lowc_exit_s[0]),
    }


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def recorded_encounter_set(folder_or_files) -> EncounterSet:
    """Every .daa recording of a folder (or the given files) as one `EncounterSet`, weight 1 each.

    Parameters
    ----------
    folder_or_files : str, Path or list of them
        A folder (its ``*.daa`` files, sorted by name) or .daa files; each is one encounter
        (`encsim.encounters.recorded.recorded_encounter`), id = its position.

    Returns
    -------
    EncounterSet
        Metadata columns (numbers only, so the runner's HDF5 writer stores them; the files, their
        sha256 and the aircraft names are in the scenario's description, by id): ``encounter_id``,
        ``attempts`` (1), ``weight`` (1.0), ``t_start_s``/``t_end_s`` (recording clock),
        ``duration_s``, the recording's closest approach (``recorded_tca_s``, ``recorded_hmd_ft``,
        ``recorded_vmd_ft``, ``ends_before_cpa``), the fitted pitch-rate limits, the fit's largest
        errors, and the nominal outcome of the re-flown tracks (``hmd_ft``, ``vmd_ft``, ``tca_s``,
        ``nmac``, ``lowc``, ...) with the scenario's metrics over each encounter's own duration.
    """
    paths = recorded_paths(folder_or_files)
    recorded = [recorded_encounter(path) for path in paths]
    sha256s = [file_sha256(path) for path in paths]
    duration = int(math.ceil(max(r.duration_s for r in recorded) - 1e-9))
    text = _scenario_text(recorded, sha256s, duration)
    scenario = parse_scenario(text, source="recorded encounters", check_models=False)
    rows = [recorded_metadata(r, k, scenario.metrics) for k, r in enumerate(recorded)]
    metadata = pd.DataFrame(rows)
    own, intr = _track_sample(recorded, 0, duration), _track_sample(recorded, 1, duration)
    return EncounterSet(
        scenario=scenario,
        scenario_text=text,
        seed=0,
        metadata=metadata,
        ownship=own,
        intruder=intr,
        own_initial=_stack_initial(recorded, 0),
        int_initial=_stack_initial(recorded, 1),
        rejections={},
    )


def _stack_initial(recorded: list[RecordedEncounter], index: int) -> InitialStates:
    return InitialStates(
        *(np.concatenate([getattr(r.initial, f)[index : index + 1] for r in recorded]) for f in InitialStates.FIELDS)
    )


def recorded_limits(metadata: pd.DataFrame, role: str) -> DynamicLimits:
    """The `DynamicLimits` of ``"ownship"`` or ``"intruder"`` of every encounter of a recorded set."""
    prefix = {"ownship": "own", "intruder": "int"}[role]
    return DynamicLimits(pitch_rate_max_rad_s=metadata[f"{prefix}_pitch_rate_max_rad_s"].to_numpy(dtype=np.float64))


def fly_recorded_set(encounters: EncounterSet, row: int):
    """Both aircraft of encounter ``row`` flown nominal for its own duration with its own limits (10 Hz)."""
    duration = float(encounters.metadata["duration_s"].iloc[row])
    out = []
    for role, initial, sample in (
        ("ownship", encounters.own_initial, encounters.ownship),
        ("intruder", encounters.int_initial, encounters.intruder),
    ):
        limits = recorded_limits(encounters.metadata.iloc[row : row + 1], role)
        rows = sample.schedule.rows_of(row)
        schedule = CommandSchedule(np.array([0, len(rows["t_s"])]), *rows.values())
        out.append(fly_commands(_pick(initial, row), schedule, duration, limits=limits))
    return out
