"""A million-encounter study on a LocalCluster: throughput, wall time, memory, scaling 1 -> 2 workers.

    python benchmarks/bench_runner.py [--encounters 1000000] [--scaling-encounters 100000] [--logic daa]

Runs scenarios/fwse_vs_rotorcraft.toml (nominal plus mitigated with the logic) into temporary run
directories: first the scaling sample with 1 and with 2 workers, then the full run with 2 workers.
Prints encounters/s, wall time, peak resident memory per worker, the scaling efficiency from 1 to 2
workers (target >= 85 %), and the million's wall time (target <= 10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import re
import resource
import tempfile
import time
from pathlib import Path

from encsim.runner import run_scenario
from encsim.runner.clusters import make_client

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "fwse_vs_rotorcraft.toml"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed_run(encounters: int, workers: int, logic: str, folder: Path) -> tuple[float, list[float]]:
    text = SCENARIO.read_text()
    text = re.sub(r"(?m)^encounters = \d+$", f"encounters = {encounters}", text)
    scenario = folder / f"scenario_{encounters}.toml"
    scenario.write_text(text)
    with make_client("local", workers) as client:
        warm = folder / f"warm_{encounters}.toml"
        warm.write_text(
            re.sub(r"(?m)^encounters = \d+$", "encounters = 200", text).replace("chunk_size = 5000", "chunk_size = 100")
        )
        run_scenario(
            warm, folder / f"warm_{encounters}_{workers}", logic=logic, executor=client
        )  # compile on every worker
        started = time.perf_counter()
        run_scenario(scenario, folder / f"run_{encounters}_{workers}", logic=logic, executor=client)
        elapsed = time.perf_counter() - started
        peaks = list(client.run(_peak_rss_mb).values())
    return elapsed, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encounters", type=int, default=1_000_000)
    parser.add_argument("--scaling-encounters", type=int, default=100_000)
    parser.add_argument("--logic", default="daa")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one, _peaks_one = timed_run(args.scaling_encounters, 1, args.logic, folder)
        two, peaks_two = timed_run(args.scaling_encounters, 2, args.logic, folder)
        n = args.scaling_encounters
        print(
            f"{n:,} encounters ({args.logic}): 1 worker {one:.1f} s ({n / one:,.0f}/s), "
            f"2 workers {two:.1f} s ({n / two:,.0f}/s); "
            f"scaling efficiency {one / (2 * two):.0%} (target >= 85 %)"
        )
        print(f"peak RSS per worker at {n:,}: {', '.join(f'{p:.0f} MB' for p in peaks_two)}")
        if args.encounters > n:
            full, peaks_full = timed_run(args.encounters, 2, args.logic, folder)
            print(
                f"{args.encounters:,} encounters ({args.logic}) on 2 workers: {full:.0f} s ({full / 60:.1f} min, "
                f"{args.encounters / full:,.0f} encounters/s; target <= 10 min)"
            )
            print(
                f"peak RSS per worker at {args.encounters:,}: {', '.join(f'{p:.0f} MB' for p in peaks_full)} "
                f"(memory flat in the number of encounters if close to the {n:,} figures)"
            )


if __name__ == "__main__":
    main()
