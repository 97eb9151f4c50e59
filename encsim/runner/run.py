"""Chunked, resumable runs on a serial, process-pool or Dask executor (see the package docstring)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..checksums import file_sha256, text_sha256

MANIFEST = "manifest.json"
RESULTS = "results.h5"


def n_chunks(scenario) -> int:
    return -(-scenario.run.encounters // scenario.run.chunk_size)


def chunk_ids(scenario, chunk_index: int) -> np.ndarray:
    """Encounter ids of chunk ``chunk_index`` (fixed by the scenario, not by the number of workers)."""
    run = scenario.run
    start = run.first_id + chunk_index * run.chunk_size
    stop = min(run.first_id + run.encounters, start + run.chunk_size)
    return np.arange(start, stop, dtype=np.int64)


def _chunk_path(run_dir: Path, chunk_index: int) -> Path:
    return run_dir / "chunks" / f"chunk_{chunk_index:06d}.h5"


def compute_chunk(scenario_text: str, logic: str | None, chunk_index: int, run_dir: str) -> dict:
    """Generate (and fly, with ``logic``) one chunk and write its file; a pure function of its inputs.

    Returns the manifest entry: file name, sha256, encounters, attempts.
    """
    from ..bayes import load_model
    from ..encounters import generate_encounters
    from ..io.encounters_file import EncounterFileWriter
    from ..io.scenario import parse_scenario
    from ..simulate import simulate

    scenario = parse_scenario(scenario_text, source="run scenario", check_models=False)
    path = _chunk_path(Path(run_dir), chunk_index)
    own_model, int_model = load_model(scenario.ownship.model), load_model(scenario.intruder.model)
    encounters = generate_encounters(scenario, scenario_text, ids=chunk_ids(scenario, chunk_index))
    with EncounterFileWriter(path, scenario, scenario_text, scenario.run.seed, own_model, int_model) as writer:
        writer.append(encounters)
        if logic:
            writer.append_outcomes(simulate(encounters, logic), logic)
    return {
        "chunk": chunk_index,
        "file": str(path.relative_to(run_dir)),
        "sha256": file_sha256(path),
        "encounters": encounters.n_encounters,
        "attempts": encounters.attempts_total,
    }


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    results_path: Path
    chunks_computed: int
    chunks_reused: int
    encounters: int


def _write_json_atomically(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


def read_manifest(run_dir) -> dict:
    """A run directory's manifest, checked: ValueError naming the file and the fault otherwise."""
    path = Path(run_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not a readable manifest ({exc}); it is rewritten atomically, so it was edited "
            "or damaged: restore it, or start the run in a new folder"
        ) from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(manifest).__name__}")
    n_chunks, chunks = manifest.get("n_chunks"), manifest.get("chunks")
    if not isinstance(n_chunks, int) or n_chunks < 1:
        raise ValueError(f"{path}: n_chunks = {n_chunks!r}, expected a whole number >= 1")
    if not isinstance(chunks, dict) or not all(
        isinstance(e, dict) and {"file", "sha256"} <= set(e) for e in chunks.values()
    ):
        raise ValueError(f"{path}: chunks must map chunk numbers to entries with file and sha256")
    return manifest


def _load_manifest(run_dir: Path, header: dict, resume: bool) -> dict:
    path = run_dir / MANIFEST
    if not path.exists():
        return {**header, "chunks": {}}
    manifest = read_manifest(run_dir)
    mismatched = [key for key in header if manifest.get(key) != header[key]]
    if mismatched:
        raise ValueError(f"{run_dir} holds a different run ({', '.join(mismatched)} differ): use another folder")
    if not resume:
        raise ValueError(
            f"{run_dir} already holds this run: pass resume=True (--resume) to continue it, or use another folder"
        )
    return manifest


def verified_chunks(run_dir: Path, manifest: dict) -> dict:
    """Manifest entries whose files still exist with their recorded sha256."""
    good = {}
    for key, entry in manifest["chunks"].items():
        path = run_dir / entry["file"]
        if path.exists() and file_sha256(path) == entry["sha256"]:
            good[key] = entry
    return good


