"""Cost of one log-posterior evaluation and of one sampler iteration, by part, against a
baseline revision measured in the same run.

Run: ``python benchmarks/evaluation.py [--model 400] [--sites 8] [--baseline REV]``.

On CARDAMOM-FluxVal sites (``--sites`` spread over the 204; only site 76 without
``../shared``), each from an EDC-consistent start (``mdf.start.find_start``, seed 1) moved by
20 000 ``demcz`` iterations of 4 chains, prints microseconds per

- forward run (the model kernel), post-run EDCs, likelihood and whole log-posterior
  evaluation, at the 4 chains' states, from compiled loops;
- ``demcz`` iteration over the next 20 000 iterations of the 4 chains on one thread (what a
  calibration's sampling costs, rejected proposals included).

With ``--baseline REV`` the same measurement runs first on a ``git worktree`` of revision REV
(its own numba cache), then on this checkout, and the table gives each figure's ratio
new/baseline. The machine may be shared: each figure is the best of several repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DALEC_MDF_SHARED", ROOT.parent / "shared"))
PARTS = ("kernel", "edc_post", "likelihood", "log_posterior", "demcz_iteration")


def _sites(n: int) -> list[int]:
    if not (SHARED / "data" / "fluxval" / "cbf").exists():
        return [76]
    return sorted({int(round(s)) for s in np.linspace(1, 204, n)})


def _pixel(site: int):
    import drivers

    path = SHARED / "data" / "fluxval" / "cbf" / f"flux_site_{site}.cbf"
    return drivers.read(path if path.exists() else drivers.data_path("flux_site_76.cbf"))


def _best(fn, reps: int, repeats: int = 5) -> float:
    """Seconds per repetition: the best of ``repeats`` timed calls of ``fn(reps)``."""
    fn(1)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn(reps)
        best = min(best, (time.perf_counter() - t) / reps)
    return best


def measure(model: str, sites: list[int]) -> dict:
    """Microseconds per part and site with the ``mdf``/``dalec`` found on ``sys.path``."""
    return {site: _measure_site(model, site) for site in sites}


def _measure_site(model: str, site: int) -> dict:
    from numba import njit

    from mdf.likelihood import _log_likelihood
    from mdf.posterior import Problem
    from mdf.rng import chain_states
    from mdf.samplers import get_sampler
    from mdf.start import find_start

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem = Problem(_pixel(site), model)
    rng = chain_states(1, 4)
    x0, lp0, _ = find_start(problem, rng)
    sampler = get_sampler("demcz")
    state = sampler.init_state(problem, x0.copy(), lp0.copy(), rng)
    sampler.run_block(problem, state, 20_000, 20_000, True, 1)
    X = np.ascontiguousarray(state["x"])
    P = np.array([problem.space.from_normalised(x) for x in X])
    scratch = problem.scratch()
    _, pools, fluxes, series, terms, flags = scratch
    kernel, post, lp = problem.model.kernel, problem.hooks.post, problem._log_posterior
    lik = problem.likelihood.arrays()

    @njit
    def run_kernel(reps, P, forcing, site_arr, pools, fluxes):
        for _ in range(reps):
            for i in range(P.shape[0]):
                kernel(forcing, site_arr, P[i], pools, fluxes)

    @njit
    def run_edc(reps, P, forcing, site_arr, pools, fluxes, data, flags):
        n = 0
        for i in range(P.shape[0]):
            kernel(forcing, site_arr, P[i], pools, fluxes)
            for _ in range(reps):
                n += post(P[i], pools, fluxes, data, flags, False)
        return n

    @njit
    def run_lik(reps, P, forcing, site_arr, pools, fluxes, lik, series, terms):
        s = 0.0
        for i in range(P.shape[0]):
            kernel(forcing, site_arr, P[i], pools, fluxes)
            for _ in range(reps):
                s += _log_likelihood(P[i], pools, fluxes, *lik, series, terms)
        return s

    @njit
    def run_lp(reps, X, ctx, scratch):
        s = 0.0
        for _ in range(reps):
            for i in range(X.shape[0]):
                s += lp(X[i], ctx, scratch)
        return s

    n = len(P)
    f, s_arr = problem.forcing, problem.site
    res = {
        "steps": problem.n_steps,
        "kernel": _best(lambda r: run_kernel(r, P, f, s_arr, pools, fluxes), 500) / n,
        "edc_post": _best(lambda r: run_edc(r, P, f, s_arr, pools, fluxes, problem.edc_data,
                                            flags), 2000) / n,
        "likelihood": _best(lambda r: run_lik(r, P, f, s_arr, pools, fluxes, lik, series,
                                              terms), 2000) / n,
        "log_posterior": _best(lambda r: run_lp(r, X, problem.ctx, scratch), 500) / n,
    }
    best = np.inf
    for _ in range(3):  # the same chains each time: a copy of the state
        st = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()}
        t = time.perf_counter()
        sampler.run_block(problem, st, 20_000, 20_000, False, 1)
        best = min(best, (time.perf_counter() - t) / (20_000 * 4))
    res["demcz_iteration"] = best
    return {k: (v * 1e6 if k in PARTS else v) for k, v in res.items()}


def _baseline(rev: str, model: str, sites: list[int]) -> dict:
    """:func:`measure` in a subprocess on a git worktree of ``rev``."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
                       check=True, capture_output=True)
        try:
            env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_CACHE_DIR=str(Path(tmp) / "nc"),
                       DALEC_MDF_SHARED=str(SHARED))
            code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import evaluation; "
                    "print(json.dumps(evaluation.measure(sys.argv[2], "
                    "[int(s) for s in sys.argv[3].split(',')])))")
            run = subprocess.run([sys.executable, "-c", code, str(ROOT / "benchmarks"), model,
                                  ",".join(map(str, sites))], env=env, cwd=tree, check=True,
                                 capture_output=True, text=True)
            return {int(k): v for k, v in json.loads(run.stdout.splitlines()[-1]).items()}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=False, capture_output=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="400")
    ap.add_argument("--sites", type=int, default=8, help="FluxVal sites (spread over 204)")
    ap.add_argument("--baseline", default=None, help="git revision to compare with")
    args = ap.parse_args(argv)
    sites = _sites(args.sites)
    base = _baseline(args.baseline, args.model, sites) if args.baseline else None
    new = measure(args.model, sites)
    print(f"DALEC {args.model}, microseconds per call"
          + (f"; in brackets: ratio to {args.baseline}" if base else ""))
    print(f"{'site':>5s} {'steps':>5s} " + " ".join(f"{p:>17s}" for p in PARTS))
    ratios = {p: [] for p in PARTS}
    for site in sites:
        cells = []
        for p in PARTS:
            v = new[site][p]
            if base:
                ratios[p].append(v / base[site][p])
                cells.append(f"{v:8.2f} ({ratios[p][-1]:5.2f})")
            else:
                cells.append(f"{v:17.2f}")
        print(f"{site:5d} {new[site]['steps']:5d} " + " ".join(f"{c:>17s}" for c in cells))
    if base:
        print(f"{'geometric mean ratio':>11s} "
              + " ".join(f"{np.exp(np.mean(np.log(ratios[p]))):17.2f}" for p in PARTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
