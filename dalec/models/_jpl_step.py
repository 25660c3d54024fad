"""The rates pass and the carbon and fire steps shared by the JPL kernels (DALEC 400, 809/811,
1005).

A run is two loops over the steps. :func:`rates_pass` first evaluates everything that does not
depend on the pools (thirteen exp/log per step, most of a run's work) with nothing carried from
step to step, so LLVM vectorises it; the time loop then inlines :func:`carbon_step` and
:func:`fire_step`, so the pools travel in registers exactly as in a hand-written loop; each
writes its own flux slots for step ``n``. The equations and their
order are those of CARDAMOM v2.2 ``DALEC_400.c``/``DALEC_811.c`` (see the model modules).
"""

from __future__ import annotations

from numba import njit

from .._kernels import _loss, _pulse
from . import _vecmath

# in-range forms of the rates pass: losses of k in [0, K_MID] (1 - k in [0.5, √2]), exp
# arguments of at most X_MID in size, steps of at most DT_MID days (see _rates_loop)
K_MID = 0.49
X_MID = 700.0
DT_MID = 1000.0


@njit(cache=True, nogil=True, error_model="numpy")
def rates_pass(temp, moist, moist_sens, sin_t, cos_t, pulse_f, pulse_l, dt, pars, fluxes):
    """First pass over the steps: every factor of the carbon step that depends on drivers and
    parameters only, so the pass has no loop-carried state and vectorises.

    Writes the decomposition factor τ = exp(Θ T)(moist · moist_sens + 1) (slot 1; model 400
    passes ``moist_sens = 0``), the phenology factors Φ_f, Φ_l (slots 8, 15), and, for
    :func:`carbon_step` to multiply by the pools and overwrite, the compounded loss rates of
    labile release, leaf fall, litter and SOM respiration and litter-to-SOM (slots 7, 9, 12,
    13, 14). ``pulse_f``, ``pulse_l`` are :func:`dalec._kernels._pulse_constants` tuples.

    Nearly every run's arguments lie where the in-range forms of ``exp`` and ``log``
    (:func:`~dalec.models._vecmath.exp_normal`, :func:`~dalec.models._vecmath.log_mid`) give
    the general forms' bits: the pass runs with them first (a third less time), checks every
    argument as it goes, and runs again with the general forms if any was out of range (a
    pulse amplitude or loss fraction above 0.49, an exponent above 700 in size, a NaN). The
    result is the general forms' either way.
    """
    amp_f, sw_f = pulse_f[0], pulse_f[1]
    amp_l, sw_l = pulse_l[0], pulse_l[1]
    if (0.0 < dt <= DT_MID and amp_f <= K_MID and amp_l <= K_MID
            and sw_f * sw_f <= X_MID and sw_l * sw_l <= X_MID):
        if _rates_loop(temp, moist, moist_sens, sin_t, cos_t, pulse_f, pulse_l, dt, pars,
                       fluxes, True):
            return
    _rates_loop(temp, moist, moist_sens, sin_t, cos_t, pulse_f, pulse_l, dt, pars, fluxes,
                False)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _rates_loop(temp, moist, moist_sens, sin_t, cos_t, pulse_f, pulse_l, dt, pars, fluxes,
                mid):
    """:func:`rates_pass`'s loop, with the in-range forms if ``mid`` (a literal); returns
    whether every argument was in their range (always True without ``mid``).

    The pulses' exponents are ``-s²`` with ``|s| <= sf/w`` (checked by the caller), so only
    Θ T and the five loss fractions are checked here.
    """
    amp_f, sw_f, cos_f, sin_f = pulse_f
    amp_l, sw_l, cos_l, sin_l = pulse_l
    theta = pars[9]
    t_lit = pars[7]
    t_som = pars[8]
    t_l2s = pars[0]
    tau_row = fluxes[1]
    phi_f_row = fluxes[8]
    phi_l_row = fluxes[15]
    lab_row = fluxes[7]
    fol_row = fluxes[9]
    lit_row = fluxes[12]
    som_row = fluxes[13]
    l2s_row = fluxes[14]
    ok = True
    for n in range(temp.shape[0]):
        x = theta * temp[n]
        if mid:
            tau = _vecmath.exp_normal(x) * (moist[n] * moist_sens + 1.0)
        else:
            tau = _vecmath.exp(x) * (moist[n] * moist_sens + 1.0)
        phi_f = _pulse(sin_t[n], cos_t[n], amp_f, sw_f, cos_f, sin_f, mid)
        phi_l = _pulse(sin_t[n], cos_t[n], amp_l, sw_l, cos_l, sin_l, mid)
        k_lit = tau * t_lit
        k_som = tau * t_som
        k_l2s = t_l2s * tau
        tau_row[n] = tau
        phi_f_row[n] = phi_f
        phi_l_row[n] = phi_l
        lab_row[n] = _loss(phi_l, dt, mid)
        fol_row[n] = _loss(phi_f, dt, mid)
        lit_row[n] = _loss(k_lit, dt, mid)
        som_row[n] = _loss(k_som, dt, mid)
        l2s_row[n] = _loss(k_l2s, dt, mid)
        if mid:  # false for a NaN
            ok = ok & (abs(x) <= X_MID) & (phi_l >= 0.0) & (phi_l <= K_MID) & (
                phi_f >= 0.0) & (phi_f <= K_MID) & (k_lit >= 0.0) & (k_lit <= K_MID) & (
                k_som >= 0.0) & (k_som <= K_MID) & (k_l2s >= 0.0) & (k_l2s <= K_MID)
    return ok


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def carbon_step(n, gpp, dt, k_wood, k_root, pars, lab, fol, roo, woo, lit, som, fluxes):
    """Allocation, turnover and decomposition of step ``n``, then the Euler update.

    Reads the loss rates that :func:`rates_pass` left in slots 7, 9, 12, 13 and 14 and
    replaces them with the fluxes; writes slots 0 and 2-7, 9-14 (GPP, Ra, allocation,
    losses) and returns the six carbon pools after the step (before fire). All losses use the
    start-of-step pools; litter respiration and litter-to-SOM are both computed from the same
    litter pool.
    """
    ra = pars[1] * gpp
    a_fol = (gpp - ra) * pars[2]
    a_lab = (gpp - ra - a_fol) * pars[12]
    a_roo = (gpp - ra - a_fol - a_lab) * pars[3]
    a_woo = gpp - ra - a_fol - a_roo - a_lab
    lab_rel = lab * fluxes[7, n]
    fol_lit = fol * fluxes[9, n]
    woo_tur = woo * k_wood
    roo_lit = roo * k_root
    rh_lit = lit * fluxes[12, n]
    rh_som = som * fluxes[13, n]
    lit_som = lit * fluxes[14, n]
    fluxes[0, n] = gpp
    fluxes[2, n] = ra
    fluxes[3, n] = a_fol
    fluxes[4, n] = a_lab
    fluxes[5, n] = a_roo
    fluxes[6, n] = a_woo
    fluxes[7, n] = lab_rel
    fluxes[9, n] = fol_lit
    fluxes[10, n] = woo_tur
    fluxes[11, n] = roo_lit
    fluxes[12, n] = rh_lit
    fluxes[13, n] = rh_som
    fluxes[14, n] = lit_som
    return (
        lab + (a_lab - lab_rel) * dt,
        fol + (a_fol - fol_lit + lab_rel) * dt,
        roo + (a_roo - roo_lit) * dt,
        woo + (a_woo - woo_tur) * dt,
        lit + (fol_lit + roo_lit - rh_lit - lit_som) * dt,
        som + (lit_som - rh_som + woo_tur) * dt,
    )


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def fire_step(n, burned, dt, cf_lab, cf_fol, cf_roo, cf_woo, cf_lit, cf_som, keep,
              kill_litter, lab, fol, roo, woo, lit, som, fluxes):
    """Fire on the end-of-step pools (operator split): combustion and fire mortality.

    Emission ``C·BA·cf/Δt`` from every pool (slots 17-22, total in 16); the burned,
    non-combusted share ``C·BA·(1 - cf)·keep/Δt`` of labile, foliar and root C goes to litter
    and of wood to SOM (slots 23-26), and of litter to SOM (slot 27) only if ``kill_litter``
    (models 400 and 1005; 809/811 never write that slot, so it stays 0). Returns the pools
    after fire.
    """
    ba = burned / dt
    e_lab = lab * ba * cf_lab
    e_fol = fol * ba * cf_fol
    e_roo = roo * ba * cf_roo
    e_woo = woo * ba * cf_woo
    e_lit = lit * ba * cf_lit
    e_som = som * ba * cf_som
    m_lab = lab * ba * (1.0 - cf_lab) * keep
    m_fol = fol * ba * (1.0 - cf_fol) * keep
    m_roo = roo * ba * (1.0 - cf_roo) * keep
    m_woo = woo * ba * (1.0 - cf_woo) * keep
    m_lit = lit * ba * (1.0 - cf_lit) * keep if kill_litter else 0.0
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
    return (
        lab - (e_lab + m_lab) * dt,
        fol - (e_fol + m_fol) * dt,
        roo - (e_roo + m_roo) * dt,
        woo - (e_woo + m_woo) * dt,
        lit + (m_lab + m_fol + m_roo - e_lit - m_lit) * dt,
        som + (m_woo + m_lit - e_som) * dt,
    )


@njit(cache=True, nogil=True, error_model="numpy")
def any_fire(burned):
    """True if any step has burned area (NaN counts as fire: the reference's arithmetic then
    carries the NaN into the pools)."""
    for n in range(burned.shape[0]):
        if burned[n] != 0.0:
            return True
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def zero_fire(fluxes):
    """Fire flux slots 16-27 set to 0 for a run without burned area, whose kernels skip
    :func:`fire_step`: with no burned area the reference's fire step subtracts exactly zero
    from every finite pool, and writes these zeros (~10 % of a run for its 12 stores a step).
    Only non-finite pools differ (an infinite pool stays infinite where the reference makes it
    NaN; both fail the EDCs)."""
    for slot in range(16, 28):
        fluxes[slot, :] = 0.0
