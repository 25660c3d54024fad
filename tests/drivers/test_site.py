"""A user's own site: CSV or xarray Dataset with named columns, converted by declared units."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import drivers
from drivers import DriverError
from drivers.options import get_obs_options


def monthly_table(rng, n=24):
    tmin_c = rng.uniform(-10, 10, n)
    return {
        "tmin_c": tmin_c,
        "tmax_c": tmin_c + rng.uniform(2, 10, n),
        "sw_wm2": rng.uniform(5, 300, n),
        "co2": np.linspace(380, 384, n),
        "vpd_kpa": rng.uniform(0.05, 2.0, n),
        "pr_kgm2s": rng.uniform(0, 8e-5, n),
        "gpp": np.where(np.arange(n) % 3 == 0, -9999.0, rng.uniform(0, 8, n)),
        "gpp_unc": np.full(n, 0.8),
    }


def write_csv(path, cols, dates, lat=61.85):
    lines = [
        f"# latitude: {lat}",
        "# longitude: 24.29",
        "date,tmin [K],tmax [degC],swrad [W m-2],co2 [ppm],vpd [kPa],"
        "precip [kg m-2 s-1],gpp,gpp_unc",
    ]
    for k, d in enumerate(dates):
        lines.append(
            ",".join(
                [d]
                + [
                    repr(float(cols[c][k]))
                    for c in (
                        "tmin_k",
                        "tmax_c",
                        "sw_wm2",
                        "co2",
                        "vpd_kpa",
                        "pr_kgm2s",
                        "gpp",
                        "gpp_unc",
                    )
                ]
            )
        )
    path.write_text("\n".join(lines) + "\n")


def test_site_csv_converts_declared_units(tmp_path, rng):
    cols = monthly_table(rng)
    cols["tmin_k"] = cols["tmin_c"] + 273.15
    dates = [f"{2006 + k // 12}-{k % 12 + 1:02d}" for k in range(24)]
    path = tmp_path / "my_site.csv"
    write_csv(path, cols, dates)
    ds = drivers.read(path)
    assert ds.attrs["source_format"] == "site_csv"
    np.testing.assert_allclose(ds["tmin"].values, cols["tmin_c"], atol=1e-12)
    np.testing.assert_allclose(ds["swrad"].values, cols["sw_wm2"] * 86400 / 1e6, rtol=1e-14)
    np.testing.assert_allclose(ds["vpd"].values, cols["vpd_kpa"] * 10, rtol=1e-15)
    np.testing.assert_allclose(ds["precip"].values, cols["pr_kgm2s"] * 86400, rtol=1e-15)
    assert float(ds["latitude"]) == 61.85 and float(ds["longitude"]) == 24.29
    gpp = np.where(cols["gpp"] == -9999, np.nan, cols["gpp"])
    np.testing.assert_array_equal(ds["gpp_obs"].values, gpp)
    assert get_obs_options(ds, "gpp").error_type == "gaussian"
    # calendar months: mid-month times, month lengths, calendar day of year
    start = (np.datetime64("2006-01-01") - np.datetime64("2001-01-01")).astype(int)
    assert ds["time"].values[0] == start + 15.5 and ds["deltat"].values[1] == 28
    assert ds["doy"].values[0] == 15.5 and ds["doy_end"].values[1] == 59  # as Edinburgh files


def test_daily_dates_and_a_dataset_give_the_same_pixel(tmp_path, rng):
    n = 40
    cols = monthly_table(rng, n)
    dates = np.datetime64("2010-03-01") + np.arange(n).astype("timedelta64[D]")
    data = xr.Dataset(
        {
            "tmin": ("time", cols["tmin_c"] + 273.15, {"units": "K"}),
            "tmax": ("time", cols["tmax_c"], {"units": "degC"}),
            "swrad": ("time", cols["sw_wm2"], {"units": "W m-2"}),
            "co2": ("time", cols["co2"]),
            "vpd": ("time", cols["vpd_kpa"] * 1000, {"units": "Pa"}),
            "precip": ("time", cols["pr_kgm2s"] * 3600, {"units": "mm h-1"}),
            "nee": ("time", cols["gpp"]),
        },
        coords={"time": dates, "latitude": 50.0},
    )
    ds = drivers.from_dataset(data)
    np.testing.assert_allclose(ds["vpd"].values, cols["vpd_kpa"] * 10, rtol=1e-14)
    np.testing.assert_allclose(ds["precip"].values, cols["pr_kgm2s"] * 86400, rtol=1e-14)
    start = (np.datetime64("2010-03-01") - np.datetime64("2001-01-01")).astype(int)
    np.testing.assert_array_equal(ds["time"].values, start + np.arange(n))
    assert ds["doy"].values[0] == 31 + 28 + 1  # 1 March 2010
    assert np.isnan(ds["nee_obs"].values[0])


def test_units_must_be_declared_for_temperature(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "# latitude: 10\ndate,tmin,tmax [degC],swrad [MJ m-2 d-1],co2,vpd [hPa],"
        "precip [mm/d]\n2001-01,1,2,3,380,4,5\n2001-02,1,2,3,380,4,5\n"
    )
    with pytest.raises(DriverError, match=r"bad\.csv: column 'tmin' \(tmin\) declares no units"):
        drivers.read(path)


def test_unknown_units_are_an_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "# latitude: 10\ndate,tmin [F],tmax [degC],swrad [MJ m-2 d-1],co2,vpd [hPa],"
        "precip [mm/d]\n2001-01,1,2,3,380,4,5\n2001-02,1,2,3,380,4,5\n"
    )
    with pytest.raises(DriverError, match=r"column 'tmin'.*cannot convert 'F' to 'degC'"):
        drivers.read(path)
