"""The DBN sampler against exact values computed from the counts.

Tolerances: a frequency f of an event with exact probability p over N independent draws is
checked with |f - p| <= 5 sqrt(p (1 - p) / N) (two-sided false alarm below 1e-6 per check); a mean
of a count with exact expectation mu against 5 standard errors estimated from the sample.
Sizes are chosen so that the plausible wrong implementations named in each test fail by far more.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from plain_sampler import exact_change_expectations, per_step_track

import encsim
from encsim.commands import CommandSchedule, InitialStates
from encsim.sampling import SamplingError, TrackSample, sample_initial, sample_track_ids, sample_tracks
from encsim.sampling.sampler import TrackBatch, TrackSampler

FWSE = "uncor_1200only_fwse_v1p2"


def assert_frequencies(sample_bins0: np.ndarray, exact: np.ndarray, what: str) -> None:
    n = sample_bins0.shape[0]
    freq = np.bincount(sample_bins0, minlength=exact.shape[0]) / n
    tol = 5.0 * np.sqrt(exact * (1.0 - exact) / n) + 1e-12
    bad = np.flatnonzero(np.abs(freq - exact) > tol)
    assert bad.size == 0, f"{what}: bins {bad + 1} freq {freq[bad]} vs exact {exact[bad]} (tol {tol[bad]})"


def assert_mean(values: np.ndarray, expected: float, what: str) -> None:
    se = values.std(ddof=1) / np.sqrt(values.shape[0])
    assert abs(values.mean() - expected) <= 5.0 * se + 1e-12, (
        f"{what}: mean {values.mean()} vs exact {expected} (se {se})"
    )


def bins_at_second(sample, second: int) -> np.ndarray:
    """1-based (hdot, psidot, vdot) bins in force at `second` for every track."""
    schedule = sample.schedule
    out = np.empty((sample.n_tracks, 3), dtype=np.int64)
    for track in range(sample.n_tracks):
        lo, hi = schedule.offsets[track], schedule.offsets[track + 1]
        k = lo + np.searchsorted(schedule.t_s[lo:hi], second, side="right") - 1
        out[track] = sample.schedule_bins[k]
    return out


# ------------------------------------------------------------------ initial network


def test_initial_marginals_and_conditionals_match_exact(fwse):
    n = 100_000
    tracks = sample_tracks(fwse, n, 1, rng=11, start={"G": 1, "A": 4})
    frame = tracks.initial
    assert_frequencies(frame["L"].to_numpy() - 1, fwse.exact_marginal("L", {"G": 1, "A": 4}), "L | G=1, A=4")
    speed_bins = np.searchsorted(fwse.bin_edges("v"), frame["speed_kt"].to_numpy(), side="right") - 1
    assert_frequencies(speed_bins, fwse.exact_marginal("v", {"G": 1, "A": 4}), "v | G=1, A=4")
    layer2 = sample_tracks(fwse, n, 1, rng=12, start={"G": 1, "A": 4, "L": 2})
    hdot_bins = np.searchsorted(fwse.bin_edges("hdot"), layer2.initial["hdot_fpm"].to_numpy(), side="right") - 1
    hdot_bins = np.where(layer2.initial["hdot_fpm"].to_numpy() == 0.0, fwse.zero_bins[fwse.roles["hdot"]], hdot_bins)
    assert_frequencies(hdot_bins, fwse.exact_marginal("hdot", {"G": 1, "A": 4, "L": 2}), "hdot | G=1, A=4, L=2")


def test_initial_values_are_inside_their_bins_and_zero_bins_are_exactly_zero(fwse):
    tracks = sample_tracks(fwse, 5_000, 1, rng=3, start={"G": 1, "A": 4})
    frame = tracks.initial
    for role, column in (("v", "speed_kt"), ("vdot", "vdot_kt_s"), ("hdot", "hdot_fpm"), ("psidot", "psidot_deg_s")):
        edges = fwse.bin_edges(role)
        values = frame[column].to_numpy()
        assert np.all((values >= edges[0]) & (values <= edges[-1])), role
    layers = fwse.entry.layer_edges_ft if fwse.entry is not None else fwse.bin_edges("L")
    lo = np.asarray(layers)[frame["L"].to_numpy() - 1]
    hi = np.asarray(layers)[frame["L"].to_numpy()]
    assert np.all((frame["alt_ft"] >= lo) & (frame["alt_ft"] <= hi))
    # first schedule row is the initial command, and zero bins give exactly 0
    first = tracks.schedule.offsets[:-1]
    zero_hdot = tracks.schedule_bins[first, 0] == fwse.zero_bins[fwse.roles["hdot"]] + 1
    assert zero_hdot.any()
    assert np.all(tracks.schedule.hdot_fps[first][zero_hdot] == 0.0)
    assert np.all(frame["hdot_fpm"].to_numpy()[zero_hdot] == 0.0)
    # speed rule: every accepted initial state flies faster than it climbs
    assert np.all(frame["speed_kt"] * 1.68781 > np.abs(frame["hdot_fpm"]) / 60.0)


# ------------------------------------------------------------------ transitions


def test_one_step_transition_from_a_fixed_state_matches_the_exact_column(fwse):
    start = {"G": 1, "A": 4, "L": 2, "v": 4, "vdot": 3, "hdot": 4, "psidot": 4}
    n = 100_000
    tracks = sample_tracks(fwse, n, 2, rng=21, start=start)
    after = bins_at_second(tracks, 1) - 1
    bins0 = {fwse.variable_index(k): v - 1 for k, v in start.items()}
    command_position = {"hdot": 0, "psidot": 1, "vdot": 2}
    time_t_of = {t1: t for t, t1 in fwse.temporal_map}
    for j in fwse.transition_order:
        role = next(r for r, i in fwse.roles.items() if i == time_t_of[j])
        column = fwse.column_index(fwse.transition, j, bins0)
        exact = fwse.transition_cpt(j)[:, column]
        assert_frequencies(after[:, command_position[role]], exact, f"{role}(t+1) from {start}")


def _exact_next_joint(model, bins0):
    """Exact joint of the (t+1) variables from a fixed state, by enumeration (handles t+1 -> t+1 edges)."""
    order = list(model.transition_order)
    joint = {(): 1.0}
    for j in order:
        new = {}
        for prefix, p in joint.items():
            state = dict(bins0)
            state.update(dict(zip(order, prefix)))
            column = model.column_index(model.transition, j, state)
            for b, q in enumerate(model.transition_cpt(j)[:, column]):
                if q > 0:
                    new[prefix + (b,)] = p * q
        joint = new
    return order, joint


def test_one_step_with_t1_to_t1_edges_matches_exact_joint():
    glider = encsim.load_model("glider_v1")
    assert any(glider.transition.graph[a, b] for a in range(5, 8) for b in range(5, 8)), "glider has (t+1)->(t+1) edges"
    start = {"L": 1, "v": 3, "vdot": 3, "hdot": 4, "psidot": 4}
    bins0 = {glider.variable_index(k): v - 1 for k, v in start.items()}
    order, joint = _exact_next_joint(glider, bins0)
    n = 60_000
    tracks = sample_tracks(glider, n, 2, rng=5, start=start)
    after = bins_at_second(tracks, 1) - 1
    command_position = {"hdot": 0, "psidot": 1, "vdot": 2}
    time_t_of = {t1: t for t, t1 in glider.temporal_map}
    for k, j in enumerate(order):
        role = next(r for r, i in glider.roles.items() if i == time_t_of[j])
        exact = np.zeros(int(glider.transition.r[j]))
        for key, p in joint.items():
            exact[key[k]] += p
        assert_frequencies(after[:, command_position[role]], exact, f"glider {role}(t+1)")


@pytest.mark.slow
def test_bin_changes_per_60s_track_follow_per_step_parents(fwse):
    """Per-step parents give (1.29, 0.89, 0.87) changes per 60-s track; the fixed-initial-column
    shortcut of bayes HEAD gives (2.62, 1.71, 1.68): this test tells them apart by > 100 se."""
    exact = exact_change_expectations(fwse, {"G": 1, "A": 4}, 60)
    tracks = sample_tracks(fwse, 60_000, 60, rng=7, start={"G": 1, "A": 4})
    for k, column in enumerate(tracks.bin_changes.columns):
        assert_mean(tracks.bin_changes[column].to_numpy(), exact[k], f"changes of {column}")


def test_bin_changes_with_t1_to_t1_edges_match_exact():
    glider = encsim.load_model("glider_v1")
    exact = exact_change_expectations(glider, {}, 30)
    tracks = sample_tracks(glider, 40_000, 30, rng=8)
    for k, column in enumerate(tracks.bin_changes.columns):
        assert_mean(tracks.bin_changes[column].to_numpy(), exact[k], f"glider changes of {column}")


def test_plain_python_per_step_twin_agrees_with_exact(fwse):
    """The obviously-correct per-step twin agrees with the same exact values (it validates them)."""
    exact = exact_change_expectations(fwse, {"G": 1, "A": 4}, 20)
    rng = np.random.default_rng(4)
    presets0 = {0: 0, 1: 3}
    changes = np.array([per_step_track(fwse, 20, rng, presets0)["changes"] for _ in range(1500)])
    for k in range(3):
        assert_mean(changes[:, k].astype(float), exact[k], f"twin changes {k}")


def test_resample_events_per_track_are_T_times_rate(fwse):
    n, duration = 20_000, 60
    tracks = sample_tracks(fwse, n, duration, rng=9, start={"G": 1, "A": 4})
    for label, rate in zip(fwse.labels, fwse.resample_rates):
        counts = tracks.resamples[label].to_numpy()
        if rate == 0:
            assert counts.sum() == 0
            continue
        expected = duration * rate
        se = np.sqrt(duration * rate * (1 - rate) / n)
        assert abs(counts.mean() - expected) <= 5 * se, (label, counts.mean(), expected)


def test_command_rows_change_exactly_when_bins_change_or_resample(fwse):
    tracks = sample_tracks(fwse, 2_000, 120, rng=10, start={"G": 1, "A": 4})
    schedule = tracks.schedule
    assert np.all(schedule.t_s == np.rint(schedule.t_s))
    assert np.all((schedule.t_s >= 0) & (schedule.t_s <= 119))
    per_second = tracks.commands_per_second()
    assert per_second["hdot_fpm"].shape == (2_000, 120)
    bins = tracks.bins_per_second()
    hdot_edges = fwse.bin_edges("hdot")
    inside = (per_second["hdot_fpm"] >= hdot_edges[bins[..., 0] - 1] - 1e-9) & (
        per_second["hdot_fpm"] <= hdot_edges[bins[..., 0]] + 1e-9
    )
    assert inside.all()
    changes_from_bins = np.sum(np.diff(bins[..., 2].astype(int), axis=1) != 0, axis=1)
    np.testing.assert_array_equal(changes_from_bins, tracks.bin_changes.iloc[:, 0])  # vdot changes, second by second
    # values stay inside the bin recorded for them
    edges = fwse.bin_edges("hdot")
    hdot = schedule.hdot_fps * 60.0
    b = tracks.schedule_bins[:, 0] - 1
    assert np.all((hdot >= edges[b] - 1e-9) & (hdot <= edges[b + 1] + 1e-9))
    # the number of bin changes equals the number of rows whose bins differ from the row before
    bins = tracks.schedule_bins.astype(int)
    starts = np.zeros(len(bins), dtype=bool)
    starts[schedule.offsets[:-1]] = True
    differs = np.any(bins[1:] != bins[:-1], axis=1) & ~starts[1:]
    assert differs.sum() <= tracks.bin_changes.to_numpy().sum()
    assert differs.sum() >= tracks.bin_changes.to_numpy().sum() / 3  # several variables may change together


# ------------------------------------------------------------------ reproducibility and addressing


def test_tracks_are_addressable_by_id_whatever_the_chunking(fwse):
    whole = sample_tracks(fwse, 500, 90, rng=123, start="G=1,A=4")
    small_chunks = sample_tracks(fwse, 500, 90, rng=123, start="G=1,A=4", chunk_size=37)
    tail = sample_tracks(fwse, 200, 90, rng=123, start="G=1,A=4", first_id=300)
    assert whole.initial.equals(small_chunks.initial)
    np.testing.assert_array_equal(whole.schedule.t_s, small_chunks.schedule.t_s)
    np.testing.assert_array_equal(whole.schedule.hdot_fps, small_chunks.schedule.hdot_fps)
    tail_frame = whole.initial.iloc[300:].reset_index(drop=True)
    assert tail_frame.equals(tail.initial)
    lo = whole.schedule.offsets[300]
    np.testing.assert_array_equal(whole.schedule.psidot_rad_s[lo:], tail.schedule.psidot_rad_s)
    other = sample_tracks(fwse, 500, 90, rng=124, start="G=1,A=4")
    assert not other.initial["speed_kt"].equals(whole.initial["speed_kt"])
    seeded = sample_tracks(fwse, 500, 90, rng=np.random.SeedSequence(5), start="G=1,A=4")
    again = sample_tracks(fwse, 500, 90, rng=np.random.SeedSequence(5), start="G=1,A=4")
    assert seeded.initial.equals(again.initial)


def assert_same_samples(got, expected):
    """Every field of two TrackSamples equal, DataFrames with their dtypes and index, arrays bit for bit."""
    for field in dataclasses.fields(expected):
        a, b = getattr(got, field.name), getattr(expected, field.name)
        if isinstance(b, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        elif isinstance(b, CommandSchedule):
            for name in ("offsets", "t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2"):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name), strict=True)
        elif isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b, strict=True)
        else:
            assert a == b, field.name


def test_track_batches_take_and_join_as_track_samples_do(fwse):
    """The generator's array path (TrackBatch) against TrackSample's DataFrame path, operation by operation."""
    sampler = TrackSampler(fwse, "G=1,A=4")
    ids = np.arange(40, 140, dtype=np.uint64)
    attempts = np.arange(100, dtype=np.uint64) % 3
    batches = [
        sampler.sample(ids[:60], seed=7, duration_s=60, sub_streams=np.ones(60), attempts=attempts[:60]),
        sampler.sample(ids[60:], seed=7, duration_s=60, sub_streams=np.ones(40), attempts=attempts[60:]),
    ]
    samples = [batch.to_sample() for batch in batches]
    direct = sample_track_ids(
        fwse, ids[:60], seed=7, duration_s=60, start="G=1,A=4", sub_streams=np.ones(60), attempts=attempts[:60]
    )
    assert_same_samples(samples[0], direct)
    picks = [np.array([5, 0, 59, 17, 17]), np.array([39, 2, 11])]
    taken = [batch.take(pick) for batch, pick in zip(batches, picks)]
    expected = [sample.take(pick) for sample, pick in zip(samples, picks)]
    for got, want in zip(taken, expected):
        assert_same_samples(got.to_sample(), want)
    order = np.array([7, 0, 3, 1, 6, 2, 5, 4])
    joined = TrackBatch.concatenate(taken).take(order)
    assert_same_samples(joined.to_sample(), TrackSample.concatenate(expected).take(order))
    assert joined.initial.equals(joined.to_sample().initial)
    for name in InitialStates.FIELDS:
        got, want = getattr(joined.initial_states(), name), getattr(joined.to_sample().initial_states(), name)
        np.testing.assert_array_equal(got, want, strict=True)
    assert_same_samples(TrackBatch.concatenate(taken[:1]).take(np.zeros(0, np.int64)).to_sample(), expected[0].take([]))


# ------------------------------------------------------------------ presets and errors


def test_presets_are_checked(fwse):
    with pytest.raises(ValueError, match="parents"):
        sample_tracks(fwse, 10, 10, rng=1, start={"L": 2})
    with pytest.raises(ValueError, match="probability 0"):
        sample_tracks(fwse, 10, 10, rng=1, start={"G": 2, "A": 1})
    with pytest.raises(ValueError, match="1..5"):
        sample_tracks(fwse, 10, 10, rng=1, start={"G": 0})
    with pytest.raises(ValueError, match="NAME=BIN"):
        sample_tracks(fwse, 10, 10, rng=1, start="G:1")
    with pytest.raises(ValueError, match="no variable"):
        sample_tracks(fwse, 10, 10, rng=1, start={"X": 1})
    with pytest.raises(ValueError, match="empty_column"):
        sample_tracks(fwse, 10, 10, rng=1, empty_column="skip")
    with pytest.raises(ValueError, match="duration_s"):
        sample_tracks(fwse, 10, 0, rng=1)


def test_models_without_transitions_sample_initial_only():
    terminal = encsim.load_model("terminal_v3_opensky_encounter_model")
    with pytest.raises(ValueError, match="transition|refused"):
        sample_tracks(terminal, 10, 10, rng=1)
    frame = sample_initial(terminal, 50_000, rng=2)
    exact = terminal.exact_marginal("own_intent")
    assert_frequencies(frame["own_intent"].to_numpy() - 1, exact, "terminal own_intent")
    cor = encsim.load_model("cor_v1")
    with pytest.raises(ValueError):
        sample_tracks(cor, 10, 10, rng=1)
    cor_frame = sample_initial(cor, 2_000, rng=3)
    assert len(cor_frame) == 2_000


# ------------------------------------------------------------------ empty columns

TINY_MODEL = """# labels_initial
"L", "\\dot h"
# G_initial
0 1
0 0
# r_initial
2 3
# N_initial
50 50 10 0 0 0 10 0
# labels_transition
"L", "\\dot h(t)", "\\dot h(t+1)"
# G_transition
0 0 1
0 0 1
0 0 0
# r_transition
2 3 3
# N_transition
5 5 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
# boundaries
0 500 1000
-600 -300 300 600
# resample_rates
0 0
"""
# In layer 1, hdot starts in bin 1 and moves to bin 1 or 2 with equal chance; every other column
# is empty, so a track that reaches hdot bin 2 meets an empty column one second later.


def test_empty_transition_columns_follow_the_policy(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_MODEL)
    tiny = encsim.load_model(path)
    # layer 2 has hdot bin 2 only, whose column is empty from the first second: always rejected
    with pytest.raises(SamplingError, match="rejected 20 times"):
        sample_tracks(tiny, 5, 3, rng=1, start={"L": 2}, max_attempts=20)
    rejected = sample_tracks(tiny, 2_000, 4, rng=1, start={"L": 1})
    # accepted tracks stay in bin 1 through seconds 1 and 2 (probability 1/4 per attempt); at the
    # last transition (second 3) bin 2 is allowed, since no column is drawn after it
    early = rejected.schedule.t_s < 3
    assert np.all(rejected.schedule_bins[early, 0] == 1)
    assert np.any(rejected.schedule_bins[~early, 0] == 2)
    assert rejected.rejections["empty_transition_column:\\dot h(t+1)"] > 2_000 * 2
    held = sample_tracks(tiny, 2_000, 4, rng=1, start={"L": 1}, empty_column="hold")
    assert held.rejections["empty_transition_column:\\dot h(t+1)"] == 0
    assert set(np.unique(held.schedule_bins[:, 0])) == {1, 2}
    bin1 = sample_tracks(tiny, 2_000, 4, rng=1, start={"L": 1}, empty_column="bin1")
    per_second = bin1.commands_per_second()["hdot_fpm"]
    # under 'bin1' a track in bin 2 falls back to bin 1 the next second
    in_bin2 = (per_second > -300) & (per_second < 300)
    assert in_bin2.any()
    assert not np.any(in_bin2[:, :-1] & in_bin2[:, 1:])


def test_a_track_overflowing_the_row_buffer_is_redone_alone_and_comes_out_the_same(monkeypatch):
    from encsim.sampling import _buffers

    normal = sample_tracks("uncor_1200only_fwse_v1p2", 50, 120, rng=4, start={"G": 1, "A": 4})
    assert int(np.diff(normal.schedule.offsets).max()) > 2  # tracks with more than two command rows
    monkeypatch.setattr(_buffers, "_row_capacity", lambda duration_s: 2)  # every such track overflows
    redone = sample_tracks("uncor_1200only_fwse_v1p2", 50, 120, rng=4, start={"G": 1, "A": 4})
    for name in ("offsets", "t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2"):
        np.testing.assert_array_equal(getattr(redone.schedule, name), getattr(normal.schedule, name))
    np.testing.assert_array_equal(redone.schedule_bins, normal.schedule_bins)
    np.testing.assert_array_equal(redone.stream_end, normal.stream_end)
    assert redone.initial.equals(normal.initial) and redone.rejections == normal.rejections
