"""Replay a .daa encounter through encsim's DAIDALUS-exact alerting, step by step.

`replay_daa` returns one row per step per traffic aircraft with the reference CSVs' columns
(../shared/data/daidalus/reference/*.csv): identification, per-level violation intervals, the
corrective interval, geometry, and the ownship's current values; with ``bands=True`` also the
guidance band columns (`BAND_COLUMNS`, from `encsim.avoidance.daidalus.bands.band_table`, joined
by `add_band_columns`), otherwise those are left empty. `format_reference_csv` writes cells as
DAIDALUS's batch output does.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...io.daa_file import DaaFile, read_daa
from ...units import FPM_PER_FPS, FPS_PER_KT, FT_PER_NM
from . import _alerting, _detection
from .bands import band_table
from .config import load_config

#: identification, alerting, intervals and geometry columns produced here
CORE_COLUMNS = [
    "time_s",
    "ownship",
    "traffic",
    "alerter",
    "alert_level",
    "L1_t_in_s",
    "L1_t_out_s",
    "L2_t_in_s",
    "L2_t_out_s",
    "L3_t_in_s",
    "L3_t_out_s",
    "corr_t_in_s",
    "corr_t_out_s",
    "hsep_nmi",
    "vsep_ft",
    "hclosure_kt",
    "vclosure_fpm",
    "hmd_nmi",
    "vmd_ft",
    "tcpa_s",
    "dcpa_nmi",
    "tcoa_s",
    "taumod_s",
]
#: columns for the bands code (last time to maneuver, bands, resolutions; the conflict intervals
#: conflict_MID_s/conflict_NEAR_s are filled here, from detection alone)
BAND_COLUMNS = [
    "ltm_hdir_s",
    "ltm_hs_s",
    "ltm_vs_s",
    "ltm_alt_s",
    "conflict_MID_s",
    "conflict_NEAR_s",
]
OWN_COLUMNS = ["own_hdir_deg", "own_hs_kt", "own_vs_fpm", "own_alt_ft"]
_DIMENSIONS = (
    ("hdir", "deg", ("right", "left")),
    ("hs", "kt", ("up", "down")),
    ("vs", "fpm", ("up", "down")),
    ("alt", "ft", ("up", "down")),
)
for _dim, _unit, (_a, _b) in _DIMENSIONS:
    BAND_COLUMNS += [
        f"{_dim}_region",
        f"{_dim}_bands_{_unit}",
        f"{_dim}_res_{_a}_{_unit}",
        f"{_dim}_res_{_b}_{_unit}",
        f"{_dim}_pref",
        f"{_dim}_rec_time_s",
        f"{_dim}_rec_nfactor",
    ]
#: every column of the reference CSVs, in their order
ALL_COLUMNS = CORE_COLUMNS + BAND_COLUMNS[:6] + OWN_COLUMNS + BAND_COLUMNS[6:]


def _pairs(daa: DaaFile):
    """Flatten the steps: one record per (step, traffic) plus ownship-only steps (traffic = None)."""
    steps = daa.steps()
    rows = []
    for step_index, step in enumerate(steps):
        if not step.traffic_names:
            rows.append((step_index, step, -1))
        for j in range(len(step.traffic_names)):
            rows.append((step_index, step, j))
    return steps, rows


def _own_values(step) -> tuple[float, float, float, float]:
    """Ownship direction, horizontal speed (heading/airspeed with wind), vertical speed, altitude."""
    if np.all(np.isfinite(step.own_air_fps)):
        vx, vy = step.own_air_fps
    else:
        vx, vy = step.own_ground_fps
    hdir = math.degrees(math.atan2(vx, vy)) % 360.0
    if hdir >= 360.0:  # a tiny negative angle wraps to exactly 360.0
        hdir -= 360.0
    return hdir, math.hypot(vx, vy) / FPS_PER_KT, step.own[5] * FPM_PER_FPS, step.own[2]


def replay_daa(
    daa_path_or_data, config="do365b", *, vz_from: str = "file", bands: bool = False, progress=None
) -> pd.DataFrame:
    """Alert levels, violation intervals and geometry of a .daa encounter, step by step.

    Parameters
    ----------
    daa_path_or_data : str, Path or DaaFile
        The encounter (first aircraft = ownship).
    config : str, Path or DaidalusConfig
        ``do365b``, ``do365b-sum``, ``do365a``, a .conf path, or a configuration.
    vz_from : {"file", "altitude"}
        Vertical rates as written (DAIDALUS) or from the altitude track (see `read_daa`).
    bands : bool
        Also compute the guidance band columns (bands, resolutions, recovery, last time to
        manoeuvre), with the Numba orchestration of `bands.band_table`. They cost far more than
        the alerting: a few tenths of a second of CPU per hundred steps of one intruder.
    progress : callable, optional
        With ``bands``, called as ``progress(steps_done, steps_total)`` after each step of the bands.

    Returns
    -------
    pandas.DataFrame
        One row per step per traffic aircraft (one row with empty traffic fields for a step
        without traffic), columns `ALL_COLUMNS` in encsim units as their names say; numbers are
        floats (nan where the reference leaves a cell empty); band columns are empty (None)
        unless ``bands``.
    """
    cfg = load_config(config)
    daa = daa_path_or_data if isinstance(daa_path_or_data, DaaFile) else read_daa(daa_path_or_data, vz_from=vz_from)
    _, pairs = _pairs(daa)
    n = len(pairs)
    rel = np.full((n, 6), np.nan)
    own_std = np.zeros((n, 8))
    int_std = np.zeros((n, 8))
    alerter = np.zeros(n, dtype=np.int64)
    has_traffic = np.zeros(n, dtype=bool)
    for r, (_, step, j) in enumerate(pairs):
        if j < 0:
            continue
        has_traffic[r] = True
        rel[r] = step.own - step.traffic[j]
        own_std[r] = step.own_std
        int_std[r] = step.traffic_std[j]
        alerter[r] = step.traffic_alerter[j]
    levels = max(len(a.levels) for a in cfg.alerters)
    lookahead = cfg.lookahead_time_s
    t_in = np.full((n, levels), np.inf)
    t_out = np.full((n, levels), -np.inf)
    alerting = np.full((n, levels), np.nan)
    early = np.full((n, levels), np.nan)
    valid = np.zeros(n, dtype=bool)
    corrective = np.zeros(n, dtype=np.int64)
    corr_dthr = np.full(n, np.nan)
    z_scores = np.array(cfg.z_scores)
    for r in range(n):
        spec = cfg.alerter(int(alerter[r])) if has_traffic[r] else None
        if spec is None:
            continue
        valid[r] = True
        corrective[r] = spec.corrective_level(cfg.corrective_region)
        if corrective[r] > 0:
            corr_dthr[r] = spec.levels[corrective[r] - 1].dthr_ft
        s = rel[r]
        errors = None
        for k, level in enumerate(spec.levels):
            alerting[r, k] = level.alerting_time_s
            early[r, k] = level.early_alerting_time_s
            if level.sum:
                if errors is None:
                    errors = _detection.relative_sum_errors(own_std[r], int_std[r], math.hypot(s[0], s[1]), z_scores)
                t_in[r, k], t_out[r, k] = _detection.wcv_taumod_sum_interval(
                    *s, level.dthr_ft, level.zthr_ft, level.tthr_s, level.tcoa_s, 0.0, lookahead, *errors
                )
            else:
                t_in[r, k], t_out[r, k] = _detection.wcv_taumod_interval(
                    *s, level.dthr_ft, level.zthr_ft, level.tthr_s, level.tcoa_s, 0.0, lookahead
                )
    shown = np.full(n, -1, dtype=np.int64)
    names = np.array([step.traffic_names[j] if j >= 0 else "" for _, step, j in pairs], dtype=object)
    times = np.array([step.time_s for _, step, _ in pairs])
    for name in dict.fromkeys(names[has_traffic]):
        idx = np.flatnonzero(names == name)
        shown[idx], _ = _alerting.alert_levels(
            times[idx],
            t_in[idx],
            t_out[idx],
            alerting[idx],
            early[idx],
            valid[idx],
            int(cfg.alerting_m),
            int(cfg.alerting_n),
            float(cfg.hysteresis_time_s),
            float(cfg.persistence_time_s),
        )
    out = pd.DataFrame({"time_s": times, "ownship": [daa.ownship] * n, "traffic": names})
    out["alerter"] = np.where(has_traffic, alerter, -1)
    out["alert_level"] = shown
    conflict = np.vectorize(_detection._almost_less, otypes=[bool])(t_in, t_out) if n else np.zeros((0, levels), bool)
    for k in range(3):
        if k < levels:
            ok = conflict[:, k] & valid
            out[f"L{k + 1}_t_in_s"] = np.where(ok, t_in[:, k], np.nan)
            out[f"L{k + 1}_t_out_s"] = np.where(ok, t_out[:, k], np.nan)
        else:
            out[f"L{k + 1}_t_in_s"] = np.nan
            out[f"L{k + 1}_t_out_s"] = np.nan
    rows = np.arange(n)
    corr_k = np.clip(corrective - 1, 0, levels - 1)
    corr_ok = valid & (corrective > 0) & conflict[rows, corr_k] if n else np.zeros(0, bool)
    out["corr_t_in_s"] = np.where(corr_ok, t_in[rows, corr_k], np.nan)
    out["corr_t_out_s"] = np.where(corr_ok, t_out[rows, corr_k], np.nan)
    geometry = relative_geometry(rel, lookahead, corr_dthr)
    for column, values in geometry.items():
        out[column] = np.where(has_traffic, values, np.nan)
    for column in BAND_COLUMNS:
        out[column] = None
    for region, column in (("MID", "conflict_MID_s"), ("NEAR", "conflict_NEAR_s")):
        out[column] = _conflict_interval_column(cfg, pairs, alerter, valid, t_in, t_out, conflict, region)
    own = np.array([_own_values(step) for _, step, _ in pairs]).reshape(n, 4)
    for c, column in enumerate(OWN_COLUMNS):
        out[column] = own[:, c]
    out.loc[~has_traffic, ["traffic", "alerter", "alert_level"]] = None
    out = out[ALL_COLUMNS]
    if bands:
        out = add_band_columns(out, band_table(daa, cfg, out["alert_level"].to_numpy(), progress=progress))
    return out


def _conflict_interval_column(cfg, pairs, alerter, valid, t_in, t_out, conflict, region) -> list:
    """`timeIntervalOfConflict(region)` per step: the hull of the region-level intervals of all traffic.

    For each traffic aircraft, the level of its alerter whose region is ``region``; its interval over
    the lookahead counts when it is a conflict. Written ``lo:hi`` on every row of the step; None
    when no aircraft conflicts.
    """
    per_step: dict[int, tuple[float, float]] = {}
    for r, (step_index, _, j) in enumerate(pairs):
        if j < 0 or not valid[r]:
            continue
        spec = cfg.alerter(int(alerter[r]))
        level = next((k for k, lv in enumerate(spec.levels) if lv.region == region), None)
        if level is None or not conflict[r, level]:
            continue
        lo, hi = per_step.get(step_index, (math.inf, -math.inf))
        per_step[step_index] = (min(lo, t_in[r, level]), max(hi, t_out[r, level]))
    cells = []
    for step_index, _, _ in pairs:
        hull = per_step.get(step_index)
        cells.append(None if hull is None else f"{format_number(hull[0])}:{format_number(hull[1])}")
    return cells


def relative_geometry(rel: np.ndarray, lookahead_s: float, taumod_dthr_ft: np.ndarray) -> dict[str, np.ndarray]:
    """DAIDALUS's traffic metrics from relative states (s, v = own - intruder; ft, ft/s).

    hsep/vsep: current separations; hclosure: |v_h| (relative horizontal speed, kt); vclosure:
    |v_z| (fpm); hmd: range at min(tcpa, lookahead) if closing, else now; vmd: 0 if co-altitude is
    reached within the lookahead, |dz + T vz| if converging but later, else |dz|; tcpa:
    max(0, tcpa); dcpa: range at that time; tcoa: -dz/vz (nan unless >= 0, nan when vz = 0);
    taumod: (DTHR^2 - r^2)/(s.v) with the corrective DTHR when closing (nan otherwise).
    """
    sx, sy, sz, vx, vy, vz = (rel[:, i] for i in range(6))
    with np.errstate(divide="ignore", invalid="ignore"):
        vv = vx * vx + vy * vy
        sdotv = sx * vx + sy * vy
        tcpa_raw = np.where(vv > 0, -sdotv / vv, 0.0)
        tcpa = np.maximum(0.0, tcpa_raw)
        t_hmd = np.where(sdotv < 0, np.minimum(tcpa_raw, lookahead_s), 0.0)
        hmd = np.hypot(sx + t_hmd * vx, sy + t_hmd * vy)
        dcpa = np.hypot(sx + tcpa * vx, sy + tcpa * vy)
        tcoa = np.where(vz == 0, np.nan, -sz / vz)
        converging = sz * vz < 0
        vmd = np.where(converging, np.where(tcoa <= lookahead_s, 0.0, np.abs(sz + lookahead_s * vz)), np.abs(sz))
        taumod = np.where(sdotv < 0, (taumod_dthr_ft**2 - (sx * sx + sy * sy)) / sdotv, -1.0)
    return {
        "hsep_nmi": np.hypot(sx, sy) / FT_PER_NM,
        "vsep_ft": np.abs(sz),
        "hclosure_kt": np.sqrt(vv) / FPS_PER_KT,
        "vclosure_fpm": np.abs(vz) * FPM_PER_FPS,
        "hmd_nmi": hmd / FT_PER_NM,
        "vmd_ft": vmd,
        "tcpa_s": tcpa,
        "dcpa_nmi": dcpa / FT_PER_NM,
        "tcoa_s": np.where(tcoa >= 0, tcoa, np.nan),
        "taumod_s": np.where(taumod >= 0, taumod, np.nan),
    }


def add_band_columns(table: pd.DataFrame, bands: pd.DataFrame) -> pd.DataFrame:
    """Fill the band columns of a `replay_daa` table from a table with the same rows (hook for the bands code)."""
    missing = [c for c in bands.columns if c not in BAND_COLUMNS]
    if missing:
        raise ValueError(f"not band columns: {missing}")
    if len(bands) != len(table):
        raise ValueError(f"{len(bands)} band rows for {len(table)} replay rows")
    out = table.copy()
    for column in bands.columns:
        out[column] = bands[column].to_numpy()
    return out


def format_number(value, nan_text: str = "") -> str:
    """A cell as DAIDALUS prints it: 6 decimals, trailing zeros dropped; empty for None, `nan_text` for nan."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    x = float(value)
    if math.isnan(x):
        return nan_text
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


