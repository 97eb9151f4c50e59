"""Encounter generation alone against another checkout, side by side: `EncounterSource.generate`.

Run from the project root (models through ENCSIM_MODEL_DIR, an absolute path):

    python benchmarks/bench_generate.py --against ../main [--encounters 20000] [--chunk 5000] [--repeats 3]
    python benchmarks/bench_generate.py --parent HEAD~1 ...

``--against`` names a checkout whose Numba kernels are already cached; ``--parent`` checks a commit
out into a temporary git worktree (its kernels compile in the warm-up). Each timed run is a fresh
process importing ``encsim`` from its checkout: it generates 50 encounters to load the kernels (not
timed), then ``encounter_source(scenario).generate(ids)`` for ``--encounters`` ids of
``scenarios/fwse_vs_rotorcraft.toml`` in chunks of ``--chunk`` (the scenario's ``run.chunk_size``,
as the runner does), and prints the wall and CPU time (all threads) of that and a sha256 of the
metadata. The sides alternate (the other first, then this one, each repeat); the machine's load
(``uptime``) is printed before and after: the host is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "scenarios/fwse_vs_rotorcraft.toml"

_CHILD = """
import hashlib, sys, time
import numpy as np
from encsim.encounters import encounter_source
from encsim.io.scenario import load_scenario

n, chunk = int(sys.argv[1]), int(sys.argv[2])
scenario, _ = load_scenario(sys.argv[3])
source = encounter_source(scenario)
source.generate(np.arange(50))
wall, cpu = time.perf_counter(), time.process_time()
sets = [source.generate(np.arange(start, min(n, start + chunk))) for start in range(0, n, chunk)]
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
digest = hashlib.sha256()
for encounters in sets:
    for column in encounters.metadata.columns:
        digest.update(column.encode() + np.ascontiguousarray(encounters.metadata[column].to_numpy()).tobytes())
print(wall, cpu, digest.hexdigest())
"""


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _run(checkout: Path, encounters: int, chunk: int) -> tuple[float, float, str]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    command = [sys.executable, "-c", _CHILD, str(encounters), str(chunk), SCENARIO]
    done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{checkout}: generation failed ({done.returncode}):\n{done.stderr[-2000:]}")
    wall, cpu, digest = done.stdout.split()[-3:]
    return float(wall), float(cpu), digest


def _compare(other: Path, args) -> None:
    sides = {"other": other, "this": ROOT}
    print(f"other {other}; {args.encounters} encounters in chunks of {args.chunk}; load before: {_uptime()}")
    for name, checkout in sides.items():  # warm-up: compile and cache the kernels
        print(f"warm-up {name}: {_run(checkout, 200, args.chunk)[0]:.2f} s")
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    digests = set()
    for repeat in range(args.repeats):
        for name, checkout in sides.items():
            wall, cpu, digest = _run(checkout, args.encounters, args.chunk)
            times[name].append((wall, cpu))
            digests.add(digest)
            print(f"repeat {repeat + 1} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU")
    print(f"load after: {_uptime()}")
    print(f"metadata bit-identical: {len(digests) == 1}")
    median = {name: [statistics.median(t[k] for t in times[name]) for k in (0, 1)] for name in sides}
    for name in sides:
        print(f"{name}: median {median[name][0]:.2f} s wall, {median[name][1]:.2f} s CPU")
    print(
        f"speed-up (other / this): {median['other'][0] / median['this'][0]:.3f} by wall time, "
        f"{median['other'][1] / median['this'][1]:.3f} by CPU time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--against", type=Path, help="a checkout to compare against (its kernels cached)")
    where.add_argument("--parent", help="a commit to compare against (checked out in a temporary worktree)")
    parser.add_argument("--encounters", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.against is not None:
        _compare(args.against.resolve(), args)
        return
    sha = subprocess.run(["git", "rev-parse", args.parent], cwd=ROOT, capture_output=True, text=True, check=True)
    with tempfile.TemporaryDirectory(prefix="encsim-bench-") as tmp:
        parent = Path(tmp) / "parent"
        subprocess.run(["git", "worktree", "add", "--detach", str(parent), sha.stdout.strip()], cwd=ROOT, check=True)
        try:
            _compare(parent, args)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(parent)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
