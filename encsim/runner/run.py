"""Chunked, resumable runs on a serial, process-pool or Dask executor (see the package docstring)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..checksums import file_sha256, text_sha256
from ..io.manifest import MANIFEST, read_manifest
from .lanes import Lanes

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


def write_encounter_file(
    path,
    scenario,
    scenario_text: str,
    logic: str | None,
    chunk_indices,
    *,
    progress=None,
    keep_trajectories: bool = False,
    on_flying=None,
    overwrite: bool = True,
) -> dict:
    """Generate (and fly, with ``logic``) the given chunks of a scenario into one encounter file.

    The one writer of both output kinds: a run directory's chunk file (one chunk) and a ``.h5``
    results file (every chunk, in order), so both share generation, closed loop, writing and
    provenance. The file is written under a temporary name and moved into place when complete
    (with ``overwrite=False``, never over a file that appeared meanwhile).
    Returns the file's totals and its identity (`chunk_identity`).
    """
    from ..encounters import encounter_source
    from ..io.encounters_file import EncounterFileWriter

    source = encounter_source(scenario)  # models loaded once for every chunk of the file
    provenance = source.provenance()
    closed_loop: dict = {}
    plain_logic = bool(logic) and not _compiled_logic(logic)
    chunk_indices = list(chunk_indices)
    in_lanes = len(chunk_indices) > 1 and not plain_logic and not _TIMER and _threadsafe_parallel_layer()
    parts = [(k, ids) for k in chunk_indices for ids in _generation_parts(chunk_ids(scenario, k), halve=in_lanes)]
    with EncounterFileWriter(
        path, scenario, scenario_text, scenario.run.seed, provenance, kind=source.kind, overwrite=overwrite
    ) as writer:

        def make(part: int, report) -> tuple:
            """Part ``part``'s encounters and, with a logic, their outcomes (in a lane, or in the caller)."""
            k, ids = parts[part]
            encounters = source.generate(
                ids, scenario_text=scenario_text, progress=report, keep_trajectories=keep_trajectories
            )
            if logic and on_flying is not None and not in_lanes:
                on_flying(encounters.n_encounters)
            return encounters, (_fly_chunk(encounters, logic, k, plain_logic=plain_logic) if logic else None)

        def write(encounters, outcomes) -> None:
            writer.append(encounters)
            if outcomes is not None:
                closed_loop.clear()  # the last part's (every part's is the same)
                closed_loop.update(outcomes.attrs.get("closed_loop", {}))
                writer.append_outcomes(outcomes, logic)

        if in_lanes:
            _import_before_lanes(source, logic)
            if logic and on_flying is not None:
                on_flying(len(parts[0][1]))
            with Lanes(make, len(parts), _lane_count(), progress=progress) as lanes:
                for part, (encounters, outcomes) in enumerate(lanes):
                    write(encounters, outcomes)
                    if logic and on_flying is not None and part + 1 < len(parts):
                        on_flying(len(parts[part + 1][1]))  # what the bar waits for next
        else:
            for part in range(len(parts)):
                write(*make(part, progress))
        identity = _identity(scenario_text, scenario, provenance, logic, closed_loop)
        writer.set_attribute("identity", json.dumps(identity, sort_keys=True))
        totals = {"encounters": writer.n_encounters, "attempts": writer.attempts, "identity": identity}
    return totals


#: the fewest encounters of a part when chunks are computed in halves
_MIN_PART_ENCOUNTERS = 500


def _generation_parts(ids: np.ndarray, *, halve: bool) -> list[np.ndarray]:
    """The parts a chunk's encounters are computed in: the chunk, or with ``halve`` its two halves.

    In lanes (`encsim.runner.lanes`), every chunk is computed in halves: two lanes then take the
    first chunk from the start, and the last chunk's halves end together (parts of a quarter chunk
    cost more than they save: generation's rounds grow less efficient). An encounter is the same
    whatever else is generated with it (its streams are its own), and the file receives the same
    rows in the same order.
    """
    if not halve or ids.shape[0] < 2 * _MIN_PART_ENCOUNTERS:
        return [ids]
    half = ids.shape[0] // 2
    return [ids[:half], ids[half:]]


