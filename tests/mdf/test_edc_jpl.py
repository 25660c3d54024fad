"""EDCs of DALEC 400 and 809/811 (mdf.edc.jpl) against CARDAMOM v2.2 and on constructed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dalec
import drivers
from dalec.api import prepare
from dalec.models.dalec811 import reference_means
from mdf.edc.jpl import (
    _PARMAX_400,
    _PARMAX_811,
    EDC_NAMES,
    EDCS,
    _flux_totals,
    _pool_scan,
    _post_means,
    edc_passfail,
    edc_post_400,
    edc_post_811,
    edc_pre_400,
    edc_pre_811,
    edc_report,
)
from tests.conftest import REPO, shared_path
from tests.dalec.reference import CASES, HERE, load_case, read_csv


def _run(name, pixel, pars):
    """One kernel run in the kernel layout: pools (P, N+1), fluxes (F, N)."""
    model = dalec.get_model(name)
    forcing, site = prepare(model, pixel)
    n = forcing.shape[1]
    pools = np.empty((len(model.pools), n + 1))
    fluxes = np.empty((len(model.fluxes), n))
    model.kernel(forcing, site, np.asarray(pars, dtype=np.float64), pools, fluxes)
    return pools, fluxes


def _case(case):
    pixel, pars, _, _ = load_case(case)
    pools, fluxes = _run(CASES[case], pixel, pars)
    return pixel, pars, pools, fluxes


def _meantemp(pixel):
    tmin, tmax = pixel["tmin"].values, pixel["tmax"].values
    return reference_means(tmin, tmax, np.zeros_like(tmin))[0]


def _failed(flags):
    return set((np.flatnonzero(np.asarray(flags) == 0) + 1).tolist())


def _post(name, pixel, pars, pools, fluxes, diag, eqf=2.0):
    """Post-run EDCs with a fresh flag vector: (verdict, failed EDC numbers)."""
    flags = np.ones(100, dtype=np.int64)
    t = pixel["time"].values
    if name == "400":
        ok = edc_post_400(pars, pools, fluxes, t[0], t[-1], eqf, flags, diag)
    else:
        precip = np.ascontiguousarray(pixel["precip"].values)
        ok = edc_post_811(
            pars, pools, fluxes, t[0], t[-1], eqf, precip.mean(), precip, flags, diag
        )
    return ok, _failed(flags)


def _pre(name, pixel, pars, diag):
    flags = np.ones(100, dtype=np.int64)
    ok = EDCS[name][0](np.asarray(pars, dtype=np.float64), _meantemp(pixel), flags, diag)
    return ok, _failed(flags)


# ------------------------------------------------------------------- CARDAMOM's own verdicts


@pytest.mark.parametrize("case", sorted(CASES))
def test_passfail_vector_equals_cardamom(case):
    pixel, pars, pools, fluxes = _case(case)
    flags = edc_passfail(CASES[case], pars, pools, fluxes, pixel)
    _, expected = read_csv(HERE / case / "edc_passfail.csv")
    assert flags.shape == (100,)
    np.testing.assert_array_equal(expected[:, 0], np.arange(1, 101))
    np.testing.assert_array_equal(flags, expected[:, 1].astype(np.int64))


@pytest.mark.parametrize("case", sorted(CASES))
def test_production_verdicts_equal_cardamom_edc1_edc2(case):
    pixel, pars, pools, fluxes = _case(case)
    with open(HERE / case / "likelihood.csv") as fh:
        rows = dict(line.strip().split(",") for line in fh.readlines()[1:])
    name = CASES[case]
    assert _pre(name, pixel, pars, diag=False)[0] == bool(int(rows["EDC1_pass"]))
    assert _post(name, pixel, pars, pools, fluxes, diag=False)[0] == bool(int(rows["EDC2_pass"]))


def test_production_mode_stops_at_first_post_run_failure():
    pixel, pars, pools, fluxes = _case("dalec400_nofire")
    assert _post("400", pixel, pars, pools, fluxes, diag=True) == (False, {7, 8, 9, 10, 11})
    assert _post("400", pixel, pars, pools, fluxes, diag=False) == (False, {7})


# ----------------------------------------------------------------------- pre-run EDCs


def _move_400(pars, k, meantemp):
    """Reference vector moved in one parameter so that pre-run EDC k alone fails."""
    p = pars.copy()
    if k == 1:  # t_lit below t_som
        p[7] = 0.9 * p[8]
    elif k == 2:  # litter->SOM below t_som
        p[0] = 0.9 * p[8]
    elif k == 3:  # wood turnover above 1/(365.25 L_leaf)
        p[5] = 1.1 / (365.25 * p[4])
    elif k == 4:  # root turnover below SOM turnover at mean temperature
        p[6] = 0.9 * p[8] * math.exp(p[9] * meantemp)
    elif k == 5:  # fine-root allocation more than 5x canopy allocation: raise f_root
        f_fol = (1 - p[1]) * p[2]
        f_lab = (1 - p[1] - f_fol) * p[12]
        p[3] = 1.1 * 5 * (f_fol + f_lab) / (1 - p[1] - f_fol - f_lab)
    elif k == 15:  # foliar combustion factor below the SOM one
        p[27] = 0.9 * max(p[28], p[29])
    return p


@pytest.mark.parametrize(
    "case,k",
    [("dalec400_fire", k) for k in (1, 2, 3, 4, 5)]
    + [("dalec809", k) for k in (1, 2, 3, 4, 5, 15)],
)
def test_one_moved_parameter_fails_exactly_one_pre_run_edc(case, k):
    pixel, pars, _, _ = load_case(case)
    name = CASES[case]
    assert _pre(name, pixel, pars, diag=True) == (True, set())
    moved = _move_400(pars, k, _meantemp(pixel))
    assert np.count_nonzero(moved != pars) == 1
    assert _pre(name, pixel, moved, diag=True) == (False, {k})
    assert _pre(name, pixel, moved, diag=False) == (False, {k})


@pytest.mark.parametrize(
    "first,second", [(a, b) for a in (1, 2, 3, 4, 5) for b in (2, 3, 4, 5, 15) if a < b]
)
def test_production_pre_run_returns_at_first_failure(first, second):
    pixel, pars, _, _ = load_case("dalec809")
    both = _move_400(_move_400(pars, first, _meantemp(pixel)), second, _meantemp(pixel))
    assert _pre("809", pixel, both, diag=True) == (False, {first, second})
    assert _pre("809", pixel, both, diag=False) == (False, {first})


def test_edc4_uses_mean_temperature():
    pixel, pars, _, _ = load_case("dalec400_fire")
    t = _meantemp(pixel)
    p = pars.copy()
    p[6] = p[8] * math.exp(p[9] * t) * (1 + 1e-9)
    assert _pre("400", pixel, p, diag=True) == (True, set())
    flags = np.ones(100, dtype=np.int64)
    assert not edc_pre_400(p, t + 1e-3, flags, True)
    assert _failed(flags) == {4}


def test_report_runs_post_stage_when_pre_stage_fails():
    pixel, pars, pools, fluxes = _case("dalec400_nofire")
    moved = _move_400(pars, 1, _meantemp(pixel))
    report = edc_report("400", moved, pools, fluxes, pixel)
    assert set(report) == set(EDC_NAMES["400"])
    assert {k for k, ok in report.items() if not ok} == {1, 7, 8, 9, 10, 11}
    assert all(isinstance(v, bool) for v in report.values())


# ---------------------------------------------------------------------- post-run EDCs


@pytest.mark.parametrize("case", ["dalec400_fire", "dalec809"])
def test_negative_pool_fails_non_negativity(case):
    pixel, pars, pools, fluxes = _case(case)
    name = CASES[case]
    pools[3, 40] = -1.0  # wood, a state the steady-state test does not sample
    assert _post(name, pixel, pars, pools, fluxes, diag=True) == (False, {39})
    assert _post(name, pixel, pars, pools, fluxes, diag=False) == (False, {39})


def test_nan_pool_fails_in_400_wherever_it_is():
    # CARDAMOM's EDC2_400.c tests isnan(POOLS[35]) only (SOM at state 5); we test every value
    pixel, pars, pools, fluxes = _case("dalec400_fire")
    pools[1, 30] = np.nan
    assert _post("400", pixel, pars, pools, fluxes, diag=True) == (False, {37})


def test_bucket_drying_below_zero_in_a_real_run_fails_edc42():
    pixel, pars, _, _ = load_case("dalec809")
    p = pars.copy()
    p[23] = 10.0  # lowest IWUE: ET = GPP VPD / IWUE nearly 4x the reference
    p[25] = 10.0  # low wilting point, so GPP (and ET) keep going as the bucket empties
    pools, fluxes = _run("809", pixel, p)
    assert pools[6].min() < 0 and np.isfinite(pools).all()
    ok, failed = _post("809", pixel, p, pools, fluxes, diag=True)
    assert not ok and 42 in failed and not failed & {36, 37, 38, 39, 40, 41}


def _sampled_states(pixel):
    t = pixel["time"].values
    n = t.size
    dint = math.floor(n / (t[-1] - t[0]) * 365.25)
    return np.arange(0, n + 1, dint)


_BUDGETS = {  # pool: (input slots, output slots), MODELS.md §4.1
    0: ((4,), (7, 17, 23)),
    1: ((3, 7), (9, 18, 24)),
    2: ((5,), (11, 19, 25)),
    3: ((6,), (10, 20, 26)),
    4: ((9, 11, 23, 24, 25), (12, 14, 21, 27)),
    5: ((10, 14, 26, 27), (13, 22)),
}


def _steady_state_ratios(pixel, pools, fluxes):
    """(R_s, R_m) per pool, written independently of the module with numpy."""
    totals = fluxes.sum(axis=1)
    sampled = pools[:, _sampled_states(pixel)].mean(axis=1)
    rs, rm = [], []
    for i in range(pools.shape[0]):
        if i < 6:
            fin = totals[list(_BUDGETS[i][0])].sum()
            fout = totals[list(_BUDGETS[i][1])].sum()
        else:
            fin = pixel["precip"].values.sum()
            fout = totals[28] + totals[29]
        rm.append(fin / fout)
        rs.append(rm[-1] * sampled[i] / pools[i, 0])
    return np.array(rs), np.array(rm)


def test_monthly_run_samples_every_twelfth_state_including_the_first():
    pixel, _, _, _ = load_case("dalec400_fire")
    np.testing.assert_array_equal(_sampled_states(pixel), np.arange(0, 73, 12))


@pytest.mark.parametrize("case", ["dalec400_fire", "dalec809"])
def test_equilibrium_factor_threshold(case):
    pixel, pars, pools, fluxes = _case(case)
    name = CASES[case]
    rs, rm = _steady_state_ratios(pixel, pools, fluxes)
    assert np.all(np.abs(rs - rm) <= 0.1)
    worst = int(np.argmax(np.abs(np.log(rs))))
    threshold = math.exp(abs(math.log(rs[worst])))
    assert 1.0 < threshold < 2.0
    assert _post(name, pixel, pars, pools, fluxes, True, eqf=threshold * (1 + 1e-9)) == (
        True,
        set(),
    )
    assert _post(name, pixel, pars, pools, fluxes, True, eqf=threshold * (1 - 1e-9)) == (
        False,
        {7 + worst},
    )


def test_steady_state_reads_only_the_sampled_states():
    pixel, pars, pools, fluxes = _case("dalec400_fire")
    for state, expect in ((13, set()), (12, {7})):
        p = pools.copy()
        p[0, state] += 7 * pools[0, 0]  # doubles the sampled labile mean if state 12 is sampled
        assert _post("400", pixel, pars, p, fluxes, diag=True) == (not expect, expect)


def test_steady_state_tolerance_on_rs_minus_rm():
    # with EQF huge only |R_s - R_m| > 0.1 can fail: move the sampled labile mean by -5% / +5%
    # of P_0 (reference: R_s - R_m = 0.074)
    pixel, pars, pools, fluxes = _case("dalec400_fire")
    rs, rm = _steady_state_ratios(pixel, pools, fluxes)
    for rise, expect in ((-0.05, set()), (0.05, {7})):
        p = pools.copy()
        p[0, 12] += 7 * rise * pools[0, 0]
        rs2, _ = _steady_state_ratios(pixel, p, fluxes)
        assert (abs(rs2[0] - rm[0]) > 0.1) == bool(expect)
        assert _post("400", pixel, pars, p, fluxes, True, eqf=1e6) == (not expect, expect)


def test_production_post_run_order_35_before_non_negativity():
    pixel, pars, pools, fluxes = _case("dalec400_fire")
    pools[3, 40] = -1.0
    pools[5, 5] += 2e5 * pools.shape[1]
    assert _post("400", pixel, pars, pools, fluxes, diag=True) == (False, {35, 39})
    assert _post("400", pixel, pars, pools, fluxes, diag=False) == (False, {35})


def test_production_post_run_order_14_before_35():
    pixel, pars, pools, fluxes = _case("dalec809")
    p = pars.copy()
    p[25] = 2 * pools[6].max()
    pools[5, 5] += 2e5 * pools.shape[1]
    assert _post("809", pixel, p, pools, fluxes, diag=True) == (False, {14, 35})
    assert _post("809", pixel, p, pools, fluxes, diag=False) == (False, {14})


def test_water_steady_state_uses_precipitation_series():
    pixel, pars, pools, fluxes = _case("dalec809")
    t = pixel["time"].values
    precip = np.ascontiguousarray(pixel["precip"].values)
    for scale, expect in ((1.0, set()), (2.5, {13})):
        flags = np.ones(100, dtype=np.int64)
        edc_post_811(pars, pools, fluxes, t[0], t[-1], 2.0, 0.0, precip * scale, flags, True)
        assert _failed(flags) == expect


def test_wilting_point_above_mean_water_fails_edc14():
    pixel, pars, pools, fluxes = _case("dalec809")
    mean_w = pools[6].mean()
    for factor, expect in ((1 - 1e-9, set()), (1 + 1e-9, {14})):
        p = pars.copy()
        p[25] = mean_w * factor  # post-run EDCs read p25 only in EDC 14
        assert _post("809", pixel, p, pools, fluxes, diag=True)[1] == expect


@pytest.mark.parametrize("case,pool,bound", [("dalec400_fire", 5, 2e5), ("dalec809", 6, 1e4)])
def test_mean_pool_against_prior_max_of_initial_value(case, pool, bound):
    pixel, pars, pools, fluxes = _case(case)
    n_states = pools.shape[1]
    for factor, expect in ((1 - 1e-9, set()), (1 + 1e-9, {35})):
        p = pools.copy()
        # move one unsampled state so that the mean lands just below / above the bound
        p[pool, 5] += bound * factor * n_states - p[pool].sum()
        assert _post(CASES[case], pixel, pars, p, fluxes, diag=True)[1] == expect


def test_names_and_registry():
    assert set(EDCS) == {"400", "809", "811", "1005"}
    assert EDCS["811"] == (edc_pre_811, edc_post_811)
    assert set(EDC_NAMES["400"]) == {1, 2, 3, 4, 5, 6, *range(7, 13), 35, *range(36, 42)}
    assert set(EDC_NAMES["811"]) == {*range(1, 16), 35, *range(36, 43)}
    assert set(EDC_NAMES["1005"]) == {*range(1, 17), 35, *range(36, 44)}
    assert EDC_NAMES["809"] is EDC_NAMES["811"]


def test_bad_shapes_are_reported():
    pixel, pars, pools, fluxes = _case("dalec400_fire")
    with pytest.raises(ValueError, match="fluxes must be"):
        edc_report("400", pars, pools, fluxes[:, :-1], pixel)
    with pytest.raises(ValueError, match="pools must be"):
        edc_report("400", pars, pools.T, fluxes, pixel)


# ------------------------------------------------------------- CARDAMOM's own posterior


def test_cardamom_posterior_passes_all_edcs():
    cbr = shared_path("data", "cardamom-examples", "binary", "CARDAMOM_DATA_DRIVERS_EXAMPLE.cbr")
    pixel = drivers.read_cbf(REPO / "tests" / "data" / "CARDAMOM_DATA_DRIVERS_EXAMPLE.cbf")
    samples = np.fromfile(cbr, dtype="<f8").reshape(-1, 33)
    model = dalec.get_model("809")
    forcing, site = prepare(model, pixel)
    n = forcing.shape[1]
    pools = np.empty((len(samples), 7, n + 1))
    fluxes = np.empty((len(samples), 30, n))
    model.ensemble_kernel(forcing, site, np.ascontiguousarray(samples), pools, fluxes)
    passed = [
        edc_passfail("809", samples[s], pools[s], fluxes[s], pixel).all()
        for s in range(len(samples))
    ]
    assert len(passed) == 2000 and all(passed)
    # and the EDCs are not vacuous: the same number of prior draws all fail somewhere
    lo, hi = model.bounds.T
    draws = np.exp(np.log(lo) + np.random.default_rng(7).random(samples.shape) * np.log(hi / lo))
    with np.errstate(all="ignore"):
        model.ensemble_kernel(forcing, site, draws, pools, fluxes)
    assert not any(
        edc_passfail("809", draws[s], pools[s], fluxes[s], pixel).all() for s in range(len(draws))
    )



def _edge_checks():
    """C semantics at the edges; run jitted and as plain Python."""
    from mdf.edc.jpl import _div, _log, _off_steady_state

    assert _div(1.0, 0.0) == math.inf and _div(-1.0, 0.0) == -math.inf
    assert math.isnan(_div(0.0, 0.0))
    assert _log(0.0) == -math.inf and math.isnan(_log(-1.0))
    log2 = math.log(2.0)
    assert not _off_steady_state(0.0, 0.0, 1.0, 1.0, log2)  # R_m = 0/0: NaN passes, as in C
    assert _off_steady_state(1.0, 0.0, 1.0, 1.0, log2)  # R_m = inf
    assert _off_steady_state(0.0, 1.0, 1.0, 1.0, log2)  # R_m = 0: |ln 0| = inf
    for case, name in CASES.items():
        pixel, pars, _, _ = load_case(case)
        pools, fluxes = _run(name, pixel, pars)
        pools[1, 30] = np.nan
        pools[3, 40] = -1.0
        expected = read_csv(HERE / case / "edc_passfail.csv")[1][:, 1].astype(np.int64)
        expected[[36, 38]] = 0
        np.testing.assert_array_equal(edc_passfail(name, pars, pools, fluxes, pixel), expected)


def test_edge_semantics_jitted():
    _edge_checks()


_NOJIT = "from tests.mdf.test_edc_jpl import _edge_checks; _edge_checks()"


def test_pure_python_edcs():
    """The EDC functions run as plain Python (NUMBA_DISABLE_JIT=1) with the same results."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", _NOJIT], check=True, env=env, cwd=REPO)


