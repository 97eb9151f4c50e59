"""`TrackBatch`: sampled tracks as plain arrays, for callers that take and join them many times.

Encounter generation samples both aircraft of every attempt of a round, keeps the few that pass,
and joins the rounds' survivors into one chunk: about a thousand takes and joins per chunk. On a
`TrackSample` each of them rebuilds three pandas DataFrames; a `TrackBatch` holds the same data as
numpy arrays and makes the public `TrackSample` once, at the end (`TrackBatch.to_sample`), with
exactly the values and dtypes the DataFrame path gives.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..commands import CommandSchedule, InitialStates
from .track_sample import TrackSample, join_schedules, states_from_columns, take_schedule_rows


@dataclass(frozen=True)
class TrackHeader:
    """What all tracks of a batch share: model, seed, duration, presets, policies, layers."""

    model_name: str
    model_sha256: str
    seed: int
    duration_s: int
    presets: dict
    empty_column: str
    layer_edges_ft: np.ndarray | None


@dataclass(frozen=True, eq=False)
class TrackBatch:
    """The data of a `TrackSample` as arrays: ``columns`` (its ``initial`` columns, in order),
    ``changes``/``resamples`` (its ``bin_changes``/``resamples``, with their column labels).

    `take` and `concatenate` follow `TrackSample.take` and `TrackSample.concatenate` exactly
    (``first_id``, ``rejections`` and ``stream_end`` included); ``initial`` and `initial_states`
    are computed on first use and kept (the generator screens and flies the same batch).
    """

    header: TrackHeader
    first_id: int
    columns: dict
    schedule: CommandSchedule
    schedule_bins: np.ndarray
    changes: np.ndarray
    change_labels: list
    resamples: np.ndarray
    resample_labels: list
    rejections: dict
    stream_end: np.ndarray | None
    _cache: dict = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def n_tracks(self) -> int:
        return self.schedule.offsets.shape[0] - 1

    @property
    def layer_edges_ft(self) -> np.ndarray | None:
        return self.header.layer_edges_ft

    @property
    def initial(self) -> pd.DataFrame:
        """`TrackSample.initial` (built on first use)."""
        if "initial" not in self._cache:  # the batch's arrays are never written: the frame may share them
            self._cache["initial"] = pd.DataFrame(self.columns, copy=False)
        return self._cache["initial"]

    def initial_states(self) -> InitialStates:
        """`TrackSample.initial_states` (computed on first use and shared: do not modify its arrays)."""
        if "states" not in self._cache:
            self._cache["states"] = states_from_columns(self.columns, self.schedule)
        return self._cache["states"]

    def take(self, positions) -> TrackBatch:
        """The tracks at ``positions`` (in that order), as `TrackSample.take`."""
        positions = np.asarray(positions, dtype=np.int64)
        schedule, rows = take_schedule_rows(self.schedule, positions)
        return TrackBatch(
            self.header,
            int(self.columns["track_id"][positions[0]]) if positions.shape[0] else self.first_id,
            {name: values[positions] for name, values in self.columns.items()},
            schedule,
            self.schedule_bins[rows],
            self.changes[positions],
            self.change_labels,
            self.resamples[positions],
            self.resample_labels,
            self.rejections,
            None if self.stream_end is None else self.stream_end[positions],
        )

    @staticmethod
    def concatenate(parts: list[TrackBatch]) -> TrackBatch:
        """Several batches' tracks one after the other, as `TrackSample.concatenate` (rejection counts add up)."""
        first = parts[0]
        return TrackBatch(
            first.header,
            first.first_id,
            {name: np.concatenate([p.columns[name] for p in parts]) for name in first.columns},
            join_schedules([p.schedule for p in parts]),
            np.concatenate([p.schedule_bins for p in parts]),
            np.concatenate([p.changes for p in parts]),
            first.change_labels,
            np.concatenate([p.resamples for p in parts]),
            first.resample_labels,
            {key: sum(p.rejections.get(key, 0) for p in parts) for key in first.rejections},
            None if first.stream_end is None else np.concatenate([p.stream_end for p in parts]),
        )

    def to_sample(self) -> TrackSample:
        """The public `TrackSample` of these tracks."""
        header = self.header
        return TrackSample(
            model_name=header.model_name,
            model_sha256=header.model_sha256,
            seed=header.seed,
            first_id=self.first_id,
            duration_s=header.duration_s,
            presets=header.presets,
            empty_column=header.empty_column,
            initial=pd.DataFrame(self.columns),
            schedule=self.schedule,
            schedule_bins=self.schedule_bins,
            bin_changes=pd.DataFrame(self.changes, columns=self.change_labels),
            resamples=pd.DataFrame(self.resamples, columns=self.resample_labels),
            rejections=self.rejections,
            stream_end=self.stream_end,
            layer_edges_ft=header.layer_edges_ft,
        )
