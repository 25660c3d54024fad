"""CARDAMOM v2.2 EDCs of DALEC 400 and 809/811, and CARDAMOM v3's of DALEC 1005, as numba
functions.

Each model has a pre-run test on the parameters alone (CARDAMOM's ``EDC1``), evaluated before
the forward run so that a rejected proposal costs no model run, and a post-run test on one run's
pools and fluxes (``EDC2``). Both write CARDAMOM's pass/fail vector: ``flags`` is an int64 array
of length 100, initialised to 1 by the caller, in which ``flags[k - 1] = 0`` marks EDC number
``k`` as failed. With ``diag=True`` every EDC is evaluated (CARDAMOM's ``EDCDIAG = 1``); with
``diag=False`` a function returns at the first failure (production, ``EDCDIAG = 0``), so only
that EDC is flagged.

Sources (CARDAMOM-framework/CARDAMOM_v2.2, commit d29f0547, under
``C/projects/CARDAMOM_MODELS/DALEC/``): ``DALEC_400/EDC1_400.c``, ``DALEC_400/EDC2_400.c``,
``DALEC_811/EDC1_811.c``, ``DALEC_811/EDC2_811.c`` (``DALEC_809/EDC1_809.c`` and ``EDC2_809.c``
are the same code under other names), with ``DALEC_CODE/DALEC_ALL/mean_pool.c`` (mean pools)
and ``DALEC_CODE/MODEL_LIKELIHOOD_FUNCTIONS/DALEC_ALL_LIKELIHOOD.c`` (``EDCSETUP``: EQF from
OTHERPRIORUNC[36], default 2). DALEC 1005: CARDAMOM-framework/CARDAMOM commit 952d8c0d,
``DALEC_1005/EDC1_1005.c`` and ``EDC2_1005.c`` (EQF from the netCDF scalar ``EDC_EQF``),
the same tests renumbered around the second water pool (see :func:`edc_post_1005`).

Notes
-----
With effective allocation fractions of GPP (MODELS.md §3.5)
``f_fol' = (1 - f_auto) f_fol``, ``f_lab' = (1 - f_auto - f_fol') f_lab`` and
``f_roo' = (1 - f_auto - f_fol' - f_lab') f_root``, an EDC fails when:

====  =====  ==========================================================================
 k    stage  failure condition
====  =====  ==========================================================================
 1    pre    ``θ_som > θ_lit`` (p8 > p7)
 2    pre    ``θ_min < θ_som`` (p0 < p8)
 3    pre    ``θ_woo > 1 / (365.25 L_f)`` (p5 > 1/(365.25 p4))
 4    pre    ``θ_roo < θ_som exp(Θ T̄)`` (p6 < p8 exp(p9 T̄)), T̄ the run-mean temperature
 5    pre    ``f_fol' + f_lab' > 5 f_roo'`` or ``5 (f_fol' + f_lab') < f_roo'``
 15   pre    (809/811) ``cf_fol < cf_lig`` or ``cf_fol < cf_som`` (p27 < p28 or p27 < p29)
 6    post   ``C̄_fol > 5 C̄_roo`` or ``5 C̄_fol < C̄_roo`` (means over all N+1 states)
 7-   post   steady state of pool i (7-12 carbon; 809/811: 13 water):
              ``|ln R_s| > ln EQF`` or ``|R_s - R_m| > 0.1``
 14   post   (809/811) ``W_wilt > W̄`` (p25 above the mean of the water pool)
 35   post   the mean of any pool exceeds the prior maximum of its initial-value parameter
 36-  post   pool i is negative or NaN at any of the N+1 states (36-41; 809/811: 36-42)
====  =====  ==========================================================================

Steady state: ``R_m = ΣF_in / ΣF_out`` (run totals of the pool's input and output fluxes, fire
slots included; water: total precipitation in, ET + runoff out) and
``R_s = R_m P̄_s / P_0``, where P_0 is the initial pool and P̄_s the mean of the pool sampled
every ``d = floor(N / (t_last - t_0) · 365.25)`` states (states 0, d, 2d, ... up to N,
*including* the initial state; ``t_last`` is the time of the last step, not of the final
state). In production CARDAMOM checks in the order 1-5(, 15) and 6, 7-12(13), (14,) 35, 36-.

Quirks of the C code kept because they change verdicts:

- steady state samples states ``0, d, 2d, ...`` with ``d`` from ``N / (t_last - t_0)`` (N steps
  over N - 1 step lengths: 12.17 "steps per year" on monthly data, floored to 12);
- EDC 35 compares *mean* pools with the *prior maximum of the initial-value parameter*
  (p17-p22, and p26 for the water pool), not with any pool-specific bound;
- comparisons involving NaN are false, so a NaN ``R_s`` (e.g. 0/0 fluxes) passes EDCs 7-13, and
  a NaN mean pool passes EDCs 6, 14 and 35, exactly as in C;
- the water steady state (EDC 13) uses the precipitation driver total, not ``meanprec``.

Deliberate deviations (each would only matter for broken runs):

- 400's NaN check tests one fixed element (``isnan(POOLS[35])``, SOM at state 5) for every pool;
  here a NaN anywhere in pool i fails EDC 35 + i (as 809/811 do in CARDAMOM);
- divisions by zero follow IEEE (as C does) instead of numba's ZeroDivisionError;
- ``d < 1`` (steps longer than a year; C divides by zero) uses every state, and a non-finite or
  huge ``d`` (zero time span; C casts inf to int) samples the initial state only;
- ``EDCDIAG = 2`` (per-EDC switches in OTHERPRIORS[30:50]) is not supported;
- in diagnostic mode C's ``EDC2`` also returns 0 when a *pre-run* flag is 0; here each function
  returns the verdict of its own EDCs (the product EDC1·EDC2 that CARDAMOM uses is the same).

References
----------
Bloom, A. A. and Williams, M. (2015) Constraining ecosystem carbon dynamics in a data-limited
world: integrating ecological "common sense" in a model-data fusion framework. Biogeosciences
12, 1299-1315. doi:10.5194/bg-12-1299-2015
Bloom, A. A. et al. (2016) The decadal state of the terrestrial carbon cycle. PNAS 113,
1285-1290. doi:10.1073/pnas.1515160113
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numba import njit

from dalec import get_model
from dalec.models.dalec811 import reference_means as _driver_means
from dalec.models.dalec1005 import reference_means as _driver_means_1005

#: Number of slots in CARDAMOM's pass/fail vector.
N_EDC = 100

#: Tolerance on ``|R_s - R_m|`` (``etol`` in EDC2_400.c / EDC2_811.c).
ETOL = 0.1

EDC_NAMES_400 = {
    1: "SOM turnover slower than litter turnover (p8 <= p7)",
    2: "litter-to-SOM transfer at least SOM turnover (p0 >= p8)",
    3: "wood turnover slower than foliar turnover (p5 <= 1/(365.25 p4))",
    4: "root turnover faster than SOM turnover at mean temperature (p6 >= p8 exp(p9 T))",
    5: "canopy (foliar + labile) and fine-root allocation within a factor 5",
    6: "mean foliar and mean root C within a factor 5",
    7: "labile pool near steady state",
    8: "foliar pool near steady state",
    9: "root pool near steady state",
    10: "wood pool near steady state",
    11: "litter pool near steady state",
    12: "SOM pool near steady state",
    35: "mean pools at most the prior maximum of their initial values",
    36: "labile C never negative or NaN",
    37: "foliar C never negative or NaN",
    38: "root C never negative or NaN",
    39: "wood C never negative or NaN",
    40: "litter C never negative or NaN",
    41: "SOM C never negative or NaN",
}

EDC_NAMES_811 = {
    **{k: v for k, v in EDC_NAMES_400.items() if k < 13},
    13: "plant-available water near steady state (precipitation in, ET + runoff out)",
    14: "mean plant-available water at least the wilting point (p25)",
    15: "foliar combustion factor at least the ligneous and SOM ones (p27 >= p28, p29)",
    **{k: v for k, v in EDC_NAMES_400.items() if k >= 35},
    42: "plant-available water never negative or NaN",
}

EDC_NAMES_1005 = {
    **{k: v for k, v in EDC_NAMES_400.items() if k < 13},
    13: "plant-available water near steady state (precipitation in; ET, runoff and drainage "
    "to the unavailable pool out)",
    14: "plant-unavailable water near steady state (PAW drainage in, its runoff out)",
    15: "mean plant-available water at least the wilting point (p25)",
    16: EDC_NAMES_811[15],
    35: "mean pools at most the prior maximum of their initial values (the six carbon pools "
    "and plant-available water)",
    **{k: v for k, v in EDC_NAMES_811.items() if k >= 36},
    43: "plant-unavailable water never negative or NaN",
}

#: model name -> {EDC number: meaning}
EDC_NAMES = {"400": EDC_NAMES_400, "809": EDC_NAMES_811, "811": EDC_NAMES_811,
             "1005": EDC_NAMES_1005}

# EDC 35 bounds: prior maxima of the initial-value parameters (PARS_INFO_<ID>.c), frozen into
# the compiled functions as constants. 809 and 811 share them.
_PARMAX_400 = np.ascontiguousarray(get_model("400").bounds[17:23, 1])
_PARMAX_811 = np.ascontiguousarray(get_model("811").bounds[[17, 18, 19, 20, 21, 22, 26], 1])
# 1005: the same seven (CARDAMOM v3 leaves the plant-unavailable water out of EDC 35)
_PARMAX_1005 = np.ascontiguousarray(get_model("1005").bounds[[17, 18, 19, 20, 21, 22, 26], 1])
# 1005's prognostic pools (the stored LAI, row 8, is a diagnostic the EDCs do not read)
_N_POOLS_1005 = 8


# ---------------------------------------------------------------------------------- helpers


@njit(cache=True, nogil=True, error_model="numpy")
def _div(a, b):
    """``a / b`` with IEEE (C) semantics, also as plain Python (``NUMBA_DISABLE_JIT=1``),
    where ``/`` raises on ``b == 0``; jitted, the numpy error model gives the same."""
    if b == 0.0:
        if a == 0.0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


@njit(cache=True, nogil=True, error_model="numpy")
def _log(x):
    """Natural log with C semantics: -inf at 0, NaN below 0 or for NaN."""
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -math.inf
    return math.nan


@njit(cache=True, nogil=True, error_model="numpy")
def _sample_interval(n_steps, time0, time_last):
    """CARDAMOM's "steps per year" ``floor(N / (t_last - t_0) · 365.25)``, kept in [1, N+1]."""
    per_year = n_steps / (time_last - time0) * 365.25
    if not per_year < n_steps + 1.0:  # inf/NaN/huge: only the initial state is sampled
        return n_steps + 1
    if per_year < 1.0:
        return 1
    return int(math.floor(per_year))


