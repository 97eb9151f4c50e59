"""Counting a dynamic Bayesian network from 1-s states: discretisation, counts, resample rates.

The structure (initial and transition graphs) comes from a template model (``--like``); the bin
edges from the template or from a TOML file. Counting is vectorised: per chunk, each variable's
column index is a dot product of its parents' bins with the first-parent-fastest strides of the
MIT LL format, and ``numpy.bincount`` adds one count per (bin, column). Memory is that of one
chunk; `ModelCounter` accumulates chunk after chunk.

**Initial network.** MIT LL's initial network aggregates every observation of the training data
(mitll-reference, "traffic density"; one count per second of track, so training hours = total
initial count / 3600): ``initial="every"`` (default) counts every 1-s state. ``initial="first"``
counts each segment's first state only: the law of a track's first second, which is what the
sampler draws from the initial network (used by the counting round trip).

**Transition network.** One count per pair of states one second apart in the same segment.

**Within-bin resample rates** (mitll-reference 1.7, the rule of ``hierarchical_discretize``): each
bin is split into three equal fine bins; over pairs of states one second apart whose bin stayed the
same and is not the zero bin, rate = (fine bin changed) / (all such pairs). Categorical variables
get 0. Note that the sampler's resample draws a value uniform in the bin, which leaves the fine bin
unchanged one time in three: the rule's rate is about 2/3 of the sampler's rate that would
reproduce the data (the reference's convention; kept so trained files mean what MIT LL's mean).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..bayes.model import ROLE_UNITS, EncounterModel, zero_bin
from ..bayes.model_file import ModelFileContents, NetworkTables, strip_time_suffix
from . import _kernels

#: role -> the processed-track column that holds its value
VALUE_COLUMN = {role: column for role, (_, column) in ROLE_UNITS.items() if role != "L"} | {"L": "alt_agl_ft"}
#: other names a categorical variable's column may have in a track table
CATEGORICAL_ALIASES = {"A": ("airspace_class",)}


class TrainingError(ValueError):
    """Training that cannot proceed: what is missing or inconsistent, and how to provide it."""


@dataclass(frozen=True)
class ModelLayout:
    """What is counted: the template's graphs, the bin edges in force and where values come from."""

    template: EncounterModel
    labels: tuple[str, ...]
    r: np.ndarray
    edges: tuple[np.ndarray | None, ...]
    initial_graph: np.ndarray
    transition_labels: tuple[str, ...]
    transition_graph: np.ndarray
    transition_r: np.ndarray
    temporal: tuple[tuple[int, int], ...]  # (initial index, transition index of its (t+1) copy)

    @property
    def n(self) -> int:
        return len(self.labels)

    def role(self, i: int) -> str | None:
        return next((role for role, idx in self.template.roles.items() if idx == i), None)

    def zero_bins(self) -> tuple[int, ...]:
        return tuple(zero_bin(e) for e in self.edges)

    def initial_parents(self, i: int) -> np.ndarray:
        return np.flatnonzero(self.initial_graph[:, i])

    def transition_parents(self, j: int) -> np.ndarray:
        return np.flatnonzero(self.transition_graph[:, j])

    def initial_index_of(self, j: int) -> int:
        """The initial variable a transition variable stands for (its time-t copy or itself)."""
        if j < self.n:
            return j
        return next(i for i, jj in self.temporal if jj == j)


