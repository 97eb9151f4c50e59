"""The encounter-source contract: what every kind of encounter set provides, and the attempt loop they share.

An `EncounterSource` generates the encounters of given ids for a seed: both aircraft's placed
initial states and command schedules (so that ``fly_commands`` replays them exactly and the closed
loop flies them), a weight per encounter, a metadata row per encounter and the count of rejected
attempts by reason. The runner, the encounter file and the closed loop see only that
(`EncounterSet`), whatever the source.

A source implements one method, `EncounterSource.attempt_batch`: one attempt per row (encounter
id, attempt number), each drawn only from the Philox streams keyed by (seed, id) and the attempt
number, returning a code per row (0 accepted, else 1 + the index of its rejection reason) and the
accepted rows' data. `EncounterSource.generate` then tries attempts 0, 1, 2... of every id until
one is accepted (several per round, the first accepted one winning), so encounter k is the same
whatever else is generated with it and however the ids are chunked. docs/encounter_sources.md
says how to write one; `encsim.encounters.pairing` and `encsim.encounters.small_uas` are the two
shipped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from ..commands import InitialStates
from ..dynamics import DynamicLimits, Trajectories
from ..random import seed_to_uint64

if TYPE_CHECKING:  # the schema is io's; sources read only its fields, so io stays above them
    from ..io.scenario import Scenario

#: attempts per round: one per pending encounter while many are pending; when few are left, several
#: attempts each, so that a round keeps about this many attempts (a round has a fixed cost, and
#: the acceptance rate is a few per cent in the shipped scenarios)
_ATTEMPTS_PER_ROUND = 1000
_MAX_ATTEMPTS_PER_ID_PER_ROUND = 64


#: the code of a row `EncounterSource.attempt_batch` did not try (an attempt after one of the same id
#: that may be accepted): not counted, and tried again in a later round if that one is rejected
NOT_TRIED = -1


class EncounterError(RuntimeError):
    """An encounter that could not be generated within the attempt cap."""


@dataclass(frozen=True)
class EncounterSet:
    """Accepted encounters: metadata, both aircraft's replayable states and commands, outcomes.

    ``metadata`` has one row per encounter: ``encounter_id``, ``attempts``, ``weight`` and its
    ingredients, sampled and realised HMD/VMD, TCA, speeds and altitudes at start and at CPA, and
    the nominal outcome (``nmac``, ``lowc``, LoWC entry/exit), plus the source's own columns.
    ``ownship``/``intruder`` are the accepted aircraft (a `TrackSample` for a model-sampled one, a
    `encsim.encounters.small_uas.MissionSample` for a small-UAS mission; each has a ``schedule``,
    the commands unchanged by placement); ``own_initial``/``int_initial`` their placed initial
    states, so that ``fly_commands(own_initial, ownship.schedule, duration)`` replays the encounter
    exactly. ``kind`` names the source (``[encounter] kind`` of the scenario); ``own_limits`` the
    ownship's dynamic limits when they are not the MIT LL ones (a small UAS: the closed loop flies
    it with them too); ``int_limits`` the intruder's likewise, and ``durations_s`` one run length
    per encounter when they differ (recorded encounters: the closed loop flies each for its own).
    """

    scenario: Scenario
    scenario_text: str
    seed: int
    metadata: pd.DataFrame
    ownship: object
    intruder: object
    own_initial: InitialStates
    int_initial: InitialStates
    rejections: dict = field(default_factory=dict)
    trajectories: tuple[Trajectories, Trajectories] | None = None
    kind: str = "pairing"
    own_limits: DynamicLimits | None = None
    int_limits: DynamicLimits | None = None
    durations_s: np.ndarray | None = None

    @property
    def n_encounters(self) -> int:
        return len(self.metadata)

    @property
    def attempts_total(self) -> int:
        return int(self.metadata["attempts"].sum())

    @property
    def acceptance_rate(self) -> float:
        return self.n_encounters / self.attempts_total if self.attempts_total else float("nan")

    @property
    def own_schedule(self):
        """The ownship's command schedules (one per encounter)."""
        return self.ownship.schedule

    @property
    def int_schedule(self):
        """The intruder's command schedules (one per encounter)."""
        return self.intruder.schedule

    def __repr__(self) -> str:
        from .._reprs import encounters_repr

        return encounters_repr(self)

    def _repr_html_(self) -> str:
        from .._reprs import encounters_html

        return encounters_html(self)


