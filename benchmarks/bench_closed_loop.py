"""Closed-loop throughput: encounters per second, nominal plus mitigated, for a logic.

    python benchmarks/bench_closed_loop.py [--logic daa] [--encounters 20000] \
        [--scenario scenarios/fwse_vs_rotorcraft.toml]

Prints the closed-loop rate alone (encounters already generated) with its ratio to the issue's
floor (1,000/s) and the stretch aim (2,000/s, decisions.md section 9), and the end-to-end rate
(generation plus both runs) against the end-to-end floor of 1,667/s.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from encsim.encounters import generate_encounters
from encsim.io.scenario import load_scenario
from encsim.simulate import simulate

FLOOR_CLOSED_LOOP, AIM_CLOSED_LOOP, FLOOR_END_TO_END = 1_000, 2_000, 1_667


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="scenarios/fwse_vs_rotorcraft.toml")
    parser.add_argument("--logic", default="daa")
    parser.add_argument("--encounters", type=int, default=20_000)
    args = parser.parse_args()
    scenario, text = load_scenario(args.scenario)
    warm = generate_encounters(scenario, text, ids=np.arange(50))
    simulate(warm, args.logic)  # compile
    chunk = scenario.run.chunk_size
    generation = closed_loop = 0.0
    for start in range(0, args.encounters, chunk):
        ids = np.arange(start, min(start + chunk, args.encounters))
        t0 = time.perf_counter()
        encounters = generate_encounters(scenario, text, ids=ids)
        t1 = time.perf_counter()
        simulate(encounters, args.logic)
        t2 = time.perf_counter()
        generation += t1 - t0
        closed_loop += t2 - t1
    rate = args.encounters / closed_loop
    total = args.encounters / (generation + closed_loop)
    print(
        f"{args.scenario}, logic {args.logic}, {args.encounters:,} encounters of {scenario.geometry.duration_s} s, "
        f"{os.cpu_count()} cores (NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'all')})"
    )
    print(
        f"closed loop (nominal + mitigated): {rate:,.0f} encounters/s ({rate / FLOOR_CLOSED_LOOP:.2f} x floor "
        f"{FLOOR_CLOSED_LOOP:,}, {rate / AIM_CLOSED_LOOP:.2f} x aim {AIM_CLOSED_LOOP:,})"
    )
    print(
        f"end to end (generation + closed loop): {total:,.0f} encounters/s "
        f"({total / FLOOR_END_TO_END:.2f} x floor {FLOOR_END_TO_END:,})"
    )


if __name__ == "__main__":
    main()
