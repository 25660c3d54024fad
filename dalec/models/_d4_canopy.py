"""DALEC.4 canopy: ACM2 photosynthesis with iWUE-optimised stomata, energy balance terms,
conductances, interception, root water supply.

Private to :mod:`dalec.models.dalec4`. Every function follows the subroutine of the same role
in ``DALEC.A1.C1.D2.F2.H2.P1.#.f90`` of GCEL/CARDAMOM at commit 36267339
(``calculate_aerodynamic_conductance``, ``calculate_shortwave_balance``,
``calculate_longwave_isothermal``, ``calculate_wetcanopy_evaporation``,
``canopy_interception_and_storage``, ``calculate_Rtot``, ``plant_soil_flow``,
``calculate_stomatal_conductance``, ``acm_gpp_stage_1``/``_2``, ``calculate_transpiration``),
with the literal constants of the Fortran (``pi = 3.1415927``, ``1/86400 = 1.157407e-5``, ...)
and its order of floating-point operations.

References
----------
Smallman, T. L. and Williams, M. (2019) Description and validation of an intermediate
complexity model for ecosystem photosynthesis and evapotranspiration: ACM-GPP-ETv1. Geosci.
Model Dev. 12, 2227-2253. doi:10.5194/gmd-12-2227-2019
"""

from __future__ import annotations

import math
from fractions import Fraction

from numba import njit

from . import _libm
from ._d4_soil import S_C2_1, S_C2_2, S_C3_1, S_C3_2, VSMALL, conductivity
from ._libm import exp

PI_F = 3.1415927
TWO_PI = 6.283185
FREEZE = 273.15
EMISS_BOLTZ = 5.443584e-08  # emissivity x Stefan-Boltzmann [W m-2 K-4]
SECONDS_PER_DAY_1 = 1.157407e-05
GC_TO_UMOL = 83333.33
CANOPY_HEIGHT = 9.0
MIN_LAI = 0.01
USTAR_UH = 0.3  # friction velocity / canopy-top wind, fixed in this model version
# gfortran folds ustar_Uh**3 at compile time with exact arithmetic: the correctly rounded cube
# (0.026999999999999996), one ulp below (0.3*0.3)*0.3
_USTAR_UH_CUBED = float(Fraction(USTAR_UH) ** 3)
VONKARMAN = 0.41
VONKARMAN_1 = 2.439024
HEAD_1 = 101.968  # [m MPa-1]
HEAD_CANOPY = 0.009807 * CANOPY_HEIGHT  # gravitational head over the canopy height [MPa]
MINLWP = -1.808224  # minimum leaf water potential [MPa]
ROOT_RADIUS = 0.00029
ROOT_RADIUS_1 = 1.0 / ROOT_RADIUS
ROOT_MASS_LENGTH_COEF_1 = 1.0 / (PI_F * (ROOT_RADIUS * ROOT_RADIUS) * 0.31e6)
ROOTDIST_TOL = 13.81551  # ln(1/1e-6 - 1)
_VC_MINT = -6.991  # temperature at which photosynthesis stops [degC]
_VC_COEF = 0.1408
_EXP_ROUGH = math.exp(-VONKARMAN * USTAR_UH - 0.19314718056)  # roughness sublayer term


@njit(cache=True, nogil=True, error_model="numpy")
def aerodynamic(lai, wind, kin_visc, wvd):
    """Canopy aerodynamic (forced-convection leaf) conductance, its canopy scaling and the
    soil-surface conductance, for neutral conditions and a 9 m canopy.

    Returns
    -------
    tuple
        ``(g_a [m s-1], leaf-to-canopy wind scaling [1], g_soil [m s-1])``.
    """
    local_lai = max(MIN_LAI, lai)
    sqrt_cd1_lai = math.sqrt(7.5 * local_lai)
    displacement = (1.0 - ((1.0 - exp(-sqrt_cd1_lai)) / sqrt_cd1_lai)) * CANOPY_HEIGHT
    roughl = ((1.0 - displacement / CANOPY_HEIGHT) * _EXP_ROUGH) * CANOPY_HEIGHT
    ustar = wind * USTAR_UH
    length_scale = (4.0 * CANOPY_HEIGHT) / local_lai
    mixing_length = 2.0 * _USTAR_UH_CUBED * length_scale
    canopy_wind = ustar * VONKARMAN_1 * math.log((CANOPY_HEIGHT - displacement) / roughl)
    ratio = USTAR_UH / mixing_length
    wind_scaling = exp(ratio) / ratio
    # soil surface: eddy diffusivity at canopy top, decayed through the canopy air space
    kh_canht = VONKARMAN * ustar * (CANOPY_HEIGHT - displacement)
    canopy_decay = math.sqrt((0.2 * CANOPY_HEIGHT * local_lai) / mixing_length)
    g_soil = 1.0 / (
        CANOPY_HEIGHT / (canopy_decay * kh_canht)
        * (exp(canopy_decay * (1.0 - (0.00085 / CANOPY_HEIGHT)))
           - exp(canopy_decay * (1.0 - ((roughl + displacement) / CANOPY_HEIGHT))))
    )
    sherwood = 1.018537 * (math.sqrt((0.02 * canopy_wind) / kin_visc))
    g_a = wvd * sherwood * 25.0
    return g_a, wind_scaling, g_soil


