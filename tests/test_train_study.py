"""Real tracks: the ambulance flights of ../shared/data/traffic-samples, trained and compared."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
from conftest import MODEL_DIR

import encsim
from encsim.train import ProcessingOptions, process_tracks, read_tracks, train_model
from encsim.train.study import better_surrogate, compare_with_published, hellinger, read_flights

SAMPLES = MODEL_DIR.parents[1] / "data" / "traffic-samples"  # ../shared/data/traffic-samples
AMBULANCES = sorted((SAMPLES / "ambulances").glob("*.json.gz"))
ROTORCRAFT = "uncor_1200only_rotorcraft_v1p2"


@pytest.fixture(scope="module")
def processed():
    if len(AMBULANCES) != 3:
        pytest.fail(f"the three ambulance flights are needed in {SAMPLES / 'ambulances'}")
    return process_tracks(read_tracks(read_flights(AMBULANCES)), ProcessingOptions(limits="rotorcraft"))


def test_ambulance_files_are_the_documented_ones():
    readme = (SAMPLES / "README.md").read_text()
    for path in AMBULANCES:
        expected = re.search(rf"`ambulances/{path.name}` \| `([0-9a-f]{{64}})`", readme).group(1)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected


def test_ground_is_each_missions_lowest_altitude():
    table = read_tracks(read_flights(AMBULANCES))
    per_mission = table.groupby("track_id").agg(ground=("ground_ft", "first"), low=("alt_msl_ft", "min"))
    assert (per_mission["ground"] == per_mission["low"]).all()
    assert per_mission["ground"].to_dict() == {"rega_sg": 1325.0, "rega_zh": 1425.0, "samu31": 925.0}
    assert table.groupby("track_id")["alt_agl_ft"].min().eq(0).all()


def test_train_a_rotorcraft_model_from_the_ambulances(tmp_path, processed):
    result = train_model(processed, ROTORCRAFT, tmp_path / "ambulances.txt", fixed={"G": 1, "A": 4})
    model = encsim.load_model(tmp_path / "ambulances.txt")
    assert model.training_hours() == pytest.approx(result.counter.seconds / 3600)
    in_scope = processed.frame["alt_agl_ft"].between(50, 5000).sum()
    assert result.counter.seconds == in_scope  # every second inside 50-5,000 ft AGL is counted once
    report = processed.report.to_frame().set_index("step")
    assert report.loc["input", "rows"] == 1797 and report.loc["input", "segments"] == 3


def test_hellinger_of_a_point_mass_against_a_known_law():
    law = np.array([0.1, 0.6, 0.3])
    assert hellinger(np.array([0.0, 1.0, 0.0]), law) == pytest.approx(np.sqrt(1 - np.sqrt(0.6)))
    assert hellinger(law, law) == 0.0


def states_from_law(model, role, layer_bin0, counts_per_bin, layer_alt_ft):
    """1-s states whose `role` values fill the model's bins with the given counts, one segment each."""
    edges = model.bin_edges(role)
    column = {"v": "speed_kt", "vdot": "vdot_kt_s", "hdot": "hdot_fpm", "psidot": "psidot_deg_s"}[role]
    values = np.repeat(0.5 * (edges[:-1] + edges[1:]), counts_per_bin)
    n = values.shape[0]
    frame = pd.DataFrame({"segment": np.arange(n) % 50, "time_s": np.arange(n), "alt_agl_ft": layer_alt_ft})
    for other in ("speed_kt", "vdot_kt_s", "hdot_fpm", "psidot_deg_s"):
        frame[other] = 0.0
    frame[column] = values
    return frame


def test_states_drawn_from_the_model_are_close_and_a_point_mass_is_exact():
    model = encsim.load_model(ROTORCRAFT)
    law = model.exact_joint(["L", "v"], {"G": 1, "A": 4})[1]
    law = law / law.sum()  # P(v | L = 500-1200 ft)
    counts = np.round(law * 200_000).astype(int)
    table = compare_with_published(
        states_from_law(model, "v", 1, counts, 800.0),
        [ROTORCRAFT],
        roles=("v",),
        presets={"G": 1, "A": 4},
        resamples=50,
    )
    row = table[(table["variable"] == "v") & (table["layer_ft"] == "500-1200")].iloc[0]
    assert row["hellinger"] < 0.005 and row["seconds"] == counts.sum()
    point = np.zeros_like(counts)
    point[3] = 1000
    table = compare_with_published(
        states_from_law(model, "v", 1, point, 800.0), [ROTORCRAFT], roles=("v",), presets={"G": 1, "A": 4}, resamples=50
    )
    row = table[table["layer_ft"] == "500-1200"].iloc[0]
    assert row["hellinger"] == pytest.approx(np.sqrt(1 - np.sqrt(law[3])))
    assert row["ci_low"] == row["ci_high"] == pytest.approx(row["hellinger"])  # every resample is the same


def test_ambulance_comparison_names_the_better_surrogate_with_paired_intervals(processed):
    table = compare_with_published(
        processed.frame, [ROTORCRAFT, "haa_v1"], presets={"G": 1, "A": 4}, resamples=200, seed=3
    )
    assert set(table.loc[table["model"] == "haa_v1", "variable"]) == {"v", "hdot", "psidot"}  # vdot left out
    assert set(table.loc[table["model"] == "haa_v1", "reference"]) == {"MSL"}
    assert (table["ci_low"] <= table["hellinger"] + 1e-12).all() or (table["ci_high"] >= table["hellinger"]).all()
    verdict = better_surrogate(table).set_index("variable")
    assert verdict.loc["psidot", "better"] == ROTORCRAFT and verdict.loc["psidot", "supported"]
    assert verdict.loc["vdot", "other"] == ""
    low, high = verdict.loc["hdot", ["diff_ci_low", "diff_ci_high"]]
    assert low <= verdict.loc["hdot", "difference"] <= high or low > 0
