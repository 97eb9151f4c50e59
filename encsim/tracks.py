"""Sampled tracks flown with the dynamics, under the model's limits, with honest rejection.

`fly(sample)` flies every track of a `TrackSample` at 10 Hz and rejects a track, as the MIT LL
track generator does (mitll-reference 3.7, decisions.md section 3), when

- its altitude leaves the layer table of the model (``altitude``),
- its speed leaves the model's speed window (``speed``), or
- its vertical rate (gradient of the 1-Hz altitude) exceeds the model's limit (``vertical_rate``).

A rejected track is redrawn by continuing its own random stream, flown again, and so on until
every track is accepted (at most ``max_attempts`` times for one track). The counts by reason are
returned. `fly_chunks(sample, chunk_size=...)` does the same chunk by chunk and yields each chunk
(flying, checking and redrawing one chunk at a time); the result does not depend on the chunking,
because a redraw continues the track's own stream. Orchestration only: it uses `encsim.sampling` and `encsim.dynamics`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from . import units
from .bayes import EncounterModel, load_model
from .dynamics import DynamicLimits, Trajectories, fly_commands, fly_vertical_only
from .sampling import SamplingError, TrackSample, check_scope, redraw_tracks

#: rotorcraft speed cap of the reference, ft/s
ROTORCRAFT_SPEED_CAP_FPS = 304.0
#: fixed-wing minimum speed (decisions.md section 3: 30 kt; the reference compares 30 with ft/s)
FIXED_WING_SPEED_FLOOR_KT = 30.0
#: the integrator's minimum speed while flying sampled tracks (bayes `track`), ft/s
INTEGRATOR_SPEED_MIN_FPS = 1.7

REJECTION_REASONS = ("altitude", "speed", "vertical_rate")


@dataclass(frozen=True)
class ModelLimits:
    """Track-level limits of one track (per-track arrays)."""

    alt_min_ft: float
    alt_max_ft: float
    speed_min_fps: np.ndarray
    speed_max_fps: np.ndarray
    hdot_max_fps: np.ndarray


@dataclass(frozen=True)
class FlownTracks:
    """Accepted tracks and their trajectories.

    ``sample`` holds the accepted tracks (some redrawn), ``trajectories`` their flight at the
    requested rate (row i = track i), ``rejections`` how many flights were rejected by reason,
    ``limits`` the per-track windows that accepted them.
    """

    sample: TrackSample
    trajectories: Trajectories
    rejections: dict = field(default_factory=dict)
    limits: ModelLimits | None = None

    def __repr__(self) -> str:
        from ._reprs import flown_repr

        return flown_repr(self)


class _LimitTables:
    """P(v | conditioning, L in span) and P(hdot | conditioning, L in span, v in span), cached.

    Conditioned on whichever of G and A the model has (by role), computed exactly from the counts.
    """

    def __init__(self, model: EncounterModel, layer_edges: np.ndarray):
        self.model = model
        self.layer_edges = layer_edges
        roles = model.roles
        self.condition = [role for role in ("G", "A") if role in roles]
        self.has_speed = "v" in roles
        axes = ["L", *(["v"] if self.has_speed else []), "hdot"]
        self.axes = axes
        self.joint_by_condition: dict[tuple, np.ndarray] = {}

    def joint(self, condition_bins: tuple) -> np.ndarray:
        if condition_bins not in self.joint_by_condition:
            given = {role: int(b) for role, b in zip(self.condition, condition_bins)}
            self.joint_by_condition[condition_bins] = self.model.exact_joint(self.axes, given)
        return self.joint_by_condition[condition_bins]


def _bin_spans(edges: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last bins of ``edges`` that each closed range [lo, hi] touches (clipped to the table)."""
    last_bin = edges.shape[0] - 2
    first = np.clip(np.searchsorted(edges, lo, side="right") - 1, 0, last_bin)
    last = np.clip(np.searchsorted(edges, hi, side="right") - 1, 0, last_bin)
    return first, last


