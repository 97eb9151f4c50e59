"""Runs: a scenario's encounters in fixed-size chunks on any executor, resumable, joined by HDF5.

A run is a pure function of (scenario, logic, chunk index): chunk k holds encounter ids
``first_id + k * chunk_size ...`` and every encounter draws only from its own streams, so a chunk
can be computed anywhere, in any order, again. The runner only schedules chunks and keeps what they
return:

- ``run_dir/chunks/chunk_000000.h5``: one encounter file per chunk, written under ``.partial`` and
  renamed when complete;
- ``run_dir/manifest.json``: the scenario's sha256, the logic, and for every finished chunk its
  file, sha256 and size (rewritten atomically after each chunk);
- ``run_dir/results.h5``: HDF5 virtual datasets joining the chunks' metadata and outcomes, with the
  run's provenance.

``resume=True`` keeps the chunks whose files still match the manifest and recomputes the rest (a
chunk half-written by a killed run has no manifest entry, or a ``.partial`` file, and is redone).
Executors: ``None`` (serial, in this process), a ``concurrent.futures.Executor``, or a
``dask.distributed.Client``; the library never builds clusters (the CLI does). A worker process
loads each model once (``load_model`` caches per process).

``sweep`` runs a scenario over a grid of settings, each point a run of its own over the same
encounters, with paired differences from a baseline point (`encsim.runner.sweeps`).
"""

from .run import RunResult, chunk_ids, compute_chunk, n_chunks, run_scenario, write_encounter_file
from .sweeps import SweepResult, sweep

__all__ = [
    "RunResult",
    "SweepResult",
    "chunk_ids",
    "compute_chunk",
    "n_chunks",
    "run_scenario",
    "sweep",
    "write_encounter_file",
]
