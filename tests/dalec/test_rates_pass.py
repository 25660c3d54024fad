"""The JPL rates pass: its in-range first pass gives the general pass's bits, and falls back to
the general pass when an argument leaves the range."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numba import njit

import drivers
from dalec._kernels import _pulse_constants
from dalec.api import allocate, prepare
from dalec.models import dalec400, dalec811
from dalec.models._jpl_step import K_MID, _rates_loop, rates_pass
from dalec.registry import get_model

PIXEL = Path(drivers.__file__).resolve().parent / "data" / "flux_site_76.cbf"  # bundled FI-Hyy

ROWS = [1, 7, 8, 9, 12, 13, 14, 15]


@njit(error_model="numpy")
def _loop(temp, moist, sens, sin_t, cos_t, pulse_f, pulse_l, dt, pars, fluxes, mid):
    if mid:
        return _rates_loop(temp, moist, sens, sin_t, cos_t, pulse_f, pulse_l, dt, pars, fluxes,
                           True)
    return _rates_loop(temp, moist, sens, sin_t, cos_t, pulse_f, pulse_l, dt, pars, fluxes,
                       False)


def _args(name, forcing, site, pars):
    if name == "400":
        f = dalec400
        pulse_l = _pulse_constants(1.001, pars[13], pars[11])
        moist, sens = forcing[f.F_TEMP], 0.0
    else:
        f = dalec811
        pulse_l = _pulse_constants(pars[31], pars[13], pars[11])
        moist, sens = forcing[f.F_MOIST], pars[32]
    pulse_f = _pulse_constants(pars[4], pars[15], pars[14])
    return (forcing[f.F_TEMP], moist, sens, forcing[f.F_SIN], forcing[f.F_COS], pulse_f,
            pulse_l, site[0], pars)


@pytest.mark.parametrize("name", ["400", "811"])
def test_rates_pass_has_the_general_bits(name):
    model = get_model(name)
    forcing, site = prepare(model, drivers.read(PIXEL))
    _, fluxes = allocate(model, 2, forcing.shape[1])
    bounds = np.array([[p.min, p.max] for p in model.parameters])
    rng = np.random.default_rng(5)
    in_range = fallback = 0
    for i in range(300):
        pars = np.exp(np.log(bounds[:, 0]) + rng.random(len(bounds))
                      * np.log(bounds[:, 1] / bounds[:, 0]))
        if i % 30 == 0:  # out of range: Θ NaN, an exponent Θ T of ~2000, a litter k of 0.9
            kind = i // 30 % 3
            pars[9] = (np.nan, 80.0, 0.08)[kind]
            if kind == 2:
                pars[7] = 0.9
        args = _args(name, forcing, site, pars)
        rates_pass(*args, fluxes[0])
        _loop(*args, fluxes[1], False)
        assert np.array_equal(fluxes[0][ROWS].view(np.int64), fluxes[1][ROWS].view(np.int64))
        ok = _loop(*args, fluxes[1].copy(), True)
        in_range += ok
        fallback += not ok
    # most prior draws take the in-range pass; the planted ones fall back
    assert in_range >= 250 and fallback >= 10


def test_in_range_check_catches_a_loss_fraction_above_the_limit():
    model = get_model("400")
    forcing, site = prepare(model, drivers.read(PIXEL))
    _, fluxes = allocate(model, 1, forcing.shape[1])
    pars = np.array([(p.min * p.max) ** 0.5 for p in model.parameters])
    args = _args("400", forcing, site, pars)
    assert _loop(*args, fluxes[0], True)
    pars[7] = 1.01 * K_MID / np.exp(pars[9] * forcing[dalec400.F_TEMP].max())  # litter k > 0.49
    assert not _loop(*_args("400", forcing, site, pars), fluxes[0], True)
