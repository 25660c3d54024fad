"""Edinburgh EDCs of DALEC.C1 and DALEC.4 (mdf.edc.gcel) against the Fortran's verdicts.

The reference verdicts (../shared/reference/gcel/*_edc.csv) are ``assess_EDC1`` and
``assess_EDC2`` of GCEL/CARDAMOM commit 36267339 in diagnostic mode (every check evaluated);
``failed_checks`` lists the indices of the Fortran's PASSFAIL array that are 0.
"""

from __future__ import annotations

import numpy as np
import pytest

import dalec
import mdf
from dalec.api import prepare
from mdf.edc import gcel
from mdf.edc.hooks import hooks_for
from tests.conftest import shared_path
from tests.dalec.test_edinburgh_models import load_pixel, load_reference

CASES = {
    "c1_BR-Sa1": "C1",
    "c1_BR-Sa1_mcmc": "C1",
    "d4_FI-Hyy_draws": "DALEC.4",
    "d4_FI-Hyy_mcmc": "DALEC.4",
}


def reference_verdicts(tag):
    """Per vector: (EDC1 pass, EDC2 pass, set of failed PASSFAIL indices)."""
    lines = (shared_path("reference", "gcel") / f"{tag}_edc.csv").read_text().splitlines()
    out = []
    for line in lines[1:]:
        cols = line.split(",")
        out.append((cols[1] == "1", cols[2] == "1", {int(v) for v in cols[5].split()}))
    return out


def our_verdicts(tag, som_outflow_constant):
    model = dalec.get_model(CASES[tag])
    pixel = load_pixel(tag)
    pars, _, _ = load_reference(tag)
    forcing, site = prepare(model, pixel)
    data = gcel.edc_data(model, pixel, som_outflow_constant=som_outflow_constant)
    out = []
    for p in pars:
        pools = np.empty((len(model.pools), forcing.shape[1] + 1))
        fluxes = np.zeros((len(model.fluxes), forcing.shape[1]))
        model.kernel(forcing, site, p, pools, fluxes)
        flags = gcel.edc_passfail(model, p, pools, fluxes, data)
        failed = set((np.flatnonzero(flags == 0) + 1).tolist())
        out.append((all(k > 8 for k in failed), all(k <= 8 for k in failed), failed))
    return out


@pytest.mark.shared
@pytest.mark.parametrize("tag", sorted(CASES))
def test_verdicts_match_fortran_with_its_som_typo(tag):
    """With the Fortran's literal 36 in DALEC.4's SOM outflow, every check of every vector
    (20 per case) is what the Fortran says."""
    ref = reference_verdicts(tag)
    ours = our_verdicts(tag, 36.0)
    assert len(ours) == len(ref) == 20
    for s, (a, b) in enumerate(zip(ours, ref, strict=True)):
        assert a == b, f"{tag} vector {s + 1}: ours {sorted(a[2])}, Fortran {sorted(b[2])}"


@pytest.mark.shared
@pytest.mark.parametrize("tag", sorted(CASES))
def test_verdicts_without_the_typo_differ_only_in_som_drift(tag):
    """The default (flux 36, as intended) changes only EDC 25 (SOM drift), and only where the
    constant 36 g m-2 decides it: 1 of 20 vectors in each DALEC.4 case, none in C1."""
    ref = reference_verdicts(tag)
    ours = our_verdicts(tag, 0.0)
    changed = [s for s, (a, b) in enumerate(zip(ours, ref, strict=True)) if a[2] != b[2]]
    for s in changed:
        assert ours[s][2] ^ ref[s][2] == {25}
    assert len(changed) == (1 if CASES[tag] == "DALEC.4" else 0)


@pytest.mark.shared
def test_problem_uses_the_hooks():
    """mdf.edc_report and the log-posterior see the same verdicts as the direct calls."""
    tag = "d4_FI-Hyy_draws"
    pixel = load_pixel(tag)
    pars, _, _ = load_reference(tag)
    ref = reference_verdicts(tag)
    for s in (2, 6):  # vectors 3 and 7 pass EDC1 and fail EDC2 only on drift checks
        report = mdf.edc_report(pixel, "DALEC.4", pars[s])
        failed = {k for k, ok in report.items() if not ok}
        assert failed - {25} == ref[s][2] - {25}
        assert mdf.log_posterior(pixel, "DALEC.4", pars[s])["total"] == -np.inf
    pixel = load_pixel("d4_FI-Hyy_mcmc")
    pars, _, _ = load_reference("d4_FI-Hyy_mcmc")
    assert all(mdf.edc_report(pixel, "DALEC.4", pars[0]).values())
    assert np.isfinite(mdf.log_posterior(pixel, "DALEC.4", pars[0])["total"])


