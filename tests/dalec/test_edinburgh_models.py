"""Edinburgh DALEC.C1 and DALEC.4 against the GCEL CARDAMOM Fortran (../shared/reference/gcel).

The reference runs are CARBON_MODEL of GCEL/CARDAMOM commit 36267339 built with gfortran -O2;
see ../shared/reference/gcel/README.txt. Tolerances are relative to each series' maximum
absolute value (one series = one pool or flux of one parameter vector over time).
"""

from __future__ import annotations

import numpy as np
import pytest

import dalec
import drivers
from tests.conftest import shared_path

#: tag -> (model, tolerance relative to the series maximum)
CASES = {
    "c1_BR-Sa1": ("C1", 1e-12),
    "c1_BR-Sa1_mcmc": ("C1", 1e-12),
    "d4_FI-Hyy_draws": ("DALEC.4", 1e-6),
    "d4_FI-Hyy_mcmc": ("DALEC.4", 1e-6),
}
LATITUDE = {"BR-Sa1": -2.85667, "FI-Hyy": 61.84741}
C_POOLS = ("c_labile", "c_foliar", "c_root", "c_wood", "c_litter", "c_som")


def _read(path):
    with open(path) as fh:
        header = fh.readline().strip().split(",")
    return header, np.genfromtxt(path, delimiter=",", skip_header=1, ndmin=2)


def _met_column(header, met, k):
    return met[:, [i for i, h in enumerate(header) if h.startswith(f"met{k:02d}_")][0]]


def load_pixel(tag: str, disturbance_from: str | None = None):
    """The reference drivers of ``tag`` as a pixel dataset in the library's names and units.

    ``disturbance_from`` takes the deforestation, burned-area and management series of another
    case instead (to run DALEC.4's harvest and fire code on the FI-Hyy climate).
    """
    folder = shared_path("reference", "gcel")
    header, met = _read(folder / f"{tag}_met.csv")
    col = lambda k: _met_column(header, met, k)  # noqa: E731
    deltat = met[:, header.index("deltat_days")]
    series = {
        "deltat": deltat,
        "tmin": col(2),
        "tmax": col(3),
        "swrad": col(4),
        "co2": col(5),
        "doy_end": col(6),
        "precip": col(7) * 86400.0,  # kg m-2 s-1 -> kg m-2 d-1
        "deforestation": col(8),
        "burned_area": col(9),
        "management": col(13),
        "wind": col(15),
        "vpd": col(16) / 100.0,  # Pa -> hPa
    }
    if disturbance_from is not None:
        h2, m2 = _read(folder / f"{disturbance_from}_met.csv")
        n = deltat.size
        for name, k in (("deforestation", 8), ("burned_area", 9), ("management", 13)):
            series[name] = _met_column(h2, m2, k)[:n]
    site = tag.split("_")[1]
    time = col(1) - deltat / 2  # mid-step run day
    pixel = drivers.make_pixel(time, series, latitude=LATITUDE[site])
    soil_file = folder / f"d4_{site}_soil.csv"
    if tag.startswith("d4") and soil_file.exists():
        _, soil = _read(soil_file)
        pixel["sand_top"] = ((), soil[0, 1])
        pixel["sand_bottom"] = ((), soil[1, 1])
        pixel["clay_top"] = ((), soil[0, 2])
        pixel["clay_bottom"] = ((), soil[1, 2])
    return pixel


def load_reference(tag: str):
    """Parameters (S, P), pools (S, n_pools, N+1) and fluxes (S, n_fluxes, N) of ``tag``."""
    folder = shared_path("reference", "gcel")
    header, pars = _read(folder / f"{tag}_parameters.csv")
    n_pars = sum(1 for h in header if h[:1] == "p" and h[1:3].isdigit())
    pars = pars[:, 1 : 1 + n_pars]
    _, pools = _read(folder / f"{tag}_pools.csv")
    _, fluxes = _read(folder / f"{tag}_fluxes.csv")
    s = pars.shape[0]
    pools = pools[:, 2:].reshape(s, -1, pools.shape[1] - 2).transpose(0, 2, 1)
    fluxes = fluxes[:, 2:].reshape(s, -1, fluxes.shape[1] - 2).transpose(0, 2, 1)
    return pars, pools, fluxes


def relative_errors(ours, ref):
    """Max |ours - ref| per (vector, series), divided by the series' max |ref|."""
    scale = np.abs(ref).max(axis=-1)
    err = np.abs(ours - ref).max(axis=-1)
    return np.where(scale > 0, err / np.where(scale > 0, scale, 1.0), np.where(err > 0, np.inf, 0))