def read_edges_toml(path) -> dict[str, list[float]]:
    """Bin edges from a TOML file: ``[edges]`` with one array per variable (role or label).

    Example::

        [edges]
        v = [0, 30, 60, 90, 120, 140, 165, 250, 300]
        hdot = [-3000, -2000, -1000, -250, 250, 1000, 2000, 3000]
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TrainingError(f"{path}: cannot read bin edges ({exc})") from None
    table = data.get("edges")
    if not isinstance(table, dict):
        raise TrainingError(f"{path}: expected an [edges] table with one array of numbers per variable")
    out = {}
    for name, values in table.items():
        if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            raise TrainingError(f"{path}: [edges] {name} = {values!r}; expected an array of numbers")
        out[name] = [float(v) for v in values]
    return out


def model_layout(template: EncounterModel, edges: dict | None = None) -> ModelLayout:
    """The template's structure with its own bin edges, or with ``edges`` (role or label -> edges)."""
    if template.transition is None:
        raise TrainingError(f"template {template.name} has no transition network; a trained model needs one")
    new_edges = list(template.boundaries)
    for name, values in (edges or {}).items():
        i = template.variable_index(name)
        if template.boundaries[i] is None:
            raise TrainingError(
                f"{template.labels[i]} is categorical in {template.name}: its bins cannot be given edges"
            )
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1 or array.shape[0] < 2 or not np.all(np.diff(array) > 0) or not np.all(np.isfinite(array)):
            raise TrainingError(f"edges of {template.labels[i]} {list(values)} are not at least 2 increasing numbers")
        new_edges[i] = array
    r = np.array([template.r[i] if e is None else e.shape[0] - 1 for i, e in enumerate(new_edges)], dtype=np.int64)
    transition = template.transition
    transition_r = transition.r.copy()
    for j in range(transition.n):
        stem = strip_time_suffix(transition.labels[j])[0]
        transition_r[j] = r[template.labels.index(stem)]
    return ModelLayout(
        template=template,
        labels=template.labels,
        r=r,
        edges=tuple(new_edges),
        initial_graph=template.initial.graph.copy(),
        transition_labels=transition.labels,
        transition_graph=transition.graph.copy(),
        transition_r=transition_r,
        temporal=tuple(template.temporal_map),
    )


