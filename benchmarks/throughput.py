"""Pixels per core-hour at the default (converging) settings, and parallel efficiency.

Run: ``python benchmarks/throughput.py [--sites 8] [--model 811] [--workers 2]``. Prints:

1. pixels per core-hour of ``mdf.calibrate_many`` at ``mdf.calibrate``'s default settings
   (4 ``demcz`` chains, CMA-ES warm start, 150 000 burn-in iterations, then sampling until
   every parameter and log P reach R-hat <= 1.05 and bulk ESS >= 400 or 4e6 iterations, EDCs
   on, 500 draws run forward; ``--chains/--burn-in/--iterations/--sampler`` to change them;
   ``--iterations`` makes the runs fixed-length) on CARDAMOM-FluxVal sites, one pixel per
   core, and how many converged;
2. the speed-up on ``--workers`` cores (a process pool, one pixel per worker; the last
   pixels take over the cores of workers left without pixels) over one core, on the same
   sites (goal on 2 cores: >= 1.9x);
3. the core-hours this extrapolates to for 55,246 pixels (the 0.5 degree land grid of the
   seed analysis; goal <= 2,000 core-hours). CARDAMOM-scale settings (4 chains x 1e8
   iterations, 2-5 h per chain) cost about 1 million core-hours.

Workers are warmed up (numba kernels compiled or loaded) before timing. The machine may be
shared: the figures say what they measured, no more.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import mdf
from mdf.executors import process_pool
from mdf.pixels import open_pixels

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DALEC_MDF_SHARED", ROOT.parent / "shared"))
GLOBAL_PIXELS = 55_246
#: short runs through the same code paths (EDC start search, CMA-ES, AM) to compile first
WARM = dict(chains=2, burn_in=2000, iterations=500, thin=50, draws=10, block=1000)
WARM_SITES = ("flux_site_7", "flux_site_2", "flux_site_4", "flux_site_10")


def _warm(ex, pixels, model, tmp: Path) -> None:
    """Compile/load the kernels in every worker (short runs, discarded)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdf.calibrate_many(pixels.select(WARM_SITES), tmp / "warm", model, seed=99,
                           executor=ex, threads=1, **WARM)


def _timed(pixels, run_dir, model, executor, options):
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = mdf.calibrate_many(pixels, run_dir, model, seed=1, executor=executor, threads=1,
                                 **options)
    return time.perf_counter() - t, out


