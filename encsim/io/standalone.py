"""A self-contained results file from a run directory: real datasets, no virtual links.

A run directory's ``results.h5`` joins its chunk files by HDF5 virtual datasets, which read as
fill values once the file is copied away from its chunks. `write_standalone_results` writes one
ordinary encounter file (the layout of `encsim.io.encounters_file`) holding the whole run:
metadata, outcomes, both aircraft's initial states and command schedules (so every encounter can
still be replayed), and the run's provenance, with ``standalone_of`` naming the run it came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..commands import InitialStates
from .encounters_file import SCHEDULE_FIELDS
from .results_file import read_results

__all__ = ["write_standalone_results"]


def _attribute(value):
    if isinstance(value, (str, int, float, np.integer, np.floating, bytes)):
        return value
    return json.dumps(value)


def _write_table(group: h5py.Group, frame) -> None:
    group.attrs["columns"] = json.dumps(list(frame.columns))
    for column in frame.columns:
        group.create_dataset(column, data=frame[column].to_numpy(), compression="gzip", compression_opts=1)


def write_standalone_results(run, out_path) -> Path:
    """Write the results of ``run`` (a run directory, or any results file) into one self-contained file.

    Parameters
    ----------
    run : path-like
        A run directory (read through its manifest and chunk files), its ``results.h5``, or a
        results file.
    out_path : path-like
        The ``.h5`` file to write (written under ``.partial`` and moved into place when complete).

    Returns
    -------
    Path
        ``out_path``; `encsim.open_results` reads it anywhere, with the same tables as ``run``.
    """
    result = read_results(run)
    out_path = Path(out_path)
    if out_path.resolve() in {Path(p).resolve() for p in result["sources"]}:
        raise ValueError(f"{out_path}: would overwrite a file it is read from; choose another name")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".partial")
    try:
        with h5py.File(tmp, "w") as f:
            for key, value in result["attrs"].items():
                f.attrs[key] = _attribute(value)
            f.attrs["standalone_of"] = str(Path(run).resolve().name)
            _write_table(f.create_group("metadata"), result["metadata"])
            if "outcomes" in result:
                group = f.create_group("outcomes")
                _write_table(group, result["outcomes"])
                group.attrs["logic"] = result["logic"]
                group.attrs["closed_loop"] = json.dumps(result["closed_loop"])
            for role in ("ownship", "intruder"):
                if role not in result:
                    continue
                side = f.create_group(role)
                initial, schedule = result[role]["initial"], result[role]["schedule"]
                for name in InitialStates.FIELDS:
                    side.create_dataset(f"initial/{name}", data=getattr(initial, name))
                side.create_dataset("schedule/offsets", data=schedule.offsets)
                for name in SCHEDULE_FIELDS:
                    side.create_dataset(f"schedule/{name}", data=getattr(schedule, name), compression="gzip")
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path