#: columns whose missing numbers DAIDALUS spells ``nan`` on every row (resolutions, recovery times)
NAN_SPELLED_COLUMNS = frozenset(
    f"{dim}_{what}"
    for dim, unit, sides in _DIMENSIONS
    for what in (*(f"res_{side}_{unit}" for side in sides), "rec_time_s")
)
#: columns spelled ``nan`` on rows with a traffic aircraft and left empty on rows without one
NAN_SPELLED_WITH_TRAFFIC = frozenset(f"ltm_{dim}_s" for dim, _, _ in _DIMENSIONS)


def format_reference_csv(table: pd.DataFrame) -> str:
    """The table as CSV text with the reference files' cell formats.

    A missing number is an empty cell, except where DAIDALUS prints ``nan``: resolutions and
    recovery times always, last times to manoeuvre on rows with traffic. Cells never computed (None,
    e.g. band columns of a replay without bands) stay empty.
    """
    lines = [",".join(ALL_COLUMNS)]
    int_columns = {"alerter", "alert_level"}
    for row in table[ALL_COLUMNS].itertuples(index=False):
        cells = []
        has_traffic = _present(row[ALL_COLUMNS.index("traffic")])
        for column, value in zip(ALL_COLUMNS, row, strict=True):
            if column in int_columns and _present(value):
                cells.append(str(int(value)))
            elif column in NAN_SPELLED_COLUMNS or (has_traffic and column in NAN_SPELLED_WITH_TRAFFIC):
                cells.append(format_number(value, nan_text="nan"))
            else:
                cells.append(format_number(value))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value != ""


def alert_timeline(table: pd.DataFrame) -> dict[str, str]:
    """Per traffic aircraft, its alert level changes as ``level@time`` (the first step included)."""
    timelines = {}
    rows = table[table["traffic"].notna()]
    for traffic, group in rows.groupby("traffic", sort=False):
        levels = group["alert_level"].astype(int).to_numpy()
        times = group["time_s"].to_numpy()
        changes = [0] + [i for i in range(1, len(levels)) if levels[i] != levels[i - 1]]
        timelines[traffic] = " ".join(f"{levels[i]}@{format_number(times[i])}" for i in changes)
    return timelines
