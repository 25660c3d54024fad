"""Real sites calibrated with the library's defaults: iterations, time and skill on withheld months.

For each CARDAMOM-FluxVal site (``../shared/data/fluxval/cbf/flux_site_<n>.cbf``; site 76,
FI-Hyy, is bundled) this runs :func:`mdf.calibrate` exactly as a user would, with no settings
but the seed (4 chains, ``demcz``, run until every parameter and the log-posterior reach
R-hat <= 1.05 and bulk ESS >= 400), and prints one row per site: the iterations each chain
took (start search and CMA-ES warm start excluded, which are a few per cent), wall and process
CPU seconds, max R-hat, min bulk ESS. Then it scores the withheld months
(``fluxval/validation/validation_<site>.csv``) for NEE and GPP: Nash-Sutcliffe efficiency,
Pearson r, RMSE, bias [g C m-2 d-1], the coverage of the 5-95 % posterior predictive band
(ensemble plus observation noise at the stated uncertainty) and of the ensemble's own band,
beside the training-period climatology of the same calendar months. ``--rescore`` scores
result files already written instead of calibrating.

Usage::

    PYTHONPATH=. python benchmarks/real_sites.py [--sites 76 83 14 3] [--model 400]
        [--out out/real_sites]

Results are written as ``<out>/<site>_<model>.nc``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import warnings
from pathlib import Path

import drivers
import mdf
from drivers.validation import read_validation
from mdf.validation import score_withheld

ROOT = Path(__file__).resolve().parents[1]
FLUXVAL = ROOT.parent / "shared" / "data" / "fluxval"
BUNDLED_VALIDATION = ROOT / "tests" / "data" / "validation_FI-Hyy.csv"


def site_files(n: int) -> tuple[Path, Path, str, str]:
    """CBF, validation CSV, FLUXNET name and land-cover class of FluxVal site ``n``."""
    sites = list(csv.DictReader(open(drivers.data_path("fluxnet_sites.csv"))))
    name, lc = sites[n - 1]["Flux_name"], sites[n - 1]["LC"]
    cbf = FLUXVAL / "cbf" / f"flux_site_{n}.cbf"
    val = FLUXVAL / "validation" / f"validation_{name}.csv"
    if n == 76 and not cbf.exists():
        cbf, val = drivers.data_path("flux_site_76.cbf"), BUNDLED_VALIDATION
    return cbf, val, name, lc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", nargs="+", type=int, default=[76, 83, 14, 3])
    ap.add_argument("--model", default="400")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", default="out/real_sites")
    ap.add_argument("--rescore", action="store_true",
                    help="score <out>/<site>_<model>.nc files already written")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, scores = [], []
    for n in args.sites:
        cbf, val, name, lc = site_files(n)
        if not cbf.exists():
            print(f"site {n}: {cbf} not found (needs ../shared/data/fluxval)", file=sys.stderr)
            continue
        pixel = drivers.read(cbf)
        if args.rescore:
            from mdf.validate_run import _load

            if val.exists():
                scored = score_withheld(_load(out / f"{n}_{args.model}.nc"), read_validation(val))
                scores += [(n, name, v, sc["model"], sc["baseline"] or {})
                           for v, sc in scored.items() if v in ("nee", "gpp")]
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # streams the model cannot simulate; convergence
            result = mdf.calibrate(pixel, args.model, seed=args.seed, threads=args.threads)
        wall, core = time.perf_counter() - t0, time.process_time() - c0
        result.to_netcdf(out / f"{n}_{args.model}.nc")
        run = result._run
        s = result.summary()
        rows.append((n, name, lc, run.settings.burn_in, run.done_sample, run.first_kept,
                     wall, core, s["max_rhat"], s["min_ess_bulk"], s["converged"]))
        print(f"{n:>4} {name:<7} {lc:<4} burn-in {run.settings.burn_in} + sampled "
              f"{run.done_sample} per chain ({'all' if run.first_kept == 0 else 'later half'} "
              f"kept): {wall:.0f} s wall, {core:.0f} s CPU; max R-hat {s['max_rhat']:.3f}, "
              f"min ESS {s['min_ess_bulk']:.0f}, converged {s['converged']}", flush=True)
        if val.exists():
            for var, sc in score_withheld(result, read_validation(val)).items():
                if var not in ("nee", "gpp"):
                    continue
                m, b = sc["model"], sc["baseline"] or {}
                scores.append((n, name, var, m, b))
    print()
    print(f"{'site':>4} {'name':<7} {'lc':<4} {'iter/chain':>10} {'wall_s':>7} {'core_s':>7} "
          f"{'max_rhat':>8} {'min_ess':>7} conv")
    for n, name, lc, burn, sampled, _first, wall, core, rh, ess, conv in rows:
        print(f"{n:>4} {name:<7} {lc:<4} {burn + sampled:>10} {wall:>7.0f} {core:>7.0f} "
              f"{rh:>8.3f} {ess:>7.0f} {'yes' if conv else 'no'}")
    print()
    print("withheld months: model (posterior median; coverage of the 90% predictive band and "
          "of the ensemble's own band) | climatology baseline")
    print(f"{'site':>4} {'name':<7} {'var':<4} {'n':>3} {'NSE':>6} {'r':>6} {'RMSE':>6} "
          f"{'bias':>6} {'cov90':>6} {'ens90':>6} | {'NSE':>6} {'r':>6} {'RMSE':>6} {'bias':>6}")
    for n, name, var, m, b in scores:
        print(f"{n:>4} {name:<7} {var:<4} {m['n']:>3} {m['nse']:>6.2f} {m['r']:>6.2f} "
              f"{m['rmse']:>6.2f} {m['bias']:>6.2f} {m['coverage90']:>6.2f} "
              f"{m['coverage90_model']:>6.2f} | "
              f"{b.get('nse', float('nan')):>6.2f} {b.get('r', float('nan')):>6.2f} "
              f"{b.get('rmse', float('nan')):>6.2f} {b.get('bias', float('nan')):>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