def _percentile_bins(histogram: np.ndarray, percentiles) -> tuple[int, int]:
    cumulative = np.cumsum(histogram) / histogram.sum()
    lo = int(np.searchsorted(cumulative, percentiles[0] / 100.0 - 1e-12))
    hi = int(np.searchsorted(cumulative, percentiles[1] / 100.0 - 1e-12))
    return min(lo, histogram.shape[0] - 1), min(hi, histogram.shape[0] - 1)


def track_limits(
    model: EncounterModel,
    sample: TrackSample,
    extremes: np.ndarray,
    layer_edges: np.ndarray,
    *,
    percentiles=(1.0, 99.0),
    reference_limits: bool = False,
) -> ModelLimits:
    """Per-track speed and vertical-rate windows (getDynamicLimits, decisions.md section 3).

    The speed histogram is P(v | G, A, L in the layers the track's altitude spans); the vertical-
    rate histogram P(hdot | G, A, those layers, v in the bins the track's speed spans). Default
    window: speed from the lower edge of the bin holding the low percentile to the upper edge of the
    bin holding the high one; maximum vertical rate max(|lower edge of the low bin|, |upper edge of
    the high bin|). ``reference_limits=True`` reproduces the reference: 1/99 %, upper edges, and its
    fixed-wing floor of 30 compared with ft/s.
    """
    tables = _LimitTables(model, layer_edges)
    n = sample.n_tracks
    speed_min = np.zeros(n)
    speed_max = np.full(n, np.inf)
    hdot_max = np.full(n, np.inf)
    if reference_limits:
        percentiles = (1.0, 99.0)
    v_edges = model.bin_edges("v") if tables.has_speed else None
    h_edges = model.bin_edges("hdot") / units.FPM_PER_FPS  # ft/s
    rotorcraft = model.entry is not None and "rotorcraft" in model.entry.aircraft_class
    fixed_wing = model.entry is not None and "fixed-wing" in model.entry.aircraft_class
    condition = (
        np.stack([sample.initial[role].to_numpy() for role in tables.condition], axis=1)
        if tables.condition
        else np.zeros((n, 0), int)
    )
    # a track's windows depend only on its conditioning bins and the layer and speed bins it spans:
    # compute them once per distinct combination (a few hundred), not once per track
    layer_first, layer_last = _bin_spans(layer_edges, extremes[0], extremes[1])
    if tables.has_speed:
        speed_first, speed_last = _bin_spans(v_edges, units.fps_to_kt(extremes[2]), units.fps_to_kt(extremes[3]))
    else:
        speed_first = speed_last = np.zeros(n, dtype=np.int64)
    keys = np.column_stack([condition.astype(np.int64), layer_first, layer_last, speed_first, speed_last])
    distinct, which = np.unique(keys, axis=0, return_inverse=True)
    which = which.reshape(-1)
    n_condition = condition.shape[1]
    for k, key in enumerate(distinct):
        joint = tables.joint(tuple(int(b) for b in key[:n_condition]))
        layers = slice(int(key[n_condition]), int(key[n_condition + 1]) + 1)
        tracks = which == k
        if tables.has_speed:
            speed_hist = joint[layers].sum(axis=(0, 2))
            lo, hi = _percentile_bins(speed_hist, percentiles)
            low_edge = v_edges[lo + 1] if reference_limits else v_edges[lo]
            low_fps = units.kt_to_fps(low_edge) if not reference_limits else low_edge * units.FPS_PER_KT_MITLL
            high_fps = (
                units.kt_to_fps(v_edges[hi + 1]) if not reference_limits else v_edges[hi + 1] * units.FPS_PER_KT_MITLL
            )
            if rotorcraft:
                high_fps = min(high_fps, ROTORCRAFT_SPEED_CAP_FPS)
            if fixed_wing:
                floor = 30.0 if reference_limits else units.kt_to_fps(FIXED_WING_SPEED_FLOOR_KT)
                low_fps = max(low_fps, floor)
            speed_min[tracks], speed_max[tracks] = low_fps, high_fps
            speeds = slice(int(key[n_condition + 2]), int(key[n_condition + 3]) + 1)
            hdot_hist = joint[layers][:, speeds].sum(axis=(0, 1))
        else:
            hdot_hist = joint[layers].sum(axis=0)
        lo, hi = _percentile_bins(hdot_hist, percentiles)
        low_edge = h_edges[lo + 1] if reference_limits else h_edges[lo]
        hdot_max[tracks] = max(abs(low_edge), abs(h_edges[hi + 1]))
    return ModelLimits(float(layer_edges[0]), float(layer_edges[-1]), speed_min, speed_max, hdot_max)


