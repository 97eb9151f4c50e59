"""Geodetic export: `encsim sample --fly --anchor` stores latitude/longitude/altitude next to the
local trajectories, `encsim plot` draws them, and a bad anchor gets a clear error."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from encsim.cli import main
from encsim.io.geodetic import enu_to_geodetic, geodetic_to_enu, parse_anchor
from encsim.io.tracks_file import read_geodetic, read_trajectories

ANCHOR = (42.36, -71.01, 20.0)
ARGS = [
    "sample",
    "uncor_1200only_fwse_v1p2",
    "-n",
    "12",
    "--duration",
    "30",
    "--seed",
    "3",
    "--start",
    "G=1,A=4",
    "--fly",
    "--output-hz",
    "1",
    "--chunk-size",
    "5",
    "--quiet",
]


@pytest.fixture(scope="module")
def anchored(tmp_path_factory):
    out = tmp_path_factory.mktemp("geo") / "anchored.h5"
    result = CliRunner().invoke(main, [*ARGS, "--anchor", ",".join(map(str, ANCHOR)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "placed at 42.36, -71.01" in result.output
    return out


def test_anchored_file_holds_geodetic_trajectories_that_agree_with_the_local_ones(anchored, tmp_path):
    local = read_trajectories(anchored)
    with h5py.File(anchored, "r") as f:
        assert json.loads(f.attrs["anchor"]) == {"lat_deg": 42.36, "lon_deg": -71.01, "ground_alt_ft": 20.0}
        assert json.loads(f.attrs["arguments"])["anchor"] == "42.36,-71.01,20.0"
        group = f["trajectories"]
        assert group["lat_deg"].dtype == np.float64 and group["lon_deg"].dtype == np.float64
        assert group["alt_ft_wgs84"].dtype == np.float32
        assert group["lat_deg"].shape == local.up_ft.shape == (12, 31)
    anchor, placed = read_geodetic(anchored)
    assert anchor == parse_anchor("42.36,-71.01,20")
    lat, lon, alt = enu_to_geodetic(local.east_ft, local.north_ft, local.up_ft, *ANCHOR)
    np.testing.assert_array_equal(placed["lat_deg"], lat)  # computed from the stored (float32) local positions
    np.testing.assert_array_equal(placed["lon_deg"], lon)
    np.testing.assert_allclose(placed["alt_ft_wgs84"], alt, rtol=1e-6)  # float32
    # every track starts at the anchor, at its altitude above the anchor's ground
    np.testing.assert_allclose(placed["lat_deg"][:, 0], ANCHOR[0], atol=1e-12)
    np.testing.assert_allclose(placed["lon_deg"][:, 0], ANCHOR[1], atol=1e-12)
    np.testing.assert_allclose(placed["alt_ft_wgs84"][:, 0], local.up_ft[:, 0] + ANCHOR[2], rtol=1e-6)
    # and back to the local frame within 0.01 ft (float32 altitude)
    east, north, up = geodetic_to_enu(placed["lat_deg"], placed["lon_deg"], placed["alt_ft_wgs84"], *ANCHOR)
    for original, recovered in ((local.east_ft, east), (local.north_ft, north), (local.up_ft, up)):
        assert np.max(np.abs(original - recovered)) < 0.01
    # the anchor changes nothing else: the local trajectories equal those of a run without it
    plain = tmp_path / "plain.h5"
    assert CliRunner().invoke(main, [*ARGS, "-o", str(plain)]).exit_code == 0
    assert read_geodetic(plain) is None
    np.testing.assert_array_equal(read_trajectories(plain).north_ft, local.north_ft)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("95,-71,20", "latitude 95.0 deg is outside [-90, 90]"),
        ("42,-200,20", "longitude -200.0 deg is outside [-180, 360]"),
        ("42.36,-71.01", "got 2 comma-separated values, expected LAT,LON,GROUND_FT"),
        ("north,-71,20", "latitude 'north' is not a number; expected LAT,LON,GROUND_FT"),
        ("42,-71,inf", "ground altitude inf ft is not finite"),
    ],
)
def test_bad_anchor_is_a_clear_usage_error(tmp_path, value, expected):
    out = tmp_path / "bad.h5"
    result = CliRunner().invoke(main, [*ARGS, "--anchor", value, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--anchor'" in result.output
    assert repr(value) in result.output and expected in result.output
    assert not out.exists() and not list(out.parent.glob("bad.h5*.partial"))


def test_anchor_without_fly_is_refused(tmp_path):
    args = [a for a in ARGS if a != "--fly"]
    result = CliRunner().invoke(main, [*args, "--anchor", "42,-71,20", "-o", str(tmp_path / "x.h5")])
    assert result.exit_code == 2 and "Invalid value for '--anchor'" in result.output and "add --fly" in result.output


def test_plot_uses_longitude_latitude_axes_when_the_file_has_them(anchored, tmp_path, monkeypatch):
    import matplotlib.figure

    labels = []
    save = matplotlib.figure.Figure.savefig

    def recording(self, *args, **kwargs):
        labels.append((self.axes[0].get_xlabel(), self.axes[0].get_ylabel(), self.axes[1].get_ylabel()))
        return save(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", recording)
    runner = CliRunner()
    for extra in ([], ["--geodetic"], ["--local"]):
        png = tmp_path / f"p{len(labels)}.png"
        result = runner.invoke(main, ["plot", str(anchored), "--count", "3", "-o", str(png), *extra])
        assert result.exit_code == 0, result.output
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    geodetic = ("longitude (deg)", "latitude (deg)", "altitude (ft above WGS-84)")
    assert labels == [geodetic, geodetic, ("east (NM)", "north (NM)", "altitude (ft AGL)")]
    plain = tmp_path / "plain.h5"
    assert runner.invoke(main, [*ARGS, "-o", str(plain)]).exit_code == 0
    refused = runner.invoke(main, ["plot", str(plain), "--geodetic", "-o", str(tmp_path / "q.png")])
    assert refused.exit_code == 2 and "no geodetic trajectories" in refused.output and "--anchor" in refused.output
