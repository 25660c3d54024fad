"""DALEC.4 soil: Saxton hydraulics from texture (per pixel) and the daily soil-water balance.

Private to :mod:`dalec.models.dalec4`. Equations and their order of operations follow
``DALEC.A1.C1.D2.F2.H2.P1.#.f90`` (subroutines ``saxton_parameters``, ``soil_porosity``,
``initialise_soils``, ``calculate_field_capacity``, ``calculate_update_soil_water``,
``infiltrate``, ``gravitational_drainage``, ``soil_water_potential``) of GCEL/CARDAMOM at commit
36267339, and ``misc/brent_zero/brent_zero.f90`` for the root finder.

The soil column has three layers: layer 1 is the top 0.30 m, layer 2 reaches down to the root
reach (at least 0.03 m thick), layer 3 down to the maximum rooting depth; a fourth "core" slot
holds layer 3's properties and is the sink of drainage.

References
----------
Saxton, K. E. et al. (1986) Estimating generalized soil-water characteristics from texture.
Soil Sci. Soc. Am. J. 50, 1031-1036. doi:10.2136/sssaj1986.03615995005000040039x
Smallman, T. L. and Williams, M. (2019) Description and validation of an intermediate
complexity model for ecosystem photosynthesis and evapotranspiration: ACM-GPP-ETv1. Geosci.
Model Dev. 12, 2227-2253. doi:10.5194/gmd-12-2227-2019
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..model import ModelError
from . import _libm
from ._libm import exp, fma, opaque

TOP_SOIL_DEPTH = 0.30  # thickness of layer 1 [m]
MIN_LAYER = 0.03  # minimum thickness of layer 2 [m]
MIN_DRYTHICK = 0.00085 * 10.0  # minimum dry surface layer [m] (10 x soil roughness length)
TORTUOSITY = 2.5
VSMALL = 2.2250738585072014e-308 * 1e3  # tiny(0d0) * 1d3
_COND1 = 2.778e-6  # Saxton conductivity prefactor [m s-1]

# site-array layout written by soil_site() (indices into the model's site vector, offset o)
(
    S_POR1, S_POR2, S_POR3, S_POR4,
    S_FC1, S_FC2, S_FC3, S_FC4,
    S_POTA1, S_POTA2, S_POTA3,
    S_POTB1, S_POTB2, S_POTB3,
    S_C2_1, S_C2_2, S_C2_3,
    S_C3_1, S_C3_2, S_C3_3,
    S_KFC1, S_KFC2, S_KFC3,
    S_WET1,
) = range(24)
N_SOIL_SITE = 24


def zbrent(f, a, b, t_2, ftol):
    """Brent's root finder exactly as CARDAMOM's ``misc/brent_zero`` runs it.

    At most 8 iterations; ``t_2`` is twice the absolute tolerance, and the search also stops
    when ``|f(b)| < ftol``. Returns the last iterate (converged or not), as the Fortran does.

    References
    ----------
    Brent, R. (1973) Algorithms for Minimization without Derivatives, ch. 4 (as translated by
    J. Burkardt; iteration cap and ``ftol`` added for CARDAMOM).
    """
    machep = 2.220446049250313e-16
    t = 0.5 * t_2
    sa = a
    sb = b
    fa = f(sa)
    fb = f(sb)
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
        fb = f(sb)
        if (0.0 < fb and 0.0 < fc) or (fb <= 0.0 and fc <= 0.0):
            c = sa
            fc = fa
            e = sb - sa
            d = e
    return sb


def soil_site(sand_top, sand_bottom, clay_top, clay_bottom, clamp_all=False) -> np.ndarray:
    """Saxton soil hydraulic constants of the three layers, once per pixel.

    Parameters
    ----------
    sand_top, sand_bottom, clay_top, clay_bottom : float
        Sand and clay content of the top 0.30 m and of the soil below [%]; layer 1 takes the
        top values, layers 2 and 3 the bottom ones.
    clamp_all : bool
        The Fortran clamps sand to 5-70 % and clay to >= 5 % (``initialise_soils``) *after*
        ``saxton_parameters`` has used the raw values, so only porosity sees the clamped
        texture (default, as the reference runs). True clamps before everything.

    Returns
    -------
    ndarray, shape (23,)
        Porosity and field capacity of layers 1-3 and the core [m3 m-3], the water-retention
        constants ``potA`` [kPa], ``potB`` [1], the conductivity exponents ``cond2``,
        ``cond3`` and the conductivity at field capacity [m s-1] of layers 1-3.

    Notes
    -----
    Saxton et al. (1986): ``ψ = -potA θ^potB`` [kPa] with
    ``potA = 100 exp(-4.396 - 0.0715 C - 4.880e-4 S² - 4.285e-5 S² C)``,
    ``potB = -3.140 - 2.22e-3 C² - 3.484e-5 S² C``; conductivity
    ``K = 2.778e-6 exp(12.012 - 7.551e-2 S + (-3.895 + 3.671e-2 S - 0.1103 C + 8.7546e-4 C²)/θ)``;
    porosity ``0.332 - 7.251e-4 S + 0.1276 log10 C``, raised to at least field capacity + 0.05;
    field capacity is θ at ψ = -10 kPa, found with :func:`zbrent` on [0.1, 0.7].
    """
    texture = {"sand_top": sand_top, "sand_bottom": sand_bottom, "clay_top": clay_top,
               "clay_bottom": clay_bottom}
    for name, value in texture.items():
        if not (np.isfinite(value) and 0.0 <= value <= 100.0):
            raise ModelError(f"soil texture {name!r} is {value!r}; expected a percentage 0-100")
    raw_sand = [float(sand_top), float(sand_bottom), float(sand_bottom)]
    raw_clay = [float(clay_top), float(clay_bottom), float(clay_bottom)]
    clamped_sand = [min(max(s, 5.0), 70.0) for s in raw_sand]
    clamped_clay = [max(c, 5.0) for c in raw_clay]
    sand, clay = (clamped_sand, clamped_clay) if clamp_all else (raw_sand, raw_clay)
    pot_a = [math.exp(-4.396 + (-0.0715 * c) + (-4.880e-4 * s * s) + (-4.285e-5 * s * s * c))
             * 100.0 for s, c in zip(sand, clay, strict=True)]
    pot_b = [-3.140 + (-2.22e-3 * c * c) + (-3.484e-5 * s * s * c)
             for s, c in zip(sand, clay, strict=True)]
    cond2 = [12.012 + (-7.551e-2 * s) for s in sand]
    cond3 = [-3.895 + (3.671e-2 * s) + (-0.1103 * c) + (8.7546e-4 * c * c)
             for s, c in zip(sand, clay, strict=True)]
    porosity = [0.332 + -7.251e-4 * s + 0.1276 * math.log10(c)
                for s, c in zip(clamped_sand, clamped_clay, strict=True)]
    porosity.append(porosity[2])
    layer = [0, 1, 2, 2]  # the core slot takes layer 3's retention curve
    fc = []
    for i in layer:
        a, b = pot_a[i], pot_b[i]
        fc.append(zbrent(lambda x, a=a, b=b: -a * x**b + 10.0, 0.1, 0.7, 0.001, 0.0))
    for i in range(4):
        if porosity[i] < fc[i] + 0.05:
            porosity[i] = fc[i] + 0.05
    k_fc = [conductivity(_COND1, cond2[i], cond3[i], fc[i]) for i in range(3)]
    wet = [wet_surface_threshold(porosity[0])]
    return np.array(porosity + fc + pot_a + pot_b + cond2 + cond3 + k_fc + wet, dtype=np.float64)


def _dry_thickness(th1: float, por1: float) -> float:
    return max(MIN_DRYTHICK, TOP_SOIL_DEPTH * max(0.0, (1.0 - (th1 / por1))))


def wet_surface_threshold(por1: float) -> float:
    """Smallest θ1 [m3 m-3] at which the dry surface layer is at its minimum thickness.

    The dry-layer thickness ``max(0.0085, 0.3 max(0, 1 - θ1/porosity))`` is non-increasing in
    θ1 also in floating point, so above this threshold it is exactly 0.0085 m and the soil
    evaporation of the day is the same as for any other wet day of the step: the daily loop
    then skips its three divisions. Found by bisection over the bit patterns of doubles.
    """
    lo = np.float64(0.0).view(np.int64)  # thickness here: 0.3 > minimum
    hi = np.float64(por1).view(np.int64)  # thickness here: 0 -> minimum
    if _dry_thickness(0.0, por1) == MIN_DRYTHICK or por1 <= 0.0:
        return 0.0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _dry_thickness(float(np.int64(mid).view(np.float64)), por1) == MIN_DRYTHICK:
            hi = mid
        else:
            lo = mid
    return float(np.int64(hi).view(np.float64))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def conductivity(cond1, cond2, cond3, waterfrac):
    """Saxton hydraulic conductivity [m s-1]; 1e-30 below a water content of 0.05."""
    k = cond1 * exp(cond2 + cond3 / waterfrac)
    if waterfrac < 0.05:
        k = 1e-30
    return k


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def water_potential(pot_a, pot_b, waterfrac):
    """Soil water potential [MPa], floored at -20 MPa (NaN also becomes -20)."""
    swp = -0.001 * pot_a * _libm.pow(waterfrac, pot_b)
    if swp < -20.0 or swp != swp:
        swp = -20.0
    return swp


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _drain_layer(c2, c3, k_fc, liquid, avail, below_unsat):
    """Water drained from a layer over one day [m3 m-2 per m of layer], before ``x thickness``.

    The potential drainage integrates the Saxton conductivity (exponents ``c2``, ``c3``,
    ``k_fc`` at field capacity) from θ down to field capacity by the trapezium rule; it is
    limited by the water above field capacity and the free pore space of the layer below
    (``below_unsat``, already scaled to this layer's thickness).
    """
    dx = avail * 0.5
    # liquid - dx and (k1 + k_fc) + 2 k3 with one rounding each: the same bits, since halving
    # (above the subnormals) and doubling are exact, and a shorter dependency chain
    if avail >= 4.5e-308:
        halfway = fma(avail, -0.5, liquid)
    else:
        halfway = liquid - dx
    k1 = conductivity(_COND1, c2, c3, liquid)
    k3 = conductivity(_COND1, c2, c3, halfway)
    pot = 0.5 * dx * fma(2.0, k3, k1 + k_fc) * 86400.0
    # min(below, min(pot, avail)) with the two limits known early taken first: the same value
    # (nothing here is NaN: avail > 0, pot >= 0) one step sooner after the conductivities
    return min(min(below_unsat, avail), pot)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _hydraulics(soil):
    """The soil constants the daily loop uses, as a tuple of floats (an array passed to the
    inlined helpers would be reference-counted every day)."""
    return (soil[S_FC1], soil[S_FC2], soil[S_FC3], soil[S_FC4], soil[S_POR2], soil[S_POR3],
            soil[S_POR4], soil[S_C2_1], soil[S_C2_2], soil[S_C2_3], soil[S_C3_1], soil[S_C3_2],
            soil[S_C3_3], soil[S_KFC1], soil[S_KFC2], soil[S_KFC3])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _drainage(hyd, th1, th2, th3, lt1, lt2, lt3, ice1):
    """One day of gravitational drainage, top down (``gravitational_drainage(1)``).

    ``hyd`` is :func:`_hydraulics`. Each layer above field capacity drains into the one
    below, limited by the free pore space there; layer 3 drains out of the column into the
    core slot (which stays at field capacity, so it never counts in the "any layer above field
    capacity" test). ``ice1`` is 1 when the surface layer is frozen (its liquid water is 0).
    Returns the new θ1..3 and the three inter-layer flows [m].
    """
    fc1, fc2, fc3, fc4, por2, por3, por4 = hyd[0], hyd[1], hyd[2], hyd[3], hyd[4], hyd[5], hyd[6]
    ch1 = 0.0
    ch2 = 0.0
    ch3 = 0.0
    if max(th1 - fc1, th2 - fc2, th3 - fc3, fc4 - fc4) > VSMALL:
        liq1 = th1 if ice1 == 0.0 else th1 * (1.0 - ice1)  # x 1.0 is exact
        avail1 = liq1 - fc1
        avail2 = th2 * (1.0 - 0.0) - fc2
        avail3 = th3 * (1.0 - 0.0) - fc3
        if avail1 > 0.0 and th2 < por2:
            ch1 = _drain_layer(hyd[7], hyd[10], hyd[13], liq1, avail1,
                               (por2 - th2) * lt2 / lt1) * lt1
        if avail2 > 0.0 and th3 < por3:
            ch2 = _drain_layer(hyd[8], hyd[11], hyd[14], th2 * (1.0 - 0.0), avail2,
                               (por3 - th3) * lt3 / lt2) * lt2
        if avail3 > 0.0 and fc4 < por4:
            ch3 = _drain_layer(hyd[9], hyd[12], hyd[15], th3 * (1.0 - 0.0), avail3,
                               (por4 - fc4) * TOP_SOIL_DEPTH / lt3) * lt3
        # θ + (x/thickness) with x = 0 is θ: the divisions are skipped for layers at rest.
        # The flows are > 0 (or NaN), so the Fortran's 0 + ch is ch and θ + (0 - ch)/l is
        # θ - ch/l bit for bit; dropping those operations shortens the day's dependency chain
        if ch1 != 0.0:
            th1 = th1 - ch1 / lt1
        if ch1 != 0.0 or ch2 != 0.0:
            th2 = th2 + (ch1 - ch2) / lt2
        if ch2 != 0.0 or ch3 != 0.0:
            th3 = th3 + (ch2 - ch3) / lt3
    return th1, th2, th3, ch1, ch2, ch3


@njit(cache=True, nogil=True, error_model="numpy")
def update_soil_water(soil, ws, n_days, dt_1, e_leaf, up1, up2, esoil_num, lambda_, slope, psych,
                      g_soil, wvd, dayl_s, rain_in, meant, root_reach, max_depth):
    """Daily sub-steps of the soil water balance over one model step (``nint(Δt)`` days).

    Parameters
    ----------
    soil : ndarray
        :func:`soil_site` constants.
    ws : ndarray
        Water state, updated in place: ``[θ1, θ2, θ3, thickness1..3 [m], previous depth [m],
        ψ1, ψ2 [MPa], snow [kg m-2], canopy storage [kg m-2]]``.
    n_days : int
        Number of daily sub-steps.
    dt_1 : float
        ``1/Δt`` [d-1].
    e_leaf : float
        Transpiration [kg m-2 d-1], drawn from rooting layers 1 and 2 in proportions ``up1``,
        ``up2``.
    esoil_num, lambda_, slope, psych, g_soil : float
        Soil evaporation (Penman-Monteith) is
        ``E = esoil_num / (λ (s + γ (1 + g_s/g_ws))) · D`` with ``esoil_num = s R_n + ρ c_p e_surf
        g_s`` fixed over the step and ``g_ws`` the vapour conductance of the dry surface layer,
        the only term that changes from day to day. λ [J kg-1], s, γ [kPa K-1], g_s [m s-1].
    wvd : float
        Water vapour diffusion coefficient [m2 s-1].
    dayl_s : float
        Day length [s].
    rain_in : float
        Rain and melt reaching the soil [kg m-2 d-1].
    meant : float
        Mean air temperature [degC] deciding whether layer 1 is frozen (no drainage).
    root_reach, max_depth : float
        Current root reach and maximum rooting depth [m] (layer re-partitioning).

    Returns
    -------
    tuple
        ``(corrected ET, soil evaporation, snow sublimation, surface runoff, drainage out of
        the column, drainage layer 1 -> 2, infiltration)`` [kg m-2 d-1].

    Notes
    -----
    Bitwise the Fortran's arithmetic; where a term is provably zero (no rain, no loss, no
    drainage) its division is skipped, and the evaporation of days with the minimum dry layer
    is computed once (:func:`wet_surface_threshold`).
    """
    th1 = ws[0]
    th2 = ws[1]
    th3 = ws[2]
    lt1 = ws[3]
    lt2 = ws[4]
    lt3 = ws[5]
    por1 = soil[S_POR1]
    por2 = soil[S_POR2]
    por3 = soil[S_POR3]
    snow = ws[9]
    ice1 = 1.0 if meant < 1.0 else 0.0
    pot1 = e_leaf * up1
    pot2 = e_leaf * up2
    e_soil = 0.0
    e_snow = 0.0
    corrected = 0.0
    runoff = 0.0
    infiltrated = 0.0
    underflow = 0.0
    wgf1 = 0.0
    add0 = rain_in * 1e-3
    wet = soil[S_WET1]
    e_wet = 0.0  # soil evaporation of a day with the minimum dry layer, once it is needed
    have_wet = False
    gws_num = por1 * wvd
    hyd = _hydraulics(soil)
    for day in range(n_days):
        start1 = th1
        start2 = th2
        start3 = th3
        start_snow = snow
        if th1 >= wet:
            if not have_wet:
                gws = gws_num / (TORTUOSITY * MIN_DRYTHICK)
                e_wet = (esoil_num / (lambda_ * (slope + (psych * (1.0 + g_soil / gws))))) * dayl_s
                have_wet = True
            e_local = e_wet
        else:
            drythick = max(MIN_DRYTHICK, TOP_SOIL_DEPTH * max(0.0, (1.0 - (th1 / por1))))
            gws = gws_num / (TORTUOSITY * drythick)
            e_local = (esoil_num / (lambda_ * (slope + (psych * (1.0 + g_soil / gws))))) * dayl_s
        e_snow_local = 0.0
        if e_local > 0.0 and snow > 0.0:
            if snow > e_local:
                e_snow_local = e_local
                snow = snow - e_snow_local
                e_local = 0.0
            else:
                e_snow_local = snow
                e_local = e_local - e_snow_local
                snow = 0.0
        e_soil = e_soil + e_local
        e_snow = e_snow + e_snow_local

        loss1 = pot1 + e_local
        loss2 = pot2
        # the changes of θ are divided out before the (rare) cut to the available water, in
        # a branch of its own: as a select, the division would wait for θ every day
        d1 = (-loss1 * 1e-3) / lt1
        d2 = (-loss2 * 1e-3) / lt2
        avail1 = th1 * lt1 * 1e3
        avail2 = th2 * lt2 * 1e3
        if loss1 > avail1:
            loss1 = avail1 * 0.9999
            d1 = (-loss1 * 1e-3) / opaque(lt1)
        if loss2 > avail2:
            loss2 = avail2 * 0.9999
            d2 = (-loss2 * 1e-3) / opaque(lt2)
        lost = (0.0 + loss1) + loss2
        corrected = corrected + lost
        if loss1 != 0.0:  # θ + (-0/thickness) is θ: skip the division
            th1 = th1 + d1
        if loss2 != 0.0:
            th2 = th2 + d2
        overflow = th1 > por1
        excess = 0.0
        if overflow:
            excess = (th1 - por1) * lt1 * 1e3
            runoff = runoff + excess
            th1 = por1

        # infiltration fills the layers from the top; what does not fit runs off
        left = 0.0
        w1 = 0.0
        if add0 != 0.0:
            add = add0
            w2 = 0.0
            w3 = 0.0
            wdiff = max(0.0, (por1 - th1) * lt1)
            if add > wdiff:
                w1 = 0.0 + wdiff
                add = add - wdiff
                wdiff = max(0.0, (por2 - th2) * lt2)
                if add > wdiff:
                    w2 = 0.0 + wdiff
                    add = add - wdiff
                    wdiff = max(0.0, (por3 - th3) * lt3)
                    if add > wdiff:
                        w3 = 0.0 + wdiff
                        add = add - wdiff
                    else:
                        w3 = 0.0 + add
                        add = 0.0
                else:
                    w2 = 0.0 + add
                    add = 0.0
            else:
                w1 = 0.0 + add
                add = 0.0
            left = add * 1e3
            runoff = runoff + left
            infiltrated = infiltrated + (w1 * 1e3)
            th1 = th1 + (w1 / lt1)
            if w2 != 0.0:
                th2 = th2 + (w2 / lt2)
            if w3 != 0.0:
                th3 = th3 + (w3 / lt3)

        # the Fortran keeps drainage in Mg m-2 inside the day and kg m-2 outside
        th1, th2, th3, ch1, _, ch3 = _drainage(hyd, th1, th2, th3, lt1, lt2, lt3, ice1)
        underflow = (underflow * 1e-3 + (0.0 + ch3)) * 1e3
        wgf1 = (wgf1 * 1e-3 + ch1) * 1e3

        # a day that ends where it started repeats itself bit for bit until the end of the
        # step (wet soils at porosity, frozen soils): replay its increments only
        if th1 == start1 and th2 == start2 and th3 == start3 and snow == start_snow:
            for _ in range(day + 1, n_days):
                e_soil = e_soil + e_local
                e_snow = e_snow + e_snow_local
                corrected = corrected + lost
                if overflow:
                    runoff = runoff + excess
                if add0 != 0.0:
                    runoff = runoff + left
                    infiltrated = infiltrated + (w1 * 1e3)
                underflow = (underflow * 1e-3 + (0.0 + ch3)) * 1e3
                wgf1 = (wgf1 * 1e-3 + ch1) * 1e3
            break
    ws[0] = th1
    ws[1] = th2
    ws[2] = th3
    ws[9] = snow

    wgf1 = wgf1 * dt_1
    infiltrated = infiltrated * dt_1
    corrected = corrected * dt_1
    underflow = underflow * dt_1
    runoff = runoff * dt_1
    e_soil = e_soil * dt_1
    e_snow = e_snow * dt_1
    # the soil water balance may have cut evaporation: scale soil evaporation to match (with
    # no soil evaporation the Fortran's ratio is inf or NaN and changes nothing)
    if e_soil != 0.0:
        balance = (corrected - e_leaf) / e_soil
        if balance < 1.0 and balance > 0.0:
            e_soil = e_soil * balance
    corrected = corrected + e_snow

    _rooting_layers(soil, ws, root_reach, max_depth)
    ws[7] = water_potential(soil[S_POTA1], soil[S_POTB1], ws[0])
    ws[8] = water_potential(soil[S_POTA2], soil[S_POTB2], ws[1])
    return corrected, e_soil, e_snow, runoff, underflow, wgf1, infiltrated


@njit(cache=True, nogil=True, error_model="numpy")
def _rooting_layers(soil, ws, root_reach, max_depth):
    """Re-partition layers 2 and 3 when the root reach moves across 0.33 m (by > 0.05 m).

    Follows the Fortran's branches as written, including that the depth tracked after a
    contraction is the minimum layer thickness (0.03 m), not 0.33 m.
    """
    depth = TOP_SOIL_DEPTH + MIN_LAYER
    previous = ws[6]
    if root_reach > depth and previous <= depth:
        if previous > depth:
            change = root_reach - previous
        else:
            change = root_reach - depth
        if change > 0.05:
            water = ws[2] * change
            ws[1] = ((ws[1] * ws[4]) + water) / (ws[4] + change)
            ws[3] = TOP_SOIL_DEPTH
            ws[4] = root_reach - TOP_SOIL_DEPTH
            ws[5] = max_depth - (ws[3] + ws[4])
            ws[6] = root_reach
        elif change < -0.05:
            change = -change
            water = ws[1] * change
            ws[2] = ((ws[2] * ws[5]) + water) / (ws[5] + change)
            ws[3] = TOP_SOIL_DEPTH
            ws[4] = root_reach - TOP_SOIL_DEPTH
            ws[5] = max_depth - (ws[3] + ws[4])
            ws[6] = root_reach
    elif root_reach < depth and previous > depth:
        change = previous - depth
        water = ws[1] * change
        ws[2] = ((ws[2] * ws[5]) + water) / (ws[5] + change)
        ws[3] = TOP_SOIL_DEPTH
        ws[4] = MIN_LAYER
        ws[5] = max_depth - (ws[3] + ws[4])
        ws[6] = MIN_LAYER
