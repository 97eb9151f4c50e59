"""The closed-loop summary's time and memory against the former bootstrap, side by side (issue 19).

Run from the project root:

    python benchmarks/bench_summary.py [--rows 20000,300000,1000000] [--before-max-rows 1000000]

Times `encsim.metrics.closed_loop_summary` (12 rows, 8 estimators, 1,000 bootstrap resamples) on
synthetic outcome tables with realistic rates (P_nom NMAC about 0.01, LoWC about 0.3, alerts
about 0.36, lognormal weights), with today's one-pass bootstrap ("now") and with the former one
bootstrap per estimator ("before", `benchmarks/_summary_before.py`: the parent commit's kernel
kept callable, the rest of the summary unchanged). Each measurement runs in a fresh process, after
a small warm-up summary there (compiled kernels come from Numba's cache), so that its peak
resident memory is its own. Prints seconds (and the CPU seconds of all threads, which load
changes less: on an idle machine the wall time is about CPU / threads), the ratio before / now,
the memory the summary adds above the table (peak RSS - RSS before the call) per outcome row,
whether both give the same rows bit for bit, and the load average (the machine may be shared:
compare ratios and CPU seconds, not seconds).

With a results file instead, the whole summary the CLI prints (alerting rows per level, geometry
classes, intruder layers), shared bootstrap passes against one pass per estimator:

    python benchmarks/bench_summary.py --results X.h5 [--rounds 5]

(X.h5 from `encsim run scenarios/fwse_vs_rotorcraft.toml --logic unequipped -o X.h5 --encounters
20000`). In one process, alternating: today's summary ("now": estimators over the same encounters
share one pass, `summary._SHARE_PASSES`; the alert-to-LoWC medians sort resamples by rank) and the
same summary as before those changes ("before": each estimator drawing its own resamples, the
medians sorting by value, `_summary_before.median_interval_by_value`), after one warm-up of each;
prints each round's seconds and CPU seconds, the
bootstrap kernel passes and the draws per resample they take, the medians' ratio, whether both
give the same rows bit for bit, and the load average.

A results file's whole printed summary against another checkout (e.g. a temporary worktree of the
parent commit, its kernels compiled by a first run), in fresh processes, alternating:

    python benchmarks/bench_summary.py --results X.h5 --against ../parent [--rounds 3]

Each process imports ``encsim`` from its checkout, summarises the file's first 2,000 rows (kernels
loaded from the cache), then times reading the file (`read_summary_tables`) and the summary; prints
both, the CPU seconds, a digest of the rows (the same digest: the same rows bit for bit) and the load.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def synthetic_outcomes(n: int, seed: int = 2026) -> pd.DataFrame:
    """Paired outcomes with a DAA-like logic: most nominal losses alerted, most resolved."""
    rng = np.random.default_rng(seed)
    nominal_lowc = rng.random(n) < 0.30
    nominal_nmac = nominal_lowc & (rng.random(n) < 0.01 / 0.30)
    alerted = (nominal_lowc & (rng.random(n) < 0.95)) | (rng.random(n) < 0.08)
    resolved_nmac = alerted & (rng.random(n) < 0.8)
    induced_nmac = alerted & ~nominal_nmac & (rng.random(n) < 0.002)
    mitigated_nmac = (nominal_nmac & ~resolved_nmac) | induced_nmac
    kept_lowc = nominal_lowc & ~(alerted & (rng.random(n) < 0.6))
    mitigated_lowc = kept_lowc | mitigated_nmac | (alerted & (rng.random(n) < 0.02))
    return pd.DataFrame(
        {
            "weight": rng.lognormal(0.0, 1.0, n),
            "nominal_nmac": nominal_nmac,
            "mitigated_nmac": mitigated_nmac,
            "nominal_lowc": nominal_lowc,
            "mitigated_lowc": mitigated_lowc,
            "alerted": alerted,
        }
    )


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def digest(rows) -> str:
    """Hash of every row's name, numbers (exact bits) and texts."""
    text = repr([(r.name, r.estimate, r.ci_low, r.ci_high, r.detail, r.notes) for r in rows])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def measure_one(rows: int, path: str) -> dict:
    """In this process: warm up, then time one summary of ``rows`` outcome rows by ``path``."""
    sys.path.insert(0, str(HERE))
    from _summary_before import closed_loop_summary_before

    from encsim.metrics import closed_loop_summary

    summarise = closed_loop_summary if path == "now" else closed_loop_summary_before
    summarise(synthetic_outcomes(500, seed=1))  # loads the compiled kernels
    outcomes = synthetic_outcomes(rows)
    gc.collect()
    before_mb = rss_mb()
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = summarise(outcomes)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
    return {
        "rows": rows,
        "path": path,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "added_mb": peak_rss_mb() - before_mb,
        "digest": digest(result),
        "rates": {c: float(outcomes[c].mean()) for c in outcomes.columns if c != "weight"},
    }


