"""Geodetic placement of tracks: local east/north/up (ft) <-> WGS-84 latitude, longitude, height.

A track's north/east are relative to where it starts and its ``up_ft`` is the altitude above
ground level; placing it at an anchor (latitude, longitude, ground altitude MSL) treats the local
tangent plane at the anchor as the ground (flat terrain), which is what the encounter models
assume. The conversion is PROJ's topocentric transformation on the WGS-84 ellipsoid (ellipsoidal
heights; no geoid model is applied: the anchor's ground altitude is used as its height above the
ellipsoid, so an MSL ground altitude gives altitudes off by the local geoid separation).

`parse_anchor` reads the ``LAT,LON,GROUND_FT`` text of the CLI's ``--anchor``; tracks files written
with an anchor hold ``trajectories/{lat_deg,lon_deg,alt_ft_wgs84}`` (`GEODETIC_FIELDS`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyproj import Transformer

from ..units import M_PER_FT

#: geodetic datasets of a tracks file, next to the local north_ft/east_ft/up_ft
GEODETIC_FIELDS = ("lat_deg", "lon_deg", "alt_ft_wgs84")
ANCHOR_FORMAT = "LAT,LON,GROUND_FT (degrees north, degrees east, ft), e.g. 42.36,-71.01,20"


@lru_cache(maxsize=64)
def _topocentric(lat0_deg: float, lon0_deg: float, h0_m: float) -> Transformer:
    """geodetic (lon, lat, h) -> topocentric (east, north, up), metres, at the given origin."""
    pipeline = (
        "+proj=pipeline +step +proj=axisswap +order=2,1 +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        "+step +proj=cart +ellps=WGS84 "
        f"+step +proj=topocentric +ellps=WGS84 +lat_0={lat0_deg!r} +lon_0={lon0_deg!r} +h_0={h0_m!r}"
    )
    return Transformer.from_pipeline(pipeline)


def _check_anchor(lat0_deg: float, lon0_deg: float) -> None:
    if not -90.0 <= lat0_deg <= 90.0:  # also refuses NaN
        raise ValueError(f"anchor latitude {lat0_deg} deg is outside [-90, 90]")
    if not -180.0 <= lon0_deg <= 360.0:
        raise ValueError(f"anchor longitude {lon0_deg} deg is outside [-180, 360]")


def enu_to_geodetic(east_ft, north_ft, up_ft, lat0_deg: float, lon0_deg: float, ground_alt_ft_msl: float = 0.0):
    """Local east/north/up (ft, up above the anchor's ground) -> (lat_deg, lon_deg, alt_ft) on WGS-84.

    Examples
    --------
    One nautical mile east of Boston Logan: 1/60 deg / cos(42.36 deg) of longitude, and 0.9 ft higher
    above the ellipsoid than the anchor's tangent plane (d^2 / 2R: the Earth curves away).

    >>> lat, lon, alt = enu_to_geodetic(6076.1, 0.0, 1000.0, 42.36, -71.01)
    >>> round(float(lat), 4), round(float(lon), 4), round(float(alt), 1)
    (42.36, -70.9875, 1000.9)
    """
    _check_anchor(lat0_deg, lon0_deg)
    transformer = _topocentric(float(lat0_deg), float(lon0_deg), float(ground_alt_ft_msl) * M_PER_FT)
    east_m, north_m, up_m = (np.asarray(v, dtype=np.float64) * M_PER_FT for v in (east_ft, north_ft, up_ft))
    lat, lon, h_m = transformer.transform(east_m, north_m, up_m, direction="INVERSE")
    return np.asarray(lat), np.asarray(lon), np.asarray(h_m) / M_PER_FT


def geodetic_to_enu(lat_deg, lon_deg, alt_ft, lat0_deg: float, lon0_deg: float, ground_alt_ft_msl: float = 0.0):
    """WGS-84 (lat_deg, lon_deg, alt_ft) -> local (east_ft, north_ft, up_ft) at the anchor."""
    _check_anchor(lat0_deg, lon0_deg)
    transformer = _topocentric(float(lat0_deg), float(lon0_deg), float(ground_alt_ft_msl) * M_PER_FT)
    east_m, north_m, up_m = transformer.transform(
        np.asarray(lat_deg, dtype=np.float64),
        np.asarray(lon_deg, dtype=np.float64),
        np.asarray(alt_ft, dtype=np.float64) * M_PER_FT,
    )
    return np.asarray(east_m) / M_PER_FT, np.asarray(north_m) / M_PER_FT, np.asarray(up_m) / M_PER_FT


def place_trajectories(
    trajectories, lat0_deg: float, lon0_deg: float, ground_alt_ft_msl: float = 0.0
) -> dict[str, np.ndarray]:
    """Latitude, longitude and altitude (ft above the ellipsoid) of every recorded sample.

    Every track starts at the anchor's horizontal position; ``up_ft`` is taken above the anchor's
    ground (the tangent plane at the anchor). Returns arrays shaped like the trajectories: ``lat_deg``,
    ``lon_deg``, ``alt_ft``.
    """
    lat, lon, alt = enu_to_geodetic(
        trajectories.east_ft, trajectories.north_ft, trajectories.up_ft, lat0_deg, lon0_deg, ground_alt_ft_msl
    )
    return {"lat_deg": lat, "lon_deg": lon, "alt_ft": alt}


def parse_anchor(text: str) -> dict[str, float]:
    """``"LAT,LON,GROUND_FT"`` -> ``{"lat_deg", "lon_deg", "ground_alt_ft"}``, checked.

    Raises ValueError saying what is wrong and what is expected (latitude in [-90, 90], longitude
    in [-180, 360], finite ground altitude).

    Examples
    --------
    >>> parse_anchor("42.36, -71.01, 20")
    {'lat_deg': 42.36, 'lon_deg': -71.01, 'ground_alt_ft': 20.0}
    """
    parts = [part.strip() for part in str(text).split(",")]
    if len(parts) != 3:
        raise ValueError(
            f"got {len(parts)} comma-separated value{'s' if len(parts) != 1 else ''}, expected {ANCHOR_FORMAT}"
        )
    values = []
    for name, part in zip(("latitude", "longitude", "ground altitude"), parts):
        try:
            values.append(float(part))
        except ValueError:
            raise ValueError(f"{name} {part!r} is not a number; expected {ANCHOR_FORMAT}") from None
    lat, lon, ground = values
    _check_anchor(lat, lon)
    if not np.isfinite(ground):
        raise ValueError(f"ground altitude {ground} ft is not finite; expected {ANCHOR_FORMAT}")
    return {"lat_deg": lat, "lon_deg": lon, "ground_alt_ft": ground}


def geodetic_fields(trajectories, anchor: dict) -> dict[str, np.ndarray]:
    """`GEODETIC_FIELDS` of flown trajectories placed at ``anchor`` (as from `parse_anchor`)."""
    placed = place_trajectories(trajectories, anchor["lat_deg"], anchor["lon_deg"], anchor["ground_alt_ft"])
    return {"lat_deg": placed["lat_deg"], "lon_deg": placed["lon_deg"], "alt_ft_wgs84": placed["alt_ft"]}
