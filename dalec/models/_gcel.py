"""Pieces shared by the Edinburgh (GCEL CARDAMOM) models :mod:`~dalec.models.c1` and
:mod:`~dalec.models.dalec4`: parameter rows, driver handling, CDEA phenology constants, the
carbon step, and harvest-then-fire on the end-of-step pools.

Private to :mod:`dalec.models`. The equations follow ``DALEC.C1.D1.F2.P1.#.f90`` and
``DALEC.A1.C1.D2.F2.H2.P1.#.f90`` in ``LIBRARY/CARDAMOM_F/model`` of GCEL/CARDAMOM at commit
36267339; the order of floating-point operations is kept where it changes the last bits.

References
----------
Bloom, A. A. and Williams, M. (2015) Constraining ecosystem carbon dynamics in a data-limited
world. Biogeosciences 12, 1299-1315. doi:10.5194/bg-12-1299-2015
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..model import ModelError, Parameter
from . import _libm

#: The Fortran's truncated pi (``pi = 3.1415927d0`` in both model sources).
PI_F = 3.1415927

#: Offset polynomial coefficients (``ospolynomial``), constant term last.
_MXC = (
    0.000023599784710,
    0.000332730053021,
    0.000901865258885,
    -0.005437736864888,
    -0.020836027517787,
    0.126972018064287,
    -0.188459767342504,
)

# Harvest scenarios 1-5 (``met(13)``), columns as used in ``_disturb``: post-harvest burn,
# residue fractions of foliage / fine root / coarse root / stem, removal fractions of fine and
# coarse roots, and the SOM loss that goes with extracted coarse roots.
_H_BURN, _H_FOL_RES, _H_ROO_RES, _H_CR_RES, _H_STEM_RES, _H_ROO_REM, _H_CR_REM, _H_SOIL = range(8)
HARVEST_SCENARIOS = np.array(
    [
        [1.0, 1.0, 1.0, 1.0, 0.20, 0.0, 0.0, 0.02],  # 1: clear-fell and burn
        [0.0, 1.0, 1.0, 1.0, 0.20, 0.0, 0.0, 0.02],  # 2: clear-fell, residues left
        [0.0, 0.5, 1.0, 1.0, 0.0, 0.0, 0.0, 0.02],  # 3: whole-tree (half foliage) removal
        [0.0, 0.5, 1.0, 0.0, 0.0, 1.0, 1.0, 0.02],  # 4: as 3, stumps and roots extracted
        [0.0, 0.1, 0.0, 0.0, 0.12, 0.0, 0.0, 0.0],  # 5: grassland grazing / cutting
    ]
)


def parameter_rows(ceff: Parameter, p3_min: float):
    """The 23 leading parameters common to C1 and DALEC.4 (CDEA carbon model).

    ``ceff`` and the lower bound of ``f_fol`` are the only differences between the two
    models in this block (``*_PARS.f90``).
    """
    _P = Parameter
    return (
        _P("tr_lit2som", "θ_min", "d-1", 1e-5, 1e-2,
           description="litter to SOM transfer rate at 0 degC"),
        _P("f_auto", "f_auto", "1", 0.2, 0.8, description="fraction of GPP respired (Ra:GPP)"),
        _P("f_fol", "f_fol", "1", p3_min, 0.5,
           description="fraction of GPP - Ra allocated to foliage"),
        _P("f_root", "f_roo", "1", 0.1, 0.8,
           description="fraction of what is left after foliage and labile allocated to fine roots"),
        _P("leaf_lifespan", "L_f", "a", 1.001, 6.0, description="leaf lifespan"),
        _P("t_wood", "θ_woo", "d-1", 9e-6, 1e-3, description="wood turnover rate (to SOM)"),
        _P("t_root", "θ_roo", "d-1", 0.001368925, 0.02, description="fine root turnover rate"),
        _P("t_lit", "θ_lit", "d-1", 0.0001141, 0.02,
           description="litter respiration rate at 0 degC"),
        _P("t_som", "θ_som", "d-1", 1.368925e-6, 9.126169e-5,
           description="SOM respiration rate at 0 degC"),
        _P("theta", "Θ", "degC-1", 0.019, 0.08,
           description="temperature sensitivity of decomposition, factor exp(Θ (Tmin+Tmax)/2)"),
        ceff,
        _P("b_day", "d_onset", "d", 365.25, 1461.0, circular=True,
           description="day of peak labile release (leaf onset), day of year modulo 365.25"),
        _P("f_lab", "f_lab", "1", 0.01, 0.5,
           description="fraction of what is left after foliage allocated to labile"),
        _P("p_lab", "cr_onset", "d", 10.0, 100.0, description="labile release period"),
        _P("f_day", "d_fall", "d", 365.25, 1461.0, circular=True,
           description="day of peak leaf fall, day of year modulo 365.25"),
        _P("p_fall", "cr_fall", "d", 20.0, 150.0, description="leaf fall period"),
        _P("lcma", "c_lma", "g m-2", 20.0, 180.0, description="leaf carbon mass per leaf area"),
        _P("c_labile_0", "C_lab,0", "g m-2", 1.0, 2000.0, description="initial labile C"),
        _P("c_foliar_0", "C_fol,0", "g m-2", 1.0, 2000.0, description="initial foliar C"),
        _P("c_root_0", "C_roo,0", "g m-2", 1.0, 2000.0, description="initial fine root C"),
        _P("c_wood_0", "C_woo,0", "g m-2", 1.0, 30000.0,
           description="initial wood C (incl. coarse roots)"),
        _P("c_litter_0", "C_lit,0", "g m-2", 1.0, 2000.0, description="initial litter C"),
        _P("c_som_0", "C_som,0", "g m-2", 200.0, 250000.0, description="initial SOM C"),
    )


def fire_rows(cf_soil_min: float, cf_soil_max: float, resilience_min: float,
              resilience_max: float):
    """Resilience and the four combustion completeness parameters, in the Fortran's order."""
    _P = Parameter
    return (
        _P("resilience", "r", "1", resilience_min, resilience_max,
           description="resilience of burned, non-combusted live tissue (1 - r dies)"),
        _P("cf_foliar", "cc_fol", "1", 0.01, 0.99, description="combustion completeness, foliage"),
        _P("cf_ligneous", "cc_lig", "1", 0.01, 0.99,
           description="combustion completeness, labile, fine root and wood"),
        _P("cf_som", "cc_som", "1", cf_soil_min, cf_soil_max,
           description="combustion completeness, SOM"),
        _P("cf_litter", "cc_lit", "1", 0.01, 0.99,
           description="combustion completeness, foliar and fine root litter"),
    )


