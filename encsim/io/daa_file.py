"""DAIDALUS ``.daa`` encounter files, read and written as DAIDALUS v2.0.4 reads them.

Format (../shared/data/daidalus/README.md, "the .daa encounter format"):

- ``#`` starts a comment (whole line or the rest of a line). Optional ``key = value [unit]``
  parameter lines may precede the header; they are kept in `DaaFile.parameters` (text), not applied.
- Header: column names, case-insensitive, separated by any run of ``, ; space tab``. Aliases:
  name ``NAME|aircraft|id``; position ``lat|latitude`` / ``lon|long|longitude`` / ``alt|altitude``
  (geodetic) or ``sx sy sz`` (Euclidean); velocity ``trk|track gs|groundspeed|groundspd
  vs|verticalspeed|hdot`` or ``vx vy vz``; time ``time|tm|st`` or ``clock`` (HH:MM:SS).
  Extra columns: ``alerter``, ``heading``/``airspeed`` (ownship air velocity, i.e. wind), the
  8 SUM ``*_std`` columns; any other extra column is kept as text (``extra_<name>``), not applied.
- An optional units row follows the header when at least half its fields are units.
  Defaults: deg, nmi (sx, sy), ft (alt, sz), deg (trk), knot (gs, vx, vy), fpm (vs, vz), s.
- One row per aircraft per time; rows with the same time form a step; the first aircraft named in
  the file is the ownship. Times must not decrease for an aircraft.

`read_daa` returns a `DaaFile` whose ``rows`` table holds every row in encsim units (ft, ft/s,
deg, s), velocities as east/north/up components. `DaaFile.steps` gives, per time step, the ownship
and the traffic in a local Euclidean frame: Euclidean files as they are; geodetic files projected
as DAIDALUS projects them (``Projection`` default ENU): a spherical earth of radius
R = 1852 * 60 * 180 / pi m, an orthographic (tangent-plane) projection at the ownship's latitude
and longitude that ignores altitude, and velocities projected by flying 10 s along the great
circle and differencing the projected points.

vz: read as written (positive up), as DAIDALUS does. ``vz_from="altitude"`` instead derives each
aircraft's vertical rate from its altitude track (central differences of alt over time), for
recordings whose vz sign is inconsistent (../shared/data/nrc-intercepts/README.md).
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..units import (
    ARCMIN_PER_DEG,
    FPM_PER_FPS,
    FPS_PER_KT,
    FT_PER_NM,
    M_PER_FT,
    M_PER_NM,
    S_PER_HOUR,
    S_PER_MIN,
    UNIT_NAMES,
)

#: DAIDALUS's spherical earth radius: one nautical mile per arc-minute, in ft.
EARTH_RADIUS_FT = M_PER_NM * ARCMIN_PER_DEG * 180.0 / math.pi / M_PER_FT
#: seconds DAIDALUS flies a velocity along the great circle to project it.
_VELOCITY_PROJECTION_S = 10.0

_SPLIT = re.compile(r"[,; \t]+")

#: unit name (lower case) -> (quantity, factor to encsim units: ft, ft/s, deg, s, 1): the units of
#: `encsim.units.UNIT_NAMES` a .daa column can hold
UNITS = {name: entry for name, entry in UNIT_NAMES.items() if entry[0] in ("length", "speed", "angle", "time", "none")}

#: canonical column -> (aliases, quantity, default unit)
_COLUMNS = {
    "name": (("name", "aircraft", "id"), "none", "none"),
    "lat": (("lat", "latitude"), "angle", "deg"),
    "lon": (("lon", "long", "longitude"), "angle", "deg"),
    "alt": (("alt", "altitude"), "length", "ft"),
    "sx": (("sx",), "length", "nmi"),
    "sy": (("sy",), "length", "nmi"),
    "sz": (("sz",), "length", "ft"),
    "trk": (("trk", "track"), "angle", "deg"),
    "gs": (("gs", "groundspeed", "groundspd"), "speed", "knot"),
    "vs": (("vs", "verticalspeed", "hdot"), "speed", "fpm"),
    "vx": (("vx",), "speed", "knot"),
    "vy": (("vy",), "speed", "knot"),
    "vz": (("vz",), "speed", "fpm"),
    "time": (("time", "tm", "st"), "time", "s"),
    "clock": (("clock",), "none", "none"),
    "alerter": (("alerter",), "none", "none"),
    "heading": (("heading",), "angle", "deg"),
    "airspeed": (("airspeed",), "speed", "knot"),
    "s_ew_std": (("s_ew_std",), "length", "nmi"),
    "s_ns_std": (("s_ns_std",), "length", "nmi"),
    "s_en_std": (("s_en_std",), "length", "nmi"),
    "sz_std": (("sz_std",), "length", "ft"),
    "v_ew_std": (("v_ew_std",), "speed", "knot"),
    "v_ns_std": (("v_ns_std",), "speed", "knot"),
    "v_en_std": (("v_en_std",), "speed", "knot"),
    "vz_std": (("vz_std",), "speed", "fpm"),
}
_ALIAS = {alias: canon for canon, (aliases, _, _) in _COLUMNS.items() for alias in aliases}

#: the SUM std columns in .daa order, with their encsim names in `DaaFile.rows`
STD_COLUMNS = (
    ("s_ew_std", "s_ew_std_ft"),
    ("s_ns_std", "s_ns_std_ft"),
    ("s_en_std", "s_en_std_ft"),
    ("sz_std", "sz_std_ft"),
    ("v_ew_std", "v_ew_std_fps"),
    ("v_ns_std", "v_ns_std_fps"),
    ("v_en_std", "v_en_std_fps"),
    ("vz_std", "vz_std_fps"),
)
STD_FIELDS = tuple(name for _, name in STD_COLUMNS)


class DaaFileError(ValueError):
    """A .daa file that cannot be read: the message names the file, line and column."""


@dataclasses.dataclass(frozen=True)
class DaaStep:
    """One time step in a local Euclidean frame (x east, y north, z up; ft and ft/s).

    ``own``/``traffic`` state rows are (x_ft, y_ft, z_ft, vx_fps, vy_fps, vz_fps); ``*_std`` rows
    are the 8 SUM std terms in ft and ft/s; ``own_air_fps`` is the ownship air velocity (east,
    north) or nan without heading/airspeed and ``own_ground_fps`` its ground velocity, both as
    written in the file (not projected: DAIDALUS reports the ownship's direction and speed from
    them); ``wind_fps`` = ground - air (zero without wind). In ``own``/``traffic`` the velocities
    are the projected ones the detection uses.
    """

    time_s: float
    own_name: str
    own: np.ndarray
    own_std: np.ndarray
    own_air_fps: np.ndarray
    wind_fps: np.ndarray
    own_ground_fps: np.ndarray
    own_alerter: int
    traffic_names: tuple[str, ...]
    traffic: np.ndarray
    traffic_std: np.ndarray
    traffic_alerter: np.ndarray


@dataclasses.dataclass(frozen=True)
class DaaFile:
    """A read .daa file: ``rows`` (one per aircraft per time, encsim units) and how it was written."""

    source: str
    geodetic: bool
    aircraft: tuple[str, ...]
    rows: pd.DataFrame
    parameters: dict[str, str]
    has_wind: bool
    has_std: bool

    @property
    def ownship(self) -> str:
        return self.aircraft[0]

    def steps(self) -> list[DaaStep]:
        """The file's time steps, ownship and traffic in a local Euclidean frame (see module doc)."""
        return _steps(self)


