"""Edinburgh inputs: the FI-Hyy site CSVs give the Fortran's met matrix and the binary file's
uncertainties; US-Ha1 gets default uncertainties; .bin files round-trip byte for byte."""

from __future__ import annotations

import calendar
from pathlib import Path

import numpy as np
import pytest

import drivers
from drivers.options import constraints, get_obs_options, parameter_priors
from tests.conftest import shared_path

FI_HYY = drivers.data_path("fi-hyy")
HERE = Path(__file__).resolve().parent / "data"


def read_csv(path):
    with open(path) as fh:
        header = [h.strip().strip('"') for h in fh.readline().split(",")]
    return header, np.genfromtxt(path, delimiter=",", skip_header=1)


@pytest.fixture(scope="module")
def fi_hyy():
    return drivers.read(FI_HYY)


def test_fi_hyy_met_matrix_reproduces_the_fortran_input(fi_hyy):
    header, ref = read_csv(HERE / "d4_FI-Hyy_mcmc_met.csv")
    met = drivers.edinburgh_met_matrix(fi_hyy)
    assert met.shape == (192, 16)
    np.testing.assert_array_equal(fi_hyy["deltat"].values, ref[:, header.index("deltat_days")])
    for j in range(16):
        col = ref[:, 2 + j]
        # unit conversions on the way in and out (kg m-2 s-1 <-> d-1, Pa <-> hPa) cost at
        # most a few units in the last place; every other column is exact
        np.testing.assert_allclose(met[:, j], col, rtol=2e-15, atol=0, err_msg=header[2 + j])


def test_fi_hyy_calendar(fi_hyy):
    # 1999-01 .. 2014-12: leap years 2000, 2004, 2008, 2012 are read off the days of year
    assert fi_hyy.attrs["start_year"] == 1999
    lengths = [calendar.monthrange(y, m)[1] for y in range(1999, 2015) for m in range(1, 13)]
    np.testing.assert_array_equal(fi_hyy["deltat"].values, lengths)
    first_mid = (np.datetime64("1999-01-01") - np.datetime64("2001-01-01")).astype(int) + 15.5
    assert fi_hyy["time"].values[0] == first_mid
    np.testing.assert_array_equal(
        fi_hyy["doy"].values, fi_hyy["doy_end"].values - fi_hyy["deltat"].values / 2
    )
    assert float(fi_hyy["latitude"]) == 61.84741  # from the README beside the files


def test_fi_hyy_initial_soil_carbon_prior(fi_hyy):
    header, row = read_csv(FI_HYY / "FI-Hyy_initial_obs.csv")
    som = constraints(fi_hyy)["initial_som"]
    assert som.value == row[header.index("Csom_initial_gCm2")]
    # Edinburgh rule for the initial-SOM prior: max(1000, u)
    assert som.unc == max(1000.0, row[header.index("Csom_initial_unc_gCm2")])
    assert float(fi_hyy["clay_top"]) == row[header.index("top_clay_initial_percent")]


def test_fi_hyy_edinburgh_uncertainties_by_hand(fi_hyy):
    header, obs = read_csv(FI_HYY / "FI-Hyy_timeseries_obs.csv")
    lai = obs[:, header.index("LAI_m2m2")]
    u = obs[:, header.index("LAI_unc_m2m2")]
    ok = lai != -9999
    expected = np.maximum(0.25, np.sqrt(u[ok] ** 2 + (0.1 * lai[ok].mean()) ** 2))
    np.testing.assert_allclose(fi_hyy["lai_obs_unc"].values[ok], expected, rtol=1e-15)
    assert np.isnan(fi_hyy["lai_obs_unc"].values[~ok]).all()
    nee_u = obs[:, header.index("NEE_unc_gCm2day")]
    ok = obs[:, header.index("NEE_gCm2day")] != -9999
    np.testing.assert_allclose(
        fi_hyy["nee_obs_unc"].values[ok], np.sqrt(nee_u[ok] ** 2 + 1.0), rtol=1e-15
    )
    # the product uncertainties are kept, so another policy can start from them
    np.testing.assert_array_equal(fi_hyy["nee_obs_unc_product"].values[ok], nee_u[ok])
    assert fi_hyy.attrs["uncertainty_policy"] == "edinburgh"
    assert get_obs_options(fi_hyy, "gpp").aggregation == "annual_anomaly"


