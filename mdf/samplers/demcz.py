"""Differential-evolution Markov chains from a past-state archive (``sampler="demcz"``).

DE-MCz (ter Braak & Vrugt 2008) with the DREAM(zs) refinements of Vrugt (2016). A few parallel
chains share an archive Z of their own thinned past states; a chain at ``x`` proposes

- a parallel-direction jump ``x' = x + γ·(z₁ - z₂) + e`` with ``z₁ ≠ z₂`` drawn from Z,
  ``γ = s·2.38/√(2d')`` over a random subspace of ``d'`` coordinates (crossover
  probability drawn from ``crossover``), ``γ = 1`` with probability ``p_unit`` (jumps
  between modes), and ``e ~ N(0, noise²)``; or, with probability ``p_snooker``,
- a snooker jump along the line through ``x`` and an archive state ``z``:
  ``x' = x + γ_s·((z₁ - z₂)·u)u``, ``u = (x - z)/|x - z|``, ``γ_s ~ U(1.2, 2.2)``, accepted
  with the extra factor ``(|x' - z|/|x - z|)^(d-1)``.

The difference of two archive states has twice the posterior covariance, so these moves scale
and orient themselves to the target without a covariance estimate, and follow curved or
separated regions that one Gaussian proposal does not.

Reproducibility. Every chain owns its random stream and, between synchronisation points every
``sync`` iterations, reads a frozen archive; each chain's thinned states wait in its own buffer
and join Z, in chain order, at the synchronisation point. So chains give the same draws on any
number of threads and however the run is cut into blocks (checkpoints included).

Adaptation. During burn-in the scale ``s`` of each chain follows a Robbins-Monro step towards
``target_accept`` (Andrieu & Thoms 2008), Z grows, and each burn-in window's end drops the
oldest half of Z (the climb from the start). While draws are kept ``s`` is fixed and, by
default, Z keeps growing, as in ter Braak & Vrugt's DE-MCz: each new state changes the proposal
mixture by O(1/|Z|), a diminishing adaptation (Roberts & Rosenthal 2007) whose limit kernel
leaves the target invariant. This departs from the fixed kernel of :mod:`mdf.samplers.am`
deliberately: on FluxVal posteriors a growing archive gave 2-10x the bulk ESS of an archive
frozen at the end of burn-in for the same evaluations (``benchmarks/convergence.py``).
``grow_in_sampling=False`` freezes Z, and the kept draws then come from a fixed Metropolis
kernel (symmetric given Z; the snooker factor makes that move exact). A NaN log-posterior is a
rejection.

References
----------
ter Braak, C. J. F. and Vrugt, J. A. (2008) Differential Evolution Markov Chain with snooker
updater and fewer chains. Stat. Comput. 18, 435-446. doi:10.1007/s11222-008-9104-9
Vrugt, J. A. (2016) Markov chain Monte Carlo simulation using the DREAM software package.
Environ. Model. Softw. 75, 273-316. doi:10.1016/j.envsoft.2015.08.013
Andrieu, C. and Thoms, J. (2008) A tutorial on adaptive MCMC. Stat. Comput. 18, 343-373.
doi:10.1007/s11222-008-9110-y
Roberts, G. O. and Rosenthal, J. S. (2007) Coupling and ergodicity of adaptive Markov chain
Monte Carlo algorithms. J. Appl. Probab. 44, 458-475. doi:10.1239/jap/1183667414
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np
from numba import njit

from ..rng import normal, uniform
from .base import Sampler

# counts columns
_IT, _ACC, _NAN, _ITER_TOTAL, _NPEND, _SNOOK_IT, _SNOOK_ACC = range(7)


@njit(nogil=True)
def _pick(rng, n):
    """A uniform integer in [0, n)."""
    k = int(uniform(rng) * n)
    return k if k < n else n - 1


@njit(nogil=True, inline="always")
def _propose(x, log_scale, rng, spare, Z, n_z, p_snooker, p_unit, noise, crossover, xp, dz):
    """One chain's proposal into ``xp``; returns ``(snooker, log_extra, adaptive)``."""
    d = x.shape[0]
    n_cr = crossover.shape[0]
    snooker = n_z >= 3 and uniform(rng) < p_snooker
    log_extra = 0.0
    adaptive = False
    if snooker:
        r0 = _pick(rng, n_z)
        r1 = _pick(rng, n_z - 1)
        r1 += r1 >= r0
        r2 = _pick(rng, n_z - 2)
        lo_r, hi_r = min(r0, r1), max(r0, r1)
        r2 += r2 >= lo_r
        r2 += r2 >= hi_r
        norm0 = 0.0
        for i in range(d):
            dz[i] = x[i] - Z[r0, i]
            norm0 += dz[i] * dz[i]
        norm0 = math.sqrt(norm0)
        if norm0 > 0.0:
            proj = 0.0
            for i in range(d):
                dz[i] /= norm0
                proj += (Z[r1, i] - Z[r2, i]) * dz[i]
            g = 1.2 + uniform(rng)
            norm1 = 0.0
            for i in range(d):
                xp[i] = x[i] + g * proj * dz[i]
                norm1 += (xp[i] - Z[r0, i]) ** 2
            log_extra = (d - 1) * 0.5 * math.log(norm1 / (norm0 * norm0))
        else:
            for i in range(d):
                xp[i] = x[i]
    else:
        r1 = _pick(rng, n_z)
        r2 = _pick(rng, n_z - 1)
        r2 += r2 >= r1
        cr = crossover[_pick(rng, n_cr)] if n_cr > 1 else crossover[0]
        m = 0
        for i in range(d):
            if cr >= 1.0 or uniform(rng) < cr:
                dz[i] = 1.0
                m += 1
            else:
                dz[i] = 0.0
        if m == 0:
            k = _pick(rng, d)
            dz[k] = 1.0
            m = 1
        if uniform(rng) < p_unit:
            g = 1.0
        else:
            g = math.exp(log_scale[0]) * 2.38 / math.sqrt(2.0 * m)
            adaptive = True
        for i in range(d):
            if dz[i] != 0.0:
                xp[i] = x[i] + g * (Z[r1, i] - Z[r2, i]) + noise * normal(rng, spare)
            else:
                xp[i] = x[i]
    return snooker, log_extra, adaptive


