"""JPL netCDF CBF files: options decoded from the attributes, and netCDF -> dataset -> netCDF
keeps every variable, dimension, dtype, value and attribute."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest

import drivers
from drivers.options import constraints, get_obs_options, set_obs_options
from tests.conftest import shared_path


def examples():
    folder = shared_path("data", "cardamom-examples", "netcdf")
    return sorted(folder.glob("*.nc"))


def assert_same_netcdf(a, b):
    with netCDF4.Dataset(a) as A, netCDF4.Dataset(b) as B:
        A.set_auto_maskandscale(False)
        B.set_auto_maskandscale(False)
        assert list(A.variables) == list(B.variables)
        assert {k: len(v) for k, v in A.dimensions.items()} == {
            k: len(v) for k, v in B.dimensions.items()
        }
        assert A.ncattrs() == B.ncattrs()
        for name, va in A.variables.items():
            vb = B.variables[name]
            assert (va.dtype, va.dimensions) == (vb.dtype, vb.dimensions), name
            np.testing.assert_array_equal(np.asarray(va[...]), np.asarray(vb[...]), err_msg=name)
            assert sorted(va.ncattrs()) == sorted(vb.ncattrs()), name
            for key in va.ncattrs():
                x, y = va.getncattr(key), vb.getncattr(key)
                assert type(x) is type(y), (name, key)
                np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=f"{name}.{key}")


def test_examples_round_trip_keep_every_variable_and_attribute(tmp_path):
    files = examples()
    assert len(files) == 4
    for path in files:
        out = tmp_path / path.name
        drivers.write_cbf_netcdf(drivers.read(path), out)
        assert_same_netcdf(path, out)


def test_daily_fluxnet_files_round_trip(tmp_path):
    folder = shared_path("data", "daily-fluxnet")
    files = sorted(folder.glob("*.nc"))
    assert len(files) == 16
    for path in files:
        out = tmp_path / path.name
        drivers.write_cbf_netcdf(drivers.read(path), out)
        assert_same_netcdf(path, out)


def test_options_constraints_and_series_from_the_1100_example():
    path = shared_path(
        "data", "cardamom-examples", "netcdf", "CARDAMOM_DRIVER_FILE_EXAMPLE_1100.nc"
    )
    ds = drivers.read(path)
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_maskandscale(False)
        gpp_attrs = {k: nc["GPP"].getncattr(k) for k in nc["GPP"].ncattrs()}
        gpp_unc = np.asarray(nc["GPPunc"][:])
        lai = np.asarray(nc["LAI"][:])
        t2m_min = np.asarray(nc["T2M_MIN"][:])
        peq_cue = float(nc["PEQ_CUE"][:])
        cue_unc = float(nc["PEQ_CUE"].getncattr("unc"))
    gpp = get_obs_options(ds, "gpp")
    assert ("gaussian", "lognormal", "relative")[int(gpp_attrs["opt_unc_type"])] == gpp.error_type
    assert gpp.unc == gpp_attrs["single_unc"]
    np.testing.assert_array_equal(ds["gpp_obs_unc"].values, gpp_unc)
    lai_opts = get_obs_options(ds, "lai")
    assert lai_opts.aggregation == "annual" and lai_opts.annual_unc == 1.5
    assert get_obs_options(ds, "ewt").normalisation == "subtract_mean"
    expected = np.where(lai == -9999, np.nan, lai)
    np.testing.assert_array_equal(ds["lai_obs"].values, expected)
    np.testing.assert_array_equal(ds["tmin"].values, t2m_min)
    cons = constraints(ds)
    assert cons["cue"].value == peq_cue and cons["cue"].unc == cue_unc
    assert cons["cue"].error_type == "gaussian" and cons["initial_som"].error_type == "lognormal"


def test_missing_constraints_are_not_constraints():
    path = shared_path(
        "data", "cardamom-examples", "netcdf", "CARDAMOM_DEMO_DRIVERS_prototype_1005.cbf.nc"
    )
    ds = drivers.read(path)
    # Mean_LAI etc. hold NaN in this file: they constrain nothing (but are written back)
    assert constraints(ds) == {}
    assert "cbf_var_Mean_LAI" in ds


def test_changed_option_is_written_to_the_attributes(tmp_path):
    path = shared_path(
        "data", "cardamom-examples", "netcdf", "CARDAMOM_DRIVER_FILE_EXAMPLE_1100.nc"
    )
    ds = drivers.read(path)
    set_obs_options(ds, "scf", get_obs_options(ds, "scf").replace(unc=0.3, structural_unc=0.05))
    out = tmp_path / "changed.nc"
    drivers.write(ds, out)
    with netCDF4.Dataset(out) as nc:
        assert nc["SCF"].getncattr("single_unc") == 0.3
        assert nc["SCF"].getncattr("structural_unc") == 0.05
        assert nc["SCF"].getncattr("min_threshold") == 0.02
        assert nc["GPP"].ncattrs() == ["_FillValue", "opt_filter", "opt_unc_type", "single_unc"]


def test_binary_cbf_written_as_netcdf_reads_back_the_same(tmp_path):
    ds = drivers.read(drivers.data_path("flux_site_76.cbf"))
    out = tmp_path / "site76.cbf.nc"
    drivers.write(ds, out)
    back = drivers.read(out)
    for name in ("tmin", "tmax", "swrad", "co2", "doy", "burned_area", "vpd", "precip"):
        np.testing.assert_array_equal(back[name].values, ds[name].values, err_msg=name)
    for stream in ("gpp", "lai", "nbe", "et"):
        np.testing.assert_array_equal(back[f"{stream}_obs"].values, ds[f"{stream}_obs"].values)
        assert get_obs_options(back, stream).error_type == get_obs_options(ds, stream).error_type
    assert float(back["latitude"]) == float(ds["latitude"])
    assert [p.index for p in drivers.parameter_priors(back)] == [
        p.index for p in drivers.parameter_priors(ds)
    ]


@pytest.mark.parametrize("site", ["FI-Hyy", "US-Ha1"])
def test_daily_file_positions_and_streams(site):
    path = shared_path("data", "daily-fluxnet", f"{site}.nc")
    ds = drivers.read(path)
    coords = (path.parent / "site_coords.csv").read_text().splitlines()
    row = next(line.split(",") for line in coords if line.startswith(site + ","))
    assert float(ds["latitude"]) == pytest.approx(float(row[3]))
    assert float(ds["longitude"]) == pytest.approx(float(row[2]))
    assert ds.sizes["time"] == 3287
    assert {"gpp", "nbe", "et", "lai", "reco"} <= set(drivers.obs_streams(ds))
    assert ds["burned_area"].attrs["derived_from"].startswith("constant 0")
