"""DALEC 1005 reproduces CARDAMOM v3's pools and fluxes (reference/jpl/dalec1005).

Physical runs (every prognostic pool finite and non-negative at every state) must agree in
every pool and flux slot to 1e-10 relative. A run that goes negative is chaotic from there
(negative water turns GPP negative, drainage runs away): it must agree to 1e-10 up to the
state before the reference's first negative or non-finite pool, and have the reference's
finite/non-finite pattern everywhere. The bundled FI-Hyy case runs on a fresh clone; the
three public sites of ../shared run when it is present.
"""

from __future__ import annotations

import filecmp

import numpy as np
import pytest

import dalec
import drivers
from tests.conftest import shared_path
from tests.dalec.reference import (
    HERE_1005,
    SHARED_1005,
    parameters_1005,
    run_1005,
    sites_1005,
    vectors_1005,
)

RTOL = 1e-10
MODEL = dalec.get_model("1005")
N_PROGNOSTIC = 8  # the stored LAI (pool 8) is a diagnostic


def _run(pixel, pars):
    out = dalec.run(MODEL, pixel, pars)
    pools = np.stack([out[name].values for name in MODEL.pools], axis=1)
    fluxes = np.stack([out[name].values for name in MODEL.fluxes], axis=1)
    return out, pools, fluxes


