"""Uncorrelated encounters by importance sampling (mitll-reference section 4, decisions.md section 5).

Encounter k of a scenario draws only from streams keyed by (seed, k): attempt a samples the
ownship on sub-stream 0 and the intruder on sub-stream 1 (attempt a), and the geometry on
sub-stream 2. So encounter k is the same whatever else is generated with it, in any chunking.

One attempt:

1. sample both tracks (presets, layers) and screen them cheaply: an attempt whose conservative
   altitude interval at tCPA cannot reach the VMD span is rejected without flying (``vmd_screen``);
2. fly both to tCPA; reject if either goes below ground (``below_ground``); the VMD acceptance
   test on the natural relative altitude at tCPA (``vmd``), acceptance a_b = w_b / max(w);
3. intruder heading at CPA with density proportional to the relative speed, signed HMD from the
   piecewise-uniform proposal, both from the geometry stream;
4. fly both for the whole encounter at 10 Hz, rotate each about its tCPA position (ownship heading
   0 at CPA, intruder at the drawn heading) and place the intruder perpendicular to the relative
   velocity at the signed HMD; translate so the ownship starts at the origin;
5. reject on the realised HMD/VMD (``hmd_mismatch``, ``vmd_mismatch``), the intended initial
   separation rule (``initial_separation``: |dh(0)| < H_min and R(0) < R_min), the filters
   (``filter_ownship``/``filter_intruder``) and optionally the model's track limits.

Weight w = Z x w_HMD x w_VMD, Z = 4 sqrt(A) E(m), A = (v1 + v2)^2 + (hdot2 - hdot1)^2,
m = 4 v1 v2 / A with the tCPA speeds (the same ones as the heading density), E the complete elliptic
integral of the second kind with parameter m (the reference passes sqrt(m): ``elliptic="reference"``);
w_HMD = (1 / (2 max_hmd)) / q(HMD); w_VMD = 1 / a_b. Every ingredient is stored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import ellipe

from .. import units
from ..bayes import EncounterModel, load_model
from ..commands import InitialStates
from ..dynamics import Trajectories, fly_commands
from ..metrics.detection import Cylinder, separation_metrics, well_clear_preset
from ..random import seed_to_uint64
from ..sampling import TrackSample, check_scope, sample_track_ids
from ..tracks import limit_violations, track_limits
from . import _kernels

if TYPE_CHECKING:  # the schema is io's; the generator reads only its fields, so io stays above it
    from ..io.scenario import Scenario

REJECTION_REASONS = (
    "vmd_screen",
    "below_ground",
    "vmd",
    "hmd_mismatch",
    "vmd_mismatch",
    "initial_separation",
    "filter_ownship",
    "filter_intruder",
    "limits_ownship",
    "limits_intruder",
)
#: margin on the commanded vertical rates of the cheap VMD screen (the dynamics track commands,
#: they do not exceed them by more than rounding; the margin keeps the screen conservative)
_SCREEN_RATE_MARGIN = 1.1
_SCREEN_ALT_MARGIN_FT = 10.0


#: attempts per round: one per pending encounter while many are pending; when few are left, several
#: attempts each, so that a round keeps about this many attempts (a round has a fixed cost, and
#: the acceptance rate is a few per cent in the shipped scenarios)
_ATTEMPTS_PER_ROUND = 1000
_MAX_ATTEMPTS_PER_ID_PER_ROUND = 64


class EncounterError(RuntimeError):
    """An encounter that could not be generated within the attempt cap."""


@dataclass(frozen=True)
class _Side:
    model: EncounterModel
    presets: dict
    layers: np.ndarray | None


@dataclass(frozen=True)
class EncounterSet:
    """Accepted encounters: metadata, both aircraft's replayable states and commands, outcomes.

    ``metadata`` has one row per encounter: ``encounter_id``, ``attempts``, ``weight`` and its
    ingredients, sampled and realised HMD/VMD, TCA, speeds and altitudes at start and at CPA, and
    the nominal outcome (``nmac``, ``lowc``, LoWC entry/exit). ``ownship``/``intruder`` are the
    accepted tracks (`TrackSample`, commands unchanged by placement); ``own_initial``/``int_initial``
    their placed initial states, so that ``fly_commands(own_initial, ownship.schedule, duration)``
    replays the encounter exactly.
    """

    scenario: Scenario
    scenario_text: str
    seed: int
    metadata: pd.DataFrame
    ownship: TrackSample
    intruder: TrackSample
    own_initial: InitialStates
    int_initial: InitialStates
    rejections: dict = field(default_factory=dict)
    trajectories: tuple[Trajectories, Trajectories] | None = None

    @property
    def n_encounters(self) -> int:
        return len(self.metadata)

    @property
    def attempts_total(self) -> int:
        return int(self.metadata["attempts"].sum())

    @property
    def acceptance_rate(self) -> float:
        return self.n_encounters / self.attempts_total if self.attempts_total else float("nan")

    def __repr__(self) -> str:
        from .._reprs import encounters_repr

        return encounters_repr(self)

    def _repr_html_(self) -> str:
        from .._reprs import encounters_html

        return encounters_html(self)


#: the variables a model must have to fly and pair tracks (roles, not labels)
_ENCOUNTER_ROLES = ("L", "v", "hdot", "psidot")


def _side(spec) -> _Side:
    model = load_model(spec.model)
    refuse_for_encounters(model)
    layers = None if spec.layers_ft is None else np.asarray(spec.layer_edges(), dtype=np.float64)
    return _Side(model, dict(spec.presets), layers)


def refuse_for_encounters(model) -> None:
    """Raise ValueError for a model encsim cannot pair into encounters, however it was named.

    A registry model (also when given by path: the registry knows the file by its checksum) carries
    its own verdict; an unregistered file must at least have the variables the generator flies.
    """
    entry = model.entry
    if entry is not None and not entry.encounters:
        raise ValueError(f"model {model.name}: encounters refused: {entry.refusal or 'not supported'}")
    missing = [role for role in _ENCOUNTER_ROLES if role not in model.roles]
    if missing:
        raise ValueError(
            f"model {model.name}: encounters need the variables {list(_ENCOUNTER_ROLES)} (altitude layer, "
            f"airspeed, vertical rate, turn rate); this model has no {missing}"
        )


def vmd_acceptance(weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    return weights / weights.max()


def relative_speed_normaliser(v_own, v_int, hdot_own, hdot_int, elliptic: str = "correct") -> np.ndarray:
    """Z = integral over psi of |v_rel(psi)|: 4 sqrt(A) E(m), or the reference's 4 sqrt(A) E(sqrt(m))."""
    a = (v_own + v_int) ** 2 + (hdot_int - hdot_own) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(a > 0, 4.0 * v_own * v_int / np.where(a > 0, a, 1.0), 0.0)
    parameter = np.sqrt(m) if elliptic == "reference" else m
    return 4.0 * np.sqrt(a) * ellipe(np.clip(parameter, 0.0, 1.0))