@njit(cache=True, nogil=True, error_model="numpy")
def _mean_sampled(pools, pool, dint):
    """Mean of states 0, dint, 2·dint, ... <= N (``MPOOLSjan`` in EDC2_400.c)."""
    n_steps = pools.shape[1] - 1
    count = n_steps // dint + 1
    s = 0.0
    for m in range(count):
        s += pools[pool, m * dint] / count
    return s


@njit(cache=True, nogil=True, error_model="numpy")
def _steady_ratios(f_in, f_out, p_sampled, p_start):
    """``R_m = ΣF_in / ΣF_out`` and ``R_s = R_m P̄_s / P_0`` with C's division semantics."""
    rm = _div(f_in, f_out)
    return rm, _div(rm * p_sampled, p_start)


@njit(cache=True, nogil=True, error_model="numpy")
def _off_steady_state(f_in, f_out, p_sampled, p_start, log_eqf):
    """True if a pool fails the steady-state EDC (NaN ratios pass, as in C)."""
    rm, rs = _steady_ratios(f_in, f_out, p_sampled, p_start)
    return abs(_log(rs)) > log_eqf or abs(rs - rm) > ETOL


# flux slots whose run totals the steady-state EDCs read (_carbon_budget, _budget_811), in
# groups of eight for _row_sums (a repeated slot is summed again into the same total)
_CARBON_SLOTS_400 = np.array([3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 14, 14, 14, 14, 14])
_CARBON_SLOTS_811 = np.array([3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 28, 29, 29, 29, 29])
_CARBON_SLOTS_1005 = np.array([3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 28, 29, 30, 31, 31])
_FIRE_SLOTS = np.array([17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 27, 27, 27, 27, 27])


