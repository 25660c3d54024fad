"""The file formats :func:`drivers.read` knows, each a small object: detect, read, write.

Detection looks at the content: binary files by whether their header counts agree with
their size, netCDF files by their dimensions and variables, CSV files by their columns.
A new format is a new :class:`Format` in :data:`FORMATS`, not a new branch in ``read``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import DriverError


@dataclass(frozen=True)
class Format:
    """One input format.

    Attributes
    ----------
    name : str
        Short name, as in the datasets' ``source_format`` attribute.
    description : str
    sniff : callable
        ``sniff(path) -> bool`` from the content (cheap: reads a header at most).
    reader : callable
        ``reader(path, **options) -> xarray.Dataset`` (or a :class:`~drivers.gridded.PixelGrid`).
    writer : callable or None
        ``writer(dataset, path)`` where the format is CARDAMOM's.
    options : tuple of str
        Keyword options the reader accepts.
    """

    name: str
    description: str
    sniff: Callable
    reader: Callable
    writer: Callable | None = None
    options: tuple[str, ...] = ()


def _formats() -> tuple[Format, ...]:
    from . import cbf, cbf_netcdf, edinburgh_bin, edinburgh_csv, gridded, site

    return (
        Format(
            "cbf",
            "JPL binary CBF (CARDAMOM v2.2, FluxVal)",
            cbf.looks_like_cbf,
            cbf.read_cbf,
            cbf.write_cbf,
        ),
        Format(
            "edinburgh_bin",
            "Edinburgh CARDAMOM binary input (.bin)",
            edinburgh_bin.looks_like_edinburgh_bin,
            edinburgh_bin.read_edinburgh_bin,
            edinburgh_bin.write_edinburgh_bin,
            ("start_year",),
        ),
        Format(
            "grid",
            "gridded netCDF met / observation cubes (lat, lon, time)",
            gridded.looks_like_grid,
            gridded.open_grid,
            None,
            ("obs", "chunks", "required", "mask"),
        ),
        Format(
            "cbf_netcdf",
            "JPL netCDF CBF (CARDAMOM v3; daily FLUXNET CBF-style files)",
            cbf_netcdf.looks_like_cbf_netcdf,
            cbf_netcdf.read_cbf_netcdf,
            cbf_netcdf.write_cbf_netcdf,
        ),
        Format(
            "edinburgh_drivers",
            "Edinburgh 16-driver table (drivers.csv, observations.csv)",
            edinburgh_csv.looks_like_driver_table,
            edinburgh_csv.read_edinburgh_drivers,
            None,
            ("latitude", "longitude", "start_year", "policy"),
        ),
        Format(
            "edinburgh_site",
            "Edinburgh site CSVs (<SITE>_timeseries_met/obs.csv, "
            "<SITE>_initial_obs.csv) or their folder",
            edinburgh_csv.looks_like_site_met,
            edinburgh_csv.read_edinburgh_site,
            None,
            ("latitude", "longitude", "start_year", "policy"),
        ),
        Format(
            "site_csv",
            "a user's site CSV with named columns and declared units",
            site.looks_like_site_csv,
            site.read_site_csv,
            None,
            ("units", "latitude", "longitude", "pixel_id"),
        ),
    )


def formats() -> tuple[Format, ...]:
    """All known formats, in detection order."""
    return _formats()


def detect(path) -> Format:
    """The format of ``path`` (a file, or a folder of Edinburgh site or driver-table files).

    Parameters
    ----------
    path : str or Path
        A driver file or folder; its content, not its name, decides.

    Returns
    -------
    Format
        The first format (in :func:`formats` order) that recognises the content, with its
        reader, writer and the options its reader takes.

    Raises
    ------
    DriverError
        No such path, or no format recognises it.
    """
    path = Path(path)
    if not path.exists():
        raise DriverError(f"{path}: no such file or folder")
    candidates = [path]
    if path.is_dir():
        candidates = sorted(path.glob("*_timeseries_met.csv")) + [path / "drivers.csv"]
        candidates = [c for c in candidates if c.is_file()]
    for fmt in formats():
        for candidate in candidates:
            if fmt.sniff(candidate):
                return fmt
    # nothing recognised the content: a damaged file of a known kind goes to its reader by
    # its suffix, so that the reader's message says what is wrong with it
    by_suffix = {".cbf": "cbf", ".bin": "edinburgh_bin", ".nc": "cbf_netcdf"}
    name = by_suffix.get(path.suffix.lower())
    if name is not None and path.is_file():
        return by_name(name)
    names = "; ".join(f"{f.name}: {f.description}" for f in formats())
    raise DriverError(f"{path}: format not recognised from its content (known formats: {names})")


def by_name(name: str) -> Format:
    for fmt in formats():
        if fmt.name == name:
            return fmt
    raise DriverError(f"unknown format {name!r}; known: {', '.join(f.name for f in formats())}")
