"""The adapter between xarray and the numba kernels: :func:`run`.

Public functions speak xarray with CF attributes; the kernels speak numpy. This module is the
one place where the two meet for forward runs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numba
import numpy as np
import xarray as xr

from .model import Model, ModelError
from .registry import get_model
from .variables import attrs


def prepare(model: Model, drivers: xr.Dataset, options: Mapping | None = None):
    """Validate a pixel's drivers for ``model`` and precompute its forcing.

    Returns ``(forcing, site)``, the arrays the model kernels take. The calibrator calls this
    once per pixel.

    Raises
    ------
    drivers.DriverError
        Missing driver variables, NaN, negative radiation, non-constant time step (the message
        names the source file, the variable and the first bad index).
    """
    from drivers.validate import check_met, latitude_of  # lower layer; imported lazily

    opts = model.check_options(options)
    check_met(drivers, model.drivers, constant_step=model.constant_step)
    arrays = {"time": drivers["time"].values}
    arrays.update({name: drivers[name].values for name in model.drivers})
    return model.prepare(arrays, latitude_of(drivers), opts)


def allocate(model: Model, n_samples: int, n_steps: int):
    """Preallocated ``pools (S, n_pools, N+1)`` and ``fluxes (S, n_fluxes, N)`` arrays."""
    pools = np.empty((n_samples, len(model.pools), n_steps + 1))
    fluxes = np.empty((n_samples, len(model.fluxes), n_steps))
    return pools, fluxes


def run(
    model,
    drivers: xr.Dataset,
    parameters,
    *,
    options: Mapping | None = None,
    strict: bool = False,
    threads: int | None = None,
) -> xr.Dataset:
    """Run a DALEC model forward for one or many parameter vectors.

    Parameters
    ----------
    model : str or Model
        Registry name (``"400"``, ``"809"``, ``"811"``, ``"1005"``, ...) or a
        :class:`~dalec.model.Model`.
    drivers : xarray.Dataset
        A pixel dataset (see :func:`drivers.read`): the model's driver variables on ``time``
        [days since 2001-01-01] and a scalar ``latitude`` [degrees_north].
    parameters : array_like
        One vector ``(n_parameters,)`` or many ``(n_samples, n_parameters)``, in the model's
        parameter order (``dalec.get_model(name).parameter_names``).
    options : mapping, optional
        Model options, e.g. ``{"temperature_factor": "813"}`` for 809/811.
    strict : bool
        Also reject parameters outside their prior bounds.
    threads : int, optional
        Numba threads for a many-sample run (default: all cores).

    Returns
    -------
    xarray.Dataset
        Every pool on ``state_time`` (N+1 states; index 0 = initial conditions), every flux slot
        on ``time`` (N steps, mean rates over the step), plus ``lai`` [m2 m-2], ``nee`` (net
        flux including fire, positive = source), ``reco``, ``rh``, ``npp`` [g m-2 d-1], and the
        ``parameters`` used. A ``sample`` dimension is present if ``parameters`` was 2-D.

    Raises
    ------
    ModelError
        Wrong parameter count, non-finite parameters, or out-of-bounds values when ``strict``.
    drivers.DriverError
        Unusable drivers.
    """
    model = get_model(model)
    many = np.ndim(parameters) == 2
    pars = model.check_parameters(parameters, strict=strict)
    forcing, site = prepare(model, drivers, options)
    n_steps = forcing.shape[1]
    pools, fluxes = allocate(model, pars.shape[0], n_steps)
    if threads is not None:
        numba.set_num_threads(int(threads))
    if pars.shape[0] == 1:
        model.kernel(forcing, site, pars[0], pools[0], fluxes[0])
    else:
        model.ensemble_kernel(forcing, site, pars, pools, fluxes)
    ds = to_dataset(model, drivers["time"].values, site[0], pars, pools, fluxes)
    return ds if many else ds.isel(sample=0, drop=True)


def to_dataset(model: Model, time, deltat, pars, pools, fluxes) -> xr.Dataset:
    """Wrap kernel outputs ``(S, ...)`` as a CF-attributed Dataset with a ``sample`` dim."""
    time = np.asarray(time, dtype=np.float64)
    state_time = np.append(time, time[-1] + deltat)
    coords = {
        "time": ("time", time, attrs("time")),
        "state_time": (
            "state_time",
            state_time,
            {**attrs("time"), "long_name": "model time of the state (start of each step)"},
        ),
        "parameter": ("parameter", model.parameter_names),
    }
    data = {}
    for i, name in enumerate(model.pools):
        data[name] = (("sample", "state_time"), pools[:, i, :], attrs(name))
    for i, name in enumerate(model.fluxes):
        data[name] = (("sample", "time"), fluxes[:, i, :], attrs(name))
    for name, values in model.derived(pars, pools, fluxes).items():
        data[name] = (("sample", "time"), values, attrs(name))
    data["parameters"] = (
        ("sample", "parameter"),
        pars,
        {"long_name": "model parameters", "units_by_parameter": _units_string(model)},
    )
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        {
            "Conventions": "CF-1.12",
            "model": model.name,
            "model_description": model.description,
            "deltat_days": float(deltat),
            "comment": "Fluxes are mean rates over each step; pools are states at step starts "
            "(state_time has one more entry than time). NEE/NBE: positive = source.",
        }
    )
    return ds


def _units_string(model: Model) -> str:
    return "; ".join(f"{p.name}: {p.units}" for p in model.parameters)


__all__ = ["run", "prepare", "allocate", "to_dataset", "ModelError"]
