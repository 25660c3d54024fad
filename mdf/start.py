"""Finding an EDC-consistent starting point for each chain (CARDAMOM's start search).

Each chain draws a point uniformly in the normalised space (log-uniform prior) and runs a
random-walk Metropolis on CARDAMOM's start-search score (``EDC_DALEC_MLF``: -5 per failed EDC,
-5 more if the log-posterior is not finite) until the score is 0, i.e. every EDC passes and the
log-posterior is finite. Where the model's EDC hooks say how far a failing run is from passing
(the JPL models and DALEC.4 do, in log units), that distance, times the hooks'
``search_weight``, is subtracted while an EDC fails: CARDAMOM's score alone is flat between
failure counts, and on FluxVal sites with DALEC 811 about a third of the searches on it did
not find a start in ten attempts of 100 000 iterations. An attempt that has not reached 0
after ``max_iter`` iterations, or whose best score has not improved for the hooks'
``search_patience`` iterations, restarts from a new prior draw. The stream of each chain is
its own, so the start points do not depend on threads.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numba import njit

from .rng import normal, uniform
from .samplers.base import map_chains


class StartSearchError(RuntimeError):
    """No EDC-consistent start point was found within the allowed attempts."""


@cache
def _search_for(edc_score, log_posterior, adaptive=True):
    @njit(nogil=True)
    def search(x, rng, spare, max_iter, step, ctx, scratch, xp, patience):
        d = x.shape[0]
        for i in range(d):
            x[i] = uniform(rng)
        s0 = edc_score(x, ctx, scratch)
        it = 0
        log_step = math.log(step)
        accepted = 0
        best = s0
        last_gain = 0
        while it < max_iter:
            if s0 == 0.0:
                break
            if patience > 0 and it - last_gain >= patience:
                break  # stalled: a new prior draw does better than waiting
            sd = math.exp(log_step)
            if adaptive and uniform(rng) < 0.5:
                # one coordinate at a time: an EDC that hinges on one or two parameters
                # is approached without disturbing the others (steady states are touchy)
                for i in range(d):
                    xp[i] = x[i]
                k = min(int(uniform(rng) * d), d - 1)
                xp[k] = x[k] + sd * math.sqrt(d) * normal(rng, spare)
            else:
                for i in range(d):
                    xp[i] = x[i] + sd * normal(rng, spare)
            s = edc_score(xp, ctx, scratch)
            if s - s0 > math.log(uniform(rng)):
                for i in range(d):
                    x[i] = xp[i]
                s0 = s
                accepted += 1
                if s0 > best + 0.01:
                    best = s0
                    last_gain = it
            it += 1
            if adaptive and it % 100 == 0:
                # the step follows the acceptance rate towards 0.234 (in [1e-4, 0.3])
                log_step += 0.5 * (accepted / 100.0 - 0.234)
                log_step = min(max(log_step, math.log(1e-4)), math.log(0.3))
                accepted = 0
        if s0 != 0.0:
            return -math.inf, it
        return log_posterior(x, ctx, scratch), it

    return search


def find_start(problem, rng: np.ndarray, *, max_iter: int = 100_000, attempts: int | None = None,
               step: float = 0.02, threads: int = 1, guided: bool = True,
               patience: int | None = None):
    """EDC-consistent start points, one per chain.

    Parameters
    ----------
    problem : mdf.Problem
    rng : ndarray (chains, 5) of uint64
        Chain random states (advanced in place).
    max_iter : int
        Iterations of one search attempt before it restarts from a new prior draw.
    attempts : int, optional
        Attempts per chain before giving up (default 10, or 50 where a patience ends attempts
        early).
    step : float
        Random-walk standard deviation in the normalised space.
    threads : int
        Threads for the chains (the start points do not depend on it).
    guided : bool
        Climb CARDAMOM's score minus the model's graded distance from passing the failing
        EDCs (:class:`mdf.edc.hooks.EdcHooks` ``violation``), with half the proposals moving
        one coordinate and the step adapted towards 23 % acceptance (default); or
        (``False``) CARDAMOM's score alone with a fixed isotropic step, as before. Either
        way the search ends only where every EDC passes and log P is finite.
    patience : int, optional
        Restart an attempt from a new prior draw once its best score has not improved (by
        0.01) for this many iterations; 0 never. Default: the model's EDC hooks'
        ``search_patience`` with ``guided``, else 0.

    Returns
    -------
    x0 : ndarray (chains, d)
    lp0 : ndarray (chains,)
    iterations : ndarray (chains,)
        Search iterations each chain needed (all attempts).

    Raises
    ------
    StartSearchError
        If a chain found no EDC-consistent point in ``attempts`` attempts.
    """
    if guided:
        search = _search_for(problem._edc_guided, problem._log_posterior, True)
    else:
        search = _search_for(problem._edc_score, problem._log_posterior, False)
    if patience is None:
        patience = problem.hooks.search_patience if guided and problem.hooks else 0
    if attempts is None:
        attempts = 50 if patience else 10
    n_chains = rng.shape[0]
    d = problem.space.ndim
    x0 = np.empty((n_chains, d))
    lp0 = np.full(n_chains, -np.inf)
    used = np.zeros(n_chains, dtype=np.int64)

    def one(c):
        spare = np.zeros(1)
        scratch = problem.scratch()
        xp = np.empty(d)
        for _ in range(attempts):
            lp, it = search(x0[c], rng[c], spare, max_iter, step, problem.ctx, scratch, xp,
                            patience)
            used[c] += it
            if np.isfinite(lp):
                lp0[c] = lp
                return
        raise StartSearchError(
            f"chain {c}: no EDC-consistent start found in {attempts} attempts of {max_iter} "
            f"iterations for model {problem.model.name} on "
            f"{problem.pixel.attrs.get('source_file', 'this pixel')}"
        )

    map_chains(one, n_chains, threads)
    return x0, lp0, used