def run_in_child(rows: int, path: str) -> dict:
    command = [sys.executable, __file__, "--one", str(rows), path]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary_inputs(path: str) -> dict:
    """The arguments `encsim.cli` gives `closed_loop_summary` for the results file ``path``."""
    from encsim.io.encounters_file import read_summary_tables
    from encsim.io.scenario import intruder_layer_edges_ft, parse_scenario, scored_regions_ft
    from encsim.simulate import alerting_times

    attrs, metadata, outcomes = read_summary_tables(path)
    if outcomes is None:
        raise SystemExit(f"{path}: no outcomes (write it with `encsim run ... --logic LOGIC`)")
    scenario = parse_scenario(str(attrs["scenario_text"]), source=str(path), check_models=False)
    return {
        "outcomes": outcomes,
        "alerting_times": alerting_times(json.loads(attrs.get("closed_loop", "{}"))),
        "metadata": metadata,
        "layer_edges_ft": intruder_layer_edges_ft(scenario),
        "regions_ft": scored_regions_ft(scenario),
    }


def shared_against_unshared(path: str, rounds: int) -> None:
    """A results file's summary with shared passes ("now") and one pass per estimator ("before"), alternating."""
    import statistics

    sys.path.insert(0, str(HERE))
    from _summary_before import median_interval_by_value

    from encsim.metrics import alerting, closed_loop_summary, estimators, summary

    inputs = summary_inputs(path)
    median_by_rank = alerting._median_interval
    draw, draw_set, passes = estimators._bootstrap_sums, summary._resample_set, []

    def counted(values, n_boot, rng):  # an estimator's own pass (before), over any set
        passes.append(values[0].size)
        return draw(values, n_boot, rng)

    def counted_set(w, events, reals, rng):  # a shared pass (now), over a distinct set
        passes.append(w.size)
        return draw_set(w, events, reals, rng)

    def timed(share: bool):
        summary._SHARE_PASSES = share
        alerting._median_interval = median_by_rank if share else median_interval_by_value
        passes.clear()
        t0, cpu0 = time.perf_counter(), time.process_time()
        rows = closed_loop_summary(**inputs)
        return time.perf_counter() - t0, time.process_time() - cpu0, len(passes), sum(passes), digest(rows)

    estimators._bootstrap_sums = counted
    summary._resample_set = counted_set
    digests = {share: timed(share)[4] for share in (True, False)}  # warm-up
    print(f"{path}: {len(inputs['outcomes']):,} outcome rows; load {os.getloadavg()[0]:.1f} at the start")
    times = {True: [], False: []}
    for k in range(rounds):
        for share in (False, True) if k % 2 == 0 else (True, False):
            seconds, cpu, n_passes, draws, rows_digest = timed(share)
            times[share].append((seconds, cpu))
            same = rows_digest == digests[not share]
            label = "now   " if share else "before"
            print(f"{label} {seconds:6.3f} s {cpu:6.3f} s CPU  {n_passes:3d} passes, {draws:,} draws  same {same}")
    for what, i in (("seconds", 0), ("CPU seconds", 1)):
        before = statistics.median(t[i] for t in times[False])
        now = statistics.median(t[i] for t in times[True])
        print(f"median {what}: before {before:.3f}, now {now:.3f}, before / now {before / now:.2f}")
    print("load " + "/".join(f"{value:.1f}" for value in os.getloadavg()))


_AGAINST_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from bench_summary import digest, summary_inputs
from encsim.metrics import closed_loop_summary