def _integrator_limits(model: EncounterModel) -> DynamicLimits:
    """Loose integrator limits (bayes `track`): the model limits are enforced by rejection."""
    speed_edges = model.bin_edges("v")
    hdot_edges = model.bin_edges("hdot")
    return DynamicLimits(
        speed_min_fps=INTEGRATOR_SPEED_MIN_FPS,
        speed_max_fps=units.kt_to_fps(speed_edges[-1]),
        hdot_min_fps=units.fpm_to_fps(hdot_edges[0]),
        hdot_max_fps=units.fpm_to_fps(hdot_edges[-1]),
    )


def limit_violations(flown: Trajectories, limits: ModelLimits, *, check_speed: bool) -> np.ndarray:
    """(n, 3) booleans per track: altitude, speed (False unless ``check_speed``), vertical-rate violations."""
    ext = flown.extremes
    altitude = (ext[0] < limits.alt_min_ft) | (ext[1] > limits.alt_max_ft)
    speed = (
        ((ext[2] < limits.speed_min_fps) | (ext[3] > limits.speed_max_fps)) if check_speed else np.zeros_like(altitude)
    )
    stride = max(1, int(round(1.0 / (flown.t_s[1] - flown.t_s[0])))) if flown.t_s.shape[0] > 1 else 1
    alt_1hz = flown.up_ft[:, ::stride]
    rate = np.abs(np.gradient(alt_1hz, axis=1)) if alt_1hz.shape[1] > 1 else np.zeros_like(alt_1hz)
    vertical = rate.max(axis=1) > limits.hdot_max_fps
    return np.stack([altitude, speed, vertical], axis=1)


def _fly_once(model, sample, duration_s, output_hz, command_lead, vertical_only):
    if vertical_only:
        return fly_vertical_only(sample.initial["alt_ft"].to_numpy(), sample.schedule, duration_s, output_hz=output_hz)
    return fly_commands(
        sample.initial_states(),
        sample.schedule,
        duration_s,
        limits=_integrator_limits(model),
        output_hz=output_hz,
        command_lead=command_lead,
    )


def _resolve_model(sample: TrackSample, model) -> EncounterModel:
    return (
        load_model(sample.model_name)
        if model is None
        else (model if isinstance(model, EncounterModel) else load_model(model))
    )


def _split(sample: TrackSample, chunk_size: int | None):
    """``sample`` in consecutive pieces of at most ``chunk_size`` tracks.

    The sampler's rejection counts of the whole sample go with the first piece (zero in the
    others), so that the pieces' counts add up to the sample's.
    """
    import dataclasses

    n = sample.n_tracks
    if chunk_size is None or chunk_size >= n:
        yield sample
        return
    zero = dict.fromkeys(sample.rejections, 0)
    for start in range(0, n, chunk_size):
        piece = sample.take(np.arange(start, min(start + chunk_size, n)))
        yield piece if start == 0 else dataclasses.replace(piece, rejections=dict(zero))


