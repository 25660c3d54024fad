"""Edinburgh models (DALEC.C1, DALEC.4) against the GCEL CARDAMOM Fortran: forward runs,
log-posterior evaluations and DALEC.4's EDC-consistent start search.

Run: ``python benchmarks/gcel.py [--repeat 7] [--seeds 0 1 ... 11] [--skip-search |
--search-only]``. Prints

1. µs per forward run, the kernel called from compiled code and cycling through the parameter
   vectors of the Fortran timing harness (DALEC.C1: BR-Sa1, 204 months, the example pack's
   posterior vectors; DALEC.4: FI-Hyy, 192 months, 20 log-uniform draws), and the ratio to
   the Fortran's means at ``-O2`` and ``-O3 -march=native``;
2. log-posterior evaluations per second on one core (parameter EDCs, model, run EDCs,
   likelihood) on cardamom.exe's own inputs (``c1_BR-Sa1.bin``, ``d4_FI-Hyy.bin``), at an
   EDC-consistent point and for random-walk proposals around it (as a sampler's), next to
   cardamom.exe's main-MCMC proposals per second;
3. the wall time of the EDC-consistent start search (:func:`mdf.start.find_start`) for
   DALEC.4 at FI-Hyy (the bundled CSVs), 4 chains on all cores, one line per seed.

Each figure is measured ``--repeat`` times; the median and the minimum are printed (the
minimum is the least disturbed by other work on the machine). The Fortran figures come from
``../shared/reference/gcel/timings.txt`` (gfortran 12, an AMD Zen 5 KVM guest, idle) and are
not measured here: DALEC.4 570 µs (-O2) / 434 µs (-O3 -march=native) per run, DALEC.C1 41.5 /
36.6 µs; cardamom.exe samples DALEC.C1 at about 26,500 and DALEC.4 at about 1,540 proposals
per second per core, and its EDC search for DALEC.4 at FI-Hyy took 5 to more than 20 minutes.
"""

from __future__ import annotations

import argparse
import math
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
from mdf.posterior import Problem
from mdf.rng import chain_states
from mdf.start import StartSearchError, find_start

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ROOT = HERE.parent
SHARED = Path(os.environ.get("DALEC_MDF_SHARED", ROOT.parent / "shared"))
BIN = SHARED / "data" / "cardamom-examples" / "edinburgh-bin"

from forward import GCEL_CASES, _set_loop_for, fortran_figures  # noqa: E402

#: cardamom.exe main-MCMC proposals per second per core (timings.txt, -O2 build)
CARDAMOM_RATE = {"C1": 26_500.0, "DALEC.4": 1_540.0}
CARDAMOM_INPUT = {"C1": "c1_BR-Sa1.bin", "DALEC.4": "d4_FI-Hyy.bin"}


def _stats(values) -> tuple[float, float]:
    return float(np.median(values)), float(np.min(values))


def forward_us(model, pixel, pars, repeat, min_seconds=0.03):
    """µs per run of ``5 x repeat`` timings, each cycling through ``pars`` for about
    ``min_seconds`` (short timings: on a shared machine their minimum is the undisturbed
    speed)."""
    forcing, site = prepare(model, pixel)
    pools, fluxes = allocate(model, 1, forcing.shape[1])
    loop = _set_loop_for(model.kernel, None, None, False)
    args = (forcing, site, np.ascontiguousarray(pars), pools[0], fluxes[0], None, None)
    loop(*args, 1)
    n = pars.shape[0]
    while True:
        t0 = time.perf_counter()
        loop(*args, n)
        if time.perf_counter() - t0 > min_seconds:
            break
        n *= 2
    out = []
    for _ in range(5 * repeat):
        t0 = time.perf_counter()
        loop(*args, n)
        out.append((time.perf_counter() - t0) / n * 1e6)
    return out, forcing.shape[1]


def forward_section(repeat):
    sys.path.insert(0, str(ROOT))
    try:
        from tests.dalec.test_edinburgh_models import load_pixel, load_reference
        fortran = fortran_figures()
        load_reference("d4_FI-Hyy_draws")
    except Exception as err:  # noqa: BLE001 - without ../shared there are no reference cases
        print(f"forward runs: reference drivers not available ({err})")
        return
    print(f"1. forward run, µs per run (median / min of {5 * repeat} timings of ~0.03 s);"
          " Fortran means from timings.txt")
    print(f"   {'model':8s} {'drivers':10s} {'steps':>5s} {'median':>8s} {'min':>8s}"
          f" {'F -O2':>7s} {'med/F-O2':>9s} {'min/F-O2':>9s} {'F -O3n':>7s} {'med/F-O3n':>10s}")
    for name, key, tag, _ in GCEL_CASES:
        model = dalec.get_model(name)
        us, n = forward_us(model, load_pixel(tag), load_reference(tag)[0], repeat)
        med, low = _stats(us)
        f2, f3 = fortran[(key, "O2", "time")], fortran[(key, "O3n", "time")]
        print(f"   {name:8s} {tag.split('_')[1]:10s} {n:5d} {med:8.1f} {low:8.1f} {f2:7.1f}"
              f" {med / f2:9.3f} {low / f2:9.3f} {f3:7.1f} {med / f3:10.3f}")


