"""DALEC.4 (Edinburgh CARDAMOM model 4, ``DALEC.A1.C1.D2.F2.H2.P1``, alias
DALEC_CDEA_ACM2_BUCKET): the model of the Edinburgh global 2003-2024 analysis.

Seven pools (six carbon pools and the water of the top 0.30 m of soil), 32 parameters and 49
flux slots, all in the Fortran's index order (``LIBRARY/CARDAMOM_F/model/
DALEC.A1.C1.D2.F2.H2.P1.#/src/DALEC.A1.C1.D2.F2.H2.P1.#.f90`` of GCEL/CARDAMOM at commit
36267339, with ``misc/brent_zero/brent_zero.f90``).

Notes
-----
One step (Δt days, a calendar month in CARDAMOM's runs), in the Fortran's order:

1. snow: precipitation falls as snow when (Tmin + Tmax)/2 <= 0 degC; melt (the whole pack, for
   monthly steps) when Tmin > 0 (see option ``snow``);
2. aerodynamic, boundary-layer and soil-surface conductances (9 m canopy, neutral log law);
3. short-wave (PAR/NIR, snow-dependent soil albedo) and isothermal long-wave balance; the
   long-wave correction sets the leaf and soil temperatures used downstream;
4. evaporation of intercepted rain (Penman-Monteith) and the canopy store;
5. root reach ``z = z_max B/(R_50 + B)`` from fine and coarse root biomass, the soil-to-canopy
   water supply of the two rooting layers and the uptake fractions;
6. stomatal conductance from iWUE optimisation (8-iteration Brent), capped by the supply;
   GPP from ACM2 [µmol m-2 s-1 x 1.2e-5 x day length], transpiration from Penman-Monteith;
7. carbon allocation, CDEA phenology (end-of-step day of year) and turnovers as in
   :mod:`dalec.models.c1`;
8. ``nint(Δt)`` daily soil-water sub-steps: soil evaporation (snow sublimates first), root
   extraction, runoff above porosity, infiltration, one day of gravitational drainage; then
   layer re-partitioning when the root reach changes;
9. harvest, then fire, on the end-of-step carbon pools.

Before the first step the soil water is spun up over ``nint(Δt_1)`` days without rain or
evaporation. Whether the surface layer drains during that spin-up depends on a mean air
temperature that the Fortran keeps from its previous call: option ``spinup_temperature``.

References
----------
Smallman, T. L. and Williams, M. (2019) Geosci. Model Dev. 12, 2227-2253.
doi:10.5194/gmd-12-2227-2019
Bloom, A. A. and Williams, M. (2015) Biogeosciences 12, 1299-1315. doi:10.5194/bg-12-1299-2015
Saxton, K. E. et al. (1986) Soil Sci. Soc. Am. J. 50, 1031-1036.
doi:10.2136/sssaj1986.03615995005000040039x
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..model import Model, ModelError, Observable, Parameter
from . import _d4_canopy as canopy
from . import _d4_soil as soilmod
from . import _gcel, c1
from ._libm import exp

DRIVERS = (
    "deltat", "tmin", "tmax", "swrad", "co2", "doy_end", "precip", "deforestation",
    "burned_area", "management", "wind", "vpd",
    "sand_top", "sand_bottom", "clay_top", "clay_bottom",
)

POOLS = c1.POOLS + ("h2o_surface",)

WATER_FLUXES = (
    "transpiration", "soil_evaporation", "wet_canopy_evaporation", "surface_runoff",
    "drainage", "drainage_layer1", "infiltration", "uptake_fraction_layer1",
    "uptake_fraction_layer2",
)
FLUXES = c1.CARBON_FLUXES + ("et",) + c1.HARVEST_FLUXES + WATER_FLUXES

_P = Parameter
PARAMETERS = (
    _gcel.parameter_rows(
        _P("ceff", "C_eff", "umol m-2 s-1", 10.0, 100.0,
           description="ACM2 canopy efficiency (maximum carboxylation per m2 leaf)"),
        p3_min=0.1,
    )
    + (
        _P("w_0", "θ_0", "m3 m-3", 0.1, 1.0,
           description="initial volumetric water content of all three soil layers"),
        _P("f_coarse_root", "f_cr", "1", 0.15, 0.5,
           description="fraction of wood carbon that is coarse root"),
        _P("root_k", "R_50", "g m-2", 100.0, 2500.0,
           description="root biomass (g biomass, = 2 g C) at half the maximum rooting depth"),
        _P("max_root_depth", "z_max", "m", 0.35, 20.0, description="maximum rooting depth"),
    )
    + _gcel.fire_rows(0.01, 0.1, 0.01, 0.99)
)

(F_DT, F_DT1, F_NDAYS, F_TSUM, F_MEANT, F_MAXT, F_MINT, F_SWRAD, F_CO2, F_CLASS, F_RAIN, F_WIND,
 F_VPD, F_DAYL_S, F_DAYL_S1, F_AIRDEN, F_CMOL, F_LAMBDA, F_PSYCH, F_SLOPE, F_ETDC, F_WVD,
 F_KVISC, F_LW_SKY, F_LW_SOIL, F_LW_CANOPY, F_DEFOR, F_BA, F_MGMT, F_AZF) = range(30)
N_FORCING = 30
#: site layout: Δt of the last step, spin-up temperature, snow mode, number of phenology
#: classes U, the 23 soil constants, then U class days of year and U class step lengths
S_DT_LAST, S_MEANT0, S_SNOW, S_NCLASS, S_SOIL = range(5)
S_CLASSES = S_SOIL + soilmod.N_SOIL_SITE

SPINUP_CHOICES = ("last_step", "first_step", "first_call")
SNOW_CHOICES = ("reference", "corrected")
TEXTURE_CHOICES = ("porosity_only", "all")
OPTIONS = {"spinup_temperature": "last_step", "snow": "reference", "texture_clamp": "porosity_only"}

# phenology constants as the DALEC.4 source writes them (365.25/π with the exact π, and
# (ln 1.001 - ln 0.001)/2), next to its truncated π = 3.1415927 in 2/√π
_SF = 116.262685928629551
_FL = 3.45437738965761021


def day_length(doy: float, latitude: float) -> tuple[float, float]:
    """Day length [h, s] of DALEC.4's ``calculate_daylength`` (declination with sin 23.45° =
    0.3979486 and a 365-day year, literal π terms)."""
    dec = -math.asin(0.3979486 * math.cos(6.283185 * (doy + 10.0) * 0.002739726))
    mult = latitude * 0.01745329
    sinld = math.sin(mult) * math.sin(dec)
    cosld = math.cos(mult) * math.cos(dec)
    aob = max(-1.0, min(1.0, sinld / cosld))
    hours = 12.0 * (1.0 + 2.0 * math.asin(aob) * 0.3183099)
    return hours, hours * 3600.0


def meteorological_constants(temp: float, vpd_kpa: float):
    """Air density, m s-1 -> mol m-2 s-1 factor, λ, γ, s, ρ c_p D, vapour diffusivity and
    kinematic viscosity at air temperature ``temp`` [degC] (``meteorological_constants``)."""
    temp_k = temp + 273.15
    air_density = 353.0 / temp_k
    cmol = 101325.0 / (temp_k * 8.3144)
    lambda_ = 2501000.0 - 2364.0 * temp
    psych = 0.0646 * math.exp(0.00097 * temp)
    mult = temp + 237.3
    slope = (2502.935945 * math.exp(17.269 * temp / mult)) / (mult * mult)
    et_demand = air_density * 1004.6 * vpd_kpa
    wvd = 0.0000242 * ((temp_k / 293.15) ** 1.75)
    dynamic_viscosity = ((temp_k**1.5) / (temp_k + 120.0)) * 1.4963e-6
    return (air_density, cmol, lambda_, psych, slope, et_demand, wvd,
            dynamic_viscosity / air_density)


def _emission(temp: float) -> float:
    """Black-body emission times the emissivity at ``temp`` [degC], as ``x**4`` expands."""
    x = temp + 273.15
    x2 = x * x
    return canopy.EMISS_BOLTZ * (x2 * x2)


def _choice(options, key, choices):
    value = options.get(key, OPTIONS[key])
    if isinstance(value, str) and value in choices:
        return value
    raise ModelError(f"option {key!r} must be one of {choices}; got {value!r}")


def prepare(drivers, latitude, options=None):
    """Per-pixel precomputation for DALEC.4: every term that depends only on the drivers.

    Parameters
    ----------
    drivers : mapping of str to ndarray
        The variables in :data:`DRIVERS`: step length ``deltat`` [d], ``tmin``, ``tmax``
        [degC], ``swrad`` [MJ m-2 d-1], ``co2`` [1e-6], ``doy_end`` (day of year of the last
        day of the step), ``precip`` [kg m-2 d-1], ``deforestation``, ``burned_area`` [1],
        ``management`` (harvest scenario 1-5), ``wind`` [m s-1], ``vpd`` [hPa], and the
        scalars ``sand_top``, ``sand_bottom``, ``clay_top``, ``clay_bottom`` [%].
    latitude : float
        Pixel latitude [degrees north].
    options : mapping, optional
        ``spinup_temperature``
            Mean air temperature [degC] that decides whether the surface layer drains during
            the initial soil-water spin-up (< 1 degC: frozen, no drainage). The Fortran uses
            the value left from its previous call: ``"last_step"`` (default; the last step's
            (Tmin + Tmax)/2, what every call inside a CARDAMOM MCMC sees and what the reference
            runs used), ``"first_call"`` (0 degC, a fresh process's first call),
            ``"first_step"`` (the corrected choice: the first step's own temperature), or a
            number.
        ``snow``
            ``"reference"`` (default) reproduces the Fortran: its above-freezing fraction is
            never assigned, so all precipitation is snow when the mean temperature is <= 0,
            nothing melts while Tmin < 0 < Tmax, and snowfall is added twice when Tmax < 0.
            ``"corrected"`` uses the fraction of the temperature range above 0 degC,
            ``Tmax/(Tmax - Tmin)`` clipped to [0, 1], and adds snowfall once.
        ``texture_clamp``
            ``"porosity_only"`` (default, as the Fortran): the 5-70 % sand and >= 5 % clay
            limits reach porosity only, the Saxton retention and conductivity curves see the
            raw texture; ``"all"`` clamps before everything.

    Returns
    -------
    forcing : ndarray, shape (30, n_steps)
    site : ndarray
        See ``S_*``; ``site[0]`` is the last step's length [d].
    """
    options = dict(options or {})
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise ModelError(f"DALEC.4 has no option(s) {sorted(unknown)}; options: {sorted(OPTIONS)}")
    snow_mode = _choice(options, "snow", SNOW_CHOICES)
    clamp = _choice(options, "texture_clamp", TEXTURE_CHOICES)

    dt = _gcel.step_lengths(drivers)
    n = dt.size
    tmin = _gcel.series(drivers, "tmin", n)
    tmax = _gcel.series(drivers, "tmax", n)
    doy_end = _gcel.series(drivers, "doy_end", n)
    precip = _gcel.series(drivers, "precip", n)
    wind = _gcel.series(drivers, "wind", n)
    vpd = _gcel.series(drivers, "vpd", n)
    defor, burned, scenario = _gcel.disturbance(drivers, n)
    texture = [float(np.asarray(_gcel.series(drivers, k)).reshape(-1)[0])
               for k in ("sand_top", "sand_bottom", "clay_top", "clay_bottom")]
    soil = soilmod.soil_site(*texture, clamp_all=(clamp == "all"))

    f = np.empty((N_FORCING, n))
    f[F_DT] = dt
    f[F_DT1] = 1.0 / dt
    f[F_NDAYS] = np.floor(dt + 0.5)  # Fortran nint for positive values
    f[F_TSUM] = tmax + tmin
    f[F_MEANT] = (tmin + tmax) * 0.5
    f[F_MAXT] = tmax
    f[F_MINT] = tmin
    f[F_SWRAD] = _gcel.series(drivers, "swrad", n)
    f[F_CO2] = _gcel.series(drivers, "co2", n)
    f[F_RAIN] = np.maximum(0.0, precip / 86400.0)  # kg m-2 d-1 -> the Fortran's kg m-2 s-1
    f[F_WIND] = wind
    f[F_VPD] = (vpd * 100.0) * 1e-3  # hPa -> Pa -> kPa as the Fortran converts
    lat = float(latitude)
    for i in range(n):
        _, f[F_DAYL_S, i] = day_length(doy_end[i] - (dt[i] * 0.5), lat)
        meant = f[F_MEANT, i]
        leaf_t = (meant + tmax[i]) * 0.5
        (f[F_AIRDEN, i], f[F_CMOL, i], f[F_LAMBDA, i], f[F_PSYCH, i], f[F_SLOPE, i],
         f[F_ETDC, i], f[F_WVD, i], f[F_KVISC, i]) = meteorological_constants(leaf_t,
                                                                              f[F_VPD, i])
        sky = tmax[i] + 273.15 - 20.0
        sky2 = sky * sky
        f[F_LW_SKY, i] = canopy.EMISS_BOLTZ * (sky2 * sky2)
        f[F_LW_SOIL, i] = _emission(meant)
        f[F_LW_CANOPY, i] = _emission(leaf_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        f[F_DAYL_S1] = 1.0 / f[F_DAYL_S]
        above = np.where(tmax > tmin, tmax / (tmax - tmin), np.where(tmax > 0.0, 1.0, 0.0))
    f[F_AZF] = np.clip(above, 0.0, 1.0)
    f[F_DEFOR] = defor
    f[F_BA] = burned
    f[F_MGMT] = scenario
    classes, f[F_CLASS] = _gcel.step_classes(doy_end, dt)

    spin = options.get("spinup_temperature", OPTIONS["spinup_temperature"])
    if isinstance(spin, str):
        if spin not in SPINUP_CHOICES:
            raise ModelError(
                f"option 'spinup_temperature' must be one of {SPINUP_CHOICES} or a number "
                f"[degC]; got {spin!r}"
            )
        spin = {"last_step": f[F_MEANT, -1], "first_step": f[F_MEANT, 0], "first_call": 0.0}[spin]
    spin = float(spin)
    if not math.isfinite(spin):
        raise ModelError(f"option 'spinup_temperature' is {spin!r}; it must be finite")

    site = np.concatenate([
        [dt[-1], spin, 1.0 if snow_mode == "corrected" else 0.0, classes.shape[0]],
        soil, classes[:, 0], classes[:, 1],
    ])
    return np.ascontiguousarray(f), site


@njit(cache=True, nogil=True, error_model="numpy")
def _run(forcing, site, pars, pools, fluxes):
    """One DALEC.4 run into preallocated ``pools (7, N+1)`` and ``fluxes (49, N)``."""
    n_steps = forcing.shape[1]
    soil = site[S_SOIL:S_SOIL + soilmod.N_SOIL_SITE]
    corrected_snow = site[S_SNOW] > 0.5
    ph = _gcel._phenology_constants(pars, _SF, _FL, math.sqrt(_gcel.PI_F))
    n_class = int(site[S_NCLASS])
    table = np.empty((6, n_class))
    _gcel._phenology_table(pars, ph, site[S_CLASSES:S_CLASSES + n_class],
                           site[S_CLASSES + n_class:S_CLASSES + 2 * n_class], table)
    fluxes[16:, :] = 0.0
    _gcel._decomposition_fractions(pars, forcing[F_TSUM], forcing[F_DT], fluxes)
    lcma = pars[16]
    f_cr = pars[24]
    root_k = pars[25]
    max_depth = pars[26]

    # water state: θ1..3, layer thickness 1..3, previous root depth, ψ1, ψ2, snow, canopy store
    ws = np.empty(11)
    ws[0] = pars[23]
    ws[1] = pars[23]
    ws[2] = pars[23]
    ws[7] = soilmod.water_potential(soil[soilmod.S_POTA1], soil[soilmod.S_POTB1], ws[0])
    ws[8] = soilmod.water_potential(soil[soilmod.S_POTA2], soil[soilmod.S_POTB2], ws[1])
    ws[9] = 0.0
    ws[10] = 0.0
    state = (pars[17], pars[18], pars[19], pars[20], pars[21], pars[22])
    for i in range(6):
        pools[i, 0] = state[i]

    # spin-up of the soil water over the first step's days: no rain, no evaporation
    fine_root = max(5.0, state[2] * 2.0)
    biomass = fine_root + max(5.0, state[3] * f_cr * 2.0)
    root_reach = max_depth * biomass / (root_k + biomass)
    ws[3] = soilmod.TOP_SOIL_DEPTH
    ws[4] = max(soilmod.MIN_LAYER, root_reach - soilmod.TOP_SOIL_DEPTH)
    ws[5] = max_depth - (ws[3] + ws[4])
    ws[6] = ws[3] + ws[4]
    meant0 = site[S_MEANT0]
    supply, up1, up2 = canopy.root_supply(soil, state[1] / lcma, fine_root, root_reach, ws[0],
                                          ws[1], ws[3], ws[4], ws[7], ws[8], meant0)
    soilmod.update_soil_water(
        soil, ws, int(forcing[F_NDAYS, 0]), forcing[F_DT1, 0], 0.0, up1, up2, 0.0,
        forcing[F_LAMBDA, 0], forcing[F_SLOPE, 0], forcing[F_PSYCH, 0], 0.0, forcing[F_WVD, 0],
        forcing[F_DAYL_S, 0], 0.0, meant0, root_reach, max_depth,
    )
    pools[6, 0] = 1e3 * ws[0] * ws[3]

    for n in range(n_steps):
        dt = forcing[F_DT, n]
        lai = state[1] / lcma
        mint = forcing[F_MINT, n]
        maxt = forcing[F_MAXT, n]

        # snow (reference mode: above-freezing fraction 0, snowfall counted twice if Tmax < 0)
        rain = forcing[F_RAIN, n]
        step_s = 86400.0 * dt
        azf = forcing[F_AZF, n] if corrected_snow else 0.0
        snow = ws[9]
        snowfall = 0.0
        if not forcing[F_MEANT, n] > 0.0:
            snowfall = rain * (1.0 - azf)
            rain = rain - snowfall
            snow = snow + (snowfall * step_s)
        if mint < 0.0 and maxt > 0.0:
            melt = min(snow, azf * snow * 0.1 * dt)
            snow = snow - melt
            melt = melt / step_s
        elif maxt < 0.0:
            melt = 0.0
            if not corrected_snow:
                snow = snow + (snowfall * step_s)
        elif mint > 0.0 and snow > 0.0:
            melt = min(snow, snow * 0.1 * dt)
            snow = snow - melt
            melt = melt / step_s
        else:
            melt = 0.0
        ws[9] = snow

        slope = forcing[F_SLOPE, n]
        psych = forcing[F_PSYCH, n]
        lambda_ = forcing[F_LAMBDA, n]
        et_demand = forcing[F_ETDC, n]
        dayl_s = forcing[F_DAYL_S, n]
        dayl_s1 = forcing[F_DAYL_S1, n]
        wvd = forcing[F_WVD, n]
        g_a, wind_scaling, g_soil = canopy.aerodynamic(lai, forcing[F_WIND, n],
                                                       forcing[F_KVISC, n], wvd)
        transmitted, half_transmitted = canopy.transmission(lai)
        canopy_par, canopy_sw, soil_sw, light_scaling = canopy.shortwave(
            transmitted, half_transmitted, forcing[F_SWRAD, n], snow)
        canopy_lw, soil_lw, soil_t, leaf_t = canopy.longwave(
            lai, transmitted, half_transmitted, forcing[F_LW_SKY, n], forcing[F_LW_SOIL, n],
            forcing[F_LW_CANOPY, n], soil_sw, canopy_sw)
        canopy_rad = canopy_lw + (canopy_sw * 1e6 * dayl_s1)
        wet_evap, intercepted, ws[10] = canopy.wet_canopy(
            lai, transmitted, rain, ws[10], g_a, wind_scaling, canopy_rad, slope, et_demand,
            lambda_, psych, dayl_s)

        fine_root = max(5.0, state[2] * 2.0)
        biomass = fine_root + max(5.0, state[3] * f_cr * 2.0)
        root_reach = max_depth * biomass / (root_k + biomass)
        supply, up1, up2 = canopy.root_supply(soil, lai, fine_root, root_reach, ws[0], ws[1],
                                              ws[3], ws[4], ws[7], ws[8], soil_t)
        gpp, transpiration = canopy.photosynthesis(
            lai, pars[10], forcing[F_CO2, n], leaf_t, supply, g_a, wind_scaling, light_scaling,
            canopy_par, canopy_rad, slope, et_demand, lambda_, psych, forcing[F_CMOL, n],
            dayl_s, dayl_s1)

        state = _gcel._carbon_step(pars, state, fluxes, n, gpp, dt, table,
                                   int(forcing[F_CLASS, n]))

        # soil evaporation terms fixed over the step (ψ1 and the radiation do not change)
        local_t = soil_t + 273.15
        soil_rad = soil_lw + (soil_sw * 1e6 * dayl_s1)
        esat = 0.1 * exp(1.80956664 + (17.2693882 * local_t - 4717.306081)
                              / (local_t - 35.86))
        air_vp = esat - forcing[F_VPD, n]
        esurf = (esat * exp(1e6 * ws[7] * 18.05e-6 / (8.3144 * local_t))) - air_vp
        esoil_num = (slope * soil_rad) + (forcing[F_AIRDEN, n] * 1004.6 * esurf * g_soil)
        rain_in = ((rain + melt) - intercepted) * 86400.0
        et, e_soil, _, runoff, underflow, drain1, infiltrated = soilmod.update_soil_water(
            soil, ws, int(forcing[F_NDAYS, n]), forcing[F_DT1, n], transpiration, up1, up2,
            esoil_num, lambda_, slope, psych, g_soil, wvd, dayl_s, rain_in, forcing[F_MEANT, n],
            root_reach, max_depth,
        )
        fluxes[28, n] = et + wet_evap
        fluxes[40, n] = transpiration
        fluxes[41, n] = e_soil
        fluxes[42, n] = wet_evap
        fluxes[43, n] = runoff
        fluxes[44, n] = underflow
        fluxes[45, n] = drain1
        fluxes[46, n] = infiltrated
        fluxes[47, n] = up1
        fluxes[48, n] = up2
        pools[6, n + 1] = 1e3 * ws[0] * ws[3]

        state = _gcel._disturb(state, fluxes, n, dt, forcing[F_DEFOR, n], forcing[F_MGMT, n],
                               forcing[F_BA, n], f_cr, pars[29], pars[28], pars[30], pars[31],
                               pars[27], 29)
        for i in range(6):
            pools[i, n + 1] = state[i]


@njit(cache=True, parallel=True, error_model="numpy")
def _run_ensemble(forcing, site, pars, pools, fluxes):
    """:func:`_run` over ``pars (S, 32)`` into ``pools (S, 7, N+1)``, ``fluxes (S, 49, N)``."""
    for s in prange(pars.shape[0]):
        _run(forcing, site, pars[s], pools[s], fluxes[s])


MODEL = Model(
    name="DALEC.4",
    description="Edinburgh DALEC.4 (DALEC_CDEA_ACM2_BUCKET): 6 C pools + surface soil water, "
    "ACM2 GPP with iWUE stomata, 3-layer soil water, harvest scenarios, fitted fire",
    parameters=PARAMETERS,
    pools=POOLS,
    fluxes=FLUXES,
    drivers=DRIVERS,
    prepare=prepare,
    kernel=_run,
    ensemble_kernel=_run_ensemble,
    derived=c1.derived,
    references=(
        "Smallman, T. L. and Williams, M. (2019) Geosci. Model Dev. 12, 2227-2253. "
        "doi:10.5194/gmd-12-2227-2019",
        "Bloom, A. A. and Williams, M. (2015) Biogeosciences 12, 1299-1315. "
        "doi:10.5194/bg-12-1299-2015",
        "GCEL/CARDAMOM commit 36267339, LIBRARY/CARDAMOM_F/model/DALEC.A1.C1.D2.F2.H2.P1.#",
    ),
    options=OPTIONS,
    constant_step=False,
    observables={**c1.OBSERVABLES, "et": Observable(fluxes=(("et", 1.0),))},
)
