"""JPL netCDF CBF files (CARDAMOM v3 layout, also the daily FLUXNET CBF-style files).

Layout (MODELS.md 6.2; ``CARDAMOM_READ_NETCDF_DATA.c``): one 1-D variable per driver or
observation along the time dimension (its name does not matter), scalars ``ID`` (model id),
``LAT``, ``EDC``, ``MCMCID`` (sampler settings in its attributes), and single-value
constraints ``Mean_*`` / ``PEQ_*``. Observation variables carry the cost-function options
as attributes (``opt_unc_type``, ``opt_filter``, ``opt_normalization``, ``single_unc``,
``single_annual_unc``, ``single_monthly_unc``, ``single_mean_unc``, ``structural_unc``,
``min_threshold``) and may have a ``<NAME>unc`` uncertainty series. Missing values are
-9999 through ``_FillValue`` (the daily files use NaN).

Every variable and attribute of the file is kept: mapped variables carry their netCDF name
(``cbf_name``) and original attributes (``cbf_attrs``, JSON with dtypes); variables this
library has no name for are kept as they are. :func:`write_cbf_netcdf` therefore writes a file
read by :func:`read_cbf_netcdf` back with the same variables, attributes and values, and
encodes only the options, constraints and priors a user changed.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import netCDF4
import numpy as np
import xarray as xr

from .errors import DriverError
from .options import (
    AGGREGATIONS,
    ERROR_TYPES,
    NORMALISATIONS,
    Constraint,
    ObsOptions,
    ParameterPrior,
    constraints,
    get_obs_options,
    obs_streams,
    parameter_priors,
    set_constraint,
    set_parameter_priors,
)
from .pixel import make_pixel, missing_to_nan
from .validate import check_drivers, check_latitude

#: netCDF CBF driver names -> pixel names
DRIVERS = {
    "T2M_MIN": "tmin",
    "T2M_MAX": "tmax",
    "SSRD": "swrad",
    "STRD": "lwrad",
    "SKT": "skin_temperature",
    "VPD": "vpd",
    "TOTAL_PREC": "precip",
    "SNOWFALL": "snowfall",
    "CO2": "co2",
    "BURNED_AREA": "burned_area",
    "DISTURBANCE_FLUX": "disturbance_flux",
    "YIELD": "yield",
    "DOY": "doy",
    "PA": "air_pressure",
}
#: netCDF CBF observation names -> stream names (others: the lower-cased netCDF name)
OBSERVATIONS = {
    "GPP": "gpp",
    "LAI": "lai",
    "NBE": "nbe",
    "ABGB": "abgb",
    "ET": "et",
    "EWT": "ewt",
    "SOM": "som",
    "CH4": "ch4",
    "CWOO": "cwoo",
    "DOM": "dom",
    "LE": "le",
    "H": "h",
    "FIR": "fire",
    "ROFF": "runoff",
    "SCF": "scf",
    "SIF": "sif",
    "SWE": "swe",
    "RECO": "reco",
    "SWC": "swc",
}
#: single-value constraints -> constraint names (others: ``peq_<name>`` / ``mean_<name>``)
CONSTRAINTS = {
    "Mean_LAI": "mean_lai",
    "Mean_GPP": "mean_gpp",
    "Mean_FIR": "mean_fire",
    "Mean_Fire": "mean_fire",
    "Mean_ABGB": "mean_abgb",
    "Mean_Biomass": "mean_abgb",
    "PEQ_iniSOM": "initial_som",
    "PEQ_CUE": "cue",
    "PEQ_Cefficiency": "canopy_efficiency",
}
_OPT_ATTRS = (
    "opt_unc_type",
    "opt_filter",
    "opt_normalization",
    "single_unc",
    "single_annual_unc",
    "single_monthly_unc",
    "single_mean_unc",
    "structural_unc",
    "min_threshold",
)
_OPT_FLOATS = {
    "single_unc": "unc",
    "single_annual_unc": "annual_unc",
    "single_monthly_unc": "monthly_unc",
    "single_mean_unc": "mean_unc",
    "structural_unc": "structural_unc",
    "min_threshold": "threshold",
}
FILL = -9999.0


def looks_like_cbf_netcdf(path) -> bool:
    """True if ``path`` is a netCDF file with the scalars and time series of a CBF."""
    try:
        with netCDF4.Dataset(path) as nc:
            names = set(nc.variables)
            dims = {k: len(v) for k, v in nc.dimensions.items()}
    except (OSError, RuntimeError, ValueError):
        return False
    gridded = any(d.lower() in ("lat", "latitude") for d in dims) and any(
        d.lower() in ("lon", "longitude") for d in dims
    )
    return not gridded and "LAT" in names and bool(names & set(DRIVERS))


# ------------------------------------------------------------------ attribute (de)serialising


def _attrs_json(var) -> str:
    out = []
    for key in var.ncattrs():
        value = var.getncattr(key)
        arr = np.asarray(value)
        if arr.dtype.kind in "US":
            out.append([key, "str", str(value)])
        else:
            out.append([key, arr.dtype.str, arr.tolist()])
    return json.dumps(out)


def _attrs_from_json(text: str) -> list[tuple[str, object]]:
    out = []
    for key, dtype, value in json.loads(text):
        if dtype == "str":
            out.append((key, value))
        else:
            arr = np.asarray(value, dtype=np.dtype(dtype))
            out.append((key, arr[()] if arr.ndim == 0 else arr))
    return out


def options_from_nc_attrs(attrs) -> ObsOptions:
    """:class:`ObsOptions` from netCDF CBF attributes (-9999 or absent = unset).

    An unset ``min_threshold`` is ``-inf``, no floor, as CARDAMOM v3 (commit 952d8c0d)
    defaults it for time-series observations; log-normal model values at or below zero then
    give NaN terms, as there.
    """

    def get(name):
        value = attrs.get(name)
        if value is None:
            return math.nan
        value = float(np.asarray(value).ravel()[0])
        return math.nan if value == FILL else value

    def code(name, names):
        value = get(name)
        if math.isnan(value):
            return names[0]
        i = int(value)
        if not 0 <= i < len(names):
            return None
        return names[i]

    kwargs = {new: get(old) for old, new in _OPT_FLOATS.items()}
    if math.isnan(kwargs["threshold"]):
        kwargs["threshold"] = -math.inf
    error_type = code("opt_unc_type", ERROR_TYPES)
    aggregation = code("opt_filter", AGGREGATIONS)
    normalisation = code("opt_normalization", NORMALISATIONS)
    if None in (error_type, aggregation, normalisation):
        raise ValueError(f"option codes out of range in {dict(attrs)}")
    return ObsOptions(
        error_type=error_type, aggregation=aggregation, normalisation=normalisation, **kwargs
    )


def options_to_nc_attrs(options: ObsOptions) -> dict:
    """netCDF CBF attributes of ``options`` (unset values as -9999)."""
    out = {
        "opt_unc_type": float(ERROR_TYPES.index(options.error_type)),
        "opt_filter": float(AGGREGATIONS.index(options.aggregation)),
        "opt_normalization": float(NORMALISATIONS.index(options.normalisation)),
    }
    for old, new in _OPT_FLOATS.items():
        value = getattr(options, new)
        out[old] = float(value) if np.isfinite(value) else FILL
    return out


# ------------------------------------------------------------------ reader


def read_cbf_netcdf(path) -> xr.Dataset:
    """Read a JPL netCDF CBF (or a daily CBF-style netCDF) into a pixel dataset.

    Parameters
    ----------
    path : str or Path
        The ``.nc`` / ``.cbf.nc`` file.

    Returns
    -------
    xarray.Dataset
        A pixel dataset (:mod:`drivers.pixel`): drivers under their registry names,
        observations as ``<stream>_obs`` (missing = NaN) with their options and
        ``<stream>_obs_unc`` where the file has ``<NAME>unc``, ``Mean_*``/``PEQ_*`` as
        ``constraint_*``, ``PARPRIORS``/``PARPRIORUNC`` as parameter priors, and everything
        else as read. ``time`` holds the file's time values unchanged.

    Raises
    ------
    DriverError
        Not a netCDF file, no time variable, a driver with a missing or non-finite value,
        latitude outside [-90, 90], or any other failed driver check.
    """
    path = Path(path)
    src = str(path)
    try:
        nc = netCDF4.Dataset(path)
    except (OSError, RuntimeError) as err:
        raise DriverError(f"{src}: cannot open as netCDF ({err})") from None
    with nc:
        nc.set_auto_maskandscale(False)
        return _read_open(nc, path)


def _read_open(nc, path: Path) -> xr.Dataset:
    src = str(path)
    if "time" not in nc.variables:
        raise DriverError(f"{src}: no 'time' variable (is this a netCDF CBF file?)")
    tvar = nc.variables["time"]
    tdim = tvar.dimensions[0] if tvar.dimensions else "time"
    time = np.asarray(tvar[:], dtype=np.float64)
    n = time.size
    if "LAT" not in nc.variables:
        raise DriverError(f"{src}: no 'LAT' variable")
    lat = float(np.asarray(nc.variables["LAT"][:]).ravel()[0])
    check_latitude(lat, f"{src}: variable 'LAT'")
    lon = (
        float(np.asarray(nc.variables["LON"][:]).ravel()[0]) if "LON" in nc.variables else math.nan
    )
    if not np.isfinite(lon):
        lon = _site_longitude(path)

    series = {}
    for name, var in nc.variables.items():
        if var.dimensions == (tdim,) and name != "time":
            series[name] = var
    is_obs = {
        name
        for name, var in series.items()
        if (
            any(a.startswith("opt_") for a in var.ncattrs())
            or f"{name}unc" in series
            or name in OBSERVATIONS
        )
        and not name.endswith("unc")
    }
    met, obs, obs_unc, options = {}, {}, {}, {}
    stream_of = {}
    for name, var in series.items():
        values = np.asarray(var[:], dtype=np.float64)
        if values.size != n:
            raise DriverError(f"{src}: variable {name!r} has {values.size} values, 'time' has {n}")
        if name in is_obs:
            stream = OBSERVATIONS.get(name, name.lower())
            stream_of[name] = stream
            obs[stream] = missing_to_nan(values)
            try:
                options[stream] = options_from_nc_attrs(
                    {a: var.getncattr(a) for a in var.ncattrs()}
                )
            except ValueError as err:
                raise DriverError(f"{src}: variable {name!r}: {err}") from None
        elif name in DRIVERS:
            met[DRIVERS[name]] = values
    for name in list(is_obs):
        unc = f"{name}unc"
        if unc in series:
            obs_unc[stream_of[name]] = missing_to_nan(np.asarray(series[unc][:], dtype=np.float64))

    model_id = int(np.asarray(nc.variables["ID"][:]).ravel()[0]) if "ID" in nc.variables else -9999
    ds = make_pixel(
        time,
        met,
        lat,
        longitude=lon,
        obs=obs,
        obs_unc=obs_unc,
        obs_options=options,
        attrs={
            "source_file": src,
            "source_format": "cbf_netcdf",
            "pixel_id": path.name.split(".")[0],
            "model_id": model_id,
            "cbf_file_format": nc.file_format,
            "cbf_time_dim": tdim,
            "cbf_variables": json.dumps(list(nc.variables)),
            "cbf_global_attrs": _attrs_json(nc),
        },
    )
    ds["time"].attrs["cbf_attrs"] = _attrs_json(tvar)
    ds["time"].attrs["cbf_dtype"] = tvar.dtype.str
    mapped = {"time"}
    for name, var in series.items():
        if name in is_obs:
            target = f"{stream_of[name]}_obs"
        elif name.endswith("unc") and name[:-3] in is_obs:
            target = f"{stream_of[name[:-3]]}_obs_unc"
        elif name in DRIVERS:
            target = DRIVERS[name]
        else:
            continue
        mapped.add(name)
        ds[target].attrs.update(cbf_name=name, cbf_attrs=_attrs_json(var), cbf_dtype=var.dtype.str)
        if target.endswith(("_obs", "_obs_unc")):
            raw = np.asarray(var[:], dtype=np.float64)
            # missing values written otherwise than as the _FillValue: keep how
            fill = (
                float(np.asarray(var.getncattr("_FillValue")))
                if "_FillValue" in var.ncattrs()
                else FILL
            )
            if np.isnan(fill) and (raw == FILL).any():
                ds[target].attrs["cbf_missing"] = FILL
            elif not np.isnan(fill) and np.isnan(raw).any():
                ds[target].attrs["cbf_missing"] = math.nan

    # scalars, constraints, priors and everything else, as read
    for name, var in nc.variables.items():
        if name in mapped:
            continue
        values = np.asarray(var[:])
        keep = {"cbf_name": name, "cbf_attrs": _attrs_json(var), "cbf_dtype": var.dtype.str}
        value = float(values.ravel()[0]) if values.size == 1 and values.dtype.kind == "f" else 0.0
        # a constraint without a value (NaN or -9999) constrains nothing: kept as read only
        if name.startswith(("Mean_", "PEQ_")) and values.size == 1 and value > FILL:
            a = {k: var.getncattr(k) for k in var.ncattrs()}
            unc = float(np.asarray(a.get("unc", FILL)).ravel()[0])
            code = float(np.asarray(a.get("opt_unc_type", FILL)).ravel()[0])
            thr = float(np.asarray(a.get("min_threshold", FILL)).ravel()[0])
            cname = CONSTRAINTS.get(name, name.lower())
            set_constraint(
                ds,
                Constraint(
                    name=cname,
                    value=value,
                    unc=math.nan if unc == FILL else unc,
                    error_type=ERROR_TYPES[int(code)] if 0 <= code < 3 else "gaussian",
                    threshold=math.nan if thr == FILL else thr,
                ),
                **keep,
            )
            continue
        dims = tuple("time" if d == tdim else f"cbf_{d}" for d in var.dimensions)
        ds[f"cbf_var_{name}"] = (dims, values, keep)
    if "cbf_var_PARPRIORS" in ds and "cbf_var_PARPRIORUNC" in ds:
        set_parameter_priors(
            ds, _decode_priors(ds["cbf_var_PARPRIORS"].values, ds["cbf_var_PARPRIORUNC"].values)
        )
    check_drivers(ds)
    return ds


def _decode_priors(values, unc) -> list[ParameterPrior]:
    out = []
    for i, (v, u) in enumerate(zip(values, unc, strict=True)):
        if np.isfinite(v) and np.isfinite(u) and v > -9998 and u > -9998 and u != 0:
            out.append(
                ParameterPrior(i, float(v), abs(float(u)), "lognormal" if u > 0 else "gaussian")
            )
    return out


def _site_longitude(path: Path) -> float:
    """Longitude from a ``site_coords.csv`` beside the file (daily FLUXNET set), else NaN."""
    table = path.parent / "site_coords.csv"
    if not table.is_file():
        return math.nan
    try:
        with open(table) as fh:
            header = fh.readline().strip().split(",")
            i_site, i_lon = header.index("SITE_ID"), header.index("lon")
            for line in fh:
                cells = line.strip().split(",")
                if cells[i_site] == path.stem:
                    return float(cells[i_lon])
    except (OSError, ValueError, IndexError):
        return math.nan
    return math.nan


# ------------------------------------------------------------------ writer

_REVERSE_DRIVERS = {v: k for k, v in DRIVERS.items()}
_REVERSE_OBS = {v: k for k, v in OBSERVATIONS.items()}
_REVERSE_CONSTRAINTS = {
    "mean_lai": "Mean_LAI",
    "mean_gpp": "Mean_GPP",
    "mean_fire": "Mean_FIR",
    "mean_abgb": "Mean_ABGB",
    "initial_som": "PEQ_iniSOM",
    "cue": "PEQ_CUE",
    "canopy_efficiency": "PEQ_Cefficiency",
}


def write_cbf_netcdf(ds: xr.Dataset, path) -> None:
    """Write a pixel dataset as a JPL netCDF CBF (atomically: temporary file, then rename).

    A dataset read by :func:`read_cbf_netcdf` is written with the same variables (names,
    dimensions, dtypes, values) and attributes; options, constraints and priors that were
    changed are encoded into the attributes CARDAMOM reads. Other datasets are written in
    the v3 layout: drivers, observations with their options and ``<NAME>unc`` series,
    ``Mean_*``/``PEQ_*`` constraints, ``ID``, ``LAT``, ``LON`` and ``EDC``.

    Parameters
    ----------
    ds : xarray.Dataset
        A pixel dataset.
    path : str or Path
        Output file (replaced if it exists).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        fmt = ds.attrs.get("cbf_file_format", "NETCDF4_CLASSIC")
        with netCDF4.Dataset(tmp, "w", format=fmt) as nc:
            _write_open(ds, nc)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _create(nc, name, dims, dtype, values, attrs, fill=None):
    kw = {}
    if fill is not None:
        kw["fill_value"] = fill
    var = nc.createVariable(name, np.dtype(dtype), dims, **kw)
    for key, value in attrs:
        if key != "_FillValue":
            var.setncattr(key, value)
    var[...] = np.asarray(values).astype(np.dtype(dtype))
    return var