@njit(cache=True, nogil=True, error_model="numpy")
def transmission(lai):
    """Beer's-law fractions ``exp(-0.5 LAI 0.75)`` (straight through the canopy) and
    ``exp(-0.5 LAI 0.5 0.75)`` (through half of it), clumping 0.75; shared by the short-wave,
    long-wave and interception calculations, which each evaluate them in the Fortran."""
    return exp(-0.5 * lai * 0.75), exp(-0.5 * lai * 0.5 * 0.75)


@njit(cache=True, nogil=True, error_model="numpy")
def shortwave(transmitted, canopy_transmitted, swrad, snow):
    """Short-wave (PAR + NIR) partition between canopy and soil [MJ m-2 d-1].

    ``transmitted``, ``canopy_transmitted`` come from :func:`transmission`. Returns
    ``(canopy PAR, canopy SW, soil SW, leaf-to-canopy light scaling)``.
    """
    light_scaling = (1.0 - transmitted) / (0.5 * 0.75)
    trans_par_fraction = canopy_transmitted * 1.628077e-01
    trans_nir_fraction = canopy_transmitted * 2.793660e-01
    reflected_nir_fraction = canopy_transmitted * 4.284365e-01
    reflected_par_fraction = canopy_transmitted * 1.629133e-01
    absorbed_nir_fraction = 1.0 - reflected_nir_fraction - trans_nir_fraction
    absorbed_par_fraction = 1.0 - reflected_par_fraction - trans_par_fraction
    par = 0.5 * swrad
    nir = (1.0 - 0.5) * swrad
    trans_par = par * transmitted
    trans_nir = nir * transmitted
    par = par - trans_par
    nir = nir - trans_nir
    canopy_par = par * absorbed_par_fraction
    canopy_nir = nir * absorbed_nir_fraction
    trans_par = trans_par + (par * trans_par_fraction)
    trans_nir = trans_nir + (nir * trans_nir_fraction)
    if snow > 0.0:
        fsnow = 1.0 - exp(-snow * 1e-2)
        soil_par_abs = ((1.0 - fsnow) * 9.989852e-01) + (fsnow * 0.05)
        soil_nir_abs = ((1.0 - fsnow) * 9.989852e-01) + (fsnow * 0.27)
    else:
        soil_par_abs = 9.989852e-01
        soil_nir_abs = 9.989852e-01
    soil_par = trans_par * soil_par_abs
    soil_nir = trans_nir * soil_nir_abs
    soil_sw = soil_nir + soil_par
    # soil-reflected light gets a second pass through the canopy
    par = trans_par - soil_par
    nir = trans_nir - soil_nir
    par = par * (1.0 - transmitted)
    nir = nir * (1.0 - transmitted)
    canopy_par = canopy_par + (par * absorbed_par_fraction)
    canopy_nir = canopy_nir + (nir * absorbed_nir_fraction)
    return canopy_par, canopy_par + canopy_nir, soil_sw, light_scaling


