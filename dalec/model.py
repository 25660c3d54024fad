"""What a DALEC model is: its parameter table, pools, fluxes, drivers and kernel.

Each model module in :mod:`dalec.models` builds one :class:`Model` and registers it. Nothing
outside that module needs to know the model's indices: the adapter in :mod:`dalec.api` and the
calibrator in :mod:`mdf` work from the tables held here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np


class ModelError(ValueError):
    """Bad input to a forward run: wrong parameter count or values, unusable drivers."""


@dataclass(frozen=True)
class Parameter:
    """One model parameter and its prior box.

    Attributes
    ----------
    name : str
        Short name used in tables and files (e.g. ``"t_wood"``).
    symbol : str
        Symbol in the paper's notation (e.g. ``"θ_woo"``).
    units : str
        UDUNITS units string (``"d-1"``, ``"1"``, ``"g m-2"``).
    min, max : float
        Prior bounds.
    log : bool
        True if the prior is log-uniform on ``[min, max]`` (CARDAMOM samples all parameters in
        the normalised log space ``ln(p/min)/ln(max/min)``).
    description : str
        One-line meaning.
    circular : bool
        True for phase parameters (day of peak leaf-on / leaf-fall, period 365.25 d).
    """

    name: str
    symbol: str
    units: str
    min: float
    max: float
    log: bool = True
    description: str = ""
    circular: bool = False


@dataclass(frozen=True)
class Observable:
    """How an observation stream maps onto model output (an observation operator).

    Either a signed sum of flux slots (``fluxes=(("gpp", -1.0), ("ra", 1.0), ...)``) or a sum
    of pools taken at the ``start``, ``end`` or ``mid`` (mean of start and end) of each step;
    optionally divided by a parameter (LAI = foliar C / LCMA).
    """

    fluxes: tuple[tuple[str, float], ...] = ()
    pools: tuple[str, ...] = ()
    at: str = "start"
    divide_by: str | None = None

    def __post_init__(self):
        if bool(self.fluxes) == bool(self.pools):
            raise ValueError("an Observable takes either fluxes or pools")
        if self.at not in ("start", "end", "mid"):
            raise ValueError(f"Observable.at must be start, end or mid, not {self.at!r}")


@dataclass(frozen=True)
class Model:
    """A registered DALEC model.

    Attributes
    ----------
    name : str
        Registry name (``"400"``, ``"811"``, ...).
    description : str
        One line on what the model is.
    parameters : tuple of Parameter
        The parameter table, in kernel order.
    pools : tuple of str
        Pool variable names (see :mod:`dalec.variables`), in kernel order.
    fluxes : tuple of str
        Flux slot names, in kernel order.
    drivers : tuple of str
        Driver variables the model reads (besides latitude).
    prepare : callable
        ``prepare(drivers: Mapping[str, ndarray], latitude: float, options) -> (forcing, site)``:
        the per-pixel precomputation of every driver-only term (done once per pixel, never per
        proposal). ``forcing`` is a C-contiguous ``(n_forcing, n_steps)`` array and ``site`` a
        1-D array of scalars.
    kernel : numba dispatcher
        ``kernel(forcing, site, pars, pools, fluxes) -> None`` writes one run into
        ``pools (n_pools, n_steps + 1)`` and ``fluxes (n_fluxes, n_steps)``.
    ensemble_kernel : numba dispatcher
        The same over a ``(n_samples, n_pars)`` parameter array, parallel over samples.
    pair_kernel : numba dispatcher, optional
        ``pair_kernel(forcing, site, pars_a, pars_b, pools_a, pools_b, fluxes_a, fluxes_b)``:
        two runs with their time loops interleaved, each bit for bit what ``kernel`` writes,
        so that one core overlaps their dependency chains. Samplers that move two chains in
        lockstep (``demcz``) use it; without it they call ``kernel`` twice.
    quad_kernel : numba dispatcher, optional
        ``quad_kernel(forcing, site, pars_a, ..., pars_d, pools_a, ..., pools_d, fluxes_a, ...,
        fluxes_d)``: the same for four runs (``demcz`` with four chains to a thread); without
        it, ``pair_kernel`` twice.
    derived : callable
        ``derived(pars, pools, fluxes) -> dict`` of extra output series (``lai``, ``nee``, ...),
        numpy-vectorised over leading sample dimensions.
    references : tuple of str
        Citations (with DOI) for the docs.
    options : Mapping
        Default model options accepted by ``prepare`` (e.g. the temperature-factor form).
    observables : Mapping[str, Observable]
        Observation operators by stream name (``gpp``, ``lai``, ``nbe``, ``et``, ``abgb``,
        ``som``, ``fire``, ...). A stream without an operator cannot be scored for this model.
    pool_outflows : Mapping[str, tuple of str]
        The flux slots leaving each pool (for mean residence times).
    constant_step : bool
        True if the model assumes one step length (JPL models take ``time[1] - time[0]``);
        False for models with a per-step ``deltat`` (Edinburgh models on calendar months).
    """

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    pools: tuple[str, ...]
    fluxes: tuple[str, ...]
    drivers: tuple[str, ...]
    prepare: Callable
    kernel: Callable
    ensemble_kernel: Callable
    derived: Callable
    references: tuple[str, ...] = ()
    options: Mapping[str, object] = field(default_factory=dict)
    constant_step: bool = True
    observables: Mapping[str, Observable] = field(default_factory=dict)
    pool_outflows: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    pair_kernel: Callable | None = None
    quad_kernel: Callable | None = None

    @property
    def n_parameters(self) -> int:
        return len(self.parameters)

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def bounds(self) -> np.ndarray:
        """Prior bounds as an ``(n_parameters, 2)`` array ``[min, max]``."""
        return np.array([[p.min, p.max] for p in self.parameters], dtype=np.float64)

    def flux_index(self, name: str) -> int:
        return self.fluxes.index(name)

    def pool_index(self, name: str) -> int:
        return self.pools.index(name)

    def check_options(self, options: Mapping[str, object] | None) -> dict[str, object]:
        """Merge user options into the defaults; unknown keys are an error."""
        merged = dict(self.options)
        for key, value in (options or {}).items():
            if key not in merged:
                raise ModelError(
                    f"model {self.name} has no option {key!r}; options: {sorted(merged) or 'none'}"
                )
            merged[key] = value
        return merged

    def check_parameters(self, parameters, strict: bool = False) -> np.ndarray:
        """Return parameters as a C-contiguous float64 array ``(n_samples, n_parameters)``.

        Parameters
        ----------
        parameters : array_like
            One vector ``(n_parameters,)`` or many ``(n_samples, n_parameters)``.
        strict : bool
            Also require every value to lie inside its prior bounds.

        Raises
        ------
        ModelError
            Wrong shape or count, non-finite values, or (strict) values outside the bounds.
        """
        arr = np.asarray(parameters, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.n_parameters:
            raise ModelError(
                f"model {self.name} takes {self.n_parameters} parameters "
                f"({', '.join(self.parameter_names)}); got an array of shape {np.shape(parameters)}"
            )
        bad = ~np.isfinite(arr)
        if bad.any():
            s, i = np.argwhere(bad)[0]
            raise ModelError(
                f"parameter {self.parameters[i].name!r} (index {i}) of sample {s} is {arr[s, i]}; "
                "parameters must be finite"
            )
        if strict:
            lo, hi = self.bounds.T
            out = (arr < lo) | (arr > hi)
            if out.any():
                s, i = np.argwhere(out)[0]
                p = self.parameters[i]
                raise ModelError(
                    f"parameter {p.name!r} (index {i}) of sample {s} is {arr[s, i]!r}, "
                    f"outside its prior range [{p.min!r}, {p.max!r}] {p.units}"
                )
        return np.ascontiguousarray(arr)
