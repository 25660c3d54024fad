"""The inline exp of dalec.models._libm against the C library's exp (what math.exp calls)."""

from __future__ import annotations

import math
import platform

import numpy as np
import pytest
from numba import njit

from dalec.models._libm import INVC, LOGC, LOGCTAIL, SBITS, TAIL, exp
from dalec.models._libm import pow as pow_


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


@njit
def _compare_pow(xs, ys, out):
    for i in range(xs.shape[0]):
        a = pow_(xs[i], ys[i])
        b = xs[i] ** ys[i]
        if a == b or (a != a and b != b):
            out[i] = 0.0
        else:
            out[i] = abs(a - b) / abs(b) if b != 0.0 and math.isfinite(b) else 1.0


def test_pow_table_is_glibcs():
    # __pow_log_data.tab[0]: invc 0x1.6a00000000000p+0, logc -0x1.62c82f2b9c800p-2
    assert INVC[0] == float.fromhex("0x1.6ap+0")
    assert LOGC[0] == float.fromhex("-0x1.62c82f2b9c800p-2")
    assert INVC[74] == 1.0 and LOGC[74] == 0.0 and LOGCTAIL[74] == 0.0


def test_pow_matches_the_library():
    rng = np.random.default_rng(11)
    n = 200_000
    xs = np.concatenate([
        rng.uniform(0.01, 0.9, n),  # soil water potential: θ^b
        rng.uniform(1e2, 1e4, n),  # long-wave temperatures: x^0.25
        1.0 - np.exp(rng.uniform(-20.0, 0.0, n)),  # turnover fractions: (1 - k)^Δt
        np.exp(rng.uniform(-700.0, 700.0, n)),
        np.exp(rng.uniform(1.0, 5.0, n)),
        [-2.0, -0.5, 0.0, -0.0, np.inf, np.nan, 1.0, 2.0**-1060, 3.0],
    ])
    ys = np.concatenate([
        rng.uniform(-12.0, -3.0, n),
        np.full(n, 0.25),
        rng.choice([28.0, 29.0, 30.0, 31.0, 30.4375], n),
        rng.uniform(-3.0, 3.0, n),
        rng.uniform(100.0, 800.0, n),  # near overflow: the library's path
        [2.0, 3.0, 0.5, -1.0, 0.0, np.inf, 1e300, -0.5, 1e-30],
    ])
    rel = np.empty_like(xs)
    _compare_pow(xs, ys, rel)
    assert rel.max() <= 2.3e-16
    if _glibc_fma():
        assert rel.max() == 0.0, (xs[np.argmax(rel)], ys[np.argmax(rel)])
