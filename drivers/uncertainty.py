"""Uncertainty policies: how product uncertainties become the ones a run uses.

A policy is a small object with one job, :meth:`UncertaintyPolicy.apply`: given a pixel
dataset, return one whose observation streams carry the per-step uncertainties
(``<stream>_obs_unc``) and cost-function options (:class:`~drivers.options.ObsOptions`) of
that policy. The uncertainties as read are kept in ``<stream>_obs_unc_product``, so a
second policy applied afterwards starts from the same numbers, and the dataset attribute
``uncertainty_policy`` records which policy was applied, with its settings.

Two policies reproduce the reference implementations:

- :class:`EdinburghRules`, the Edinburgh CARDAMOM rules (MODELS.md Part B, section 1.3;
  GCEL ``extract_obs.r``, "assumed uncertainty structure as agreed with Anthony Bloom"): a
  default where the product gives none, a structural term relative to the stream's mean
  added in quadrature, and a floor;
- :class:`JPLDefaults`, the defaults of the JPL binary CBF reader (MODELS.md 5.1): fixed
  log-normal factors for GPP, LAI, ET and stocks, a fixed Gaussian sigma for NEE/NBE and EWT.

>>> ds = drivers.read("FI-Hyy_timeseries_met.csv", policy=None)   # doctest: +SKIP
>>> run_a = EdinburghRules().apply(ds)                            # doctest: +SKIP
>>> run_b = JPLDefaults().apply(ds)                               # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import xarray as xr

from .options import (
    ObsOptions,
    constraints,
    get_obs_options,
    obs_streams,
    set_constraint,
    set_obs_options,
)


@dataclass(frozen=True)
class StreamRule:
    """Edinburgh rule for one stream: ``max(floor, sqrt(u² + (rel·mean)² + abs²))``.

    Attributes
    ----------
    default_unc : float
        ``u`` where the product gives no uncertainty: absolute (stream units) or, with
        ``default_relative``, a fraction of each observation.
    default_relative : bool
    relative_structural : float
        ``rel``: structural term as a fraction of the mean of the stream's valid values.
    absolute_structural : float
        ``abs``: structural term in the stream's units.
    floor : float
        Lower bound of the final standard deviation.
    aggregation : str
        How the DALEC.4 likelihood uses the stream (``annual_anomaly`` for GPP, NBE, fire).
    """

    default_unc: float
    default_relative: bool = False
    relative_structural: float = 0.1
    absolute_structural: float = 0.0
    floor: float = 0.0
    aggregation: str = "pointwise"

    def final(self, obs: np.ndarray, unc: np.ndarray) -> np.ndarray:
        """Final standard deviation per step (NaN where ``obs`` is missing)."""
        valid = np.isfinite(obs)
        default = self.default_unc * np.abs(obs) if self.default_relative else self.default_unc
        u = np.where(np.isfinite(unc) & (unc > 0), unc, default)
        mean = np.mean(obs[valid]) if valid.any() else 0.0
        sd = np.sqrt(u**2 + (self.relative_structural * mean) ** 2 + self.absolute_structural**2)
        return np.where(valid, np.maximum(self.floor, sd), np.nan)


@dataclass(frozen=True)
class FireRule(StreamRule):
    """Edinburgh fire rule: ``max(0.1·mean, max(0.01, min(obs, u)))``; obs < 0.01 dropped."""

    minimum: float = 0.01

    def final(self, obs, unc):
        obs = np.where(obs < self.minimum, np.nan, obs)
        valid = np.isfinite(obs)
        u = np.where(np.isfinite(unc) & (unc > 0), unc, self.default_unc)
        mean = np.mean(obs[valid]) if valid.any() else 0.0
        sd = np.maximum(
            self.relative_structural * mean, np.maximum(self.minimum, np.minimum(obs, u))
        )
        return np.where(valid, sd, np.nan)


#: MODELS.md Part B, section 1.3 (stream names as in the pixel dataset)
EDINBURGH_STREAM_RULES: dict[str, StreamRule] = {
    "lai": StreamRule(0.5, floor=0.25),
    "fapar": StreamRule(0.05, floor=0.05),
    "gpp": StreamRule(0.74, floor=1.0, aggregation="annual_anomaly"),
    "reco": StreamRule(0.74, floor=1.0),
    "nee": StreamRule(0.58, relative_structural=0.0, absolute_structural=1.0),
    "nbe": StreamRule(
        1.0, relative_structural=0.0, absolute_structural=1.0, aggregation="annual_anomaly"
    ),
    "fire": FireRule(0.1, aggregation="annual_anomaly"),
    "et": StreamRule(0.77, floor=1.0),
    "cwood": StreamRule(0.25, default_relative=True, floor=100.0),
    "cagb": StreamRule(0.25, default_relative=True, floor=100.0),
    "abgb": StreamRule(0.25, default_relative=True, floor=100.0),
    "som": StreamRule(0.24, default_relative=True, floor=1000.0),
    "cwood_increment": StreamRule(0.25, default_relative=True, floor=0.1),
    "cwood_mortality": StreamRule(0.25, default_relative=True, floor=0.1),
    "foliar_litterfall": StreamRule(0.25, default_relative=True, floor=0.1),
}


class UncertaintyPolicy:
    """Base class: subclasses implement :meth:`_apply_stream` and may extend :meth:`apply`."""

    #: registry name, recorded in ``ds.attrs['uncertainty_policy']``
    name = "base"

    def settings(self) -> dict:
        """The policy's settings (JSON-serialisable), recorded with its name."""
        return {}

    def describe(self) -> str:
        """The policy's name, followed by its settings as JSON where they are not the
        defaults; :func:`policy_from_description` inverts it."""
        settings = self.settings()
        if settings == type(self)().settings():
            return self.name
        return f"{self.name} {json.dumps(settings, sort_keys=True)}"

    def apply(self, ds: xr.Dataset) -> xr.Dataset:
        """Return a copy of ``ds`` with this policy's uncertainties and options."""
        ds = ds.copy()
        for stream in obs_streams(ds):
            product = _product_unc(ds, stream)
            result = self._apply_stream(ds, stream, product)
            if result is None:
                continue
            unc, options = result
            unc_name = f"{stream}_obs_unc"
            if product is not None and f"{unc_name}_product" not in ds:
                ds[f"{unc_name}_product"] = ds[unc_name].copy()
                ds[f"{unc_name}_product"].attrs["long_name"] = (
                    f"uncertainty of observed {stream} as read, before any policy"
                )
            if unc is None:
                if unc_name in ds:
                    del ds[unc_name]
            else:
                units = ds[f"{stream}_obs"].attrs.get("units", "1")
                ds[unc_name] = (
                    "time",
                    unc,
                    {
                        "long_name": f"uncertainty of observed {stream} ({self.name} rules)",
                        "units": units,
                    },
                )
            set_obs_options(ds, stream, options)
        ds.attrs["uncertainty_policy"] = self.describe()
        return ds

    def _apply_stream(self, ds, stream, product):
        raise NotImplementedError


