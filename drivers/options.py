"""Cost-function options of observation streams, scalar constraints and parameter priors.

A pixel dataset carries everything the likelihood needs besides the model output:

- per observation stream ``<stream>_obs``, an :class:`ObsOptions` stored as attributes of
  that variable (error type, aggregation, normalisation, default / annual / monthly / mean
  uncertainties, structural uncertainty added in quadrature, floor, threshold);
- scalar constraints (mean LAI, mean GPP, mean fire, initial live biomass, initial soil
  carbon, ...) as 0-d variables ``constraint_<name>`` (:class:`Constraint`);
- parameter priors (:class:`ParameterPrior`, Gaussian or log-normal, per parameter index)
  as variables on a ``prior`` dimension.

The encodings are plain numbers and strings, so they survive a round trip through netCDF.
The meanings follow MODELS.md section 5 (JPL) and Part B section 1.3 (Edinburgh).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import xarray as xr

ERROR_TYPES = ("gaussian", "lognormal", "relative")
#: JPL ``opt_filter`` codes (MODELS.md 5.2) and their names here
AGGREGATIONS = (
    "pointwise",  # 0
    "mean",  # 1: mean only
    "annual_anomaly",  # 2: annual means plus monthly anomalies from them
    "annual",  # 3: annual means only
    "climatology_iav",  # 4: monthly climatology plus interannual variability
    "climatology",  # 5: monthly climatology only
    "rolling_3yr",  # 6: 3-year rolling means
    "decadal",  # 7: total mean, decadal and annual anomalies
    "mean_annual_monthly",  # 8: mean, annual anomaly and monthly anomaly
    "pointwise_trend",  # 9: point-wise plus a half-vs-half trend term
)
#: JPL ``opt_normalization`` codes 0, 1, 2
NORMALISATIONS = ("none", "subtract_mean", "divide_mean")

_FLOAT_FIELDS = (
    "unc",
    "annual_unc",
    "monthly_unc",
    "mean_unc",
    "structural_unc",
    "relative_structural_unc",
    "floor",
    "threshold",
)


@dataclass(frozen=True)
class ObsOptions:
    """How one observation stream enters the cost function.

    Attributes
    ----------
    error_type : {'gaussian', 'lognormal', 'relative'}
        ``gaussian``: uncertainties are standard deviations in the stream's units;
        ``lognormal``: uncertainties are multiplicative factors (> 1), model and data are
        compared in log space; ``relative``: the standard deviation is ``unc * |value|``
        (floored at ``unc * threshold``), then Gaussian.
    aggregation : str
        One of :data:`AGGREGATIONS`: ``pointwise``, ``mean`` (mean only),
        ``annual_anomaly`` (annual means plus monthly anomalies), ``annual``, ...
    normalisation : {'none', 'subtract_mean', 'divide_mean'}
        Applied to model and data before comparison (GRACE EWT: subtract; SIF: divide).
    unc : float
        Default per-step uncertainty for steps without a value in ``<stream>_obs_unc``.
    annual_unc, monthly_unc, mean_unc : float
        Uncertainties of the annual-mean, monthly-anomaly and mean-only terms.
    structural_unc : float
        Absolute model-structural uncertainty added in quadrature to every per-step value.
    relative_structural_unc : float
        Structural term as a fraction of the mean of the valid observations, added in
        quadrature (Edinburgh rules: 0.1 for most streams).
    floor : float
        Lower bound of the final per-step uncertainty.
    threshold : float
        Model and data are floored at this value before a log-normal comparison.
    assimilate : bool
        False for streams carried for validation only.

    Unset float options are NaN (the file gave none; the likelihood uses its default).
    """

    error_type: str = "gaussian"
    aggregation: str = "pointwise"
    normalisation: str = "none"
    unc: float = math.nan
    annual_unc: float = math.nan
    monthly_unc: float = math.nan
    mean_unc: float = math.nan
    structural_unc: float = math.nan
    relative_structural_unc: float = math.nan
    floor: float = math.nan
    threshold: float = math.nan
    assimilate: bool = True

    def __post_init__(self):
        if self.error_type not in ERROR_TYPES:
            raise ValueError(f"error_type {self.error_type!r} is not one of {ERROR_TYPES}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation {self.aggregation!r} is not one of {AGGREGATIONS}")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(f"normalisation {self.normalisation!r} is not one of {NORMALISATIONS}")

    def to_attrs(self) -> dict:
        """Attributes for ``<stream>_obs`` (unset options are left out)."""
        out = {
            "error_type": self.error_type,
            "aggregation": self.aggregation,
            "normalisation": self.normalisation,
            "assimilate": int(self.assimilate),
        }
        for name in _FLOAT_FIELDS:
            value = getattr(self, name)
            if not math.isnan(value):  # -inf is a legitimate threshold ("no floor")
                out[name] = float(value)
        return out

    @classmethod
    def from_attrs(cls, attrs) -> ObsOptions:
        """Inverse of :meth:`to_attrs`; missing attributes take the defaults."""
        kwargs = {}
        for f in fields(cls):
            if f.name in attrs:
                value = attrs[f.name]
                if f.name == "assimilate":
                    value = bool(int(value))
                elif f.name in _FLOAT_FIELDS:
                    value = float(value)
                else:
                    value = str(value)
                kwargs[f.name] = value
        return cls(**kwargs)

    def replace(self, **changes) -> ObsOptions:
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Constraint:
    """A scalar constraint on an emergent quantity (mean LAI, initial soil carbon, ...).

    Attributes
    ----------
    name : str
        ``mean_lai`` [m2 m-2], ``mean_gpp`` [g m-2 d-1], ``mean_fire`` [g m-2 d-1],
        ``mean_abgb`` [g m-2], ``initial_live_biomass`` [g m-2], ``initial_som`` [g m-2],
        ``cue`` [1], ``canopy_efficiency``, ``et_precip_ratio`` [1], or another
        ``peq_*`` / ``other_prior_*`` name carried over from a file.
    value : float
        Constraint value (NaN if the file declares the constraint without a value).
    unc : float
        Standard deviation (``gaussian``) or multiplicative factor (``lognormal``).
    error_type : {'gaussian', 'lognormal'}
    threshold : float
        Floor applied before the log (NaN: none).
    weight : float
        Multiplier of the term (Edinburgh files carry one per prior; 1 otherwise).
    """

    name: str
    value: float
    unc: float
    error_type: str = "gaussian"
    threshold: float = math.nan
    weight: float = 1.0

    def __post_init__(self):
        if self.error_type not in ("gaussian", "lognormal", "relative"):
            raise ValueError(f"constraint error_type {self.error_type!r} is not known")


#: units of the named constraints
CONSTRAINT_UNITS = {
    "mean_lai": "m2 m-2",
    "mean_gpp": "g m-2 d-1",
    "mean_fire": "g m-2 d-1",
    "mean_abgb": "g m-2",
    "initial_live_biomass": "g m-2",
    "initial_som": "g m-2",
    "cue": "1",
    "et_precip_ratio": "1",
}


@dataclass(frozen=True)
class ParameterPrior:
    """A prior on one model parameter, on top of its uniform (or log-uniform) box.

    Attributes
    ----------
    index : int
        0-based index into the model's parameter vector.
    value : float
        Prior mean (Gaussian) or median (log-normal), in the parameter's units.
    unc : float
        Standard deviation (``gaussian``) or multiplicative factor > 1 (``lognormal``).
    kind : {'gaussian', 'lognormal'}
    weight : float
        Multiplier of the term (Edinburgh files; 1 otherwise).
    """

    index: int
    value: float
    unc: float
    kind: str = "gaussian"
    weight: float = 1.0

    def __post_init__(self):
        if self.kind not in ("gaussian", "lognormal"):
            raise ValueError(f"prior kind {self.kind!r} is not 'gaussian' or 'lognormal'")


# ------------------------------------------------------------------ dataset accessors


def obs_streams(ds: xr.Dataset) -> list[str]:
    """Names of the observation streams in ``ds`` (``'gpp'`` for ``gpp_obs``), in order.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset.

    Returns
    -------
    list of str
        Stream names, in the order of the dataset's variables.
    """
    return [str(v)[:-4] for v in ds.data_vars if str(v).endswith("_obs")]


def get_obs_options(ds: xr.Dataset, stream: str) -> ObsOptions:
    """The :class:`ObsOptions` of ``stream`` (defaults where the dataset sets none).

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset.
    stream : str
        Stream name (``'gpp'`` for the variable ``gpp_obs``).

    Returns
    -------
    ObsOptions
        Error type, aggregation, uncertainties and the other cost-function options.
    """
    return ObsOptions.from_attrs(ds[f"{stream}_obs"].attrs)


def set_obs_options(ds: xr.Dataset, stream: str, options: ObsOptions) -> None:
    """Store ``options`` on ``ds[f'{stream}_obs']`` (in place; replaces earlier options).

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset holding ``<stream>_obs``; modified in place.
    stream : str
        Stream name (``'nee'``).
    options : ObsOptions
        The options to store, as attributes of ``<stream>_obs``.

    The units of ``<stream>_obs_unc`` follow the error type: the stream's units for
    ``gaussian``, ``1`` for a log-normal factor or a relative fraction.
    """
    attrs = ds[f"{stream}_obs"].attrs
    for f in fields(ObsOptions):
        attrs.pop(f.name, None)
    attrs.update(options.to_attrs())
    unc = f"{stream}_obs_unc"
    if unc in ds:
        gaussian = options.error_type == "gaussian"
        ds[unc].attrs["units"] = attrs.get("units", "1") if gaussian else "1"


def constraints(ds: xr.Dataset) -> dict[str, Constraint]:
    """The scalar constraints of ``ds`` by name.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset; each ``constraint_<name>`` variable is one constraint.

    Returns
    -------
    dict of str to Constraint
        ``{name: Constraint}``, e.g. ``'mean_lai'`` [m2 m-2] or ``'mean_gpp'``
        [g m-2 d-1]; empty when the pixel has none.
    """
    out = {}
    for var in ds.data_vars:
        var = str(var)
        if var.startswith("constraint_") and ds[var].ndim == 0:
            a = ds[var].attrs
            name = var[len("constraint_") :]
            out[name] = Constraint(
                name=name,
                value=float(ds[var].values),
                unc=float(a.get("unc", math.nan)),
                error_type=str(a.get("error_type", "gaussian")),
                threshold=float(a.get("threshold", math.nan)),
                weight=float(a.get("weight", 1.0)),
            )
    return out


def set_constraint(ds: xr.Dataset, constraint: Constraint, **extra_attrs) -> None:
    """Add or replace ``constraint_<name>`` in ``ds`` (in place)."""
    attrs = {
        "long_name": f"scalar constraint: {constraint.name.replace('_', ' ')}",
        "units": CONSTRAINT_UNITS.get(constraint.name, "1"),
        "unc": float(constraint.unc),
        "error_type": constraint.error_type,
        "weight": float(constraint.weight),
    }
    if np.isfinite(constraint.threshold):
        attrs["threshold"] = float(constraint.threshold)
    attrs.update(extra_attrs)
    ds[f"constraint_{constraint.name}"] = ((), float(constraint.value), attrs)


def parameter_priors(ds: xr.Dataset) -> list[ParameterPrior]:
    """The parameter priors of ``ds``, in the order stored.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset (variables ``prior_parameter_index``, ``prior_value``, ``prior_unc``,
        ``prior_kind``, ``prior_weight`` on dimension ``prior``).

    Returns
    -------
    list of ParameterPrior
        One per prior; empty when the pixel has none.
    """
    if "prior_parameter_index" not in ds:
        return []
    return [
        ParameterPrior(int(i), float(v), float(u), str(k), float(w))
        for i, v, u, k, w in zip(
            ds["prior_parameter_index"].values,
            ds["prior_value"].values,
            ds["prior_unc"].values,
            ds["prior_kind"].values,
            ds["prior_weight"].values,
            strict=True,
        )
    ]


def set_parameter_priors(ds: xr.Dataset, priors) -> None:
    """Store ``priors`` (iterable of :class:`ParameterPrior`) in ``ds`` (in place)."""
    priors = list(priors)
    for name in ("prior_parameter_index", "prior_value", "prior_unc", "prior_kind", "prior_weight"):
        if name in ds:
            del ds[name]
    if not priors:
        return
    ds["prior_parameter_index"] = (
        "prior",
        np.array([p.index for p in priors], dtype=np.int64),
        {"long_name": "0-based index of the parameter the prior applies to"},
    )
    ds["prior_value"] = (
        "prior",
        np.array([p.value for p in priors], dtype=np.float64),
        {"long_name": "prior mean (gaussian) or median (lognormal), in parameter units"},
    )
    ds["prior_unc"] = (
        "prior",
        np.array([p.unc for p in priors], dtype=np.float64),
        {"long_name": "prior standard deviation (gaussian) or factor (lognormal)"},
    )
    ds["prior_kind"] = (
        "prior",
        np.array([p.kind for p in priors], dtype=object),
        {"long_name": "gaussian or lognormal"},
    )
    ds["prior_weight"] = (
        "prior",
        np.array([p.weight for p in priors], dtype=np.float64),
        {"long_name": "weight of the prior term"},
    )
