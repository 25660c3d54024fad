"""Uniform EDC hooks the log-posterior composes with a model kernel.

Every model family's EDC functions take different arguments; here each gets two adapters with
one signature, ``pre(pars, data, flags, diag)`` and ``post(pars, pools, fluxes, data, flags,
diag)``, and a ``data`` builder that packs what they need (mean temperature, time span,
equilibrium factor, ...) into one float64 array, once per pixel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from .jpl import (
    EDC_NAMES,
    edc_post_400,
    edc_post_811,
    edc_post_1005,
    edc_pre_400,
    edc_pre_811,
    edc_pre_1005,
    edc_violation_400,
    edc_violation_811,
    edc_violation_1005,
)


@njit(cache=True, nogil=True, error_model="numpy")
def no_violation(pars, pools, fluxes, data):
    """No graded EDC distance: the start search sees only the failure count."""
    return 0.0


@dataclass(frozen=True)
class EdcHooks:
    """The pre-run and post-run EDC adapters of a model family, their data builder, the
    EDC numbers with their meaning, the length of the pass/fail vector they write and,
    optionally, a graded distance from passing, ``violation(pars, pools, fluxes, data)``
    [>= 0], that guides the start search (:mod:`mdf.start`).

    ``search_weight`` multiplies that distance in the search's objective (a log density: a
    weight of 1 makes one log unit of violation cost a factor e in acceptance), and
    ``search_patience`` restarts a search attempt from a new prior draw once its best score
    has not improved for that many iterations (0: only after ``max_iter``)."""

    pre: Callable
    post: Callable
    data: Callable
    names: dict
    n_flags: int = 100
    violation: Callable = no_violation
    search_weight: float = 1.0
    search_patience: int = 0


def _jpl_data(model, pixel, forcing, site, eqf) -> np.ndarray:
    """``[meantemp, time0, time_last, eqf, meanprec, precip...]`` as CARDAMOM has them (the
    means the model ran with where its ``site`` carries them: 809/811, 1005)."""
    from dalec.models.dalec811 import reference_means

    tmin = pixel["tmin"].values
    tmax = pixel["tmax"].values
    precip = pixel["precip"].values if "precip" in pixel else np.zeros_like(tmin)
    t_mean, p_mean = reference_means(tmin, tmax, precip)
    if site.size >= 3:  # 809/811, 1005 carry the means they ran with (possibly user-given)
        t_mean, p_mean = float(site[1]), float(site[2])
    time = pixel["time"].values
    head = [t_mean, float(time[0]), float(time[-1]), float(eqf), p_mean]
    return np.concatenate([np.array(head), np.asarray(precip, dtype=np.float64)])


@njit(cache=True, nogil=True, error_model="numpy")
def _pre_400(pars, data, flags, diag):
    return edc_pre_400(pars, data[0], flags, diag)


@njit(cache=True, nogil=True, error_model="numpy")
def _post_400(pars, pools, fluxes, data, flags, diag):
    return edc_post_400(pars, pools, fluxes, data[1], data[2], data[3], flags, diag)


@njit(cache=True, nogil=True, error_model="numpy")
def _pre_811(pars, data, flags, diag):
    return edc_pre_811(pars, data[0], flags, diag)


@njit(cache=True, nogil=True, error_model="numpy")
def _post_811(pars, pools, fluxes, data, flags, diag):
    return edc_post_811(pars, pools, fluxes, data[1], data[2], data[3], data[4], data[5:],
                        flags, diag)


@njit(cache=True, nogil=True, error_model="numpy")
def _violation_400(pars, pools, fluxes, data):
    return edc_violation_400(pars, pools, fluxes, data[0], data[1], data[2], data[3])


@njit(cache=True, nogil=True, error_model="numpy")
def _violation_811(pars, pools, fluxes, data):
    return edc_violation_811(pars, pools, fluxes, data[0], data[1], data[2], data[3], data[5:])


@njit(cache=True, nogil=True, error_model="numpy")
def _pre_1005(pars, data, flags, diag):
    return edc_pre_1005(pars, data[0], flags, diag)


@njit(cache=True, nogil=True, error_model="numpy")
def _post_1005(pars, pools, fluxes, data, flags, diag):
    return edc_post_1005(pars, pools, fluxes, data[1], data[2], data[3], data[5:], flags, diag)


@njit(cache=True, nogil=True, error_model="numpy")
def _violation_1005(pars, pools, fluxes, data):
    return edc_violation_1005(pars, pools, fluxes, data[0], data[1], data[2], data[3], data[5:])


HOOKS = {
    "400": EdcHooks(_pre_400, _post_400, _jpl_data, EDC_NAMES["400"], violation=_violation_400),
    "809": EdcHooks(_pre_811, _post_811, _jpl_data, EDC_NAMES["809"], violation=_violation_811),
    "811": EdcHooks(_pre_811, _post_811, _jpl_data, EDC_NAMES["811"], violation=_violation_811),
    "1005": EdcHooks(_pre_1005, _post_1005, _jpl_data, EDC_NAMES["1005"],
                     violation=_violation_1005),
}


def register_hooks(model_name: str, hooks: EdcHooks) -> None:
    """Attach EDC hooks to a model name (used by model families outside this module)."""
    HOOKS[str(model_name)] = hooks


def hooks_for(model) -> EdcHooks | None:
    """The EDC hooks of ``model`` (None if the model has no EDCs)."""
    return HOOKS.get(model.name)
