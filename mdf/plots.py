"""Figures of a calibration (matplotlib is an optional extra: ``pip install dalec-mdf[plot]``)."""

from __future__ import annotations

import numpy as np

from dalec.variables import attrs as var_attrs

_PANELS = (
    ("nee", "nbe", "Net biome exchange (NBE)"),
    ("gpp", "gpp", "Gross primary productivity"),
    ("lai", "lai", "Leaf area index"),
)


def _dates(time_days):
    return np.datetime64("2001-01-01", "s") + (np.asarray(time_days) * 86400).astype(
        "timedelta64[s]")


def plot_posterior_bands(result, path=None, *, dpi: int = 150):
    """NEE/NBE, GPP and LAI posterior bands against the observations.

    Each panel shows the 2.5-97.5 % and 25-75 % posterior predictive bands and the median of
    the model ensemble, and the observations with their ±1 σ uncertainty as error bars (for
    log-normal streams the bars span ``obs/u`` to ``obs·u``). Returns the figure; saves it to
    ``path`` if given.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from drivers.options import get_obs_options

    from .likelihood import DEFAULT_UNC

    ens = result.ensemble
    pixel = result.pixel
    time = _dates(pixel["time"].values)
    fig, axes = plt.subplots(3, 1, figsize=(10, 9), sharex=True, constrained_layout=True)
    for ax, (var, stream, title) in zip(axes, _PANELS, strict=True):
        values = ens[var].values.reshape(-1, ens.sizes["time"])
        q = np.quantile(values, [0.025, 0.25, 0.5, 0.75, 0.975], axis=0)
        ax.fill_between(time, q[0], q[4], color="tab:green", alpha=0.25,
                        label="95 % posterior band")
        ax.fill_between(time, q[1], q[3], color="tab:green", alpha=0.45,
                        label="50 % posterior band")
        ax.plot(time, q[2], color="darkgreen", lw=1.2, label="posterior median")
        name = f"{stream}_obs"
        if name in pixel:
            obs = np.asarray(pixel[name].values, dtype=float)
            ok = np.isfinite(obs)
            opts = get_obs_options(pixel, stream)
            unc = opts.unc if np.isfinite(opts.unc) else DEFAULT_UNC.get(stream, ("", np.nan))[1]
            u = np.full(obs.shape, unc)
            if f"{name}_unc" in pixel:
                su = np.asarray(pixel[f"{name}_unc"].values, dtype=float)
                u = np.where(np.isfinite(su), su, u)
            if opts.error_type == "lognormal":
                err = np.vstack([obs - obs / u, obs * u - obs])
            else:
                err = np.vstack([u, u])
            used = "" if opts.assimilate else " (not assimilated)"
            if ok.any():
                ax.errorbar(time[ok], obs[ok], yerr=err[:, ok], fmt="o", ms=3, color="black",
                            ecolor="0.4", elinewidth=0.8, capsize=1.5,
                            label=f"observations ±1σ{used}")
        units = var_attrs(var)["units"]
        ax.set_ylabel(f"{var.upper()} [{units}]")
        ax.set_title(title, loc="left", fontsize=11)
        ax.grid(alpha=0.3)
        if var == "nee":
            ax.axhline(0.0, color="0.3", lw=0.8)
        ax.legend(loc="upper left", fontsize=8, ncol=2, frameon=True)
    axes[-1].set_xlabel("Date")
    s = result.summary()
    fig.suptitle(
        f"{pixel.attrs.get('pixel_id', '')}: DALEC {result.model.name}, "
        f"{result.parameters.shape[0]} chains; P(mean NBE < 0) = {s['p_sink']:.2f} "
        f"({s['class']}); max R-hat {s['max_rhat']:.2f}",
        fontsize=11,
    )
    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig
