"""Withheld-month skill: metrics, the climatology baseline, and scoring a calibration."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import drivers
import mdf
from drivers.validation import read_validation
from mdf.validation import climatology, score_withheld, skill

DATA = Path(__file__).resolve().parents[1] / "data"


def test_skill_metrics(rng):
    obs = rng.normal(3, 1, 50)
    perfect = skill(obs, obs)
    assert perfect["nse"] == 1 and perfect["rmse"] == 0 and perfect["r"] == pytest.approx(1)
    mean_only = skill(np.full(50, obs.mean()), obs)
    assert mean_only["nse"] == pytest.approx(0, abs=1e-12)
    shifted = skill(obs + 0.5, obs)
    assert shifted["bias"] == pytest.approx(0.5) and shifted["rmse"] == pytest.approx(0.5)


def test_read_validation():
    v = read_validation(DATA / "validation_FI-Hyy.csv")
    raw = np.loadtxt(DATA / "validation_FI-Hyy.csv", delimiter=",", skiprows=1)
    assert v.sizes["month"] == raw.shape[0] == 75
    assert v["step"].values[0] == raw[0, 0] - 1 == 84  # 2008-01 is step 84 of a 2001 start
    np.testing.assert_array_equal(v["gpp"].values, raw[:, 2])


def test_climatology_baseline_is_the_calendar_month_mean():
    pixel = drivers.read(drivers.data_path("flux_site_76.cbf"))
    gpp = pixel["gpp_obs"].values
    july = [n for n in range(192) if n % 12 == 6 and np.isfinite(gpp[n])]
    expected = np.mean(gpp[july])
    assert climatology(pixel, "gpp", np.array([90]))[0] == pytest.approx(expected)  # 2008-07


def test_score_withheld_months_of_a_calibration():
    pixel = drivers.read(drivers.data_path("flux_site_76.cbf"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mdf.calibrate(pixel, "400", seed=2, threads=2, chains=2, burn_in=4000,
                            iterations=2000, thin=20, draws=40, block=2000, warm_start=False)
    scores = score_withheld(res, read_validation(DATA / "validation_FI-Hyy.csv"))
    assert set(scores) == {"gpp", "nee"}  # DALEC 400 simulates no ET
    for var in scores:
        m = scores[var]["model"]
        assert m["n"] > 50 and 0 <= m["coverage90"] <= 1 and np.isfinite(m["rmse"])
        assert np.isfinite(scores[var]["baseline"]["nse"])


def test_predictive_coverage_adds_the_stated_observation_noise():
    """Members all at the truth, withheld observations = truth + N(0, σ) with σ the stream's
    stated uncertainty: the ensemble alone covers nothing, the predictive band about 90 %."""
    from types import SimpleNamespace

    import xarray as xr

    pixel = drivers.read(drivers.data_path("flux_site_76.cbf"))
    n = pixel.sizes["time"]
    pixel["nbe_obs_unc"] = ("time", np.full(n, 0.7))  # gaussian NBE, σ = 0.7
    truth = np.sin(np.arange(n) / 5.0)
    ens = xr.Dataset({"nee": (("chain", "draw", "time"), np.broadcast_to(truth, (2, 200, n)))})
    gen = np.random.default_rng(11)
    steps = np.arange(n)
    obs = truth + gen.standard_normal(n) * 0.7
    validation = xr.Dataset({"nee": ("month", obs), "step": ("month", steps)})
    scores = score_withheld(SimpleNamespace(ensemble=ens, pixel=pixel), validation)["nee"]
    assert scores["model"]["coverage90_model"] < 0.05
    assert 0.84 <= scores["model"]["coverage90"] <= 0.96
