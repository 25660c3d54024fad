"""Initial pools relative to the steady state the rates imply (``reparam="steady_state"``).

The steady-state EDCs (7-12 of DALEC 400, 7-13 of 809/811; Bloom & Williams 2015) hold each
initial pool within a factor EQF (2) of what its run-mean input and turnover sustain, and the
data fix the level of GPP only loosely. So the posterior of an initial pool is a thin slab
around a curved surface ``ln C₀ ≈ ln S(θ) + const``, where ``S`` is the pool's steady state per
unit GPP given the other parameters θ (allocation fractions, turnovers, the temperature
sensitivity). Differences of archive states (DE-MCz) and Gaussian proposals cross such a slab
rather than follow it, which is one reason their accepted jumps are 5-20 times shorter than
DE's optimum on FluxVal posteriors (``docs/samplers.md``).

This module lets the samplers move in coordinates ``v`` where the slab is flat: for every
initial carbon pool ``j`` (log-scaled in the normalised space ``x``)::

    x_j = v_j + (ln S_j(θ) - ln S_j(θ_mid)) / span_j        (other coordinates: x_i = v_i)

with θ read from the unchanged coordinates and θ_mid the centre of the prior box. For fixed θ
this is a shift, so the map ``v -> x`` is a shear with unit Jacobian: the prior stays uniform
(on the sheared box, whose outside is rejected exactly as before, without a model run) and
the posterior in ``v`` is the posterior in ``x``, point for point. Nothing is approximated:
``S`` only has to point along the slab, not to be right. Draws are mapped back to ``x`` and
model units before anything else sees them.

Steady states per unit GPP (MODELS.md §3; f' the effective allocation fractions of GPP, τ̄
the run-mean decomposition factor, here ``exp(a·Θ + b·Θ²)`` with a and b the mean and half
the variance of the factor's exponent per unit Θ over the pixel's drivers)::

    labile   f_lab'                      foliage  (f_fol' + f_lab')·L_f
    roots    f_root'/t_root              wood     f_wood'/t_wood
    litter   (f_fol' + f_lab' + f_root')/((t_lit + t_lit→som)·τ̄)
    SOM      (f_wood' + (f_fol' + f_lab' + f_root')·t_lit→som/(t_lit + t_lit→som))/(t_som·τ̄)

References
----------
Bloom, A. A. and Williams, M. (2015) Constraining ecosystem carbon dynamics in a data-limited
world: integrating ecological "common sense" in a model-data fusion framework.
Biogeosciences 12, 1299-1315. doi:10.5194/bg-12-1299-2015
Papaspiliopoulos, O., Roberts, G. O. and Sköld, M. (2007) A general framework for the
parametrization of hierarchical models. Statist. Sci. 22, 59-73. doi:10.1214/088342307000000014
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numba import njit

from .space import ParameterSpace

#: reparameterisations by name (``calibrate(..., reparam=...)``)
REPARAMETERISATIONS = ("none", "steady_state")

# DALEC 400 / 809 / 811 (and 1005) share the carbon parameters 0-22 (MODELS.md §3.1)
_TR, _FA, _FF, _FR, _LF, _TW, _TRO, _TL, _TS, _THETA, _FL = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12
_POOLS = np.arange(17, 23)
#: models with that layout, and how their decomposition factor's exponent depends on the
#: drivers: "400" exp(Θ·(Tmin+Tmax)/2); "811" exp(Θ·((Tmin+Tmax)/2 - T̄/2)) (CARDAMOM issue
#: #14's typo, kept by 809/811/1005)
_TEMPERATURE_FORM = {"400": "400", "809": "811", "811": "811", "1005": "811"}


@njit(nogil=True, error_model="numpy")
def _log_steady(v, lo, span, a, b, out):
    """ln S_j per unit GPP of the six initial pools at ``v`` (θ coordinates only)."""
    fa = lo[_FA] * math.exp(v[_FA] * span[_FA])
    ff = (1.0 - fa) * lo[_FF] * math.exp(v[_FF] * span[_FF])
    fl = (1.0 - fa - ff) * lo[_FL] * math.exp(v[_FL] * span[_FL])
    fr = (1.0 - fa - ff - fl) * lo[_FR] * math.exp(v[_FR] * span[_FR])
    fw = 1.0 - fa - ff - fl - fr
    tr = lo[_TR] * math.exp(v[_TR] * span[_TR])
    tl = lo[_TL] * math.exp(v[_TL] * span[_TL])
    theta = lo[_THETA] * math.exp(v[_THETA] * span[_THETA])
    log_tau = a * theta + b * theta * theta
    to_litter = ff + fl + fr
    out[0] = math.log(fl)
    out[1] = math.log(ff + fl) + v[_LF] * span[_LF] + math.log(lo[_LF])
    out[2] = math.log(fr) - v[_TRO] * span[_TRO] - math.log(lo[_TRO])
    out[3] = math.log(fw) - v[_TW] * span[_TW] - math.log(lo[_TW])
    out[4] = math.log(to_litter) - math.log(tl + tr) - log_tau
    out[5] = (math.log(fw + to_litter * tr / (tl + tr)) - v[_TS] * span[_TS] - math.log(lo[_TS])
              - log_tau)


@njit(nogil=True, error_model="numpy")
def shear(v, data, work, x):
    """``x`` from the sampler's coordinates ``v`` (module notes); ``data`` from
    :meth:`SteadyStateSpace.data`, ``work`` six numbers of scratch."""
    lo, span, a, b, centre = data
    for i in range(v.shape[0]):
        x[i] = v[i]
    _log_steady(v, lo, span, a, b, work)
    for k in range(6):
        j = 17 + k
        x[j] = v[j] + (work[k] - centre[k]) / span[j]


@njit(nogil=True, error_model="numpy")
def _shear_rows(v, data, x):
    work = np.empty(6)
    for r in range(v.shape[0]):
        shear(v[r], data, work, x[r])


@njit(nogil=True, error_model="numpy")
def _unshear_rows(x, data, v):
    lo, span, a, b, centre = data
    work = np.empty(6)
    for r in range(x.shape[0]):
        _log_steady(x[r], lo, span, a, b, work)  # θ coordinates are the same in x and v
        for i in range(x.shape[1]):
            v[r, i] = x[r, i]
        for k in range(6):
            j = 17 + k
            v[r, j] = x[r, j] - (work[k] - centre[k]) / span[j]


def _temperature_moments(problem, form: str) -> tuple[float, float]:
    """Mean and half the variance of the decomposition factor's exponent per unit Θ."""
    pixel = problem.pixel
    t = 0.5 * (np.asarray(pixel["tmin"].values, float) + np.asarray(pixel["tmax"].values, float))
    if form == "811":
        t = t - 0.5 * t.mean()
    return float(t.mean()), float(0.5 * t.var())


