"""HDF5 encounter sets: metadata, replayable states and commands of both aircraft, provenance.

Layout:

- root attributes: ``encsim_version``, ``created_utc``, ``command``, ``scenario_name``,
  ``scenario_text`` (the TOML, verbatim), ``seed``, ``chunk_size``, ``ownship_model``,
  ``ownship_model_sha256``, ``intruder_model``, ``intruder_model_sha256`` and, once complete,
  ``n_encounters``, ``attempts``, ``acceptance_rate``, ``rejections`` (JSON);
- ``metadata/<column>``: one dataset per metadata column (one row per encounter);
- ``ownship/initial/<field>`` and ``intruder/initial/<field>``: placed initial states (ft, ft/s, rad);
- ``ownship/schedule/{offsets,t_s,hdot_fps,psidot_rad_s,vdot_fps2}`` and the intruder's: commands.

``fly_commands(initial, schedule, duration)`` with these arrays replays every encounter exactly.
Optionally (``--trajectories``) ``ownship/trajectories/<field>`` and the intruder's hold the placed
10-Hz trajectories as float32.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .. import __version__
from ..commands import CommandSchedule, InitialStates
from .tracks_file import _append

SCHEDULE_FIELDS = ("t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2")


class EncounterFileWriter:
    """Append `EncounterSet` chunks to one HDF5 file, written under a temporary name until closed."""

    def __init__(self, path, scenario, scenario_text: str, seed: int, own_model, int_model):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(self.path.name + ".partial")
        self._file = h5py.File(self._tmp, "w")
        attrs = {
            "encsim_version": __version__,
            "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
            "scenario_name": scenario.name,
            "scenario_text": scenario_text,
            "seed": int(seed),
            "chunk_size": int(scenario.run.chunk_size),
            "duration_s": int(scenario.geometry.duration_s),
            "ownship_model": own_model.name,
            "ownship_model_sha256": own_model.sha256,
            "intruder_model": int_model.name,
            "intruder_model_sha256": int_model.sha256,
        }
        for key, value in attrs.items():
            self._file.attrs[key] = value
        self._rows = {"ownship": 0, "intruder": 0}
        self._rejections: dict[str, int] = {}
        self._encounters = 0
        self._attempts = 0

    def append(self, encounters) -> None:
        group = self._file.require_group("metadata")
        group.attrs["columns"] = json.dumps(list(encounters.metadata.columns))
        for column in encounters.metadata.columns:
            _append(group, column, encounters.metadata[column].to_numpy())
        for role, initial, sample in (("ownship", encounters.own_initial, encounters.ownship),
                                      ("intruder", encounters.int_initial, encounters.intruder)):  # fmt: skip
            side = self._file.require_group(role)
            states = side.require_group("initial")
            for name in InitialStates.FIELDS:
                _append(states, name, getattr(initial, name))
            schedule = side.require_group("schedule")
            if "offsets" not in schedule:
                _append(schedule, "offsets", np.zeros(1, dtype=np.int64))
            _append(schedule, "offsets", sample.schedule.offsets[1:] + self._rows[role])
            for name in SCHEDULE_FIELDS:
                _append(schedule, name, getattr(sample.schedule, name))
            self._rows[role] += int(sample.schedule.offsets[-1])
        if encounters.trajectories is not None:
            for role, flown in zip(("ownship", "intruder"), encounters.trajectories):
                group = self._file.require_group(role).require_group("trajectories")
                if "t_s" not in group:
                    group.create_dataset("t_s", data=flown.t_s)
                for name in flown.FIELDS:
                    _append(group, name, getattr(flown, name).astype(np.float32))
        for reason, count in encounters.rejections.items():
            self._rejections[reason] = self._rejections.get(reason, 0) + int(count)
        self._encounters += encounters.n_encounters
        self._attempts += encounters.attempts_total

    def close(self) -> Path:
        attrs = self._file.attrs
        attrs["n_encounters"] = self._encounters
        attrs["attempts"] = self._attempts
        attrs["acceptance_rate"] = self._encounters / self._attempts if self._attempts else float("nan")
        attrs["rejections"] = json.dumps(self._rejections)
        self._file.close()
        self._tmp.replace(self.path)
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self._file.close()
            self._tmp.unlink(missing_ok=True)
        return False


def read_encounter_file(path) -> dict:
    """Metadata, provenance and both aircraft's initial states and schedules of an encounter file."""
    with h5py.File(path, "r") as f:
        if "n_encounters" not in f.attrs:
            raise ValueError(f"{path}: incomplete encounter file (no n_encounters attribute)")
        columns = json.loads(f["metadata"].attrs["columns"])
        result = {
            "attrs": dict(f.attrs),
            "metadata": pd.DataFrame({c: f["metadata"][c][()] for c in columns}),
        }
        result["attrs"]["rejections"] = json.loads(f.attrs["rejections"])
        for role in ("ownship", "intruder"):
            initial = InitialStates(*(f[role]["initial"][name][()] for name in InitialStates.FIELDS))
            schedule = CommandSchedule(f[role]["schedule"]["offsets"][()], *(f[role]["schedule"][n][()] for n in SCHEDULE_FIELDS))
            result[role] = {"initial": initial, "schedule": schedule}
    return result