@njit(cache=True, nogil=True, error_model="numpy")
def longwave(lai, transmitted, canopy_transmitted, lw_sky, lw_soil, lw_canopy, soil_sw,
             canopy_sw):
    """Isothermal net long-wave balance, corrected to net, and the implied temperatures.

    ``lw_sky``, ``lw_soil``, ``lw_canopy`` are the sky, soil and canopy emissions [W m-2] at
    the driver temperatures. Returns ``(canopy LW [W m-2], soil LW [W m-2], soil temperature
    [degC], leaf temperature [degC])``; the Fortran overwrites its soil and leaf temperatures
    with the last two, and everything downstream uses them.
    """
    trans_lw = 0.02 * canopy_transmitted
    reflected_lw = 0.02 * canopy_transmitted
    absorbed_lw = 1.0 - trans_lw - reflected_lw
    release = (1.0 - (9.516639e-01 * lai) / (lai + 4.693329e+00)) * (
        1.0 - exp(-0.5 * lai * 0.25 * 0.75)
    ) * 4.0
    soil_from_sky = lw_sky * transmitted
    lwrad = lw_sky - soil_from_sky
    canopy_from_sky = lwrad * absorbed_lw
    soil_from_sky = soil_from_sky + (trans_lw * lwrad)
    soil_absorbed_sky = soil_from_sky * 0.96
    canopy_from_soil = lw_soil + (soil_from_sky * (1.0 - 0.96))
    canopy_from_soil = canopy_from_soil * (1.0 - transmitted)
    canopy_from_soil = canopy_from_soil * absorbed_lw
    canopy_loss = lw_canopy * release
    soil_from_canopy = canopy_loss * 0.96
    canopy_lw = (canopy_from_sky + canopy_from_soil) - (canopy_loss + canopy_loss)
    soil_lw = (soil_absorbed_sky + soil_from_canopy) - lw_soil
    delta = (-2.717467e+00 * lai) + (-3.500964e-02 * (soil_sw * 1e6 * SECONDS_PER_DAY_1)) \
        + 3.455772e+00
    soil_lw = soil_lw + delta
    soil_t = _libm.pow((lw_soil - delta) / EMISS_BOLTZ, 0.25) - FREEZE
    delta = (2.455582e+00 * lai) + (1.480105e-02 * (canopy_sw * 1e6 * SECONDS_PER_DAY_1)) \
        + 3.753067e-03
    canopy_lw = canopy_lw + delta
    leaf_t = _libm.pow((((canopy_loss + canopy_loss) - delta) / (release * 2.0)) / EMISS_BOLTZ,
                       0.25) - FREEZE
    return canopy_lw, soil_lw, soil_t, leaf_t


@njit(cache=True, nogil=True, error_model="numpy")
def wet_canopy(lai, transmitted, rain, storage, g_a, wind_scaling, canopy_rad, slope, et_demand,
               lambda_, psych, dayl_s):
    """Evaporation of intercepted rain [kg m-2 d-1] and the canopy water store.

    ``canopy_rad`` is the canopy net radiation [W m-2]. Returns ``(evaporation, intercepted
    rain rate [kg m-2 s-1], new storage [kg m-2])``.
    """
    if lai <= 0.0:
        return 0.0, 0.0, 0.0
    if not (rain > 0.0 or storage > 0.0):
        return 0.0, 0.0, storage
    gb = g_a * wind_scaling
    pot = max(0.0, (((slope * canopy_rad) + (et_demand * gb)) / (lambda_ * (slope + psych)))
              * dayl_s)
    # interception and Rutter-type drainage, once per step
    through_fall = transmitted
    max_storage = max(0.1, 0.2 * lai)
    max_storage_1 = 1.0 / max_storage
    intercepted = rain * (1.0 - through_fall)
    storage = storage + intercepted * 86400.0
    if storage > max_storage:
        if pot > 0.0:
            drain = storage - max_storage
            evap = min(pot * 0.5 * storage * max_storage_1, storage - drain)
        else:
            evap = pot
            drain = (storage - evap) - max_storage
    else:
        drain = 0.0
        evap = pot
        if evap > 0.0:
            evap = evap * storage * max_storage_1 * 0.5
            evap = min(evap, storage)
        else:
            drain = max(0.0, (storage - evap) - max_storage)
    storage = storage - evap - drain
    intercepted = intercepted - ((0.0 + drain) * SECONDS_PER_DAY_1)
    if storage < 10.0 * VSMALL:
        storage = 0.0
    return 0.0 + evap, intercepted, storage


@njit(cache=True, nogil=True, error_model="numpy")
def _plant_soil_flow(root_length, root_mass, demand, reach, resistance, k_soil):
    """Soil-root-plant resistance of one layer and its steady water flux [mmol m-2 s-1]."""
    soil_r1 = (math.log(ROOT_RADIUS_1 * _libm.pow(root_length * PI_F, -0.5))
               / (TWO_PI * root_length * reach * (k_soil * HEAD_1))) * 1e-9 * 18.0
    soil_r2 = 25.0 / (root_mass * reach)
    r_tot = resistance + soil_r1 + soil_r2
    return demand / r_tot


