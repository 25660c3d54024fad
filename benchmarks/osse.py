"""Synthetic-truth recovery (OSSE) on CARDAMOM-FluxVal drivers.

For ``--pixels`` FluxVal sites: draw a known parameter vector from the prior the calibration
assumes (log-uniform box, the site's parameter priors, EDCs; :func:`prior_draw`), simulate the
site's observations from it with noise at the stated uncertainties (mdf.synthetic), calibrate,
and check (i) how often the 90 % credible interval of each parameter contains the truth and
(ii) how many of the noisy NEE observations fall inside the 90 % posterior predictive band of
NEE with observation noise added. Targets (issue): (i) >= 85 % of parameters overall;
(ii) 85-95 % of the noisy observations.

Run: ``python benchmarks/osse.py --pixels 20 --model 400 [--years 6] [--burn-in N --iterations N]``.
With ``--years Y`` each site's drivers are cut to the Y whole years with the most NEE
observations (cheaper runs; the default keeps the whole record). Calibrations use
``mdf.calibrate``'s defaults (run until R-hat <= 1.05 and bulk ESS >= 400) unless
``--iterations`` is given.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

import dalec
import drivers
import mdf
from mdf.posterior import Problem
from mdf.rng import chain_states
from mdf.samplers import AdaptiveMetropolis
from mdf.start import find_start
from mdf.synthetic import synthetic_pixel

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DALEC_MDF_SHARED", ROOT.parent / "shared"))
#: Metropolis iterations on the prior (box, parameter priors, EDCs) from the EDC start to the
#: truth
PRIOR_ITERATIONS = 20_000


def window(pixel, years):
    """The ``years`` whole years of ``pixel`` with the most finite NEE observations."""
    n = 12 * years
    if years <= 0 or pixel.sizes["time"] <= n:
        return pixel
    obs = np.isfinite(pixel["nbe_obs"].values) if "nbe_obs" in pixel else None
    starts = range(0, pixel.sizes["time"] - n + 1, 12)
    best = max(starts, key=lambda k: (obs[k:k + n].sum() if obs is not None else 0, -k))
    return pixel.isel(time=slice(best, best + n))


def prior_draw(pixel, model, seed, iterations=PRIOR_ITERATIONS):
    """A truth drawn from the prior the calibration assumes: the log-uniform box, the pixel's
    parameter priors and the EDCs, without observations or scalar constraints.

    The EDC start search stops at the first point that passes, on the edge of the EDC-
    consistent region, where a posterior would rarely put the truth inside its 90 % interval.
    So an adaptive Metropolis chain on that prior runs on from the start point and its final
    state is the truth.
    """
    lo, hi = dalec.get_model(model).bounds.T
    bare = synthetic_pixel(pixel, model, np.sqrt(lo * hi), None,
                           noise=False, streams=[])
    problem = Problem(bare, model)
    rng = chain_states(seed, 1)
    x0, lp0, _ = find_start(problem, rng)
    sampler = AdaptiveMetropolis()
    state = sampler.init_state(problem, x0, lp0, rng)
    sampler.run_block(problem, state, iterations, iterations, True, 1)
    return problem.space.from_normalised(state["x"][0])


def one_site(site, model, seed, calib, years=0):
    pixel = drivers.read(SHARED / "data" / "fluxval" / "cbf" / f"flux_site_{site}.cbf")
    pixel = window(pixel, years)
    problem = Problem(pixel, model)
    truth = prior_draw(pixel, model, [seed, site])
    rng = np.random.default_rng([seed, site])
    syn = synthetic_pixel(pixel, model, truth, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mdf.calibrate(syn, model, seed=seed, **calib)
    # phase parameters: compare on the circle (unwrap draws and truth together)
    pars = np.concatenate([res.parameters.reshape(-1, res.parameters.shape[2]), truth[None]])
    pars = problem.space.wrap_circular(pars)
    flat, truth_w = pars[:-1], pars[-1]
    lo, hi = np.quantile(flat, [0.05, 0.95], axis=0)
    inside = (truth_w >= lo) & (truth_w <= hi)
    # predictive coverage of the noisy NEE observations (model ensemble + obs noise sigma)
    obs = syn["nbe_obs"].values
    ok = np.isfinite(obs)
    nee = res.ensemble["nee"].values.reshape(-1, pixel.sizes["time"])[:, ok]
    sigma = 1.0 if "nbe_obs_unc" not in syn else np.nan_to_num(syn["nbe_obs_unc"].values[ok],
                                                                nan=1.0)
    noisy = nee + rng.standard_normal(nee.shape) * sigma
    plo, phi = np.quantile(noisy, [0.05, 0.95], axis=0)
    covered = (obs[ok] >= plo) & (obs[ok] <= phi)
    return inside, covered.mean(), res.summary()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixels", type=int, default=20)
    ap.add_argument("--model", default="400")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--burn-in", type=int, default=None)
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--years", type=int, default=0,
                    help="cut each site to this many years (0: all)")
    args = ap.parse_args(argv)
    sites = np.linspace(2, 204, args.pixels).astype(int)
    calib = {"threads": os.cpu_count() or 1}
    if args.burn_in:
        calib["burn_in"] = args.burn_in
    if args.iterations:
        calib["iterations"] = args.iterations
    all_inside = []
    coverages = []
    t0 = time.perf_counter()
    for site in sites:
        inside, cov, s = one_site(int(site), args.model, args.seed, calib, args.years)
        all_inside.append(inside)
        coverages.append(cov)
        print(f"site {site:3d}: parameters inside 90% CI {inside.mean():5.1%}, NEE predictive "
              f"coverage {cov:5.1%}, max R-hat {s['max_rhat']:.3f}, min ESS "
              f"{s['min_ess_bulk']:.0f}, converged {s['converged']}, "
              f"{time.perf_counter() - t0:.0f} s so far", flush=True)
    frac = np.concatenate(all_inside).mean()
    print(f"\n{len(sites)} pixels, {time.perf_counter() - t0:.0f} s: truth inside the 90% CI for "
          f"{frac:.1%} of parameters (target >= 85%); NEE 90% predictive band covers "
          f"{np.mean(coverages):.1%} of noisy observations (target 85-95%)")


if __name__ == "__main__":
    main()
