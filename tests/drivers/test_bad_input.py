"""Bad input raises DriverError naming the file, the variable and the first bad index, and
nothing is half-read or half-written."""

from __future__ import annotations

import shutil

import netCDF4
import numpy as np
import pytest

import drivers
from drivers import DriverError

SITE_76 = drivers.data_path("flux_site_76.cbf")
N, NOMET, NOOBS = 192, 9, 11


def cbf_values() -> np.ndarray:
    return np.frombuffer(SITE_76.read_bytes(), dtype="<f8").copy()


def met_index(step: int, column: int) -> int:
    return 300 + step * (NOMET + NOOBS) + column


def write_values(tmp_path, values, name="bad.cbf"):
    path = tmp_path / name
    path.write_bytes(np.asarray(values, dtype="<f8").tobytes())
    return path


def test_driver_error_is_a_value_error():
    assert issubclass(DriverError, ValueError)


def test_truncated_cbf(tmp_path):
    path = tmp_path / "short.cbf"
    path.write_bytes(SITE_76.read_bytes()[:-8])
    with pytest.raises(
        DriverError,
        match=r"short\.cbf: header says 192 steps x \(9 met \+ 11 obs\)"
        r" = 3840 values .* holds 3839",
    ):
        drivers.read(path)


def test_cbf_not_a_whole_number_of_values(tmp_path):
    path = tmp_path / "odd.cbf"
    path.write_bytes(SITE_76.read_bytes()[:-3])
    with pytest.raises(DriverError, match=r"odd\.cbf: 33117 bytes is not a whole number"):
        drivers.read(path)


def test_header_counts_disagree_with_size(tmp_path):
    v = cbf_values()
    v[2] = 200
    path = write_values(tmp_path, v)
    with pytest.raises(DriverError, match=r"bad\.cbf: header says 200 steps .* holds 3840"):
        drivers.read(path)


def test_truncated_edinburgh_bin(tmp_path):
    good = tmp_path / "fi.bin"
    drivers.write(drivers.read(drivers.data_path("fi-hyy")), good)
    bad = tmp_path / "short.bin"
    bad.write_bytes(good.read_bytes()[: -8 * 67])
    with pytest.raises(
        DriverError, match=r"short\.bin: header says 192 steps x \(16 met \+ 51 obs\)"
    ):
        drivers.read(bad)


def test_nan_and_minus_9999_both_mean_missing_in_observations(tmp_path):
    v = cbf_values()
    gpp = np.array([v[met_index(i, NOMET + 0)] for i in range(N)])
    missing = np.flatnonzero(gpp == -9999)
    assert missing.size == N - 75
    for i in missing:
        v[met_index(i, NOMET)] = np.nan
    with_nan = drivers.read(write_values(tmp_path, v))
    original = drivers.read(SITE_76)
    np.testing.assert_array_equal(with_nan["gpp_obs"].values, original["gpp_obs"].values)
    assert np.isnan(with_nan["gpp_obs"].values[missing]).all()


def test_minus_9999_in_a_driver_is_an_error(tmp_path):
    v = cbf_values()
    v[met_index(5, 1)] = -9999.0
    v[met_index(9, 1)] = -9999.0
    path = write_values(tmp_path, v)
    with pytest.raises(
        DriverError,
        match=r"bad\.cbf: driver 'tmin' holds the missing-value "
        r"marker -9999\.0 at step 5 \(2 step",
    ):
        drivers.read(path)


def test_nan_in_a_driver_is_an_error(tmp_path):
    v = cbf_values()
    v[met_index(7, 2)] = np.nan
    with pytest.raises(
        DriverError,
        match=r"bad\.cbf: driver 'tmax' \(met column 2\) is nan at "
        r"step 7",
    ):
        drivers.read(write_values(tmp_path, v))


def test_negative_radiation(tmp_path):
    v = cbf_values()
    v[met_index(12, 3)] = -5.0
    with pytest.raises(
        DriverError,
        match=r"bad\.cbf: 'swrad' has 1 negative value\(s\) \(first at "
        r"step 12: -5\.0\)",
    ):
        drivers.read(write_values(tmp_path, v))


def test_kelvin_temperatures_in_a_celsius_file(tmp_path):
    v = cbf_values()
    for i in range(N):
        v[met_index(i, 1)] += 273.15
    with pytest.raises(DriverError, match=r"bad\.cbf: 'tmin' is 2\d\d\.\d+ at step 0; .*Kelvin"):
        drivers.read(write_values(tmp_path, v))


def test_kg_per_second_precipitation_declared_as_mm_per_day(tmp_path):
    v = cbf_values()
    for i in range(N):
        v[met_index(i, 8)] /= 86400.0
    with pytest.raises(DriverError, match=r"bad\.cbf: 'precip' never exceeds .*kg m-2 s-1"):
        drivers.read(write_values(tmp_path, v))


def site_csv(tmp_path, tmin="-3.0", precip_units="mm/d", precip="2.5", extra_cols=""):
    path = tmp_path / "site.csv"
    rows = [f"2010-{m:02d},{tmin},4.0,10.0,390,5.0,{precip}" for m in range(1, 13)]
    path.write_text(
        "# latitude: 45\ndate,tmin [degC],tmax [degC],swrad [MJ m-2 d-1],co2 [ppm],"
        f"vpd [hPa],precip [{precip_units}]{extra_cols}\n" + "\n".join(rows) + "\n"
    )
    return path


