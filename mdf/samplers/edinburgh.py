"""Edinburgh CARDAMOM's AP-MCMC (``MHMCMC.f90``), quirks included (``sampler="edinburgh"``).

Follows ``LIBRARY/CARDAMOM_F/method/MHMCMC/MCMC_FUN/MHMCMC.f90`` and the covariance routines of
``misc/math_functions.f90`` (GCEL/CARDAMOM commit 36267339), as MODELS.md Part B 1.5 describes:

- proposal, once a positive-definite covariance Σ = L Lᵀ exists and its sample count exceeds
  10·d: ``x' = x + (5.670132/d)(1 - β)·L z₁ + 0.001·β·z₂`` with β = 0.05 (note 5.670132 =
  2.381204² scales a draw from N(0, Σ), so the effective covariance is (5.67/d)²·Σ); otherwise
  ``x' = x + 0.001·z₂``. Proposals outside [0, 1] are rejected without a model run;
- every ``nadapt`` (1000) proposals, while adapting: before the first covariance exists the
  accepted points of the window are cut to three (first, middle, last) and, if there are
  three, their sample covariance becomes Σ with count 3; afterwards only the current state is
  added, by the incremental update with the count capped at 10·d ("not strictly following
  Haario et al.", the source says); an update that breaks positive definiteness is undone once
  the multivariate proposal is in use;
- it adapts while the caller says so (the Fortran's first ``fADAPT`` = 50 % of a phase) and
  beyond that while the multivariate proposals accepted so far are fewer than 5 % of the
  phase's proposals, or while the multivariate proposal is not yet in use;
- the best state seen (by the log-posterior the chain samples) is kept: the Edinburgh phases
  restart from it.

One detail of the Fortran changes what the chain does: ``increment_covariance_matrix`` is
given a local copy of the sample count, so the stored count stays at the 3 of the first
covariance and a chain on its own never switches to the multivariate proposal; the phase
driver (``cardamom_main.f90``, :func:`mdf.presets.edinburgh.pre_run`) sets it to 10·d + 1
when it hands the pre-run's covariance to the main run. ``advance_count=True`` advances the
count with each added state instead (the stated intent).

Random numbers are this library's per-chain xoshiro streams, not the Fortran's, so chains are
not bit-identical to cardamom.exe; the algorithm is. A NaN log-posterior is a rejection.

References
----------
Haario, H., Saksman, E. and Tamminen, J. (2001) An adaptive Metropolis algorithm. Bernoulli 7,
223-242. doi:10.2307/3318737
Roberts, G. O. and Rosenthal, J. S. (2009) Examples of adaptive MCMC. J. Comput. Graph. Stat.
18, 349-367. doi:10.1198/jcgs.2009.06134
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numba import njit

from ..rng import normal, uniform
from ._linalg import cholesky_into
from .base import Sampler, map_chains

# counts columns: proposals and acceptances since reset_counters; the phase's proposals,
# accepted since the last adaptation, accepted multivariate proposals; Σ exists; multivariate
# in use; NaN log-posteriors; proposals over all phases
_IT, _ACC, _ITER, _ACCLOC, _ACC_MV, _HAS_COV, _USE_MV, _NAN, _ITER_TOTAL = range(9)
N_COUNTS = 9


@njit(cache=True, nogil=True)
def _sample_covariance(pts, k, mean, cov):
    """Mean and sample covariance of the first ``k`` rows of ``pts`` (``covariance_matrix``)."""
    d = pts.shape[1]
    for i in range(d):
        s = 0.0
        for r in range(k):
            s += pts[r, i]
        mean[i] = s / k
    for i in range(d):
        for j in range(d):
            s = 0.0
            for r in range(k):
                s += (pts[r, i] - mean[i]) * (pts[r, j] - mean[j])
            cov[i, j] = s / (k - 1)


@njit(cache=True, nogil=True)
def _increment_covariance(pts, k, mean, cov, cur, new_mean):
    """Add the first ``k`` rows of ``pts`` to (mean, cov) of ``cur`` samples, one at a time
    (``increment_covariance_matrix``); returns the advanced count."""
    d = pts.shape[1]
    for r in range(k):
        for i in range(d):
            new_mean[i] = (mean[i] * cur + pts[r, i]) / (cur + 1.0)
        for i in range(d):
            for j in range(d):
                cov[i, j] = (cov[i, j] * (cur - 1.0) / cur
                             + (cur * mean[i] * mean[j] - (cur + 1.0) * new_mean[i] * new_mean[j]
                                + pts[r, i] * pts[r, j]) / cur)
        for i in range(d):
            mean[i] = new_mean[i]
        cur += 1.0
    return cur


@njit(cache=True, nogil=True)
def _adapt(parsall, k, cov, mean, chol, fstate, counts, n_mv, advance_count, work):
    """``adapt_step_size``: create or update Σ from the window's points."""
    d = cov.shape[0]
    tmp = work[0]
    backup = work[1]
    new_mean = work[2][0]
    mean_backup = work[2][1]
    if counts[_HAS_COV] == 1:
        for i in range(d):
            mean_backup[i] = mean[i]
            for j in range(d):
                backup[i, j] = cov[i, j]
        cur = min(n_mv, fstate[0])
        advanced = _increment_covariance(parsall, k, mean, cov, cur, new_mean)
        if advance_count:
            fstate[0] = advanced
        if cholesky_into(cov, tmp, chol):
            counts[_USE_MV] = 1
        elif counts[_USE_MV] == 1:  # keep the last positive-definite Σ
            for i in range(d):
                mean[i] = mean_backup[i]
                for j in range(d):
                    cov[i, j] = backup[i, j]
    elif k > 2:
        _sample_covariance(parsall, k, mean, cov)
        counts[_HAS_COV] = 1
        fstate[0] = k
        counts[_USE_MV] = 1 if cholesky_into(cov, tmp, chol) else 0


