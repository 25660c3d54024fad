"""The normalised parameter space the samplers move in.

CARDAMOM samples every parameter in ``x = ln(p/min)/ln(max/min) ∈ [0, 1]``, which makes the
box prior log-uniform (constant density in x); a proposal outside [0, 1] is rejected without
running the model. Parameters flagged ``log=False`` use the linear map ``(p - min)/(max - min)``.
"""

from __future__ import annotations

import numpy as np


class ParameterSpace:
    """Bounds and transforms of one model's parameters.

    Attributes
    ----------
    lo : ndarray
        Lower bounds.
    span : ndarray
        ``ln(max/min)`` for log-scaled parameters, ``max - min`` otherwise.
    islog : ndarray of bool
    """

    def __init__(self, model):
        self.model = model
        bounds = model.bounds
        self.lo = np.ascontiguousarray(bounds[:, 0])
        self.hi = np.ascontiguousarray(bounds[:, 1])
        self.islog = np.array([p.log for p in model.parameters], dtype=np.bool_)
        self.span = np.where(self.islog, np.log(self.hi / self.lo), self.hi - self.lo)
        self.circular = np.array([p.circular for p in model.parameters], dtype=np.bool_)

    @property
    def ndim(self) -> int:
        return self.lo.size

    def to_normalised(self, pars) -> np.ndarray:
        """Parameters [model units] -> x in [0, 1] (outside for out-of-box values)."""
        pars = np.asarray(pars, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            logx = np.log(pars / self.lo) / self.span
        return np.where(self.islog, logx, (pars - self.lo) / self.span)

    def from_normalised(self, x) -> np.ndarray:
        """x -> parameters [model units]."""
        x = np.asarray(x, dtype=np.float64)
        return np.where(self.islog, self.lo * np.exp(x * self.span), self.lo + x * self.span)

    def wrap_circular(self, pars) -> np.ndarray:
        """Phase parameters (leaf onset/fall days) unwrapped around their circular mean.

        Each phase parameter is reduced modulo 365.25 d into the year centred on the circular
        mean of all the given draws, so a posterior that straddles the turn of the year stays
        in one piece (CARDAMOM's ``mod(x, 365.25) + 365.25`` would split it in two).
        """
        pars = np.array(pars, dtype=np.float64, copy=True)
        period = 365.25
        for i in np.flatnonzero(self.circular):
            angle = 2 * np.pi * pars[..., i] / period
            centre = np.arctan2(np.mean(np.sin(angle)), np.mean(np.cos(angle)))
            centre_day = np.mod(centre * period / (2 * np.pi), period)
            pars[..., i] = centre_day + np.mod(pars[..., i] - centre_day + period / 2,
                                               period) - period / 2
        return pars
