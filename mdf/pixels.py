"""Pixel sets: which pixels a run calibrates and where each one's drivers are, in a fixed order.

A pixel set is an ordered tuple of :class:`PixelSpec` (id, driver source, land-pixel key,
position, optional site name and land-cover class). It comes from

- a folder of driver files, one pixel per file (e.g. the 204 CARDAMOM-FluxVal CBFs), in the
  natural order of the names (``flux_site_2`` before ``flux_site_10``);
- a gridded netCDF input (:class:`drivers.PixelGrid`): one pixel per valid land cell, optionally
  restricted by a land-mask file; the grid's axes travel with the set so that
  :mod:`mdf.merge` writes products on the full latitude-longitude grid;
- a pixel-list file: the CSV :meth:`PixelSet.write` writes, or plain text with one driver path
  per line (``PATH``, or ``PATH::KEY`` with KEY a land-pixel index or ``LAT,LON`` of a grid).

Pixel ids are file-system safe and do not depend on the list a pixel is in (a file's stem, or
``r<row>c<col>`` for a grid cell), so a pixel's random seed (:func:`mdf.batch.pixel_seed`) and
its result file name are the same in every run that contains it.

>>> pixels = open_pixels("../shared/data/fluxval/cbf")      # doctest: +SKIP
>>> len(pixels), pixels[0].pixel_id, pixels[0].site         # doctest: +SKIP
(204, 'flux_site_1', 'AR-SLu')
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: file names a folder scan never takes for driver files
_NOT_DRIVERS = {".md", ".txt", ".json", ".py", ".sh", ".log", ".png", ".pdf", ".npz"}
#: site tables looked for beside (or one folder above) a folder of driver files
SITE_TABLES = ("location_fluxnet.csv", "sites.csv")


class PixelSetError(ValueError):
    """A pixel list that cannot be used (names the file and the line)."""


@dataclass(frozen=True)
class PixelSpec:
    """One pixel of a run.

    Attributes
    ----------
    pixel_id : str
        Unique, file-system-safe id (result file ``<pixel_id>.nc``).
    source : str
        Driver file or folder (absolute path).
    key : int or None
        Land-pixel index in a gridded ``source`` (:meth:`drivers.PixelGrid.pixel`).
    latitude, longitude : float
        Position [degrees_north, degrees_east]; NaN where the list does not say.
    lat_index, lon_index : int
        Row and column of the cell in the set's grid; -1 for pixels off any grid.
    site : str
        Site name (e.g. the FLUXNET id), '' if none.
    land_cover : str
        Land-cover class (e.g. IGBP ``ENF``), '' if none.
    """

    pixel_id: str
    source: str
    key: int | None = None
    latitude: float = math.nan
    longitude: float = math.nan
    lat_index: int = -1
    lon_index: int = -1
    site: str = ""
    land_cover: str = ""

    def read(self, require: Iterable[str] | None = None, **options):
        """The pixel's driver dataset (:func:`drivers.read`), ``pixel_id`` set to this id.

        For gridded sources the grid is opened once per process and kept (a land scan of a
        global cube is costly), then the cell is read lazily.
        """
        import drivers

        if self.key is None:
            pixel = drivers.read(self.source, require=require, **options)
        else:
            grid = _open_grid(self.source, json.dumps(options, sort_keys=True))
            pixel = grid.pixel(int(self.key))
            a, b = (int(v) for v in pixel.attrs["grid_index"])
            if self.lat_index >= 0 and (a, b) != (self.lat_index, self.lon_index):
                raise PixelSetError(
                    f"{self.source}: land pixel {self.key} is cell ({a}, {b}), but the pixel "
                    f"list says ({self.lat_index}, {self.lon_index}) for {self.pixel_id}; the "
                    "grid's land mask changed since the list was made"
                )
            pixel = drivers.derive_drivers(pixel, drivers.DEFAULT_DERIVED)
            if require is not None:
                pixel = drivers.derive_drivers(pixel, list(require))
                drivers.check_met(pixel, list(require), constant_step=False)
        pixel.attrs["pixel_id"] = self.pixel_id
        return pixel


_GRIDS: dict = {}


def _open_grid(path: str, options_json: str):
    """One open :class:`drivers.PixelGrid` per (file, options) and process."""
    import drivers

    key = (path, options_json)
    if key not in _GRIDS:
        if len(_GRIDS) >= 4:
            _GRIDS.pop(next(iter(_GRIDS))).close()
        _GRIDS[key] = drivers.open_grid(path, **json.loads(options_json))
    return _GRIDS[key]


class PixelSet(Sequence):
    """An ordered, duplicate-free set of pixels, with the grid they lie on (if any).

    Parameters
    ----------
    pixels : iterable of PixelSpec
    grid : dict, optional
        ``{"latitude": [...], "longitude": [...]}`` [degrees] of the grid the pixels'
        ``lat_index``/``lon_index`` refer to.
    read_options : dict, optional
        Options every pixel's :meth:`PixelSpec.read` passes on (e.g. ``obs`` cubes of a grid).
    """

    def __init__(self, pixels: Iterable[PixelSpec], grid: dict | None = None,
                 read_options: dict | None = None):
        self.pixels = tuple(pixels)
        self.grid = grid
        self.read_options = dict(read_options or {})
        seen: dict[str, int] = {}
        for n, p in enumerate(self.pixels):
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", p.pixel_id):
                raise PixelSetError(f"pixel id {p.pixel_id!r} (entry {n + 1}) is not file-safe")
            if p.pixel_id in seen:
                raise PixelSetError(
                    f"pixel id {p.pixel_id!r} appears twice (entries {seen[p.pixel_id] + 1} and "
                    f"{n + 1}); ids name the result files and must be unique"
                )
            seen[p.pixel_id] = n
        self._index = seen

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, item):
        if isinstance(item, slice):
            return PixelSet(self.pixels[item], self.grid, self.read_options)
        return self.pixels[item]

    def __repr__(self) -> str:
        grid = ""
        if self.grid:
            grid = f", grid {len(self.grid['latitude'])}x{len(self.grid['longitude'])}"
        return f"<PixelSet of {len(self)} pixels{grid}>"

    def index(self, pixel_id: str) -> int:
        """Position of ``pixel_id`` in the set."""
        return self._index[pixel_id]

    def ids(self) -> list[str]:
        return [p.pixel_id for p in self.pixels]

    def select(self, ids: Iterable[str]) -> PixelSet:
        """The pixels with these ids, in the set's order."""
        want = set(ids)
        missing = want - set(self._index)
        if missing:
            raise PixelSetError(f"no pixel(s) {sorted(missing)[:5]} in this set")
        return PixelSet([p for p in self.pixels if p.pixel_id in want], self.grid,
                        self.read_options)

    def shard(self, shard: int, n_shards: int) -> PixelSet:
        """Shard ``shard`` (0-based) of ``n_shards``: every ``n_shards``-th pixel from ``shard``.

        Interleaving (rather than contiguous blocks) spreads costly regions of a grid over
        all shards. Every pixel is in exactly one shard, for any ``n_shards`` >= 1.
        """
        if not (n_shards >= 1 and 0 <= shard < n_shards):
            raise PixelSetError(f"shard {shard} of {n_shards}: need 0 <= shard < n_shards")
        return PixelSet(self.pixels[shard::n_shards], self.grid, self.read_options)

    # ------------------------------------------------------------------ list files
    def to_csv(self) -> str:
        """The pixel list as CSV text (with ``#`` header lines for the grid and options)."""
        out = io.StringIO()
        out.write("# dalec-mdf pixel list\n")
        if self.grid is not None:
            out.write(f"# grid: {json.dumps(self.grid)}\n")
        if self.read_options:
            out.write(f"# read_options: {json.dumps(self.read_options, sort_keys=True)}\n")
        names = [f.name for f in fields(PixelSpec)]
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for p in self.pixels:
            row = []
            for name in names:
                v = getattr(p, name)
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    v = ""
                row.append(repr(v) if isinstance(v, float) else v)
            writer.writerow(row)
        return out.getvalue()

    def write(self, path) -> Path:
        """Write the list (CSV, atomically); :func:`open_pixels` reads it back."""
        from .runfolder import atomic_write_text

        return atomic_write_text(Path(path), self.to_csv())


