"""CARDAMOM's MCMCID 119 adaptive Metropolis-Hastings, quirks included (``sampler="cardamom"``).

For users who must compare with published CARDAMOM runs. Follows CARDAMOM v2.2
``MHMCMC_119.c``, ``STEP_119.c`` and ``ADAPT_STEP_SIZE_119.c`` (commit d29f0547) as written out
in MODELS.md §7.2:

- proposal ``x* = x + (2.38²/d)·L z₁ + minstep·z₂`` with ``L Lᵀ = Σ``; the 2.38²/d multiplies a
  Cholesky draw, so the effective covariance is ``(2.38²/d)²·Σ`` (not Haario's ``2.38²/d·Σ``);
  ``L = 0`` until adapted, so early steps are pure ``minstep`` jitter;
- every ``nadapt`` iterations the *proposal* (not the chain state) is appended to a history H;
  while adapting (burn-in = CARDAMOM's first ``fADAPT`` of the run), once H holds more than
  10·d vectors, Σ is the sample covariance of the latest half of H (kept by adding the newest
  and dropping the oldest vectors) and L its Cholesky factor (kept if Σ is not PD);
- the amplitude adaptation is dead code upstream (reset to 1), so there is none here;
- a NaN log-posterior **stops the chain** (``break`` upstream): the chain holds its state for
  the rest of the run and ``state["counts"][:, 2]`` records it. The ``am`` sampler treats NaN
  as a rejection instead.

The random numbers are this library's (per-chain xoshiro streams), not C's ``random()``, so
chains are not bit-identical to CARDAMOM's; the algorithm is.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numba import njit

from ..rng import normal, uniform
from ._linalg import cholesky_into
from .base import Sampler, map_chains

# counts columns
_IT, _ACC, _STOPPED, _ITER_TOTAL, _K, _WIN, _HASCHOL, _INIT = range(8)


@cache
def _block_for(log_posterior):
    @njit(nogil=True)
    def block(x, lp, H, s1, s2, chol, counts, rng, spare, n_iter, thin, adapt, nadapt,
              minstep, ctx, scratch, out_x, out_lp, work):
        d = x.shape[0]
        z1 = work[0]
        xp = work[1]
        cov = np.empty((d, d))
        tmp = np.empty((d, d))
        fac = 2.38**2 / d
        k = 0
        for it in range(n_iter):
            if counts[_STOPPED] == 0:
                for i in range(d):
                    z1[i] = normal(rng, spare)
                for i in range(d):
                    acc = 0.0
                    if counts[_HASCHOL] == 1:
                        for j in range(i + 1):
                            acc += chol[i, j] * z1[j]
                    xp[i] = x[i] + fac * acc + minstep * normal(rng, spare)
                lpp = log_posterior(xp, ctx, scratch)
                if math.isnan(lpp):
                    counts[_STOPPED] = 1
                else:
                    counts[_IT] += 1
                    if lpp - lp[0] > math.log(uniform(rng)):
                        for i in range(d):
                            x[i] = xp[i]
                        lp[0] = lpp
                        counts[_ACC] += 1
                    counts[_ITER_TOTAL] += 1
                    if adapt and counts[_ITER_TOTAL] % nadapt == 0 and counts[_K] < H.shape[0]:
                        kk = counts[_K]
                        for i in range(d):
                            H[kk, i] = xp[i]
                        counts[_K] = kk + 1
                        K = kk + 1
                        if K > 10 * d:
                            half = K // 2
                            if counts[_INIT] == 0:
                                s1[:] = 0.0
                                s2[:, :] = 0.0
                                for r in range(half, K):
                                    for i in range(d):
                                        s1[i] += H[r, i]
                                        for j in range(d):
                                            s2[i, j] += H[r, i] * H[r, j]
                                counts[_WIN] = half
                                counts[_INIT] = 1
                            else:
                                for i in range(d):
                                    s1[i] += H[K - 1, i]
                                    for j in range(d):
                                        s2[i, j] += H[K - 1, i] * H[K - 1, j]
                                while counts[_WIN] < half:
                                    r = counts[_WIN]
                                    for i in range(d):
                                        s1[i] -= H[r, i]
                                        for j in range(d):
                                            s2[i, j] -= H[r, i] * H[r, j]
                                    counts[_WIN] = r + 1
                            n = K - counts[_WIN]
                            for i in range(d):
                                for j in range(d):
                                    cov[i, j] = (s2[i, j] - s1[i] * s1[j] / n) / (n - 1)
                            if cholesky_into(cov, tmp, chol):
                                counts[_HASCHOL] = 1
            if (it + 1) % thin == 0:
                for i in range(d):
                    out_x[k, i] = x[i]
                out_lp[k] = lp[0]
                k += 1

    return block


class CardamomMHMCMC(Sampler):
    """CARDAMOM MCMCID 119 (see module docstring).

    Parameters
    ----------
    nadapt : int
        Iterations between history appends / adaptations (CARDAMOM's nADAPT; MATLAB default
        100).
    minstep : float
        Standard deviation of the isotropic jitter in the normalised space (minstepsize;
        MATLAB default 1e-5, manual's recommendation 1e-3).
    """

    name = "cardamom"

    def __init__(self, nadapt: int = 100, minstep: float = 1e-5):
        self.nadapt = int(nadapt)
        self.minstep = float(minstep)

    def init_state(self, problem, x0, lp0, rng):
        c, d = x0.shape
        return {
            "x": np.array(x0, dtype=np.float64),
            "lp": np.array(lp0, dtype=np.float64).reshape(c, 1),
            "H": np.zeros((c, 0, d)),
            "s1": np.zeros((c, d)),
            "s2": np.zeros((c, d, d)),
            "chol": np.zeros((c, d, d)),
            "counts": np.zeros((c, 8), dtype=np.int64),
            "rng": np.array(rng, dtype=np.uint64),
            "spare": np.zeros((c, 1)),
        }

    def run_block(self, problem, state, n_iter, thin, adapt, threads=1):
        block = _block_for(problem._log_posterior)
        c, d = state["x"].shape
        if adapt:  # grow the proposal history to hold this block's appends
            need = int(state["counts"][:, _K].max()) + n_iter // self.nadapt + 1
            if state["H"].shape[1] < need:
                grown = np.zeros((c, need, d))
                grown[:, : state["H"].shape[1]] = state["H"]
                state["H"] = grown
        k = n_iter // thin
        out_x = np.empty((c, k, d))
        out_lp = np.empty((c, k))

        def one(i):
            block(state["x"][i], state["lp"][i], state["H"][i], state["s1"][i], state["s2"][i],
                  state["chol"][i], state["counts"][i], state["rng"][i], state["spare"][i],
                  n_iter, thin, adapt, self.nadapt, self.minstep, problem.ctx,
                  problem.scratch(), out_x[i], out_lp[i], np.empty((2, d)))

        map_chains(one, c, threads)
        return out_x, out_lp

    def stopped(self, state) -> np.ndarray:
        """Chains stopped by a NaN log-posterior (CARDAMOM's behaviour)."""
        return state["counts"][:, _STOPPED].astype(bool)