@pytest.mark.shared
@pytest.mark.parametrize("tag", sorted(CASES))
def test_reproduces_fortran(tag):
    name, tol = CASES[tag]
    model = dalec.get_model(name)
    pars, ref_pools, ref_fluxes = load_reference(tag)
    assert pars.shape[1] == model.n_parameters
    assert ref_pools.shape[1] == len(model.pools)
    assert ref_fluxes.shape[1] == len(model.fluxes)
    out = dalec.run(model, load_pixel(tag), pars)
    pools = np.stack([out[p].values for p in model.pools], axis=1)
    fluxes = np.stack([out[f].values for f in model.fluxes], axis=1)
    # the one EDC verdict that is the forward model's alone: pools finite and >= 0, fluxes finite
    folder = shared_path("reference", "gcel")
    header, edc = _read(folder / f"{tag}_edc.csv")
    expected = edc[:, header.index("pools_finite_nonneg")] == 1
    sane = (np.isfinite(pools) & (pools >= 0)).all(axis=(1, 2)) & np.isfinite(fluxes).all(
        axis=(1, 2)
    )
    np.testing.assert_array_equal(sane, expected)
    # the Fortran's own output vectors: LAI at the start of each step and NEE without fire
    header, outputs = _read(folder / f"{tag}_outputs.csv")
    for column, ours in (("lai_m2m2", out["lai"].values),
                         ("nee_gCm2day", out["nee_excluding_fire"].values)):
        ref = outputs[:, header.index(column)].reshape(ours.shape)
        assert relative_errors(ours, ref).max() <= tol, column
    for what, ours, ref, names in (
        ("pool", pools, ref_pools, model.pools),
        ("flux", fluxes, ref_fluxes, model.fluxes),
    ):
        err = relative_errors(ours, ref)  # (S, n_series)
        worst = np.unravel_index(np.argmax(err), err.shape)
        assert err.max() <= tol, (
            f"{tag}: {what} {names[worst[1]]!r} of vector {worst[0] + 1} is off by "
            f"{err.max():.3g} of its maximum (tolerance {tol:g})"
        )


def prior_draws(model, n, rng):
    """Log-uniform draws inside the prior box, as CARDAMOM's EDC search starts them."""
    lo, hi = model.bounds.T
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size=(n, lo.size)))


@pytest.mark.shared
@pytest.mark.parametrize(
    "name, tag, disturbance",
    [("C1", "c1_BR-Sa1", None), ("DALEC.4", "d4_FI-Hyy_draws", "c1_BR-Sa1")],
)
def test_carbon_mass_balance_each_step(name, tag, disturbance, rng):
    """Change in total C = (GPP - Ra - Rh - fire - harvest extraction) Δt, step by step."""
    model = dalec.get_model(name)
    pixel = load_pixel(tag, disturbance)
    out = dalec.run(model, pixel, prior_draws(model, 100, rng))
    dt = pixel["deltat"].values
    total = sum(out[p].values for p in C_POOLS)  # (S, N+1)
    change = np.diff(total, axis=1)
    terms = [out[v].values for v in ("gpp", "ra", "rh_litter", "rh_som", "fire", "harvest")]
    net = (terms[0] - terms[1] - terms[2] - terms[3] - terms[4] - terms[5]) * dt
    gross = sum(np.abs(t) for t in terms) * dt
    # harvest clamps negative pools at zero (adding carbon, as the Fortran does): only score
    # runs whose pools stay positive
    ok = np.isfinite(total).all(axis=1) & (np.stack([out[p].values for p in C_POOLS]) > 0).all(
        axis=(0, 2)
    )
    assert ok.mean() > 0.5
    residual = np.abs(change - net)[ok]
    tol = 1e-10 * gross[ok] + 4e-16 * np.abs(total[ok, 1:]) * len(C_POOLS)
    assert (residual <= tol).all(), float((residual / np.maximum(gross[ok], 1e-300)).max())
    assert (out["harvest"].values[ok] > 0).any() and (out["fire"].values[ok] > 0).any()


@pytest.mark.shared
@pytest.mark.parametrize("name, tag", [("C1", "c1_BR-Sa1"), ("DALEC.4", "d4_FI-Hyy_mcmc")])
def test_no_hidden_state(name, tag, rng):
    """Identical inputs give identical outputs, whatever ran in between; ensemble = single."""
    model = dalec.get_model(name)
    pixel = load_pixel(tag)
    pars = prior_draws(model, 4, rng)
    first = dalec.run(model, pixel, pars[0])
    dalec.run(model, pixel, pars[1:])
    again = dalec.run(model, pixel, pars[0])
    many = dalec.run(model, pixel, pars, threads=2)
    for v in (*model.pools, *model.fluxes):
        np.testing.assert_array_equal(first[v].values, again[v].values, err_msg=v)
        np.testing.assert_array_equal(first[v].values, many[v].values[0], err_msg=v)


