"""Read CARDAMOM inputs and plain site data into one validated pixel dataset.

Every reader returns the same in-memory pixel (:mod:`drivers.pixel`): an ``xarray.Dataset``
with the met drivers on a ``time`` coordinate [days since 2001-01-01] under the names and
units of :mod:`dalec.variables`, scalar ``latitude``/``longitude``, each observation stream
``<stream>_obs`` with its per-step uncertainty and cost-function options, scalar constraints
and parameter priors (:mod:`drivers.options`).

>>> import drivers
>>> pixel = drivers.read("flux_site_76.cbf")                     # doctest: +SKIP
>>> pixel = drivers.read("fi-hyy/")                              # doctest: +SKIP
>>> grid = drivers.read("met_0.5deg.nc", obs=["gpp.nc"])         # doctest: +SKIP

Formats (detected from the content, :mod:`drivers.formats`): JPL binary CBF and CBR,
JPL netCDF CBF (also the daily FLUXNET CBF-style files), Edinburgh ``.bin``, Edinburgh site
CSVs and 16-driver tables, a user's site CSV or Dataset with declared units
(:mod:`drivers.site`), and gridded cubes (:mod:`drivers.gridded`). Derived drivers
(:mod:`drivers.derive`) and uncertainty policies (:mod:`drivers.uncertainty`) complete it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .cbf import read_cbf, read_cbr, write_cbf, write_cbr
from .cbf_header import as_cardamom_v3
from .cbf_netcdf import read_cbf_netcdf, write_cbf_netcdf
from .derive import derive_drivers, edinburgh_met_matrix, photoperiod
from .edinburgh_bin import read_edinburgh_bin, write_edinburgh_bin
from .edinburgh_csv import read_edinburgh_drivers, read_edinburgh_site
from .errors import DriverError
from .formats import detect
from .gridded import PixelGrid, open_grid
from .options import (
    Constraint,
    ObsOptions,
    ParameterPrior,
    constraints,
    get_obs_options,
    obs_streams,
    parameter_priors,
    set_obs_options,
)
from .pixel import make_pixel
from .site import from_dataset, read_site_csv
from .uncertainty import EdinburghRules, JPLDefaults, UncertaintyPolicy, get_policy
from .validate import check_drivers, check_met

__all__ = [
    "as_cardamom_v3",
    "Constraint",
    "DriverError",
    "EdinburghRules",
    "JPLDefaults",
    "ObsOptions",
    "ParameterPrior",
    "PixelGrid",
    "UncertaintyPolicy",
    "check_drivers",
    "check_met",
    "constraints",
    "data_path",
    "derive_drivers",
    "detect",
    "edinburgh_met_matrix",
    "from_dataset",
    "get_obs_options",
    "get_policy",
    "make_pixel",
    "obs_streams",
    "open_grid",
    "parameter_priors",
    "photoperiod",
    "read",
    "read_cbf",
    "read_cbf_netcdf",
    "read_cbr",
    "read_edinburgh_bin",
    "read_edinburgh_drivers",
    "read_edinburgh_site",
    "read_site_csv",
    "set_obs_options",
    "write",
    "write_cbf",
    "write_cbf_netcdf",
    "write_cbr",
    "write_edinburgh_bin",
]

#: drivers :func:`read` derives when a file lacks them, so that every JPL and Edinburgh
#: DALEC.C1 model runs on every format: the time-axis ones (day of year, step length, end-of-
#: step day of year, run day) and the "none given" disturbance defaults (no burned area, no
#: deforestation, management type 2). Each carries ``derived_from``; costlier ones (the
#: Edinburgh rolling means, photoperiod) are derived on request (``require=``).
DEFAULT_DERIVED = (
    "doy",
    "deltat",
    "doy_end",
    "run_day",
    "burned_area",
    "deforestation",
    "management",
)

#: package data shipped with the library (see drivers/data/README.md)
DATA = Path(__file__).resolve().parent / "data"


def data_path(*parts: str) -> Path:
    """Path of a file shipped in ``drivers/data`` (e.g. ``data_path('flux_site_76.cbf')``).

    Parameters
    ----------
    *parts : str
        Path components below ``drivers/data``.

    Returns
    -------
    pathlib.Path
        The absolute path (not checked for existence).
    """
    return DATA.joinpath(*parts)


def read(path, *, require: Iterable[str] | None = None, pixel=None, **options):
    """Read a pixel from any supported format, detected from the file's content.

    Parameters
    ----------
    path : str or Path
        A driver file, or a folder of Edinburgh site files (``*_timeseries_met.csv`` and
        the files beside it) or of an Edinburgh driver table (``drivers.csv``). For the
        Edinburgh site format the met CSV, the obs CSV or the folder may be given.
    require : iterable of str, optional
        Driver names a model needs (``dalec.get_model(name).drivers``): derivable ones the
        file lacks are derived (:func:`derive_drivers`) and all are checked
        (:func:`check_met`).
    pixel : int or (float, float), optional
        For a gridded file: return this land pixel's dataset instead of the grid.
    **options
        Passed to the format's reader: ``start_year``, ``latitude``, ``longitude``,
        ``policy`` (Edinburgh site files; default the Edinburgh uncertainty rules),
        ``units`` (site CSV), ``obs`` / ``chunks`` (gridded). Options the detected format
        does not take are an error.

    Returns
    -------
    xarray.Dataset or PixelGrid
        The pixel dataset (:mod:`drivers.pixel`); for a gridded file without ``pixel``,
        the lazy :class:`PixelGrid` of its land pixels. The drivers of
        :data:`DEFAULT_DERIVED` are derived when the file lacks them.

    Raises
    ------
    DriverError
        No such file, unrecognised format, or unusable content; the message names the file,
        the variable and the first bad index.
    """
    fmt = detect(path)
    unknown = sorted(set(options) - set(fmt.options))
    if unknown:
        raise DriverError(
            f"{path}: format {fmt.name} takes no option(s) {', '.join(unknown)} "
            f"(it takes: {', '.join(fmt.options) or 'none'})"
        )
    result = fmt.reader(path, **options)
    if isinstance(result, PixelGrid):
        if pixel is None:
            return result
        result = result.pixel(pixel)
    elif pixel is not None:
        raise DriverError(f"{path}: pixel= applies to gridded files only (this is {fmt.name})")
    # every JPL model reads these; a file without them (the daily FLUXNET files have no burned
    # area) gets them derived and marked so (attribute derived_from)
    result = derive_drivers(result, DEFAULT_DERIVED)
    if require is not None:
        require = list(require)
        result = derive_drivers(result, require)
        check_met(result, require, constant_step=False)
    return result


def write(ds, path, format: str | None = None) -> None:
    """Write a pixel dataset in a CARDAMOM format (atomically).

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset (:mod:`drivers.pixel`).
    path : str or Path
        Output file (replaced if it exists).
    format : {'cbf', 'cbf_netcdf', 'edinburgh_bin'}, optional
        Default: from the suffix (``.cbf``, ``.nc``, ``.bin``).

    Raises
    ------
    DriverError
        The format cannot be told from the suffix, has no writer, or cannot hold the
        dataset's content.
    """
    from .formats import by_name

    path = Path(path)
    if format is None:
        suffix = path.suffix.lower()
        format = {".cbf": "cbf", ".nc": "cbf_netcdf", ".bin": "edinburgh_bin"}.get(suffix)
        if format is None:
            raise DriverError(f"{path}: cannot tell the format from the suffix; pass format=")
    fmt = by_name(format)
    if fmt.writer is None:
        raise DriverError(f"format {format!r} has no writer")
    fmt.writer(ds, path)
