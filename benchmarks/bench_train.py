"""Training speed and the full-size counting round trip (issue 21).

Run from the project root (models found through ENCSIM_MODEL_DIR):

    python benchmarks/bench_train.py [--tracks 200000] [--duration 300] [--chunk 20000]

Samples tracks from uncor_1200only_fwse_v1p2 (no presets, ``empty_column="hold"``) chunk by chunk,
turns each chunk into 1-s bins and counts it (`encsim.train.ModelCounter`, initial network from
each track's first second), then tests every initial and transition column with >= 1,000 counts
against the exact law (chi-square, Holm at family level 0.01). Prints the counting time (what
"training" costs once states are binned), the end-to-end time including sampling and binning,
the track-seconds per second, the peak resident memory, and the family result.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

import encsim
from encsim.train import ModelCounter, model_layout
from encsim.train.roundtrip import holm, round_trip_tests, sample_bins

FAMILY_LEVEL = 0.01


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="uncor_1200only_fwse_v1p2")
    parser.add_argument("--tracks", type=int, default=200_000)
    parser.add_argument("--duration", type=int, default=300)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    model = encsim.load_model(args.model)
    counter = ModelCounter(model_layout(model), initial="first")
    warm = encsim.sample_tracks(model, 10, args.duration, rng=0, empty_column="hold")  # compile
    ModelCounter(model_layout(model)).add_bins(*sample_bins(warm, model))

    sampling_s = binning_s = counting_s = 0.0
    t_start = time.perf_counter()
    for first in range(0, args.tracks, args.chunk):
        n = min(args.chunk, args.tracks - first)
        t0 = time.perf_counter()
        sample = encsim.sample_tracks(model, n, args.duration, rng=args.seed, first_id=first, empty_column="hold")
        t1 = time.perf_counter()
        track, second, bins = sample_bins(sample, model)
        t2 = time.perf_counter()
        counter.add_bins(track, second, bins)
        t3 = time.perf_counter()
        sampling_s, binning_s, counting_s = sampling_s + t1 - t0, binning_s + t2 - t1, counting_s + t3 - t2
        del sample, track, second, bins
    total_s = time.perf_counter() - t_start
    track_seconds = args.tracks * args.duration

    t0 = time.perf_counter()
    tests = round_trip_tests(model, counter, min_count=1000)
    testing_s = time.perf_counter() - t0
    rejected = holm(tests["p"].to_numpy(), FAMILY_LEVEL)

    print(
        f"model {args.model}, {args.tracks:,} tracks x {args.duration} s = {track_seconds:,} track-seconds, "
        f"chunks of {args.chunk:,} tracks, NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'all')} "
        f"on {os.cpu_count()} cores"
    )
    print(f"counting: {counting_s:.1f} s -> {track_seconds / counting_s:,.0f} track-s/s")
    print(
        f"end to end (sampling {sampling_s:.1f} s + binning {binning_s:.1f} s + counting {counting_s:.1f} s): "
        f"{total_s:.1f} s -> {track_seconds / total_s:,.0f} track-s/s; peak RSS {peak_rss_mb():.0f} MB"
    )
    per_network = tests.groupby("network").size().to_dict()
    print(
        f"chi-square: {len(tests)} columns with >= 1,000 counts ({per_network}), tested in {testing_s:.1f} s; "
        f"smallest p {tests['p'].min():.2e}; Holm at family level {FAMILY_LEVEL}: {int(rejected.sum())} rejected"
    )
    print(f"pairs counted {counter.pairs:,} (expected {args.tracks * (args.duration - 1):,})")
    if rejected.any():
        print(tests[rejected].to_string())
    assert np.isfinite(tests["p"]).all()


if __name__ == "__main__":
    main()
