import numpy as np
from numba import njit, uint64

M0 = np.uint64(0xD2E7470EE14C6C93)
M1 = np.uint64(0xCA5A826395121157)
W0 = np.uint64(0x9E3779B97F4A7C15)
W1 = np.uint64(0xBB67AE8584CAA73B)
MASK32 = np.uint64(0xFFFFFFFF)
S32 = np.uint64(32)

@njit(cache=True, inline="always")
def _mulhilo(a, b):
    a_lo = a & MASK32; a_hi = a >> S32; b_lo = b & MASK32; b_hi = b >> S32
    p0 = a_lo * b_lo; p1 = a_lo * b_hi; p2 = a_hi * b_lo; p3 = a_hi * b_hi
    mid = (p0 >> S32) + (p1 & MASK32) + (p2 & MASK32)
    hi = p3 + (p1 >> S32) + (p2 >> S32) + (mid >> S32)
    return a * b, hi

@njit(cache=True)
def philox4x64_10(c0, c1, c2, c3, k0, k1):
    for r in range(10):
        if r > 0:
            k0 = k0 + W0; k1 = k1 + W1
        lo0, hi0 = _mulhilo(M0, c0)
        lo1, hi1 = _mulhilo(M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3

@njit(cache=True)
def stream_init(stream, k0, k1, sub, attempt):
    stream[0] = k0; stream[1] = k1; stream[2] = sub; stream[3] = attempt; stream[4] = np.uint64(0)

@njit(cache=True)
def next_raw(stream):
    j = stream[4]
    lane = j & np.uint64(3)
    if lane == np.uint64(0):
        o0, o1, o2, o3 = philox4x64_10(j >> np.uint64(2), stream[2], stream[3], np.uint64(0), stream[0], stream[1])
        stream[5] = o0; stream[6] = o1; stream[7] = o2; stream[8] = o3
    stream[4] = j + np.uint64(1)
    return stream[5 + lane]

@njit(cache=True)
def next_uniform(stream):
    return (next_raw(stream) >> np.uint64(11)) * (1.0 / 9007199254740992.0)

@njit(cache=True)
def next_uniform_open0(stream):
    return 1.0 - next_uniform(stream)

def seed_to_uint64(rng):
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng)
    if isinstance(rng, np.random.SeedSequence):
        return int(rng.generate_state(1, np.uint64)[0])
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**64, dtype=np.uint64))
    raise TypeError(type(rng))
