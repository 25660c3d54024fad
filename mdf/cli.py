"""The ``dalec-mdf`` command line.

Library code never prints; this module configures logging and reports to the terminal.
"""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger("mdf")


def _options(pairs):
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"dalec-mdf: --option takes KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def _pixel_key(text):
    """``--pixel``: a land-pixel index (``12``) or a ``LAT,LON`` pair (``61.75,24.25``)."""
    if text is None:
        return None
    if "," in text:
        lat, lon = text.split(",", 1)
        return (float(lat), float(lon))
    return int(text)


def _read(args, model):
    import drivers

    return drivers.read(args.drivers, require=model.drivers, pixel=_pixel_key(args.pixel))


def cmd_forward(args) -> int:
    import numpy as np

    import dalec

    from .io import read_parameter_table, write_netcdf

    model = dalec.get_model(args.model)
    pixel = _read(args, model)
    pars = read_parameter_table(args.parameters, model)
    ds = dalec.run(
        model,
        pixel,
        np.atleast_2d(pars),
        options=_options(args.option),
        strict=args.strict,
        threads=args.threads,
    )
    ds.attrs["source_file"] = str(args.drivers)
    ds.attrs["parameter_file"] = str(args.parameters)
    write_netcdf(ds, args.out)
    log.info("wrote %s: model %s, %d sample(s), %d steps", args.out, model.name,
             ds.sizes["sample"], ds.sizes["time"])
    return 0


