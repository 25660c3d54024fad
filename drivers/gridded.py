"""Gridded netCDF drivers: met and observation cubes -> valid land pixels, one at a time.

A global 0.5 degree run has ~55,000 land pixels; their drivers never need to be in memory
together. :func:`open_grid` opens the cubes lazily (netCDF4 backend; dask chunks if dask is
installed and ``chunks`` is given), finds the valid land pixels by scanning the drivers in
bands of latitude rows, and :meth:`PixelGrid.pixel` reads one pixel's series into a pixel
dataset (:mod:`drivers.pixel`) only when asked.

Cube layout: variables on ``(time, lat, lon)`` (dimension names ``lat``/``latitude`` and
``lon``/``longitude``), drivers under netCDF CBF names (``T2M_MIN``, ``SSRD``, ...) or registry
names (``tmin``, ``swrad``, ...) with a ``units`` attribute where they are not in the
registry's units, observations under netCDF CBF names (``GPP``, ``LAI``, ...) with optional
``<NAME>unc`` and the CBF option attributes (``opt_unc_type``, ...), ``time`` as numbers with
units ``days since YYYY-MM-DD`` (or datetime64). A pixel is valid land when every required
driver is finite and not -9999 at every step (or where a ``land_mask`` variable is nonzero,
if the file has one and ``mask='file'``).

>>> grid = drivers.open_grid("met.nc", obs=["gpp.nc"])   # doctest: +SKIP
>>> len(grid), grid.pixels[:3]                            # doctest: +SKIP
>>> for pixel in grid: ...                                # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import xarray as xr

from .cbf_netcdf import DRIVERS as CBF_DRIVERS
from .cbf_netcdf import OBSERVATIONS as CBF_OBS
from .cbf_netcdf import options_from_nc_attrs
from .errors import DriverError
from .options import ObsOptions
from .pixel import driver_attrs, make_pixel, missing_to_nan
from .units import convert
from .validate import DRIVER_NAMES, check_drivers

#: drivers every JPL model needs; a pixel missing one of them is not valid land
REQUIRED = ("tmin", "tmax", "swrad", "co2", "vpd", "precip")
#: bytes of one band of latitude rows read at a time when scanning for land
BAND_BYTES = 32 * 2**20

_LAT = ("lat", "latitude", "y")
_LON = ("lon", "longitude", "x")


def _dim(ds, names, path):
    for name in ds.dims:
        if str(name).lower() in names:
            return str(name)
    raise DriverError(f"{path}: no {names[0]} dimension (looked for {', '.join(names)})")


def looks_like_grid(path) -> bool:
    """True for a netCDF file with latitude and longitude dimensions longer than 1."""
    try:
        import netCDF4

        with netCDF4.Dataset(path) as nc:
            dims = {k.lower(): len(v) for k, v in nc.dimensions.items()}
    except (OSError, RuntimeError, ValueError, ImportError):
        return False
    lat = next((dims[k] for k in _LAT if k in dims), 0)
    lon = next((dims[k] for k in _LON if k in dims), 0)
    return lat > 1 and lon > 1


class PixelGrid:
    """Lazy access to the pixels of gridded met (and observation) cubes.

    Parameters
    ----------
    met : str or Path
        Met cube (netCDF).
    obs : iterable of str or Path, optional
        Observation cubes on the same grid and time axis.
    chunks : dict, optional
        Passed to :func:`xarray.open_dataset` (needs dask); default: no dask, xarray's lazy
        indexing on the netCDF4 backend.
    required : iterable of str
        Drivers that must be present and valid for a pixel to count as land.
    mask : {'scan', 'file'}
        ``scan``: valid land = every required driver valid at every step; ``file``: use the
        file's ``land_mask`` variable (faster on large grids; the drivers of each pixel are
        still checked when it is read).
    """

    def __init__(self, met, obs: Iterable = (), *, chunks=None, required=REQUIRED, mask="scan"):
        self.path = Path(met)
        self._files = [self._open(self.path, chunks)]
        self._obs_files = [self._open(Path(p), chunks) for p in obs]
        ds = self._files[0]
        self.lat_dim = _dim(ds, _LAT, self.path)
        self.lon_dim = _dim(ds, _LON, self.path)
        self.time_dim = "time"
        if "time" not in ds.dims:
            raise DriverError(f"{self.path}: no 'time' dimension")
        self.latitudes = np.asarray(ds[self.lat_dim].values, dtype=np.float64)
        self.longitudes = np.asarray(ds[self.lon_dim].values, dtype=np.float64)
        bad = ~np.isfinite(self.latitudes) | (np.abs(self.latitudes) > 90)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DriverError(
                f"{self.path}: latitude {float(self.latitudes[i])!r} at index {i} is "
                "outside [-90, 90] (are latitude and longitude swapped?)"
            )
        self.time = _time_values(ds, self.path)
        self.required = tuple(required)
        self._drivers = self._find_drivers()
        missing = [d for d in self.required if d not in self._drivers]
        if missing:
            raise DriverError(
                f"{self.path}: no variable for required driver(s) {', '.join(map(repr, missing))}"
            )
        self._obs = self._find_obs()
        self._mask_mode = mask
        self._land = None
        self._cells = None

    @staticmethod
    def _open(path: Path, chunks):
        try:
            return xr.open_dataset(
                path, engine="netcdf4", decode_times=False, chunks=chunks, mask_and_scale=True
            )
        except (OSError, ValueError) as err:
            raise DriverError(f"{path}: cannot open as netCDF ({err})") from None

    # -------------------------------------------------------------- variable discovery

    def _cube_vars(self, ds):
        dims = {self.time_dim, self.lat_dim, self.lon_dim}
        return [str(v) for v in ds.data_vars if set(ds[v].dims) == dims and ds[v].ndim == 3]

    def _find_drivers(self) -> dict[str, tuple[xr.Dataset, str, str]]:
        """driver name -> (dataset, variable, declared units)."""
        out = {}
        for ds in self._files:
            for var in self._cube_vars(ds):
                name = CBF_DRIVERS.get(var, var if var in DRIVER_NAMES else None)
                if name is None or name in out:
                    continue
                units = ds[var].attrs.get("units")
                out[name] = (ds, var, units)
        return out

    def _find_obs(self) -> dict[str, tuple[xr.Dataset, str, str | None]]:
        out = {}
        for ds in self._obs_files + self._files:
            names = self._cube_vars(ds)
            for var in names:
                if var in CBF_DRIVERS or var in DRIVER_NAMES or var.endswith("unc"):
                    continue
                stream = CBF_OBS.get(var, var.lower())
                unc = next((u for u in (f"{var}unc", f"{var}_unc") if u in names), None)
                out.setdefault(stream, (ds, var, unc))
        return out

    # -------------------------------------------------------------- land pixels

    @property
    def land(self) -> np.ndarray:
        """Boolean ``(n_lat, n_lon)`` mask of valid land pixels (computed on first use)."""
        if self._land is None:
            self._land = self._scan() if self._mask_mode == "scan" else self._file_mask()
        return self._land

    def _file_mask(self):
        ds = self._files[0]
        if "land_mask" not in ds:
            raise DriverError(f"{self.path}: mask='file' but there is no 'land_mask' variable")
        return np.asarray(ds["land_mask"].transpose(self.lat_dim, self.lon_dim).values) != 0

    def _scan(self):
        nlat, nlon, nt = self.latitudes.size, self.longitudes.size, self.time.size
        rows = max(1, int(BAND_BYTES // max(1, nt * nlon * 8)))
        land = np.ones((nlat, nlon), dtype=bool)
        for name in self.required:
            ds, var, _ = self._drivers[name]
            da = ds[var].transpose(self.time_dim, self.lat_dim, self.lon_dim)
            for a in range(0, nlat, rows):
                block = np.asarray(
                    da.isel({self.lat_dim: slice(a, a + rows)}).values, dtype=np.float64
                )
                ok = np.all(np.isfinite(block) & (block > -9998), axis=0)
                land[a : a + rows] &= ok
        return land

    @property
    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column indices of the valid land pixels, row by row."""
        if self._cells is None:
            self._cells = np.nonzero(self.land)
        return self._cells

    @property
    def pixels(self) -> list[tuple[str, float, float]]:
        """``(pixel_id, latitude, longitude)`` of each valid land pixel, row by row."""
        i, j = self.cells
        return [
            (f"{k:05d}", float(self.latitudes[a]), float(self.longitudes[b]))
            for k, (a, b) in enumerate(zip(i, j, strict=True))
        ]

    def __len__(self) -> int:
        return int(self.land.sum())

    def __iter__(self) -> Iterator[xr.Dataset]:
        for k in range(len(self)):
            yield self.pixel(k)

    def index_of(self, latitude: float, longitude: float) -> int:
        """Land-pixel index of the cell nearest to (latitude, longitude)."""
        a = int(np.argmin(np.abs(self.latitudes - latitude)))
        b = int(np.argmin(np.abs(self.longitudes - longitude)))
        if not self.land[a, b]:
            raise DriverError(
                f"{self.path}: cell ({self.latitudes[a]}, {self.longitudes[b]}) "
                "nearest to the position given is not a valid land pixel"
            )
        return int(np.count_nonzero(self.land.ravel()[: a * self.longitudes.size + b]))

    def pixel(self, key) -> xr.Dataset:
        """The pixel dataset of land pixel ``key`` (an index, or a (lat, lon) pair)."""
        if isinstance(key, tuple):
            key = self.index_of(*key)
        i, j = self.cells
        if not -len(i) <= key < len(i):
            raise DriverError(f"{self.path}: land pixel {key} out of range (0..{len(i) - 1})")
        a, b = int(i[key]), int(j[key])
        sel = {self.lat_dim: a, self.lon_dim: b}
        met = {}
        src = f"{self.path}[{self.lat_dim}={a}, {self.lon_dim}={b}]"
        for name, (ds, var, units) in self._drivers.items():
            values = np.asarray(ds[var].isel(sel).transpose(self.time_dim).values, dtype=np.float64)
            canonical = driver_attrs(name).get("units", "1")
            if units and var not in CBF_DRIVERS:
                try:
                    values = convert(values, units, canonical)
                except KeyError as err:
                    raise DriverError(f"{self.path}: variable {var!r}: {err.args[0]}") from None
            met[name] = values
        obs, obs_unc, options = {}, {}, {}
        for stream, (ds, var, unc) in self._obs.items():
            obs[stream] = missing_to_nan(ds[var].isel(sel).values)
            if unc is not None:
                obs_unc[stream] = missing_to_nan(ds[unc].isel(sel).values)
            try:
                options[stream] = options_from_nc_attrs(ds[var].attrs)
            except ValueError:
                options[stream] = ObsOptions()
        pixel = make_pixel(
            self.time,
            met,
            self.latitudes[a],
            longitude=self.longitudes[b],
            obs=obs,
            obs_unc=obs_unc,
            obs_options=options,
            attrs={
                "source_file": src,
                "source_format": "grid",
                "pixel_id": f"{key % len(i):05d}",
                "grid_index": np.array([a, b]),
            },
        )
        check_drivers(pixel)
        return pixel

    def close(self) -> None:
        for ds in self._files + self._obs_files:
            ds.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _time_values(ds, path) -> np.ndarray:
    t = ds["time"]
    values = t.values
    if np.issubdtype(values.dtype, np.datetime64):
        return (values.astype("datetime64[s]") - np.datetime64("2001-01-01")).astype(float) / 86400
    units = t.attrs.get("units", "days since 2001-01-01")
    m = re.match(r"\s*days?\s+since\s+(\d{4}-\d{1,2}-\d{1,2})", str(units))
    if not m:
        raise DriverError(f"{path}: time units {units!r}; expected 'days since YYYY-MM-DD'")
    y, mo, d = (int(x) for x in m.group(1).split("-"))
    origin = float(
        (np.datetime64(f"{y:04d}-{mo:02d}-{d:02d}") - np.datetime64("2001-01-01")).astype(int)
    )
    return np.asarray(values, dtype=np.float64) + origin


def open_grid(met, obs: Iterable = (), **kwargs) -> PixelGrid:
    """Open gridded met (and observation) cubes lazily; see :class:`PixelGrid`.

    Parameters
    ----------
    met : str or Path
        netCDF file of the met cubes on ``(time, lat, lon)``.
    obs : iterable of str or Path, optional
        netCDF files of observation cubes on the same grid.
    **kwargs
        ``chunks``, ``required`` and ``mask``, passed to :class:`PixelGrid`.

    Returns
    -------
    PixelGrid
        The lazy grid; its pixels are read one at a time.
    """
    return PixelGrid(met, obs, **kwargs)


__all__ = ["PixelGrid", "open_grid", "looks_like_grid"]