def _orig(attrs) -> tuple[list, object]:
    """Original attributes and _FillValue of a variable read from netCDF (else none)."""
    if "cbf_attrs" not in attrs:
        return None, None
    items = _attrs_from_json(attrs["cbf_attrs"])
    fill = dict(items).get("_FillValue")
    return items, fill


def _write_open(ds: xr.Dataset, nc) -> None:
    tdim = ds.attrs.get("cbf_time_dim", "time")
    n = ds.sizes["time"]
    nc.createDimension(tdim, n)
    for key, value in _attrs_from_json(ds.attrs.get("cbf_global_attrs", "[]")):
        nc.setncattr(key, value)
    pending = []  # (order key, writer)
    order = json.loads(ds.attrs.get("cbf_variables", "[]"))

    def rank(name):
        return order.index(name) if name in order else len(order)

    # time
    items, fill = _orig(ds["time"].attrs)
    if items is None:
        items, fill = [("units", "days since 2001-01-01")], FILL
    dtype = ds["time"].attrs.get("cbf_dtype", "<f8")
    pending.append(
        (rank("time"), _bind(_create, nc, "time", (tdim,), dtype, ds["time"].values, items, fill))
    )
    # drivers
    for var in ds.data_vars:
        var = str(var)
        da = ds[var]
        if da.dims != ("time",) or var.endswith(("_obs", "_obs_unc", "_obs_unc_product")):
            continue
        name = da.attrs.get("cbf_name", _REVERSE_DRIVERS.get(var))
        if name is None or var.startswith("cbf_var_"):
            continue
        if "cbf_variables" in ds.attrs and "cbf_name" not in da.attrs:
            continue  # derived after reading (e.g. burned area 0): not part of the file
        items, fill = _orig(da.attrs)
        if items is None:
            items = [("units", da.attrs.get("units", "1"))]
            fill = FILL
        dtype = da.attrs.get("cbf_dtype", "<f8")
        pending.append(
            (rank(name), _bind(_create, nc, name, (tdim,), dtype, da.values, items, fill))
        )
    # observations and their uncertainty series
    for stream in obs_streams(ds):
        da = ds[f"{stream}_obs"]
        name = da.attrs.get("cbf_name", _REVERSE_OBS.get(stream, stream.upper()))
        items, fill = _orig(da.attrs)
        items = items or []
        current = get_obs_options(ds, stream)
        original = options_from_nc_attrs(dict(items)) if "cbf_attrs" in da.attrs else None
        if original is None or not _same_options(original, current):
            merged = dict(items)
            merged.update(options_to_nc_attrs(current))
            items = list(merged.items())
        fill = FILL if fill is None else fill
        fillnum = float(da.attrs.get("cbf_missing", np.asarray(fill)))
        dtype = da.attrs.get("cbf_dtype", "<f8")
        values = np.where(np.isnan(da.values), fillnum, da.values)
        pending.append((rank(name), _bind(_create, nc, name, (tdim,), dtype, values, items, fill)))
        unc = f"{stream}_obs_unc"
        if unc in ds:
            uda = ds[unc]
            uname = uda.attrs.get("cbf_name", f"{name}unc")
            uitems, ufill = _orig(uda.attrs)
            uitems = uitems or []
            ufill = FILL if ufill is None else ufill
            umissing = float(uda.attrs.get("cbf_missing", np.asarray(ufill)))
            uvalues = np.where(np.isnan(uda.values), umissing, uda.values)
            udtype = uda.attrs.get("cbf_dtype", "<f8")
            pending.append(
                (rank(uname), _bind(_create, nc, uname, (tdim,), udtype, uvalues, uitems, ufill))
            )
    # constraints
    for cname, c in constraints(ds).items():
        da = ds[f"constraint_{cname}"]
        name = da.attrs.get("cbf_name", _REVERSE_CONSTRAINTS.get(cname, f"PEQ_{cname}"))
        items, cfill = _orig(da.attrs)
        attrs = dict(items or [])
        old = _constraint_from_attrs(cname, float(da.values), attrs) if items is not None else None
        if old is None or not _same_constraint(old, c):
            attrs.update(
                unc=float(c.unc) if np.isfinite(c.unc) else FILL,
                opt_unc_type=float(ERROR_TYPES.index(c.error_type)),
            )
            if np.isfinite(c.threshold):
                attrs["min_threshold"] = float(c.threshold)
        dtype = da.attrs.get("cbf_dtype", "<f8")
        value = c.value
        pending.append(
            (rank(name), _bind(_create, nc, name, (), dtype, value, list(attrs.items()), cfill))
        )
    # everything kept as read (scalars, prior arrays, unmapped series)
    priors = parameter_priors(ds)
    for var in ds.data_vars:
        var = str(var)
        if not var.startswith("cbf_var_"):
            continue
        da = ds[var]
        name = da.attrs["cbf_name"]
        dims = tuple(tdim if d == "time" else d[len("cbf_") :] for d in da.dims)
        for d, size in zip(dims, da.shape, strict=True):
            if d not in nc.dimensions:
                nc.createDimension(d, size)
        values = da.values
        if name in ("PARPRIORS", "PARPRIORUNC") and "cbf_var_PARPRIORUNC" in ds:
            values = _encode_priors(ds, name, priors)
        elif name == "LAT":
            values = np.asarray(ds["latitude"].values, dtype=values.dtype)
        elif name == "LON" and np.isfinite(float(ds["longitude"].values)):
            values = np.asarray(ds["longitude"].values, dtype=values.dtype)
        items, fill = _orig(da.attrs)
        pending.append(
            (
                rank(name),
                _bind(_create, nc, name, dims, da.attrs["cbf_dtype"], values, items or [], fill),
            )
        )
    if "cbf_variables" not in ds.attrs:
        pending.extend(_v3_scalars(ds, nc, rank))
    for _, write in sorted(pending, key=lambda p: p[0]):
        write()


