"""The likelihood settings in a binary CBF header, as observation options and priors.

The 300-value header of a JPL v2.2 binary CBF holds, besides the counts, the settings the
cost function reads (MODELS.md 5.1; ``CARDAMOM_READ_BINARY_DATA.c``). Static values
(0-based; a negative value means "use the default"):

====  =====================  =========  ==================================================
idx   name                   default    use
====  =====================  =========  ==================================================
7     gppabs                 --         0: GPP model and data divided by their means
13    nee_annual_unc         --         < 0: point-wise NEE; else annual + monthly terms
14    et_annual_unc          --         < 1: point-wise ET; else annual + seasonal terms
15    nee_obs_unc            0.5        Gaussian sigma of NEE [g m-2 d-1]
16    et_obs_unc             2          log-normal factor of ET
18    ewt_obs_unc            50         Gaussian sigma of EWT after removing means [kg m-2]
19    gpp_annual_unc         --         < 1: point-wise GPP; else annual + seasonal terms
20    gpp_obs_unc            2          log-normal factor of GPP
21    et_obs_threshold       0          floor of model and data ET before the log
22    gpp_obs_threshold      0          floor of GPP before the log
24    ch4_annual_unc         --
25    ch4_obs_unc            0.5
26    ch4_obs_threshold      0
====  =====================  =========  ==================================================

Other priors (values 200-249, uncertainties 250-299; > 0 log-normal factor, < 0 Gaussian
sigma): 0 initial live biomass, 2 mean fire, 4 mean LAI (replaces the LAI series when > 0),
5 mean GPP; uncertainties 1 (biomass observations) and 7 (SOM observations) are the
log-normal factors of those streams. Parameter priors: values 100-149, uncertainties 150-199.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .errors import DriverError
from .options import (
    Constraint,
    ObsOptions,
    ParameterPrior,
    constraints,
    get_obs_options,
    obs_streams,
    parameter_priors,
    set_constraint,
    set_obs_options,
    set_parameter_priors,
)

_PP, _PU, _OP, _OU = 100, 150, 200, 250
#: other-prior slots that are scalar constraints
_CONSTRAINT_SLOTS = {"initial_live_biomass": 0, "mean_fire": 2, "mean_lai": 4, "mean_gpp": 5}
MISSING = -9999.0


def _set(x: float) -> bool:
    return bool(np.isfinite(x)) and x > -9998


def _or(value: float, default: float) -> float:
    """The C reader's rule: a negative value means the default."""
    return default if not np.isfinite(value) or value < 0 else float(value)


def decode_settings(header: np.ndarray):
    """``(options by stream, constraints by name, parameter priors)`` from a 300-value header."""
    s = header[:100]
    nan = math.nan
    options = {
        "gpp": ObsOptions(
            error_type="lognormal",
            unc=_or(s[20], 2.0),
            threshold=_or(s[22], 0.0),
            normalisation="divide_mean" if int(s[7]) == 0 else "none",
            aggregation="annual_anomaly" if s[19] >= 1 else "pointwise",
            annual_unc=float(s[19]) if s[19] >= 1 else nan,
        ),
        "lai": ObsOptions(error_type="lognormal", unc=2.0, assimilate=not header[_OP + 4] > 0),
        "nbe": ObsOptions(
            error_type="gaussian",
            unc=_or(s[15], 0.5),
            aggregation="annual_anomaly" if s[13] >= 0 else "pointwise",
            annual_unc=float(s[13]) if s[13] >= 0 else nan,
            monthly_unc=_or(s[15], 0.5) if s[13] >= 0 else nan,
        ),
        "abgb": ObsOptions(
            error_type="lognormal", unc=float(header[_OU + 1]) if header[_OU + 1] > 0 else nan
        ),
        "et": ObsOptions(
            error_type="lognormal",
            unc=_or(s[16], 2.0),
            threshold=_or(s[21], 0.0),
            aggregation="annual_anomaly" if s[14] >= 1 else "pointwise",
            annual_unc=float(s[14]) if s[14] >= 1 else nan,
        ),
        "ewt": ObsOptions(
            error_type="gaussian", unc=_or(s[18], 50.0), normalisation="subtract_mean"
        ),
        "som": ObsOptions(
            error_type="lognormal", unc=float(header[_OU + 7]) if header[_OU + 7] > 0 else nan
        ),
        "ch4": ObsOptions(
            error_type="gaussian",
            unc=_or(s[25], 0.5),
            threshold=_or(s[26], 0.0),
            aggregation="annual_anomaly" if s[24] >= 1 else "pointwise",
            annual_unc=float(s[24]) if s[24] >= 1 else nan,
        ),
    }
    cons = {}
    for name, k in _CONSTRAINT_SLOTS.items():
        value, unc = header[_OP + k], header[_OU + k]
        if _set(value) and (name != "mean_lai" or value > 0):
            cons[name] = Constraint(
                name=name,
                value=float(value),
                unc=abs(float(unc)) if _set(unc) else nan,
                error_type="lognormal" if unc > 0 else "gaussian",
            )
    priors = []
    for i in range(50):
        value, unc = header[_PP + i], header[_PU + i]
        if _set(value) and _set(unc):
            kind = "lognormal" if unc > 0 else "gaussian"
            priors.append(ParameterPrior(i, float(value), abs(float(unc)), kind))
    return options, cons, priors


