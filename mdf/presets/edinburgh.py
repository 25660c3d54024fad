"""Edinburgh CARDAMOM's calibration procedure: EDC search, pre-run, main AP-MCMC, and the
post-processing that picks the kept draws (``preset="edinburgh"``).

What ``cardamom.exe <in.bin> <out> <nsamples> 0 <nsamples/1000> 1 <scaling>`` does for one
chain (``general/cardamom_main.f90``, ``model/<M>/likelihood/MODEL_LIKELIHOOD.f90``,
``method/MHMCMC/MCMC_FUN/MHMCMC.f90``; GCEL/CARDAMOM commit 36267339), and what the R code
does with the chains afterwards (``R_functions/read_parameter_chains.r``,
``have_chains_converged.r``, ``psrf_function.r``); MODELS.md Part B 1.4-1.5:

1. **EDC search** (:func:`edc_search`): parameters with a prior start at the prior mean, the
   rest at a random point of the normalised space; the AP-MCMC (``nADAPT`` = 500, adapting
   throughout) climbs the score ``-5 × (failed EDCs)`` (-5 more if the log-posterior is not
   finite) in attempts of 100 000 proposals, each continuing from the best point so far, until
   the score is 0; after 5 attempts, one that does not improve restarts from a new random
   point.
2. **Pre-run** (:func:`pre_run`): 20 % of the proposals on the sample-size-normalised
   likelihood (scaling ``n``), adapting throughout; the main run restarts from its best point,
   with its covariance if the multivariate proposal was in use.
3. **Main run** (:func:`main_run`): the remaining 80 % with the chosen scaling (2 = √n in the
   Edinburgh examples), adapting during its first half and beyond while fewer than 5 % of the
   multivariate proposals are accepted; one state is stored every ``nsamples/1000`` proposals.
4. **Post-processing** (:func:`postprocess`): the last 100 stored states of each chain; the
   Gelman-Rubin PSRF (Brooks & Gelman 1998 form, :func:`psrf`) of the log-likelihood as
   cardamom.exe writes it (unscaled), threshold 1.2; if it fails, :func:`select_chains`
   drops chains by the R code's rule.

The random numbers are this library's per-chain streams (not the system clock), so a run is
reproducible from its seed.

References
----------
Brooks, S. P. and Gelman, A. (1998) J. Comput. Graph. Stat. 7, 434-455.
doi:10.1080/10618600.1998.10474787
Bloom, A. A. and Williams, M. (2015) Biogeosciences 12, 1299-1315. doi:10.5194/bg-12-1299-2015
"""

from __future__ import annotations

import logging
import math
import os
import warnings

import numpy as np

from ..rng import chain_states, uniform
from ..samplers.edinburgh import (
    EdinburghAPMCMC,
    hand_over,
    multivariate_acceptance,
    reset_proposal,
    start_phase,
)
from ..start import StartSearchError

log = logging.getLogger(__name__)

#: the Edinburgh settings (cardamom_main.f90, read_options, find_edc_initial_values)
SCALING = "sqrt_n"
PRE_FRACTION = 0.2
MAIN_ADAPT_FRACTION = 0.5
EDC_NADAPT = 500
EDC_PROPOSALS = 100_000
STORED = 1000
KEEP = 100
RHAT_THRESHOLD = 1.2


# ------------------------------------------------------------------------------- phases


def prior_start(problem, rng: np.ndarray) -> np.ndarray:
    """Start points (chains, d): the prior mean for parameters with a Gaussian prior in the
    pixel, a uniform draw of the normalised space (log-uniform) for the others."""
    from drivers.options import parameter_priors

    d = problem.space.ndim
    x = np.empty((rng.shape[0], d))
    for c in range(rng.shape[0]):
        for i in range(d):
            x[c, i] = uniform(rng[c])
    for prior in parameter_priors(problem.pixel):
        if 0 <= prior.index < d:
            at_prior = problem.space.lo.copy()
            at_prior[prior.index] = prior.value
            xi = float(problem.space.to_normalised(at_prior)[prior.index])
            if 0.0 < xi < 1.0:
                x[:, prior.index] = xi
    return x


