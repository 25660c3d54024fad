"""JPL binary CBF files (CARDAMOM v2.2 and CARDAMOM-FluxVal): reader and writer.

Layout (little-endian float64; CARDAMOM v2.2 ``CARDAMOM_READ_BINARY_DATA.c``):

=========  ======================================================================
values     content
=========  ======================================================================
0-99       static header: [0] model id, [1] latitude, [2] N steps, [3] n met
           columns, [4] n obs columns, [5] EDC switch, [6] EDC diagnostic mode,
           [7] gppabs, [13]-[26] likelihood options (-9999 = default)
100-149    PARPRIORS (parameter prior values)
150-199    PARPRIORUNC (>0 log-normal factor, <0 Gaussian sigma)
200-249    OTHERPRIORS ([0] initial live biomass, [2] mean fire, [4] mean LAI, [5] mean GPP)
250-299    OTHERPRIORUNC
300-       N rows of [n_met met values, n_obs obs values]; optionally one more row
=========  ======================================================================

The reader keeps every header value, so :func:`write_cbf` reproduces the file byte for byte,
and decodes the likelihood settings into observation options, scalar constraints and
parameter priors (:mod:`drivers.cbf_header`); the writer encodes back only what a user
changed. CBR files (posterior parameter samples, raw float64 with no header) are read by
:func:`read_cbr` and written by :func:`write_cbr`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from . import cbf_header
from .errors import DriverError
from .options import obs_streams
from .pixel import make_pixel, missing_to_nan
from .validate import check_drivers, check_latitude

HEADER = 300
MET_NAMES = ("time", "tmin", "tmax", "swrad", "co2", "doy", "burned_area", "vpd", "precip")
OBS_NAMES = (
    "gpp",
    "lai",
    "nbe",
    "abgb",
    "et",
    "ewt",
    "band1",
    "band2",
    "band3",
    "band4",
    "som",
    "ch4",
)
_BLOCKS = (
    ("cbf_static", 0, 100),
    ("cbf_parpriors", 100, 150),
    ("cbf_parpriorunc", 150, 200),
    ("cbf_otherpriors", 200, 250),
    ("cbf_otherpriorunc", 250, 300),
)


def looks_like_cbf(path) -> bool:
    """True if ``path`` holds a binary CBF: its header counts agree with its size."""
    try:
        size = os.path.getsize(path)
        if size % 8 or size < HEADER * 8:
            return False
        head = np.fromfile(path, dtype="<f8", count=5)
    except OSError:
        return False
    n, nomet, noobs = head[2], head[3], head[4]
    counts = np.array([n, nomet, noobs])
    if (
        not np.all(np.isfinite(counts))
        or counts.min() < 1
        or counts.max() > 1e9
        or np.any(counts % 1)
    ):
        return False
    n, nomet, noobs = (int(c) for c in counts)
    row = nomet + noobs
    return (size // 8 - HEADER) in (n * row, (n + 1) * row)


def read_cbf(path) -> xr.Dataset:
    """Read a JPL binary CBF into a pixel dataset.

    Parameters
    ----------
    path : str or Path
        The ``.cbf`` file.

    Returns
    -------
    xarray.Dataset
        A pixel dataset (see :mod:`drivers.pixel`) with the met columns as driver variables,
        the observation columns as ``<stream>_obs`` (missing = NaN) and the raw header blocks
        as ``cbf_*`` variables (used by :func:`write_cbf`).

    Raises
    ------
    DriverError
        The file is truncated, not a whole number of float64 values, or its header counts
        disagree with its size; or its latitude lies outside [-90, 90].
    """
    path = Path(path)
    src = str(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DriverError(f"{src}: cannot read ({err.strerror})") from None
    if len(raw) % 8:
        raise DriverError(
            f"{src}: {len(raw)} bytes is not a whole number of float64 values (truncated?)"
        )
    values = np.frombuffer(raw, dtype="<f8")
    if values.size < HEADER:
        raise DriverError(
            f"{src}: {values.size} values, fewer than the {HEADER}-value CBF header (truncated?)"
        )
    static = values[:100]
    counts = static[2:5]
    if not np.all(np.isfinite(counts)) or np.any(counts < 1) or np.any(counts % 1):
        raise DriverError(
            f"{src}: header values 2-4 (N steps, n met, n obs) are {counts.tolist()}; "
            "expected positive whole numbers"
        )
    n, nomet, noobs = (int(c) for c in counts)
    row = nomet + noobs
    body = values.size - HEADER
    if body not in (n * row, (n + 1) * row):
        raise DriverError(
            f"{src}: header says {n} steps x ({nomet} met + {noobs} obs) = {n * row} values "
            f"after the {HEADER}-value header, but the file holds {body} (truncated or wrong "
            "header?)"
        )
    table = values[HEADER : HEADER + n * row].reshape(n, row)
    extra = values[HEADER + n * row :]
    lat = float(static[1])
    check_latitude(lat, src)

    met = {}
    for j in range(nomet):
        name = MET_NAMES[j] if j < len(MET_NAMES) else f"met_{j}"
        series = table[:, j].copy()
        bad = ~np.isfinite(series)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DriverError(
                f"{src}: driver {name!r} (met column {j}) is {series[i]} at step {i}; "
                "drivers must be finite"
            )
        met[name] = series
    time = met.pop("time")
    obs = {}
    for j in range(noobs):
        name = OBS_NAMES[j] if j < len(OBS_NAMES) else f"obs_{j}"
        obs[name] = missing_to_nan(table[:, nomet + j])
    ds = make_pixel(
        time,
        met,
        lat,
        obs=obs,
        attrs={
            "source_file": src,
            "source_format": "cbf",
            "pixel_id": path.stem,
            "model_id": int(static[0]),
            "cbf_n_met": nomet,
            "cbf_n_obs": noobs,
        },
    )
    for name, lo, hi in _BLOCKS:
        ds[name] = (f"{name}_index", values[lo:hi].copy())
    if extra.size:
        ds["cbf_extra_row"] = ("cbf_extra_index", extra.copy())
    cbf_header.decode(ds, values[:HEADER])
    check_drivers(ds)
    return ds


def write_cbf(ds: xr.Dataset, path) -> None:
    """Write a pixel dataset as a JPL binary CBF (atomically: temporary file, then rename).

    Datasets read by :func:`read_cbf` are written back byte for byte. Observation options,
    scalar constraints and parameter priors that differ from what the stored header says are
    encoded into it (:func:`drivers.cbf_header.encode`); a dataset from another format gets
    a header built from its options. Missing observations (NaN) are written as -9999.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset.
    path : str or Path
        Output file (replaced if it exists).

    Raises
    ------
    DriverError
        A met column has no variable, or an option cannot be expressed in a binary CBF.
    """
    path = Path(path)
    nomet = int(ds.attrs.get("cbf_n_met", 9))
    noobs = int(ds.attrs.get("cbf_n_obs", 11))
    n = ds.sizes["time"]
    header = np.full(HEADER, -9999.0)
    for name, lo, hi in _BLOCKS:
        if name in ds:
            header[lo:hi] = ds[name].values
    if "cbf_static" not in ds:
        header[0] = float(ds.attrs.get("model_id", -9999))
        header[5:8] = (1.0, 0.0, 1.0)  # EDCs on, no EDC diagnostics, absolute GPP
    header[1] = float(ds["latitude"].values)
    header[2:5] = (n, nomet, noobs)
    cbf_header.encode(ds, header, str(path))
    table = np.empty((n, nomet + noobs))
    for j in range(nomet):
        name = MET_NAMES[j] if j < len(MET_NAMES) else f"met_{j}"
        if name not in ds.variables:
            raise DriverError(f"{path}: cannot write CBF met column {j}: no variable {name!r}")
        table[:, j] = ds[name].values
    for j in range(noobs):
        name = (OBS_NAMES[j] if j < len(OBS_NAMES) else f"obs_{j}") + "_obs"
        table[:, nomet + j] = np.nan_to_num(ds[name].values, nan=-9999.0) if name in ds else -9999.0
    placed = {OBS_NAMES[j] if j < len(OBS_NAMES) else f"obs_{j}" for j in range(noobs)}
    dropped = [
        s for s in obs_streams(ds) if s not in placed and np.isfinite(ds[f"{s}_obs"].values).any()
    ]
    if dropped:
        warnings.warn(
            f"{path}: observation stream(s) {', '.join(dropped)} have no column in a binary CBF "
            f"(columns: {', '.join(OBS_NAMES[:noobs])}) and are not written; rename a stream "
            "(e.g. tower NEE to 'nbe', as FluxVal does) to keep it",
            stacklevel=3,
        )
    parts = [header, table.ravel()]
    if "cbf_extra_row" in ds:
        parts.append(ds["cbf_extra_row"].values)
    atomic_write_bytes(path, np.concatenate(parts).astype("<f8").tobytes())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_cbr(path, n_parameters: int | None = None) -> xr.DataArray:
    """Read a JPL binary CBR file (posterior samples: raw little-endian float64, no header).

    Parameters
    ----------
    path : str or Path
        The ``.cbr`` file.
    n_parameters : int, optional
        Parameters per sample. If omitted, taken from the model id of the CBF beside it
        (same name, ``.cbf``) through the model registry of :mod:`dalec`.

    Returns
    -------
    xarray.DataArray
        ``(sample, parameter)`` float64, attrs ``source_file``.

    Raises
    ------
    DriverError
        The size is not a whole number of samples, or ``n_parameters`` cannot be found.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DriverError(f"{path}: cannot read ({err.strerror})") from None
    if n_parameters is None:
        n_parameters = _cbr_parameter_count(path)
    if n_parameters < 1 or len(raw) % (8 * n_parameters) or not raw:
        raise DriverError(
            f"{path}: {len(raw)} bytes is not a whole number of samples of {n_parameters} "
            "float64 parameters (truncated, or wrong parameter count?)"
        )
    values = np.frombuffer(raw, dtype="<f8").reshape(-1, n_parameters).copy()
    return xr.DataArray(
        values,
        dims=("sample", "parameter"),
        attrs={"source_file": str(path), "long_name": "posterior parameter samples"},
    )


def _cbr_parameter_count(path: Path) -> int:
    cbf = path.with_suffix(".cbf")
    if not looks_like_cbf(cbf):
        raise DriverError(
            f"{path}: pass n_parameters (no CBF {cbf.name} beside it gives the model id)"
        )
    model_id = int(np.fromfile(cbf, dtype="<f8", count=1)[0])
    try:
        from dalec.registry import get_model  # upper layer, only to count parameters

        return get_model(str(model_id)).n_parameters
    except (ImportError, ValueError) as err:
        raise DriverError(f"{path}: pass n_parameters (model {model_id}: {err})") from None


def write_cbr(samples, path) -> None:
    """Write parameter samples ``(n_samples, n_parameters)`` as a binary CBR (atomically).

    Parameters
    ----------
    samples : array_like
        ``(n_samples, n_parameters)`` parameter vectors in model units, written as
        little-endian float64, row by row.
    path : str or Path
        Output file (replaced if it exists).
    """
    arr = np.ascontiguousarray(np.asarray(samples, dtype="<f8"))
    if arr.ndim != 2:
        raise DriverError(f"{path}: CBR samples must be 2-D (sample, parameter), got {arr.shape}")
    atomic_write_bytes(Path(path), arr.tobytes())
