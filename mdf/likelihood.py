"""Observation operators and cost terms, compiled to flat arrays for numba.

A pixel's observation streams (``<stream>_obs`` with :class:`drivers.options.ObsOptions`), its
scalar constraints and its parameter priors are turned once per pixel into a
:class:`Likelihood`: a set of flat arrays (CSR-style offsets) that :func:`_log_likelihood`
evaluates after every model run without touching Python.

All log-likelihoods omit normalising constants (as CARDAMOM's do), so values compare with
CARDAMOM's: each term is ``-0.5 · weight · scale(n) · Σ r²`` with residuals

- Gaussian: ``r = (M - O)/σ``;
- log-normal: ``r = ln(max(M, th)/max(O, th)) / ln(u)`` with a multiplicative factor ``u``
  (CARDAMOM's ``max``: a NaN model value becomes ``th``, so the term stays finite; a
  threshold of ``-inf`` floors nothing);
- relative: Gaussian with ``σ = unc·|O|`` (floored at ``unc·threshold``).

Aggregations: ``pointwise``; ``mean`` (the mean of the model over the observed steps against
the mean of the observations); ``annual_anomaly`` (per year, the annual-mean residual plus the
residuals of the departures from the annual means); ``annual`` (annual means only).
Normalisation (``divide_mean``/``subtract_mean``) applies to model and data over the observed
steps before thresholds. Per-stream cost scaling: none, ``1/n``, ``1/√n``, ``1/(1 + ln n)``
(Edinburgh CARDAMOM's options 0-3).

References
----------
Bloom, A. A. et al. (2016) PNAS 113, 1285-1290. doi:10.1073/pnas.1515160113
Smallman, T. L. et al. (2021) Biogeosciences 18, 4045-4070. doi:10.5194/bg-18-4045-2021
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from numba import njit

# operator kinds
OP_FLUX, OP_POOL_START, OP_POOL_END, OP_POOL_MID = 0, 1, 2, 3
# aggregations
AGG_POINT, AGG_MEAN, AGG_ANNUAL_ANOMALY, AGG_ANNUAL = 0, 1, 2, 3
_AGG_CODES = {"pointwise": 0, "mean": 1, "annual_anomaly": 2, "annual": 3}
# error types
ERR_GAUSS, ERR_LOGN = 0, 1
# normalisation
NORM_NONE, NORM_SUBTRACT, NORM_DIVIDE = 0, 1, 2
_NORM_CODES = {"none": 0, "subtract_mean": 1, "divide_mean": 2}
#: cost scaling per stream (Edinburgh CARDAMOM's 7th command-line argument)
SCALINGS = ("none", "n", "sqrt_n", "log_n")


class LikelihoodError(ValueError):
    """An observation stream or constraint that cannot be scored."""


@dataclass
class Likelihood:
    """Flat arrays describing every cost term of one pixel (see module docstring).

    ``names`` lists the terms in evaluation order; ``_log_likelihood`` writes each term's
    log-likelihood into an array of that length.
    """

    names: list[str]
    # operators: op_kind[o], rows op_rows[op_ptr[o]:op_ptr[o+1]] with op_sign, divisor op_par
    op_kind: np.ndarray
    op_ptr: np.ndarray
    op_rows: np.ndarray
    op_sign: np.ndarray
    op_par: np.ndarray
    # terms: t_int[t] = (op, agg, err, norm, n_groups, whole_run), t_flt[t] = (th, target,
    # target_unc, weight, scale)
    t_int: np.ndarray
    t_flt: np.ndarray
    pt_ptr: np.ndarray
    pt_idx: np.ndarray
    pt_obs: np.ndarray
    pt_lobs: np.ndarray
    pt_isig: np.ndarray
    pt_grp: np.ndarray
    g_ptr: np.ndarray
    g_sig: np.ndarray
    # parameter priors on offset + sign·(sum of parameters)
    pp_ptr: np.ndarray
    pp_idx: np.ndarray
    pp_flt: np.ndarray  # (value, unc, kind 0 gauss / 1 lognormal, weight, offset, sign)
    n_steps: int
    skipped: list[str] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        return int(self.pt_idx.size)

    def arrays(self):
        """The tuple of arrays the numba evaluator takes."""
        return (
            self.op_kind, self.op_ptr, self.op_rows, self.op_sign, self.op_par,
            self.t_int, self.t_flt, self.pt_ptr, self.pt_idx, self.pt_obs, self.pt_lobs,
            self.pt_isig, self.pt_grp, self.g_ptr, self.g_sig, self.pp_ptr, self.pp_idx,
            self.pp_flt,
        )

    @property
    def n_terms(self) -> int:
        return len(self.names)


def _scale_factor(scaling: str, n: int) -> float:
    if scaling == "none" or n == 0:
        return 1.0
    if scaling == "n":
        return 1.0 / n
    if scaling == "sqrt_n":
        return 1.0 / math.sqrt(n)
    if scaling == "log_n":
        return 1.0 / (1.0 + math.log(n))
    raise LikelihoodError(f"cost scaling {scaling!r} is not one of {SCALINGS}")


def calendar_years(time) -> np.ndarray:
    """Calendar year of each step time [days since 2001-01-01]."""
    days = np.floor(np.asarray(time, dtype=np.float64)).astype("int64")
    dates = np.datetime64("2001-01-01", "D") + days.astype("timedelta64[D]")
    return dates.astype("datetime64[Y]").astype(np.int64) + 1970


class _Builder:
    def __init__(self, model, n_steps):
        self.model = model
        self.n_steps = n_steps
        self.ops: list[tuple] = []
        self.op_index: dict[str, int] = {}
        self.names: list[str] = []
        self.t_int: list[list[int]] = []
        self.t_flt: list[list[float]] = []
        self.pts: list[tuple] = []  # (idx, obs, sig, grp)
        self.groups: list[np.ndarray] = []
        self.pp: list[tuple] = []

    def operator(self, name):
        if name in self.op_index:
            return self.op_index[name]
        obs = self.model.observables.get(name)
        if obs is None:
            return None
        kinds = {"flux": OP_FLUX, "start": OP_POOL_START, "end": OP_POOL_END, "mid": OP_POOL_MID}
        if obs.fluxes:
            kind = OP_FLUX
            rows = [self.model.flux_index(f) for f, _ in obs.fluxes]
            signs = [s for _, s in obs.fluxes]
        else:
            kind = kinds[obs.at]
            rows = [self.model.pool_index(p) for p in obs.pools]
            signs = [1.0] * len(rows)
        par = -1 if obs.divide_by is None else self.model.parameter_names.index(obs.divide_by)
        self.ops.append((kind, rows, signs, par))
        self.op_index[name] = len(self.ops) - 1
        return self.op_index[name]

    def term(self, name, op, agg, err, norm, idx, obs, sig, grp=None, gsig=None, th=0.0,
             target=np.nan, target_unc=np.nan, weight=1.0, scale=1.0, whole_run=False):
        self.names.append(name)
        n_groups = 0 if gsig is None else len(gsig)
        self.t_int.append([op, agg, err, norm, n_groups, int(whole_run)])
        self.t_flt.append([th, target, target_unc, weight, scale])
        if grp is None:
            grp = np.full(len(idx), -1)
        obs = np.asarray(obs, dtype=np.float64)
        sig = np.asarray(sig, dtype=np.float64)
        if norm == NORM_DIVIDE:
            obs = obs / np.mean(obs)
        elif norm == NORM_SUBTRACT:
            obs = obs - np.mean(obs)
        with np.errstate(divide="ignore", invalid="ignore"):
            lobs = np.log(np.maximum(obs, th)) if err == ERR_LOGN else np.zeros_like(obs)
            isig = 1.0 / (np.log(sig) if err == ERR_LOGN else sig)
        self.pts.append((np.asarray(idx), obs, lobs, isig, np.asarray(grp)))
        self.groups.append(np.asarray([] if gsig is None else gsig, float))

    def build(self, skipped) -> Likelihood:
        op_ptr = np.zeros(len(self.ops) + 1, dtype=np.int64)
        rows, signs = [], []
        for k, (_, r, s, _) in enumerate(self.ops):
            op_ptr[k + 1] = op_ptr[k] + len(r)
            rows += r
            signs += s
        pt_ptr = np.zeros(len(self.pts) + 1, dtype=np.int64)
        g_ptr = np.zeros(len(self.groups) + 1, dtype=np.int64)
        for t, (idx, *_rest) in enumerate(self.pts):
            pt_ptr[t + 1] = pt_ptr[t] + len(idx)
            g_ptr[t + 1] = g_ptr[t] + len(self.groups[t])
        cat = lambda parts, dtype: (  # noqa: E731
            np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
        )
        pp_ptr = np.zeros(len(self.pp) + 1, dtype=np.int64)
        for k, (ix, *_rest) in enumerate(self.pp):
            pp_ptr[k + 1] = pp_ptr[k] + len(ix)
        return Likelihood(
            names=self.names + [p[2] for p in self.pp],
            op_kind=np.array([o[0] for o in self.ops], dtype=np.int64),
            op_ptr=op_ptr,
            op_rows=np.array(rows, dtype=np.int64),
            op_sign=np.array(signs, dtype=np.float64),
            op_par=np.array([o[3] for o in self.ops], dtype=np.int64),
            t_int=np.array(self.t_int, dtype=np.int64).reshape(-1, 6),
            t_flt=np.array(self.t_flt, dtype=np.float64).reshape(-1, 5),
            pt_ptr=pt_ptr,
            pt_idx=cat([p[0] for p in self.pts], np.int64),
            pt_obs=cat([p[1] for p in self.pts], np.float64),
            pt_lobs=cat([p[2] for p in self.pts], np.float64),
            pt_isig=cat([p[3] for p in self.pts], np.float64),
            pt_grp=cat([p[4] for p in self.pts], np.int64),
            g_ptr=g_ptr,
            g_sig=cat(self.groups, np.float64),
            pp_ptr=pp_ptr,
            pp_idx=cat([np.asarray(p[0]) for p in self.pp], np.int64),
            pp_flt=np.array([_pp_row(p[1]) for p in self.pp], dtype=np.float64).reshape(-1, 6),
            n_steps=self.n_steps,
            skipped=skipped,
        )


def _pp_row(row):
    """A prior's ``(value, unc, kind, weight[, offset, sign])``, completed to six numbers:
    the term scores ``offset + sign·Σ pars``, by default ``0 + 1·Σ pars`` (the same bits as
    the sum)."""
    row = list(row)
    return row + [0.0, 1.0][len(row) - 4:]


#: default uncertainties when a stream gives none: (error type, unc)
DEFAULT_UNC = {
    "gpp": ("lognormal", 2.0),
    "lai": ("lognormal", 2.0),
    "et": ("lognormal", 2.0),
    "nbe": ("gaussian", 0.5),
    "nee": ("gaussian", 0.5),
    "abgb": ("lognormal", 1.5),
    "som": ("lognormal", 1.5),
    "ewt": ("gaussian", 50.0),
}

_CONSTRAINT_OPS = {
    "mean_lai": "lai",
    "mean_gpp": "gpp",
    "mean_fire": "fire",
    "mean_abgb": "abgb",
}


def build_likelihood(pixel, model, *, scaling: str = "none", annual_groups: str = "auto",
                     streams=None, aggregations=None, skip_constraints=()) -> Likelihood:
    """Compile a pixel's observations, constraints and priors for ``model``.

    Parameters
    ----------
    pixel : xarray.Dataset
        Pixel dataset (see :mod:`drivers.pixel`) with ``<stream>_obs`` variables, their
        options, ``constraint_*`` scalars and parameter priors.
    model : dalec.Model
    scaling : {'none', 'n', 'sqrt_n', 'log_n'}
        Per-stream cost scaling.
    annual_groups : {'auto', 'calendar', 'blocks12', 'run_years'}
        How ``annual_anomaly`` groups steps into years: ``calendar`` years of the time axis
        (CARDAMOM v3), consecutive blocks of 12 observed steps (CARDAMOM v2.2, which drops an
        incomplete final block), or ``run_years``: consecutive blocks of ``N // Y`` steps from
        the start of the run, ``Y = nint(ΣΔt/365.25)`` (Edinburgh ``MODEL_LIKELIHOOD.f90``;
        steps after year Y are not scored; needs ``deltat``). ``auto``: ``blocks12`` for
        binary CBF input, ``calendar`` otherwise.
    streams : iterable of str, optional
        Restrict to these streams (default: every stream marked ``assimilate``).
    aggregations : mapping of str to str, optional
        Aggregation used for these streams where the pixel says ``pointwise`` (a model
        family's convention, e.g. the Edinburgh annual mean plus anomalies of GPP, NBE, fire).
    skip_constraints : iterable of str
        Constraints scored elsewhere (a model family's extra terms, :mod:`mdf.terms`); they
        are neither scored here nor warned about.

    Returns
    -------
    Likelihood

    Warns
    -----
    UserWarning
        For each stream the model cannot simulate (e.g. ET for DALEC 400): it is skipped,
        never scored against something else.
    """
    from drivers.options import constraints, get_obs_options, obs_streams, parameter_priors

    if annual_groups == "auto":
        annual_groups = "blocks12" if pixel.attrs.get("source_format") == "cbf" else "calendar"
    n_steps = pixel.sizes["time"]
    b = _Builder(model, n_steps)
    skipped = []
    years = calendar_years(pixel["time"].values)
    cons = constraints(pixel)
    wanted = None if streams is None else set(streams)
    aggregations = dict(aggregations or {})
    for stream in obs_streams(pixel):
        opts = get_obs_options(pixel, stream)
        if stream in aggregations and opts.aggregation == "pointwise":
            opts = opts.replace(aggregation=aggregations[stream])
        if wanted is not None and stream not in wanted:
            continue
        if wanted is None and not opts.assimilate:
            continue
        values = np.asarray(pixel[f"{stream}_obs"].values, dtype=np.float64)
        valid = np.isfinite(values) & (values > -9998)
        if not valid.any():
            continue
        if stream == "lai" and "mean_lai" in cons:
            continue  # CARDAMOM v2.2: a mean-LAI constraint replaces the LAI series
        op = b.operator(stream)
        if op is None:
            skipped.append(stream)
            warnings.warn(
                f"model {model.name} cannot simulate observation stream {stream!r}; "
                "it is not scored",
                stacklevel=2,
            )
            continue
        _add_stream(b, stream, op, opts, values, valid, pixel, years, scaling, annual_groups)
    skip = set(skip_constraints)
    for name, con in cons.items():
        if name not in skip:
            _add_constraint(b, name, con, pixel, model)
    for prior in parameter_priors(pixel):
        kind = 1 if prior.kind == "lognormal" else 0
        name = f"prior_{model.parameter_names[prior.index]}"
        b.pp.append(([prior.index], [prior.value, prior.unc, kind, prior.weight], name))
    return b.build(skipped)


def _stream_sigma(stream, opts, values, valid, pixel):
    """Per-step uncertainty [stream units, or factor for log-normal] of the valid steps."""
    err, default = DEFAULT_UNC.get(stream, ("gaussian", np.nan))
    error_type = opts.error_type
    unc = opts.unc if np.isfinite(opts.unc) else default
    sig = np.full(values.shape, unc, dtype=np.float64)
    name = f"{stream}_obs_unc"
    if name in pixel:
        series = np.asarray(pixel[name].values, dtype=np.float64)
        have = np.isfinite(series) & (series > -9998)
        sig[have] = series[have]
    sig = sig[valid]
    obs = values[valid]
    if error_type == "relative":
        th = opts.threshold if np.isfinite(opts.threshold) else 0.0
        sig = sig * np.maximum(np.abs(obs), th)
    if error_type != "lognormal":
        if np.isfinite(opts.structural_unc):
            sig = np.sqrt(sig**2 + opts.structural_unc**2)
        if np.isfinite(opts.relative_structural_unc):
            sig = np.sqrt(sig**2 + (opts.relative_structural_unc * np.mean(obs)) ** 2)
        if np.isfinite(opts.floor):
            sig = np.maximum(sig, opts.floor)
    if not np.all(np.isfinite(sig)) or np.any(sig <= 0) or (
        error_type == "lognormal" and np.any(sig <= 1)
    ):
        bad = int(np.flatnonzero(~np.isfinite(sig) | (sig <= (1 if error_type == "lognormal"
                                                                else 0)))[0])
        raise LikelihoodError(
            f"{pixel.attrs.get('source_file', '<pixel>')}: stream {stream!r} has no usable "
            f"uncertainty at its observed step {int(np.flatnonzero(valid)[bad])} "
            f"(got {sig[bad]!r}; log-normal factors must be > 1, sigmas > 0)"
        )
    return sig


def run_years(pixel) -> tuple[int, int]:
    """Edinburgh CARDAMOM's year count ``nint(ΣΔt/365.25)`` and steps per year ``N // years``
    (``cardamom_io.f90``), from the pixel's ``deltat`` [d]."""
    if "deltat" not in pixel:
        raise LikelihoodError(
            f"{pixel.attrs.get('source_file', '<pixel>')}: annual grouping 'run_years' needs the "
            "step lengths 'deltat' [d]"
        )
    dt = np.asarray(pixel["deltat"].values, dtype=np.float64)
    years = max(1, int(math.floor(float(np.sum(dt)) / 365.25 + 0.5)))
    return years, max(1, dt.size // years)


def _add_stream(b, stream, op, opts, values, valid, pixel, years, scaling, annual_groups):
    idx = np.flatnonzero(valid)
    obs = values[valid]
    sig = _stream_sigma(stream, opts, values, valid, pixel)
    err = ERR_LOGN if opts.error_type == "lognormal" else ERR_GAUSS
    if opts.aggregation not in _AGG_CODES:
        raise LikelihoodError(
            f"stream {stream!r}: aggregation {opts.aggregation!r} is not supported yet "
            f"(supported: {', '.join(_AGG_CODES)})"
        )
    agg = _AGG_CODES[opts.aggregation]
    norm = _NORM_CODES[opts.normalisation]
    # unset: 0 for log-normal streams; -inf (CARDAMOM v3's default) floors nothing
    th = opts.threshold if not np.isnan(opts.threshold) else (0.0 if err == ERR_LOGN else -np.inf)
    scale = _scale_factor(scaling, len(idx))
    grp = gsig = None
    target = target_unc = np.nan
    if agg == AGG_MEAN:
        target_unc = opts.mean_unc if np.isfinite(opts.mean_unc) else float(np.mean(sig))
    elif agg in (AGG_ANNUAL_ANOMALY, AGG_ANNUAL):
        if annual_groups == "blocks12":
            grp = np.arange(len(idx)) // 12
            grp[grp >= len(idx) // 12] = -1  # incomplete final block is dropped (v2.2)
            n_groups = len(idx) // 12
        elif annual_groups == "run_years":
            n_groups, per_year = run_years(pixel)
            grp = idx // per_year
            grp[grp >= n_groups] = -1
        else:
            _, grp = np.unique(years[idx], return_inverse=True)
            n_groups = int(grp.max()) + 1
        gsig = np.ones(n_groups)
        for g in range(n_groups):
            members = sig[grp == g]
            if members.size == 0:
                continue  # a year without observations is skipped by the evaluator
            if np.isfinite(opts.annual_unc):
                gsig[g] = opts.annual_unc
            else:  # Edinburgh: sqrt(sum unc^2)/n of the year
                gsig[g] = math.sqrt(np.sum(members**2)) / len(members)
        if np.isfinite(opts.monthly_unc):
            sig = np.full_like(sig, opts.monthly_unc)
        elif not np.isfinite(opts.annual_unc):
            sig = np.where(grp >= 0, gsig[np.maximum(grp, 0)], sig)
    b.term(stream, op, agg, err, norm, idx, obs, sig, grp, gsig, th, target, target_unc,
           1.0, scale)


def _add_constraint(b, name, con, pixel, model):
    kind = 1 if con.error_type == "lognormal" else 0
    if name == "initial_live_biomass":
        pars = [model.parameter_names.index(f"c_{p}_0") for p in ("labile", "foliar", "root",
                                                                    "wood")]
        b.pp.append((pars, [con.value, con.unc, kind, con.weight], "initial_live_biomass"))
        return
    if name == "initial_som":
        par = model.parameter_names.index("c_som_0")
        b.pp.append(([par], [con.value, con.unc, kind, con.weight], "initial_som"))
        return
    if name == "cue" and "f_auto" in model.parameter_names:
        # carbon-use efficiency 1 - f_auto (CARDAMOM v3's PEQ_CUE), scored as 1 + (-1)·f_auto,
        # the same bits as 1 - f_auto
        par = model.parameter_names.index("f_auto")
        b.pp.append(([par], [con.value, con.unc, kind, con.weight, 1.0, -1.0], "cue"))
        return
    stream = _CONSTRAINT_OPS.get(name)
    op = None if stream is None else b.operator(stream)
    if op is None:
        warnings.warn(f"constraint {name!r} is not supported for model {model.name}; "
                      "it is not scored", stacklevel=3)
        return
    # mean over the stream's observed steps if it has any (CARDAMOM v2.2 mean LAI), else run
    idx = np.arange(b.n_steps)
    if f"{stream}_obs" in pixel:
        v = np.asarray(pixel[f"{stream}_obs"].values, dtype=np.float64)
        ok = np.isfinite(v) & (v > -9998)
        if ok.any():
            idx = np.flatnonzero(ok)
    th = con.threshold if np.isfinite(con.threshold) else (0.0 if kind else -np.inf)
    b.term(name, op, AGG_MEAN, kind, NORM_NONE, idx, np.full(len(idx), con.value),
           np.full(len(idx), con.unc), None, None, th, con.value, con.unc, con.weight, 1.0)


# ------------------------------------------------------------------------- numba side


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _fill_series(o, lo, hi, pt_idx, pars, pools, fluxes, op_kind, op_ptr, op_rows, op_sign,
                 op_par, series):
    """Model equivalent of operator ``o`` at the points ``lo:hi`` (steps ``pt_idx``) into
    ``series``.

    Row by row of the operator, each a loop over the points: a point's value is the same sum
    in the same order as one point at a time (``Σ sign·row``, then ``/ pars[op_par]``), but
    the operator's kind and rows are read once per term rather than once per point.
    """
    kind = op_kind[o]
    src = fluxes if kind == OP_FLUX else pools
    shift = 1 if kind == OP_POOL_END else 0
    for k in range(lo, hi):
        series[k] = 0.0
    for j in range(op_ptr[o], op_ptr[o + 1]):
        row = src[op_rows[j]]
        sign = op_sign[j]
        if kind == OP_POOL_MID:
            for k in range(lo, hi):
                n = pt_idx[k]
                series[k] += sign * 0.5 * (row[n] + row[n + 1])
        else:
            for k in range(lo, hi):
                series[k] += sign * row[pt_idx[k] + shift]
    if op_par[o] >= 0:
        divisor = pars[op_par[o]]
        for k in range(lo, hi):
            series[k] = series[k] / divisor


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _cmax(a, b):
    """CARDAMOM's ``max``: ``a`` if ``a > b``, else ``b`` (so a NaN ``a`` gives ``b``)."""
    return a if a > b else b


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _residual(m, o, s, err, th):
    if err == 1:
        return math.log(_cmax(m, th) / _cmax(o, th)) / math.log(s)
    return (m - o) / s


@njit(cache=True, nogil=True, error_model="numpy")
def _log_likelihood(pars, pools, fluxes, op_kind, op_ptr, op_rows, op_sign, op_par,
                    t_int, t_flt, pt_ptr, pt_idx, pt_obs, pt_lobs, pt_isig, pt_grp,
                    g_ptr, g_sig, pp_ptr, pp_idx, pp_flt, series, terms):
    """Evaluate every term into ``terms`` and return their sum (NaN -> -inf).

    ``series`` is scratch with one slot per observed point (the model at that point);
    ``terms`` has one slot per term name. Per point, ``pt_obs`` holds the (normalised)
    observation, ``pt_lobs`` its log (floored at the threshold; log-normal terms) and
    ``pt_isig`` the inverse of σ (Gaussian) or of ln u (log-normal), all set once per pixel.
    """
    n_terms = t_int.shape[0]
    total = 0.0
    for t in range(n_terms):
        _fill_series(t_int[t, 0], pt_ptr[t], pt_ptr[t + 1], pt_idx, pars, pools, fluxes,
                     op_kind, op_ptr, op_rows, op_sign, op_par, series)
        agg = t_int[t, 1]
        err = t_int[t, 2]
        norm = t_int[t, 3]
        n_groups = t_int[t, 4]
        th = t_flt[t, 0]
        lo = pt_ptr[t]
        hi = pt_ptr[t + 1]
        npt = hi - lo
        # normalisation over the observed steps (the observations were normalised at build)
        m_norm = 1.0
        m_shift = 0.0
        if norm != 0:
            ms = 0.0
            for k in range(lo, hi):
                ms += series[k]
            ms /= npt
            if norm == 2:
                m_norm = ms
            else:
                m_shift = ms
        chi2 = 0.0
        if agg == 0:
            if norm != 0:  # (without normalisation m_shift = 0 and m_norm = 1: exact no-ops)
                for k in range(lo, hi):
                    series[k] = (series[k] - m_shift) / m_norm
            if err == 1:
                for k in range(lo, hi):
                    r = (math.log(_cmax(series[k], th)) - pt_lobs[k]) * pt_isig[k]
                    chi2 += r * r
            else:
                for k in range(lo, hi):
                    r = (series[k] - pt_obs[k]) * pt_isig[k]
                    chi2 += r * r
        elif agg == 1:
            ms = 0.0
            for k in range(lo, hi):
                ms += series[k]
            ms /= npt
            target = t_flt[t, 1]
            if math.isnan(target):
                target = 0.0
                for k in range(lo, hi):
                    target += pt_obs[k]
                target /= npt
            r = _residual(ms, target, t_flt[t, 2], err, th)
            chi2 = r * r
        else:
            g0 = g_ptr[t]
            for g in range(n_groups):
                mm = 0.0
                om = 0.0
                cnt = 0
                for k in range(lo, hi):
                    if pt_grp[k] == g:
                        mm += (series[k] - m_shift) / m_norm
                        om += pt_obs[k]
                        cnt += 1
                if cnt == 0:
                    continue
                mm /= cnt
                om /= cnt
                if err == 1:
                    r = math.log(om / mm) / math.log(g_sig[g0 + g])
                else:
                    r = (om - mm) / g_sig[g0 + g]
                chi2 += r * r
                if agg == 2:
                    lmm = math.log(mm) if err == 1 else 0.0
                    lom = math.log(om) if err == 1 else 0.0
                    for k in range(lo, hi):
                        if pt_grp[k] == g:
                            m = (series[k] - m_shift) / m_norm
                            if err == 1:
                                r = (math.log(_cmax(m, th)) - lmm - pt_lobs[k] + lom) * pt_isig[k]
                            else:
                                r = ((m - mm) - (pt_obs[k] - om)) * pt_isig[k]
                            chi2 += r * r
        value = -0.5 * chi2 * t_flt[t, 3] * t_flt[t, 4]
        terms[t] = value
        total += value
    n_pp = pp_ptr.shape[0] - 1
    for q in range(n_pp):
        acc = 0.0
        for j in range(pp_ptr[q], pp_ptr[q + 1]):
            acc += pars[pp_idx[j]]
        acc = pp_flt[q, 4] + pp_flt[q, 5] * acc
        value_ = pp_flt[q, 0]
        unc = pp_flt[q, 1]
        if pp_flt[q, 2] == 1.0:
            r = math.log(acc / value_) / math.log(unc)
        else:
            r = (acc - value_) / unc
        v = -0.5 * r * r * pp_flt[q, 3]
        terms[n_terms + q] = v
        total += v
    if math.isnan(total):
        return -math.inf
    return total
