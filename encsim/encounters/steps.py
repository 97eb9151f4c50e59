"""The named steps of a paired encounter attempt (mitll-reference section 4, decisions.md section 5).

A source that pairs two aircraft at a sampled closest approach (`encsim.encounters.pairing` for
two model-sampled tracks, `encsim.encounters.small_uas` for a small-UAS mission against a model
intruder) runs, for a batch of attempts:

1. **sample** each aircraft: an object with ``schedule`` (`CommandSchedule`), ``initial_states()``,
   ``initial`` (a DataFrame with ``alt_ft``, the initial altitudes), ``take(positions)`` and
   optionally ``limits`` (`DynamicLimits` it flies with; default the MIT LL ones)
   (`sample_model_aircraft` for a model);
2. **screen** (`screen_vmd`): a conservative altitude interval at tCPA that cannot reach the VMD
   span rejects the attempt without flying;
3. **fly** to tCPA (`fly_to_tcpa`): speeds, vertical rates and the relative altitude there, and
   whether an aircraft went below ground;
4. **place**: draw the VMD acceptance, the intruder heading at CPA and the signed HMD
   (`draw_geometry`), fly both for the whole encounter and place them (`fly_and_place`), check the
   placed pair (`placement_rejections`);
5. **weight** (`weight_columns`): Z x w_HMD x w_VMD and its ingredients.

Every function is a pure function of its arguments, so the steps can be recombined; the order of
floating-point operations is the one the pinned outcomes were recorded with (tests/pinned_outcomes.py).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ellipe

from .. import units
from ..bayes import EncounterModel
from ..commands import InitialStates, take_schedule_rows
from ..dynamics import DT_S, DynamicLimits, Trajectories, fly_commands, step_indices
from ..metrics.detection import Cylinder, separation_metrics, well_clear_preset
from ..sampling import TrackSample
from ..sampling.sampler import TrackBatch, TrackSampler
from ..tracks import limit_violations, track_limits
from . import _kernels

#: sub-streams of an encounter's Philox stream (decisions.md section 10): ownship, intruder, geometry
OWNSHIP_SUB_STREAM, INTRUDER_SUB_STREAM = 0, 1
#: margins of the coarse interval the VMD screen tries first (the largest commanded rate times tCPA)
_COARSE_RATE_MARGIN = 1.1
_COARSE_ALT_MARGIN_FT = 10.0
#: margins of the VMD screen's vertical-rate envelope: a fraction of the largest rate in it, ft/s
#: added to it, ft added to the altitude bounds (the dynamics overshoot a command by far less:
#: tests/test_encounter_kernels.py measures it on every shipped model), and the fraction of the
#: airspeed beyond which the aircraft may not follow its commands (then only |rate| <= airspeed holds)
_SCREEN_MARGINS = np.array([0.05, 0.5, 10.0, 0.5])


# ------------------------------------------------------------------------------------------ sample


@dataclass(frozen=True)
class ModelAircraft:
    """One aircraft sampled from an encounter model: the model, its presets and altitude layers."""

    model: EncounterModel
    presets: dict
    layers: np.ndarray | None

    @functools.cached_property
    def sampler(self) -> TrackSampler:
        """The aircraft's sampler (presets and layers checked once, kept for every round)."""
        return TrackSampler(self.model, self.presets or None, layers_ft=self.layers)


def sample_model_aircraft(
    aircraft: ModelAircraft,
    seed,
    ids: np.ndarray,
    attempts: np.ndarray,
    sub_stream: int,
    duration_s: int,
    rejects_per_track: list | None = None,
) -> TrackBatch:
    """The **sample** step for a model aircraft: track ``ids[i]`` of attempt ``attempts[i]`` on ``sub_stream``.

    The tracks come as a `TrackBatch` (what a `TrackSample` holds, as arrays, for the rounds' takes
    and joins); `EncounterSource.generate` makes the `TrackSample` of the accepted ones.
    """
    return aircraft.sampler.sample(
        ids.astype(np.uint64),
        seed=seed,
        duration_s=duration_s,
        sub_streams=np.full(ids.shape[0], sub_stream, dtype=np.uint64),
        attempts=attempts,
        rejects_per_track=rejects_per_track,
    )


# ------------------------------------------------------------------------------------------ screen


