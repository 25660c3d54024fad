"""Cost terms of a model family beyond its observation streams, and the family's conventions.

The generic likelihood (:mod:`mdf.likelihood`) scores observation streams, scalar constraints
on emergent quantities it knows and parameter priors. Some reference implementations add terms
that fit none of these, such as Edinburgh CARDAMOM's "other priors" (modelled initial soil
water, ET/precipitation ratio, a wood steady state), and follow their own conventions for the
streams (how years are grouped, which fluxes are scored as annual means plus anomalies). A
:class:`FamilyTerms` holds both for one model; :class:`mdf.Problem` composes its compiled
evaluator into the log-posterior after the likelihood, and lists its terms by name.

A family registers itself with :func:`register_terms` (as EDC hooks do with
:func:`mdf.edc.hooks.register_hooks`); models without one get the generic likelihood only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from numba import njit


@dataclass(frozen=True)
class FamilyTerms:
    """What a model family adds to the generic likelihood.

    Attributes
    ----------
    evaluate : numba dispatcher
        ``evaluate(pars, pools, fluxes, data, terms, offset) -> float``: the sum of the extra
        log-likelihood terms of one run; term ``k`` is also written to ``terms[offset + k]``.
        May return ``-inf`` (a run the family rejects).
    build : callable
        ``build(model, pixel) -> (data, names)``: the float64 array ``evaluate`` reads (built
        once per pixel) and the term names, in the order ``evaluate`` writes them.
    constraints : callable
        ``constraints(model, pixel) -> set of str``: the pixel's constraints that ``evaluate``
        scores, which the generic likelihood must leave alone.
    likelihood_options : mapping
        Keyword arguments for :func:`mdf.likelihood.build_likelihood` (``annual_groups``,
        ``aggregations``) that make the streams follow the family's conventions.
    """

    evaluate: Callable
    build: Callable
    constraints: Callable
    likelihood_options: Mapping = field(default_factory=dict)


TERMS: dict[str, FamilyTerms] = {}


def register_terms(model_name: str, terms: FamilyTerms) -> None:
    """Attach a family's extra terms and conventions to a model name."""
    TERMS[str(model_name)] = terms


def terms_for(model) -> FamilyTerms | None:
    """The :class:`FamilyTerms` of ``model`` (None: generic likelihood only)."""
    from . import gcel  # noqa: F401  (registers the Edinburgh family)

    return TERMS.get(model.name)


@njit(cache=True, nogil=True, error_model="numpy")
def no_terms(pars, pools, fluxes, data, terms, offset):
    """The evaluator of a model without extra terms: adds nothing."""
    return 0.0


def no_data(model, pixel):
    return np.zeros(1), []


__all__ = ["FamilyTerms", "TERMS", "no_terms", "register_terms", "terms_for"]
