"""The in-memory pixel: one ``xarray.Dataset`` per pixel, whatever file it came from.

Layout
------
- coordinate ``time`` [days since 2001-01-01], one entry per model step;
- driver variables on ``time`` named as in :mod:`dalec.variables` (``tmin``, ``tmax``,
  ``swrad``, ``co2``, ``doy``, ``burned_area``, ``vpd``, ``precip``, ...);
- observation variables ``<stream>_obs`` on ``time`` with NaN for missing, and optional
  ``<stream>_obs_unc`` uncertainty series; the stream's cost-function options
  (:class:`~drivers.options.ObsOptions`) are attributes of ``<stream>_obs``;
- scalar constraints ``constraint_<name>`` and parameter priors on a ``prior`` dimension
  (:mod:`drivers.options`);
- scalar coordinates ``latitude`` and ``longitude`` [degrees];
- attributes ``pixel_id``, ``source_file``, ``source_format``.

Missing observations are NaN in memory whatever the file used (-9999, NaN, _FillValue);
a NaN in a driver is an error (:func:`drivers.check_met`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

#: Observation streams a pixel can carry, with their units (others get "1").
OBS_UNITS = {
    "gpp": "g m-2 d-1",
    "lai": "m2 m-2",
    "nbe": "g m-2 d-1",
    "nee": "g m-2 d-1",
    "reco": "g m-2 d-1",
    "abgb": "g m-2",
    "et": "kg m-2 d-1",
    "ewt": "kg m-2",
    "band1": "1",
    "band2": "1",
    "band3": "1",
    "band4": "1",
    "som": "g m-2",
    "ch4": "g m-2 d-1",
    "cwoo": "g m-2",
    "dom": "g m-2",
    "fire": "g m-2 d-1",
    "runoff": "kg m-2 d-1",
    "swe": "kg m-2",
    "scf": "1",
    "sif": "W m-2 sr-1 um-1",
    "le": "MJ m-2 d-1",
    "h": "MJ m-2 d-1",
    "swc": "%",
    "cwood": "g m-2",
    "cfol": "g m-2",
    "croot": "g m-2",
    "clit": "g m-2",
    "cagb": "g m-2",
    "fapar": "1",
}


def driver_attrs(name: str) -> dict:
    """CF attributes of a registered driver (empty for unregistered names)."""
    from dalec.variables import VARIABLES  # registry leaf; no package-level import cycle

    return dict(VARIABLES.get(name, {}))


_driver_attrs = driver_attrs


def make_pixel(
    time,
    met: Mapping[str, np.ndarray],
    latitude: float,
    *,
    longitude: float = np.nan,
    obs: Mapping[str, np.ndarray] | None = None,
    obs_unc: Mapping[str, np.ndarray] | None = None,
    attrs: Mapping[str, object] | None = None,
    obs_options: Mapping[str, object] | None = None,
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
    obs_options : mapping of str to ObsOptions, optional
        Cost-function options per stream (:class:`~drivers.options.ObsOptions`).

    Returns
    -------
    xarray.Dataset
        The pixel dataset, drivers checked (:func:`drivers.check_drivers`).
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
            {
                "long_name": f"uncertainty of observed {name}",
                "units": OBS_UNITS.get(name, "1"),
                "comment": "standard deviation (gaussian), factor (lognormal) or fraction "
                "(relative), as the stream's error_type says",
            },
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
    ds = xr.Dataset(data, coords=coords, attrs=dict(attrs or {}))
    from .options import set_obs_options

    for name, options in (obs_options or {}).items():
        set_obs_options(ds, name, options)
    return ds


def missing_to_nan(values) -> np.ndarray:
    """Observations: both -9999 (CARDAMOM's fill, anything <= -9998) and NaN mean missing."""
    arr = np.array(values, dtype=np.float64)
    arr[arr <= -9998] = np.nan
    return arr
