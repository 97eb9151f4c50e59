"""Numba kernels of the encounter bootstrap: sums of several columns over resamples with replacement.

Resample b draws its n indices from the Philox stream keyed by (seed, b) on sub-stream 7: draw j is
lane j % 4 of the Philox4x64-10 block at counter (j // 4, 7, 0, 0), and picks encounter
``min(int(u_j * n), n - 1)``. Every column of a resample is summed in draw order, so a sum is the
same whatever the number of threads or columns, and whichever kernel below computes it.

Why it is fast (a million encounters x 1,000 resamples is 10^9 random picks):

- each encounter's values are stored together (a row of an ``(n, k)`` array, or a record of its
  weight, its event flags in one word and its real values), so a pick reads one cache line, not
  one per column; the records start on a cache line (`_zeros_on_cache_lines`), so that a record
  of 32 bytes never straddles two;
- the indices of a chunk of draws are computed ahead and their rows prefetched, so the reads of
  a chunk overlap instead of waiting one after the other; in `bootstrap_record_sums` the next
  chunk's draws are computed inside the loop that sums the current one, so the generator's
  multiplies fill the time the sums' chains of dependent adds leave idle;
- the columns are summed eight at a time over the chunk (the adds of one column form a chain;
  eight chains run side by side): in registers in `bootstrap_row_sums`, in one vector register
  (`_lanes`) for a record's flags, whose records are reached without Numba's checked indexing;
- a Philox block takes 20 64 x 64 -> 128-bit products; each is one machine multiply giving both
  words (`encsim.random.mul_hi_lo`, a 128-bit LLVM product): before, the low word was a second
  multiply, and a block took 2.3x as long.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..random import (
    PHILOX_MULTIPLIER_0,
    PHILOX_MULTIPLIER_1,
    PHILOX_ROUNDS,
    PHILOX_WEYL_0,
    PHILOX_WEYL_1,
    mul_hi_lo,
)
from ._lanes import lanes_add_scaled, lanes_load, lanes_store, load, prefetch

#: sub-stream of the bootstrap's streams (kept apart from the generation's 0-3)
BOOTSTRAP_SUB_STREAM = 7

#: draws per chunk: their indices are computed (and rows prefetched) before the chunk is summed
CHUNK_DRAWS = 256

#: columns summed side by side in registers
GROUP = 8

#: at most this many flag bits per record in `bootstrap_record_sums`
MAX_FLAGS = 64

#: FLAG_TABLE[m, c] = bit c of m (0.0 or 1.0): weight * FLAG_TABLE[m, c] is the weight or +-0
FLAG_TABLE = ((np.arange(256)[:, None] >> np.arange(GROUP)) & 1).astype(np.float64)

_UINT64_53_SHIFT = np.uint64(11)
_TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0  # exact: 2**-53
_ZERO = np.uint64(0)
_BYTE = np.uint64(255)
_EIGHT = np.uint64(8)
_THREE = np.uint64(3)


@njit(cache=True, inline="always")
def _philox_block(block_index, seed, resample):
    """Philox4x64-10 at counter (block_index, 7, 0, 0), key (seed, resample): `philox4x64_10`'s bits."""
    x0 = np.uint64(block_index)
    x1 = np.uint64(BOOTSTRAP_SUB_STREAM)
    x2 = _ZERO
    x3 = _ZERO
    key0 = np.uint64(seed)
    key1 = np.uint64(resample)
    for _ in range(PHILOX_ROUNDS):
        high0, low0 = mul_hi_lo(PHILOX_MULTIPLIER_0, x0)
        high1, low1 = mul_hi_lo(PHILOX_MULTIPLIER_1, x2)
        x0, x1, x2, x3 = high1 ^ x1 ^ key0, low1, high0 ^ x3 ^ key1, low0
        key0 = key0 + PHILOX_WEYL_0
        key1 = key1 + PHILOX_WEYL_1
    return x0, x1, x2, x3


