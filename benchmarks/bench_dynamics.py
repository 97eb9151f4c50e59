"""Dynamics throughput: 10-Hz aircraft-steps per second flying sampled tracks, and sampling + flying.

Run from the project root (models through ENCSIM_MODEL_DIR):

    python benchmarks/bench_dynamics.py [--tracks 100000] [--duration 120] [--chunk 20000]

Samples uncor_1200only_fwse_v1p2 tracks (G=1, A=4), then flies them in chunks with the point-mass
kernel on all cores, recording at 1 Hz (and once at 10 Hz), and prints aircraft-steps/s with the
ratio to the issue's floor (20,000,000) and to the stretch aim of decisions.md section 9
(40,000,000); sampling and flying are reported separately and together, and `encsim.fly` (limits,
rejections and redraws included) on one chunk.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import encsim
from encsim.dynamics import fly_commands

FLOOR = 20_000_000
AIM = 40_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="uncor_1200only_fwse_v1p2")
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=120)
    parser.add_argument("--chunk", type=int, default=20_000)
    args = parser.parse_args()
    model = encsim.load_model(args.model)
    start = {"G": 1, "A": 4}

    warm = encsim.sample_tracks(model, 10, args.duration, rng=0, start=start)
    fly_commands(warm.initial_states(), warm.schedule, args.duration, output_hz=1.0)  # compile
    fly_commands(warm.initial_states(), warm.schedule, args.duration, output_hz=10.0)

    sample_time = fly_time = 0.0
    steps = 0
    for first in range(0, args.tracks, args.chunk):
        count = min(args.chunk, args.tracks - first)
        t0 = time.perf_counter()
        tracks = encsim.sample_tracks(model, count, args.duration, rng=1, start=start, first_id=first)
        t1 = time.perf_counter()
        flown = fly_commands(tracks.initial_states(), tracks.schedule, args.duration, output_hz=1.0)
        t2 = time.perf_counter()
        sample_time += t1 - t0
        fly_time += t2 - t1
        steps += count * args.duration * 10
    assert np.isfinite(flown.up_ft).all()
    t0 = time.perf_counter()
    fly_commands(tracks.initial_states(), tracks.schedule, args.duration, output_hz=10.0)
    ten_hz = time.perf_counter() - t0

    rate = steps / fly_time
    print(
        f"{args.tracks:,} tracks x {args.duration} s of {args.model}, chunks of {args.chunk:,}, "
        f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'all')} on {os.cpu_count()} cores"
    )
    print(f"sampling: {sample_time:.2f} s -> {args.tracks * args.duration / sample_time:,.0f} track-s/s")
    print(
        f"flying (1-Hz records): {fly_time:.2f} s -> {rate:,.0f} aircraft-steps/s "
        f"({rate / FLOOR:.2f} x floor {FLOOR:,}, {rate / AIM:.2f} x aim {AIM:,})"
    )
    print(f"flying one chunk with 10-Hz records: {count * args.duration * 10 / ten_hz:,.0f} aircraft-steps/s")
    total = sample_time + fly_time
    print(
        f"sampling + flying: {total:.2f} s -> {steps / total:,.0f} aircraft-steps/s, "
        f"{args.tracks / total:,.0f} tracks/s"
    )

    # the whole user-facing path: encsim.fly with the model's limits, rejections and redraws
    encsim.fly(warm, model, output_hz=1.0)  # compile the limit checks
    t0 = time.perf_counter()
    flown_with_limits = encsim.fly(tracks, model, output_hz=1.0)
    with_limits = time.perf_counter() - t0
    rejected = sum(flown_with_limits.rejections.values())
    print(
        f"encsim.fly with limits and redraws (one chunk, {rejected} redrawn): "
        f"{count * args.duration * 10 / with_limits:,.0f} aircraft-steps/s"
    )


if __name__ == "__main__":
    main()
