"""Edinburgh (GCEL) CARDAMOM site CSV files and the 16-driver Edinburgh driver table.

Two layouts:

**Site files** (``<SITE>_timeseries_met.csv``, ``<SITE>_timeseries_obs.csv``, optionally
``<SITE>_initial_obs.csv``; the tutorial site FI-Hyy and the older US-Ha1 files). The met
file has one row per step: ``doy`` (the day of year of the last day of the step) or ``day``
and ``doy`` (mid-step run day and day of year), minimum, maximum and mean air temperature
[degC], CO2 [ppm], shortwave radiation [MJ m-2 d-1], VPD [kPa], precipitation
[kg m-2 s-1] and wind speed [m s-1]. The obs file holds ``<NAME>_<units>`` columns with
``<NAME>_unc_<units>`` uncertainties (standard deviations); the initial file the soil
texture [%] and a prior on the initial soil organic carbon [g m-2]. The met is turned into
the 16 Edinburgh drivers as GCEL ``extract_met_drivers.r`` and ``binary_data.r`` do
(shared/reference/gcel/README.txt, section 3.1): precipitation, wind and VPD floored at 0,
deforestation and burned area 0 where the files give none, management type 2, and the
rolling means of :func:`drivers.derive.edinburgh_rolling_means`. The uncertainty policy
(default: :class:`~drivers.uncertainty.EdinburghRules`) turns the product uncertainties into
the ones a run uses, as the R pre-processor does before writing its binary file.

**Driver table** (``drivers.csv`` with ``observations.csv`` beside it; the BR-Sa1 DALEC.C1
example): the 16 drivers exactly as the Fortran receives them (``run_day``, ``mint_C``, ...,
``vpd_Pa``) and observations with their final uncertainties. No policy is applied by
default.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from . import edinburgh_calendar as cal
from ._csv import read_table, sniff_header
from .errors import DriverError
from .options import Constraint, ObsOptions, set_constraint
from .pixel import driver_attrs, make_pixel, missing_to_nan
from .sites import site_position
from .units import convert
from .validate import check_drivers, check_latitude

#: met column -> (driver name, declared units of the column)
MET_COLUMNS = {
    "mint_C": ("tmin", "degC"),
    "mint": ("tmin", "degC"),
    "maxt_C": ("tmax", "degC"),
    "maxt": ("tmax", "degC"),
    "airt_C": ("tmean", "degC"),
    "avgTemp_C": ("tmean", "degC"),
    "co2_ppm": ("co2", "ppm"),
    "co2": ("co2", "ppm"),
    "swrad_MJm2day": ("swrad", "MJ m-2 d-1"),
    "sw_rad_MJm2day": ("swrad", "MJ m-2 d-1"),
    "vpd_kPa": ("vpd", "kPa"),
    "vpd": ("vpd", "kPa"),
    "vpd_Pa": ("vpd", "Pa"),
    "precip_kgm2s": ("precip", "kg m-2 s-1"),
    "precip": ("precip", "kg m-2 s-1"),
    "wind_spd_ms": ("wind", "m s-1"),
    "deforestation_fraction": ("deforestation", "1"),
    "burnt_area_fraction": ("burned_area", "1"),
    "burnt_area": ("burned_area", "1"),
    "mint_21day": ("tmin_21d", "degC"),
    "dayl_21day": ("photoperiod_21d", "s"),
    "vpd_21day": ("vpd_21d", "Pa"),
    "management_type": ("management", "1"),
}
#: the R writer floors these at 0 (binary_data.r)
_FLOORED = ("precip", "wind", "vpd")
#: observation column prefixes -> stream names
OBS_PREFIXES = {
    "NEE": "nee",
    "GPP": "gpp",
    "Reco": "reco",
    "Evap": "et",
    "ET": "et",
    "LAI": "lai",
    "Cwood_stock": "cwood",
    "Cfol_stock": "cfol",
    "Croots_stock": "croot",
    "Clit_stock": "clit",
    "Csom_stock": "som",
    "Cagb_stock": "cagb",
    "fAPAR": "fapar",
    "Fire": "fire",
    "NBE": "nbe",
}
#: the 16 columns of the driver table, in the Fortran's order
TABLE_COLUMNS = (
    "run_day",
    "mint_C",
    "maxt_C",
    "swrad_MJm2day",
    "co2_ppm",
    "doy",
    "precip_kgm2s",
    "deforestation_fraction",
    "burnt_area_fraction",
    "mint_21day",
    "dayl_21day",
    "vpd_21day",
    "management_type",
    "avgTemp_C",
    "wind_spd_ms",
    "vpd_Pa",
)


def site_files(path) -> tuple[Path, Path | None, Path | None]:
    """The met, obs and initial-conditions files of an Edinburgh site, from any of them or
    their folder (found beside the met file by name)."""
    path = Path(path)
    if path.is_dir():
        mets = sorted(path.glob("*_timeseries_met.csv"))
        if len(mets) != 1:
            raise DriverError(
                f"{path}: expected one '*_timeseries_met.csv' in the folder, found {len(mets)}"
            )
        met = mets[0]
    else:
        name = path.name
        for tail in ("_timeseries_obs.csv", "_initial_obs.csv"):
            if name.endswith(tail):
                name = name[: -len(tail)] + "_timeseries_met.csv"
        met = path.with_name(name)
    if not met.is_file():
        raise DriverError(f"{met}: no such met file")
    stem = (
        met.name[: -len("_timeseries_met.csv")]
        if met.name.endswith("_timeseries_met.csv")
        else met.stem
    )
    obs = met.with_name(f"{stem}_timeseries_obs.csv")
    init = met.with_name(f"{stem}_initial_obs.csv")
    return met, obs if obs.is_file() else None, init if init.is_file() else None


def looks_like_site_met(path) -> bool:
    """True for an Edinburgh site met CSV (by its columns) or a folder holding one."""
    path = Path(path)
    if path.is_dir():
        return len(list(path.glob("*_timeseries_met.csv"))) == 1
    header = sniff_header(path)
    if not header:
        return False
    if path.name.endswith(("_timeseries_obs.csv", "_initial_obs.csv")):
        try:
            met = site_files(path)[0]
        except DriverError:
            return False
        return looks_like_site_met(met)
    has_time = "doy" in header
    return has_time and sum(h in MET_COLUMNS for h in header) >= 4 and "run_day" not in header


def looks_like_driver_table(path) -> bool:
    """True for an Edinburgh 16-driver table (all 16 named columns present)."""
    header = sniff_header(path)
    return bool(header) and all(c in header for c in TABLE_COLUMNS)


def _obs_columns(header: list[str], values: np.ndarray, src: str):
    """``{stream: (obs, unc or None)}`` from ``<NAME>_<units>`` / ``<NAME>_unc_<units>``."""
    obs, unc = {}, {}
    for j, col in enumerate(header):
        for prefix, stream in sorted(OBS_PREFIXES.items(), key=lambda kv: -len(kv[0])):
            if col == prefix or col.startswith(prefix + "_"):
                rest = col[len(prefix) :]
                if rest.startswith("_unc_") or rest == "_unc":
                    unc[stream] = missing_to_nan(values[:, j])
                elif "_obs_unc" in rest or "_mod_unc" in rest:
                    pass  # components of the total uncertainty column
                else:
                    obs[stream] = missing_to_nan(values[:, j])
                break
    return {s: (obs[s], unc.get(s)) for s in obs}


def read_edinburgh_site(
    path,
    *,
    start_year: int | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    policy="edinburgh",
) -> xr.Dataset:
    """Read an Edinburgh site (met, obs and initial-conditions CSVs) into a pixel dataset.

    Parameters
    ----------
    path : str or Path
        The met CSV, the obs or initial CSV beside it, or their folder.
    start_year : int, optional
        Calendar year of the first row (inferred from the leap years otherwise; see
        :mod:`drivers.edinburgh_calendar`).
    latitude, longitude : float, optional
        Site position [degrees]; when not given, from the file or its folder as
        :func:`drivers.sites.site_position` describes (comment lines, README beside it,
        FLUXNET2015 site id in the name).
    policy : str or UncertaintyPolicy or None
        Applied to the observations (default: the Edinburgh rules); None keeps the
        uncertainties as read.

    Returns
    -------
    xarray.Dataset
        A pixel dataset with the 16 Edinburgh drivers (plus ``doy``, ``deltat``), the
        observation streams, the soil texture (``sand_top`` ... [%]) and an
        ``initial_som`` constraint when the initial file has one.

    Raises
    ------
    DriverError
        Missing files or columns, rows that disagree between the files, bad values.
    """
    met_path, obs_path, init_path = site_files(path)
    src = str(met_path)
    header, values, meta = read_table(met_path)
    n = values.shape[0]
    if n < 2:
        raise DriverError(f"{src}: {n} data row(s); at least 2 steps are needed")
    col = {h: values[:, j] for j, h in enumerate(header)}
    latitude, longitude, where = site_position(met_path, meta, latitude, longitude)
    if latitude is None:
        raise DriverError(
            f"{src}: no latitude: pass latitude=..., or add a '# latitude: <deg>' line"
        )
    check_latitude(float(latitude), src)

    if "doy" not in col:
        raise DriverError(f"{src}: no 'doy' column (day of year of each step)")
    if "day" in col:
        t = cal.from_mid_step(col["day"], col["doy"], src, start_year)
    else:
        t = cal.from_doy_end(col["doy"], src, start_year)

    met = {}
    for name, (driver, units) in MET_COLUMNS.items():
        if name in col and driver not in met:
            series = col[name]
            bad = ~np.isfinite(series) | (series <= -9998)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DriverError(
                    f"{src}: column {name!r} is missing ({series[i]!r}) at row {i}; "
                    "drivers may not be missing"
                )
            if driver in _FLOORED:
                series = np.maximum(0.0, series)
            target = _canonical(driver)
            met[driver] = convert(series, units, target) if units != target else series.copy()
    for required in ("tmin", "tmax", "swrad", "co2", "precip"):
        if required not in met:
            raise DriverError(
                f"{src}: no column for driver {required!r} "
                f"(accepted: {', '.join(k for k, v in MET_COLUMNS.items() if v[0] == required)})"
            )

    obs, obs_unc, options = {}, {}, {}
    if obs_path is not None:
        oheader, ovalues, _ = read_table(obs_path)
        if ovalues.shape[0] != n:
            raise DriverError(f"{obs_path}: {ovalues.shape[0]} rows, but the met file has {n}")
        ocol = dict(zip(oheader, ovalues.T, strict=True))
        if "doy" in ocol:
            diff = np.flatnonzero(ocol["doy"] != col["doy"])
            if diff.size:
                raise DriverError(f"{obs_path}: 'doy' disagrees with the met file at row {diff[0]}")
        for stream, (o, u) in _obs_columns(oheader, ovalues, str(obs_path)).items():
            obs[stream] = o
            options[stream] = ObsOptions()
            if u is not None:
                obs_unc[stream] = u
        for name in ("burnt_area", "burnt_area_fraction", "deforestation_fraction"):
            if name in ocol and MET_COLUMNS[name][0] not in met:
                met[MET_COLUMNS[name][0]] = np.nan_to_num(missing_to_nan(ocol[name]), nan=0.0)

    ds = _assemble(
        t, met, latitude, longitude, obs, obs_unc, options, src, met_path, "edinburgh_site"
    )
    ds.attrs["position_source"] = where
    if init_path is not None:
        _read_initial(ds, init_path)
    check_drivers(ds)
    if policy is not None:
        from .uncertainty import get_policy

        ds = get_policy(policy).apply(ds)
    return ds


def _canonical(driver: str) -> str:
    return driver_attrs(driver).get("units", "1")


def _assemble(t, met, latitude, longitude, obs, obs_unc, options, src, path, fmt):
    """Pixel dataset with the Edinburgh time variables and the derivable drivers added."""
    from .derive import DEFAULT_MANAGEMENT, edinburgh_rolling_means

    n = t.time.size
    drivers = dict(met)
    drivers.update(deltat=t.deltat, run_day=t.run_day, doy_end=t.doy_end, doy=t.doy)
    derived = {}
    for name, value in (
        ("deforestation", 0.0),
        ("burned_area", 0.0),
        ("management", DEFAULT_MANAGEMENT),
    ):
        if name not in drivers:
            drivers[name] = np.full(n, value)
            derived[name] = f"constant {value} (no source in the files; Edinburgh R default)"
    if "tmean" not in drivers:
        drivers["tmean"] = (drivers["tmin"] + drivers["tmax"]) / 2
        derived["tmean"] = "(tmin + tmax) / 2 (the files give no mean temperature)"
    missing_roll = [k for k in ("tmin_21d", "photoperiod_21d", "vpd_21d") if k not in drivers]
    if missing_roll and "vpd" in drivers:
        rolls = edinburgh_rolling_means(
            t.deltat, t.doy_end, drivers["tmax"], drivers["vpd"], float(latitude)
        )
        for name, values in zip(("tmin_21d", "photoperiod_21d", "vpd_21d"), rolls, strict=True):
            if name in missing_roll:
                drivers[name] = values
                derived[name] = "Edinburgh R rolling means (30-day window)"
    ds = make_pixel(
        t.time,
        drivers,
        float(latitude),
        longitude=float("nan") if longitude is None else float(longitude),
        obs=obs,
        obs_unc=obs_unc,
        obs_options=options,
        attrs={
            "source_file": src,
            "source_format": fmt,
            "pixel_id": path.name.split("_timeseries")[0]
            if "_timeseries" in path.name
            else path.parent.name or path.stem,
            "start_year": t.start_year,
            "start_year_source": t.start_year_source,
        },
    )
    for name, how in derived.items():
        ds[name].attrs["derived_from"] = how
    return ds


def _read_initial(ds: xr.Dataset, path: Path) -> None:
    header, values, _ = read_table(path)
    if values.shape[0] < 1:
        raise DriverError(f"{path}: no data row")
    row = dict(zip(header, values[0], strict=True))
    for key, name in (
        ("top_sand_initial_percent", "sand_top"),
        ("bot_sand_initial_percent", "sand_bottom"),
        ("top_clay_initial_percent", "clay_top"),
        ("bot_clay_initial_percent", "clay_bottom"),
    ):
        if key in row and np.isfinite(row[key]) and row[key] > -9998:
            ds[name] = ((), float(row[key]), driver_attrs(name))
    value = row.get("Csom_initial_gCm2", np.nan)
    if np.isfinite(value) and value > -9998:
        unc = row.get("Csom_initial_unc_gCm2", np.nan)
        unc = float(unc) if np.isfinite(unc) and unc > -9998 else float("nan")
        set_constraint(
            ds, Constraint("initial_som", float(value), unc, "gaussian"), source_file=str(path)
        )


def read_edinburgh_drivers(
    path,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    start_year: int | None = None,
    policy=None,
) -> xr.Dataset:
    """Read an Edinburgh 16-driver table (and ``observations.csv`` beside it).

    Parameters
    ----------
    path : str or Path
        The driver table (``drivers.csv``) or its folder.
    latitude, longitude : float, optional
        [degrees]; when not given, as :func:`drivers.sites.site_position` describes.
    start_year : int, optional
        Calendar year of the first row (inferred from leap years otherwise).
    policy : str or UncertaintyPolicy or None
        Applied to the observations; default None (the table holds final uncertainties).

    Returns
    -------
    xarray.Dataset
        The validated pixel dataset (:mod:`drivers.pixel`).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "drivers.csv"
    src = str(path)
    header, values, meta = read_table(path)
    missing = [c for c in TABLE_COLUMNS if c not in header]
    if missing:
        raise DriverError(f"{src}: missing driver column(s) {', '.join(map(repr, missing))}")
    col = {h: values[:, j] for j, h in enumerate(header)}
    for name in TABLE_COLUMNS:
        bad = ~np.isfinite(col[name]) | (col[name] <= -9998)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DriverError(
                f"{src}: column {name!r} is missing ({col[name][i]!r}) at row {i}; "
                "drivers may not be missing"
            )
    latitude, longitude, where = site_position(path, meta, latitude, longitude)
    if latitude is None:
        raise DriverError(
            f"{src}: no latitude: pass latitude=..., or add a '# latitude: <deg>' line"
        )
    check_latitude(float(latitude), src)
    t = cal.from_doy_end(col["doy"], src, start_year, run_day=col["run_day"])
    met = {}
    for name in TABLE_COLUMNS[1:]:
        if name == "doy":
            continue
        driver, units = MET_COLUMNS[name]
        target = _canonical(driver)
        met[driver] = convert(col[name], units, target) if units != target else col[name].copy()
    obs, obs_unc, options = {}, {}, {}
    obs_path = path.with_name("observations.csv")
    if obs_path.is_file():
        oheader, ovalues, _ = read_table(obs_path)
        if ovalues.shape[0] != values.shape[0]:
            raise DriverError(
                f"{obs_path}: {ovalues.shape[0]} rows, but {src} has {values.shape[0]}"
            )
        for stream, (o, u) in _obs_columns(oheader, ovalues, str(obs_path)).items():
            obs[stream] = o
            options[stream] = ObsOptions()
            if u is not None:
                obs_unc[stream] = u
    ds = _assemble(
        t, met, latitude, longitude, obs, obs_unc, options, src, path, "edinburgh_drivers"
    )
    ds.attrs["position_source"] = where
    check_drivers(ds)
    if policy is not None:
        from .uncertainty import get_policy

        ds = get_policy(policy).apply(ds)
    return ds
