"""Does a burn-in that goes on while log P rises (``max_burn_in``) help? Per FluxVal site.

Calibrates each given CARDAMOM-FluxVal site with the defaults and ``max_burn_in`` (one
thread, the pixel seed a batch run with ``--seed`` gives it), and beside it the same site with
the fixed default burn-in: either calibrated here too, or read from a run folder of the
defaults (``--baseline RUN``, e.g. the full FluxVal run; with ``max_burn_in`` at 0 the chains
are the same as before the option existed). Prints per site: burn-in and sampling iterations
per chain, CPU seconds, whether the targets were met, max R-hat and min bulk ESS, and the
ratios of iterations and of CPU seconds; then the totals. CPU seconds read from a batch
run's log are not measured as here (a batch lends a pixel idle workers' cores), so compare
iterations.

Usage::

    PYTHONPATH=. python benchmarks/burn_in.py 132 3 --max-burn-in 1000000 \
        --baseline RUN --log RUN.log   # RUN: dalec-mdf calibrate --pixels ... --out-dir RUN
"""

from __future__ import annotations

import argparse
import json
import re
import time
import warnings
from pathlib import Path

import numpy as np

import drivers
import mdf
from mdf.batch import pixel_seed

CBF = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fluxval" / "cbf"
BLOCK = re.compile(r"INFO (\S+) sampling (\d+)/")


def calibrate(site: str, model: str, seed: int, max_burn_in: int) -> dict:
    pid = f"flux_site_{site}"
    pixel = drivers.read(CBF / f"{pid}.cbf")
    pixel.attrs["pixel_id"] = pid
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        warnings.filterwarnings("ignore", message="model .* cannot simulate")  # ET for 400
        r = mdf.calibrate(pixel, model, seed=pixel_seed(seed, pid), threads=1,
                          max_burn_in=max_burn_in)
    s = r.summary()
    return dict(cpu=time.process_time() - t0, burn=r.burn_in_iterations,
                sampling=r.sampling_iterations, converged=bool(r.converged),
                rhat=s["max_rhat"], ess=s["min_ess_bulk"], p_sink=s["p_sink"])


def from_run(run: Path, site: str, logged: dict) -> dict:
    import xarray as xr

    pid = f"flux_site_{site}"
    path = run / "results" / f"{pid}.nc"
    with xr.open_dataset(path) as root:
        a = dict(root.attrs)
    with xr.open_dataset(path, group="diagnostics") as diag:
        rhat, ess = float(diag["rhat"].max()), float(diag["ess_bulk"].min())
    cpu, sampling = logged.get(pid, (float("nan"), None))
    return dict(cpu=cpu, burn=int(a.get("burn_in_iterations", a["setting_burn_in"])),
                sampling=int(a.get("sampling_iterations", 0)) or sampling,
                converged=bool(int(a["converged"])), rhat=rhat, ess=ess,
                p_sink=float(a["p_sink"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sites", nargs="+", help="FluxVal site numbers (flux_site_N.cbf)")
    parser.add_argument("--model", default="400")
    parser.add_argument("--seed", type=int, default=1, help="the batch run's --seed")
    parser.add_argument("--max-burn-in", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="run folder of the defaults to compare with (else run them here)")
    parser.add_argument("--log", type=Path, default=None,
                        help="that run's log, for its CPU seconds per pixel")
    parser.add_argument("--json", type=Path, default=None, help="append each row here")
    args = parser.parse_args()
    from run_convergence import DONE  # a sibling script: benchmarks/ is on sys.path

    logged, last = {}, {}  # pixel: (CPU s of a run from scratch, sampling iterations)
    if args.log is not None:
        for line in args.log.read_text().splitlines():
            m = BLOCK.search(line)
            if m:
                last[m.group(1)] = int(m.group(2))
            m = DONE.search(line)
            if m:
                logged[m.group(1)] = (float(m.group(2)), last.get(m.group(1)))
    print(f"DALEC {args.model}, seed {args.seed}, max_burn_in {args.max_burn_in}; baseline: "
          f"{args.baseline or 'fixed burn-in, run here'}")
    head = (f"{'site':>5} | {'burn-in':>8} {'sampling':>9} {'CPU s':>6} {'conv':>4} "
            f"{'R-hat':>6} {'ESS':>5}")
    print(f"{'':5} | {'fixed burn-in (baseline)':^42} | {'max_burn_in':^42} | ratio of")
    print(head + " |" + head[7:] + " | iter.  CPU")
    totals = np.zeros(2)
    iters = np.zeros(2)
    met = [0, 0]
    for site in args.sites:
        base = (from_run(args.baseline, site, logged) if args.baseline is not None
                else calibrate(site, args.model, args.seed, 0))
        new = calibrate(site, args.model, args.seed, args.max_burn_in)
        cells = []
        for k, r in enumerate((base, new)):
            sampling = "?" if r["sampling"] is None else f"{r['sampling']:,}"
            cells.append(f"{r['burn']:>8,} {sampling:>9} {r['cpu']:6.0f} "
                         f"{'yes' if r['converged'] else 'no':>4} {r['rhat']:6.3f} "
                         f"{r['ess']:5.0f}")
            totals[k] += r["cpu"]
            iters[k] += r["burn"] + (r["sampling"] or np.nan)
            met[k] += r["converged"]
        ratio = (new["burn"] + new["sampling"]) / (base["burn"] + (base["sampling"] or np.nan))
        print(f"{site:>5} | {cells[0]} | {cells[1]} | {ratio:5.2f} {new['cpu'] / base['cpu']:5.2f}",
              flush=True)
        if args.json is not None:
            with args.json.open("a") as fh:
                fh.write(json.dumps({"site": site, "baseline": base, "max_burn_in": new}) + "\n")
    n = len(args.sites)
    print(f"total: baseline {iters[0]:,.0f} iterations per chain, {totals[0]:.0f} CPU s, "
          f"{met[0]}/{n} converged; max_burn_in {iters[1]:,.0f}, {totals[1]:.0f} CPU s, "
          f"{met[1]}/{n} converged; ratios {iters[1] / iters[0]:.2f} (iterations), "
          f"{totals[1] / totals[0]:.2f} (CPU)")


if __name__ == "__main__":
    main()
