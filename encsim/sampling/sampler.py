"""Public DBN sampling: `sample_tracks` (initial network + transitions) and `sample_initial`.

Semantics (mitll-reference section 2, decisions.md section 3):

- initial network by ancestral sampling in topological order, with optional presets (1-based
  bins; a variable may be preset only when all its parents are preset);
- one transition per second, the parent configuration recomputed every second from the current
  state (never the fixed-initial-column shortcut), drawn event by event (see `_kernels`);
- within-bin resampling: T Bernoulli trials per variable at seconds 1..T at the file's rates;
- de-discretisation uniform in the bin, exactly 0 in a zero bin;
- the initial state is redrawn unless airspeed (kt) x 1.68781 > |vertical rate (ft/min)| / 60;
- an empty transition column (all counts zero) rejects and redraws the whole track by default
  (``empty_column="reject"``); ``"hold"`` keeps the variable's bin for that second; ``"bin1"``
  reproduces the reference's silent bin 1, for compatibility only. Every rejection is counted.

Randomness: track ``k`` draws only from the Philox stream keyed by (seed, k), sub-stream 0,
attempt 0 (decisions.md section 4), so it is the same whether drawn alone, in one call or in chunks.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import units
from ..bayes import EncounterModel, load_model
from ..bayes.model import ROLE_UNITS
from ..commands import CommandSchedule, InitialStates
from ..random import seed_to_uint64
from . import _kernels
from ._tables import EMPTY_COLUMN_POLICIES, SamplerTables, build_sampler_tables

#: rows of the command buffer kept in memory at once (tracks x seconds), about 100 MB
_BUFFER_TRACK_SECONDS = 2_500_000


class SamplingError(RuntimeError):
    """A sampling request that cannot be met (e.g. a track rejected 1,000 times in a row)."""


class ScopeWarning(UserWarning):
    """A model used outside its documented altitude scope."""


def check_scope(model: EncounterModel, layer_edges: np.ndarray, *, strict: bool = False) -> None:
    """Warn (or, with ``strict``, raise) when the altitude layers leave the model's documented scope.

    E.g. a radar-era 1200-code model (trained at or above 500 ft AGL) used below 500 ft AGL.
    """
    if model.entry is None or layer_edges.shape[0] == 0:
        return
    lo, hi = model.entry.altitude_scope_ft
    if layer_edges[0] < lo - 1e-9 or layer_edges[-1] > hi + 1e-9:
        message = (
            f"model {model.name} is used from {layer_edges[0]:g} to {layer_edges[-1]:g} ft "
            f"{model.entry.altitude_reference}, outside its documented scope {lo:g}-{hi:g} ft; "
            "its authors advise against it"
        )
        if strict:
            raise ValueError(message)
        warnings.warn(message, ScopeWarning, stacklevel=4)


def _as_model(model) -> EncounterModel:
    return model if isinstance(model, EncounterModel) else load_model(model)


def _refusal(model: EncounterModel, capability: str) -> str | None:
    entry = model.entry
    if entry is None:
        return None
    allowed = getattr(entry, capability, True)
    if allowed in (True, "yes"):
        return None
    reason = getattr(entry, "refusal", "") or "not supported for this model"
    return f"model {model.name}: {capability.replace('_', ' ')} refused: {reason}"


def column_name(model: EncounterModel, i: int) -> str:
    """DataFrame column of variable i's de-discretised value (units in the name)."""
    role = next((r for r, idx in model.roles.items() if idx == i), None)
    if role in ROLE_UNITS:
        return ROLE_UNITS[role][1]
    label = model.labels[i].replace("\\", "").replace(" ", "_")
    return label


def bin_column_name(model: EncounterModel, i: int) -> str:
    """DataFrame column of a categorical variable's 1-based bin: its role (G, A, L) or label."""
    role = next((r for r, idx in model.roles.items() if idx == i), None)
    if role is not None:
        return role
    return model.labels[i].replace("\\", "").replace(" ", "_")


