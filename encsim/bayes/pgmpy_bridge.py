"""Bridge to pgmpy: the initial network of an `EncounterModel` as a `DiscreteBayesianNetwork`.

pgmpy is used for exact inference in tests and in the comparison module; it is far too slow for
Monte Carlo sampling. Node names are the file's labels; states are 0-based bins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .model import EncounterModel


def initial_network_to_pgmpy(model: EncounterModel):
    """Build a pgmpy ``DiscreteBayesianNetwork`` of ``model``'s initial network.

    pgmpy orders a CPD's columns with the *last* evidence variable fastest, while MIT LL tables have
    the *first* parent fastest; the evidence list is therefore given in descending parent order,
    which makes the two column orders coincide without reshuffling the table.
    Empty count columns become uniform (pgmpy needs every column to be a distribution).
    """
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    labels = model.labels
    network = DiscreteBayesianNetwork()
    network.add_nodes_from(labels)
    for child in range(model.n_variables):
        for parent in model.parents(child):
            network.add_edge(labels[int(parent)], labels[child])
    cpds = []
    for child in range(model.n_variables):
        parents_descending = [int(p) for p in model.parents(child)][::-1]
        cpds.append(
            TabularCPD(
                variable=labels[child],
                variable_card=int(model.r[child]),
                values=model.cpt(child),
                evidence=[labels[p] for p in parents_descending] or None,
                evidence_card=[int(model.r[p]) for p in parents_descending] or None,
            )
        )
    network.add_cpds(*cpds)
    return network
