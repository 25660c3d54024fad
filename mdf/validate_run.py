"""Withheld-month skill of a whole run: per site, median over sites, by land-cover class.

For every finished pixel of a run folder whose site has a validation table
(``validation_<SITE>.csv`` in the withheld folder, :func:`drivers.validation.read_validation`),
the posterior ensemble is scored on the withheld months (:func:`mdf.validation.score_withheld`:
Nash-Sutcliffe efficiency, Pearson r, RMSE, bias and 90 % coverage) beside the training-
climatology baseline, for GPP, NEE and ET (those the model simulates). This is the
CARDAMOM-FluxVal benchmark when the run folder holds the 204 FluxVal sites.

Each site also carries whether its calibration converged (the result's ``converged``: R-hat
and bulk ESS targets met), and the summary gives the converged share of every group and the
medians over the converged sites alone (group ``converged``), so that skill is not read off
chains that had not mixed.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .runfolder import RunFolder, atomic_write_text
from .validation import VARIABLES, score_withheld

log = logging.getLogger(__name__)

METRICS = ("nse", "r", "rmse", "bias")
SCORES = (*(f"model_{m}" for m in (*METRICS, "coverage90", "coverage90_model")),
          *(f"baseline_{m}" for m in METRICS))
COLUMNS = ("pixel_id", "site", "land_cover", "variable", "n", *SCORES, "converged")


def _load(path: Path):
    """The ensemble, training observations and convergence flag of a result file (a
    duck-typed result)."""
    import xarray as xr

    with xr.open_dataset(path, decode_times=False) as root:
        converged = root.attrs.get("converged")
    with xr.open_dataset(path, group="posterior_predictive", decode_times=False) as pp:
        keep = [v for v, _ in VARIABLES.values() if v in pp]
        ensemble = pp[keep].load()
    with xr.open_dataset(path, group="observed_data", decode_times=False) as obs:
        pixel = obs.load()
    converged = np.nan if converged is None else float(bool(converged))
    return SimpleNamespace(ensemble=ensemble, pixel=pixel, converged=converged)


def validation_file(withheld: Path, spec) -> Path | None:
    """``validation_<site>.csv`` (or ``validation_<pixel_id>.csv``) in ``withheld``, if any."""
    for name in (spec.site, spec.pixel_id):
        if name:
            path = withheld / f"validation_{name}.csv"
            if path.is_file():
                return path
    return None


def score_run(run_dir, withheld) -> list[dict]:
    """Per-site, per-variable skill rows (:data:`COLUMNS`) of a run's finished pixels.

    Parameters
    ----------
    run_dir : path
        Run folder (:mod:`mdf.runfolder`).
    withheld : path
        Folder of validation CSVs (``validation_<SITE>.csv``); pixels without one are left out.

    Returns
    -------
    list of dict
        Metrics in the observations' units: GPP and NEE [g m-2 d-1], ET [kg m-2 d-1];
        ``converged`` is 1.0 or 0.0 (NaN for a result that does not say).
    """
    from drivers.validation import read_validation

    folder = RunFolder(run_dir)
    withheld = Path(withheld)
    if not withheld.is_dir():
        raise FileNotFoundError(f"{withheld}: no such folder of validation tables")
    pixels = folder.pixels()
    states = folder.states(pixels.ids())
    rows, no_table, not_done = [], 0, 0
    for spec in pixels:
        table = validation_file(withheld, spec)
        if table is None:
            no_table += 1
            continue
        if states[spec.pixel_id] != "done":
            not_done += 1
            continue
        result = _load(folder.result_path(spec.pixel_id))
        scores = score_withheld(result, read_validation(table))
        for var, s in scores.items():
            base = s["baseline"] or {}
            rows.append({
                "pixel_id": spec.pixel_id, "site": spec.site or spec.pixel_id,
                "land_cover": spec.land_cover or "-", "variable": var, "n": s["model"]["n"],
                **{f"model_{m}": s["model"][m] for m in (*METRICS, "coverage90",
                                                         "coverage90_model")},
                **{f"baseline_{m}": base.get(m, np.nan) for m in METRICS},
                "converged": result.converged,
            })
    log.info("scored %d sites; %d pixels have no validation table, %d with one are not done",
             len({r["pixel_id"] for r in rows}), no_table, not_done)
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Medians over sites per variable: all sites, the converged ones, each land-cover class.

    Parameters
    ----------
    rows : list of dict
        Per-site rows of :func:`score_run`.

    Returns
    -------
    list of dict
        Each row: ``group`` ('all', 'converged' or the class), ``variable``, ``sites``, the
        medians of every model and baseline metric, ``beats_baseline`` (fraction of sites
        whose model NSE exceeds the baseline's) and ``converged`` (fraction of the group's
        sites whose calibration converged; NaN where no result says). The 'converged' group
        is left out when no site converged.
    """
    out = []
    groups = ["all", "converged", *sorted({r["land_cover"] for r in rows})]
    variables = [v for v in VARIABLES if any(r["variable"] == v for r in rows)]

    def member(r, group):
        if group == "converged":
            return r.get("converged") == 1.0
        return group == "all" or r["land_cover"] == group

    for group in groups:
        for var in variables:
            sel = [r for r in rows if r["variable"] == var and member(r, group)]
            if not sel:
                continue
            entry = {"group": group, "variable": var, "sites": len(sel)}
            for col in SCORES:
                values = np.array([r[col] for r in sel], dtype=float)
                entry[col] = float(np.nanmedian(values)) if np.isfinite(values).any() else np.nan
            m = np.array([r["model_nse"] for r in sel], dtype=float)
            b = np.array([r["baseline_nse"] for r in sel], dtype=float)
            ok = np.isfinite(m) & np.isfinite(b)
            entry["beats_baseline"] = float(np.mean(m[ok] > b[ok])) if ok.any() else np.nan
            conv = np.array([r.get("converged", np.nan) for r in sel], dtype=float)
            known = np.isfinite(conv)
            entry["converged"] = float(conv[known].mean()) if known.any() else np.nan
            out.append(entry)
    return out