def _product_unc(ds, stream):
    for name in (f"{stream}_obs_unc_product", f"{stream}_obs_unc"):
        if name in ds:
            return np.asarray(ds[name].values, dtype=np.float64)
    return None


@dataclass
class EdinburghRules(UncertaintyPolicy):
    """The Edinburgh CARDAMOM uncertainty rules (MODELS.md Part B 1.3).

    Per stream (see :data:`EDINBURGH_STREAM_RULES`), the final standard deviation is
    ``max(floor, sqrt(u² + (0.1·mean)²))`` for LAI, fAPAR, GPP, Reco, ET and the stocks,
    ``sqrt(u² + 1²)`` for NEE and NBE, where ``u`` is the product uncertainty or the
    stream's default, and ``mean`` the mean of its valid observations. The initial soil
    carbon constraint gets ``max(1000, u)`` [g m-2]. All streams become Gaussian; GPP, NBE
    and fire use the annual-mean-plus-anomaly aggregation of the DALEC.4 likelihood.
    Streams without a rule are left as they are.

    Parameters
    ----------
    rules : mapping of str to StreamRule, optional
        Replaces the default table (e.g. a different NEE structural term).
    initial_som_floor : float
        Floor of the initial soil carbon prior uncertainty [g m-2].
    """

    rules: Mapping[str, StreamRule] = field(default_factory=lambda: dict(EDINBURGH_STREAM_RULES))
    initial_som_floor: float = 1000.0
    name = "edinburgh"

    def settings(self):
        out = {k: {"type": type(r).__name__, **asdict(r)} for k, r in sorted(self.rules.items())}
        return {"rules": out, "initial_som_floor": self.initial_som_floor}

    def _apply_stream(self, ds, stream, product):
        rule = self.rules.get(stream)
        if rule is None:
            return None
        obs = np.asarray(ds[f"{stream}_obs"].values, dtype=np.float64)
        if product is None:
            product = np.full(obs.shape, np.nan)
        sd = rule.final(obs, product)
        if isinstance(rule, FireRule):
            ds[f"{stream}_obs"].values = np.where(np.isfinite(sd), obs, np.nan)
        old = get_obs_options(ds, stream)
        return sd, ObsOptions(
            error_type="gaussian", aggregation=rule.aggregation, assimilate=old.assimilate
        )

    def apply(self, ds):
        ds = super().apply(ds)
        som = constraints(ds).get("initial_som")
        if som is not None:
            attrs = ds["constraint_initial_som"].attrs
            raw = float(attrs.get("unc_product", som.unc))
            unc = max(self.initial_som_floor, raw) if np.isfinite(raw) else self.initial_som_floor
            keep = {
                k: v
                for k, v in attrs.items()
                if k not in ("long_name", "units", "unc", "error_type", "weight", "threshold")
            }
            keep["unc_product"] = raw
            set_constraint(ds, replace(som, unc=unc, error_type="gaussian"), **keep)
        return ds


