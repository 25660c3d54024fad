"""The log-posterior of one pixel: priors, EDCs, model run and likelihood, in numba.

:class:`Problem` gathers, once per pixel, everything an evaluation needs (the model's forcing,
the compiled likelihood, the EDC hooks, the parameter space) and builds the compiled
log-posterior the samplers call::

    log P(x) = -inf                        if any x_i outside [0, 1] (no model run)
             = -inf                        if a pre-run EDC fails (no model run)
             = -inf                        if a post-run EDC fails
             = Σ log-likelihood terms + Σ prior terms + Σ family terms   otherwise
                                           (NaN -> -inf)

which is CARDAMOM v2.2's ``DALEC_MLF`` (``log EDC1 + LIKELIHOOD_P + log EDC2 + LIKELIHOOD``).
The family terms (:mod:`mdf.terms`) are what a model family's reference adds beyond streams,
constraints and priors (Edinburgh's "other priors"); models without any add nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache

import numpy as np
from numba import njit

import dalec
from dalec.api import prepare

from .edc.hooks import hooks_for, no_violation
from .likelihood import Likelihood, _log_likelihood, build_likelihood
from .space import ParameterSpace
from .terms import no_data, no_terms, terms_for


@cache
def _pair_of(kernel):
    """Two calls of ``kernel``: the pair kernel of a model without its own."""

    @njit(nogil=True, error_model="numpy")
    def pair(forcing, site, pars_a, pars_b, pools_a, pools_b, fluxes_a, fluxes_b):
        kernel(forcing, site, pars_a, pools_a, fluxes_a)
        kernel(forcing, site, pars_b, pools_b, fluxes_b)

    return pair


@cache
def _quad_of(pair_kernel):
    """Two calls of ``pair_kernel``: the four-run kernel of a model without its own."""

    @njit(nogil=True, error_model="numpy")
    def quad(forcing, site, pars_a, pars_b, pars_c, pars_d, pools_a, pools_b, pools_c, pools_d,
             fluxes_a, fluxes_b, fluxes_c, fluxes_d):
        pair_kernel(forcing, site, pars_a, pars_b, pools_a, pools_b, fluxes_a, fluxes_b)
        pair_kernel(forcing, site, pars_c, pars_d, pools_c, pools_d, fluxes_c, fluxes_d)

    return quad


@cache
def _compiled(kernel, edc_pre, edc_post, extra=no_terms, violation=no_violation,
              weight=1.0, pair_kernel=None, quad_kernel=None):
    """The compiled log-posterior, its form for up to four points at once, the EDC score and
    the guided EDC score for one (model kernel, EDC hooks, family terms) combination.

    Built once per process and model: numba closures over the kernel, hooks and terms.
    """
    pair_kernel = pair_kernel or _pair_of(kernel)
    quad_kernel = quad_kernel or _quad_of(pair_kernel)

    @njit(nogil=True, error_model="numpy")
    def to_pars(x, lo, span, islog, pars):
        for i in range(x.shape[0]):
            if not (0.0 <= x[i] <= 1.0):
                return False
            if islog[i]:
                pars[i] = lo[i] * math.exp(x[i] * span[i])
            else:
                pars[i] = lo[i] + x[i] * span[i]
        return True

    @njit(nogil=True, error_model="numpy")
    def likelihood(pars, pools, fluxes, lik, extra_data, series, terms):
        total = _log_likelihood(pars, pools, fluxes, *lik, series, terms)
        # the family's terms follow the stream/constraint terms and the parameter priors
        offset = lik[5].shape[0] + lik[15].shape[0] - 1  # terms (t_int) + priors (pp_ptr)
        total += extra(pars, pools, fluxes, extra_data, terms, offset)
        if math.isnan(total):
            return -math.inf
        return total

    @njit(nogil=True, error_model="numpy")
    def before_run(x, ctx, scratch):
        """Parameters from ``x``; False where log P is -inf without a run."""
        lo, span, islog, forcing, site, edc_data, use_edc, lik, extra_data = ctx
        pars, pools, fluxes, series, terms, flags = scratch
        if not to_pars(x, lo, span, islog, pars):
            return False
        return not (use_edc and not edc_pre(pars, edc_data, flags, False))

    @njit(nogil=True, error_model="numpy")
    def after_run(ctx, scratch):
        """Post-run EDCs and likelihood of the run in ``scratch``."""
        edc_data, use_edc, lik, extra_data = ctx[5], ctx[6], ctx[7], ctx[8]
        pars, pools, fluxes, series, terms, flags = scratch
        if use_edc and not edc_post(pars, pools, fluxes, edc_data, flags, False):
            return -math.inf
        return likelihood(pars, pools, fluxes, lik, extra_data, series, terms)

    @njit(nogil=True, error_model="numpy")
    def log_posterior(x, ctx, scratch):
        if not before_run(x, ctx, scratch):
            return -math.inf
        kernel(ctx[3], ctx[4], scratch[0], scratch[1], scratch[2])
        return after_run(ctx, scratch)

    @njit(nogil=True, error_model="numpy")
    def log_posterior_group(x_a, x_b, x_c, x_d, k, ctx, s_a, s_b, s_c, s_d, out):
        """``out[i] = log_posterior`` of the first ``k`` (1-4) points, bit for bit: four model
        runs interleaved (the model's ``quad_kernel``) when all four are needed, otherwise
        the needed runs in interleaved pairs and one alone."""
        forcing, site = ctx[3], ctx[4]
        ss = (s_a, s_b, s_c, s_d)
        need = (before_run(x_a, ctx, s_a), k > 1 and before_run(x_b, ctx, s_b),
                k > 2 and before_run(x_c, ctx, s_c), k > 3 and before_run(x_d, ctx, s_d))
        if need[0] and need[1] and need[2] and need[3]:
            quad_kernel(forcing, site, s_a[0], s_b[0], s_c[0], s_d[0], s_a[1], s_b[1], s_c[1],
                        s_d[1], s_a[2], s_b[2], s_c[2], s_d[2])
        else:
            first = -1
            for i in range(k):
                if need[i]:
                    if first < 0:
                        first = i
                    else:
                        sa = ss[first]
                        sb = ss[i]
                        pair_kernel(forcing, site, sa[0], sb[0], sa[1], sb[1], sa[2], sb[2])
                        first = -1
            if first >= 0:
                sa = ss[first]
                kernel(forcing, site, sa[0], sa[1], sa[2])
        for i in range(k):
            out[i] = after_run(ctx, ss[i]) if need[i] else -math.inf

    @njit(nogil=True, error_model="numpy")
    def edc_score(x, ctx, scratch):
        """CARDAMOM's start-search objective: -5 per failed EDC, -5 more if log P is not
        finite (``EDC_DALEC_MLF``); 0 means an EDC-consistent, finite starting point."""
        lo, span, islog, forcing, site, edc_data, use_edc, lik, extra_data = ctx
        pars, pools, fluxes, series, terms, flags = scratch
        if not to_pars(x, lo, span, islog, pars):
            return -math.inf
        n_fail = 0
        if use_edc:
            flags[:] = 1
            edc_pre(pars, edc_data, flags, True)
        kernel(forcing, site, pars, pools, fluxes)
        if use_edc:
            edc_post(pars, pools, fluxes, edc_data, flags, True)
            for k in range(flags.shape[0]):
                n_fail += 1 - flags[k]
        score = -5.0 * n_fail
        if n_fail == 0:
            lp = likelihood(pars, pools, fluxes, lik, extra_data, series, terms)
            if not math.isfinite(lp):
                score -= 5.0
        return score

    @njit(nogil=True, error_model="numpy")
    def edc_guided(x, ctx, scratch):
        """:func:`edc_score` minus ``weight`` times the hooks' graded distance from passing
        while an EDC fails, so a search has a slope between failure counts; 0 exactly where
        :func:`edc_score` is 0."""
        score = edc_score(x, ctx, scratch)
        if ctx[6] and score < 0.0:
            pars, pools, fluxes, series, terms, flags = scratch
            n_fail = 0
            for k in range(flags.shape[0]):
                n_fail += 1 - flags[k]
            if n_fail > 0 and math.isfinite(score):
                score -= weight * violation(pars, pools, fluxes, ctx[5])
        return score

    return log_posterior, edc_score, edc_guided, log_posterior_group


class Problem:
    """One pixel and one model, ready to evaluate.

    Parameters
    ----------
    pixel : xarray.Dataset
        Pixel dataset (drivers, observations, options; see :mod:`drivers.pixel`).
    model : str or dalec.Model
    options : mapping, optional
        Model options (e.g. ``{"temperature_factor": "813"}``).
    scaling : {'none', 'n', 'sqrt_n', 'log_n'}
        Per-stream cost scaling.
    edc : bool
        Apply the model's EDCs (default True; CARDAMOM's ``EDC=1``).
    eqf : float
        EDC equilibrium factor (CARDAMOM default 2; a CBF's OTHERPRIORUNC[36] overrides it
        when ``eqf`` is None).
    likelihood : mdf.likelihood.Likelihood, optional
        A compiled likelihood to use instead of building one from the pixel.

    Notes
    -----
    A model family with :mod:`mdf.terms` (DALEC.C1, DALEC.4) builds its likelihood with the
    family's stream conventions, leaves the constraints it scores itself to it, and adds its
    terms after the streams, constraints and parameter priors (``extra_names``).
    """

    def __init__(self, pixel, model, *, options: Mapping | None = None, scaling="none",
                 edc: bool = True, eqf: float | None = None, likelihood: Likelihood | None = None):
        self.pixel = pixel
        self.model = dalec.get_model(model)
        self.options = dict(options or {})
        self.forcing, self.site = prepare(self.model, pixel, self.options)
        self.space = ParameterSpace(self.model)
        self.family_terms = terms_for(self.model)
        family = self.family_terms
        if likelihood is None:
            kwargs = {}
            if family is not None:
                kwargs = dict(family.likelihood_options,
                              skip_constraints=family.constraints(self.model, pixel))
            likelihood = build_likelihood(pixel, self.model, scaling=scaling, **kwargs)
        self.likelihood = likelihood
        self.extra_data, self.extra_names = (family.build if family else no_data)(self.model,
                                                                                  pixel)
        self.hooks = hooks_for(self.model)
        self.use_edc = bool(edc) and self.hooks is not None
        if eqf is None:
            eqf = _eqf_from_pixel(pixel)
        self.eqf = float(eqf)
        self.edc_data = (
            self.hooks.data(self.model, pixel, self.forcing, self.site, self.eqf)
            if self.hooks is not None
            else np.zeros(1)
        )
        pre, post = (self.hooks.pre, self.hooks.post) if self.hooks else (_no_edc_pre, _no_edc_post)
        self._log_posterior, self._edc_score, self._edc_guided, self._log_posterior_group = (
            _compiled(self.model.kernel, pre, post, family.evaluate if family else no_terms,
                      self.hooks.violation if self.hooks else no_violation,
                      self.hooks.search_weight if self.hooks else 1.0, self.model.pair_kernel,
                      self.model.quad_kernel))
        self.ctx = (
            self.space.lo, self.space.span, self.space.islog, self.forcing, self.site,
            self.edc_data, self.use_edc, self.likelihood.arrays(), self.extra_data,
        )

    @property
    def n_steps(self) -> int:
        return self.forcing.shape[1]

    def scratch(self):
        """Fresh per-chain work arrays for one evaluation at a time."""
        return (
            np.empty(self.space.ndim),
            np.empty((len(self.model.pools), self.n_steps + 1)),
            np.zeros((len(self.model.fluxes), self.n_steps)),
            np.empty(max(self.likelihood.n_points, 1)),
            np.zeros(max(self.likelihood.n_terms + len(self.extra_names), 1)),
            np.ones(self.hooks.n_flags if self.hooks else 100, dtype=np.int64),
        )

    def log_posterior_x(self, x, scratch=None) -> float:
        """Log-posterior at a point of the normalised space."""
        scratch = scratch or self.scratch()
        return float(self._log_posterior(np.asarray(x, dtype=np.float64), self.ctx, scratch))

    def terms(self, pars) -> dict[str, float]:
        """Each likelihood, prior and family term by name, and ``total``."""
        x = self.space.to_normalised(pars)
        scratch = self.scratch()
        total = self._log_posterior(np.asarray(x, dtype=np.float64), self.ctx, scratch)
        names = self.likelihood.names + self.extra_names
        values = scratch[4][: len(names)].tolist()
        out = dict(zip(names, values, strict=True))
        if not math.isfinite(total):
            out = {name: math.nan for name in out}
        out["total"] = float(total)
        return out


    def edc_report(self, pars) -> dict[int, bool]:
        """Every EDC of the model evaluated (diagnostic mode): ``{EDC number: passed}``.

        Both stages always run (the model runs even if a pre-run EDC fails), as CARDAMOM's
        ``EDCDIAG = 1``.
        """
        if self.hooks is None:
            return {}
        pars = np.ascontiguousarray(pars, dtype=np.float64)
        _, pools, fluxes, _, _, flags = self.scratch()
        flags[:] = 1
        self.hooks.pre(pars, self.edc_data, flags, True)
        self.model.kernel(self.forcing, self.site, pars, pools, fluxes)
        self.hooks.post(pars, pools, fluxes, self.edc_data, flags, True)
        return {k: bool(flags[k - 1]) for k in sorted(self.hooks.names)}


def _eqf_from_pixel(pixel) -> float:
    """The file's EDC equilibrium factor: CARDAMOM v2.2 reads it from OTHERPRIORUNC[36] of a
    binary CBF, v3 from the scalar ``EDC_EQF`` of a netCDF CBF (-9999 or absent: 2)."""
    if "cbf_otherpriorunc" in pixel:
        value = float(pixel["cbf_otherpriorunc"].values[36])
        if value != -9999:
            return value
    if "cbf_var_EDC_EQF" in pixel:
        value = float(np.asarray(pixel["cbf_var_EDC_EQF"].values).ravel()[0])
        if np.isfinite(value) and value != -9999:
            return value
    return float(pixel.attrs.get("edc_eqf", 2.0))


@njit(cache=True, nogil=True, error_model="numpy")
def _no_edc_pre(pars, data, flags, diag):
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _no_edc_post(pars, pools, fluxes, data, flags, diag):
    return True


def edc_report(pixel, model, parameters, **kwargs) -> dict[int, bool]:
    """Pass/fail of every EDC of ``model`` for one parameter vector (diagnostic mode).

    Parameters
    ----------
    pixel : xarray.Dataset
    model : str or dalec.Model
    parameters : array_like
        One parameter vector [model units].
    **kwargs
        Passed to :class:`Problem` (``eqf``, ``options``).

    Returns
    -------
    dict
        ``{EDC number: True if it passes}`` (CARDAMOM's numbering; see
        ``mdf.edc.hooks.HOOKS[model].names`` for what each one tests).
    """
    return Problem(pixel, model, **kwargs).edc_report(parameters)


def log_posterior(pixel, model, parameters, **kwargs) -> dict[str, float]:
    """Log-posterior of a parameter vector, total and each term by name.

    Parameters
    ----------
    pixel : xarray.Dataset
    model : str or dalec.Model
    parameters : array_like
        One parameter vector in model units.
    **kwargs
        Passed to :class:`Problem` (``scaling``, ``edc``, ``eqf``, ``options``).

    Returns
    -------
    dict
        ``{term name: log-likelihood, ..., "total": log-posterior}``; the terms are NaN and
        the total ``-inf`` when the vector is outside the prior box or fails an EDC.
    """
    problem = Problem(pixel, model, **kwargs)
    return problem.terms(np.asarray(parameters, dtype=np.float64))
