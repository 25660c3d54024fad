"""The branch-free exp and log of dalec.models._vecmath against the C library's (math.exp/log)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from dalec.models import _vecmath


def _elementwise(fn):
    """A compiled loop applying ``fn`` to every element (as the kernels' loops call it)."""

    @njit
    def loop(xs, out):
        for i in range(xs.shape[0]):
            out[i] = fn(xs[i])

    return loop


_exp_all = _elementwise(_vecmath.exp)
_log_all = _elementwise(_vecmath.log)
_exp_normal_all = _elementwise(_vecmath.exp_normal)
_log_mid_all = _elementwise(_vecmath.log_mid)


def _ulps(actual, expected):
    """Distance in units of the last place of ``expected`` (finite, non-zero values)."""
    return np.abs(actual - expected) / np.spacing(np.abs(expected))


def _apply(fn, xs):
    out = np.empty_like(xs)
    fn(xs, out)
    return out


@pytest.mark.parametrize("lo, hi", [(-745.0, 709.7), (-1.0, 1.0), (-1e-6, 1e-6), (-745.1, -700.0)])
def test_exp_within_one_ulp(lo, hi):
    xs = np.random.default_rng(0).uniform(lo, hi, 200_000)
    expected = np.array([math.exp(x) for x in xs])
    actual = _apply(_exp_all, xs)
    normal = expected >= np.finfo(float).tiny
    assert _ulps(actual[normal], expected[normal]).max() <= 1.0
    # subnormal results: within one subnormal step
    assert np.abs(actual[~normal] - expected[~normal]).max(initial=0.0) <= 5e-324


@pytest.mark.parametrize("scale", ["wide", "near_one", "subnormal"])
def test_log_within_one_ulp(scale):
    rng = np.random.default_rng(1)
    if scale == "wide":
        xs = np.exp(rng.uniform(-708, 709, 200_000))
    elif scale == "near_one":
        xs = rng.uniform(0.7, 1.4, 200_000)
    else:
        xs = rng.uniform(5e-324, 2.2e-308, 200_000)
    expected = np.array([math.log(x) for x in xs])
    actual = _apply(_log_all, xs)
    nonzero = expected != 0.0
    assert _ulps(actual[nonzero], expected[nonzero]).max() <= 1.0
    assert np.all(actual[~nonzero] == 0.0)


def test_special_values_as_the_c_library():
    inf, nan = math.inf, math.nan
    xs = np.array([0.0, -0.0, inf, -inf, nan, 710.0, -746.0, 5e-324, -5e-324])
    got = _apply(_exp_all, xs)
    want = np.array([inf if x > 709.79 else math.exp(x) for x in xs])  # math.exp raises there
    np.testing.assert_array_equal(got, want)
    xs = np.append(xs, [1.0, -1.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.log(xs)  # numpy's log is the C library's on these values (-inf, NaN)
    np.testing.assert_array_equal(_apply(_log_all, xs), want)


def _same_bits(a, b):
    return np.array_equal(a.view(np.int64), b.view(np.int64))


def test_exp_normal_has_exps_bits_in_its_range():
    rng = np.random.default_rng(2)
    xs = np.concatenate([rng.uniform(-708.0, 709.0, 100_000), rng.uniform(-1.0, 1.0, 100_000),
                         [-708.0, 709.0, 0.0, -0.0, 1e-300, -1e-300, 0.5 * math.log(2.0)]])
    assert _same_bits(_apply(_exp_normal_all, xs), _apply(_exp_all, xs))


def test_log_mid_has_logs_bits_in_its_range():
    rng = np.random.default_rng(3)
    edges = [0.5, math.sqrt(2.0), math.sqrt(2.0) / 2.0, 1.0]
    edges += [np.nextafter(e, d) for e in edges for d in (0.0, 2.0)]
    xs = np.concatenate([rng.uniform(0.5, math.sqrt(2.0), 200_000),
                         1.0 - rng.uniform(0.0, 1e-6, 10_000), np.array(edges)])
    xs = xs[(xs >= 0.5) & (xs <= math.sqrt(2.0))]
    assert _same_bits(_apply(_log_mid_all, xs), _apply(_log_all, xs))
    # just outside, the in-range form is wrong: the rates pass must not use it there
    assert _apply(_log_mid_all, np.array([0.3]))[0] != math.log(0.3)
