"""DALEC 809/811: DALEC 400 plus a plant-available-water bucket and fitted fire factors.

The equations of CARDAMOM v2.2's ``DALEC_809.c`` and ``DALEC_811.c`` are identical (commit
d29f0547); the two registry entries differ only in the lower bounds of the labile-release and
leaf-fall periods (811: 365.25/12 d; 809 keeps 10 and 20 d as model 400 does).

Notes
-----
Differences from :mod:`dalec.models.dalec400`:

- ``GPP = ACM(...) · min(W/W_wilt, 1)`` with W the bucket at the start of the step, and
  ``ET = GPP · VPD / IWUE`` [kg m-2 d-1];
- the decomposition factor is ``exp(Θ·0.5·(Tmin + Tmax - T̄)) · ((P/P̄ - 1)·f_moist + 1)`` with
  T̄, P̄ the driver means over the run. The ``0.5`` multiplying ``-T̄`` is CARDAMOM's known typo
  (CARDAMOM issue #14); option ``temperature_factor="813"`` gives the corrected
  ``exp(Θ·((Tmin + Tmax)/2 - T̄))`` of model 813;
- labile release uses a fitted labile lifespan (p31) instead of 1.001 years;
- runoff ``W²/p24/Δt``, or ``(W - p24/4)/Δt`` when ``W > p24/2``, then
  ``W' = W + (P - ET - runoff)·Δt``;
- fire combustion factors ``[cf_lig, cf_fol, cf_lig, cf_lig, (cf_fol + cf_lig)/2, cf_som]`` and
  resilience p30; the litter fire-mortality slot (27) is never written by the reference and
  stays 0, so non-combusted burned litter stays in litter.

References
----------
Bloom, A. A. et al. (2020) Lagged effects regulate the inter-annual variability of the tropical
carbon balance. Biogeosciences 17, 6393-6422. doi:10.5194/bg-17-6393-2020
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numba import njit, prange

from .._kernels import _acm_gpp, _loss, _pulse_constants
from ..model import Model, ModelError, Observable, Parameter
from . import dalec400
from ._jpl_step import any_fire, carbon_step, fire_step, rates_pass, zero_fire

DRIVERS = dalec400.DRIVERS + ("vpd", "precip")
POOLS = dalec400.POOLS + ("h2o_paw",)
FLUXES = dalec400.FLUXES + ("et", "runoff")

_P = Parameter
_EXTRA = (
    _P("iwue", "IWUE", "g kg-1 hPa", 10.0, 50.0,
       description="intrinsic water-use efficiency: ET = GPP VPD / IWUE"),
    _P("runoff_focal", "W_q", "kg m-2", 1.0, 1e5,
       description="runoff focal point (runoff = W^2/p24 per step)"),
    _P("w_wilt", "W_wilt", "kg m-2", 1.0, 1e4,
       description="bucket water below which GPP is scaled by W/W_wilt"),
    _P("w_0", "W_0", "kg m-2", 1.0, 1e4, description="initial plant-available water"),
    _P("cf_foliar", "cf_fol", "1", 0.01, 1.0, description="foliar combustion factor"),
    _P("cf_ligneous", "cf_lig", "1", 0.01, 1.0,
       description="ligneous (labile, root, wood) combustion factor"),
    _P("cf_som", "cf_som", "1", 0.01, 1.0, description="SOM combustion factor"),
    _P("resilience", "r", "1", 0.01, 1.0,
       description="fire resilience: burned non-combusted fraction moved to dead pools is 1 - r"),
    _P("labile_lifespan", "L_lab", "a", 1.001, 8.0, description="labile lifespan"),
    _P("moisture_factor", "f_moist", "1", 0.01, 1.0,
       description="precipitation sensitivity of decomposition"),
)
PARAMETERS_809 = dalec400.PARAMETERS + _EXTRA
PARAMETERS_811 = tuple(
    replace(p, min=365.25 / 12) if p.name in ("p_lab", "p_fall") else p for p in PARAMETERS_809
)

(F_SIN, F_COS, F_TEMP, F_SWRAD, F_CO2, F_GC, F_EXPGC, F_DAYL, F_BA,
 F_VPD, F_PREC, F_MOIST) = range(12)

TEMPERATURE_FORMS = ("811", "813")


def reference_means(tmin, tmax, precip):
    """Driver means as CARDAMOM v2.2 accumulates them (``CARDAMOM_READ_BINARY_DATA.c``).

    ``T̄`` sums ``0.5·Tmin/N`` over all steps, then adds ``0.5·Tmax/N`` over all steps; ``P̄``
    sums ``P/N``. The order matters in the last digits, which the reference outputs keep.
    """
    n = len(tmin)
    t_mean = 0.0
    for value in tmin:
        t_mean += 0.5 * float(value) / n
    for value in tmax:
        t_mean += 0.5 * float(value) / n
    p_mean = 0.0
    for value in precip:
        p_mean += float(value) / n
    return t_mean, p_mean


def prepare(drivers, latitude, options=None):
    """Per-pixel precomputation for 809/811 (see :func:`dalec.models.dalec400.prepare`).

    Options
    -------
    temperature_factor : {"811", "813"}
        ``"811"`` (default) keeps the reference form ``exp(Θ·0.5·(Tmin+Tmax-T̄))``; ``"813"`` uses
        the corrected ``exp(Θ·((Tmin+Tmax)/2 - T̄))``.
    reference_means : tuple (T̄ [degC], P̄ [kg m-2 d-1]) or None
        Override the run means (CARDAMOM's extra "reference means" row or ``reference_mean``
        attributes); by default computed from the drivers.
    """
    options = options or {}
    form = str(options.get("temperature_factor", "811"))
    if form not in TEMPERATURE_FORMS:
        raise ModelError(f"temperature_factor must be one of {TEMPERATURE_FORMS}, got {form!r}")
    forcing400, site = dalec400.prepare(drivers, latitude)
    tmin = np.asarray(drivers["tmin"], dtype=np.float64)
    tmax = np.asarray(drivers["tmax"], dtype=np.float64)
    precip = np.asarray(drivers["precip"], dtype=np.float64)
    means = options.get("reference_means")
    t_mean, p_mean = means if means is not None else reference_means(tmin, tmax, precip)
    if not p_mean > 0:
        raise ModelError(
            f"mean precipitation over the run is {p_mean!r} kg m-2 d-1; models 809/811 divide by it"
        )
    forcing = np.empty((12, tmin.size))
    forcing[: dalec400.N_FORCING] = forcing400
    if form == "811":
        forcing[F_TEMP] = 0.5 * (tmax + tmin - t_mean)
    else:
        forcing[F_TEMP] = 0.5 * (tmax + tmin) - t_mean
    forcing[F_VPD] = drivers["vpd"]
    forcing[F_PREC] = precip
    forcing[F_MOIST] = precip / p_mean - 1.0
    return forcing, np.array([site[0], t_mean, p_mean])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _begin(forcing, dt, pars, pools, fluxes):
    """The rates pass and the initial pools of one run; returns ``(k_wood, k_root)``."""
    pulse_f = _pulse_constants(pars[4], pars[15], pars[14])
    pulse_l = _pulse_constants(pars[31], pars[13], pars[11])
    rates_pass(forcing[F_TEMP], forcing[F_MOIST], pars[32], forcing[F_SIN], forcing[F_COS],
               pulse_f, pulse_l, dt, pars, fluxes)
    for i in range(6):
        pools[i, 0] = pars[17 + i]
    pools[6, 0] = pars[26]
    return _loss(pars[5], dt), _loss(pars[6], dt)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _step(n, forcing, dt, k_wood, k_root, pars, lab, fol, roo, woo, lit, som, w, pools, fluxes,
          fire):
    """Step ``n`` of one run: GPP, ET, the carbon step, the bucket, fire (if ``fire``, a
    literal), and the pools after the step."""
    lai = fol / pars[16]
    gpp = _acm_gpp(
        lai, pars[10], forcing[F_CO2, n], forcing[F_SWRAD, n],
        forcing[F_GC, n], forcing[F_EXPGC, n], forcing[F_DAYL, n],
    ) * min(w / pars[25], 1.0)
    et = gpp * forcing[F_VPD, n] / pars[23]
    lab, fol, roo, woo, lit, som = carbon_step(
        n, gpp, dt, k_wood, k_root, pars, lab, fol, roo, woo, lit, som, fluxes,
    )
    # bucket: runoff from the start-of-step water, then the balance; both forms are computed
    # and one kept (a select: the branch mispredicted often enough to cost 1.5x the run)
    full = (w - pars[24] / 4) / dt
    part = w * w / pars[24] / dt
    runoff = full if w > pars[24] / 2 else part
    w = w - runoff * dt + forcing[F_PREC, n] * dt - et * dt
    if fire:
        cf_lig = pars[28]
        lab, fol, roo, woo, lit, som = fire_step(
            n, forcing[F_BA, n], dt, cf_lig, pars[27], cf_lig, cf_lig,
            pars[27] / 2 + pars[28] / 2, pars[29], 1.0 - pars[30], False,
            lab, fol, roo, woo, lit, som, fluxes,
        )
    pools[0, n + 1] = lab
    pools[1, n + 1] = fol
    pools[2, n + 1] = roo
    pools[3, n + 1] = woo
    pools[4, n + 1] = lit
    pools[5, n + 1] = som
    pools[6, n + 1] = w
    fluxes[28, n] = et
    fluxes[29, n] = runoff
    return lab, fol, roo, woo, lit, som, w


@njit(cache=True, nogil=True, error_model="numpy")
def _run(forcing, site, pars, pools, fluxes):
    """One DALEC 809/811 run into ``pools (7, N+1)`` and ``fluxes (30, N)``."""
    dt = site[0]
    k_wood, k_root = _begin(forcing, dt, pars, pools, fluxes)
    c0, c1, c2, c3, c4, c5, w = (pars[17], pars[18], pars[19], pars[20], pars[21], pars[22],
                                 pars[26])
    if any_fire(forcing[F_BA]):
        for n in range(forcing.shape[1]):
            c0, c1, c2, c3, c4, c5, w = _step(n, forcing, dt, k_wood, k_root, pars,
                                              c0, c1, c2, c3, c4, c5, w, pools, fluxes, True)
    else:  # the fire step would subtract exactly 0 (see _jpl_step.zero_fire)
        for n in range(forcing.shape[1]):
            c0, c1, c2, c3, c4, c5, w = _step(n, forcing, dt, k_wood, k_root, pars,
                                              c0, c1, c2, c3, c4, c5, w, pools, fluxes, False)
        zero_fire(fluxes)


@njit(cache=True, nogil=True, error_model="numpy")
def _run_pair(forcing, site, pars_a, pars_b, pools_a, pools_b, fluxes_a, fluxes_b):
    """Two runs, their time loops interleaved step by step, each bit for bit :func:`_run`'s
    (see :func:`dalec.models.dalec400._run_pair`)."""
    dt = site[0]
    kw_a, kr_a = _begin(forcing, dt, pars_a, pools_a, fluxes_a)
    kw_b, kr_b = _begin(forcing, dt, pars_b, pools_b, fluxes_b)
    a0, a1, a2, a3, a4, a5, wa = (pars_a[17], pars_a[18], pars_a[19], pars_a[20], pars_a[21],
                                  pars_a[22], pars_a[26])
    b0, b1, b2, b3, b4, b5, wb = (pars_b[17], pars_b[18], pars_b[19], pars_b[20], pars_b[21],
                                  pars_b[22], pars_b[26])
    if any_fire(forcing[F_BA]):
        for n in range(forcing.shape[1]):
            a0, a1, a2, a3, a4, a5, wa = _step(n, forcing, dt, kw_a, kr_a, pars_a, a0, a1, a2,
                                               a3, a4, a5, wa, pools_a, fluxes_a, True)
            b0, b1, b2, b3, b4, b5, wb = _step(n, forcing, dt, kw_b, kr_b, pars_b, b0, b1, b2,
                                               b3, b4, b5, wb, pools_b, fluxes_b, True)
    else:
        for n in range(forcing.shape[1]):
            a0, a1, a2, a3, a4, a5, wa = _step(n, forcing, dt, kw_a, kr_a, pars_a, a0, a1, a2,
                                               a3, a4, a5, wa, pools_a, fluxes_a, False)
            b0, b1, b2, b3, b4, b5, wb = _step(n, forcing, dt, kw_b, kr_b, pars_b, b0, b1, b2,
                                               b3, b4, b5, wb, pools_b, fluxes_b, False)
        zero_fire(fluxes_a)
        zero_fire(fluxes_b)


@njit(cache=True, parallel=True, error_model="numpy")
def _run_ensemble(forcing, site, pars, pools, fluxes):
    """:func:`_run` over ``pars (S, 33)`` into ``pools (S, 7, N+1)``, ``fluxes (S, 30, N)``."""
    for s in prange(pars.shape[0]):
        _run(forcing, site, pars[s], pools[s], fluxes[s])


OBSERVABLES = {
    **dalec400.OBSERVABLES,
    "et": Observable(fluxes=(("et", 1.0),)),
    "ewt": Observable(pools=("h2o_paw",), at="mid"),
}

_COMMON = dict(
    pools=POOLS,
    fluxes=FLUXES,
    drivers=DRIVERS,
    prepare=prepare,
    kernel=_run,
    ensemble_kernel=_run_ensemble,
    pair_kernel=_run_pair,
    derived=dalec400.derived,
    observables=OBSERVABLES,
    pool_outflows={**dalec400.POOL_OUTFLOWS, "h2o_paw": ("et", "runoff")},
    references=(
        "Bloom, A. A. et al. (2020) Biogeosciences 17, 6393-6422. doi:10.5194/bg-17-6393-2020",
    )
    + dalec400.MODEL.references,
    options={"temperature_factor": "811", "reference_means": None},
)

MODEL_809 = Model(
    name="809",
    description="DALEC 809: DALEC 400 + plant-available-water bucket, ET, fitted fire factors",
    parameters=PARAMETERS_809,
    **_COMMON,
)
MODEL_811 = Model(
    name="811",
    description="DALEC 811: the 809 equations; labile-release and leaf-fall periods >= 365.25/12 d",
    parameters=PARAMETERS_811,
    **_COMMON,
)
