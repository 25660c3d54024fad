"""DALEC 1005: CARDAMOM v3's water-coupled DALEC (the model of CARDAMOM-FluxVal).

DALEC 811 (:mod:`dalec.models.dalec811`) with a second, plant-unavailable water pool fed by a
fraction of the plant-available drainage, the ET of Boese et al. (2017), the burned-litter
transfer to SOM written, and the leaf area index kept as a (diagnostic) state. Equations and
order of operations of CARDAMOM v3 ``DALEC_1005.c`` (CARDAMOM-framework/CARDAMOM commit
952d8c0d, "v3.0"); MODELS-1005.md in the project's shared reference writes them out.

Notes
-----
Per step n (Δt days; W, U the plant-available and plant-unavailable water at the start of
the step; fluxes are mean rates over the step):

- ``LAI`` is the stored state ``C_fol/LCMA`` of the end of the previous step;
  ``GPP = ACM(...) · fmin(W/W_wilt, 1)`` (C's ``fmin``: a NaN ratio gives 1);
- ``ET = GPP·√VPD/uWUE + r_B·SSRD`` [kg m-2 d-1];
- decomposition factor, allocation, phenology and first-order losses as 811 (the same
  "0.5 inside" temperature factor), with the run means of CARDAMOM v3 (:func:`reference_means`);
- drainage ``D = W²/(Q_a Δt)``, or ``(W - Q_a/4)/Δt`` when ``W > Q_a/2``; a fraction
  ``1 - x`` runs off (slot 29) and ``x`` goes to U (slot 30); U drains ``U²/(Q_u Δt)``, or
  ``(U - Q_u/4)/Δt`` when ``U > Q_u/2`` (slot 31);
  ``W' = W + (-q_paw - paw2puw + P - ET)·Δt``, ``U' = U + (paw2puw - q_puw)·Δt``;
- fire on the updated carbon pools (combustion factors as 811); unlike 811, burned
  non-combusted litter goes to SOM (slot 27);
- the stored LAI becomes ``C_fol'/LCMA`` (after fire).

The quadratic drainage also applies to a negative W, where it is positive: once ET (whose
radiation term does not need water) empties the bucket, W runs away to -inf and the run
to inf/NaN within a few steps. The reference does this too; EDCs 36-43 reject such runs.

References
----------
Yang, Y. et al. (2022) CARDAMOM-FluxVal version 1.0: a FLUXNET-based validation system for
CARDAMOM carbon and water flux estimates. Geosci. Model Dev. 15, 1789-1802.
doi:10.5194/gmd-15-1789-2022
Boese, S., Jung, M., Carvalhais, N. and Reichstein, M. (2017) The importance of radiation
for semiempirical water-use efficiency models. Biogeosciences 14, 3015-3026.
doi:10.5194/bg-14-3015-2017
Bloom, A. A. et al. (2020) Biogeosciences 17, 6393-6422. doi:10.5194/bg-17-6393-2020
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._kernels import _acm_gpp, _loss, _pulse_constants
from ..model import Model, ModelError, Observable, Parameter
from . import dalec400, dalec811
from ._jpl_step import any_fire, carbon_step, fire_step, rates_pass

DRIVERS = dalec811.DRIVERS
POOLS = dalec400.POOLS + ("h2o_paw", "h2o_puw", "lai_state")
FLUXES = dalec400.FLUXES + ("et", "runoff", "paw_to_puw", "runoff_puw")

_P = Parameter
_BY_NAME = {p.name: p for p in dalec811.PARAMETERS_811}
#: The 37 parameters (``PARS_INFO_1005.c``; all log-uniform). 0-22 and 24-32 are 811's.
PARAMETERS = (
    *dalec811.PARAMETERS_811[:23],
    _P("uwue", "uWUE", "g kg-1 hPa0.5", 0.5, 30.0,
       description="underlying water-use efficiency: transpiration = GPP sqrt(VPD) / uWUE"),
    _BY_NAME["runoff_focal"],
    _BY_NAME["w_wilt"],
    _BY_NAME["w_0"],
    *dalec811.PARAMETERS_811[27:33],
    _P("puw_fraction", "x", "1", 0.01, 1.0,
       description="fraction of plant-available-water drainage sent to the unavailable pool"),
    _P("puw_runoff_focal", "U_q", "kg m-2", 1.0, 1e5,
       description="runoff focal point of the plant-unavailable water"),
    _P("puw_0", "U_0", "kg m-2", 1.0, 1e4, description="initial plant-unavailable water"),
    _P("boese_r", "r_B", "kg MJ-1", 0.01, 0.3,
       description="radiation term of ET (Boese et al. 2017): r_B SSRD [kg m-2 d-1]"),
)

#: fire-step modes of :func:`_step`
FIRE_NEVER, FIRE_NONFINITE, FIRE_ALWAYS = 0, 1, 2

(F_SIN, F_COS, F_TEMP, F_SWRAD, F_CO2, F_GC, F_EXPGC, F_DAYL, F_BA,
 F_SQRT_VPD, F_PREC, F_MOIST) = range(12)
# pool rows
_PAW, _PUW, _LAI = 6, 7, 8


def reference_means(tmin, tmax, precip):
    """Driver means as CARDAMOM v3 forms them when a file gives no ``reference_mean``.

    Each driver's mean is one running sum of ``x[n]/N`` in step order
    (``CARDAMOM_READ_NETCDF_DATA.c``); ``T̄ = (mean Tmax + mean Tmin)/2``, ``P̄`` the mean
    precipitation. (v2.2, :func:`dalec.models.dalec811.reference_means`, sums ``0.5·T/N`` of
    both temperatures in one sum, which can differ in the last digit.)

    Returns
    -------
    (float, float)
        ``T̄`` [degC] and ``P̄`` [kg m-2 d-1].
    """
    n = len(tmin)
    means = []
    for series in (tmin, tmax, precip):
        acc = 0.0
        for value in series:
            acc += float(value) / n
        means.append(acc)
    t_min, t_max, p_mean = means
    return (t_max + t_min) / 2.0, p_mean


def prepare(drivers, latitude, options=None):
    """Per-pixel precomputation for 1005 (see :func:`dalec.models.dalec400.prepare`).

    Options
    -------
    reference_means : tuple (T̄ [degC], P̄ [kg m-2 d-1]) or None
        Prescribed run means (a file's ``reference_mean`` attributes); by default
        :func:`reference_means` of the drivers.

    Returns
    -------
    forcing : ndarray, shape (12, n_steps)
        811's rows with ``√VPD`` in place of VPD.
    site : ndarray, shape (3,)
        ``[Δt, T̄, P̄]``.
    """
    options = options or {}
    forcing400, site = dalec400.prepare(drivers, latitude)
    tmin = np.asarray(drivers["tmin"], dtype=np.float64)
    tmax = np.asarray(drivers["tmax"], dtype=np.float64)
    precip = np.asarray(drivers["precip"], dtype=np.float64)
    means = options.get("reference_means")
    t_mean, p_mean = means if means is not None else reference_means(tmin, tmax, precip)
    if not p_mean > 0:
        raise ModelError(
            f"mean precipitation over the run is {p_mean!r} kg m-2 d-1; model 1005 divides by it"
        )
    forcing = np.empty((12, tmin.size))
    forcing[: dalec400.N_FORCING] = forcing400
    # exp(Θ·0.5·(Tmin + Tmax - T̄)): Θ·0.5 times y is Θ times 0.5·y exactly
    forcing[F_TEMP] = 0.5 * (tmin + tmax - t_mean)
    forcing[F_SQRT_VPD] = np.sqrt(np.asarray(drivers["vpd"], dtype=np.float64))
    forcing[F_PREC] = precip
    forcing[F_MOIST] = precip / p_mean - 1.0
    return forcing, np.array([site[0], t_mean, p_mean])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _begin(forcing, dt, pars, pools, fluxes):
    """The rates pass, the initial state and, for a run without burned area, the fire slots
    set to 0; returns ``(k_wood, k_root, fire)``."""
    pulse_f = _pulse_constants(pars[4], pars[15], pars[14])
    pulse_l = _pulse_constants(pars[31], pars[13], pars[11])
    rates_pass(forcing[F_TEMP], forcing[F_MOIST], pars[32], forcing[F_SIN], forcing[F_COS],
               pulse_f, pulse_l, dt, pars, fluxes)
    for i in range(6):
        pools[i, 0] = pars[17 + i]
    pools[_PAW, 0] = pars[26]
    pools[_PUW, 0] = pars[35]
    pools[_LAI, 0] = pars[18] / pars[16]
    fire = any_fire(forcing[F_BA])
    if not fire:
        for slot in range(16, 28):
            fluxes[slot, :] = 0.0
    return _loss(pars[5], dt), _loss(pars[6], dt), fire


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _step(n, forcing, dt, k_wood, k_root, pars, lab, fol, roo, woo, lit, som, w, u, lai,
          pools, fluxes, fire):
    """Step ``n`` of one run in the reference's order: GPP, ET, the carbon step, the two
    water pools, fire, the stored LAI. ``fire`` (a literal) is :data:`FIRE_ALWAYS` for a run
    with burned area; without, :data:`FIRE_NONFINITE` runs the fire step only where the
    carbon pools are not all finite after the Euler step (there the reference's fire
    arithmetic, 0 burned, turns an infinite pool into NaN) and :data:`FIRE_NEVER` skips it."""
    ratio = w / pars[25]
    gpp = _acm_gpp(
        lai, pars[10], forcing[F_CO2, n], forcing[F_SWRAD, n],
        forcing[F_GC, n], forcing[F_EXPGC, n], forcing[F_DAYL, n],
    ) * (ratio if ratio < 1.0 else 1.0)  # fmin(ratio, 1): NaN gives 1
    et = gpp * forcing[F_SQRT_VPD, n] / pars[23] + forcing[F_SWRAD, n] * pars[36]
    lab, fol, roo, woo, lit, som = carbon_step(
        n, gpp, dt, k_wood, k_root, pars, lab, fol, roo, woo, lit, som, fluxes,
    )
    # drainage from the start-of-step water; both forms computed and one kept, as in 811
    x = pars[33]
    keep = 1.0 - x
    q_a = pars[24]
    full = (w - q_a / 4) / dt
    quad = w * w / q_a / dt * keep
    linear = w > q_a / 2
    q_paw = full * keep if linear else quad
    # above Q_a/2 the transfer is full·x/(1-x), below q_paw·x/(1-x) (from the product), as
    # in the reference: the two branches do not split the same total
    paw2puw = (full if linear else quad) * x / keep
    q_u = pars[34]
    full_u = (u - q_u / 4) / dt
    part_u = u * u / q_u / dt
    q_puw = full_u if u > q_u / 2 else part_u
    w = w + (-q_paw - paw2puw + forcing[F_PREC, n] - et) * dt
    u = u + (paw2puw - q_puw) * dt
    if fire == FIRE_ALWAYS or (
            fire == FIRE_NONFINITE and not math.isfinite(lab + fol + roo + woo + lit + som)):
        cf_lig = pars[28]
        lab, fol, roo, woo, lit, som = fire_step(
            n, forcing[F_BA, n], dt, cf_lig, pars[27], cf_lig, cf_lig,
            pars[27] / 2 + pars[28] / 2, pars[29], 1.0 - pars[30], True,
            lab, fol, roo, woo, lit, som, fluxes,
        )
    lai = fol / pars[16]
    pools[0, n + 1] = lab
    pools[1, n + 1] = fol
    pools[2, n + 1] = roo
    pools[3, n + 1] = woo
    pools[4, n + 1] = lit
    pools[5, n + 1] = som
    pools[_PAW, n + 1] = w
    pools[_PUW, n + 1] = u
    pools[_LAI, n + 1] = lai
    fluxes[28, n] = et
    fluxes[29, n] = q_paw
    fluxes[30, n] = paw2puw
    fluxes[31, n] = q_puw
    return lab, fol, roo, woo, lit, som, w, u, lai


@njit(cache=True, nogil=True, error_model="numpy")
def _run(forcing, site, pars, pools, fluxes):
    """One DALEC 1005 run into ``pools (9, N+1)`` and ``fluxes (32, N)``."""
    dt = site[0]
    k_wood, k_root, fire = _begin(forcing, dt, pars, pools, fluxes)
    c0, c1, c2, c3, c4, c5 = pars[17], pars[18], pars[19], pars[20], pars[21], pars[22]
    w, u, lai = pars[26], pars[35], pools[_LAI, 0]
    n_steps = forcing.shape[1]
    if fire:
        for n in range(n_steps):
            c0, c1, c2, c3, c4, c5, w, u, lai = _step(
                n, forcing, dt, k_wood, k_root, pars, c0, c1, c2, c3, c4, c5, w, u, lai,
                pools, fluxes, FIRE_ALWAYS)
        return
    _without_fire(0, forcing, dt, k_wood, k_root, pars, pools, fluxes)


@njit(cache=True, nogil=True, error_model="numpy")
def _without_fire(start, forcing, dt, k_wood, k_root, pars, pools, fluxes):
    """Steps ``start`` to N-1 of a run without burned area, from the state ``start``: those
    with finite carbon pools by :func:`_steps_without_fire`, the rest (if any) by
    :func:`_finish_nonfinite`."""
    n = _steps_without_fire(start, forcing, dt, k_wood, k_root, pars, pools, fluxes)
    if n < forcing.shape[1]:
        _finish_nonfinite(n, forcing, dt, k_wood, k_root, pars, pools, fluxes)


@njit(cache=True, nogil=True, error_model="numpy")
def _steps_without_fire(start, forcing, dt, k_wood, k_root, pars, pools, fluxes):
    """Steps ``start``, ``start + 1``, ... of a run without burned area, from the state
    ``start``, without the fire step (it would subtract exactly 0 from finite pools), up to
    the first step whose carbon pools are not all finite; returns that step (N if none),
    its loss rates restored for :func:`_finish_nonfinite` to take it again."""
    c0, c1, c2, c3, c4, c5 = (pools[0, start], pools[1, start], pools[2, start],
                              pools[3, start], pools[4, start], pools[5, start])
    w, u, lai = pools[_PAW, start], pools[_PUW, start], pools[_LAI, start]
    for n in range(start, forcing.shape[1]):
        # the loss rates carbon_step replaces by fluxes (the same loads as its own)
        r7, r9, r12, r13, r14 = (fluxes[7, n], fluxes[9, n], fluxes[12, n], fluxes[13, n],
                                 fluxes[14, n])
        c0, c1, c2, c3, c4, c5, w, u, lai = _step(
            n, forcing, dt, k_wood, k_root, pars, c0, c1, c2, c3, c4, c5, w, u, lai,
            pools, fluxes, FIRE_NEVER)
        if not math.isfinite(c0 + c1 + c2 + c3 + c4 + c5):
            fluxes[7, n], fluxes[9, n], fluxes[12, n], fluxes[13, n], fluxes[14, n] = (
                r7, r9, r12, r13, r14)
            return n
    return forcing.shape[1]


@njit(cache=True, nogil=True, error_model="numpy")
def _finish_nonfinite(first, forcing, dt, k_wood, k_root, pars, pools, fluxes):
    """Steps ``first`` to N-1 of a run without burned area whose carbon pools stopped being
    finite at step ``first``, from its start-of-step state, with the fire step where the
    pools are not finite (as the reference, whose fire arithmetic makes an infinite pool
    NaN there). Out of the time loop of the finite steps, whose speed it would halve."""
    c0, c1, c2, c3, c4, c5 = (pools[0, first], pools[1, first], pools[2, first],
                              pools[3, first], pools[4, first], pools[5, first])
    w, u, lai = pools[_PAW, first], pools[_PUW, first], pools[_LAI, first]
    for n in range(first, forcing.shape[1]):
        c0, c1, c2, c3, c4, c5, w, u, lai = _step(
            n, forcing, dt, k_wood, k_root, pars, c0, c1, c2, c3, c4, c5, w, u, lai,
            pools, fluxes, FIRE_NONFINITE)


@njit(cache=True, nogil=True, error_model="numpy")
def _run_pair(forcing, site, pars_a, pars_b, pools_a, pools_b, fluxes_a, fluxes_b):
    """Two runs, their time loops interleaved step by step, each bit for bit :func:`_run`'s
    (see :func:`dalec.models.dalec400._run_pair`). Without burned area the two go side by
    side while both carbon states stay finite; from the first step where one does not,
    each finishes alone as in :func:`_run`."""
    dt = site[0]
    kw_a, kr_a, fire = _begin(forcing, dt, pars_a, pools_a, fluxes_a)
    kw_b, kr_b, _ = _begin(forcing, dt, pars_b, pools_b, fluxes_b)
    a0, a1, a2, a3, a4, a5 = (pars_a[17], pars_a[18], pars_a[19], pars_a[20], pars_a[21],
                              pars_a[22])
    b0, b1, b2, b3, b4, b5 = (pars_b[17], pars_b[18], pars_b[19], pars_b[20], pars_b[21],
                              pars_b[22])
    wa, ua, la = pars_a[26], pars_a[35], pools_a[_LAI, 0]
    wb, ub, lb = pars_b[26], pars_b[35], pools_b[_LAI, 0]
    n_steps = forcing.shape[1]
    if fire:
        for n in range(n_steps):
            a0, a1, a2, a3, a4, a5, wa, ua, la = _step(
                n, forcing, dt, kw_a, kr_a, pars_a, a0, a1, a2, a3, a4, a5, wa, ua, la,
                pools_a, fluxes_a, FIRE_ALWAYS)
            b0, b1, b2, b3, b4, b5, wb, ub, lb = _step(
                n, forcing, dt, kw_b, kr_b, pars_b, b0, b1, b2, b3, b4, b5, wb, ub, lb,
                pools_b, fluxes_b, FIRE_ALWAYS)
        return
    ok_a = ok_b = True
    n = 0
    while n < n_steps:
        ra = (fluxes_a[7, n], fluxes_a[9, n], fluxes_a[12, n], fluxes_a[13, n], fluxes_a[14, n])
        rb = (fluxes_b[7, n], fluxes_b[9, n], fluxes_b[12, n], fluxes_b[13, n], fluxes_b[14, n])
        a0, a1, a2, a3, a4, a5, wa, ua, la = _step(
            n, forcing, dt, kw_a, kr_a, pars_a, a0, a1, a2, a3, a4, a5, wa, ua, la,
            pools_a, fluxes_a, FIRE_NEVER)
        b0, b1, b2, b3, b4, b5, wb, ub, lb = _step(
            n, forcing, dt, kw_b, kr_b, pars_b, b0, b1, b2, b3, b4, b5, wb, ub, lb,
            pools_b, fluxes_b, FIRE_NEVER)
        ok_a = math.isfinite(a0 + a1 + a2 + a3 + a4 + a5)
        ok_b = math.isfinite(b0 + b1 + b2 + b3 + b4 + b5)
        if not (ok_a and ok_b):
            break
        n += 1
    if n < n_steps:
        _part_alone(ok_a, n, ra, forcing, dt, kw_a, kr_a, pars_a, pools_a, fluxes_a)
        _part_alone(ok_b, n, rb, forcing, dt, kw_b, kr_b, pars_b, pools_b, fluxes_b)


@njit(cache=True, nogil=True, error_model="numpy")
def _part_alone(ok, n, rates, forcing, dt, k_wood, k_root, pars, pools, fluxes):
    """The rest of one run of :func:`_run_pair` after step ``n``, where one of the two
    stopped being finite: if this one is finite through step ``n`` (``ok``), on from
    ``n + 1``; otherwise step ``n`` again from its loss ``rates``, as in :func:`_run`."""
    if ok:
        _without_fire(n + 1, forcing, dt, k_wood, k_root, pars, pools, fluxes)
    else:
        fluxes[7, n], fluxes[9, n], fluxes[12, n], fluxes[13, n], fluxes[14, n] = rates
        _finish_nonfinite(n, forcing, dt, k_wood, k_root, pars, pools, fluxes)


@njit(cache=True, parallel=True, error_model="numpy")
def _run_ensemble(forcing, site, pars, pools, fluxes):
    """:func:`_run` over ``pars (S, 37)`` into ``pools (S, 9, N+1)``, ``fluxes (S, 32, N)``."""
    for s in prange(pars.shape[0]):
        _run(forcing, site, pars[s], pools[s], fluxes[s])


_NEE = (("gpp", -1.0), ("ra", 1.0), ("rh_litter", 1.0), ("rh_som", 1.0), ("fire", 1.0))
_LIVE = ("c_labile", "c_foliar", "c_root", "c_wood")
#: observation operators of CARDAMOM v3 (``DALEC_OBSERVATION_OPERATORS.c``): LAI and biomass
#: as the mean of the states at the start and the end of the step; NBE summed from 0 in the
#: order -GPP, Ra, Rh litter, Rh SOM, fire.
OBSERVABLES = {
    "gpp": Observable(fluxes=(("gpp", 1.0),)),
    "et": Observable(fluxes=(("et", 1.0),)),
    "nbe": Observable(fluxes=_NEE),
    "nee": Observable(fluxes=_NEE),
    "reco": Observable(fluxes=(("ra", 1.0), ("rh_litter", 1.0), ("rh_som", 1.0))),
    "fire": Observable(fluxes=(("fire", 1.0),)),
    "lai": Observable(pools=("lai_state",), at="mid"),
    "abgb": Observable(pools=_LIVE, at="mid"),
}

MODEL = Model(
    name="1005",
    description="DALEC 1005 (CARDAMOM v3, FluxVal): 811 + plant-unavailable water, Boese ET",
    parameters=PARAMETERS,
    pools=POOLS,
    fluxes=FLUXES,
    drivers=DRIVERS,
    prepare=prepare,
    kernel=_run,
    ensemble_kernel=_run_ensemble,
    pair_kernel=_run_pair,
    derived=dalec400.derived,
    observables=OBSERVABLES,
    pool_outflows={
        **dalec400.POOL_OUTFLOWS,
        "h2o_paw": ("et", "runoff", "paw_to_puw"),
        "h2o_puw": ("runoff_puw",),
    },
    references=(
        "Yang, Y. et al. (2022) Geosci. Model Dev. 15, 1789-1802. doi:10.5194/gmd-15-1789-2022",
        "Boese, S. et al. (2017) Biogeosciences 14, 3015-3026. doi:10.5194/bg-14-3015-2017",
    )
    + dalec811.MODEL_811.references,
    options={"reference_means": None},
)