def _fail(source: str, line: int | None, message: str) -> DaaFileError:
    where = f"{source}, line {line}" if line is not None else source
    return DaaFileError(f"{where}: {message}")


def _strip_comment(line: str) -> str:
    return line.split("#", 1)[0].strip()


def _is_unit_token(token: str) -> bool:
    return _unit_name(token) in UNITS


def _unit_name(token: str) -> str:
    token = token.strip()
    if token.startswith("[") and token.endswith("]"):
        token = token[1:-1]
    return token.strip().lower()


def _parse_clock(text: str) -> float:
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(text)
    return int(parts[0]) * S_PER_HOUR + int(parts[1]) * S_PER_MIN + float(parts[2])


def _read_lines(path_or_text) -> tuple[str, list[str]]:
    if isinstance(path_or_text, Path) or (isinstance(path_or_text, str) and "\n" not in path_or_text):
        path = Path(path_or_text)
        try:
            return str(path), path.read_text().splitlines()
        except OSError as err:
            raise DaaFileError(f"{path}: cannot read the .daa file ({err.strerror})") from err
    return "<text>", str(path_or_text).splitlines()


def _header_columns(source: str, line_no: int, fields: list[str]) -> list[str]:
    columns = [_ALIAS.get(f.lower(), "extra_" + f.lower()) for f in fields]
    seen = set()
    for field, col in zip(fields, columns, strict=True):
        if col in seen:
            raise _fail(source, line_no, f"column {field!r} appears twice in the header")
        seen.add(col)
    geodetic = any(c in ("lat", "lon") for c in columns)
    position = ("lat", "lon", "alt") if geodetic else ("sx", "sy", "sz")
    velocity = ("trk", "gs", "vs") if "trk" in columns else ("vx", "vy", "vz")
    required = ("name", *position, *velocity)
    missing = [c for c in required if c not in columns]
    if "time" not in columns and "clock" not in columns:
        missing.append("time")
    if missing:
        names = ", ".join(_COLUMNS[m][0][0] for m in missing)
        raise _fail(
            source,
            line_no,
            f"header lacks the column(s) {names}; expected NAME, lat lon alt (or sx sy sz), "
            "trk gs vs (or vx vy vz) and time (or clock)",
        )
    return columns


