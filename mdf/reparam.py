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

Circular phases (``reparam="phases"``). The leaf-onset and leaf-fall days (``b_day``,
``f_day``) are sampled log-uniformly on [365.25, 1461] d, three whole years, while the model
depends on them only modulo 365.25 d: the posterior has three copies of every phase mode, and
an archive holding states from different copies stretches DE's jumps by a year in those
coordinates. The sampler instead moves on one year, ``v ∈ [0, 1)`` with
``day = 365.25·(1 + frac(v + ψ))``, and its target carries the prior mass of all three
copies, ``ln Σ_k 365.25/(day + 365.25·k)`` (the log-uniform density summed over the copies;
the Jacobian of ``day(v)`` is constant). That is the marginal posterior of the phase modulo
a year, exactly; what is given up is the year copy itself, which the data cannot see and the
prior alone decides. Draws come back in the first year, [365.25, 730.5) d. The cut ``ψ`` is
placed opposite the chains' circular mean phase after the warm start (:meth:`recentre`),
saved with checkpoints, and fixed from then on.

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
REPARAMETERISATIONS = ("none", "steady_state", "phases", "steady_state+phases")

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
    :meth:`ReparameterisedSpace.data`, ``work`` six numbers of scratch.

    Returns the log-density term the coordinates add (0 without circular phases).
    """
    lo, span, a, b, centre, pools, phase, copies, offsets = data
    for i in range(v.shape[0]):
        x[i] = v[i]
    if pools:
        _log_steady(v, lo, span, a, b, work)
        for k in range(6):
            j = 17 + k
            x[j] = v[j] + (work[k] - centre[k]) / span[j]
    extra = 0.0
    for m in range(phase.shape[0]):
        i = phase[m]
        if not (0.0 <= v[i] < 1.0):
            x[i] = -1.0  # off the cut circle: the plain function rejects it without a run
            continue
        w = v[i] + offsets[m]
        w -= math.floor(w)
        period = lo[i]
        day = period * (1.0 + w)
        x[i] = math.log(day / lo[i]) / span[i]
        total = 0.0
        for k in range(copies[m]):
            total += period / (day + k * period)
        extra += math.log(total)
    return extra


@njit(nogil=True, error_model="numpy")
def _shear_rows(v, data, x):
    work = np.empty(6)
    for r in range(v.shape[0]):
        shear(v[r], data, work, x[r])


@njit(nogil=True, error_model="numpy")
def _unshear_rows(x, data, v):
    lo, span, a, b, centre, pools, phase, copies, offsets = data
    work = np.empty(6)
    for r in range(x.shape[0]):
        for i in range(x.shape[1]):
            v[r, i] = x[r, i]
        if pools:
            _log_steady(x[r], lo, span, a, b, work)  # θ is the same in x and v
            for k in range(6):
                j = 17 + k
                v[r, j] = x[r, j] - (work[k] - centre[k]) / span[j]
        for m in range(phase.shape[0]):
            i = phase[m]
            period = lo[i]
            day = lo[i] * math.exp(x[r, i] * span[i])
            w = ((day - lo[i]) % period) / period - offsets[m]
            v[r, i] = w - math.floor(w)


def _temperature_moments(problem, form: str) -> tuple[float, float]:
    """Mean and half the variance of the decomposition factor's exponent per unit Θ."""
    pixel = problem.pixel
    t = 0.5 * (np.asarray(pixel["tmin"].values, float) + np.asarray(pixel["tmax"].values, float))
    if form == "811":
        t = t - 0.5 * t.mean()
    return float(t.mean()), float(0.5 * t.var())


