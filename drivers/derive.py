"""Derived drivers: what a model needs and a file may not hold, computed from what it does.

- :func:`step_length`: time-step length [d] from the time axis;
- :func:`day_of_year`: day of year from the time axis (JPL or calendar convention);
- :func:`photoperiod`: day length [s] from latitude and day of year;
- :func:`edinburgh_rolling_means`: the Edinburgh met columns 10-12 (rolling means of
  temperature, photoperiod and VPD) exactly as the Edinburgh R pre-processor builds them;
- :func:`derive_drivers`: add any of these (and the constant Edinburgh defaults) that a
  model requires and a dataset lacks;
- :func:`edinburgh_met_matrix`: the ``(N, 16)`` met matrix in the Fortran's order and units.

References
----------
Goudriaan, J. and van Laar, H. H. (1994) Modelling Potential Crop Growth Processes, Kluwer,
doi:10.1007/978-94-011-0750-1 (declination and day-length equations 3.4-3.6).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr

from .errors import DriverError
from .pixel import driver_attrs
from .validate import latitude_of, source_of

#: JPL files reckon the day of year as time modulo a 365.25-day year (FluxVal, v2.2 demo)
JPL_YEAR = 365.25
#: the Edinburgh pre-processor's rolling-mean window [d]
ROLLING_WINDOW = 30
#: Edinburgh R default forest-management type (used only when deforestation > 0)
DEFAULT_MANAGEMENT = 2.0


def step_length(time) -> np.ndarray:
    """Length of each step [d] from mid-step times [d].

    Evenly spaced times give the constant spacing (what JPL models use). Otherwise each step
    is bounded by the midpoints between neighbouring times, the first and last steps being
    mirrored; monthly mid-step times give calendar month lengths to within a day.
    """
    time = np.asarray(time, dtype=np.float64)
    if time.size < 2:
        raise DriverError("'time' needs at least 2 steps to derive the step length")
    step = np.diff(time)
    if np.allclose(step, step[0], rtol=1e-9, atol=0.0):
        return np.full(time.size, step[0])
    edges = np.concatenate(
        [[time[0] - step[0] / 2], (time[:-1] + time[1:]) / 2, [time[-1] + step[-1] / 2]]
    )
    return np.diff(edges)


def day_of_year(time, convention: str = "jpl") -> np.ndarray:
    """Day of year at ``time`` [days since 2001-01-01].

    Parameters
    ----------
    time : array_like
        Times [days since 2001-01-01].
    convention : {'jpl', 'calendar'}
        ``jpl``: ``time mod 365.25`` (the DOY column of the FluxVal and v2.2 CBF files, which
        reckon a 365.25-day year from 2001-01-01); ``calendar``: days elapsed since
        1 January 00:00 of the Gregorian year of ``time`` (mid-January = 15.5, as the
        Edinburgh mid-step ``doy_end - deltat / 2``).

    Notes
    -----
    Both conventions count elapsed days, so a mid-step time gives the mid-step day of year
    the JPL and Edinburgh monthly models use. Daily files instead label each day with its
    number (1 = 1 January) at the start of the day; readers of daily data keep that label.
    """
    time = np.asarray(time, dtype=np.float64)
    if convention == "jpl":
        return np.mod(time, JPL_YEAR)
    if convention != "calendar":
        raise ValueError(f"convention {convention!r} is not 'jpl' or 'calendar'")
    whole = np.floor(time)
    dates = np.datetime64("2001-01-01") + whole.astype("timedelta64[D]")
    starts = dates.astype("datetime64[Y]").astype("datetime64[D]")
    return (dates - starts).astype(np.float64) + (time - whole)


def photoperiod(latitude: float, doy) -> np.ndarray:
    """Day length [s] at ``latitude`` [degrees_north] on day of year ``doy``.

    Parameters
    ----------
    latitude : float
        Latitude [degrees_north].
    doy : array_like
        Day of year [1 .. 366]; fractions are allowed.

    Returns
    -------
    ndarray
        Day length [s], one value per ``doy``.

    Notes
    -----
    Goudriaan and van Laar (1994), with a 365-day year as the Edinburgh R pre-processor
    (``calc_photoperiod_sec.r``) uses it::

        δ = -asin(sin(23.45°) cos(2π (doy + 10) / 365))
        a = sin(φ) sin(δ) / (cos(φ) cos(δ)),   clipped to [-1, 1]
        day length = 12 (1 + 2 asin(a) / π) hours
    """
    doy = np.asarray(doy, dtype=np.float64)
    decl = -np.arcsin(np.sin(np.deg2rad(23.45)) * np.cos(2.0 * np.pi * (doy + 10.0) / 365.0))
    lat = np.deg2rad(latitude)
    ratio = np.clip((np.sin(lat) * np.sin(decl)) / (np.cos(lat) * np.cos(decl)), -1.0, 1.0)
    return 12.0 * (1.0 + 2.0 * np.arcsin(ratio) / np.pi) * 3600.0


def _daily_calendar(deltat: np.ndarray, doy_end: np.ndarray):
    """Step index and day of year of every day of the run, and each step's last-day index."""
    run_day = np.cumsum(deltat)
    n_days = int(np.ceil(run_day[-1] - 1e-9))
    centre = np.arange(n_days) + 0.5
    step_of_day = np.minimum(np.searchsorted(run_day, centre, side="left"), deltat.size - 1)
    # day of year counts back from the step's last day
    doy = doy_end[step_of_day] - (run_day[step_of_day] - (centre + 0.5))
    last = np.maximum(np.ceil(run_day - 1e-9).astype(np.int64) - 1, 0)
    return step_of_day, doy, last


