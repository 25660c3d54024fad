"""Synthetic-truth pixels: noise-free data equal the model; noise has the stated spread."""

from __future__ import annotations

import numpy as np
import pytest

import dalec
import drivers
from mdf.posterior import Problem
from mdf.rng import chain_states
from mdf.start import find_start
from mdf.synthetic import synthetic_pixel


def truth_for(pixel, model):
    problem = Problem(pixel, model)
    x0, lp0, _ = find_start(problem, chain_states(4, 1))
    return problem.space.from_normalised(x0[0])


def test_noise_free_observations_equal_the_model_and_score_zero():
    pixel = drivers.read(drivers.data_path("flux_site_76.cbf"))
    truth = truth_for(pixel, "400")
    syn = synthetic_pixel(pixel, "400", truth, np.random.default_rng(0), noise=False)
    run = dalec.run("400", pixel, truth)
    ok = np.isfinite(syn["gpp_obs"].values)
    assert ok.sum() == np.isfinite(pixel["gpp_obs"].values).sum()
    np.testing.assert_allclose(syn["gpp_obs"].values[ok], run["gpp"].values[ok], rtol=1e-12)
    np.testing.assert_allclose(syn["nbe_obs"].values[np.isfinite(syn["nbe_obs"].values)],
                               run["nee"].values[np.isfinite(syn["nbe_obs"].values)])
    assert "et_obs" not in syn  # DALEC 400 simulates no ET
    # every data term is 0 at the truth (only parameter priors remain)
    terms = Problem(syn, "400").terms(truth)
    for name in ("gpp", "lai", "nbe", "abgb"):
        assert terms[name] == pytest.approx(0.0, abs=1e-20)


def test_noise_has_the_stated_spread():
    pixel = drivers.read(drivers.data_path("flux_site_76.cbf"))
    truth = truth_for(pixel, "400")
    clean = synthetic_pixel(pixel, "400", truth, np.random.default_rng(0), noise=False)
    z_nbe, z_lai = [], []
    for seed in range(20):
        syn = synthetic_pixel(pixel, "400", truth, np.random.default_rng(seed))
        ok = np.isfinite(syn["nbe_obs"].values)
        z_nbe.append((syn["nbe_obs"].values[ok] - clean["nbe_obs"].values[ok]) / 1.0)  # sigma 1
        ok = np.isfinite(syn["lai_obs"].values)
        z_lai.append(np.log(syn["lai_obs"].values[ok] / clean["lai_obs"].values[ok]) / np.log(2))
    for z in (np.concatenate(z_nbe), np.concatenate(z_lai)):
        assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05
