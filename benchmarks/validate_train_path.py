"""The whole training path on tracks of a known model (issue 21, round trip (b)); correctness, not speed.

Run from the project root (models found through ENCSIM_MODEL_DIR):

    python benchmarks/validate_train_path.py [--tracks 20000] [--duration 300]

Tracks sampled from uncor_1200only_fwse_v1p2 (no presets) are flown as sampled (10-Hz point-mass
dynamics, no track-level limits, so no track is redrawn: the same tracks; recorded at 1 Hz),
written as a track table (east, north, altitude AGL, G and A as columns) and processed as real
tracks would be (`encsim.train.process_tracks`: gaps, outliers, Gaussian smoothing, 1-s
interpolation, derived rates, trimmed ends, fixed-wing limits, layers), then trained with the
template's graph and edges, with the initial network from each segment's first second and from
every second (MIT LL's convention). Prints the processing report and the Hellinger distance of
P(variable | layer) for airspeed, acceleration, vertical rate and turn rate in every layer: the
tracks' own sampled bins against the original (sampling noise and the sampler's acceptance
rule), and each trained model against the original and against the sampled bins (what flying
and processing do), with the largest, against the issue's 0.05.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

import encsim
from encsim.train import ModelCounter, ProcessingOptions, model_layout, process_tracks, read_tracks, train_model
from encsim.train.roundtrip import flown_table, hellinger_by_layer, sample_bins

TOLERANCE = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="uncor_1200only_fwse_v1p2")
    parser.add_argument("--tracks", type=int, default=20_000)
    parser.add_argument("--duration", type=int, default=300)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()

    model = encsim.load_model(args.model)
    t0 = time.perf_counter()
    sample = encsim.sample_tracks(model, args.tracks, args.duration, rng=args.seed)
    flown = encsim.fly(sample, output_hz=1, limits=False)  # the same tracks: no redraws
    t1 = time.perf_counter()
    table = read_tracks(flown_table(flown, model))
    layout = model_layout(model)
    processed = process_tracks(table, ProcessingOptions(limits="fixed-wing"), layer_edges_ft=layout.edges[2])
    t2 = time.perf_counter()
    pd.set_option("display.width", 200)
    print(f"{args.tracks:,} tracks x {args.duration} s of {args.model}: sampled and flown in {t1 - t0:.1f} s, "
          f"processed in {t2 - t1:.1f} s; flight rejections {flown.rejections}")  # fmt: skip
    print(processed.report.to_frame().to_string(index=False))
    # the tracks' own sampled bins, counted from their first seconds: sampling noise and the
    # sampler's initial acceptance rule, before any flying or processing
    accepted = ModelCounter(layout, initial="first")
    accepted.add_bins(*sample_bins(flown.sample, model))
    accepted_model = train_model(processed, model).model.__class__(
        name="sampled_bins", contents=accepted.contents("sampled_bins"), sha256=""
    )

    def distances(a, b) -> pd.Series:
        return hellinger_by_layer(a, b).set_index(["layer_ft", "variable"])["hellinger"]

    columns = {"sampled bins vs original (sampling noise, acceptance rule)": distances(accepted_model, model)}
    for initial in ("first", "every"):
        trained = train_model(processed, model, initial=initial).model
        columns[f"processed, initial={initial} vs original"] = distances(trained, model)
        columns[f"processed, initial={initial} vs sampled bins"] = distances(trained, accepted_model)
    table = pd.DataFrame(columns)
    for column in table:
        print(f"\n{column}")
        print(table[column].unstack("variable").round(4).to_string())
        worst = table[column].idxmax()
        verdict = "within" if table[column].max() <= TOLERANCE else "OUTSIDE"
        print(f"largest Hellinger {table[column].max():.4f} at {worst} ({verdict} {TOLERANCE})")


if __name__ == "__main__":
    main()
