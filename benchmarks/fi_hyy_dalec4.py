"""FI-Hyy with DALEC.4, calibrated as in the Edinburgh tutorial, and scored on what it did not see.

The Edinburgh FI-Hyy site (bundled CSVs, 1999-2014 monthly) assimilates LAI, NEE, ET, wood
stocks and the initial soil-C prior with the Edinburgh cost function and 1/sqrt(n) scaling;
GPP and ecosystem respiration are observed at the tower but left out. This script runs

- ``--sampler demcz`` (default): :func:`mdf.calibrate` with the library's defaults (4 chains,
  run until R-hat <= 1.05 and bulk ESS >= 400) up to ``--iterations`` per chain;
- ``--sampler am``: the same with the corrected adaptive Metropolis (also until converged, up
  to ``--iterations``);
- ``--preset``: the Edinburgh procedure (``preset="edinburgh"``, ``--iterations`` proposals per
  chain),

and prints the iterations, wall and CPU time, max R-hat and min bulk ESS, and the posterior
median GPP and Reco against the tower's (bias, RMSE, r, and the coverage of the 90 % band of
the ensemble) [g C m-2 d-1].

Usage::

    PYTHONPATH=. python benchmarks/fi_hyy_dalec4.py [--iterations 600000] [--preset | --sampler am]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

import drivers
import mdf
from drivers.options import get_obs_options, set_obs_options
from mdf.validation import skill


def tutorial_pixel():
    """The bundled FI-Hyy pixel with GPP and Reco not assimilated (kept for scoring)."""
    pixel = drivers.read(drivers.data_path("fi-hyy"))
    for stream in ("gpp", "reco"):
        set_obs_options(pixel, stream, replace(get_obs_options(pixel, stream), assimilate=False))
    return pixel


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=600_000)
    ap.add_argument("--preset", action="store_true", help="the Edinburgh procedure")
    ap.add_argument("--sampler", default="demcz", choices=("demcz", "am"))
    ap.add_argument("--start", default="edinburgh", choices=("edinburgh", "mdf"),
                    help="with --preset: the Edinburgh EDC search (slow, as cardamom.exe's) "
                         "or this library's")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", default="out/fi_hyy_dalec4")
    ap.add_argument("--checkpoint", default=None,
                    help="checkpoint file: an interrupted run resumes from it (not with --preset)")
    args = ap.parse_args(argv)
    pixel = tutorial_pixel()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.preset:
            result = mdf.calibrate(pixel, "DALEC.4", preset="edinburgh", chains=4,
                                   iterations=args.iterations, seed=args.seed,
                                   preset_options={"start": args.start},
                                   threads=args.threads, checkpoint=args.checkpoint)
        else:
            result = mdf.calibrate(pixel, "DALEC.4", sampler=args.sampler, scaling="sqrt_n",
                                   seed=args.seed,
                                   threads=args.threads, iterations=args.iterations,
                                   until_converged=True, checkpoint=args.checkpoint)
    wall, core = time.perf_counter() - t0, time.process_time() - c0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    label = f"edinburgh-{args.start}-start" if args.preset else args.sampler
    result.to_netcdf(out / f"{label}.nc")
    s = result.summary()
    run = result._run
    print(f"FI-Hyy DALEC.4, {label}: burn-in {run.settings.burn_in} + sampled "
          f"{run.done_sample} iterations per chain; {wall:.0f} s wall, {core:.0f} s CPU; "
          f"max R-hat {s['max_rhat']:.3f}, min bulk ESS {s['min_ess_bulk']:.0f}, "
          f"converged {s['converged']}; P(NBE<0) {s['p_sink']:.2f}")
    post = getattr(result, "postprocessing", None)
    if post is not None:  # the Edinburgh verdict: PSRF of the unscaled log-likelihood < 1.2
        pp = np.asarray(post["psrf"])
        print(f"  Edinburgh test: PSRF of the log-likelihood {post['psrf_log_likelihood']:.3f}"
              f" (all chains {post['psrf_log_likelihood_all']:.3f}), chains kept "
              f"{list(post['kept_chains'])}; parameter PSRF median {np.median(pp):.2f}, max "
              f"{np.max(pp):.2f}, {int(np.sum(pp > 1.2))} of {pp.size} above 1.2")
    for stream in ("gpp", "reco"):
        obs = pixel[f"{stream}_obs"].values
        members = result.ensemble[stream].values.reshape(-1, obs.size)
        median = np.median(members, axis=0)
        lo, hi = np.quantile(members, [0.05, 0.95], axis=0)
        ok = np.isfinite(obs)
        sc = skill(median, obs)
        cover = np.mean((obs[ok] >= lo[ok]) & (obs[ok] <= hi[ok]))
        print(f"  {stream} (not assimilated), {sc['n']} months: observed mean "
              f"{np.mean(obs[ok]):.2f}, posterior median mean {np.mean(median[ok]):.2f}; "
              f"bias {sc['bias']:+.2f}, RMSE {sc['rmse']:.2f}, r {sc['r']:.2f}, "
              f"NSE {sc['nse']:.2f}, inside the 90% band {cover:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
