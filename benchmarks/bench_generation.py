"""Whole-process run against the parent commit, side by side: effective encounters per second.

Run from the project root (models through ENCSIM_MODEL_DIR, an absolute path):

    python benchmarks/bench_generation.py [--parent HEAD~1] [--encounters 20000] [--repeats 3]

Checks out ``--parent`` into a temporary git worktree, then runs
``encsim run scenarios/fwse_vs_rotorcraft.toml --logic unequipped -o X.h5 --encounters N`` as a
fresh process for this checkout and for the parent, alternating (parent first, then this one, each
repeat), with ``PYTHONPATH`` pointing at the checkout so each imports its own ``encsim``. A warm-up
run of each compiles and caches its Numba kernels first (not timed), after both checkouts' modules
are byte-compiled (``compileall``), as an installed package's are: where ``PYTHONDONTWRITEBYTECODE``
is set (the development sandbox sets it), every process would otherwise compile every ``encsim``
module from source again, about 0.2 s on each side. Prints every wall time, the
median per side, the Kish effective sample size of the weights (sum w)^2 / sum w^2 and the ratio
of effective encounters per second (this checkout over the parent), and the same by CPU time
(user + system of the process, all threads), which a shared machine's load moves less. When both sides produce the
same weights (bit-identical outcomes) the ratio is the ratio of wall times; the script says whether
they are identical. The machine's load (``uptime``) is printed before and after: the host is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from encsim.io.results_file import read_results

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "scenarios/fwse_vs_rotorcraft.toml"


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _run(checkout: Path, out: Path, encounters: int) -> tuple[float, float]:
    """Wall time and CPU time (user + system, all threads) of one whole ``encsim run`` process
    importing ``encsim`` from ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "encsim.cli", "run", SCENARIO, "--logic", "unequipped"]
    command += ["-o", str(out), "--encounters", str(encounters)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{checkout}: encsim run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _kish(path: Path) -> tuple[float, np.ndarray]:
    weights = read_results(path)["metadata"]["weight"].to_numpy(float)
    return float(weights.sum() ** 2 / np.sum(weights**2)), weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parent", default="HEAD~1", help="the commit to compare against (default: HEAD~1)")
    parser.add_argument("--encounters", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    parent_sha = subprocess.run(
        ["git", "rev-parse", args.parent], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="encsim-bench-") as tmp:
        tmp = Path(tmp)
        parent = tmp / "parent"
        subprocess.run(["git", "worktree", "add", "--detach", str(parent), parent_sha], cwd=ROOT, check=True)
        try:
            sides = {"parent": parent, "this": ROOT}
            outputs = {name: tmp / f"{name}.h5" for name in sides}
            print(f"parent {parent_sha[:10]}; {args.encounters} encounters; load before: {_uptime()}")
            for name, checkout in sides.items():  # warm-up: byte-compile the modules, compile and cache the kernels
                subprocess.run([sys.executable, "-m", "compileall", "-q", str(checkout / "encsim")], check=True)
                print(f"warm-up {name}: {_run(checkout, outputs[name], 1000)[0]:.1f} s")
            times: dict[str, list[float]] = {name: [] for name in sides}
            cpu: dict[str, list[float]] = {name: [] for name in sides}
            for repeat in range(args.repeats):
                for name, checkout in sides.items():
                    wall, cpu_s = _run(checkout, outputs[name], args.encounters)
                    times[name].append(wall)
                    cpu[name].append(cpu_s)
                    print(f"repeat {repeat + 1} {name}: {wall:.2f} s wall, {cpu_s:.2f} s CPU")
            print(f"load after: {_uptime()}")
            kish = {}
            weights = {}
            for name in sides:
                kish[name], weights[name] = _kish(outputs[name])
            identical = weights["parent"].shape == weights["this"].shape and np.array_equal(
                weights["parent"], weights["this"]
            )
            rate = {name: kish[name] / statistics.median(times[name]) for name in sides}
            for name in sides:
                print(
                    f"{name}: median {statistics.median(times[name]):.2f} s wall "
                    f"({statistics.median(cpu[name]):.2f} s CPU), Kish N_eff {kish[name]:.1f}, "
                    f"{rate[name]:.1f} effective enc/s"
                )
            print(f"weights bit-identical: {identical}")
            print(f"ratio (this / parent, effective encounters per second): {rate['this'] / rate['parent']:.3f}")
            cpu_rate = {name: kish[name] / statistics.median(cpu[name]) for name in sides}
            print(
                f"ratio by CPU time (effective encounters per CPU second): {cpu_rate['this'] / cpu_rate['parent']:.3f}"
            )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(parent)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