@pytest.mark.parametrize("name", ["400", "811"])
def test_graded_violation_is_zero_exactly_where_every_edc_passes(name):
    """The start search's slope: > 0 for runs that fail any EDC (prior draws on the bundled
    FI-Hyy site; the passing side is checked at found start points below)."""
    from mdf.posterior import Problem

    pixel = drivers.read(drivers.data_path("flux_site_76.cbf"))
    problem = Problem(pixel, name)
    violation = problem.hooks.violation
    rng = np.random.default_rng(4)
    seen = {True: 0, False: 0}
    for _ in range(400):
        pars = problem.space.from_normalised(rng.uniform(size=problem.space.ndim))
        pools, fluxes = _run(name, pixel, pars)
        flags = np.ones(100, dtype=np.int64)
        problem.hooks.pre(pars, problem.edc_data, flags, True)
        problem.hooks.post(pars, pools, fluxes, problem.edc_data, flags, True)
        passes = bool(flags.all())
        v = violation(pars, pools, fluxes, problem.edc_data)
        assert v >= 0.0 and math.isfinite(v)
        assert (v == 0.0) == passes, (flags.nonzero(), v)
        seen[passes] += 1
    assert seen[False] > 0


@pytest.mark.slow
def test_guided_search_starts_pass_every_edc_with_zero_violation():
    from mdf.posterior import Problem
    from mdf.rng import chain_states
    from mdf.start import find_start

    pixel = drivers.read(drivers.data_path("flux_site_76.cbf"))
    problem = Problem(pixel, "811")
    x0, lp0, used = find_start(problem, chain_states(5, 2), threads=2)
    assert np.all(np.isfinite(lp0))
    for x in x0:
        assert problem._edc_score(x, problem.ctx, problem.scratch()) == 0.0
        assert problem._edc_guided(x, problem.ctx, problem.scratch()) == 0.0
        pars = problem.space.from_normalised(x)
        pools, fluxes = _run("811", pixel, pars)
        assert problem.hooks.violation(pars, pools, fluxes, problem.edc_data) == 0.0