def _import_before_lanes(source, logic) -> None:
    """Import in the caller what the lanes would otherwise import on their first part, each on its own.

    Two threads importing modules of one package at once can meet inside a circular import, and
    Python then hands one of them a partially initialised module (an ImportError), so nothing is
    left to import concurrently.
    """
    import importlib

    names = list(source.lazy_imports)
    if logic:
        from .. import simulate

        names += simulate.LAZY_IMPORTS
    for name in names:
        importlib.import_module(name)


def _lane_count() -> int:
    """Lanes for a file's parts: the caller's Numba thread count (``NUMBA_NUM_THREADS``, the cores)."""
    import numba

    return numba.get_num_threads()


def _compiled_logic(logic: str) -> bool:
    """Whether ``logic`` (a reference name or ``module:object``) is ``@njit``-compiled (not the slow path)."""
    from ..avoidance import REFERENCE_LOGICS, is_compiled, resolve_logic

    return logic in REFERENCE_LOGICS or is_compiled(resolve_logic(logic)[0])


def _threadsafe_parallel_layer() -> bool:
    """Whether Numba's threading layer may run parallel kernels from two threads at once.

    The ``omp`` and ``tbb`` layers may; ``workqueue`` may not (it ends the process). The layer is
    chosen now, as the first parallel kernel would choose it; for any other layer, or if it cannot
    be started, a file's chunks are computed serially.
    """
    import numba
    from numba.np.ufunc import parallel

    try:
        parallel._launch_threads()  # what the first parallel kernel call does: picks and starts the layer
        return numba.threading_layer() in ("omp", "tbb")
    except Exception:  # a layer that cannot start: the serial path, where the first kernel says why
        return False


def _identity(scenario_text: str, scenario, provenance: dict, logic, closed_loop: dict) -> dict:
    """Everything a chunk is made from, besides its encounter ids (JSON-normalised, for comparison).

    A model aircraft is named as the scenario names it; an aircraft of another source (a small-UAS
    mission) by its source's provenance name; each with the sha256 of what it is made from.
    """
    identity = {
        "scenario_sha256": text_sha256(scenario_text),
        "seed": int(scenario.run.seed),
        "encsim_version": __version__,
        "ownship_model": getattr(scenario.ownship, "model", provenance["ownship_model"]),
        "ownship_model_sha256": provenance["ownship_model_sha256"],
        "intruder_model": getattr(scenario.intruder, "model", provenance["intruder_model"]),
        "intruder_model_sha256": provenance["intruder_model_sha256"],
        "logic": logic or "",
        "closed_loop": closed_loop if logic else {},
    }
    return json.loads(json.dumps(identity, sort_keys=True))


def run_identity(scenario_text: str, scenario, logic: str | None) -> dict:
    """The identity every chunk of this run must have: models and logic as they are *now* on this machine."""
    from ..encounters import encounter_source

    source = encounter_source(scenario)
    closed_loop = {}
    if logic:
        from ..simulate import closed_loop_provenance, scenario_seams

        surveillance, pilot = scenario_seams(scenario)  # the scenario's [surveillance], [pilot]... tables
        closed_loop = closed_loop_provenance(
            logic,
            pilot=pilot,
            surveillance=surveillance,
            well_clear=scenario.metrics.well_clear,
            nmac_ft=(scenario.metrics.nmac_radius_ft, scenario.metrics.nmac_half_height_ft),
            own_limits=source.own_limits,
        )
    return _identity(scenario_text, scenario, source.provenance(), logic, closed_loop)