def _column_factors(source: str, line_no: int | None, columns: list[str], units: list[str] | None) -> list[float]:
    factors = []
    for i, col in enumerate(columns):
        if col.startswith("extra_"):
            factors.append(1.0)
            continue
        _, quantity, default = _COLUMNS[col]
        unit = default if units is None or i >= len(units) else _unit_name(units[i])
        if unit not in UNITS:
            raise _fail(source, line_no, f"column {col!r}: unknown unit {units[i]!r}")
        unit_quantity, factor = UNITS[unit]
        if quantity != "none" and unit_quantity != quantity:
            raise _fail(source, line_no, f"column {col!r}: unit [{unit}] is not a {quantity} unit")
        factors.append(factor)
    return factors


def read_daa(path_or_text, *, vz_from: str = "file") -> DaaFile:
    """Read a DAIDALUS .daa file (a path, or the text itself if it has a newline).

    Parameters
    ----------
    path_or_text : str or Path
        The file, or its text.
    vz_from : {"file", "altitude"}
        ``"file"`` (default): vertical rate as written, positive up (what DAIDALUS does).
        ``"altitude"``: each aircraft's vertical rate from its altitude track (central
        differences; one-sided at the ends).

    Returns
    -------
    DaaFile

    Raises
    ------
    DaaFileError
        Naming the file, the line and the column of the first problem.
    """
    if vz_from not in ("file", "altitude"):
        raise ValueError(f"vz_from must be 'file' or 'altitude', not {vz_from!r}")
    source, lines = _read_lines(path_or_text)
    parameters: dict[str, str] = {}
    columns = None
    factors = None
    records = []
    header_line = None
    pending_units_check = False
    for line_no, raw in enumerate(lines, start=1):
        text = _strip_comment(raw)
        if not text:
            continue
        if columns is None:
            if "=" in text:
                key, _, value = text.partition("=")
                parameters[key.strip()] = value.strip()
                continue
            fields = [f for f in _SPLIT.split(text) if f]
            columns = _header_columns(source, line_no, fields)
            header_line = line_no
            pending_units_check = True
            continue
        fields = [f for f in _SPLIT.split(text) if f]
        if pending_units_check:
            pending_units_check = False
            if sum(_is_unit_token(f) for f in fields) * 2 >= len(fields):
                factors = _column_factors(source, line_no, columns, fields)
                continue
            factors = _column_factors(source, header_line, columns, None)
        records.append(_parse_row(source, line_no, columns, factors, fields))
    if columns is None:
        raise _fail(source, None, "no header line (NAME lat lon alt ... or NAME sx sy sz ...) found")
    if not records:
        raise _fail(source, None, "no data rows after the header")
    return _build(source, columns, records, parameters, vz_from)