@njit(nogil=True, inline="always")
def _settle(x, lp, xp, lpp, log_extra, snooker, adaptive, log_scale, counts, rng, pending,
            adapt, append, archive_every, target, j, thin, out_x, out_lp):
    """Accept or reject one chain's proposal, count, adapt, archive and keep (iteration
    ``j`` of the block, from 1)."""
    d = x.shape[0]
    accept = False
    if math.isnan(lpp):
        counts[_NAN] += 1
    elif lpp - lp[0] + log_extra > math.log(uniform(rng)):
        accept = True
        for i in range(d):
            x[i] = xp[i]
        lp[0] = lpp
    counts[_IT] += 1
    counts[_ITER_TOTAL] += 1
    if accept:
        counts[_ACC] += 1
    if snooker:
        counts[_SNOOK_IT] += 1
        if accept:
            counts[_SNOOK_ACC] += 1
    if adapt and adaptive:
        step = min(0.05, 1.0 / math.sqrt(counts[_ITER_TOTAL]))
        log_scale[0] += step * ((1.0 if accept else 0.0) - target)
    if append:
        if counts[_ITER_TOTAL] % archive_every == 0:
            k = counts[_NPEND]
            for i in range(d):
                pending[k, i] = x[i]
            counts[_NPEND] = k + 1
    if j % thin == 0:
        k = j // thin - 1
        for i in range(d):
            out_x[k, i] = x[i]
        out_lp[k] = lp[0]


@cache
def _group_from(log_posterior):
    """``log_posterior`` point by point: the group form for a problem without its own."""

    @njit(nogil=True)
    def group(x_a, x_b, x_c, x_d, k, ctx, s_a, s_b, s_c, s_d, out):
        xs = (x_a, x_b, x_c, x_d)
        ss = (s_a, s_b, s_c, s_d)
        for i in range(k):
            out[i] = log_posterior(xs[i], ctx, ss[i])

    return group


