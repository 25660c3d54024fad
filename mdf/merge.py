"""Merge per-pixel results into one CF-1.12 netCDF product, streaming (bounded memory).

The product holds, for every pixel of a run folder (:mod:`mdf.runfolder`) on its latitude-
longitude grid, or along a ``site`` dimension (CF discrete sampling geometry ``timeSeries``)
for pixel lists off a grid:

- posterior quantiles of the monthly fluxes and LAI (``quantile, time``) and of the pools at
  the step boundaries (``quantile, state_time``);
- quantiles of per-member summaries: run-mean NBE (``nbe_mean``), NPP allocation fractions and
  mean residence times;
- each parameter's quantiles (``par_<name>``: median and 2.5-97.5 % interval among them);
- R-hat and bulk ESS per parameter (``rhat``, ``ess_bulk`` on ``variable``), their worst values
  (``max_rhat``, ``min_ess_bulk``) and the ``converged`` flag;
- ``p_sink`` = P(run-mean NBE < 0) and ``sink_source_class`` (CF flags: sink, neutral,
  source at 95 % posterior probability), and ``calibration_status`` (done, failed, not done).

Pixels are read one at a time and written into chunks of their own (time series) or into
shared map chunks held in a fixed-size chunk cache, so memory does not grow with the number
of pixels. Nothing time-dependent is written: the same results give the same product.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import numpy as np

from .results import QUANTILES
from .runfolder import RunFolder

log = logging.getLogger(__name__)

#: monthly series merged by default (those the model has)
SERIES = ("nee", "gpp", "reco", "ra", "rh", "npp", "fire", "et", "lai")
#: map chunks span 32x32 cells (or 1024 sites); each map variable's chunk cache holds one row
#: of them (pixels are merged row by row), so memory is bounded by the grid's width
MAP_CHUNK = 32
SITE_CHUNK = 1024
CLASS_FLAGS = {"sink": 0, "neutral": 1, "source": 2}
STATUS_FLAGS = {"done": 0, "failed": 1, "not_done": 2}
_FILL8 = np.int8(-127)


class MergeError(ValueError):
    """Results that cannot be merged (none done, or differing time axes or models)."""


def _attrs(var) -> dict:
    return {k: var.getncattr(k) for k in var.ncattrs() if k != "_FillValue"}


class _Template:
    """Axes, variable names and attributes, from the first finished pixel."""

    def __init__(self, path: Path, series=None):
        import netCDF4

        with netCDF4.Dataset(path) as nc:
            pp = nc["posterior_predictive"]
            self.time = np.asarray(pp["time"][:], dtype=np.float64)
            self.time_attrs = _attrs(pp["time"])
            self.state_time = np.asarray(pp["state_time"][:], dtype=np.float64)
            self.state_time_attrs = _attrs(pp["state_time"])
            want = SERIES if series is None else tuple(series)
            missing = [v for v in want if v not in pp.variables] if series is not None else []
            if missing:
                raise MergeError(f"{path}: no variable(s) {missing} in the posterior ensemble")
            self.series = [v for v in want if v in pp.variables
                           and pp[v].dimensions == ("chain", "draw", "time")]
            self.pools = [v for v, x in pp.variables.items()
                          if x.dimensions == ("chain", "draw", "state_time")]
            self.members = [v for v, x in pp.variables.items()
                            if x.dimensions == ("chain", "draw") and v not in ("chain", "draw")]
            self.var_attrs = {v: _attrs(pp[v]) for v in self.series + self.pools + self.members}
            post = nc["posterior"]
            self.parameters = [v for v, x in post.variables.items()
                               if x.dimensions == ("chain", "draw")]
            self.par_attrs = {v: _attrs(post[v]) for v in self.parameters}
            self.diag_names = [str(s) for s in nc["diagnostics"]["variable"][:]]
            self.model = str(nc.getncattr("model"))


def _quantile_attrs(attrs: dict) -> dict:
    note = "posterior quantiles over the pixel's ensemble (dimension quantile)"
    comment = f"{attrs['comment']}; {note}" if attrs.get("comment") else note
    return {**attrs, "comment": comment}


def _quantiles(members: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles over axis 1 (members) [float32]; NaN where a member is NaN, inf kept."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.quantile(members, q, axis=1).astype(np.float32)


def _text(value) -> str:
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value
    return value.decode() if isinstance(value, bytes) else str(value)


class _H5:
    """Reads a result file with h5py: opening is ~50x faster than netCDF-C's (which reads
    every group's metadata up front), which is most of a merge's time."""

    def __init__(self, path):
        import h5py

        self.file = h5py.File(path, "r")
        self.groups: dict = {}

    def group(self, name):
        if name not in self.groups:
            self.groups[name] = self.file[name]
        return self.groups[name]

    def array(self, group, name):
        return np.asarray(self.group(group)[name][()], dtype=np.float64)

    def strings(self, group, name):
        return [str(v) for v in np.atleast_1d(self.group(group)[name].asstr()[()])]

    def has(self, group, name):
        return name in self.group(group)

    def attr(self, name):
        return _text(self.file.attrs[name])

    def close(self):
        self.file.close()


class _NC(_H5):
    """The same with netCDF4 (when h5py is not installed)."""

    def __init__(self, path):
        import netCDF4

        self.file = netCDF4.Dataset(path)
        self.file.set_auto_mask(False)
        self.groups = {}

    def array(self, group, name):
        return np.asarray(self.file[group][name][...], dtype=np.float64)

    def strings(self, group, name):
        return [str(v) for v in np.atleast_1d(self.file[group][name][...])]

    def has(self, group, name):
        return name in self.file[group].variables

    def attr(self, name):
        return _text(self.file.getncattr(name))


def _reader(path):
    try:
        return _H5(path)
    except ImportError:
        return _NC(path)


def _read_pixel(path: Path, tpl: _Template, q: np.ndarray) -> dict:
    """One result file's quantiles and diagnostics, everything the product needs of it."""
    f = _reader(path)
    try:
        if f.attr("model") != tpl.model:
            raise MergeError(f"{path}: model {f.attr('model')}, the others {tpl.model}")
        time = f.array("posterior_predictive", "time")
        if time.shape != tpl.time.shape or not np.array_equal(time, tpl.time):
            raise MergeError(f"{path}: its time axis differs from the other pixels' (products "
                             "need one axis; merge runs of different periods separately)")
        if f.strings("diagnostics", "variable") != tpl.diag_names:
            raise MergeError(f"{path}: its parameters differ from the other pixels'")
        out = {}
        nee = None
        for names in (tpl.series, tpl.pools):
            if not names:
                continue
            block = []
            for v in names:
                x = f.array("posterior_predictive", v)
                block.append(x.reshape(-1, x.shape[-1]))
                if v == "nee":
                    nee = x
            qs = _quantiles(np.stack(block), q)  # (quantile, variable, step)
            out.update({v: qs[:, i] for i, v in enumerate(names)})
        if nee is None:
            nee = f.array("posterior_predictive", "nee")
        scalars = [f.array("posterior_predictive", v).ravel() for v in tpl.members]
        scalars.append(nee.mean(axis=-1).ravel())
        qs = _quantiles(np.stack(scalars), q)
        out.update({v: qs[:, i] for i, v in enumerate([*tpl.members, "nbe_mean"])})
        pars = np.stack([f.array("posterior", v).ravel() for v in tpl.parameters])
        qs = _quantiles(pars, q)
        out.update({f"par_{v}": qs[:, i] for i, v in enumerate(tpl.parameters)})
        out["rhat"] = f.array("diagnostics", "rhat")
        out["ess_bulk"] = f.array("diagnostics", "ess_bulk")
        out["p_sink"] = float(f.array("summary", "p_sink"))
        out["class"] = f.strings("summary", "sink_source_class")[0]
        out["converged"] = int(f.attr("converged"))
        try:  # results written before chain groups were recorded: one group assumed
            out["chain_groups"] = int(f.attr("n_chain_groups"))
        except (KeyError, AttributeError):
            out["chain_groups"] = 1
        try:
            out["cardamom_psrf"] = float(f.attr("cardamom_psrf"))
        except (KeyError, AttributeError):
            out["cardamom_psrf"] = math.nan
        for name in ("latitude", "longitude"):
            has = f.has("constant_data", name)
            out[name] = float(f.array("constant_data", name)) if has else math.nan
    finally:
        f.close()
    return out


