"""HDF5 encounter sets: metadata, replayable states and commands of both aircraft, provenance.

Layout:

- root attributes: ``encounter_format_version`` (`FORMAT_VERSION`; a file without it is version 1,
  and readers refuse a version newer than theirs), ``encounter_kind`` (the source: ``pairing``,
  ``small_uas``; absent: ``pairing``), ``encsim_version``, ``created_utc``, ``command``,
  ``scenario_name``, ``scenario_text`` (the TOML, verbatim), ``seed``, ``chunk_size``,
  ``ownship_model``, ``ownship_model_sha256``, ``intruder_model``, ``intruder_model_sha256`` (an
  aircraft that is no model track, a small-UAS mission, is named by its source, e.g.
  ``small_uas:lawnmower/multirotor``, with the sha256 of the presets it used) and, once complete,
  ``n_encounters``, ``attempts``, ``acceptance_rate``, ``rejections`` (JSON);
- ``metadata/<column>``: one dataset per metadata column (one row per encounter);
- ``ownship/initial/<field>`` and ``intruder/initial/<field>``: placed initial states (ft, ft/s, rad);
- ``ownship/schedule/{offsets,t_s,hdot_fps,psidot_rad_s,vdot_fps2}`` and the intruder's: commands;
- with a logic, ``outcomes/<column>`` (`encsim.simulate.OUTCOME_COLUMNS` with ids and weights) and
  the attributes ``logic`` and ``closed_loop`` (JSON: the logic's parameters and source sha256, the
  pilot and surveillance models, the decision period, well-clear preset and NMAC cylinder).

``fly_commands(initial, schedule, duration)`` with these arrays replays every encounter exactly.
Optionally (``--trajectories``) ``ownship/trajectories/<field>`` and the intruder's hold the placed
10-Hz trajectories as float32.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

import h5py
import numpy as np
import pandas as pd

from ..checksums import file_sha256
from ..commands import CommandSchedule, InitialStates
from .tracks_file import AtomicH5Writer, _append

SCHEDULE_FIELDS = ("t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2")
#: the layout version this encsim writes (1: before the attribute existed; 2: encounter_kind added)
FORMAT_VERSION = 2
_PROVENANCE_KEYS = ("ownship_model", "ownship_model_sha256", "intruder_model", "intruder_model_sha256")


class UnsupportedFormatError(ValueError):
    """An encounter or results file written in a newer layout than this encsim reads."""


def check_format_version(attrs, path) -> int:
    """The file's layout version (1 when absent); refuses one newer than `FORMAT_VERSION`, naming both."""
    version = int(attrs.get("encounter_format_version", 1))
    if version > FORMAT_VERSION:
        raise UnsupportedFormatError(
            f"{path}: encounter file format version {version}, newer than the version {FORMAT_VERSION} this "
            f"encsim reads: upgrade encsim to read it (nothing was read)"
        )
    return version


