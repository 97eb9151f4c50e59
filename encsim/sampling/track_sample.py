"""`TrackSample`: the container of sampled tracks (initial states, command schedules, counts).

Also the names of its columns and of its rejection reasons, which the sampler's assembly and the
downstream redraws share.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import units
from ..bayes import EncounterModel
from ..bayes.model import ROLE_UNITS
from ..commands import CommandSchedule, InitialStates, join_schedules, take_schedule_rows

__all__ = [
    "TrackSample",
    "bin_column_name",
    "column_name",
    "join_schedules",
    "rejection_reasons",
    "states_from_columns",
    "take_schedule_rows",
]


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


def rejection_reasons(model: EncounterModel, *, initial_only: bool = False) -> list[str]:
    """Names of the reasons a track of ``model`` is redrawn, in the order of the kernel's counts."""
    names = ["initial_speed_below_vertical_rate", "empty_initial_column"]
    if model.transition is not None and not initial_only:
        names += [f"empty_transition_column:{model.transition.labels[j]}" for j in model.transition_order]
    return names


def states_from_columns(columns, schedule: CommandSchedule) -> InitialStates:
    """`TrackSample.initial_states` from the initial columns (a DataFrame or a dict of arrays)."""
    has_speed = "speed_kt" in columns
    n = schedule.offsets.shape[0] - 1
    speed_fps = units.kt_to_fps(np.asarray(columns["speed_kt"])) if has_speed else np.zeros(n)
    # without an airspeed the start pitch is level, whatever the vertical rate
    hdot_fps = schedule.hdot_fps[schedule.offsets[:-1]] if has_speed else 0.0
    return InitialStates.from_rates(
        speed_fps,
        np.asarray(columns["alt_ft"]),
        hdot_fps,
        schedule.psidot_rad_s[schedule.offsets[:-1]],
        units.deg_to_rad(np.asarray(columns["heading_deg"])) if "heading_deg" in columns else 0.0,
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

    def __repr__(self) -> str:
        from .._reprs import sample_repr

        return sample_repr(self)

    def _repr_html_(self) -> str:
        from .._reprs import sample_html

        return sample_html(self)

    def take(self, positions) -> TrackSample:
        """The tracks at ``positions`` (in that order), as a new sample."""
        positions = np.asarray(positions, dtype=np.int64)
        schedule, rows = take_schedule_rows(self.schedule, positions)
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
        schedule = join_schedules([p.schedule for p in parts])
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
        return states_from_columns(self.initial, self.schedule)
