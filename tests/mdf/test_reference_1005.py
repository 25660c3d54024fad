"""DALEC 1005's EDC verdicts, likelihood terms and log-posterior match CARDAMOM v3's
(``DALEC_MLF``, ``EDC1_1005``/``EDC2_1005``; reference/jpl/dalec1005).

The pixel is the netCDF CBF v3 read (``input.cbf.nc``), or the binary FluxVal CBF mapped as
the reference did (:func:`drivers.as_cardamom_v3`). Every term is compared, also for
vectors that fail EDCs (the reference evaluated them on the run anyway): NaN where the
reference has NaN, otherwise within 1e-9 (relative above 1, absolute below). In a run whose
pools go negative rounding differences are amplified after the first negative state (see
tests/dalec/test_jpl_reference_1005.py); its terms that read pools from there on (ABGB at
step 179 of FI-Hyy prior_5: 6e-7 relative) are compared within 1e-5.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import drivers
from mdf import Problem, edc_report, log_posterior
from mdf.likelihood import _log_likelihood
from tests.conftest import shared_path
from tests.dalec.reference import (
    HERE_1005,
    SHARED_1005,
    failed_edcs_1005,
    likelihood_1005,
    parameters_1005,
    sites_1005,
    vectors_1005,
)

#: reference likelihood slots -> term names here (the other 24 slots are 0 at these sites)
TERMS = {"ABGB": "abgb", "ET": "et", "GPP": "gpp", "LAI": "lai", "NBE": "nbe",
         "PEQ_CUE": "cue", "PEQ_iniSOM": "initial_som"}
TOL = 1e-9


def _pixel(site, binary=False):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every stream and constraint must be scored
        if binary:
            return drivers.as_cardamom_v3(drivers.read(site / "input.cbf"))
        return drivers.read(site / "input.cbf.nc")


def _close(got, expected, tol):
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    if math.isinf(expected) or math.isinf(got):
        return got == expected
    return abs(got - expected) <= tol * max(1.0, abs(expected))


def check_vector(problem, vector) -> float:
    """Assert the terms, the total and the log-posterior of one vector; return the worst
    difference of a term of a physical run (relative above 1, absolute below)."""
    pars = parameters_1005(vector)
    ref = likelihood_1005(vector)
    _, pools, fluxes, series, terms, _ = problem.scratch()
    problem.model.kernel(problem.forcing, problem.site, pars, pools, fluxes)
    total = _log_likelihood(pars, pools, fluxes, *problem.likelihood.arrays(), series, terms)
    got = dict(zip(problem.likelihood.names, terms.tolist(), strict=False))
    physical = bool(np.all(pools[:8] >= 0))
    worst = 0.0
    for key, text in ref.items():
        if not key.startswith("logL_slot"):
            continue
        slot = key.split("_", 2)[2]
        expected = float(text)
        value = got[TERMS[slot]] if slot in TERMS else 0.0
        tol = TOL if physical or slot != "ABGB" else 1e-5
        assert _close(value, expected, tol), (vector.name, slot, value, expected)
        if physical and math.isfinite(expected):
            worst = max(worst, abs(value - expected) / max(1.0, abs(expected)))
    assert _close(total, float(ref["logL_obs_total"]), TOL), (vector.name, total)
    lp = problem.log_posterior_x(problem.space.to_normalised(pars))
    assert _close(lp, float(ref["logPost_DALEC_MLF"]), TOL), (vector.name, lp)
    return worst


def test_bundled_terms_and_log_posterior_match_reference():
    problem = Problem(_pixel(HERE_1005), "1005")
    assert problem.eqf == 2.0
    assert set(problem.likelihood.names) == set(TERMS.values())
    for vector in vectors_1005(HERE_1005):
        check_vector(problem, vector)


@pytest.mark.parametrize("binary", [False, True], ids=["netcdf", "binary"])
def test_every_shared_vector_matches_reference(binary):
    root = shared_path(*SHARED_1005)
    n = 0
    for site in sites_1005(root):
        problem = Problem(_pixel(site, binary), "1005")
        for vector in vectors_1005(site):
            check_vector(problem, vector)
            n += 1
    assert n == 21


def test_bundled_edc_verdicts_match_reference():
    pixel = _pixel(HERE_1005)
    seen = set()
    for vector in vectors_1005(HERE_1005):
        report = edc_report(pixel, "1005", parameters_1005(vector))
        failed = {k for k, ok in report.items() if not ok}
        assert failed == failed_edcs_1005(vector), vector.name
        seen |= failed
    assert {2, 5, 6, 13, 14, 15, 16, 36, 43} <= seen  # pre-run, steady-state, water, NaN


def test_every_shared_edc_verdict_matches_reference():
    root = shared_path(*SHARED_1005)
    for site in sites_1005(root):
        pixel = _pixel(site)
        for vector in vectors_1005(site):
            report = edc_report(pixel, "1005", parameters_1005(vector))
            failed = {k for k, ok in report.items() if not ok}
            assert failed == failed_edcs_1005(vector), (site.name, vector.name)


def test_binary_and_netcdf_pixels_score_the_same():
    """The binary FluxVal CBF mapped by as_cardamom_v3 is the netCDF file v3 read."""
    netcdf = _pixel(HERE_1005)
    # the bundled drivers/data/flux_site_76.cbf is the reference's input.cbf, byte for byte
    binary = drivers.as_cardamom_v3(drivers.read(drivers.data_path("flux_site_76.cbf")))
    pars = parameters_1005(HERE_1005 / "sitemcmc_500")
    a = log_posterior(netcdf, "1005", pars)
    b = log_posterior(binary, "1005", pars)
    assert a.keys() == b.keys()
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=1e-13, abs=1e-13), key
    # as read, the binary file's v2 prior is on f_auto, not on CUE = 1 - f_auto
    plain = log_posterior(drivers.read(drivers.data_path("flux_site_76.cbf")), "1005", pars)
    assert "cue" not in plain and "prior_f_auto" in plain
    assert plain["prior_f_auto"] != a["cue"]


def test_cue_constraint_scores_one_minus_f_auto():
    pars = parameters_1005(HERE_1005 / "sitemcmc_500")
    ref = likelihood_1005(HERE_1005 / "sitemcmc_500")
    got = log_posterior(_pixel(HERE_1005), "1005", pars)
    expected = -0.5 * ((math.log(1 - pars[1]) - math.log(0.5)) / math.log(1.5)) ** 2
    assert got["cue"] == pytest.approx(expected, rel=1e-14)
    assert got["cue"] == pytest.approx(float(ref["logL_slot20_PEQ_CUE"]), rel=1e-14)


def test_edc_eqf_scalar_sets_the_equilibrium_factor(tmp_path):
    """A netCDF CBF's EDC_EQF (FluxVal site 161: 10) replaces the default 2, as in v3."""
    import shutil

    import netCDF4

    path = tmp_path / "eqf.cbf.nc"
    shutil.copy(HERE_1005 / "input.cbf.nc", path)
    with netCDF4.Dataset(path, "a") as nc:
        nc.createVariable("EDC_EQF", "f8", ())[...] = 10.0
    problem = Problem(drivers.read(path), "1005")
    assert problem.eqf == 10.0
    assert problem.edc_data[3] == 10.0  # what the post-run EDCs read as EQF
    assert Problem(_pixel(HERE_1005), "1005").edc_data[3] == 2.0