@cache
def _block_for(log_posterior):
    @njit(nogil=True)
    def block(x, lp, best_x, best_lp, cov, mean, chol, parsall, fstate, counts, rng, spare,
              n_iter, thin, adapt, target, nadapt, beta, min_step, opt_scaling, n_mv,
              advance_count, ctx, scratch, out_x, out_lp, work):
        """Advance one chain; stop early once the best log-posterior reaches ``target``.
        Returns the number of proposals made."""
        d = x.shape[0]
        z = np.empty(d)
        xp = np.empty(d)
        k = 0
        done = 0
        for it in range(n_iter):
            if best_lp[0] >= target:
                break
            mv = counts[_USE_MV] == 1 and fstate[0] > n_mv
            if mv:
                for i in range(d):
                    z[i] = normal(rng, spare)
                for i in range(d):
                    acc = 0.0
                    for j in range(i + 1):
                        acc += chol[i, j] * z[j]
                    xp[i] = x[i] + acc * opt_scaling * (1.0 - beta)
                for i in range(d):
                    xp[i] += min_step * normal(rng, spare) * beta
            else:
                for i in range(d):
                    xp[i] = x[i] + min_step * normal(rng, spare)
            inside = True
            for i in range(d):
                if not (0.0 < xp[i] < 1.0):
                    inside = False
                    break
            accept = False
            if inside:
                lpp = log_posterior(xp, ctx, scratch)
                crit = math.log(uniform(rng))
                if math.isnan(lpp):
                    counts[_NAN] += 1
                elif lpp - lp[0] > crit:
                    accept = True
            if accept:
                a = counts[_ACCLOC]
                if a < parsall.shape[0]:
                    for i in range(d):
                        parsall[a, i] = xp[i]
                    counts[_ACCLOC] = a + 1
                for i in range(d):
                    x[i] = xp[i]
                lp[0] = lpp
                if lpp >= best_lp[0]:
                    for i in range(d):
                        best_x[i] = xp[i]
                    best_lp[0] = lpp
                counts[_ACC] += 1
                if mv:
                    counts[_ACC_MV] += 1
            counts[_IT] += 1
            counts[_ITER] += 1
            counts[_ITER_TOTAL] += 1
            done += 1
            if counts[_ITER] % nadapt == 0:
                if (adapt or counts[_ACC_MV] < 0.05 * counts[_ITER]
                        or counts[_USE_MV] == 0):
                    a = counts[_ACCLOC]
                    if counts[_HAS_COV] == 1:
                        for i in range(d):
                            parsall[0, i] = x[i]
                        a = 1
                    elif a > 3:
                        mid = (a + 1) // 2 - 1  # ceiling(a/2), 0-based
                        for i in range(d):
                            parsall[1, i] = parsall[mid, i]
                            parsall[2, i] = parsall[a - 1, i]
                        a = 3
                    _adapt(parsall, a, cov, mean, chol, fstate, counts, n_mv, advance_count,
                           work)
                counts[_ACCLOC] = 0
            if (it + 1) % thin == 0 and k < out_x.shape[0]:
                for i in range(d):
                    out_x[k, i] = x[i]
                out_lp[k] = lp[0]
                k += 1
        return done

    return block


