"""The Edinburgh cost function of DALEC.4 and DALEC.C1, recomputed by hand with numpy.

Each term of ``mdf.log_posterior`` is compared with the same term written out here from
``MODEL_LIKELIHOOD.f90`` (GCEL/CARDAMOM commit 36267339): LAI from mid-step foliage / LCA, NEE
without fire, ET, stocks at mid-step, annual mean + anomaly GPP, Gaussian parameter priors
with weights, the "other priors", and the per-stream cost scaling.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import dalec
import drivers
import mdf
from drivers.options import Constraint, set_constraint
from mdf.space import ParameterSpace
from tests.conftest import REPO, shared_path

FI_HYY = REPO / "drivers" / "data" / "fi-hyy"
#: vector 1 of ../shared/reference/gcel/d4_FI-Hyy_mcmc_parameters.csv (a cardamom.exe chain on
#: FI-Hyy; passes every EDC)
D4_VECTOR = np.array([
    0.0005740633188236209, 0.6524180471919255, 0.20009343875579755, 0.1589446617044905,
    4.248818575914227, 0.00012251753421979939, 0.001609353586180428, 0.018005663671568573,
    4.475384441249365e-05, 0.03968872059651706, 33.61723340009053, 728.2648450718693,
    0.10565733795986376, 26.09546326578608, 629.0970390426278, 117.25584348768392,
    164.81352950411744, 1.56576896330433, 391.0774406256511, 92.81088110356754,
    5513.609392217139, 28.862089325671786, 10546.196747855889, 0.7276371064688074,
    0.28495918194422065, 596.1319368190942, 9.970852417252324, 0.24054681701780398,
    0.050666595858780736, 0.02593166620722582, 0.019558154663840026, 0.2016918867541416,
])
SCALE = {"none": lambda n: 1.0, "n": lambda n: 1.0 / n, "sqrt_n": lambda n: 1.0 / math.sqrt(n),
         "log_n": lambda n: 1.0 / (1.0 + math.log(n))}


def as_sampled(model, pars):
    """The vector as the log-posterior sees it: through the normalised space and back (the
    1e-16 round-off of exp(ln p) grows to ~1e-9 in DALEC.4's iterative solvers)."""
    space = ParameterSpace(dalec.get_model(model))
    return space.from_normalised(space.to_normalised(pars))


def run(model, pixel, pars):
    """Pools (P, N+1) and fluxes (F, N) of one run, by name."""
    out = dalec.run(model, pixel, pars)
    m = dalec.get_model(model)
    pools = {p: out[p].values.ravel() for p in m.pools}
    fluxes = {f: out[f].values.ravel() for f in m.fluxes}
    return pools, fluxes


def observed(pixel, stream):
    obs = pixel[f"{stream}_obs"].values
    ok = np.isfinite(obs) & (obs > -9998)
    return np.flatnonzero(ok), obs[ok], pixel[f"{stream}_obs_unc"].values[ok]


def pointwise(pixel, stream, model_series, scale):
    idx, obs, unc = observed(pixel, stream)
    return -0.5 * np.sum(((model_series[idx] - obs) / unc) ** 2) * SCALE[scale](idx.size)


def annual_anomaly(pixel, stream, model_series, scale, per_year=12):
    """Per year (blocks of 12 months from the start): the annual-mean residual and the
    anomaly residuals, all with the year's sqrt(Σσ²)/n."""
    idx, obs, unc = observed(pixel, stream)
    chi2 = 0.0
    for y in range(idx.max() // per_year + 1):
        sel = (idx // per_year) == y
        if not sel.any():
            continue
        m, o = model_series[idx[sel]], obs[sel]
        s = np.sqrt(np.sum(unc[sel] ** 2)) / sel.sum()
        chi2 += ((m.mean() - o.mean()) / s) ** 2
        chi2 += np.sum((((m - m.mean()) - (o - o.mean())) / s) ** 2)
    return -0.5 * chi2 * SCALE[scale](idx.size)


def mid(x):
    return 0.5 * (x[:-1] + x[1:])


def nee(f):
    return -f["gpp"] + f["ra"] + f["rh_litter"] + f["rh_som"]


@pytest.mark.shared
@pytest.mark.parametrize("scale", ["sqrt_n", "none"])
def test_fi_hyy_bin_dalec4(scale):
    """The binary input cardamom.exe ran (LAI, NEE, ET, Cwood; Ra:GPP, Ceff, initial SOM and
    soil combustion priors; ET/precipitation prior with weight 16), each term and the total."""
    pixel = drivers.read(shared_path("data", "cardamom-examples", "edinburgh-bin",
                                     "d4_FI-Hyy.bin"))
    p = as_sampled("DALEC.4", D4_VECTOR)
    pools, f = run("DALEC.4", pixel, p)
    expected = {
        "lai": pointwise(pixel, "lai", mid(pools["c_foliar"]) / p[16], scale),
        "nee": pointwise(pixel, "nee", nee(f), scale),
        "et": pointwise(pixel, "et", f["et"], scale),
        "cwood": pointwise(pixel, "cwood", mid(pools["c_wood"]), scale),
    }
    # parameter priors: slots 2, 11, 23, 31 (Ra:GPP, Ceff, initial SOM, soil combustion)
    for name, i, value, unc in (("prior_f_auto", 1, 0.54, 0.12),
                                ("prior_ceff", 10, 21.1491, 8.534234),
                                ("prior_c_som_0", 22, 17347.0, 4551.80651702926),
                                ("prior_cf_som", 30, 0.01, 0.05)):
        expected[name] = -0.5 * ((p[i] - value) / unc) ** 2
    ratio = f["et"].sum() / pixel["precip"].values.sum()
    expected["et_precip_ratio"] = -0.5 * 16.0 * ((ratio - 0.66) / 0.12) ** 2
    got = mdf.log_posterior(pixel, "DALEC.4", p, scaling=scale)
    assert set(got) == set(expected) | {"total"}
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-12), name
    assert got["total"] == pytest.approx(sum(expected.values()), rel=1e-12)
    if scale == "sqrt_n":  # sqrt(n) shrinks 119 LAI and 189 NEE/ET residuals the most
        assert got["lai"] == pytest.approx(-173.93358 / math.sqrt(119), rel=1e-6)


def test_fi_hyy_site_dalec4_annual_gpp_and_other_priors():
    """The bundled site CSVs read with the Edinburgh rules (GPP assimilated as annual means
    plus anomalies), the initial-SOM prior, and the soil-water and wood steady-state priors."""
    pixel = drivers.read(FI_HYY)
    assert pixel.attrs["uncertainty_policy"] == "edinburgh"
    set_constraint(pixel, Constraint("other_prior_1", 0.35, 0.05, weight=2.0))
    set_constraint(pixel, Constraint("other_prior_5", 6000.0, 1500.0, weight=0.5))
    p = as_sampled("DALEC.4", D4_VECTOR)
    scale = "log_n"
    pools, f = run("DALEC.4", pixel, p)
    w0 = pools["h2o_surface"][0] * 1e-3 / 0.30
    wood_ss = f["alloc_wood"].mean() * np.mean(
        pools["c_wood"][:-1] / (f["wood_turnover"] + f["fire_kill_wood"]))
    expected = {
        "gpp": annual_anomaly(pixel, "gpp", f["gpp"], scale),
        "reco": pointwise(pixel, "reco", f["ra"] + f["rh_litter"] + f["rh_som"], scale),
        "lai": pointwise(pixel, "lai", mid(pools["c_foliar"]) / p[16], scale),
        "nee": pointwise(pixel, "nee", nee(f), scale),
        "et": pointwise(pixel, "et", f["et"], scale),
        "cwood": pointwise(pixel, "cwood", mid(pools["c_wood"]), scale),
        "initial_som": -0.5 * ((p[22] - 17347.0) / 4551.80651702926) ** 2,
        "initial_soil_water": -0.5 * 2.0 * ((w0 - 0.35) / 0.05) ** 2,
        "wood_steady_state": -0.5 * 0.5 * ((wood_ss - 6000.0) / 1500.0) ** 2,
    }
    got = mdf.log_posterior(pixel, "DALEC.4", p, scaling=scale)
    assert set(got) == set(expected) | {"total"}
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-12), name
    assert got["total"] == pytest.approx(sum(expected.values()), rel=1e-12)
    # the annual grouping matters: pointwise GPP would be another number
    point = pointwise(pixel, "gpp", f["gpp"], scale)
    assert abs(point - got["gpp"]) > 1e-3 * abs(point)


def test_negative_mid_step_foliage_at_an_lai_step_is_rejected():
    from mdf.terms.gcel import evaluate

    pools = np.ones((7, 5))
    fluxes = np.ones((49, 4))
    data = np.array([0.0, 2.0, 1.0, 3.0])  # no other priors; LAI observed at steps 1 and 3
    assert evaluate(np.ones(32), pools, fluxes, data, np.zeros(1), 0) == 0.0
    pools[1, 4] = -1.5  # mid-step foliage of step 3: (1 - 1.5)/2 < 0
    assert evaluate(np.ones(32), pools, fluxes, data, np.zeros(1), 0) == -math.inf
    pools[1, 4] = 1.0
    pools[1, 1] = -3.0  # step 0 is not observed; step 1 is: (-3 + 1)/2 < 0
    assert evaluate(np.ones(32), pools, fluxes, data, np.zeros(1), 0) == -math.inf


@pytest.mark.shared
def test_br_sa1_bin_c1_and_ra_gpp_prior():
    """C1 on the BR-Sa1 binary (LAI, NEE and three parameter priors), plus the C1-only Ra:GPP
    other prior (slot 1, weight ignored as in the C1 Fortran); an ET/precipitation prior is
    not C1's and is not scored."""
    pixel = drivers.read(shared_path("data", "cardamom-examples", "edinburgh-bin",
                                     "c1_BR-Sa1.bin"))
    set_constraint(pixel, Constraint("other_prior_1", 0.5, 0.1, weight=7.0))
    set_constraint(pixel, Constraint("et_precip_ratio", 0.6, 0.1))
    header = Path(shared_path("reference", "gcel", "c1_BR-Sa1_mcmc_parameters.csv"))
    p = as_sampled("C1", np.genfromtxt(header, delimiter=",", skip_header=1)[0, 1:])
    pools, f = run("C1", pixel, p)
    with pytest.warns(UserWarning, match="et_precip_ratio"):
        got = mdf.log_posterior(pixel, "C1", p, scaling="sqrt_n")
    assert got["lai"] == pytest.approx(
        pointwise(pixel, "lai", mid(pools["c_foliar"]) / p[16], "sqrt_n"), rel=1e-12)
    assert got["nee"] == pytest.approx(pointwise(pixel, "nee", nee(f), "sqrt_n"), rel=1e-12)
    ratio = f["ra"].sum() / f["gpp"].sum()
    assert got["ra_gpp_ratio"] == pytest.approx(-0.5 * ((ratio - 0.5) / 0.1) ** 2, rel=1e-12)
    assert "et_precip_ratio" not in got
    priors = [k for k in got if k.startswith("prior_")]
    assert len(priors) == 3
    assert got["total"] == pytest.approx(sum(v for k, v in got.items() if k != "total"),
                                         rel=1e-12)


@pytest.mark.shared
def test_site_read_gives_the_uncertainties_cardamom_ran_with():
    """drivers.read applies the Edinburgh rules to the site CSVs; the likelihood then scores
    exactly what the binary file (written by the Edinburgh R code) gave cardamom.exe."""
    site = drivers.read(FI_HYY)
    binary = drivers.read(shared_path("data", "cardamom-examples", "edinburgh-bin",
                                      "d4_FI-Hyy.bin"))
    for stream in ("lai", "nee", "et", "cwood"):
        idx, obs, unc = observed(site, stream)
        idx_b, obs_b, unc_b = observed(binary, stream)
        np.testing.assert_array_equal(idx, idx_b)
        np.testing.assert_array_equal(obs, obs_b)
        np.testing.assert_array_equal(unc, unc_b)
    streams = ("lai", "nee", "et", "cwood")
    a = mdf.log_posterior(site, "DALEC.4", D4_VECTOR, scaling="sqrt_n")
    b = mdf.log_posterior(binary, "DALEC.4", D4_VECTOR, scaling="sqrt_n")
    for s in streams:  # the drivers differ in the last bits (unit conversions on reading)
        assert a[s] == pytest.approx(b[s], rel=1e-9)
