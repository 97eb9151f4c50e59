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

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..bayes import EncounterModel, load_model
from ..random import seed_to_uint64
from ._batch import TrackBatch
from ._buffers import BUFFER_TRACK_SECONDS, assemble, concat, sample_chunk
from ._kernels import STATUS_OK
from ._tables import EMPTY_COLUMN_POLICIES, build_sampler_tables
from .track_sample import TrackSample, bin_column_name, column_name, rejection_reasons

__all__ = [
    "SamplingError",
    "ScopeWarning",
    "TrackSample",
    "bin_column_name",
    "check_scope",
    "column_name",
    "parse_presets",
    "preset_mapping",
    "redraw_tracks",
    "sample_initial",
    "sample_track_ids",
    "sample_tracks",
]


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
    bins0 = model.bins0_of(start)
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
    >>> tracks = encsim.sample_tracks("uncor_1200only_fwse_v1p2", 1000, 60, rng=1, start={"G": 1, "A": 4})
    >>> tracks.initial.columns.tolist()
    ['track_id', 'G', 'A', 'L', 'alt_ft', 'speed_kt', 'vdot_kt_s', 'hdot_fpm', 'psidot_deg_s']
    >>> tracks.initial[["L", "alt_ft", "speed_kt"]].head(3).round(1)
       L  alt_ft  speed_kt
    0  4  3816.5     117.0
    1  3  2887.3     115.8
    2  3  2348.1      90.6

    Track 2 is the same when drawn alone:

    >>> alone = encsim.sample_tracks("uncor_1200only_fwse_v1p2", 1, 60, rng=1, start="G=1,A=4", first_id=2)
    >>> bool(alone.initial["speed_kt"].iloc[0] == tracks.initial["speed_kt"].iloc[2])
    True
    """
    model = _as_model(model)
    refusal = _refusal(model, "sample_tracks")
    if refusal:
        raise ValueError(refusal)
    if model.transition is None:
        raise ValueError(f"model {model.name} has no transition network: use encsim.sample_initial")
    check_scope(model, _layer_edges(model, layers_ft), strict=strict)
    _check_arguments(n, duration_s, first_id, empty_column, max_attempts)
    if duration_s < 1:
        raise ValueError(f"duration_s must be >= 1 s for tracks, got {duration_s}")
    return sample_track_ids(
        model,
        np.arange(first_id, first_id + n, dtype=np.uint64),
        seed=seed_to_uint64(rng),
        duration_s=int(duration_s),
        start=start,
        empty_column=empty_column,
        max_attempts=max_attempts,
        layers_ft=layers_ft,
        chunk_size=chunk_size,
        progress=progress,
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
    >>> import encsim
    >>> frame = encsim.sample_initial("terminal_v3_opensky_encounter_model", 1000, rng=1)
    >>> frame.shape
    (1000, 16)
    >>> frame.columns[:5].tolist()
    ['track_id', 'airspace_class', 'own_intent', 'int_intent', 'int_type']
    """
    model = _as_model(model)
    _check_arguments(n, 1, first_id, "reject", 1)
    refusal = _refusal(model, "sample_initial")
    if refusal:
        raise ValueError(refusal)
    sample = sample_track_ids(
        model,
        np.arange(first_id, first_id + n, dtype=np.uint64),
        seed=seed_to_uint64(rng),
        duration_s=0,
        start=start,
        layers_ft=layers_ft,
        chunk_size=chunk_size,
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


def sample_track_ids(
    model: EncounterModel,
    track_ids: np.ndarray,
    *,
    seed: int,
    duration_s: int,
    start: Mapping | str | None = None,
    start_draws: np.ndarray | None = None,
    sub_streams: np.ndarray | None = None,
    attempts: np.ndarray | None = None,
    empty_column: str = "reject",
    max_attempts: int = 1000,
    layers_ft=None,
    chunk_size: int | None = None,
    progress=None,
    initial_only: bool = False,
    rejects_per_track: list | None = None,
) -> TrackSample:
    """Sample the tracks of the given ids, each from its own Philox stream (the sampler's core).

    `sample_tracks` and `sample_initial` draw ids ``first_id ..``; encounter generation draws the
    ownship and intruder of each attempt from sub-streams 0 and 1; `redraw_tracks` continues
    streams where they stopped.

    Parameters
    ----------
    model : EncounterModel
    track_ids : ndarray of uint64
        The ids (Philox keys with ``seed``).
    seed : int
        The 64-bit seed (see `encsim.random.seed_to_uint64`).
    duration_s : int
        Track length in whole seconds (0 with ``initial_only``).
    start : mapping or str, optional
        Presets as 1-based bins.
    start_draws, sub_streams, attempts : ndarray of uint64, optional
        Per track: the draw index to start at, the sub-stream and the attempt (default 0 each).
    empty_column, max_attempts, layers_ft, chunk_size, progress
        As in `sample_tracks`.
    initial_only : bool
        Sample the initial network only (no transitions, no airspeed/vertical-rate rule).
    rejects_per_track : list, optional
        Receives ``(reason names, (n, reasons) counts)``, for callers that count only some of the
        tracks' rejections.

    Examples
    --------
    >>> from encsim.bayes import load_model
    >>> model = load_model("uncor_1200only_fwse_v1p2")
    >>> ids = np.array([7, 3], dtype=np.uint64)
    >>> pair = sample_track_ids(model, ids, seed=1, duration_s=10, start={"G": 1, "A": 4})
    >>> alone = sample_track_ids(model, ids[1:], seed=1, duration_s=10, start={"G": 1, "A": 4})
    >>> bool(pair.initial["speed_kt"].iloc[1] == alone.initial["speed_kt"].iloc[0])
    True
    """
    sampler = TrackSampler(
        model,
        start,
        layers_ft=layers_ft,
        empty_column=empty_column,
        max_attempts=max_attempts,
        initial_only=initial_only,
    )
    return sampler.sample(
        track_ids,
        seed=seed,
        duration_s=duration_s,
        start_draws=start_draws,
        sub_streams=sub_streams,
        attempts=attempts,
        chunk_size=chunk_size,
        progress=progress,
        rejects_per_track=rejects_per_track,
    ).to_sample()


class TrackSampler:
    """A model's sampling set-up (presets, altitude layers, kernel tables), checked once.

    `sample_track_ids` makes one per call; encounter generation keeps one per aircraft and samples
    two batches of ids with it every round. `TrackSampler.sample` returns the tracks as a
    `TrackBatch` (arrays; ``to_sample()`` gives the `TrackSample`).
    """

    def __init__(
        self,
        model: EncounterModel,
        start: Mapping | str | None = None,
        *,
        layers_ft=None,
        empty_column: str = "reject",
        max_attempts: int = 1000,
        initial_only: bool = False,
    ):
        self.model = model
        self.start = start
        self.presets = parse_presets(model, start)
        self.layer_edges = _layer_edges(model, layers_ft)
        self.tables = build_sampler_tables(model, self.layer_edges, with_transitions=not initial_only)
        if not initial_only and "L" in model.roles and self.layer_edges.shape[0] == 0:
            raise ValueError(f"model {model.name}: L is categorical; give layers_ft (altitude layer edges, ft)")
        self.empty_column = empty_column
        self.policy = EMPTY_COLUMN_POLICIES[empty_column]
        self.max_attempts = max_attempts
        self.initial_only = initial_only
        self.apply_speed_rule = not initial_only and "v" in model.roles and "hdot" in model.roles
        self.preset_bins = preset_mapping(start)
        self.reasons = rejection_reasons(model, initial_only=initial_only)

    def sample(
        self,
        track_ids: np.ndarray,
        *,
        seed: int,
        duration_s: int,
        start_draws: np.ndarray | None = None,
        sub_streams: np.ndarray | None = None,
        attempts: np.ndarray | None = None,
        chunk_size: int | None = None,
        progress=None,
        rejects_per_track: list | None = None,
    ) -> TrackBatch:
        """The tracks of ``track_ids`` (arguments as `sample_track_ids`)."""
        n = track_ids.shape[0]

        def per_track(values):
            return np.zeros(n, dtype=np.uint64) if values is None else np.asarray(values, dtype=np.uint64)

        start_draws, sub_streams, attempts = per_track(start_draws), per_track(sub_streams), per_track(attempts)
        chunk = chunk_size or max(256, BUFFER_TRACK_SECONDS // max(duration_s, 1))
        pieces = []
        for chunk_start in range(0, n, chunk):
            part = slice(chunk_start, chunk_start + chunk)
            ids = track_ids[part]
            out = sample_chunk(
                self.tables,
                seed=seed,
                track_ids=ids,
                start_draws=start_draws[part],
                duration_s=duration_s,
                presets=self.presets,
                policy=self.policy,
                max_attempts=self.max_attempts,
                apply_speed_rule=self.apply_speed_rule,
                sub_streams=sub_streams[part],
                attempts=attempts[part],
            )
            gave_up = np.flatnonzero(out["status"] != STATUS_OK)
            if gave_up.size:
                first = gave_up[0]
                _raise_gave_up(self.model, self.start, int(ids[first]), out["rejects"][first], self.max_attempts)
            pieces.append(out)
            if progress is not None:
                progress(ids.shape[0])
        batch = assemble(
            self.model,
            pieces,
            seed=seed,
            track_ids=track_ids,
            duration_s=duration_s,
            presets=self.preset_bins,
            empty_column=self.empty_column,
            layer_edges_ft=self.layer_edges,
            initial_only=self.initial_only,
        )
        if rejects_per_track is not None:
            counts = concat(pieces, "rejects", np.zeros((0, len(self.reasons)), np.int64))[:, : len(self.reasons)]
            rejects_per_track.append((self.reasons, counts))
        return batch


def redraw_tracks(model, sample: TrackSample, positions, *, layers_ft=None, max_attempts: int = 1000) -> TrackSample:
    """Redraw the tracks at ``positions`` of ``sample``, each continuing its own random stream.

    Used when a track is rejected downstream (e.g. by the dynamics' limits): the replacement of
    track k depends only on (seed, k) and on how often it was rejected, never on other tracks.
    """
    model = _as_model(model)
    positions = np.asarray(positions, dtype=np.int64)
    return sample_track_ids(
        model,
        sample.initial["track_id"].to_numpy()[positions].astype(np.uint64),
        seed=sample.seed,
        duration_s=sample.duration_s,
        start=sample.presets or None,
        start_draws=sample.stream_end[positions],
        empty_column=sample.empty_column,
        max_attempts=max_attempts,
        layers_ft=layers_ft if layers_ft is not None else sample.layer_edges_ft,
    )


def _raise_gave_up(model, start, track_id, rejects, max_attempts):
    reasons = {name: int(c) for name, c in zip(rejection_reasons(model), rejects) if c}
    raise SamplingError(
        f"model {model.name}, presets {start or {}}: track {track_id} was rejected {max_attempts} times in a row "
        f"({reasons}); the presets may leave the model almost no data"
    )
