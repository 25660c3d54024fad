"""Adaptive Metropolis "done right" (the default sampler, ``am``).

Proposal ``x' = x + √λ · L z`` with ``L Lᵀ`` the covariance of the chain's own past states and
``λ = 2.38²/d`` (Haario et al. 2001; Gelman et al. 1996), mixed with probability β = 0.05 with
a fixed isotropic Gaussian of standard deviation ``0.1/√d`` in the normalised space (Roberts &
Rosenthal 2009), which is also the only proposal until the covariance exists. During burn-in
the covariance is updated from every state and ``ln λ`` follows a Robbins-Monro step towards an
acceptance rate of 0.234 (Andrieu & Thoms 2008, algorithm 4); after burn-in nothing adapts, so
the kept draws come from a fixed, valid Metropolis kernel. A NaN log-posterior is a rejection,
and the chain goes on (CARDAMOM stops the chain).

Differences from CARDAMOM's MCMCID 119 (:mod:`mdf.samplers.cardamom`): covariance from chain
states (not from proposals), the textbook 2.38²/d covariance scaling (CARDAMOM squares it),
adaptive global scale, no adaptation while draws are kept.

References
----------
Haario, H., Saksman, E. and Tamminen, J. (2001) An adaptive Metropolis algorithm. Bernoulli 7,
223-242. doi:10.2307/3318737
Roberts, G. O. and Rosenthal, J. S. (2009) Examples of adaptive MCMC. J. Comput. Graph. Stat.
18, 349-367. doi:10.1198/jcgs.2009.06134
Andrieu, C. and Thoms, J. (2008) A tutorial on adaptive MCMC. Stat. Comput. 18, 343-373.
doi:10.1007/s11222-008-9110-y
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numba import njit

from ..rng import normal, uniform
from ._linalg import cholesky_into, lower_matvec_add
from .base import Sampler, map_chains

# counts columns
_IT, _ACC, _NCOV, _HASCHOL, _NAN, _ITER_TOTAL = range(6)


@cache
def _block_for(log_posterior):
    @njit(nogil=True)
    def block(x, lp, mean, m2, chol, log_scale, counts, rng, spare, n_iter, thin, adapt,
              beta, fixed_sd, target, adapt_every, ctx, scratch, out_x, out_lp, work):
        d = x.shape[0]
        z = work[0]
        xp = work[1]
        cov = np.empty((d, d))
        tmp = np.empty((d, d))
        k = 0
        for it in range(n_iter):
            adaptive = counts[_HASCHOL] == 1 and uniform(rng) >= beta
            for i in range(d):
                z[i] = normal(rng, spare)
            if adaptive:
                lower_matvec_add(chol, z, math.exp(0.5 * log_scale[0]), x, xp)
            else:
                for i in range(d):
                    xp[i] = x[i] + fixed_sd * z[i]
            lpp = log_posterior(xp, ctx, scratch)
            accept = False
            if math.isnan(lpp):
                counts[_NAN] += 1
            elif lpp - lp[0] > math.log(uniform(rng)):
                accept = True
                for i in range(d):
                    x[i] = xp[i]
                lp[0] = lpp
            counts[_IT] += 1
            counts[_ITER_TOTAL] += 1
            if accept:
                counts[_ACC] += 1
            if adapt:
                n = counts[_NCOV] + 1
                counts[_NCOV] = n
                for i in range(d):
                    z[i] = x[i] - mean[i]  # reuse z as delta
                    mean[i] += z[i] / n
                for i in range(d):
                    for j in range(i + 1):
                        m2[i, j] += z[i] * (x[j] - mean[j])
                if adaptive:
                    gamma = min(0.05, 1.0 / math.sqrt(counts[_ITER_TOTAL]))
                    log_scale[0] += gamma * ((1.0 if accept else 0.0) - target)
                if n > 2 * d and counts[_ITER_TOTAL] % adapt_every == 0:
                    for i in range(d):
                        for j in range(i + 1):
                            cov[i, j] = m2[i, j] / (n - 1)
                            cov[j, i] = cov[i, j]
                        cov[i, i] += 1e-12
                    if cholesky_into(cov, tmp, chol):
                        counts[_HASCHOL] = 1
            if (it + 1) % thin == 0:
                for i in range(d):
                    out_x[k, i] = x[i]
                out_lp[k] = lp[0]
                k += 1

    return block


class AdaptiveMetropolis(Sampler):
    """Adaptive Metropolis with a fixed-covariance mixture component (``sampler="am"``).

    Parameters
    ----------
    beta : float
        Probability of the fixed isotropic proposal once the covariance exists.
    fixed_sd : float or None
        Standard deviation of that proposal in the normalised space (default ``0.1/√d``).
    target_accept : float
        Acceptance rate the global scale adapts towards during burn-in.
    adapt_every : int
        Iterations between Cholesky updates of the covariance during burn-in.
    rescue_gap : float
        During the first 3/4 of burn-in, chains more than this far below the best chain in
        log-posterior restart from the best chain's state (-1: the number of parameters;
        0: never).
    """

    name = "am"

    def __init__(self, beta: float = 0.05, fixed_sd: float | None = None,
                 target_accept: float = 0.234, adapt_every: int = 100,
                 rescue_gap: float = -1.0):
        self.rescue_gap = float(rescue_gap)
        self.beta = float(beta)
        self.fixed_sd = fixed_sd
        self.target_accept = float(target_accept)
        self.adapt_every = int(adapt_every)

    def init_state(self, problem, x0, lp0, rng):
        c, d = x0.shape
        return {
            "x": np.array(x0, dtype=np.float64),
            "lp": np.array(lp0, dtype=np.float64).reshape(c, 1),
            "mean": np.zeros((c, d)),
            "m2": np.zeros((c, d, d)),
            "chol": np.zeros((c, d, d)),
            "log_scale": np.full((c, 1), math.log(2.38**2 / d)),
            "counts": np.zeros((c, 6), dtype=np.int64),
            "rng": np.array(rng, dtype=np.uint64),
            "spare": np.zeros((c, 1)),
        }

    def run_block(self, problem, state, n_iter, thin, adapt, threads=1):
        block = _block_for(problem._log_posterior)
        c, d = state["x"].shape
        k = n_iter // thin
        out_x = np.empty((c, k, d))
        out_lp = np.empty((c, k))
        fixed_sd = self.fixed_sd if self.fixed_sd is not None else 0.1 / math.sqrt(d)

        def one(i):
            block(state["x"][i], state["lp"][i], state["mean"][i], state["m2"][i],
                  state["chol"][i], state["log_scale"][i], state["counts"][i], state["rng"][i],
                  state["spare"][i], n_iter, thin, adapt, self.beta, fixed_sd,
                  self.target_accept, self.adapt_every, problem.ctx, problem.scratch(),
                  out_x[i], out_lp[i], np.empty((2, d)))

        map_chains(one, c, threads)
        return out_x, out_lp

    def set_covariance(self, state: dict, covs: np.ndarray) -> None:
        """Use ``covs`` (chains, d, d) as the first proposal covariance (scale 1)."""
        d = covs.shape[1]
        tmp = np.empty((d, d))
        for c in range(covs.shape[0]):
            if cholesky_into(covs[c] + 1e-12 * np.eye(d), tmp, state["chol"][c]):
                state["counts"][c, _HASCHOL] = 1
                state["log_scale"][c] = 0.0

    def end_window(self, state: dict, final: bool) -> None:
        """Windowed adaptation (as Stan's warm-up): each burn-in window estimates the
        covariance from its own states only, so the climb from the start point does not
        inflate the proposal."""
        restart_adaptation(state)

    def rescue(self, state: dict) -> int:
        """Early in burn-in, restart chains whose log-posterior lags the best chain's by more
        than ``rescue_gap`` (default: the number of parameters) from the best chain's state
        and proposal. Chains keep their own random streams, so they diverge again; R-hat over
        the kept draws still tests whether they mix."""
        if not self.rescue_gap:
            return 0
        lp = state["lp"].ravel()
        d = state["x"].shape[1]
        gap = self.rescue_gap if self.rescue_gap > 0 else d
        best = int(np.argmax(lp))
        n = 0
        for c in range(lp.size):
            if lp[c] < lp[best] - gap:
                for key in ("x", "lp", "chol", "log_scale"):
                    state[key][c] = state[key][best]
                state["counts"][c, _HASCHOL] = state["counts"][best, _HASCHOL]
                n += 1
        return n


def restart_adaptation(state: dict) -> None:
    """Forget the covariance statistics (keep the current proposal): windowed adaptation."""
    state["mean"][:] = 0.0
    state["m2"][:] = 0.0
    state["counts"][:, _NCOV] = 0
