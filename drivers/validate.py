"""Checks that keep bad driver values out of the models.

Every check raises :class:`~drivers.errors.DriverError` naming the source file, the variable
and the first bad index, so that a user can find the value in their own file.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .errors import DriverError

#: relative tolerance on the step length for models that assume a constant step: JPL netCDF
#: files put mid-month times on a calendar (30.19-31.19 d steps in the v3 1100 example), which
#: CARDAMOM runs with time[1] - time[0]; a gap of days in a monthly series is still an error
STEP_RTOL = 0.05
#: negative precipitation / VPD below this magnitude is rounding noise in gridded products
NEGATIVE_TOL = 1e-6
#: CARDAMOM's missing-value marker is -9999; anything at or below this counts as one
MISSING_MARKER = -9998.0


def source_of(ds) -> str:
    """The file a dataset was read from, for error messages."""
    return str(ds.attrs.get("source_file", "<in-memory dataset>"))


def latitude_of(ds) -> float:
    """The pixel latitude [degrees_north], checked to lie in [-90, 90]."""
    if "latitude" in ds.variables:
        lat = float(np.asarray(ds["latitude"].values).ravel()[0])
    elif "latitude" in ds.attrs:
        lat = float(ds.attrs["latitude"])
    else:
        raise DriverError(f"{source_of(ds)}: no 'latitude' (scalar coordinate or attribute)")
    check_latitude(lat, source_of(ds))
    return lat


def check_latitude(lat: float, source: str) -> None:
    if not (np.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise DriverError(
            f"{source}: latitude is {lat!r}, outside [-90, 90] degrees_north (is it a longitude?)"
        )


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def check_time(time: np.ndarray, source: str, constant_step: bool = True) -> None:
    """Time must be finite, strictly increasing and (for JPL models) evenly stepped."""
    time = np.asarray(time, dtype=np.float64)
    if time.size < 2:
        raise DriverError(f"{source}: 'time' has {time.size} step(s); at least 2 are needed")
    bad = ~np.isfinite(time)
    if bad.any():
        raise DriverError(f"{source}: 'time' is not finite at step {_first(bad)}")
    step = np.diff(time)
    if (step <= 0).any():
        i = _first(step <= 0)
        raise DriverError(
            f"{source}: 'time' is not increasing at step {i + 1} "
            f"({float(time[i])!r} then {float(time[i + 1])!r} days)"
        )
    if constant_step:
        off = np.abs(step - step[0]) > STEP_RTOL * step[0]
        if off.any():
            i = _first(off) + 1
            raise DriverError(
                f"{source}: 'time' step is not constant: step 0 is {float(step[0])!r} days but "
                f"step {i} is {float(step[i - 1])!r} days (more than {STEP_RTOL:.0%} apart); this "
                "model uses time[1] - time[0] for every step"
            )


def check_met(ds, required: Iterable[str], constant_step: bool = True) -> None:
    """Check the driver variables a model needs.

    Parameters
    ----------
    ds : xarray.Dataset
        Pixel dataset with a ``time`` coordinate.
    required : iterable of str
        Driver variable names the model reads.
    constant_step : bool
        Require an even time step (CARDAMOM's JPL models infer Δt from the first two steps).

    Raises
    ------
    DriverError
        Missing variables; NaN/inf values; negative radiation; temperatures that look like
        Kelvin; precipitation that looks like kg m-2 s-1; CO2 <= 0; burned fraction outside
        [0, 1]; bad time axis; latitude outside [-90, 90].
    """
    source = source_of(ds)
    required = list(required)
    missing = [name for name in ["time", *required] if name not in ds.variables]
    if missing:
        raise DriverError(
            f"{source}: missing driver variable(s) {', '.join(map(repr, missing))}; "
            f"the model needs {', '.join(required)}"
        )
    check_time(ds["time"].values, source, constant_step)
    latitude_of(ds)
    for name in required:
        check_series(name, ds[name].values, source)


#: every driver the library knows how to range-check (and the readers check on reading)
DRIVER_NAMES = (
    "tmin",
    "tmax",
    "tmean",
    "swrad",
    "co2",
    "doy",
    "burned_area",
    "vpd",
    "precip",
    "lwrad",
    "skin_temperature",
    "snowfall",
    "disturbance_flux",
    "yield",
    "air_pressure",
    "deltat",
    "doy_end",
    "run_day",
    "photoperiod",
    "deforestation",
    "tmin_21d",
    "photoperiod_21d",
    "vpd_21d",
    "management",
    "wind",
)


def check_series(name: str, values, source: str) -> None:
    """One driver series: finite, no -9999 missing-value markers, physically plausible."""
    values = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise DriverError(
            f"{source}: driver {name!r} is {float(values[bad][0])} at step {_first(bad)}; drivers "
            "must be finite (missing driver values are not allowed)"
        )
    fill = values <= MISSING_MARKER
    if fill.any():
        raise DriverError(
            f"{source}: driver {name!r} holds the missing-value marker {float(values[fill][0])!r} "
            f"at step {_first(fill)} ({int(fill.sum())} step(s)); drivers may not be missing"
        )
    check_ranges(name, values, source)


def check_drivers(ds, constant_step: bool = False) -> None:
    """Check every known driver a dataset holds, its time axis and its latitude.

    Readers call this before returning, so a file with bad drivers is never half-read.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset.
    constant_step : bool, default False
        Also require every step to have the same length [d].

    Raises
    ------
    DriverError
        As :func:`check_met`, for every variable of :data:`DRIVER_NAMES` present.
    """
    source = source_of(ds)
    if "time" not in ds.variables:
        raise DriverError(f"{source}: no 'time' coordinate")
    check_time(ds["time"].values, source, constant_step)
    latitude_of(ds)
    for name in DRIVER_NAMES:
        if name in ds.variables and ds[name].dims == ("time",):
            check_series(name, ds[name].values, source)
    for name in ("sand_top", "sand_bottom", "clay_top", "clay_bottom"):
        if name in ds.variables:
            check_series(name, np.atleast_1d(ds[name].values), source)


def check_ranges(name: str, values: np.ndarray, source: str) -> None:
    """Physical-range and unit-confusion checks for one driver series."""
    # reanalysis radiation carries rounding negatives of order 1e-14 (7 FluxVal sites): tolerated
    if name in ("swrad", "lwrad") and (values < -NEGATIVE_TOL).any():
        neg = values < -NEGATIVE_TOL
        i = _first(neg)
        raise DriverError(
            f"{source}: {name!r} has {neg.sum()} negative value(s) (first at step {i}: "
            f"{float(values[i])!r}); {'shortwave' if name == 'swrad' else 'longwave'} radiation "
            "must be >= 0 MJ m-2 d-1"
        )
    if name in ("tmin", "tmax", "tmean", "tmin_21d", "skin_temperature") and (values > 100).any():
        i = _first(values > 100)
        raise DriverError(
            f"{source}: {name!r} is {float(values[i])!r} at step {i}; temperatures are in degC "
            "(values above 100 look like Kelvin: subtract 273.15)"
        )
    if name == "precip":
        # reanalysis products carry rounding negatives of order 1e-15: tolerated, used as is
        if (values < -NEGATIVE_TOL).any():
            i = _first(values < -NEGATIVE_TOL)
            raise DriverError(f"{source}: 'precip' is negative ({float(values[i])!r}) at step {i}")
        if values.max() > 0 and values.max() < 0.01:
            raise DriverError(
                f"{source}: 'precip' never exceeds {values.max():.3g}; precipitation is in "
                "kg m-2 d-1 (= mm d-1) and these values look like kg m-2 s-1 (multiply by 86400)"
            )
    if name == "co2" and (values <= 0).any():
        i = _first(values <= 0)
        raise DriverError(f"{source}: 'co2' is {float(values[i])!r} ppm at step {i}; must be > 0")
    if name in ("burned_area", "deforestation") and ((values < 0) | (values > 1)).any():
        i = _first((values < 0) | (values > 1))
        raise DriverError(
            f"{source}: {name!r} is {float(values[i])!r} at step {i}; it is a fraction in [0, 1]"
        )
    if (
        name in ("sand_top", "sand_bottom", "clay_top", "clay_bottom")
        and ((values < 0) | (values > 100)).any()
    ):
        raise DriverError(
            f"{source}: {name!r} is {float(np.ravel(values)[0])!r}; soil texture "
            "is a percentage in [0, 100]"
        )
    if name in ("wind", "photoperiod", "photoperiod_21d", "deltat") and (values < 0).any():
        i = _first(values < 0)
        raise DriverError(f"{source}: {name!r} is negative ({float(values[i])!r}) at step {i}")
    if name == "vpd" and (values < -NEGATIVE_TOL).any():
        i = _first(values < -NEGATIVE_TOL)
        raise DriverError(f"{source}: 'vpd' is negative ({float(values[i])!r} hPa) at step {i}")