@njit(cache=True, nogil=True, error_model="numpy")
def _row_sums(a, rows, out, scan):
    """``out[r]`` = sum of row ``r`` of ``a`` for every ``r`` in ``rows``, accumulated from 0
    in step order (bitwise the sum of one loop per row), eight rows side by side (independent
    accumulators hide the latency of the additions; ``rows.size`` a multiple of 8). With
    ``scan``, returns whether any element of those rows is negative or NaN (else False)."""
    bad = False
    for k in range(0, rows.shape[0], 8):
        r0 = a[rows[k]]
        r1 = a[rows[k + 1]]
        r2 = a[rows[k + 2]]
        r3 = a[rows[k + 3]]
        r4 = a[rows[k + 4]]
        r5 = a[rows[k + 5]]
        r6 = a[rows[k + 6]]
        r7 = a[rows[k + 7]]
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
        for n in range(a.shape[1]):
            x0 = r0[n]
            x1 = r1[n]
            x2 = r2[n]
            x3 = r3[n]
            x4 = r4[n]
            x5 = r5[n]
            x6 = r6[n]
            x7 = r7[n]
            s0 += x0
            s1 += x1
            s2 += x2
            s3 += x3
            s4 += x4
            s5 += x5
            s6 += x6
            s7 += x7
            if scan:
                bad |= not ((x0 >= 0.0) & (x1 >= 0.0) & (x2 >= 0.0) & (x3 >= 0.0)
                            & (x4 >= 0.0) & (x5 >= 0.0) & (x6 >= 0.0) & (x7 >= 0.0))
        out[rows[k]] = s0
        out[rows[k + 1]] = s1
        out[rows[k + 2]] = s2
        out[rows[k + 3]] = s3
        out[rows[k + 4]] = s4
        out[rows[k + 5]] = s5
        out[rows[k + 6]] = s6
        out[rows[k + 7]] = s7
    return bad


@njit(cache=True, nogil=True, error_model="numpy")
def _all_zero(a, rows):
    """Whether every element of the given rows of ``a`` is 0 (either sign)."""
    nonzero = False
    for k in range(rows.shape[0]):
        row = a[rows[k]]
        for n in range(row.shape[0]):
            nonzero |= row[n] != 0.0
    return not nonzero


@njit(cache=True, nogil=True, error_model="numpy")
def _flux_totals(fluxes):
    """Run totals of the flux slots the steady-state EDCs read (the others are left 0).

    Each total is accumulated step by step from 0 in the C code's order, so the sums are
    bitwise those of one loop per slot; eight slots are summed side by side
    (:func:`_row_sums`). A run without fire has only zeros in the fire slots, whose totals
    are then 0 without a sum.
    """
    tot = np.zeros(fluxes.shape[0])
    n_slots = fluxes.shape[0]
    slots = _CARBON_SLOTS_1005 if n_slots > 30 else (
        _CARBON_SLOTS_811 if n_slots > 28 else _CARBON_SLOTS_400)
    _row_sums(fluxes, slots, tot, False)
    if not _all_zero(fluxes, _FIRE_SLOTS):
        _row_sums(fluxes, _FIRE_SLOTS, tot, False)
    return tot


@njit(cache=True, nogil=True, error_model="numpy")
def _pool_scan(pools):
    """Mean of every pool over all N+1 states, as ``mean_pool.c`` accumulates it (a sum of
    x/(N+1) in state order), and whether any state of the pool is negative or NaN.

    Returns ``(means, bad)``. The quotients of a pool are formed in a loop of their own (which
    vectorises) and summed in state order, so the means are bitwise those of the C code.
    """
    n_pools, nc = pools.shape
    means = np.empty(n_pools)
    bad = np.empty(n_pools, dtype=np.bool_)
    quot = np.empty(nc)
    for i in range(n_pools):
        row = pools[i]
        for c in range(nc):
            quot[c] = row[c] / nc
        acc = 0.0
        neg = False
        for c in range(nc):
            acc += quot[c]
            neg |= not row[c] >= 0.0  # negative or NaN
        means[i] = acc
        bad[i] = neg
    return means, bad