def fly_chunks(
    sample,
    model: EncounterModel | str | None = None,
    *,
    chunk_size: int | None = None,
    output_hz: float = 10.0,
    percentiles=(1.0, 99.0),
    reference_limits: bool = False,
    limits: bool = True,
    strict: bool = False,
    command_lead: bool = False,
    max_attempts: int = 1000,
) -> Iterator[FlownTracks]:
    """Fly sampled tracks chunk by chunk, yielding one `FlownTracks` per chunk, in track order.

    Flying, the limit checks and the redraws of rejected tracks all happen inside a chunk, so at
    most one chunk's trajectories are held at a time. A redrawn track continues its own Philox
    stream (keyed by seed and track id), so the tracks, trajectories, limits and rejection counts
    do not depend on the chunking: concatenating the chunks gives exactly (bit for bit) what
    ``fly(sample)`` gives in one piece.

    Parameters
    ----------
    sample : TrackSample or iterable of TrackSample
        A whole sample (cut into ``chunk_size`` pieces), or already sampled chunks, e.g. a
        generator calling `encsim.sample_tracks` per chunk so that sampling streams too (each is
        cut further if it exceeds ``chunk_size``).
    model : EncounterModel or str, optional
        Defaults to the sample's model (by registry name).
    chunk_size : int, optional
        Tracks per chunk; ``None``: each given sample in one piece.
    output_hz : float
        10 (every step) or a divisor of it (1 Hz to keep memory small). Limits are always checked
        on every 10-Hz sample.
    percentiles : (float, float)
        Speed and vertical-rate window percentiles. The reference's comments say 0.5/99.5, its
        code 1/99; encsim uses 1/99 by default (the code's, which the shipped results came from).
    reference_limits : bool
        Reproduce the reference's getDynamicLimits exactly (upper bin edges, 30 compared with ft/s).
    limits : bool
        Apply the track-level limits (rejection); ``False`` flies the tracks as sampled.
    strict : bool
        Raise instead of warning when the layers leave the model's documented altitude scope.
    command_lead : bool
        The reference's one-step command lead (see `encsim.dynamics.fly_commands`).
    max_attempts : int
        Rejections of one track before giving up.

    Yields
    ------
    FlownTracks
        The accepted tracks of one chunk. Its ``sample.rejections`` holds the sampler's counts of
        that chunk (for a whole sample cut into pieces, its counts go with the first piece) plus
        those of the chunk's redraws, and ``rejections`` the chunk's flight rejections: the
        chunks' counts add up to the whole run's.

    Examples
    --------
    Chunk by chunk (e.g. to write each to a file) gives the same tracks as all at once:

    >>> import numpy as np
    >>> import encsim
    >>> tracks = encsim.sample_tracks("uncor_1200only_fwse_v1p2", 300, 120, rng=1, start={"G": 1, "A": 4})
    >>> parts = list(fly_chunks(tracks, chunk_size=100, output_hz=1))
    >>> [part.trajectories.n_aircraft for part in parts]
    [100, 100, 100]
    >>> whole = encsim.fly(tracks, output_hz=1)
    >>> np.array_equal(np.concatenate([part.trajectories.up_ft for part in parts]), whole.trajectories.up_ft)
    True
    """
    if chunk_size is not None and (isinstance(chunk_size, bool) or int(chunk_size) != chunk_size or chunk_size < 1):
        raise ValueError(f"chunk_size={chunk_size!r}: expected a positive whole number of tracks, or None")
    options = dict(
        output_hz=output_hz,
        percentiles=percentiles,
        reference_limits=reference_limits,
        limits=limits,
        strict=strict,
        command_lead=command_lead,
        max_attempts=max_attempts,
    )
    samples = [sample] if isinstance(sample, TrackSample) else sample
    return _fly_chunks(samples, model, None if chunk_size is None else int(chunk_size), options)


