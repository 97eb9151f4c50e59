"""Numba kernels of the DBN sampler (private; see `encsim.sampling` for the public functions).

The transition part is event-driven (design.md, "the exact shortcut for the sampler"): while no
dynamic variable changes bin, every transition column is the one of the second before, so the
waiting time to the next change is geometric with success probability 1 - S, S being the product
over the (t+1) variables, in topological order, of the probability of staying in the current bin
given parents that all stayed. At the change second the first variable to change is k with
probability (prod_{j<k} s_j)(1 - s_k)/(1 - S); it is drawn from its column without its current bin,
and the variables after it from their ordinary columns (their parents may now hold new values).
This is the per-step law exactly, with no rejection loop. Within-bin resamples are independent
Bernoulli streams per variable: their gaps are geometric too.

Every track draws from its own Philox stream keyed by (seed, track id), so a track is the same
whatever else is sampled with it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..borrow import borrowed, keep_alive
from ..random import next_uniform, next_uniform_open0, stream_init, stream_seek
from ..units import FPM_PER_FPS, SPEED_RULE_FPS_PER_KT

POLICY_REJECT = 0
POLICY_HOLD = 1
POLICY_BIN1 = 2

STATUS_OK = 0
STATUS_GAVE_UP = 1
STATUS_OVERFLOW = 2  # more command rows than the buffer holds: redo the track with a larger one

#: rejection reasons, columns of the per-track rejection counts (then one per (t+1) variable)
REJECT_SPEED_RULE = 0
REJECT_EMPTY_INITIAL = 1
REJECT_FIRST_TRANSITION = 2

_NEVER = np.int64(1) << np.int64(62)


class Request(NamedTuple):
    """Which tracks to draw and how: track ``i`` draws from the stream (``seed``, ``track_ids[i]``;
    ``sub_streams[i]``, ``attempts[i]``) from draw ``start_draws[i]`` on; ``duration_s`` (int64),
    ``presets`` (0-based bin per initial variable, -1 free), ``policy`` (``POLICY_*``),
    ``max_attempts`` (int64), ``apply_speed_rule`` (bool)."""

    seed: np.uint64
    track_ids: np.ndarray
    sub_streams: np.ndarray
    attempts: np.ndarray
    start_draws: np.ndarray
    duration_s: np.int64
    presets: np.ndarray
    policy: np.int64
    max_attempts: np.int64
    apply_speed_rule: bool


class Variables(NamedTuple):
    """The model's variables beyond its networks (`encsim.sampling._tables.SamplerTables`):
    ``partner`` (per (t+1) variable its time-t variable), bin edges in CSR form (``edges_ptr``,
    ``edges``), ``zero_bin``, ``resample_rate``, the command variables and their unit factors, the
    indices of speed, altitude layer and heading (-1 if absent) and the layer edges (ft)."""

    partner: np.ndarray
    edges_ptr: np.ndarray
    edges: np.ndarray
    zero_bin: np.ndarray
    resample_rate: np.ndarray
    command_var: np.ndarray
    command_scale: np.ndarray
    speed_var: np.int64
    layer_var: np.int64
    heading_var: np.int64
    layer_edges_ft: np.ndarray


class Outputs(NamedTuple):
    """What the kernel fills, row ``i`` for track ``i`` (shapes in `encsim.sampling._buffers.run_kernel`)."""

    bins: np.ndarray
    values: np.ndarray
    alt: np.ndarray
    heading: np.ndarray
    rows_n: np.ndarray
    row_t: np.ndarray
    row_val: np.ndarray
    row_bins: np.ndarray
    changes: np.ndarray
    resamples: np.ndarray
    rejects: np.ndarray
    status: np.ndarray
    end_draw: np.ndarray


#: tracks per parallel work item (scratch arrays are allocated once per block)
_BLOCK = 64


@njit(cache=True, inline="always")
def _column(x, parent_ptr, parent_idx, parent_stride, var):
    column = 0
    for m in range(parent_ptr[var], parent_ptr[var + 1]):
        column += x[parent_idx[m]] * parent_stride[m]
    return column


@njit(cache=True, inline="always")
def _count(cum, base, k):
    if k == 0:
        return cum[base]
    return cum[base + k] - cum[base + k - 1]


@njit(cache=True, inline="always")
def _draw(cum, base, r, u):
    """Bin k with probability count_k / total (u in [0, 1)); -1 for an empty column."""
    total = cum[base + r - 1]
    if total <= 0.0:
        return -1
    target = u * total
    for k in range(r):
        if cum[base + k] > target:
            return k
    return r - 1


@njit(cache=True, inline="always")
def _draw_excluding(cum, base, r, current, u):
    """A bin other than ``current`` with probability proportional to its count; -1 if none."""
    rest = cum[base + r - 1] - _count(cum, base, current)
    if rest <= 0.0:
        return -1
    target = u * rest
    running = 0.0
    last_possible = -1
    for k in range(r):
        if k == current:
            continue
        count = _count(cum, base, k)
        if count > 0.0:
            last_possible = k
        running += count
        if running > target:
            return k
    return last_possible  # only reached through rounding at u close to 1


@njit(cache=True, inline="always")
def _value_in_bin(edges, edges_ptr, zero_bin, var, b, u):
    """De-discretise: uniform in bin b, exactly 0 in the zero bin, NaN for a categorical variable."""
    lo_index = edges_ptr[var]
    if edges_ptr[var + 1] == lo_index:
        return np.nan
    if b == zero_bin[var]:
        return 0.0
    lo = edges[lo_index + b]
    hi = edges[lo_index + b + 1]
    return lo + u * (hi - lo)


@njit(cache=True, inline="always")
def _geometric_gap(p_event, stream):
    """Seconds until the next event of a Bernoulli(p_event)-per-second stream (>= 1)."""
    if p_event <= 0.0:
        return _NEVER
    if p_event >= 1.0:
        return np.int64(1)
    gap = 1.0 + math.floor(math.log(next_uniform_open0(stream)) / math.log1p(-p_event))
    if gap > 1e15:
        return _NEVER
    return np.int64(gap)


@njit(cache=True, inline="always")
def _stay_path(x, transition, partner, policy, stay):
    """Stay probabilities s_k along the all-stay path; returns their product S.

    An empty column on that path gets s = 0 under 'reject' (reaching it rejects the track),
    1 under 'hold', and 'stay only if in bin 1' under 'bin1'.
    """
    t_order, t_r, t_pptr, t_pidx, t_pstride, t_off, t_cum = transition
    for k in range(t_order.shape[0]):
        var = t_order[k]
        x[var] = x[partner[var]]
    product = 1.0
    for k in range(t_order.shape[0]):
        var = t_order[k]
        r = t_r[var]
        base = t_off[var] + _column(x, t_pptr, t_pidx, t_pstride, var) * r
        total = t_cum[base + r - 1]
        current = x[partner[var]]
        if total > 0.0:
            s = _count(t_cum, base, current) / total
        elif policy == POLICY_HOLD:
            s = 1.0
        elif policy == POLICY_BIN1:
            s = 1.0 if current == 0 else 0.0
        else:
            s = 0.0
        stay[k] = s
        product *= s
    return product


@njit(cache=True, inline="always")
def _change(x, stay, product, u, transition, partner, policy, stream):
    """Draw the (t+1) values at a change second. Returns -1, or the order position whose empty
    column rejects the track under the 'reject' policy."""
    t_order, t_r, t_pptr, t_pidx, t_pstride, t_off, t_cum = transition
    n_dyn = t_order.shape[0]
    target = u * (1.0 - product)
    running = 0.0
    prefix = 1.0
    first = -1
    for k in range(n_dyn):
        p_first = prefix * (1.0 - stay[k])
        if p_first > 0.0:
            first = k
            if target < running + p_first:
                break
        running += p_first
        prefix *= stay[k]
    # x already holds the stay values for positions before `first` (set by _stay_path)
    for k in range(first, n_dyn):
        var = t_order[k]
        r = t_r[var]
        base = t_off[var] + _column(x, t_pptr, t_pidx, t_pstride, var) * r
        current = x[partner[var]]
        empty = t_cum[base + r - 1] <= 0.0
        if empty:
            if policy == POLICY_REJECT:
                return k
            x[var] = 0 if policy == POLICY_BIN1 else current
        elif k == first:
            x[var] = _draw_excluding(t_cum, base, r, current, next_uniform(stream))
        else:
            x[var] = _draw(t_cum, base, r, next_uniform(stream))
    return -1


@njit(cache=True, inline="always")
def _write_row(i, n_rows, t_s, vals, x, command_var, command_scale, out_row_t, out_row_val, out_row_bins):
    """Store a command row, converted from model units to the dynamics' units."""
    out_row_t[i, n_rows] = t_s
    for c in range(3):
        var = command_var[c]
        if var >= 0:
            out_row_val[i, n_rows, c] = vals[var] * command_scale[c]
            out_row_bins[i, n_rows, c] = x[var]
        else:
            out_row_val[i, n_rows, c] = 0.0
            out_row_bins[i, n_rows, c] = -1