def _submit_all(executor, run_dir: Path, scenario_text: str, logic, pending: list[int]):
    """Yield manifest entries as chunks finish, whatever the executor."""
    if executor is None:
        for k in pending:
            yield compute_chunk(scenario_text, logic, k, str(run_dir))
        return
    if hasattr(executor, "scatter") and hasattr(executor, "gather"):  # a dask.distributed.Client
        from dask.distributed import as_completed

        futures = [
            executor.submit(compute_chunk, scenario_text, logic, k, str(run_dir), pure=False, retries=2)
            for k in pending
        ]
        completed = as_completed(futures)
        del futures  # held only by `completed` until each finishes
        for future in completed:
            entry = future.result()
            # release the finished task: otherwise a worker dying later while holding its result
            # makes dask recompute the chunk and rewrite its file after the manifest took its sha256
            future.release()
            yield entry
        return
    from concurrent.futures import as_completed as futures_completed

    futures = [executor.submit(compute_chunk, scenario_text, logic, k, str(run_dir)) for k in pending]
    for future in futures_completed(futures):
        yield future.result()


def _find_models_before_submitting(scenario) -> None:
    """Resolve (and if need be download, once) both model files here, before any chunk is submitted.

    A missing model then fails once with the message naming where encsim looked, instead of failing
    in every worker task (and in every retry of it); workers then find the files in the same folder
    or cache, as they share this machine's (or the cluster's shared) file system.
    """
    from ..bayes.locate import resolve_model_file

    for model in {scenario.ownship.model, scenario.intruder.model}:
        resolve_model_file(model)


def _check_logic_name(logic) -> None:
    """Fail here, once, for a logic the workers could not resolve (not in every chunk and retry)."""
    if logic is None:
        return
    if not isinstance(logic, str):
        raise TypeError(f"run_scenario takes the logic by name (reference name or module:object), got {logic!r:.80}")
    from ..avoidance import check_named_logic

    check_named_logic(logic)


def run_scenario(
    scenario_path,
    run_dir,
    *,
    logic: str | None = None,
    executor=None,
    resume: bool = False,
    progress=None,
    on_reused=None,
    stop_after: int | None = None,
) -> RunResult:
    """Run a scenario file into ``run_dir`` chunk by chunk; join the chunks into ``results.h5``.

    Parameters
    ----------
    scenario_path : path
        The scenario TOML (kept verbatim as provenance).
    run_dir : path
        Folder of the run (created).
    logic : str, optional
        The closed-loop logic by name: a reference logic or a ``module:object`` import path that
        every worker can import (nominal outcomes only without it). A name, not an object, so
        that workers resolve it themselves and the manifest records it.
    executor : None, concurrent.futures.Executor or dask.distributed.Client
        Where chunks are computed (None: here, one after the other).
    resume : bool
        Continue a run already in ``run_dir``, keeping its verified chunks.
    progress : callable, optional
        Called with the number of encounters of each finished chunk (and, without ``on_reused``,
        once with the encounters of the chunks kept by ``resume``).
    on_reused : callable, optional
        Called once with the number of encounters kept by ``resume`` (so that a progress bar can
        start there instead of counting them as just computed).
    stop_after : int, optional
        Stop (as if interrupted) after this many chunks, for tests of resumption.
    """
    from ..io.scenario import load_scenario

    scenario, text = load_scenario(scenario_path)
    _find_models_before_submitting(scenario)
    _check_logic_name(logic)
    run_dir = Path(run_dir).absolute()  # workers (batch jobs, remote schedulers) start in other directories
    (run_dir / "chunks").mkdir(parents=True, exist_ok=True)
    header = {
        "scenario_sha256": text_sha256(text),
        "logic": logic or "",
        "n_chunks": n_chunks(scenario),
        "encsim_version": __version__,
    }
    manifest = _load_manifest(run_dir, header, resume)
    manifest["chunks"] = verified_chunks(run_dir, manifest)
    for stray in (run_dir / "chunks").glob("*.partial"):
        stray.unlink()  # half-written by an interrupted run
    reused = len(manifest["chunks"])
    pending = [k for k in range(header["n_chunks"]) if str(k) not in manifest["chunks"]]
    reused_encounters = sum(entry["encounters"] for entry in manifest["chunks"].values())
    if on_reused is not None:
        on_reused(reused_encounters)
    elif progress is not None:
        progress(reused_encounters)
    computed = 0
    for entry in _submit_all(executor, run_dir, text, logic, pending):
        manifest["chunks"][str(entry["chunk"])] = entry
        _write_json_atomically(run_dir / MANIFEST, manifest)
        computed += 1
        if progress is not None:
            progress(entry["encounters"])
        if stop_after is not None and computed >= stop_after:
            raise KeyboardInterrupt(f"stopped after {computed} chunks (stop_after)")
    _write_json_atomically(run_dir / MANIFEST, manifest)
    results = join_chunks(run_dir, manifest, text, scenario, logic)
    total = sum(entry["encounters"] for entry in manifest["chunks"].values())
    return RunResult(run_dir, results, computed, reused, total)


