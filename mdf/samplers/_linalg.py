"""Small dense linear algebra for samplers, in numba (no exceptions, no allocation)."""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, nogil=True)
def cholesky_into(cov, tmp, out) -> bool:
    """Lower Cholesky factor of ``cov`` into ``out`` (via scratch ``tmp``).

    Returns False and leaves ``out`` untouched if ``cov`` is not positive definite, so a
    sampler keeps its previous proposal.
    """
    d = cov.shape[0]
    ok = _factor(cov, tmp)
    if ok:
        for i in range(d):
            for j in range(d):
                out[i, j] = tmp[i, j]
    return ok


@njit(cache=True, nogil=True)
def _factor(cov, out) -> bool:
    d = cov.shape[0]
    for j in range(d):
        s = cov[j, j]
        for k in range(j):
            s -= out[j, k] * out[j, k]
        if not (s > 0.0) or not math.isfinite(s):
            return False
        ljj = math.sqrt(s)
        out[j, j] = ljj
        for i in range(j + 1, d):
            s = cov[i, j]
            for k in range(j):
                s -= out[i, k] * out[j, k]
            out[i, j] = s / ljj
        for i in range(j):
            out[i, j] = 0.0
    return True


@njit(cache=True, nogil=True)
def lower_matvec_add(chol, z, scale, x, out):
    """``out = x + scale · chol @ z`` for a lower-triangular ``chol``."""
    d = x.shape[0]
    for i in range(d):
        acc = 0.0
        for j in range(i + 1):
            acc += chol[i, j] * z[j]
        out[i] = x[i] + scale * acc