# pool rows in a group of eight for _row_sums (6 pools: 400; 7: 809/811)
_POOL_ROWS_6 = np.array([0, 1, 2, 3, 4, 5, 5, 5])
_POOL_ROWS_7 = np.array([0, 1, 2, 3, 4, 5, 6, 6])
_POOL_ROWS_8 = np.array([0, 1, 2, 3, 4, 5, 6, 7])
# relative separation beyond which a comparison of _post_means' quick means is decided
_DECISIVE = 1e-9


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _apart(u, v):
    """Whether ``u`` and ``v`` differ by more than ``_DECISIVE`` relative (False for NaN, for
    infinities and for two zeros)."""
    return abs(u - v) > _DECISIVE * max(abs(u), abs(v))


@njit(cache=True, nogil=True, error_model="numpy")
def _post_means(pools, parmax, wilt, wilt_pool):
    """Pool means for the post-run EDCs' comparisons (EDC 6, 14, 35) and the per-pool
    negative-or-NaN flags, as :func:`_pool_scan` returns them, or quicker where that decides
    nothing differently.

    With no negative or NaN state, the pools' sums over the states are taken side by side
    and divided by N+1. For non-negative values these means and ``mean_pool.c``'s (a sum of
    x/(N+1) in state order) are both within about 1e-13 relative of the exact mean, so every
    comparison whose two sides lie more than 1e-9 apart (relative) has C's outcome: the
    fold-of-5 test of foliar against root C, every mean against its prior maximum and, if
    ``wilt_pool >= 0``, ``wilt`` against that pool's mean. If any comparison is closer, or a
    state is negative or NaN, the means and flags are :func:`_pool_scan`'s.
    """
    n_pools = pools.shape[0]
    sums = np.empty(n_pools)
    rows = _POOL_ROWS_8 if n_pools > 7 else (_POOL_ROWS_7 if n_pools > 6 else _POOL_ROWS_6)
    if not _row_sums(pools, rows, sums, True):
        means = sums / pools.shape[1]
        fol = means[1]
        roo = means[2]
        decided = _apart(fol, 5.0 * roo) and _apart(5.0 * fol, roo)
        for i in range(parmax.shape[0]):
            decided = decided and _apart(means[i], parmax[i])
        if wilt_pool >= 0:
            decided = decided and _apart(wilt, means[wilt_pool])
        if decided:
            return means, np.zeros(n_pools, dtype=np.bool_)
    return _pool_scan(pools)


@njit(cache=True, nogil=True, error_model="numpy")
def _carbon_budget(tot, pool):
    """Run totals (in, out) of carbon pool 0-5 from the slot totals ``tot`` (400/809/811)."""
    if pool == 0:  # labile: production in; release to foliage, fire emission, fire kill out
        return tot[4], tot[7] + tot[17] + tot[23]
    if pool == 1:  # foliar
        return tot[3] + tot[7], tot[9] + tot[18] + tot[24]
    if pool == 2:  # root
        return tot[5], tot[11] + tot[19] + tot[25]
    if pool == 3:  # wood
        return tot[6], tot[10] + tot[20] + tot[26]
    if pool == 4:  # litter: litterfall and fire kill of labile/foliar/root in
        return tot[9] + tot[11] + tot[23] + tot[24] + tot[25], tot[12] + tot[14] + tot[21] + tot[27]
    # SOM: wood turnover, litter->SOM, wood and litter fire kill in
    return tot[10] + tot[14] + tot[26] + tot[27], tot[13] + tot[22]


@njit(cache=True, nogil=True, error_model="numpy")
def _budget_811(tot, precip, n_steps, pool):
    """Run totals (in, out) of pool 0-6 of 809/811: the carbon pools as
    :func:`_carbon_budget`, the water pool with the precipitation series in and ET + runoff
    out (the first ``n_steps`` values of the series)."""
    if pool < 6:
        return _carbon_budget(tot, pool)
    f_in = 0.0
    for n in range(n_steps):
        f_in += precip[n]
    return f_in, tot[28] + tot[29]


@njit(cache=True, nogil=True, error_model="numpy")
def _budget_1005(tot, precip, n_steps, pool):
    """Run totals (in, out) of pool 0-7 of 1005 (``EDC2_1005.c``): the carbon pools as
    :func:`_carbon_budget`; plant-available water: precipitation in, ET + runoff + drainage
    to the unavailable pool out; plant-unavailable water: that drainage in, its runoff out."""
    if pool < 6:
        return _carbon_budget(tot, pool)
    if pool == 7:
        return tot[30], tot[31]
    f_in = 0.0
    for n in range(n_steps):
        f_in += precip[n]
    return f_in, tot[28] + tot[29] + tot[30]


@njit(cache=True, nogil=True, error_model="numpy")
def _outside_factor5(a, b):
    return a > 5.0 * b or 5.0 * a < b