def join_chunks(run_dir: Path, manifest: dict, scenario_text: str, scenario, logic) -> Path:
    """``results.h5``: virtual datasets over the chunks' metadata and outcomes, with provenance."""
    entries = [manifest["chunks"][str(k)] for k in range(manifest["n_chunks"])]
    paths = [run_dir / entry["file"] for entry in entries]
    tmp = run_dir / (RESULTS + ".partial")
    rejections: dict[str, int] = {}
    with h5py.File(tmp, "w") as out:
        with h5py.File(paths[0], "r") as first:
            groups = [g for g in ("metadata", "outcomes") if g in first]
            layout_info = {
                g: [
                    (name, first[g][name].dtype, first[g][name].shape[1:])
                    for name in json.loads(first[g].attrs["columns"])
                ]
                for g in groups
            }
            for key in (
                "ownship_model",
                "ownship_model_sha256",
                "intruder_model",
                "intruder_model_sha256",
                "duration_s",
            ):
                out.attrs[key] = first.attrs[key]
            group_attrs = {
                g: {k: first[g].attrs[k] for k in ("logic", "closed_loop") if k in first[g].attrs} for g in groups
            }
        lengths = []
        for path in paths:
            with h5py.File(path, "r") as chunk:
                lengths.append(chunk["metadata"]["encounter_id"].shape[0])
                for reason, count in json.loads(chunk.attrs["rejections"]).items():
                    rejections[reason] = rejections.get(reason, 0) + count
        total = int(sum(lengths))
        for group_name, columns in layout_info.items():
            group = out.create_group(group_name)
            group.attrs["columns"] = json.dumps([name for name, _, _ in columns])
            group.attrs.update(group_attrs[group_name])  # the closed loop's logic, parameters, pilot...
            for name, dtype, tail in columns:
                layout = h5py.VirtualLayout(shape=(total, *tail), dtype=dtype)
                offset = 0
                for path, length in zip(paths, lengths):
                    layout[offset : offset + length] = h5py.VirtualSource(
                        os.path.relpath(path, run_dir), f"{group_name}/{name}", shape=(length, *tail)
                    )
                    offset += length
                group.create_virtual_dataset(name, layout, fillvalue=np.nan if dtype.kind == "f" else 0)
        out.attrs.update(
            {
                "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "command": " ".join(sys.argv),
                "encsim_version": __version__,
                "scenario_name": scenario.name,
                "scenario_text": scenario_text,
                "seed": int(scenario.run.seed),
                "chunk_size": int(scenario.run.chunk_size),
                "n_chunks": len(paths),
                "n_encounters": total,
                "rejections": json.dumps(rejections),
                "logic": logic or "",
                "chunk_sha256": json.dumps([entry["sha256"] for entry in entries]),
                "attempts": int(sum(entry["attempts"] for entry in entries)),
            }
        )
        out.attrs["acceptance_rate"] = total / out.attrs["attempts"] if out.attrs["attempts"] else float("nan")
    tmp.replace(run_dir / RESULTS)
    return run_dir / RESULTS
