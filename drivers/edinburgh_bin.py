"""Edinburgh (GCEL) CARDAMOM binary input files (``.bin``): reader and writer.

Layout (little-endian float64; GCEL ``cardamom_io.f90::read_binary_data``;
shared/data/cardamom-examples/edinburgh-bin/README.md):

==========  ===================================================================
values      content
==========  ===================================================================
0-49        static: [0] model id, [1] latitude, [2] N steps, [3] n met (16),
            [4] n obs columns (51), [5] EDC switch, [6] plant functional type,
            [9] number of parameters, [11]-[14] sand top, sand bottom, clay top,
            clay bottom [%]
50-149      parameter prior means (-9999 = none)
150-249     parameter prior standard deviations
250-349     parameter prior weights
350-399     other priors, 400-449 their uncertainties, 450-499 their weights
500-        N rows of [16 met values, 51 observation columns]
==========  ===================================================================

Observation columns (1-based) hold (value, standard deviation) pairs: GPP (1, 2), LAI
(3, 4), NEE (5, 6), fire (7, 8), Reco (9, 10), Cfol (11, 12), Cwood (13, 14), Croots
(15, 16), Clit (17, 18), Csom (19, 20), Cagb (21, 22), fAPAR (23, 24), coarse roots (27,
28), Cfolmax (29, 30), ET (31, 32), SWE (33, 34), NBE (35, 36); columns 37-51 (lagged
fluxes) and 25-26 are kept as read. The met columns are those of
:data:`drivers.derive.EDINBURGH_COLUMNS` (precipitation in kg m-2 s-1, VPD in Pa).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr

from . import edinburgh_calendar as cal
from .cbf import atomic_write_bytes
from .derive import EDINBURGH_COLUMNS, edinburgh_met_matrix
from .errors import DriverError
from .options import (
    Constraint,
    ObsOptions,
    ParameterPrior,
    constraints,
    obs_streams,
    parameter_priors,
    set_constraint,
    set_parameter_priors,
)
from .pixel import driver_attrs, make_pixel, missing_to_nan
from .validate import check_drivers, check_latitude

HEADER = 500
N_MET, N_OBS = 16, 51
_BLOCKS = (
    ("bin_static", 0, 50),
    ("bin_parpriors", 50, 150),
    ("bin_parpriorunc", 150, 250),
    ("bin_parpriorweight", 250, 350),
    ("bin_otherpriors", 350, 400),
    ("bin_otherpriorunc", 400, 450),
    ("bin_otherpriorweight", 450, 500),
)
#: stream -> 0-based column of its value (the standard deviation follows it)
OBS_COLUMNS = {
    "gpp": 0,
    "lai": 2,
    "nee": 4,
    "fire": 6,
    "reco": 8,
    "cfol": 10,
    "cwood": 12,
    "croot": 14,
    "clit": 16,
    "som": 18,
    "cagb": 20,
    "fapar": 22,
    "ccoarseroot": 26,
    "cfolmax": 28,
    "et": 30,
    "swe": 32,
    "nbe": 34,
}
_MAPPED = {c for v in OBS_COLUMNS.values() for c in (v, v + 1)}
_EXTRA = tuple(j for j in range(N_OBS) if j not in _MAPPED)
#: Edinburgh "other priors" (1-based slot 4: ET / precipitation ratio in DALEC.4 and C1)
OTHER_PRIOR_NAMES = {3: "et_precip_ratio"}
_SOIL = ("sand_top", "sand_bottom", "clay_top", "clay_bottom")


def looks_like_edinburgh_bin(path) -> bool:
    """True if ``path`` is an Edinburgh ``.bin``: its header counts agree with its size."""
    try:
        size = Path(path).stat().st_size
        if size % 8 or size < HEADER * 8:
            return False
        head = np.fromfile(path, dtype="<f8", count=5)
    except OSError:
        return False
    counts = head[2:5]
    if (
        not np.all(np.isfinite(counts))
        or counts.min() < 1
        or counts.max() > 1e9
        or np.any(counts % 1)
    ):
        return False
    n, nomet, noobs = (int(c) for c in counts)
    return size // 8 - HEADER == n * (nomet + noobs)


def read_edinburgh_bin(path, *, start_year: int | None = None) -> xr.Dataset:
    """Read an Edinburgh CARDAMOM ``.bin`` into a pixel dataset.

    Parameters
    ----------
    path : str or Path
    start_year : int, optional
        Calendar year of the first step (inferred from leap years otherwise).

    Returns
    -------
    xarray.Dataset
        The 16 drivers (registry names and units), ``deltat``, ``doy``, the observation
        streams with their standard deviations (Gaussian), parameter priors (Gaussian with
        weights), other priors as constraints, soil texture, and the raw blocks (``bin_*``)
        that make :func:`write_edinburgh_bin` byte-identical.

    Raises
    ------
    DriverError
        Truncated file, header counts that disagree with the size, not 16 met columns or 51
        observation columns, bad driver values, latitude outside [-90, 90].
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
            f"{src}: {values.size} values, fewer than the {HEADER}-value header (truncated?)"
        )
    counts = values[2:5]
    if not np.all(np.isfinite(counts)) or np.any(counts < 1) or np.any(counts % 1):
        raise DriverError(
            f"{src}: header values 2-4 (N steps, n met, n obs) are "
            f"{counts.tolist()}; expected positive whole numbers"
        )
    n, nomet, noobs = (int(c) for c in counts)
    if (nomet, noobs) != (N_MET, N_OBS):
        raise DriverError(
            f"{src}: header says {nomet} met and {noobs} observation columns; "
            f"this reader knows the {N_MET} + {N_OBS} layout"
        )
    body = values.size - HEADER
    if body != n * (nomet + noobs):
        raise DriverError(
            f"{src}: header says {n} steps x ({nomet} met + {noobs} obs) = "
            f"{n * (nomet + noobs)} values after the {HEADER}-value header, but the file holds "
            f"{body} (truncated or wrong header?)"
        )
    table = values[HEADER:].reshape(n, nomet + noobs)
    metm, obsm = table[:, :nomet], table[:, nomet:]
    lat = float(values[1])
    check_latitude(lat, src)
    for j, (name, _, _) in enumerate(EDINBURGH_COLUMNS):
        bad = ~np.isfinite(metm[:, j]) | (metm[:, j] <= -9998)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DriverError(
                f"{src}: driver {name!r} (met column {j + 1}) is {metm[i, j]!r} "
                f"at step {i}; drivers may not be missing"
            )
    t = cal.from_doy_end(metm[:, 5], src, start_year, run_day=metm[:, 0])
    met = {}
    for j, (name, mul, div) in enumerate(EDINBURGH_COLUMNS):
        if name in ("run_day", "doy_end"):
            continue
        # the inverse of the writer's conversion: kg m-2 s-1 -> kg m-2 d-1, Pa -> hPa
        met[name] = metm[:, j] * div / mul
    met.update(deltat=t.deltat, run_day=t.run_day, doy_end=t.doy_end, doy=t.doy)
    obs, obs_unc, options = {}, {}, {}
    for stream, j in OBS_COLUMNS.items():
        o = missing_to_nan(obsm[:, j])
        if np.isfinite(o).any():
            obs[stream] = o
            obs_unc[stream] = missing_to_nan(obsm[:, j + 1])
            options[stream] = ObsOptions(error_type="gaussian")
    ds = make_pixel(
        t.time,
        met,
        lat,
        obs=obs,
        obs_unc=obs_unc,
        obs_options=options,
        attrs={
            "source_file": src,
            "source_format": "edinburgh_bin",
            "pixel_id": path.stem,
            "model_id": int(values[0]),
            "start_year": t.start_year,
            "start_year_source": t.start_year_source,
        },
    )
    for name, lo, hi in _BLOCKS:
        ds[name] = (f"{name}_index", values[lo:hi].copy())
    ds["bin_met"] = (
        ("time", "bin_met_column"),
        metm.copy(),
        {"long_name": "met matrix as read (Fortran units), for byte-identical writing"},
    )
    ds["bin_obs_extra"] = (
        ("time", "bin_obs_extra_column"),
        obsm[:, list(_EXTRA)].copy(),
        {
            "long_name": "observation columns this reader does not name",
            "columns_1based": np.array(_EXTRA) + 1,
        },
    )
    for k, name in enumerate(_SOIL):
        value = float(values[11 + k])
        if value > -9998:
            ds[name] = ((), value, driver_attrs(name))
    _decode_priors(ds, values)
    check_drivers(ds)
    return ds