def _parse_row(source, line_no, columns, factors, fields) -> dict:
    if len(fields) < len(columns):
        raise _fail(source, line_no, f"{len(fields)} fields where the header has {len(columns)} columns")
    if len(fields) > len(columns):
        raise _fail(source, line_no, f"{len(fields)} fields but the header has only {len(columns)} columns")
    row = {}
    for col, factor, field in zip(columns, factors, fields, strict=True):
        if col == "name" or col.startswith("extra_"):
            row[col] = field
            continue
        try:
            if col == "clock":
                row["time"] = _parse_clock(field)
            elif col == "alerter":
                row[col] = int(float(field))
            else:
                row[col] = float(field) * factor
        except ValueError:
            what = "HH:MM:SS" if col == "clock" else "a number"
            raise _fail(source, line_no, f"column {col!r}: {field!r} is not {what}") from None
    row["_line"] = line_no
    return row


def _build(source, columns, records, parameters, vz_from) -> DaaFile:
    df = pd.DataFrame.from_records(records)
    geodetic = "lat" in columns or "lon" in columns
    out = pd.DataFrame({"time_s": df["time"].astype(float), "aircraft": df["name"].astype(str)})
    if geodetic:
        out["lat_deg"] = df["lat"]
        out["lon_deg"] = df["lon"]
        out["x_ft"] = np.nan
        out["y_ft"] = np.nan
        out["alt_ft"] = df["alt"]
    else:
        out["lat_deg"] = np.nan
        out["lon_deg"] = np.nan
        out["x_ft"] = df["sx"]
        out["y_ft"] = df["sy"]
        out["alt_ft"] = df["sz"]
    if "trk" in columns:
        trk = np.radians(df["trk"].to_numpy())
        out["vx_fps"] = df["gs"].to_numpy() * np.sin(trk)
        out["vy_fps"] = df["gs"].to_numpy() * np.cos(trk)
        out["vz_fps"] = df["vs"]
    else:
        out["vx_fps"] = df["vx"]
        out["vy_fps"] = df["vy"]
        out["vz_fps"] = df["vz"]
    out["alerter"] = df["alerter"].astype(int) if "alerter" in columns else 1
    has_wind = "heading" in columns and "airspeed" in columns
    if has_wind:
        out["heading_deg"] = df["heading"]
        out["airspeed_fps"] = df["airspeed"]
    else:
        out["heading_deg"] = np.nan
        out["airspeed_fps"] = np.nan
    has_std = any(col in columns for col, _ in STD_COLUMNS)
    for col, name in STD_COLUMNS:
        out[name] = df[col].astype(float) if col in columns else 0.0
    for col in columns:
        if col.startswith("extra_"):
            out[col] = df[col]
    out["line"] = df["_line"]
    aircraft = tuple(dict.fromkeys(out["aircraft"]))
    for name, group in out.groupby("aircraft", sort=False):
        t = group["time_s"].to_numpy()
        bad = np.flatnonzero(np.diff(t) < 0)
        if bad.size:
            line = int(group["line"].iloc[bad[0] + 1])
            raise _fail(source, line, f"column 'time': time goes backwards for aircraft {name!r}")
    if vz_from == "altitude":
        out["vz_fps"] = _vertical_rate_from_altitude(out)
    return DaaFile(source, geodetic, aircraft, out, parameters, has_wind, has_std)


def _vertical_rate_from_altitude(rows: pd.DataFrame) -> np.ndarray:
    rate = np.zeros(len(rows))
    for _, idx in rows.groupby("aircraft", sort=False).indices.items():
        t = rows["time_s"].to_numpy()[idx]
        z = rows["alt_ft"].to_numpy()[idx]
        if len(idx) > 1 and np.all(np.diff(t) > 0):
            rate[idx] = np.gradient(z, t)
    return rate