@njit(cache=True, nogil=True, error_model="numpy")
def root_supply(soil, lai, fine_root, root_reach, th1, th2, lt1, lt2, swp1, swp2, soil_t):
    """Maximum canopy water supply from the two rooting layers (``calculate_Rtot``).

    Fine roots follow a logistic depth profile reaching 1e-6 at the root reach. A surface
    layer colder than 1 degC supplies nothing.

    Returns
    -------
    tuple
        ``(total supply [mmol m-2 s-1], uptake fraction layer 1, uptake fraction layer 2)``.
    """
    resistance = CANOPY_HEIGHT / (4.0 * max(MIN_LAI, lai))
    slpa = ROOTDIST_TOL / root_reach
    flux1 = 0.0
    flux2 = 0.0
    prev = 1.0
    exp_func = exp(-slpa * lt1)
    mult = prev - (1.0 - (1.0 / (1.0 + exp_func)) + (0.5 * exp_func))
    mass = fine_root * mult
    prev = prev - mult
    if mass > 0.0:
        demand = max(0.0, (swp1 - HEAD_CANOPY) - MINLWP)
        k = conductivity(2.778e-6, soil[S_C2_1], soil[S_C3_1], th1)
        flux1 = _plant_soil_flow(mass * ROOT_MASS_LENGTH_COEF_1, mass, demand,
                                 min(root_reach, lt1), resistance, k)
        exp_func = exp(-slpa * (lt1 + lt2))
        mult = prev - (1.0 - (1.0 / (1.0 + exp_func)) + (0.5 * exp_func))
        mass = fine_root * mult
        if mass > 0.0:
            demand = max(0.0, (swp2 - HEAD_CANOPY) - MINLWP)
            k = conductivity(2.778e-6, soil[S_C2_2], soil[S_C3_2], th2)
            flux2 = _plant_soil_flow(mass * ROOT_MASS_LENGTH_COEF_1, mass, demand,
                                     min(root_reach, lt2), resistance, k)
    if soil_t < 1.0:
        flux1 = 0.0
    total = (0.0 + flux1) + flux2
    if total <= VSMALL:
        depth = (0.0 + lt1) + lt2
        return 0.0, lt1 / depth, lt2 / depth
    return total, flux1 / total, flux2 / total


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def gpp_stage2(gs, metabolic, light, rb_mol_1, qq, co2_comp, co2):
    """Canopy photosynthesis [µmol m-2 s-1] at stomatal conductance ``gs`` [mmol m-2 s-1]:
    metabolic, light and CO2-diffusion co-limitation (ACM2 stage 2)."""
    rc = 1.0 / (gs * 0.001646259) + rb_mol_1
    pp = metabolic * rc
    mult = co2 + qq - pp
    ci = 0.5 * (mult + math.sqrt((mult * mult) - 4.0 * (co2 * qq - pp * co2_comp)))
    pd = (co2 - ci) / rc
    a = light * pd / (light + pd)
    if a != a or a < 0.0:
        a = 0.0
    return a


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _iwue_gap(gs, iwue_step, delta_gs, metabolic, light, rb_mol_1, qq, co2_comp, co2):
    """iWUE target minus the marginal gain of photosynthesis for one more unit of gs."""
    return iwue_step - (
        gpp_stage2(gs + delta_gs, metabolic, light, rb_mol_1, qq, co2_comp, co2)
        - gpp_stage2(gs, metabolic, light, rb_mol_1, qq, co2_comp, co2)
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _zbrent_gs(a, b, fb, t_2, ftol, iwue_step, delta_gs, metabolic, light, rb_mol_1, qq,
               co2_comp, co2):
    """:func:`dalec.models._d4_soil.zbrent` (8 iterations) on :func:`_iwue_gap`, compiled.

    ``fb`` is the objective at ``b``, which the caller has evaluated already.
    """
    machep = 2.220446049250313e-16
    t = 0.5 * t_2
    sa = a
    sb = b
    fa = _iwue_gap(sa, iwue_step, delta_gs, metabolic, light, rb_mol_1, qq, co2_comp, co2)
    c = sa
    fc = fa
    e = sb - sa
    d = e
    for _ in range(8):
        if abs(fc) < abs(fb):
            sa = sb
            sb = c
            c = sa
            fa = fb
            fb = fc
            fc = fa
        tol = 2.0 * machep * abs(sb) + t
        m = 0.5 * (c - sb)
        if abs(m) <= tol or abs(fb) < ftol:
            return sb
        if abs(e) < tol or abs(fa) <= abs(fb):
            e = m
            d = e
        else:
            s = fb / fa
            if sa == c:
                p = 2.0 * m * s
                q = 1.0 - s
            else:
                q = fa / fc
                r = fb / fc
                p = s * (2.0 * m * q * (q - r) - (sb - sa) * (r - 1.0))
                q = (q - 1.0) * (r - 1.0) * (s - 1.0)
            if 0.0 < p:
                q = -q
            else:
                p = -p
            s = e
            e = d
            if 2.0 * p < 3.0 * m * q - abs(tol * q) and p < abs(0.5 * s * q):
                d = p / q
            else:
                e = m
                d = e
        sa = sb
        fa = fb
        if tol < abs(d):
            sb = sb + d
        elif 0.0 < m:
            sb = sb + tol
        else:
            sb = sb - tol
        fb = _iwue_gap(sb, iwue_step, delta_gs, metabolic, light, rb_mol_1, qq, co2_comp, co2)
        if (0.0 < fb and 0.0 < fc) or (fb <= 0.0 and fc <= 0.0):
            c = sa
            fc = fa
            e = sb - sa
            d = e
    return sb


@njit(cache=True, nogil=True, error_model="numpy")
def photosynthesis(lai, ceff, co2, leaf_t, supply, g_a, wind_scaling, light_scaling, canopy_par,
                   canopy_rad, slope, et_demand, lambda_, psych, cmol, dayl_s, dayl_s1):
    """Stomatal conductance, GPP and transpiration of one step.

    Stomata open until the marginal carbon gain of 1 mmol m-2 s-1 more conductance falls to
    the intrinsic water-use efficiency (4.6875e-4 µmol C per mmol H2O), capped by the
    conductance at which Penman-Monteith transpiration equals the root water supply; the root
    is found with the 8-iteration Brent method of the Fortran.

    Returns
    -------
    tuple
        ``(GPP [g m-2 d-1], transpiration [kg m-2 d-1])``.
    """
    if not (g_a > VSMALL and supply > VSMALL and leaf_t > _VC_MINT):
        return 0.0, 0.0
    cmmol = cmol * 1e3
    minimum = 0.01 * light_scaling
    denom = slope * (canopy_rad) + (et_demand * g_a * wind_scaling)
    denom = (denom / (lambda_ * supply * 1.8e-5)) - slope
    potential = (g_a * wind_scaling) / (denom / psych)
    potential = potential * cmmol
    if potential <= 0.0 or potential > 1000.0 * light_scaling:
        potential = 1000.0 * light_scaling
    delta_gs = 1.0 * light_scaling
    iwue_step = 4.6875e-04 * light_scaling

    # ACM2 stage 1: metabolic and light limits, boundary layer, temperature-adjusted CO2 terms
    t_opt = exp(0.172 * math.log((57.05 - leaf_t) / (57.05 - 30.0)) * (57.05 - 30.0)) \
        * exp(0.172 * math.log((leaf_t - -1e6) / (30.0 - -1e6)) * (30.0 - -1e6))
    if t_opt != t_opt:
        t_opt = 0.0
    metabolic = GC_TO_UMOL * light_scaling * ceff * SECONDS_PER_DAY_1 \
        * ((leaf_t - _VC_MINT) / ((leaf_t - _VC_MINT) + _VC_COEF)) * t_opt
    light = 3.2 * canopy_par * dayl_s1 * GC_TO_UMOL
    rb_mol_1 = 1.0 / (g_a * cmol * 1.37 * wind_scaling)
    co2_half = 319.58548 * exp(24.72297 * (leaf_t - 25.0) / (leaf_t + FREEZE))
    co2_comp = 36.839214 * exp(9.734371 * (leaf_t - 25.0) / (leaf_t + FREEZE))
    qq = co2_comp - co2_half

    upper = _iwue_gap(potential, iwue_step, delta_gs, metabolic, light, rb_mol_1, qq, co2_comp,
                      co2)
    lower = _iwue_gap(0.01, iwue_step, delta_gs, metabolic, light, rb_mol_1, qq, co2_comp, co2)
    if upper * lower > 0.0:
        gs = potential
        if upper > 0.0:
            gs = minimum
    else:
        gs = _zbrent_gs(minimum, potential, upper, 0.01 * lai, iwue_step * 0.10, iwue_step,
                        delta_gs, metabolic, light, rb_mol_1, qq, co2_comp, co2)
    if not gs > VSMALL:
        return 0.0, 0.0
    gpp = gpp_stage2(gs, metabolic, light, rb_mol_1, qq, co2_comp, co2) * 1.2e-5 * dayl_s
    gs_ms = gs / cmmol
    gb = g_a * wind_scaling
    transpiration = (((slope * canopy_rad) + (et_demand * gb))
                     / (lambda_ * (slope + (psych * (1.0 + gb / gs_ms))))) * dayl_s
    return gpp, max(0.0, transpiration)