def _fly_chunks(samples, model, chunk_size, options) -> Iterator[FlownTracks]:
    loaded = None
    scoped: set[tuple] = set()
    position = 0
    for given in samples:
        if not isinstance(given, TrackSample):
            raise TypeError(f"fly_chunks: expected TrackSample chunks, got {type(given).__name__}")
        if loaded is None:
            loaded = _resolve_model(given, model)
        for piece in _split(given, chunk_size):
            yield _fly_chunk(piece, loaded, scoped, position, **options)
            position += piece.n_tracks


def fly(
    sample: TrackSample,
    model: EncounterModel | str | None = None,
    *,
    output_hz: float = 10.0,
    percentiles=(1.0, 99.0),
    reference_limits: bool = False,
    limits: bool = True,
    strict: bool = False,
    command_lead: bool = False,
    max_attempts: int = 1000,
    chunk_size: int | None = None,
) -> FlownTracks:
    """Fly sampled tracks at 10 Hz under the model's limits, redrawing rejected tracks.

    Parameters
    ----------
    sample : TrackSample
        From `encsim.sample_tracks`.
    model : EncounterModel or str, optional
        Defaults to the sample's model (by registry name).
    output_hz : float
        10 (every step) or a divisor of it (1 Hz to keep memory small). Limits are always checked
        on every 10-Hz sample.
    percentiles : (float, float)
        Speed and vertical-rate window percentiles. The reference's comments say 0.5/99.5, its
        code 1/99; encsim uses 1/99 by default (the code's, which the shipped results came from).
    reference_limits : bool
        Reproduce the reference's getDynamicLimits exactly (upper bin edges, 30 compared with ft/s).
    limits : bool
        Apply the track-level limits (rejection); ``False`` flies the tracks as sampled.
    strict : bool
        Raise instead of warning when the layers leave the model's documented altitude scope.
    command_lead : bool
        The reference's one-step command lead (see `encsim.dynamics.fly_commands`).
    max_attempts : int
        Rejections of one track before giving up.
    chunk_size : int, optional
        Fly, check and redraw this many tracks at a time (see `fly_chunks`, which yields the
        chunks instead of joining them); the result is identical whatever the chunk size.

    Examples
    --------
    >>> import encsim
    >>> tracks = encsim.sample_tracks("uncor_1200only_fwse_v1p2", 100, 120, rng=1, start={"G": 1, "A": 4})
    >>> flown = encsim.fly(tracks, output_hz=1)
    >>> flown.trajectories.up_ft.shape  # every track kept (rejected ones redrawn), 0..120 s at 1 Hz
    (100, 121)
    >>> flown.rejections
    {'altitude': 7, 'speed': 3, 'vertical_rate': 2}
    """
    parts = list(
        fly_chunks(
            sample,
            model,
            chunk_size=chunk_size,
            output_hz=output_hz,
            percentiles=percentiles,
            reference_limits=reference_limits,
            limits=limits,
            strict=strict,
            command_lead=command_lead,
            max_attempts=max_attempts,
        )
    )
    if len(parts) == 1:
        return parts[0]
    counts = {reason: sum(part.rejections[reason] for part in parts) for reason in REJECTION_REASONS}
    model_limits = None
    if all(part.limits is not None for part in parts):
        first = parts[0].limits
        model_limits = ModelLimits(
            first.alt_min_ft,
            first.alt_max_ft,
            *(
                np.concatenate([getattr(part.limits, name) for part in parts])
                for name in ("speed_min_fps", "speed_max_fps", "hdot_max_fps")
            ),
        )
    return FlownTracks(
        TrackSample.concatenate([part.sample for part in parts]),
        Trajectories.concatenate([part.trajectories for part in parts]),
        counts,
        model_limits,
    )


