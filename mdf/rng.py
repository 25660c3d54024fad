"""A counter-free, splittable random stream for numba chains: xoshiro256** with Box-Muller.

Each chain owns a 4-word ``uint64`` state seeded from ``numpy.random.SeedSequence(seed).spawn``;
the state lives in an array, so a chain's stream is saved with a checkpoint and resumes exactly,
and chains give the same draws on one thread or many.

References
----------
Blackman, D. and Vigna, S. (2021) Scrambled linear pseudorandom number generators. ACM Trans.
Math. Softw. 47, 36. doi:10.1145/3460772
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, uint64

_MASK = (1 << 64) - 1


def chain_states(seed: int | None, n_chains: int) -> np.ndarray:
    """Independent xoshiro256** states, one row per chain, from ``SeedSequence(seed).spawn``."""
    children = np.random.SeedSequence(seed).spawn(n_chains)
    states = np.empty((n_chains, 5), dtype=np.uint64)
    for c, child in enumerate(children):
        s = child.generate_state(4, dtype=np.uint64)
        if not s.any():  # the all-zero state is invalid for xoshiro
            s[0] = 1
        states[c, :4] = s
        states[c, 4] = 0  # cached-normal flag (bit 0)
    return states


@njit(cache=True, nogil=True, inline="always")
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(cache=True, nogil=True)
def next_u64(s):
    """Advance the state ``s`` (uint64[5]) and return the next 64-bit output."""
    result = _rotl(s[1] * uint64(5), 7) * uint64(9)
    t = s[1] << uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True, nogil=True)
def uniform(s):
    """A double in (0, 1): 53 random bits, never exactly 0 (safe for log)."""
    return ((next_u64(s) >> uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def normal(s, spare):
    """Standard normal by Box-Muller. ``spare`` is a float64[1] cache; ``s[4]`` flags it."""
    if s[4] & uint64(1):
        s[4] = uint64(0)
        return spare[0]
    u1 = uniform(s)
    u2 = uniform(s)
    r = math.sqrt(-2.0 * math.log(u1))
    spare[0] = r * math.sin(2.0 * math.pi * u2)
    s[4] = uint64(1)
    return r * math.cos(2.0 * math.pi * u2)