class EncounterSource(ABC):
    """The contract of an encounter source (see the module docstring and docs/encounter_sources.md).

    Subclasses set `kind` and `rejection_reasons`, and implement `attempt_batch` and
    `provenance`; `generate` is shared.
    """

    #: the scenario's ``[encounter] kind`` this source answers to
    kind: ClassVar[str]
    #: names of the reasons an attempt is rejected, in the order of the codes `attempt_batch` returns
    rejection_reasons: ClassVar[tuple[str, ...]]
    #: the ownship's dynamic limits, if not the MIT LL ones (generation and closed loop fly it with them)
    own_limits: DynamicLimits | None = None
    #: modules `generate` imports only when it first needs them (imported up front before parallel lanes)
    lazy_imports: ClassVar[tuple[str, ...]] = ()

    def __init__(self, scenario: Scenario):
        self.scenario = scenario

    @abstractmethod
    def attempt_batch(
        self,
        seed: np.uint64,
        ids: np.ndarray,
        attempts: np.ndarray,
        keep_trajectories: bool = False,
        sampler_rejects: dict | None = None,
    ) -> tuple[np.ndarray, dict | None]:
        """One attempt per row (encounter id, attempt number).

        Returns a code per row (0 accepted, else 1 + the index of its reason in
        `rejection_reasons`, or `NOT_TRIED` for a row after an attempt of the same id that may be
        accepted: the rows of an id come consecutive and in attempt order) and the data of the
        accepted rows, or None if none was accepted: a dict with ``rows`` (their positions in the
        input), ``frame`` (metadata, with the columns ``encounter_id``, ``attempt`` and ``weight``
        at least: a DataFrame, or a dict of equal-length arrays, which `generate` joins as arrays
        and makes one DataFrame of), ``own_tracks`` and ``int_tracks`` (objects with ``schedule``,
        ``take`` and a static ``concatenate``, and optionally ``to_sample()`` giving what the
        `EncounterSet` holds: a `TrackBatch` of the sampler gives its `TrackSample`),
        ``own_initial`` and ``int_initial`` (placed `InitialStates`) and
        ``trajectories`` (placed 10-Hz `Trajectories` of both, or None unless
        ``keep_trajectories``). ``sampler_rejects``, if given, receives per side the redraws
        inside each row's sampling as (reason names, (rows,
        reasons) counts); they are counted for the attempts up to each id's accepted one.
        """

    @abstractmethod
    def provenance(self) -> dict:
        """What the encounters are made from besides the scenario text and seed, for files and run identities.

        ``ownship_model``, ``ownship_model_sha256``, ``intruder_model``, ``intruder_model_sha256``
        (a non-model aircraft names its generator and hashes the presets it used).
        """

    def generate(
        self, ids, seed=None, *, scenario_text: str = "", keep_trajectories: bool = False, progress=None
    ) -> EncounterSet:
        """Generate the encounters ``ids`` (each until accepted) for ``seed`` (default the scenario's).

        Raises
        ------
        EncounterError
            If an encounter needs more than ``run.max_attempts`` attempts (reasons counted).
        """
        scenario = self.scenario
        seed = seed_to_uint64(scenario.run.seed if seed is None else seed)
        ids = np.asarray(ids, dtype=np.int64)
        if np.unique(ids).shape[0] != ids.shape[0] or np.any(ids < 0):
            raise ValueError("encounter ids must be distinct non-negative integers")
        ids = np.sort(ids)  # the set comes out ordered by id
        max_attempts = scenario.run.max_attempts
        pending, next_attempt = ids.copy(), np.zeros(ids.shape[0], dtype=np.int64)
        counts = dict.fromkeys(self.rejection_reasons, 0)
        accepted = []
        while pending.size:
            if next_attempt.min() >= max_attempts:
                raise EncounterError(
                    f"encounters {pending[:5].tolist()} were rejected {max_attempts} times; rejections so far: {counts}"
                )
            # several attempts per encounter in one batch; the first accepted attempt of each id wins,
            # so the result is the same as trying one attempt at a time
            per_id = max(1, min(_MAX_ATTEMPTS_PER_ID_PER_ROUND, _ATTEMPTS_PER_ROUND // pending.size))
            k = int(min(per_id, max_attempts - next_attempt.min()))
            batch_ids = np.repeat(pending, k)
            batch_attempts = (next_attempt[:, None] + np.arange(k)[None, :]).ravel()
            valid = batch_attempts < max_attempts
            batch_ids, batch_attempts = batch_ids[valid], batch_attempts[valid]
            sampler_rejects: dict = {}
            codes, batch = self.attempt_batch(seed, batch_ids, batch_attempts, keep_trajectories, sampler_rejects)
            chosen_attempt = _first_accepted(pending, batch_ids, batch_attempts, codes)
            where = np.searchsorted(pending, batch_ids)
            chosen_for_row = chosen_attempt[where]
            # rows from an id's first attempt not tried on are tried again in the next round: not counted now
            first_not_tried = np.full(pending.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
            untried = codes == NOT_TRIED
            np.minimum.at(first_not_tried, where[untried], batch_attempts[untried])
            before_retry = batch_attempts < first_not_tried[where]
            counted = (batch_attempts < chosen_for_row) & before_retry
            for code in np.unique(codes[counted & (codes > 0)]):
                counts[self.rejection_reasons[code - 1]] += int(np.sum(counted & (codes == code)))
            # the sampler's redraws inside every attempt made, the accepted one included (attempts after
            # it were only tried ahead in the batch and do not count)
            _count_sampler_rejects(counts, sampler_rejects, (batch_attempts <= chosen_for_row) & before_retry)
            done = chosen_attempt < np.iinfo(np.int64).max
            if batch is not None and done.any():
                winners = (
                    batch_attempts[batch["rows"]] == chosen_attempt[np.searchsorted(pending, batch_ids[batch["rows"]])]
                )
                accepted.append(_select_rows(batch, np.flatnonzero(winners)))
                if progress is not None:
                    progress(int(done.sum()))
            next_attempt = np.minimum(next_attempt + k, first_not_tried)[~done]
            pending = pending[~done]
        return _assemble(self, scenario_text, seed, accepted, counts, keep_trajectories)


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


def _pick(states: InitialStates, positions) -> InitialStates:
    return InitialStates(*(getattr(states, f)[positions] for f in InitialStates.FIELDS))


def _n_rows(frame) -> int:
    """Rows of a batch's metadata: a DataFrame or a dict of equal-length arrays."""
    return len(frame) if isinstance(frame, pd.DataFrame) else len(next(iter(frame.values())))


def _take_frame(frame, positions: np.ndarray):
    if isinstance(frame, pd.DataFrame):
        return frame.iloc[positions].reset_index(drop=True)
    return {name: values[positions] for name, values in frame.items()}


def _select_rows(batch: dict, positions: np.ndarray) -> dict:
    """The accepted-row data of ``batch`` restricted to ``positions`` (indices into its accepted rows)."""
    if positions.shape[0] == _n_rows(batch["frame"]):  # every accepted row (positions are sorted): nothing to take
        return {key: value for key, value in batch.items() if key != "rows"}
    return {
        "frame": _take_frame(batch["frame"], positions),
        "own_tracks": batch["own_tracks"].take(positions),
        "int_tracks": batch["int_tracks"].take(positions),
        "own_initial": _pick(batch["own_initial"], positions),
        "int_initial": _pick(batch["int_initial"], positions),
        "trajectories": None
        if batch["trajectories"] is None
        else tuple(t.select(positions) for t in batch["trajectories"]),
    }


def _concat_initial(parts: list[InitialStates]) -> InitialStates:
    return InitialStates(*(np.concatenate([getattr(p, f) for p in parts]) for f in InitialStates.FIELDS))


def _metadata(frames: list) -> tuple[pd.DataFrame, np.ndarray]:
    """The batches' metadata as one frame ordered by encounter id (``attempt`` becomes 1-based
    ``attempts``, second column), and the order taken. Batches given as dicts of arrays are joined
    as arrays and make one DataFrame; DataFrames are joined as DataFrames."""
    if all(isinstance(frame, dict) for frame in frames):
        columns = {name: np.concatenate([frame[name] for frame in frames]) for name in frames[0]}
        order = np.argsort(columns["encounter_id"], kind="stable")
        columns = {name: values[order] for name, values in columns.items()}
        columns["attempt"] = columns["attempt"] + 1
        names = [name for name in columns if name != "attempt"]
        names.insert(1, "attempt")
        return pd.DataFrame({"attempts" if name == "attempt" else name: columns[name] for name in names}), order
    frame = pd.concat([pd.DataFrame(frame) for frame in frames], ignore_index=True)
    order = np.argsort(frame["encounter_id"].to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(1, "attempts", frame.pop("attempt") + 1)
    return frame, order


def _public(tracks):
    """An aircraft's accepted tracks as the `EncounterSet` holds them (a `TrackBatch` becomes its `TrackSample`)."""
    to_sample = getattr(tracks, "to_sample", None)
    return tracks if to_sample is None else to_sample()


def _assemble(source: EncounterSource, scenario_text, seed, accepted, counts, keep_trajectories) -> EncounterSet:
    frame, order = _metadata([a["frame"] for a in accepted])
    own_parts, int_parts = [a["own_tracks"] for a in accepted], [a["int_tracks"] for a in accepted]
    own = _public(type(own_parts[0]).concatenate(own_parts).take(order))
    intr = _public(type(int_parts[0]).concatenate(int_parts).take(order))
    own_initial = _pick(_concat_initial([a["own_initial"] for a in accepted]), order)
    int_initial = _pick(_concat_initial([a["int_initial"] for a in accepted]), order)
    trajectories = None
    if keep_trajectories:
        trajectories = tuple(
            Trajectories.concatenate([a["trajectories"][k] for a in accepted]).select(order) for k in range(2)
        )
    return EncounterSet(
        source.scenario,
        scenario_text,
        int(seed),
        frame,
        own,
        intr,
        own_initial,
        int_initial,
        counts,
        trajectories,
        kind=source.kind,
        own_limits=source.own_limits,
    )