def identity_differences(recorded: dict, current: dict) -> list[str]:
    """What differs between two identities, one phrase per item (nested closed-loop items by name)."""
    differences = []
    for key in sorted(set(recorded) | set(current)):
        old, new = recorded.get(key), current.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            differences += [f"{key}.{item}" for item in identity_differences(old, new)]
        else:
            differences.append(f"{key} ({_short(old)} recorded, {_short(new)} now)")
    return differences


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fly_chunk(encounters, logic: str, chunk_index: int, *, plain_logic: bool = False):
    import warnings
    from contextlib import nullcontext

    from ..simulate import LogicRunError, simulate

    ids = encounters.metadata["encounter_id"].to_numpy()
    # the slow path of a plain Python logic is announced once, by the caller; the filter is the
    # process's, so it is set only there (a compiled logic's chunk may fly in a background thread)
    quiet = warnings.catch_warnings() if plain_logic else nullcontext()
    try:
        with quiet:
            if plain_logic:
                warnings.simplefilter("ignore", UserWarning)
            with _limited():
                return simulate(encounters, logic, compiling=_paused if _TIMER else None)
    except LogicRunError as exc:  # name the chunk too: whatever executor ran it, the message says where
        raise LogicRunError(f"chunk {chunk_index} (encounters {ids[0]}-{ids[-1]}): {exc}") from None


def compute_chunk(
    scenario_text: str, logic: str | None, chunk_index: int, run_dir: str, time_limit_s: float | None = None
) -> dict:
    """Generate (and fly, with ``logic``) one chunk and write its file; a pure function of its inputs.

    With ``time_limit_s``, a chunk whose closed loop (where the logic runs; not generation, not
    compilation) runs longer than that ends the process computing it (`_time_limit`), leaving a
    note the driver turns into a clear error. Returns the manifest
    entry: file name, sha256, encounters, attempts, identity.
    """
    from ..io.scenario import parse_scenario

    scenario = parse_scenario(scenario_text, source="run scenario", check_models=False)
    path = _chunk_path(Path(run_dir), chunk_index)
    with _time_limit(path.with_suffix(TIMEOUT_SUFFIX), chunk_index, time_limit_s):
        totals = write_encounter_file(path, scenario, scenario_text, logic, [chunk_index])
    return {
        "chunk": chunk_index,
        "file": str(path.relative_to(run_dir)),
        "sha256": file_sha256(path),
        **totals,
    }


TIMEOUT_SUFFIX = ".time-limit"
#: the running chunk's time limit and note (set while one runs in this process with a limit)
_TIMER: dict = {}


@contextmanager
def _time_limit(note: Path, chunk_index: int, time_limit_s: float | None):
    """Set this chunk's time limit (armed around its closed loop by `_limited`), with ``note`` for the driver.

    A logic that never returns holds the interpreter inside compiled code, where no Python signal
    handler or thread runs; faulthandler's watchdog is a C thread that needs neither: it writes the
    stacks of every thread under our header in ``note`` and ends the process. A chunk that finishes
    in time removes the note, so a note left behind names a chunk that was stopped.
    """
    if not time_limit_s:
        yield
        return
    import faulthandler
    import socket

    handle = open(note, "w")  # held open for the C watchdog until the block ends
    header = {"chunk": chunk_index, "time_limit_s": time_limit_s, "pid": os.getpid(), "host": socket.gethostname()}
    handle.write(json.dumps(header) + "\n")
    handle.flush()
    _TIMER.update(handle=handle, limit=time_limit_s)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        _TIMER.clear()
        handle.close()
        note.unlink(missing_ok=True)


def _arm() -> None:
    import faulthandler

    faulthandler.dump_traceback_later(_TIMER["limit"], exit=True, file=_TIMER["handle"])


@contextmanager
def _limited():
    """Count the block (a chunk's closed loop, where user code runs) against the chunk's time limit, if set."""
    if not _TIMER:
        yield
        return
    import faulthandler

    _arm()
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@contextmanager
def _paused():
    """Stop counting for the block (compiling a plug-in's closed loop: about a minute), then count afresh."""
    import faulthandler

    faulthandler.cancel_dump_traceback_later()
    try:
        yield
    finally:
        _arm()


class ChunkTimeLimitError(RuntimeError):
    """A chunk ran longer than the run's per-chunk time limit and was stopped."""