def _dynamic_limits(aircraft, n: int) -> np.ndarray:
    """(6, n) limit rows an aircraft flies with (its own ``limits``, else the MIT LL ones)."""
    return (_limits(aircraft) or DynamicLimits()).as_array(n)


def altitude_reach(states: InitialStates, schedule, limit_rows: np.ndarray, tcpa_s: float):
    """Exact bounds of each aircraft's altitude at tCPA from its commanded vertical rates, and a
    lower bound of its altitude at every sample up to tCPA: (lo, hi, floor).

    The vertical rate stays within the range of its initial value and the (clipped) commands in
    force so far, widened by a margin for the small overshoot of the dynamics
    (`_kernels.altitude_reach_kernel`); integrating that envelope bounds the altitude. Tighter
    than the largest commanded rate times tCPA: an aircraft that climbs all along cannot be found
    below its start. tests/test_encounter_kernels.py flies many tracks of every shipped model and
    checks that no flown altitude at tCPA leaves its bounds, nor any flown altitude before it
    goes under the floor.
    """
    n = states.n_aircraft
    lo, hi, floor = np.empty(n), np.empty(n), np.empty(n)
    if n:
        state0 = np.stack([states.alt_ft, states.speed_fps, states.speed_fps * np.sin(states.pitch_rad)])
        _kernels.altitude_reach_kernel(
            state0,
            schedule.offsets,
            step_indices(schedule, dt_s=DT_S),
            schedule.hdot_fps,
            schedule.vdot_fps2,
            limit_rows,
            int(round(tcpa_s / DT_S)),
            DT_S,
            _SCREEN_MARGINS,
            lo,
            hi,
            floor,
        )
    return lo, hi, floor


def _rate_bound_reach(alt_ft: np.ndarray, schedule, tcpa_s: float) -> tuple[np.ndarray, np.ndarray]:
    """A cheap wider interval: the largest commanded vertical rate (with a margin) times tCPA."""
    rates = np.where(schedule.t_s <= tcpa_s, np.abs(schedule.hdot_fps), 0.0)
    n = schedule.offsets.shape[0] - 1
    max_rate = np.maximum.reduceat(rates, schedule.offsets[:-1]) if rates.size else np.zeros(n)
    reach = max_rate * _COARSE_RATE_MARGIN * tcpa_s + _COARSE_ALT_MARGIN_FT
    return alt_ft - reach, alt_ft + reach


def _reaches(own_lo, own_hi, int_lo, int_hi, vmd_edges) -> np.ndarray:
    return (int_hi - own_lo >= vmd_edges[0]) & (int_lo - own_hi < vmd_edges[-1])


@dataclass(frozen=True)
class Reach:
    """What the screen knows of each attempt without flying it, per aircraft (row 0 the ownship, row
    1 the intruder): the bounds of its altitude at tCPA (ft; NaN where not computed) and whether it
    cannot go below ground before tCPA. `fly_to_tcpa` uses it not to fly the attempts its VMD draw
    must reject, and not to fly the second aircraft of an attempt the first one's flight decides."""

    alt_lo_ft: np.ndarray
    alt_hi_ft: np.ndarray
    floor_clear: np.ndarray

    @classmethod
    def unknown(cls, n: int) -> Reach:
        return cls(np.full((2, n), np.nan), np.full((2, n), np.nan), np.zeros((2, n), dtype=np.bool_))

    def take(self, positions) -> Reach:
        return Reach(self.alt_lo_ft[:, positions], self.alt_hi_ft[:, positions], self.floor_clear[:, positions])


def screen_vmd(own, intruder, geometry) -> np.ndarray:
    """The **screen** step: True where the pair can still reach the VMD span at tCPA (exact: an
    attempt it rejects would have had its relative altitude at tCPA outside the span).

    A coarse interval (largest commanded rate times tCPA) first, then `altitude_reach` for the
    attempts it lets through.
    """
    return screen_vmd_reach(own, intruder, geometry)[0]


