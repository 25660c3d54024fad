"""DALEC 400: CARDAMOM's canonical carbon-only DALEC (CARDAMOM v2.2 model ID 400).

Six carbon pools (labile, foliar, fine root, wood, litter, SOM), GPP from ACM, the CDEA
phenology of Bloom & Williams (2015) and a fixed-factor fire module; 23 parameters and 28 flux
slots in CARDAMOM's order.

Notes
-----
Per step n (Δt days, pools C at the start of the step; all fluxes are mean rates over the
step in g m-2 d-1), following ``DALEC_400.c`` of CARDAMOM v2.2 (commit d29f0547):

- ``LAI = C_fol / LCMA``; ``GPP = ACM(LAI, Tmin, Tmax, SSRD, CO2, DOY, φ)``;
- ``τ = exp(θ (Tmin + Tmax)/2)``; ``Ra = f_auto GPP``; allocation cascade foliage, labile,
  roots, wood (remainder);
- each first-order loss at daily rate k uses ``C (1 - (1 - k)^Δt)/Δt``; litter respiration and
  litter-to-SOM are both computed from the same start-of-step litter pool;
- explicit Euler update, then fire on the *updated* pools with combustion factors
  ``[0.1, 0.9, 0.1, 0.1, 0.5, 0.01]`` and resilience 0.5;
- ``NEE = -GPP + Ra + Rh_lit + Rh_som + fire`` (positive = source).

References
----------
Bloom, A. A. et al. (2016) The decadal state of the terrestrial carbon cycle. PNAS 113,
1285-1290. doi:10.1073/pnas.1515160113
Bloom, A. A. and Williams, M. (2015) Biogeosciences 12, 1299-1315. doi:10.5194/bg-12-1299-2015
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._kernels import _acm_gpp, _loss, _pulse_constants, acm_forcing, phase_forcing
from ..model import Model, Observable, Parameter
from ._jpl_step import any_fire, carbon_step, fire_step, rates_pass, zero_fire

DRIVERS = ("tmin", "tmax", "swrad", "co2", "doy", "burned_area")

POOLS = ("c_labile", "c_foliar", "c_root", "c_wood", "c_litter", "c_som")

FLUXES = (
    "gpp",  # 0
    "temperature_factor",  # 1
    "ra",  # 2
    "alloc_foliar",  # 3
    "alloc_labile",  # 4
    "alloc_root",  # 5
    "alloc_wood",  # 6
    "labile_release",  # 7
    "leaf_fall_factor",  # 8
    "foliar_litterfall",  # 9
    "wood_turnover",  # 10
    "root_litterfall",  # 11
    "rh_litter",  # 12
    "rh_som",  # 13
    "litter_to_som",  # 14
    "labile_release_factor",  # 15
    "fire",  # 16
    "fire_labile",  # 17
    "fire_foliar",  # 18
    "fire_root",  # 19
    "fire_wood",  # 20
    "fire_litter",  # 21
    "fire_som",  # 22
    "fire_kill_labile",  # 23
    "fire_kill_foliar",  # 24
    "fire_kill_root",  # 25
    "fire_kill_wood",  # 26
    "fire_kill_litter",  # 27
)

_P = Parameter
#: The 23 parameters of model 400 (``PARS_INFO_400.c``); all log-uniform.
PARAMETERS = (
    _P("tr_lit2som", "θ_min", "d-1", 1e-5, 1e-2,
       description="litter to SOM transfer rate at 0 degC"),
    _P("f_auto", "f_auto", "1", 0.2, 0.8, description="fraction of GPP respired autotrophically"),
    _P("f_fol", "f_fol", "1", 0.01, 0.5, description="fraction of NPP allocated to foliage"),
    _P("f_root", "f_roo", "1", 0.01, 1.0,
       description="fraction of NPP left after foliage and labile allocated to fine roots"),
    _P("leaf_lifespan", "L_f", "a", 1.001, 8.0, description="leaf lifespan"),
    _P("t_wood", "θ_woo", "d-1", 2.5e-5, 1e-3, description="wood turnover rate"),
    _P("t_root", "θ_roo", "d-1", 1e-4, 1e-2, description="fine root turnover rate"),
    _P("t_lit", "θ_lit", "d-1", 1e-4, 1e-2, description="litter respiration rate at 0 degC"),
    _P("t_som", "θ_som", "d-1", 1e-7, 1e-3, description="SOM respiration rate at 0 degC"),
    _P("theta", "Θ", "degC-1", 0.018, 0.08,
       description="temperature sensitivity of decomposition, factor exp(Θ T)"),
    _P("ceff", "C_eff", "1", 5.0, 50.0, description="ACM canopy efficiency"),
    _P("b_day", "d_onset", "d", 365.25, 1461.0, circular=True,
       description="day of peak labile release (leaf onset), model time modulo 365.25"),
    _P("f_lab", "f_lab", "1", 0.01, 0.5,
       description="fraction of NPP left after foliage allocated to labile"),
    _P("p_lab", "cr_onset", "d", 10.0, 100.0, description="labile release period"),
    _P("f_day", "d_fall", "d", 365.25, 1461.0, circular=True,
       description="day of peak leaf fall, model time modulo 365.25"),
    _P("p_fall", "cr_fall", "d", 20.0, 150.0, description="leaf fall period"),
    _P("lcma", "c_lma", "g m-2", 5.0, 200.0, description="leaf carbon mass per leaf area"),
    _P("c_labile_0", "C_lab,0", "g m-2", 1.0, 2000.0, description="initial labile C"),
    _P("c_foliar_0", "C_fol,0", "g m-2", 1.0, 2000.0, description="initial foliar C"),
    _P("c_root_0", "C_roo,0", "g m-2", 1.0, 2000.0, description="initial fine root C"),
    _P("c_wood_0", "C_woo,0", "g m-2", 1.0, 1e5, description="initial wood C"),
    _P("c_litter_0", "C_lit,0", "g m-2", 1.0, 2000.0, description="initial litter C"),
    _P("c_som_0", "C_som,0", "g m-2", 1.0, 2e5, description="initial SOM C"),
)

# forcing rows
F_SIN, F_COS, F_TEMP, F_SWRAD, F_CO2, F_GC, F_EXPGC, F_DAYL, F_BA = range(9)
N_FORCING = 9


def prepare(drivers, latitude, options=None):
    """Per-pixel precomputation: every driver-only term of the step equations.

    Parameters
    ----------
    drivers : mapping of str to ndarray
        ``time`` [d] and the variables in :data:`DRIVERS` on the model's time steps.
    latitude : float
        Pixel latitude [degrees north].

    Returns
    -------
    forcing : ndarray, shape (9, n_steps)
    site : ndarray, shape (1,)
        ``[Δt]`` with ``Δt = time[1] - time[0]`` [d] as in CARDAMOM.
    """
    time = np.asarray(drivers["time"], dtype=np.float64)
    gc, exp_over_gc, dayl_factor = acm_forcing(
        drivers["tmin"], drivers["tmax"], drivers["doy"], latitude
    )
    forcing = np.empty((N_FORCING, time.size))
    forcing[F_SIN], forcing[F_COS] = phase_forcing(time)
    forcing[F_TEMP] = 0.5 * (np.asarray(drivers["tmax"]) + np.asarray(drivers["tmin"]))
    forcing[F_SWRAD] = drivers["swrad"]
    forcing[F_CO2] = drivers["co2"]
    forcing[F_GC] = gc
    forcing[F_EXPGC] = exp_over_gc
    forcing[F_DAYL] = dayl_factor
    forcing[F_BA] = drivers["burned_area"]
    deltat = time[1] - time[0] if time.size > 1 else 1.0
    return forcing, np.array([deltat])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _begin(forcing, dt, pars, pools, fluxes):
    """The rates pass and the initial pools of one run; returns ``(k_wood, k_root)``."""
    pulse_f = _pulse_constants(pars[4], pars[15], pars[14])
    pulse_l = _pulse_constants(1.001, pars[13], pars[11])  # L_lab = 1.001
    # no moisture term: τ = exp(Θ T) (T · 0 + 1)
    rates_pass(forcing[F_TEMP], forcing[F_TEMP], 0.0, forcing[F_SIN], forcing[F_COS], pulse_f,
               pulse_l, dt, pars, fluxes)
    for i in range(6):
        pools[i, 0] = pars[17 + i]
    return _loss(pars[5], dt), _loss(pars[6], dt)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _step(n, forcing, dt, k_wood, k_root, pars, lab, fol, roo, woo, lit, som, pools, fluxes,
          fire):
    """Step ``n`` of one run: GPP, the carbon step, fire (if ``fire``, a literal), and the
    pools after the step."""
    lai = fol / pars[16]
    gpp = _acm_gpp(
        lai, pars[10], forcing[F_CO2, n], forcing[F_SWRAD, n],
        forcing[F_GC, n], forcing[F_EXPGC, n], forcing[F_DAYL, n],
    )
    lab, fol, roo, woo, lit, som = carbon_step(
        n, gpp, dt, k_wood, k_root, pars, lab, fol, roo, woo, lit, som, fluxes,
    )
    if fire:  # fixed combustion factors (labile, foliar, root, wood, litter, SOM), resilience 0.5
        lab, fol, roo, woo, lit, som = fire_step(
            n, forcing[F_BA, n], dt, 0.1, 0.9, 0.1, 0.1, 0.5, 0.01, 1.0 - 0.5, True,
            lab, fol, roo, woo, lit, som, fluxes,
        )
    pools[0, n + 1] = lab
    pools[1, n + 1] = fol
    pools[2, n + 1] = roo
    pools[3, n + 1] = woo
    pools[4, n + 1] = lit
    pools[5, n + 1] = som
    return lab, fol, roo, woo, lit, som


@njit(cache=True, nogil=True, error_model="numpy")
def _run(forcing, site, pars, pools, fluxes):
    """One DALEC 400 run into preallocated ``pools (6, N+1)`` and ``fluxes (28, N)``."""
    dt = site[0]
    k_wood, k_root = _begin(forcing, dt, pars, pools, fluxes)
    lab, fol, roo, woo, lit, som = pars[17], pars[18], pars[19], pars[20], pars[21], pars[22]
    if any_fire(forcing[F_BA]):
        for n in range(forcing.shape[1]):
            lab, fol, roo, woo, lit, som = _step(n, forcing, dt, k_wood, k_root, pars,
                                                 lab, fol, roo, woo, lit, som, pools, fluxes, True)
    else:  # the fire step would subtract exactly 0 (see _jpl_step.zero_fire)
        for n in range(forcing.shape[1]):
            lab, fol, roo, woo, lit, som = _step(n, forcing, dt, k_wood, k_root, pars,
                                                 lab, fol, roo, woo, lit, som, pools, fluxes, False)
        zero_fire(fluxes)


@njit(cache=True, nogil=True, error_model="numpy")
def _run_pair(forcing, site, pars_a, pars_b, pools_a, pools_b, fluxes_a, fluxes_b):
    """Two runs, their time loops interleaved step by step: each is :func:`_run`'s bit for
    bit, and one core overlaps the two chains of dependent operations (GPP needs the foliar
    pool the step before made), which one run leaves waiting on each other."""
    dt = site[0]
    kw_a, kr_a = _begin(forcing, dt, pars_a, pools_a, fluxes_a)
    kw_b, kr_b = _begin(forcing, dt, pars_b, pools_b, fluxes_b)
    a0, a1, a2, a3, a4, a5 = pars_a[17], pars_a[18], pars_a[19], pars_a[20], pars_a[21], pars_a[22]
    b0, b1, b2, b3, b4, b5 = pars_b[17], pars_b[18], pars_b[19], pars_b[20], pars_b[21], pars_b[22]
    if any_fire(forcing[F_BA]):
        for n in range(forcing.shape[1]):
            a0, a1, a2, a3, a4, a5 = _step(n, forcing, dt, kw_a, kr_a, pars_a,
                                           a0, a1, a2, a3, a4, a5, pools_a, fluxes_a, True)
            b0, b1, b2, b3, b4, b5 = _step(n, forcing, dt, kw_b, kr_b, pars_b,
                                           b0, b1, b2, b3, b4, b5, pools_b, fluxes_b, True)
    else:
        for n in range(forcing.shape[1]):
            a0, a1, a2, a3, a4, a5 = _step(n, forcing, dt, kw_a, kr_a, pars_a,
                                           a0, a1, a2, a3, a4, a5, pools_a, fluxes_a, False)
            b0, b1, b2, b3, b4, b5 = _step(n, forcing, dt, kw_b, kr_b, pars_b,
                                           b0, b1, b2, b3, b4, b5, pools_b, fluxes_b, False)
        zero_fire(fluxes_a)
        zero_fire(fluxes_b)


@njit(cache=True, nogil=True, error_model="numpy")
def _run_quad(forcing, site, pars_a, pars_b, pars_c, pars_d, pools_a, pools_b, pools_c, pools_d,
              fluxes_a, fluxes_b, fluxes_c, fluxes_d):
    """Four runs, their time loops interleaved step by step as in :func:`_run_pair`: each is
    :func:`_run`'s bit for bit; four dependency chains keep one core busier than two."""
    dt = site[0]
    kw_a, kr_a = _begin(forcing, dt, pars_a, pools_a, fluxes_a)
    kw_b, kr_b = _begin(forcing, dt, pars_b, pools_b, fluxes_b)
    kw_c, kr_c = _begin(forcing, dt, pars_c, pools_c, fluxes_c)
    kw_d, kr_d = _begin(forcing, dt, pars_d, pools_d, fluxes_d)
    a0, a1, a2, a3, a4, a5 = pars_a[17], pars_a[18], pars_a[19], pars_a[20], pars_a[21], pars_a[22]
    b0, b1, b2, b3, b4, b5 = pars_b[17], pars_b[18], pars_b[19], pars_b[20], pars_b[21], pars_b[22]
    c0, c1, c2, c3, c4, c5 = pars_c[17], pars_c[18], pars_c[19], pars_c[20], pars_c[21], pars_c[22]
    d0, d1, d2, d3, d4, d5 = pars_d[17], pars_d[18], pars_d[19], pars_d[20], pars_d[21], pars_d[22]
    fire = any_fire(forcing[F_BA])
    if fire:
        for n in range(forcing.shape[1]):
            a0, a1, a2, a3, a4, a5 = _step(n, forcing, dt, kw_a, kr_a, pars_a,
                                           a0, a1, a2, a3, a4, a5, pools_a, fluxes_a, True)
            b0, b1, b2, b3, b4, b5 = _step(n, forcing, dt, kw_b, kr_b, pars_b,
                                           b0, b1, b2, b3, b4, b5, pools_b, fluxes_b, True)
            c0, c1, c2, c3, c4, c5 = _step(n, forcing, dt, kw_c, kr_c, pars_c,
                                           c0, c1, c2, c3, c4, c5, pools_c, fluxes_c, True)
            d0, d1, d2, d3, d4, d5 = _step(n, forcing, dt, kw_d, kr_d, pars_d,
                                           d0, d1, d2, d3, d4, d5, pools_d, fluxes_d, True)
    else:
        for n in range(forcing.shape[1]):
            a0, a1, a2, a3, a4, a5 = _step(n, forcing, dt, kw_a, kr_a, pars_a,
                                           a0, a1, a2, a3, a4, a5, pools_a, fluxes_a, False)
            b0, b1, b2, b3, b4, b5 = _step(n, forcing, dt, kw_b, kr_b, pars_b,
                                           b0, b1, b2, b3, b4, b5, pools_b, fluxes_b, False)
            c0, c1, c2, c3, c4, c5 = _step(n, forcing, dt, kw_c, kr_c, pars_c,
                                           c0, c1, c2, c3, c4, c5, pools_c, fluxes_c, False)
            d0, d1, d2, d3, d4, d5 = _step(n, forcing, dt, kw_d, kr_d, pars_d,
                                           d0, d1, d2, d3, d4, d5, pools_d, fluxes_d, False)
        zero_fire(fluxes_a)
        zero_fire(fluxes_b)
        zero_fire(fluxes_c)
        zero_fire(fluxes_d)