def test_registry_aliases():
    assert dalec.get_model("DALEC_CDEA_LU_FIRES") is dalec.get_model("C1")
    assert dalec.get_model("DALEC_C1").constant_step is False
    assert dalec.get_model("DALEC_CDEA_ACM2_BUCKET") is dalec.get_model("DALEC.4")
    assert dalec.get_model("DALEC4").n_parameters == 32


@pytest.mark.shared
def test_dalec4_options():
    """The spin-up temperature is an explicit input; the corrected snow scheme changes ET."""
    model = dalec.get_model("DALEC.4")
    pixel = load_pixel("d4_FI-Hyy_mcmc")
    pars, ref_pools, _ = load_reference("d4_FI-Hyy_mcmc")
    pars = pars[:4].copy()
    pars[:, 23] = 0.53  # between field capacity and porosity: the spin-up drains layer 1 or not
    warm = dalec.run(model, pixel, pars, options={"spinup_temperature": 5.0})
    frozen = dalec.run(model, pixel, pars, options={"spinup_temperature": -5.0})
    assert (warm["h2o_surface"].values[:, 0] < frozen["h2o_surface"].values[:, 0]).all()
    # FI-Hyy's last step is below 0 degC: the default equals an explicit frozen spin-up
    default = dalec.run(model, pixel, pars)
    np.testing.assert_array_equal(default["h2o_surface"].values, frozen["h2o_surface"].values)
    corrected = dalec.run(model, pixel, pars, options={"snow": "corrected"})
    assert not np.array_equal(corrected["et"].values, default["et"].values)
    with pytest.raises(dalec.ModelError):
        dalec.run(model, pixel, pars, options={"snow": "sometimes"})


NOJIT_SCRIPT = """
import sys, numpy as np, dalec
from tests.dalec.test_edinburgh_models import load_pixel, load_reference
out = {}
for name, tag in (("C1", "c1_BR-Sa1"), ("DALEC.4", "d4_FI-Hyy_mcmc")):
    pars, _, _ = load_reference(tag)
    ds = dalec.run(name, load_pixel(tag).isel(time=slice(0, 24)), pars[:2])
    last = "et" if name != "C1" else "fire"
    out.update({f"{name}_{v}": ds[v].values for v in ("gpp", "c_som", last)})
np.savez(sys.argv[1], **out)
"""


@pytest.mark.shared
def test_pure_python_kernels_agree_with_jit(tmp_path):
    """NUMBA_DISABLE_JIT=1 runs the same arithmetic (24 steps, two vectors per model)."""
    import os
    import subprocess
    import sys

    shared_path("reference", "gcel")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    target = tmp_path / "out.npz"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", NOJIT_SCRIPT, str(target)], check=True, env=env,
                   cwd=root)
    result = np.load(target)
    for name, tag in (("C1", "c1_BR-Sa1"), ("DALEC.4", "d4_FI-Hyy_mcmc")):
        pars, _, _ = load_reference(tag)
        ds = dalec.run(name, load_pixel(tag).isel(time=slice(0, 24)), pars[:2])
        for v in ("gpp", "c_som", "et" if name != "C1" else "fire"):
            np.testing.assert_array_equal(result[f"{name}_{v}"], ds[v].values, err_msg=v)


@pytest.mark.shared
def test_dalec4_from_the_edinburgh_site_reader():
    """End to end: the bundled FI-Hyy tutorial CSVs, read by drivers.read, drive DALEC.4 to
    the Fortran's FI-Hyy reference runs (the reference met matrix was built from these files)."""
    from pathlib import Path

    site = Path(__file__).resolve().parents[2] / "drivers" / "data" / "fi-hyy"
    if not site.exists():
        pytest.skip(f"needs the bundled FI-Hyy site files in {site}")
    pixel = drivers.read(site)
    model = dalec.get_model("DALEC.4")
    pars, ref_pools, ref_fluxes = load_reference("d4_FI-Hyy_mcmc")
    out = dalec.run(model, pixel, pars)
    pools = np.stack([out[p].values for p in model.pools], axis=1)
    fluxes = np.stack([out[f].values for f in model.fluxes], axis=1)
    assert relative_errors(pools, ref_pools).max() <= 1e-6
    assert relative_errors(fluxes, ref_fluxes).max() <= 1e-6