@cache
def _block_for(log_posterior_group):
    @njit(nogil=True)
    def block(x, lp, log_scale, counts, rng, spare, Z, n_z, pending, n_iter, thin, offset,
              adapt, append, archive_every, p_snooker, p_unit, noise, crossover, target, ctx,
              s_a, s_b, s_c, s_d, out_x, out_lp, work):
        """``n_iter`` iterations of one to four chains in lockstep (the leading axis of the
        state arrays): their proposals are evaluated together (``log_posterior_group``, the
        model runs interleaved), each chain otherwise exactly as alone."""
        k = x.shape[0]
        last = k - 1
        lpp = np.empty(4)
        snooker = np.zeros(4, dtype=np.bool_)
        extra = np.zeros(4)
        adaptive = np.zeros(4, dtype=np.bool_)
        for it in range(n_iter):
            for c in range(k):
                snooker[c], extra[c], adaptive[c] = _propose(
                    x[c], log_scale[c], rng[c], spare[c], Z, n_z, p_snooker, p_unit, noise,
                    crossover, work[c, 0], work[c, 1])
            log_posterior_group(work[0, 0], work[min(1, last), 0], work[min(2, last), 0],
                                work[min(3, last), 0], k, ctx, s_a, s_b, s_c, s_d, lpp)
            j = offset + it + 1
            for c in range(k):
                _settle(x[c], lp[c], work[c, 0], lpp[c], extra[c], snooker[c], adaptive[c],
                        log_scale[c], counts[c], rng[c], pending[c], adapt, append,
                        archive_every, target, j, thin, out_x[c], out_lp[c])

    return block


@njit(nogil=True)
def _jitter_rows(x0, sd, rng, spare, out):
    """``out[r] = x0 + sd·N(0, I)`` from one chain's stream."""
    for r in range(out.shape[0]):
        for i in range(x0.shape[0]):
            out[r, i] = x0[i] + sd * normal(rng, spare)


@njit(nogil=True)
def _gauss_rows(x0, chol, rng, spare, out):
    """``out[r] = x0 + chol·N(0, I)`` (lower-triangular ``chol``) from one chain's stream."""
    d = x0.shape[0]
    z = np.empty(d)
    for r in range(out.shape[0]):
        for i in range(d):
            z[i] = normal(rng, spare)
        for i in range(d):
            acc = 0.0
            for j in range(i + 1):
                acc += chol[i, j] * z[j]
            out[r, i] = x0[i] + acc