class EncounterFileWriter(AtomicH5Writer):
    """Append `EncounterSet` chunks to one HDF5 file, written under a temporary name until closed.

    ``provenance`` is the source's (`encsim.encounters.EncounterSource.provenance`): both aircraft's
    model names and sha256; ``kind`` the source's kind.
    """

    def __init__(
        self, path, scenario, scenario_text: str, seed: int, provenance: dict, *, kind="pairing", overwrite=True
    ):
        attributes = {
            "encounter_format_version": FORMAT_VERSION,
            "encounter_kind": kind,
            "scenario_name": scenario.name,
            "scenario_text": scenario_text,
            "seed": int(seed),
            "chunk_size": int(scenario.run.chunk_size),
            "duration_s": int(scenario.geometry.duration_s),
            **{key: provenance[key] for key in _PROVENANCE_KEYS},
        }
        super().__init__(path, attributes, overwrite=overwrite)
        self._rows = {"ownship": 0, "intruder": 0}
        self._encounters = 0
        self._attempts = 0

    def append(self, encounters) -> None:
        group = self._file.require_group("metadata")
        group.attrs["columns"] = json.dumps(list(encounters.metadata.columns))
        for column in encounters.metadata.columns:
            _append(group, column, encounters.metadata[column].to_numpy())
        for role, initial, sample in (
            ("ownship", encounters.own_initial, encounters.ownship),
            ("intruder", encounters.int_initial, encounters.intruder),
        ):
            side = self._file.require_group(role)
            states = side.require_group("initial")
            for name in InitialStates.FIELDS:
                _append(states, name, getattr(initial, name))
            schedule = side.require_group("schedule")
            offsets = sample.schedule.offsets[1:] + self._rows[role]
            if "offsets" not in schedule:  # the leading 0 with the first rows: HDF5 sizes blocks by the first write
                offsets = np.concatenate((np.zeros(1, dtype=np.int64), offsets))
            _append(schedule, "offsets", offsets)
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
        self._add_rejections(encounters.rejections)
        self._encounters += encounters.n_encounters
        self._attempts += encounters.attempts_total

    def set_attribute(self, name: str, value) -> None:
        self._file.attrs[name] = value

    @property
    def n_encounters(self) -> int:
        return self._encounters

    @property
    def attempts(self) -> int:
        return self._attempts

    def append_outcomes(self, outcomes, logic_name: str) -> None:
        """Closed-loop outcomes of the encounters appended last (same order), one dataset per column."""
        group = self._file.require_group("outcomes")
        group.attrs["logic"] = logic_name
        group.attrs["columns"] = json.dumps(list(outcomes.columns))
        if "closed_loop" in outcomes.attrs:  # logic parameters, pilot, surveillance... (encsim.simulate)
            group.attrs["closed_loop"] = json.dumps(outcomes.attrs["closed_loop"])
        for column in outcomes.columns:
            _append(group, column, outcomes[column].to_numpy())

    def _final_attributes(self) -> dict:
        return {
            **super()._final_attributes(),
            "n_encounters": self._encounters,
            "attempts": self._attempts,
            "acceptance_rate": self._encounters / self._attempts if self._attempts else float("nan"),
        }


class DamagedFileError(ValueError):
    """An encsim HDF5 file that cannot be read as written (the message names the file and dataset)."""


