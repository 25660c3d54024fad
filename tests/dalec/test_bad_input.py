"""Bad input to a forward run raises a clear exception naming what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

import dalec
from drivers import DriverError
from tests.dalec.reference import load_case


@pytest.fixture(scope="module")
def case():
    pixel, pars, _, _ = load_case("dalec809")
    return pixel, pars


def test_wrong_parameter_count(case):
    pixel, pars = case
    with pytest.raises(dalec.ModelError, match=r"model 400 takes 23 parameters.*shape \(33,\)"):
        dalec.run("400", pixel, pars)


def test_non_finite_parameter(case):
    pixel, pars = case
    bad = pars.copy()
    bad[9] = np.nan
    with pytest.raises(dalec.ModelError, match=r"'theta' \(index 9\).*finite"):
        dalec.run("809", pixel, bad)


def test_out_of_bounds_only_when_strict(case):
    pixel, pars = case
    bad = pars.copy()
    bad[16] = 500.0  # LCMA prior max is 200
    dalec.run("809", pixel, bad)  # allowed without strict checking
    with pytest.raises(dalec.ModelError, match=r"'lcma' \(index 16\).*outside.*\[5.0, 200.0\]"):
        dalec.run("809", pixel, bad, strict=True)


def test_nan_driver(case):
    pixel, pars = case
    bad = pixel.copy(deep=True)
    bad["tmax"][5] = np.nan
    with pytest.raises(DriverError, match=r"'tmax' is nan at step 5"):
        dalec.run("809", bad, pars)


def test_missing_driver_column(case):
    pixel, pars = case
    with pytest.raises(DriverError, match=r"missing driver variable\(s\) 'precip'"):
        dalec.run("811", pixel.drop_vars("precip"), pars)
    dalec.run("400", pixel.drop_vars("precip"), pars[:23])  # 400 does not need it


def test_non_constant_time_step(case):
    pixel, pars = case
    time = pixel["time"].values.copy()
    time[10:] += 3.0
    with pytest.raises(DriverError, match=r"step is not constant.*step 10"):
        dalec.run("809", pixel.assign_coords(time=time), pars)


def test_negative_radiation(case):
    pixel, pars = case
    bad = pixel.copy(deep=True)
    bad["swrad"][[3, 40]] = -1.0
    with pytest.raises(DriverError, match=r"'swrad' has 2 negative value\(s\) \(first at step 3"):
        dalec.run("809", bad, pars)


def test_unknown_model_and_option(case):
    pixel, pars = case
    with pytest.raises(dalec.ModelError, match="unknown model '999'.*400"):
        dalec.run("999", pixel, pars)
    with pytest.raises(dalec.ModelError, match="no option 'foo'"):
        dalec.run("809", pixel, pars, options={"foo": 1})