def test_names_cover_every_flag_and_hooks_registered():
    for name, names in (("C1", gcel.EDC_NAMES_C1), ("DALEC.4", gcel.EDC_NAMES_D4)):
        hooks = hooks_for(dalec.get_model(name))
        assert hooks is not None and hooks.names is names
        assert max(names) <= hooks.n_flags
    assert set(range(1, 10)) <= set(gcel.EDC_NAMES_C1)
    assert {10, 35, 62, 63, 111} <= set(gcel.EDC_NAMES_D4)


def _toy_run(model_name, n_years=4):
    """A steady, finite run of constant fluxes (every carbon pool in balance)."""
    model = dalec.get_model(model_name)
    n = 12 * n_years
    dt = np.full(n, 365.25 / 12)
    pars = model.bounds.mean(axis=1)
    pools = np.full((len(model.pools), n + 1), 100.0)
    fluxes = np.full((len(model.fluxes), n), 1.0)
    pixel = {"tmin": np.zeros(n), "tmax": np.full(n, 10.0), "deltat": dt}
    return model, pars, pools, fluxes, gcel.edc_data(model, pixel)


@pytest.mark.parametrize("name", ["C1", "DALEC.4"])
def test_nan_and_negative_pools_and_fluxes(name):
    model, pars, pools, fluxes, data = _toy_run(name)
    post = hooks_for(model).post
    base = gcel.edc_passfail(model, pars, pools, fluxes, data)
    bad = pools.copy()
    bad[3, 5] = np.nan  # one NaN in the wood pool is enough (gfortran's minval would skip it)
    flags = gcel.edc_passfail(model, pars, bad, fluxes, data)
    first_pool_flag = 36 if name == "C1" else 56
    assert base[first_pool_flag + 3 - 1] == 1 and flags[first_pool_flag + 3 - 1] == 0
    bad = pools.copy()
    bad[0, 7] = -1e-9
    assert gcel.edc_passfail(model, pars, bad, fluxes, data)[first_pool_flag - 1] == 0
    # production mode stops at the first failure and flags only that one
    flags = np.ones(gcel.N_FLAGS, dtype=np.int64)
    assert not post(pars, bad, fluxes, data, flags, False)
    assert (flags == 0).sum() == 1
    if name == "DALEC.4":
        # flux checks run past the Fortran's 100 flags: slot 45 (drainage) is EDC 107
        f = fluxes.copy()
        f[44, 3] = np.inf
        assert gcel.edc_passfail(model, pars, pools, f, data)[107 - 1] == 0
        # the final state is not checked (the Fortran's M_POOLS(1:nodays, n))
        bad = pools.copy()
        bad[2, -1] = -5.0
        assert gcel.edc_passfail(model, pars, bad, fluxes, data)[58 - 1] == 1


def test_edc1_conditions():
    model = dalec.get_model("DALEC.4")
    data = np.array([10.0, 16.0, 12.0, 0.0])
    pars = model.bounds.mean(axis=1)
    pars[7], pars[8], pars[0] = 0.01, 1e-5, 0.005  # litter, SOM, litter->SOM
    pars[28:32] = (0.8, 0.5, 0.05, 0.6)  # fol >= lig >= som; litter >= lig
    pars[5], pars[4] = 1e-4, 2.0  # wood 1e-4 <= 1/(2 x 365.25)
    pars[6] = 0.01
    pars[1], pars[2], pars[12], pars[3] = 0.5, 0.2, 0.1, 0.4
    flags = np.ones(gcel.N_FLAGS, dtype=np.int64)
    assert gcel.edc_pre_d4(pars, data, flags, True), np.flatnonzero(flags == 0) + 1
    # root turnover 1e-5 < SOM turnover 1e-5 x e^(Θ·10) (outside the prior box; the EDC
    # functions do not look at the box)
    for index, value, edc in ((8, 0.02, 1), (0, 1e-6, 2), (5, 0.002, 3), (6, 1e-5, 4),
                              (29, 0.9, 6), (30, 0.6, 7), (31, 0.4, 8)):
        p = pars.copy()
        p[index] = value
        flags = np.ones(gcel.N_FLAGS, dtype=np.int64)
        assert not gcel.edc_pre_d4(p, data, flags, True)
        assert edc in set(np.flatnonzero(flags == 0) + 1), edc


