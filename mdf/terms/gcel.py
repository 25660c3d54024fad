"""Edinburgh CARDAMOM's cost function for DALEC.C1 and DALEC.4: "other priors" and conventions.

What ``MODEL_LIKELIHOOD.f90`` (GCEL/CARDAMOM commit 36267339, ``model/<M>/likelihood/``) adds to
the streams the generic likelihood scores. Each term is ``-0.5·w·((M - O)/σ)²`` and, like the
parameter priors, is not divided by the cost-function scaling (options 1-3 scale the streams
only). The "other priors" come from slots 1, 4 and 5 of the binary input's other-prior block
(:mod:`drivers.edinburgh_bin` names them ``other_prior_1``, ``et_precip_ratio`` and
``other_prior_5``; the descriptive names below are accepted too):

==================  ======  ==========================================================
term                model   model quantity M
==================  ======  ==========================================================
initial_soil_water  DALEC.4 volumetric water of soil layer 1 after the spin-up (slot 1),
                            ``W_1(0) · 10⁻³ / 0.30 m`` [m3 m-3]
ra_gpp_ratio        C1      ``ΣRa / ΣGPP`` over the run (slot 1; scored only if > 0, weight
                            ignored, as the C1 Fortran does)
et_precip_ratio     DALEC.4 ``ΣET / ΣP`` of the step means [kg m-2 d-1] (slot 4)
wood_steady_state   both    mean wood allocation x mean wood residence time,
                            ``(ΣA_w/N)·(Σ C_w(n)/(T_w(n) + K_w(n))/N)`` [g m-2] (slot 5; C1
                            ignores the weight)
==================  ======  ==========================================================

and a guard: a run whose mid-step foliage is negative at an observed LAI step scores -inf.

Conventions for the streams (see :data:`LIKELIHOOD_OPTIONS`): GPP, NBE and fire are scored as
annual means plus anomalies from them, years being consecutive blocks of ``N // Y`` steps
from the start of the run, ``Y = nint(ΣΔt/365.25)``, and a year's σ is
``sqrt(Σσ²)/n`` of its observed steps (used for the anomalies too).

Differences from the Fortran, deliberate: the wood steady state uses the wood fire-mortality
flux (the Fortran adds flux 25, the *foliar* fire mortality) and the N start-of-step stocks
(the Fortran divides N+1 stocks by N flux values, reading one value past the end of the flux
column). Both matter only with fire; neither changes a fire-free site.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from drivers.options import constraints, get_obs_options

from ..likelihood import LikelihoodError
from . import FamilyTerms, register_terms

K_SOIL_WATER, K_ET_PRECIP, K_WOOD_SS, K_RA_GPP = 1, 2, 3, 4
_ROW = 6  # kind, value, unc, weight, constant, spare
_NAMES = {
    K_SOIL_WATER: "initial_soil_water",
    K_ET_PRECIP: "et_precip_ratio",
    K_WOOD_SS: "wood_steady_state",
    K_RA_GPP: "ra_gpp_ratio",
}
#: constraint name -> kind, per model (the Fortran's slots and their descriptive names)
_ACCEPTS = {
    "DALEC.4": {
        "other_prior_1": K_SOIL_WATER, "initial_soil_water": K_SOIL_WATER,
        "et_precip_ratio": K_ET_PRECIP,
        "other_prior_5": K_WOOD_SS, "wood_steady_state": K_WOOD_SS,
    },
    "C1": {
        "other_prior_1": K_RA_GPP, "ra_gpp_ratio": K_RA_GPP,
        "other_prior_5": K_WOOD_SS, "wood_steady_state": K_WOOD_SS,
    },
}
#: the Edinburgh stream conventions, as build_likelihood options
LIKELIHOOD_OPTIONS = {
    "annual_groups": "run_years",
    "aggregations": {"gpp": "annual_anomaly", "nbe": "annual_anomaly", "fire": "annual_anomaly"},
}


@njit(cache=True, nogil=True, error_model="numpy")
def evaluate(pars, pools, fluxes, data, terms, offset):
    """The Edinburgh other priors of one run (see the module docstring).

    ``data``: ``[n_rows, n_lai, rows (kind, value, σ, weight, constant, -), LAI steps]``.
    """
    n_rows = int(data[0])
    n_lai = int(data[1])
    base = 2 + _ROW * n_rows
    for j in range(n_lai):
        n = int(data[base + j])
        if (pools[1, n] + pools[1, n + 1]) * 0.5 < 0.0:
            return -math.inf
    n_steps = fluxes.shape[1]
    total = 0.0
    for r in range(n_rows):
        row = 2 + _ROW * r
        kind = int(data[row])
        if kind == K_SOIL_WATER:
            model = (pools[6, 0] * 1e-3) / data[row + 4]
        elif kind == K_ET_PRECIP:
            s = 0.0
            for n in range(n_steps):
                s += fluxes[28, n]
            model = s / data[row + 4]
        elif kind == K_WOOD_SS:
            into = 0.0
            residence = 0.0
            for n in range(n_steps):
                into += fluxes[6, n]
                residence += pools[3, n] / (fluxes[10, n] + fluxes[26, n])
            model = (into / n_steps) * (residence / n_steps)
        else:
            ra = 0.0
            gpp = 0.0
            for n in range(n_steps):
                ra += fluxes[2, n]
                gpp += fluxes[0, n]
            model = ra / gpp
        res = (model - data[row + 1]) / data[row + 2]
        value = -0.5 * data[row + 3] * res * res
        terms[offset + r] = value
        total += value
    return total


def _consumed(model, pixel) -> dict:
    accepts = _ACCEPTS.get(model.name, {})
    return {name: c for name, c in constraints(pixel).items() if name in accepts}


def consumed_constraints(model, pixel) -> set:
    """The pixel's constraints that these terms score (for the generic likelihood to skip)."""
    return set(_consumed(model, pixel))