def screen_vmd_reach(own, intruder, geometry) -> tuple[np.ndarray, Reach]:
    """`screen_vmd`, and the `Reach` of the attempts it passes (those the coarse interval rejects: unknown)."""
    vmd_edges = np.asarray(geometry.vmd_edges_ft, dtype=np.float64)
    tcpa = geometry.tcpa_s
    own_states, int_states = own.initial_states(), intruder.initial_states()  # kept by the samples: no frame built
    own_alt, int_alt = own_states.alt_ft, int_states.alt_ft
    passed = _reaches(
        *_rate_bound_reach(own_alt, own.schedule, tcpa), *_rate_bound_reach(int_alt, intruder.schedule, tcpa), vmd_edges
    )
    reach = Reach.unknown(passed.shape[0])
    candidates = np.flatnonzero(passed)
    if candidates.size == 0:
        return passed, reach
    bounds = []
    for aircraft, states in ((own, own_states), (intruder, int_states)):
        sub_states = _pick_states(states, candidates)
        schedule, _ = take_schedule_rows(aircraft.schedule, candidates)
        bounds.append(
            altitude_reach(sub_states, schedule, _dynamic_limits(aircraft, states.n_aircraft)[:, candidates], tcpa)
        )
    (own_lo, own_hi, own_floor), (int_lo, int_hi, int_floor) = bounds
    passed[candidates] = _reaches(own_lo, own_hi, int_lo, int_hi, vmd_edges)
    reach.alt_lo_ft[:, candidates] = own_lo, int_lo
    reach.alt_hi_ft[:, candidates] = own_hi, int_hi
    reach.floor_clear[:, candidates] = own_floor >= 0.0, int_floor >= 0.0
    return passed, reach


# --------------------------------------------------------------------------------------------- fly


def _side_arrays(aircraft, states: InitialStates) -> tuple:
    """One side's arrays for `_kernels.fly_attempts_kernel`: initial states, schedule, limits."""
    schedule = aircraft.schedule
    return (
        np.stack([getattr(states, f) for f in InitialStates.FIELDS]),
        schedule.offsets,
        step_indices(schedule, dt_s=DT_S),
        schedule.hdot_fps,
        schedule.psidot_rad_s,
        schedule.vdot_fps2,
        _dynamic_limits(aircraft, states.n_aircraft),
    )


#: the ``hdot_fps`` of flights gathered without their vertical rate: empty and read-only, so that
#: reading a sample of it fails loudly instead of giving a number
NO_VERTICAL_RATE = np.empty((0, 0))
NO_VERTICAL_RATE.flags.writeable = False


@dataclass(frozen=True)
class Flights:
    """Both aircraft of some attempts flown once (`_kernels.fly_attempts_kernel`): to tCPA, and on to
    the end (``n_steps``) for those ``going_on``; ``records`` (own, intruder), (8, n, n_steps + 1),
    hold the flights that went on; ``extremes`` (2, 4, n) theirs over the whole flight;
    ``not_flown`` the attempts not flown at all (tried ahead of one that went on); ``chosen`` the
    attempts (positions) `finish` returns."""

    records: tuple
    extremes: np.ndarray
    going_on: np.ndarray
    not_flown: np.ndarray
    n_steps: int
    chosen: np.ndarray

    def take(self, positions) -> Flights:
        return dataclasses.replace(self, chosen=self.chosen[positions])

    def finish(self, duration_s: float, vertical_rate: bool = True) -> tuple[Trajectories, Trajectories]:
        """The chosen attempts' flights for the whole encounter (each must have gone on).

        Without ``vertical_rate`` their ``hdot_fps`` is `NO_VERTICAL_RATE` (empty): generation reads
        no vertical rate of its flights (the limits take it from the 1-Hz altitudes), and computing it
        (a sine per sample) was 40 % of this copy (benchmarks/README.md, issue 19).
        """
        if int(round(duration_s / DT_S)) != self.n_steps or not np.all(self.going_on[self.chosen]):
            raise ValueError("only the attempts that went on were flown to the end of the encounter")
        t_s = np.arange(self.n_steps + 1) * DT_S
        flown = []
        for side, records in enumerate(self.records):
            chosen = np.empty((8 if vertical_rate else 7, self.chosen.shape[0], records.shape[2]))
            _kernels.gather_flights_kernel(records, self.chosen, chosen)
            rows = tuple(chosen) if vertical_rate else (*chosen, NO_VERTICAL_RATE)
            extremes = np.ascontiguousarray(self.extremes[side][:, self.chosen])
            flown.append(Trajectories(t_s, *rows, extremes=extremes))
        return flown[0], flown[1]


