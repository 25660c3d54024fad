"""Gridded cubes: valid land pixels found, each pixel's series read lazily and exactly."""

from __future__ import annotations

import tracemalloc

import netCDF4
import numpy as np
import pytest

import drivers
from drivers import DriverError
from drivers.options import get_obs_options

NAMES = {
    "T2M_MIN": -5.0,
    "T2M_MAX": 5.0,
    "SSRD": 10.0,
    "CO2": 390.0,
    "VPD": 5.0,
    "TOTAL_PREC": 2.0,
    "BURNED_AREA": 0.0,
    "DOY": 0.0,
}


def write_cube(path, nlat, nlon, nt, rng, ocean=None, dtype="f4", lat0=30.25):
    lat = lat0 + 0.5 * np.arange(nlat)
    lon = -10.25 + 0.5 * np.arange(nlon)
    time = 15.21875 + 30.4375 * np.arange(nt)
    cubes = {}
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", nt)
        nc.createDimension("lat", nlat)
        nc.createDimension("lon", nlon)
        for name, values in (("time", time), ("lat", lat), ("lon", lon)):
            v = nc.createVariable(name, "f8", (name,))
            v[:] = values
        nc["time"].units = "days since 2001-01-01"
        for name, base in NAMES.items():
            data = base + rng.uniform(0, 1, (nt, nlat, nlon))
            if name == "DOY":
                data = np.broadcast_to(np.mod(time, 365.25)[:, None, None], data.shape).copy()
            if ocean is not None:
                data[:, ocean] = np.nan
            v = nc.createVariable(name, dtype, ("time", "lat", "lon"), fill_value=-9999.0)
            v[:] = np.where(np.isnan(data), -9999.0, data)
            cubes[name] = np.asarray(v[:].filled(np.nan), dtype=np.float64)
    return lat, lon, time, cubes


def test_land_pixels_and_their_series(tmp_path, rng):
    ocean = np.zeros((6, 8), dtype=bool)
    ocean[:2, :3] = True
    met = tmp_path / "met.nc"
    lat, lon, time, cubes = write_cube(met, 6, 8, 24, rng, ocean=ocean)
    with netCDF4.Dataset(met, "a") as nc:  # one land cell loses a value mid-series: not valid
        nc["SSRD"][7, 4, 5] = -9999.0
    obs = tmp_path / "gpp.nc"
    gpp = rng.uniform(0, 8, (24, 6, 8))
    gpp[::5] = -9999.0
    with netCDF4.Dataset(obs, "w") as nc:
        for dim, n in (("time", 24), ("lat", 6), ("lon", 8)):
            nc.createDimension(dim, n)
        v = nc.createVariable("GPP", "f8", ("time", "lat", "lon"), fill_value=-9999.0)
        v[:] = gpp
        v.opt_unc_type = 1.0
        v.single_unc = 1.5
    grid = drivers.read(met, obs=[obs])
    assert isinstance(grid, drivers.PixelGrid)
    expected = ~ocean
    expected[4, 5] = False
    np.testing.assert_array_equal(grid.land, expected)
    assert len(grid) == int(expected.sum())
    i, j = np.nonzero(expected)
    k = 10
    pixel = grid.pixel(k)
    a, b = i[k], j[k]
    assert float(pixel["latitude"]) == lat[a] and float(pixel["longitude"]) == lon[b]
    np.testing.assert_array_equal(pixel["time"].values, time)
    np.testing.assert_array_equal(pixel["tmin"].values, cubes["T2M_MIN"][:, a, b])
    np.testing.assert_array_equal(pixel["precip"].values, cubes["TOTAL_PREC"][:, a, b])
    np.testing.assert_array_equal(
        pixel["gpp_obs"].values, np.where(gpp[:, a, b] == -9999, np.nan, gpp[:, a, b])
    )
    opts = get_obs_options(pixel, "gpp")
    assert opts.error_type == "lognormal" and opts.unc == 1.5
    # by position, and through drivers.read
    same = drivers.read(met, obs=[obs], pixel=(lat[a] + 0.1, lon[b] - 0.1))
    np.testing.assert_array_equal(same["swrad"].values, pixel["swrad"].values)
    assert [p[0] for p in grid.pixels][:2] == ["00000", "00001"]
    assert sum(1 for _ in grid) == len(grid)
    with pytest.raises(DriverError, match=r"not a valid land pixel"):
        grid.pixel((lat[0], lon[0]))
    grid.close()


def test_pixels_are_read_lazily(tmp_path, rng, monkeypatch):
    met = tmp_path / "big.nc"
    nlat, nlon, nt = 90, 180, 24
    write_cube(met, nlat, nlon, nt, rng, lat0=-44.75)
    cube_bytes = nt * nlat * nlon * 8  # one driver as float64
    monkeypatch.setattr(drivers.gridded, "BAND_BYTES", cube_bytes // 10)
    grid = drivers.open_grid(met)
    tracemalloc.start()
    try:
        assert len(grid) == nlat * nlon
        _, scan_peak = tracemalloc.get_traced_memory()
        assert len(grid.pixels) == nlat * nlon
        grid.pixel(0)  # the first pixel also pays for imports (the variable registry)
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        pixel = grid.pixel(12345)
        _, pixel_peak = tracemalloc.get_traced_memory()
        pixel_peak -= before
    finally:
        tracemalloc.stop()
        grid.close()
    assert pixel.sizes["time"] == nt
    # one pixel costs kilobytes, never a cube; the land scan holds one band of rows at a time
    assert pixel_peak < cube_bytes / 20, pixel_peak
    assert scan_peak < cube_bytes / 2, scan_peak


def test_latitude_outside_range_in_a_grid(tmp_path, rng):
    met = tmp_path / "swapped.nc"
    write_cube(met, 4, 4, 12, rng, lat0=-105.75)
    with pytest.raises(DriverError, match=r"swapped\.nc: latitude -105\.75 at index 0 is outside"):
        drivers.read(met)


def test_cli_forward_on_one_pixel_of_a_grid(tmp_path, rng):
    import xarray as xr

    import dalec
    from mdf.cli import main

    met = tmp_path / "met.nc"
    lat, lon, time, cubes = write_cube(met, 3, 4, 24, rng)
    model = dalec.get_model("400")
    lo, hi = model.bounds.T
    pars = tmp_path / "p.csv"
    pars.write_text(",".join(repr(float(v)) for v in np.sqrt(lo * hi)) + "\n")
    out = tmp_path / "out.nc"
    assert main(["forward", str(met), "--model", "400", "--parameters", str(pars),
                 "--out", str(out), "--pixel", f"{lat[1]},{lon[2]}"]) == 0
    with xr.open_dataset(out, decode_times=False) as ds:
        assert ds.sizes["time"] == 24
        assert np.all(np.isfinite(ds["gpp"].values))
