"""End-to-end throughput of the DAIDALUS-exact ``daa`` logic against ``unequipped``, side by side in one run.

    python benchmarks/bench_daa.py [--encounters 2000] [--logic daa] \
        [--scenario scenarios/daa_fwse_vs_rotorcraft.toml]

The same encounters are generated once per chunk and flown by both logics, so the two rates share
the generation time and the load of the machine: end to end = generation + closed loop (nominal,
open-loop and mitigated runs). Prints both rates and their ratio against the issue's floor (0.25)
and aim (0.5), then where the logic's time goes: the share of decisions that compute bands (from
the first step a level is predicted), and the cost of one decision with and without bands, timed
on the states of the benchmark's own encounters; for a direction-guided logic, the in-kernel cost of
a band decision by class (with recovery bands, coloured, nothing coloured: `dimension_guidance`
called from an ``@njit`` loop on the recorded states and display memories).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from numba import njit

from encsim.avoidance import ADVISORY_SIZE, REFERENCE_LOGICS
from encsim.avoidance.daidalus import _guidance as G
from encsim.avoidance.daidalus import _logic as L
from encsim.encounters import generate_encounters
from encsim.io.scenario import load_scenario
from encsim.simulate import simulate

FLOOR, AIM = 0.25, 0.5


def _rates(scenario, text, n, chunk, logic):
    generation = unequipped = daa = 0.0
    for start in range(0, n, chunk):
        ids = np.arange(start, min(start + chunk, n))
        t0 = time.perf_counter()
        encounters = generate_encounters(scenario, text, ids=ids)
        t1 = time.perf_counter()
        simulate(encounters, "unequipped")
        t2 = time.perf_counter()
        simulate(encounters, logic)
        t3 = time.perf_counter()
        generation, unequipped, daa = generation + t1 - t0, unequipped + t2 - t1, daa + t3 - t2
    return generation, unequipped, daa


def _decision_costs(scenario, text, logic, count=20):
    """Per decision: (share with bands, s per decision without bands, s per decision with bands), timed on the
    logic's inputs recorded from the runs (nominal open loop and mitigated) of ``count`` encounters."""
    function, params = REFERENCE_LOGICS[logic][0], REFERENCE_LOGICS[logic][1]()
    runs = []

    def recording(t_s, own, intruder, memory, params, advisory):
        if t_s == 0.0:
            runs.append([])
        runs[-1].append((t_s, own.copy(), intruder.copy()))
        function(t_s, own, intruder, memory, params, advisory)

    recording.memory_size = L.MEMORY_SIZE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the slow path's warning
        simulate(generate_encounters(scenario, text, ids=np.arange(count)), (recording, params))
    timings = {False: [0.0, 0], True: [0.0, 0]}
    band_inputs = []  # (t, own, intruder, memory before the decision) of the decisions that compute bands
    for decisions in runs:
        memory = np.zeros(L.MEMORY_SIZE)
        for t_s, own, intruder in decisions:
            if memory[L.M_BANDS_ON] != 0.0:
                band_inputs.append((t_s, own, intruder, memory.copy()))
            advisory = np.zeros(ADVISORY_SIZE)
            t0 = time.perf_counter()
            function(t_s, own, intruder, memory, params, advisory)
            elapsed = time.perf_counter() - t0
            bands = memory[L.M_BANDS_ON] != 0.0
            timings[bands][0] += elapsed
            timings[bands][1] += 1
    total = timings[False][1] + timings[True][1]
    per = {k: v[0] / max(v[1], 1) for k, v in timings.items()}
    return timings[True][1] / max(total, 1), per[False], per[True], band_inputs


@njit
def _guide_all(times, owns, traffic, levels, memories, bands, repeats):
    out = np.empty(G.GUIDANCE_OUT_SIZE)
    for _ in range(repeats):
        for i in range(len(times)):
            G.dimension_guidance(
                G.DIM_HDIR, times[i], owns[i], traffic[i], levels[i], 1, bands, memories[i].copy(), out
            )
    return out[0]