def edc_search(problem, rng: np.ndarray, *, proposals: int = EDC_PROPOSALS,
               max_attempts: int = 50, threads: int = 1):
    """EDC-consistent starting points by the Edinburgh search (module docstring, step 1).

    Parameters
    ----------
    problem : mdf.Problem
    rng : ndarray (chains, 5) of uint64
        Chain random states (advanced in place).
    proposals : int
        Proposals per attempt.
    max_attempts : int
        Attempts per chain before giving up.

    Returns
    -------
    x0 : ndarray (chains, d)
    proposals_used : ndarray (chains,)

    Raises
    ------
    StartSearchError
        A chain without an EDC-consistent point after ``max_attempts`` attempts.
    """
    sampler = EdinburghAPMCMC(nadapt=EDC_NADAPT)
    x0 = prior_start(problem, rng)
    score = problem._edc_score
    scratch = problem.scratch()
    s0 = np.array([score(x, problem.ctx, scratch) for x in x0])
    state = sampler.init_state(problem, x0, s0, rng)
    used = np.zeros(rng.shape[0], dtype=np.int64)
    previous = np.full(rng.shape[0], -1000.0)
    for attempt in range(1, max_attempts + 1):
        start_phase(state)
        sampler.run_block(problem, state, proposals, proposals, True, threads, target=0.0,
                          log_posterior=score)
        used += state["done"]
        best = state["best_lp"][:, 0]
        if np.all(best >= 0.0):
            break
        for c in np.flatnonzero(best < 0.0):
            if attempt > 5 and best[c] <= previous[c]:  # stuck: a new random start
                state["x"][c] = prior_start(problem, state["rng"][c:c + 1])[0]
                state["lp"][c] = state["best_lp"][c] = score(state["x"][c], problem.ctx,
                                                             scratch)
                state["best_x"][c] = state["x"][c]
                reset_proposal(state, [c])
                previous[c] = -1000.0
            else:
                state["x"][c] = state["best_x"][c]
                state["lp"][c] = state["best_lp"][c]
                previous[c] = best[c]
        log.info("EDC search attempt %d: best scores %s", attempt, best.tolist())
    best = state["best_lp"][:, 0]
    if np.any(best < 0.0):
        c = int(np.flatnonzero(best < 0.0)[0])
        raise StartSearchError(
            f"chain {c}: no EDC-consistent start in {max_attempts} attempts of {proposals} "
            f"proposals for model {problem.model.name} on "
            f"{problem.pixel.attrs.get('source_file', 'this pixel')} (best score {best[c]})"
        )
    rng[:] = state["rng"]
    return state["best_x"].copy(), used


def pre_run(problem_n, problem, sampler, x0, rng, n_iter: int, *, threads: int = 1,
            block: int = 20_000, progress=None):
    """The pre-run on the sample-size-normalised likelihood (step 2), adapting throughout.

    Returns the sampler state for the main run: at the pre-run's best point, with the
    log-posterior of ``problem`` (the main run's scaling) and the covariance handed over.
    """
    scratch = problem_n.scratch()
    lp0 = np.array([problem_n.log_posterior_x(x, scratch) for x in x0])
    state = sampler.init_state(problem_n, x0, lp0, rng)
    reset_proposal(state)
    done = 0
    while done < n_iter:
        n = min(block, n_iter - done)
        sampler.run_block(problem_n, state, n, n, True, threads)
        done += n
        if progress is not None:
            progress("pre-run", done, n_iter, state)
    state["x"][:] = state["best_x"]
    scratch = problem.scratch()
    lp = np.array([problem.log_posterior_x(x, scratch) for x in state["x"]])
    state["lp"][:, 0] = lp
    state["best_lp"][:, 0] = lp
    kept = hand_over(state, sampler.n_before_mv)
    start_phase(state)
    log.info("pre-run done: log P (main scaling) %s; covariance kept by chains %s",
             np.round(lp, 2).tolist(), np.flatnonzero(kept).tolist())
    return state


def main_run(problem, sampler, state, n_iter: int, thin: int, *, threads: int = 1,
             block: int = 20_000, progress=None):
    """The main AP-MCMC (step 3): adapting during the first half, then while the
    multivariate acceptance is below 5 %. Returns the stored states ``(x, lp)``:
    (chains, n_iter // thin, d) and (chains, n_iter // thin)."""
    adapt_until = int(MAIN_ADAPT_FRACTION * n_iter) // thin * thin
    block = max(thin, block - block % thin)
    xs, lps = [], []
    done = 0
    for adapt, end in ((True, adapt_until), (False, n_iter)):
        while done < end:
            n = min(block, end - done)
            x, lp = sampler.run_block(problem, state, n, thin, adapt, threads)
            xs.append(x)
            lps.append(lp)
            done += n
            log.info("main run %d/%d: log P %s, multivariate acceptance %s", done, n_iter,
                     np.round(state["lp"][:, 0], 1).tolist(),
                     np.round(multivariate_acceptance(state), 3).tolist())
            if progress is not None:
                progress("main", done, n_iter, state)
    return np.concatenate(xs, axis=1), np.concatenate(lps, axis=1)


# ------------------------------------------------------------------------- post-processing