@njit(nogil=True)
def _evaluate(log_posterior, xs, ctx, scratch, n_rounds):
    finite = 0
    for _ in range(n_rounds):
        for i in range(xs.shape[0]):
            if math.isfinite(log_posterior(xs[i], ctx, scratch)):
                finite += 1
    return finite


def edinburgh_pixel(name):
    """cardamom.exe's own input for ``name`` (DALEC.C1 or DALEC.4) and its label; without
    ``../shared``, the bundled FI-Hyy CSVs."""
    path = BIN / CARDAMOM_INPUT[name]
    if path.exists():
        return drivers.read(path), path.name
    return drivers.read(drivers.data_path("fi-hyy")), "fi-hyy (bundled CSVs)"


def posterior_section(repeat, seed=0, step=0.003, n_points=200):
    print()
    print(f"2. log-posterior evaluations per second, one core (median / min of {repeat})")
    print(f"   {'model':8s} {'input':22s} {'where':22s} {'median':>8s} {'best':>8s}"
          f" {'full runs':>9s} {'cardamom':>9s} {'med/card':>9s}")
    numba.set_num_threads(1)
    for name in ("C1", "DALEC.4"):
        pixel, label = edinburgh_pixel(name)
        problem = Problem(pixel, name)
        x0, _, _ = find_start(problem, chain_states(seed, 1))
        rs = np.random.default_rng(seed)
        proposals = x0[0] + step * rs.normal(size=(n_points, x0.shape[1]))
        scratch = problem.scratch()
        for where, xs in (("EDC-consistent point", np.repeat(x0, n_points, axis=0)),
                          (f"proposals (sd {step:g})", proposals)):
            xs = np.ascontiguousarray(xs)
            _evaluate(problem._log_posterior, xs[:2], problem.ctx, scratch, 1)
            rounds = 1
            while True:
                t0 = time.perf_counter()
                _evaluate(problem._log_posterior, xs, problem.ctx, scratch, rounds)
                if time.perf_counter() - t0 > 0.25:
                    break
                rounds *= 2
            rates = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                finite = _evaluate(problem._log_posterior, xs, problem.ctx, scratch, rounds)
                rates.append(rounds * xs.shape[0] / (time.perf_counter() - t0))
            med, best = float(np.median(rates)), float(np.max(rates))
            card = CARDAMOM_RATE[name]
            print(f"   {name:8s} {label:22s} {where:22s} {med:8.0f} {best:8.0f}"
                  f" {finite / (rounds * xs.shape[0]):9.2f} {card:9.0f} {med / card:9.2f}")
    print("   ('best': the fastest repeat; 'full runs': share of evaluations with a finite log P;"
          " proposals failing an EDC after the run cost a run too)")


def search_section(seeds, chains=4):
    threads = os.cpu_count() or 1
    print()
    print(f"3. EDC-consistent start search, DALEC.4 at FI-Hyy (bundled CSVs), {chains} chains, "
          f"{threads} threads")
    problem = Problem(drivers.read(drivers.data_path("fi-hyy")), "DALEC.4")
    try:  # compile
        find_start(problem, chain_states(12345, 1), max_iter=1, attempts=1)
    except StartSearchError:
        pass
    walls = []
    for seed in seeds:
        t0 = time.perf_counter()
        _, _, used = find_start(problem, chain_states(seed, chains), threads=threads)
        walls.append(time.perf_counter() - t0)
        print(f"   seed {seed}: {walls[-1]:6.1f} s wall, search iterations per chain "
              f"{used.tolist()}")
    med, low = _stats(walls)
    print(f"   median {med:.1f} s, min {low:.1f} s, max {max(walls):.1f} s"
          " (cardamom.exe: 5 to > 20 min for one chain)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seeds", type=int, nargs="*", default=list(range(12)))
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--search-only", action="store_true")
    args = parser.parse_args(argv)
    print(f"numba {numba.__version__}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if not args.search_only:
        forward_section(args.repeat)
        posterior_section(args.repeat)
    if not args.skip_search:
        search_section(args.seeds)


if __name__ == "__main__":
    main()