def build(model, pixel):
    """``(data, names)`` of the Edinburgh other priors of ``pixel`` for ``model``.

    Raises
    ------
    LikelihoodError
        A prior that is not Gaussian, or without a positive uncertainty; two priors on the
        same quantity.
    """
    rows, names = [], []
    for name, con in _consumed(model, pixel).items():
        kind = _ACCEPTS[model.name][name]
        if not (np.isfinite(con.value) and con.value > -9998):
            continue
        if kind == K_RA_GPP and not con.value > 0:
            continue  # the C1 Fortran scores it only for a positive prior
        if con.error_type != "gaussian" or not (np.isfinite(con.unc) and con.unc > 0):
            raise LikelihoodError(
                f"{pixel.attrs.get('source_file', '<pixel>')}: constraint {name!r} for model "
                f"{model.name} must be Gaussian with an uncertainty > 0 "
                f"(got {con.error_type}, {con.unc!r})"
            )
        if _NAMES[kind] in names:
            raise LikelihoodError(
                f"{pixel.attrs.get('source_file', '<pixel>')}: two constraints on "
                f"{_NAMES[kind]!r} for model {model.name}"
            )
        weight = 1.0 if model.name == "C1" else con.weight  # C1 ignores the weights
        rows.append((kind, con.value, con.unc, weight, _constant(kind, pixel), 0.0))
        names.append(_NAMES[kind])
    order = sorted(range(len(rows)), key=lambda i: rows[i][0])  # the Fortran's order
    rows = [rows[i] for i in order]
    names = [names[i] for i in order]
    lai = _lai_steps(pixel)
    data = np.concatenate([[len(rows), lai.size], np.ravel(rows), lai]).astype(np.float64)
    return data, names


def _constant(kind, pixel) -> float:
    if kind == K_SOIL_WATER:
        from dalec.models._d4_soil import TOP_SOIL_DEPTH

        return TOP_SOIL_DEPTH
    if kind == K_ET_PRECIP:
        total = 0.0
        for p in np.asarray(pixel["precip"].values, dtype=np.float64).tolist():
            total += max(0.0, p)  # the R writer floors precipitation at 0
        return total
    return 0.0


def _lai_steps(pixel) -> np.ndarray:
    """Observed, assimilated LAI steps (where the Fortran's LAI term checks the foliage)."""
    if "lai_obs" not in pixel or not get_obs_options(pixel, "lai").assimilate:
        return np.zeros(0)
    v = np.asarray(pixel["lai_obs"].values, dtype=np.float64)
    return np.flatnonzero(np.isfinite(v) & (v > -9998)).astype(np.float64)


TERMS = FamilyTerms(evaluate, build, consumed_constraints, LIKELIHOOD_OPTIONS)
for _name in _ACCEPTS:
    register_terms(_name, TERMS)

__all__ = ["LIKELIHOOD_OPTIONS", "TERMS", "build", "consumed_constraints", "evaluate"]
