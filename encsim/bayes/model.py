"""`EncounterModel`: an MIT LL encounter model as immutable arrays plus derived structure.

Derived here, once, from the file's own graph, r and boundaries (never from variable positions):
topological orders, parent strides, zero bins, the temporal map (time-t variable <-> its (t+1)
copy), the role of each variable (G, A, L, v, vdot, hdot, psidot, psi) and exact probabilities by
the chain rule on the counts.

Bins are 0-based inside encsim; every user-facing argument (``given=``, presets) takes 1-based
bins, as the MIT LL papers and files do (decisions.md section 1).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..units import S_PER_HOUR
from .model_file import ModelFileContents, NetworkTables, strip_time_suffix

if TYPE_CHECKING:  # pragma: no cover
    from .catalogue import RegistryEntry

#: label stem (quotes and (t)/(t+1) stripped) -> role name used across encsim
ROLE_BY_STEM = {
    "G": "G",
    "A": "A",
    "L": "L",
    "v": "v",
    "\\dot v": "vdot",
    "\\dot h": "hdot",
    "\\dot \\psi": "psidot",
    "\\psi": "psi",
}
#: role -> (unit of the file's bin edges, DataFrame column name of a de-discretised value)
ROLE_UNITS = {
    "L": ("ft", "alt_ft"),
    "v": ("kt", "speed_kt"),
    "vdot": ("kt/s", "vdot_kt_s"),
    "hdot": ("ft/min", "hdot_fpm"),
    "psidot": ("deg/s", "psidot_deg_s"),
    "psi": ("deg", "heading_deg"),
}
ROLE_MEANING = {
    "G": "geographic domain",
    "A": "airspace class",
    "L": "altitude layer",
    "v": "airspeed",
    "vdot": "longitudinal acceleration",
    "hdot": "vertical rate",
    "psidot": "turn rate",
    "psi": "heading",
}
_REGIONS = (
    "mainland US and Alaska",
    "US islands (Hawaii, Puerto Rico, US Virgin Islands)",
    "offshore of the mainland US",
    "offshore of the islands",
    "mainland Canada",
)
#: (role, number of bins) -> what each 1-based bin means (mitll-reference: geographic domain G of the
#: uncorrelated conventional models, 4 bins before v1.2 added Canada; airspace class A)
BIN_MEANINGS = {
    ("G", 5): _REGIONS,
    ("G", 4): _REGIONS[:4],
    ("A", 4): ("class B", "class C", "class D", "other (classes A, E, F, G)"),
}


def topological_order(graph: np.ndarray, nodes: list[int] | None = None) -> list[int]:
    """Kahn's algorithm taking the smallest available index first (MATLAB 'stable' toposort).

    ``nodes`` restricts the order to a subset (edges from outside the subset are ignored).
    """
    nodes = list(range(graph.shape[0])) if nodes is None else sorted(nodes)
    node_set = set(nodes)
    indegree = {j: sum(1 for i in nodes if graph[i, j]) for j in nodes}
    ready = sorted(j for j in nodes if indegree[j] == 0)
    order: list[int] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in np.flatnonzero(graph[node]):
            child = int(child)
            if child in node_set:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
                    ready.sort()
    if len(order) != len(nodes):
        raise ValueError("graph is cyclic")
    return order


def zero_bin(edges: np.ndarray | None) -> int:
    """0-based index of the bin strictly straddling 0 (b_k < 0 < b_k+1), or -1 (mitll-reference 1.5)."""
    if edges is None or edges.shape[0] <= 2:
        return -1
    inside = np.flatnonzero((edges[:-1] < 0.0) & (edges[1:] > 0.0))
    return int(inside[0]) if inside.size else -1


def _normalised_cpt(table: np.ndarray) -> np.ndarray:
    """Counts -> conditional probabilities per column; an empty column becomes uniform.

    Empty columns carry no information; uniform keeps every column a distribution (pgmpy
    requires it). For files whose tables are consistent marginals such a column has probability 0.
    """
    table = table.astype(np.float64)
    totals = table.sum(axis=0)
    cpt = np.empty_like(table)
    filled = totals > 0
    cpt[:, filled] = table[:, filled] / totals[filled]
    cpt[:, ~filled] = 1.0 / table.shape[0]
    return cpt


@dataclass(frozen=True, eq=False)
class EncounterModel:
    """An MIT LL encounter model, validated and immutable.

    Build it with :func:`encsim.load_model`. Arrays are shared, never copied per use.

    Examples
    --------
    >>> import encsim
    >>> model = encsim.load_model("uncor_1200only_fwse_v1p2")
    >>> model.exact_marginal("L", given={"G": 1, "A": 4}).round(2)
    array([0.04, 0.22, 0.49, 0.25])
    """

    name: str
    contents: ModelFileContents
    sha256: str
    path: Path | None = None
    entry: RegistryEntry | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        from .._reprs import model_repr

        return model_repr(self)

    def _repr_html_(self) -> str:
        from .._reprs import model_html

        return model_html(self)

    # ---------------------------------------------------------------- structure
    @property
    def initial(self) -> NetworkTables:
        return self.contents.initial

    @property
    def transition(self) -> NetworkTables | None:
        return self.contents.transition

    @property
    def labels(self) -> tuple[str, ...]:
        return self.initial.labels

    @property
    def n_variables(self) -> int:
        return self.initial.n

    @property
    def r(self) -> np.ndarray:
        return self.initial.r

    @property
    def boundaries(self) -> tuple[np.ndarray | None, ...]:
        return self.contents.boundaries

    @property
    def resample_rates(self) -> np.ndarray:
        return self.contents.resample_rates

    @property
    def quirks(self) -> tuple[str, ...]:
        return self.contents.quirks

    @property
    def has_transitions(self) -> bool:
        return self.transition is not None

    @cached_property
    def roles(self) -> dict[str, int]:
        """Role name -> initial-variable index, for the variables whose label has a known role."""
        found: dict[str, int] = {}
        for i, label in enumerate(self.labels):
            role = ROLE_BY_STEM.get(strip_time_suffix(label)[0])
            if role is not None and role not in found:
                found[role] = i
        return found

    @cached_property
    def zero_bins(self) -> tuple[int, ...]:
        """Per initial variable, the 0-based zero bin or -1."""
        return tuple(zero_bin(edges) for edges in self.boundaries)

    @cached_property
    def initial_order(self) -> tuple[int, ...]:
        return tuple(topological_order(self.initial.graph))

    @cached_property
    def temporal_map(self) -> tuple[tuple[int, int], ...]:
        """Pairs (index of X(t), index of X(t+1)) in transition-label order, 0-based.

        The first element is also the variable's index in the initial network.
        """
        if self.transition is None:
            return ()
        labels = self.transition.labels
        by_stem = {strip_time_suffix(lab)[0]: j for j, lab in enumerate(labels) if strip_time_suffix(lab)[1] == "t+1"}
        pairs = []
        for i, lab in enumerate(labels[: self.n_variables]):
            stem, suffix = strip_time_suffix(lab)
            if suffix == "t" and stem in by_stem:
                pairs.append((i, by_stem[stem]))
        return tuple(pairs)

    @cached_property
    def transition_order(self) -> tuple[int, ...]:
        """The (t+1) variables (transition indices) in topological order of the transition graph."""
        if self.transition is None:
            return ()
        n0 = self.n_variables
        return tuple(topological_order(self.transition.graph, list(range(n0, self.transition.n))))

    @property
    def dynamic_variables(self) -> tuple[int, ...]:
        """Initial-variable indices of the variables that change bin through transitions."""
        return tuple(t for t, _ in self.temporal_map)

    def parents(self, i: int) -> np.ndarray:
        """Parents of initial variable ``i`` (ascending)."""
        return self.initial.parents(i)

    def variable_index(self, name: str | int) -> int:
        """Index of an initial variable from its role (``"L"``, ``"hdot"``), label (``"\\dot h"``) or index."""
        if isinstance(name, (int, np.integer)):
            if not 0 <= int(name) < self.n_variables:
                raise ValueError(f"model {self.name}: variable index {name} outside 0..{self.n_variables - 1}")
            return int(name)
        if name in self.roles:
            return self.roles[name]
        stripped = name.strip().strip('"')
        if stripped in self.labels:
            return self.labels.index(stripped)
        known = sorted(set(self.roles) | set(self.labels))
        raise ValueError(f"model {self.name} has no variable {name!r}; known: {known}")

    def bin_edges(self, name: str | int) -> np.ndarray | None:
        return self.boundaries[self.variable_index(name)]

    # ---------------------------------------------------------------- probabilities
    def cpt(self, i: int) -> np.ndarray:
        """Normalised ``(r_i, q_i)`` table of initial variable ``i`` (empty columns uniform)."""
        return self.memo(("cpt", i), lambda: _normalised_cpt(self.initial.tables[i]))

    def memo(self, key: tuple, build: Callable[[], Any]) -> Any:
        """``build()``, computed once per ``key`` and kept with the model (tables derived from the
        counts, e.g. normalised CPTs or the sampler's kernel arrays; the counts never change)."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def transition_cpt(self, j: int) -> np.ndarray:
        """Normalised table of (t+1) variable ``j`` (transition index)."""
        if self.transition is None or self.transition.tables[j] is None:
            raise ValueError(f"model {self.name}: transition variable {j} has no table")
        return self.memo(("tcpt", j), lambda: _normalised_cpt(self.transition.tables[j]))

    def cpt_factor(self, i: int) -> np.ndarray:
        """CPT of variable ``i`` as a tensor with axes (i, parent_1, ..., parent_k)."""
        parents = self.parents(i)
        shape = (int(self.r[i]), *(int(self.r[p]) for p in parents))
        return self.cpt(i).reshape(shape, order="F")

    def column_index(self, network: NetworkTables, child: int, bins0: Mapping[int, int]) -> int:
        """Column of ``child``'s table for 0-based parent bins (first parent fastest)."""
        column, stride = 0, 1
        for p in network.parents(child):
            column += int(bins0[int(p)]) * stride
            stride *= int(network.r[p])
        return column

    def bins0_of(self, given: Mapping | None) -> dict[int, int]:
        """``{variable index: 0-based bin}`` from 1-based bins by name, e.g. ``{"G": 1, "A": 4}``, checked.

        Examples
        --------
        >>> from encsim.bayes import load_model
        >>> load_model("uncor_1200only_fwse_v1p2").bins0_of({"G": 1, "A": 4})
        {0: 0, 1: 3}
        """
        bins0: dict[int, int] = {}
        for key, bin1 in (given or {}).items():
            i = self.variable_index(key)
            r_i = int(self.r[i])
            if isinstance(bin1, bool) or not isinstance(bin1, (int, np.integer)) or not 1 <= int(bin1) <= r_i:
                raise ValueError(
                    f"model {self.name}: {self.labels[i]}={bin1!r} is not a bin; expected an integer 1..{r_i} (1-based)"
                )
            bins0[i] = int(bin1) - 1
        return bins0

    def ancestors(self, nodes) -> set[int]:
        """The given initial variables and all their ancestors."""
        closed, frontier = set(), list(nodes)
        while frontier:
            node = frontier.pop()
            if node in closed:
                continue
            closed.add(node)
            frontier.extend(int(p) for p in self.parents(node))
        return closed

    def exact_joint(self, variables, given: Mapping | None = None) -> np.ndarray:
        """Exact P(variables | given) as an array with one axis per variable (in the order given).

        Computed by the chain rule on the counts, summing out every other variable (only the
        ancestors of the query and evidence matter: barren descendants sum to one).
        ``given`` maps variables to 1-based bins.
        """
        query = [self.variable_index(v) for v in variables]
        evidence = self.bins0_of(given)
        relevant = sorted(self.ancestors(set(query) | set(evidence)))
        letters = {node: string.ascii_letters[k] for k, node in enumerate(relevant)}
        operands, subscripts = [], []
        for node in relevant:
            factor = self.cpt_factor(node)
            axes = [node, *(int(p) for p in self.parents(node))]
            for pos, axis_node in reversed(list(enumerate(axes))):
                if axis_node in evidence:  # slice evidence out of every factor
                    factor = np.take(factor, evidence[axis_node], axis=pos)
                    axes.pop(pos)
            operands.append(factor)
            subscripts.append("".join(letters[a] for a in axes))
        for q in query:
            if q in evidence:
                raise ValueError(f"model {self.name}: {self.labels[q]} is both queried and given")
        output = "".join(letters[q] for q in query)
        joint = np.einsum(",".join(subscripts) + "->" + output, *operands, optimize="greedy")
        total = joint.sum()
        if not total > 0:
            shown = ", ".join(f"{self.labels[i]}={b + 1}" for i, b in evidence.items())
            raise ValueError(f"given {shown} has probability 0 in {self.name}")
        return joint / total

    def exact_marginal(self, var: str | int, given: Mapping | None = None) -> np.ndarray:
        """Exact P(var | given) over the bins of ``var`` (index 0 is bin 1), from the counts.

        Parameters
        ----------
        var : str or int
            Role (``"L"``, ``"v"``, ``"hdot"``), label (``"\\dot h"``) or index.
        given : mapping, optional
            Evidence as 1-based bins, e.g. ``{"G": 1, "A": 4}``.

        Examples
        --------
        >>> from encsim.bayes import load_model
        >>> model = load_model("uncor_1200only_fwse_v1p2")
        >>> model.exact_marginal("L", given={"G": 1, "A": 4}).round(2)  # layers 50-500-1200-3000-5000 ft
        array([0.04, 0.22, 0.49, 0.25])
        """
        return self.exact_joint([var], given)

    def to_pgmpy(self):
        """The initial network as a pgmpy ``DiscreteBayesianNetwork`` (see :mod:`encsim.bayes.pgmpy_bridge`)."""
        from .pgmpy_bridge import initial_network_to_pgmpy

        return initial_network_to_pgmpy(self)

    # ---------------------------------------------------------------- description
    def training_hours(self) -> float | None:
        """Total initial count / 3600 (one count is one second of track), where tables agree.

        None where counts are not seconds of track: correlated and terminal-geometry networks count
        encounters, and a file without a transition part has no tracks.
        """
        if self.transition is None or (
            self.entry is not None and self.entry.family in ("correlated", "terminal-geometry")
        ):
            return None
        totals = {int(t.sum()) for t in self.initial.tables if t is not None}
        if len(totals) != 1:
            return None
        return totals.pop() / S_PER_HOUR

    def describe_variables(self) -> list[dict]:
        """One dict per initial variable: label, role, bins, units, edges, parents, rate, dynamic."""
        rows = []
        dynamic = set(self.dynamic_variables)
        for i, label in enumerate(self.labels):
            role = next((r for r, idx in self.roles.items() if idx == i), None)
            unit = ROLE_UNITS.get(role, ("", ""))[0] if role else ""
            if role == "L" and self.entry is not None:
                unit = f"ft {self.entry.altitude_reference}"
            rows.append(
                {
                    "index": i + 1,
                    "label": label,
                    "role": role or "",
                    "meaning": ROLE_MEANING.get(role, ""),
                    "bins": int(self.r[i]),
                    "units": unit,
                    "edges": None if self.boundaries[i] is None else self.boundaries[i].tolist(),
                    "zero_bin": None if self.zero_bins[i] < 0 else self.zero_bins[i] + 1,
                    "parents": [self.labels[p] for p in self.parents(i)],
                    "resample_rate": float(self.resample_rates[i]),
                    "dynamic": i in dynamic,
                    "bin_meanings": BIN_MEANINGS.get((role, int(self.r[i])), ()),
                }
            )
        return rows
