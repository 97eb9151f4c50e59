"""`encsim.fly`: sampled tracks flown under model limits, rejected tracks redrawn and counted."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import encsim
from encsim import units
from encsim.sampling.sampler import ScopeWarning
from encsim.tracks import track_limits

FWSE = "uncor_1200only_fwse_v1p2"


@pytest.fixture(scope="module")
def fwse_flown():
    tracks = encsim.sample_tracks(FWSE, 1500, 90, rng=3, start={"G": 1, "A": 4})
    return tracks, encsim.fly(tracks, output_hz=10.0)


def test_every_accepted_track_respects_its_limits(fwse_flown):
    _, flown = fwse_flown
    trajectories, limits = flown.trajectories, flown.limits
    assert trajectories.up_ft.shape == (1500, 901)
    assert np.all(trajectories.up_ft >= 50.0) and np.all(trajectories.up_ft <= 5000.0)
    assert np.all(trajectories.speed_fps >= limits.speed_min_fps[:, None])
    assert np.all(trajectories.speed_fps <= limits.speed_max_fps[:, None])
    rate = np.abs(np.gradient(trajectories.up_ft[:, ::10], axis=1))
    assert np.all(rate.max(axis=1) <= limits.hdot_max_fps)
    # FWSE default window starts at the lower edge of the 30-60 kt bin (decisions.md section 3)
    assert np.allclose(limits.speed_min_fps, units.kt_to_fps(30.0))


def test_rejections_are_counted_and_tracks_are_redrawn_in_place(fwse_flown):
    tracks, flown = fwse_flown
    assert sum(flown.rejections.values()) > 0
    assert set(flown.rejections) == {"altitude", "speed", "vertical_rate"}
    np.testing.assert_array_equal(flown.sample.initial["track_id"], tracks.initial["track_id"])
    # tracks that were accepted at once are untouched; redrawn ones changed
    same = np.isclose(flown.sample.initial["speed_kt"], tracks.initial["speed_kt"])
    assert (~same).sum() > 0 and same.sum() > 1000
    again = encsim.fly(tracks, output_hz=10.0)
    np.testing.assert_array_equal(again.trajectories.up_ft, flown.trajectories.up_ft)
    # a redrawn track depends only on its own id: the same track redrawn from a smaller sample
    position = int(np.flatnonzero(~same)[0])
    alone = encsim.fly(tracks.take([position]), output_hz=10.0)
    np.testing.assert_array_equal(alone.trajectories.north_ft[0], flown.trajectories.north_ft[position])


def test_reference_limits_reject_every_slow_fixed_wing_track():
    tracks = encsim.sample_tracks(FWSE, 1500, 60, rng=4, start={"G": 1, "A": 4})
    default = encsim.fly(tracks, output_hz=1.0)
    reference = encsim.fly(tracks, output_hz=1.0, reference_limits=True)
    assert reference.rejections["speed"] > 2 * default.rejections["speed"]
    assert reference.trajectories.speed_fps.min() >= 60 * 1.68780972 - 1e-9  # upper edge of the 1 % bin
    widened = encsim.fly(tracks, output_hz=1.0, percentiles=(0.1, 99.9))
    assert widened.rejections["speed"] <= default.rejections["speed"]


def test_limits_follow_the_spanned_layers_and_speeds(fwse_flown):
    tracks, _flown = fwse_flown
    model = encsim.load_model(FWSE)
    extremes = np.array([[100.0], [400.0], [100.0], [150.0]])  # layer 1 only, 59-89 kt
    one = tracks.take([0])
    limits = track_limits(model, one, extremes, np.array([50.0, 500, 1200, 3000, 5000]))
    joint = model.exact_joint(["L", "v", "hdot"], {"G": 1, "A": 4})
    speed_hist = joint[0].sum(axis=1)
    cumulative = np.cumsum(speed_hist) / speed_hist.sum()
    hi_bin = int(np.searchsorted(cumulative, 0.99 - 1e-12))
    assert limits.speed_max_fps[0] == pytest.approx(units.kt_to_fps(model.bin_edges("v")[hi_bin + 1]))


def test_scope_warning_and_strict_error():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        below = encsim.sample_tracks(
            "uncor_1200code_v2p1", 20, 30, rng=1, start={"G": 1, "A": 4}, layers_ft=[50, 500, 1200, 3000, 5000]
        )
    assert any(issubclass(w.category, ScopeWarning) and "500-18000" in str(w.message) for w in caught)
    with pytest.warns(ScopeWarning):
        encsim.fly(below, output_hz=1.0, limits=False)
    with pytest.raises(ValueError, match="outside its documented scope"):
        encsim.fly(below, output_hz=1.0, strict=True)
    with pytest.raises(ValueError, match="outside its documented scope"):
        encsim.sample_tracks("uncor_1200code_v2p1", 20, 30, rng=1, layers_ft=[50, 500, 1200, 3000, 5000], strict=True)


def test_balloons_fly_vertically_and_skydivers_are_refused():
    balloon = encsim.sample_tracks("balloon_v1", 200, 60, rng=2)
    flown = encsim.fly(balloon, output_hz=1.0)
    assert np.all(flown.trajectories.north_ft == 0) and np.all(flown.trajectories.east_ft == 0)
    assert np.all(flown.trajectories.up_ft >= 0)
    skydiving = encsim.sample_tracks("skydiving_v1", 10, 30, rng=2)
    with pytest.raises(ValueError, match="free fall"):
        encsim.fly(skydiving)


def test_due_regard_tracks_start_on_their_sampled_heading():
    tracks = encsim.sample_tracks("dueregard_v1", 200, 30, rng=5)
    flown = encsim.fly(tracks, output_hz=1.0, limits=False)
    np.testing.assert_allclose(flown.trajectories.heading_rad[:, 0], np.radians(tracks.initial["heading_deg"]))
    assert np.ptp(tracks.initial["heading_deg"]) > 180
