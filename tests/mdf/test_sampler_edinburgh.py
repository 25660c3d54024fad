"""Edinburgh AP-MCMC (mdf.samplers.edinburgh) and the Edinburgh preset's post-processing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from mdf.presets import edinburgh as preset
from mdf.rng import chain_states
from mdf.samplers import get_sampler
from mdf.samplers.edinburgh import (
    _ACC_MV,
    _HAS_COV,
    _USE_MV,
    EdinburghAPMCMC,
    _increment_covariance,
    hand_over,
    start_phase,
)
from tests.conftest import REPO


@njit(nogil=True)
def _gaussian(x, ctx, scratch):
    mu, prec = ctx
    for i in range(x.shape[0]):
        if not (0.0 <= x[i] <= 1.0):
            return -math.inf
    s = 0.0
    for i in range(x.shape[0]):
        a = 0.0
        for j in range(x.shape[0]):
            a += prec[i, j] * (x[j] - mu[j])
        s += (x[i] - mu[i]) * a
    return -0.5 * s


class _Space:
    def __init__(self, d):
        self.ndim = d


class Gaussian:
    """What a sampler uses of mdf.Problem, for a known correlated Gaussian in the unit box."""

    _log_posterior = staticmethod(_gaussian)

    def __init__(self, d=4, seed=0):
        rs = np.random.default_rng(seed)
        a = rs.normal(size=(d, d))
        corr = a @ a.T
        s = np.sqrt(np.diag(corr))
        sd = np.geomspace(0.03, 0.01, d)
        self.mu = np.full(d, 0.5)
        self.cov = corr / np.outer(s, s) * np.outer(sd, sd)
        self.ctx = (self.mu, np.linalg.inv(self.cov))
        self.space = _Space(d)

    def scratch(self):
        return ()


def _start(problem, sampler, chains=3, seed=5):
    d = problem.mu.size
    x0 = problem.mu + 0.005 * np.random.default_rng(seed).normal(size=(chains, d))
    lp0 = np.array([_gaussian(x, problem.ctx, ()) for x in x0])
    return sampler.init_state(problem, x0, lp0, chain_states(seed, chains))


def test_registered():
    assert isinstance(get_sampler("edinburgh"), EdinburghAPMCMC)


def test_samples_a_gaussian_with_the_handed_over_covariance():
    problem = Gaussian()
    sampler = EdinburghAPMCMC()
    state = _start(problem, sampler)
    sampler.set_covariance(state, np.repeat(problem.cov[None], 3, axis=0))
    x, _ = sampler.run_block(problem, state, 60_000, 10, False)
    draws = x[:, 1000:].reshape(-1, problem.mu.size)
    assert np.all(state["counts"][:, _ACC_MV] > 0)
    np.testing.assert_allclose(draws.mean(axis=0), problem.mu, atol=4e-3)
    np.testing.assert_allclose(np.cov(draws.T), problem.cov,
                               atol=0.15 * np.diag(problem.cov).max())


def test_reproducible_across_threads_and_blocks():
    problem = Gaussian()
    sampler = EdinburghAPMCMC(nadapt=200)
    a = _start(problem, sampler)
    xa, _ = sampler.run_block(problem, a, 6000, 100, True, threads=1)
    b = _start(problem, sampler)
    xb1, _ = sampler.run_block(problem, b, 2000, 100, True, threads=3)
    xb2, _ = sampler.run_block(problem, b, 4000, 100, True, threads=2)
    np.testing.assert_array_equal(xa, np.concatenate([xb1, xb2], axis=1))
    for key in ("x", "cov", "mean", "counts", "rng", "best_x"):
        np.testing.assert_array_equal(a[key], b[key])


def test_fortran_count_keeps_a_lone_chain_isotropic():
    """The Fortran never stores the advanced count, so a chain on its own builds a covariance
    (from 3 points, then one state per window) but never proposes from it; the pre-run's
    hand-over (count 10·d + 1) or ``advance_count`` switches the multivariate proposal on."""
    problem = Gaussian(d=3)
    lone = EdinburghAPMCMC(nadapt=100)
    state = _start(problem, lone)
    lone.run_block(problem, state, 20_000, 20_000, True)
    assert np.all(state["counts"][:, _HAS_COV] == 1)
    assert np.all(state["fstate"][:, 0] == 3)
    assert np.all(state["counts"][:, _ACC_MV] == 0)
    kept = hand_over(state)
    start_phase(state)
    lone.run_block(problem, state, 5_000, 5_000, True)
    assert np.all(state["counts"][kept, _ACC_MV] > 0)
    intent = EdinburghAPMCMC(nadapt=100, advance_count=True)
    state = _start(problem, intent)
    intent.run_block(problem, state, 20_000, 20_000, True)
    assert np.all(state["fstate"][:, 0] > 30)
    assert np.all(state["counts"][:, _USE_MV] == 1) and np.all(state["counts"][:, _ACC_MV] > 0)


def test_incremental_covariance_is_the_sample_covariance_when_the_count_runs():
    rs = np.random.default_rng(1)
    pts = rs.normal(size=(40, 3))
    mean = pts[:5].mean(axis=0)
    cov = np.cov(pts[:5].T)
    cur = _increment_covariance(pts[5:], 35, mean, cov, 5.0, np.empty(3))
    assert cur == 40
    np.testing.assert_allclose(mean, pts.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(pts.T), rtol=1e-10)


def test_edc_search_target_stops_early():
    problem = Gaussian()
    sampler = EdinburghAPMCMC(nadapt=500)
    state = _start(problem, sampler)
    sampler.run_block(problem, state, 10_000, 10_000, True, target=-1e9)
    assert np.all(state["done"] == 0)  # the start already beats the target
    state["best_lp"][:] = -np.inf
    state["lp"][:] = -1e6
    sampler.run_block(problem, state, 10_000, 10_000, True, target=-2.0)
    assert np.all(state["done"] < 10_000) and np.all(state["best_lp"] >= -2.0)


@njit(nogil=True)
def _score(x, ctx, scratch):
    """A stand-in for the EDC score: 0 inside the Gaussian's 2-sigma-ish core, below outside."""
    return min(0.0, _gaussian(x, ctx, scratch) + 2.0)