def _differing(run_a: Path, run_b: Path, ids) -> list[str]:
    """``pixel (groups)`` whose result files differ between two run folders."""
    import xarray as xr

    from mdf.runfolder import RunFolder

    out = []
    for pid in ids:
        a, b = RunFolder(run_a).result_path(pid), RunFolder(run_b).result_path(pid)
        if not (a.exists() and b.exists()):
            out.append(f"{pid} (missing)")
            continue
        with xr.open_datatree(a) as x, xr.open_datatree(b) as y:
            bad = sorted(set(x.children) ^ set(y.children))
            bad += [g for g in x.children if g in y.children and not x[g].identical(y[g])]
        if bad:
            out.append(f"{pid} ({', '.join(bad)})")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=8, help="FluxVal sites (spread over 204)")
    parser.add_argument("--model", default="811")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", default=None, help="keep the run folders here")
    parser.add_argument("--chains", type=int, default=None, help="default: mdf.calibrate's")
    parser.add_argument("--burn-in", type=int, default=None)
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--sampler", default=None)
    args = parser.parse_args(argv)
    options = {k: v for k, v in (("chains", args.chains), ("burn_in", args.burn_in),
                                 ("iterations", args.iterations), ("sampler", args.sampler))
               if v is not None}
    cbf = SHARED / "data" / "fluxval" / "cbf"
    if not cbf.is_dir():
        sys.exit(f"no {cbf}: this benchmark needs the shared FluxVal CBFs")
    pixels = open_pixels(cbf)
    pick = np.linspace(0, len(pixels) - 1, args.sites).round().astype(int)
    sites = pixels.select([pixels[int(k)].pixel_id for k in pick])
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="throughput-"))
    differ: list[str] = []
    print(f"model {args.model}, mdf.calibrate settings: {options or 'the defaults'}; "
          f"{len(sites)} FluxVal sites: "
          f"{', '.join(p.site or p.pixel_id for p in sites)}; {os.cpu_count()} CPUs seen")
    try:
        # 1. one core
        load0 = os.getloadavg()[0]
        _warm(None, pixels, args.model, tmp)
        t1, out1 = _timed(sites, tmp / "serial", args.model, None, options)
        done1 = [o for o in out1 if o.status == "done"]
        cpu1 = sum(o.cpu_seconds for o in out1)
        print(f"1 core : {t1:8.1f} s wall, {cpu1:8.1f} s CPU for {len(out1)} pixels "
              f"({len(done1)} done, {sum(o.status == 'failed' for o in out1)} failed, "
              f"{sum(o.summary.get('converged', False) for o in done1)} converged)")
        for o in out1:
            s = o.summary
            print(f"         {o.pixel_id:<14} {o.status:<7} {o.seconds:6.1f} s wall "
                  f"{o.cpu_seconds:6.1f} s CPU"
                  + (f"  max R-hat {s['max_rhat']:.3f}  min ESS {s['min_ess_bulk']:.0f}"
                     if s else f"  {o.message[:70]}"))
        by_wall = len(out1) / (t1 / 3600)
        by_cpu = len(out1) / (cpu1 / 3600)
        print(f"         -> {by_wall:.1f} pixels per core-hour by wall time, {by_cpu:.1f} by "
              f"CPU time (a dedicated core; load average was {load0:.1f} on "
              f"{os.cpu_count()} CPUs)")
        # 2. a process pool on --workers cores
        with process_pool(args.workers, threads=1) as ex:
            _warm(ex, pixels, args.model, tmp / "pool")
            tn, outn = _timed(sites, tmp / "parallel", args.model, ex, options)
        cpun = sum(o.cpu_seconds for o in outn)
        busy = sum(o.seconds for o in outn) / (args.workers * tn)
        speedup = t1 / tn
        print(f"{args.workers} cores: {tn:8.1f} s wall, {cpun:8.1f} s CPU for the same pixels")
        print(f"         -> speed-up {speedup:.2f}x by wall time (goal >= "
              f"{0.95 * args.workers:.1f}x; efficiency {speedup / args.workers:.2f}); "
              f"CPU per pixel in parallel / alone {cpun / cpu1:.3f}; workers busy {busy:.0%} of "
              f"the wall time; load average now {os.getloadavg()[0]:.1f}")
        print(f"         -> on dedicated cores: {args.workers * cpu1 / cpun:.2f}x "
              "(CPU-time ratio; load balance aside)")
        lent = [f"{o.pixel_id} ({o.max_threads})" for o in outn if o.max_threads > 1]
        print(f"         pixels that ran on idle workers' cores at the end (most threads): "
              f"{', '.join(lent) or 'none'}")
        differ = _differing(tmp / "serial", tmp / "parallel", [o.pixel_id for o in out1])
        print(f"         results on 1 and {args.workers} cores identical (every group of every "
              f"result file): {'yes' if not differ else 'NO: ' + '; '.join(differ)}")
        # 3. extrapolation
        for label, rate in (("CPU time", by_cpu), ("wall time", by_wall)):
            print(f"{GLOBAL_PIXELS} pixels at the {label} rate: {GLOBAL_PIXELS / rate:,.0f} "
                  "core-hours (goal <= 2,000; CARDAMOM-scale settings: about 1,000,000)")
    finally:
        if differ:
            print(f"run folders kept for comparison: {tmp}")
        elif args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
