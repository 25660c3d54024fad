"""Derived drivers: day of year, step length, photoperiod, Edinburgh rolling means."""

from __future__ import annotations

import numpy as np
import pytest

import drivers
from drivers.derive import (
    day_of_year,
    derive_drivers,
    edinburgh_rolling_means,
    photoperiod,
    step_length,
)


def test_jpl_day_of_year_matches_the_fluxval_doy_column():
    ds = drivers.read(drivers.data_path("flux_site_76.cbf"))
    np.testing.assert_array_equal(day_of_year(ds["time"].values), ds["doy"].values)


def test_calendar_day_of_year():
    days = np.array([0.0, 31.0, 365.0, 365.0 + 59.0, 365.0 + 365.0 + 365.0 + 59.0, 1461.5])
    # 2001-01-01, 2001-02-01, 2002-01-01, 2002-03-01, 2004-02-29 (leap), 2005-01-01 12:00:
    # days elapsed since 1 January
    np.testing.assert_array_equal(day_of_year(days, "calendar"), [0, 31, 0, 59, 59, 0.5])


def test_step_length():
    np.testing.assert_array_equal(step_length([15.21875, 45.65625, 76.09375]), [30.4375] * 3)
    mids = np.array([15.5, 45.0, 74.5, 105.0])  # mid-January .. mid-April 2001
    # uneven: steps bounded by the midpoints between times, the end steps mirrored
    np.testing.assert_allclose(step_length(mids), [29.5, 29.5, 30.0, 30.5])


def test_photoperiod_known_values():
    # equator: 12 h every day; poles: polar night / day at the solstices
    np.testing.assert_allclose(photoperiod(0.0, np.arange(1, 366)), 12 * 3600, rtol=1e-12)
    assert photoperiod(80.0, 355) == 0.0 and photoperiod(80.0, 172) == 24 * 3600
    # hemispheres mirror: day length at +lat plus that at -lat is 24 h
    d = np.arange(1, 366)
    np.testing.assert_allclose(photoperiod(50.0, d) + photoperiod(-50.0, d), 24 * 3600)
    # June solstice at 61.85 N (Hyytiala): from the formula written out independently
    decl = -np.arcsin(np.sin(np.radians(23.45)) * np.cos(2 * np.pi * (172 + 10) / 365))
    x = np.tan(np.radians(61.85)) * np.tan(decl)
    assert photoperiod(61.85, 172) == pytest.approx(
        (12 + 24 / np.pi * np.arcsin(x)) * 3600, rel=1e-12
    )


def test_rolling_means_of_a_constant_are_the_constant():
    deltat = np.array([31.0, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    doy_end = np.cumsum(deltat)
    t, p, v = edinburgh_rolling_means(deltat, doy_end, np.full(12, 7.0), np.full(12, 3.0), 45.0)
    np.testing.assert_allclose(t, 7.0)
    np.testing.assert_allclose(v, 3.0)
    # photoperiod: the 30-day mean ending 3 days before the end of each month
    step_days = np.concatenate([np.arange(334, 366), np.arange(1, 366)]).astype(float)
    for n, end in enumerate(doy_end.astype(int)):
        expected = photoperiod(45.0, step_days[end - 1 : end + 29]).mean()
        assert p[n] == pytest.approx(expected, rel=1e-14)


def test_rolling_mean_straddles_months():
    deltat = np.array([31.0, 28.0])
    t, _, _ = edinburgh_rolling_means(
        deltat, np.cumsum(deltat), np.array([0.0, 30.0]), np.zeros(2), 0.0
    )
    # February's value is the mean over the last 30 days ending on 28 February: 2 January
    # days at 0 and 28 February days at 30
    assert t[0] == 0.0 and t[1] == pytest.approx(28 * 30 / 30)


def test_derive_drivers_adds_only_what_is_missing():
    ds = drivers.read(drivers.data_path("flux_site_76.cbf"))
    out = derive_drivers(ds, ["tmin", "tmean", "run_day", "vpd_21d", "wind"])
    np.testing.assert_array_equal(out["tmean"].values, (ds["tmin"].values + ds["tmax"].values) / 2)
    np.testing.assert_array_equal(out["run_day"].values, 30.4375 * np.arange(1, 193))
    assert "wind" not in out and "tmin_21d" not in out and "vpd_21d" in out
    assert out["tmin"].attrs == ds["tmin"].attrs  # present drivers are not touched
    assert "tmean" not in ds  # the input is not modified