#: JPL v2.2 binary-CBF defaults (MODELS.md 5.1; CARDAMOM_READ_BINARY_DATA.c)
JPL_DEFAULT_OPTIONS: dict[str, ObsOptions] = {
    "gpp": ObsOptions(error_type="lognormal", unc=2.0, threshold=0.0),
    "lai": ObsOptions(error_type="lognormal", unc=2.0),
    "nbe": ObsOptions(error_type="gaussian", unc=0.5),
    "nee": ObsOptions(error_type="gaussian", unc=0.5),
    "et": ObsOptions(error_type="lognormal", unc=2.0, threshold=0.0),
    "ewt": ObsOptions(error_type="gaussian", unc=50.0, normalisation="subtract_mean"),
    "abgb": ObsOptions(error_type="lognormal", unc=2.0),
    "som": ObsOptions(error_type="lognormal", unc=2.0),
    "ch4": ObsOptions(error_type="gaussian", unc=0.5, threshold=0.0),
}


@dataclass
class JPLDefaults(UncertaintyPolicy):
    """The JPL CARDAMOM v2.2 defaults (MODELS.md 5.1).

    GPP, LAI and ET are log-normal with factor 2 (GPP and ET floored at threshold 0), NEE/NBE
    Gaussian with sigma 0.5 g m-2 d-1, EWT Gaussian with sigma 50 kg m-2 after subtracting
    the mean, biomass and SOM log-normal with factor 2. Per-step product uncertainties are
    kept for Gaussian streams (v2.2 uses an NEE uncertainty series where given) and dropped
    for log-normal ones (a standard deviation is not a factor); the product values stay in
    ``<stream>_obs_unc_product``.

    Parameters
    ----------
    options : mapping of str to ObsOptions, optional
        Replaces the default table.
    """

    options: Mapping[str, ObsOptions] = field(default_factory=lambda: dict(JPL_DEFAULT_OPTIONS))
    name = "jpl"

    def settings(self):
        return {"options": {k: _json_options(v) for k, v in sorted(self.options.items())}}

    def _apply_stream(self, ds, stream, product):
        options = self.options.get(stream)
        if options is None:
            return None
        options = options.replace(assimilate=get_obs_options(ds, stream).assimilate)
        if options.error_type == "gaussian" and product is not None:
            obs = ds[f"{stream}_obs"].values
            return np.where(np.isfinite(obs), product, np.nan), options
        return None, options


