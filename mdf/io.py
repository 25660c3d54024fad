"""Output files: written atomically, so a killed run never leaves a half-written file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr


def write_netcdf(ds: xr.Dataset, path, **kwargs) -> Path:
    """Write ``ds`` to ``path`` through a temporary file in the same folder and a rename.

    The temporary name starts with a dot and ends in ``.tmp<pid>``; on any error it is removed
    and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        ds.to_netcdf(tmp, **kwargs)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


class ParameterFileError(ValueError):
    """A parameter table that cannot be used with the chosen model."""


def read_parameter_table(path, model) -> np.ndarray:
    """Read parameter vectors from a CSV file, one vector per row.

    Parameters
    ----------
    path : str or Path
        CSV with a header of parameter names (the model's names, any order) or no header
        (values in the model's parameter order).
    model : dalec.Model

    Returns
    -------
    ndarray, shape (n_samples, n_parameters)

    Raises
    ------
    ParameterFileError
        Unknown or missing names, wrong column count, or non-numeric values (row and column
        named).
    """
    path = Path(path)
    with open(path) as fh:
        lines = [line.strip() for line in fh if line.strip()]
    if not lines:
        raise ParameterFileError(f"{path}: empty parameter file")
    first = [c.strip().strip('"') for c in lines[0].split(",")]
    names = model.parameter_names
    try:
        [float(c) for c in first]
        header, rows = None, lines
    except ValueError:
        header, rows = first, lines[1:]
    if header is not None:
        unknown = [h for h in header if h not in names]
        missing = [n for n in names if n not in header]
        if unknown or missing:
            raise ParameterFileError(
                f"{path}: header does not match model {model.name}: unknown {unknown}, "
                f"missing {missing}; expected {names}"
            )
        order = [header.index(n) for n in names]
    else:
        order = list(range(len(names)))
    out = np.empty((len(rows), len(names)))
    for r, line in enumerate(rows):
        cells = line.split(",")
        if len(cells) != len(names):
            raise ParameterFileError(
                f"{path}: row {r + 1 + (header is not None)} has {len(cells)} values; model "
                f"{model.name} has {len(names)} parameters"
            )
        for j, k in enumerate(order):
            try:
                out[r, j] = float(cells[k])
            except ValueError:
                raise ParameterFileError(
                    f"{path}: row {r + 1 + (header is not None)}, column {names[j]!r}: "
                    f"{cells[k]!r} is not a number"
                ) from None
    return out


def _compressed(tree) -> dict:
    """zlib level 4 with byte shuffling for every float variable of more than 1000 values
    (lossless; the flux ensembles of a result shrink to about 0.6 of their size)."""
    encoding = {}
    for node in tree.subtree:
        ds = node.to_dataset(inherit=False)
        enc = {v: {"zlib": True, "complevel": 4, "shuffle": True} for v in ds.data_vars
               if ds[v].dtype.kind == "f" and ds[v].size > 1000}
        if enc:
            encoding[node.path] = enc
    return encoding


def write_datatree(tree, path) -> Path:
    """Write an ``xarray.DataTree`` to one netCDF4 file, atomically (as :func:`write_netcdf`),
    with large float variables compressed losslessly (zlib)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tree.to_netcdf(tmp, engine="netcdf4", encoding=_compressed(tree))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