# ------------------------------------------------------ quick sums with C's outcomes


def _prior_runs(name, n, seed):
    """``n`` runs of log-uniform prior draws on the bundled FI-Hyy driver file."""
    model = dalec.get_model(name)
    pixel = drivers.read(REPO / "drivers" / "data" / "flux_site_76.cbf")
    bounds = model.bounds
    rng = np.random.default_rng(seed)
    for _ in range(n):
        pars = np.exp(np.log(bounds[:, 0]) + rng.random(len(bounds))
                      * np.log(bounds[:, 1] / bounds[:, 0]))
        yield pars, *_run(name, pixel, pars)


@pytest.mark.parametrize("name", ["400", "811"])
def test_quick_pool_means_decide_every_comparison_as_c_means(name):
    parmax, wilt_pool = (_PARMAX_400, -1) if name == "400" else (_PARMAX_811, 6)
    quick = 0
    for pars, pools, _ in _prior_runs(name, 300, 3):
        wilt = pars[25] if wilt_pool >= 0 else 0.0
        mq, bq = _post_means(pools, parmax, wilt, wilt_pool)
        mc, bc = _pool_scan(pools)
        assert np.array_equal(bq, bc)
        assert (mq[1] > 5.0 * mq[2] or 5.0 * mq[1] < mq[2]) == (
            mc[1] > 5.0 * mc[2] or 5.0 * mc[1] < mc[2])
        assert np.array_equal(mq > parmax, mc > parmax)
        if wilt_pool >= 0:
            assert (wilt > mq[6]) == (wilt > mc[6])
        quick += not np.array_equal(mq.view(np.int64), mc.view(np.int64))
    assert quick > 100  # most runs take the quick sums, so the test compares something