@dataclass(frozen=True)
class AtTcpa:
    """Both aircraft at tCPA: below-ground flags, horizontal speeds and vertical rates (ft/s), the
    relative altitude (intruder minus ownship, ft) and the speeds the heading density uses;
    ``flights`` the flights in progress (`Flights`), for `fly_and_place` to continue."""

    ground: np.ndarray
    v_own: np.ndarray
    v_int: np.ndarray
    hdot_own: np.ndarray
    hdot_int: np.ndarray
    rel_alt: np.ndarray
    heading_speeds: tuple
    flights: Flights | None = None

    def take(self, positions) -> AtTcpa:
        return AtTcpa(
            *(
                getattr(self, f.name)[positions]
                for f in dataclasses.fields(self)
                if f.name not in ("heading_speeds", "flights")
            ),
            heading_speeds=tuple(value[positions] for value in self.heading_speeds),
            flights=None if self.flights is None else self.flights.take(positions),
        )


def _reach_arrays(reach: Reach | None, n: int) -> tuple:
    reach = Reach.unknown(n) if reach is None else reach
    return (
        np.ascontiguousarray(reach.alt_lo_ft, dtype=np.float64),
        np.ascontiguousarray(reach.alt_hi_ft, dtype=np.float64),
        np.ascontiguousarray(reach.floor_clear, dtype=np.bool_),
    )


def _limits(aircraft):
    """An aircraft's own dynamic limits (``limits`` attribute, e.g. a small UAS's), else the default."""
    return getattr(aircraft, "limits", None)


def fly_to_tcpa(
    own, intruder, geometry, tracks=None, vmd_draw=None, first_per_id: bool = False, reach: Reach | None = None
) -> AtTcpa:
    """The **fly** step up to tCPA: where both are at the designed closest approach.

    Flies the attempts at positions ``tracks`` (default all) of both samples at 10 Hz, each once:
    to tCPA, then on to the end of the encounter for those that go on (`fly_and_place` takes these
    flights from ``AtTcpa.flights``). An attempt goes on unless an aircraft went below ground
    before tCPA, and, with ``vmd_draw`` = (seed, ids, attempts) of the attempts, only if the VMD
    draw of its geometry stream accepts it (`draw_geometry` draws the same). With
    ``first_per_id`` (the rows of an id consecutive, in attempt order), the attempts of an id after
    the first that goes on are not flown at all (``AtTcpa.flights.not_flown``). With ``reach``
    (`Reach` of the attempts at ``tracks``) and ``vmd_draw``, an attempt whose draw rejects it
    wherever it can be at tCPA, and that cannot go below ground, is not flown: its results are NaN
    and it does not go on, exactly as flying it would have ended (`draw_geometry` rejects it).
    Otherwise the aircraft with the wider altitude bounds flies first; when it went below ground,
    or when its altitude at tCPA and the other's bounds leave the draw nothing to accept (the other
    unable to go below ground), the other is not flown (its results NaN): the attempt ends as if
    both had flown.
    """
    tcpa = geometry.tcpa_s
    all_own, all_int = own.initial_states(), intruder.initial_states()
    tracks = np.arange(all_own.n_aircraft) if tracks is None else np.asarray(tracks, dtype=np.int64)
    own_states, int_states = _pick_states(all_own, tracks), _pick_states(all_int, tracks)
    n, k_cpa, n_steps = tracks.shape[0], int(round(tcpa / DT_S)), int(round(geometry.duration_s / DT_S))
    vmd_edges = np.asarray(geometry.vmd_edges_ft, dtype=np.float64)
    if vmd_draw is None:
        seed, ids, attempts = np.zeros(1, np.uint64), np.zeros(n, np.uint64), np.zeros(n, np.uint64)
    else:
        seed = np.array([vmd_draw[0]], dtype=np.uint64)
        ids, attempts = (np.asarray(values).astype(np.uint64) for values in vmd_draw[1:])
    cpa = (np.full((2, 7, n), np.nan), np.full((2, 4, n), np.nan), np.empty(n, np.bool_), np.empty(n, np.bool_))
    groups = np.arange(n + 1)
    if first_per_id and n:
        groups = np.concatenate([[0], np.flatnonzero(np.diff(ids.astype(np.int64)) != 0) + 1, [n]])
    end = (np.empty((2, 7, n)), np.empty((2, 4, n)))
    records = (np.empty((8, n, n_steps + 1)), np.empty((8, n, n_steps + 1)))  # pages touched only if going on
    if n:
        _kernels.fly_attempts_kernel(
            _side_arrays(own, all_own),
            _side_arrays(intruder, all_int),
            tracks,
            k_cpa,
            n_steps,
            DT_S,
            np.array([tcpa > 0, vmd_draw is not None, first_per_id], dtype=np.int64),
            (seed, ids, attempts, vmd_edges, vmd_acceptance(geometry.vmd_weights)),
            _reach_arrays(reach, n),
            groups,
            cpa,
            end,
            *records,
        )
    cpa_state, cpa_extremes, going_on, not_flown = cpa
    if tcpa > 0:
        ground = (cpa_extremes[0, 0] < 0) | (cpa_extremes[1, 0] < 0)
        own_speed, own_pitch = cpa_state[0, 0], cpa_state[0, 5]
        int_speed, int_pitch = cpa_state[1, 0], cpa_state[1, 5]
        rel_alt = cpa_state[1, 3] - cpa_state[0, 3]
    else:
        ground = np.zeros(n, dtype=bool)
        own_speed, own_pitch, int_speed, int_pitch = (
            own_states.speed_fps,
            own_states.pitch_rad,
            int_states.speed_fps,
            int_states.pitch_rad,
        )
        rel_alt = int_states.alt_ft - own_states.alt_ft
    v_own = np.sqrt(np.maximum(own_speed**2 - (own_speed * np.sin(own_pitch)) ** 2, 0.1))
    v_int = np.sqrt(np.maximum(int_speed**2 - (int_speed * np.sin(int_pitch)) ** 2, 0.1))
    hdot_own, hdot_int = own_speed * np.sin(own_pitch), int_speed * np.sin(int_pitch)
    if geometry.heading_speeds == "reference":  # the reference's heading density uses t = 0 speeds
        hv_own = np.maximum(0.1, own_states.speed_fps * np.cos(own_states.pitch_rad))
        hv_int = np.maximum(0.1, int_states.speed_fps * np.cos(int_states.pitch_rad))
        hh_own, hh_int = (
            own_states.speed_fps * np.sin(own_states.pitch_rad),
            int_states.speed_fps * np.sin(int_states.pitch_rad),
        )
    else:
        hv_own, hv_int, hh_own, hh_int = v_own, v_int, hdot_own, hdot_int
    flights = Flights(records, end[1], going_on, not_flown, n_steps, np.arange(n))
    return AtTcpa(ground, v_own, v_int, hdot_own, hdot_int, rel_alt, (hv_own, hv_int, hh_own, hh_int), flights)


