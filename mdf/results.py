"""The product of a calibration: posterior, diagnostics, flux and pool ensembles, headline.

:class:`CalibrationResult` holds the kept draws and everything derived from them, and writes
one netCDF file with ArviZ's group layout (``posterior``, ``sample_stats``, ``observed_data``,
``posterior_predictive``, ``constant_data``) plus ``diagnostics`` and ``summary`` groups,
readable with ``xarray.open_datatree`` and ``arviz.from_netcdf``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from dalec.variables import attrs as var_attrs

QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)


def observable_series(model, name, pars, pools, fluxes) -> np.ndarray:
    """Model equivalent of an observation stream on every step, numpy over samples.

    Parameters
    ----------
    model : dalec.Model
        The model (its ``observables`` define each stream's operator).
    name : str
        Stream name (``'nee'``, ``'lai'``, ...).
    pars : ndarray
        ``(S, P)`` parameters in model units.
    pools : ndarray
        ``(S, n_pools, N+1)`` pools [g m-2] at the step boundaries.
    fluxes : ndarray
        ``(S, n_fluxes, N)`` mean fluxes over each step [g m-2 d-1].

    Returns
    -------
    ndarray
        ``(S, N)``: a signed sum of fluxes, or a sum of pools at the start, end or middle of
        each step, divided by a parameter where the operator says so (LAI = foliar carbon /
        LCMA [m2 m-2]).
    """
    obs = model.observables[name]
    if obs.fluxes:
        out = sum(sign * fluxes[:, model.flux_index(f), :] for f, sign in obs.fluxes)
    else:
        idx = [model.pool_index(p) for p in obs.pools]
        total = pools[:, idx, :].sum(axis=1)
        out = {"start": total[:, :-1], "end": total[:, 1:],
               "mid": 0.5 * (total[:, :-1] + total[:, 1:])}[obs.at]
    if obs.divide_by is not None:
        out = out / pars[:, model.parameter_names.index(obs.divide_by), None]
    return np.asarray(out)


def classify(p_sink: np.ndarray, confidence: float = 0.95) -> np.ndarray:
    """Sink (P(NBE<0) >= confidence), source (P(NBE>0) >= confidence) or neutral.

    Parameters
    ----------
    p_sink : array_like
        Posterior probability that the run-mean NBE is negative [1].
    confidence : float, default 0.95
        Probability [1] needed to call a sign.

    Returns
    -------
    ndarray of str
        ``'sink'``, ``'source'`` or ``'neutral'``, shaped like ``p_sink``.
    """
    p_sink = np.asarray(p_sink)
    return np.where(p_sink >= confidence, "sink",
                    np.where(1.0 - p_sink >= confidence, "source", "neutral"))


@dataclass
class CalibrationResult:
    """A calibrated pixel.

    Attributes
    ----------
    model : dalec.Model
    pixel : xarray.Dataset
    settings : mdf.calibration.Settings
        The settings that determined the chains.
    parameters : ndarray (chain, draw, parameter)
        Kept draws in model units.
    log_posterior : ndarray (chain, draw)
        Log-posterior of each kept draw.
    acceptance : ndarray (chain,)
        Acceptance rate [1] of each chain, as the sampler reported it after the last block.
    diagnostics : dict
        ``rhat``, ``ess_bulk``, ``ess_tail``, ``psrf`` per parameter (phase parameters
        wrapped modulo 365.25) and for the log-posterior (last entry).
    ensemble : xarray.Dataset
        Pools, fluxes and derived series for ``draws`` posterior draws (chain, draw, time).
    start_iterations : ndarray (chain,)
        Iterations each chain's start-point search took.
    rescued : int, default 0
        Chains restarted from the best chain during early burn-in.
    burn_in_iterations, sampling_iterations : int, default 0
        Iterations per chain run in burn-in (more than ``settings.burn_in`` when
        ``max_burn_in`` extended it) and in sampling.
    converged : bool, default False
        Whether the diagnostics met the targets (:meth:`check_convergence`).
    chain_groups : list of list of int, optional
        Chains grouped by the region they sampled (:func:`mdf.diagnostics.chain_groups`):
        one group when they overlap; more when chains settled apart (separate modes, or
        regions the sampler did not mix between), which :meth:`check_convergence` reports.
    """

    model: object
    pixel: xr.Dataset
    settings: object
    parameters: np.ndarray
    log_posterior: np.ndarray
    acceptance: np.ndarray
    diagnostics: dict
    ensemble: xr.Dataset
    start_iterations: np.ndarray
    rescued: int = 0
    burn_in_iterations: int = 0
    sampling_iterations: int = 0
    converged: bool = False
    chain_groups: list | None = None
    _run: object = field(default=None, repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_run(cls, run, n_draws: int = 500, threads: int = 1) -> CalibrationResult:
        problem = run.problem
        space = problem.space
        from .calibration import _target_draws, target_diagnostics
        from .diagnostics import chain_groups

        first = getattr(run, "first_kept", 0)  # until_converged: earlier draws were burn-in
        pars = space.from_normalised(run.draws[:, first:])
        targets = _target_draws(run, first)  # the diagnostics and the groups read the same
        diag = target_diagnostics(run, first, targets)
        groups = chain_groups(targets)
        ensemble = posterior_ensemble(problem, pars, n_draws, threads)
        return cls(
            model=problem.model, pixel=problem.pixel, settings=run.settings, parameters=pars,
            log_posterior=run.lp[:, first:], acceptance=np.asarray(run.accept),
            diagnostics=diag,
            ensemble=ensemble, start_iterations=run.start_iterations, rescued=run.rescued,
            burn_in_iterations=int(run.done_burn), sampling_iterations=int(run.done_sample),
            chain_groups=groups, _run=run,
        )

    def check_convergence(self, target_rhat: float = 1.05, target_ess: float = 400.0) -> bool:
        """Set and return ``converged``; warn (ConvergenceWarning) if not."""
        from .calibration import ConvergenceWarning

        rhat = self.diagnostics["rhat"]
        ess = self.diagnostics["ess_bulk"]
        bad = [n for n, r, e in zip(self.diagnostics["names"], rhat, ess, strict=True)
               if not (r <= target_rhat and e >= target_ess)]
        self.converged = not bad
        groups = self.chain_groups or []
        if len(groups) > 1:
            warnings.warn(
                f"{self.pixel.attrs.get('pixel_id', 'pixel')}: the chains settled in "
                f"{len(groups)} separate regions ({_format_groups(groups)}): separate modes, or "
                "regions the sampler has not mixed between; the ensemble pools them. Compare "
                "the groups' draws before using it (result.chain_groups).",
                ConvergenceWarning,
                stacklevel=3,
            )
        if bad:
            warnings.warn(
                f"{self.pixel.attrs.get('pixel_id', 'pixel')}: not converged "
                f"(R-hat <= {target_rhat} and bulk ESS >= {target_ess} fail for "
                f"{len(bad)} of {len(rhat)}: {', '.join(bad[:6])}{' ...' if len(bad) > 6 else ''}"
                f"; max R-hat {np.nanmax(rhat):.3f}, min ESS {np.nanmin(ess):.0f}). "
                "Extend the run with result.extend(iterations).",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self.converged

    def extend(self, iterations: int, threads: int | None = None, checkpoint=None,
               draws: int | None = None, checkpoint_every: float = 60.0) -> CalibrationResult:
        """Continue sampling ``iterations`` more per chain from the final state
        (``checkpoint`` and ``checkpoint_every`` as in :func:`mdf.calibrate`).

        Returns a new result whose draws are the old ones followed by the new ones.
        """
        import copy
        import os
        from dataclasses import replace
        from pathlib import Path

        from .calibration import _advance

        run = copy.copy(self._run)  # this result keeps its own run state
        run.state = {k: np.array(v, copy=True) for k, v in self._run.state.items()}
        run.settings = replace(run.settings, iterations=run.done_sample + iterations,
                               until_converged=False)
        run.stopped = False
        _advance(run, threads or os.cpu_count() or 1,
                 Path(checkpoint) if checkpoint else None, None, checkpoint_every)
        out = CalibrationResult.from_run(run, n_draws=draws or self.ensemble.sizes["draw"]
                                         * self.ensemble.sizes["chain"])
        out.check_convergence(run.settings.target_rhat, run.settings.target_ess)
        return out

    # ------------------------------------------------------------------ products
    @property
    def p_sink(self) -> float:
        """Posterior probability that the run-mean NBE is negative (a net sink)."""
        return float(np.mean(self.ensemble["nee"].mean("time").values < 0))

    def summary(self, confidence: float = 0.95) -> dict:
        """Headline numbers of the pixel."""
        nbe = self.ensemble["nee"].mean("time").values.ravel()
        return {
            "p_sink": self.p_sink,
            "class": str(classify(self.p_sink, confidence)),
            "mean_nbe_median": float(np.median(nbe)),
            "mean_nbe_q025": float(np.quantile(nbe, 0.025)),
            "mean_nbe_q975": float(np.quantile(nbe, 0.975)),
            "max_rhat": float(np.nanmax(self.diagnostics["rhat"])),
            "min_ess_bulk": float(np.nanmin(self.diagnostics["ess_bulk"])),
            "converged": bool(self.converged),
        }

    def to_datatree(self) -> xr.DataTree:
        """All groups as an :class:`xarray.DataTree`."""
        model = self.model
        chains, n_draw, _ = self.parameters.shape
        coords = {"chain": np.arange(chains), "draw": np.arange(n_draw)}
        posterior = xr.Dataset(
            {p.name: (("chain", "draw"), self.parameters[:, :, i],
                      {"units": p.units, "long_name": p.description, "symbol": p.symbol})
             for i, p in enumerate(model.parameters)},
            coords=coords,
        )
        sample_stats = xr.Dataset(
            {
                "lp": (("chain", "draw"), self.log_posterior,
                       {"long_name": "log-posterior (no normalising constants, as CARDAMOM)"}),
                "acceptance_rate": ("chain", np.asarray(self.acceptance, dtype=float),
                                    {"long_name": "acceptance rate of the last block"}),
                "start_search_iterations": ("chain", self.start_iterations),
            },
            coords={"chain": np.arange(chains), "draw": np.arange(n_draw)},
        )
        names = self.diagnostics["names"]
        diagnostics = xr.Dataset(
            {k: ("variable", np.asarray(self.diagnostics[k]))
             for k in ("rhat", "ess_bulk", "ess_tail", "psrf")},
            coords={"variable": names},
            attrs={"comment": "rank-normalised split R-hat and ESS (Vehtari et al. 2021); "
                              "psrf = classic Gelman-Rubin as CARDAMOM; phase parameters "
                              "wrapped modulo 365.25 d", "converged": int(self.converged)},
        )
        obs = self.pixel[[v for v in self.pixel.data_vars
                          if str(v).endswith("_obs") or str(v).endswith("_obs_unc")]]
        met = self.pixel[[v for v in model.drivers if v in self.pixel]]
        constant = met.assign(
            prior_min=("parameter", model.bounds[:, 0]),
            prior_max=("parameter", model.bounds[:, 1]),
        ).assign_coords(parameter=model.parameter_names)
        summ = self.summary()
        summary = _summary_dataset(self, summ)
        tree = xr.DataTree.from_dict({
            "/": xr.Dataset(attrs=self._root_attrs(summ)),
            "posterior": posterior,
            "sample_stats": sample_stats,
            "observed_data": _strip(obs),
            "posterior_predictive": self.ensemble,
            "constant_data": _strip(constant),
            "diagnostics": diagnostics,
            "summary": summary,
        })
        return tree

    def _root_attrs(self, summ) -> dict:
        from dataclasses import asdict

        from .diagnostics import cardamom_psrf

        s = asdict(self.settings)
        return {
            "Conventions": "CF-1.12",
            "title": f"DALEC {self.model.name} calibration of "
                     f"{self.pixel.attrs.get('pixel_id', '')}",
            "source_file": str(self.pixel.attrs.get("source_file", "")),
            "model": self.model.name,
            "p_sink": summ["p_sink"],
            "sink_source_class": summ["class"],
            "converged": int(self.converged),
            "cardamom_psrf": cardamom_psrf(self.log_posterior),
            "n_chain_groups": len(self.chain_groups) if self.chain_groups else 1,
            "chain_groups": _format_groups(self.chain_groups or []),
            "burn_in_iterations": self.burn_in_iterations,
            "sampling_iterations": self.sampling_iterations,
            **{f"setting_{k}": (v if not isinstance(v, bool) else int(v)) for k, v in s.items()},
        }

    def to_netcdf(self, path) -> None:
        """Write every group to one netCDF4 file (atomically)."""
        from .io import write_datatree

        write_datatree(self.to_datatree(), path)


def _format_groups(groups) -> str:
    """Chain groups as text: ``"0 1 | 2 3"`` (chains separated by spaces, groups by bars)."""
    return " | ".join(" ".join(str(c) for c in g) for g in groups)


def _strip(ds: xr.Dataset) -> xr.Dataset:
    """Drop attributes netCDF cannot hold (None, bool) and CBF header blocks."""
    ds = ds.copy()
    for v in list(ds.variables):
        ds[v].attrs = {k: (int(a) if isinstance(a, bool) else a)
                       for k, a in ds[v].attrs.items() if a is not None}
    ds.attrs = {k: (int(a) if isinstance(a, bool) else a) for k, a in ds.attrs.items()
                if a is not None and not isinstance(a, dict)}
    return ds


def _summary_dataset(result, summ) -> xr.Dataset:
    ens = result.ensemble
    q = np.asarray(QUANTILES)
    data = {}
    for name in ("nee", "gpp", "lai", "reco"):
        data[f"{name}_quantiles"] = (
            ("quantile", "time"),
            ens[name].quantile(q, dim=("chain", "draw")).values,
            {**var_attrs(name), "long_name": f"posterior quantiles of {name}"},
        )
    pars = result.parameters.reshape(-1, result.parameters.shape[2])
    data["parameter_quantiles"] = (("quantile", "parameter"), np.quantile(pars, q, axis=0))
    data["p_sink"] = ((), summ["p_sink"], {
        "long_name": "posterior probability that the run-mean NBE is negative (net sink)"})
    data["sink_source_class"] = ((), summ["class"], {
        "comment": "sink if P(mean NBE < 0) >= 0.95, source if P(mean NBE > 0) >= 0.95, "
                   "else neutral"})
    return xr.Dataset(
        data,
        coords={"quantile": q, "time": ens["time"].values,
                "parameter": result.model.parameter_names},
    )


def posterior_ensemble(problem, pars: np.ndarray, n_draws: int, threads: int = 1) -> xr.Dataset:
    """Run ``n_draws`` kept draws forward (evenly thinned per chain): (chain, draw, time).

    Parameters
    ----------
    problem : mdf.Problem
        The calibration problem (model, pixel, forcing).
    pars : ndarray
        ``(chain, kept, parameter)`` kept draws in model units.
    n_draws : int
        Total members wanted; ``n_draws // chain`` per chain (at least 1, at most all kept).
    threads : int, default 1
        Numba threads for the ensemble kernel.

    Returns
    -------
    xarray.Dataset
        Pools [g m-2], fluxes [g m-2 d-1] and LAI [m2 m-2] per member on ``(chain, draw,
        time)``, with NPP allocation fractions [1] and mean residence times [a] per member.
    """
    import numba

    from dalec.api import allocate, to_dataset

    model = problem.model
    chains, kept, d = pars.shape
    per_chain = max(1, min(kept, n_draws // chains))
    pick = np.linspace(0, kept - 1, per_chain).round().astype(int)
    sel = np.ascontiguousarray(pars[:, pick, :].reshape(-1, d))
    pools, fluxes = allocate(model, sel.shape[0], problem.n_steps)
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    model.ensemble_kernel(problem.forcing, problem.site, sel, pools, fluxes)
    ds = to_dataset(model, problem.pixel["time"].values, problem.site[0], sel, pools, fluxes)
    ds = ds.drop_vars("parameters").drop_vars("parameter")
    # allocation fractions of NPP and mean residence times per pool, per member
    npp = fluxes[:, model.flux_index("gpp")].sum(axis=1) - fluxes[:, model.flux_index("ra")].sum(
        axis=1)
    for name in ("alloc_foliar", "alloc_labile", "alloc_root", "alloc_wood"):
        if name in model.fluxes:
            ds[f"npp_fraction_{name[6:]}"] = (
                "sample", fluxes[:, model.flux_index(name)].sum(axis=1) / npp,
                {"units": "1", "long_name": f"fraction of NPP allocated to {name[6:]}"})
    for pool, outs in model.pool_outflows.items():
        stock = pools[:, model.pool_index(pool)].mean(axis=1)
        out = sum(fluxes[:, model.flux_index(f)] for f in outs).mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mrt = stock / out / 365.25
        ds[f"mrt_{pool}"] = ("sample", mrt, {"units": "a",
                                             "long_name": f"mean residence time of {pool}"})
    # fraction of the ensemble within one observation uncertainty, per stream
    for stream in problem.likelihood.names:
        if stream not in model.observables or f"{stream}_obs" not in problem.pixel:
            continue
        frac = _within_uncertainty(problem, stream, sel, pools, fluxes)
        if frac is not None:
            ds.attrs[f"fraction_within_unc_{stream}"] = frac
    ds = ds.assign_coords(
        chain=("sample", np.repeat(np.arange(chains), per_chain)),
        draw=("sample", np.tile(np.arange(per_chain), chains)),
    ).set_index(sample=("chain", "draw")).unstack("sample")
    return ds.transpose("chain", "draw", ...)


def _within_uncertainty(problem, stream, pars, pools, fluxes):
    """Mean over observed steps of the fraction of members within ±1 σ (or ×/÷ u)."""
    from drivers.options import get_obs_options

    from .likelihood import DEFAULT_UNC

    obs = np.asarray(problem.pixel[f"{stream}_obs"].values, dtype=float)
    ok = np.isfinite(obs) & (obs > -9998)
    if not ok.any():
        return None
    opts = get_obs_options(problem.pixel, stream)
    default = opts.unc if np.isfinite(opts.unc) else DEFAULT_UNC.get(stream, ("", np.nan))[1]
    unc = np.full(obs.shape, default)
    if f"{stream}_obs_unc" in problem.pixel:
        u = np.asarray(problem.pixel[f"{stream}_obs_unc"].values, dtype=float)
        have = np.isfinite(u) & (u > -9998)
        unc[have] = u[have]
    model_obs = observable_series(problem.model, stream, pars, pools, fluxes)[:, ok]
    o = obs[ok]
    u = unc[ok]
    if opts.error_type == "lognormal":
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = np.abs(np.log(model_obs / o)) <= np.log(u)
    else:
        inside = np.abs(model_obs - o) <= u
    return float(inside.mean())