def _progress_bar():
    """A tqdm bar when interactive and tqdm is installed; None otherwise (log lines only)."""
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    bars = {}

    def update(phase, done, total, run):
        bar = bars.get(phase)
        if bar is None:
            bar = bars[phase] = tqdm(total=total, desc=phase, unit="it", leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def cmd_calibrate(args) -> int:
    import warnings

    import dalec

    from . import calibrate

    if args.pixels is not None:  # many pixels: mdf/cli_batch.py
        from .cli_batch import cmd_calibrate_many

        return cmd_calibrate_many(args)
    if args.drivers is None or args.out is None:
        raise SystemExit("dalec-mdf calibrate: give DRIVERS --out (one pixel) or --pixels "
                         "--out-dir (many)")
    pixel = _read(args, dalec.get_model(args.model))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = calibrate(
            pixel,
            args.model,
            chains=args.chains,
            iterations=args.iterations,
            burn_in=args.burn_in,
            max_burn_in=args.max_burn_in,
            reparam=args.reparam,
            starts=args.starts,
            thin=args.thin,
            sampler=args.sampler,
            seed=args.seed,
            checkpoint=args.checkpoint,
            threads=args.threads,
            draws=args.draws,
            scaling=args.scaling,
            warm_start=args.warm_start,
            edc=args.edc,
            block=args.block,
            progress=_progress_bar(),
        )
    for w in caught:
        log.warning("%s", w.message)
    result.to_netcdf(args.out)
    summary = result.summary()
    log.info(
        "wrote %s: P(NBE<0) = %.3f (%s), max R-hat %.3f, min bulk ESS %.0f%s",
        args.out, summary["p_sink"], summary["class"], summary["max_rhat"],
        summary["min_ess_bulk"], "" if summary["converged"] else " (NOT converged)",
    )
    return 0


def cmd_demo(args) -> int:
    """Calibrate the bundled FI-Hyy FluxVal site and draw its posterior bands."""
    import warnings
    from pathlib import Path

    import drivers

    from . import calibrate

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source = drivers.data_path("flux_site_76.cbf")
    pixel = drivers.read(source)
    log.info("demo: DALEC %s on %s (FI-Hyy, CARDAMOM-FluxVal), %d chains", args.model,
             source.name, args.chains)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = calibrate(pixel, args.model, chains=args.chains, burn_in=args.burn_in,
                           iterations=args.iterations, seed=args.seed, threads=args.threads,
                           progress=_progress_bar())
    for w in caught:
        log.warning("%s", w.message)
    result.to_netcdf(out / "posterior.nc")
    log.info("wrote %s", out / "posterior.nc")
    try:
        from .plots import plot_posterior_bands
    except ImportError:  # pragma: no cover - plots needs matplotlib only when called
        plot_posterior_bands = None
    try:
        plot_posterior_bands(result, out / "posterior_bands.png")
        log.info("wrote %s", out / "posterior_bands.png")
    except ImportError:
        log.warning("matplotlib is not installed: no figure (pip install 'dalec-mdf[plot]')")
    s = result.summary()
    log.info("P(mean NBE < 0) = %.3f -> %s; max R-hat %.3f, min bulk ESS %.0f", s["p_sink"],
             s["class"], s["max_rhat"], s["min_ess_bulk"])
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .cli_batch import add_calibrate_arguments, add_subcommands

    parser = argparse.ArgumentParser(
        prog="dalec-mdf",
        description="Bayesian model-data fusion of the terrestrial carbon cycle (DALEC/CARDAMOM)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    fwd = sub.add_parser("forward", help="run a model forward for parameter vectors")
    fwd.add_argument("drivers", help="driver file (CBF, netCDF CBF, Edinburgh site CSV, ...)")
    fwd.add_argument("--model", required=True, help="model name, e.g. 400, 809, 811")
    fwd.add_argument("--parameters", required=True,
                     help="CSV: one parameter vector per row (header of names, or none)")
    fwd.add_argument("--out", required=True, help="output netCDF file")
    fwd.add_argument("--option", action="append", metavar="KEY=VALUE",
                     help="model option, e.g. temperature_factor=813 (repeatable)")
    fwd.add_argument("--strict", action="store_true", help="reject out-of-prior parameters")
    fwd.add_argument("--threads", type=int, default=None, help="numba threads")
    fwd.add_argument("--pixel", default=None,
                     help="for gridded input: land-pixel index or LAT,LON")
    fwd.set_defaults(func=cmd_forward)

    cal = sub.add_parser("calibrate", help="calibrate a model against one pixel's data "
                                           "(or many: --pixels LIST --out-dir DIR)")
    cal.add_argument("drivers", nargs="?", default=None, help="driver file with observations")
    cal.add_argument("--model", default="811", help="model name (default 811)")
    cal.add_argument("--out", default=None, help="result netCDF file")
    cal.add_argument("--chains", type=int, default=4)
    cal.add_argument("--iterations", type=int, default=None,
                     help="sampling iterations per chain after burn-in (default: until "
                          "converged, at most 4e6)")
    cal.add_argument("--burn-in", type=int, default=None, help="adaptive iterations per chain")
    cal.add_argument("--max-burn-in", type=int, default=None,
                     help="let burn-in go on while log P still rises, up to this many "
                          "iterations per chain (default: no)")
    cal.add_argument("--thin", type=int, default=None)
    cal.add_argument("--reparam", default="none",
                     choices=["none", "steady_state", "phases", "steady_state+phases"],
                     help="coordinates the sampler moves in (docs/samplers.md; default none)")
    cal.add_argument("--starts", type=int, default=0,
                     help="independent start searches and CMA-ES climbs; the best become the "
                          "chains (default 0: one per chain)")
    cal.add_argument("--sampler", default="demcz",
                     choices=["demcz", "am", "cardamom", "emcee"])
    cal.add_argument("--seed", type=int, default=0)
    cal.add_argument("--checkpoint", default=None,
                     help="checkpoint file (.npz): written after the start search and at "
                          "most once a minute, resumed if present")
    cal.add_argument("--threads", type=int, default=None)
    cal.add_argument("--draws", type=int, default=500,
                     help="posterior draws run forward for the flux ensemble")
    cal.add_argument("--scaling", default="none", choices=["none", "n", "sqrt_n", "log_n"])
    cal.add_argument("--pixel", default=None,
                     help="for gridded input: land-pixel index or LAT,LON")
    add_calibrate_arguments(cal)
    cal.set_defaults(func=cmd_calibrate)

    demo = sub.add_parser("demo", help="calibrate the bundled FI-Hyy site and plot it")
    demo.add_argument("--out", default="out/demo", help="output folder")
    demo.add_argument("--model", default="811")
    demo.add_argument("--chains", type=int, default=4)
    demo.add_argument("--burn-in", type=int, default=150_000)
    demo.add_argument("--iterations", type=int, default=50_000)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--threads", type=int, default=None)
    demo.set_defaults(func=cmd_demo)
    add_subcommands(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.func(args)
    except (ValueError, OSError) as err:  # DriverError, ModelError, ParameterFileError
        log.error("%s: %s", type(err).__name__, err)
        return 2


if __name__ == "__main__":
    sys.exit(main())