def _fly_chunk(
    sample: TrackSample,
    model: EncounterModel,
    scoped: set,
    position0: int,
    *,
    output_hz,
    percentiles,
    reference_limits,
    limits,
    strict,
    command_lead,
    max_attempts,
) -> FlownTracks:
    """Fly one chunk, redrawing its rejected tracks until all are accepted."""
    if model.sha256 != sample.model_sha256:
        raise ValueError(f"sample was drawn from {sample.model_name} ({sample.model_sha256[:12]}...), not {model.name}")
    capability = model.entry.fly if model.entry is not None else ("yes" if "v" in model.roles else "vertical-only")
    if capability == "no":
        raise ValueError(f"model {model.name}: flying refused: {model.entry.refusal}")
    vertical_only = capability == "vertical-only"
    layer_edges = np.asarray(sample.layer_edges_ft, dtype=np.float64)
    if tuple(layer_edges) not in scoped:  # warn once per run, not once per chunk
        check_scope(model, layer_edges, strict=strict)
        scoped.add(tuple(layer_edges))
    duration_s = sample.duration_s
    counts = dict.fromkeys(REJECTION_REASONS, 0)
    current = sample
    positions = np.arange(sample.n_tracks)
    accepted_samples, accepted_flights, accepted_positions, accepted_limits = [], [], [], []
    attempts = np.zeros(sample.n_tracks, dtype=np.int64)
    while positions.shape[0]:
        flown = _fly_once(model, current, duration_s, output_hz, command_lead, vertical_only)
        if limits:
            track_windows = track_limits(
                model, current, flown.extremes, layer_edges, percentiles=percentiles, reference_limits=reference_limits
            )
            bad = limit_violations(flown, track_windows, check_speed=not vertical_only)
        else:
            track_windows = None
            bad = np.zeros((positions.shape[0], 3), dtype=bool)
        for k, reason in enumerate(REJECTION_REASONS):
            counts[reason] += int(bad[:, k].sum())
        rejected = bad.any(axis=1)
        ok = np.flatnonzero(~rejected)
        accepted_samples.append(current.take(ok))
        accepted_flights.append(flown.select(ok))
        accepted_positions.append(positions[ok])
        if track_windows is not None:
            accepted_limits.append(
                (track_windows.speed_min_fps[ok], track_windows.speed_max_fps[ok], track_windows.hdot_max_fps[ok])
            )
        again = np.flatnonzero(rejected)
        attempts[positions[again]] += 1
        if again.shape[0] and attempts[positions[again]].max() >= max_attempts:
            worst = int(positions[again][np.argmax(attempts[positions[again]])])
            track_id = int(sample.initial["track_id"].to_numpy()[worst])
            reasons = {reason: count for reason, count in counts.items() if count}
            raise SamplingError(
                f"model {model.name}, presets {sample.presets or {}}: track {track_id} (position "
                f"{position0 + worst}) was rejected by the dynamic limits {max_attempts} times in a row "
                f"({reasons}); the presets or layers may leave too little flyable data"
            )
        if again.shape[0]:
            current = redraw_tracks(model, current, again)
        positions = positions[again]
    order = np.argsort(np.concatenate(accepted_positions), kind="stable")
    final_sample = TrackSample.concatenate(accepted_samples).take(order)
    final_sample = _with_rejections(final_sample, sample, accepted_samples)
    trajectories = Trajectories.concatenate(accepted_flights).select(order)
    model_limits = None
    if accepted_limits:
        lo, hi, rate = (np.concatenate([part[k] for part in accepted_limits])[order] for k in range(3))
        model_limits = ModelLimits(float(layer_edges[0]), float(layer_edges[-1]), lo, hi, rate)
    return FlownTracks(final_sample, trajectories, counts, model_limits)


def _with_rejections(final: TrackSample, original: TrackSample, parts: list[TrackSample]) -> TrackSample:
    """Sampler rejection counts of the original draw plus every redraw."""
    import dataclasses

    total = dict(original.rejections)
    for part in parts[1:]:
        for key, value in part.rejections.items():
            total[key] = total.get(key, 0) + value
    return dataclasses.replace(final, rejections=total)