@njit(cache=True, nogil=True, error_model="numpy")
def _pre_carbon(pars, meantemp, flags, diag):
    """EDCs 1-5, common to 400 and 809/811 (EDC1_400.c, EDC1_811.c)."""
    ok = True
    f_auto = pars[1]
    f_fol = (1.0 - f_auto) * pars[2]
    f_lab = (1.0 - f_auto - f_fol) * pars[12]
    f_roo = (1.0 - f_auto - f_fol - f_lab) * pars[3]
    if pars[8] > pars[7]:
        flags[0] = 0
        ok = False
        if not diag:
            return False
    if pars[0] < pars[8]:
        flags[1] = 0
        ok = False
        if not diag:
            return False
    if pars[5] > 1.0 / (pars[4] * 365.25):
        flags[2] = 0
        ok = False
        if not diag:
            return False
    if pars[6] < pars[8] * math.exp(pars[9] * meantemp):
        flags[3] = 0
        ok = False
        if not diag:
            return False
    if (f_fol + f_lab) > 5.0 * f_roo or (f_fol + f_lab) * 5.0 < f_roo:
        flags[4] = 0
        ok = False
    return ok


@njit(cache=True, nogil=True, error_model="numpy")
def _post_tail(means, bad, parmax, flags, diag):
    """EDC 35 (mean pools vs prior max of initial values; the first ``parmax.size`` pools)
    and 36- (no negative/NaN state; every pool), from :func:`_pool_scan`'s ``means`` and
    ``bad``."""
    ok = True
    for i in range(parmax.shape[0]):
        if means[i] > parmax[i]:
            flags[34] = 0
            ok = False
            if not diag:
                return False
    for i in range(means.shape[0]):
        if bad[i]:
            flags[35 + i] = 0
            ok = False
            if not diag:
                return False
    return ok


# ----------------------------------------------------------------------------- public API


@njit(cache=True, nogil=True, error_model="numpy")
def edc_pre_400(pars, meantemp, flags, diag):
    """Pre-run EDCs 1-5 of DALEC 400 (CARDAMOM v2.2 ``EDC1_400.c``).

    Parameters
    ----------
    pars : ndarray, shape (23,)
        Model 400 parameters.
    meantemp : float
        Run mean of ``(Tmin + Tmax)/2`` [degC] (CARDAMOM's ``DATA.meantemp``).
    flags : ndarray of int64, shape (100,)
        Pass/fail vector; failing EDC k sets ``flags[k - 1] = 0``, nothing else is written.
    diag : bool
        Evaluate every EDC (True) or return at the first failure (False).

    Returns
    -------
    bool
        True if every evaluated EDC passes.
    """
    return _pre_carbon(pars, meantemp, flags, diag)


@njit(cache=True, nogil=True, error_model="numpy")
def edc_post_400(pars, pools, fluxes, time0, time_last, eqf, flags, diag):
    """Post-run EDCs 6, 7-12, 35 and 36-41 of DALEC 400 (CARDAMOM v2.2 ``EDC2_400.c``).

    Parameters
    ----------
    pars : ndarray, shape (23,)
        The parameters of the run (unused by these EDCs; kept for a uniform interface).
    pools : ndarray, shape (6, N+1)
        Pools [g m-2] of one run, ``pools[pool, state]``.
    fluxes : ndarray, shape (28, N)
        Flux slots [g m-2 d-1] of the same run, ``fluxes[slot, step]``.
    time0, time_last : float
        Times of the first and the last step [d] (``MET[0]`` and ``MET[N-1]`` time column).
    eqf : float
        Equilibrium factor EQF (CARDAMOM default 2; OTHERPRIORUNC[36] of a CBF).
    flags : ndarray of int64, shape (100,)
        Pass/fail vector, see :func:`edc_pre_400`.
    diag : bool
        Evaluate every EDC (True) or return at the first failure (False).

    Returns
    -------
    bool
        True if every evaluated EDC passes.
    """
    ok = True
    means, bad = _post_means(pools, _PARMAX_400, 0.0, -1)
    if _outside_factor5(means[1], means[2]):
        flags[5] = 0
        ok = False
        if not diag:
            return False
    dint = _sample_interval(fluxes.shape[1], time0, time_last)
    log_eqf = math.log(eqf)
    tot = _flux_totals(fluxes)
    for i in range(6):
        f_in, f_out = _carbon_budget(tot, i)
        if _off_steady_state(f_in, f_out, _mean_sampled(pools, i, dint), pools[i, 0], log_eqf):
            flags[6 + i] = 0
            ok = False
            if not diag:
                return False
    return _post_tail(means, bad, _PARMAX_400, flags, diag) and ok


@njit(cache=True, nogil=True, error_model="numpy")
def _pre_water(pars, meantemp, flags, diag, combustion_flag):
    """Pre-run EDCs of 809/811 and 1005: the carbon EDCs 1-5, then the combustion-factor
    ordering (p27 >= p28 and p27 >= p29) in slot ``combustion_flag`` (811: 14, 1005: 15)."""
    ok = _pre_carbon(pars, meantemp, flags, diag)
    if not ok and not diag:
        return False
    if pars[27] < pars[28] or pars[27] < pars[29]:
        flags[combustion_flag] = 0
        return False
    return ok


@njit(cache=True, nogil=True, error_model="numpy")
def _post_water(pars, state, fluxes, time0, time_last, eqf, precip, flags, diag, parmax, v3):
    """Post-run EDCs of 809/811 (``v3`` False: pools 0-6, wilting point in slot 13) and 1005
    (``v3`` True: pools 0-7 with the unavailable water, wilting point in slot 14): foliar:root
    ratio, each pool's steady state, the mean water above the wilting point (p25), EDC 35 and
    the negative/NaN scan."""
    ok = True
    means, bad = _post_means(state, parmax, pars[25], 6)
    if _outside_factor5(means[1], means[2]):
        flags[5] = 0
        ok = False
        if not diag:
            return False
    n_steps = fluxes.shape[1]
    dint = _sample_interval(n_steps, time0, time_last)
    log_eqf = math.log(eqf)
    tot = _flux_totals(fluxes)
    for i in range(state.shape[0]):
        if v3:
            f_in, f_out = _budget_1005(tot, precip, n_steps, i)
        else:
            f_in, f_out = _budget_811(tot, precip, n_steps, i)
        if _off_steady_state(f_in, f_out, _mean_sampled(state, i, dint), state[i, 0], log_eqf):
            flags[6 + i] = 0
            ok = False
            if not diag:
                return False
    if pars[25] > means[6]:
        flags[state.shape[0] + 6] = 0
        ok = False
        if not diag:
            return False
    return _post_tail(means, bad, parmax, flags, diag) and ok


