"""Training from tracks: table validation, each processing step on hand-made tracks, counting, the file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import encsim
from encsim import units
from encsim.train import (
    ModelCounter,
    ProcessingOptions,
    TrackTableError,
    TrainingError,
    model_layout,
    process_tracks,
    read_tracks,
    train_model,
)
from encsim.train.processing import (
    central_difference,
    gaussian_smooth,
    interpolate_to_seconds,
    local_east_north_ft,
    moving_median_mad,
)
from encsim.train.roundtrip import chi_square_column, holm


def straight_track(track_id, n=60, speed_kt=100.0, alt_ft=1000.0, hdot_fpm=0.0, t0=0.0, step_s=1.0):
    """A straight, level (or steadily climbing) track flying north at a constant speed."""
    t = t0 + np.arange(n) * step_s
    return pd.DataFrame(
        {
            "track_id": track_id,
            "time_s": t,
            "east_ft": 0.0,
            "north_ft": speed_kt * units.FPS_PER_KT * (t - t0),
            "alt_agl_ft": alt_ft + hdot_fpm / 60.0 * (t - t0),
        }
    )


# ------------------------------------------------------------------------------------ tables


def test_table_missing_column_is_named():
    table = straight_track(1).drop(columns="alt_agl_ft")
    with pytest.raises(TrackTableError, match="no altitude"):
        read_tracks(table)
    with pytest.raises(TrackTableError, match="'time_s'"):
        read_tracks(straight_track(1).drop(columns="time_s"))


def test_table_bad_value_names_column_and_row():
    table = straight_track(7)
    table.loc[5, "north_ft"] = np.nan
    with pytest.raises(TrackTableError, match=r"column 'north_ft', row 5 \(track 7\)"):
        read_tracks(table)
    table = straight_track(7).assign(lat_deg=45.0, lon_deg=8.0).drop(columns=["east_ft", "north_ft"])
    table.loc[3, "lat_deg"] = 95.0
    with pytest.raises(TrackTableError, match=r"column 'lat_deg', row 3 .*\[-90, 90\]"):
        read_tracks(table)


def test_msl_altitude_needs_ground():
    table = straight_track(1).rename(columns={"alt_agl_ft": "alt_msl_ft"})
    with pytest.raises(TrackTableError, match="no ground elevation"):
        read_tracks(table)
    assert read_tracks(table, ground_ft=400.0)["alt_agl_ft"].iloc[0] == pytest.approx(600.0)
    column = read_tracks(table.assign(ground_ft=100.0))["alt_agl_ft"].iloc[0]
    assert column == pytest.approx(900.0)


def test_traffic_like_object_and_column_map(tmp_path):
    frame = pd.DataFrame(
        {
            "icao24": "abc123",
            "timestamp": pd.date_range("2019-05-23 11:50:00", periods=3, freq="s"),
            "latitude": [47.0, 47.001, 47.002],
            "longitude": [8.0, 8.0, 8.0],
            "altitude": [2000.0, 2000.0, 2025.0],
        }
    )

    class Traffic:  # duck-typed like traffic.core.Traffic: a DataFrame in .data
        data = frame

    table = read_tracks(Traffic(), ground_ft=1000.0)
    assert table["track_id"].tolist() == ["abc123"] * 3
    assert np.diff(table["time_s"]).tolist() == [1.0, 1.0]
    assert table["alt_agl_ft"].tolist() == [1000.0, 1000.0, 1025.0]
    path = tmp_path / "t.csv"
    straight_track(1).rename(columns={"track_id": "id"}).to_csv(path, index=False)
    assert len(read_tracks(path, columns={"track_id": "id"})) == 60
    with pytest.raises(TrackTableError, match=r"'flight' .* not in the table"):
        read_tracks(path, columns={"track_id": "flight"})


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path):
    pytest.importorskip("pandas")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        path = tmp_path / "t.parquet"
        path.write_bytes(b"PAR1")
        with pytest.raises(TrackTableError, match="pyarrow"):
            read_tracks(path)
    else:
        path = tmp_path / "t.parquet"
        straight_track(1).to_parquet(path)
        assert len(read_tracks(path)) == 60


# ------------------------------------------------------------------------------------ steps


def test_local_east_north_matches_known_distances():
    # 0.01 deg of latitude at 45 deg is 1111.4 m on WGS-84; 0.01 deg of longitude at 45 deg is 788.7 m
    east, north = local_east_north_ft(np.array([0, 0, 0]), np.array([45.0, 45.01, 45.01]), np.array([8.0, 8.0, 8.01]))
    assert north[1] * 0.3048 == pytest.approx(1111.4, abs=0.5)
    assert (east[2] - east[1]) * 0.3048 == pytest.approx(788.7, abs=0.5)


def test_gap_split_short_drop_and_duplicates():
    first = straight_track("a", n=30)
    second = straight_track("a", n=30, t0=30 + 25)  # a 26-s gap: a new segment
    short = straight_track("b", n=9)  # fewer than 10 points: dropped
    table = pd.concat([first, first.iloc[[4]], second, short], ignore_index=True)
    processed = process_tracks(read_tracks(table), ProcessingOptions(limits=None))
    report = processed.report.to_frame().set_index("step")
    assert report.loc["duplicates", "removed_rows"] == 1
    assert report.loc["split_gaps", "segments"] == 3 and "1 gaps" in report.loc["split_gaps", "note"]
    assert report.loc["short_segments", "removed_rows"] == 9
    assert processed.frame["segment"].nunique() == 2
    # a gap of exactly 20 s does not split
    table = pd.concat([straight_track("c", n=20), straight_track("c", n=20, t0=39)], ignore_index=True)
    assert process_tracks(read_tracks(table), ProcessingOptions(limits=None)).frame["segment"].nunique() == 1


def test_moving_median_and_scaled_mad():
    values = np.array([0.0, 1.0, 2.0, 3.0, 100.0, 5.0, 6.0])
    median, mad = moving_median_mad(values, np.zeros(7, dtype=int), 5)
    assert median[4] == 5.0  # window [2, 3, 100, 5, 6]
    assert mad[4] == pytest.approx(1.4826 * 2.0)  # |[2,3,100,5,6] - 5| -> median 2
    assert median[0] == 1.0  # truncated window [0, 1, 2]


def test_altitude_outliers_removed_and_quantisation_kept():
    spike = straight_track("s", n=40)
    spike.loc[20, "alt_agl_ft"] = 3000.0  # one 2,000-ft spike in level flight
    steps = straight_track("q", n=40)
    steps.loc[10:30, "alt_agl_ft"] = 1025.0  # 25-ft steps of ADS-B altitude
    climb = straight_track("c", n=40, hdot_fpm=1500.0)
    processed = process_tracks(read_tracks(pd.concat([spike, steps, climb])), ProcessingOptions(limits=None))
    assert processed.report.removed("altitude_outliers") == 1
    assert processed.frame["alt_agl_ft"].max() < 2100.0


def test_gaussian_smooth_keeps_lines_and_averages_noise():
    t = np.arange(50.0)
    segment = np.zeros(50, dtype=int)
    line = 3.0 * t + 7.0
    assert np.allclose(gaussian_smooth(line, t, segment, 2.0), line)  # symmetric windows, up to the ends
    alternating = np.where(np.arange(50) % 2 == 0, 1.0, -1.0)
    assert np.abs(gaussian_smooth(alternating, t, segment, 2.0)[10:-10]).max() < 1e-3
    # segments never mix
    step = np.r_[np.zeros(25), np.ones(25)]
    smoothed = gaussian_smooth(step, t, np.r_[np.zeros(25, int), np.ones(25, int)], 3.0)
    assert np.array_equal(smoothed, step)


def test_interpolate_to_whole_seconds():
    frame = pd.DataFrame(
        {
            "segment": [0, 0, 0],
            "track_id": ["x"] * 3,
            "time_s": [0.5, 2.5, 4.0],
            "east_ft": [0.0, 200.0, 350.0],
            "north_ft": [0.0, 0.0, 0.0],
            "alt_agl_ft": [100.0, 300.0, 300.0],
            "A": [4, 3, 3],
        }
    )
    out = interpolate_to_seconds(frame, ["A"])
    assert out["time_s"].tolist() == [1, 2, 3, 4]
    assert np.allclose(out["east_ft"], [50.0, 150.0, 250.0, 350.0])
    assert np.allclose(out["alt_agl_ft"], [150.0, 250.0, 300.0, 300.0])
    assert out["A"].tolist() == [4, 4, 3, 3]  # the last report at or before each second


def test_derived_rates_of_a_coordinated_turn_and_climb():
    # 100 kt, climbing 600 ft/min, turning right at 3 deg/s, accelerating 0.5 kt/s
    t = np.arange(0.0, 40.0, 0.5)
    speed_kt = 100.0 + 0.5 * t
    heading = np.radians(3.0 * t)
    v_fps = speed_kt * units.FPS_PER_KT
    east = np.cumsum(v_fps * np.sin(heading)) * 0.5
    north = np.cumsum(v_fps * np.cos(heading)) * 0.5
    table = pd.DataFrame(
        {"track_id": 1, "time_s": t, "east_ft": east, "north_ft": north, "alt_agl_ft": 1000.0 + 10.0 * t}
    )
    options = ProcessingOptions(smooth_sigma_s=0.0, smooth_alt_sigma_s=0.0, limits=None)
    frame = process_tracks(read_tracks(table), options).frame
    assert frame["time_s"].tolist() == list(range(2, 38))  # 0..39 s interpolated, 2 s trimmed at each end
    assert np.allclose(frame["hdot_fpm"], 600.0, atol=1e-6)
    assert np.allclose(frame["psidot_deg_s"], 3.0, atol=0.01)
    assert np.allclose(frame["vdot_kt_s"], 0.5, atol=0.02)
    assert np.allclose(frame["speed_kt"], 100.25 + 0.5 * frame["time_s"], atol=0.3)  # mid-step speeds


def test_central_difference_wraps_headings():
    heading = np.array([358.0, 0.0, 2.0, 4.0])
    rate = central_difference(heading, np.zeros(4, dtype=int), wrap_deg=True)
    assert np.allclose(rate, 2.0)


def test_type_outliers_and_layers_counted():
    fast = straight_track("fast", n=30, speed_kt=260.0)  # beyond the rotorcraft limit
    low = straight_track("low", n=30, alt_ft=30.0)  # below 50 ft AGL: out of scope
    ok = straight_track("ok", n=30, alt_ft=700.0)
    processed = process_tracks(
        read_tracks(pd.concat([fast, low, ok])), ProcessingOptions(limits="rotorcraft"), layer_edges_ft=[50, 500, 1200]
    )
    report = processed.report.to_frame().set_index("step")
    assert report.loc["trim_ends", "removed_rows"] == 3 * 4  # 2 s at each end of each segment
    assert report.loc["type_outliers", "removed_rows"] == 26 and "speed 26" in report.loc["type_outliers", "note"]
    assert report.loc["altitude_layer", "removed_rows"] == 26
    assert set(processed.frame["track_id"]) == {"ok"} and set(processed.frame["layer"]) == {2}


# ------------------------------------------------------------------------------------ counting


def test_counting_a_hand_made_state_sequence(fwse):
    layout = model_layout(fwse)
    counter = ModelCounter(layout)
    # one segment of 3 s, G=1 A=4 L=2 v=4, vdot bin 3, hdot bins 4 -> 5 -> 5, psidot bin 4
    bins = np.array([[0, 3, 1, 3, 2, 3, 3], [0, 3, 1, 3, 2, 4, 3], [0, 3, 1, 3, 2, 4, 3]])
    counter.add_bins(np.zeros(3, int), np.arange(3), bins)
    assert counter.initial_tables[0][0, 0] == 3  # G: one count per second
    hdot_t1 = len(fwse.labels) + 1  # transition index of hdot(t+1)
    table = counter.transition_tables[hdot_t1]
    assert table.sum() == 2 and table[4].sum() == 2  # both pairs end in hdot bin 5
    # the column of the first pair: parents A, L, vdot(t), hdot(t), psidot(t), first fastest
    r = fwse.transition.r
    column = 3 + 4 * (1 + 4 * (2 + r[4] * (3 + r[5] * 3)))
    assert table[4, column] == 1
    first = ModelCounter(layout, initial="first")
    first.add_bins(np.zeros(3, int), np.arange(3), bins)
    assert first.initial_tables[0].sum() == 1


def test_pairs_need_one_second_and_the_same_segment(fwse):
    counter = ModelCounter(model_layout(fwse))
    bins = np.zeros((4, 7), dtype=int)
    counter.add_bins(np.array([0, 0, 1, 1]), np.array([0, 2, 3, 4]), bins)
    assert counter.pairs == 1


def test_resample_rate_rule(fwse):
    counter = ModelCounter(model_layout(fwse))
    # speed in bin 60-90 kt: fine bins [60, 70), [70, 80), [80, 90); five steps, two change fine bin
    frame = pd.DataFrame(
        {
            "segment": 0,
            "time_s": np.arange(6),
            "alt_agl_ft": 1000.0,
            "speed_kt": [61.0, 62.0, 71.0, 72.0, 85.0, 86.0],
            "vdot_kt_s": 0.0,
            "hdot_fpm": 0.0,
            "psidot_deg_s": 0.0,
        }
    )
    counter.add_states(frame, fixed={"G": 1, "A": 4})
    rates = counter.resample_rates()
    assert rates[fwse.roles["v"]] == pytest.approx(2 / 5)
    assert rates[fwse.roles["G"]] == 0.0 and rates[fwse.roles["hdot"]] == 0.0  # hdot sat in its zero bin


def test_missing_categorical_variable_is_explained(fwse):
    frame = pd.DataFrame({"segment": 0, "time_s": [0, 1], "alt_agl_ft": 900.0, "speed_kt": 80.0,
                          "vdot_kt_s": 0.0, "hdot_fpm": 0.0, "psidot_deg_s": 0.0})  # fmt: skip
    with pytest.raises(TrainingError, match="categorical variable 'G'"):
        ModelCounter(model_layout(fwse)).add_states(frame)
    with pytest.raises(TrainingError, match="column 'A', row 1"):
        ModelCounter(model_layout(fwse)).add_states(frame.assign(A=[4, 9]), fixed={"G": 1})


def test_trained_file_reads_back_and_compares(tmp_path, fwse):
    rng = np.random.default_rng(3)
    tracks = []
    for k in range(6):
        track = straight_track(k, n=120, speed_kt=80 + 10 * k, alt_ft=600 + 300 * k, hdot_fpm=rng.choice([0, 500]))
        tracks.append(track.assign(A=4))
    path = tmp_path / "mine.txt"
    result = train_model(pd.concat(tracks), "uncor_1200only_fwse_v1p2", path, fixed={"G": 1})
    model = encsim.load_model(path)
    assert model.labels == fwse.labels and np.array_equal(model.initial.graph, fwse.initial.graph)
    assert model.training_hours() == pytest.approx(result.counter.seconds / 3600)
    assert result.report["step"].tolist()[-2:] == ["count_initial", "count_transitions"]
    from encsim.compare import compare_models

    comparison = compare_models(path, "uncor_1200only_fwse_v1p2")
    assert comparison is not None


def test_edges_from_toml(tmp_path, fwse):
    toml = tmp_path / "edges.toml"
    toml.write_text("[edges]\nv = [0, 50, 100, 200, 300]\n")
    from encsim.train import read_edges_toml

    layout = model_layout(fwse, read_edges_toml(toml))
    assert layout.r[fwse.roles["v"]] == 4
    assert layout.transition_r[fwse.roles["v"]] == 4
    toml.write_text("[edges]\nG = [0, 1]\n")
    with pytest.raises(TrainingError, match="categorical"):
        model_layout(fwse, read_edges_toml(toml))


# ------------------------------------------------------------------------------------ statistics


def test_chi_square_column_and_holm():
    statistic, dof, p = chi_square_column(np.array([50, 50]), np.array([0.5, 0.5]))
    assert statistic == 0.0 and dof == 1 and p == 1.0
    assert chi_square_column(np.array([1, 99]), np.array([0.0, 1.0]))[2] == 0.0
    statistic, dof, _ = chi_square_column(np.array([2, 4, 994]), np.array([0.003, 0.003, 0.994]))
    assert dof == 1 and statistic == pytest.approx(0.0)  # the two small cells (expected 3 each) pooled
    statistic, dof, _ = chi_square_column(np.array([10, 50, 940]), np.array([0.02, 0.04, 0.94]))
    assert dof == 2 and statistic == pytest.approx(10**2 / 20 + 10**2 / 40)
    assert holm([0.001, 0.04, 0.2], 0.05).tolist() == [True, False, False]
    assert holm([0.01, 0.02, 0.03], 0.1).tolist() == [True, True, True]


def _python_counts(model, bins, segment, time_s, keep, first_only):
    """Plain-Python twin of the counting kernels: dictionaries of (variable, bin, column) counts."""
    initial, transition = {}, {}
    n = len(model.labels)
    for row in range(len(bins)):
        starts = row == 0 or segment[row] != segment[row - 1]
        if keep[row] and (starts or not first_only):
            for i in range(n):
                column, stride = 0, 1
                for p in model.parents(i):
                    column += bins[row][p] * stride
                    stride *= model.r[p]
                key = (i, bins[row][i], column)
                initial[key] = initial.get(key, 0) + 1
        if row + 1 < len(bins) and keep[row] and keep[row + 1] and segment[row] == segment[row + 1]:
            if time_s[row + 1] - time_s[row] != 1:
                continue
            for t, j in model.temporal_map:
                column, stride = 0, 1
                for p in model.transition.parents(j):
                    source = bins[row + 1] if p >= n else bins[row]
                    index = next(a for a, b in model.temporal_map if b == p) if p >= n else p
                    column += source[index] * stride
                    stride *= model.transition.r[p]
                key = (j, bins[row + 1][t], column)
                transition[key] = transition.get(key, 0) + 1
    return initial, transition


@pytest.mark.parametrize("first_only", [False, True])
def test_counting_kernels_match_their_python_twin(fwse, first_only):
    rng = np.random.default_rng(1)
    n = 400
    bins = np.stack([rng.integers(0, r, n) for r in fwse.r], axis=1)
    segment = np.repeat(np.arange(8), 50)
    time_s = np.arange(n) + (rng.random(n) < 0.05)  # some 2-s steps break pairs
    time_s = np.maximum.accumulate(time_s)
    keep = rng.random(n) > 0.1
    counter = ModelCounter(model_layout(fwse), initial="first" if first_only else "every")
    counter.add_bins(segment, time_s, bins, keep=keep)
    initial, transition = _python_counts(fwse, bins.tolist(), segment, time_s, keep, first_only)
    for i, table in enumerate(counter.initial_tables):
        for (var, b, column), count in initial.items():
            if var == i:
                assert table[b, column] == count
        assert table.sum() == sum(c for (var, _, _), c in initial.items() if var == i)
    for j, table in enumerate(counter.transition_tables):
        if table is None:
            continue
        for (var, b, column), count in transition.items():
            if var == j:
                assert table[b, column] == count
        assert table.sum() == sum(c for (var, _, _), c in transition.items() if var == j)
    assert counter.pairs == sum(c for (var, _, _), c in transition.items() if var == fwse.temporal_map[0][1])


def test_chunked_processing_gives_the_same_states_and_report():
    tracks = [straight_track(k, n=40 + 5 * k, hdot_fpm=300.0 * k) for k in range(6)]
    tracks[2].loc[17, "alt_agl_ft"] = 5000.0  # an outlier, so that some step has counts
    table = read_tracks(pd.concat(tracks))
    whole = process_tracks(table, layer_edges_ft=[50, 500, 1200, 3000])
    chunked = process_tracks(table, layer_edges_ft=[50, 500, 1200, 3000], chunk_rows=50)
    pd.testing.assert_frame_equal(whole.frame, chunked.frame)
    pd.testing.assert_frame_equal(whole.report.to_frame(), chunked.report.to_frame())
    assert "1 gaps" not in whole.report.to_frame()["note"].iloc[2]


def test_smoothing_and_median_kernels_match_their_python_twins():
    rng = np.random.default_rng(4)
    segment = np.repeat([0, 1, 2], [7, 30, 13])
    time_s = np.cumsum(rng.uniform(0.5, 1.5, 50))
    values = rng.normal(size=50) * 100
    sigma, window = 1.7, 7
    expected_smooth, expected_median, expected_mad = [], [], []
    for i in range(50):
        same = [j for j in range(50) if segment[j] == segment[i]]
        reach_sym = min(i - same[0], same[-1] - i)
        half_smooth = int(np.ceil(3 * sigma / np.median(np.diff(time_s)[segment[1:] == segment[:-1]])))
        reach = min(half_smooth, reach_sym)
        pairs = [(values[j], np.exp(-0.5 * ((time_s[j] - time_s[i]) / sigma) ** 2))
                 for j in range(i - reach, i + reach + 1) if abs(time_s[j] - time_s[i]) <= 3 * sigma]  # fmt: skip
        expected_smooth.append(sum(v * w for v, w in pairs) / sum(w for _, w in pairs))
        lo, hi = max(same[0], i - window // 2), min(same[-1], i + window // 2)
        chunk = sorted(values[lo : hi + 1])
        med = float(np.median(chunk))
        expected_median.append(med)
        expected_mad.append(1.4826 * float(np.median([abs(v - med) for v in chunk])))
    assert np.allclose(gaussian_smooth(values, time_s, segment, sigma), expected_smooth, rtol=1e-12, atol=1e-9)
    median, mad = moving_median_mad(values, segment, window)
    assert np.allclose(median, expected_median) and np.allclose(mad, expected_mad)