def _bind(fn, *args):
    return lambda: fn(*args)


def _same_options(a: ObsOptions, b: ObsOptions) -> bool:
    da, db = a.as_dict(), b.as_dict()
    da.pop("assimilate"), db.pop("assimilate")
    da.pop("floor"), db.pop("floor")
    da.pop("relative_structural_unc"), db.pop("relative_structural_unc")
    return all(
        x == y
        or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(da.values(), db.values(), strict=True)
    )


def _constraint_from_attrs(name, value, attrs) -> Constraint:
    def num(key):
        v = float(np.asarray(attrs.get(key, FILL)).ravel()[0])
        return math.nan if v == FILL else v

    code = num("opt_unc_type")
    return Constraint(
        name,
        math.nan if value == FILL else value,
        num("unc"),
        ERROR_TYPES[int(code)] if np.isfinite(code) and 0 <= code < 3 else "gaussian",
        num("min_threshold"),
    )


def _same_constraint(a: Constraint, b: Constraint) -> bool:
    return all(
        x == y
        or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(vars(a).values(), vars(b).values(), strict=True)
    )


def _encode_priors(ds, name, priors) -> np.ndarray:
    values = ds["cbf_var_PARPRIORS"].values
    unc = ds["cbf_var_PARPRIORUNC"].values
    old = _decode_priors(values, unc)
    if len(old) == len(priors) and all(
        vars(a) == vars(b) for a, b in zip(old, priors, strict=True)
    ):
        return ds[f"cbf_var_{name}"].values
    new_v, new_u = np.full(values.shape, FILL), np.full(values.shape, FILL)
    for p in priors:
        new_v[p.index] = p.value
        new_u[p.index] = p.unc if p.kind == "lognormal" else -p.unc
    return new_v if name == "PARPRIORS" else new_u


