"""The many-pixel subcommands of ``dalec-mdf``: calibrate --pixels, pixels, status, merge, validate.

``dalec-mdf calibrate --pixels LIST --out-dir RUN`` calibrates this array task's shard of the
list (``--shard/--n-shards``, by default from ``SLURM_ARRAY_TASK_ID``/``..._COUNT`` or the SGE,
PBS and LSF equivalents) on all the task's cores; ``status`` says which pixels are done,
running, interrupted, failed or pending; ``merge`` writes the CF product; ``validate`` scores
withheld months. See docs/batch.md for a SLURM script.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger("mdf")


def add_calibrate_arguments(cal: argparse.ArgumentParser) -> None:
    """Options of ``calibrate``'s many-pixel form, and run options both forms share."""
    shared = cal.add_argument_group("run options (both forms)")
    shared.add_argument("--warm-start", dest="warm_start", action="store_true", default=None,
                        help="CMA-ES climb before burn-in (default: on for demcz and am)")
    shared.add_argument("--no-warm-start", dest="warm_start", action="store_false",
                        default=None)
    shared.add_argument("--no-edc", dest="edc", action="store_false", default=True,
                        help="switch the model's ecological constraints off")
    shared.add_argument("--block", type=int, default=None,
                        help="iterations between convergence tests and checkpoints (default 20000)")
    many = cal.add_argument_group("many pixels (instead of DRIVERS and --out)")
    many.add_argument("--pixels", default=None, metavar="LIST",
                      help="pixel list file, folder of driver files, or gridded netCDF input")
    many.add_argument("--out-dir", default=None, metavar="DIR",
                      help="run folder: results/<pixel>.nc, checkpoints, claims, failures")
    many.add_argument("--shard", type=int, default=None,
                      help="this task's shard, 0-based (default: from SLURM_ARRAY_TASK_ID, "
                           "SGE_TASK_ID, PBS_ARRAY_INDEX or LSB_JOBINDEX)")
    many.add_argument("--n-shards", type=int, default=None,
                      help="number of shards (default: SLURM_ARRAY_TASK_COUNT or the SGE range)")
    many.add_argument("--workers", type=int, default=None,
                      help="pixels in parallel (default: the task's cores / --threads)")
    many.add_argument("--executor", default="process", choices=["process", "dask", "mpi"],
                      help="process pool on this node (default), a dask cluster, or MPI")
    many.add_argument("--scheduler", default=None,
                      help="dask scheduler address or scheduler file (default: a LocalCluster)")
    many.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                      help="least seconds between a pixel's checkpoint writes (default 60; "
                           "0: after every block)")
    many.add_argument("--select", default=None, metavar="IDS",
                      help="only these pixels of the list (of this shard): comma-separated "
                           "ids, or @FILE with one id per line")
    many.add_argument("--retry-failed", action="store_true",
                      help="attempt again the pixels whose last attempt failed")
    many.add_argument("--land-mask", default=None,
                      help="for gridded --pixels: netCDF mask, cells where it is 0 are left out")
    many.add_argument("--sites", default=None,
                      help="site table (site names and land-cover classes of the pixels)")


def _calibrate_defaults() -> dict:
    """Defaults of the ``calibrate`` subcommand's options (dest -> default)."""
    from .cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    defaults: dict = {}
    for action in sub.choices["calibrate"]._actions:  # the first of a dest is argparse's
        defaults.setdefault(action.dest, action.default)
    return defaults


def _bar(total: int):
    """A tqdm bar over pixels when stderr is a terminal; None in batch logs."""
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="pixel", desc="pixels")


def _ids(text: str) -> list[str]:
    """Pixel ids from ``a,b,c`` or ``@file`` (one per line; blank lines and # comments out)."""
    if text.startswith("@"):
        lines = Path(text[1:]).read_text(encoding="utf-8").splitlines()
        return [s.split("#")[0].strip() for s in lines if s.split("#")[0].strip()]
    return [s.strip() for s in text.split(",") if s.strip()]


