"""The example notebooks run top to bottom in CI mode and their numbers make physical sense.

Each notebook is executed with nbclient (kernel ``python3``: jupyter_client starts it with
this interpreter, so the notebooks see the same environment as the tests) in a temporary
working directory, with ``DALEC_MDF_EXAMPLES=ci`` (reduced chains, iterations and pixels) and
``DALEC_MDF_FIGURES`` pointing into it. Every notebook writes its figures (PNG) and a JSON of
key numbers there; the assertions below read them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOKS = sorted(p.stem for p in EXAMPLES.glob("*.ipynb"))
PNG = b"\x89PNG\r\n\x1a\n"


def test_every_notebook_is_stored_without_outputs():
    assert len(NOTEBOOKS) == 5
    for name in NOTEBOOKS:
        nb = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, name


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run a notebook once per session; returns (numbers, figure folder)."""
    done = {}

    def run(name):
        if name not in done:
            work = tmp_path_factory.mktemp(name)
            figures = work / "figures"
            env = {"DALEC_MDF_EXAMPLES": "ci", "DALEC_MDF_FIGURES": str(figures),
                   "DALEC_MDF_SHARED": str(SHARED), "MPLBACKEND": "Agg"}
            old = {k: os.environ.get(k) for k in env}
            os.environ.update(env)  # the kernel inherits this process's environment
            try:
                nb = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
                client = nbclient.NotebookClient(
                    nb, timeout=600, kernel_name="python3",
                    resources={"metadata": {"path": str(work)}})
                client.execute()  # raises CellExecutionError naming the failing cell
            finally:
                for k, v in old.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            numbers = json.loads((figures / f"{name}.json").read_text())
            done[name] = (numbers, figures)
        return done[name]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_writes_figures(name, executed):
    numbers, figures = executed(name)
    assert numbers["ci"] is True
    pngs = sorted(figures.glob(f"{name}_*.png"))
    assert len(pngs) >= 2, pngs
    for png in pngs:
        data = png.read_bytes()
        assert data[:8] == PNG and len(data) > 5000, png


@pytest.mark.slow
def test_forward_model_conserves_carbon_and_responds_to_parameters(executed):
    n, _ = executed("01_forward_model")
    assert n["mass_balance_max_relative"] <= 1e-10
    budget = n["budget_g_m2_a"]
    assert budget["gpp"] > budget["npp"] > 0
    assert math.isclose(budget["nee"], budget["ra"] + budget["rh"] - budget["gpp"],
                        rel_tol=1e-9, abs_tol=1e-6)  # no fire at FI-Hyy
    s = {k: np.diff(v) for k, v in n["sweeps"].items()}
    assert (s["gpp_mean_by_ceff"] > 0).all()  # more canopy efficiency, more GPP
    assert (s["lai_mean_by_lcma"] < 0).all()  # thicker leaves, less leaf area
    assert (s["final_wood_by_t_wood"] < 0).all()  # faster turnover, less wood
    assert (s["nee_mean_by_f_auto"] > 0).all()  # more autotrophic respiration, less uptake
    assert 0.3 < n["prior_fraction_finite"] <= 1.0


@pytest.mark.slow
def test_calibration_diagnostics_and_bands(executed):
    n, _ = executed("02_calibrate_fi_hyy")
    assert len(n["rhat"]) == 34 and all(math.isfinite(r) and r >= 0.9 for r in n["rhat"])
    assert all(math.isfinite(e) and e > 0 for e in n["ess_bulk"])
    assert n["max_rhat"] == max(n["rhat"])
    nbe = n["coverage"]["nbe"]
    assert nbe["n_obs"] > 50
    assert nbe["within_1_sigma"] > 0.3  # the NEE ensemble is near the tower's NEE
    lo, hi = n["npp_fraction_sum"]
    assert abs(lo - 1) < 1e-9 and abs(hi - 1) < 1e-9  # NPP is allocated, all of it
    assert 0 < n["mrt_median_a"]["foliar"] < n["mrt_median_a"]["wood"]
    assert n["mean_nbe_q025"] <= n["mean_nbe_median"] <= n["mean_nbe_q975"]
    assert 0 <= n["p_sink"] <= 1
    assert {"posterior", "posterior_predictive", "diagnostics", "summary"} <= set(n["groups"])


@pytest.mark.slow
def test_withheld_scores_are_complete(executed):
    n, _ = executed("03_fluxval_withheld")
    assert n["site"] == "FI-Hyy"
    for var in ("gpp", "nee", "et"):
        model, base = n["scores"][var]["model"], n["scores"][var]["baseline"]
        assert model["n"] == n["n_withheld"][var] > 10
        assert math.isfinite(model["nse"]) and math.isfinite(base["nse"])
        assert model["nse"] <= 1 and base["nse"] <= 1
        assert 0 <= model["coverage90"] <= 1
        assert -1 <= model["r"] <= 1
    # the seasonal cycle alone predicts GPP well at a forest site
    assert n["scores"]["gpp"]["baseline"]["nse"] > 0.5


@pytest.mark.slow
def test_many_pixels_reproducible_and_merged(executed):
    n, _ = executed("04_many_pixels")
    assert n["identical_process_pool"] and all(n["identical_process_pool"].values())
    if "identical_dask" in n:
        assert all(n["identical_dask"].values())
    p = n["product"]
    assert p["n_done"] == p["n_pixels"] == (3 if n["shared"] else 1)
    for p_sink, cls, nbe in zip(p["p_sink"], p["classes"], p["nbe_median_g_m2_a"], strict=True):
        assert 0 <= p_sink <= 1
        assert cls == ("sink" if p_sink >= 0.95 else "source" if p_sink <= 0.05 else "neutral")
        if cls == "sink":
            assert nbe < 0
        if cls == "source":
            assert nbe > 0
    known = sum(c in ("sink", "source") for c in p["classes"]) / p["n_done"]
    assert math.isclose(p["fraction_sign_known"], known)


@pytest.mark.slow
def test_cardamom_files_read_and_agree(executed):
    n, _ = executed("05_bringing_cardamom_files")
    assert n["cbf_vs_cardamom_c_gpp_max_rel"] < 1e-10
    assert max(n["site_csv_max_abs_diff"].values()) < 1e-10
    assert n["site_csv_vs_edinburgh_gpp_max_rel"] < 1e-6
    if n["shared"]:
        assert n["cbr_samples_run"] > 0
        assert max(n["bin_vs_csv_unc_max_rel"].values()) < 1e-12