class EdinburghAPMCMC(Sampler):
    """Edinburgh CARDAMOM's AP-MCMC (see module docstring).

    Parameters
    ----------
    nadapt : int
        Proposals between adaptations (``MCO%nADAPT``: 1000; 500 in the EDC search).
    beta : float
        Weight of the small isotropic component of the multivariate proposal.
    min_step : float
        Standard deviation of the isotropic proposal in the normalised space
        (``par_minstepsize``).
    opt_scaling : float or None
        Multiplier of the Cholesky draw (default ``5.670132/d``).
    n_before_mv : float
        Samples per dimension the covariance needs before the multivariate proposal is used,
        and the cap of the count in the incremental update (``N_before_mv``: 10).
    advance_count : bool
        Advance the sample count with each update (False: as the Fortran, see above).
    """

    name = "edinburgh"

    def __init__(self, nadapt: int = 1000, beta: float = 0.05, min_step: float = 0.001,
                 opt_scaling: float | None = None, n_before_mv: float = 10.0,
                 advance_count: bool = False):
        self.nadapt = int(nadapt)
        self.beta = float(beta)
        self.min_step = float(min_step)
        self.opt_scaling = opt_scaling
        self.n_before_mv = float(n_before_mv)
        self.advance_count = bool(advance_count)

    def init_state(self, problem, x0, lp0, rng):
        c, d = x0.shape
        state = {
            "x": np.array(x0, dtype=np.float64),
            "lp": np.array(lp0, dtype=np.float64).reshape(c, 1),
            "best_x": np.array(x0, dtype=np.float64),
            "best_lp": np.array(lp0, dtype=np.float64).reshape(c, 1),
            "cov": np.zeros((c, d, d)),
            "mean": np.zeros((c, d)),
            "chol": np.zeros((c, d, d)),
            "parsall": np.zeros((c, self.nadapt, d)),
            "fstate": np.zeros((c, 1)),
            "counts": np.zeros((c, N_COUNTS), dtype=np.int64),
            "rng": np.array(rng, dtype=np.uint64),
            "spare": np.zeros((c, 1)),
        }
        reset_proposal(state)
        return state

    def run_block(self, problem, state, n_iter, thin, adapt, threads=1, target=math.inf,
                  log_posterior=None, ctx=None):
        """As :meth:`Sampler.run_block`; ``target`` stops a chain once its best log-posterior
        reaches it (the EDC search), and ``log_posterior``/``ctx`` replace the problem's
        (e.g. its EDC score). Returns ``(x, lp)`` and sets ``state['done']`` to the proposals
        each chain made."""
        block = _block_for(log_posterior or problem._log_posterior)
        ctx = problem.ctx if ctx is None else ctx
        c, d = state["x"].shape
        if state["parsall"].shape[1] < self.nadapt:
            state["parsall"] = np.zeros((c, self.nadapt, d))
        k = n_iter // thin
        out_x = np.empty((c, k, d))
        out_lp = np.empty((c, k))
        done = np.zeros(c, dtype=np.int64)
        scaling = self.opt_scaling if self.opt_scaling is not None else 5.670132 / d
        n_mv = self.n_before_mv * d

        def one(i):
            work = np.empty((3, max(d, 2), d))
            done[i] = block(state["x"][i], state["lp"][i], state["best_x"][i],
                            state["best_lp"][i], state["cov"][i], state["mean"][i],
                            state["chol"][i], state["parsall"][i], state["fstate"][i],
                            state["counts"][i], state["rng"][i], state["spare"][i], n_iter,
                            thin, adapt, target, self.nadapt, self.beta, self.min_step,
                            scaling, n_mv, self.advance_count, ctx, problem.scratch(),
                            out_x[i], out_lp[i], work)

        map_chains(one, c, threads)
        state["done"] = done
        return out_x, out_lp

    def set_covariance(self, state: dict, covs: np.ndarray) -> None:
        """Start from ``covs`` (chains, d, d) with the multivariate proposal in use (as the
        Fortran hands the pre-run's covariance to the main run)."""
        c, d, _ = covs.shape
        tmp = np.empty((d, d))
        for i in range(c):
            state["cov"][i] = covs[i]
            if cholesky_into(covs[i] + 1e-12 * np.eye(d), tmp, state["chol"][i]):
                state["counts"][i, _HAS_COV] = 1
                state["counts"][i, _USE_MV] = 1
                state["fstate"][i, 0] = self.n_before_mv * d + 1.0

    def config(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


def reset_proposal(state: dict, chains=None) -> None:
    """Forget the covariance: isotropic proposals until a new one is built (the Fortran's
    state at the start of each phase)."""
    sel = slice(None) if chains is None else chains
    d = state["x"].shape[1]
    state["cov"][sel] = np.eye(d)
    state["mean"][sel] = 0.0
    state["chol"][sel] = 0.0
    state["fstate"][sel] = 0.0
    for col in (_HAS_COV, _USE_MV, _ACCLOC):
        state["counts"][sel, col] = 0


def start_phase(state: dict) -> None:
    """New phase: the phase's proposal counters (adaptation clock and multivariate
    acceptance) start from zero, as each call of the Fortran ``MHMCMC`` does."""
    for col in (_ITER, _ACCLOC, _ACC_MV):
        state["counts"][:, col] = 0


def hand_over(state: dict, n_before_mv: float = 10.0) -> np.ndarray:
    """After a pre-run: chains whose covariance is in use keep it with the count set to
    10·d + 1 (multivariate from the first proposal); the others start again isotropic.
    Returns which chains kept theirs."""
    d = state["x"].shape[1]
    keep = (state["counts"][:, _HAS_COV] == 1) & (state["counts"][:, _USE_MV] == 1)
    state["fstate"][keep, 0] = n_before_mv * d + 1.0
    reset_proposal(state, np.flatnonzero(~keep))
    return keep


def multivariate_in_use(state: dict) -> np.ndarray:
    return state["counts"][:, _USE_MV] == 1


def multivariate_acceptance(state: dict) -> np.ndarray:
    """Accepted multivariate proposals per proposal of the current phase (the Fortran's
    ``ACC_first / ITER``, which keeps adaptation on below 5 %)."""
    c = state["counts"]
    return c[:, _ACC_MV] / np.maximum(c[:, _ITER], 1)


__all__ = ["EdinburghAPMCMC", "hand_over", "multivariate_acceptance", "multivariate_in_use",
           "reset_proposal", "start_phase"]
