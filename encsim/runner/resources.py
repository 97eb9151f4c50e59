"""Memory a run needs, estimated from the scenario alone and checked before any work.

A scenario with ``duration_s = 1000000000`` or ``encounters = 1000000000000`` is valid TOML and a
valid study on paper; run, it would only end in a MemoryError after minutes (or swap the machine
to a halt). The estimate is deliberately simple and on the high side:

- a chunk's attempts are flown in rounds of ``max(c, min(1000, 64 c))`` attempt rows (``c`` the
  chunk's encounters; `encsim.encounters.generator`), each holding both aircraft's 10-Hz flight:
  about ``BYTES_PER_ATTEMPT_SECOND`` per row and second of encounter (measured: 310-420 B with
  the shipped models, 60-600 s encounters);
- kept trajectories (``encounters --trajectories``) add ``BYTES_PER_KEPT_SECOND`` per encounter
  and second;
- the summary reads the whole outcome table: ``BYTES_PER_SUMMARY_ROW`` per encounter;
- ``BASE_BYTES`` for the interpreter, NumPy, Numba and the models, per process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

BYTES_PER_ATTEMPT_SECOND = 500
BYTES_PER_KEPT_SECOND = 2200
BYTES_PER_SUMMARY_ROW = 600
BASE_BYTES = 300_000_000


class InsufficientMemoryError(ValueError):
    """A run that would need more memory than the machine has (the message gives the estimate)."""


@dataclass(frozen=True)
class MemoryEstimate:
    per_chunk_bytes: int
    summary_bytes: int
    workers: int

    @property
    def total_bytes(self) -> int:
        return self.workers * (BASE_BYTES + self.per_chunk_bytes) + self.summary_bytes


def estimate_memory(scenario, *, workers: int = 1, keep_trajectories: bool = False) -> MemoryEstimate:
    """Peak memory of a run of ``scenario`` with ``workers`` processes computing chunks at once."""
    encounters_per_chunk = min(scenario.run.chunk_size, scenario.run.encounters)
    rows = max(encounters_per_chunk, min(1000, 64 * encounters_per_chunk))
    duration_s = scenario.geometry.duration_s
    per_chunk = rows * duration_s * BYTES_PER_ATTEMPT_SECOND
    if keep_trajectories:
        per_chunk += encounters_per_chunk * duration_s * BYTES_PER_KEPT_SECOND
    return MemoryEstimate(per_chunk, scenario.run.encounters * BYTES_PER_SUMMARY_ROW, max(1, workers))


def available_memory_bytes() -> int | None:
    """Memory available to new work (Linux ``MemAvailable``; else physical memory; None if unknown)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n_bytes: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n_bytes) < 1000 or unit == "PB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1000
    raise AssertionError  # pragma: no cover


def check_memory(
    scenario, *, workers: int = 1, keep_trajectories: bool = False, source: str = "scenario", available=None
) -> MemoryEstimate:
    """Refuse, before any work, a run whose estimated peak memory exceeds what the machine has."""
    estimate = estimate_memory(scenario, workers=workers, keep_trajectories=keep_trajectories)
    available = available_memory_bytes() if available is None else available
    if available is None or estimate.total_bytes <= available:
        return estimate
    run, geometry = scenario.run, scenario.geometry
    advice = []
    if estimate.per_chunk_bytes * estimate.workers > available / 2:
        advice.append("lower run.chunk_size or geometry.duration_s" + (" or --workers" if workers > 1 else ""))
    if estimate.summary_bytes > available / 2:
        advice.append("split run.encounters over several runs (run.first_id) and combine their results")
    raise InsufficientMemoryError(
        f"{source}: this run needs about {_size(estimate.total_bytes)} of memory and the machine has "
        f"{_size(available)} available: {estimate.workers} process(es) x ({_size(BASE_BYTES)} + a chunk of "
        f"{min(run.chunk_size, run.encounters):,} encounters of {geometry.duration_s:,} s: "
        f"{_size(estimate.per_chunk_bytes)}) + the summary of {run.encounters:,} encounters: "
        f"{_size(estimate.summary_bytes)}; {'; '.join(advice) or 'use a larger machine'}"
    )