# --- geodetic projection (DAIDALUS's ENU projection on a sphere) -----------------------------


def _unit_sphere(lat_rad, lon_rad):
    c = np.cos(lat_rad)
    return np.stack([c * np.cos(lon_rad), c * np.sin(lon_rad), np.sin(lat_rad)], axis=-1)


def project_to_plane(lat_deg, lon_deg, lat0_deg: float, lon0_deg: float):
    """Orthographic projection of points on the sphere onto the tangent plane at (lat0, lon0): (east_ft, north_ft)."""
    p = _unit_sphere(np.radians(lat_deg), np.radians(lon_deg)) * EARTH_RADIUS_FT
    lat0, lon0 = math.radians(lat0_deg), math.radians(lon0_deg)
    east = np.array([-math.sin(lon0), math.cos(lon0), 0.0])
    north = np.array([-math.sin(lat0) * math.cos(lon0), -math.sin(lat0) * math.sin(lon0), math.cos(lat0)])
    return p @ east, p @ north


def plane_to_geodetic(east_ft, north_ft, lat0_deg: float, lon0_deg: float):
    """Inverse of `project_to_plane`: the sphere point whose orthographic projection at (lat0, lon0) is (east, north).

    Defined within one Earth radius of the tangent point (the near hemisphere). Returns (lat_deg, lon_deg).

    Examples
    --------
    >>> lat, lon = plane_to_geodetic(6076.0, -3000.0, 45.0, -75.0)
    >>> east, north = project_to_plane(lat, lon, 45.0, -75.0)
    >>> round(float(east), 6), round(float(north), 6)
    (6076.0, -3000.0)
    """
    e = np.asarray(east_ft, dtype=np.float64) / EARTH_RADIUS_FT
    n = np.asarray(north_ft, dtype=np.float64) / EARTH_RADIUS_FT
    u = np.sqrt(np.clip(1.0 - e * e - n * n, 0.0, None))
    lat0, lon0 = math.radians(lat0_deg), math.radians(lon0_deg)
    east = np.array([-math.sin(lon0), math.cos(lon0), 0.0])
    north = np.array([-math.sin(lat0) * math.cos(lon0), -math.sin(lat0) * math.sin(lon0), math.cos(lat0)])
    up = np.array([math.cos(lat0) * math.cos(lon0), math.cos(lat0) * math.sin(lon0), math.sin(lat0)])
    p = e[..., None] * east + n[..., None] * north + u[..., None] * up
    return np.degrees(np.arcsin(np.clip(p[..., 2], -1.0, 1.0))), np.degrees(np.arctan2(p[..., 1], p[..., 0]))


def plane_velocity_to_geodetic(east_ft, north_ft, vx_fps, vy_fps, lat0_deg: float, lon0_deg: float):
    """East/north velocity at each point's own latitude and longitude, for a velocity given in the tangent plane.

    The inverse of the velocity part of `project_geodetic` to first order: the point is moved
    +-0.5 s along the plane velocity, both ends are taken to the sphere, and the local east/north
    rates come from the differences of latitude and longitude. Returns (vx_fps, vy_fps).
    """
    half_s = 0.5
    east_ft, north_ft = np.asarray(east_ft, dtype=np.float64), np.asarray(north_ft, dtype=np.float64)
    vx_fps, vy_fps = np.asarray(vx_fps, dtype=np.float64), np.asarray(vy_fps, dtype=np.float64)
    lat_a, lon_a = plane_to_geodetic(east_ft - vx_fps * half_s, north_ft - vy_fps * half_s, lat0_deg, lon0_deg)
    lat_b, lon_b = plane_to_geodetic(east_ft + vx_fps * half_s, north_ft + vy_fps * half_s, lat0_deg, lon0_deg)
    lat_mid = np.radians(0.5 * (lat_a + lat_b))
    dlon = (lon_b - lon_a + 180.0) % 360.0 - 180.0
    vx = EARTH_RADIUS_FT * np.cos(lat_mid) * np.radians(dlon) / (2 * half_s)
    vy = EARTH_RADIUS_FT * np.radians(lat_b - lat_a) / (2 * half_s)
    return vx, vy