@njit(cache=True, nogil=True, error_model="numpy")
def edc_pre_811(pars, meantemp, flags, diag):
    """Pre-run EDCs 1-5 and 15 of DALEC 809/811 (CARDAMOM v2.2 ``EDC1_811.c``, ``EDC1_809.c``).

    Parameters
    ----------
    pars : ndarray, shape (33,)
        Model 809/811 parameters.
    meantemp : float
        Run mean of ``(Tmin + Tmax)/2`` [degC] (the model's reference mean temperature).
    flags : ndarray of int64, shape (100,)
        Pass/fail vector, see :func:`edc_pre_400`.
    diag : bool
        Evaluate every EDC (True) or return at the first failure (False).

    Returns
    -------
    bool
        True if every evaluated EDC passes.
    """
    return _pre_water(pars, meantemp, flags, diag, 14)


@njit(cache=True, nogil=True, error_model="numpy")
def edc_post_811(pars, pools, fluxes, time0, time_last, eqf, meanprec, precip, flags, diag):
    """Post-run EDCs 6, 7-13, 14, 35 and 36-42 of DALEC 809/811 (``EDC2_811.c``, ``EDC2_809.c``).

    Parameters
    ----------
    pars : ndarray, shape (33,)
        The parameters of the run (p25, the wilting point, enters EDC 14).
    pools : ndarray, shape (7, N+1)
        Pools of one run [g m-2; water kg m-2], ``pools[pool, state]``.
    fluxes : ndarray, shape (30, N)
        Flux slots of the same run [g m-2 d-1; ET and runoff kg m-2 d-1].
    time0, time_last : float
        Times of the first and the last step [d].
    eqf : float
        Equilibrium factor EQF (CARDAMOM default 2).
    meanprec : float
        Reference mean precipitation [kg m-2 d-1]; unused: CARDAMOM's water steady state sums
        the precipitation series itself. Kept so that the signature need not change.
    precip : ndarray, shape (N,)
        Precipitation driver [kg m-2 d-1] (MET column 8), the water pool's input.
    flags : ndarray of int64, shape (100,)
        Pass/fail vector, see :func:`edc_pre_400`.
    diag : bool
        Evaluate every EDC (True) or return at the first failure (False).

    Returns
    -------
    bool
        True if every evaluated EDC passes.
    """
    return _post_water(pars, pools, fluxes, time0, time_last, eqf, precip, flags, diag,
                       _PARMAX_811, False)


@njit(cache=True, nogil=True, error_model="numpy")
def edc_pre_1005(pars, meantemp, flags, diag):
    """Pre-run EDCs 1-5 and 16 of DALEC 1005 (CARDAMOM v3 ``EDC1_1005.c``): those of 811,
    with the combustion-factor EDC numbered 16.

    Parameters
    ----------
    pars : ndarray, shape (37,)
        Model 1005 parameters.
    meantemp : float
        Reference mean temperature [degC] (CARDAMOM v3's ``DATA.meantemp``).
    flags : ndarray of int64, shape (100,)
        Pass/fail vector, see :func:`edc_pre_400`.
    diag : bool
        Evaluate every EDC (True) or return at the first failure (False).

    Returns
    -------
    bool
        True if every evaluated EDC passes.
    """
    return _pre_water(pars, meantemp, flags, diag, 15)


@njit(cache=True, nogil=True, error_model="numpy")
def edc_post_1005(pars, pools, fluxes, time0, time_last, eqf, precip, flags, diag):
    """Post-run EDCs 6, 7-14, 15, 35 and 36-43 of DALEC 1005 (CARDAMOM v3 ``EDC2_1005.c``).

    As 811 with the plant-unavailable water: its steady state is EDC 14 (the wilting-point
    EDC becomes 15) and its negative-or-NaN check EDC 43; EDC 35 checks the first seven pools
    only (v3 leaves the unavailable water out). The stored LAI (pool 8) is not checked.

    Parameters
    ----------
    pars : ndarray, shape (37,)
        The parameters of the run (p25, the wilting point, enters EDC 15).
    pools : ndarray, shape (9, N+1)
        Pools of one run, ``pools[pool, state]``.
    fluxes : ndarray, shape (32, N)
        Flux slots of the same run.
    time0, time_last : float
        Times of the first and the last step [d].
    eqf : float
        Equilibrium factor EQF (CARDAMOM v3 ``EDC_EQF``, default 2).
    precip : ndarray, shape (N,)
        Precipitation driver [kg m-2 d-1], the plant-available water's input.
    flags : ndarray of int64, shape (100,)
        Pass/fail vector, see :func:`edc_pre_400`.
    diag : bool
        Evaluate every EDC (True) or return at the first failure (False).

    Returns
    -------
    bool
        True if every evaluated EDC passes.
    """
    return _post_water(pars, pools[:_N_POOLS_1005], fluxes, time0, time_last, eqf, precip,
                       flags, diag, _PARMAX_1005, True)