def _hmd_density(edges: np.ndarray, proportions: np.ndarray, hmd_signed: np.ndarray) -> np.ndarray:
    """Proposal density q at the signed HMD (the last bin's beyond the edges, as the reference)."""
    probabilities = proportions / proportions.sum()
    density = probabilities / np.diff(edges)
    b = np.clip(np.searchsorted(edges, hmd_signed, side="right") - 1, 0, density.shape[0] - 1)
    return density[b]


def _screen(sample: TrackSample, tcpa_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Conservative altitude interval at tCPA from the initial altitude and commanded rates."""
    schedule = sample.schedule
    rates = np.where(schedule.t_s <= tcpa_s, np.abs(schedule.hdot_fps), 0.0)
    max_rate = np.maximum.reduceat(rates, schedule.offsets[:-1]) if rates.size else np.zeros(sample.n_tracks)
    reach = max_rate * _SCREEN_RATE_MARGIN * tcpa_s + _SCREEN_ALT_MARGIN_FT
    alt = sample.initial["alt_ft"].to_numpy()
    return alt - reach, alt + reach


def _rotate(north, east, pivot_n, pivot_e, angle):
    cos_a, sin_a = np.cos(angle)[:, None], np.sin(angle)[:, None]
    dn, de = north - pivot_n[:, None], east - pivot_e[:, None]
    return pivot_n[:, None] + cos_a * dn - sin_a * de, pivot_e[:, None] + sin_a * dn + cos_a * de


def _placed(trajectories: Trajectories, north, east, angle) -> Trajectories:
    return dataclasses.replace(
        trajectories, north_ft=north, east_ft=east, heading_rad=trajectories.heading_rad + angle[:, None]
    )


def _filter_fails(spec, trajectories: Trajectories, k_cpa: int) -> np.ndarray:
    speed_kt = units.fps_to_kt(trajectories.speed_fps)
    alt = trajectories.up_ft
    if spec.filter_at == "cpa":
        speed_kt, alt = speed_kt[:, k_cpa : k_cpa + 1], alt[:, k_cpa : k_cpa + 1]
    fails = np.zeros(trajectories.n_aircraft, dtype=bool)
    for values, low, high in (
        (speed_kt, spec.min_speed_kt, spec.max_speed_kt),
        (alt, spec.min_alt_ft, spec.max_alt_ft),
    ):
        if low is not None:
            fails |= np.any(values < low, axis=1)
        if high is not None:
            fails |= np.any(values > high, axis=1)
    return fails


def _limits_fail(side: _Side, sample: TrackSample, flown: Trajectories) -> np.ndarray:
    layers = sample.layer_edges_ft
    limits = track_limits(side.model, sample, flown.extremes, layers)
    return limit_violations(flown, limits, check_speed=True).any(axis=1)


def _reason_code(reason: str) -> int:
    return REJECTION_REASONS.index(reason) + 1


def _attempt_batch(
    scenario: Scenario,
    own: _Side,
    intr: _Side,
    seed: int,
    ids: np.ndarray,
    attempts: np.ndarray,
    keep_trajectories: bool = False,
    sampler_rejects: dict | None = None,
) -> tuple[np.ndarray, dict | None]:
    """One attempt per row (encounter id, attempt number).

    Returns a code per row (0 accepted, else 1 + the index of its rejection reason) and the data of
    the accepted rows (``rows`` gives their positions in the input), or None if none was accepted.
    ``sampler_rejects`` (a dict) receives, per side, the sampler's own redraws of each row's track
    (reason names, (rows, reasons) counts): empty columns and the initial speed rule.
    """
    geometry = scenario.geometry
    n = ids.shape[0]
    codes = np.zeros(n, dtype=np.int64)
    rows = np.arange(n)
    duration, tcpa = geometry.duration_s, geometry.tcpa_s
    own_rejects, int_rejects = [], []
    own_tracks = sample_track_ids(
        own.model,
        ids.astype(np.uint64),
        seed=seed,
        duration_s=duration,
        start=own.presets or None,
        layers_ft=own.layers,
        sub_streams=np.zeros(n),
        attempts=attempts,
        rejects_per_track=own_rejects,
    )
    int_tracks = sample_track_ids(
        intr.model,
        ids.astype(np.uint64),
        seed=seed,
        duration_s=duration,
        start=intr.presets or None,
        layers_ft=intr.layers,
        sub_streams=np.ones(n),
        attempts=attempts,
        rejects_per_track=int_rejects,
    )
    if sampler_rejects is not None:
        sampler_rejects.update(ownship=own_rejects[0], intruder=int_rejects[0])
    vmd_edges = np.asarray(geometry.vmd_edges_ft, dtype=np.float64)
    own_lo, own_hi = _screen(own_tracks, tcpa)
    int_lo, int_hi = _screen(int_tracks, tcpa)
    reachable = (int_hi - own_lo >= vmd_edges[0]) & (int_lo - own_hi < vmd_edges[-1])
    codes[~reachable] = _reason_code("vmd_screen")
    keep = np.flatnonzero(reachable)
    if keep.size == 0:
        return codes, None
    own_tracks, int_tracks, ids, attempts, rows = (
        own_tracks.take(keep),
        int_tracks.take(keep),
        ids[keep],
        attempts[keep],
        rows[keep],
    )

    # fly to tCPA (1-Hz records) for the altitudes and speeds there
    own_states, int_states = own_tracks.initial_states(), int_tracks.initial_states()
    if tcpa > 0:
        own_cpa = fly_commands(own_states, own_tracks.schedule, tcpa, output_hz=1.0)
        int_cpa = fly_commands(int_states, int_tracks.schedule, tcpa, output_hz=1.0)
        ground = (own_cpa.extremes[0] < 0) | (int_cpa.extremes[0] < 0)
        at = (own_cpa, int_cpa)
        own_speed, own_pitch = own_cpa.speed_fps[:, -1], own_cpa.pitch_rad[:, -1]
        int_speed, int_pitch = int_cpa.speed_fps[:, -1], int_cpa.pitch_rad[:, -1]
        rel_alt = int_cpa.up_ft[:, -1] - own_cpa.up_ft[:, -1]
        del at
    else:
        ground = np.zeros(keep.size, dtype=bool)
        own_speed, own_pitch, int_speed, int_pitch = (
            own_states.speed_fps,
            own_states.pitch_rad,
            int_states.speed_fps,
            int_states.pitch_rad,
        )
        rel_alt = int_states.alt_ft - own_states.alt_ft
    codes[rows[ground]] = _reason_code("below_ground")
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

    m = keep.size
    acceptance = vmd_acceptance(geometry.vmd_weights)
    proportions = np.asarray(geometry.hmd_proportions, dtype=np.float64)
    hmd_edges = np.asarray(geometry.hmd_edges_ft, dtype=np.float64)
    out = {
        "vmd_bin": np.empty(m, np.int64),
        "accepted": np.empty(m, np.bool_),
        "psi": np.zeros(m),
        "hmd": np.zeros(m),
        "hmd_bin": np.zeros(m, np.int64),
    }
    _kernels.geometry_kernel(
        _kernels.Attempts(
            np.uint64(seed), ids.astype(np.uint64), attempts.astype(np.uint64), rel_alt, hv_own, hv_int, hh_own, hh_int
        ),
        _kernels.Proposal(vmd_edges, acceptance, hmd_edges, np.cumsum(proportions) / proportions.sum()),
        _kernels.GeometryOutputs(out["vmd_bin"], out["accepted"], out["psi"], out["hmd"], out["hmd_bin"]),
    )
    vmd_ok = out["accepted"] & ~ground
    codes[rows[~out["accepted"] & ~ground]] = _reason_code("vmd")
    keep2 = np.flatnonzero(vmd_ok)
    if keep2.size == 0:
        return codes, None
    rows = rows[keep2]

    # fly the survivors for the whole encounter at 10 Hz and place them
    own_tracks, int_tracks = own_tracks.take(keep2), int_tracks.take(keep2)
    own_states, int_states = own_tracks.initial_states(), int_tracks.initial_states()
    own_flown = fly_commands(own_states, own_tracks.schedule, duration, output_hz=10.0)
    int_flown = fly_commands(int_states, int_tracks.schedule, duration, output_hz=10.0)
    sel = {key: value[keep2] for key, value in out.items()}
    ids, attempts, rel_alt = ids[keep2], attempts[keep2], rel_alt[keep2]
    v_own, v_int, hdot_own, hdot_int = v_own[keep2], v_int[keep2], hdot_own[keep2], hdot_int[keep2]
    k_cpa = int(round(tcpa * 10))
    own_angle = -own_flown.heading_rad[:, k_cpa]
    int_angle = sel["psi"] - int_flown.heading_rad[:, k_cpa]
    own_n, own_e = _rotate(
        own_flown.north_ft, own_flown.east_ft, own_flown.north_ft[:, k_cpa], own_flown.east_ft[:, k_cpa], own_angle
    )
    int_n, int_e = _rotate(
        int_flown.north_ft, int_flown.east_ft, int_flown.north_ft[:, k_cpa], int_flown.east_ft[:, k_cpa], int_angle
    )
    rel_vn, rel_ve = v_int * np.cos(sel["psi"]) - v_own, v_int * np.sin(sel["psi"])
    rel_norm = np.maximum(np.hypot(rel_vn, rel_ve), 1e-9)
    target_n = own_n[:, k_cpa] + sel["hmd"] * rel_ve / rel_norm
    target_e = own_e[:, k_cpa] - sel["hmd"] * rel_vn / rel_norm
    int_n += (target_n - int_n[:, k_cpa])[:, None]
    int_e += (target_e - int_e[:, k_cpa])[:, None]
    origin_n, origin_e = own_n[:, :1].copy(), own_e[:, :1].copy()
    own_n, own_e, int_n, int_e = own_n - origin_n, own_e - origin_e, int_n - origin_n, int_e - origin_e
    own_placed = _placed(own_flown, own_n, own_e, own_angle)
    int_placed = _placed(int_flown, int_n, int_e, int_angle)

    metrics_spec = scenario.metrics
    metrics = separation_metrics(
        own_placed.t_s,
        _as_dict(own_placed),
        _as_dict(int_placed),
        cylinder=Cylinder("NMAC", metrics_spec.nmac_radius_ft, metrics_spec.nmac_half_height_ft),
        volume=well_clear_preset(metrics_spec.well_clear),
    )
    reasons = {}
    below = (own_flown.extremes[0] < 0) | (int_flown.extremes[0] < 0)
    reasons["below_ground"] = below
    if geometry.check_hmd_vmd:
        reasons["hmd_mismatch"] = np.abs(metrics.hmd_ft - np.abs(sel["hmd"])) >= geometry.hmd_tolerance_ft
        reasons["vmd_mismatch"] = np.abs(metrics.vmd_ft - np.abs(rel_alt)) >= geometry.vmd_tolerance_ft
    range0 = np.hypot(int_n[:, 0] - own_n[:, 0], int_e[:, 0] - own_e[:, 0])
    dz0 = np.abs(int_placed.up_ft[:, 0] - own_placed.up_ft[:, 0])
    reasons["initial_separation"] = (dz0 < geometry.min_initial_vertical_ft) & (
        range0 < geometry.min_initial_range_nm * units.FT_PER_NM
    )
    reasons["filter_ownship"] = _filter_fails(scenario.ownship, own_placed, k_cpa)
    reasons["filter_intruder"] = _filter_fails(scenario.intruder, int_placed, k_cpa)
    if geometry.track_limits:
        reasons["limits_ownship"] = _limits_fail(own, own_tracks, own_flown)
        reasons["limits_intruder"] = _limits_fail(intr, int_tracks, int_flown)
    rejected = np.zeros(keep2.size, dtype=bool)
    for reason, mask in reasons.items():
        codes[rows[mask & ~rejected]] = _reason_code(reason)  # each attempt counted once, first reason
        rejected |= mask
    good = np.flatnonzero(~rejected)
    if good.size == 0:
        return codes, None

    # the designed closest approach is at tCPA (`*_tcpa_*` columns); the realised one, at TCA, can
    # differ when the aircraft manoeuvre (`*_tca_*` columns: the nearest 10-Hz sample to TCA)
    last_sample = own_placed.up_ft.shape[1] - 1
    k_tca = np.clip(np.rint(metrics.tca_s[good] * 10.0).astype(np.int64), 0, last_sample)
    hmd_density = _hmd_density(hmd_edges, proportions, sel["hmd"][good])
    normaliser = relative_speed_normaliser(v_own[good], v_int[good], hdot_own[good], hdot_int[good], geometry.elliptic)
    w_hmd = (1.0 / (2.0 * geometry.max_hmd_ft)) / hmd_density
    w_vmd = 1.0 / acceptance[sel["vmd_bin"][good]]
    frame = pd.DataFrame(
        {
            "encounter_id": ids[good].astype(np.int64),
            "attempt": attempts[good].astype(np.int64),
            "weight": normaliser * w_hmd * w_vmd,
            "weight_normaliser": normaliser,
            "weight_hmd": w_hmd,
            "weight_vmd": w_vmd,
            "hmd_proposal_density": hmd_density,
            "vmd_bin": sel["vmd_bin"][good] + 1,
            "own_hspeed_tcpa_fps": v_own[good],
            "int_hspeed_tcpa_fps": v_int[good],
            "own_hdot_tcpa_fps": hdot_own[good],
            "int_hdot_tcpa_fps": hdot_int[good],
            "int_heading_tcpa_rad": sel["psi"][good],
            "hmd_signed_sampled_ft": sel["hmd"][good],
            "vmd_signed_sampled_ft": rel_alt[good],
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
            "own_speed_start_kt": units.fps_to_kt(own_placed.speed_fps[good, 0]),
            "int_speed_start_kt": units.fps_to_kt(int_placed.speed_fps[good, 0]),
            "own_speed_tcpa_kt": units.fps_to_kt(own_placed.speed_fps[good, k_cpa]),
            "int_speed_tcpa_kt": units.fps_to_kt(int_placed.speed_fps[good, k_cpa]),
            "own_speed_tca_kt": units.fps_to_kt(own_placed.speed_fps[good, k_tca]),
            "int_speed_tca_kt": units.fps_to_kt(int_placed.speed_fps[good, k_tca]),
            "nmac": metrics.nmac[good],
            "lowc": metrics.lowc[good],
            "t_lowc_entry_s": metrics.t_lowc_entry_s[good],
            "t_lowc_exit_s": metrics.t_lowc_exit_s[good],
            "range_start_ft": range0[good],
        }
    )
    return codes, {
        "rows": rows[good],
        "frame": frame,
        "own_tracks": own_tracks.take(good),
        "int_tracks": int_tracks.take(good),
        "own_initial": _initial_from(own_placed.select(good)),
        "int_initial": _initial_from(int_placed.select(good)),
        "trajectories": (own_placed.select(good), int_placed.select(good)) if keep_trajectories else None,
    }


def _as_dict(trajectories: Trajectories) -> dict:
    return {
        name: getattr(trajectories, name)
        for name in ("north_ft", "east_ft", "up_ft", "speed_fps", "heading_rad", "pitch_rad")
    }


def _initial_from(trajectories: Trajectories) -> InitialStates:
    return InitialStates(
        trajectories.speed_fps[:, 0],
        trajectories.north_ft[:, 0],
        trajectories.east_ft[:, 0],
        trajectories.up_ft[:, 0],
        trajectories.heading_rad[:, 0],
        trajectories.pitch_rad[:, 0],
        trajectories.bank_rad[:, 0],
    )


def _concat_initial(parts: list[InitialStates]) -> InitialStates:
    return InitialStates(*(np.concatenate([getattr(p, f) for p in parts]) for f in InitialStates.FIELDS))


def generate_encounters(
    scenario: Scenario, scenario_text: str = "", *, ids=None, keep_trajectories: bool = False, progress=None
) -> EncounterSet:
    """Generate the scenario's encounters (or the given ids), each until accepted.

    Parameters
    ----------
    scenario : Scenario
        From `encsim.io.scenario.load_scenario`.
    ids : array of int, optional
        Encounter ids (default: the scenario's ``first_id .. first_id + encounters - 1``).
    keep_trajectories : bool
        Keep the placed 10-Hz trajectories in memory (for plots and notebooks).
    progress : callable, optional
        Called with the number of encounters accepted in each round of attempts.

    Raises
    ------
    EncounterError
        If an encounter needs more than ``run.max_attempts`` attempts (reasons counted).
    """
    own, intr = _side(scenario.ownship), _side(scenario.intruder)
    for side in (own, intr):
        layers = (
            side.layers
            if side.layers is not None
            else np.asarray(side.model.entry.layer_edges_ft if side.model.entry else [])
        )
        check_scope(side.model, np.asarray(layers, dtype=np.float64))
    seed = seed_to_uint64(scenario.run.seed)
    if ids is None:
        ids = np.arange(scenario.run.first_id, scenario.run.first_id + scenario.run.encounters, dtype=np.int64)
    ids = np.asarray(ids, dtype=np.int64)
    if np.unique(ids).shape[0] != ids.shape[0] or np.any(ids < 0):
        raise ValueError("encounter ids must be distinct non-negative integers")
    ids = np.sort(ids)  # the set comes out ordered by id
    pending, next_attempt = ids.copy(), np.zeros(ids.shape[0], dtype=np.int64)
    counts = dict.fromkeys(REJECTION_REASONS, 0)
    accepted = []
    while pending.size:
        if next_attempt.min() >= scenario.run.max_attempts:
            raise EncounterError(
                f"encounters {pending[:5].tolist()} were rejected {scenario.run.max_attempts} times; "
                f"rejections so far: {counts}"
            )
        # several attempts per encounter in one batch; the first accepted attempt of each id wins,
        # so the result is the same as trying one attempt at a time
        per_id = max(1, min(_MAX_ATTEMPTS_PER_ID_PER_ROUND, _ATTEMPTS_PER_ROUND // pending.size))
        k = int(min(per_id, scenario.run.max_attempts - next_attempt.min()))
        batch_ids = np.repeat(pending, k)
        batch_attempts = (next_attempt[:, None] + np.arange(k)[None, :]).ravel()
        valid = batch_attempts < scenario.run.max_attempts
        batch_ids, batch_attempts = batch_ids[valid], batch_attempts[valid]
        sampler_rejects: dict = {}
        codes, batch = _attempt_batch(
            scenario, own, intr, seed, batch_ids, batch_attempts, keep_trajectories, sampler_rejects
        )
        chosen_attempt = _first_accepted(pending, batch_ids, batch_attempts, codes)
        chosen_for_row = chosen_attempt[np.searchsorted(pending, batch_ids)]
        counted = batch_attempts < chosen_for_row
        for code in np.unique(codes[counted & (codes > 0)]):
            counts[REJECTION_REASONS[code - 1]] += int(np.sum(counted & (codes == code)))
        # the sampler's redraws inside every attempt made, the accepted one included (attempts after
        # it were only tried ahead in the batch and do not count)
        _count_sampler_rejects(counts, sampler_rejects, batch_attempts <= chosen_for_row)
        done = chosen_attempt < np.iinfo(np.int64).max
        if batch is not None and done.any():
            winners = (
                batch_attempts[batch["rows"]] == chosen_attempt[np.searchsorted(pending, batch_ids[batch["rows"]])]
            )
            accepted.append(_select_rows(batch, np.flatnonzero(winners)))
            if progress is not None:
                progress(int(done.sum()))
        next_attempt = next_attempt[~done] + k
        pending = pending[~done]
    return _assemble(scenario, scenario_text, seed, ids, accepted, counts, keep_trajectories)


def _count_sampler_rejects(counts: dict, sampler_rejects: dict, rows: np.ndarray) -> None:
    """Add each side's sampler redraws of the chosen rows to ``counts`` as ``<side>_sampler:<reason>``."""
    for side, (names, per_row) in sampler_rejects.items():
        for k, name in enumerate(names):
            key = f"{side}_sampler:{name}"
            counts[key] = counts.get(key, 0) + int(per_row[rows, k].sum())


def _first_accepted(
    pending: np.ndarray, batch_ids: np.ndarray, batch_attempts: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """Per pending id (sorted), the smallest accepted attempt in the batch, or int64 max."""
    first = np.full(pending.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    ok = codes == 0
    np.minimum.at(first, np.searchsorted(pending, batch_ids[ok]), batch_attempts[ok])
    return first


def _select_rows(batch: dict, positions: np.ndarray) -> dict:
    """The accepted-row data of ``batch`` restricted to ``positions`` (indices into its accepted rows)."""
    pick = lambda states: InitialStates(*(getattr(states, f)[positions] for f in InitialStates.FIELDS))  # noqa: E731
    return {
        "frame": batch["frame"].iloc[positions].reset_index(drop=True),
        "own_tracks": batch["own_tracks"].take(positions),
        "int_tracks": batch["int_tracks"].take(positions),
        "own_initial": pick(batch["own_initial"]),
        "int_initial": pick(batch["int_initial"]),
        "trajectories": None
        if batch["trajectories"] is None
        else tuple(t.select(positions) for t in batch["trajectories"]),
    }


def _assemble(scenario, scenario_text, seed, ids, accepted, counts, keep_trajectories) -> EncounterSet:
    frame = pd.concat([a["frame"] for a in accepted], ignore_index=True)
    order = np.argsort(frame["encounter_id"].to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(1, "attempts", frame.pop("attempt") + 1)
    own = TrackSample.concatenate([a["own_tracks"] for a in accepted]).take(order)
    intr = TrackSample.concatenate([a["int_tracks"] for a in accepted]).take(order)
    own_initial = _concat_initial([a["own_initial"] for a in accepted])
    int_initial = _concat_initial([a["int_initial"] for a in accepted])
    own_initial = InitialStates(*(getattr(own_initial, f)[order] for f in InitialStates.FIELDS))
    int_initial = InitialStates(*(getattr(int_initial, f)[order] for f in InitialStates.FIELDS))
    trajectories = None
    if keep_trajectories:
        trajectories = tuple(
            Trajectories.concatenate([a["trajectories"][k] for a in accepted]).select(order) for k in range(2)
        )
    return EncounterSet(
        scenario, scenario_text, int(seed), frame, own, intr, own_initial, int_initial, counts, trajectories
    )