def _worst(actual, expected):
    """Largest relative difference where both are finite (exact zeros count as equal)."""
    both = np.isfinite(actual) & np.isfinite(expected)
    err = np.abs(actual - expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(both & (err > 0), err / np.abs(expected), 0.0)
    return float(rel.max(initial=0.0))


def check_vector(pixel, vector) -> float:
    """Assert one reference vector; return the worst relative difference compared."""
    ref_pools, ref_fluxes = run_1005(vector)
    out, pools, fluxes = _run(pixel, parameters_1005(vector))
    n_slots = len(MODEL.fluxes)
    assert pools.shape == ref_pools.shape and fluxes.shape == ref_fluxes[:, :n_slots].shape
    np.testing.assert_array_equal(np.isfinite(pools), np.isfinite(ref_pools), vector.name)
    np.testing.assert_array_equal(np.isfinite(fluxes), np.isfinite(ref_fluxes[:, :n_slots]),
                                  vector.name)
    bad = ~(ref_pools[:, :N_PROGNOSTIC] >= 0).all(axis=1)
    first = int(np.flatnonzero(bad)[0]) if bad.any() else ref_pools.shape[0]
    worst = 0.0
    for what, a, b in (
        ("pools", pools[:first], ref_pools[:first]),
        ("fluxes", fluxes[:first], ref_fluxes[:first, :n_slots]),
        # the derived columns: start-of-step LAI and NBE including fire
        ("lai", out["lai"].values[:first], ref_fluxes[:first, n_slots]),
        ("nee", out["nee"].values[:first], ref_fluxes[:first, n_slots + 2]),
    ):
        w = _worst(a, b)
        assert w <= RTOL, f"{vector.parent.name}/{vector.name}: {what} differ by {w:.2e}"
        worst = max(worst, w)
    return worst


def _bundled_runs():
    return [v.name for v in vectors_1005(HERE_1005) if (v / "pools.csv").exists()]


@pytest.mark.parametrize("name", _bundled_runs())
def test_bundled_runs_match_reference(name):
    pixel = drivers.read(HERE_1005 / "input.cbf.nc")
    check_vector(pixel, HERE_1005 / name)


def test_bundled_cases_cover_a_valid_and_a_runaway_run():
    names = _bundled_runs()
    assert "sitemcmc_500" in names and "prior_2" in names
    pools, _ = run_1005(HERE_1005 / "prior_2")
    assert not np.isfinite(pools).all()  # the runaway water bucket


def test_every_shared_run_matches_reference():
    root = shared_path(*SHARED_1005)
    n = 0
    for site in sites_1005(root):
        pixel = drivers.read(site / "input.cbf.nc")
        for vector in vectors_1005(site):
            check_vector(pixel, vector)
            n += 1
    assert n == 21


def test_bundled_copies_match_shared_reference():
    root = shared_path(*SHARED_1005) / "site76_FI-Hyy"
    for path in HERE_1005.rglob("*"):
        if path.is_file():
            rel = path.relative_to(HERE_1005)
            assert filecmp.cmp(path, root / rel, shallow=False), rel


def test_initial_state_and_stored_lai():
    pixel = drivers.read(HERE_1005 / "input.cbf.nc")
    pars = parameters_1005(HERE_1005 / "sitemcmc_500")
    out, pools, _ = _run(pixel, pars)
    np.testing.assert_array_equal(pools[0, :8], pars[[17, 18, 19, 20, 21, 22, 26, 35]])
    assert pools[0, 8] == pars[18] / pars[16]
    # the LAI that drives GPP in step n is the stored state n: C_fol/LCMA after step n-1
    np.testing.assert_array_equal(out["lai"].values, pools[:-1, 8])
    np.testing.assert_array_equal(pools[:, 8], pools[:, 1] / pars[16])


def test_ensemble_equals_single_runs():
    pixel = drivers.read(HERE_1005 / "input.cbf.nc")
    vectors = [parameters_1005(v) for v in vectors_1005(HERE_1005)]
    many = dalec.run(MODEL, pixel, np.array(vectors), threads=2)
    for s, pars in enumerate(vectors):
        one = dalec.run(MODEL, pixel, pars)
        for name in ("c_som", "h2o_puw", "lai_state", "paw_to_puw", "fire"):
            np.testing.assert_array_equal(many[name].values[s], one[name].values)


def test_reference_means_are_cardamom_v3s():
    """v3 forms each driver mean as one running sum of x/N (likelihood.csv has them)."""
    from dalec.models.dalec1005 import reference_means
    from tests.dalec.reference import likelihood_1005

    pixel = drivers.read(HERE_1005 / "input.cbf.nc")
    ref = likelihood_1005(HERE_1005 / "sitemcmc_500")
    t_mean, p_mean = reference_means(pixel["tmin"].values, pixel["tmax"].values,
                                     pixel["precip"].values)
    assert t_mean == float(ref["meantemp_degC"])
    assert p_mean == float(ref["meanprec_mmd"])


def test_aliases_and_parameter_box():
    model = dalec.get_model("DALEC_1005")
    assert model is MODEL and model.n_parameters == 37
    assert (len(model.pools), len(model.fluxes)) == (9, 32)
    lo, hi = model.bounds.T
    # PARS_INFO_1005.c's doubles
    assert (lo[0], lo[5], lo[8], lo[13], lo[15], lo[11], hi[11]) == (
        0.00001, 0.000025, 0.0000001, 30.4375, 30.4375, 365.25, 1461.0)
    assert (lo[23], hi[23], lo[33], hi[34], hi[35], lo[36], hi[36]) == (
        0.5, 30.0, 0.01, 100000.0, 10000.0, 0.01, 0.3)


def test_parameter_box_is_the_reference_box():
    import csv

    with open(HERE_1005 / "sitemcmc_500" / "parameters.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == MODEL.n_parameters
    for p, row in zip(MODEL.parameters, rows, strict=True):
        assert (p.min, p.max) == (float(row["prior_min"]), float(row["prior_max"])), row["name"]
        assert p.log


@pytest.mark.parametrize("first, second", [("sitemcmc_500", "sitemcmc_999"),
                                           ("sitemcmc_500", "prior_2"),
                                           ("prior_4", "sitemcmc_999"),
                                           ("prior_2", "prior_4"),
                                           ("prior_5", "prior_1")])
@pytest.mark.parametrize("burned", [False, True], ids=["no_fire", "fire"])
def test_pair_kernel_is_the_kernel_twice_bit_for_bit(first, second, burned):
    """Also where one or both runs stop being finite (the runaway bucket), at different
    steps, and with burned area."""
    from dalec.api import prepare

    pixel = drivers.read(HERE_1005 / "input.cbf.nc")
    if burned:
        pixel = pixel.assign(burned_area=pixel["burned_area"] * 0 + 0.01)
    forcing, site = prepare(MODEL, pixel, {})
    runs = [parameters_1005(HERE_1005 / name) for name in (first, second)]
    n = forcing.shape[1]
    single = [(np.empty((9, n + 1)), np.zeros((32, n))) for _ in range(2)]
    for p, (pools, fluxes) in zip(runs, single, strict=True):
        MODEL.kernel(forcing, site, p, pools, fluxes)
    pools = np.empty((2, 9, n + 1))
    fluxes = np.full((2, 32, n), np.nan)
    MODEL.pair_kernel(forcing, site, runs[0], runs[1], pools[0], pools[1], fluxes[0], fluxes[1])
    for k in range(2):
        np.testing.assert_array_equal(pools[k], single[k][0])
        np.testing.assert_array_equal(fluxes[k], single[k][1])
    if not burned and second == "prior_2":
        assert not np.isfinite(pools[1]).all() and np.isfinite(pools[0]).all()