@njit(cache=True)
def _sample_one(i, request, initial, transition, variables, out, scratch):
    """Sample track ``request.track_ids[i]`` into row ``i`` of ``out``; ``scratch`` holds the
    work arrays of the calling block (stream, x, vals, next_resample, stay, changed, changes,
    resamples).

    The track's stream starts at draw ``start_draws[i]`` (0 for a first draw; a track rejected
    later, e.g. by the dynamics' limits, is redrawn by continuing its stream where it stopped).
    """
    seed, track_ids, sub_streams, attempts, start_draws, duration_s, presets, policy, max_attempts, apply_speed_rule = (
        request
    )
    track_id, sub_stream, attempt, start_draw = track_ids[i], sub_streams[i], attempts[i], start_draws[i]
    i_order, i_r, i_pptr, i_pidx, i_pstride, i_off, i_cum = initial
    t_order = transition[0]
    (
        partner,
        edges_ptr,
        edges,
        zero_bin,
        rates,
        command_var,
        command_scale,
        speed_var,
        layer_var,
        heading_var,
        layer_edges,
    ) = variables
    (
        out_bins,
        out_values,
        out_alt,
        out_heading,
        out_rows_n,
        out_row_t,
        out_row_val,
        out_row_bins,
        out_changes,
        out_resamples,
        out_rejects,
        out_status,
        out_end_draw,
    ) = out
    stream, x, vals, next_resample, stay, changed, changes, resamples = scratch
    n0 = rates.shape[0]
    n_dyn = t_order.shape[0]
    stream_init(stream, np.uint64(seed), np.uint64(track_id), np.uint64(sub_stream), np.uint64(attempt))
    stream_seek(stream, start_draw)
    hdot_var = command_var[0]

    for _attempt in range(max_attempts):
        # ---- initial network, ancestral sampling with presets
        empty_initial = False
        for var in i_order:
            if presets[var] >= 0:
                x[var] = presets[var]
                continue
            base = i_off[var] + _column(x, i_pptr, i_pidx, i_pstride, var) * i_r[var]
            b = _draw(i_cum, base, i_r[var], next_uniform(stream))
            if b < 0:
                empty_initial = True
                break
            x[var] = b
        if empty_initial:
            out_rejects[i, REJECT_EMPTY_INITIAL] += 1
            continue
        for var in range(n0):
            vals[var] = _value_in_bin(edges, edges_ptr, zero_bin, var, x[var], next_uniform(stream))
        if apply_speed_rule and not (vals[speed_var] * SPEED_RULE_FPS_PER_KT > abs(vals[hdot_var]) / FPM_PER_FPS):
            out_rejects[i, REJECT_SPEED_RULE] += 1
            continue
        alt_ft = 0.0
        if layer_var >= 0 and layer_edges.shape[0] > 1:
            lo = layer_edges[x[layer_var]]
            alt_ft = lo + next_uniform(stream) * (layer_edges[x[layer_var] + 1] - lo)
        for var in range(n0):
            out_bins[i, var] = x[var]
            out_values[i, var] = vals[var]
        out_alt[i] = alt_ft
        out_heading[i] = vals[heading_var] if heading_var >= 0 else 0.0

        # ---- transitions and within-bin resampling, event by event
        n_rows = 0
        _write_row(i, n_rows, 0, vals, x, command_var, command_scale, out_row_t, out_row_val, out_row_bins)
        n_rows += 1
        changes[:] = 0
        resamples[:] = 0
        for var in range(n0):
            next_resample[var] = _geometric_gap(rates[var], stream)
        next_change = _NEVER
        product = 1.0
        if n_dyn > 0 and duration_s > 1:
            product = _stay_path(x, transition, partner, policy, stay)
            next_change = _geometric_gap(1.0 - product, stream)
        rejected_at = -1
        overflow = False
        while True:
            tau = next_change
            for var in range(n0):
                if next_resample[var] < tau:
                    tau = next_resample[var]
            if tau > duration_s:
                break
            changed[:] = False
            command_changed = False
            if tau == next_change:
                if tau > duration_s - 1:  # the last transition is at second T - 1
                    next_change = _NEVER
                else:
                    rejected_at = _change(x, stay, product, next_uniform(stream), transition, partner, policy, stream)
                    if rejected_at >= 0:
                        break
                    for k in range(n_dyn):
                        var = t_order[k]
                        own = partner[var]
                        if x[var] != x[own]:
                            x[own] = x[var]
                            changed[own] = True
                            changes[k] += 1
                            vals[own] = _value_in_bin(edges, edges_ptr, zero_bin, own, x[own], next_uniform(stream))
                            command_changed = True
                    product = _stay_path(x, transition, partner, policy, stay)
                    next_change = tau + _geometric_gap(1.0 - product, stream)
            for var in range(n0):
                if next_resample[var] == tau:
                    resamples[var] += 1
                    # a resample at the second of the same variable's bin change is superseded;
                    # one at second T falls outside the track
                    if not changed[var] and tau < duration_s:
                        vals[var] = _value_in_bin(edges, edges_ptr, zero_bin, var, x[var], next_uniform(stream))
                        for c in range(3):
                            if command_var[c] == var:
                                command_changed = True
                    next_resample[var] = tau + _geometric_gap(rates[var], stream)
            if command_changed and tau < duration_s:
                if n_rows == out_row_t.shape[1]:
                    overflow = True
                    break
                _write_row(i, n_rows, tau, vals, x, command_var, command_scale, out_row_t, out_row_val, out_row_bins)
                n_rows += 1
        if overflow:
            out_status[i] = STATUS_OVERFLOW
            return
        if rejected_at >= 0:
            out_rejects[i, REJECT_FIRST_TRANSITION + rejected_at] += 1
            continue
        out_rows_n[i] = n_rows
        for k in range(n_dyn):
            out_changes[i, k] = changes[k]
        for var in range(n0):
            out_resamples[i, var] = resamples[var]
        out_status[i] = STATUS_OK
        out_end_draw[i] = stream[4]
        return
    out_status[i] = STATUS_GAVE_UP
    out_end_draw[i] = stream[4]