class ReparameterisedSpace(ParameterSpace):
    """The model's normalised space seen through the reparameterisation.

    ``to_normalised``/``from_normalised`` convert between model units and the sampler's
    coordinates ``v``; :meth:`x_of` and :meth:`v_of` between ``v`` and the plain normalised
    ``x``. Circular phases come back in their first period ``[min, min + 365.25)``.
    """

    def __init__(self, problem, pools: bool, phases: bool):
        base = problem.space
        super().__init__(problem.model)
        a = b = 0.0
        centre = np.zeros(6)
        if pools:
            rates = [_TR, _FA, _FF, _FR, _LF, _TW, _TRO, _TL, _TS, _THETA, _FL]
            if not (np.all(base.islog[rates]) and np.all(base.islog[_POOLS])):
                raise ValueError("reparam 'steady_state' needs log-scaled rates and pools")
            a, b = _temperature_moments(problem, _TEMPERATURE_FORM[problem.model.name])
            _log_steady(np.full(base.ndim, 0.5), base.lo, base.span, a, b, centre)
        phase = np.flatnonzero(base.circular) if phases else np.zeros(0, dtype=np.int64)
        copies = np.round(base.hi[phase] / base.lo[phase] - 1.0).astype(np.int64)
        for i, n in zip(phase, copies, strict=True):
            if not (base.islog[i] and n >= 1
                    and abs(base.hi[i] - (n + 1) * base.lo[i]) <= 1e-9 * base.hi[i]):
                raise ValueError(
                    f"reparam 'phases': {problem.model.parameter_names[i]} must be log-scaled "
                    "on [P, (n+1)·P] with P its period")
        self.offsets = np.zeros(phase.size)
        self._data = (base.lo, base.span, a, b, centre, bool(pools), phase.astype(np.int64),
                      copies, self.offsets)

    def data(self):
        """What :func:`shear` reads (the phase offsets in place: :meth:`recentre` moves them)."""
        return self._data

    def _rows(self, rows_fn, points) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        flat = np.ascontiguousarray(points.reshape(-1, self.ndim))
        out = np.empty_like(flat)
        rows_fn(flat, self.data(), out)
        return out.reshape(points.shape)

    def x_of(self, v) -> np.ndarray:
        """The plain normalised ``x`` of sampler coordinates ``v`` (any leading shape)."""
        return self._rows(_shear_rows, v)

    def v_of(self, x) -> np.ndarray:
        """Sampler coordinates of plain normalised points ``x`` (any leading shape)."""
        return self._rows(_unshear_rows, x)

    def from_normalised(self, x) -> np.ndarray:
        return super().from_normalised(self.x_of(x))

    def to_normalised(self, pars) -> np.ndarray:
        return self.v_of(super().to_normalised(pars))

    def recentre(self, v: np.ndarray) -> np.ndarray:
        """Move each circular phase's cut opposite the circular mean of the points ``v``
        (chains, d), so a concentrated phase posterior lies away from it; returns the same
        points in the new coordinates."""
        if self.offsets.size == 0:
            return v
        x = self.x_of(v)
        phase = self._data[6]
        for m in range(phase.size):
            # x of the first period is ln(day/P)/span with day = P·(1 + w)
            w = np.exp(x[:, phase[m]] * self.span[phase[m]]) - 1.0
            angle = 2 * np.pi * w
            mean = np.arctan2(np.mean(np.sin(angle)), np.mean(np.cos(angle))) / (2 * np.pi)
            self.offsets[m] = (mean - 0.5) % 1.0
        return self.v_of(x)


@cache
def _wrapped(log_posterior, edc_score, edc_guided, log_posterior_group):
    """The problem's compiled functions over ``v``: transform into the scratch's ``x``, then
    the plain function (bit for bit what it gives at that ``x``) plus the coordinates'
    log-density term. The start search's EDC scores get no such term (0 means feasible)."""

    @njit(nogil=True, error_model="numpy")
    def lp_v(v, ctx, scratch):
        extra = shear(v, ctx[1], scratch[2], scratch[1])
        return log_posterior(scratch[1], ctx[0], scratch[0]) + extra

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
        e_a = shear(v_a, ctx[1], s_a[2], s_a[1])
        e_b = shear(v_b, ctx[1], s_b[2], s_b[1]) if k > 1 else 0.0
        e_c = shear(v_c, ctx[1], s_c[2], s_c[1]) if k > 2 else 0.0
        e_d = shear(v_d, ctx[1], s_d[2], s_d[1]) if k > 3 else 0.0
        log_posterior_group(s_a[1], s_b[1], s_c[1], s_d[1], k, ctx[0], s_a[0], s_b[0], s_c[0],
                            s_d[0], out)
        out[0] += e_a
        if k > 1:
            out[1] += e_b
        if k > 2:
            out[2] += e_c
        if k > 3:
            out[3] += e_d

    return lp_v, score_v, guided_v, group_v


class ReparameterisedProblem:
    """A :class:`mdf.posterior.Problem` whose samplers move in other coordinates.

    Parameters
    ----------
    problem : mdf.posterior.Problem
        The problem seen through the coordinates.
    name : str
        ``'steady_state'``, ``'phases'`` or ``'steady_state+phases'``.

    Everything a sampler touches (``space``, ``ctx``, ``scratch``, the compiled functions)
    speaks ``v``; everything else (the pixel, the model, the likelihood, :meth:`terms`) is
    the wrapped problem's.
    """

    def __init__(self, problem, name: str):
        parts = set(name.split("+"))
        if not parts <= {"steady_state", "phases"}:
            raise ValueError(f"unknown reparam {name!r}; choose from "
                             f"{', '.join(REPARAMETERISATIONS)}")
        if "steady_state" in parts and problem.model.name not in _TEMPERATURE_FORM:
            raise ValueError(
                f"reparam 'steady_state' is defined for DALEC "
                f"{', '.join(_TEMPERATURE_FORM)}, not {problem.model.name!r}")
        self.reparam = name
        self.base = problem
        self.space = ReparameterisedSpace(problem, "steady_state" in parts, "phases" in parts)
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
    """A problem whose samplers move in the named coordinates.

    Parameters
    ----------
    problem : mdf.posterior.Problem
        The calibration problem.
    name : {'none', 'steady_state', 'phases', 'steady_state+phases'}
        The reparameterisation (module notes).

    Returns
    -------
    mdf.posterior.Problem or ReparameterisedProblem
        ``problem`` itself for ``'none'``.

    Raises
    ------
    ValueError
        For an unknown name, or ``'steady_state'`` on a model without the JPL carbon layout.
    """
    if name == "none":
        return problem
    return ReparameterisedProblem(problem, name)