def _decode_priors(ds, values) -> None:
    pp, pu, pw = values[50:150], values[150:250], values[250:350]
    priors = [
        ParameterPrior(i, float(pp[i]), float(pu[i]), "gaussian", float(pw[i]))
        for i in range(100)
        if pp[i] > -9998 and pu[i] > -9998
    ]
    set_parameter_priors(ds, priors)
    op, ou, ow = values[350:400], values[400:450], values[450:500]
    for k in range(50):
        if op[k] > -9998:
            name = OTHER_PRIOR_NAMES.get(k, f"other_prior_{k + 1}")
            set_constraint(
                ds,
                Constraint(name, float(op[k]), float(ou[k]), "gaussian", weight=float(ow[k])),
                bin_slot=k,
            )


def write_edinburgh_bin(ds: xr.Dataset, path) -> None:
    """Write a pixel dataset as an Edinburgh ``.bin`` (atomically).

    A dataset read by :func:`read_edinburgh_bin` is written back byte for byte unless its
    values were changed. Met columns come from the dataset's drivers
    (:func:`drivers.derive.edinburgh_met_matrix`); where a driver still equals the column
    as read to within 4 units in the last place (the unit conversion on reading), the raw
    column is written. Observation streams without a slot are left out.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset.
    path : str or Path
        Output file (replaced if it exists).

    Raises
    ------
    DriverError
        A driver needed for a met column is missing and cannot be derived, or a prior or
        constraint does not fit the format.
    """
    path = Path(path)
    n = ds.sizes["time"]
    header = np.full(HEADER, -9999.0)
    for name, lo, hi in _BLOCKS:
        if name in ds:
            header[lo:hi] = ds[name].values
    if "bin_static" not in ds:
        header[0] = float(ds.attrs.get("model_id", -9999))
        header[5] = 1.0
        header[250:350] = 1.0
        header[450:500] = 1.0
    header[1] = float(ds["latitude"].values)
    header[2:5] = (n, N_MET, N_OBS)
    for k, name in enumerate(_SOIL):
        header[11 + k] = float(ds[name].values) if name in ds else -9999.0
    _encode_priors(ds, header, str(path))
    met = edinburgh_met_matrix(ds)
    if "bin_met" in ds and ds["bin_met"].shape == met.shape:
        raw = ds["bin_met"].values
        for j in range(N_MET):
            if np.all(np.abs(met[:, j] - raw[:, j]) <= 4 * np.spacing(np.abs(raw[:, j]))):
                met[:, j] = raw[:, j]
    obs = np.full((n, N_OBS), -9999.0)
    if "bin_obs_extra" in ds and ds["bin_obs_extra"].shape[0] == n:
        obs[:, list(_EXTRA)] = ds["bin_obs_extra"].values
    for stream in obs_streams(ds):
        if stream not in OBS_COLUMNS:
            continue
        j = OBS_COLUMNS[stream]
        obs[:, j] = np.nan_to_num(ds[f"{stream}_obs"].values, nan=-9999.0)
        if f"{stream}_obs_unc" in ds:
            obs[:, j + 1] = np.nan_to_num(ds[f"{stream}_obs_unc"].values, nan=-9999.0)
    data = np.concatenate([header, np.hstack([met, obs]).ravel()]).astype("<f8")
    atomic_write_bytes(path, data.tobytes())


