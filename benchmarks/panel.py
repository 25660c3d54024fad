"""The convergence panel: every sampler candidate against today's default on fixed FluxVal sites.

For each (strategy, site) this runs :func:`mdf.calibrate` on one thread, exactly as a user
would (the strategy is a set of its keyword arguments), and records:

- ``evals``: log-posterior evaluations of all chains together: the EDC start searches and
  the CMA-ES warm starts of every start (counted by wrapping them), burn-in and sampling
  (``chains x iterations``; a multi-temperature sampler counts every replica);
- ``cpu_s``: process CPU seconds of the whole call (start search to flux ensemble);
- ``converged``, ``max_rhat``, ``min_ess`` and ``worst``: the library's targets (rank-normalised
  split R-hat <= 1.05 and bulk ESS >= 400 for every parameter, phases wrapped, and log P);
- ``ess_per_1e6``: the smallest bulk ESS per million evaluations (statistical efficiency of
  the worst quantity, the figure a candidate has to raise);
- ``cardamom_psrf``: CARDAMOM's own test for comparison with published runs: the classic
  Gelman-Rubin PSRF of the log-posterior over the last 10 % of each chain's kept draws
  (passed when < 1.2; Edinburgh CARDAMOM applies it to the log-likelihood, which differs
  from log P by the prior, constant inside the box for these files).

Each finished pair is written to ``RUN/<strategy>/<site>.json`` (``<strategy>@seed<n>``
for seeds other than 1) (and its kept draws to
``<site>.npz``) atomically, so a killed panel resumes where it stopped and runs over
several sessions add up. ``--table`` prints the comparison table of what is there.

Usage::

    PYTHONPATH=. python benchmarks/panel.py RUN --strategies default --quick --workers 2
    PYTHONPATH=. python benchmarks/panel.py RUN --table

Sites are ``../shared/data/fluxval/cbf/flux_site_<n>.cbf`` (row n of
``location_fluxnet.csv``). The panel, and why each site is in it, is ``PANEL`` below.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DALEC_MDF_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data" / "fluxval"

#: (site, IGBP class, why). Sites that ran to the 4-million cap in the full FluxVal run of
#: DALEC 400 (seed 1) or converged only after a climb or very slowly, as documented in
#: docs/samplers.md and docs/verification.md, and converged sites of every land cover.
PANEL = (
    (10, "GRA", "cap; c_wood_0 drifted 10^2.1 -> 10^1.2 in all chains"),
    (39, "OSH", "cap; log P climbed ~1 per window through sampling"),
    (51, "WET", "cap; log P rose during sampling"),
    (64, "CRO", "cap; log P rose during sampling"),
    (82, "EBF", "cap (FR-Pue)"),
    (118, "GRA", "cap; adapted jump scales 5-20x below DE's"),
    (132, "CRO", "cap; log P rose during sampling"),
    (202, "ENF", "cap; log P rose during sampling"),
    (204, "DBF", "cap (throughput set)"),
    (1, "MF", "converged slowly (3.88 M iterations)"),
    (69, "CRO", "converged slowly (3.52 M iterations)"),
    (167, "ENF", "converged, lost with max_burn_in"),
    (134, "CRO", "converged after a climb of 66"),
    (3, "GRA", "converged (AT-Neu)"),
    (5, "SAV", "every-ninth set"),
    (14, "WSA", "converged (AU-How)"),
    (28, "ENF", "converged"),
    (58, "GRA", "converged (DE-Gri)"),
    (59, "DBF", "converged"),
    (66, "WET", "wetland"),
    (76, "ENF", "converged (FI-Hyy)"),
    (77, "CRO", "converged"),
    (80, "DBF", "converged (FR-Fon)"),
    (83, "EBF", "converged (GF-Guy)"),
    (95, "CSH", "closed shrubland"),
    (107, "SNO", "the one snow/ice site"),
    (131, "ENF", "converged"),
    (136, "MF", "converged (throughput set)"),
    (140, "WSA", "converged"),
    (149, "DBF", "converged"),
)
#: the screening subset: four sites that did not converge and four that did, four biomes each
QUICK = (10, 39, 64, 202, 3, 14, 76, 83)

#: strategy name -> keyword arguments of mdf.calibrate (besides model, seed, threads)
STRATEGIES: dict[str, dict] = {
    "default": {},
    "chains8": {"chains": 8},
    "steady": {"reparam": "steady_state"},
    "phases": {"reparam": "phases"},
    "steady_phases": {"reparam": "steady_state+phases"},
    "starts16": {"starts": 16},
}


def _strategy(name: str) -> dict:
    """A named strategy, or ``name:key=value,...`` overriding calibrate's arguments."""
    base, _, extra = name.partition(":")
    if base not in STRATEGIES:
        raise SystemExit(f"unknown strategy {base!r}; choose from {', '.join(STRATEGIES)}")
    kwargs = dict(STRATEGIES[base])
    for item in filter(None, extra.split(",")):
        key, _, value = item.partition("=")
        kwargs[key] = json.loads(value)
    return kwargs


