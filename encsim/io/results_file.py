"""Reading any encsim results: an encounter/results file, a run directory, or a run's joined file.

`read_results` returns what `encsim.io.encounters_file.read_encounter_file` returns (``attrs``,
``metadata``, optionally ``outcomes``, ``logic``, ``closed_loop``, ``ownship`` and ``intruder``)
plus ``kind`` and ``sources`` (the files actually read), whatever the input:

- a results or encounter file (``encsim run -o x.h5``, ``encsim encounters``, a standalone file):
  read as it is;
- a run directory: read through its manifest, chunk by chunk (every chunk must be present with the
  sha256 the manifest recorded), never through the joined ``results.h5``;
- a run's joined ``results.h5``: its datasets are HDF5 virtual datasets, which read as fill values
  (NaN weights, zero ids) when a chunk file is missing, so they are never read; the chunk files
  they name are read instead, and a missing one is refused.

Nothing read here is ever a fill value: the totals are checked against the recorded ones, and
weights must be finite and positive and encounter ids unique.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ..checksums import file_sha256
from ..commands import InitialStates, join_schedules
from .encounters_file import check_format_version, read_encounter_file

__all__ = ["ResultsFileError", "read_results"]

MANIFEST = "manifest.json"


class ResultsFileError(ValueError):
    """A results file or run directory that cannot be read faithfully (names the path and the fault)."""


def _virtual_sources(path: Path) -> list[str] | None:
    """The chunk files (in order) a joined run file's datasets point to; None for an ordinary file.

    Refuses HDF5 files that are not encsim results (a tracks file, another program's file).
    """
    with h5py.File(path, "r") as f:
        if "scenario_text" not in f.attrs:
            found = "a tracks file (encsim sample)" if "n_tracks" in f.attrs else "an HDF5 file encsim did not write"
            raise ResultsFileError(f"{path}: this is {found}, not results (written by encsim run or encsim encounters)")
        check_format_version(f.attrs, path)
        if "metadata" not in f or "encounter_id" not in f["metadata"]:
            return None
        dataset = f["metadata"]["encounter_id"]
        if not dataset.is_virtual:
            return None
        return list(dict.fromkeys(source.file_name for source in dataset.virtual_sources()))


def _chunk_files_of_run_directory(run_dir: Path, verify: bool) -> tuple[list[Path], list[str]]:
    """The chunk files of a run directory in order, and the sha256 its manifest recorded for each."""
    from .manifest import read_manifest

    manifest = read_manifest(run_dir)
    files, recorded, missing, damaged = [], [], [], []
    for k in range(manifest["n_chunks"]):
        entry = manifest["chunks"].get(str(k))
        path = None if entry is None else run_dir / entry["file"]
        if path is None or not path.is_file():
            missing.append(k)
        elif verify and file_sha256(path, remember=False) != entry["sha256"]:
            damaged.append(k)
        files.append(path)
        recorded.append(None if entry is None else entry["sha256"])
    if missing or damaged:
        raise ResultsFileError(
            f"{run_dir}: the run is incomplete: chunks {missing[:10]} missing, {damaged[:10]} changed since the "
            "manifest recorded them; finish it with encsim run ... -o DIR --resume"
        )
    return files, recorded


def _join(chunks: list[dict], attrs: dict) -> dict:
    """One result dict from the chunk files' dicts, in order; ``attrs`` is the run's provenance."""
    joined = {"attrs": attrs, "metadata": pd.concat([c["metadata"] for c in chunks], ignore_index=True)}
    if all("outcomes" in c for c in chunks):
        joined["outcomes"] = pd.concat([c["outcomes"] for c in chunks], ignore_index=True)
        joined["logic"] = chunks[0]["logic"]
        joined["closed_loop"] = chunks[0]["closed_loop"]
    elif any("outcomes" in c for c in chunks):
        raise ResultsFileError("some chunk files hold outcomes and others do not: they come from different runs")
    for role in ("ownship", "intruder"):
        if all(role in c for c in chunks):
            initial = InitialStates(
                *(np.concatenate([getattr(c[role]["initial"], f) for c in chunks]) for f in InitialStates.FIELDS)
            )
            joined[role] = {
                "initial": initial,
                "schedule": join_schedules([c[role]["schedule"] for c in chunks]),
            }
    return joined


def _run_attrs(chunks: list[dict], files: list[Path], sha256: list[str]) -> dict:
    """The provenance of a run read chunk by chunk: the first chunk's, with the run's totals."""
    attrs = dict(chunks[0]["attrs"])
    rejections: dict[str, int] = {}
    for chunk in chunks:
        if chunk["attrs"].get("scenario_text") != attrs.get("scenario_text"):
            raise ResultsFileError(f"{files[0].parent}: the chunk files come from different scenarios")
        for reason, count in chunk["attrs"]["rejections"].items():
            rejections[reason] = rejections.get(reason, 0) + int(count)
    attempts = int(sum(int(c["attrs"]["attempts"]) for c in chunks))
    total = int(sum(len(c["metadata"]) for c in chunks))
    attrs.update(
        {
            "n_encounters": total,
            "attempts": attempts,
            "acceptance_rate": total / attempts if attempts else float("nan"),
            "rejections": rejections,
            "n_chunks": len(chunks),
            "chunk_sha256": list(sha256),
        }
    )
    return attrs


def _read_chunks(files: list[Path]) -> list[dict]:
    return [read_encounter_file(path) for path in files]


def _check_values(result: dict, where) -> None:
    """Refuse what only fill values or a broken join could give: bad weights, repeated ids, wrong totals."""
    metadata = result["metadata"]
    weights = metadata["weight"].to_numpy(float)
    if not np.all(np.isfinite(weights) & (weights > 0)):
        bad = int(np.flatnonzero(~(np.isfinite(weights) & (weights > 0)))[0])
        raise ResultsFileError(f"{where}: weight of row {bad} is {float(weights[bad])}, expected finite and positive")
    ids = metadata["encounter_id"].to_numpy()
    if np.unique(ids).shape[0] != ids.shape[0]:
        raise ResultsFileError(f"{where}: encounter ids repeat (a chunk read twice, or fill values)")
    expected = int(result["attrs"].get("n_encounters", len(metadata)))
    if len(metadata) != expected:
        raise ResultsFileError(f"{where}: {len(metadata)} encounters read, {expected} recorded")
    if "outcomes" in result:
        outcome_ids = result["outcomes"]["encounter_id"].to_numpy()
        if outcome_ids.shape != ids.shape or np.any(outcome_ids != ids):
            raise ResultsFileError(f"{where}: the outcomes and metadata rows describe different encounters")


def read_results(path, *, verify: bool = True) -> dict:
    """Read a results or encounter file, a run directory, or a run's joined ``results.h5``.

    Parameters
    ----------
    path : path-like
        A ``.h5`` file written by encsim, or a run directory (``encsim run -o DIR``).
    verify : bool
        Check every chunk file of a run directory against the sha256 in its manifest.

    Returns
    -------
    dict
        As `encsim.io.encounters_file.read_encounter_file`, plus ``kind`` (``"file"``,
        ``"run directory"``) and ``sources`` (the files read).

    Raises
    ------
    FileNotFoundError
        For a path that does not exist.
    ResultsFileError
        For a run directory with missing or changed chunks, a joined file whose chunk files are
        missing, or values that cannot be real (non-finite weights, repeated ids, wrong totals).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory (expected a results file or a run directory)")
    if path.is_dir():
        if not (path / MANIFEST).is_file():
            raise ResultsFileError(f"{path}: a folder without {MANIFEST} is not a run directory (encsim run -o DIR)")
        files, sha256 = _chunk_files_of_run_directory(path, verify)
        chunks = _read_chunks(files)
        result = {**_join(chunks, _run_attrs(chunks, files, sha256)), "kind": "run directory", "sources": files}
        result["attrs"]["logic"] = result.get("logic", "")
        _check_values(result, path)
        return result
    if not h5py.is_hdf5(path):
        raise ResultsFileError(f"{path}: not an HDF5 file (expected a results file written by encsim run)")
    sources = _virtual_sources(path)
    if sources is None:
        result = {**read_encounter_file(path), "kind": "file", "sources": [path]}
        _check_values(result, path)
        return result
    if (path.parent / MANIFEST).is_file():  # the joined file of a run directory: read the run itself
        return read_results(path.parent, verify=verify)
    files = [path.parent / name for name in sources]
    missing = [name for name, file in zip(sources, files) if not file.is_file()]
    if missing:
        raise ResultsFileError(
            f"{path} is a run directory's joined file: it holds links to the chunk files {missing[:3]}"
            f"{' and more' if len(missing) > 3 else ''}, which are not beside it, so it has no data of its own. "
            "Open the whole run directory, or write a self-contained copy with "
            "encsim.io.standalone.write_standalone_results (encsim export RUN --format h5)"
        )
    with h5py.File(path, "r") as f:
        attrs = dict(f.attrs)
    recorded = json.loads(attrs.get("chunk_sha256", "[]"))
    if verify and recorded:
        changed = [
            name for name, file, sha in zip(sources, files, recorded) if file_sha256(file, remember=False) != sha
        ]
        if changed or len(recorded) != len(files):
            raise ResultsFileError(
                f"{path}: the chunk files {changed[:3]} changed since they were joined; join them again with "
                "encsim merge (or open the run directory)"
            )
    chunks = _read_chunks(files)
    attrs["rejections"] = json.loads(attrs.get("rejections", "{}"))
    result = {**_join(chunks, attrs), "kind": "file", "sources": files}
    _check_values(result, path)
    return result
