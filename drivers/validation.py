"""Withheld-month validation tables of CARDAMOM-FluxVal (``validation_<SITE>.csv``).

Columns: ``ID`` (month index, 1 = 2001-01), ``Date`` (YYYYMM), ``GPP`` [g m-2 d-1], ``NEE``
[g m-2 d-1, positive = source], ``ET`` [kg m-2 d-1]. Missing values (-9999 or NaN) become NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .errors import DriverError

_COLUMNS = {"GPP": ("gpp", "g m-2 d-1"), "NEE": ("nee", "g m-2 d-1"), "ET": ("et", "kg m-2 d-1")}


def read_validation(path) -> xr.Dataset:
    """Read a FluxVal validation CSV.

    Returns
    -------
    xarray.Dataset
        ``gpp``, ``nee``, ``et`` on a ``month`` dimension with coordinate ``step`` (0-based
        model step for a run starting 2001-01) and ``date`` (YYYYMM).

    Raises
    ------
    DriverError
        Missing columns, non-numeric values, or months out of order (file and row named).
    """
    path = Path(path)
    lines = path.read_text().splitlines()
    if not lines:
        raise DriverError(f"{path}: empty validation file")
    header = [h.strip().strip('"') for h in lines[0].split(",")]
    missing = [c for c in ("ID", "Date", *_COLUMNS) if c not in header]
    if missing:
        raise DriverError(f"{path}: missing column(s) {missing}; header is {header}")
    rows = []
    for r, line in enumerate(lines[1:], start=2):
        cells = line.split(",")
        try:
            rows.append([float(cells[header.index(c)]) for c in ("ID", "Date", *_COLUMNS)])
        except (ValueError, IndexError):
            raise DriverError(f"{path}: row {r} is not numeric: {line!r}") from None
    table = np.array(rows, dtype=np.float64).reshape(-1, 2 + len(_COLUMNS))
    ids = table[:, 0].astype(np.int64)
    if np.any(np.diff(ids) <= 0):
        r = int(np.flatnonzero(np.diff(ids) <= 0)[0]) + 3
        raise DriverError(f"{path}: 'ID' is not increasing at row {r}")
    data = {}
    for j, (col, (name, units)) in enumerate(_COLUMNS.items()):
        values = table[:, 2 + j].copy()
        values[~np.isfinite(values) | (values <= -9998)] = np.nan
        data[name] = ("month", values, {"units": units, "long_name": f"withheld {col}"})
    return xr.Dataset(
        data,
        coords={"step": ("month", ids - 1), "date": ("month", table[:, 1].astype(np.int64))},
        attrs={"source_file": str(path), "site": path.stem.replace("validation_", "")},
    )