def write_table(rows: list[dict], path) -> Path:
    """Write rows as CSV (atomically); floats with 6 significant digits."""
    if not rows:
        return atomic_write_text(Path(path), "")
    lines = [",".join(rows[0])]
    for r in rows:
        lines.append(",".join(f"{v:.6g}" if isinstance(v, float) else str(v)
                              for v in r.values()))
    return atomic_write_text(Path(path), "\n".join(lines) + "\n")


def format_summary(summary: list[dict]) -> str:
    """A plain-text table of :func:`summarise` for the terminal.

    Parameters
    ----------
    summary : list of dict
        Rows of :func:`summarise`.

    Returns
    -------
    str
    """
    head = (f"{'group':<10}{'var':<5}{'sites':>6} {'conv':>5}  {'NSE':>6} {'r':>6} {'RMSE':>6} "
            f"{'bias':>7} {'cov90':>6}  | baseline {'NSE':>6} {'r':>6} {'RMSE':>6} {'bias':>7}  "
            f"{'beats':>5}")
    lines = [head, "-" * len(head)]
    for e in summary:
        lines.append(
            f"{e['group']:<10}{e['variable']:<5}{e['sites']:>6} {e['converged']:5.2f}  "
            f"{e['model_nse']:6.2f} "
            f"{e['model_r']:6.2f} {e['model_rmse']:6.2f} {e['model_bias']:7.2f} "
            f"{e['model_coverage90']:6.2f}  |          {e['baseline_nse']:6.2f} "
            f"{e['baseline_r']:6.2f} {e['baseline_rmse']:6.2f} {e['baseline_bias']:7.2f}  "
            f"{e['beats_baseline']:5.2f}"
        )
    return "\n".join(lines)


def validate_run(run_dir, withheld, out_dir=None) -> tuple[list[dict], list[dict]]:
    """Score a run, write ``validation_sites.csv`` and ``validation_summary.csv``.

    Parameters
    ----------
    run_dir, withheld : path
        As :func:`score_run`.
    out_dir : path, optional
        Where the two tables go (default: ``run_dir``).

    Returns
    -------
    (rows, summary)
    """
    rows = score_run(run_dir, withheld)
    summary = summarise(rows)
    out_dir = Path(run_dir if out_dir is None else out_dir)
    write_table(rows, out_dir / "validation_sites.csv")
    write_table(summary, out_dir / "validation_summary.csv")
    return rows, summary


def read_table(path) -> list[dict]:
    """Rows of a table written by :func:`write_table` (numbers as float)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k, v in r.items():
            try:
                r[k] = float(v)
            except ValueError:
                pass
    return rows


__all__ = ["format_summary", "read_table", "score_run", "summarise", "validate_run",
           "write_table"]