def _pick_states(states: InitialStates, positions) -> InitialStates:
    return InitialStates(*(getattr(states, f)[positions] for f in InitialStates.FIELDS))


# ------------------------------------------------------------------------------------------- place


def vmd_acceptance(weights) -> np.ndarray:
    """Acceptance probability per VMD bin, a_b = w_b / max(w) (mitll-reference 4.3)."""
    weights = np.asarray(weights, dtype=np.float64)
    return weights / weights.max()


def draw_geometry(seed, ids: np.ndarray, attempts: np.ndarray, at: AtTcpa, geometry) -> dict:
    """The geometry draws of the **place** step, from the geometry sub-stream (seed, id; 2, attempt).

    Returns ``vmd_bin`` (0-based, -1 outside the span), ``accepted`` (VMD acceptance), ``psi``
    (intruder heading at CPA, rad), ``hmd`` (signed HMD, ft) and ``hmd_bin``.
    """
    m = ids.shape[0]
    acceptance = vmd_acceptance(geometry.vmd_weights)
    proportions = np.asarray(geometry.hmd_proportions, dtype=np.float64)
    out = {
        "vmd_bin": np.empty(m, np.int64),
        "accepted": np.empty(m, np.bool_),
        "psi": np.zeros(m),
        "hmd": np.zeros(m),
        "hmd_bin": np.zeros(m, np.int64),
    }
    hv_own, hv_int, hh_own, hh_int = at.heading_speeds
    _kernels.geometry_kernel(
        _kernels.Attempts(
            np.uint64(seed),
            ids.astype(np.uint64),
            attempts.astype(np.uint64),
            at.rel_alt,
            hv_own,
            hv_int,
            hh_own,
            hh_int,
        ),
        _kernels.Proposal(
            np.asarray(geometry.vmd_edges_ft, dtype=np.float64),
            acceptance,
            np.asarray(geometry.hmd_edges_ft, dtype=np.float64),
            np.cumsum(proportions) / proportions.sum(),
        ),
        _kernels.GeometryOutputs(out["vmd_bin"], out["accepted"], out["psi"], out["hmd"], out["hmd_bin"]),
    )
    return out


