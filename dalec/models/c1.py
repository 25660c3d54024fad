"""DALEC.C1 (Edinburgh CARDAMOM model 2, ``DALEC.C1.D1.F2.P1``, alias DALEC_CDEA_LU_FIRES).

Six carbon pools, GPP from ACM1, the CDEA phenology of Bloom & Williams (2015), harvest by
management scenario and fitted fire factors; 28 parameters, 39 flux slots, both in the
Fortran's index order (``LIBRARY/CARDAMOM_F/model/DALEC.C1.D1.F2.P1.#/src/DALEC.C1.D1.F2.P1.#.f90``
of GCEL/CARDAMOM at commit 36267339).

Notes
-----
Step n lasts ``Δt_n`` days (calendar months); every flux is a mean daily rate over the step.

- day of year: ``doy = doy_end - Δt/2`` (mid-step), used by both the day length and the
  phenology; ``doy_end`` is the day of year of the last day of the step (Edinburgh met
  column 6);
- ``LAI = C_fol/LCMA``; ACM1:
  ``g_c = 2^0.789798 / (0.37836 + (Tmax - Tmin)/2)``, ``p = LAI·C_eff·e^(0.011136 Tmax)/g_c``,
  ``q = 4.22273 - 208.868``,
  ``c_i = ½(CO2 + q - p + √((CO2 + q - p)² - 4(CO2·q - 4.22273 p)))``,
  ``e0 = 7.19298 LAI²/(LAI² + 2.1001)``, ``p_d = g_c (CO2 - c_i)``,
  ``GPP = e0 I p_d/(e0 I + p_d) · (0.0156935 D + 0.0453194)`` with the REFLEX day length D [h];
- π is the Fortran's 3.1415927 throughout (day length, ``sf = 365.25/π``, ``2/√π``);
- allocation cascade, then turnovers ``C (1 - (1 - k)^Δt)/Δt`` on start-of-step pools,
  explicit update; wood turnover goes straight to SOM;
- harvest (when ``deforestation > 0``; scenario = ``management``) and then fire act on the
  end-of-step pools; pools are clamped at 0 after harvest only.

References
----------
Bloom, A. A. and Williams, M. (2015) Biogeosciences 12, 1299-1315. doi:10.5194/bg-12-1299-2015
Williams, M. et al. (1997) Ecol. Appl. 7, 882-894.
doi:10.1890/1051-0761(1997)007[0882:PGPPIT]2.0.CO;2
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..model import Model, Observable, Parameter
from . import _gcel
from ._gcel import PI_F

DRIVERS = (
    "deltat", "tmin", "tmax", "swrad", "co2", "doy_end", "deforestation", "burned_area",
    "management",
)

POOLS = ("c_labile", "c_foliar", "c_root", "c_wood", "c_litter", "c_som")

#: Flux slots 0-27 are those of DALEC 400 (the Fortran's FLUXES 1-28); 28-38 are harvest.
CARBON_FLUXES = (
    "gpp", "temperature_factor", "ra", "alloc_foliar", "alloc_labile", "alloc_root",
    "alloc_wood", "labile_release", "leaf_fall_factor", "foliar_litterfall", "wood_turnover",
    "root_litterfall", "rh_litter", "rh_som", "litter_to_som", "labile_release_factor",
    "fire", "fire_labile", "fire_foliar", "fire_root", "fire_wood", "fire_litter", "fire_som",
    "fire_kill_labile", "fire_kill_foliar", "fire_kill_root", "fire_kill_wood",
    "fire_kill_litter",
)
HARVEST_FLUXES = (
    "harvest", "harvest_labile", "harvest_foliar", "harvest_root", "harvest_wood",
    "harvest_litter", "harvest_som", "harvest_residue_labile", "harvest_residue_foliar",
    "harvest_residue_root", "harvest_residue_wood",
)
FLUXES = CARBON_FLUXES + HARVEST_FLUXES

PARAMETERS = _gcel.parameter_rows(
    Parameter("ceff", "C_eff", "g m-2 d-1", 1.64, 42.0,
              description="ACM1 canopy efficiency (per m2 leaf)"),
    p3_min=0.01,
) + _gcel.fire_rows(0.001, 0.1, 0.1, 1.0)

# ACM1 constants a1..a9 (Fox et al. 2009); a0 = C_eff is parameter 10
_A = (0.0156935, 4.22273, 208.868, 0.0453194, 0.37836, 7.19298, 0.011136, 2.1001, 0.789798)

(F_DT, F_DOY, F_TSUM, F_SWRAD, F_CO2, F_GC, F_EXPT, F_DAYLF, F_DEFOR, F_BA, F_MGMT,
 F_CLASS) = range(12)
#: site layout: [Δt of the last step, U, U distinct mid-step doys, their U step lengths]
S_DT_LAST, S_NCLASS, S_CLASSES = 0, 1, 2


def day_length_reflex(doy: float, latitude: float) -> float:
    """Day length [h] from the REFLEX declination formula, as the Fortran ``acm`` evaluates it.

    ``δ = -23.4° cos(2π(doy + 10)/365)``, ``m = tan φ tan δ``, ``24 acos(-m)/π`` (0 or 24 h
    outside ``|m| < 1``), with π = 3.1415927.
    """
    pi = PI_F
    dec = -(23.4 * math.cos((360.0 * (doy + 10.0) / 365.0) * pi / 180.0) * pi / 180.0)
    mult = math.tan(latitude * pi / 180.0) * math.tan(dec)
    if mult >= 1.0:
        return 24.0
    if mult <= -1.0:
        return 0.0
    return 24.0 * math.acos(-mult) / pi


def prepare(drivers, latitude, options=None):
    """Per-pixel precomputation for DALEC.C1.

    Parameters
    ----------
    drivers : mapping of str to ndarray
        The variables in :data:`DRIVERS` on the model's steps: ``deltat`` [d], ``tmin``,
        ``tmax`` [degC], ``swrad`` [MJ m-2 d-1], ``co2`` [1e-6], ``doy_end`` (day of year of
        the last day of the step), ``deforestation`` and ``burned_area`` [1], ``management``
        (harvest scenario 1-5).
    latitude : float
        Pixel latitude [degrees north].
    options : mapping, optional
        None are used.

    Returns
    -------
    forcing : ndarray, shape (12, n_steps)
        Row ``F_CLASS`` indexes each step's ``(doy, Δt)`` pair (see
        :func:`dalec.models._gcel.step_classes`).
    site : ndarray, shape (2 + 2U,)
        ``[Δt of the last step [d], U, doy_1..doy_U, Δt_1..Δt_U]``; ``site[0]`` is what
        :func:`dalec.api.to_dataset` uses for the final state time.
    """
    dt = _gcel.step_lengths(drivers)
    n = dt.size
    tmin = _gcel.series(drivers, "tmin", n)
    tmax = _gcel.series(drivers, "tmax", n)
    doy_end = _gcel.series(drivers, "doy_end", n)
    defor, burned, scenario = _gcel.disturbance(drivers, n)
    lat = float(latitude)
    forcing = np.empty((12, n))
    forcing[F_DT] = dt
    forcing[F_DOY] = doy_end - dt * 0.5
    forcing[F_TSUM] = tmax + tmin
    forcing[F_SWRAD] = _gcel.series(drivers, "swrad", n)
    forcing[F_CO2] = _gcel.series(drivers, "co2", n)
    for i in range(n):
        forcing[F_GC, i] = abs(-2.0) ** _A[8] / (_A[4] * 1.0 + 0.5 * (tmax[i] - tmin[i]))
        forcing[F_EXPT, i] = math.exp(_A[6] * tmax[i])
        forcing[F_DAYLF, i] = _A[0] * day_length_reflex(forcing[F_DOY, i], lat) + _A[3]
    forcing[F_DEFOR] = defor
    forcing[F_BA] = burned
    forcing[F_MGMT] = scenario
    classes, forcing[F_CLASS] = _gcel.step_classes(forcing[F_DOY], dt)
    site = np.concatenate([[dt[-1], classes.shape[0]], classes[:, 0], classes[:, 1]])
    return np.ascontiguousarray(forcing), site


@njit(cache=True, nogil=True, error_model="numpy")
def _run(forcing, site, pars, pools, fluxes):
    """One DALEC.C1 run into preallocated ``pools (6, N+1)`` and ``fluxes (39, N)``."""
    n_steps = forcing.shape[1]
    ph = _gcel._phenology_constants(
        pars, 365.25 / PI_F, (math.log(1.001) - math.log(0.001)) * 0.5, math.sqrt(PI_F)
    )
    ceff = pars[10]
    lcma = pars[16]
    qq = 4.22273 - 208.868
    n_class = int(site[S_NCLASS])
    table = np.empty((6, n_class))
    _gcel._phenology_table(pars, ph, site[S_CLASSES:S_CLASSES + n_class],
                           site[S_CLASSES + n_class:S_CLASSES + 2 * n_class], table)
    fluxes[16:, :] = 0.0
    _gcel._decomposition_fractions(pars, forcing[F_TSUM], forcing[F_DT], fluxes)
    for i in range(6):
        pools[i, 0] = pars[17 + i]
    state = (pars[17], pars[18], pars[19], pars[20], pars[21], pars[22])
    for n in range(n_steps):
        lai = state[1] / lcma
        co2 = forcing[F_CO2, n]
        swrad = forcing[F_SWRAD, n]
        gc = forcing[F_GC, n]
        # ACM1, operations in the Fortran's order
        pp = lai * ceff * forcing[F_EXPT, n] / gc
        b = co2 + qq - pp
        ci = 0.5 * (b + math.sqrt(b * b - 4.0 * (co2 * qq - pp * 4.22273)))
        lai2 = lai * lai
        e0 = 7.19298 * lai2 / (lai2 + 2.1001)
        pd = gc * (co2 - ci)
        gpp = e0 * swrad * pd / (e0 * swrad + pd) * forcing[F_DAYLF, n]

        dt = forcing[F_DT, n]
        state = _gcel._carbon_step(pars, state, fluxes, n, gpp, dt, table,
                                   int(forcing[F_CLASS, n]))
        # C1 fixes the coarse-root share of wood at 0.32 in every harvest scenario
        state = _gcel._disturb(state, fluxes, n, dt, forcing[F_DEFOR, n], forcing[F_MGMT, n],
                               forcing[F_BA, n], 0.32, pars[25], pars[24], pars[26], pars[27],
                               pars[23], 28)
        for i in range(6):
            pools[i, n + 1] = state[i]


@njit(cache=True, parallel=True, error_model="numpy")
def _run_ensemble(forcing, site, pars, pools, fluxes):
    """:func:`_run` over ``pars (S, 28)`` into ``pools (S, 6, N+1)``, ``fluxes (S, 39, N)``."""
    for s in prange(pars.shape[0]):
        _run(forcing, site, pars[s], pools[s], fluxes[s])


def derived(pars, pools, fluxes):
    """LAI at the start of each step, NEE (with and without fire), Reco, Rh and NPP."""
    gpp = fluxes[..., 0, :]
    ra = fluxes[..., 2, :]
    rh = fluxes[..., 12, :] + fluxes[..., 13, :]
    nee_no_fire = -gpp + ra + rh
    return {
        "lai": pools[..., 1, :-1] / pars[..., 16, None],
        "nee": nee_no_fire + fluxes[..., 16, :],
        "nee_excluding_fire": nee_no_fire,
        "reco": ra + rh,
        "rh": rh,
        "npp": gpp - ra,
    }


#: NEE as the Edinburgh likelihood scores it: -GPP + Ra + Rh, without fire (``M_NEE``)
_NEE = (("gpp", -1.0), ("ra", 1.0), ("rh_litter", 1.0), ("rh_som", 1.0))

#: Observation operators of the Edinburgh likelihood (``MODEL_LIKELIHOOD.f90``): fluxes per
#: step, LAI and stocks as the mean of the states at the start and end of the step. GPP, NBE
#: and fire enter as annual means plus anomalies (:mod:`mdf.terms.gcel` sets that).
OBSERVABLES = {
    "gpp": Observable(fluxes=(("gpp", 1.0),)),
    "lai": Observable(pools=("c_foliar",), at="mid", divide_by="lcma"),
    "nee": Observable(fluxes=_NEE),
    "nbe": Observable(fluxes=_NEE + (("fire", 1.0),)),
    "reco": Observable(fluxes=(("ra", 1.0), ("rh_litter", 1.0), ("rh_som", 1.0))),
    "fire": Observable(fluxes=(("fire", 1.0),)),
    "cfol": Observable(pools=("c_foliar",), at="mid"),
    "croot": Observable(pools=("c_root",), at="mid"),
    "cwood": Observable(pools=("c_wood",), at="mid"),
    "som": Observable(pools=("c_som",), at="mid"),
}

MODEL = Model(
    name="C1",
    description="Edinburgh DALEC.C1 (DALEC_CDEA_LU_FIRES): 6 C pools, ACM1 GPP, CDEA phenology, "
    "harvest scenarios, fitted fire",
    parameters=PARAMETERS,
    pools=POOLS,
    fluxes=FLUXES,
    drivers=DRIVERS,
    prepare=prepare,
    kernel=_run,
    ensemble_kernel=_run_ensemble,
    derived=derived,
    references=(
        "Bloom, A. A. and Williams, M. (2015) Biogeosciences 12, 1299-1315. "
        "doi:10.5194/bg-12-1299-2015",
        "Williams, M. et al. (1997) Ecol. Appl. 7, 882-894. "
        "doi:10.1890/1051-0761(1997)007[0882:PGPPIT]2.0.CO;2",
        "GCEL/CARDAMOM commit 36267339, LIBRARY/CARDAMOM_F/model/DALEC.C1.D1.F2.P1.#",
    ),
    constant_step=False,
    observables=OBSERVABLES,
)