def test_dalec4_violation_is_zero_exactly_where_every_edc_passes():
    """The graded distance that guides the start search: 0 for passing runs, > 0 for runs
    that fail any EDC (prior draws on the bundled FI-Hyy drivers), never a verdict."""
    import drivers
    from mdf.posterior import Problem

    problem = Problem(drivers.read(drivers.data_path("fi-hyy")), "DALEC.4")
    assert problem.hooks.violation is gcel.edc_violation_d4
    model = problem.model
    pools = np.empty((len(model.pools), problem.n_steps + 1))
    fluxes = np.zeros((len(model.fluxes), problem.n_steps))
    rs = np.random.default_rng(0)
    draws = problem.space.from_normalised(rs.uniform(size=(120, problem.space.ndim)))
    n_pass = 0
    for p in draws:
        model.kernel(problem.forcing, problem.site, p, pools, fluxes)
        flags = gcel.edc_passfail(model, p, pools, fluxes, problem.edc_data)
        v = gcel.edc_violation_d4(p, pools, fluxes, problem.edc_data)
        assert v >= 0.0 and np.isfinite(v)
        assert (v == 0.0) == bool(flags.all()), np.flatnonzero(flags == 0) + 1
        n_pass += bool(flags.all())
    assert n_pass < len(draws)
    x0, lp0, _ = mdf.start.find_start(problem, mdf.rng.chain_states(1, 1))
    pars = problem.space.from_normalised(x0)[0]
    model.kernel(problem.forcing, problem.site, pars, pools, fluxes)
    assert gcel.edc_passfail(model, pars, pools, fluxes, problem.edc_data).all()
    assert gcel.edc_violation_d4(pars, pools, fluxes, problem.edc_data) == 0.0
    assert np.isfinite(lp0[0])


def test_start_search_patience_restarts_a_stalled_attempt():
    """An attempt whose best score stops improving ends after ``patience`` iterations (a new
    prior draw follows); without patience it runs to ``max_iter``; a climbing score is not
    cut short."""
    from numba import njit

    from mdf.start import _search_for

    @njit
    def flat(x, ctx, scratch):
        return -5.0

    @njit
    def climbing(x, ctx, scratch):  # a slope without end: the best score keeps improving
        return -1e6 + 100.0 * (x[0] + x[1])

    rng = mdf.rng.chain_states(3, 1)[0]
    x, xp, spare = np.empty(2), np.empty(2), np.zeros(1)
    search = _search_for(flat, flat, True)
    assert search(x, rng, spare, 5000, 0.02, 0, 0, xp, 300) == (-np.inf, 300)
    assert search(x, rng, spare, 5000, 0.02, 0, 0, xp, 0) == (-np.inf, 5000)
    search = _search_for(climbing, climbing, True)
    _, used = search(x, rng, spare, 5000, 0.02, 0, 0, xp, 300)
    assert used == 5000  # still gaining when max_iter ends it


def test_dalec4_start_search_weights_and_patience():
    """DALEC.4's hooks weight the graded distance and restart stalled attempts; every chain
    of a seed that stalled on "max LAI <= 10" for over a minute before (seed 2) starts
    EDC-consistent."""
    import drivers
    from mdf.posterior import Problem

    problem = Problem(drivers.read(drivers.data_path("fi-hyy")), "DALEC.4")
    assert problem.hooks.search_weight > 1.0 and problem.hooks.search_patience > 0
    x0, lp0, used = mdf.start.find_start(problem, mdf.rng.chain_states(2, 2), threads=2)
    assert np.isfinite(lp0).all()
    for pars in problem.space.from_normalised(x0):
        assert all(problem.edc_report(pars).values())