def _h5_reason(exc: BaseException) -> str:
    """HDF5's own words, shortened ("Unable to synchronously open file (truncated file: eof = ...)")."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _damage(path, what: str, exc: BaseException) -> DamagedFileError:
    reason = _h5_reason(exc)
    return DamagedFileError(
        f"{path}: {what} cannot be read ({reason}): the file is truncated or damaged; recompute it "
        "(encsim run ... --resume recomputes a run directory's damaged chunks) or restore it"
    )


def _dataset(f: h5py.File, name: str, path):
    """Read one dataset, naming the file and the dataset if it is damaged or missing."""
    try:
        return f[name][()]
    except KeyError as exc:
        raise DamagedFileError(f"{path}: dataset {name} is missing ({exc})") from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise _damage(path, f"dataset {name}", exc) from None


def _changed_chunk_files(f: h5py.File, path) -> list[str]:
    """Chunk files of a joined run file whose bytes are not those the run recorded (``chunk_sha256``)."""
    dataset = f["metadata"]["encounter_id"]
    if not dataset.is_virtual or "chunk_sha256" not in f.attrs:
        return []
    folder = os.path.dirname(os.path.abspath(path))
    sources = list(dict.fromkeys(source.file_name for source in dataset.virtual_sources()))
    recorded = json.loads(f.attrs["chunk_sha256"])
    if len(sources) != len(recorded):
        return [f"{len(sources)} chunk files joined, {len(recorded)} recorded"]
    return [
        name for name, sha in zip(sources, recorded) if file_sha256(os.path.join(folder, name), remember=False) != sha
    ]


@contextmanager
def open_results(path):
    """Open an encounter or results file for reading, checked before anything is read from it.

    Refuses (naming the file and what is wrong) a file that is not readable HDF5 (truncated or
    damaged), an incomplete one, and a joined run file whose chunk files are missing or are not
    the bytes the run recorded (e.g. a chunk swapped for one of another run).
    """
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _damage(path, "the file", exc) from None
    try:
        try:
            complete = "n_encounters" in f.attrs and "metadata" in f
        except (OSError, RuntimeError, KeyError) as exc:
            raise _damage(path, "the file's attributes", exc) from None
        if not complete:
            raise ValueError(f"{path}: incomplete encounter file (no n_encounters attribute or metadata)")
        check_format_version(f.attrs, path)
        missing = _missing_chunk_files(f, path)
        if missing:
            raise FileNotFoundError(
                f"{path} joins chunk files that are missing: {missing[:5]}"
                f"{' and more' if len(missing) > 5 else ''}; recompute them with "
                "encsim run ... --resume (or restore them), then encsim merge"
            )
        changed = _changed_chunk_files(f, path)
        if changed:
            raise DamagedFileError(
                f"{path} joins chunk files that changed since the run wrote them: {changed[:5]}; "
                "nothing was read: recompute them with encsim run ... --resume, then encsim merge"
            )
        try:
            yield f
        except (DamagedFileError, FileNotFoundError):
            raise
        except (OSError, RuntimeError, KeyError) as exc:  # structure damaged beyond the datasets read by name
            raise _damage(path, "the file's structure", exc) from None
    finally:
        f.close()


def _missing_chunk_files(f: h5py.File, path) -> list[str]:
    """Chunk files a joined run file's virtual datasets point to that are not there.

    HDF5 reads a missing source as fill values (NaN weights, zero ids and events) without an error,
    so a joined file is checked before anything is read from it.
    """
    dataset = f["metadata"]["encounter_id"]
    if not dataset.is_virtual:
        return []
    folder = os.path.dirname(os.path.abspath(path))
    sources = dict.fromkeys(source.file_name for source in dataset.virtual_sources())
    return [name for name in sources if not os.path.isfile(os.path.join(folder, name))]


def read_encounter_file(path) -> dict:
    """Metadata, provenance and both aircraft's initial states and schedules of an encounter file.

    Raises
    ------
    FileNotFoundError
        For a joined run file (``results.h5``) whose chunk files are missing.
    """
    with open_results(path) as f:
        columns = json.loads(f["metadata"].attrs["columns"])
        result = {
            "attrs": dict(f.attrs),
            "metadata": pd.DataFrame({c: _dataset(f, f"metadata/{c}", path) for c in columns}),
        }
        result["attrs"]["rejections"] = json.loads(f.attrs["rejections"])
        if "acceptance_rate" not in result["attrs"]:
            result["attrs"]["acceptance_rate"] = float("nan")
        if "outcomes" in f:
            columns = json.loads(f["outcomes"].attrs["columns"])
            result["outcomes"] = pd.DataFrame({c: _dataset(f, f"outcomes/{c}", path) for c in columns})
            result["logic"] = str(f["outcomes"].attrs.get("logic", f.attrs.get("logic", "")))
            result["closed_loop"] = json.loads(f["outcomes"].attrs.get("closed_loop", "{}"))
        for role in ("ownship", "intruder"):
            if role not in f:  # a joined run file holds metadata and outcomes only
                continue
            initial = InitialStates(*(_dataset(f, f"{role}/initial/{name}", path) for name in InitialStates.FIELDS))
            schedule = CommandSchedule(
                _dataset(f, f"{role}/schedule/offsets", path),
                *(_dataset(f, f"{role}/schedule/{n}", path) for n in SCHEDULE_FIELDS),
            )
            result[role] = {"initial": initial, "schedule": schedule}
    return result


#: the metadata columns the nominal summary needs
#: the summary's rows by encounter class need the intruder's heading and altitude at tCPA
SUMMARY_METADATA_COLUMNS = (
    "encounter_id",
    "attempts",
    "weight",
    "nmac",
    "lowc",
    "int_heading_tcpa_rad",
    "int_alt_tcpa_ft",
)
#: read too where a source writes them (recorded encounters: the recording's closest approach and its flag)
OPTIONAL_SUMMARY_METADATA_COLUMNS = ("ends_before_cpa", "recorded_hmd_ft", "recorded_vmd_ft", "hmd_ft", "duration_s")


def read_summary_tables(path) -> tuple[dict, pd.DataFrame, pd.DataFrame | None]:
    """What a run's summary needs, without the states and schedules: (attributes, metadata, outcomes or None)."""
    with open_results(path) as f:
        attrs = dict(f.attrs)
        metadata = pd.DataFrame({c: _dataset(f, f"metadata/{c}", path) for c in SUMMARY_METADATA_COLUMNS})
        for column in OPTIONAL_SUMMARY_METADATA_COLUMNS:
            if f"metadata/{column}" in f:
                metadata[column] = _dataset(f, f"metadata/{column}", path)
        outcomes = None
        if "outcomes" in f:
            columns = json.loads(f["outcomes"].attrs["columns"])
            outcomes = pd.DataFrame({c: _dataset(f, f"outcomes/{c}", path) for c in columns})
            attrs["logic"] = str(f["outcomes"].attrs.get("logic", f.attrs.get("logic", "")))
            attrs["closed_loop"] = str(f["outcomes"].attrs.get("closed_loop", "{}"))
    return attrs, metadata, outcomes