def decode(ds, header: np.ndarray) -> None:
    """Store the header's settings in ``ds`` (in place) for the streams it holds."""
    options, cons, priors = decode_settings(header)
    for stream in obs_streams(ds):
        if stream in options:
            set_obs_options(ds, stream, options[stream])
    for c in cons.values():
        set_constraint(ds, c)
    set_parameter_priors(ds, priors)


def _same(a, b) -> bool:
    da, db = (a.as_dict(), b.as_dict()) if hasattr(a, "as_dict") else (vars(a), vars(b))
    for key in da:
        x, y = da[key], db[key]
        if isinstance(x, float) and isinstance(y, float):
            if not (x == y or (math.isnan(x) and math.isnan(y))):
                return False
        elif x != y:
            return False
    return True


def _num(x: float) -> float:
    return float(x) if np.isfinite(x) else MISSING


def encode(ds, header: np.ndarray, source: str) -> None:
    """Write into ``header`` (in place) the settings of ``ds`` that it does not already say.

    Raises
    ------
    DriverError
        An option has no binary-CBF encoding (e.g. a relative error type for GPP).
    """
    old_options, old_cons, old_priors = decode_settings(header)
    s = header
    for stream in obs_streams(ds):
        if stream not in old_options:
            continue
        new = get_obs_options(ds, stream)
        if _same(new, old_options[stream]):
            continue
        _encode_stream(stream, new, s, source)
    new_cons = constraints(ds)
    for name, k in _CONSTRAINT_SLOTS.items():
        new, old = new_cons.get(name), old_cons.get(name)
        if new is None and old is None:
            continue
        if new is not None and old is not None and _same(new, old):
            continue
        if new is None:
            s[_OP + k] = s[_OU + k] = MISSING
            continue
        if new.error_type not in ("gaussian", "lognormal"):
            raise DriverError(
                f"{source}: constraint {name!r}: a binary CBF has no {new.error_type!r} error type"
            )
        s[_OP + k] = _num(new.value)
        s[_OU + k] = new.unc if new.error_type == "lognormal" else -new.unc
    unplaced = sorted(set(new_cons) - set(_CONSTRAINT_SLOTS))
    if unplaced:
        warnings.warn(
            f"{source}: constraint(s) {', '.join(unplaced)} have no slot in a binary CBF and are "
            "not written (an initial soil carbon prior is a parameter prior there: add a "
            "ParameterPrior at the model's index)",
            stacklevel=4,
        )
    new_priors = parameter_priors(ds)
    if len(new_priors) != len(old_priors) or not all(
        _same(a, b) for a, b in zip(new_priors, old_priors, strict=True)
    ):
        s[_PP:_OP] = MISSING
        for p in new_priors:
            if not 0 <= p.index < 50:
                raise DriverError(
                    f"{source}: parameter prior index {p.index} is outside the "
                    "50 slots of a binary CBF"
                )
            s[_PP + p.index] = p.value
            s[_PU + p.index] = p.unc if p.kind == "lognormal" else -p.unc


