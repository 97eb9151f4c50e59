"""`encsim.fly(..., chunk_size=)` and `fly_chunks`: flying, checking and redrawing chunk by chunk
gives bit-identical results whatever the chunking (redraws continue each track's own stream)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import encsim
from encsim.dynamics import Trajectories
from encsim.tracks import fly_chunks

ROTORCRAFT = "uncor_1200only_rotorcraft_v1p2"
N, DURATION_S = 200, 60


@pytest.fixture(scope="module")
def tracks():
    return encsim.sample_tracks(ROTORCRAFT, N, DURATION_S, rng=11, start={"G": 1, "A": 4})


@pytest.fixture(scope="module")
def whole(tracks):
    return encsim.fly(tracks, output_hz=1.0)


def assert_identical(a, b) -> None:
    """Every array of two `FlownTracks`, bit for bit."""
    assert a.rejections == b.rejections
    sa, sb = a.sample, b.sample
    assert sa.rejections == sb.rejections and sa.first_id == sb.first_id
    pd.testing.assert_frame_equal(sa.initial, sb.initial, check_exact=True)
    pd.testing.assert_frame_equal(sa.bin_changes, sb.bin_changes, check_exact=True)
    pd.testing.assert_frame_equal(sa.resamples, sb.resamples, check_exact=True)
    for name in ("offsets", "t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2"):
        np.testing.assert_array_equal(getattr(sa.schedule, name), getattr(sb.schedule, name))
    np.testing.assert_array_equal(sa.schedule_bins, sb.schedule_bins)
    np.testing.assert_array_equal(sa.stream_end, sb.stream_end)
    np.testing.assert_array_equal(a.trajectories.t_s, b.trajectories.t_s)
    for name in Trajectories.FIELDS:
        np.testing.assert_array_equal(getattr(a.trajectories, name), getattr(b.trajectories, name), err_msg=name)
    np.testing.assert_array_equal(a.trajectories.extremes, b.trajectories.extremes)
    for name in ("speed_min_fps", "speed_max_fps", "hdot_max_fps"):
        np.testing.assert_array_equal(getattr(a.limits, name), getattr(b.limits, name), err_msg=name)


def test_the_case_has_redraws(tracks, whole):
    assert sum(whole.rejections.values()) >= 3
    # some tracks were replaced by redraws, in place
    np.testing.assert_array_equal(whole.sample.initial["track_id"], tracks.initial["track_id"])
    assert not np.array_equal(whole.sample.initial["speed_kt"], tracks.initial["speed_kt"])


@pytest.mark.parametrize("chunk_size", [1, 7, 64, N, 10 * N])
def test_fly_is_bit_identical_whatever_the_chunk_size(tracks, whole, chunk_size):
    assert_identical(encsim.fly(tracks, output_hz=1.0, chunk_size=chunk_size), whole)


def test_fly_chunks_yields_bounded_chunks_in_order_that_add_up(tracks, whole):
    parts = list(fly_chunks(tracks, chunk_size=64, output_hz=1.0))
    assert [part.sample.n_tracks for part in parts] == [64, 64, 64, 8]
    assert [part.trajectories.n_aircraft for part in parts] == [64, 64, 64, 8]
    ids = np.concatenate([part.sample.initial["track_id"].to_numpy() for part in parts])
    np.testing.assert_array_equal(ids, np.arange(N))
    for reason, total in whole.rejections.items():
        assert sum(part.rejections[reason] for part in parts) == total
    for key, total in whole.sample.rejections.items():
        assert sum(part.sample.rejections[key] for part in parts) == total


def test_fly_chunks_streams_chunks_sampled_one_at_a_time(whole):
    """The CLI's form: a generator samples each chunk; nothing depends on where the chunks were cut."""
    seen = []

    def sampled(size):
        for start in range(0, N, size):
            seen.append(start)
            yield encsim.sample_tracks(
                ROTORCRAFT, min(size, N - start), DURATION_S, rng=11, start={"G": 1, "A": 4}, first_id=start
            )

    stream = fly_chunks(sampled(50), output_hz=1.0)
    first = next(stream)
    assert seen == [0] and first.sample.n_tracks == 50  # lazily: one chunk sampled so far
    parts = [first, *stream]
    joined = encsim.tracks.FlownTracks(
        encsim.sampling.TrackSample.concatenate([p.sample for p in parts]),
        Trajectories.concatenate([p.trajectories for p in parts]),
        {reason: sum(p.rejections[reason] for p in parts) for reason in whole.rejections},
        encsim.tracks.ModelLimits(
            whole.limits.alt_min_ft,
            whole.limits.alt_max_ft,
            *(
                np.concatenate([getattr(p.limits, name) for p in parts])
                for name in ("speed_min_fps", "speed_max_fps", "hdot_max_fps")
            ),
        ),
    )
    assert_identical(joined, whole)
    # chunks larger than chunk_size are cut further
    assert [p.sample.n_tracks for p in fly_chunks(sampled(120), chunk_size=50, output_hz=1.0)] == [50, 50, 20, 50, 30]