_WARMED: set[str] = set()


def run_one(run_dir: str, strategy: str, site: int, model: str, seed: int) -> dict:
    """Calibrate one site with one strategy on one thread and record the figures."""
    import drivers
    import mdf
    import mdf.calibration as calibration
    import mdf.optimise as optimise
    from drivers.cbf import atomic_write_bytes
    from mdf.runfolder import atomic_write_text
    from mdf.diagnostics import cardamom_psrf

    label = strategy if seed == 1 else f"{strategy}@seed{seed}"
    out = Path(run_dir) / label.replace(":", "_")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{site}.json"
    if path.exists():
        return json.loads(path.read_text())
    kwargs = _strategy(strategy)
    pixel = drivers.read(DATA / "cbf" / f"flux_site_{site}.cbf")
    climbed = []
    original = optimise.climb

    def counting_climb(*args, **kw):
        covs, evals = original(*args, **kw)
        climbed.append(int(np.sum(evals)))
        return covs, evals

    if strategy not in _WARMED:  # compile or load this strategy's kernels untimed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mdf.calibrate(pixel, model, seed=seed, threads=1,
                          **{**kwargs, "burn_in": 2000, "iterations": 1000, "thin": 10,
                             "warm_start": False, "draws": 10, "until_converged": False})
        _WARMED.add(strategy)
    searched = []
    original_search = calibration.find_start

    def counting_search(*args, **kw):
        out = original_search(*args, **kw)
        searched.append(int(np.sum(out[2])))
        return out

    optimise.climb = counting_climb
    calibration.find_start = counting_search
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = mdf.calibrate(pixel, model, seed=seed, threads=1, **kwargs)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        optimise.climb = original
        calibration.find_start = original_search
    lp = result.log_posterior
    chains = lp.shape[0]
    replicas = int(getattr(result, "replicas", 1))
    evals = (sum(searched) + sum(climbed)
             + chains * replicas * (result.burn_in_iterations + result.sampling_iterations))
    diag = result.diagnostics
    rh, es = np.asarray(diag["rhat"], float), np.asarray(diag["ess_bulk"], float)
    score = np.where(np.isfinite(rh), rh, np.inf)
    worst = int(np.argmax(score)) if np.nanmax(score) > 1.05 else int(np.nanargmin(es))
    figures = {
        "site": site, "strategy": label, "model": model, "seed": seed, "chains": chains,
        "burn_in": int(result.burn_in_iterations),
        "sampling": int(result.sampling_iterations),
        "evals": evals, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
        "converged": bool(result.converged),
        "max_rhat": float(np.nanmax(rh)), "min_ess": float(np.nanmin(es)),
        "worst": diag["names"][worst],
        "ess_per_1e6": float(np.nanmin(es)) / evals * 1e6,
        "cardamom_psrf": cardamom_psrf(lp),
        "modes": str(getattr(result, "modes", "")),
    }
    buffer = io.BytesIO()
    np.savez(buffer, parameters=result.parameters, lp=lp)
    atomic_write_bytes(out / f"{site}.npz", buffer.getvalue())
    atomic_write_text(path, json.dumps(figures, indent=1))
    return figures