class SteadyStateSpace(ParameterSpace):
    """The model's normalised space seen through the steady-state shear.

    ``to_normalised``/``from_normalised`` convert between model units and the sampler's
    coordinates ``v``; :meth:`x_of` and :meth:`v_of` between ``v`` and the plain normalised
    ``x``.
    """

    def __init__(self, problem):
        base = problem.space
        super().__init__(problem.model)
        if not np.all(base.islog[[_TR, _FA, _FF, _FR, _LF, _TW, _TRO, _TL, _TS, _THETA, _FL]]) \
                or not np.all(base.islog[_POOLS]):
            raise ValueError("reparam='steady_state' needs log-scaled rates and pools")
        a, b = _temperature_moments(problem, _TEMPERATURE_FORM[problem.model.name])
        centre = np.empty(6)
        _log_steady(np.full(base.ndim, 0.5), base.lo, base.span, a, b, centre)
        self._data = (base.lo, base.span, a, b, centre)

    def data(self):
        """What :func:`shear` reads: bounds, temperature moments, the box centre's ln S."""
        return self._data

    def x_of(self, v) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        flat = np.ascontiguousarray(v.reshape(-1, self.ndim))
        x = np.empty_like(flat)
        _shear_rows(flat, self.data(), x)
        return x.reshape(v.shape)

    def v_of(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        flat = np.ascontiguousarray(x.reshape(-1, self.ndim))
        v = np.empty_like(flat)
        _unshear_rows(flat, self.data(), v)
        return v.reshape(x.shape)

    def from_normalised(self, x) -> np.ndarray:
        return super().from_normalised(self.x_of(x))

    def to_normalised(self, pars) -> np.ndarray:
        return self.v_of(super().to_normalised(pars))


@cache
def _wrapped(log_posterior, edc_score, edc_guided, log_posterior_group):
    """The problem's compiled functions over ``v``: shear into the scratch's ``x``, then the
    plain function (bit for bit what it gives at that ``x``)."""

    @njit(nogil=True, error_model="numpy")
    def lp_v(v, ctx, scratch):
        shear(v, ctx[1], scratch[2], scratch[1])
        return log_posterior(scratch[1], ctx[0], scratch[0])

    @njit(nogil=True, error_model="numpy")
    def score_v(v, ctx, scratch):
        shear(v, ctx[1], scratch[2], scratch[1])
        return edc_score(scratch[1], ctx[0], scratch[0])

    @njit(nogil=True, error_model="numpy")
    def guided_v(v, ctx, scratch):
        shear(v, ctx[1], scratch[2], scratch[1])
        return edc_guided(scratch[1], ctx[0], scratch[0])

    @njit(nogil=True, error_model="numpy")
    def group_v(v_a, v_b, v_c, v_d, k, ctx, s_a, s_b, s_c, s_d, out):
        shear(v_a, ctx[1], s_a[2], s_a[1])
        if k > 1:
            shear(v_b, ctx[1], s_b[2], s_b[1])
        if k > 2:
            shear(v_c, ctx[1], s_c[2], s_c[1])
        if k > 3:
            shear(v_d, ctx[1], s_d[2], s_d[1])
        log_posterior_group(s_a[1], s_b[1], s_c[1], s_d[1], k, ctx[0], s_a[0], s_b[0], s_c[0],
                            s_d[0], out)

    return lp_v, score_v, guided_v, group_v


class ReparameterisedProblem:
    """A :class:`mdf.posterior.Problem` whose samplers move in sheared coordinates.

    Everything a sampler touches (``space``, ``ctx``, ``scratch``, the compiled functions)
    speaks ``v``; everything else (the pixel, the model, the likelihood, :meth:`terms`) is
    the wrapped problem's.
    """

    reparam = "steady_state"

    def __init__(self, problem):
        if problem.model.name not in _TEMPERATURE_FORM:
            raise ValueError(
                f"reparam='steady_state' is defined for DALEC "
                f"{', '.join(_TEMPERATURE_FORM)}, not {problem.model.name!r}")
        self.base = problem
        self.space = SteadyStateSpace(problem)
        (self._log_posterior, self._edc_score, self._edc_guided,
         self._log_posterior_group) = _wrapped(problem._log_posterior, problem._edc_score,
                                               problem._edc_guided,
                                               problem._log_posterior_group)
        self.ctx = (problem.ctx, self.space.data())

    def __getattr__(self, name):
        return getattr(self.base, name)

    def scratch(self):
        return (self.base.scratch(), np.empty(self.space.ndim), np.empty(6))

    def log_posterior_x(self, v, scratch=None) -> float:
        """Log-posterior at a point of the sampler's coordinates ``v``."""
        scratch = scratch or self.scratch()
        return float(self._log_posterior(np.asarray(v, dtype=np.float64), self.ctx, scratch))


def reparameterise(problem, name: str):
    """``problem`` itself (``"none"``) or seen through the named reparameterisation."""
    if name == "none":
        return problem
    if name == "steady_state":
        return ReparameterisedProblem(problem)
    raise ValueError(f"unknown reparam {name!r}; choose from {', '.join(REPARAMETERISATIONS)}")