def cmd_calibrate_many(args) -> int:
    from .batch import calibrate_many, resolve_shard, task_pixels
    from .executors import available_cores, dask_executor, mpi_executor, process_pool
    from .pixels import open_pixels

    if args.out_dir is None:
        raise SystemExit("dalec-mdf calibrate: --pixels needs --out-dir")
    if args.drivers is not None or args.out is not None:
        raise SystemExit("dalec-mdf calibrate: give DRIVERS --out (one pixel) or --pixels "
                         "--out-dir (many), not both")
    pixels = open_pixels(args.pixels, land_mask=args.land_mask, sites=args.sites)
    shard, n_shards = resolve_shard(args.shard, args.n_shards)
    select = _ids(args.select) if args.select else None
    part = task_pixels(pixels, shard, n_shards, select)
    threads = args.threads or 1
    workers = args.workers or max(1, available_cores() // threads)
    bar = _bar(len(part))
    worker_level = logging.WARNING if bar is not None else log.getEffectiveLevel()
    failed = []

    def on_outcome(outcome):
        if outcome.status == "failed":
            failed.append(outcome)
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{outcome.pixel_id} {outcome.status}")

    # the options given on the command line (a default of the CLI stands for mdf.calibrate's)
    defaults = _calibrate_defaults()
    options = {k: getattr(args, k) for k in ("chains", "iterations", "burn_in", "max_burn_in",
                                             "reparam", "starts", "thin", "sampler", "draws",
                                             "scaling", "warm_start", "edc", "block")
               if getattr(args, k) != defaults.get(k)}
    log.info("%d pixels in %s; shard %d of %d: %d pixels on %d %s worker(s) x %d thread(s)",
             len(pixels), args.pixels, shard, n_shards, len(part), workers, args.executor,
             threads)

    def run(executor):
        return calibrate_many(pixels, args.out_dir, args.model, seed=args.seed, executor=executor,
                              threads=threads, shard=shard, n_shards=n_shards, select=select,
                              retry_failed=args.retry_failed, on_outcome=on_outcome,
                              checkpoint_every=args.checkpoint_every, **options)

    try:
        if args.executor == "dask":
            with dask_executor(args.scheduler, workers, threads, worker_level) as ex:
                run(ex)
        elif args.executor == "mpi":
            with mpi_executor() as ex:
                run(ex)
        elif workers == 1:
            run(None)
        else:
            with process_pool(workers, threads, worker_level) as ex:
                run(ex)
    finally:
        if bar is not None:
            bar.close()
    for outcome in failed:
        log.error("pixel %s failed: %s", outcome.pixel_id, outcome.message)
    return 1 if failed else 0


def cmd_pixels(args) -> int:
    from .pixels import open_pixels

    pixels = open_pixels(args.source, land_mask=args.land_mask, sites=args.sites)
    pixels.write(args.out)
    log.info("wrote %s: %d pixels%s", args.out, len(pixels),
             " on a grid" if pixels.grid else "")
    return 0


def cmd_status(args) -> int:
    from .runfolder import STATES, RunFolder

    folder = RunFolder(args.run_dir)
    states = folder.states(stale_after=args.stale_after)
    counts = folder.counts(states)
    print(f"{folder.path}: {len(states)} pixels: "
          + ", ".join(f"{counts[s]} {s}" for s in STATES))
    for state in args.list or []:
        for pid, s in states.items():
            if s != state:
                continue
            detail = ""
            if s == "failed":
                detail = folder.failure_path(pid).read_text().splitlines()[0]
            elif s in ("running", "interrupted") and folder.claim_path(pid).exists():
                detail = folder.claim_path(pid).read_text()
            elif s == "done":
                detail = _result_verdict(folder.result_path(pid))
            print(f"{s:<12}{pid}  {detail}")
    return 0


def _result_verdict(path) -> str:
    """'converged' or 'not converged', and the chain groups when there are several."""
    import netCDF4

    try:
        with netCDF4.Dataset(path) as nc:
            attrs = {k: nc.getncattr(k) for k in ("converged", "n_chain_groups",
                                                   "chain_groups") if k in nc.ncattrs()}
    except OSError as exc:
        return f"unreadable result: {exc}"
    text = "converged" if int(attrs.get("converged", 0)) else "not converged"
    if int(attrs.get("n_chain_groups", 1)) > 1:
        text += (f"; chains in {int(attrs['n_chain_groups'])} separate regions "
                 f"({attrs.get('chain_groups', '')})")
    return text


def cmd_merge(args) -> int:
    from .merge import merge

    summary = merge(args.run_dir, args.out, layout=args.layout)
    print(f"{summary['path']}: {summary['done']} of {summary['n_pixels']} pixels "
          f"({summary['failed']} failed, {summary['not_done']} not done; "
          f"{summary['converged']} of the done converged); sink "
          f"{summary['sink']}, neutral {summary['neutral']}, source {summary['source']}; sign "
          f"known at 95 % for {100 * summary['fraction_sign_known']:.1f} % of the done pixels"
          + (f" ({100 * summary['fraction_sign_known_converged']:.1f} % of the converged)"
             if summary["converged"] else "")
          + f"; CARDAMOM's test (PSRF of log P, last 10 %, < 1.2) passed at "
            f"{summary['cardamom_passed']}"
          + (f"; chains in separate regions (modes, or not mixed) at "
             f"{summary['separate_regions']} pixels" if summary["separate_regions"] else ""))
    if args.figure:
        try:
            from .maps import plot_product

            plot_product(args.out, args.figure)
            log.info("wrote %s", args.figure)
        except ImportError:
            log.warning("matplotlib is not installed: no figure (pip install 'dalec-mdf[plot]')")
    return 0


def cmd_validate(args) -> int:
    from .validate_run import format_summary, validate_run

    rows, summary = validate_run(args.run_dir, args.withheld, args.out)
    if not rows:
        log.error("no finished pixel of %s has a validation table in %s", args.run_dir,
                  args.withheld)
        return 1
    out = args.out or args.run_dir
    if not args.summary_only:
        for r in rows:
            print(f"{r['site']:<10}{r['land_cover']:<5}{r['variable']:<5}n={r['n']:<4} "
                  f"NSE {r['model_nse']:6.2f} (clim {r['baseline_nse']:6.2f})  r "
                  f"{r['model_r']:5.2f}  RMSE {r['model_rmse']:6.2f}  bias "
                  f"{r['model_bias']:6.2f}  cov90 {r['model_coverage90']:4.2f}"
                  f"{'  (not converged)' if r['converged'] == 0.0 else ''}")
    print(f"Withheld-month skill of {len({r['pixel_id'] for r in rows})} sites (model | "
          "training-climatology baseline; medians over sites; conv = share of sites whose "
          "calibration converged; beats = share of sites with model NSE > baseline NSE)")
    print(format_summary(summary))
    print(f"tables: {out}/validation_sites.csv, {out}/validation_summary.csv")
    return 0


def add_subcommands(sub) -> None:
    """Register ``pixels``, ``status``, ``merge`` and ``validate``."""
    p = sub.add_parser("pixels", help="write the pixel list of a folder, grid or list")
    p.add_argument("source", help="folder of driver files, gridded netCDF, or pixel list")
    p.add_argument("--out", required=True, help="pixel list (CSV)")
    p.add_argument("--land-mask", default=None, help="netCDF land mask for gridded input")
    p.add_argument("--sites", default=None, help="site table (names, land-cover classes)")
    p.set_defaults(func=cmd_pixels)

    s = sub.add_parser("status", help="count a run folder's pixels by state")
    s.add_argument("run_dir")
    s.add_argument("--list", action="append",
                   choices=["done", "running", "interrupted", "failed", "pending"],
                   help="also list the pixels in this state (repeatable)")
    s.add_argument("--stale-after", type=float, default=3600.0,
                   help="seconds without a heartbeat after which a claim counts as interrupted")
    s.set_defaults(func=cmd_status)

    m = sub.add_parser("merge", help="merge a run folder into a CF netCDF product")
    m.add_argument("run_dir")
    m.add_argument("--out", required=True, help="product file (.nc)")
    m.add_argument("--layout", default="auto", choices=["auto", "grid", "site"])
    m.add_argument("--figure", default=None, help="also draw the class maps (PNG, PDF)")
    m.set_defaults(func=cmd_merge)

    v = sub.add_parser("validate", help="withheld-month skill of a run (FluxVal benchmark)")
    v.add_argument("run_dir")
    v.add_argument("--withheld", required=True,
                   help="folder of validation_<SITE>.csv tables")
    v.add_argument("--out", default=None, help="folder for the tables (default: RUN_DIR)")
    v.add_argument("--summary-only", action="store_true",
                   help="print only the medians (every site's scores are still written)")
    v.set_defaults(func=cmd_validate)


__all__ = ["add_calibrate_arguments", "add_subcommands", "cmd_calibrate_many"]