def _ess(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def table(run_dir: Path, strategies=None, sites=None) -> str:
    """The comparison: one row per site, each strategy's converged / evaluations / CPU s /
    worst ESS per 1e6 evaluations, then per-strategy totals over the sites all finished."""
    rows: dict[str, dict[int, dict]] = {}
    for d in sorted(p for p in Path(run_dir).iterdir() if p.is_dir()):
        for f in d.glob("*.json"):
            r = json.loads(f.read_text())
            rows.setdefault(r["strategy"], {})[r["site"]] = r
    names = strategies or sorted(rows, key=lambda n: (n != "default", n))
    names = [n for n in names if n in rows]
    if not names:
        return "no results"
    order = [s for s, _, _ in PANEL] + sorted({s for n in names for s in rows[n]}
                                               - {s for s, _, _ in PANEL})
    order = [s for s in order if any(s in rows[n] for n in names)
             and (sites is None or s in sites)]
    lines = ["| site | " + " | ".join(f"{n}: conv / Mevals / CPU s / ESS per 1e6 / PSRF"
                                      for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for s in order:
        cells = []
        for n in names:
            r = rows[n].get(s)
            cells.append("-" if r is None else
                         f"{'yes' if r['converged'] else 'no'} / {r['evals'] / 1e6:.2f} / "
                         f"{r['cpu_s']:.0f} / {_ess(r['ess_per_1e6'])} / "
                         f"{r['cardamom_psrf']:.2f}")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    common = [s for s in order if all(s in rows[n] for n in names)]
    lines.append("")
    lines.append(f"Over the {len(common)} sites every strategy finished:")
    lines.append("")
    lines.append("| strategy | converged | CARDAMOM PSRF < 1.2 | CPU s median / mean / max "
                 "| Mevals median | ESS per 1e6 median / geometric mean |")
    lines.append("|---|---|---|---|---|---|")
    for n in names:
        rs = [rows[n][s] for s in common]
        if not rs:
            continue
        cpu = np.array([r["cpu_s"] for r in rs])
        lines.append(
            f"| {n} | {sum(r['converged'] for r in rs)} of {len(rs)} | "
            f"{sum(r['cardamom_psrf'] < 1.2 for r in rs)} | "
            f"{np.median(cpu):.0f} / {cpu.mean():.0f} / {cpu.max():.0f} | "
            f"{np.median([r['evals'] for r in rs]) / 1e6:.2f} | "
            f"{_ess(np.median([r['ess_per_1e6'] for r in rs]))} / "
            f"{_ess(np.exp(np.mean(np.log([r['ess_per_1e6'] for r in rs]))))} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--strategies", nargs="+", default=["default"])
    ap.add_argument("--sites", nargs="+", type=int)
    ap.add_argument("--quick", action="store_true", help=f"the screening subset {QUICK}")
    ap.add_argument("--model", default="400")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--table", action="store_true", help="print the table of what is done")
    args = ap.parse_args(argv)
    sites = args.sites or (list(QUICK) if args.quick else [s for s, _, _ in PANEL])
    if args.table:
        print(table(args.run_dir, None if args.strategies == ["default"] else args.strategies,
                    sites if (args.sites or args.quick) else None))
        return 0
    if not (DATA / "cbf").is_dir():
        print(f"FluxVal data not found under {DATA}", file=sys.stderr)
        return 2
    for s in args.strategies:
        _strategy(s)
    # site by site, every strategy in turn: a panel cut short still compares like with like
    jobs = [(str(args.run_dir), st, site, args.model, args.seed)
            for site in sites for st in args.strategies]
    if args.workers <= 1:
        for job in jobs:
            print(json.dumps(run_one(*job)), flush=True)
    else:
        with ProcessPoolExecutor(args.workers) as pool:
            for r in pool.map(run_one, *zip(*jobs, strict=True)):
                print(json.dumps(r), flush=True)
    print(table(args.run_dir, [s if args.seed == 1 else f"{s}@seed{args.seed}"
                               for s in args.strategies], sites))
    return 0


if __name__ == "__main__":
    sys.exit(main())
