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
