"""Running the sampling kernel chunk by chunk: buffers, overflow redos, compaction, assembly.

The kernel writes each track's command rows into a fixed-size buffer; a track that overflows it is
redone alone with room for one row per second, which gives the same track (its stream depends
only on its id). The pieces of all chunks are then joined into one `TrackBatch`.
"""

from __future__ import annotations

import numpy as np

from ..bayes import EncounterModel
from ..commands import CommandSchedule
from . import _kernels
from ._batch import TrackBatch, TrackHeader
from ._tables import NetworkArrays, SamplerTables
from .track_sample import bin_column_name, column_name, rejection_reasons

#: rows of the command buffer kept in memory at once (tracks x seconds), about 100 MB
BUFFER_TRACK_SECONDS = 2_500_000


def _row_capacity(duration_s: int) -> int:
    """Command rows buffered per track: enough for almost every track (about a quarter of the
    seconds carry a row for the fixed-wing models); a track that needs more is redone alone with
    room for one row per second, which gives the same track (its stream depends only on its id)."""
    return max(1, min(duration_s, 32 + duration_s // 2))


def run_kernel(tables: SamplerTables, request: _kernels.Request, capacity: int) -> dict:
    """The kernel's outputs for ``request``, with room for ``capacity`` command rows per track."""
    n = request.track_ids.shape[0]
    n0 = tables.n_initial
    transition = tables.transition
    if transition is None:  # initial network only: an empty transition network
        empty = np.zeros(0, np.int64)
        transition = NetworkArrays(
            empty, np.zeros(1, np.int64), np.zeros(1, np.int64), empty, empty, np.zeros(1, np.int64), np.zeros(0)
        )
    n_dyn = max(transition.order.shape[0], 1)
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
    variables = _kernels.Variables(
        partner=tables.partner,
        edges_ptr=tables.edges_ptr,
        edges=tables.edges,
        zero_bin=tables.zero_bin,
        resample_rate=tables.resample_rate,
        command_var=tables.command_var,
        command_scale=tables.command_scale,
        speed_var=np.int64(tables.speed_var),
        layer_var=np.int64(tables.layer_var),
        heading_var=np.int64(tables.heading_var),
        layer_edges_ft=tables.layer_edges_ft,
    )
    _kernels.sample_tracks_kernel(request, tables.initial, transition, variables, _kernels.Outputs(**out))
    return out


def sample_chunk(
    tables,
    *,
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
    request = _kernels.Request(
        seed=np.uint64(seed),
        track_ids=track_ids,
        sub_streams=sub_streams,
        attempts=attempts,
        start_draws=start_draws,
        duration_s=np.int64(duration_s),
        presets=presets,
        policy=np.int64(policy),
        max_attempts=np.int64(max_attempts),
        apply_speed_rule=bool(apply_speed_rule),
    )
    out = run_kernel(tables, request, _row_capacity(duration_s))
    for i in np.flatnonzero(out["status"] == _kernels.STATUS_OVERFLOW):
        one = slice(i, i + 1)
        alone = request._replace(
            track_ids=track_ids[one], sub_streams=sub_streams[one], attempts=attempts[one], start_draws=start_draws[one]
        )
        redo = run_kernel(tables, alone, max(duration_s, 1))
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


def concat(pieces: list[dict], key: str, empty: np.ndarray) -> np.ndarray:
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


def assemble(
    model: EncounterModel,
    pieces,
    *,
    seed,
    track_ids,
    duration_s,
    presets: dict,
    empty_column,
    layer_edges_ft=None,
    initial_only=False,
) -> TrackBatch:
    """One `TrackBatch` from the pieces of all chunks (``presets`` as 1-based bins)."""
    n = track_ids.shape[0]
    first_id = int(track_ids[0]) if n else 0
    n0 = model.n_variables
    n_dyn = 1 if initial_only else max(len(model.transition_order), 1)
    bins = concat(pieces, "bins", np.zeros((0, n0), np.int64))
    values = concat(pieces, "values", np.zeros((0, n0)))
    alt = concat(pieces, "alt", np.zeros(0))
    changes = concat(pieces, "changes", np.zeros((0, n_dyn), np.int64))
    resamples = concat(pieces, "resamples", np.zeros((0, n0), np.int64))
    rejects = concat(pieces, "rejects", np.zeros((0, 2 + n_dyn), np.int64)).sum(axis=0)
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

    time_t_of = dict((t1, t) for t, t1 in model.temporal_map)
    dyn_labels = [] if initial_only else [model.labels[time_t_of[j]] for j in model.transition_order]
    header = TrackHeader(
        model_name=model.name,
        model_sha256=model.sha256,
        seed=int(seed),
        duration_s=duration_s,
        presets=presets,
        empty_column=empty_column,
        layer_edges_ft=layer_edges_ft,
    )
    return TrackBatch(
        header,
        int(first_id),
        columns,
        schedule,
        schedule_bins,
        changes[:, : len(dyn_labels)],
        dyn_labels,
        resamples,
        list(model.labels),
        {name: int(c) for name, c in zip(rejection_reasons(model, initial_only=initial_only), rejects)},
        concat(pieces, "end_draw", np.zeros(0, np.uint64)),
    )