@njit(cache=True, inline="always")
def _pick(raw, n):
    """The encounter a raw draw picks: the uniform (raw >> 11) 2**-53 scaled to [0, n)."""
    return _pick_scaled(raw, n * _TWO_POW_MINUS_53, n - 1)


@njit(cache=True, inline="always")
def _pick_scaled(raw, scale, last):
    """`_pick` with scale = n 2**-53 and last = n - 1 computed once: (raw >> 11) scale is
    ((raw >> 11) 2**-53) n rounded once, the same bits (both scalings by 2**-53 are exact), in one
    multiply. raw >> 11 < 2**53 converts to float as a signed integer, exactly."""
    return min(int(np.int64(raw >> _UINT64_53_SHIFT) * scale), last)


@njit(cache=True, inline="always")
def _draw_chunk(rows, seed, resample, first_draw, picks):
    """picks[j] = encounter of draw first_draw + j (first_draw a multiple of 4), its row prefetched."""
    n, k = rows.shape
    flat = rows.reshape(n * k)
    first_block = first_draw // 4
    for q in range(picks.shape[0] // 4):
        raw0, raw1, raw2, raw3 = _philox_block(first_block + q, seed, resample)
        i0 = _pick(raw0, n)
        i1 = _pick(raw1, n)
        i2 = _pick(raw2, n)
        i3 = _pick(raw3, n)
        prefetch(flat, i0 * k)
        prefetch(flat, i1 * k)
        prefetch(flat, i2 * k)
        prefetch(flat, i3 * k)
        picks[4 * q] = i0
        picks[4 * q + 1] = i1
        picks[4 * q + 2] = i2
        picks[4 * q + 3] = i3


@njit(cache=True, inline="always")
def _add_rows_8(acc, rows, picks, drawn, g):
    """acc[g + c] += rows[i, g + c] for c < 8 over the drawn picks i; a column past the last is read
    as the last (its sum, in acc beyond k, is discarded)."""
    last = rows.shape[1] - 1
    c1, c2, c3 = min(g + 1, last), min(g + 2, last), min(g + 3, last)
    c4, c5, c6, c7 = min(g + 4, last), min(g + 5, last), min(g + 6, last), min(g + 7, last)
    a0, a1, a2, a3 = acc[g], acc[g + 1], acc[g + 2], acc[g + 3]
    a4, a5, a6, a7 = acc[g + 4], acc[g + 5], acc[g + 6], acc[g + 7]
    for j in range(drawn):
        i = picks[j]
        a0 += rows[i, g]
        a1 += rows[i, c1]
        a2 += rows[i, c2]
        a3 += rows[i, c3]
        a4 += rows[i, c4]
        a5 += rows[i, c5]
        a6 += rows[i, c6]
        a7 += rows[i, c7]
    acc[g], acc[g + 1], acc[g + 2], acc[g + 3] = a0, a1, a2, a3
    acc[g + 4], acc[g + 5], acc[g + 6], acc[g + 7] = a4, a5, a6, a7


@njit(cache=True, inline="always")
def _add_rows_4(acc, rows, picks, drawn, g):
    """`_add_rows_8` for the last 1-4 columns: half the work."""
    last = rows.shape[1] - 1
    c1, c2, c3 = min(g + 1, last), min(g + 2, last), min(g + 3, last)
    a0, a1, a2, a3 = acc[g], acc[g + 1], acc[g + 2], acc[g + 3]
    for j in range(drawn):
        i = picks[j]
        a0 += rows[i, g]
        a1 += rows[i, c1]
        a2 += rows[i, c2]
        a3 += rows[i, c3]
    acc[g], acc[g + 1], acc[g + 2], acc[g + 3] = a0, a1, a2, a3


@njit(parallel=True, cache=True, nogil=True)
def bootstrap_row_sums(rows, n_boot, seed, out):
    """out[b, c] = sum over the n draws i of resample b (in draw order) of rows[i, c]; rows is (n, k)."""
    n, k = rows.shape
    for b in prange(n_boot):
        acc = np.zeros(k + GROUP)
        picks = np.empty(CHUNK_DRAWS, dtype=np.int64)
        for first in range(0, n, CHUNK_DRAWS):
            _draw_chunk(rows, seed, b, first, picks)
            drawn = min(CHUNK_DRAWS, n - first)
            for g in range(0, k, GROUP):
                if k - g > GROUP // 2:
                    _add_rows_8(acc, rows, picks, drawn, g)
                else:
                    _add_rows_4(acc, rows, picks, drawn, g)
        for c in range(k):
            out[b, c] = acc[c]


@njit(cache=True, inline="always")
def _pick_block(records, width_shift, scale, last, seed, resample, block_index, picks, at):
    """picks[at:at + 4] = where the records of the four draws of Philox block ``block_index`` start
    in the flat ``records`` (record i at i << width_shift), prefetched."""
    raw0, raw1, raw2, raw3 = _philox_block(block_index, seed, resample)
    start0 = _pick_scaled(raw0, scale, last) << width_shift
    start1 = _pick_scaled(raw1, scale, last) << width_shift
    start2 = _pick_scaled(raw2, scale, last) << width_shift
    start3 = _pick_scaled(raw3, scale, last) << width_shift
    prefetch(records, start0)
    prefetch(records, start1)
    prefetch(records, start2)
    prefetch(records, start3)
    picks[at], picks[at + 1], picks[at + 2], picks[at + 3] = start0, start1, start2, start3


@njit(cache=True, inline="always")
def _add_record(low, high, real0, real1, records, bits, table, start, two_groups, with_reals):
    """One draw of the record at ``start`` added to the running sums: flags 0-7 (``low``), 8-15
    (``high``), reals 0 and 1. ``table`` is `FLAG_TABLE` flat: the lanes of byte m start at 8 m."""
    w = load(records, start)
    flags = load(bits, start + 1)
    low = lanes_add_scaled(low, w, lanes_load(table, (flags & _BYTE) << _THREE))
    if two_groups:
        high = lanes_add_scaled(high, w, lanes_load(table, ((flags >> _EIGHT) & _BYTE) << _THREE))
    if with_reals:
        real0 += load(records, start + 2)
        real1 += load(records, start + 3)
    return low, high, real0, real1


@njit(cache=True, inline="always")
def _add_further_columns(flag_sums, real_sums, records, bits, table, picks, first, drawn, n_flags, n_reals):
    """Flags from 16 on and reals from 2 on (the summary's sets have none): a loop per group or real."""
    for g in range(2 * GROUP, n_flags, GROUP):
        group = lanes_load(flag_sums, g)
        shift = np.uint64(g)
        for j in range(first, first + drawn):
            start = picks[j]
            row = ((load(bits, start + 1) >> shift) & _BYTE) << _THREE
            group = lanes_add_scaled(group, load(records, start), lanes_load(table, row))
        lanes_store(flag_sums, g, group)
    for r in range(2, n_reals):
        total = real_sums[r]
        for j in range(first, first + drawn):
            total += load(records, picks[j] + 2 + r)
        real_sums[r] = total


@njit(parallel=True, cache=True, nogil=True)
def bootstrap_record_sums(records, bits, width_shift, n_flags, n_reals, table, n_boot, seed, out):
    """Sums over resamples of records that each hold an encounter's weight, event flags and real values.

    ``records``: the n records one after the other, flat float64, record i at element
    i << ``width_shift``: the weight, the flags word (read through ``bits``, the same memory as
    uint64), then (when ``n_reals`` > 0, at least two) values w y (past ``n_reals`` summed and
    ignored). out[b, c] for c < ``n_flags``: the sum over the n draws of resample b (in draw order)
    of weight times bit c of the flags (1.0 or 0.0; bit 0 is the weight itself); out[b, n_flags + r]:
    of the real value r. ``table`` is `FLAG_TABLE`, flat.

    The same sums, bit for bit, as `bootstrap_row_sums` over rows[i] = (w, w x_1, ..., w y_1, ...)
    with x the 0.0 / 1.0 event columns and y the real columns: the same products (w times 0.0 or
    1.0 is what the estimators form), added in the same order, for any weight (NaN included).

    Why it is fast: a draw reads one record, by plain address arithmetic (`_lanes`); flags go eight
    to a vector register; and the next chunk's draws are computed, and their records fetched,
    inside the loop that sums the current chunk, so that the Philox multiplies fill the time the
    sums' chains of dependent adds would leave idle, and the records are in cache when summed.
    """
    n = records.shape[0] >> width_shift
    scale, last = n * _TWO_POW_MINUS_53, n - 1
    two_groups = n_flags > GROUP
    with_reals = n_reals > 0
    n_chunks = (n + CHUNK_DRAWS - 1) // CHUNK_DRAWS
    flag_lanes = GROUP * max(2, (n_flags + GROUP - 1) // GROUP)
    blocks = CHUNK_DRAWS // 4
    for b in prange(n_boot):
        flag_sums = np.zeros(flag_lanes)
        real_sums = np.zeros(max(2, n_reals))
        picks = np.empty(2 * CHUNK_DRAWS, dtype=np.int64)  # two chunks: the current one and the next
        for q in range(blocks if n else 0):
            _pick_block(records, width_shift, scale, last, seed, b, q, picks, 4 * q)
        for chunk in range(n_chunks):
            first = (chunk % 2) * CHUNK_DRAWS  # where this chunk's picks are
            drawn = min(CHUNK_DRAWS, n - chunk * CHUNK_DRAWS)
            low, high = lanes_load(flag_sums, 0), lanes_load(flag_sums, GROUP)
            real0, real1 = real_sums[0], real_sums[1]
            if chunk + 1 < n_chunks:  # a full chunk, and the next one's picks in its loop
                for q in range(blocks):
                    _pick_block(
                        records,
                        width_shift,
                        scale,
                        last,
                        seed,
                        b,
                        (chunk + 1) * blocks + q,
                        picks,
                        CHUNK_DRAWS - first + 4 * q,
                    )
                    for j in range(first + 4 * q, first + 4 * q + 4):
                        low, high, real0, real1 = _add_record(
                            low, high, real0, real1, records, bits, table, picks[j], two_groups, with_reals
                        )
            else:
                for j in range(first, first + drawn):
                    low, high, real0, real1 = _add_record(
                        low, high, real0, real1, records, bits, table, picks[j], two_groups, with_reals
                    )
            lanes_store(flag_sums, 0, low)
            lanes_store(flag_sums, GROUP, high)
            real_sums[0], real_sums[1] = real0, real1
            _add_further_columns(flag_sums, real_sums, records, bits, table, picks, first, drawn, n_flags, n_reals)
        for c in range(n_flags):
            out[b, c] = flag_sums[c]
        for r in range(n_reals):
            out[b, n_flags + r] = real_sums[r]


#: bytes of a cache line: a record of at most this many bytes starting on a multiple of its width
#: lies in one line
CACHE_LINE_BYTES = 64


def _zeros_on_cache_lines(count: int) -> np.ndarray:
    """``np.zeros(count)`` whose first element starts a cache line.

    numpy starts a large array 16 bytes past a line, so half of the 32-byte records would straddle
    two lines: a draw would read two lines instead of one, the second one not prefetched. Measured
    on a million records of 32 bytes: 1.6-1.7x as long as from records aligned on lines.
    """
    per_line = CACHE_LINE_BYTES // 8
    spare = np.zeros(count + per_line)
    skip = (-spare.ctypes.data % CACHE_LINE_BYTES) // 8
    return spare[skip : skip + count]


def resample_row_sums(values: list[np.ndarray], n_boot: int, seed: int) -> list[np.ndarray]:
    """Sums of each array over resamples 0 .. n_boot - 1 of the encounters of seed ``seed``.

    Parameters
    ----------
    values : list of ndarray (n,)
        One value per encounter for each column (any floats).
    n_boot : int
        Number of resamples.
    seed : int
        Key word 0 of the resamples' Philox streams, in [0, 2**64).

    Returns
    -------
    list of ndarray (n_boot,)
        For each column, its sum over each resample.
    """
    rows = np.ascontiguousarray(np.stack(values, axis=1), dtype=np.float64)
    out = np.empty((n_boot, rows.shape[1]))
    bootstrap_row_sums(rows, n_boot, np.uint64(seed), out)
    return [out[:, c] for c in range(rows.shape[1])]


def resample_indicator_sums(
    weights: np.ndarray, indicators: list[np.ndarray], n_boot: int, seed: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sums of ``weights`` and of ``weights * x`` for each event indicator x, over the same resamples.

    The same numbers as `resample_row_sums` ([weights] + [weights * x for x in indicators]) in one
    pass over 16 bytes per encounter, however many indicators: `resample_record_sums` without reals.

    Parameters
    ----------
    weights : ndarray (n,)
        The encounters' weights.
    indicators : list of ndarray (n,)
        Events, 1 or True where the encounter has the event (anything else counts as no event);
        at most ``MAX_FLAGS - 1``.
    n_boot : int
        Number of resamples.
    seed : int
        Key word 0 of the resamples' Philox streams, in [0, 2**64).

    Returns
    -------
    tuple
        The weights' sums (ndarray (n_boot,)) and a list of the indicators' weighted sums.
    """
    weight_sums, sums, _ = resample_record_sums(weights, indicators, [], n_boot, seed)
    return weight_sums, sums


def resample_record_sums(
    weights: np.ndarray, indicators: list[np.ndarray], reals: list[np.ndarray], n_boot: int, seed: int
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """`resample_indicator_sums` with real values too: the sums of ``weights * y`` for each y in ``reals``.

    Each encounter's weight, event flags and values w y are stored together (one read per draw,
    `bootstrap_record_sums`); the sums of w y are those of `resample_row_sums` of w * y, bit for bit.

    Returns
    -------
    tuple
        The weights' sums (ndarray (n_boot,)), the indicators' weighted sums, the reals' weighted sums.
    """
    weights = np.asarray(weights, dtype=np.float64).ravel()
    if len(indicators) >= MAX_FLAGS:
        raise ValueError(f"{len(indicators)} indicators; at most {MAX_FLAGS - 1} fit the flags of a record")
    n_reals = len(reals)
    # 16 bytes a record without real values; else a power of two with room for at least two (the
    # kernel's first loop sums two): a record starts at its index shifted, with no multiply
    width = 2 if not n_reals else 1 << int(np.ceil(np.log2(2 + max(2, n_reals))))
    records = _zeros_on_cache_lines(weights.size * width).reshape(weights.size, width)
    bits = records.view(np.uint64)
    records[:, 0] = weights
    flags = np.ones(weights.size, dtype=np.uint64)  # bit 0: the weight itself
    for c, x in enumerate(indicators, start=1):
        x = np.asarray(x).ravel()
        if x.shape != weights.shape:
            raise ValueError(f"indicator {c - 1}: {x.shape[0]} values for {weights.size} weights")
        flags |= (x == 1).astype(np.uint64) << np.uint64(c)
    bits[:, 1] = flags
    for c, y in enumerate(reals, start=2):
        y = np.asarray(y, dtype=np.float64).ravel()
        if y.shape != weights.shape:
            raise ValueError(f"real column {c - 2}: {y.shape[0]} values for {weights.size} weights")
        records[:, c] = weights * y
    n_flags = len(indicators) + 1
    out = np.empty((n_boot, n_flags + n_reals))
    width_shift = width.bit_length() - 1
    bootstrap_record_sums(
        records.ravel(), bits.ravel(), width_shift, n_flags, n_reals, FLAG_TABLE.ravel(), n_boot, np.uint64(seed), out
    )
    columns = [out[:, c] for c in range(out.shape[1])]
    return columns[0], columns[1:n_flags], columns[n_flags:]