def test_ten_hz_chunked_equals_whole():
    tracks = encsim.sample_tracks("uncor_1200only_fwse_v1p2", 60, 30, rng=4, start={"G": 1, "A": 4})
    assert_identical(encsim.fly(tracks, chunk_size=16), encsim.fly(tracks))


def test_bad_chunk_size_is_refused_at_once(tracks):
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="chunk_size"):
            fly_chunks(tracks, chunk_size=bad)
    with pytest.raises(TypeError, match="TrackSample"):
        list(fly_chunks([tracks.take(np.arange(3)), "not a sample"], output_hz=1.0))


def test_cli_streams_chunks_and_matches_the_unchunked_api(tmp_path):
    """`encsim sample --fly --chunk-size 37`: chunked sampling and flying give what `fly` gives in one piece."""
    import json

    import h5py
    from click.testing import CliRunner

    from encsim.cli import main
    from encsim.io.tracks_file import read_tracks, read_trajectories

    out = tmp_path / "chunked.h5"
    args = [
        "sample",
        ROTORCRAFT,
        "-n",
        str(N),
        "--duration",
        str(DURATION_S),
        "--seed",
        "11",
        "--start",
        "G=1,A=4",
        "--fly",
        "--output-hz",
        "1",
        "--chunk-size",
        "37",
        "-o",
        str(out),
        "--quiet",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    whole = encsim.fly(encsim.sample_tracks(ROTORCRAFT, N, DURATION_S, rng=11, start={"G": 1, "A": 4}), output_hz=1.0)
    assert sum(whole.rejections.values()) > 0  # redraws happened, in some chunk
    stored = read_trajectories(out)
    for name in Trajectories.FIELDS:
        np.testing.assert_array_equal(
            getattr(stored, name), getattr(whole.trajectories, name).astype(np.float32), err_msg=name
        )
    pd.testing.assert_frame_equal(read_tracks(out).initial, whole.sample.initial, check_exact=True)
    with h5py.File(out, "r") as f:
        rejections = json.loads(f.attrs["rejections"])
        np.testing.assert_array_equal(f["trajectories"]["limit_hdot_max_fps"][()], whole.limits.hdot_max_fps)
    assert {key[4:]: value for key, value in rejections.items() if key.startswith("fly:")} == whole.rejections


def test_giving_up_names_the_model_presets_track_and_reasons(tracks):
    from encsim.sampling.sampler import SamplingError

    with pytest.raises(SamplingError) as raised:
        encsim.fly(tracks, output_hz=1.0, max_attempts=1)
    message = str(raised.value)
    assert f"model {ROTORCRAFT}, presets " in message and "'G': 1" in message and "'A': 4" in message
    assert "times in a row" in message and "track " in message
    assert any(reason in message for reason in ("speed", "hdot", "altitude")), message
