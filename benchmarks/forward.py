"""Forward-model speed: microseconds per run and per step, and ensemble throughput.

Run: ``python benchmarks/forward.py`` (after ``make install``). Prints, for each registered
model, the time of one forward run called from compiled code (as the samplers call it) on

- the 72-step CARDAMOM v2.2 demo drivers (JPL models; the Edinburgh models use their own
  reference drivers), and
- a 192-month CARDAMOM-FluxVal site (flux_site_76 = FI-Hyy),

the ensemble throughput on 1 thread and on all cores, and, for DALEC 400, the ratio to a
statement-by-statement port of the reference C code measured in the same run
(benchmarks/_straight_port.py). Reference figures on this class of machine (not measured
here): CARDAMOM's C DALEC 400 16.3 µs per 72-step run at gcc -O2.

The Edinburgh models DALEC.C1 and DALEC.4 run on their reference drivers (BR-Sa1, 204 months;
FI-Hyy, 192 months; ../shared/reference/gcel) cycling through the same parameter vectors as
the Fortran timing harness (the BR-Sa1 pack's posterior vectors; the FI-Hyy log-uniform
draws), with and without the EDCs after each run, and are compared with the Fortran's
figures in ../shared/reference/gcel/timings.txt (gfortran -O2 and -O3 -march=native, on
another machine: an AMD Zen 5 KVM guest).
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


def time_interleaved(model, pixel, pars, k, repeat=5, reps=2000):
    """Best-of-``repeat`` microseconds per run when ``k`` (2 or 4) runs are interleaved by the
    model's ``pair_kernel``/``quad_kernel`` (None if it has none), called from a jitted loop."""
    kernel = model.pair_kernel if k == 2 else model.quad_kernel
    if kernel is None:
        return None
    forcing, site = prepare(model, pixel)
    pools, fluxes = allocate(model, k, forcing.shape[1])
    many = np.ascontiguousarray(np.tile(pars, (k, 1)))

    if k == 2:
        @njit
        def loop(forcing, site, p, pools, fluxes, n):
            for _ in range(n):
                kernel(forcing, site, p[0], p[1], pools[0], pools[1], fluxes[0], fluxes[1])
    else:
        @njit
        def loop(forcing, site, p, pools, fluxes, n):
            for _ in range(n):
                kernel(forcing, site, p[0], p[1], p[2], p[3], pools[0], pools[1], pools[2],
                       pools[3], fluxes[0], fluxes[1], fluxes[2], fluxes[3])

    loop(forcing, site, many, pools, fluxes, 1)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        loop(forcing, site, many, pools, fluxes, reps)
        best = min(best, (time.perf_counter() - t0) / reps / k)
    return best * 1e6


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
    from tests.dalec.reference import HERE_1005, parameters_1005

    # 1005: an EDC-valid FI-Hyy vector of the CARDAMOM v3 reference (sampled on this site)
    pars1005 = parameters_1005(HERE_1005 / "sitemcmc_500")
    return demo, fluxval, {"400": pars400, "809": pars809, "811": pars809, "1005": pars1005}


#: Fortran means [us/run] from timings.txt when it cannot be read: (model, flags, mode)
FORTRAN_US = {("c1", "O2", "time"): 41.5, ("c1", "O2", "timeedc"): 45.7,
              ("c1", "O3n", "time"): 37.0, ("c1", "O3n", "timeedc"): 41.7,
              ("d4", "O2", "time"): 570.0, ("d4", "O2", "timeedc"): 579.2,
              ("d4", "O3n", "time"): 433.8, ("d4", "O3n", "timeedc"): 451.4}
GCEL_CASES = (("C1", "c1", "c1_BR-Sa1", "BR-Sa1 (reference)"),
              ("DALEC.4", "d4", "d4_FI-Hyy_draws", "FI-Hyy (reference)"))


def fortran_figures() -> dict:
    """Mean us/run per (model, flags, mode) from the summary of timings.txt (the longest
    repetition count of each)."""
    import re

    path = SHARED / "reference" / "gcel" / "timings.txt"
    if not path.exists():
        return dict(FORTRAN_US)
    pattern = re.compile(r"^\s*(c1|d4)\s+(O2|O3n)\s+(time|timeedc)\s+nrep=\s*(\d+)\s+mean\s+"
                         r"([\d.]+) us/run")
    best = {}
    for line in path.read_text().splitlines():
        m = pattern.match(line)
        if m:
            key, nrep = m.group(1, 2, 3), int(m.group(4))
            if key not in best or nrep > best[key][0]:
                best[key] = (nrep, float(m.group(5)))
    return {k: v[1] for k, v in best.items()} or dict(FORTRAN_US)


def _set_loop_for(kernel, pre, post, with_edc):
    @njit
    def loop(forcing, site, pars, pools, fluxes, data, flags, n):
        k = 0
        for _ in range(n):
            p = pars[k]
            kernel(forcing, site, p, pools, fluxes)
            if with_edc:
                pre(p, data, flags, False)
                post(p, pools, fluxes, data, flags, False)
            k += 1
            if k == pars.shape[0]:
                k = 0

    return loop


