"""Load the bundled JPL reference cases (CARDAMOM C outputs) as pixels and arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import drivers

HERE = Path(__file__).resolve().parents[1] / "data" / "reference_jpl"
CASES = {"dalec400_fire": "400", "dalec400_nofire": "400", "dalec809": "809"}

_MET = {
    "tmin": "T2M_MIN_degC",
    "tmax": "T2M_MAX_degC",
    "swrad": "SSRD_MJ_m2_day",
    "co2": "CO2_ppm",
    "doy": "DOY",
    "burned_area": "BURNED_AREA_frac_per_step",
    "vpd": "VPD_hPa",
    "precip": "TOTAL_PREC_mm_day",
}


def read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with open(path) as fh:
        header = fh.readline().strip().split(",")
    return header, np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def load_case(case: str):
    """Return (pixel dataset, parameter vector, pools (N+1, P), fluxes+LAI+NEE (N, F+2))."""
    folder = HERE / case
    head, met = read_csv(folder / "drivers.csv")
    cols = {name: met[:, head.index(col)] for name, col in _MET.items() if col in head}
    pixel = drivers.make_pixel(met[:, head.index("time_days")], cols, latitude=-18.0)
    with open(folder / "parameters.csv") as fh:
        lines = fh.read().splitlines()[1:]
    pars = np.array([float(line.rsplit(",", 1)[1]) for line in lines])
    _, pools = read_csv(folder / "pools.csv")
    _, fluxes = read_csv(folder / "fluxes.csv")
    return pixel, pars, pools[:, 2:], fluxes[:, 2:]


# ----------------------------------------------------------- DALEC 1005 (CARDAMOM v3)

#: bundled FluxVal FI-Hyy case of the 1005 reference (every vector's parameters, EDC verdicts
#: and likelihood terms; pools and fluxes of one EDC-valid and one runaway vector)
HERE_1005 = HERE / "dalec1005_FI-Hyy"
#: the full 1005 reference in ../shared (three sites, seven vectors each)
SHARED_1005 = ("reference", "jpl", "dalec1005")


def sites_1005(root: Path) -> list[Path]:
    """Site folders under a 1005 reference root (each with ``input.cbf.nc``)."""
    if (root / "input.cbf.nc").exists():
        return [root]
    return sorted(p for p in root.iterdir() if (p / "input.cbf.nc").exists())


def vectors_1005(site: Path) -> list[Path]:
    """The vector folders of one 1005 reference site, by name."""
    return sorted(p for p in site.iterdir() if (p / "parameters.csv").exists())


def parameters_1005(vector: Path) -> np.ndarray:
    """The 37 parameters of a vector folder (``value`` column)."""
    lines = (vector / "parameters.csv").read_text().splitlines()[1:]
    return np.array([float(line.rsplit(",", 1)[1]) for line in lines])


def run_1005(vector: Path) -> tuple[np.ndarray, np.ndarray]:
    """Reference pools ``(N+1, 9)`` and fluxes ``(N, 36)`` (32 slots + 4 derived columns)."""
    pools = np.genfromtxt(vector / "pools.csv", delimiter=",", skip_header=1)
    fluxes = np.genfromtxt(vector / "fluxes.csv", delimiter=",", skip_header=1)
    return pools[:, 2:], fluxes[:, 2:]


def likelihood_1005(vector: Path) -> dict[str, str]:
    """``likelihood.csv`` of a vector folder as ``{component: text}``."""
    rows = (vector / "likelihood.csv").read_text().splitlines()[1:]
    return dict(row.split(",", 1) for row in rows)


def failed_edcs_1005(vector: Path) -> set[int]:
    """EDC numbers the reference failed in diagnostic mode."""
    rows = (vector / "edc_passfail.csv").read_text().splitlines()[1:]
    return {int(r.split(",")[0]) for r in rows if r.split(",")[1] == "0"}
