"""Samplers: small classes with one job, chosen by name (``demcz``, ``am``, ``cardamom``,
``edinburgh``, ``emcee``)."""

from __future__ import annotations

from .am import AdaptiveMetropolis
from .base import Sampler
from .demcz import DEMCz

_SAMPLERS = {"am": AdaptiveMetropolis, "demcz": DEMCz}


def register_sampler(name: str, cls) -> None:
    _SAMPLERS[name] = cls


def get_sampler(name) -> Sampler:
    """A sampler instance by name, or the instance itself."""
    if isinstance(name, Sampler):
        return name
    if name == "cardamom" and "cardamom" not in _SAMPLERS:
        from .cardamom import CardamomMHMCMC

        _SAMPLERS["cardamom"] = CardamomMHMCMC
    if name == "edinburgh" and "edinburgh" not in _SAMPLERS:
        from .edinburgh import EdinburghAPMCMC

        _SAMPLERS["edinburgh"] = EdinburghAPMCMC
    if name == "emcee" and "emcee" not in _SAMPLERS:
        from .ensemble import EmceeSampler

        _SAMPLERS["emcee"] = EmceeSampler
    try:
        return _SAMPLERS[name]()
    except KeyError:
        raise ValueError(
            f"unknown sampler {name!r}; choose from demcz, am, cardamom, edinburgh, emcee"
        ) from None


__all__ = ["AdaptiveMetropolis", "DEMCz", "Sampler", "get_sampler", "register_sampler"]