def _json_options(options: ObsOptions) -> dict:
    return {
        k: v for k, v in options.as_dict().items() if not (isinstance(v, float) and math.isnan(v))
    }


#: policies by registry name
POLICIES = {"edinburgh": EdinburghRules, "jpl": JPLDefaults}


def get_policy(name) -> UncertaintyPolicy:
    """A policy instance from its registry name (``'edinburgh'``, ``'jpl'``) or as is.

    Parameters
    ----------
    name : str or UncertaintyPolicy
        ``'edinburgh'`` (:class:`EdinburghRules`) or ``'jpl'`` (:class:`JPLDefaults`),
        case-insensitive; a policy instance is returned unchanged.

    Returns
    -------
    UncertaintyPolicy
        A new policy with its default settings, or ``name`` itself.

    Raises
    ------
    ValueError
        An unknown name.
    """
    if isinstance(name, UncertaintyPolicy):
        return name
    try:
        return POLICIES[str(name).lower()]()
    except KeyError:
        raise ValueError(
            f"unknown uncertainty policy {name!r}; known: {', '.join(POLICIES)}"
        ) from None


def policy_from_description(text: str) -> UncertaintyPolicy:
    """The policy that :meth:`UncertaintyPolicy.describe` described (e.g. a dataset's
    ``uncertainty_policy`` attribute), so that a run can be reproduced."""
    name, _, settings = str(text).strip().partition(" ")
    policy = get_policy(name)
    if not settings:
        return policy
    data = json.loads(settings)
    if isinstance(policy, EdinburghRules):
        rules = {}
        for stream, spec in data["rules"].items():
            spec = dict(spec)
            cls = FireRule if spec.pop("type") == "FireRule" else StreamRule
            rules[stream] = cls(**spec)
        return EdinburghRules(rules=rules, initial_som_floor=data["initial_som_floor"])
    if isinstance(policy, JPLDefaults):
        return JPLDefaults(options={k: ObsOptions(**v) for k, v in data["options"].items()})
    raise ValueError(f"cannot rebuild policy {name!r} from its settings")


def step_uncertainty(ds: xr.Dataset, stream: str) -> np.ndarray:
    """Per-step uncertainty of ``stream`` as a likelihood would use it.

    The ``<stream>_obs_unc`` value where given, else the stream's default ``unc``; for
    ``relative`` streams times ``max(|obs|, threshold)``; then the ``structural_unc``
    added in quadrature (Gaussian and relative streams) and the ``floor`` applied.
    NaN where the observation is missing or no uncertainty is known.

    Returns
    -------
    ndarray
        Standard deviations (gaussian, relative) [stream units] or factors (lognormal) [1].
    """
    opts = get_obs_options(ds, stream)
    obs = np.asarray(ds[f"{stream}_obs"].values, dtype=np.float64)
    unc_name = f"{stream}_obs_unc"
    series = np.asarray(ds[unc_name].values, dtype=np.float64) if unc_name in ds else None
    u = np.full(obs.shape, opts.unc)
    if series is not None:
        u = np.where(np.isfinite(series), series, u)
    if opts.error_type == "relative":
        scale = np.abs(obs)
        if np.isfinite(opts.threshold):
            scale = np.maximum(scale, opts.threshold)
        u = u * scale
    if opts.error_type != "lognormal" and np.isfinite(opts.structural_unc):
        u = np.sqrt(u**2 + opts.structural_unc**2)
    if np.isfinite(opts.floor):
        u = np.maximum(u, opts.floor)
    return np.where(np.isfinite(obs), u, np.nan)
