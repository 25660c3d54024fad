"""Figures of a merged product (matplotlib is an optional extra: ``dalec-mdf[plot]``).

:func:`plot_product` draws the sink/neutral/source class of every pixel and P(NBE < 0) on
latitude-longitude axes (cells for a grid, points for sites), and the share of each class with
the headline number of the analysis: the fraction of pixels whose sign (sink or source) is
known at 95 % posterior probability.
"""

from __future__ import annotations

import numpy as np

from .merge import CLASS_FLAGS

COLOURS = {"sink": "#1b7837", "neutral": "#bdbdbd", "source": "#b35806"}


def plot_product(product, path=None, *, dpi: int = 150):
    """Class map, P(NBE < 0) map and class shares of a product from :func:`mdf.merge.merge`.

    Parameters
    ----------
    product : path or xarray.Dataset
    path : path, optional
        Save the figure here (PNG, PDF, ...).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        matplotlib is not installed.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import xarray as xr
    from matplotlib.colors import BoundaryNorm, ListedColormap

    ds = product if isinstance(product, xr.Dataset) else xr.open_dataset(product)
    classes = ds["sink_source_class"].values.astype(float)
    p_sink = ds["p_sink"].values.astype(float)
    names = list(CLASS_FLAGS)
    cmap = ListedColormap([COLOURS[n] for n in names])
    norm = BoundaryNorm(np.arange(len(names) + 1) - 0.5, len(names))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2),
                             gridspec_kw={"width_ratios": [1, 1, 0.45]})
    done = np.isfinite(classes)
    if "lat" in ds.dims:
        lon, lat = ds["lon"].values, ds["lat"].values
        m0 = axes[0].pcolormesh(lon, lat, np.ma.masked_invalid(classes), cmap=cmap, norm=norm,
                                shading="nearest")
        m1 = axes[1].pcolormesh(lon, lat, np.ma.masked_invalid(p_sink), cmap="BrBG",
                                vmin=0, vmax=1, shading="nearest")
    else:
        lon, lat = ds["longitude"].values, ds["latitude"].values
        m0 = axes[0].scatter(lon[done], lat[done], c=classes[done], cmap=cmap, norm=norm, s=14,
                             edgecolors="k", linewidths=0.2)
        m1 = axes[1].scatter(lon[done], lat[done], c=p_sink[done], cmap="BrBG", vmin=0, vmax=1,
                             s=14, edgecolors="k", linewidths=0.2)
    bar = fig.colorbar(m0, ax=axes[0], ticks=range(len(names)), fraction=0.035)
    bar.ax.set_yticklabels(names)
    fig.colorbar(m1, ax=axes[1], fraction=0.035, label="P(mean NBE < 0)")
    for ax, title in zip(axes[:2], ("Sink / source at 95 % posterior probability",
                                    "Posterior probability of a net sink"), strict=True):
        ax.set(xlabel="longitude [degrees_east]", ylabel="latitude [degrees_north]",
               title=title, xlim=(-180, 180), ylim=(-90, 90), aspect="equal")
    n_done = int(done.sum())
    counts = [int(np.sum(classes[done] == CLASS_FLAGS[n])) for n in names]
    shares = [c / max(n_done, 1) for c in counts]
    axes[2].bar(names, shares, color=[COLOURS[n] for n in names])
    for k, (c, s) in enumerate(zip(counts, shares, strict=True)):
        axes[2].text(k, s, f"{c}", ha="center", va="bottom")
    known = (counts[0] + counts[2]) / max(n_done, 1)
    axes[2].set(ylim=(0, 1), ylabel="fraction of calibrated pixels",
                title=f"sign known: {100 * known:.1f} % of {n_done}")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig


__all__ = ["plot_product"]
