"""The scenario text of a set of .daa recordings (``[encounter] kind = "recorded"``; issue 20).

Apart from `encsim.io.recorded_set` so that `encsim.io.scenario.load_scenario` can build it
without an import cycle (this module imports no scenario code; its errors are ValueErrors, which
``load_scenario`` reports as `ScenarioError` naming the scenario file).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..checksums import file_sha256
from ..encounters.recorded import recorded_encounter, recorded_paths
from ..encounters.recorded_source import RECORDED_MODEL

__all__ = ["RECORDED_MODEL", "recorded_scenario_text"]


#: the scenario tables a recorded scenario takes from the user (the others are built from the files)
_USER_TABLES = ("metrics", "surveillance", "tracker", "altimetry", "pilot", "cluster", "anchor")


def recorded_scenario_text(folder_or_files, document: dict | None = None, *, source: str = "") -> str:
    """The complete scenario text of a set of recordings (``[encounter] kind = "recorded"``).

    Parameters
    ----------
    folder_or_files : str, Path or list of them
        The recordings (a folder of .daa files, or files), as `recorded_encounter_set` takes them;
        a folder or a single file is stored as an absolute ``[encounter] path``.
    document : dict, optional
        The user's scenario (TOML as a dict): its ``name``, ``description``, ``[metrics]``,
        ``[surveillance]``, ``[tracker]``, ``[altimetry]``, ``[pilot]`` tables and ``run.seed``,
        ``run.chunk_size`` are kept; without it (``encsim run FOLDER``) the defaults: DO-365 well
        clear, the 500 ft / 100 ft NMAC cylinder, perfect surveillance, the standard pilot, seed 0.
    source : str
        The scenario file, named in errors.

    The ``[ownship]``, ``[intruder]`` (model ``"recorded"``), ``[geometry]`` (a placeholder whose
    ``duration_s`` is the longest recording, rounded up: each encounter is flown for its own) and
    ``run.encounters`` (one per file) are built here; a user's scenario giving them is refused.
    """
    document = dict(document or {})
    unused = [name for name in ("ownship", "intruder", "geometry") if name in document]
    if unused:
        raise ValueError(
            f"{source or 'scenario'}: [{unused[0]}]: a recorded scenario takes its aircraft and geometry from "
            "the recordings; remove the table"
        )
    paths = recorded_paths(folder_or_files)
    durations = [recorded_encounter(path).duration_s for path in paths]
    located = folder_or_files if isinstance(folder_or_files, (str, Path)) else None
    encounter = {"kind": "recorded", "path": str(Path(located).resolve())} if located is not None else None
    if encounter is None:
        raise ValueError("a recorded scenario needs one folder or file (got a list)")
    names = ", ".join(f"id {k}: {p.name} (sha256 {file_sha256(p)})" for k, p in enumerate(paths))
    run = {key: value for key, value in document.get("run", {}).items() if key in ("seed", "chunk_size")}
    out = {
        "name": document.get("name", "recorded encounters"),
        "description": document.get("description", f"{len(paths)} recorded encounters from .daa files: {names}"),
        "encounter": encounter,
        "ownship": {"model": RECORDED_MODEL},
        "intruder": {"model": RECORDED_MODEL},
        "geometry": {
            "tcpa_s": 0,
            "duration_s": int(math.ceil(max(durations) - 1e-9)),
            "hmd_edges_ft": [-1.0, 1.0],
            "hmd_proportions": [1.0],
            "max_hmd_ft": 1.0,
            "vmd_edges_ft": [-1.0, 1.0],
            "vmd_weights": [1.0],
            "check_hmd_vmd": False,
        },
        "run": {"seed": 0, **run, "encounters": len(paths)},
        **{name: document[name] for name in _USER_TABLES if name in document},
    }
    return _toml(out)


def _toml(document: dict, prefix: str = "") -> str:
    """A TOML document of tables, strings, numbers, booleans and arrays of them (what scenarios hold)."""
    scalars = [f"{key} = {_toml_value(value)}" for key, value in document.items() if not isinstance(value, dict)]
    tables = [
        f"\n[{prefix}{key}]\n" + _toml(value, f"{prefix}{key}.")
        for key, value in document.items()
        if isinstance(value, dict)
    ]
    return "\n".join(scalars) + ("\n" if scalars else "") + "".join(tables)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, float):
        return (
            "inf" if value == math.inf else "-inf" if value == -math.inf else "nan" if value != value else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r:.60} as TOML")