def _band_decision_classes(params, band_inputs, repeats=3):
    """{class: (decisions, s per decision)} of the direction band decisions that scan candidates (an intruder
    proved vertically clear is left out of the scans), timed in-kernel."""
    n_levels = int(params[L.P_N_LEVELS])
    bands = params[L.P_BANDS : L.P_BANDS + G.BAND_SETTINGS_SIZE]
    classes = {}
    for t_s, own, intruder, memory in band_inputs:
        if L._vertically_clear(own, intruder, params, n_levels):
            continue
        own_band, traffic_band = np.empty(6), np.empty((1, 6))
        L._band_frame(own, intruder, own_band, traffic_band)
        levels = np.empty((1, G.TRAFFIC_LEVELS_SIZE))
        L._traffic_levels(own, intruder, params, n_levels, max(memory[L.M_PREVIOUS_LEVEL], 0.0), levels[0])
        grid = (G.DIM_HDIR, *G._grid(G.DIM_HDIR, own_band, bands))
        field, n, recovery, _, _ = G._raw_colours(grid, own_band, traffic_band, levels, 1, bands)
        name = (
            "with recovery bands" if recovery else "coloured" if n > 1 or field[0, 2] != G.NONE else "nothing coloured"
        )
        slot = memory[L.M_GUIDANCE : L.M_GUIDANCE + G.GUIDANCE_MEMORY_SIZE].copy()
        classes.setdefault(name, []).append((t_s, own_band, traffic_band, levels, slot))
    costs = {}
    for name, rows in classes.items():
        arrays = [np.array([row[j] for row in rows]) for j in range(5)]
        _guide_all(*[a[:1] for a in arrays], bands, 1)  # compile
        t0 = time.perf_counter()
        _guide_all(*arrays, bands, repeats)
        costs[name] = (len(rows), (time.perf_counter() - t0) / (repeats * len(rows)))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="scenarios/daa_fwse_vs_rotorcraft.toml")
    parser.add_argument("--logic", default="daa")
    parser.add_argument("--encounters", type=int, default=2_000)
    args = parser.parse_args()
    scenario, text = load_scenario(args.scenario)
    warm = generate_encounters(scenario, text, ids=np.arange(20))
    simulate(warm, "unequipped")  # compile (or load) both before timing
    simulate(warm, args.logic)
    generation, unequipped, daa = _rates(scenario, text, args.encounters, scenario.run.chunk_size, args.logic)
    rate_u = args.encounters / (generation + unequipped)
    rate_d = args.encounters / (generation + daa)
    ratio = rate_d / rate_u
    print(
        f"{args.scenario}, {args.encounters:,} encounters of {scenario.geometry.duration_s} s, {os.cpu_count()} cores "
        f"(NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'all')}), load {os.getloadavg()[0]:.1f}"
    )
    print(f"generation {generation:.1f} s, closed loop unequipped {unequipped:.1f} s, {args.logic} {daa:.1f} s")
    print(f"end to end: unequipped {rate_u:,.0f} encounters/s, {args.logic} {rate_d:,.0f} encounters/s")
    verdict = "meets the aim" if ratio >= AIM else "meets the floor" if ratio >= FLOOR else "BELOW the floor"
    print(f"ratio {args.logic} / unequipped = {ratio:.3f} (floor {FLOOR}, aim {AIM}): {verdict}")
    share, without, with_bands, band_inputs = _decision_costs(scenario, text, args.logic)
    print(
        f"where the logic's time goes (20 encounters' decisions, nominal and mitigated): {share:.0%} of decisions "
        "compute bands; "
        f"{without * 1e6:,.0f} us per decision without bands (alerting), {with_bands * 1e6:,.0f} us with bands"
    )
    if REFERENCE_LOGICS[args.logic][1]()[L.P_DIMENSION] == L.GUIDE_DIRECTION:
        for name, (count, cost) in _band_decision_classes(REFERENCE_LOGICS[args.logic][1](), band_inputs).items():
            print(f"  direction band decisions {name}: {count:,}, {cost * 1e6:,.0f} us each in-kernel")


if __name__ == "__main__":
    main()