# ------------------------------------------------------------------- graded violations
# Not in CARDAMOM. The start search (mdf.start) climbs CARDAMOM's score, -5 per failed EDC,
# which is flat between failures: a random walk on a plateau in 23-33 dimensions can take
# millions of steps to stumble on the pass region of the last one or two EDCs. These functions
# say how far a run is from passing, in log units (0 for an EDC that passes), so the search
# has a slope to follow. They never decide what passes: the verdicts above do.


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _excess(a, b):
    """``ln(a/b)`` where ``a > b > 0`` (a ratio condition ``a <= b`` failing), else 0."""
    if a > b and b > 0.0:
        return math.log(a / b)
    if a > b:
        return 10.0  # b <= 0: no ratio; a fixed, large distance
    return 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _pre_violation(pars, meantemp):
    """Graded distance from passing EDCs 1-5."""
    f_auto = pars[1]
    f_fol = (1.0 - f_auto) * pars[2]
    f_lab = (1.0 - f_auto - f_fol) * pars[12]
    f_roo = (1.0 - f_auto - f_fol - f_lab) * pars[3]
    v = _excess(pars[8], pars[7])
    v += _excess(pars[8], pars[0])
    v += _excess(pars[5] * pars[4] * 365.25, 1.0)
    v += _excess(pars[8] * math.exp(pars[9] * meantemp), pars[6])
    v += _excess(f_fol + f_lab, 5.0 * f_roo) + _excess(f_roo, 5.0 * (f_fol + f_lab))
    return v


@njit(cache=True, nogil=True, error_model="numpy")
def _steady_violation(f_in, f_out, p_sampled, p_start, log_eqf):
    rm, rs = _steady_ratios(f_in, f_out, p_sampled, p_start)
    v = 0.0
    lr = abs(_log(rs))
    if lr > log_eqf:  # NaN compares false and passes, as in the verdict
        v += min(lr - log_eqf, 10.0)
    dr = abs(rs - rm)
    if dr > ETOL:
        v += min(math.log(dr / ETOL), 10.0)
    return v


@njit(cache=True, nogil=True, error_model="numpy")
def _tail_violation(pools, means, parmax):
    v = 0.0
    for i in range(pools.shape[0]):
        if i < parmax.shape[0]:
            v += _excess(means[i], parmax[i])
        n_bad = 0
        for c in range(pools.shape[1]):
            x = pools[i, c]
            if x < 0.0 or x != x:
                n_bad += 1
        if n_bad:
            v += 1.0 + 10.0 * n_bad / pools.shape[1]
    return v


@njit(cache=True, nogil=True, error_model="numpy")
def edc_violation_400(pars, pools, fluxes, meantemp, time0, time_last, eqf):
    """Graded distance [log units] of a DALEC 400 run from passing every EDC (0 if it does,
    up to the ``<`` / ``<=`` boundaries); guides :func:`mdf.start.find_start`."""
    v = _pre_violation(pars, meantemp)
    means = _pool_scan(pools)[0]
    v += _excess(means[1], 5.0 * means[2]) + _excess(means[2], 5.0 * means[1])
    dint = _sample_interval(fluxes.shape[1], time0, time_last)
    log_eqf = math.log(eqf)
    tot = _flux_totals(fluxes)
    for i in range(6):
        f_in, f_out = _carbon_budget(tot, i)
        v += _steady_violation(f_in, f_out, _mean_sampled(pools, i, dint), pools[i, 0], log_eqf)
    return v + _tail_violation(pools, means, _PARMAX_400)


@njit(cache=True, nogil=True, error_model="numpy")
def edc_violation_811(pars, pools, fluxes, meantemp, time0, time_last, eqf, precip):
    """Graded distance [log units] of a DALEC 809/811 run from passing every EDC (see
    :func:`edc_violation_400`)."""
    v = _pre_violation(pars, meantemp)
    v += _excess(pars[28], pars[27]) + _excess(pars[29], pars[27])
    means = _pool_scan(pools)[0]
    v += _excess(means[1], 5.0 * means[2]) + _excess(means[2], 5.0 * means[1])
    n_steps = fluxes.shape[1]
    dint = _sample_interval(n_steps, time0, time_last)
    log_eqf = math.log(eqf)
    tot = _flux_totals(fluxes)
    for i in range(7):
        f_in, f_out = _budget_811(tot, precip, n_steps, i)
        v += _steady_violation(f_in, f_out, _mean_sampled(pools, i, dint), pools[i, 0], log_eqf)
    v += _excess(pars[25], means[6])
    return v + _tail_violation(pools, means, _PARMAX_811)


@njit(cache=True, nogil=True, error_model="numpy")
def edc_violation_1005(pars, pools, fluxes, meantemp, time0, time_last, eqf, precip):
    """Graded distance [log units] of a DALEC 1005 run from passing every EDC (see
    :func:`edc_violation_400`)."""
    v = _pre_violation(pars, meantemp)
    v += _excess(pars[28], pars[27]) + _excess(pars[29], pars[27])
    state = pools[:_N_POOLS_1005]
    means = _pool_scan(state)[0]
    v += _excess(means[1], 5.0 * means[2]) + _excess(means[2], 5.0 * means[1])
    n_steps = fluxes.shape[1]
    dint = _sample_interval(n_steps, time0, time_last)
    log_eqf = math.log(eqf)
    tot = _flux_totals(fluxes)
    for i in range(_N_POOLS_1005):
        f_in, f_out = _budget_1005(tot, precip, n_steps, i)
        v += _steady_violation(f_in, f_out, _mean_sampled(state, i, dint), state[i, 0], log_eqf)
    v += _excess(pars[25], means[6])
    return v + _tail_violation(state, means, _PARMAX_1005)