def test_pool_means_are_cs_when_a_comparison_is_close():
    pixel, pars, pools, fluxes = _case("dalec400_fire")
    p = pools.copy()
    p[1] *= 5.0 * p[2].sum() / p[1].sum()  # foliar mean = 5 root means, to rounding
    mq, bq = _post_means(p, _PARMAX_400, 0.0, -1)
    mc, bc = _pool_scan(p)
    assert np.array_equal(mq.view(np.int64), mc.view(np.int64)) and not bq.any()
    p[3, 7] = -1.0  # a negative state: C's means and flags
    mq, bq = _post_means(p, _PARMAX_400, 0.0, -1)
    mc, bc = _pool_scan(p)
    assert np.array_equal(mq.view(np.int64), mc.view(np.int64)) and np.array_equal(bq, bc)


@pytest.mark.parametrize("n_slots", [28, 30])
@pytest.mark.parametrize("fire", [True, False])
def test_flux_totals_are_the_sequential_sums_of_the_slots_the_budgets_read(n_slots, fire):
    fluxes = np.random.default_rng(n_slots).lognormal(0.0, 2.0, (n_slots, 192))
    if not fire:
        fluxes[16:28] = 0.0
        fluxes[20, 3] = -0.0
    tot = _flux_totals(fluxes)
    read = [3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, *range(17, 28)]
    read += [28, 29] if n_slots == 30 else []
    sequential = np.cumsum(fluxes, axis=1)[:, -1]  # left to right from the first step
    assert np.array_equal(tot[read].view(np.int64), sequential[read].view(np.int64))
