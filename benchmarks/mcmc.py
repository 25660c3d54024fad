"""Sampler speed and time to convergence on a 192-month CARDAMOM-FluxVal site.

Run: ``python benchmarks/mcmc.py [--site 76] [--budget 600] [--models 400,811,C1,DALEC.4]``.
Prints, for DALEC 400 and 811 (by default) on the FluxVal site, and for the Edinburgh models
DALEC.C1 and DALEC.4 on cardamom.exe's own inputs (``c1_BR-Sa1.bin``, ``d4_FI-Hyy.bin`` from
``../shared``; without it the bundled FI-Hyy CSVs):

1. per sampler (demcz, am, cardamom, emcee): iterations (log-posterior evaluations) per second
   on one core, and the ratio of the time per iteration to a bare forward run and to one
   log-posterior evaluation (priors + EDCs + model + likelihood) measured in the same run;
2. per sampler: wall time and core-seconds of ``mdf.calibrate`` with 4 chains (emcee: 2d+2
   walkers) run until R-hat <= 1.05 and bulk ESS >= 400 on every parameter and log P, or
   until the sampling iterations that ``--budget`` core-seconds buy are spent.

Reference figures (not measured here): CARDAMOM's C sampler does about 17 µs per iteration for
a 72-step DALEC 400 run on this class of machine; the Edinburgh ``cardamom.exe`` about 26,500
DALEC.C1 and 1,540 DALEC.4 proposals per second per core (``gcel/timings.txt``); FluxVal's
published runs used 4 chains x 1e8 iterations, 2-5 hours per chain per site.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from numba import njit

import drivers
import mdf
from mdf.posterior import Problem
from mdf.rng import chain_states
from mdf.samplers import get_sampler
from mdf.start import find_start

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gcel import CARDAMOM_INPUT, CARDAMOM_RATE, edinburgh_pixel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DALEC_MDF_SHARED", ROOT.parent / "shared"))


def site_path(site: int) -> Path:
    shared = SHARED / "data" / "fluxval" / "cbf" / f"flux_site_{site}.cbf"
    if shared.exists():
        return shared
    if site == 76:
        return drivers.data_path("flux_site_76.cbf")
    sys.exit(f"no {shared} (and only site 76 is bundled)")


def pixel_for(model: str, site: int):
    """The FluxVal site for the JPL models; cardamom.exe's input for the Edinburgh ones."""
    if model not in CARDAMOM_INPUT:
        return drivers.read(site_path(site)), f"FluxVal site {site}"
    return edinburgh_pixel(model)


def per_evaluation_us(problem, x, n=5000):
    """Microseconds per forward run and per log-posterior evaluation (jitted loops)."""
    kernel = problem.model.kernel
    lp = problem._log_posterior

    @njit
    def loop_lp(x, ctx, scratch, n):
        s = 0.0
        for _ in range(n):
            s += lp(x, ctx, scratch)
        return s

    @njit
    def loop_k(f, site, p, pools, fluxes, n):
        for _ in range(n):
            kernel(f, site, p, pools, fluxes)

    scratch = problem.scratch()
    pars = problem.space.from_normalised(x)
    loop_lp(x, problem.ctx, scratch, 5)
    loop_k(problem.forcing, problem.site, pars, scratch[1], scratch[2], 5)
    best_lp = best_k = np.inf
    for _ in range(3):
        t = time.perf_counter()
        loop_lp(x, problem.ctx, scratch, n)
        best_lp = min(best_lp, (time.perf_counter() - t) / n)
        t = time.perf_counter()
        loop_k(problem.forcing, problem.site, pars, scratch[1], scratch[2], n)
        best_k = min(best_k, (time.perf_counter() - t) / n)
    return best_k * 1e6, best_lp * 1e6


def sampler_us(problem, name, x0, lp0, n_iter):
    """Microseconds per iteration of one chain of ``name`` on one thread (after compile)."""
    sampler = get_sampler(name)
    rng = chain_states(0, 1)
    state = sampler.init_state(problem, x0[:1].copy(), lp0[:1].copy(), rng)
    sampler.run_block(problem, state, 200, 200, True, 1)  # compile
    t = time.perf_counter()
    sampler.run_block(problem, state, n_iter, n_iter, False, 1)
    per_iter = (time.perf_counter() - t) / n_iter
    walkers = state["x"].shape[1] if state["x"].ndim == 3 else 1
    return per_iter / walkers * 1e6


def to_convergence(pixel, model, sampler, max_iterations, threads):
    """``mdf.calibrate`` run until converged (R-hat <= 1.05, bulk ESS >= 400 for every
    parameter and log P, tested after every block) or ``max_iterations`` per chain."""
    t = time.perf_counter()
    c0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mdf.calibrate(pixel, model, sampler=sampler, seed=1, threads=threads, draws=100,
                            iterations=max_iterations, until_converged=True)
    wall = time.perf_counter() - t
    core = time.process_time() - c0
    s = res.summary()
    run = res._run
    return run.settings.burn_in, run.done_sample, wall, core, s["max_rhat"], s["min_ess_bulk"], \
        res.converged


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", type=int, default=76)
    ap.add_argument("--budget", type=float, default=600.0,
                    help="most core-seconds of sampling per (model, sampler)")
    ap.add_argument("--models", default="400,811")
    ap.add_argument("--samplers", default="demcz,am,cardamom,emcee")
    ap.add_argument("--skip-convergence", action="store_true")
    args = ap.parse_args(argv)
    threads = os.cpu_count() or 1
    print(f"{threads} cores")
    for model in args.models.split(","):
        pixel, label = pixel_for(model, args.site)
        problem = Problem(pixel, model)
        rng = chain_states(0, 1)
        x0, lp0, _ = find_start(problem, rng)
        fwd, lpe = per_evaluation_us(problem, x0[0])
        print(f"\nDALEC {model} on {label} ({pixel.sizes['time']} steps): forward run "
              f"{fwd:.1f} us, log-posterior evaluation {lpe:.1f} us (ratio {lpe / fwd:.2f})"
              + (f"; cardamom.exe {CARDAMOM_RATE[model]:.0f} proposals/s"
                 if model in CARDAMOM_RATE else ""))
        print(f"{'sampler':9s} {'us/iter':>8s} {'iter/s/core':>12s} {'/forward':>9s} "
              f"{'/logpost':>9s}")
        speed = {}
        for name in args.samplers.split(","):
            n_iter = 20_000 if name != "emcee" else 400
            us = speed[name] = sampler_us(problem, name, x0, lp0, n_iter)
            print(f"{name:9s} {us:8.1f} {1e6 / us:12.0f} {us / fwd:9.2f} {us / lpe:9.2f}")
        if args.skip_convergence:
            continue
        print(f"{'sampler':9s} {'burn-in':>8s} {'sampled':>9s} {'wall s':>7s} {'core s':>7s} "
              f"{'max R-hat':>9s} {'min ESS':>8s} converged")
        for name in args.samplers.split(","):
            chains = 4 if name != "emcee" else 2 * problem.space.ndim + 2
            most = int(args.budget / (speed[name] * 1e-6) / chains)
            most = max(20_000, most - most % 20_000) if name != "emcee" else max(1000, most)
            burn, done, wall, core, rh, ess, ok = to_convergence(pixel, model, name, most,
                                                                 threads)
            print(f"{name:9s} {burn:8d} {done:9d} {wall:7.1f} {core:7.1f} {rh:9.3f} "
                  f"{ess:8.0f} {ok}", flush=True)


if __name__ == "__main__":
    main()