# ---------------------------------------------------------------------- readers
def natural_key(name: str):
    """Sort key that orders embedded numbers by value (``site_2`` before ``site_10``)."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def safe_id(name: str) -> str:
    """A file-system-safe pixel id from a file name or site name."""
    out = re.sub(r"[^A-Za-z0-9._+-]", "_", name).lstrip("._-")
    return out or "pixel"


def from_folder(folder, sites=None) -> PixelSet:
    """One pixel per driver file (or Edinburgh site folder) in ``folder``, in natural order.

    Parameters
    ----------
    folder : path
    sites : path, optional
        Site table that names the pixels' sites and land-cover classes (:func:`read_site_table`);
        default: a ``location_fluxnet.csv`` or ``sites.csv`` in the folder or its parent.
    """
    from drivers import DriverError, detect

    folder = Path(folder).resolve()
    specs = []
    for entry in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)):
        if entry.name.startswith(".") or entry.suffix.lower() in _NOT_DRIVERS:
            continue
        if entry.name in SITE_TABLES:
            continue
        try:
            fmt = detect(entry)
        except DriverError:
            log.debug("%s: not a driver file, left out of the pixel set", entry)
            continue
        if fmt.name == "grid":
            log.warning("%s: a gridded file inside a folder of pixels is left out; list its "
                        "pixels with `dalec-mdf pixels %s`", entry, entry)
            continue
        specs.append(PixelSpec(safe_id(entry.stem if entry.is_file() else entry.name),
                               str(entry)))
    if not specs:
        raise PixelSetError(f"{folder}: no driver files found")
    if sites is None:
        sites = next((c for d in (folder, folder.parent) for c in (d / n for n in SITE_TABLES)
                      if c.is_file()), None)
    if sites is not None:
        specs = annotate(specs, read_site_table(sites))
    return PixelSet(specs)


def from_grid(path, land_mask=None, **read_options) -> PixelSet:
    """One pixel per valid land cell of a gridded input (optionally within a land mask).

    Parameters
    ----------
    path : path
        Gridded met cube (:class:`drivers.PixelGrid`).
    land_mask : path, optional
        netCDF file with a 2-D variable on the same latitude and longitude axes (``land_mask``,
        or its only 2-D variable); cells where it is 0 or missing are left out.
    **read_options
        ``obs`` (observation cubes), ``mask``, ``required``: passed to
        :func:`drivers.open_grid` here and when each pixel is read.
    """
    import drivers

    path = Path(path).resolve()
    options = {k: ([str(Path(p).resolve()) for p in v] if k == "obs" else v)
               for k, v in read_options.items() if v is not None}
    grid = drivers.open_grid(path, **options)
    try:
        land = grid.land.copy()
        rows, cols = grid.cells
        keep = np.ones(rows.size, dtype=bool)
        if land_mask is not None:
            mask = _read_mask(land_mask, grid)
            keep = mask[rows, cols]
        specs = [
            PixelSpec(f"r{a:04d}c{b:04d}", str(path), key=k,
                      latitude=float(grid.latitudes[a]), longitude=float(grid.longitudes[b]),
                      lat_index=int(a), lon_index=int(b))
            for k, (a, b) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)) if keep[k]
        ]
        axes = {"latitude": grid.latitudes.tolist(), "longitude": grid.longitudes.tolist()}
    finally:
        grid.close()
    log.info("%s: %d land pixels of %d cells%s", path, len(specs), land.size,
             f" within {land_mask}" if land_mask is not None else "")
    return PixelSet(specs, grid=axes, read_options=options)


def _read_mask(path, grid) -> np.ndarray:
    import xarray as xr

    with xr.open_dataset(path, decode_times=False) as ds:
        names = ["land_mask"] if "land_mask" in ds else [v for v in ds.data_vars
                                                          if ds[v].ndim == 2]
        if len(names) != 1:
            raise PixelSetError(f"{path}: expected a 'land_mask' variable or exactly one 2-D "
                                f"variable; found {list(ds.data_vars)}")
        da = ds[names[0]]
        values = np.asarray(da.values, dtype=float)
        lat_dim = next((d for d in da.dims if str(d).lower() in ("lat", "latitude", "y")), None)
        if lat_dim is not None and da.dims.index(lat_dim) == 1:
            values = values.T
    if values.shape != grid.land.shape:
        raise PixelSetError(f"{path}: mask shape {values.shape} differs from the grid's "
                            f"{grid.land.shape} (latitude, longitude)")
    return np.isfinite(values) & (values != 0)


def from_list_file(path) -> PixelSet:
    """Read a pixel list: the CSV of :meth:`PixelSet.write`, or one ``PATH[::KEY]`` a line.

    Relative paths are relative to the list file's folder.
    """
    path = Path(path)
    base = path.resolve().parent
    text = path.read_text()
    meta: dict = {}
    body = []
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            m = re.match(r"#\s*(grid|read_options)\s*:\s*(.*)$", stripped)
            if m:
                try:
                    meta[m.group(1)] = json.loads(m.group(2))
                except json.JSONDecodeError as err:
                    raise PixelSetError(f"{path}:{n}: bad {m.group(1)} header ({err})") from None
            continue
        if stripped:
            body.append((n, line))
    if not body:
        raise PixelSetError(f"{path}: no pixels listed")
    header = next(csv.reader([body[0][1]]))
    if "pixel_id" in header and "source" in header:
        specs = _csv_specs(path, base, header, body[1:])
    else:
        specs = _plain_specs(path, base, body)
    return PixelSet(specs, grid=meta.get("grid"), read_options=meta.get("read_options"))


def _csv_specs(path, base, header, rows):
    kinds = {f.name: f.type for f in fields(PixelSpec)}
    unknown = [h for h in header if h not in kinds]
    if unknown:
        raise PixelSetError(f"{path}: unknown column(s) {unknown}; known: {list(kinds)}")
    specs = []
    for n, line in rows:
        cells = next(csv.reader([line]))
        if len(cells) != len(header):
            raise PixelSetError(f"{path}:{n}: {len(cells)} values for {len(header)} columns")
        values = {}
        for name, cell in zip(header, cells, strict=True):
            try:
                if name in ("latitude", "longitude"):
                    values[name] = float(cell) if cell else math.nan
                elif name in ("lat_index", "lon_index"):
                    values[name] = int(cell) if cell else -1
                elif name == "key":
                    values[name] = int(cell) if cell else None
                else:
                    values[name] = cell
            except ValueError:
                raise PixelSetError(f"{path}:{n}: column {name!r}: {cell!r} is not a "
                                    "number") from None
        values["source"] = str((base / values["source"]).resolve())
        specs.append(PixelSpec(**values))
    return specs


def _plain_specs(path, base, body):
    specs = []
    grids: dict[str, object] = {}
    for n, line in body:
        entry, _, key = line.strip().partition("::")
        source = (base / entry).resolve()
        if not source.exists():
            raise PixelSetError(f"{path}:{n}: {source} does not exist")
        if not key:
            specs.append(PixelSpec(safe_id(source.stem if source.is_file() else source.name),
                                   str(source)))
            continue
        import drivers

        grid = grids.get(str(source))
        if grid is None:
            grid = grids[str(source)] = drivers.open_grid(source)
        try:
            k = grid.index_of(*(float(v) for v in key.split(","))) if "," in key else int(key)
            rows, cols = grid.cells
            a, b = int(rows[k]), int(cols[k])
        except (ValueError, IndexError, drivers.DriverError) as err:
            raise PixelSetError(f"{path}:{n}: {key!r} is not a land pixel of {source} "
                                f"({err})") from None
        specs.append(PixelSpec(f"r{a:04d}c{b:04d}", str(source), key=k,
                               latitude=float(grid.latitudes[a]),
                               longitude=float(grid.longitudes[b]), lat_index=a, lon_index=b))
    for grid in grids.values():
        grid.close()
    return specs


def read_site_table(path) -> dict[str, dict]:
    """Site annotations by pixel id: ``{pixel_id: {site, land_cover, latitude, longitude}}``.

    Two layouts are understood: CARDAMOM-FluxVal's ``location_fluxnet.csv`` (columns
    ``Flux_name, LC, Lat, lon``; row n belongs to ``flux_site_n``), and a table with a
    ``pixel_id`` column and any of ``site``, ``land_cover``, ``latitude``, ``longitude``.
    """
    path = Path(path)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    cols = set(rows[0])
    out = {}
    if {"Flux_name", "LC"} <= cols:
        for n, row in enumerate(rows, start=1):
            out[f"flux_site_{n}"] = {
                "site": row["Flux_name"].strip(), "land_cover": row["LC"].strip(),
                "latitude": float(row.get("Lat") or "nan"),
                "longitude": float(row.get("lon") or "nan"),
            }
    elif "pixel_id" in cols:
        for row in rows:
            entry = {k: row[k].strip() for k in ("site", "land_cover") if k in row}
            for k in ("latitude", "longitude"):
                if row.get(k):
                    entry[k] = float(row[k])
            out[row["pixel_id"].strip()] = entry
    else:
        raise PixelSetError(f"{path}: a site table needs Flux_name/LC (FluxVal) or a pixel_id "
                            f"column; found {sorted(cols)}")
    return out


def annotate(specs: Iterable[PixelSpec], table: dict[str, dict]) -> list[PixelSpec]:
    """Pixels with the site name, land cover and position of their entry in ``table``."""
    return [replace(p, **table[p.pixel_id]) if p.pixel_id in table else p for p in specs]


def open_pixels(source, *, land_mask=None, sites=None, **read_options) -> PixelSet:
    """A pixel set from a folder of driver files, a gridded netCDF input or a pixel-list file.

    Parameters
    ----------
    source : path or PixelSet
    land_mask : path, optional
        For gridded input: keep only cells where this mask is nonzero (:func:`from_grid`).
    sites : path, optional
        Site table for the pixels' sites and land-cover classes (:func:`read_site_table`).
    **read_options
        For gridded input: ``obs`` cubes and other :func:`drivers.open_grid` options.

    Raises
    ------
    PixelSetError
        Unknown source, duplicate ids, or an unreadable list (file and line named).
    """
    if isinstance(source, PixelSet):
        return source
    path = Path(source)
    if path.is_dir():
        pixels = from_folder(path, sites=sites)
        return pixels
    if not path.is_file():
        raise PixelSetError(f"{path}: no such pixel list, folder or gridded file")
    from drivers.gridded import looks_like_grid

    if looks_like_grid(path):
        pixels = from_grid(path, land_mask=land_mask, **read_options)
    else:
        pixels = from_list_file(path)
    if sites is not None:
        pixels = PixelSet(annotate(pixels, read_site_table(sites)), pixels.grid,
                          pixels.read_options)
    return pixels


__all__ = [
    "PixelSet",
    "PixelSetError",
    "PixelSpec",
    "annotate",
    "from_folder",
    "from_grid",
    "from_list_file",
    "natural_key",
    "open_pixels",
    "read_site_table",
]