#: model name -> (pre-run EDC function, post-run EDC function). The post-run functions of 400,
#: 809/811 and 1005 take different arguments (809/811 add ``meanprec, precip``, 1005
#: ``precip``).
EDCS = {
    "400": (edc_pre_400, edc_post_400),
    "809": (edc_pre_811, edc_post_811),
    "811": (edc_pre_811, edc_post_811),
    "1005": (edc_pre_1005, edc_post_1005),
}


# ------------------------------------------------------------------------- python helpers


def edc_passfail(
    model_name,
    pars,
    pools,
    fluxes,
    drivers: Mapping,
    eqf: float = 2.0,
    reference_means: tuple[float, float] | None = None,
) -> np.ndarray:
    """CARDAMOM's 100-slot EDC pass/fail vector (1 = pass) in diagnostic mode.

    Both stages are evaluated, the post-run one even when the pre-run one fails (as
    CARDAMOM's ``DALEC_MLF`` does with ``EDCDIAG = 1``). Arguments as in :func:`edc_report`.
    """
    key = get_model(model_name).name
    if key not in EDCS:
        raise KeyError(f"no JPL EDCs for model {key!r}; available: {', '.join(EDCS)}")
    pre, post = EDCS[key]
    pars = np.ascontiguousarray(pars, dtype=np.float64)
    pools = np.asarray(pools, dtype=np.float64)
    fluxes = np.asarray(fluxes, dtype=np.float64)
    n_pools, n_slots = {"400": (6, 28), "1005": (9, 32)}.get(key, (7, 30))
    if pools.ndim != 2 or pools.shape[0] != n_pools:
        raise ValueError(f"model {key}: pools must be ({n_pools}, N+1); got {pools.shape}")
    if fluxes.ndim != 2 or fluxes.shape != (n_slots, pools.shape[1] - 1):
        raise ValueError(
            f"model {key}: fluxes must be ({n_slots}, N) with N = {pools.shape[1] - 1} "
            f"(pools have N+1 states); got {fluxes.shape}"
        )
    time = np.asarray(drivers["time"], dtype=np.float64)
    tmin = np.asarray(drivers["tmin"], dtype=np.float64)
    tmax = np.asarray(drivers["tmax"], dtype=np.float64)
    if key == "400":
        precip = np.zeros_like(tmin)  # model 400 has no precipitation column
    else:
        precip = np.ascontiguousarray(drivers["precip"], dtype=np.float64)
    if reference_means is None:
        means = _driver_means_1005 if key == "1005" else _driver_means
        meantemp, meanprec = means(tmin, tmax, precip)
    else:
        meantemp, meanprec = reference_means
    flags = np.ones(N_EDC, dtype=np.int64)
    pre(pars, float(meantemp), flags, True)
    t0, t1 = float(time[0]), float(time[-1])
    if key == "400":
        post(pars, pools, fluxes, t0, t1, float(eqf), flags, True)
    elif key == "1005":
        post(pars, pools, fluxes, t0, t1, float(eqf), precip, flags, True)
    else:
        post(pars, pools, fluxes, t0, t1, float(eqf), float(meanprec), precip, flags, True)
    return flags


def edc_report(
    model_name,
    pars,
    pools,
    fluxes,
    drivers_mapping: Mapping,
    eqf: float = 2.0,
    reference_means: tuple[float, float] | None = None,
) -> dict[int, bool]:
    """Evaluate every EDC of a JPL model for one run, in diagnostic mode.

    Parameters
    ----------
    model_name : str
        ``"400"``, ``"809"``, ``"811"`` or ``"1005"`` (or any alias :func:`dalec.get_model`
        accepts).
    pars : array_like, shape (n_parameters,)
        The parameter vector of the run.
    pools : array_like, shape (n_pools, N+1)
        Pools of the run, ``pools[pool, state]`` (the kernel layout).
    fluxes : array_like, shape (n_fluxes, N)
        Flux slots of the run, ``fluxes[slot, step]``.
    drivers_mapping : mapping
        ``time`` [d], ``tmin``, ``tmax`` [degC] and, for 809/811/1005, ``precip``
        [kg m-2 d-1] on the N steps (a pixel :class:`xarray.Dataset` works).
    eqf : float
        Equilibrium factor of the steady-state EDCs (CARDAMOM default 2).
    reference_means : (float, float), optional
        Prescribed (T̄ [degC], P̄ [kg m-2 d-1]); by default the driver means, accumulated as
        CARDAMOM does.

    Returns
    -------
    dict of int to bool
        For each EDC number of the model family (:data:`EDC_NAMES`), True if it passes.
    """
    flags = edc_passfail(model_name, pars, pools, fluxes, drivers_mapping, eqf, reference_means)
    names = EDC_NAMES[get_model(model_name).name]
    return {k: bool(flags[k - 1]) for k in names}


__all__ = [
    "EDCS",
    "EDC_NAMES",
    "EDC_NAMES_400",
    "EDC_NAMES_811",
    "EDC_NAMES_1005",
    "edc_passfail",
    "edc_post_400",
    "edc_post_811",
    "edc_post_1005",
    "edc_pre_400",
    "edc_pre_811",
    "edc_pre_1005",
    "edc_report",
    "edc_violation_400",
    "edc_violation_811",
    "edc_violation_1005",
]
