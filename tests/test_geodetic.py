"""Geodetic placement: round trip to a millimetre, and agreement with an independent ECEF rotation."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from encsim.io.geodetic import enu_to_geodetic, geodetic_to_enu, place_trajectories
from encsim.units import M_PER_FT


def ecef_enu_reference(lat_deg, lon_deg, alt_ft, lat0, lon0, h0_ft):
    """ENU by hand: WGS-84 geodetic -> ECEF with pyproj's EPSG:4979 -> EPSG:4978, then the rotation."""
    to_ecef = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    x, y, z = to_ecef.transform(lon_deg, lat_deg, np.asarray(alt_ft) * M_PER_FT)
    x0, y0, z0 = to_ecef.transform(lon0, lat0, h0_ft * M_PER_FT)
    phi, lam = np.radians(lat0), np.radians(lon0)
    dx, dy, dz = x - x0, y - y0, z - z0
    east = -np.sin(lam) * dx + np.cos(lam) * dy
    north = -np.sin(phi) * np.cos(lam) * dx - np.sin(phi) * np.sin(lam) * dy + np.cos(phi) * dz
    up = np.cos(phi) * np.cos(lam) * dx + np.cos(phi) * np.sin(lam) * dy + np.sin(phi) * dz
    return east / M_PER_FT, north / M_PER_FT, up / M_PER_FT


@pytest.mark.parametrize(
    "anchor", [(42.36, -71.01, 20.0), (-33.9, 151.2, 3000.0), (64.8, -147.7, 450.0), (0.0, 179.9, 0.0)]
)
def test_round_trip_to_a_millimetre(anchor):
    rng = np.random.default_rng(1)
    east, north = rng.uniform(-120_000, 120_000, (2, 500))
    up = rng.uniform(0, 18_000, 500)
    lat, lon, alt = enu_to_geodetic(east, north, up, *anchor)
    back = geodetic_to_enu(lat, lon, alt, *anchor)
    millimetre_ft = 0.001 / M_PER_FT
    for original, recovered in zip((east, north, up), back):
        assert np.max(np.abs(original - recovered)) < millimetre_ft
    reference = ecef_enu_reference(lat, lon, alt, *anchor)
    for original, independent in zip((east, north, up), reference):
        assert np.max(np.abs(original - independent)) < millimetre_ft


def test_known_values():
    lat, lon, alt = enu_to_geodetic([0.0, 0.0], [0.0, 6076.115], [0.0, 0.0], 45.0, 10.0, 100.0)
    assert lat[0] == pytest.approx(45.0, abs=1e-12) and lon[0] == pytest.approx(10.0, abs=1e-12)
    assert alt[0] == pytest.approx(100.0, abs=1e-6)
    # one nautical mile north is about one arc minute of latitude (within the ellipsoid's 0.5 %)
    assert (lat[1] - 45.0) * 60 == pytest.approx(1.0, rel=5e-3)
    with pytest.raises(ValueError, match="latitude 95"):
        enu_to_geodetic([0.0], [0.0], [0.0], 95.0, 0.0)


def test_place_trajectories_keeps_the_shape():
    class Flown:
        east_ft = np.zeros((2, 3))
        north_ft = np.array([[0.0, 100.0, 200.0], [0.0, -100.0, -200.0]])
        up_ft = np.full((2, 3), 1000.0)

    placed = place_trajectories(Flown(), 40.0, -100.0, 5000.0)
    assert placed["lat_deg"].shape == (2, 3)
    assert placed["lat_deg"][0, 2] > 40.0 > placed["lat_deg"][1, 2]
    assert placed["alt_ft"][0, 0] == pytest.approx(6000.0, abs=1e-6)
