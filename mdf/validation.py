"""Skill on withheld months: the calibrated ensemble against a training climatology.

For each variable (GPP, NEE, ET) and the withheld months of a site, the posterior median
prediction is scored with Nash-Sutcliffe efficiency, Pearson r, RMSE and bias, and the 90 %
predictive band with its coverage (the fraction of withheld observations inside the 5-95 %
quantiles of the ensemble). The baseline predicts each withheld month with the mean of the
training observations of the same calendar month (the FluxVal README's climatology baseline).
"""

from __future__ import annotations

import numpy as np

#: withheld variable -> (ensemble variable, training stream in the pixel)
VARIABLES = {"gpp": ("gpp", "gpp"), "nee": ("nee", "nbe"), "et": ("et", "et")}


def skill(pred, obs) -> dict[str, float]:
    """Nash-Sutcliffe efficiency, Pearson r, RMSE and bias (pred - obs) over finite pairs.

    Parameters
    ----------
    pred, obs : array_like
        Predicted and observed series, same shape and units.

    Returns
    -------
    dict of str to float
        ``n`` (finite pairs), ``nse`` [1], ``r`` [1], ``rmse`` and ``bias`` (units of the
        series); NaN scores when fewer than 3 pairs (and ``nse``/``r`` when a series is
        constant).
    """
    pred = np.asarray(pred, dtype=float)
    obs = np.asarray(obs, dtype=float)
    ok = np.isfinite(pred) & np.isfinite(obs)
    p, o = pred[ok], obs[ok]
    if o.size < 3:
        return {"n": int(o.size), "nse": np.nan, "r": np.nan, "rmse": np.nan, "bias": np.nan}
    resid = p - o
    denom = np.sum((o - o.mean()) ** 2)
    return {
        "n": int(o.size),
        "nse": float(1 - np.sum(resid**2) / denom) if denom > 0 else np.nan,
        "r": float(np.corrcoef(p, o)[0, 1]) if np.std(p) > 0 and np.std(o) > 0 else np.nan,
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "bias": float(np.mean(resid)),
    }


def climatology(pixel, stream: str, months: np.ndarray) -> np.ndarray:
    """Training-period mean of ``stream`` for each calendar month, at the given steps.

    Parameters
    ----------
    pixel : xarray.Dataset
        The calibration pixel (its ``<stream>_obs`` and ``time`` [days since 2001-01-01]).
    stream : str
        Observation stream (``'gpp'``, ``'nee'``, ``'et'``).
    months : ndarray of int
        Step indices at which the climatology is wanted.

    Returns
    -------
    ndarray
        The mean of the finite observations of each step's calendar month, in the stream's
        units; NaN for a month never observed.
    """
    time = pixel["time"].values
    days = np.floor(time).astype("int64")
    month_of = (np.datetime64("2001-01-01", "D") + days.astype("timedelta64[D]")).astype(
        "datetime64[M]").astype(np.int64) % 12
    obs = np.asarray(pixel[f"{stream}_obs"].values, dtype=float)
    clim = np.full(12, np.nan)
    for m in range(12):
        sel = (month_of == m) & np.isfinite(obs)
        if sel.any():
            clim[m] = obs[sel].mean()
    return clim[month_of[months]]


def score_withheld(result, validation) -> dict[str, dict]:
    """Score a calibration's ensemble on withheld months.

    Parameters
    ----------
    result : mdf.results.CalibrationResult
    validation : xarray.Dataset
        From :func:`drivers.validation.read_validation`.

    Returns
    -------
    dict
        ``{variable: {"model": skill + coverage90 + coverage90_model, "baseline": skill}}``
        for each withheld variable the model simulates and the file holds. ``coverage90`` is
        the fraction of withheld observations inside the 5-95 % posterior *predictive* band:
        ensemble members plus observation noise drawn at the training stream's stated
        uncertainty (as the likelihood uses it; a fixed seed, so scores are reproducible).
        ``coverage90_model`` uses the ensemble alone (the model's own spread), and is also
        what ``coverage90`` falls back to when the pixel carries no uncertainty for the
        stream.
    """
    ens = result.ensemble
    steps = np.asarray(validation["step"].values)
    inside = steps < ens.sizes["time"]
    steps = steps[inside]
    out = {}
    for var, (ens_var, stream) in VARIABLES.items():
        if var not in validation or ens_var not in ens:
            continue
        obs = np.asarray(validation[var].values, dtype=float)[inside]
        members = ens[ens_var].values.reshape(-1, ens.sizes["time"])[:, steps]
        median = np.median(members, axis=0)
        ok = np.isfinite(obs)
        model = skill(median, obs)
        lo, hi = np.quantile(members, [0.05, 0.95], axis=0)
        covered = (obs[ok] >= lo[ok]) & (obs[ok] <= hi[ok])
        model["coverage90_model"] = float(np.mean(covered)) if ok.any() else np.nan
        band = _predictive_band(members, result.pixel, stream, steps)
        if band is not None:
            lo, hi = band
            covered = (obs[ok] >= lo[ok]) & (obs[ok] <= hi[ok])
        model["coverage90"] = float(np.mean(covered)) if ok.any() else np.nan
        base = (skill(climatology(result.pixel, stream, steps), obs)
                if f"{stream}_obs" in result.pixel else None)
        out[var] = {"model": model, "baseline": base}
    return out


def _predictive_band(members, pixel, stream, steps):
    """5-95 % band of ``members`` (draw, step) plus observation noise at the stream's stated
    uncertainty at ``steps``; None if the pixel does not say what that uncertainty is."""
    from drivers.options import get_obs_options

    from .synthetic import _uncertainty

    if f"{stream}_obs" not in pixel:
        return None
    try:
        opts = get_obs_options(pixel, stream)
        unc = _uncertainty(pixel, stream, opts)[steps]
    except Exception:  # no usable uncertainty: the caller keeps the ensemble's own band
        return None
    e = np.random.default_rng(0).standard_normal(members.shape)
    if opts.error_type == "lognormal":
        noisy = members * np.exp(e * np.log(unc))
    else:
        noisy = members + e * unc
    return np.quantile(noisy, [0.05, 0.95], axis=0)
