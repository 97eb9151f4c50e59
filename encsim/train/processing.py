"""Track processing: raw surveillance reports -> 1-s states with the encounter-model variables.

The steps follow MIT Lincoln Laboratory's published OpenSky processing (the em-processing-opensky
repository, https://github.com/Airspace-Encounter-Models/em-processing-opensky, v1.1, and A.
Weinert, N. Underhill, B. Gill, A. Wicks, "Processing of Crowdsourced Observations of Aircraft in a
High Performance Computing Environment", IEEE HPEC 2020, arXiv:2008.00861), implemented here from
their description (not from their code), in this order:

1. ``duplicates``: reports repeating a (track, time) pair are dropped (the first is kept).
2. ``split_gaps``: a track is cut where two reports are more than ``gap_s`` (20 s) apart; each
   piece is a *segment*, the unit of every later step.
3. ``short_segments``: segments with fewer than ``min_points`` (10) reports are dropped.
4. ``altitude_outliers``: a report whose altitude is more than ``outlier_mad`` (1.5) scaled median
   absolute deviations (1.4826 MAD) from the median of a centred moving window of
   ``outlier_window`` reports is dropped. encsim's addition, stated because a level track has
   MAD = 0: the deviation must also exceed ``outlier_floor_ft`` (100 ft), so the 25-ft steps of
   ADS-B altitude quantisation are never outliers.
5. ``smooth``: east, north and altitude are smoothed by a Gaussian moving average in time
   (standard deviation ``smooth_sigma_s`` for position, ``smooth_alt_sigma_s`` for altitude,
   truncated at 3 sigma and at the segment's ends, weights renormalised).
6. ``interpolate``: linear interpolation onto the whole seconds inside each segment.
7. ``derive``: ground speed (the airspeed when no wind is known), longitudinal acceleration,
   vertical rate, heading and turn rate, by central differences (one-sided at the ends).
8. ``trim_ends``: the first and last ``trim_s`` (2) seconds of each segment are dropped: their
   rates come from one-sided differences (speed and heading at the end second are those of the
   half-second inside, so acceleration and turn rate there are about halved). encsim's addition.
9. ``type_outliers``: 1-s states outside the aircraft type's limits (`TypeLimits`) are dropped.
10. ``altitude_layer``: the altitude layer AGL (1-based) from the layer edges; states outside the
   edges are out of the model's scope and dropped (only when edges are given).

Every step is counted (segments and rows after it, rows removed) in a `ProcessingReport`.
Everything is vectorised over all segments at once; `process_tracks` works through the table in
chunks of whole tracks so that memory stays bounded.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import units
from . import _kernels

#: WGS-84 semi-major axis (m) and first eccentricity squared
_WGS84_A_M = 6378137.0
_WGS84_E2 = 6.69437999014e-3
#: the MAD of a normal sample times this estimates its standard deviation (MATLAB's "scaled MAD")
SCALED_MAD_FACTOR = 1.4826
#: columns that are numbers to interpolate; anything else is carried as a label (previous report)
_INTERPOLATED = ("east_ft", "north_ft", "alt_agl_ft")
_STRUCTURAL = ("track_id", "time_s", "lat_deg", "lon_deg", "east_ft", "north_ft", "alt_agl_ft", "alt_msl_ft")


@dataclass(frozen=True)
class TypeLimits:
    """Largest plausible 1-s states of an aircraft type; states beyond them are dropped as outliers."""

    max_speed_kt: float
    max_abs_vdot_kt_s: float
    max_abs_hdot_fpm: float
    max_abs_psidot_deg_s: float


#: encsim's presets (our choice, stated in docs/train.md): well beyond what each type flies at low
#: altitude, so that only measurement faults are removed
TYPE_LIMITS = {
    "rotorcraft": TypeLimits(
        max_speed_kt=200.0, max_abs_vdot_kt_s=6.0, max_abs_hdot_fpm=5000.0, max_abs_psidot_deg_s=30.0
    ),
    "fixed-wing": TypeLimits(
        max_speed_kt=350.0, max_abs_vdot_kt_s=10.0, max_abs_hdot_fpm=8000.0, max_abs_psidot_deg_s=20.0
    ),
}


@dataclass(frozen=True)
class ProcessingOptions:
    """Parameters of `process_tracks` (defaults as in the OpenSky processing, see the module docstring)."""

    gap_s: float = 20.0
    min_points: int = 10
    outlier_mad: float = 1.5
    outlier_window: int = 11
    outlier_floor_ft: float = 100.0
    smooth_sigma_s: float = 2.0
    smooth_alt_sigma_s: float = 3.0
    trim_s: int = 2
    limits: TypeLimits | str | None = "fixed-wing"

    def type_limits(self) -> TypeLimits | None:
        if self.limits is None or isinstance(self.limits, TypeLimits):
            return self.limits
        if self.limits not in TYPE_LIMITS:
            raise ValueError(f"unknown aircraft type limits {self.limits!r}; known: {sorted(TYPE_LIMITS)}")
        return TYPE_LIMITS[self.limits]


@dataclass
class ProcessingReport:
    """Counts of every processing step: segments and rows after it, rows removed, a note."""

    steps: list[dict] = field(default_factory=list)

    def record(self, step: str, segments: int, rows: int, removed: int, note: str = "", **counts: int) -> None:
        """One step's counts; ``note`` may name ``counts`` as ``{name}`` (they add up across chunks)."""
        self.steps.append(
            {"step": step, "segments": segments, "rows": rows, "removed_rows": removed, "note": note, "counts": counts}
        )

    def to_frame(self) -> pd.DataFrame:
        rows = [{**s, "note": s["note"].format(**s["counts"])} for s in self.steps]
        return pd.DataFrame(rows, columns=["step", "segments", "rows", "removed_rows", "note"])

    def merge(self, other: ProcessingReport) -> ProcessingReport:
        """Counts of two chunks added step by step (the same steps in the same order)."""
        if not self.steps:
            return ProcessingReport([{**s, "counts": dict(s["counts"])} for s in other.steps])
        merged = []
        for mine, theirs in zip(self.steps, other.steps, strict=True):
            row = dict(mine)
            for key in ("segments", "rows", "removed_rows"):
                row[key] = mine[key] + theirs[key]
            row["counts"] = {k: v + theirs["counts"].get(k, 0) for k, v in mine["counts"].items()}
            merged.append(row)
        return ProcessingReport(merged)

    def removed(self, step: str) -> int:
        return int(sum(s["removed_rows"] for s in self.steps if s["step"] == step))