def psrf(x) -> np.ndarray:
    """Gelman-Rubin PSRF with the Brooks & Gelman correction, as ``psrf_function.r``.

    Parameters
    ----------
    x : array_like, shape (chains, draws) or (chains, draws, k)

    Returns
    -------
    ndarray (k,) or float
        ``sqrt((M+1)/M · V̂/W - (N-1)/(M N))`` per column, ``V̂ = (N-1)/N W + B/N``.
    """
    x = np.asarray(x, dtype=np.float64)
    scalar = x.ndim == 2
    if scalar:
        x = x[:, :, None]
    m, n, _ = x.shape
    w = np.sum((x - x.mean(axis=1, keepdims=True)) ** 2, axis=(0, 1)) / ((n - 1) * m)
    means = x.mean(axis=1)
    b_n = np.sum((means - means.mean(axis=0)) ** 2, axis=0) / (m - 1)
    s = (n - 1) / n * w + b_n
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt((m + 1) / m * s / w - (n - 1) / m / n)
    return float(r[0]) if scalar else r


def select_chains(lp, threshold: float = RHAT_THRESHOLD):
    """The R code's chain selection on the log-likelihood (``read_parameter_chains.r``).

    While more than two chains remain and the PSRF of the log-likelihood exceeds
    ``threshold``: try removing each chain in turn; if a removal converges, drop that chain,
    unless its 10 % quantile beats the 90 % quantile of the others, then keep it alone; if no
    single removal converges, drop the chain with the lowest maximum likelihood and repeat.

    Parameters
    ----------
    lp : array_like (chains, draws)

    Returns
    -------
    kept : list of int
        Indices of the chains kept.
    converged : bool
        Whether the kept chains pass (a single kept chain counts as converged, as in R).
    """
    lp = np.asarray(lp, dtype=np.float64)
    chains = list(range(lp.shape[0]))
    if len(chains) < 2:
        return chains, True
    if len(chains) == 2:
        return chains, bool(psrf(lp) <= threshold)
    while len(chains) > 2:
        if psrf(lp[chains]) <= threshold:
            return chains, True
        best_max = {}
        for i in chains:
            best_max[i] = float(lp[i].max())
            rest = [c for c in chains if c != i]
            if psrf(lp[rest]) <= threshold:
                if np.quantile(lp[i], 0.1) > np.quantile(lp[rest], 0.9):
                    return [i], True
                return rest, True
        chains.remove(min(chains, key=lambda c: best_max[c]))
    return chains, bool(psrf(lp[chains]) <= threshold)


def postprocess(problem_written, draws, keep: int = KEEP, threshold: float = RHAT_THRESHOLD,
                threads: int = 1):
    """Step 4: the last ``keep`` stored states per chain, the log-likelihood cardamom.exe
    writes for them (``problem_written``: no scaling), and the chain selection.

    Returns
    -------
    dict
        ``draws`` (kept chains, keep, d) normalised, ``log_likelihood`` (chains, keep) of all
        chains, ``kept_chains``, ``converged``, ``psrf_log_likelihood`` (all chains and kept
        chains) and ``psrf`` per parameter of the kept chains.
    """
    draws = np.asarray(draws)[:, -keep:, :]
    c, k, _ = draws.shape
    scratch = problem_written.scratch()
    ll = np.array([[problem_written.log_posterior_x(draws[i, j], scratch) for j in range(k)]
                   for i in range(c)])
    kept, converged = select_chains(ll, threshold)
    pars = problem_written.space.wrap_circular(problem_written.space.from_normalised(draws))
    return {
        "draws": draws[kept],
        "log_likelihood": ll,
        "kept_chains": kept,
        "converged": bool(converged),
        "psrf_log_likelihood_all": psrf(ll) if c > 1 else math.nan,
        "psrf_log_likelihood": psrf(ll[kept]) if len(kept) > 1 else math.nan,
        "psrf": psrf(pars[kept]) if len(kept) > 1 else np.full(draws.shape[2], np.nan),
    }


# --------------------------------------------------------------------------------- driver


