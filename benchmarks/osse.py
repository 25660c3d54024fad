"""Synthetic-truth recovery (OSSE) on CARDAMOM-FluxVal drivers.

For ``--pixels`` FluxVal sites: draw a known, EDC-consistent parameter vector, simulate the
site's observations from it with noise at the stated uncertainties (mdf.synthetic), calibrate,
and check (i) how often the 90 % credible interval of each parameter contains the truth and
(ii) how many of the noisy NEE observations fall inside the 90 % posterior predictive band of
NEE with observation noise added. Targets (issue): (i) >= 85 % of parameters overall;
(ii) 85-95 % of the noisy observations.

Run: ``python benchmarks/osse.py --pixels 20 --model 400 [--burn-in N --iterations N]``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

import drivers
import mdf
from mdf.posterior import Problem
from mdf.rng import chain_states
from mdf.start import find_start
from mdf.synthetic import synthetic_pixel

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DALEC_MDF_SHARED", ROOT.parent / "shared"))


def one_site(site, model, seed, calib):
    pixel = drivers.read(SHARED / "data" / "fluxval" / "cbf" / f"flux_site_{site}.cbf")
    problem = Problem(pixel, model)
    x0, _, _ = find_start(problem, chain_states([seed, site], 1))
    truth = problem.space.from_normalised(x0[0])
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
        inside, cov, s = one_site(int(site), args.model, args.seed, calib)
        all_inside.append(inside)
        coverages.append(cov)
        print(f"site {site:3d}: parameters inside 90% CI {inside.mean():5.1%}, NEE predictive "
              f"coverage {cov:5.1%}, max R-hat {s['max_rhat']:.2f}, converged {s['converged']}",
              flush=True)
    frac = np.concatenate(all_inside).mean()
    print(f"\n{len(sites)} pixels, {time.perf_counter() - t0:.0f} s: truth inside the 90% CI for "
          f"{frac:.1%} of parameters (target >= 85%); NEE 90% predictive band covers "
          f"{np.mean(coverages):.1%} of noisy observations (target 85-95%)")


if __name__ == "__main__":
    main()