warm = summary_inputs(sys.argv[1])
small = {key: value.iloc[:2000] if hasattr(value, "iloc") else value for key, value in warm.items()}
closed_loop_summary(**small)  # kernels from the cache
del warm, small
t0, cpu0 = time.perf_counter(), time.process_time()
inputs = summary_inputs(sys.argv[1])
t1 = time.perf_counter()
rows = closed_loop_summary(**inputs)
t2, cpu2 = time.perf_counter(), time.process_time()
print(json.dumps({"read": t1 - t0, "summary": t2 - t1, "cpu": cpu2 - cpu0, "digest": digest(rows)}))
"""


def against_checkout(path: str, other: str, rounds: int) -> None:
    """A results file's read and summary with this checkout and with ``other``, fresh processes, alternating."""
    import statistics

    sides = {"this": HERE.parent, "other": Path(other).resolve()}
    path = str(Path(path).resolve())
    results = {side: [] for side in sides}
    print(f"{path}; other = {sides['other']}; load {os.getloadavg()[0]:.1f} at the start")
    for k in range(rounds):
        for side in ("other", "this") if k % 2 == 0 else ("this", "other"):
            env = {**os.environ, "PYTHONPATH": str(sides[side])}
            command = [sys.executable, "-c", _AGAINST_CHILD, path, str(HERE)]
            done = subprocess.run(command, cwd=sides[side], env=env, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results[side].append(result)
            print(
                f"{side:5s} read {result['read']:5.2f} s, summary {result['summary']:6.2f} s "
                f"({result['cpu']:6.2f} s CPU in all), rows {result['digest']}, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    medians = {side: statistics.median(r["read"] + r["summary"] for r in results[side]) for side in sides}
    same = {r["digest"] for r in results["this"]} == {r["digest"] for r in results["other"]}
    print(
        f"median read + summary: other {medians['other']:.2f} s, this {medians['this']:.2f} s, "
        f"other / this {medians['other'] / medians['this']:.2f}; the same rows: {same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="20000,300000,1000000", help="comma-separated table sizes")
    parser.add_argument("--before-max-rows", type=int, default=1_000_000, help="skip the former path above this")
    parser.add_argument("--results", help="a results file: its whole summary, shared passes against unshared")
    parser.add_argument("--rounds", type=int, default=5, help="with --results: rounds of before and now")
    parser.add_argument("--against", help="with --results: another checkout, timed in fresh processes")
    parser.add_argument("--one", nargs=2, metavar=("ROWS", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(int(args.one[0]), args.one[1])))
        return
    if args.results and args.against:
        against_checkout(args.results, args.against, args.rounds)
        return
    if args.results:
        shared_against_unshared(args.results, args.rounds)
        return

    import numba

    print(f"{os.cpu_count()} CPUs, {numba.config.NUMBA_NUM_THREADS} Numba threads")
    run_in_child(2000, "now")  # compiles into Numba's cache, untimed
    run_in_child(2000, "before")
    header = f"{'rows':>9} {'now s':>8} {'now cpu':>8} {'before s':>9} {'ratio':>7}"
    print(f"{header} {'now MB':>7} {'B/row':>6} {'same':>5}  load")
    for rows in (int(text) for text in args.rows.split(",")):
        now = run_in_child(rows, "now")
        before = run_in_child(rows, "before") if rows <= args.before_max_rows else None
        load = "/".join(f"{value:.1f}" for value in os.getloadavg())
        ratio = f"{before['seconds'] / now['seconds']:7.1f}" if before else f"{'-':>7}"
        before_s = f"{before['seconds']:9.2f}" if before else f"{'-':>9}"
        same = ("yes" if before["digest"] == now["digest"] else "NO") if before else "-"
        per_row = now["added_mb"] * 2**20 / rows
        memory = f"{now['added_mb']:7.0f} {per_row:6.0f}"
        times = f"{now['seconds']:8.2f} {now['cpu_seconds']:8.2f} {before_s}"
        print(f"{rows:>9,} {times} {ratio} {memory} {same:>5}  {load}", flush=True)
    print("rates:", ", ".join(f"{name} {rate:.4f}" for name, rate in now["rates"].items()))


if __name__ == "__main__":
    main()
