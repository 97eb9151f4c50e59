"""Encounter throughput: accepted encounters per second (generation plus nominal metrics).

Run from the project root (models through ENCSIM_MODEL_DIR):

    python benchmarks/bench_encounters.py [--scenario scenarios/fwse_vs_rotorcraft.toml] [--encounters 20000]

Prints accepted encounters/s on all cores, the acceptance rate, and the ratio to the issue's floor
(2,000/s) and to the stretch aim of decisions.md section 9 (4,000/s).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from encsim.encounters import generate_encounters
from encsim.io.scenario import load_scenario

FLOOR = 2_000
AIM = 4_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="scenarios/fwse_vs_rotorcraft.toml")
    parser.add_argument("--encounters", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=None, help="default: the scenario's run.chunk_size")
    args = parser.parse_args()
    scenario, text = load_scenario(args.scenario)
    generate_encounters(scenario, text, ids=np.arange(100))  # compile (cached after the first run)
    chunk = args.chunk or scenario.run.chunk_size
    t0 = time.perf_counter()
    attempts = 0
    for start in range(0, args.encounters, chunk):
        ids = np.arange(start, min(start + chunk, args.encounters))
        attempts += generate_encounters(scenario, text, ids=ids).attempts_total
    elapsed = time.perf_counter() - t0
    rate = args.encounters / elapsed
    print(
        f"{args.scenario}: {args.encounters:,} encounters in {elapsed:.2f} s on {os.cpu_count()} cores "
        f"(NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'all')}), chunks of {chunk:,}, "
        f"acceptance rate {args.encounters / attempts:.4f}"
    )
    print(f"{rate:,.0f} accepted encounters/s ({rate / FLOOR:.2f} x floor {FLOOR:,}, {rate / AIM:.2f} x aim {AIM:,})")


if __name__ == "__main__":
    main()