def discretise(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0-based bins of ``values`` (bins [e_k, e_k+1), the last one closed) and whether each is inside.

    Values outside the edges get the nearest end bin and ``inside`` False.
    """
    r = edges.shape[0] - 1
    bins = np.searchsorted(edges, values, side="right") - 1
    bins[values == edges[-1]] = r - 1
    inside = (values >= edges[0]) & (values <= edges[-1])
    return np.clip(bins, 0, r - 1), inside


def _strides(r: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """First-parent-fastest strides of a column index (mitll-reference 1.4)."""
    return np.cumprod(np.r_[1, r[parents][:-1]]).astype(np.int64) if parents.size else np.zeros(0, np.int64)


@dataclass
class ModelCounter:
    """Accumulates initial and transition counts and resample statistics, chunk after chunk.

    Usage (needs files on disk, so shown rather than run as a doctest)::

        counter = ModelCounter(model_layout(template))
        counter.add_states(frame, fixed={"G": 1, "A": 4})
        contents = counter.contents()
    """

    layout: ModelLayout
    initial: str = "every"
    initial_tables: list[np.ndarray] = field(init=False)
    transition_tables: list[np.ndarray | None] = field(init=False)
    fine_changed: np.ndarray = field(init=False)
    fine_total: np.ndarray = field(init=False)
    clipped: dict = field(init=False)
    seconds: int = field(init=False, default=0)
    pairs: int = field(init=False, default=0)

    def __post_init__(self):
        if self.initial not in ("every", "first"):
            raise ValueError(f"initial={self.initial!r}: expected 'every' (MIT LL) or 'first'")
        lay = self.layout
        self.initial_tables = [
            np.zeros((int(lay.r[i]), int(np.prod(lay.r[lay.initial_parents(i)], dtype=np.int64))), dtype=np.int64)
            for i in range(lay.n)
        ]
        self.transition_tables = [None] * lay.n
        for j in range(lay.n, len(lay.transition_labels)):
            q = int(np.prod(lay.transition_r[lay.transition_parents(j)], dtype=np.int64))
            self.transition_tables.append(np.zeros((int(lay.transition_r[j]), q), dtype=np.int64))
        self.fine_changed = np.zeros(lay.n, dtype=np.int64)
        self.fine_total = np.zeros(lay.n, dtype=np.int64)
        self.clipped = {label: 0 for label in lay.labels}
        self._plans()

    # ------------------------------------------------------------------ from values
    def bins_of(self, frame: pd.DataFrame, fixed: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """0-based bins (rows, variables), fine bins (three per bin) and the rows inside the L scope."""
        lay = self.layout
        n_rows = len(frame)
        bins = np.zeros((n_rows, lay.n), dtype=np.int64)
        fine = np.zeros((n_rows, lay.n), dtype=np.int64)
        keep = np.ones(n_rows, dtype=bool)
        fixed = {lay.template.variable_index(k): v for k, v in (fixed or {}).items()}
        for i in range(lay.n):
            role, edges = lay.role(i), lay.edges[i]
            if edges is None:
                bins[:, i] = self._categorical(frame, i, role, fixed) - 1
                continue
            column = VALUE_COLUMN.get(role, strip_time_suffix(lay.labels[i])[0])
            if column not in frame.columns:
                raise TrainingError(
                    f"variable {lay.labels[i]!r} of {lay.template.name} needs a column {column!r} "
                    "in the processed tracks"
                )
            values = frame[column].to_numpy(dtype=np.float64)
            bins[:, i], inside = discretise(values, edges)
            width = edges[bins[:, i] + 1] - edges[bins[:, i]]
            fine[:, i] = np.clip(np.floor(3.0 * (values - edges[bins[:, i]]) / width), 0, 2).astype(np.int64)
            if role == "L":
                keep &= inside  # out of the model's altitude scope: not counted
            else:
                self.clipped[lay.labels[i]] += int((~inside).sum())
        return bins, fine, keep

    def _categorical(self, frame: pd.DataFrame, i: int, role: str | None, fixed: dict) -> np.ndarray:
        lay = self.layout
        r = int(lay.r[i])
        label = lay.labels[i]
        if i in fixed:
            value = fixed[i]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= int(value) <= r:
                raise TrainingError(f"fixed {label}={value!r}: expected a bin 1..{r} (1-based)")
            return np.full(len(frame), int(value), dtype=np.int64)
        names = [label, *([role] if role else []), *CATEGORICAL_ALIASES.get(role or label, ())]
        column = next((name for name in names if name in frame.columns), None)
        if column is None:
            raise TrainingError(
                f"{lay.template.name} has the categorical variable {label!r}: give a column {names[0]!r} "
                f"(1-based bins) or a constant (fixed={{'{label}': 1}}, --set {label}=1)"
            )
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy()
        bad = ~(np.isfinite(values) & (values == np.round(values)) & (values >= 1) & (values <= r))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise TrainingError(f"column {column!r}, row {row}: {frame[column].iloc[row]!r}; expected a bin 1..{r}")
        return values.astype(np.int64)

    def add_states(self, frame: pd.DataFrame, fixed: dict | None = None) -> None:
        """Count one chunk of processed 1-s states (whole segments; ``segment``, ``time_s`` columns)."""
        bins, fine, keep = self.bins_of(frame, fixed)
        self.add_bins(frame["segment"].to_numpy(), frame["time_s"].to_numpy(), bins, keep=keep, fine=fine)

    # ------------------------------------------------------------------ from bins
    def add_bins(self, segment, time_s, bins0, *, keep=None, fine=None) -> None:
        """Count one chunk of 0-based bins (rows in segment and time order; whole segments).

        ``keep`` marks the rows to count (a dropped row breaks the pairs around it); ``fine`` holds
        the fine bins (0..2) for the resample rates, if values were known.
        """
        lay = self.layout
        segment = np.ascontiguousarray(segment, dtype=np.int64)
        time_s = np.ascontiguousarray(time_s, dtype=np.int64)
        bins0 = np.asarray(bins0)
        n_rows = segment.shape[0]
        if bins0.shape != (n_rows, lay.n) or time_s.shape != (n_rows,):
            raise ValueError(f"bins {bins0.shape}, time {time_s.shape}: expected ({n_rows}, {lay.n}) and ({n_rows},)")
        if bins0.dtype.kind not in "iu":
            raise ValueError(f"bins must be integers, got {bins0.dtype}")
        if n_rows and (bins0.min() < 0 or np.any(bins0.max(axis=0) >= lay.r)):
            raise ValueError(f"bins outside 0..r-1 (r = {lay.r.tolist()})")
        keep = np.ones(n_rows, dtype=bool) if keep is None else np.ascontiguousarray(keep, dtype=bool)
        use = keep if self.initial == "every" else np.r_[True, segment[1:] != segment[:-1]] & keep
        _kernels.count_initial(bins0, use, *self._initial_plan, self._initial_flat)
        self.pairs += int(_kernels.count_transitions(bins0, segment, time_s, keep, *self._transition_plan,
                                                     self._transition_flat))  # fmt: skip
        if fine is not None:
            pair = (segment[1:] == segment[:-1]) & (np.diff(time_s) == 1) & keep[1:] & keep[:-1]
            before, after = bins0[:-1][pair], bins0[1:][pair]
            self._count_fine(before, after, np.asarray(fine)[:-1][pair], np.asarray(fine)[1:][pair])
        self.seconds += int(keep.sum())

    def _plans(self) -> None:
        """Padded parent tables, strides and flat offsets the kernels take; tables become views."""
        lay = self.layout
        width = max(1, int(lay.initial_graph.sum(axis=0).max()), int(lay.transition_graph.sum(axis=0).max()))
        n_t = len(lay.transition_labels) - lay.n
        parents = np.full((lay.n, width), -1, dtype=np.int64)
        strides = np.zeros((lay.n, width), dtype=np.int64)
        for i in range(lay.n):
            p = lay.initial_parents(i)
            parents[i, : p.size], strides[i, : p.size] = p, _strides(lay.r, p)
        sizes = np.array([t.size for t in self.initial_tables], dtype=np.int64)
        offsets = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
        self._initial_flat = np.zeros(int(sizes.sum()), dtype=np.int64)
        self._initial_plan = (parents, strides, lay.r.astype(np.int64), offsets)
        self.initial_tables = [
            self._flat_view(self._initial_flat, o, t.shape) for o, t in zip(offsets, self.initial_tables, strict=True)
        ]
        child = np.zeros(n_t, dtype=np.int64)
        t_parents = np.full((n_t, width), -1, dtype=np.int64)
        t_strides = np.zeros((n_t, width), dtype=np.int64)
        for k, j in enumerate(range(lay.n, lay.n + n_t)):
            child[k] = lay.initial_index_of(j)
            p = lay.transition_parents(j)
            t_parents[k, : p.size] = [lay.initial_index_of(int(q)) + (lay.n if q >= lay.n else 0) for q in p]
            t_strides[k, : p.size] = _strides(lay.transition_r, p)
        tables = self.transition_tables[lay.n :]
        sizes = np.array([t.size for t in tables], dtype=np.int64)
        offsets = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
        self._transition_flat = np.zeros(int(sizes.sum()), dtype=np.int64)
        self._transition_plan = (child, t_parents, t_strides, lay.transition_r[lay.n :].astype(np.int64), offsets)
        views = [self._flat_view(self._transition_flat, o, t.shape) for o, t in zip(offsets, tables, strict=True)]
        self.transition_tables = [None] * lay.n + views

    @staticmethod
    def _flat_view(flat: np.ndarray, offset: int, shape) -> np.ndarray:
        """The (r, q) table stored column-major at ``flat[offset:]`` (a view: counts land in it)."""
        size = int(np.prod(shape))
        return flat[offset : offset + size].reshape(shape, order="F")

    def _count_fine(self, before, after, fine_before, fine_after) -> None:
        zero = np.array([z if z >= 0 else -1 for z in self.layout.zero_bins()])
        stayed = (before == after) & (before != zero[None, :])
        self.fine_changed += (stayed & (fine_before != fine_after)).sum(axis=0)
        self.fine_total += stayed.sum(axis=0)

    # ------------------------------------------------------------------ result
    def resample_rates(self) -> np.ndarray:
        lay = self.layout
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = np.where(self.fine_total > 0, self.fine_changed / np.maximum(self.fine_total, 1), 0.0)
        for i in range(lay.n):
            if lay.edges[i] is None:
                rates[i] = 0.0
        return rates

    def contents(self, source: str = "trained") -> ModelFileContents:
        """The counted model in the form the MIT LL writer takes."""
        lay = self.layout
        initial = NetworkTables(
            lay.labels, lay.initial_graph, lay.r.copy(), tuple(t.copy() for t in self.initial_tables)
        )
        transition = NetworkTables(
            lay.transition_labels,
            lay.transition_graph,
            lay.transition_r.copy(),
            tuple(None if t is None else t.copy() for t in self.transition_tables),
        )
        return ModelFileContents(source, initial, transition, lay.edges, self.resample_rates())
