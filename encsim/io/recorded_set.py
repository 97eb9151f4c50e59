"""A folder of .daa recordings as an `EncounterSet` (each file one encounter, weight 1; issue 20).

`recorded_encounter_set` converts every file with `encsim.encounters.recorded.recorded_encounter`
and packs the results into the container `encsim.simulate.simulate` and the runner's writer take:
encounter ids 0, 1, ... in file-name order, ``own_initial``/``int_initial`` and the schedules of
``ownship``/``intruder`` (`TrackSample` with model name ``"recorded"``), and one metadata row per
file. Lives in io (not beside the converter) because it builds a `Scenario`.

The set carries what the closed loop flies it with (`encsim.simulate.simulate` takes them):
``durations_s`` (each recording's run length, the last time both aircraft have data) and
``own_limits``/``int_limits`` (the pitch-rate limits each aircraft was fitted with, per encounter;
`recorded_limits`). Built here, without a scenario, the set's scenario is a placeholder (models
``"recorded"``, a degenerate geometry, ``duration_s`` the longest recording rounded up) with the
files and their sha256 in its description; as a scenario kind (``[encounter] kind = "recorded"``,
`recorded_scenario`) the packing is `encsim.encounters.recorded_source`'s.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..checksums import file_sha256
from ..commands import CommandSchedule, InitialStates
from ..dynamics import fly_commands
from ..encounters import EncounterSet
from ..encounters.recorded import recorded_encounter, recorded_paths
from ..encounters.recorded_source import RECORDED_MODEL, pack_recorded_set, recorded_limits, recorded_metadata
from .recorded_scenario import recorded_scenario_text
from .scenario import parse_scenario

__all__ = [
    "fly_recorded_set",
    "recorded_encounter_set",
    "recorded_limits",
    "recorded_metadata",
    "recorded_scenario",
    "recorded_scenario_text",
]


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


def recorded_encounter_set(folder_or_files, *, ids=None, scenario=None, scenario_text: str = "") -> EncounterSet:
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
        ``own_limits``, ``int_limits`` (per encounter) and ``durations_s`` are what the closed loop
        flies them with (`encsim.simulate.simulate`).
    ids : array of int, optional
        The encounter ids of the files (default 0, 1, ...: their positions).
    scenario, scenario_text : Scenario and str, optional
        The set's scenario (``[encounter] kind = "recorded"``, `recorded_scenario`) and its text;
        default a placeholder scenario naming the files and their sha256.
    """
    paths = recorded_paths(folder_or_files)
    recorded = [recorded_encounter(path) for path in paths]
    ids = np.arange(len(paths), dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    duration = int(math.ceil(max(r.duration_s for r in recorded) - 1e-9))
    if scenario is None:
        scenario_text = _scenario_text(recorded, [file_sha256(path) for path in paths], duration)
        scenario = parse_scenario(scenario_text, source="recorded encounters", check_models=False)
    return pack_recorded_set(recorded, ids, scenario, scenario_text)


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


def recorded_scenario(folder_or_files, document: dict | None = None, *, source: str = ""):
    """`recorded_scenario_text` parsed: the (scenario, text) a run of recorded encounters uses."""
    text = recorded_scenario_text(folder_or_files, document, source=source)
    return parse_scenario(text, source=source or "recorded encounters", check_models=False), text