@njit(parallel=True, cache=True, nogil=True)
def sample_tracks_kernel(request, initial, transition, variables, out):
    """Sample the tracks of ``request`` (`Request`) from the model's ``initial`` and ``transition``
    networks (`encsim.sampling._tables.NetworkArrays`) and its ``variables`` (`Variables`) into
    the preallocated ``out`` (`Outputs`), row i for track ``request.track_ids[i]``.

    Track i draws from the stream (seed, track_ids[i]; sub_streams[i], attempts[i]) starting at
    draw ``start_draws[i]``: a track sampled alone uses sub-stream 0, attempt 0; an encounter
    attempt a uses sub-stream 0 for the ownship and 1 for the intruder, attempt a.

    Tracks are handed to threads in blocks so that the scratch arrays are allocated once per block.
    """
    n = request.track_ids.shape[0]
    n0 = variables.resample_rate.shape[0]
    n_dyn = max(transition[0].shape[0], 1)
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for block in prange(n_blocks):
        stream = np.empty(9, dtype=np.uint64)
        x = np.zeros(max(variables.partner.shape[0], n0), dtype=np.int64)
        vals = np.empty(n0, dtype=np.float64)
        next_resample = np.empty(n0, dtype=np.int64)
        stay = np.ones(n_dyn, dtype=np.float64)
        changed = np.zeros(n0, dtype=np.bool_)
        changes = np.zeros(n_dyn, dtype=np.int64)
        resamples = np.zeros(n0, dtype=np.int64)
        owned = (stream, x, vals, next_resample, stay, changed, changes, resamples)
        # every array borrowed (`encsim.borrow`): the sampler's inner loops pass and unpack them at
        # every draw, and each reference counted was an atomic increment and decrement
        arguments = borrowed((request, initial, transition, variables, out))
        scratch = borrowed(owned)
        for i in range(block * _BLOCK, min(n, (block + 1) * _BLOCK)):
            _sample_one(i, arguments[0], arguments[1], arguments[2], arguments[3], arguments[4], scratch)
        keep_alive(owned)  # the scratch arrays live until their borrowed views are done


@njit(parallel=True, cache=True, nogil=True)
def compact_rows_kernel(offsets, row_t, row_val, row_bins, t_s, hdot, psidot, vdot, bins):
    """Copy each track's buffered command rows into the flat (CSR) schedule arrays."""
    for i in prange(offsets.shape[0] - 1):
        start = offsets[i]
        for k in range(offsets[i + 1] - start):
            t_s[start + k] = row_t[i, k]
            hdot[start + k] = row_val[i, k, 0]
            psidot[start + k] = row_val[i, k, 1]
            vdot[start + k] = row_val[i, k, 2]
            for c in range(3):
                bins[start + k, c] = row_bins[i, k, c] + 1
