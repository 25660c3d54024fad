"""The in-memory pixel: one ``xarray.Dataset`` per pixel, whatever file it came from.

Layout
------
- coordinate ``time`` [days since 2001-01-01], one entry per model step;
- driver variables on ``time`` named as in :mod:`dalec.variables` (``tmin``, ``tmax``,
  ``swrad``, ``co2``, ``doy``, ``burned_area``, ``vpd``, ``precip``, ...);
- observation variables ``<stream>_obs`` on ``time`` with NaN for missing, and optional
  ``<stream>_obs_unc`` uncertainty series;
- scalar coordinates ``latitude`` and ``longitude`` [degrees];
- attributes ``pixel_id``, ``source_file``, ``source_format``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

#: Observation streams a pixel can carry, with their units.
OBS_UNITS = {
    "gpp": "g m-2 d-1",
    "lai": "m2 m-2",
    "nbe": "g m-2 d-1",
    "abgb": "g m-2",
    "et": "kg m-2 d-1",
    "ewt": "kg m-2",
    "band1": "1",
    "band2": "1",
    "band3": "1",
    "band4": "1",
    "som": "g m-2",
    "ch4": "g m-2 d-1",
}


def _driver_attrs(name: str) -> dict:
    from dalec.variables import VARIABLES  # registry leaf; no package-level import cycle

    return dict(VARIABLES.get(name, {}))


def make_pixel(
    time,
    met: Mapping[str, np.ndarray],
    latitude: float,
    *,
    longitude: float = np.nan,
    obs: Mapping[str, np.ndarray] | None = None,
    obs_unc: Mapping[str, np.ndarray] | None = None,
    attrs: Mapping[str, object] | None = None,
) -> xr.Dataset:
    """Assemble a pixel dataset from arrays.

    Parameters
    ----------
    time : array_like
        Step times [days since 2001-01-01].
    met : mapping of str to array_like
        Driver series on ``time`` in the registry's units.
    latitude, longitude : float
        Pixel centre [degrees_north, degrees_east].
    obs, obs_unc : mapping of str to array_like, optional
        Observation streams (missing = NaN; -9999 is converted to NaN) and their uncertainties.
    attrs : mapping, optional
        Dataset attributes (``source_file``, ``pixel_id``, ...).
    """
    time = np.asarray(time, dtype=np.float64)
    data = {}
    for name, values in met.items():
        data[name] = ("time", np.asarray(values, dtype=np.float64), _driver_attrs(name))
    for name, values in (obs or {}).items():
        data[f"{name}_obs"] = (
            "time",
            missing_to_nan(values),
            {"long_name": f"observed {name}", "units": OBS_UNITS.get(name, "1")},
        )
    for name, values in (obs_unc or {}).items():
        data[f"{name}_obs_unc"] = (
            "time",
            missing_to_nan(values),
            {"long_name": f"uncertainty of observed {name}", "units": OBS_UNITS.get(name, "1")},
        )
    coords = {
        "time": ("time", time, _driver_attrs("time")),
        "latitude": ((), float(latitude), {"units": "degrees_north", "standard_name": "latitude"}),
        "longitude": (
            (),
            float(longitude),
            {"units": "degrees_east", "standard_name": "longitude"},
        ),
    }
    return xr.Dataset(data, coords=coords, attrs=dict(attrs or {}))


def missing_to_nan(values) -> np.ndarray:
    """Observations: both -9999 (CARDAMOM's fill, anything <= -9998) and NaN mean missing."""
    arr = np.array(values, dtype=np.float64)
    arr[arr <= -9998] = np.nan
    return arr
