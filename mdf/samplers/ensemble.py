"""emcee's affine-invariant ensemble sampler on the numba log-posterior (``sampler="emcee"``).

Each of the run's independent chains is one emcee ensemble of ``walkers`` walkers (default
``2d + 2``) started in a small ball around that chain's EDC-consistent start; the log-posterior
of all walkers of a step is evaluated in one numba call (``vectorize=True``). Each ensemble owns
a ``numpy.random.RandomState`` seeded from the chain's stream and saved with checkpoints, so
runs are reproducible and resumable like the other samplers. In the results every walker is
a chain (``chain`` = ensembles × walkers), as ArviZ treats emcee output.

References
----------
Goodman, J. and Weare, J. (2010) Ensemble samplers with affine invariance. Commun. Appl. Math.
Comput. Sci. 5, 65-80. doi:10.2140/camcos.2010.5.65
Foreman-Mackey, D. et al. (2013) emcee: the MCMC hammer. PASP 125, 306.
doi:10.1086/670067
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numba import njit

from .base import Sampler, map_chains


@cache
def _many_for(log_posterior):
    @njit(nogil=True)
    def many(xs, ctx, scratch, out):
        for w in range(xs.shape[0]):
            v = log_posterior(xs[w], ctx, scratch)
            out[w] = -math.inf if math.isnan(v) else v

    return many


class EmceeSampler(Sampler):
    """emcee ``EnsembleSampler`` with its default stretch move.

    Parameters
    ----------
    walkers : int or None
        Walkers per ensemble (default ``2d + 2``).
    ball : float
        Radius (normalised space) of the initial ball around each chain's start.
    """

    name = "emcee"

    def __init__(self, walkers: int | None = None, ball: float = 1e-4):
        self.walkers = walkers
        self.ball = float(ball)

    def init_state(self, problem, x0, lp0, rng):
        c, d = x0.shape
        w = self.walkers or 2 * d + 2
        many = _many_for(problem._log_posterior)
        walkers = np.empty((c, w, d))
        lp = np.empty((c, w))
        keys = np.empty((c, 624), dtype=np.uint32)
        pos = np.empty((c, 1), dtype=np.int64)
        gauss = np.zeros((c, 2))
        for i in range(c):
            seed = [int(v) for v in rng[i, :4] % np.uint64(2**32)]
            rs = np.random.RandomState(seed)
            pts = x0[i] + self.ball * rs.standard_normal((w, d))
            pts[0] = x0[i]
            many(pts, problem.ctx, problem.scratch(), lp[i])
            bad = ~np.isfinite(lp[i])
            pts[bad] = x0[i] + 1e-9 * rs.standard_normal((bad.sum(), d))
            many(pts, problem.ctx, problem.scratch(), lp[i])
            walkers[i] = pts
            _, keys[i], pos[i, 0], gauss[i, 0], gauss[i, 1] = rs.get_state()
        return {"x": walkers, "lp": lp, "rs_keys": keys, "rs_pos": pos, "rs_gauss": gauss,
                "counts": np.zeros((c, 2), dtype=np.int64)}

    def run_block(self, problem, state, n_iter, thin, adapt, threads=1):
        import emcee

        many = _many_for(problem._log_posterior)
        c, w, d = state["x"].shape
        k = n_iter // thin
        out_x = np.empty((c * w, k, d))
        out_lp = np.empty((c * w, k))

        def one(i):
            scratch = problem.scratch()

            def log_prob(xs):
                out = np.empty(xs.shape[0])
                many(np.ascontiguousarray(xs), problem.ctx, scratch, out)
                return out

            sampler = emcee.EnsembleSampler(w, d, log_prob, vectorize=True)
            rs = np.random.RandomState()
            rs.set_state(("MT19937", state["rs_keys"][i], int(state["rs_pos"][i, 0]),
                          int(state["rs_gauss"][i, 0]), float(state["rs_gauss"][i, 1])))
            sampler._random = rs
            start = emcee.State(state["x"][i], log_prob=state["lp"][i], random_state=None)
            # step by step rather than run_mcmc(thin_by=thin): the same moves and random
            # numbers, but every step's acceptances are counted (emcee's acceptance_fraction
            # counts only the stored steps) and nothing but the kept states is stored
            before = start.coords.copy()
            accepted = 0
            final = start
            for step, final in enumerate(sampler.sample(start, iterations=k * thin, store=False,
                                                        skip_initial_state_check=True), 1):
                accepted += int(np.count_nonzero(np.any(final.coords != before, axis=1)))
                before[:] = final.coords
                if step % thin == 0:
                    out_x[i * w:(i + 1) * w, step // thin - 1] = final.coords
                    out_lp[i * w:(i + 1) * w, step // thin - 1] = final.log_prob
            state["x"][i] = final.coords
            state["lp"][i] = final.log_prob
            _, state["rs_keys"][i], state["rs_pos"][i, 0], state["rs_gauss"][i, 0], \
                state["rs_gauss"][i, 1] = sampler._random.get_state()
            state["counts"][i, 0] += k * thin * w
            state["counts"][i, 1] += accepted

        map_chains(one, c, threads)
        return out_x, out_lp

    def acceptance(self, state):
        cnt = state["counts"]
        return cnt[:, 1] / np.maximum(cnt[:, 0], 1)