def test_fi_hyy_csv_uncertainties_equal_the_binary_file():
    path = shared_path("data", "cardamom-examples", "edinburgh-bin", "d4_FI-Hyy.bin")
    ds = drivers.read(FI_HYY)
    v = np.fromfile(path, dtype="<f8")
    obs = v[500:].reshape(192, 67)[:, 16:]
    for stream, col in (("lai", 2), ("nee", 4), ("cwood", 12), ("et", 30)):
        value = np.where(obs[:, col] == -9999, np.nan, obs[:, col])
        np.testing.assert_array_equal(ds[f"{stream}_obs"].values, value, err_msg=stream)
        ok = np.isfinite(value)
        np.testing.assert_allclose(
            ds[f"{stream}_obs_unc"].values[ok], obs[ok, col + 1], rtol=1e-15, atol=0, err_msg=stream
        )
    assert constraints(ds)["initial_som"].unc == v[150 + 22]


def test_us_ha1_without_uncertainties_gets_the_defaults():
    path = shared_path("data", "us-ha1", "USHa1_timeseries_met.csv")
    ds = drivers.read(path)
    header, obs = read_csv(path.with_name("USHa1_timeseries_obs.csv"))
    lai = obs[:, header.index("LAI")]
    ok = lai != -9999
    expected = np.maximum(0.25, np.sqrt(0.5**2 + (0.1 * lai[ok].mean()) ** 2))
    np.testing.assert_allclose(ds["lai_obs_unc"].values[ok], expected, rtol=1e-15)
    nee_ok = obs[:, header.index("NEE")] != -9999
    np.testing.assert_allclose(ds["nee_obs_unc"].values[nee_ok], np.sqrt(0.58**2 + 1.0))
    assert float(ds["latitude"]) == 42.5378  # FLUXNET2015 tower position of US-Ha1
    _, met = read_csv(path)
    np.testing.assert_array_equal(ds["time"].values, met[:, 0])  # mid-step run days of 2001
    np.testing.assert_allclose(ds["vpd"].values, met[:, 6] * 10.0, rtol=1e-15)  # kPa -> hPa
    np.testing.assert_allclose(ds["precip"].values, met[:, 7] * 86400.0, rtol=1e-15)
    np.testing.assert_array_equal(ds["burned_area"].values, obs[:, header.index("burnt_area")])


def test_driver_table_equals_the_c1_binary_file():
    table = shared_path("data", "br-sa1", "drivers.csv")
    binary = shared_path("data", "cardamom-examples", "edinburgh-bin", "c1_BR-Sa1.bin")
    a = drivers.read(table, latitude=-2.85667)
    b = drivers.read(binary)
    np.testing.assert_allclose(
        drivers.edinburgh_met_matrix(b),
        np.fromfile(binary, "<f8")[500:].reshape(204, 67)[:, :16],
        rtol=2e-15,
        atol=0,
    )
    np.testing.assert_allclose(
        drivers.edinburgh_met_matrix(a), drivers.edinburgh_met_matrix(b), rtol=2e-15, atol=0
    )
    for stream in ("lai", "nee"):
        np.testing.assert_array_equal(a[f"{stream}_obs"].values, b[f"{stream}_obs"].values)
    assert a.attrs["start_year"] == b.attrs["start_year"] == 2001


@pytest.mark.parametrize("name", ["c1_BR-Sa1.bin", "d4_FI-Hyy.bin"])
def test_edinburgh_bin_round_trip_is_byte_identical(tmp_path, name):
    path = shared_path("data", "cardamom-examples", "edinburgh-bin", name)
    ds = drivers.read(path)
    out = tmp_path / name
    drivers.write(ds, out)
    assert out.read_bytes() == path.read_bytes()
    head = np.fromfile(path, "<f8")[:500]
    assert {p.index: p.value for p in parameter_priors(ds)} == {
        i: head[50 + i] for i in range(100) if head[50 + i] > -9998
    }


def test_edinburgh_bin_written_from_the_site_csvs(tmp_path):
    ds = drivers.read(FI_HYY)
    out = tmp_path / "fi.bin"
    drivers.write(ds, out)
    back = drivers.read(out)
    np.testing.assert_allclose(
        drivers.edinburgh_met_matrix(back), drivers.edinburgh_met_matrix(ds), rtol=2e-15
    )
    np.testing.assert_array_equal(back["lai_obs_unc"].values, ds["lai_obs_unc"].values)
    assert back.attrs["start_year"] == 1999
