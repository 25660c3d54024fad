"""The same site read from two formats gives the same drivers where they overlap.

FI-Hyy is in the Edinburgh site CSVs (monthly, 1999-2014) and in the daily FLUXNET
CBF-style netCDF (2006-2014). Both derive from the FLUXNET2015 tower record, so the daily
file averaged over calendar months must reproduce the monthly drivers to within the rounding
of the daily file (3 decimals in its own units: degC, W m-2 for SSRD before conversion to MJ,
hPa, mm d-1). CO2 comes from different sources in the two files and is only compared
statistically. Figures found (108 overlapping months): tmin/tmax max |diff| 5e-14 degC,
swrad 1.1e-5 MJ m-2 d-1, VPD 1.4e-4 hPa, precipitation 1.3e-4 mm d-1; CO2 bias 2.3 ppm,
max 14.8 ppm, r = 0.94.
"""

from __future__ import annotations

import numpy as np
import pytest

import drivers
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def pair():
    monthly = drivers.read(drivers.data_path("fi-hyy"))
    daily = drivers.read(shared_path("data", "daily-fluxnet", "FI-Hyy.nc"))
    # calendar month of each daily step (time = whole days since 2001-01-01) ...
    day = np.datetime64("2001-01-01") + daily["time"].values.astype("timedelta64[D]")
    months, index = np.unique(day.astype("datetime64[M]"), return_inverse=True)
    # ... and of each monthly step (time = mid-month), from the calendar, independently
    mid = np.datetime64("2001-01-01") + np.floor(monthly["time"].values).astype("timedelta64[D]")
    select = np.isin(mid.astype("datetime64[M]"), months)
    assert select.sum() == months.size == 108  # 2006-01 .. 2014-12
    count = np.bincount(index)

    def monthly_mean(values):
        return np.bincount(index, values) / count

    return monthly, daily, select, monthly_mean, index, count


# tolerance = half a unit in the daily file's last decimal (in the pixel's units)
TOLERANCES = {
    "tmin": 1e-10,  # monthly values were computed from these very daily values
    "tmax": 1e-10,
    "swrad": 0.0864 * 0.0005 + 1e-9,  # W m-2 with 3 decimals, times 0.0864
    "vpd": 0.0005,
    "precip": 0.0005,
}


@pytest.mark.parametrize("name", sorted(TOLERANCES))
def test_daily_file_aggregated_to_months_gives_the_monthly_drivers(pair, name):
    monthly, daily, select, monthly_mean, _, _ = pair
    np.testing.assert_allclose(
        monthly_mean(daily[name].values),
        monthly[name].values[select],
        rtol=0,
        atol=TOLERANCES[name],
    )


def test_co2_comes_from_different_sources(pair):
    monthly, daily, select, monthly_mean, _, _ = pair
    a, b = monthly_mean(daily["co2"].values), monthly["co2"].values[select]
    assert abs(np.mean(a - b)) < 5.0 and np.max(np.abs(a - b)) < 20.0
    assert np.corrcoef(a, b)[0, 1] > 0.9


@pytest.mark.parametrize(
    ("daily_stream", "monthly_stream"), [("gpp", "gpp"), ("nbe", "nee"), ("et", "et")]
)
def test_fluxes_of_complete_months_agree(pair, daily_stream, monthly_stream):
    monthly, daily, select, _, index, count = pair
    values = daily[f"{daily_stream}_obs"].values
    ok = np.isfinite(values)
    n_ok = np.bincount(index, ok)
    mean = np.bincount(index, np.where(ok, values, 0.0)) / np.maximum(n_ok, 1)
    mean[n_ok < count] = np.nan  # months with a missing day are not comparable
    other = monthly[f"{monthly_stream}_obs"].values[select]
    both = np.isfinite(mean) & np.isfinite(other)
    assert both.sum() >= 60
    assert np.corrcoef(mean[both], other[both])[0, 1] > 0.99
