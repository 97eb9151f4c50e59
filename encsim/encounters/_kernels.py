"""Numba kernel of the encounter geometry draws (mitll-reference 4.3-4.5, decisions.md section 5).

Per encounter attempt, from the geometry stream (seed, encounter id; sub-stream 2, attempt):
one uniform for the VMD acceptance, pairs of uniforms for the intruder heading at CPA (density
proportional to the relative speed, by rejection), two uniforms for the signed HMD (bin, then
uniform within it).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..random import next_uniform, stream_init

GEOMETRY_SUB_STREAM = 2
#: heading rejection rounds before giving up on an attempt (never reached unless speeds are NaN)
_MAX_HEADING_ROUNDS = 100_000


class Attempts(NamedTuple):
    """Encounter attempts, row ``i`` each: the geometry stream's key (``seed``, ``ids[i]``) and
    ``attempts[i]``; ``rel_alt_ft`` intruder minus ownship altitude at tCPA; the horizontal speeds
    (``v_own``, ``v_int``, ft/s) and vertical rates (``hdot_own``, ``hdot_int``, ft/s) used for the
    heading density."""

    seed: np.uint64
    ids: np.ndarray
    attempts: np.ndarray
    rel_alt_ft: np.ndarray
    v_own: np.ndarray
    v_int: np.ndarray
    hdot_own: np.ndarray
    hdot_int: np.ndarray


class Proposal(NamedTuple):
    """The importance-sampling proposal: VMD bin edges (ft) with each bin's acceptance probability,
    HMD bin edges (ft) with the cumulative bin probabilities."""

    vmd_edges: np.ndarray
    vmd_accept: np.ndarray
    hmd_edges: np.ndarray
    hmd_cumulative: np.ndarray


class GeometryOutputs(NamedTuple):
    """What the kernel fills per attempt: VMD bin (-1 outside the span), accepted, intruder heading
    at CPA (rad), signed HMD (ft) and its bin."""

    vmd_bin: np.ndarray
    accepted: np.ndarray
    psi_int: np.ndarray
    hmd_signed: np.ndarray
    hmd_bin: np.ndarray


@njit(cache=True)
def _relative_speed(psi, v_own, v_int, hdot_diff):
    return math.sqrt((v_int * math.cos(psi) - v_own) ** 2 + (v_int * math.sin(psi)) ** 2 + hdot_diff**2)


@njit(parallel=True, cache=True)
def geometry_kernel(attempt_rows, proposal, out):
    """VMD acceptance, intruder heading at CPA and signed HMD for every attempt (row i) of
    ``attempt_rows`` (`Attempts`) under ``proposal`` (`Proposal`), into ``out`` (`GeometryOutputs`)."""
    # each row in a function of its own: arrays unpacked from the tuples inside a prange loop body
    # are not written back by Numba's parallel lowering
    for i in prange(attempt_rows.ids.shape[0]):
        _one_attempt(i, attempt_rows, proposal, out)


@njit(cache=True)
def _one_attempt(i, attempt_rows, proposal, out):
    """Row ``i`` of `geometry_kernel`."""
    seed, ids, attempts, rel_alt_ft, v_own, v_int, hdot_own, hdot_int = attempt_rows
    vmd_edges, vmd_accept, hmd_edges, hmd_cumulative = proposal
    out_vmd_bin, out_accepted, out_psi_int, out_hmd_signed, out_hmd_bin = out
    n_vmd = vmd_edges.shape[0] - 1
    n_hmd = hmd_edges.shape[0] - 1
    stream = np.empty(9, dtype=np.uint64)
    stream_init(stream, np.uint64(seed), np.uint64(ids[i]), np.uint64(GEOMETRY_SUB_STREAM), np.uint64(attempts[i]))
    u_vmd = next_uniform(stream)
    b = -1
    rel = rel_alt_ft[i]
    if rel >= vmd_edges[0] and rel < vmd_edges[n_vmd]:
        b = 0
        while b < n_vmd - 1 and rel >= vmd_edges[b + 1]:
            b += 1
    out_vmd_bin[i] = b
    if b < 0 or u_vmd > vmd_accept[b]:
        out_accepted[i] = False
        return
    out_accepted[i] = True
    hdot_diff = hdot_int[i] - hdot_own[i]
    head_on = _relative_speed(math.pi, v_own[i], v_int[i], hdot_diff)
    psi = 0.0
    for _ in range(_MAX_HEADING_ROUNDS):
        psi = (next_uniform(stream) - 0.5) * 2.0 * math.pi
        u_accept = next_uniform(stream)
        if head_on <= 0.0 or u_accept * head_on <= _relative_speed(psi, v_own[i], v_int[i], hdot_diff):
            break
    out_psi_int[i] = psi
    u_bin = next_uniform(stream)
    k = 0
    while k < n_hmd - 1 and u_bin >= hmd_cumulative[k]:
        k += 1
    out_hmd_bin[i] = k
    out_hmd_signed[i] = hmd_edges[k] + next_uniform(stream) * (hmd_edges[k + 1] - hmd_edges[k])