def _placed(trajectories: Trajectories, north, east, angle) -> Trajectories:
    return dataclasses.replace(
        trajectories, north_ft=north, east_ft=east, heading_rad=trajectories.heading_rad + angle[:, None]
    )


@dataclass(frozen=True)
class Placed:
    """Both aircraft flown for the whole encounter at 10 Hz: as flown and as placed (``*_placed``)."""

    own_flown: Trajectories
    int_flown: Trajectories
    own_placed: Trajectories
    int_placed: Trajectories
    k_cpa: int


def fly_and_place(
    own, intruder, psi: np.ndarray, hmd: np.ndarray, at: AtTcpa, geometry, vertical_rate: bool = True
) -> Placed:
    """The **fly** and **place** steps for the whole encounter.

    Both fly at 10 Hz (the flights of ``at`` continued from tCPA when it has them; else ``own``
    and ``intruder`` flown from the start); each is rotated about its tCPA position (ownship
    heading 0 at CPA, intruder at ``psi``), the intruder is placed perpendicular to the relative
    velocity at the signed HMD, and both are translated so that the ownship starts at the origin
    (`_kernels.place_kernel`, one pass). Without ``vertical_rate``, the flights continued from
    ``at`` carry no vertical rate (`Flights.finish`).
    """
    duration = geometry.duration_s
    if at.flights is not None:  # the flights to tCPA, continued
        own_flown, int_flown = at.flights.finish(duration, vertical_rate)
    else:
        own_states, int_states = own.initial_states(), intruder.initial_states()
        own_flown = fly_commands(own_states, own.schedule, duration, output_hz=10.0, limits=_limits(own))
        int_flown = fly_commands(int_states, intruder.schedule, duration, output_hz=10.0, limits=_limits(intruder))
    k_cpa = int(round(geometry.tcpa_s * 10))
    own_angle = -own_flown.heading_rad[:, k_cpa]
    int_angle = psi - int_flown.heading_rad[:, k_cpa]
    rel_vn, rel_ve = at.v_int * np.cos(psi) - at.v_own, at.v_int * np.sin(psi)
    rel_norm = np.maximum(np.hypot(rel_vn, rel_ve), 1e-9)
    placed = np.empty((4, *own_flown.north_ft.shape))
    _kernels.place_kernel(
        own_flown.north_ft,
        own_flown.east_ft,
        int_flown.north_ft,
        int_flown.east_ft,
        k_cpa,
        np.stack([np.cos(own_angle), np.sin(own_angle), np.cos(int_angle), np.sin(int_angle)]),
        np.stack([hmd * rel_ve / rel_norm, hmd * rel_vn / rel_norm]),
        placed,
    )
    own_n, own_e, int_n, int_e = placed
    own_placed = _placed(own_flown, own_n, own_e, own_angle)
    return Placed(own_flown, int_flown, own_placed, _placed(int_flown, int_n, int_e, int_angle), k_cpa)


def _as_dict(trajectories: Trajectories) -> dict:
    return {
        name: getattr(trajectories, name)
        for name in ("north_ft", "east_ft", "up_ft", "speed_fps", "heading_rad", "pitch_rad")
    }


def initial_from(trajectories: Trajectories, rows=None) -> InitialStates:
    """The first sample of each flight (of ``rows``, default all) as initial states (placed: what the
    closed loop starts from)."""
    rows = slice(None) if rows is None else rows
    return InitialStates(
        trajectories.speed_fps[rows, 0],
        trajectories.north_ft[rows, 0],
        trajectories.east_ft[rows, 0],
        trajectories.up_ft[rows, 0],
        trajectories.heading_rad[rows, 0],
        trajectories.pitch_rad[rows, 0],
        trajectories.bank_rad[rows, 0],
    )


def placed_metrics(placed: Placed, metrics_spec):
    """Separation metrics of the placed pair: HMD, VMD, TCA, NMAC (the scenario's cylinder), LoWC."""
    return separation_metrics(
        placed.own_placed.t_s,
        _as_dict(placed.own_placed),
        _as_dict(placed.int_placed),
        cylinder=Cylinder("NMAC", metrics_spec.nmac_radius_ft, metrics_spec.nmac_half_height_ft),
        volume=well_clear_preset(metrics_spec.well_clear),
    )