def edinburgh_rolling_means(
    deltat, doy_end, tmax, vpd, latitude: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edinburgh met columns 10, 11, 12 from step values, as the Edinburgh R code builds them.

    Parameters
    ----------
    deltat : array_like
        Step lengths [d] (whole days for calendar months).
    doy_end : array_like
        Day of year of the last day of each step.
    tmax : array_like
        Mean daily maximum temperature per step [degC].
    vpd : array_like
        Vapour pressure deficit per step (any units; returned in the same units).
    latitude : float
        [degrees_north].

    Returns
    -------
    tmax_rolling, photoperiod_rolling, vpd_rolling : ndarray
        Per step [degC], [s] and the units of ``vpd``.

    Notes
    -----
    As in GCEL/CARDAMOM ``extract_met_drivers.r`` (site-specific met) and described in
    shared/reference/gcel/README.txt section 3.1:

    - temperature and VPD: each step's value is repeated on every day of the step, the
      30-day forward running mean ``m[i] = mean(x[i:i+30])`` is taken, its first 29 values
      are prepended, and the value on the last day ``e`` of the step is kept, i.e.
      ``mean(x[s:s+30])`` with ``s = e`` for ``e < 29`` else ``e - 29``. The column the
      Fortran calls "21-day mean minimum temperature" is filled with the maximum
      temperature, as the R code does.
    - photoperiod: day lengths for days 334-365 of a preceding year followed by every day
      of the run; the value for a step is the mean over the 30 entries starting at the
      index of the step's last day, i.e. run days ``end - 32 .. end - 3``.
    """
    deltat = np.asarray(deltat, dtype=np.float64)
    doy_end = np.asarray(doy_end, dtype=np.float64)
    step_of_day, doy, last = _daily_calendar(deltat, doy_end)
    w = ROLLING_WINDOW

    def forward_mean(daily):
        out = np.empty(last.size)
        for n, e in enumerate(last):
            start = e if e < w - 1 else e - (w - 1)
            out[n] = daily[start : start + w].mean()
        return out

    tmax_roll = forward_mean(np.asarray(tmax, dtype=np.float64)[step_of_day])
    vpd_roll = forward_mean(np.asarray(vpd, dtype=np.float64)[step_of_day])
    days = np.concatenate([np.arange(334.0, 366.0), doy])
    daylen = photoperiod(latitude, days)
    pp_roll = np.array([daylen[e : e + w].mean() for e in last])
    return tmax_roll, pp_roll, vpd_roll


#: names :func:`derive_drivers` can compute
DERIVABLE = (
    "doy",
    "deltat",
    "doy_end",
    "run_day",
    "photoperiod",
    "tmean",
    "tmin_21d",
    "photoperiod_21d",
    "vpd_21d",
    "deforestation",
    "burned_area",
    "management",
)


def derive_drivers(ds: xr.Dataset, names: Iterable[str]) -> xr.Dataset:
    """Return ``ds`` with every missing derivable driver among ``names`` added.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset.
    names : iterable of str
        Driver names a model requires (e.g. ``dalec.get_model("811").drivers``). Names that
        are present, or not derivable, are left alone (:func:`~drivers.check_met` reports
        the ones still missing).

    Returns
    -------
    xarray.Dataset
        A shallow copy with the new variables; each carries ``derived_from`` in its attrs.

    Notes
    -----
    ``doy`` (JPL convention, time mod 365.25), ``deltat`` (:func:`step_length`), ``doy_end``
    (= doy + deltat/2), ``run_day`` (cumulative sum of deltat), ``photoperiod`` (at the
    mid-step doy), ``tmean`` (mean of tmin and tmax), the Edinburgh rolling means
    (:func:`edinburgh_rolling_means`), and the constants ``deforestation`` = 0,
    ``burned_area`` = 0 and ``management`` = 2 (the Edinburgh R defaults when no source is
    given).
    """
    wanted = [n for n in names if n in DERIVABLE and n not in ds.variables]
    if not wanted:
        return ds
    ds = ds.copy()
    time = ds["time"].values
    n = time.size

    def put(name, values, how):
        ds[name] = (
            "time",
            np.asarray(values, dtype=np.float64),
            {**driver_attrs(name), "derived_from": how},
        )

    closure = set(wanted)
    if closure & {"tmin_21d", "photoperiod_21d", "vpd_21d"}:
        closure |= {"deltat", "doy_end"}
    if closure & {"doy_end", "photoperiod"}:
        closure |= {"doy", "deltat"}
    if "run_day" in closure:
        closure.add("deltat")
    if "doy" in closure and "doy" not in ds.variables:
        put("doy", day_of_year(time), "time mod 365.25 (JPL convention)")
    if "deltat" in closure and "deltat" not in ds.variables:
        put("deltat", step_length(time), "time axis")
    if "doy_end" in closure and "doy_end" not in ds.variables:
        doy, dt = ds["doy"].values, ds["deltat"].values
        if np.all(dt == 1.0) and np.all(doy == np.round(doy)):
            # daily files number their days (DOY 1 = 1 January): a day ends on its own number
            put("doy_end", doy, "doy (daily steps labelled by day number)")
        else:
            put("doy_end", doy + dt / 2, "doy + deltat / 2")
    if "run_day" in closure and "run_day" not in ds.variables:
        put("run_day", np.cumsum(ds["deltat"].values), "cumulative sum of deltat")
    if "photoperiod" in closure and "photoperiod" not in ds.variables:
        put(
            "photoperiod",
            photoperiod(latitude_of(ds), ds["doy"].values),
            "latitude and doy (Goudriaan and van Laar 1994)",
        )
    if "tmean" in closure and "tmean" not in ds.variables:
        _need(ds, "tmean", ("tmin", "tmax"))
        put("tmean", (ds["tmin"].values + ds["tmax"].values) / 2, "(tmin + tmax) / 2")
    rolling = [k for k in ("tmin_21d", "photoperiod_21d", "vpd_21d") if k in closure]
    if rolling:
        _need(ds, rolling[0], ("tmax", "vpd"))
        t_roll, p_roll, v_roll = edinburgh_rolling_means(
            ds["deltat"].values,
            ds["doy_end"].values,
            ds["tmax"].values,
            ds["vpd"].values,
            latitude_of(ds),
        )
        how = "Edinburgh R rolling means (30-day window)"
        for name, values in (
            ("tmin_21d", t_roll),
            ("photoperiod_21d", p_roll),
            ("vpd_21d", v_roll),
        ):
            if name in closure:
                put(name, values, how)
    for name, value in (
        ("deforestation", 0.0),
        ("burned_area", 0.0),
        ("management", DEFAULT_MANAGEMENT),
    ):
        if name in closure:
            put(name, np.full(n, value), f"constant {value} (no source in the file)")
    return ds


def _need(ds, target, sources):
    missing = [s for s in sources if s not in ds.variables]
    if missing:
        raise DriverError(
            f"{source_of(ds)}: cannot derive {target!r}: missing driver(s) "
            f"{', '.join(map(repr, missing))}"
        )


#: Edinburgh met columns (1-16) as dataset variables, with (multiply, divide) to the Fortran's
#: units; dividing by 86400 rather than multiplying by its inverse keeps a kg m-2 s-1 value
#: read from a file and converted to kg m-2 d-1 equal to the file's value after the way back
EDINBURGH_COLUMNS = (
    ("run_day", 1.0, 1.0),
    ("tmin", 1.0, 1.0),
    ("tmax", 1.0, 1.0),
    ("swrad", 1.0, 1.0),
    ("co2", 1.0, 1.0),
    ("doy_end", 1.0, 1.0),
    ("precip", 1.0, 86400.0),  # kg m-2 d-1 -> kg m-2 s-1
    ("deforestation", 1.0, 1.0),
    ("burned_area", 1.0, 1.0),
    ("tmin_21d", 1.0, 1.0),
    ("photoperiod_21d", 1.0, 1.0),
    ("vpd_21d", 100.0, 1.0),  # hPa -> Pa
    ("management", 1.0, 1.0),
    ("tmean", 1.0, 1.0),
    ("wind", 1.0, 1.0),
    ("vpd", 100.0, 1.0),  # hPa -> Pa
)


def edinburgh_met_matrix(ds: xr.Dataset) -> np.ndarray:
    """The ``(N, 16)`` met matrix of the Edinburgh Fortran (``met(j, n)`` = row n, column j).

    Derivable columns that ``ds`` lacks are derived (:func:`derive_drivers`); precipitation is
    returned in kg m-2 s-1 and VPD in Pa, as the Fortran reads them.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset.

    Returns
    -------
    ndarray
        ``(N, 16)`` float64, the columns in the Fortran's order (run day, Tmin [degC],
        Tmax [degC], radiation [MJ m-2 d-1], CO2 [ppm], day of year at the end of the step,
        precipitation [kg m-2 s-1], ...).

    Raises
    ------
    DriverError
        A column can be neither found nor derived (e.g. ``wind`` for a JPL file).
    """
    names = [name for name, _, _ in EDINBURGH_COLUMNS]
    ds = derive_drivers(ds, names)
    missing = [name for name in names if name not in ds.variables]
    if missing:
        raise DriverError(
            f"{source_of(ds)}: no Edinburgh met column(s) {', '.join(map(repr, missing))}"
        )
    cols = []
    for name, mul, div in EDINBURGH_COLUMNS:
        values = np.asarray(ds[name].values, dtype=np.float64)
        cols.append(values * mul / div)
    return np.column_stack(cols)