def great_circle_destination(lat_deg, lon_deg, course_rad, distance_ft):
    """Point reached from (lat, lon) along the great circle with the given initial course and distance."""
    lat1, lon1 = np.radians(lat_deg), np.radians(lon_deg)
    d = np.asarray(distance_ft) / EARTH_RADIUS_FT
    lat2 = np.arcsin(np.sin(lat1) * np.cos(d) + np.cos(lat1) * np.sin(d) * np.cos(course_rad))
    lon2 = lon1 + np.arctan2(np.sin(course_rad) * np.sin(d) * np.cos(lat1), np.cos(d) - np.sin(lat1) * np.sin(lat2))
    return np.degrees(lat2), np.degrees(lon2)


def project_geodetic(lat_deg, lon_deg, vx_fps, vy_fps, lat0_deg: float, lon0_deg: float):
    """Positions and horizontal velocities of geodetic states in the tangent plane at (lat0, lon0).

    The velocity is projected as DAIDALUS does: fly it 10 s along the great circle, project both
    points, divide the difference by 10 s. Returns (x_ft, y_ft, vx_fps, vy_fps).
    """
    x, y = project_to_plane(lat_deg, lon_deg, lat0_deg, lon0_deg)
    speed = np.hypot(vx_fps, vy_fps)
    course = np.arctan2(vx_fps, vy_fps)
    lat2, lon2 = great_circle_destination(lat_deg, lon_deg, course, speed * _VELOCITY_PROJECTION_S)
    x2, y2 = project_to_plane(lat2, lon2, lat0_deg, lon0_deg)
    return x, y, (x2 - x) / _VELOCITY_PROJECTION_S, (y2 - y) / _VELOCITY_PROJECTION_S


def _steps(daa: DaaFile) -> list[DaaStep]:
    rows = daa.rows
    own_name = daa.ownship
    fields = (
        "time_s",
        "x_ft",
        "y_ft",
        "lat_deg",
        "lon_deg",
        "alt_ft",
        "vx_fps",
        "vy_fps",
        "vz_fps",
        "heading_deg",
        "airspeed_fps",
    )
    col = {name: rows[name].to_numpy(float) for name in fields}
    names_all = rows["aircraft"].to_numpy(object)
    alerter_all = rows["alerter"].to_numpy(int)
    std = rows[list(STD_FIELDS)].to_numpy(float)
    order = np.argsort(col["time_s"], kind="stable")
    times_sorted = col["time_s"][order]
    bounds = np.flatnonzero(np.diff(times_sorted)) + 1
    steps = []
    for idx in np.split(order, bounds):
        names = names_all[idx]
        is_own = names == own_name
        if not is_own.any():
            continue  # DAIDALUS needs an ownship state to evaluate a step
        own_i = idx[np.argmax(is_own)]
        traffic_i = idx[~is_own]
        sel = np.concatenate([[own_i], traffic_i])
        own_ground = np.array([col["vx_fps"][own_i], col["vy_fps"][own_i]])
        wind = np.zeros(2)
        own_air = np.array([np.nan, np.nan])
        if daa.has_wind:
            heading = math.radians(col["heading_deg"][own_i])
            airspeed = col["airspeed_fps"][own_i]
            own_air = np.array([airspeed * math.sin(heading), airspeed * math.cos(heading)])
            wind = own_ground - own_air
        x, y, vx, vy = _local_frame(daa.geodetic, col, sel, wind)
        states = np.column_stack([x, y, col["alt_ft"][sel], vx, vy, col["vz_fps"][sel]])
        steps.append(
            DaaStep(
                time_s=float(col["time_s"][own_i]),
                own_name=own_name,
                own=states[0],
                own_std=std[own_i],
                own_air_fps=own_air,
                wind_fps=wind,
                own_ground_fps=own_ground,
                own_alerter=int(alerter_all[own_i]),
                traffic_names=tuple(names_all[traffic_i]),
                traffic=states[1:],
                traffic_std=std[traffic_i],
                traffic_alerter=alerter_all[traffic_i],
            )
        )
    return steps