def calibrate(pixel, model="DALEC.4", *, chains: int = 3, iterations: int | None = None,
              seed: int | None = 0, threads: int | None = None, draws: int = 300,
              scaling: str | None = None, edc: bool = True, eqf: float | None = None,
              options=None, progress=None, pre_run_on: bool = True,
              edc_proposals: int = EDC_PROPOSALS, start="edinburgh", block: int = 20_000):
    """Calibrate one pixel the Edinburgh way (module docstring).

    Parameters
    ----------
    pixel : xarray.Dataset
    model : str
    chains : int
        Independent chains (Edinburgh: 3-12).
    iterations : int
        Proposals per chain over the pre-run and the main run (``nsamples``; default 1e6).
    seed : int
    threads : int, optional
    draws : int
        Posterior draws run forward for the ensemble.
    scaling : {'none', 'n', 'sqrt_n', 'log_n'}, optional
        Cost scaling of the main run (default √n, option 2).
    pre_run_on : bool
        Run the pre-run (the 6th command-line argument).
    edc_proposals : int
        Proposals per EDC-search attempt.
    start : {'edinburgh', 'mdf'} or array_like
        How the chains find EDC-consistent starting points: the Edinburgh search
        (:func:`edc_search`; slow, its proposals have a standard deviation of 0.001), this
        library's search (:func:`mdf.start.find_start`), or given parameter vectors
        (chains, n_parameters) [model units].
    progress : callable, optional
        ``progress(phase, done, total, state)`` after each block of the pre-run and main run.

    Returns
    -------
    mdf.results.CalibrationResult
        The kept chains' last 100 states; ``result.postprocessing`` holds the Edinburgh
        diagnostics (see :func:`postprocess`) and ``result.converged`` its verdict.
    """
    from ..calibration import ConvergenceWarning, Run, default_settings
    from ..posterior import Problem
    from ..results import CalibrationResult

    n_total = int(1_000_000 if iterations is None else iterations)
    scaling = SCALING if scaling is None else scaling
    threads = threads or os.cpu_count() or 1
    problem = Problem(pixel, model, options=options, scaling=scaling, edc=edc, eqf=eqf)
    problem_n = Problem(pixel, model, options=options, scaling="n", edc=edc, eqf=eqf)
    written = Problem(pixel, model, options=options, scaling="none", edc=edc, eqf=eqf)
    rng = chain_states(0 if seed is None else int(seed), chains)
    if isinstance(start, str) and start == "edinburgh":
        x0, used = edc_search(problem, rng, proposals=edc_proposals, threads=threads)
    elif isinstance(start, str) and start == "mdf":
        from ..start import find_start

        x0, _, used = find_start(problem, rng, max_iter=edc_proposals, threads=threads)
    elif isinstance(start, str):
        raise ValueError(f"start must be 'edinburgh', 'mdf' or parameter vectors; got {start!r}")
    else:
        x0 = problem.space.to_normalised(np.broadcast_to(
            np.asarray(start, dtype=np.float64), (chains, problem.space.ndim)))
        used = np.zeros(chains, dtype=np.int64)
    log.info("EDC search: %s proposals", used.tolist())
    sampler = EdinburghAPMCMC()
    n_pre = int(round(PRE_FRACTION * n_total)) if pre_run_on else 0
    if n_pre > 0:
        state = pre_run(problem_n, problem, sampler, x0, rng, n_pre, threads=threads,
                        block=block, progress=progress)
    else:
        scratch = problem.scratch()
        lp0 = np.array([problem.log_posterior_x(x, scratch) for x in x0])
        state = sampler.init_state(problem, x0, lp0, rng)
    n_main = n_total - n_pre
    thin = max(1, n_total // STORED)
    sampler.reset_counters(state)  # acceptance of the main run
    xs, lps = main_run(problem, sampler, state, n_main, thin, threads=threads, block=block,
                       progress=progress)
    post = postprocess(written, xs, KEEP, RHAT_THRESHOLD, threads)
    kept = post["kept_chains"]
    settings = default_settings(
        problem.model.name, sampler="edinburgh", chains=chains, iterations=n_main,
        burn_in=n_pre, thin=thin, seed=0 if seed is None else int(seed), block=block,
        warm_start=False, scaling=scaling, edc=bool(edc), start_max_iter=edc_proposals,
    )
    run = Run(problem, settings, sampler)
    run.state = {k: v[kept] for k, v in state.items() if k != "done"}
    run.done_burn, run.done_sample = n_pre, n_main
    run.draws = post["draws"]
    run.lp = lps[kept][:, -post["draws"].shape[1]:]
    run.start_iterations = np.asarray(used)[kept]
    run.accept = sampler.acceptance(state)[kept]
    result = CalibrationResult.from_run(run, n_draws=draws, threads=threads)
    result.postprocessing = post
    result.converged = post["converged"]
    if not result.converged:
        warnings.warn(
            f"{pixel.attrs.get('pixel_id', 'pixel')}: Edinburgh convergence test failed "
            f"(PSRF of the log-likelihood {post['psrf_log_likelihood']:.3f} > "
            f"{RHAT_THRESHOLD} with chains {kept} kept)",
            ConvergenceWarning,
            stacklevel=3,
        )
    return result


__all__ = [
    "calibrate",
    "edc_search",
    "main_run",
    "postprocess",
    "pre_run",
    "prior_start",
    "psrf",
    "select_chains",
]
