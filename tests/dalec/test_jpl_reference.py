"""DALEC 400 and 809 reproduce the CARDAMOM C code's pools and fluxes (reference/jpl)."""

from __future__ import annotations

import filecmp

import numpy as np
import pytest

import dalec
from tests.conftest import REFERENCE
from tests.dalec.reference import CASES, HERE, load_case

RTOL = 1e-10
ATOL = 1e-12


def _close(actual, expected):
    """Relative error <= 1e-10, absolute 1e-12 near zero; returns the worst offender."""
    err = np.abs(actual - expected)
    ok = (err <= RTOL * np.abs(expected)) | (err <= ATOL)
    return ok.all(), np.unravel_index(np.argmax(np.where(ok, 0, err)), err.shape)


@pytest.mark.parametrize("case", sorted(CASES))
def test_pools_and_fluxes_match_reference(case):
    pixel, pars, ref_pools, ref_fluxes = load_case(case)
    model = dalec.get_model(CASES[case])
    out = dalec.run(model, pixel, pars)
    pools = np.stack([out[name].values for name in model.pools], axis=1)
    fluxes = np.stack([out[name].values for name in model.fluxes], axis=1)
    assert pools.shape == ref_pools.shape
    ok, where = _close(pools, ref_pools)
    assert ok, f"pool {model.pools[where[1]]} at state {where[0]}"
    n_slots = len(model.fluxes)
    ok, where = _close(fluxes, ref_fluxes[:, :n_slots])
    assert ok, f"flux {model.fluxes[where[1]]} at step {where[0]}"
    # the two extra reference columns: start-of-step LAI and NEE including fire
    ok, _ = _close(out["lai"].values, ref_fluxes[:, n_slots])
    assert ok
    ok, _ = _close(out["nee"].values, ref_fluxes[:, n_slots + 1])
    assert ok


def test_811_equals_809_equations():
    pixel, pars, _, _ = load_case("dalec809")
    a = dalec.run("809", pixel, pars)
    b = dalec.run("811", pixel, pars)
    assert np.array_equal(a["nee"].values, b["nee"].values)
    model = dalec.get_model("811")
    bounds = dict(zip(model.parameter_names, model.bounds, strict=True))
    assert bounds["p_lab"][0] == pytest.approx(365.25 / 12)
    assert dalec.get_model("809").bounds[13, 0] == 10.0


def test_813_temperature_form_differs_only_in_temperature_factor():
    pixel, pars, _, _ = load_case("dalec809")
    a = dalec.run("811", pixel, pars)
    b = dalec.run("811", pixel, pars, options={"temperature_factor": "813"})
    t_mean = 23.4403741440  # reference likelihood.csv, meantemp_degC
    expected = np.exp(pars[9] * (0.5 * (pixel.tmin + pixel.tmax) - t_mean)) * (
        (pixel.precip / 1.9925054820 - 1) * pars[32] + 1
    )
    np.testing.assert_allclose(b["temperature_factor"].values, expected.values, rtol=1e-9)
    assert not np.allclose(a["temperature_factor"], b["temperature_factor"])
    np.testing.assert_array_equal(a["gpp"].values[0], b["gpp"].values[0])


@pytest.mark.parametrize("case", sorted(CASES))
def test_bundled_copies_match_shared_reference(case):
    shared = REFERENCE / "jpl" / case
    if not shared.exists():
        pytest.skip(f"needs {shared}")
    for path in (HERE / case).iterdir():
        assert filecmp.cmp(path, shared / path.name, shallow=False), path.name


@pytest.mark.parametrize("case, name", [("dalec400_fire", "400"), ("dalec400_nofire", "400"),
                                        ("dalec809", "811"), ("dalec400_nofire", "811")])
def test_pair_kernel_is_the_kernel_twice_bit_for_bit(case, name):
    from dalec.api import prepare

    pixel, pars, _, _ = load_case(case)
    model = dalec.get_model(name)
    if "precip" not in pixel:  # 811 on the 400 case's drivers: a fire-free pixel
        pixel = pixel.assign(precip=pixel["tmax"] * 0 + 2.0, vpd=pixel["tmax"] * 0 + 1.0)
    pars = load_case("dalec809")[1][: model.n_parameters] if name == "811" else pars
    forcing, site = prepare(model, pixel, {})
    other = pars * np.linspace(0.9, 1.1, pars.size)  # a second, different run
    n = forcing.shape[1]
    n_pools, n_fluxes = len(model.pools), len(model.fluxes)
    single = [(np.empty((n_pools, n + 1)), np.zeros((n_fluxes, n))) for _ in range(2)]
    for p, (pools, fluxes) in zip((pars, other), single, strict=True):
        model.kernel(forcing, site, p, pools, fluxes)
    pools = np.empty((2, n_pools, n + 1))
    fluxes = np.full((2, n_fluxes, n), np.nan)
    model.pair_kernel(forcing, site, pars, other, pools[0], pools[1], fluxes[0], fluxes[1])
    for k in range(2):
        np.testing.assert_array_equal(pools[k], single[k][0])
        np.testing.assert_array_equal(fluxes[k], single[k][1])
    assert np.all(np.isfinite(pools)) and not np.array_equal(pools[0], pools[1])


@pytest.mark.parametrize("case", ["dalec400_fire", "dalec400_nofire"])
def test_quad_kernel_is_the_kernel_four_times_bit_for_bit(case):
    from dalec.api import prepare

    pixel, pars, _, _ = load_case(case)
    model = dalec.get_model("400")
    forcing, site = prepare(model, pixel, {})
    runs = [pars * np.linspace(1.0 - f, 1.0 + f, pars.size) for f in (0.0, 0.05, 0.1, 0.15)]
    n = forcing.shape[1]
    n_pools, n_fluxes = len(model.pools), len(model.fluxes)
    pools = np.empty((4, n_pools, n + 1))
    fluxes = np.full((4, n_fluxes, n), np.nan)
    model.quad_kernel(forcing, site, *runs, *pools, *fluxes)
    for k in range(4):
        p1, f1 = np.empty((n_pools, n + 1)), np.zeros((n_fluxes, n))
        model.kernel(forcing, site, runs[k], p1, f1)
        np.testing.assert_array_equal(pools[k], p1)
        np.testing.assert_array_equal(fluxes[k], f1)
    assert np.all(np.isfinite(pools)) and len({pools[k, 3, -1] for k in range(4)}) == 4
