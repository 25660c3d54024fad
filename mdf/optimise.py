"""CMA-ES climb from an EDC-consistent start towards the posterior bulk (warm start).

CARDAMOM's chains spend most of their (1e7-1e8) iterations climbing from the EDC start to the
region the data support. Each chain here first runs its own CMA-ES (Hansen 2016) on the
log-posterior from its own start, then samples from the best point found, with the search
distribution's covariance as its first proposal covariance. Chains start from independent
searches, so chains that settle in different modes still show up in R-hat.

References
----------
Hansen, N. (2016) The CMA evolution strategy: a tutorial. arXiv:1604.00772
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numba import njit

from .rng import normal
from .samplers.base import map_chains


@cache
def _cmaes_for(log_posterior):
    @njit(nogil=True)
    def cmaes(x, lp, sigma0, lam, max_evals, tol, rng, spare, ctx, scratch, cov_out):
        n = x.shape[0]
        mu = lam // 2
        w = np.empty(mu)
        for i in range(mu):
            w[i] = math.log(mu + 0.5) - math.log(i + 1.0)
        w /= w.sum()
        mueff = 1.0 / (w * w).sum()
        cc = (4.0 + mueff / n) / (n + 4.0 + 2.0 * mueff / n)
        cs = (mueff + 2.0) / (n + mueff + 5.0)
        c1 = 2.0 / ((n + 1.3) ** 2 + mueff)
        cmu = min(1.0 - c1, 2.0 * (mueff - 2.0 + 1.0 / mueff) / ((n + 2.0) ** 2 + mueff))
        damps = 1.0 + 2.0 * max(0.0, math.sqrt((mueff - 1.0) / (n + 1.0)) - 1.0) + cs
        chin = math.sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n))
        mean = x.copy()
        sigma = sigma0
        pc = np.zeros(n)
        ps = np.zeros(n)
        B = np.eye(n)
        D = np.ones(n)
        C = np.eye(n)
        invsqrt = np.eye(n)
        pop = np.empty((lam, n))
        f = np.empty(lam)
        z = np.empty(n)
        y = np.empty(n)
        best = lp
        best_x = x.copy()
        evals = 0
        eigen_at = 0
        stall = 0
        gen = 0
        while evals < max_evals:
            for k in range(lam):
                for i in range(n):
                    z[i] = D[i] * normal(rng, spare)
                for i in range(n):
                    acc = 0.0
                    for j in range(n):
                        acc += B[i, j] * z[j]
                    pop[k, i] = mean[i] + sigma * acc
                v = log_posterior(pop[k], ctx, scratch)
                f[k] = v if not math.isnan(v) else -math.inf
                evals += 1
            order = np.argsort(-f)
            gen += 1
            n_finite = 0
            for k in range(lam):
                if math.isfinite(f[k]):
                    n_finite += 1
            if n_finite < mu:
                # most offspring violate an EDC or leave the box: shrink the step, keep the mean
                sigma *= 0.5
                if sigma < 1e-12:
                    break
                continue
            if f[order[0]] > best + tol:
                stall = 0
            else:
                stall += 1
            if f[order[0]] > best:
                best = f[order[0]]
                for i in range(n):
                    best_x[i] = pop[order[0], i]
            old = mean.copy()
            for i in range(n):
                acc = 0.0
                for k in range(mu):
                    acc += w[k] * pop[order[k], i]
                mean[i] = acc
            for i in range(n):
                y[i] = (mean[i] - old[i]) / sigma
            for i in range(n):
                acc = 0.0
                for j in range(n):
                    acc += invsqrt[i, j] * y[j]
                ps[i] = (1.0 - cs) * ps[i] + math.sqrt(cs * (2.0 - cs) * mueff) * acc
            psn = math.sqrt((ps * ps).sum())
            hsig = psn / math.sqrt(1.0 - (1.0 - cs) ** (2.0 * evals / lam)) / chin < (
                1.4 + 2.0 / (n + 1.0)
            )
            hs = 1.0 if hsig else 0.0
            for i in range(n):
                pc[i] = (1.0 - cc) * pc[i] + hs * math.sqrt(cc * (2.0 - cc) * mueff) * y[i]
            for i in range(n):
                for j in range(i + 1):
                    rank_mu = 0.0
                    for k in range(mu):
                        rank_mu += (w[k] * (pop[order[k], i] - old[i]) / sigma
                                    * (pop[order[k], j] - old[j]) / sigma)
                    C[i, j] = ((1.0 - c1 - cmu) * C[i, j]
                               + c1 * (pc[i] * pc[j] + (1.0 - hs) * cc * (2.0 - cc) * C[i, j])
                               + cmu * rank_mu)
                    C[j, i] = C[i, j]
            sigma *= math.exp((cs / damps) * (psn / chin - 1.0))
            if evals - eigen_at > lam / (c1 + cmu) / n / 10.0:
                eigen_at = evals
                vals, vecs = np.linalg.eigh(C)
                for i in range(n):
                    D[i] = math.sqrt(max(vals[i], 1e-20))
                B[:, :] = vecs
                for i in range(n):
                    for j in range(n):
                        acc = 0.0
                        for k in range(n):
                            acc += B[i, k] * B[j, k] / D[k]
                        invsqrt[i, j] = acc
            if stall >= 10 + int(30 * n / lam) or sigma * D.max() < 1e-10:
                break
        for i in range(n):
            x[i] = best_x[i]
            for j in range(n):
                cov_out[i, j] = sigma * sigma * C[i, j]
        return best, evals

    return cmaes


def climb(problem, x0: np.ndarray, lp0: np.ndarray, rng: np.ndarray, *,
          max_evals: int = 200_000, sigma0: float = 0.05, tol: float = 1e-3,
          threads: int = 1):
    """Run CMA-ES from every chain's start; update ``x0``/``lp0`` in place.

    Returns the per-chain covariance of the final search distribution (chains, d, d) in the
    normalised space and the evaluations each chain used.
    """
    fn = _cmaes_for(problem._log_posterior)
    n_chains, d = x0.shape
    covs = np.zeros((n_chains, d, d))
    evals = np.zeros(n_chains, dtype=np.int64)

    def one(c):
        # IPOP restarts (Auger & Hansen 2005): from the best point, doubling the population
        lam = 4 + int(3.0 * np.log(d))
        cov = np.empty((d, d))
        while evals[c] < max_evals:
            before = lp0[c]
            lp, used = fn(x0[c], lp0[c], sigma0, lam, max_evals - evals[c], tol, rng[c],
                          np.zeros(1), problem.ctx, problem.scratch(), cov)
            evals[c] += used
            if lp > lp0[c]:
                lp0[c] = lp
                covs[c] = cov
            if lp0[c] - before < tol:
                break
            lam *= 2

    map_chains(one, n_chains, threads)
    return covs, evals
