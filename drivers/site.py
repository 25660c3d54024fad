"""A user's own site: a CSV or an xarray Dataset with named columns and declared units.

This is the documented plain entry point for data that is in no CARDAMOM format::

    # my_site.csv
    # latitude: 61.85
    # longitude: 24.29
    date,tmin [K],tmax [K],swrad [W m-2],co2 [ppm],vpd [kPa],precip [kg m-2 s-1],gpp,gpp_unc
    2006-01,262.1,266.3,6.5,381.2,0.05,1.9e-5,0.2,0.9
    ...

    >>> pixel = drivers.read_site_csv("my_site.csv")          # doctest: +SKIP
    >>> pixel = drivers.from_dataset(xr_dataset, latitude=61.85)  # doctest: +SKIP

Columns
-------
- time: ``date`` (``YYYY-MM`` for calendar months, ``YYYY-MM-DD`` for days) or ``time``
  (numbers, with units ``days since YYYY-MM-DD``; default since 2001-01-01);
- drivers, under their registry names or a common alias (:data:`ALIASES`): ``tmin``,
  ``tmax``, ``swrad``, ``co2``, ``vpd``, ``precip``, optionally ``tmean``, ``burned_area``,
  ``wind``, ``lwrad``, ``air_pressure``, ``doy``, ``deforestation``, ``management``;
- observations: a stream name (``gpp``, ``nee``, ``nbe``, ``lai``, ``et``, ``reco``, ...) with
  an optional ``<stream>_unc`` standard deviation; missing values empty, NA, NaN or -9999.

Units are declared in the header (``name [units]`` or ``name (units)``), through the
``units`` argument, or (Datasets) the ``units`` attribute, and converted to the registry's:
K -> degC, W m-2 -> MJ m-2 d-1, kPa / Pa -> hPa, kg m-2 s-1 / mm h-1 -> kg m-2 d-1 (= mm d-1).
Temperature, radiation, VPD and precipitation must declare units; CO2 defaults to ppm, the
fractions to 1. Derived drivers (``doy``, ``deltat``, the Edinburgh ones) are added by
:func:`drivers.derive.derive_drivers` when a model asks for them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from ._csv import read_table, sniff_header
from .derive import day_of_year
from .errors import DriverError
from .options import ObsOptions
from .pixel import OBS_UNITS, driver_attrs, make_pixel, missing_to_nan
from .sites import site_position
from .units import convert
from .validate import check_drivers, check_latitude

#: driver name -> accepted column names (matched case-insensitively)
ALIASES = {
    "tmin": ("tmin", "t2m_min", "ta_min", "tair_min", "mint", "min_temperature"),
    "tmax": ("tmax", "t2m_max", "ta_max", "tair_max", "maxt", "max_temperature"),
    "tmean": ("tmean", "ta", "tair", "airt", "t2m", "air_temperature"),
    "swrad": ("swrad", "ssrd", "sw_in", "rsds", "sw_rad", "shortwave"),
    "lwrad": ("lwrad", "strd", "lw_in", "rlds"),
    "co2": ("co2",),
    "vpd": ("vpd",),
    "precip": ("precip", "precipitation", "total_prec", "pr", "p"),
    "burned_area": ("burned_area", "burnt_area"),
    "deforestation": ("deforestation",),
    "management": ("management",),
    "wind": ("wind", "ws", "wind_speed"),
    "air_pressure": ("air_pressure", "pa", "ps"),
    "doy": ("doy", "day_of_year"),
}
#: drivers whose units must be declared (no safe default)
MUST_DECLARE = ("tmin", "tmax", "tmean", "swrad", "lwrad", "vpd", "precip", "air_pressure", "wind")
REQUIRED = ("tmin", "tmax", "swrad", "co2", "vpd", "precip")
_UNIT_RE = re.compile(r"^\s*(?P<name>[^\[\(]+?)\s*(?:[\[\(](?P<units>[^\]\)]*)[\]\)])?\s*$")


def split_header(cell: str) -> tuple[str, str | None]:
    """``'precip [kg m-2 s-1]'`` -> ``('precip', 'kg m-2 s-1')``; no units -> None."""
    m = _UNIT_RE.match(cell)
    if not m:
        return cell.strip(), None
    return m.group("name").strip(), m.group("units")


def looks_like_site_csv(path) -> bool:
    """True for a CSV with a ``date``/``time`` column and at least three named drivers."""
    header = sniff_header(path)
    if not header:
        return False
    names = [split_header(h)[0].lower() for h in header]
    if not ({"date", "time"} & set(names)):
        return False
    known = {a for aliases in ALIASES.values() for a in aliases}
    return sum(n in known for n in names) >= 3


def _time_axis(dates: list[str] | None, time: np.ndarray | None, time_units: str | None, src):
    """Time [days since 2001-01-01], deltat [d], doy and doy_end from dates or numbers.

    Calendar months (``YYYY-MM``): mid-month times, month lengths, the mid-step day of year
    in elapsed days (January: 15.5) and the end-of-month day number (31, 59, ...), as the
    Edinburgh files. Days (``YYYY-MM-DD``) and plain numbers: one step per value at the
    given time, labelled by the day number (1 = 1 January), as the daily CBF files.
    """
    if dates is not None:
        if all(re.fullmatch(r"\d{4}-\d{1,2}", d) for d in dates):
            months = np.array([np.datetime64(f"{d[:4]}-{int(d[5:]):02d}", "M") for d in dates])
            start = (months.astype("datetime64[D]") - np.datetime64("2001-01-01")).astype(float)
            end = ((months + 1).astype("datetime64[D]") - np.datetime64("2001-01-01")).astype(float)
            deltat = end - start
            time = start + deltat / 2
            doy = day_of_year(time, "calendar")
            return time, deltat, doy, doy + deltat / 2
        try:
            days = np.array([np.datetime64(d[:10], "D") for d in dates])
        except ValueError as err:
            raise DriverError(
                f"{src}: column 'date': {err} (expected YYYY-MM or YYYY-MM-DD)"
            ) from None
        time = (days - np.datetime64("2001-01-01")).astype(float)
    else:
        origin = 0.0
        if time_units:
            m = re.match(r"\s*days?\s+since\s+(\d{4}-\d{2}-\d{2})", time_units)
            if not m:
                raise DriverError(
                    f"{src}: time units {time_units!r}; expected 'days since YYYY-MM-DD'"
                )
            origin = float((np.datetime64(m.group(1)) - np.datetime64("2001-01-01")).astype(int))
        time = np.asarray(time, dtype=np.float64) + origin
    step = np.diff(time)
    deltat = np.append(step, step[-1] if step.size else 1.0)
    number = np.floor(day_of_year(time, "calendar")) + 1.0
    return time, deltat, number, number + deltat - 1.0


def from_columns(
    columns: Mapping[str, tuple[np.ndarray, str | None]],
    *,
    latitude,
    longitude=None,
    dates=None,
    time=None,
    time_units=None,
    src="<in-memory table>",
    pixel_id="site",
    fmt="site_table",
    position_source="given",
) -> xr.Dataset:
    """Assemble a pixel from named columns ``{name: (values, declared units or None)}``.

    The common core of :func:`read_site_csv` and :func:`from_dataset`.
    """
    if latitude is None:
        raise DriverError(f"{src}: no latitude; pass latitude=... (or a '# latitude:' line)")
    check_latitude(float(latitude), src)
    lower = {k.lower(): k for k in columns}
    met, obs, obs_unc = {}, {}, {}
    used = set()
    for driver, aliases in ALIASES.items():
        for alias in aliases:
            if alias in lower and lower[alias] not in used:
                key = lower[alias]
                values, units = columns[key]
                values = np.asarray(values, dtype=np.float64)
                canonical = driver_attrs(driver).get("units", "1")
                if units is None:
                    if driver in MUST_DECLARE:
                        raise DriverError(
                            f"{src}: column {key!r} ({driver}) declares no units; write "
                            f"'{key} [units]' in the header or pass units={{'{key}': ...}} "
                            f"(canonical: {canonical!r})"
                        )
                    units = canonical
                try:
                    met[driver] = convert(values, units, canonical)
                except KeyError as err:
                    raise DriverError(f"{src}: column {key!r}: {err.args[0]}") from None
                used.add(key)
                break
    missing = [d for d in REQUIRED if d not in met]
    if missing:
        raise DriverError(
            f"{src}: missing required driver column(s) {', '.join(map(repr, missing))} "
            f"(accepted names: {'; '.join(f'{d}: ' + ', '.join(ALIASES[d]) for d in missing)})"
        )
    for key, (values, _) in columns.items():
        name = key.lower()
        if key in used or name in ("date", "time"):
            continue
        if name in OBS_UNITS:
            obs[name] = missing_to_nan(values)
        elif name.endswith("_unc") and name[:-4] in OBS_UNITS:
            obs_unc[name[:-4]] = missing_to_nan(values)
    time, deltat, doy, doy_end = _time_axis(dates, time, time_units, src)
    if "doy" not in met:
        met["doy"] = doy
    met["deltat"] = deltat
    met["doy_end"] = doy_end
    ds = make_pixel(
        time,
        met,
        float(latitude),
        longitude=math.nan if longitude is None else float(longitude),
        obs=obs,
        obs_unc={k: v for k, v in obs_unc.items() if k in obs},
        obs_options={k: ObsOptions() for k in obs},
        attrs={
            "source_file": src,
            "source_format": fmt,
            "pixel_id": pixel_id,
            "position_source": position_source,
        },
    )
    check_drivers(ds)
    return ds


def read_site_csv(
    path, *, units: Mapping[str, str] | None = None, latitude=None, longitude=None, pixel_id=None
) -> xr.Dataset:
    """Read a user's site CSV (see the module docstring for the layout).

    Parameters
    ----------
    path : str or Path
    units : mapping of str to str, optional
        Units per column, overriding those in the header.
    latitude, longitude : float, optional
        [degrees]; else from ``# latitude:`` lines, a README beside the file or a FLUXNET
        site id in the file name (:func:`drivers.sites.site_position`).
    pixel_id : str, optional
        Default: the file name without extension.

    Returns
    -------
    xarray.Dataset
        The validated pixel dataset (:mod:`drivers.pixel`).

    Raises
    ------
    DriverError
        Undeclared or unknown units, missing driver columns, bad values (see
        :func:`drivers.check_met`), no latitude.
    """
    path = Path(path)
    src = str(path)
    header, values, meta = read_table(path, text_columns=("date",))
    units = {k.lower(): v for k, v in (units or {}).items()}
    columns = {}
    dates = None
    time = None
    time_units = None
    for j, cell in enumerate(header):
        name, declared = split_header(cell)
        if name.lower() == "date":
            dates = meta["text"][cell]
            continue
        if name.lower() == "time":
            time, time_units = values[:, j], units.get("time", declared)
            continue
        columns[name] = (values[:, j], units.get(name.lower(), declared))
    if dates is None and time is None:
        raise DriverError(f"{src}: no 'date' or 'time' column")
    lat, lon, where = site_position(path, meta, latitude, longitude)
    return from_columns(
        columns,
        latitude=lat,
        longitude=lon,
        dates=dates,
        time=time,
        time_units=time_units,
        src=src,
        pixel_id=pixel_id or path.stem,
        fmt="site_csv",
        position_source=where,
    )


def from_dataset(
    data: xr.Dataset,
    *,
    units: Mapping[str, str] | None = None,
    latitude=None,
    longitude=None,
    pixel_id=None,
) -> xr.Dataset:
    """Convert a user's xarray Dataset (variables on one time dimension) into a pixel.

    Units come from each variable's ``units`` attribute unless given in ``units``. The time
    coordinate may be datetime64 (month starts are read as calendar months) or numbers with
    ``units = 'days since YYYY-MM-DD'``. Latitude and longitude may be scalar coordinates or
    attributes (``latitude``/``lat``, ``longitude``/``lon``).

    Parameters
    ----------
    data : xarray.Dataset
        Drivers (and ``<stream>`` / ``<stream>_unc`` observations) on one time dimension.
    units : mapping of str to str, optional
        Units per variable, overriding the ``units`` attributes; converted as
        :func:`read_site_csv` converts them (K -> degC, W m-2 -> MJ m-2 d-1, kPa -> hPa,
        kg m-2 s-1 -> mm d-1).
    latitude, longitude : float, optional
        Pixel centre [degrees_north, degrees_east]; default from the dataset.
    pixel_id : str, optional
        Identifier stored in the ``pixel_id`` attribute.

    Returns
    -------
    xarray.Dataset
        The validated pixel dataset (:mod:`drivers.pixel`).

    Raises
    ------
    DriverError
        As :func:`read_site_csv`.
    """
    units = {k.lower(): v for k, v in (units or {}).items()}
    src = str(data.attrs.get("source_file", "<xarray.Dataset>"))
    dims = [d for d in data.dims if d in ("time", "date")] or list(data.dims)
    if len(dims) != 1 and "time" not in data.dims:
        raise DriverError(
            f"{src}: expected variables on one time dimension, got {tuple(data.dims)}"
        )
    tdim = dims[0]
    tvals = data[tdim].values
    dates = time = time_units = None
    if np.issubdtype(tvals.dtype, np.datetime64):
        days = tvals.astype("datetime64[D]")
        month_starts = days.astype("datetime64[M]").astype("datetime64[D]")
        if np.all(days == month_starts) and np.all(tvals == days) and len(days) > 1:
            dates = [str(d)[:7] for d in days.astype("datetime64[M]")]
        else:
            dates = [str(d) for d in days]
    else:
        time, time_units = tvals, units.get("time", data[tdim].attrs.get("units"))
    columns = {}
    for name, var in data.data_vars.items():
        if var.dims == (tdim,):
            columns[str(name)] = (var.values, units.get(str(name).lower(), var.attrs.get("units")))

    def scalar(*keys):
        for key in keys:
            if key in data.coords and data[key].ndim == 0:
                return float(data[key].values)
            if key in data.attrs:
                return float(data.attrs[key])
        return None

    lat = latitude if latitude is not None else scalar("latitude", "lat")
    lon = longitude if longitude is not None else scalar("longitude", "lon")
    return from_columns(
        columns,
        latitude=lat,
        longitude=lon,
        dates=dates,
        time=time,
        time_units=time_units,
        src=src,
        pixel_id=pixel_id or str(data.attrs.get("pixel_id", "site")),
        fmt="xarray",
        position_source="given" if latitude is not None else "dataset",
    )