def _encode_priors(ds, header, src) -> None:
    priors = parameter_priors(ds)
    old = {
        p.index: p
        for p in (
            ParameterPrior(
                i, float(header[50 + i]), float(header[150 + i]), "gaussian", float(header[250 + i])
            )
            for i in range(100)
            if header[50 + i] > -9998 and header[150 + i] > -9998
        )
    }
    new = {p.index: p for p in priors}
    if new != old:
        header[50:250] = -9999.0
        for p in priors:
            if not 0 <= p.index < 100 or p.kind != "gaussian":
                raise DriverError(
                    f"{src}: parameter prior {p} does not fit an Edinburgh .bin "
                    "(100 Gaussian slots)"
                )
            header[50 + p.index], header[150 + p.index], header[250 + p.index] = (
                p.value,
                p.unc,
                p.weight,
            )
    for name, c in constraints(ds).items():
        attrs = ds[f"constraint_{name}"].attrs
        if "bin_slot" in attrs:
            k = int(attrs["bin_slot"])
        else:
            slots = {v: k for k, v in OTHER_PRIOR_NAMES.items()}
            if name not in slots:
                continue  # e.g. initial_som: a parameter prior in this format (model-specific)
            k = slots[name]
        if not math.isnan(c.value):
            header[350 + k], header[400 + k], header[450 + k] = c.value, c.unc, c.weight


__all__ = ["read_edinburgh_bin", "write_edinburgh_bin", "looks_like_edinburgh_bin"]