@dataclass
class ProcessedTracks:
    """1-s states (`frame`) and the counts of every step (`report`)."""

    frame: pd.DataFrame
    report: ProcessingReport


# ------------------------------------------------------------------------------------ helpers


def local_east_north_ft(track_codes: np.ndarray, lat_deg: np.ndarray, lon_deg: np.ndarray):
    """East and north (ft) of each report relative to its track's first report.

    Integrated step by step with the WGS-84 radii of curvature at each step's mid-latitude, so
    that distances between consecutive reports (all that speeds and headings need) are exact to
    second order however long the track.
    """
    n = lat_deg.shape[0]
    east = np.zeros(n)
    north = np.zeros(n)
    if n < 2:
        return east, north
    lat = np.radians(lat_deg)
    lat_mid = 0.5 * (lat[1:] + lat[:-1])
    sin2 = np.sin(lat_mid) ** 2
    meridional = _WGS84_A_M * (1 - _WGS84_E2) / (1 - _WGS84_E2 * sin2) ** 1.5
    prime_vertical = _WGS84_A_M / np.sqrt(1 - _WGS84_E2 * sin2)
    dlon = np.radians((lon_deg[1:] - lon_deg[:-1] + 180.0) % 360.0 - 180.0)
    step_east = dlon * prime_vertical * np.cos(lat_mid) / units.M_PER_FT
    step_north = (lat[1:] - lat[:-1]) * meridional / units.M_PER_FT
    same = track_codes[1:] == track_codes[:-1]
    step_east[~same] = 0.0
    step_north[~same] = 0.0
    east[1:] = np.cumsum(step_east)
    north[1:] = np.cumsum(step_north)
    starts = np.flatnonzero(np.r_[True, ~same])
    counts = np.diff(np.r_[starts, n])
    east -= np.repeat(east[starts], counts)
    north -= np.repeat(north[starts], counts)
    return east, north


