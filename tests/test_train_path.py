"""Round trip (b): FWSE tracks flown as sampled, processed as real tracks, trained, compared.

20,000 tracks of 300 s (6e6 track-seconds; about 40 s), no presets, the initial network counted
from each segment's first second (docs/train.md): every layer and variable within Hellinger 0.05
of the original (measured largest 0.049, acceleration in 500-1200 ft). Fewer tracks do not do:
with 5,000 the 50-500 ft layer holds about 500 tracks, whose sampling noise alone is about 0.07.
`benchmarks/validate_train_path.py` prints the whole table and separates sampling noise from
what processing does.
"""

from __future__ import annotations

import pytest

import encsim
from encsim.train import ProcessingOptions, model_layout, process_tracks, read_tracks, train_model
from encsim.train.roundtrip import flown_table, hellinger_by_layer


@pytest.mark.slow
def test_flown_processed_and_trained_tracks_stay_close_to_the_model(fwse):
    sample = encsim.sample_tracks(fwse, 20_000, 300, rng=21)
    flown = encsim.fly(sample, output_hz=1, limits=False)  # the same tracks: no redraws
    table = read_tracks(flown_table(flown, fwse))
    processed = process_tracks(
        table, ProcessingOptions(limits="fixed-wing"), layer_edges_ft=model_layout(fwse).edges[2]
    )
    report = processed.report.to_frame().set_index("step")
    assert report.loc["input", "rows"] == 20_000 * 301 and report.loc["split_gaps", "segments"] == 20_000
    trained = train_model(processed, fwse, initial="first").model
    distances = hellinger_by_layer(trained, fwse)
    assert len(distances) == 16  # 4 layers x 4 variables
    assert distances["hellinger"].max() <= 0.05, distances.sort_values("hellinger").tail(3)
