"""Recorded encounters as an encounter source (``[encounter] kind = "recorded"``; issue 20).

`RecordedSource` reads the scenario's .daa files (`encsim.encounters.recorded` converts each) and
`pack_recorded_set` packs them into an `EncounterSet`: encounter ids are file positions (by name),
``ownship``/``intruder`` are `TrackSample` with model name ``"recorded"``, one metadata row per
file (numbers only, as the runner's HDF5 writer stores them), and the set carries each
encounter's duration and both aircraft's fitted limits for the closed loop. The scenario text is
built by `encsim.io.recorded_scenario` (the files, their sha256, a placeholder geometry).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import units
from ..checksums import file_sha256, text_sha256
from ..commands import CommandSchedule, InitialStates
from ..dynamics import DynamicLimits
from ..metrics.detection import Cylinder, separation_metrics, well_clear_preset
from ..sampling import TrackSample
from .recorded import RecordedEncounter, recorded_encounter, recorded_paths
from .source import EncounterSet, EncounterSource

__all__ = ["RECORDED_MODEL", "RecordedSource", "pack_recorded_set", "recorded_limits", "recorded_metadata"]

#: the model name of recorded tracks in the set's scenario and track samples
RECORDED_MODEL = "recorded"


def pack_recorded_set(recorded: list[RecordedEncounter], ids, scenario, scenario_text: str = "") -> EncounterSet:
    """Converted recordings as an `EncounterSet` of weight-1 encounters with the given ids.

    The set carries each encounter's ``duration_s`` (``durations_s``) and both aircraft's fitted
    limits (``own_limits``, ``int_limits``, per encounter), which `encsim.simulate.simulate` flies
    them with; ``scenario`` supplies the metrics of the nominal outcome in the metadata.
    """
    ids = np.asarray(ids, dtype=np.int64)
    duration = int(math.ceil(max(r.duration_s for r in recorded) - 1e-9))
    rows = [recorded_metadata(r, int(k), scenario.metrics) for k, r in zip(ids, recorded, strict=True)]
    metadata = pd.DataFrame(rows)
    own, intr = _track_sample(recorded, 0, duration), _track_sample(recorded, 1, duration)
    return EncounterSet(
        scenario=scenario,
        scenario_text=scenario_text,
        seed=int(scenario.run.seed),
        metadata=metadata,
        ownship=own,
        intruder=intr,
        own_initial=_stack_initial(recorded, 0),
        int_initial=_stack_initial(recorded, 1),
        rejections={},
        kind=RECORDED_MODEL,
        own_limits=recorded_limits(metadata, "ownship"),
        int_limits=recorded_limits(metadata, "intruder"),
        durations_s=metadata["duration_s"].to_numpy(dtype=np.float64),
    )


def _concat_schedules(parts: list[dict]) -> CommandSchedule:
    offsets = np.concatenate([[0], np.cumsum([len(p["t_s"]) for p in parts])]).astype(np.int64)
    return CommandSchedule(offsets, *(np.concatenate([p[n] for p in parts]) for n in parts[0]))


def _track_sample(recorded: list[RecordedEncounter], index: int, duration_s: int) -> TrackSample:
    initial = _stack_initial(recorded, index)
    schedule = _concat_schedules([r.schedule.rows_of(index) for r in recorded])
    frame = pd.DataFrame(
        {
            "track_id": np.arange(len(recorded), dtype=np.int64),
            "alt_ft": initial.alt_ft,
            "speed_kt": units.fps_to_kt(initial.speed_fps),
            "heading_deg": np.degrees(initial.heading_rad),
        }
    )
    empty = pd.DataFrame(index=range(len(recorded)))
    return TrackSample(
        model_name=RECORDED_MODEL,
        model_sha256="",
        seed=0,
        first_id=0,
        duration_s=duration_s,
        presets={},
        empty_column="",
        initial=frame,
        schedule=schedule,
        schedule_bins=np.zeros((schedule.t_s.shape[0], 3), dtype=np.int8),
        bin_changes=empty,
        resamples=empty.copy(),
    )


def recorded_metadata(recorded: RecordedEncounter, encounter_id: int, metrics) -> dict:
    """One metadata row: identity, recording times, closest approach, limits, fit errors, nominal outcome."""
    errors = recorded.errors()
    flown = recorded.fitted
    names = ("north_ft", "east_ft", "up_ft", "speed_fps", "heading_rad", "pitch_rad")
    own = {name: getattr(flown, name)[:1] for name in names}
    intr = {name: getattr(flown, name)[1:] for name in names}
    cylinder = Cylinder("NMAC", metrics.nmac_radius_ft, metrics.nmac_half_height_ft)
    nominal = separation_metrics(flown.t_s, own, intr, cylinder=cylinder, volume=well_clear_preset(metrics.well_clear))
    k_tca = int(round(recorded.tca_s * 10))
    pitch_rate = np.asarray(recorded.limits.pitch_rate_max_rad_s, dtype=np.float64)
    return {
        "encounter_id": encounter_id,
        "attempts": 1,
        "weight": 1.0,
        "t_start_s": recorded.t_start_s,
        "t_end_s": recorded.t_end_s,
        "duration_s": recorded.duration_s,
        "recorded_tca_s": recorded.tca_s,
        "recorded_hmd_ft": recorded.hmd_ft,
        "recorded_vmd_ft": recorded.vmd_ft,
        "recorded_vmd_signed_ft": recorded.vmd_signed_ft,
        "ends_before_cpa": recorded.ends_before_cpa,
        "own_pitch_rate_max_rad_s": float(pitch_rate[0]),
        "int_pitch_rate_max_rad_s": float(pitch_rate[1]),
        "own_fit_horizontal_max_ft": float(errors["horizontal_max_ft"][0]),
        "int_fit_horizontal_max_ft": float(errors["horizontal_max_ft"][1]),
        "own_fit_altitude_max_ft": float(errors["altitude_max_ft"][0]),
        "int_fit_altitude_max_ft": float(errors["altitude_max_ft"][1]),
        "int_heading_tcpa_rad": float(_wrap(flown.heading_rad[1, k_tca] - flown.heading_rad[0, k_tca])),
        "int_alt_tcpa_ft": float(flown.up_ft[1, k_tca]),
        "hmd_ft": float(nominal.hmd_ft[0]),
        "vmd_ft": float(nominal.vmd_ft[0]),
        "vmd_signed_ft": float(nominal.vmd_signed_ft[0]),
        "tca_s": float(nominal.tca_s[0]),
        "nmac": bool(nominal.nmac[0]),
        "lowc": bool(nominal.lowc[0]),
        "t_lowc_entry_s": float(nominal.t_lowc_entry_s[0]),
        "t_lowc_exit_s": float(nominal.t_lowc_exit_s[0]),
    }


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _stack_initial(recorded: list[RecordedEncounter], index: int) -> InitialStates:
    return InitialStates(
        *(np.concatenate([getattr(r.initial, f)[index : index + 1] for r in recorded]) for f in InitialStates.FIELDS)
    )


def recorded_limits(metadata: pd.DataFrame, role: str) -> DynamicLimits:
    """The `DynamicLimits` of ``"ownship"`` or ``"intruder"`` of every encounter of a recorded set."""
    prefix = {"ownship": "own", "intruder": "int"}[role]
    return DynamicLimits(pitch_rate_max_rad_s=metadata[f"{prefix}_pitch_rate_max_rad_s"].to_numpy(dtype=np.float64))


class RecordedSource(EncounterSource):
    """``[encounter] kind = "recorded"``: each .daa file of the scenario's ``path`` one encounter, weight 1.

    Encounter k is the k-th file by name; nothing is sampled, so nothing is rejected and the seed
    changes nothing but the surveillance and pilot models' draws in the closed loop. The set
    carries each encounter's duration and both aircraft's fitted limits (`EncounterSet`), which
    `encsim.simulate.simulate` flies them with.
    """

    kind = "recorded"
    lazy_imports = ("scipy.signal",)  # the recordings' smoothing (`recorded.py`)
    rejection_reasons = ()

    def __init__(self, scenario):
        super().__init__(scenario)
        self.paths = recorded_paths(scenario.encounter.path)

    def attempt_batch(self, seed, ids, attempts, keep_trajectories=False, sampler_rejects=None):
        raise NotImplementedError("recorded encounters are read, not sampled: use generate")

    def provenance(self) -> dict:
        files = text_sha256(" ".join(f"{p.name}:{file_sha256(p)}" for p in self.paths))
        return {
            "ownship_model": "recorded",
            "ownship_model_sha256": files,
            "intruder_model": "recorded",
            "intruder_model_sha256": files,
        }

    def generate(
        self, ids, seed=None, *, scenario_text: str = "", keep_trajectories: bool = False, progress=None
    ) -> EncounterSet:
        """The recordings of encounter ids ``ids`` (file positions), converted and packed (``seed`` unused)."""
        ids = np.sort(np.asarray(ids, dtype=np.int64))
        if ids.size == 0 or ids[0] < 0 or ids[-1] >= len(self.paths) or np.unique(ids).size != ids.size:
            raise ValueError(
                f"encounter ids {ids[:5].tolist()}: a recorded set has distinct ids 0-{len(self.paths) - 1} "
                f"(one per .daa file of {self.scenario.encounter.path})"
            )
        recorded = [recorded_encounter(self.paths[k]) for k in ids]
        encounters = pack_recorded_set(recorded, ids, self.scenario, scenario_text)
        if progress is not None:
            progress(int(ids.size))
        return encounters
