"""The inline exp of dalec.models._libm against the C library's exp (what math.exp calls)."""

from __future__ import annotations

import math
import platform

import numpy as np
import pytest
from numba import njit

from dalec.models._libm import SBITS, TAIL, exp


def _glibc_fma() -> bool:
    """True where math.exp is glibc's FMA build, the variant the port copies."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return False
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        with open("/proc/cpuinfo") as fh:
            flags = fh.read()
    except OSError:
        return False
    return " fma " in flags and " avx2 " in flags


@njit
def _compare(xs, out):
    for i in range(xs.shape[0]):
        a = exp(xs[i])
        b = math.exp(xs[i])
        out[i] = abs(a - b) / b if b != 0.0 and math.isfinite(b) else (0.0 if a == b else 1.0)


def test_table_is_glibcs():
    # first entries of glibc's __exp_data.tab: 2^(1/128) = 0x3feff63da9fb3335 + (1 << 45)
    assert SBITS[0] == 0x3FF0000000000000 and TAIL[0] == 0.0
    assert SBITS[1] == 0x3FEFF63DA9FB3335
    assert np.float64(TAIL[1]).view(np.int64) == 0x3C9B3B4F1A88BF6E


def test_exp_matches_the_library():
    rng = np.random.default_rng(7)
    xs = np.concatenate([
        rng.uniform(-200.0, 5.0, 400_000),  # the Saxton conductivity's range and around
        rng.uniform(-745.5, 709.9, 200_000),
        rng.uniform(-746.0, -700.0, 100_000),  # subnormal results
        rng.uniform(500.0, 709.9, 100_000),
        rng.uniform(-1100.0, 1100.0, 10_000),
        np.exp(rng.uniform(-60.0, 6.5, 200_000)) * rng.choice([-1.0, 1.0], 200_000),
        [0.0, -0.0, np.inf, -np.inf, 709.78, 709.79, -745.1, -708.4, 512.0, -512.0, 2.0**-54,
         -(2.0**-54), 1e-300],
    ])
    rel = np.empty_like(xs)
    _compare(xs, rel)
    assert rel.max() <= 2.3e-16  # always within an ulp: it is glibc's algorithm
    if _glibc_fma():
        assert rel.max() == 0.0, xs[np.argmax(rel)]
    assert math.isnan(exp(math.nan))


@pytest.mark.parametrize("x", [-30.0, -1.5, 0.3, 100.0])
def test_exp_is_exp(x):
    assert exp(x) == pytest.approx(math.exp(x), rel=2.3e-16)
