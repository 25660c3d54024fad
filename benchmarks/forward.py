"""Forward-model speed: microseconds per run and per step, and ensemble throughput.

Run: ``python benchmarks/forward.py`` (after ``make install``). Prints, for each registered
model, the time of one forward run called from compiled code (as the samplers call it) on

- the 72-step CARDAMOM v2.2 demo drivers (JPL models; the Edinburgh models use their own
  reference drivers), and
- a 192-month CARDAMOM-FluxVal site (flux_site_76 = FI-Hyy),

the ensemble throughput on 1 thread and on all cores, and, for DALEC 400, the ratio to a
statement-by-statement port of the reference C code measured in the same run
(benchmarks/_straight_port.py). Reference figures on this class of machine (not measured
here): CARDAMOM's C DALEC 400 16.3 µs per 72-step run at gcc -O2; the Edinburgh Fortran
DALEC.C1 41.5 µs per 204 steps, DALEC.4 570 µs per 192 steps (-O2).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit

import dalec
import drivers
from dalec.api import allocate, prepare

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ROOT = HERE.parent
SHARED = Path(os.environ.get("DALEC_MDF_SHARED", ROOT.parent / "shared"))

C_REFERENCE_US = {"400": 16.3}  # shared/reference/jpl/dalec400_fire/timing_forward_run.csv


def _loop_for(kernel):
    @njit
    def loop(forcing, site, pars, pools, fluxes, n):
        for _ in range(n):
            kernel(forcing, site, pars, pools, fluxes)

    return loop


def time_kernel(model, pixel, pars, repeat=5, min_seconds=0.2):
    """Best-of-``repeat`` microseconds per run of the kernel, called from a jitted loop."""
    forcing, site = prepare(model, pixel)
    pools, fluxes = allocate(model, 1, forcing.shape[1])
    loop = _loop_for(model.kernel)
    loop(forcing, site, pars, pools[0], fluxes[0], 1)
    n = 1
    while True:
        t0 = time.perf_counter()
        loop(forcing, site, pars, pools[0], fluxes[0], n)
        if time.perf_counter() - t0 > min_seconds / 5:
            break
        n *= 4
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        loop(forcing, site, pars, pools[0], fluxes[0], n)
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6, forcing.shape[1]


def ensemble_rate(model, pixel, pars, n_samples=4000, threads=1):
    """Forward runs per second through the parallel ensemble kernel."""
    forcing, site = prepare(model, pixel)
    many = np.ascontiguousarray(np.tile(pars, (n_samples, 1)))
    pools, fluxes = allocate(model, n_samples, forcing.shape[1])
    numba.set_num_threads(threads)
    model.ensemble_kernel(forcing, site, many[:2], pools[:2], fluxes[:2])
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        model.ensemble_kernel(forcing, site, many, pools, fluxes)
        best = min(best, time.perf_counter() - t0)
    return n_samples / best


def straight_port_us(pixel, pars, repeat=5):
    from _straight_port import run400

    met = np.stack(
        [pixel[v].values for v in ("time", "tmin", "tmax", "swrad", "co2", "doy", "burned_area")],
        axis=1,
    )
    lat = float(pixel.latitude)
    pools = np.empty((met.shape[0] + 1, 6))
    fluxes = np.zeros((met.shape[0], 28))

    @njit
    def loop(met, lat, p, pools, fluxes, n):
        for _ in range(n):
            run400(met, lat, p, pools, fluxes)

    loop(met, lat, pars, pools, fluxes, 1)
    n = 20000
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        loop(met, lat, pars, pools, fluxes, n)
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def jpl_cases():
    sys.path.insert(0, str(ROOT))
    from tests.dalec.reference import load_case

    demo, pars809, _, _ = load_case("dalec809")
    _, pars400, _, _ = load_case("dalec400_fire")
    fluxval = None
    for candidate in (
        SHARED / "data" / "fluxval" / "cbf" / "flux_site_76.cbf",
        ROOT / "drivers" / "data" / "flux_site_76.cbf",
    ):
        if candidate.exists():
            fluxval = drivers.read(candidate)
            break
    return demo, fluxval, {"400": pars400, "809": pars809, "811": pars809}


def main():
    cores = numba.config.NUMBA_NUM_THREADS
    demo, fluxval, pars = jpl_cases()
    print(f"numba {numba.__version__}, {cores} cores; best of 5, kernel called from compiled code")
    print(f"{'model':8s} {'drivers':22s} {'steps':>5s} {'us/run':>8s} {'ns/step':>8s}"
          f" {'runs/s 1 thr':>13s} {f'runs/s {cores} thr':>13s} {'par.eff':>7s}")
    for name in ("400", "809", "811"):
        model = dalec.get_model(name)
        for label, pixel in (("demo (CARDAMOM v2.2)", demo), ("FluxVal site 76", fluxval)):
            if pixel is None:
                print(f"{name:8s} {label:22s} (not available: no ../shared and no bundled copy)")
                continue
            us, n = time_kernel(model, pixel, pars[name])
            r1 = ensemble_rate(model, pixel, pars[name], threads=1)
            rn = ensemble_rate(model, pixel, pars[name], threads=cores)
            print(f"{name:8s} {label:22s} {n:5d} {us:8.2f} {us / n * 1e3:8.1f}"
                  f" {r1:13.0f} {rn:13.0f} {rn / r1 / cores:7.2f}")
    ours, _ = time_kernel(dalec.get_model("400"), demo, pars["400"])
    base = straight_port_us(demo, pars["400"])
    print()
    print(f"DALEC 400, 72 steps: {ours:.2f} us/run; straight port of the C code (same run) "
          f"{base:.2f} us/run; ratio {ours / base:.2f}")
    print(f"  vs CARDAMOM C at gcc -O2 (reference figure, not measured here): "
          f"{C_REFERENCE_US['400']:.1f} us/run; ratio {ours / C_REFERENCE_US['400']:.2f} "
          "(target <= 0.5)")


if __name__ == "__main__":
    main()
