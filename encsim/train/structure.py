"""Structure learning with pgmpy, under the constraints of an encounter model.

Hill climbing (`pgmpy.estimators.HillClimbSearch`) with a BDeu or BIC score, forbidden to add:

- in the initial network, an edge from a dynamic variable (one with a (t+1) copy) into a static
  one: the static variables (region, airspace, layer, airspeed in the MIT LL models) come first;
- in the transition network, any edge into a time-t variable (only the (t+1) variables have
  tables), and any edge between two time-t variables (they are given).

The learned edges are compared with the template's as undirected skeletons (a Bayesian network's
edge directions are identifiable only up to its equivalence class).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .counting import ModelLayout

SCORES = {"bdeu": "bdeu", "bic": "bic-d"}


@dataclass(frozen=True)
class LearnedStructure:
    """Learned and template edges (directed, by label) and the skeleton comparison."""

    network: str
    score: str
    learned: tuple[tuple[str, str], ...]
    template: tuple[tuple[str, str], ...]

    @staticmethod
    def _skeleton(edges) -> set[frozenset]:
        return {frozenset(edge) for edge in edges}

    @property
    def recovered(self) -> set[frozenset]:
        return self._skeleton(self.learned) & self._skeleton(self.template)

    @property
    def missing(self) -> set[frozenset]:
        return self._skeleton(self.template) - self._skeleton(self.learned)

    @property
    def extra(self) -> set[frozenset]:
        return self._skeleton(self.learned) - self._skeleton(self.template)

    @property
    def skeleton_precision(self) -> float:
        """Fraction of the learned skeleton edges that are the template's."""
        learned = self._skeleton(self.learned)
        return len(self.recovered) / len(learned) if learned else 1.0

    @property
    def skeleton_recall(self) -> float:
        """Fraction of the template's skeleton edges that were learned."""
        template = self._skeleton(self.template)
        return len(self.recovered) / len(template) if template else 1.0

    def to_frame(self) -> pd.DataFrame:
        rows = []
        learned = self._skeleton(self.learned)
        template = self._skeleton(self.template)
        for edge in sorted(learned | template, key=lambda e: sorted(e)):
            a, b = sorted(edge)
            rows.append({"edge": f"{a} - {b}", "template": edge in template, "learned": edge in learned})
        return pd.DataFrame(rows)


def _edges(graph: np.ndarray, labels) -> tuple[tuple[str, str], ...]:
    return tuple((labels[p], labels[c]) for p, c in np.argwhere(graph))


def _hill_climb(data: pd.DataFrame, forbidden, score: str, max_indegree: int | None, equivalent_sample_size: float):
    from pgmpy.causal_discovery import ExpertKnowledge

    if score not in SCORES:
        raise ValueError(f"score {score!r}: expected one of {sorted(SCORES)}")
    data = data.astype("category")  # pgmpy treats integer columns as continuous
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from pgmpy.estimators import BIC, BDeu, HillClimbSearch

        scoring = BDeu(data, equivalent_sample_size=equivalent_sample_size) if score == "bdeu" else BIC(data)
        search = HillClimbSearch(data)
        dag = search.estimate(
            scoring_method=scoring,
            expert_knowledge=ExpertKnowledge(forbidden_edges=forbidden),
            max_indegree=max_indegree,
            show_progress=False,
        )
    return list(dag.edges())


def learn_initial_structure(
    layout: ModelLayout,
    bins0: np.ndarray,
    *,
    score: str = "bdeu",
    max_indegree: int | None = None,
    equivalent_sample_size: float = 10.0,
) -> LearnedStructure:
    """Learn the initial network from 0-based bins (rows = 1-s states, columns = initial variables).

    ``equivalent_sample_size`` is BDeu's prior strength (pgmpy's default 10); larger values make
    adding parents cheaper.
    """
    labels = list(layout.labels)
    dynamic = {i for i, _ in layout.temporal}
    forbidden = [(labels[d], labels[s]) for d in dynamic for s in range(layout.n) if s not in dynamic]
    data = pd.DataFrame(np.asarray(bins0), columns=labels)
    learned = _hill_climb(data, forbidden, score, max_indegree, equivalent_sample_size)
    return LearnedStructure("initial", score, tuple(learned), _edges(layout.initial_graph, labels))


def learn_transition_structure(
    layout: ModelLayout,
    before0: np.ndarray,
    after0: np.ndarray,
    *,
    score: str = "bdeu",
    max_indegree: int | None = None,
    equivalent_sample_size: float = 10.0,
) -> LearnedStructure:
    """Learn the transition network from pairs of 0-based states one second apart."""
    labels = list(layout.transition_labels)
    n0 = layout.n
    columns = {labels[i]: np.asarray(before0)[:, i] for i in range(n0)}
    for i, j in layout.temporal:
        columns[labels[j]] = np.asarray(after0)[:, i]
    data = pd.DataFrame(columns)
    forbidden = [(a, b) for a in labels for b in labels[:n0] if a != b]
    learned = _hill_climb(data, forbidden, score, max_indegree, equivalent_sample_size)
    return LearnedStructure("transition", score, tuple(learned), _edges(layout.transition_graph, labels))