class _Product:
    """The output file: dimensions, variables and per-pixel writes."""

    def __init__(self, nc, tpl: _Template, q: np.ndarray, pixels, layout: str):
        self.nc = nc
        self.layout = layout
        self.tpl = tpl
        self._maps: dict = {}
        self._key = None
        self._buf: dict = {}
        nq = q.size
        nc.createDimension("quantile", nq)
        nc.createDimension("time", tpl.time.size)
        nc.createDimension("state_time", tpl.state_time.size)
        nc.createDimension("variable", len(tpl.diag_names))
        v = nc.createVariable("quantile", "f8", ("quantile",))
        v[:] = q
        v.setncatts({"long_name": "posterior quantile (probability level)", "units": "1"})
        for name, values, attrs in (("time", tpl.time, tpl.time_attrs),
                                    ("state_time", tpl.state_time, tpl.state_time_attrs)):
            v = nc.createVariable(name, "f8", (name,))
            v[:] = values
            v.setncatts(attrs)
        nc["time"].axis = "T"
        v = nc.createVariable("variable", str, ("variable",))
        v[:] = np.array(tpl.diag_names, dtype=object)
        v.long_name = "parameter (or log_posterior) of the convergence diagnostics"
        if layout == "grid":
            lat = np.asarray(pixels.grid["latitude"], dtype=np.float64)
            lon = np.asarray(pixels.grid["longitude"], dtype=np.float64)
            nc.createDimension("lat", lat.size)
            nc.createDimension("lon", lon.size)
            for name, values, std, units, axis in (("lat", lat, "latitude", "degrees_north", "Y"),
                                                   ("lon", lon, "longitude", "degrees_east",
                                                    "X")):
                v = nc.createVariable(name, "f8", (name,))
                v[:] = values
                v.setncatts({"standard_name": std, "long_name": std, "units": units,
                             "axis": axis})
            crs = nc.createVariable("crs", "i4")
            crs.setncatts({"grid_mapping_name": "latitude_longitude",
                           "semi_major_axis": 6371000.0, "inverse_flattening": 0.0})
            self.space = ("lat", "lon")
            self.space_chunks = (min(MAP_CHUNK, lat.size), min(MAP_CHUNK, lon.size))
            self.where_attrs = {"grid_mapping": "crs"}
        else:
            n = len(pixels)
            nc.createDimension("site", n)
            nc.featureType = "timeSeries"
            v = nc.createVariable("site_id", str, ("site",))
            v[:] = np.array(pixels.ids(), dtype=object)
            v.setncatts({"cf_role": "timeseries_id", "long_name": "pixel id"})
            for name, attr in (("site_name", "site"), ("land_cover", "land_cover")):
                v = nc.createVariable(name, str, ("site",))
                v[:] = np.array([getattr(p, attr) for p in pixels], dtype=object)
                v.long_name = {"site_name": "site name", "land_cover": "land-cover class"}[name]
            self.listed = {}
            for name, std, units in (("latitude", "latitude", "degrees_north"),
                                     ("longitude", "longitude", "degrees_east")):
                v = nc.createVariable(name, "f8", ("site",), fill_value=np.nan)
                self.listed[name] = np.array([getattr(p, name) for p in pixels], dtype=np.float64)
                v[:] = self.listed[name]
                v.setncatts({"standard_name": std, "units": units,
                             "comment": "position of the pixel's drivers where it is done, "
                                        "else of the pixel list"})
            self.space = ("site",)
            self.space_chunks = (min(SITE_CHUNK, n),)
            self.where_attrs = {"coordinates": "latitude longitude site_id"}
        one = (1,) * len(self.space)
        for name in tpl.series:
            self._var(name, ("quantile", "time"), (nq, tpl.time.size, *one),
                      _quantile_attrs(tpl.var_attrs[name]), cache=0)
        for name in tpl.pools:
            self._var(name, ("quantile", "state_time"), (nq, tpl.state_time.size, *one),
                      _quantile_attrs(tpl.var_attrs[name]), cache=0)
        for name in tpl.members:
            self._map(name, ("quantile",), _quantile_attrs(tpl.var_attrs[name]))
        self._map("nbe_mean", ("quantile",), {
            "long_name": "run-mean net biome exchange", "units": "g m-2 d-1",
            "comment": "quantiles over members of the mean NBE over the run; positive = "
                       "source (flux from the land to the atmosphere)"})
        for name in tpl.parameters:
            a = tpl.par_attrs[name]
            self._map(f"par_{name}", ("quantile",), {
                "long_name": f"posterior quantiles of parameter {name}: "
                             f"{a.get('long_name', '')}".rstrip(": "),
                "units": a.get("units", "1"), **({"symbol": a["symbol"]} if "symbol" in a
                                                 else {})})
        self._map("rhat", ("variable",), {"long_name": "rank-normalised split R-hat",
                                          "units": "1"})
        self._map("ess_bulk", ("variable",), {"long_name": "bulk effective sample size",
                                              "units": "1"})
        self._map("max_rhat", (), {"long_name": "largest R-hat over parameters and log P",
                                   "units": "1"})
        self._map("min_ess_bulk", (), {"long_name": "smallest bulk ESS", "units": "1"})
        self._map("p_sink", (), {"long_name": "posterior probability that the run-mean NBE "
                                              "is negative (net sink)", "units": "1"})
        self._flags("sink_source_class", CLASS_FLAGS, {
            "long_name": "sink or source at 95 % posterior probability",
            "comment": "sink if P(mean NBE < 0) >= 0.95, source if P(mean NBE > 0) >= 0.95, "
                       "else neutral"})
        self._flags("converged", {"no": 0, "yes": 1}, {
            "long_name": "chains converged (R-hat and bulk ESS targets met)"})
        self._map("cardamom_psrf", (), {
            "long_name": "classic Gelman-Rubin PSRF of log P over the last 10 % of the draws",
            "units": "1",
            "comment": "Edinburgh CARDAMOM's convergence test passes below 1.2; this "
                       "library's targets are the 'converged' flag"})
        self._map("chain_groups", (), {
            "long_name": "number of separate regions the chains settled in",
            "units": "1",
            "comment": "1: the chains overlap; more: separate modes or regions the sampler "
                       "did not mix between, pooled in the quantiles (mdf.diagnostics."
                       "chain_groups)"})
        self._flags("calibration_status", STATUS_FLAGS, {
            "long_name": "state of the pixel's calibration when the product was made"})

    def _var(self, name, lead, chunks, attrs, cache, dtype="f4"):
        fill = np.float32(np.nan) if dtype == "f4" else _FILL8
        v = self.nc.createVariable(name, dtype, (*lead, *self.space), fill_value=fill,
                                   zlib=True, complevel=1, shuffle=True, chunksizes=chunks)
        v.set_var_chunk_cache(size=cache or 2**16, nelems=1009, preemption=1.0)
        v.setncatts({**{k: a for k, a in attrs.items() if k != "coordinates"},
                     **self.where_attrs})
        return v

    def _map(self, name, lead, attrs, dtype="f4"):
        """A per-pixel variable (maps): written a row of the grid (1024 sites) at a time."""
        sizes = tuple(len(self.nc.dimensions[d]) for d in lead)
        chunk_bytes = int(np.prod(sizes + self.space_chunks)) * np.dtype(dtype).itemsize
        per_row = -(-len(self.nc.dimensions[self.space[-1]]) // self.space_chunks[-1])
        cache = chunk_bytes * per_row + 2**16
        self._maps[name] = (sizes, dtype)
        return self._var(name, lead, (*sizes, *self.space_chunks), attrs, cache, dtype)

    def _flags(self, name, flags, attrs):
        v = self._map(name, (), attrs, dtype="i1")
        v.flag_values = np.array(list(flags.values()), dtype=np.int8)
        v.flag_meanings = " ".join(flags)

    # ------------------------------------------------------------------ writing
    def _slot(self, where: tuple):
        """The buffer position of a pixel; flushes the previous row (block of sites)."""
        if self.layout == "grid":
            key, pos = where[0], where[1]
            width = len(self.nc.dimensions["lon"])
        else:
            key, pos = divmod(where[0], SITE_CHUNK)
            width = min(SITE_CHUNK, len(self.nc.dimensions["site"]) - key * SITE_CHUNK)
        if key != self._key:
            self.flush()
            self._key = key
            self._buf = {name: np.full((*sizes, width), np.nan if dtype == "f4" else _FILL8,
                                       dtype=np.float32 if dtype == "f4" else np.int8)
                         for name, (sizes, dtype) in self._maps.items()}
        return pos

    def flush(self) -> None:
        if self._key is None:
            return
        if self.layout == "grid":
            where = (self._key, slice(None))
        else:
            start = self._key * SITE_CHUNK
            where = (slice(start, start + next(iter(self._buf.values())).shape[-1]),)
        for name, buf in self._buf.items():
            self.nc[name][(*(slice(None),) * (buf.ndim - 1), *where)] = buf
        self._key = None

    def write(self, where: tuple, data: dict) -> None:
        nc, tpl = self.nc, self.tpl
        for name in tpl.series + tpl.pools:  # a chunk of its own: written straight away
            nc[name][(slice(None), slice(None), *where)] = data[name]
        k = self._slot(where)
        buf = self._buf
        for name in (*tpl.members, "nbe_mean", *(f"par_{p}" for p in tpl.parameters),
                     "rhat", "ess_bulk"):
            buf[name][..., k] = data[name]
        buf["max_rhat"][k] = np.nanmax(data["rhat"])
        buf["min_ess_bulk"][k] = np.nanmin(data["ess_bulk"])
        buf["p_sink"][k] = data["p_sink"]
        buf["sink_source_class"][k] = CLASS_FLAGS[data["class"]]
        buf["converged"][k] = data["converged"]
        buf["chain_groups"][k] = data["chain_groups"]
        buf["cardamom_psrf"][k] = data["cardamom_psrf"]
        if self.layout == "site":  # the list's position where it has one, else the drivers'
            for name in ("latitude", "longitude"):
                if not np.isfinite(self.listed[name][where]):
                    nc[name][where] = data[name]

    def status(self, where: tuple, state: str) -> None:
        k = self._slot(where)
        self._buf["calibration_status"][k] = STATUS_FLAGS.get(state, STATUS_FLAGS["not_done"])


def merge(run_dir, out, *, layout: str = "auto", quantiles=QUANTILES, series=None,
          confidence: float = 0.95) -> dict:
    """Merge a run folder's results into one CF-1.12 netCDF product (written atomically).

    Parameters
    ----------
    run_dir : path
        Run folder of :func:`mdf.calibrate_many`.
    out : path
        Product file (``.nc``).
    layout : {'auto', 'grid', 'site'}
        ``grid``: ``(lat, lon)`` maps on the pixel list's grid; ``site``: a ``site``
        dimension; ``auto``: grid if the list came from a grid.
    quantiles : sequence of float
        Probability levels of the ``quantile`` dimension.
    series : sequence of str, optional
        Monthly series to merge (default :data:`SERIES`, those the model has).
    confidence : float
        Posterior probability behind ``sink_source_class`` (0.95: as the per-pixel results).

    Returns
    -------
    dict
        ``n_pixels``, ``done``, ``failed``, ``not_done``, ``sink``, ``neutral``, ``source``,
        ``fraction_sign_known`` (sink or source among the done pixels), ``converged`` (done
        pixels whose chains met the R-hat and ESS targets), ``fraction_sign_known_converged``
        (sink or source among those; NaN if none) and ``path``.

    Raises
    ------
    MergeError
        No finished pixel, or pixels whose time axes, models or parameters differ.
    """
    import netCDF4

    folder = RunFolder(run_dir)
    pixels = folder.pixels()
    settings = folder.settings()
    states = folder.states(pixels.ids())
    if layout == "auto":
        layout = "grid" if pixels.grid and all(p.lat_index >= 0 for p in pixels) else "site"
    if layout == "grid" and not pixels.grid:
        raise MergeError(f"{folder.path}: layout 'grid' needs a pixel list made from a grid")
    if confidence != 0.95:
        raise MergeError("the per-pixel classes are at 0.95; other levels are not merged yet")
    first = next((p for p in pixels if states[p.pixel_id] == "done"), None)
    if first is None:
        raise MergeError(f"{folder.path}: no finished pixel to merge")
    tpl = _Template(folder.result_path(first.pixel_id), series)
    q = np.asarray(quantiles, dtype=np.float64)
    order = sorted(pixels, key=lambda p: (p.lat_index, p.lon_index)) if layout == "grid" \
        else list(pixels)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    tally = {k: 0 for k in ("done", "failed", "not_done", "sink", "neutral", "source",
                            "converged", "separate_regions", "cardamom_passed")}
    converged_known = 0  # converged pixels whose sign is known
    try:
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
            product = _Product(nc, tpl, q, pixels, layout)
            for n, p in enumerate(order):
                where = (p.lat_index, p.lon_index) if layout == "grid" else (pixels.index(
                    p.pixel_id),)
                state = states[p.pixel_id]
                if state == "done":
                    data = _read_pixel(folder.result_path(p.pixel_id), tpl, q)
                    product.write(where, data)
                    tally[data["class"]] += 1
                    tally["separate_regions"] += data["chain_groups"] > 1
                    tally["cardamom_passed"] += data["cardamom_psrf"] < 1.2
                    if data["converged"]:
                        tally["converged"] += 1
                        converged_known += data["class"] != "neutral"
                tally[state if state in ("done", "failed") else "not_done"] += 1
                product.status(where, state)
                if (n + 1) % 1000 == 0:
                    log.info("merged %d of %d pixels", n + 1, len(order))
            product.flush()
            known = (tally["sink"] + tally["source"]) / tally["done"]
            known_conv = (converged_known / tally["converged"] if tally["converged"]
                          else math.nan)
            nc.setncatts(_global_attrs(folder, settings, tpl, tally, known, known_conv,
                                       len(pixels)))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    log.info("wrote %s: %d of %d pixels done (%d failed, %d converged); sink %d, neutral %d, "
             "source %d; sign known at 95 %% for %.1f %% of the done pixels", out,
             tally["done"], len(pixels), tally["failed"], tally["converged"], tally["sink"],
             tally["neutral"], tally["source"], 100 * known)
    return {"n_pixels": len(pixels), **tally, "fraction_sign_known": known,
            "fraction_sign_known_converged": known_conv, "path": str(out)}


def _global_attrs(folder, settings, tpl, tally, known, known_conv, n) -> dict:
    from . import __version__

    return {
        "Conventions": "CF-1.12",
        "title": f"DALEC {tpl.model} posterior products of {n} pixels (dalec-mdf)",
        "source": f"dalec-mdf {__version__}: Bayesian model-data fusion of DALEC "
                  f"{tpl.model} (CARDAMOM method), one calibration per pixel",
        "history": "dalec-mdf merge (per-pixel results of one run folder)",
        "references": "Bloom, A. A. and Williams, M. (2015) Biogeosciences 12, 1299-1315, "
                      "doi:10.5194/bg-12-1299-2015",
        "comment": "Quantiles are over each pixel's posterior ensemble. NBE/NEE keep the "
                   "field's sign: positive = source. No creation time is recorded, so the "
                   "same results give the same file.",
        "model": tpl.model,
        "run_settings": json.dumps(settings, sort_keys=True),
        "n_pixels": np.int32(n),
        "n_done": np.int32(tally["done"]),
        "n_failed": np.int32(tally["failed"]),
        "n_not_done": np.int32(tally["not_done"]),
        "n_sink": np.int32(tally["sink"]),
        "n_neutral": np.int32(tally["neutral"]),
        "n_source": np.int32(tally["source"]),
        "fraction_sign_known": float(known),
        "n_converged": np.int32(tally["converged"]),
        "n_chains_in_separate_regions": np.int32(tally["separate_regions"]),
        "n_cardamom_psrf_below_1_2": np.int32(tally["cardamom_passed"]),
        "fraction_sign_known_converged": float(known_conv),
        "sign_confidence": 0.95,
    }


__all__ = ["MergeError", "merge"]
