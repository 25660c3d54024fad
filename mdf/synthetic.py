"""Synthetic-truth pixels (OSSE): observations drawn from a known parameter vector.

:func:`synthetic_pixel` keeps a real pixel's drivers, observation pattern (which streams,
which steps) and uncertainties, replaces every assimilated observation with the model's value
at a known parameter vector plus noise drawn at the stated uncertainty, and records the truth.
Calibrating the result tests whether posteriors cover the truth at their stated level.
"""

from __future__ import annotations

import numpy as np

import dalec
from drivers.options import constraints, get_obs_options, obs_streams

from .likelihood import DEFAULT_UNC, LikelihoodError
from .results import observable_series


def synthetic_pixel(pixel, model, truth, rng, *, noise: bool = True, streams=None):
    """A copy of ``pixel`` whose observations are simulated from ``truth``.

    Parameters
    ----------
    pixel : xarray.Dataset
        Real pixel: drivers, observation pattern and uncertainties are kept.
    model : str or dalec.Model
    truth : array_like
        The true parameter vector [model units].
    rng : numpy.random.Generator
    noise : bool
        Add noise at the stated uncertainty (Gaussian: N(0, σ); log-normal: a factor
        ``exp(N(0, ln u))``); False gives noise-free observations.
    streams : iterable of str, optional
        Streams to simulate (default: every assimilated stream the model can simulate);
        other observation streams are removed.

    Returns
    -------
    xarray.Dataset
        With ``attrs["synthetic_truth"]`` (the vector) and ``attrs["synthetic_model"]``.
        Scalar constraints are dropped (they would constrain towards the real data), except
        that parameter priors are kept.
    """
    model = dalec.get_model(model)
    truth = np.asarray(truth, dtype=np.float64)
    out = pixel.copy(deep=True)
    run = dalec.run(model, pixel, truth[None, :])
    pars = truth[None, :]
    pools = np.stack([run[p].values for p in model.pools], axis=1)
    fluxes = np.stack([run[f].values for f in model.fluxes], axis=1)
    keep = set(streams) if streams is not None else None
    for stream in obs_streams(pixel):
        opts = get_obs_options(pixel, stream)
        wanted = (keep is None and opts.assimilate) or (keep is not None and stream in keep)
        if not wanted or stream not in model.observables:
            out = out.drop_vars([v for v in (f"{stream}_obs", f"{stream}_obs_unc")
                                 if v in out])
            continue
        values = np.asarray(pixel[f"{stream}_obs"].values, dtype=float)
        ok = np.isfinite(values) & (values > -9998)
        sim = observable_series(model, stream, pars, pools, fluxes)[0]
        unc = _uncertainty(pixel, stream, opts)
        new = np.full(values.shape, np.nan)
        if noise:
            e = rng.standard_normal(values.shape)
            if opts.error_type == "lognormal":
                new[ok] = sim[ok] * np.exp(e[ok] * np.log(unc[ok]))
            else:
                new[ok] = sim[ok] + e[ok] * unc[ok]
        else:
            new[ok] = sim[ok]
        out[f"{stream}_obs"].values[:] = new
    for name in constraints(pixel):
        out = out.drop_vars(f"constraint_{name}")
    out.attrs["synthetic_truth"] = truth
    out.attrs["synthetic_model"] = model.name
    out.attrs["pixel_id"] = f"{pixel.attrs.get('pixel_id', 'pixel')}_synthetic"
    return out


def _uncertainty(pixel, stream, opts) -> np.ndarray:
    """Per-step uncertainty of a stream as the likelihood uses it (σ or factor)."""
    default = opts.unc if np.isfinite(opts.unc) else DEFAULT_UNC.get(stream, ("", np.nan))[1]
    n = pixel.sizes["time"]
    unc = np.full(n, default, dtype=float)
    name = f"{stream}_obs_unc"
    if name in pixel:
        series = np.asarray(pixel[name].values, dtype=float)
        have = np.isfinite(series) & (series > -9998)
        unc[have] = series[have]
    if opts.error_type != "lognormal":
        if np.isfinite(opts.structural_unc):
            unc = np.sqrt(unc**2 + opts.structural_unc**2)
        if np.isfinite(opts.floor):
            unc = np.maximum(unc, opts.floor)
    if not np.all(np.isfinite(unc)):
        raise LikelihoodError(f"stream {stream!r} has no uncertainty to draw noise from")
    return unc
