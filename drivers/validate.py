"""Checks that keep bad driver values out of the models.

Every check raises :class:`~drivers.errors.DriverError` naming the source file, the variable
and the first bad index, so that a user can find the value in their own file.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .errors import DriverError

#: relative tolerance on the step length for models that assume a constant step
STEP_RTOL = 1e-6
#: negative precipitation / VPD below this magnitude is rounding noise in gridded products
NEGATIVE_TOL = 1e-6


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
            f"{source}: latitude is {lat!r}, outside [-90, 90] degrees_north "
            "(is it a longitude?)"
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
                f"{source}: 'time' step is not constant: step 0 is {float(step[0])!r} days but step "
                f"{i} is {float(step[i - 1])!r} days; this model uses time[1] - time[0] for every step"
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
        values = np.asarray(ds[name].values, dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            raise DriverError(
                f"{source}: driver {name!r} is {float(values[bad][0])} at step {_first(bad)}; drivers "
                "must be finite (missing driver values are not allowed)"
            )
        check_ranges(name, values, source)


def check_ranges(name: str, values: np.ndarray, source: str) -> None:
    """Physical-range and unit-confusion checks for one driver series."""
    if name == "swrad" and (values < 0).any():
        i = _first(values < 0)
        raise DriverError(
            f"{source}: 'swrad' has {(values < 0).sum()} negative value(s) (first at step {i}: "
            f"{float(values[i])!r}); shortwave radiation must be >= 0 MJ m-2 d-1"
        )
    if name in ("tmin", "tmax", "tmean") and (values > 100).any():
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
    if name == "burned_area" and ((values < 0) | (values > 1)).any():
        i = _first((values < 0) | (values > 1))
        raise DriverError(
            f"{source}: 'burned_area' is {float(values[i])!r} at step {i}; it is a fraction in [0, 1]"
        )
    if name == "vpd" and (values < -NEGATIVE_TOL).any():
        i = _first(values < -NEGATIVE_TOL)
        raise DriverError(f"{source}: 'vpd' is negative ({float(values[i])!r} hPa) at step {i}")
