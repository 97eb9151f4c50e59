"""Track tables in: reading, column mapping and validation.

A track table has one row per surveillance report and these columns (canonical names; other
names are mapped with ``columns={"track_id": "icao24", ...}``):

=================  ==========================================================================
``track_id``       any hashable id; rows of one id form one track (split later on time gaps)
``time_s``         seconds (numbers), or ``timestamp`` (datetimes, or ms since the epoch)
position           ``lat_deg`` and ``lon_deg`` (WGS-84), or ``east_ft`` and ``north_ft`` (local)
altitude           ``alt_agl_ft``; or ``alt_msl_ft`` with a ``ground_ft`` column (ground elevation
                   MSL) or with a constant ``ground_ft=`` given by the user
``aircraft_class`` optional, a label per row (``keep_class=`` selects rows)
``airspace_class`` optional, the 1-based airspace bin (the model's ``A``); any variable of the
                   ``--like`` model without a derivation (``G``, ``A``) may also be a column
                   named after it, or a constant (``fixed={"G": 1}``)
=================  ==========================================================================

Sources: a pandas DataFrame, a ``.csv``/``.csv.gz`` file, a ``.json``/``.json.gz`` list of records
(the format of ``traffic``'s sample flights), a ``.parquet`` file when pyarrow is installed, or a
``traffic.core.Traffic``/``Flight`` object (anything with a DataFrame ``.data``; ``traffic`` itself
is an optional extra, never imported here). ``traffic``'s column names (``icao24``, ``timestamp``,
``latitude``, ``longitude``, ``altitude``) are recognised without a mapping.

Bad tables are refused with :class:`TrackTableError`, naming the column, the first bad row (its
position in the table as read, 0-based, and its track id) and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

#: traffic's / OpenSky's column names -> canonical names, used when the canonical one is absent
TRAFFIC_ALIASES = {
    "track_id": ("flight_id", "icao24"),
    "lat_deg": ("latitude",),
    "lon_deg": ("longitude",),
    "alt_msl_ft": ("altitude",),
}
NUMERIC_COLUMNS = ("time_s", "lat_deg", "lon_deg", "east_ft", "north_ft", "alt_agl_ft", "alt_msl_ft", "ground_ft")


class TrackTableError(ValueError):
    """A track table that cannot be used: the source, column, row and what was expected."""


def _read_source(source, what: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    data = getattr(source, "data", None)
    if isinstance(data, pd.DataFrame):  # traffic.core.Traffic / Flight, duck-typed
        return data.copy()
    if not isinstance(source, (str, os.PathLike)):
        raise TrackTableError(
            f"{what}: expected a DataFrame, a file path or a traffic object, got {type(source).__name__}"
        )
    path = Path(source)
    if not path.is_file():
        raise TrackTableError(f"{what}: no such file")
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise TrackTableError(
                f"{what}: reading Parquet needs pyarrow, which is not installed "
                "(pip install 'encsim[parquet]' or pyarrow), or convert the table to CSV"
            ) from None
        return pd.read_parquet(path)
    if name.endswith((".csv", ".csv.gz")):
        return pd.read_csv(path)
    if name.endswith((".json", ".json.gz")):
        return pd.read_json(path)
    raise TrackTableError(f"{what}: unknown table format; expected .csv, .csv.gz, .json, .json.gz or .parquet")


def _rename(frame: pd.DataFrame, columns: dict | None, what: str) -> pd.DataFrame:
    columns = dict(columns or {})
    missing = {canonical: given for canonical, given in columns.items() if given not in frame.columns}
    if missing:
        canonical, given = next(iter(missing.items()))
        raise TrackTableError(
            f"{what}: column {given!r} (mapped to {canonical!r}) is not in the table; it has {list(frame.columns)}"
        )
    frame = frame.rename(columns={given: canonical for canonical, given in columns.items()})
    for canonical, aliases in TRAFFIC_ALIASES.items():
        if canonical not in frame.columns:
            found = next((alias for alias in aliases if alias in frame.columns), None)
            if found is not None:
                frame = frame.rename(columns={found: canonical})
    if "time_s" not in frame.columns and "timestamp" in frame.columns:
        frame["time_s"] = _seconds(frame["timestamp"], what)
    return frame


def _seconds(stamps: pd.Series, what: str) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(stamps):
        values = stamps.astype("datetime64[ns]").astype("int64").to_numpy() / 1e9
        values[stamps.isna().to_numpy()] = np.nan
        return values
    if pd.api.types.is_numeric_dtype(stamps):
        return stamps.to_numpy(dtype=np.float64) / 1000.0  # traffic/OpenSky: ms since the epoch
    try:
        parsed = pd.to_datetime(stamps, utc=True)
    except (ValueError, TypeError):
        bad = _first_unparsable(stamps)
        raise TrackTableError(
            f"{what}: column 'timestamp', row {bad}: {stamps.iloc[bad]!r} is not a date-time"
        ) from None
    return parsed.astype("int64").to_numpy() / 1e9


def _first_unparsable(stamps: pd.Series) -> int:
    for position, value in enumerate(stamps):
        try:
            pd.Timestamp(value)
        except (ValueError, TypeError):
            return position
    return 0


def _refuse_row(frame: pd.DataFrame, what: str, column: str, position: int, expected: str) -> TrackTableError:
    track = frame["track_id"].iloc[position] if "track_id" in frame.columns else "?"
    value = frame[column].iloc[position]
    return TrackTableError(f"{what}: column {column!r}, row {position} (track {track}): {value!r}; expected {expected}")


def _check_numeric(frame: pd.DataFrame, column: str, what: str, low=-np.inf, high=np.inf) -> None:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < low) | (values > high)
    if bad.any():
        span = "a finite number" if np.isinf(low) and np.isinf(high) else f"a number in [{low:g}, {high:g}]"
        raise _refuse_row(frame, what, column, int(np.flatnonzero(bad)[0]), span)
    frame[column] = values


def read_tracks(
    source,
    *,
    columns: dict | None = None,
    ground_ft: float | None = None,
    keep_class: str | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """Read and validate a track table (see the module docstring for the columns).

    Parameters
    ----------
    source : DataFrame, path or traffic object
        The table.
    columns : dict, optional
        Canonical name -> the table's column name, e.g. ``{"track_id": "callsign"}``.
    ground_ft : float, optional
        Constant ground elevation (ft MSL) when altitudes are MSL and no ``ground_ft`` column exists.
    keep_class : str, optional
        Keep only the rows whose ``aircraft_class`` equals this label.
    name : str, optional
        Name used in error messages (default: the path, or "track table").

    Returns
    -------
    pandas.DataFrame
        Canonical columns ``track_id``, ``time_s``, positions, ``alt_agl_ft`` and any class or
        categorical columns, sorted by track and time.

    Raises
    ------
    TrackTableError
        Naming the column, the row and what was expected.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame(
    ...     {"track_id": [1, 1], "time_s": [0, 1], "east_ft": [0, 100], "north_ft": [0, 0], "alt_agl_ft": [1000, 1000]}
    ... )
    >>> read_tracks(table)["alt_agl_ft"].tolist()
    [1000.0, 1000.0]
    """
    what = name or (str(source) if isinstance(source, (str, os.PathLike)) else "track table")
    frame = _rename(_read_source(source, what), columns, what)
    frame = frame.reset_index(drop=True)
    for column in ("track_id", "time_s"):
        if column not in frame.columns:
            hint = " (or 'timestamp')" if column == "time_s" else ""
            raise TrackTableError(f"{what}: no column {column!r}{hint}; the table has {list(frame.columns)}")
    if frame["track_id"].isna().any():
        raise _refuse_row(frame, what, "track_id", int(np.flatnonzero(frame["track_id"].isna().to_numpy())[0]), "an id")
    _check_numeric(frame, "time_s", what)
    _check_positions(frame, what)
    _altitude_agl(frame, what, ground_ft)
    if keep_class is not None:
        if "aircraft_class" not in frame.columns:
            raise TrackTableError(f"{what}: keep_class={keep_class!r} needs an 'aircraft_class' column")
        frame = frame[frame["aircraft_class"].astype(str) == str(keep_class)]
    frame = frame.sort_values(["track_id", "time_s"], kind="stable").reset_index(drop=True)
    return frame


def _check_positions(frame: pd.DataFrame, what: str) -> None:
    if {"lat_deg", "lon_deg"} <= set(frame.columns):
        _check_numeric(frame, "lat_deg", what, -90.0, 90.0)
        _check_numeric(frame, "lon_deg", what, -180.0, 180.0)
    elif {"east_ft", "north_ft"} <= set(frame.columns):
        _check_numeric(frame, "east_ft", what)
        _check_numeric(frame, "north_ft", what)
    else:
        raise TrackTableError(
            f"{what}: no position columns: expected 'lat_deg' and 'lon_deg' (or 'latitude'/'longitude'), "
            f"or 'east_ft' and 'north_ft'; the table has {list(frame.columns)}"
        )


def _altitude_agl(frame: pd.DataFrame, what: str, ground_ft: float | None) -> None:
    if "alt_agl_ft" in frame.columns:
        _check_numeric(frame, "alt_agl_ft", what)
        return
    if "alt_msl_ft" not in frame.columns:
        raise TrackTableError(
            f"{what}: no altitude: expected 'alt_agl_ft', or 'alt_msl_ft' (or 'altitude') with a 'ground_ft' "
            f"column or a constant ground elevation; the table has {list(frame.columns)}"
        )
    _check_numeric(frame, "alt_msl_ft", what)
    if "ground_ft" in frame.columns:
        _check_numeric(frame, "ground_ft", what)
        ground = frame["ground_ft"].to_numpy()
    elif ground_ft is not None:
        if not np.isfinite(ground_ft):
            raise TrackTableError(f"{what}: ground elevation {ground_ft!r} ft is not a finite number")
        ground = float(ground_ft)
    else:
        raise TrackTableError(
            f"{what}: altitudes are MSL ('alt_msl_ft') but no ground elevation is given: add a 'ground_ft' "
            "column or pass a constant ground elevation (ground_ft=, --ground-ft)"
        )
    frame["alt_agl_ft"] = frame["alt_msl_ft"].to_numpy() - ground