def _shifted(values: np.ndarray, segment: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """values[i + shift] and whether that row is in the same segment as row i."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    valid = np.zeros(n, dtype=bool)
    if shift >= 0:
        if shift < n:
            out[: n - shift] = values[shift:]
            valid[: n - shift] = segment[shift:] == segment[: n - shift]
    elif -shift < n:
        out[-shift:] = values[:shift]
        valid[-shift:] = segment[:shift] == segment[-shift:]
    return out, valid


def _rooms(segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the same segment before and after each row."""
    n = segment.shape[0]
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    lengths = np.diff(np.r_[starts, n])
    before = np.arange(n) - np.repeat(starts, lengths)
    return before, np.repeat(lengths, lengths) - 1 - before


def moving_median_mad(values: np.ndarray, segment: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Centred moving median and scaled MAD over ``window`` rows, truncated at segment ends."""
    before, after = _rooms(segment)
    median, mad = _kernels.moving_median_mad(np.ascontiguousarray(values, dtype=np.float64), before, after, window // 2)
    return median, SCALED_MAD_FACTOR * mad


def _room(segment: np.ndarray) -> np.ndarray:
    """Rows available on both sides of each row inside its segment (min of the two)."""
    before, after = _rooms(segment)
    return np.minimum(before, after)


def gaussian_smooth(values: np.ndarray, time_s: np.ndarray, segment: np.ndarray, sigma_s: float) -> np.ndarray:
    """Gaussian moving average in time (sigma ``sigma_s``), truncated at 3 sigma.

    Near a segment's ends the window shrinks symmetrically (as many rows on each side), so that
    a straight-line trend (constant speed or vertical rate) is kept exactly up to the ends.
    """
    if sigma_s <= 0:
        return values.copy()
    steps = np.diff(time_s)
    same = segment[1:] == segment[:-1]
    typical = np.median(steps[same]) if same.any() else 1.0
    half = max(1, int(np.ceil(3.0 * sigma_s / max(typical, 1e-9))))
    return _kernels.gaussian_smooth(
        np.ascontiguousarray(values, dtype=np.float64),
        np.ascontiguousarray(time_s, dtype=np.float64),
        _room(segment),
        float(sigma_s),
        half,
    )


def central_difference(values: np.ndarray, segment: np.ndarray, *, wrap_deg: bool = False) -> np.ndarray:
    """d(values)/dt at 1 s, central inside a segment, one-sided at its ends (nan for a 1-row segment)."""
    after, has_after = _shifted(values, segment, 1)
    before, has_before = _shifted(values, segment, -1)
    after = np.where(has_after, after, values)
    before = np.where(has_before, before, values)
    span = has_after.astype(float) + has_before.astype(float)
    delta = after - before
    if wrap_deg:
        delta = (delta + 180.0) % 360.0 - 180.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(span > 0, delta / span, np.nan)


def _segments(frame: pd.DataFrame) -> np.ndarray:
    return frame["segment"].to_numpy()


def _count(frame: pd.DataFrame) -> tuple[int, int]:
    return int(frame["segment"].nunique()), len(frame)


# ------------------------------------------------------------------------------------ steps


def _drop_duplicates(frame: pd.DataFrame, report: ProcessingReport) -> pd.DataFrame:
    track = frame["track_code"].to_numpy()
    time = frame["time_s"].to_numpy()
    repeat = np.r_[False, (track[1:] == track[:-1]) & (time[1:] == time[:-1])]
    frame = frame[~repeat]
    report.record(
        "duplicates", int(frame["track_code"].nunique()), len(frame), int(repeat.sum()), "same track and time"
    )
    return frame


def _split_gaps(frame: pd.DataFrame, gap_s: float, report: ProcessingReport) -> pd.DataFrame:
    track = frame["track_code"].to_numpy()
    time = frame["time_s"].to_numpy()
    new = np.r_[True, (track[1:] != track[:-1]) | (np.diff(time) > gap_s)]
    frame = frame.assign(segment=np.cumsum(new) - 1)
    gaps = int(new.sum()) - int(frame["track_code"].nunique())
    report.record("split_gaps", *_count(frame), 0, "{gaps} gaps > " + f"{gap_s:g} s", gaps=gaps)
    return frame


def _drop_short(frame: pd.DataFrame, min_points: int, report: ProcessingReport, step: str) -> pd.DataFrame:
    sizes = frame.groupby("segment", sort=False)["segment"].transform("size").to_numpy()
    keep = sizes >= min_points
    frame = frame[keep]
    report.record(step, *_count(frame), int((~keep).sum()), f"segments with < {min_points} points")
    return frame


def _altitude_outliers(frame: pd.DataFrame, options: ProcessingOptions, report: ProcessingReport) -> pd.DataFrame:
    alt = frame["alt_agl_ft"].to_numpy()
    median, scaled_mad = moving_median_mad(alt, _segments(frame), options.outlier_window)
    deviation = np.abs(alt - median)
    outlier = (deviation > options.outlier_mad * scaled_mad) & (deviation > options.outlier_floor_ft)
    frame = frame[~outlier]
    note = (
        f"> {options.outlier_mad:g} scaled MAD (window {options.outlier_window}) and > {options.outlier_floor_ft:g} ft"
    )
    report.record("altitude_outliers", *_count(frame), int(outlier.sum()), note)
    return frame


def _smooth(frame: pd.DataFrame, options: ProcessingOptions, report: ProcessingReport) -> pd.DataFrame:
    segment, time = _segments(frame), frame["time_s"].to_numpy()
    frame = frame.assign(
        east_ft=gaussian_smooth(frame["east_ft"].to_numpy(), time, segment, options.smooth_sigma_s),
        north_ft=gaussian_smooth(frame["north_ft"].to_numpy(), time, segment, options.smooth_sigma_s),
        alt_agl_ft=gaussian_smooth(frame["alt_agl_ft"].to_numpy(), time, segment, options.smooth_alt_sigma_s),
    )
    note = f"Gaussian, sigma {options.smooth_sigma_s:g} s (position), {options.smooth_alt_sigma_s:g} s (altitude)"
    report.record("smooth", *_count(frame), 0, note)
    return frame


def interpolate_to_seconds(frame: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Linear interpolation of east, north and altitude onto the whole seconds inside each segment.

    Label columns take the value of the last report at or before each second.
    """
    segment = _segments(frame)
    time = frame["time_s"].to_numpy()
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    ends = np.r_[starts[1:], segment.shape[0]] - 1
    first_s = np.ceil(time[starts])
    last_s = np.floor(time[ends])
    lengths = np.maximum(last_s - first_s + 1, 0).astype(np.int64)
    which = np.repeat(np.arange(starts.shape[0]), lengths)
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    grid = np.repeat(first_s, lengths) + (np.arange(lengths.sum()) - np.repeat(offsets, lengths))
    # one global interpolation: each segment is moved onto its own stretch of an increasing axis
    spread = (np.max(time) - np.min(time) + 10.0) if time.size else 1.0
    seg_rank = np.repeat(np.arange(starts.shape[0]), ends - starts + 1)
    axis = time + seg_rank * spread
    target = grid + which * spread
    out = {"segment": segment[starts][which], "time_s": grid.astype(np.int64)}
    for column in _INTERPOLATED:
        out[column] = np.interp(target, axis, frame[column].to_numpy())
    previous = np.searchsorted(axis, target, side="right") - 1
    for column in ["track_id", *labels]:
        out[column] = frame[column].to_numpy()[previous]
    return pd.DataFrame(out)


def _derive(frame: pd.DataFrame, report: ProcessingReport) -> pd.DataFrame:
    segment = _segments(frame)
    east_fps = central_difference(frame["east_ft"].to_numpy(), segment)
    north_fps = central_difference(frame["north_ft"].to_numpy(), segment)
    speed_kt = units.fps_to_kt(np.hypot(east_fps, north_fps))
    heading_deg = np.degrees(np.arctan2(east_fps, north_fps)) % 360.0
    frame = frame.assign(
        speed_kt=speed_kt,
        heading_deg=heading_deg,
        vdot_kt_s=central_difference(speed_kt, segment),
        hdot_fpm=central_difference(frame["alt_agl_ft"].to_numpy(), segment) * units.FPM_PER_FPS,
        psidot_deg_s=central_difference(heading_deg, segment, wrap_deg=True),
    )
    bad = ~np.isfinite(frame[["speed_kt", "vdot_kt_s", "hdot_fpm", "psidot_deg_s"]].to_numpy()).all(axis=1)
    frame = frame[~bad]
    report.record("derive", *_count(frame), int(bad.sum()), "speed (ground speed, no wind), vdot, hdot, psidot")
    return frame


def _trim_ends(frame: pd.DataFrame, trim_s: int, report: ProcessingReport) -> pd.DataFrame:
    inside = _room(_segments(frame)) >= trim_s
    frame = frame[inside]
    report.record("trim_ends", *_count(frame), int((~inside).sum()), f"first and last {trim_s} s of each segment")
    return frame


def _type_outliers(frame: pd.DataFrame, limits: TypeLimits | None, report: ProcessingReport) -> pd.DataFrame:
    if limits is None:
        report.record("type_outliers", *_count(frame), 0, "no limits")
        return frame
    checks = {
        "speed": frame["speed_kt"].to_numpy() > limits.max_speed_kt,
        "vdot": np.abs(frame["vdot_kt_s"].to_numpy()) > limits.max_abs_vdot_kt_s,
        "hdot": np.abs(frame["hdot_fpm"].to_numpy()) > limits.max_abs_hdot_fpm,
        "psidot": np.abs(frame["psidot_deg_s"].to_numpy()) > limits.max_abs_psidot_deg_s,
    }
    outlier = np.logical_or.reduce(list(checks.values()))
    frame = frame[~outlier]
    note = ", ".join(f"{name} {{{name}}}" for name in checks)
    counts = {name: int(mask.sum()) for name, mask in checks.items()}
    report.record("type_outliers", *_count(frame), int(outlier.sum()), note, **counts)
    return frame


def _altitude_layer(frame: pd.DataFrame, layer_edges_ft, report: ProcessingReport) -> pd.DataFrame:
    if layer_edges_ft is None:
        return frame
    edges = np.asarray(layer_edges_ft, dtype=np.float64)
    alt = frame["alt_agl_ft"].to_numpy()
    layer = np.searchsorted(edges, alt, side="right")  # 1-based; the top edge belongs to the top layer
    layer[alt == edges[-1]] = edges.shape[0] - 1
    inside = (alt >= edges[0]) & (alt <= edges[-1])
    frame = frame.assign(layer=layer)[inside]
    below, above = int((alt < edges[0]).sum()), int((alt > edges[-1]).sum())
    note = f"outside {edges[0]:g}-{edges[-1]:g} ft AGL: " + "{below} below, {above} above"
    report.record("altitude_layer", *_count(frame), int((~inside).sum()), note, below=below, above=above)
    return frame


# ------------------------------------------------------------------------------------ public


def process_chunk(
    table: pd.DataFrame, options: ProcessingOptions, layer_edges_ft=None
) -> tuple[pd.DataFrame, ProcessingReport]:
    """Process a validated table of whole tracks (see `encsim.train.read_tracks`) in one go."""
    report = ProcessingReport()
    labels = [c for c in table.columns if c not in _STRUCTURAL and c != "timestamp"]
    frame = table.assign(track_code=pd.factorize(table["track_id"])[0])
    if "east_ft" not in frame.columns:
        east, north = local_east_north_ft(
            frame["track_code"].to_numpy(), frame["lat_deg"].to_numpy(), frame["lon_deg"].to_numpy()
        )
        frame = frame.assign(east_ft=east, north_ft=north)
    report.record("input", int(frame["track_code"].nunique()), len(frame), 0, "tracks and reports read")
    frame = _drop_duplicates(frame, report)
    frame = _split_gaps(frame, options.gap_s, report)
    frame = _drop_short(frame, options.min_points, report, "short_segments")
    frame = _altitude_outliers(frame, options, report)
    frame = _smooth(frame, options, report)
    before = len(frame)
    frame = interpolate_to_seconds(frame, labels)
    report.record("interpolate", *_count(frame), 0, "1-s grid from {reports} reports", reports=before)
    frame = _derive(frame, report)
    frame = _trim_ends(frame, options.trim_s, report)
    frame = _type_outliers(frame, options.type_limits(), report)
    frame = _altitude_layer(frame, layer_edges_ft, report)
    return frame.reset_index(drop=True), report


def process_tracks(
    table: pd.DataFrame,
    options: ProcessingOptions | None = None,
    *,
    layer_edges_ft=None,
    chunk_rows: int = 2_000_000,
) -> ProcessedTracks:
    """Process a validated track table into 1-s states, chunk by chunk of whole tracks.

    Parameters
    ----------
    table : DataFrame
        From `encsim.train.read_tracks` (sorted by track and time).
    options : ProcessingOptions, optional
        Step parameters (defaults: the OpenSky processing's).
    layer_edges_ft : sequence of float, optional
        Altitude layer edges (ft AGL); states outside them are dropped and ``layer`` is added.
    chunk_rows : int
        About how many input rows one chunk holds (whole tracks; bounds memory).

    Returns
    -------
    ProcessedTracks
        ``frame``: one row per second with ``segment`` (unique over the table), ``track_id``,
        ``time_s``, ``east_ft``, ``north_ft``, ``alt_agl_ft``, ``speed_kt``, ``heading_deg``,
        ``vdot_kt_s``, ``hdot_fpm``, ``psidot_deg_s``, any label columns and ``layer``.
        ``report``: the counts of every step.
    """
    options = options or ProcessingOptions()
    codes = pd.factorize(table["track_id"])[0]
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    cut_at = [0]
    for start in bounds:
        if start - cut_at[-1] >= chunk_rows:
            cut_at.append(int(start))
    cut_at.append(len(table))
    frames, report, segment_base = [], ProcessingReport(), 0
    for lo, hi in itertools.pairwise(cut_at):
        frame, chunk_report = process_chunk(table.iloc[lo:hi], options, layer_edges_ft)
        frame["segment"] += segment_base
        segment_base = int(frame["segment"].max()) + 1 if len(frame) else segment_base
        frames.append(frame)
        report = report.merge(chunk_report)
    return ProcessedTracks(pd.concat(frames, ignore_index=True), report)