@njit(cache=True, parallel=True, error_model="numpy")
def _run_ensemble(forcing, site, pars, pools, fluxes):
    """:func:`_run` over ``pars (S, 23)`` into ``pools (S, 6, N+1)``, ``fluxes (S, 28, N)``."""
    for s in prange(pars.shape[0]):
        _run(forcing, site, pars[s], pools[s], fluxes[s])


def derived(pars, pools, fluxes):
    """LAI, NEE (incl. fire), Reco, Rh and NPP from a run (numpy, any leading dims)."""
    gpp = fluxes[..., 0, :]
    ra = fluxes[..., 2, :]
    rh_lit = fluxes[..., 12, :]
    rh_som = fluxes[..., 13, :]
    return {
        "lai": pools[..., 1, :-1] / pars[..., 16, None],
        "nee": -gpp + ra + rh_lit + rh_som + fluxes[..., 16, :],
        "reco": ra + rh_lit + rh_som,
        "rh": rh_lit + rh_som,
        "npp": gpp - ra,
    }


_NEE = (("gpp", -1.0), ("ra", 1.0), ("rh_litter", 1.0), ("rh_som", 1.0), ("fire", 1.0))
#: observation operators as CARDAMOM v2.2 defines them (``DALEC_ALL_LIKELIHOOD.c``): LAI at the
#: start of the step, biomass and SOM at the end of the step (t+1).
OBSERVABLES = {
    "gpp": Observable(fluxes=(("gpp", 1.0),)),
    "lai": Observable(pools=("c_foliar",), at="start", divide_by="lcma"),
    "nbe": Observable(fluxes=_NEE),
    "nee": Observable(fluxes=_NEE),
    "reco": Observable(fluxes=(("ra", 1.0), ("rh_litter", 1.0), ("rh_som", 1.0))),
    "fire": Observable(fluxes=(("fire", 1.0),)),
    "abgb": Observable(pools=("c_labile", "c_foliar", "c_root", "c_wood"), at="end"),
    "cwood": Observable(pools=("c_wood",), at="end"),
    "som": Observable(pools=("c_litter", "c_som"), at="end"),
}