def preset_mapping(start: Mapping | str | None) -> dict:
    """Presets as a dict ``{name: 1-based bin}`` from a mapping or the CLI form ``"G=1,A=4"``."""
    if start is None:
        return {}
    if not isinstance(start, str):
        return dict(start)
    pairs = {}
    for item in filter(None, (part.strip() for part in start.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not value.strip().lstrip("-").isdigit():
            raise ValueError(f"preset {item!r}: expected NAME=BIN with a 1-based integer bin, e.g. G=1,A=4")
        pairs[name.strip()] = int(value)
    return pairs


def parse_presets(model: EncounterModel, start: Mapping | str | None) -> np.ndarray:
    """1-based presets -> 0-based array (-1 = not preset), checked against the model.

    Accepts a mapping ``{"G": 1, "A": 4}`` or the CLI form ``"G=1,A=4"``.
    """
    presets = np.full(model.n_variables, -1, dtype=np.int64)
    start = preset_mapping(start)
    bins0 = model._given_to_bins0(start)
    for i, b in bins0.items():
        presets[i] = b
    for i in bins0:
        free_parents = [model.labels[p] for p in model.parents(i) if int(p) not in bins0]
        if free_parents:
            raise ValueError(
                f"model {model.name}: cannot preset {model.labels[i]} without presetting its parents "
                f"{free_parents} (a preset is allowed only when all its parents are preset)"
            )
    _check_preset_probability(model, bins0)
    return presets


def _check_preset_probability(model: EncounterModel, bins0: dict[int, int]) -> None:
    """Refuse presets of probability 0, or that leave a free variable an empty column."""
    shown = ", ".join(f"{model.labels[i]}={b + 1}" for i, b in sorted(bins0.items()))
    for i in model.initial_order:
        parents = [int(p) for p in model.parents(i)]
        if not all(p in bins0 for p in parents):
            continue
        table = model.initial.tables[i]
        column = table[:, model.column_index(model.initial, i, bins0)]
        if i in bins0:
            if column[bins0[i]] <= 0:
                raise ValueError(f"preset {shown} has probability 0 in {model.name}")
        elif column.sum() <= 0:
            raise ValueError(
                f"preset {shown} has probability 0 in {model.name} (the {model.labels[i]} column for it is empty)"
            )


@dataclass(frozen=True)
class TrackSample:
    """Tracks sampled from a DBN encounter model.

    Attributes
    ----------
    initial : pandas.DataFrame
        One row per track: ``track_id``, 1-based categorical bins (``G``, ``A``, ``L`` where the
        model has them), ``alt_ft`` (uniform in the layer), and the de-discretised initial values
        with units in their names (``speed_kt``, ``vdot_kt_s``, ``hdot_fpm``, ``psidot_deg_s``,
        ``heading_deg`` where the model has them).
    schedule : CommandSchedule
        The commands the dynamics consume (ft/s, rad/s, ft/s^2), rows at whole seconds.
    schedule_bins : ndarray (n_rows, 3) int8
        1-based bins of (hdot, psidot, vdot) at each schedule row (0 where the model lacks one).
    bin_changes : pandas.DataFrame
        Per track, DBN bin changes of each dynamic variable.
    resamples : pandas.DataFrame
        Per track, within-bin resample events of each initial variable (the reference's count:
        T Bernoulli trials per variable, including superseded and last-second ones).
    rejections : dict
        Counts of redrawn tracks by reason.
    layer_edges_ft : ndarray
        The altitude layer table the initial altitudes were drawn from (ft).
    stream_end : ndarray (n_tracks,) uint64
        Where each track's random stream stopped (its next draw index): `redraw_tracks`
        continues there to replace a track rejected downstream (e.g. by the dynamics' limits).
    """

    model_name: str
    model_sha256: str
    seed: int
    first_id: int
    duration_s: int
    presets: dict
    empty_column: str
    initial: pd.DataFrame
    schedule: CommandSchedule
    schedule_bins: np.ndarray
    bin_changes: pd.DataFrame
    resamples: pd.DataFrame
    rejections: dict = field(default_factory=dict)
    stream_end: np.ndarray | None = None
    layer_edges_ft: np.ndarray | None = None

    @property
    def n_tracks(self) -> int:
        return len(self.initial)

    def take(self, positions) -> TrackSample:
        """The tracks at ``positions`` (in that order), as a new sample."""
        positions = np.asarray(positions, dtype=np.int64)
        offsets = self.schedule.offsets
        counts = offsets[positions + 1] - offsets[positions]
        rows = np.repeat(offsets[positions] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(
            counts.sum()
        )
        new_offsets = np.zeros(positions.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=new_offsets[1:])
        schedule = CommandSchedule.trusted(
            new_offsets,
            self.schedule.t_s[rows],
            self.schedule.hdot_fps[rows],
            self.schedule.psidot_rad_s[rows],
            self.schedule.vdot_fps2[rows],
        )
        return dataclasses.replace(
            self,
            first_id=int(self.initial["track_id"].iloc[positions[0]]) if positions.shape[0] else self.first_id,
            initial=self.initial.iloc[positions].reset_index(drop=True),
            schedule=schedule,
            schedule_bins=self.schedule_bins[rows],
            bin_changes=self.bin_changes.iloc[positions].reset_index(drop=True),
            resamples=self.resamples.iloc[positions].reset_index(drop=True),
            stream_end=None if self.stream_end is None else self.stream_end[positions],
        )

    @staticmethod
    def concatenate(parts: list[TrackSample]) -> TrackSample:
        """Tracks of several samples of the same model, seed and duration, one after the other.

        Rejection counts add up.
        """
        first = parts[0]
        offsets = [np.zeros(1, dtype=np.int64)]
        shift = 0
        for part in parts:
            offsets.append(part.schedule.offsets[1:] + shift)
            shift += int(part.schedule.offsets[-1])
        schedule = CommandSchedule.trusted(
            np.concatenate(offsets),
            *(
                np.concatenate([getattr(p.schedule, name) for p in parts])
                for name in ("t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2")
            ),
        )
        rejections = {key: sum(p.rejections.get(key, 0) for p in parts) for key in first.rejections}
        return dataclasses.replace(
            first,
            initial=pd.concat([p.initial for p in parts], ignore_index=True),
            schedule=schedule,
            schedule_bins=np.concatenate([p.schedule_bins for p in parts]),
            bin_changes=pd.concat([p.bin_changes for p in parts], ignore_index=True),
            resamples=pd.concat([p.resamples for p in parts], ignore_index=True),
            rejections=rejections,
            stream_end=None if first.stream_end is None else np.concatenate([p.stream_end for p in parts]),
        )

    def commands_per_second(self) -> dict[str, np.ndarray]:
        """Commanded values during each second, arrays (n_tracks, duration_s), model units.

        Keys: ``hdot_fpm``, ``psidot_deg_s``, ``vdot_kt_s``. Column k is second k (k = 0..T-1).
        """
        schedule = self.schedule
        n, T = self.n_tracks, self.duration_s
        seconds = np.rint(schedule.t_s).astype(np.int64)
        out = {}
        scale = {
            "hdot_fpm": 1.0 / units.FPS_PER_FPM,
            "psidot_deg_s": 1.0 / units.RAD_PER_DEG,
            "vdot_kt_s": 1.0 / units.FPS_PER_KT,
        }
        track_of_row = np.repeat(np.arange(n), np.diff(schedule.offsets))
        ends = np.empty_like(seconds)
        ends[:-1] = seconds[1:]
        ends[schedule.offsets[1:] - 1] = T
        for name, values in (
            ("hdot_fpm", schedule.hdot_fps),
            ("psidot_deg_s", schedule.psidot_rad_s),
            ("vdot_kt_s", schedule.vdot_fps2),
        ):
            grid = np.empty((n, T), dtype=np.float64)
            for track, start, end, value in zip(track_of_row, seconds, ends, values * scale[name]):
                grid[track, start:end] = value
            out[name] = grid
        return out

    def bins_per_second(self) -> np.ndarray:
        """1-based (hdot, psidot, vdot) bins during each second, (n_tracks, duration_s, 3) int8 (0 if absent)."""
        schedule = self.schedule
        n, T = self.n_tracks, self.duration_s
        seconds = np.rint(schedule.t_s).astype(np.int64)
        ends = np.empty_like(seconds)
        ends[:-1] = seconds[1:]
        ends[schedule.offsets[1:] - 1] = T
        track_of_row = np.repeat(np.arange(n), np.diff(schedule.offsets))
        grid = np.zeros((n, T, 3), dtype=np.int8)
        for track, start, end, bins in zip(track_of_row, seconds, ends, self.schedule_bins):
            grid[track, start:end] = bins
        return grid

    def initial_states(self) -> InitialStates:
        """Initial point-mass states for the dynamics (mitll-reference 3.4).

        Pitch from the initial vertical rate, bank from the initial turn rate; heading from the
        model's heading variable where it has one (due regard), else 0; position at the origin.
        """
        frame = self.initial
        n = len(frame)
        has_speed = "speed_kt" in frame
        speed_fps = units.kt_to_fps(frame["speed_kt"].to_numpy()) if has_speed else np.zeros(n)
        # without an airspeed the start pitch is level, whatever the vertical rate
        hdot_fps = self.schedule.hdot_fps[self.schedule.offsets[:-1]] if has_speed else 0.0
        return InitialStates.from_rates(
            speed_fps,
            frame["alt_ft"].to_numpy(),
            hdot_fps,
            self.schedule.psidot_rad_s[self.schedule.offsets[:-1]],
            units.deg_to_rad(frame["heading_deg"].to_numpy()) if "heading_deg" in frame else 0.0,
        )


def _layer_edges(model: EncounterModel, layers_ft) -> np.ndarray:
    if layers_ft is not None:
        edges = np.asarray(layers_ft, dtype=np.float64).ravel()
    elif model.entry is not None and getattr(model.entry, "layer_edges_ft", None):
        edges = np.asarray(model.entry.layer_edges_ft, dtype=np.float64)
    elif "L" in model.roles and model.boundaries[model.roles["L"]] is not None:
        edges = model.boundaries[model.roles["L"]]
    else:
        return np.zeros(0)
    if "L" in model.roles:
        n_layers = int(model.r[model.roles["L"]])
        if edges.shape[0] != n_layers + 1 or np.any(np.diff(edges) <= 0):
            raise ValueError(
                f"model {model.name}: altitude layer table {edges.tolist()} needs {n_layers + 1} increasing edges (ft)"
            )
    return edges


def _row_capacity(duration_s: int) -> int:
    """Command rows buffered per track: enough for almost every track (about a quarter of the
    seconds carry a row for the fixed-wing models); a track that needs more is redone alone with
    room for one row per second, which gives the same track (its stream depends only on its id)."""
    return max(1, min(duration_s, 32 + duration_s // 2))


def _run_kernel(
    tables: SamplerTables,
    seed: int,
    track_ids: np.ndarray,
    start_draws: np.ndarray,
    duration_s: int,
    presets,
    policy: int,
    max_attempts: int,
    apply_speed_rule: bool,
    capacity: int,
    sub_streams: np.ndarray,
    attempts: np.ndarray,
):
    n = track_ids.shape[0]
    n0 = tables.n_initial
    transition = tables.transition
    if transition is None:
        t_arrays = (
            np.zeros(0, np.int64),
            np.zeros(1, np.int64),
            np.zeros(1, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(1, np.int64),
            np.zeros(0),
        )
    else:
        t_arrays = (
            transition.order,
            transition.r,
            transition.parent_ptr,
            transition.parent_idx,
            transition.parent_stride,
            transition.cum_offset,
            transition.cum,
        )
    n_dyn = max(t_arrays[0].shape[0], 1)
    out = {
        "bins": np.zeros((n, n0), dtype=np.int64),
        "values": np.zeros((n, n0), dtype=np.float64),
        "alt": np.zeros(n, dtype=np.float64),
        "heading": np.zeros(n, dtype=np.float64),
        "rows_n": np.zeros(n, dtype=np.int64),
        # row buffers are only read up to rows_n, so they need no initialisation
        "row_t": np.empty((n, capacity), dtype=np.int64),
        "row_val": np.empty((n, capacity, 3), dtype=np.float64),
        "row_bins": np.empty((n, capacity, 3), dtype=np.int8),
        "changes": np.zeros((n, n_dyn), dtype=np.int64),
        "resamples": np.zeros((n, n0), dtype=np.int64),
        "rejects": np.zeros((n, 2 + n_dyn), dtype=np.int64),
        "status": np.zeros(n, dtype=np.int8),
        "end_draw": np.zeros(n, dtype=np.uint64),
    }
    initial = tables.initial
    _kernels.sample_tracks_kernel(
        np.uint64(seed),
        track_ids,
        sub_streams,
        attempts,
        start_draws,
        duration_s,
        presets,
        policy,
        max_attempts,
        apply_speed_rule,
        initial.order,
        initial.r,
        initial.parent_ptr,
        initial.parent_idx,
        initial.parent_stride,
        initial.cum_offset,
        initial.cum,
        *t_arrays,
        tables.partner,
        tables.edges_ptr,
        tables.edges,
        tables.zero_bin,
        tables.resample_rate,
        tables.command_var,
        tables.command_scale,
        tables.speed_var,
        tables.layer_var,
        tables.heading_var,
        tables.layer_edges_ft,
        out["bins"],
        out["values"],
        out["alt"],
        out["heading"],
        out["rows_n"],
        out["row_t"],
        out["row_val"],
        out["row_bins"],
        out["changes"],
        out["resamples"],
        out["rejects"],
        out["status"],
        out["end_draw"],
    )
    return out


def _sample_chunk(
    tables,
    seed,
    track_ids,
    start_draws,
    duration_s,
    presets,
    policy,
    max_attempts,
    apply_speed_rule,
    sub_streams,
    attempts,
) -> dict:
    """Run the kernel for the given track ids, redo overflowing tracks, compact the rows."""
    n = track_ids.shape[0]
    out = _run_kernel(
        tables,
        seed,
        track_ids,
        start_draws,
        duration_s,
        presets,
        policy,
        max_attempts,
        apply_speed_rule,
        _row_capacity(duration_s),
        sub_streams,
        attempts,
    )
    for i in np.flatnonzero(out["status"] == _kernels.STATUS_OVERFLOW):
        one = slice(i, i + 1)
        redo = _run_kernel(
            tables,
            seed,
            track_ids[one],
            start_draws[one],
            duration_s,
            presets,
            policy,
            max_attempts,
            apply_speed_rule,
            max(duration_s, 1),
            sub_streams[one],
            attempts[one],
        )
        _replace_track(out, int(i), redo)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(out["rows_n"], out=offsets[1:])
    n_rows = int(offsets[-1])
    flat = {
        "offsets": offsets,
        "t_s": np.empty(n_rows),
        "hdot_fps": np.empty(n_rows),
        "psidot_rad_s": np.empty(n_rows),
        "vdot_fps2": np.empty(n_rows),
        "bins": np.empty((n_rows, 3), dtype=np.int8),
    }
    if n_rows and out["row_t"].shape[1] > 0:
        _kernels.compact_rows_kernel(
            offsets,
            out["row_t"],
            out["row_val"],
            out["row_bins"],
            flat["t_s"],
            flat["hdot_fps"],
            flat["psidot_rad_s"],
            flat["vdot_fps2"],
            flat["bins"],
        )
    for key in ("row_t", "row_val", "row_bins"):
        del out[key]
    out["rows"] = flat
    return out


def _replace_track(out: dict, i: int, redo: dict) -> None:
    """Put track 0 of ``redo`` (a larger row buffer) in place of track i of ``out``."""
    rows = int(redo["rows_n"][0])
    if rows > out["row_t"].shape[1]:
        extra = rows - out["row_t"].shape[1]
        out["row_t"] = np.pad(out["row_t"], ((0, 0), (0, extra)))
        out["row_val"] = np.pad(out["row_val"], ((0, 0), (0, extra), (0, 0)))
        out["row_bins"] = np.pad(out["row_bins"], ((0, 0), (0, extra), (0, 0)))
    for key in ("bins", "values", "alt", "heading", "rows_n", "changes", "resamples", "status", "end_draw"):
        out[key][i] = redo[key][0]
    out["rejects"][i] += redo["rejects"][0]
    out["row_t"][i, :rows] = redo["row_t"][0, :rows]
    out["row_val"][i, :rows] = redo["row_val"][0, :rows]
    out["row_bins"][i, :rows] = redo["row_bins"][0, :rows]


def _reason_names(model: EncounterModel, initial_only: bool = False) -> list[str]:
    names = ["initial_speed_below_vertical_rate", "empty_initial_column"]
    if model.transition is not None and not initial_only:
        names += [f"empty_transition_column:{model.transition.labels[j]}" for j in model.transition_order]
    return names


def sample_tracks(
    model,
    n: int,
    duration_s: int,
    rng,
    start: Mapping | str | None = None,
    *,
    first_id: int = 0,
    empty_column: str = "reject",
    max_attempts: int = 1000,
    layers_ft=None,
    chunk_size: int | None = None,
    progress=None,
    strict: bool = False,
) -> TrackSample:
    """Sample ``n`` tracks of ``duration_s`` seconds from a DBN encounter model.

    Parameters
    ----------
    model : str, path or EncounterModel
        Registry name, file path or loaded model.
    n : int
        Number of tracks (ids ``first_id .. first_id + n - 1``).
    duration_s : int
        Track length T in whole seconds (T - 1 transitions).
    rng : int, numpy.random.SeedSequence or numpy.random.Generator
        Seed of the Philox streams (a Generator contributes one 64-bit draw).
    start : mapping or str, optional
        Presets as 1-based bins, e.g. ``{"G": 1, "A": 4}`` or ``"G=1,A=4"``.
    first_id : int
        Id of the first track; track k is the same whatever else is drawn with it.
    empty_column : {"reject", "hold", "bin1"}
        What to do with an all-zero transition column (see the module docstring).
    max_attempts : int
        Consecutive rejections of one track before giving up with an error.
    layers_ft : sequence of float, optional
        Altitude layer edges (ft) overriding the registry's table.
    chunk_size : int, optional
        Tracks per kernel call (bounds memory; does not change the tracks).
    progress : callable, optional
        Called with the number of tracks finished after each chunk.
    strict : bool
        Raise instead of warning when the altitude layers leave the model's documented scope.

    Returns
    -------
    TrackSample

    Examples
    --------
    >>> import encsim
    >>> tracks = encsim.sample_tracks(
    ...     "uncor_1200only_fwse_v1p2", 1000, 60, rng=1, start={"G": 1, "A": 4}
    ... )  # doctest: +SKIP
    >>> tracks.initial[["L", "alt_ft", "speed_kt"]].head()  # doctest: +SKIP
    """
    model = _as_model(model)
    refusal = _refusal(model, "sample_tracks")
    if refusal:
        raise ValueError(refusal)
    if model.transition is None:
        raise ValueError(f"model {model.name} has no transition network: use encsim.sample_initial")
    check_scope(model, _layer_edges(model, layers_ft), strict=strict)
    return _sample(
        model, n, duration_s, rng, start, first_id, empty_column, max_attempts, layers_ft, chunk_size, progress
    )


def sample_initial(
    model,
    n: int,
    rng,
    start: Mapping | str | None = None,
    *,
    first_id: int = 0,
    layers_ft=None,
    chunk_size: int | None = None,
) -> pd.DataFrame:
    """Sample ``n`` draws of a model's initial network only (any model, including the correlated and
    terminal encounter-geometry networks): exact ancestral sampling with presets, values
    de-discretised, no transitions and no airspeed/vertical-rate rejection. Same columns as
    `TrackSample.initial`.

    Examples
    --------
    >>> frame = encsim.sample_initial("terminal_v3_opensky_encounter_model", 1000, rng=1)  # doctest: +SKIP
    """
    model = _as_model(model)
    _check_arguments(n, 1, first_id, "reject", 1)
    refusal = _refusal(model, "sample_initial")
    if refusal:
        raise ValueError(refusal)
    track_ids = np.arange(first_id, first_id + n, dtype=np.uint64)
    sample = _sample_ids(
        model,
        track_ids,
        np.zeros(n, dtype=np.uint64),
        0,
        seed_to_uint64(rng),
        start,
        "reject",
        1000,
        layers_ft,
        chunk_size,
        None,
        initial_only=True,
    )
    return sample.initial


def _check_arguments(n, duration_s, first_id, empty_column, max_attempts):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(duration_s, bool) or not isinstance(duration_s, (int, np.integer)) or duration_s < 0:
        raise ValueError(f"duration_s must be a whole number of seconds >= 1, got {duration_s!r}")
    if not isinstance(first_id, (int, np.integer)) or first_id < 0:
        raise ValueError(f"first_id must be a non-negative integer, got {first_id!r}")
    if empty_column not in EMPTY_COLUMN_POLICIES:
        raise ValueError(f"empty_column={empty_column!r}; expected one of {sorted(EMPTY_COLUMN_POLICIES)}")
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")


def _sample(model, n, duration_s, rng, start, first_id, empty_column, max_attempts, layers_ft, chunk_size, progress):
    _check_arguments(n, duration_s, first_id, empty_column, max_attempts)
    if duration_s < 1 and model.transition is not None:
        raise ValueError(f"duration_s must be >= 1 s for tracks, got {duration_s}")
    track_ids = np.arange(first_id, first_id + n, dtype=np.uint64)
    return _sample_ids(
        model,
        track_ids,
        np.zeros(n, dtype=np.uint64),
        int(duration_s),
        seed_to_uint64(rng),
        start,
        empty_column,
        max_attempts,
        layers_ft,
        chunk_size,
        progress,
    )


def _sample_ids(
    model,
    track_ids,
    start_draws,
    duration_s,
    seed,
    start,
    empty_column,
    max_attempts,
    layers_ft,
    chunk_size,
    progress,
    initial_only=False,
    sub_streams=None,
    attempts=None,
    rejects_per_track: list | None = None,
) -> TrackSample:
    """Sample the given track ids; ``rejects_per_track`` (a list) receives (reason names, (n, reasons)
    counts per track), for callers that count only some of the tracks' rejections."""
    presets = parse_presets(model, start)
    layer_edges = _layer_edges(model, layers_ft)
    tables = build_sampler_tables(model, layer_edges, with_transitions=not initial_only)
    if not initial_only and "L" in model.roles and layer_edges.shape[0] == 0:
        raise ValueError(f"model {model.name}: L is categorical; give layers_ft (altitude layer edges, ft)")
    apply_speed_rule = not initial_only and "v" in model.roles and "hdot" in model.roles
    policy = EMPTY_COLUMN_POLICIES[empty_column]
    n = track_ids.shape[0]
    sub_streams = np.zeros(n, dtype=np.uint64) if sub_streams is None else np.asarray(sub_streams, dtype=np.uint64)
    attempts = np.zeros(n, dtype=np.uint64) if attempts is None else np.asarray(attempts, dtype=np.uint64)
    chunk = chunk_size or max(256, _BUFFER_TRACK_SECONDS // max(duration_s, 1))
    pieces = []
    for chunk_start in range(0, n, chunk):
        part = slice(chunk_start, chunk_start + chunk)
        ids = track_ids[part]
        out = _sample_chunk(
            tables,
            seed,
            ids,
            start_draws[part],
            duration_s,
            presets,
            policy,
            max_attempts,
            apply_speed_rule,
            sub_streams[part],
            attempts[part],
        )
        gave_up = np.flatnonzero(out["status"] != _kernels.STATUS_OK)
        if gave_up.size:
            _raise_gave_up(model, start, int(ids[gave_up[0]]), out["rejects"][gave_up[0]], max_attempts)
        pieces.append(out)
        if progress is not None:
            progress(ids.shape[0])
    sample = _assemble(model, pieces, seed, track_ids, duration_s, start, empty_column, initial_only)
    if rejects_per_track is not None:
        n_reasons = len(_reason_names(model, initial_only))
        per_track = _concat(pieces, "rejects", np.zeros((0, n_reasons), np.int64))[:, :n_reasons]
        rejects_per_track.append((_reason_names(model, initial_only), per_track))
    return dataclasses.replace(sample, layer_edges_ft=layer_edges)


def redraw_tracks(model, sample: TrackSample, positions, *, layers_ft=None, max_attempts: int = 1000) -> TrackSample:
    """Redraw the tracks at ``positions`` of ``sample``, each continuing its own random stream.

    Used when a track is rejected downstream (e.g. by the dynamics' limits): the replacement of
    track k depends only on (seed, k) and on how often it was rejected, never on other tracks.
    """
    model = _as_model(model)
    positions = np.asarray(positions, dtype=np.int64)
    track_ids = sample.initial["track_id"].to_numpy()[positions].astype(np.uint64)
    layers = layers_ft if layers_ft is not None else sample.layer_edges_ft
    return _sample_ids(
        model,
        track_ids,
        sample.stream_end[positions],
        sample.duration_s,
        sample.seed,
        sample.presets or None,
        sample.empty_column,
        max_attempts,
        layers,
        None,
        None,
    )


def _raise_gave_up(model, start, track_id, rejects, max_attempts):
    reasons = {name: int(c) for name, c in zip(_reason_names(model), rejects) if c}
    raise SamplingError(
        f"model {model.name}, presets {start or {}}: track {track_id} was rejected {max_attempts} times in a row "
        f"({reasons}); the presets may leave the model almost no data"
    )


def _concat(pieces: list[dict], key: str, empty: np.ndarray) -> np.ndarray:
    if not pieces:
        return empty
    if len(pieces) == 1:
        return pieces[0][key]
    return np.concatenate([p[key] for p in pieces])


def _concat_rows(pieces: list[dict], key: str, empty: np.ndarray) -> np.ndarray:
    if not pieces:
        return empty
    if len(pieces) == 1:
        return pieces[0]["rows"][key]
    return np.concatenate([p["rows"][key] for p in pieces])


def _assemble(model, pieces, seed, track_ids, duration_s, start, empty_column, initial_only=False) -> TrackSample:
    n = track_ids.shape[0]
    first_id = int(track_ids[0]) if n else 0
    n0 = model.n_variables
    n_dyn = 1 if initial_only else max(len(model.transition_order), 1)
    bins = _concat(pieces, "bins", np.zeros((0, n0), np.int64))
    values = _concat(pieces, "values", np.zeros((0, n0)))
    alt = _concat(pieces, "alt", np.zeros(0))
    changes = _concat(pieces, "changes", np.zeros((0, n_dyn), np.int64))
    resamples = _concat(pieces, "resamples", np.zeros((0, n0), np.int64))
    rejects = _concat(pieces, "rejects", np.zeros((0, 2 + n_dyn), np.int64)).sum(axis=0)
    row_counts = np.concatenate([np.diff(p["rows"]["offsets"]) for p in pieces]) if pieces else np.zeros(0, np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(row_counts, out=offsets[1:])
    schedule = CommandSchedule.trusted(
        offsets,
        _concat_rows(pieces, "t_s", np.zeros(0)),
        _concat_rows(pieces, "hdot_fps", np.zeros(0)),
        _concat_rows(pieces, "psidot_rad_s", np.zeros(0)),
        _concat_rows(pieces, "vdot_fps2", np.zeros(0)),
    )
    schedule_bins = _concat_rows(pieces, "bins", np.zeros((0, 3), np.int8))

    columns = {"track_id": track_ids.astype(np.int64)}
    for i in range(n0):
        # categorical variables, and the altitude layer always, as 1-based bins
        if model.boundaries[i] is None or model.roles.get("L") == i:
            columns[bin_column_name(model, i)] = bins[:, i] + 1
    if "L" in model.roles and (not initial_only or model.boundaries[model.roles["L"]] is not None):
        columns["alt_ft"] = alt
    for i in range(n0):
        if model.boundaries[i] is not None and model.roles.get("L") != i:
            columns[column_name(model, i)] = values[:, i]
    initial = pd.DataFrame(columns)

    time_t_of = dict((t1, t) for t, t1 in model.temporal_map)
    dyn_labels = [] if initial_only else [model.labels[time_t_of[j]] for j in model.transition_order]
    bin_changes = pd.DataFrame(changes[:, : len(dyn_labels)], columns=dyn_labels)
    resample_frame = pd.DataFrame(resamples, columns=list(model.labels))
    rejections = {name: int(c) for name, c in zip(_reason_names(model, initial_only), rejects)}
    return TrackSample(
        model_name=model.name,
        model_sha256=model.sha256,
        seed=int(seed),
        first_id=int(first_id),
        duration_s=duration_s,
        presets=preset_mapping(start),
        empty_column=empty_column,
        initial=initial,
        schedule=schedule,
        schedule_bins=schedule_bins,
        bin_changes=bin_changes,
        resamples=resample_frame,
        rejections=rejections,
        stream_end=_concat(pieces, "end_draw", np.zeros(0, np.uint64)),
    )