def _stopped_chunks(run_dir: Path) -> list[dict]:
    notes = []
    for note in sorted((run_dir / "chunks").glob("*" + TIMEOUT_SUFFIX)):
        try:
            header = json.loads(note.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            header = {}
        notes.append({**header, "note": note})
    return notes


def _raise_if_stopped(run_dir: Path, exc: BaseException) -> None:
    stopped = _stopped_chunks(run_dir)
    if not stopped:
        return
    first = stopped[0]
    raise ChunkTimeLimitError(
        f"chunk {first.get('chunk')} ran longer than the time limit of {first.get('time_limit_s')} s per chunk and "
        f"its process was stopped (a logic that never returns, or a limit too tight for the chunk); the stack "
        f"of the process at that moment is in {first['note']}"
        + (f"; {len(stopped) - 1} more chunk(s) stopped" if len(stopped) > 1 else "")
        + f" ({type(exc).__name__})"
    ) from None


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


def _load_manifest(run_dir: Path, header: dict, resume: bool) -> dict:
    path = run_dir / MANIFEST
    if not path.exists():
        return {**header, "chunks": {}}
    manifest = read_manifest(run_dir)
    differences = [key for key in header if key != "identity" and manifest.get(key) != header[key]]
    differences += identity_differences(manifest.get("identity") or {}, header["identity"])
    if differences:
        raise ValueError(
            f"{run_dir} holds a run made from something else ({'; '.join(differences)} differ): its chunks "
            "cannot be joined with this run's; use another folder (or restore what changed)"
        )
    if not resume:
        raise ValueError(
            f"{run_dir} already holds this run: pass resume=True (--resume) to continue it, or use another folder"
        )
    return manifest


def _chunk_fault(run_dir: Path, entry: dict, identity: dict) -> str | None:
    """Why a manifest entry's chunk file cannot be used (None if it can): missing, changed, other identity."""
    path = run_dir / entry["file"]
    if not path.is_file():
        return f"{path}: missing"
    if file_sha256(path, remember=False) != entry["sha256"]:
        return f"{path}: its sha256 is not the manifest's (changed or damaged since it was written)"
    if entry.get("identity") != identity:
        differences = identity_differences(entry.get("identity") or {}, identity)
        return f"{path}: made from something else ({'; '.join(differences)})"
    try:
        with h5py.File(path, "r") as chunk:
            stored = json.loads(chunk.attrs.get("identity", "{}"))
    except (OSError, ValueError) as exc:
        return f"{path}: not readable ({exc})"
    if stored != identity:
        return f"{path}: its own identity is not the run's ({'; '.join(identity_differences(stored, identity))})"
    return None


def verified_chunks(run_dir: Path, manifest: dict) -> dict:
    """Manifest entries whose files still exist with their recorded sha256 and the run's identity."""
    identity = manifest.get("identity") or {}
    return {key: entry for key, entry in manifest["chunks"].items() if _chunk_fault(run_dir, entry, identity) is None}


def verify_run_directory(run_dir) -> dict:
    """Check every chunk of a finished run directory before anything reads it; returns the manifest.

    Raises
    ------
    ValueError
        Naming each chunk file that is missing, changed since the manifest recorded it, or made
        from another scenario, seed, model or logic than the run's, and what to do.
    """
    run_dir = Path(run_dir)
    if not (run_dir / MANIFEST).is_file():
        raise ValueError(f"{run_dir}: not a run directory (no {MANIFEST}; run directories come from encsim run -o DIR)")
    manifest = read_manifest(run_dir)
    identity = manifest.get("identity") or {}
    faults = {}
    for k in range(manifest["n_chunks"]):
        entry = manifest["chunks"].get(str(k))
        fault = "not computed" if entry is None else _chunk_fault(run_dir, entry, identity)
        if fault:
            faults[k] = fault
    if faults:
        lines = [f"chunk {k}: {fault}" for k, fault in list(faults.items())[:10]]
        if len(faults) > 10:
            lines.append(f"... and {len(faults) - 10} more")
        shown = "\n  ".join(lines)
        raise ValueError(
            f"{run_dir}: chunks {list(faults)[:10]} are missing or damaged; nothing was read:\n  {shown}\n"
            "recompute them with encsim run ... --resume (which keeps the good chunks)"
        )
    return manifest


def merge_run(run_dir) -> Path:
    """Re-join a run directory's verified chunks into ``results.h5`` (holding the run's lock)."""
    from ..io.scenario import parse_scenario
    from .lock import locked

    run_dir = Path(run_dir).absolute()
    verify_run_directory(run_dir)  # before taking the lock: a folder that is no run gets no lock file
    with locked(run_dir):
        manifest = verify_run_directory(run_dir)
        with h5py.File(run_dir / manifest["chunks"]["0"]["file"], "r") as first:
            text = str(first.attrs["scenario_text"])
        scenario = parse_scenario(text, source=f"{run_dir} (chunk 0)", check_models=False)
        return join_chunks(run_dir, manifest, text, scenario, manifest.get("logic") or None)


def _submit_all(executor, run_dir: Path, scenario_text: str, logic, pending: list[int], time_limit_s=None):
    """Yield manifest entries as chunks finish, whatever the executor."""
    # the time limit travels only when set, so that compute_chunk keeps its four-argument form otherwise
    extra = (time_limit_s,) if time_limit_s else ()
    if executor is None and time_limit_s:  # a stopped chunk ends its process: not this one
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            yield from _submit_all(pool, run_dir, scenario_text, logic, pending, time_limit_s)
        return
    if executor is None:
        for k in pending:
            yield compute_chunk(scenario_text, logic, k, str(run_dir))
        return
    if hasattr(executor, "scatter") and hasattr(executor, "gather"):  # a dask.distributed.Client
        from dask.distributed import as_completed

        futures = [
            executor.submit(compute_chunk, scenario_text, logic, k, str(run_dir), *extra, pure=False, retries=2)
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

    futures = [executor.submit(compute_chunk, scenario_text, logic, k, str(run_dir), *extra) for k in pending]
    for future in futures_completed(futures):
        yield future.result()


def _find_models_before_submitting(scenario) -> None:
    """Resolve (and if need be download, once) both model files here, before any chunk is submitted.

    A missing model then fails once with the message naming where encsim looked, instead of failing
    in every worker task (and in every retry of it); workers then find the files in the same folder
    or cache, as they share this machine's (or the cluster's shared) file system.
    """
    from ..bayes.locate import resolve_model_file

    if getattr(getattr(scenario, "encounter", None), "kind", None) == "recorded":  # recordings, no model files
        return
    models = {getattr(scenario.ownship, "model", None), getattr(scenario.intruder, "model", None)}
    for model in models - {None}:  # a small-UAS mission ownship has no model file
        resolve_model_file(model)


def _check_seams(scenario) -> None:
    """Fail here, once, for a user's surveillance or pilot model that breaks its contract (not in every chunk)."""
    from ..simulate import check_pilot, check_surveillance, scenario_seams

    surveillance, pilot = scenario_seams(scenario)
    if surveillance.kernel_id is None:
        check_surveillance(surveillance.model)
    if pilot.kernel_id is None:
        check_pilot(pilot.model)


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
    chunk_time_limit_s: float | None = None,
    on_stale_lock=None,
    encounters: int | None = None,
    seed: int | None = None,
    surveillance: str | None = None,
    pilot: str | None = None,
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
    chunk_time_limit_s : float, optional
        Stop a chunk (and the process computing it) whose closed loop runs longer than this, with
        `ChunkTimeLimitError` naming it: a logic that never returns becomes an error instead of a
        hung run. Without an executor, chunks then run in one spawned process. On Dask, a stopped
        worker is restarted and the chunk retried a few times before the error.
    on_stale_lock : callable, optional
        Called with a sentence when a stale lock (of a run killed on this host) is cleared.
    encounters, seed : int, optional
        Override the scenario's ``[run]`` values. They are written into the run's scenario text
        (`encsim.io.scenario.with_run_overrides`), which the manifest binds every chunk to: a
        ``--resume`` with other values is refused like any other change of scenario.
    surveillance, pilot : str, optional
        Override the scenario's ``[surveillance]`` and ``[pilot]`` models by name (``adsb+tracker``,
        ``r6``, ``module:object``...), written into the run's scenario text the same way
        (`encsim.io.scenario.with_seam_overrides`).
    """
    from ..io.scenario import load_scenario, parse_scenario, with_run_overrides, with_seam_overrides
    from .resources import check_memory

    scenario, text = load_scenario(scenario_path)
    if encounters is not None or seed is not None:
        text = with_run_overrides(text, encounters=encounters, seed=seed, source=str(scenario_path))
        scenario = parse_scenario(text, source=str(scenario_path))
    if surveillance is not None or pilot is not None:
        text = with_seam_overrides(text, surveillance=surveillance, pilot=pilot, source=str(scenario_path))
        scenario = parse_scenario(text, source=str(scenario_path))
    check_memory(scenario, source=str(scenario_path))  # the driver (this process) reads the summary
    _find_models_before_submitting(scenario)
    _check_logic_name(logic)
    if logic:
        _check_seams(scenario)
    run_dir = Path(run_dir).absolute()  # workers (batch jobs, remote schedulers) start in other directories
    header = {
        "scenario_sha256": text_sha256(text),
        "logic": logic or "",
        "n_chunks": n_chunks(scenario),
        "encsim_version": __version__,
        "identity": run_identity(text, scenario, logic),
    }
    from .lock import locked

    with locked(run_dir, on_stale=on_stale_lock):
        try:
            return _run_locked(
                run_dir,
                header,
                text,
                scenario,
                logic,
                executor,
                resume,
                progress,
                on_reused,
                stop_after,
                chunk_time_limit_s,
            )
        except Exception as exc:  # a chunk stopped by its time limit shows only as a lost process here
            if chunk_time_limit_s:
                _raise_if_stopped(run_dir, exc)
            raise


def _remove_partial_files(run_dir: Path) -> None:
    for stray in [*(run_dir / "chunks").glob("*.partial"), *(run_dir / "chunks").glob("*" + TIMEOUT_SUFFIX)]:
        stray.unlink(missing_ok=True)


def _run_locked(
    run_dir, header, text, scenario, logic, executor, resume, progress, on_reused, stop_after, time_limit_s=None
):
    (run_dir / "chunks").mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(run_dir, header, resume)
    manifest["chunks"] = verified_chunks(run_dir, manifest)
    _remove_partial_files(run_dir)  # half-written by an interrupted run (no other run writes: we hold the lock)
    reused = len(manifest["chunks"])
    pending = [k for k in range(header["n_chunks"]) if str(k) not in manifest["chunks"]]
    reused_encounters = sum(entry["encounters"] for entry in manifest["chunks"].values())
    if on_reused is not None:
        on_reused(reused_encounters)
    elif progress is not None:
        progress(reused_encounters)
    computed = 0
    for entry in _submit_all(executor, run_dir, text, logic, pending, time_limit_s):
        differences = identity_differences(entry["identity"], header["identity"])
        if differences:  # a worker with another model file or logic version than this machine's
            raise ValueError(
                f"chunk {entry['chunk']} was computed from something else than this run ({'; '.join(differences)}; "
                "recorded = the worker's, now = this machine's): give every worker the same model files "
                "and logic, then --resume"
            )
        manifest["chunks"][str(entry["chunk"])] = entry
        _write_json_atomically(run_dir / MANIFEST, manifest)
        computed += 1
        if progress is not None:
            progress(entry["encounters"])
        if stop_after is not None and computed >= stop_after:
            raise KeyboardInterrupt(f"stopped after {computed} chunks (stop_after)")
    _write_json_atomically(run_dir / MANIFEST, manifest)
    _remove_partial_files(run_dir)  # left by workers killed mid-write (their chunks were computed again)
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
            for key, default in (("encounter_format_version", 1), ("encounter_kind", "pairing")):
                out.attrs[key] = first.attrs.get(key, default)
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
                "identity": json.dumps(manifest.get("identity") or {}, sort_keys=True),
                "attempts": int(sum(entry["attempts"] for entry in entries)),
            }
        )
        out.attrs["acceptance_rate"] = total / out.attrs["attempts"] if out.attrs["attempts"] else float("nan")
    tmp.replace(run_dir / RESULTS)
    return run_dir / RESULTS
