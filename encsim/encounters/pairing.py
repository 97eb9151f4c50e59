"""Uncorrelated pairing: two model-sampled tracks at a sampled closest approach, by importance sampling.

The default source (``[encounter] kind = "pairing"``; mitll-reference section 4, decisions.md
section 5). Encounter k of a scenario draws only from streams keyed by (seed, k): attempt a
samples the ownship on sub-stream 0 and the intruder on sub-stream 1 (attempt a), and the geometry
on sub-stream 2. One attempt runs the steps of `encsim.encounters.steps`:

1. **sample** both tracks (presets, layers) and **screen** them cheaply: an attempt whose
   conservative altitude interval at tCPA cannot reach the VMD span is rejected without flying
   (``vmd_screen``);
2. **fly** both to tCPA; reject if either goes below ground (``below_ground``); the VMD acceptance
   test on the natural relative altitude at tCPA (``vmd``), acceptance a_b = w_b / max(w);
3. **place**: intruder heading at CPA with density proportional to the relative speed, signed HMD
   from the piecewise-uniform proposal, both from the geometry stream; fly both for the whole
   encounter at 10 Hz, rotate each about its tCPA position (ownship heading 0 at CPA, intruder at
   the drawn heading) and place the intruder perpendicular to the relative velocity at the signed
   HMD; translate so the ownship starts at the origin; reject on the realised HMD/VMD
   (``hmd_mismatch``, ``vmd_mismatch``), the intended initial separation rule
   (``initial_separation``: |dh(0)| < H_min and R(0) < R_min), the filters
   (``filter_ownship``/``filter_intruder``) and optionally the model's track limits;
4. **weight**: w = Z x w_HMD x w_VMD, Z = 4 sqrt(A) E(m), A = (v1 + v2)^2 + (hdot2 - hdot1)^2,
   m = 4 v1 v2 / A with the tCPA speeds (the same ones as the heading density), E the complete
   elliptic integral of the second kind with parameter m (the reference passes sqrt(m):
   ``elliptic="reference"``); w_HMD = (1 / (2 max_hmd)) / q(HMD); w_VMD = 1 / a_b. Every
   ingredient is stored.

`UncorrelatedPairing` is written so that a source pairing another kind of ownship with a model
intruder overrides only `UncorrelatedPairing.sample_ownship` (and what it adds to the metadata):
`encsim.encounters.small_uas.SmallUasSource` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..bayes import load_model
from ..sampling import check_scope
from . import steps
from .source import NOT_TRIED, EncounterSource
from .steps import INTRUDER_SUB_STREAM, OWNSHIP_SUB_STREAM, ModelAircraft

if TYPE_CHECKING:
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

#: the variables a model must have to fly and pair tracks (roles, not labels)
_ENCOUNTER_ROLES = ("L", "v", "hdot", "psidot")


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


def model_aircraft(spec) -> ModelAircraft:
    """A scenario's ``[ownship]`` or ``[intruder]`` model table, loaded, checked and in its layers' scope."""
    model = load_model(spec.model)
    refuse_for_encounters(model)
    layers = None if spec.layers_ft is None else np.asarray(spec.layer_edges(), dtype=np.float64)
    aircraft = ModelAircraft(model, dict(spec.presets), layers)
    scope = layers if layers is not None else np.asarray(model.entry.layer_edges_ft if model.entry else [])
    check_scope(model, np.asarray(scope, dtype=np.float64))
    return aircraft


def _reason_code(reason: str) -> int:
    return REJECTION_REASONS.index(reason) + 1


class UncorrelatedPairing(EncounterSource):
    """Two tracks sampled independently from the scenario's ownship and intruder models, paired."""

    kind = "pairing"
    rejection_reasons = REJECTION_REASONS

    def __init__(self, scenario: Scenario):
        super().__init__(scenario)
        self.intruder = model_aircraft(scenario.intruder)
        self.ownship = self._ownship_aircraft()

    def _ownship_aircraft(self):
        return model_aircraft(self.scenario.ownship)

    def provenance(self) -> dict:
        own, intr = self.ownship.model, self.intruder.model
        return {
            "ownship_model": own.name,
            "ownship_model_sha256": own.sha256,
            "intruder_model": intr.name,
            "intruder_model_sha256": intr.sha256,
        }

    # the sample step, per side (a source pairing another kind of ownship overrides sample_ownship)
    def sample_ownship(self, seed, ids, attempts, sampler_rejects: dict | None):
        rejects: list = []
        tracks = steps.sample_model_aircraft(
            self.ownship, seed, ids, attempts, OWNSHIP_SUB_STREAM, self.scenario.geometry.duration_s, rejects
        )
        if sampler_rejects is not None:
            sampler_rejects["ownship"] = rejects[0]
        return tracks

    def sample_intruder(self, seed, ids, attempts, sampler_rejects: dict | None):
        rejects: list = []
        tracks = steps.sample_model_aircraft(
            self.intruder, seed, ids, attempts, INTRUDER_SUB_STREAM, self.scenario.geometry.duration_s, rejects
        )
        if sampler_rejects is not None:
            sampler_rejects["intruder"] = rejects[0]
        return tracks

    def ownship_rejections(self, own_tracks, placed: steps.Placed) -> dict:
        """The ownship's own checks of a placed pair: its filters, optionally its model's limits."""
        reasons = {"filter_ownship": steps.filter_fails(self.scenario.ownship, placed.own_placed, placed.k_cpa)}
        if self.scenario.geometry.track_limits:
            reasons["limits_ownship"] = steps.limits_fail(self.ownship, own_tracks, placed.own_flown)
        return reasons

    def extra_columns(self, own_tracks, good: np.ndarray) -> dict:
        """Metadata columns a source adds for the accepted rows ``good`` (none for two model tracks)."""
        return {}

    def attempt_batch(self, seed, ids, attempts, keep_trajectories=False, sampler_rejects=None):
        scenario = self.scenario
        geometry = scenario.geometry
        codes = np.zeros(ids.shape[0], dtype=np.int64)
        rows = np.arange(ids.shape[0])
        own_tracks = self.sample_ownship(seed, ids, attempts, sampler_rejects)
        int_tracks = self.sample_intruder(seed, ids, attempts, sampler_rejects)

        reachable, reach = steps.screen_vmd_reach(own_tracks, int_tracks, geometry)
        codes[~reachable] = _reason_code("vmd_screen")
        keep = np.flatnonzero(reachable)
        if keep.size == 0:
            return codes, None
        ids, attempts, rows = ids[keep], attempts[keep], rows[keep]

        # flown once: to tCPA, and on to the end only for the attempts the VMD draw accepts
        # (an id's attempts after one that goes on are not flown: they are tried again if that one fails)
        at = steps.fly_to_tcpa(
            own_tracks,
            int_tracks,
            geometry,
            tracks=keep,
            vmd_draw=(seed, ids, attempts),
            first_per_id=True,
            reach=reach.take(keep),
        )
        codes[rows[at.ground]] = _reason_code("below_ground")
        draws = steps.draw_geometry(seed, ids, attempts, at, geometry)
        codes[rows[~draws["accepted"] & ~at.ground]] = _reason_code("vmd")
        codes[rows[at.flights.not_flown]] = NOT_TRIED
        going_on = np.flatnonzero(draws["accepted"] & ~at.ground & ~at.flights.not_flown)
        if going_on.size == 0:
            return codes, None
        rows, ids, attempts, at = rows[going_on], ids[going_on], attempts[going_on], at.take(going_on)
        draws = {key: value[going_on] for key, value in draws.items()}
        # the samples taken once, for the attempts placed (the filters, the limits and the result)
        own_tracks, int_tracks = own_tracks.take(keep[going_on]), int_tracks.take(keep[going_on])

        # the flights' vertical rates only for trajectories kept (nothing else here reads them)
        placed = steps.fly_and_place(
            own_tracks, int_tracks, draws["psi"], draws["hmd"], at, geometry, vertical_rate=keep_trajectories
        )
        metrics = steps.placed_metrics(placed, scenario.metrics)
        reasons, range0 = steps.placement_rejections(placed, metrics, draws, at, geometry)
        reasons.update(self.ownship_rejections(own_tracks, placed))
        reasons["filter_intruder"] = steps.filter_fails(scenario.intruder, placed.int_placed, placed.k_cpa)
        if geometry.track_limits:
            reasons["limits_intruder"] = steps.limits_fail(self.intruder, int_tracks, placed.int_flown)
        rejected = np.zeros(rows.size, dtype=bool)
        for reason in REJECTION_REASONS:  # each attempt counted once, for its first reason
            if reason in reasons:
                codes[rows[reasons[reason] & ~rejected]] = _reason_code(reason)
                rejected |= reasons[reason]
        good = np.flatnonzero(~rejected)
        if good.size == 0:
            return codes, None

        frame = steps.metadata_columns(ids, attempts, at, draws, placed, metrics, range0, geometry, good)
        for name, values in self.extra_columns(own_tracks, good).items():
            frame[name] = values
        everyone = good.size == rows.size  # the usual case: no take needed
        return codes, {
            "rows": rows[good],
            "frame": frame,
            "own_tracks": own_tracks if everyone else own_tracks.take(good),
            "int_tracks": int_tracks if everyone else int_tracks.take(good),
            "own_initial": steps.initial_from(placed.own_placed, good),
            "int_initial": steps.initial_from(placed.int_placed, good),
            "trajectories": (placed.own_placed.select(good), placed.int_placed.select(good))
            if keep_trajectories
            else None,
        }
