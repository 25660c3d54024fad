"""How long do real pixels take to converge? Evaluations, wall and core seconds to R-hat/ESS.

For each site, model and sampler strategy this runs the calibration pipeline (EDC start search,
optional CMA-ES warm start, windowed adaptive burn-in with rescue, then sampling blocks) and
after every sampling block computes the rank-normalised split R-hat and bulk ESS of every
parameter (phases wrapped) and of the log-posterior, over all kept draws and, failing that,
over their later half (the first half then counts as extended warm-up). It stops when either
meets the targets (default R-hat <= 1.05 and bulk ESS >= 400 for every quantity) or at the
budget, and prints one row::

    site model strategy chains evals/chain wall_s core_s max_rhat min_ess worst conv draws

``evals/chain`` counts every log-posterior evaluation of one chain (start search, warm start,
burn-in and sampling), ``core_s`` the process CPU time (all threads), ``draws`` which draws
passed (``all`` or ``half``). With ``-v`` the progress of every check is logged and the trace
(evaluations, max R-hat, min ESS) printed. Sites are FluxVal ``cbf/flux_site_<n>.cbf`` files
under ``../shared/data/fluxval`` (FI-Hyy is 76; location_fluxnet.csv row n is site n).

Usage::

    PYTHONPATH=. python benchmarks/convergence.py --sites 76 83 14 3 --models 400 811 \
        --strategies am demcz --budget 3e6

Strategies are named in ``STRATEGIES`` below; ``name:key=value,...`` changes a
:class:`Strategy` field or a sampler argument (``demcz:burn_in=75000,p_snooker=0.2``). The
pipeline mirrors :func:`mdf.calibrate` but checks convergence as it goes; ``WindowedAM`` is a
prototype of a change recommended for :mod:`mdf.samplers.am`.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import drivers
from mdf.calibration import _window_length as window_length
from mdf.diagnostics import summarise
from mdf.optimise import climb
from mdf.posterior import Problem
from mdf.rng import chain_states
from mdf.samplers.am import _HASCHOL, _NCOV, AdaptiveMetropolis, restart_adaptation
from mdf.samplers.demcz import DEMCz
from mdf.start import find_start

log = logging.getLogger("convergence")

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fluxval"


@dataclass
class Strategy:
    """One way of running a calibration."""

    sampler: object
    chains: int = 4
    warm_start_evals: int = 60_000  # 0: no CMA-ES warm start
    burn_in: int = 400_000
    block: int = 20_000
    rescue: bool = True
    check_every: int = 0  # sampling iterations between diagnostics (0: the command line's)
    options: dict = field(default_factory=dict)


class WindowedAM(AdaptiveMetropolis):
    """``am`` with Stan-style windows: the proposal covariance is fixed within a burn-in window
    and replaced at the window's end by the covariance of all of that window's states (the
    chain's own, or pooled over chains with ``pool=True``); ``ln λ`` restarts at
    ``ln(2.38²/d)`` then and adapts within the window (Robbins-Monro, as ``am``).

    A prototype of the change recommended for :class:`mdf.samplers.am.AdaptiveMetropolis`
    (its kernel refits the covariance every ``adapt_every`` iterations from the states of the
    current window only, i.e. from ~50-100 strongly autocorrelated states at each window's
    start, which shrinks the proposal to the chain's recent neighbourhood).
    """

    def __init__(self, pool: bool = False, reset_scale: bool = True, restart_windows: int = -1,
                 **kwargs):
        super().__init__(adapt_every=1 << 62, **kwargs)
        self.pool = bool(pool)
        self.reset_scale = bool(reset_scale)
        self.restart_windows = int(restart_windows)
        self._windows = 0

    def end_window(self, state: dict, final: bool) -> None:
        if final:  # keep the last window's proposal and its adapted scale for sampling
            return
        self._windows += 1
        c, d = state["x"].shape
        n = state["counts"][:, _NCOV].astype(float)
        m2 = np.tril(state["m2"])
        m2 = m2 + np.transpose(np.tril(m2, -1), (0, 2, 1))
        covs = [m2[k] / (n[k] - 1) if n[k] > 2 * d else None for k in range(c)]
        if self.pool and n.min() > 2 * d:
            grand = (n[:, None] * state["mean"]).sum(0) / n.sum()
            dev = state["mean"] - grand
            total = m2.sum(0) + np.einsum("k,ki,kj->ij", n, dev, dev)
            covs = [total / (n.sum() - 1)] * c
        for k in range(c):
            if covs[k] is None:
                continue
            try:
                state["chol"][k] = np.linalg.cholesky(covs[k] + 1e-14 * np.eye(d))
            except np.linalg.LinAlgError:
                continue
            state["counts"][k, _HASCHOL] = 1
            if self.reset_scale:
                state["log_scale"][k] = math.log(2.38**2 / d)
        # restart_windows >= 0: statistics accumulate (over all later windows) after that many
        if self.restart_windows < 0 or self._windows <= self.restart_windows:
            restart_adaptation(state)


STRATEGIES = {
    # the current default pipeline (mdf.calibrate with sampler="am")
    "am": lambda: Strategy(AdaptiveMetropolis()),
    "am-win": lambda: Strategy(WindowedAM()),
    "am-win-pool": lambda: Strategy(WindowedAM(pool=True)),
    # pooled over chains, accumulated over every window after the sixth (~50k iterations)
    "am-pool-long": lambda: Strategy(WindowedAM(pool=True, restart_windows=6), burn_in=150_000),
    "demcz": lambda: Strategy(DEMCz(), burn_in=150_000),
    "demcz-frozen": lambda: Strategy(DEMCz(grow_in_sampling=False), burn_in=150_000),
    "demcz-sub": lambda: Strategy(DEMCz(crossover=(1 / 3, 2 / 3, 1.0)), burn_in=150_000),
}


def parse_strategy(spec: str) -> Strategy:
    """``name[:key=value,...]``: a named strategy with changed fields; keys that are not
    :class:`Strategy` fields go to the sampler's constructor (``demcz:p_unit=0.2,chains=8``)."""
    name, _, rest = spec.partition(":")
    strategy = STRATEGIES[name]()
    if not rest:
        return strategy
    fields = set(Strategy.__dataclass_fields__)
    sampler_kwargs = {}
    for item in re.split(r",(?![^()]*\))", rest):  # commas inside (...) belong to tuples
        key, _, value = item.partition("=")
        value = eval(value, {}, {})  # numbers and tuples from the command line
        if key in fields:
            setattr(strategy, key, value)
        else:
            sampler_kwargs[key] = value
    if sampler_kwargs:
        base = strategy.sampler
        kwargs = {k: v for k, v in vars(base).items() if not k.startswith("_")}
        if isinstance(base, WindowedAM):
            kwargs.pop("adapt_every", None)
        strategy.sampler = type(base)(**{**kwargs, **sampler_kwargs})
    return strategy


_STARTS: dict = {}


def _start(problem, strategy: Strategy, seed: int, threads: int):
    """EDC start search and warm start, memoised per problem and settings in this process."""
    key = (id(problem), strategy.chains, strategy.warm_start_evals, seed)
    if key not in _STARTS:
        t0, c0 = time.perf_counter(), time.process_time()
        rng = chain_states(seed, strategy.chains)
        x0, lp0, used = find_start(problem, rng, threads=threads)
        evals = used.astype(float) + 1
        covs = None
        if strategy.warm_start_evals:
            covs, cma = climb(problem, x0, lp0, rng, max_evals=strategy.warm_start_evals,
                              threads=threads)
            evals += cma
        cost = (time.perf_counter() - t0, time.process_time() - c0)
        _STARTS[key] = (x0, lp0, rng, covs, evals, cost)
    x0, lp0, rng, covs, evals, cost = _STARTS[key]
    return x0.copy(), lp0.copy(), rng.copy(), covs, evals.copy(), cost


def _diagnose(problem, x, lp, keep):
    """R-hat and bulk ESS of every parameter (phases wrapped) and of log P, on at most
    ``keep`` draws per chain."""
    step = max(1, x.shape[1] // keep)
    pars = problem.space.wrap_circular(problem.space.from_normalised(x[:, ::step]))
    return summarise(np.concatenate([pars, lp[:, ::step, None]], axis=2),
                     problem.model.parameter_names + ["log_posterior"])


def _evaluations(samp, state, iterations):
    """Log-posterior evaluations per chain in burn-in and sampling."""
    if hasattr(samp, "evaluations"):
        return samp.evaluations(state).astype(float)
    return np.full(state["x"].shape[0], float(iterations))


def calibrate_until(problem, strategy: Strategy, *, seed: int, budget: int, threads: int,
                    target_rhat: float = 1.05, target_ess: float = 400.0,
                    check_every: int = 50_000, keep: int = 4000):
    """Run ``strategy`` until every quantity meets the targets or a chain has used ``budget``
    evaluations. Returns a dict of measurements."""
    s = strategy
    samp = s.sampler
    check_every = s.check_every or check_every
    x0, lp0, rng, covs, evals, (wall0, core0) = _start(problem, s, seed, threads)
    t0, c0 = time.perf_counter() - wall0, time.process_time() - core0
    state = samp.init_state(problem, x0, lp0, rng)
    if covs is not None and hasattr(samp, "set_covariance"):
        samp.set_covariance(state, covs)
    done = 0
    while done < s.burn_in:
        n = min(window_length(done, s.block), s.burn_in - done)
        samp.run_block(problem, state, n, n, True, threads)
        done += n
        samp.end_window(state, final=done >= s.burn_in)
        if s.rescue and done <= 0.75 * s.burn_in:
            samp.rescue(state)
    log.info("burn-in done: log P %s", np.round(state["lp"].ravel(), 1).tolist())
    samp.reset_counters(state)
    draws, lps, trace = [], [], []
    sampled = 0
    thin = max(1, check_every // 1000)
    diag = None
    while True:
        x, lp = samp.run_block(problem, state, check_every, thin, False, threads)
        draws.append(x)
        lps.append(lp)
        sampled += check_every
        allx = np.concatenate(draws, axis=1)
        alllp = np.concatenate(lps, axis=1)
        # all kept draws, else the later half (the first half counted as extended warm-up)
        for window in ("all", "half"):
            first = 0 if window == "all" else allx.shape[1] // 2
            diag = _diagnose(problem, allx[:, first:], alllp[:, first:], keep)
            max_rhat = float(np.nanmax(diag["rhat"]))
            min_ess = float(np.nanmin(diag["ess_bulk"]))
            converged = max_rhat <= target_rhat and min_ess >= target_ess
            if converged:
                break
        log.info("sampled %d: max R-hat %.3f, min ESS %.0f (%s), acceptance %s", sampled,
                 max_rhat, min_ess, window, np.round(samp.acceptance(state), 3).tolist())
        used = evals + _evaluations(samp, state, s.burn_in + sampled)
        trace.append((float(used.mean()), round(max_rhat, 3), round(min_ess), window))
        if converged or used.max() >= budget:
            break
    evals = used
    worst = int(np.nanargmax(diag["rhat"]))
    return {
        "evals": float(evals.mean()),
        "burn_in": s.burn_in,
        "sampled": sampled,
        "wall_s": time.perf_counter() - t0,
        "core_s": time.process_time() - c0,
        "max_rhat": max_rhat,
        "min_ess": min_ess,
        "worst": diag["names"][worst],
        "converged": converged,
        "window": window,
        "lp_chain_means": np.round(alllp.mean(axis=1), 1).tolist(),
        "trace": trace,
        "draws": allx,
        "lp": alllp,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", nargs="+", default=["76"])
    ap.add_argument("--models", nargs="+", default=["400"])
    ap.add_argument("--strategies", nargs="+", default=["am"],
                    help=f"name[:key=value,...] with name in {sorted(STRATEGIES)}")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget", type=float, default=2e6,
                    help="most log-posterior evaluations per chain")
    ap.add_argument("--burn-in", type=int, default=None)
    ap.add_argument("--chains", type=int, default=None)
    ap.add_argument("--check-every", type=int, default=50_000)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--save", default=None, help="folder for the draws (.npz)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(relativeCreated)8.0f %(message)s")
    warnings.simplefilter("ignore")  # observation streams a model cannot simulate
    print(f"{'site':>5} {'model':>5} {'strategy':<30} {'chains':>6} {'evals/chain':>12} "
          f"{'wall_s':>7} {'core_s':>7} {'max_rhat':>8} {'min_ess':>7} {'worst':<14} conv "
          "draws",
          flush=True)
    for site in args.sites:
        pixel = drivers.read(DATA / "cbf" / f"flux_site_{site}.cbf")
        for model in args.models:
            problem = Problem(pixel, model)
            for name in args.strategies:
                strategy = parse_strategy(name)
                if args.burn_in is not None:
                    strategy.burn_in = args.burn_in
                if args.chains is not None:
                    strategy.chains = args.chains
                r = calibrate_until(problem, strategy, seed=args.seed, budget=int(args.budget),
                                    threads=args.threads, check_every=args.check_every)
                print(f"{site:>5} {model:>5} {name:<30} {strategy.chains:>6} "
                      f"{r['evals']:>12.3g} {r['wall_s']:>7.1f} {r['core_s']:>7.1f} "
                      f"{r['max_rhat']:>8.3f} {r['min_ess']:>7.0f} {r['worst']:<14} "
                      f"{'yes' if r['converged'] else 'no':<4} {r['window']}", flush=True)
                log.warning("trace (evals/chain, max R-hat, min ESS): %s", r["trace"])
                if args.save:
                    Path(args.save).mkdir(parents=True, exist_ok=True)
                    stem = re.sub(r"[^\w.=-]+", "_", f"{site}_{model}_{name}_{args.seed}")
                    np.savez(Path(args.save) / f"{stem}.npz", draws=r["draws"], lp=r["lp"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