def test_site_csv_kelvin_declared_as_celsius(tmp_path):
    with pytest.raises(DriverError, match=r"site\.csv: 'tmin' is 270\.15 at step 0"):
        drivers.read(site_csv(tmp_path, tmin="270.15"))


def test_site_csv_kg_per_second_declared_as_mm_per_day(tmp_path):
    with pytest.raises(DriverError, match=r"site\.csv: 'precip' never exceeds 3e-05"):
        drivers.read(site_csv(tmp_path, precip="3e-5"))


def test_site_csv_declared_kg_per_second_is_converted(tmp_path):
    ds = drivers.read(site_csv(tmp_path, precip_units="kg m-2 s-1", precip="3e-5"))
    np.testing.assert_allclose(ds["precip"].values, 3e-5 * 86400)


def test_missing_required_driver_columns(tmp_path):
    path = tmp_path / "novpd.csv"
    path.write_text(
        "# latitude: 45\ndate,tmin [degC],tmax [degC],swrad [MJ m-2 d-1],co2,"
        "precip [mm/d]\n2010-01,1,2,3,390,4\n2010-02,1,2,3,390,4\n"
    )
    with pytest.raises(DriverError, match=r"novpd\.csv: missing required driver column\(s\) 'vpd'"):
        drivers.read(path)
    # a driver the chosen model needs and no file or derivation provides (DALEC.4 wind)
    with pytest.raises(
        DriverError, match=r"flux_site_76\.cbf: missing driver variable\(s\) 'wind'"
    ):
        drivers.read(SITE_76, require=("tmin", "tmax", "deltat", "wind"))


def test_derivable_drivers_are_derived_when_required():
    ds = drivers.read(
        SITE_76, require=("deltat", "doy_end", "deforestation", "management", "photoperiod")
    )
    assert ds["deltat"].values[0] == 30.4375
    assert ds["management"].attrs["derived_from"].startswith("constant 2")


def test_non_monotonic_time(tmp_path):
    v = cbf_values()
    a, b = met_index(10, 0), met_index(11, 0)
    v[a], v[b] = v[b], v[a]
    with pytest.raises(DriverError, match=r"bad\.cbf: 'time' is not increasing at step 11"):
        drivers.read(write_values(tmp_path, v))


def test_latitude_outside_range_binary(tmp_path):
    v = cbf_values()
    v[1] = -105.75  # a longitude, as in one upstream netCDF example
    with pytest.raises(DriverError, match=r"bad\.cbf: latitude is -105\.75, outside \[-90, 90\]"):
        drivers.read(write_values(tmp_path, v))


def test_latitude_outside_range_netcdf(tmp_path):
    path = tmp_path / "proto.cbf.nc"
    drivers.write(drivers.read(SITE_76), path)
    with netCDF4.Dataset(path, "a") as nc:
        nc["LAT"][...] = -105.75
    with pytest.raises(DriverError, match=r"proto\.cbf\.nc: variable 'LAT': latitude is -105\.75"):
        drivers.read(path)


def test_non_numeric_cell_names_column_and_row(tmp_path):
    path = site_csv(tmp_path)
    text = path.read_text().replace("2010-03,-3.0,4.0", "2010-03,-3.0,warm")
    path.write_text(text)
    with pytest.raises(
        DriverError,
        match=r"site\.csv: column 'tmax \[degC\]' holds 'warm' at "
        r"data row 3",
    ):
        drivers.read(path)


def test_edinburgh_obs_rows_must_match_met_rows(tmp_path):
    folder = tmp_path / "fi"
    shutil.copytree(drivers.data_path("fi-hyy"), folder)
    obs = folder / "FI-Hyy_timeseries_obs.csv"
    obs.write_text("\n".join(obs.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(
        DriverError,
        match=r"FI-Hyy_timeseries_obs\.csv: 191 rows, but the met "
        r"file has 192",
    ):
        drivers.read(folder)


def test_failed_write_leaves_the_target_untouched(tmp_path):
    target = tmp_path / "out.cbf"
    target.write_bytes(b"previous")
    ds = drivers.read(SITE_76).drop_vars("vpd")
    with pytest.raises(
        DriverError,
        match=r"out\.cbf: cannot write CBF met column 7: no variable "
        r"'vpd'",
    ):
        drivers.write(ds, target)
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.cbf"]


def test_unknown_format_and_missing_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(DriverError, match=r"notes\.txt: format not recognised"):
        drivers.read(path)
    with pytest.raises(DriverError, match=r"nowhere\.cbf: no such file"):
        drivers.read(tmp_path / "nowhere.cbf")


def test_netcdf_missing_markers_and_driver_nan(tmp_path):
    path = tmp_path / "site.cbf.nc"
    drivers.write(drivers.read(SITE_76), path)
    with netCDF4.Dataset(path, "a") as nc:
        nc.set_auto_maskandscale(False)
        gpp = np.asarray(nc["GPP"][:])
        valid = np.flatnonzero(gpp != -9999)
        nc["GPP"][valid[0]] = np.nan  # NaN where the file's fill is -9999: missing as well
        nc["GPP"][valid[1]] = -9999.0
    ds = drivers.read(path)
    assert np.isnan(ds["gpp_obs"].values[valid[:2]]).all()
    assert np.isfinite(ds["gpp_obs"].values).sum() == valid.size - 2
    with netCDF4.Dataset(path, "a") as nc:
        nc.set_auto_maskandscale(False)
        nc["T2M_MIN"][3] = np.nan
    with pytest.raises(DriverError, match=r"site\.cbf\.nc: driver 'tmin' is nan at step 3"):
        drivers.read(path)