def _encode_stream(stream: str, o: ObsOptions, s: np.ndarray, source: str) -> None:
    def fail(what):
        raise DriverError(
            f"{source}: observation stream {stream!r}: {what} cannot be written "
            "to a binary CBF header"
        )

    expected = {"nbe": "gaussian", "ewt": "gaussian", "ch4": "gaussian"}.get(stream, "lognormal")
    if o.error_type != expected:
        fail(f"error type {o.error_type!r} (the format fixes {expected!r})")
    if stream in ("gpp", "et", "nbe", "ch4"):
        if o.aggregation not in ("pointwise", "annual_anomaly"):
            fail(f"aggregation {o.aggregation!r}")
        annual = o.annual_unc if o.aggregation == "annual_anomaly" else MISSING
        slot_unc, slot_annual, slot_thr = {
            "gpp": (20, 19, 22),
            "et": (16, 14, 21),
            "nbe": (15, 13, None),
            "ch4": (25, 24, 26),
        }[stream]
        s[slot_unc] = _num(o.unc)
        s[slot_annual] = _num(annual)
        if slot_thr is not None:
            s[slot_thr] = _num(o.threshold)
        if stream == "gpp":
            if o.normalisation not in ("none", "divide_mean"):
                fail(f"normalisation {o.normalisation!r}")
            s[7] = 0.0 if o.normalisation == "divide_mean" else 1.0
    elif stream == "ewt":
        s[18] = _num(o.unc)
    elif stream == "abgb":
        s[_OU + 1] = _num(o.unc)
    elif stream == "som":
        s[_OU + 7] = _num(o.unc)
    elif stream == "lai" and (o.unc != 2.0 or o.aggregation != "pointwise"):
        fail("an LAI uncertainty other than factor 2, or a non-point-wise aggregation,")


#: parameter priors of a binary CBF that CARDAMOM v3 reads as single-value observations
#: (PEQ_*): index -> (constraint name, value from the prior's value)
_V3_PRIORS = {1: ("cue", lambda v: 1.0 - v), 22: ("initial_som", lambda v: v)}


def as_cardamom_v3(ds):
    """A copy of a pixel read from a binary CBF, scored as CARDAMOM v3 scores the file's
    netCDF conversion.

    CARDAMOM v3 (commit 952d8c0d) reads only netCDF CBFs and has no parameter priors. The
    DALEC 1005 reference (``jpl/dalec1005/README.txt`` of the project's shared reference)
    converts each binary FluxVal CBF value for value, keeping the v2 meaning of every header
    field, except that

    - the log-normal prior on ``f_auto`` (PARPRIORS[1], factor PARPRIORUNC[1]) becomes v3's
      ``PEQ_CUE`` on the carbon-use efficiency ``1 - f_auto`` with value ``1 - PARPRIORS[1]``
      (the two agree only at 0.5): constraint ``cue``;
    - the prior on the initial SOM (PARPRIORS[22]) becomes ``PEQ_iniSOM``: constraint
      ``initial_som`` (the same term);
    - a stream without a threshold has none (``-inf``, v3's default) instead of 0, which
      changes only terms that are NaN or infinite anyway.

    Other parameter priors are dropped, with a warning (v3 has no place for them).

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel from :func:`drivers.read_cbf`.

    Returns
    -------
    xarray.Dataset
        The pixel with the settings above; ``attrs['likelihood_settings']`` records the
        conversion. Meant for scoring: :func:`drivers.write_cbf` has no slot for the
        ``cue`` and ``initial_som`` constraints.
    """
    out = ds.copy()
    for stream in obs_streams(out):
        opts = get_obs_options(out, stream)
        if math.isnan(opts.threshold):
            set_obs_options(out, stream, opts.replace(threshold=-math.inf))
    kept = []
    for prior in parameter_priors(out):
        if prior.index in _V3_PRIORS:
            name, value = _V3_PRIORS[prior.index]
            set_constraint(out, Constraint(name, value(prior.value), prior.unc, prior.kind))
        else:
            kept.append(prior.index)
    if kept:
        warnings.warn(
            f"{ds.attrs.get('source_file', '<pixel>')}: parameter priors at indices {kept} have "
            "no CARDAMOM v3 equivalent and are dropped",
            stacklevel=2,
        )
    set_parameter_priors(out, [])
    out.attrs["likelihood_settings"] = (
        "CARDAMOM v3: f_auto prior as a CUE prior, initial-SOM prior as PEQ_iniSOM, "
        "unset thresholds -inf (drivers.cbf_header.as_cardamom_v3)"
    )
    return out