def _local_frame(geodetic: bool, col: dict, sel: np.ndarray, wind: np.ndarray):
    """Positions and ground velocities in the local frame.

    Geodetic: DAIDALUS projects each aircraft's air velocity (ground velocity minus the wind, the
    wind taken from the ownship's ground and air velocity); the wind is added back unprojected,
    so relative velocities are exactly DAIDALUS's.
    """
    vx = col["vx_fps"][sel]
    vy = col["vy_fps"][sel]
    if not geodetic:
        return col["x_ft"][sel], col["y_ft"][sel], vx, vy
    lat = col["lat_deg"][sel]
    lon = col["lon_deg"][sel]
    x, y, avx, avy = project_geodetic(lat, lon, vx - wind[0], vy - wind[1], lat[0], lon[0])
    return x, y, avx + wind[0], avy + wind[1]


# --- writer ------------------------------------------------------------------------------------


def write_daa(path, rows: pd.DataFrame, *, geodetic: bool | None = None, comment: str | None = None) -> None:
    """Write rows (the `DaaFile.rows` layout) as a .daa file DAIDALUS and `read_daa` read back.

    Euclidean: ``NAME sx sy sz vx vy vz time alerter`` in nmi, ft, knot, fpm, s. Geodetic (rows
    with lat_deg/lon_deg, or ``geodetic=True``): ``NAME lat lon alt vx vy vz time alerter`` in deg,
    ft, knot, fpm. Wind (heading/airspeed) and the 8 std columns are written when present (any
    nonzero std, any non-nan heading). Numbers are written with 17 significant digits so a round
    trip is exact to the last bit.
    """
    if geodetic is None:
        geodetic = bool(rows["lat_deg"].notna().all()) if "lat_deg" in rows else False
    has_wind = "heading_deg" in rows and rows["heading_deg"].notna().any()
    has_std = all(f in rows for f in STD_FIELDS) and bool((rows[list(STD_FIELDS)].to_numpy() != 0).any())
    names = ["NAME", *(("lat", "lon", "alt") if geodetic else ("sx", "sy", "sz")), "vx", "vy", "vz"]
    units = ["[none]", *(("[deg]", "[deg]", "[ft]") if geodetic else ("[nmi]", "[nmi]", "[ft]"))]
    units += ["[knot]", "[knot]", "[fpm]"]
    if has_wind:
        names += ["heading", "airspeed"]
        units += ["[deg]", "[knot]"]
    names += ["time", "alerter"]
    units += ["[s]", "[none]"]
    if has_std:
        names += [col for col, _ in STD_COLUMNS]
        units += ["[ft]"] * 4 + ["[fpm]"] * 4
    lines = []
    if comment:
        lines += [f"# {line}" for line in comment.splitlines()]
    lines += [" ".join(names), " ".join(units)]
    for row in rows.itertuples(index=False):
        r = row._asdict()
        if any(ch in str(r["aircraft"]) for ch in ",; \t#"):
            raise ValueError(f"aircraft name {r['aircraft']!r} holds a separator or '#'")
        if geodetic:
            pos = [r["lat_deg"], r["lon_deg"], r["alt_ft"]]
        else:
            pos = [r["x_ft"] / FT_PER_NM, r["y_ft"] / FT_PER_NM, r["alt_ft"]]
        values = [*pos, r["vx_fps"] / FPS_PER_KT, r["vy_fps"] / FPS_PER_KT, r["vz_fps"] * FPM_PER_FPS]
        if has_wind:
            values += [r["heading_deg"], r["airspeed_fps"] / FPS_PER_KT]
        values += [r["time_s"]]
        fields = [str(r["aircraft"]), *(repr(float(v)) for v in values), str(int(r.get("alerter", 1)))]
        if has_std:
            fields += [repr(float(r[name])) for name in STD_FIELDS[:4]]
            fields += [repr(float(r[name]) * FPM_PER_FPS) for name in STD_FIELDS[4:]]
        lines.append(", ".join(fields))
    Path(path).write_text("\n".join(lines) + "\n")