def filter_fails(spec, trajectories: Trajectories, k_cpa: int) -> np.ndarray:
    """Rows outside a side's speed and altitude filters (at CPA or over the whole encounter)."""
    speed_fps, alt = trajectories.speed_fps, trajectories.up_ft
    if spec.filter_at == "cpa":
        speed_fps, alt = speed_fps[:, k_cpa : k_cpa + 1], alt[:, k_cpa : k_cpa + 1]
    fails = np.zeros(trajectories.n_aircraft, dtype=bool)
    for values, to_filter_units, low, high in (
        (speed_fps, units.fps_to_kt, spec.min_speed_kt, spec.max_speed_kt),
        (alt, np.asarray, spec.min_alt_ft, spec.max_alt_ft),
    ):
        if low is None and high is None:  # no filter (the usual case): nothing to convert or compare
            continue
        values = to_filter_units(values)
        if low is not None:
            fails |= np.any(values < low, axis=1)
        if high is not None:
            fails |= np.any(values > high, axis=1)
    return fails


def limits_fail(aircraft: ModelAircraft, sample: TrackSample, flown: Trajectories) -> np.ndarray:
    """Rows breaking the model's track-level limits (mitll-reference 3.7)."""
    layers = sample.layer_edges_ft
    limits = track_limits(aircraft.model, sample, flown.extremes, layers)
    return limit_violations(flown, limits, check_speed=True).any(axis=1)


def placement_rejections(placed: Placed, metrics, draws: dict, at: AtTcpa, geometry) -> tuple[dict, np.ndarray]:
    """The checks of the placed pair shared by every paired source: ``below_ground``, ``hmd_mismatch``,
    ``vmd_mismatch`` (realised vs sampled), ``initial_separation``; returns the masks and the
    initial horizontal range (ft)."""
    own_placed, int_placed = placed.own_placed, placed.int_placed
    reasons = {}
    reasons["below_ground"] = (placed.own_flown.extremes[0] < 0) | (placed.int_flown.extremes[0] < 0)
    if geometry.check_hmd_vmd:
        reasons["hmd_mismatch"] = np.abs(metrics.hmd_ft - np.abs(draws["hmd"])) >= geometry.hmd_tolerance_ft
        reasons["vmd_mismatch"] = np.abs(metrics.vmd_ft - np.abs(at.rel_alt)) >= geometry.vmd_tolerance_ft
    range0 = np.hypot(
        int_placed.north_ft[:, 0] - own_placed.north_ft[:, 0], int_placed.east_ft[:, 0] - own_placed.east_ft[:, 0]
    )
    dz0 = np.abs(int_placed.up_ft[:, 0] - own_placed.up_ft[:, 0])
    reasons["initial_separation"] = (dz0 < geometry.min_initial_vertical_ft) & (
        range0 < geometry.min_initial_range_nm * units.FT_PER_NM
    )
    return reasons, range0


# ------------------------------------------------------------------------------------------ weight


def relative_speed_normaliser(v_own, v_int, hdot_own, hdot_int, elliptic: str = "correct") -> np.ndarray:
    """Z = integral over psi of |v_rel(psi)|: 4 sqrt(A) E(m), or the reference's 4 sqrt(A) E(sqrt(m))."""
    a = (v_own + v_int) ** 2 + (hdot_int - hdot_own) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(a > 0, 4.0 * v_own * v_int / np.where(a > 0, a, 1.0), 0.0)
    parameter = np.sqrt(m) if elliptic == "reference" else m
    return 4.0 * np.sqrt(a) * ellipe(np.clip(parameter, 0.0, 1.0))


def hmd_density(edges: np.ndarray, proportions: np.ndarray, hmd_signed: np.ndarray) -> np.ndarray:
    """Proposal density q at the signed HMD (the last bin's beyond the edges, as the reference)."""
    probabilities = proportions / proportions.sum()
    density = probabilities / np.diff(edges)
    b = np.clip(np.searchsorted(edges, hmd_signed, side="right") - 1, 0, density.shape[0] - 1)
    return density[b]