class DEMCz(Sampler):
    """DE-MCz / DREAM(zs) population sampler over a shared archive of past states.

    Parameters
    ----------
    p_snooker : float
        Probability of a snooker jump (ter Braak & Vrugt: 0.1).
    p_unit : float
        Probability of ``γ = 1`` in a parallel-direction jump (mode jumping; 0.1).
    noise : float
        Standard deviation of the jitter ``e`` in the normalised space (DREAM's b* = 1e-6).
    crossover : tuple of float
        Crossover probabilities drawn uniformly per jump (DREAM's subspace sampling, e.g.
        ``(1/3, 2/3, 1)``); ``(1.0,)`` moves every coordinate (DE-MCz).
    archive_every : int
        Iterations between archive appends per chain during burn-in (K = 10).
    initial_archive : int
        Archive size before sampling starts (-1: 10·d, ter Braak & Vrugt's M0).
    initial_sd : float
        Spread of the initial archive around each start when no warm-start covariance is set.
    keep_fraction : float
        Fraction of the newest archive kept at the end of each burn-in window (1: keep all).
    sync : int
        Iterations between archive synchronisations (a multiple of ``archive_every``).
    target_accept : float
        Acceptance rate the jump scale adapts towards during burn-in (0: no adaptation).
    rescue_gap : float
        Early in burn-in, chains this far below the best chain in log-posterior restart from
        its state (-1: the number of parameters; 0: never), as in :mod:`mdf.samplers.am`.
    grow_in_sampling : bool
        Keep appending to Z while draws are kept (ter Braak & Vrugt's scheme; default), or
        freeze Z and the scale after burn-in (a fixed kernel). See the module notes.
    max_archive : int
        When Z grows past this many states it keeps every other one (a thinned record of the
        whole run), bounding memory and checkpoint size.
    """

    name = "demcz"

    def __init__(self, p_snooker: float = 0.1, p_unit: float = 0.1, noise: float = 1e-6,
                 crossover: tuple = (1.0,), archive_every: int = 10,
                 initial_archive: int = -1, initial_sd: float = 0.02,
                 keep_fraction: float = 0.5, sync: int = 1000, target_accept: float = 0.234,
                 rescue_gap: float = -1.0, grow_in_sampling: bool = True,
                 max_archive: int = 100_000):
        if sync % archive_every:
            raise ValueError(f"sync ({sync}) must be a multiple of archive_every "
                             f"({archive_every})")
        self.p_snooker = float(p_snooker)
        self.p_unit = float(p_unit)
        self.noise = float(noise)
        self.crossover = tuple(float(c) for c in crossover)
        self.archive_every = int(archive_every)
        self.initial_archive = int(initial_archive)
        self.initial_sd = float(initial_sd)
        self.keep_fraction = float(keep_fraction)
        self.sync = int(sync)
        self.target_accept = float(target_accept)
        self.rescue_gap = float(rescue_gap)
        self.grow_in_sampling = bool(grow_in_sampling)
        self.max_archive = int(max_archive)

    # ------------------------------------------------------------------ state
    def _m0(self, d: int) -> int:
        return self.initial_archive if self.initial_archive > 0 else 10 * d

    def init_state(self, problem, x0, lp0, rng):
        c, d = x0.shape
        rng = np.array(rng, dtype=np.uint64)
        spare = np.zeros((c, 1))
        per = -(-self._m0(d) // c)
        Z = np.empty((c * per, d))
        for k in range(c):  # chain k's stream draws its own share of the archive
            _jitter_rows(np.asarray(x0[k], dtype=np.float64), self.initial_sd, rng[k],
                         spare[k], Z[k * per:(k + 1) * per])
        return {
            "x": np.array(x0, dtype=np.float64),
            "lp": np.array(lp0, dtype=np.float64).reshape(c, 1),
            "log_scale": np.zeros((c, 1)),
            "counts": np.zeros((c, 7), dtype=np.int64),
            "rng": rng,
            "spare": spare,
            "Z": Z,
            "n_z": np.array([Z.shape[0]], dtype=np.int64),
            "pending": np.zeros((c, self.sync // self.archive_every, d)),
        }

    def set_covariance(self, state: dict, covs: np.ndarray) -> None:
        """Redraw the initial archive from N(x0, cov) per chain (the warm start's search
        distribution), so the first jumps have the scale and orientation CMA-ES found."""
        c, d = state["x"].shape
        per = state["Z"].shape[0] // c
        for k in range(c):
            w, v = np.linalg.eigh(0.5 * (covs[k] + covs[k].T))
            root = np.linalg.cholesky(v @ np.diag(np.maximum(w, 1e-14)) @ v.T)
            _gauss_rows(state["x"][k], root, state["rng"][k], state["spare"][k],
                        state["Z"][k * per:(k + 1) * per])

    # ------------------------------------------------------------------ running
    def _merge(self, state: dict) -> None:
        """Append every chain's waiting states to Z, interleaved in time then chain order."""
        npend = int(state["counts"][0, _NPEND])
        if npend == 0:
            return
        c, _, d = state["pending"].shape
        new = state["pending"][:, :npend].transpose(1, 0, 2).reshape(-1, d)
        n_z = int(state["n_z"][0])
        if state["Z"].shape[0] < n_z + new.shape[0]:
            grown = np.empty((max(2 * state["Z"].shape[0], n_z + new.shape[0]), d))
            grown[:n_z] = state["Z"][:n_z]
            state["Z"] = grown
        state["Z"][n_z:n_z + new.shape[0]] = new
        n_z += new.shape[0]
        if n_z > self.max_archive:
            kept = state["Z"][:n_z:2].copy()
            n_z = kept.shape[0]
            state["Z"][:n_z] = kept
        state["n_z"][0] = n_z
        state["counts"][:, _NPEND] = 0

    def _kernel(self, problem):
        """The compiled block and this sampler's own arguments to it."""
        group = (getattr(problem, "_log_posterior_group", None)
                 or _group_from(problem._log_posterior))
        return _block_for(group), (
            self.archive_every, self.p_snooker, self.p_unit, self.noise,
            np.array(self.crossover), self.target_accept,
        )

    def run_block(self, problem, state, n_iter, thin, adapt, threads=1):
        block, args = self._kernel(problem)
        c, d = state["x"].shape
        out_x = np.empty((c, n_iter // thin, d))
        out_lp = np.empty((c, n_iter // thin))
        append = adapt or self.grow_in_sampling
        if not append:  # states waiting from a burn-in that ended between sync points
            self._merge(state)
        scratches = [problem.scratch() for _ in range(c)]
        work = np.empty((c, 2, d))
        # chains move in lockstep groups of four or two (their model runs interleaved), or one
        # per thread where there are threads for every chain: the draws are the same either way
        size = 1 if threads >= c else 2 if 2 * threads >= c else 4
        groups = [(g, min(g + size, c)) for g in range(0, c, size)]
        done = 0
        workers = min(threads, len(groups))
        pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
        try:
            while done < n_iter:
                since = int(state["counts"][0, _ITER_TOTAL]) % self.sync
                n = min(self.sync - since, n_iter - done)
                Z = state["Z"]
                n_z = int(state["n_z"][0])

                def one(group, n=n, done=done, Z=Z, n_z=n_z):
                    g0, g1 = group
                    block(state["x"][g0:g1], state["lp"][g0:g1], state["log_scale"][g0:g1],
                          state["counts"][g0:g1], state["rng"][g0:g1], state["spare"][g0:g1],
                          Z, n_z, state["pending"][g0:g1], n, thin, done, adapt, append, *args,
                          problem.ctx, *[scratches[min(g0 + i, g1 - 1)] for i in range(4)],
                          out_x[g0:g1], out_lp[g0:g1], work[g0:g1])

                if pool is None:
                    for group in groups:
                        one(group)
                else:
                    list(pool.map(one, groups))
                done += n
                if append and int(state["counts"][0, _ITER_TOTAL]) % self.sync == 0:
                    self._merge(state)
        finally:
            if pool is not None:
                pool.shutdown()
        return out_x, out_lp

    # ------------------------------------------------------------------ adaptation hooks
    def end_window(self, state: dict, final: bool) -> None:
        """Drop the oldest part of the archive (keep ``keep_fraction``, at least 10·d)."""
        if self.keep_fraction >= 1.0:
            return
        n_z = int(state["n_z"][0])
        d = state["x"].shape[1]
        keep = max(int(math.ceil(self.keep_fraction * n_z)), min(self._m0(d), n_z))
        if keep < n_z:
            state["Z"][:keep] = state["Z"][n_z - keep:n_z].copy()
            state["n_z"][0] = keep

    def rescue(self, state: dict) -> int:
        """Restart chains that lag the best chain's log-posterior by more than ``rescue_gap``
        from the best chain's state (they keep their own streams)."""
        if not self.rescue_gap:
            return 0
        lp = state["lp"].ravel()
        gap = self.rescue_gap if self.rescue_gap > 0 else state["x"].shape[1]
        best = int(np.argmax(lp))
        n = 0
        for k in range(lp.size):
            if lp[k] < lp[best] - gap:
                state["x"][k] = state["x"][best]
                state["lp"][k] = state["lp"][best]
                state["log_scale"][k] = state["log_scale"][best]
                n += 1
        return n

    def evaluations(self, state: dict) -> np.ndarray:
        """Log-posterior evaluations per chain so far (one per iteration)."""
        return state["counts"][:, _ITER_TOTAL].copy()

    def archive(self, state: dict) -> np.ndarray:
        """The current archive Z (states, d)."""
        return state["Z"][: int(state["n_z"][0])]

    def snooker_acceptance(self, state: dict) -> np.ndarray:
        c = state["counts"]
        return c[:, _SNOOK_ACC] / np.maximum(c[:, _SNOOK_IT], 1)