def time_kernel_set(model, pixel, pars, with_edc=False, repeat=5, min_seconds=0.3):
    """Best-of-``repeat`` us per run cycling through the vectors ``pars`` (S, P), optionally
    followed by the EDCs (production mode, as the Fortran harness's 'timeedc')."""
    from mdf.edc.hooks import hooks_for

    hooks = hooks_for(model)
    forcing, site = prepare(model, pixel)
    pools, fluxes = allocate(model, 1, forcing.shape[1])
    data = hooks.data(model, pixel)
    flags = np.ones(hooks.n_flags, dtype=np.int64)
    loop = _set_loop_for(model.kernel, hooks.pre, hooks.post, with_edc)
    args = (forcing, site, np.ascontiguousarray(pars), pools[0], fluxes[0], data, flags)
    loop(*args, 1)
    n = pars.shape[0]
    while True:
        t0 = time.perf_counter()
        loop(*args, n)
        if time.perf_counter() - t0 > min_seconds / 5:
            break
        n *= 2
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        loop(*args, n)
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6, forcing.shape[1]


def gcel_main(cores):
    """DALEC.C1 and DALEC.4 on their reference drivers, against the Fortran's timings."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.dalec.test_edinburgh_models import load_pixel, load_reference
    except ImportError as err:  # pragma: no cover
        print(f"Edinburgh models: cannot load the reference cases ({err})")
        return
    fortran = fortran_figures()
    print()
    print("Edinburgh models (Fortran: ../shared/reference/gcel/timings.txt, another machine)")
    print(f"{'model':8s} {'drivers':22s} {'steps':>5s} {'us/run':>8s} {'+EDC':>8s}"
          f" {'/F -O2':>7s} {'/F -O3n':>7s} {'+EDC/F':>7s} {'runs/s 1 thr':>13s}"
          f" {f'runs/s {cores} thr':>13s}")
    for name, key, tag, label in GCEL_CASES:
        if not (SHARED / "reference" / "gcel" / f"{tag}_met.csv").exists():
            print(f"{name:8s} {label:22s} (not available: no ../shared/reference/gcel)")
            continue
        model = dalec.get_model(name)
        pixel = load_pixel(tag)
        pars = load_reference(tag)[0]
        us, n = time_kernel_set(model, pixel, pars)
        us_edc, _ = time_kernel_set(model, pixel, pars, with_edc=True)
        r1 = ensemble_rate(model, pixel, pars[0], n_samples=400 if key == "d4" else 4000,
                           threads=1)
        rn = ensemble_rate(model, pixel, pars[0], n_samples=400 if key == "d4" else 4000,
                           threads=cores)
        print(f"{name:8s} {label:22s} {n:5d} {us:8.2f} {us_edc:8.2f}"
              f" {us / fortran[(key, 'O2', 'time')]:7.2f}"
              f" {us / fortran[(key, 'O3n', 'time')]:7.2f}"
              f" {us_edc / fortran[(key, 'O2', 'timeedc')]:7.2f} {r1:13.0f} {rn:13.0f}")
    print("  ratios < 1: faster than the Fortran figure; Fortran -O2 "
          + ", ".join(f"{k[0]} {fortran[(k[0], 'O2', 'time')]:.1f} us" for k in
                      (("c1",), ("d4",))))


def main():
    cores = numba.config.NUMBA_NUM_THREADS
    demo, fluxval, pars = jpl_cases()
    print(f"numba {numba.__version__}, {cores} cores; best of 5, kernel called from compiled code")
    print(f"{'model':8s} {'drivers':22s} {'steps':>5s} {'us/run':>8s} {'ns/step':>8s}"
          f" {'runs/s 1 thr':>13s} {f'runs/s {cores} thr':>13s} {'par.eff':>7s}")
    for name in ("400", "809", "811", "1005"):
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
    if fluxval is not None:
        print()
        print("FluxVal site 76, us per run: one at a time / two interleaved (pair_kernel) / "
              "four interleaved (quad_kernel); demcz uses them for the chains of a thread")
        for name in ("400", "811", "1005"):
            model = dalec.get_model(name)
            one, _ = time_kernel(model, fluxval, pars[name])
            two, four = (time_interleaved(model, fluxval, pars[name], k) for k in (2, 4))
            print(f"  {name:5s} {one:6.2f} / " + " / ".join(
                "-" if v is None else f"{v:.2f} ({v / one:.2f})" for v in (two, four)))
    ours, _ = time_kernel(dalec.get_model("400"), demo, pars["400"])
    base = straight_port_us(demo, pars["400"])
    print()
    print(f"DALEC 400, 72 steps: {ours:.2f} us/run; straight port of the C code (same run) "
          f"{base:.2f} us/run; ratio {ours / base:.2f}")
    print(f"  vs CARDAMOM C at gcc -O2 (reference figure, not measured here): "
          f"{C_REFERENCE_US['400']:.1f} us/run; ratio {ours / C_REFERENCE_US['400']:.2f} "
          "(target <= 0.5)")
    gcel_main(cores)


if __name__ == "__main__":
    main()