#: fluxes leaving each pool (mean residence time = mean stock / mean outflow)
POOL_OUTFLOWS = {
    "c_labile": ("labile_release", "fire_labile", "fire_kill_labile"),
    "c_foliar": ("foliar_litterfall", "fire_foliar", "fire_kill_foliar"),
    "c_root": ("root_litterfall", "fire_root", "fire_kill_root"),
    "c_wood": ("wood_turnover", "fire_wood", "fire_kill_wood"),
    "c_litter": ("rh_litter", "litter_to_som", "fire_litter", "fire_kill_litter"),
    "c_som": ("rh_som", "fire_som"),
}

MODEL = Model(
    name="400",
    description="DALEC C-only (CARDAMOM ID 400): 6 C pools, ACM GPP, CDEA phenology, fixed fire",
    parameters=PARAMETERS,
    pools=POOLS,
    fluxes=FLUXES,
    drivers=DRIVERS,
    prepare=prepare,
    kernel=_run,
    ensemble_kernel=_run_ensemble,
    pair_kernel=_run_pair,
    quad_kernel=_run_quad,
    derived=derived,
    observables=OBSERVABLES,
    pool_outflows=POOL_OUTFLOWS,
    references=(
        "Bloom, A. A. et al. (2016) PNAS 113, 1285-1290. doi:10.1073/pnas.1515160113",
        "Bloom, A. A. and Williams, M. (2015) Biogeosciences 12, 1299-1315. "
        "doi:10.5194/bg-12-1299-2015",
        "Williams, M. et al. (1997) Ecol. Appl. 7, 882-894. "
        "doi:10.1890/1051-0761(1997)007[0882:PGPPIT]2.0.CO;2",
    ),
)