def weight_columns(at: AtTcpa, draws: dict, geometry) -> dict:
    """The **weight** step: w = Z x w_HMD x w_VMD with its ingredients, as metadata columns."""
    proportions = np.asarray(geometry.hmd_proportions, dtype=np.float64)
    hmd_edges = np.asarray(geometry.hmd_edges_ft, dtype=np.float64)
    density = hmd_density(hmd_edges, proportions, draws["hmd"])
    normaliser = relative_speed_normaliser(at.v_own, at.v_int, at.hdot_own, at.hdot_int, geometry.elliptic)
    w_hmd = (1.0 / (2.0 * geometry.max_hmd_ft)) / density
    w_vmd = 1.0 / vmd_acceptance(geometry.vmd_weights)[draws["vmd_bin"]]
    return {
        "weight": normaliser * w_hmd * w_vmd,
        "weight_normaliser": normaliser,
        "weight_hmd": w_hmd,
        "weight_vmd": w_vmd,
        "hmd_proposal_density": density,
    }


def metadata_frame(ids, attempts, at: AtTcpa, draws: dict, placed: Placed, metrics, range0, geometry, good):
    """The metadata of the accepted rows ``good`` of a placed batch: weights, geometry, speeds and
    altitudes at start, tCPA and TCA, nominal outcome.

    The designed closest approach is at tCPA (``*_tcpa_*`` columns); the realised one, at TCA, can
    differ when the aircraft manoeuvre (``*_tca_*`` columns: the nearest 10-Hz sample to TCA).
    """
    return pd.DataFrame(metadata_columns(ids, attempts, at, draws, placed, metrics, range0, geometry, good))


def metadata_columns(ids, attempts, at: AtTcpa, draws: dict, placed: Placed, metrics, range0, geometry, good) -> dict:
    """`metadata_frame` as a dict of arrays (what `EncounterSource.generate` joins over its rounds)."""
    own_placed, int_placed, k_cpa = placed.own_placed, placed.int_placed, placed.k_cpa
    last_sample = own_placed.up_ft.shape[1] - 1
    k_tca = np.clip(np.rint(metrics.tca_s[good] * 10.0).astype(np.int64), 0, last_sample)
    fps_to_kt = units.fps_to_kt
    at_good = at.take(good)
    draws_good = {key: value[good] for key, value in draws.items()}
    return {
        "encounter_id": ids[good].astype(np.int64),
        "attempt": attempts[good].astype(np.int64),
        **weight_columns(at_good, draws_good, geometry),
        "vmd_bin": draws_good["vmd_bin"] + 1,
        "own_hspeed_tcpa_fps": at_good.v_own,
        "int_hspeed_tcpa_fps": at_good.v_int,
        "own_hdot_tcpa_fps": at_good.hdot_own,
        "int_hdot_tcpa_fps": at_good.hdot_int,
        "int_heading_tcpa_rad": draws_good["psi"],
        "hmd_signed_sampled_ft": draws_good["hmd"],
        "vmd_signed_sampled_ft": at_good.rel_alt,
        "hmd_ft": metrics.hmd_ft[good],
        "vmd_ft": metrics.vmd_ft[good],
        "vmd_signed_ft": metrics.vmd_signed_ft[good],
        "tca_s": metrics.tca_s[good],
        "own_alt_start_ft": own_placed.up_ft[good, 0],
        "int_alt_start_ft": int_placed.up_ft[good, 0],
        "own_alt_tcpa_ft": own_placed.up_ft[good, k_cpa],
        "int_alt_tcpa_ft": int_placed.up_ft[good, k_cpa],
        "own_alt_tca_ft": own_placed.up_ft[good, k_tca],
        "int_alt_tca_ft": int_placed.up_ft[good, k_tca],
        "own_speed_start_kt": fps_to_kt(own_placed.speed_fps[good, 0]),
        "int_speed_start_kt": fps_to_kt(int_placed.speed_fps[good, 0]),
        "own_speed_tcpa_kt": fps_to_kt(own_placed.speed_fps[good, k_cpa]),
        "int_speed_tcpa_kt": fps_to_kt(int_placed.speed_fps[good, k_cpa]),
        "own_speed_tca_kt": fps_to_kt(own_placed.speed_fps[good, k_tca]),
        "int_speed_tca_kt": fps_to_kt(int_placed.speed_fps[good, k_tca]),
        "nmac": metrics.nmac[good],
        "lowc": metrics.lowc[good],
        "t_lowc_entry_s": metrics.t_lowc_entry_s[good],
        "t_lowc_exit_s": metrics.t_lowc_exit_s[good],
        "range_start_ft": range0[good],
    }