class EdcFake(Gaussian):
    _edc_score = staticmethod(_score)

    def __init__(self):
        import xarray as xr

        super().__init__(d=3)
        self.pixel = xr.Dataset()

        class _M:
            name = "fake"

        self.model = _M()


def test_edc_search_reaches_zero_from_random_starts():
    problem = EdcFake()
    rng = chain_states(11, 3)
    x0, used = preset.edc_search(problem, rng, proposals=20_000, max_attempts=10)
    assert all(_score(x, problem.ctx, ()) == 0.0 for x in x0)
    assert np.all(used > 0)


def test_prior_start_puts_priors_at_their_means():
    import drivers
    from drivers.options import ParameterPrior, set_parameter_priors
    from mdf.posterior import Problem

    pixel = drivers.read(REPO / "drivers" / "data" / "fi-hyy")
    set_parameter_priors(pixel, [ParameterPrior(1, 0.54, 0.12)])
    problem = Problem(pixel, "DALEC.4")
    x = preset.prior_start(problem, chain_states(0, 2))
    pars = problem.space.from_normalised(x)
    assert pars[:, 1] == pytest.approx(0.54, rel=1e-12)
    assert x[0, 0] != x[1, 0] and np.all((x > 0) & (x < 1))


# ------------------------------------------------------------------------- post-processing


def test_psrf_is_the_r_formula():
    rs = np.random.default_rng(3)
    x = rs.normal(size=(3, 100)) + np.array([[0.0], [0.1], [0.3]])
    m, n = x.shape
    w = np.mean(np.var(x, axis=1, ddof=1))
    b_n = np.var(x.mean(axis=1), ddof=1)
    r = math.sqrt((m + 1) / m * ((n - 1) / n * w + b_n) / w - (n - 1) / (m * n))
    assert preset.psrf(x) == pytest.approx(r, rel=1e-12)
    assert preset.psrf(np.stack([x, 2 * x], axis=2)) == pytest.approx([r, r], rel=1e-12)


def test_chain_selection_rules():
    rs = np.random.default_rng(4)
    base = rs.normal(size=(4, 100))
    assert preset.select_chains(base) == ([0, 1, 2, 3], True)
    worse = base.copy()
    worse[2] -= 50.0  # a stuck chain: dropped
    assert preset.select_chains(worse) == ([0, 1, 3], True)
    better = base.copy()
    better[1] += 50.0  # one chain far better than the others: kept alone
    assert preset.select_chains(better) == ([1], True)
    spread = base.copy()
    spread[0] -= 10.0
    spread[3] -= 20.0  # no single removal converges: the lowest maximum goes first
    kept, ok = preset.select_chains(spread)
    assert 3 not in kept and ok and kept == [1, 2]


@pytest.mark.shared
def test_preset_end_to_end_c1(recwarn, tmp_path):
    """mdf.calibrate(preset="edinburgh") on the BR-Sa1 binary: pre-run, main run, the last
    100 of 1000 stored states per chain, chain selection; every kept state is EDC-consistent."""
    import drivers
    import mdf
    from tests.conftest import shared_path

    pixel = drivers.read(shared_path("data", "cardamom-examples", "edinburgh-bin",
                                     "c1_BR-Sa1.bin"))
    with pytest.raises(ValueError, match="checkpoint"):
        mdf.calibrate(pixel, "C1", preset="edinburgh", checkpoint="x.npz")
    with pytest.raises(ValueError, match="sampler"):
        mdf.calibrate(pixel, "C1", preset="edinburgh", sampler="cardamom")
    result = mdf.calibrate(pixel, "C1", preset="edinburgh", chains=3, iterations=20_000,
                           seed=2, threads=2, draws=30, preset_options={"start": "mdf"})
    post = result.postprocessing
    assert result.settings.sampler == "edinburgh" and result.settings.scaling == "sqrt_n"
    assert result.settings.burn_in == 4_000 and result.settings.thin == 20
    assert post["log_likelihood"].shape == (3, 100)
    kept = post["kept_chains"]
    assert result.parameters.shape == (len(kept), 100, 28)
    assert np.all(np.isfinite(result.log_posterior))
    assert np.all(np.isfinite(post["log_likelihood"]))
    assert result.converged == post["converged"]
    result.to_netcdf(tmp_path / "posterior.nc")  # every per-chain array follows the kept chains
