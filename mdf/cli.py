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


def cmd_forward(args) -> int:
    import numpy as np

    import dalec
    import drivers

    from .io import read_parameter_table, write_netcdf

    model = dalec.get_model(args.model)
    pixel = drivers.read(args.drivers)
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


def build_parser() -> argparse.ArgumentParser:
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
    fwd.set_defaults(func=cmd_forward)
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