# ------------------------------------------------------------------ drivers (per pixel)


def series(drivers, name: str, n: int | None = None) -> np.ndarray:
    """A driver series as float64, with an error naming the variable when it is missing."""
    try:
        values = np.asarray(drivers[name], dtype=np.float64)
    except KeyError:
        raise ModelError(f"driver {name!r} is missing; have {sorted(drivers)}") from None
    if n is not None and values.shape != (n,):
        raise ModelError(f"driver {name!r} has shape {values.shape}; expected ({n},)")
    return values


def step_lengths(drivers) -> np.ndarray:
    """Per-step length ``deltat`` [d], checked positive (calendar months: 28-31 d)."""
    dt = series(drivers, "deltat")
    if dt.ndim != 1 or dt.size < 1:
        raise ModelError(f"'deltat' must be a 1-D series of step lengths; got shape {dt.shape}")
    bad = ~(dt > 0) | ~np.isfinite(dt)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ModelError(f"'deltat' is {dt[i]!r} d at step {i}; step lengths must be > 0")
    return dt


def disturbance(drivers, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deforestation fraction, burned fraction and harvest scenario, checked.

    The scenario is truncated to an integer as the Fortran's ``int(met(13,n))`` does, and must
    be 1-5 wherever the deforestation fraction is positive (the Fortran would index outside its
    scenario tables).
    """
    defor = series(drivers, "deforestation", n)
    burned = series(drivers, "burned_area", n)
    manage = np.trunc(series(drivers, "management", n))
    active = defor > 0
    bad = active & ((manage < 1) | (manage > 5))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ModelError(
            f"'management' is {manage[i]!r} at step {i} where 'deforestation' is {defor[i]!r}; "
            "the harvest scenario must be 1-5"
        )
    # 0 marks "no harvest"; the kernel subtracts 1 to index HARVEST_SCENARIOS
    return defor, burned, np.where(active, manage, 0.0)


# --------------------------------------------------------------------------- kernels


@njit(cache=True, nogil=True, error_model="numpy")
def _ospolynomial(lifespan, width):
    """Phenology phase offset (``ospolynomial``): polynomial in ln(L - 1), times the width."""
    x = math.log(lifespan - 1.0)
    c = _MXC
    # x**k.0 as the Fortran writes it: pow() calls, not repeated products
    return (
        c[0] * _libm.pow(x, 6.0) + c[1] * _libm.pow(x, 5.0) + c[2] * _libm.pow(x, 4.0)
        + c[3] * _libm.pow(x, 3.0)
        + c[4] * (x * x) + c[5] * x + c[6]
    ) * width


# rows of the per-run phenology table (one column per distinct (doy, Δt) pair of the drivers)
T_LEAF_FALL, T_LAB_RELEASE, T_LAB, T_FOL, T_WOOD, T_ROOT = range(6)


def step_classes(doy: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``(doy, Δt)`` pairs and each step's index into them.

    Everything in a step that depends only on the day of year, the step length and the
    parameters (phenology factors, their compounded losses, wood and root turnover fractions)
    is evaluated once per distinct pair in :func:`_phenology_table` (about 24 pairs for a
    monthly run with leap years, instead of one evaluation per step); results are bitwise
    those of a per-step evaluation.
    """
    # sorted by step length first, so that _phenology_table sees each length in one run
    keys = np.stack([dt, doy], axis=1)
    uniq, index = np.unique(keys, axis=0, return_inverse=True)
    return uniq[:, ::-1].copy(), index.reshape(-1).astype(np.float64)


@njit(cache=True, nogil=True, error_model="numpy")
def _phenology_table(pars, ph, doys, dts, table):
    """Fill ``table (6, U)`` for the distinct pairs ``(doys[u], dts[u])``.

    Rows: leaf-fall and labile-release factors [d-1], then ``1 - (1 - k)^Δt`` for labile
    release, leaf fall, wood and fine-root turnover.
    """
    sf = ph[6]
    dt_prev = -1.0
    wood = 0.0
    root = 0.0
    for u in range(doys.size):
        doy = doys[u]
        dt = dts[u]
        if dt != dt_prev:
            wood = 1.0 - _libm.pow(1.0 - pars[5], dt)
            root = 1.0 - _libm.pow(1.0 - pars[6], dt)
            dt_prev = dt
        x = math.sin((doy - pars[14] + ph[2]) / sf) * sf / ph[1]
        leaf_fall = ph[7] * ph[0] * math.exp(-(x * x))
        x = math.sin((doy - pars[11] + ph[5]) / sf) * sf / ph[4]
        lab_release = ph[7] * ph[3] * math.exp(-(x * x))
        table[T_LEAF_FALL, u] = leaf_fall
        table[T_LAB_RELEASE, u] = lab_release
        table[T_LAB, u] = 1.0 - _libm.pow(1.0 - lab_release, dt)
        table[T_FOL, u] = 1.0 - _libm.pow(1.0 - leaf_fall, dt)
        table[T_WOOD, u] = wood
        table[T_ROOT, u] = root


@njit(cache=True, nogil=True, error_model="numpy")
def _decomposition_fractions(pars, tsum, dt, fluxes):
    """Temperature factor and compounded decomposition fractions for every step.

    These depend on the parameters and drivers only, so they are evaluated in a pass of their
    own (independent iterations) before the carbon loop: ``fluxes[1]`` gets the factor
    ``exp(Θ (Tmin + Tmax)/2)`` and ``fluxes[12:15]`` the fractions ``1 - (1 - k)^Δt`` of litter
    and SOM respiration and litter-to-SOM transfer, which :func:`_carbon_step` turns into rates.
    """
    for n in range(tsum.size):
        temprate = math.exp(pars[9] * 0.5 * tsum[n])
        fluxes[1, n] = temprate
        fluxes[12, n] = 1.0 - _libm.pow(1.0 - temprate * pars[7], dt[n])
        fluxes[13, n] = 1.0 - _libm.pow(1.0 - temprate * pars[8], dt[n])
        fluxes[14, n] = 1.0 - _libm.pow(1.0 - pars[0] * temprate, dt[n])


@njit(cache=True, nogil=True, error_model="numpy")
def _carbon_step(pars, state, fluxes, n, gpp, dt, table, u):
    """Allocation, turnover and the explicit pool update of one step.

    ``state`` holds the six carbon pools at the start of the step; the pools at the end of the
    step (before harvest and fire) are returned. Expects :func:`_decomposition_fractions` to
    have filled ``fluxes[1]`` and ``fluxes[12:15]``; ``table[:, u]`` holds this step's
    phenology terms (see :func:`_phenology_table`). Writes flux slots 0-15. Every loss is
    ``C (1 - (1 - k)^Δt)/Δt`` of the start-of-step pool C.
    """
    lab, fol, roo, woo, lit, som = state
    ra = pars[1] * gpp
    a_fol = (gpp - ra) * pars[2]
    a_lab = (gpp - ra - a_fol) * pars[12]
    a_roo = (gpp - ra - a_fol - a_lab) * pars[3]
    a_woo = gpp - ra - a_fol - a_lab - a_roo
    f_lab = lab * table[T_LAB, u] / dt
    f_fol = fol * table[T_FOL, u] / dt
    f_woo = woo * table[T_WOOD, u] / dt
    f_roo = roo * table[T_ROOT, u] / dt
    rh_lit = lit * fluxes[12, n] / dt
    rh_som = som * fluxes[13, n] / dt
    lit_som = lit * fluxes[14, n] / dt

    fluxes[0, n] = gpp
    fluxes[2, n] = ra
    fluxes[3, n] = a_fol
    fluxes[4, n] = a_lab
    fluxes[5, n] = a_roo
    fluxes[6, n] = a_woo
    fluxes[7, n] = f_lab
    fluxes[8, n] = table[T_LEAF_FALL, u]
    fluxes[9, n] = f_fol
    fluxes[10, n] = f_woo
    fluxes[11, n] = f_roo
    fluxes[12, n] = rh_lit
    fluxes[13, n] = rh_som
    fluxes[14, n] = lit_som
    fluxes[15, n] = table[T_LAB_RELEASE, u]
    return (
        lab + (a_lab - f_lab) * dt,
        fol + (a_fol - f_fol + f_lab) * dt,
        roo + (a_roo - f_roo) * dt,
        woo + (a_woo - f_woo) * dt,
        lit + (f_fol + f_roo - rh_lit - lit_som) * dt,
        som + (lit_som - rh_som + f_woo) * dt,
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _phenology_constants(pars, sf, fl, sqrt_pi):
    """``(ff/wf, wf, osf, fl/wl, wl, osl, sf, 2/sqrt(pi))`` for :func:`_carbon_step`."""
    wf = pars[15] * math.sqrt(2.0) * 0.5
    wl = pars[13] * math.sqrt(2.0) * 0.5
    ff = (math.log(pars[4]) - math.log(pars[4] - 1.0)) * 0.5
    osf = _ospolynomial(pars[4], wf)
    osl = _ospolynomial(1.001, wl)
    return (ff / wf, wf, osf, fl / wl, wl, osl, sf, 2.0 / sqrt_pi)


@njit(cache=True, nogil=True, error_model="numpy")
def _disturb(state, fluxes, n, dt, defor, scenario, burned, crootcr_part, cf_lig, cf_fol,
             cf_som, cf_lit, resilience, h0):
    """Harvest, then fire, on the end-of-step pools ``state``; returns the pools after both.

    ``h0`` is the flux slot of the total harvest removal (C1: 28, DALEC.4: 29); the six
    extractions and four residue fluxes follow it. Fire writes slots 16-27. Slots that a step
    does not write are left as they are (the kernels zero them once per run).
    """
    lab, fol, roo, woo, lit, som = state
    hm = int(scenario)
    if defor > 0.0:
        s = hm - 1
        c_total = roo + woo
        if c_total > 0.0:
            h = HARVEST_SCENARIOS
            crootcr = woo * crootcr_part
            cstem = woo - crootcr
            lab_res_frac = (
                (roo / c_total) * h[s, _H_ROO_RES]
                + (cstem / c_total) * h[s, _H_STEM_RES]
                + (crootcr / c_total) * h[s, _H_CR_RES]
            )
            lab_rem_frac = (
                (roo / c_total) * h[s, _H_ROO_REM]
                + (cstem / c_total) * 1.0
                + (crootcr / c_total) * h[s, _H_CR_REM]
            )
            lab_loss = lab * lab_rem_frac * defor
            fol_loss = fol * defor
            roo_loss = roo * h[s, _H_ROO_REM] * defor
            stem_loss = cstem * defor
            cr_loss = crootcr * h[s, _H_CR_REM] * defor
            woo_loss = stem_loss + cr_loss
            lab_res = lab_loss * lab_res_frac
            fol_res = fol_loss * h[s, _H_FOL_RES]
            roo_res = roo_loss * h[s, _H_ROO_RES]
            cr_res = cr_loss * h[s, _H_CR_RES]
            stem_res = stem_loss * h[s, _H_STEM_RES]
            woo_res = stem_res + cr_res
            soil_loss = (cr_loss - cr_res) * h[s, _H_SOIL]

            lab = lab - lab_loss
            fol = fol - fol_loss
            roo = roo - roo_loss
            woo = woo - woo_loss
            lit = lit + (lab_res + fol_res + roo_res)
            som = som - soil_loss + woo_res
            # clamp at zero as the Fortran's where(... < 0) does (a NaN stays NaN)
            if lab < 0.0:
                lab = 0.0
            if fol < 0.0:
                fol = 0.0
            if roo < 0.0:
                roo = 0.0
            if woo < 0.0:
                woo = 0.0
            if lit < 0.0:
                lit = 0.0
            if som < 0.0:
                som = 0.0
            e0 = (lab_loss - lab_res) / dt
            e1 = (fol_loss - fol_res) / dt
            e2 = (roo_loss - roo_res) / dt
            e3 = (woo_loss - woo_res) / dt
            e5 = soil_loss / dt
            fluxes[h0 + 1, n] = e0
            fluxes[h0 + 2, n] = e1
            fluxes[h0 + 3, n] = e2
            fluxes[h0 + 4, n] = e3
            fluxes[h0 + 5, n] = 0.0
            fluxes[h0 + 6, n] = e5
            fluxes[h0 + 7, n] = lab_res / dt
            fluxes[h0 + 8, n] = fol_res / dt
            fluxes[h0 + 9, n] = roo_res / dt
            fluxes[h0 + 10, n] = woo_res / dt
            fluxes[h0, n] = e0 + e1 + e2 + e3 + 0.0 + e5

    if burned > 0.0 or (defor > 0.0 and hm > 0):
        ba = burned
        if defor > 0.0 and ba > 0.0:
            ba = min(1.0, ba + HARVEST_SCENARIOS[hm - 1, _H_BURN])
        elif defor > 0.0 and ba <= 0.0:
            ba = HARVEST_SCENARIOS[hm - 1, _H_BURN]
        if ba > 0.0:
            # resilience applies to labile, foliage, roots and wood; litter keeps a fixed 0.1
            e_lab = lab * ba * cf_lig / dt
            e_fol = fol * ba * cf_fol / dt
            e_roo = roo * ba * cf_lig / dt
            e_woo = woo * ba * cf_lig / dt
            e_lit = lit * ba * cf_lit / dt
            e_som = som * ba * cf_som / dt
            m_lab = lab * ba * (1.0 - cf_lig) * (1.0 - resilience) / dt
            m_fol = fol * ba * (1.0 - cf_fol) * (1.0 - resilience) / dt
            m_roo = roo * ba * (1.0 - cf_lig) * (1.0 - resilience) / dt
            m_woo = woo * ba * (1.0 - cf_lig) * (1.0 - resilience) / dt
            m_lit = lit * ba * (1.0 - cf_lit) * (1.0 - 0.1) / dt
            lab = lab - (e_lab + m_lab) * dt
            fol = fol - (e_fol + m_fol) * dt
            roo = roo - (e_roo + m_roo) * dt
            woo = woo - (e_woo + m_woo) * dt
            lit = lit + (m_lab + m_fol + m_roo - e_lit - m_lit) * dt
            som = som + (m_woo + m_lit - e_som) * dt
            fluxes[16, n] = e_lab + e_fol + e_roo + e_woo + e_lit + e_som
            fluxes[17, n] = e_lab
            fluxes[18, n] = e_fol
            fluxes[19, n] = e_roo
            fluxes[20, n] = e_woo
            fluxes[21, n] = e_lit
            fluxes[22, n] = e_som
            fluxes[23, n] = m_lab
            fluxes[24, n] = m_fol
            fluxes[25, n] = m_roo
            fluxes[26, n] = m_woo
            fluxes[27, n] = m_lit
    return lab, fol, roo, woo, lit, som
