"""Real data, default settings: FI-Hyy (bundled CARDAMOM-FluxVal site 76) converges and
predicts its withheld months.

The run is what a user gets from ``mdf.calibrate(pixel, "400", seed=1)``: 4 ``demcz`` chains
sampled until every parameter and the log-posterior reach R-hat <= 1.05 and bulk ESS >= 400
(about 1.4 million iterations per chain, 2 CPU-minutes).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import drivers
import mdf
from drivers.validation import read_validation
from mdf.validation import score_withheld

WITHHELD = Path(__file__).resolve().parents[1] / "data" / "validation_FI-Hyy.csv"


@pytest.mark.slow
def test_fi_hyy_converges_with_the_defaults_and_predicts_withheld_months():
    pixel = drivers.read(drivers.data_path("flux_site_76.cbf"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ET stream DALEC 400 cannot simulate
        warnings.simplefilter("error", mdf.ConvergenceWarning)
        result = mdf.calibrate(pixel, "400", seed=1, threads=2)
    s = result.summary()
    assert result.converged and s["max_rhat"] <= 1.05 and s["min_ess_bulk"] >= 400
    # it stopped because it converged, well before the cap
    assert result._run.stopped and result._run.done_sample < result.settings.iterations
    scores = score_withheld(result, read_validation(WITHHELD))
    for var in ("nee", "gpp"):
        model = scores[var]["model"]
        assert model["n"] == 75
        assert model["nse"] > 0.8 and model["r"] > 0.9, (var, model)