def _v3_scalars(ds, nc, rank):
    out = []
    lat = float(ds["latitude"].values)
    lon = float(ds["longitude"].values)
    model_id = float(ds.attrs.get("model_id", FILL))
    out.append((rank("ID"), _bind(_create, nc, "ID", (), "<f8", model_id, [])))
    out.append((rank("LAT"), _bind(_create, nc, "LAT", (), "<f8", lat, [])))
    if np.isfinite(lon):
        out.append((rank("LON"), _bind(_create, nc, "LON", (), "<f8", lon, [])))
    out.append((rank("EDC"), _bind(_create, nc, "EDC", (), "<f8", 1.0, [])))
    priors = parameter_priors(ds)
    if priors:
        nc.createDimension("nopars", 50)
        v, u = np.full(50, FILL), np.full(50, FILL)
        for p in priors:
            v[p.index] = p.value
            u[p.index] = p.unc if p.kind == "lognormal" else -p.unc
        out.append((rank("PARPRIORS"), _bind(_create, nc, "PARPRIORS", ("nopars",), "<f8", v, [])))
        out.append(
            (rank("PARPRIORUNC"), _bind(_create, nc, "PARPRIORUNC", ("nopars",), "<f8", u, []))
        )
    return out


__all__ = ["read_cbf_netcdf", "write_cbf_netcdf", "looks_like_cbf_netcdf"]
