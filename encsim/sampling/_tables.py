"""Flat arrays of an `EncounterModel` for the sampling kernels (struct of arrays, 0-based bins).

A network's tables become one float64 array of cumulative counts: the column ``j`` of variable
``i`` (``r_i`` bins) occupies ``cum[offset_i + j * r_i : offset_i + (j + 1) * r_i]``, so a categorical
draw is one scan of ``r_i`` numbers. Parents come as (index, stride) pairs in CSR form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import units
from ..bayes.model import EncounterModel

#: dynamic-variable roles in the order of the command rows (vertical rate, turn rate, acceleration)
COMMAND_ROLES = ("hdot", "psidot", "vdot")

EMPTY_COLUMN_POLICIES = {"reject": 0, "hold": 1, "bin1": 2}


class NetworkArrays(NamedTuple):
    """A network's tables for the kernels (a named tuple: the kernels take it as one argument)."""

    order: np.ndarray  # variables to draw, in topological order (network indices)
    r: np.ndarray  # bins per drawn variable (indexed by network index)
    parent_ptr: np.ndarray  # CSR over network indices
    parent_idx: np.ndarray
    parent_stride: np.ndarray
    cum_offset: np.ndarray
    cum: np.ndarray


def _network_arrays(network, drawn: list[int]) -> NetworkArrays:
    n = network.n
    parent_ptr = np.zeros(n + 1, dtype=np.int64)
    parent_idx: list[int] = []
    parent_stride: list[int] = []
    cum_offset = np.full(n, -1, dtype=np.int64)
    blocks = []
    offset = 0
    for i in range(n):
        if i in drawn:
            stride = 1
            for p in network.parents(i):
                parent_idx.append(int(p))
                parent_stride.append(stride)
                stride *= int(network.r[p])
            table = network.tables[i].astype(np.float64)
            block = np.cumsum(table, axis=0).ravel(order="F")
            cum_offset[i] = offset
            offset += block.shape[0]
            blocks.append(block)
        parent_ptr[i + 1] = len(parent_idx)
    return NetworkArrays(
        order=np.asarray(drawn, dtype=np.int64),
        r=network.r.astype(np.int64),
        parent_ptr=parent_ptr,
        parent_idx=np.asarray(parent_idx, dtype=np.int64),
        parent_stride=np.asarray(parent_stride, dtype=np.int64),
        cum_offset=cum_offset,
        cum=np.concatenate(blocks) if blocks else np.zeros(0),
    )


@dataclass(frozen=True)
class SamplerTables:
    """Everything the sampling kernel needs from a model, as flat arrays."""

    n_initial: int
    initial: NetworkArrays
    transition: NetworkArrays | None
    partner: np.ndarray  # per transition index >= n0: its time-t (initial) variable; -1 elsewhere
    edges_ptr: np.ndarray
    edges: np.ndarray
    zero_bin: np.ndarray
    resample_rate: np.ndarray
    command_var: np.ndarray  # initial index of hdot, psidot, vdot (or -1)
    command_scale: np.ndarray  # model units -> dynamics units (ft/min -> ft/s, deg/s -> rad/s, kt/s -> ft/s^2)
    speed_var: int
    layer_var: int
    heading_var: int
    layer_edges_ft: np.ndarray


def build_sampler_tables(model: EncounterModel, layer_edges_ft, *, with_transitions: bool = True) -> SamplerTables:
    """The model's kernel arrays, built once per (layer table, with transitions) and cached on the model."""
    key = ("sampler_tables", tuple(np.asarray(layer_edges_ft, dtype=np.float64).tolist()), with_transitions)
    return model.memo(key, lambda: _build_sampler_tables(model, layer_edges_ft, with_transitions))


def _build_sampler_tables(model: EncounterModel, layer_edges_ft, with_transitions: bool) -> SamplerTables:
    n0 = model.n_variables
    initial = _network_arrays(model.initial, list(model.initial_order))
    transition = None
    partner = np.full(n0, -1, dtype=np.int64)
    if model.transition is not None and with_transitions:
        transition = _network_arrays(model.transition, list(model.transition_order))
        partner = np.full(model.transition.n, -1, dtype=np.int64)
        for t_index, t1_index in model.temporal_map:
            partner[t1_index] = t_index
    edges_ptr = np.zeros(n0 + 1, dtype=np.int64)
    edge_blocks = []
    for i, edges in enumerate(model.boundaries):
        count = 0 if edges is None else edges.shape[0]
        edges_ptr[i + 1] = edges_ptr[i] + count
        if edges is not None:
            edge_blocks.append(edges)
    roles = model.roles
    return SamplerTables(
        n_initial=n0,
        initial=initial,
        transition=transition,
        partner=partner,
        edges_ptr=edges_ptr,
        edges=np.concatenate(edge_blocks) if edge_blocks else np.zeros(0),
        zero_bin=np.asarray(model.zero_bins, dtype=np.int64),
        resample_rate=model.resample_rates.astype(np.float64),
        command_var=np.array([roles.get(role, -1) for role in COMMAND_ROLES], dtype=np.int64),
        command_scale=np.array([units.FPS_PER_FPM, units.RAD_PER_DEG, units.FPS_PER_KT]),
        speed_var=roles.get("v", -1),
        layer_var=roles.get("L", -1),
        heading_var=roles.get("psi", -1),
        layer_edges_ft=np.asarray(layer_edges_ft, dtype=np.float64),
    )
