"""Sampler throughput: track-seconds sampled per second, and memory while streaming chunks.

Run from the project root (models found through ENCSIM_MODEL_DIR):

    python benchmarks/bench_sampler.py [--model uncor_1200only_fwse_v1p2] [--tracks 10000] [--duration 300]

Prints the rate, its ratio to the issue's floor (3,000,000 track-s/s) and to the stretch aim of
decisions.md section 9 (30,000,000), and the peak resident memory while streaming 20 chunks.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import encsim
from encsim.sampling import sample_tracks

FLOOR_TRACK_S_PER_S = 3_000_000
AIM_TRACK_S_PER_S = 30_000_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="uncor_1200only_fwse_v1p2")
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stream-chunks", type=int, default=20)
    args = parser.parse_args()

    model = encsim.load_model(args.model)
    start = {"G": 1, "A": 4} if "G" in model.roles and "A" in model.roles else None
    sample_tracks(model, 100, args.duration, rng=0, start=start)  # compile (cached after the first run)

    best = float("inf")
    for repeat in range(args.repeats):
        t0 = time.perf_counter()
        tracks = sample_tracks(model, args.tracks, args.duration, rng=repeat, start=start)
        best = min(best, time.perf_counter() - t0)
    rate = args.tracks * args.duration / best
    rows = tracks.schedule.t_s.shape[0]
    print(
        f"model {args.model}, presets {start}, {args.tracks} tracks x {args.duration} s, "
        f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'all')} on {os.cpu_count()} cores"
    )
    print(
        f"best of {args.repeats}: {best:.3f} s -> {rate:,.0f} track-s/s "
        f"({rate / FLOOR_TRACK_S_PER_S:.1f} x floor {FLOOR_TRACK_S_PER_S:,}, "
        f"{rate / AIM_TRACK_S_PER_S:.2f} x aim {AIM_TRACK_S_PER_S:,})"
    )
    print(f"command rows per track: {rows / args.tracks:.1f}")

    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    peaks = []
    for chunk in range(args.stream_chunks):
        sample_tracks(model, args.tracks, args.duration, rng=99, start=start, first_id=chunk * args.tracks)
        peaks.append(peak_rss_mb())
    elapsed = time.perf_counter() - t0
    total = args.stream_chunks * args.tracks
    print(
        f"streaming {total:,} tracks in {args.stream_chunks} chunks: {total * args.duration / elapsed:,.0f} track-s/s; "
        f"peak RSS {rss_before:.0f} MB before, {peaks[0]:.0f} MB after chunk 1, "
        f"{peaks[-1]:.0f} MB after chunk {args.stream_chunks}"
    )


if __name__ == "__main__":
    main()
