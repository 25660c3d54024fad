"""DE-MCz sampler: samples known Gaussians, is reproducible on any number of threads and
however a run is cut into blocks, and keeps its jump scale fixed while draws are kept."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from mdf.diagnostics import summarise
from mdf.rng import chain_states
from mdf.samplers.demcz import DEMCz


@njit(nogil=True)
def _gaussian_log_density(x, ctx, scratch):
    """N(mu, cov) restricted to the unit box, like Problem._log_posterior (-inf outside)."""
    mu, prec = ctx
    d = x.shape[0]
    for i in range(d):
        if not (0.0 <= x[i] <= 1.0):
            return -math.inf
    s = 0.0
    for i in range(d):
        a = 0.0
        for j in range(d):
            a += prec[i, j] * (x[j] - mu[j])
        s += (x[i] - mu[i]) * a
    return -0.5 * s


class _Space:
    def __init__(self, d):
        self.ndim = d


class GaussianProblem:
    """The parts of :class:`mdf.posterior.Problem` a sampler uses, for a known target."""

    _log_posterior = staticmethod(_gaussian_log_density)

    def __init__(self, mu, cov):
        self.mu = np.asarray(mu, dtype=np.float64)
        self.cov = np.asarray(cov, dtype=np.float64)
        self.ctx = (self.mu, np.linalg.inv(self.cov))
        self.space = _Space(self.mu.size)

    def scratch(self):
        return ()

    def log_posterior_x(self, x):
        return float(self._log_posterior(np.asarray(x, dtype=np.float64), self.ctx, ()))


def make_gaussian(d, seed=0, sd_max=0.03, sd_min=0.003):
    """A correlated Gaussian well inside the unit box, standard deviations from sd_max down
    to sd_min."""
    rs = np.random.default_rng(seed)
    a = rs.normal(size=(d, d))
    corr = a @ a.T
    s = np.sqrt(np.diag(corr))
    corr /= np.outer(s, s)
    sd = np.geomspace(sd_max, sd_min, d)
    return GaussianProblem(np.full(d, 0.5), corr * np.outer(sd, sd))


def run(problem, sampler, *, chains=4, seed=1, windows=(2000, 4000, 8000), n_keep=20000,
        thin=10, threads=1, start_sd=0.01):
    """Burn-in windows then one sampling block, as mdf.calibrate drives a sampler; a window
    given as a tuple runs as several blocks."""
    d = problem.mu.size
    rng = chain_states(seed, chains)
    x0 = problem.mu + start_sd * np.random.default_rng(seed).normal(size=(chains, d))
    lp0 = np.array([problem.log_posterior_x(x) for x in x0])
    state = sampler.init_state(problem, x0, lp0, rng)
    for i, window in enumerate(windows):
        for n in np.atleast_1d(window):
            sampler.run_block(problem, state, int(n), int(n), True, threads)
        sampler.end_window(state, final=i == len(windows) - 1)
    sampler.reset_counters(state)
    x, lp = sampler.run_block(problem, state, n_keep, thin, False, threads)
    return x, lp, state


@pytest.mark.parametrize("d", [2, 10])
def test_samples_a_correlated_gaussian(d):
    problem = make_gaussian(d, seed=d)
    x, lp, state = run(problem, DEMCz())
    _check_gaussian(problem, x, lp, min_ess=1000)
    acc = DEMCz().acceptance(state)
    assert np.all((acc > 0.1) & (acc < 0.5))


def _check_gaussian(problem, x, lp, min_ess):
    d = problem.mu.size
    flat = x.reshape(-1, d)
    sd = np.sqrt(np.diag(problem.cov))
    diag = summarise(x, [str(i) for i in range(d)])
    ess = diag["ess_bulk"].min()
    assert diag["rhat"].max() < 1.02
    assert ess > min_ess
    # means within 5 Monte Carlo standard errors, spreads within 10 %
    assert np.all(np.abs(flat.mean(axis=0) - problem.mu) < 5 * sd / np.sqrt(ess))
    np.testing.assert_allclose(flat.std(axis=0), sd, rtol=0.1)
    corr = np.corrcoef(flat.T)
    want = problem.cov / np.outer(sd, sd)
    assert np.abs(corr - want).max() < 0.1
    # the log-density of the draws: -0.5 chi2_d, so its mean is -d/2
    assert lp.mean() == pytest.approx(-d / 2, abs=0.15 * d)


def test_snooker_and_subspace_moves_keep_the_target():
    problem = make_gaussian(6, seed=3)
    sampler = DEMCz(p_snooker=0.5, crossover=(1 / 3, 2 / 3, 1.0))
    x, _, state = run(problem, sampler, n_keep=40000)
    flat = x.reshape(-1, 6)
    np.testing.assert_allclose(flat.std(axis=0), np.sqrt(np.diag(problem.cov)), rtol=0.1)
    assert np.all(sampler.snooker_acceptance(state) > 0.02)
    assert summarise(x, list("abcdef"))["rhat"].max() < 1.02


@pytest.mark.parametrize("make", [DEMCz, lambda: DEMCz(p_snooker=0.3, crossover=(0.5, 1.0))])
def test_same_draws_on_one_or_two_threads_and_any_blocking(make):
    problem = make_gaussian(5, seed=4)
    one, lp1, _ = run(problem, make(), threads=1, n_keep=3000)
    two, lp2, _ = run(problem, make(), threads=2, n_keep=3000)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(lp1, lp2)
    # one thread moves the four chains in lockstep, two threads in pairs, four one each
    four, lp4, _ = run(problem, make(), threads=4, n_keep=3000)
    np.testing.assert_array_equal(one, four)
    np.testing.assert_array_equal(lp1, lp4)
    # the same iterations cut at other points (sync 1000 falls inside blocks of 1500)
    cut, _, _ = run(problem, make(), threads=2, n_keep=3000,
                    windows=((1500, 500), (1500, 2500), (3000, 5000)))
    np.testing.assert_array_equal(one, cut)
    other, _, _ = run(problem, make(), seed=2, n_keep=3000)
    assert not np.array_equal(one, other)


def test_windows_drop_the_archive_start_and_sampling_keeps_the_scale():
    problem = make_gaussian(3, seed=5)
    sampler = DEMCz(keep_fraction=0.5)
    rng = chain_states(0, 3)
    x0 = np.full((3, 3), 0.5)
    state = sampler.init_state(problem, x0, np.zeros(3), rng)
    assert sampler.archive(state).shape == (30, 3)  # 10·d
    sampler.run_block(problem, state, 2000, 2000, True, 1)
    assert sampler.archive(state).shape[0] == 30 + 3 * 2000 // 10
    sampler.end_window(state, final=False)
    assert sampler.archive(state).shape[0] == (30 + 600) // 2
    scale = state["log_scale"].copy()
    assert np.all(scale != 0.0)  # adapted in burn-in
    # sampling: the archive grows (DE-MCz), the jump scale does not adapt
    sampler.run_block(problem, state, 3000, 10, False, 1)
    assert sampler.archive(state).shape[0] == 315 + 3 * 3000 // 10
    np.testing.assert_array_equal(state["log_scale"], scale)


def test_frozen_archive_option_and_archive_cap():
    problem = make_gaussian(3, seed=5)
    frozen = DEMCz(grow_in_sampling=False)
    state = frozen.init_state(problem, np.full((3, 3), 0.5), np.zeros(3), chain_states(0, 3))
    frozen.run_block(problem, state, 2000, 2000, True, 1)
    before = frozen.archive(state).copy()
    frozen.run_block(problem, state, 3000, 10, False, 1)
    np.testing.assert_array_equal(frozen.archive(state), before)
    capped = DEMCz(max_archive=500)
    state = capped.init_state(problem, np.full((3, 3), 0.5), np.zeros(3), chain_states(0, 3))
    capped.run_block(problem, state, 2000, 2000, True, 1)  # 30 + 600 > 500: every other kept
    assert capped.archive(state).shape[0] == 315


def test_nan_is_a_rejection_and_the_box_is_respected():
    @njit(nogil=True)
    def nan_half(x, ctx, scratch):
        for i in range(x.shape[0]):
            if not (0.0 <= x[i] <= 1.0):
                return -math.inf
        return math.nan if x[0] > 0.5 else 0.0

    class NanProblem(GaussianProblem):
        _log_posterior = staticmethod(nan_half)

    problem = NanProblem(np.full(2, 0.25), np.eye(2))
    sampler = DEMCz()
    rng = chain_states(3, 4)
    x0 = np.full((4, 2), 0.25)
    state = sampler.init_state(problem, x0, np.zeros(4), rng)
    sampler.run_block(problem, state, 4000, 4000, True, 1)
    x, _ = sampler.run_block(problem, state, 4000, 1, False, 1)
    assert np.all(x[..., 0] <= 0.5) and np.all((x >= 0) & (x <= 1))
    assert state["counts"][:, 2].sum() > 0  # NaNs were counted, the chains went on


def test_checkpointed_state_resumes_bit_identically(tmp_path):
    problem = make_gaussian(4, seed=6)
    sampler = DEMCz()
    rng = chain_states(9, 4)
    x0 = problem.mu + 0.01 * np.random.default_rng(9).normal(size=(4, 4))
    lp0 = np.array([problem.log_posterior_x(x) for x in x0])
    state = sampler.init_state(problem, x0, lp0, rng)
    sampler.run_block(problem, state, 2500, 2500, True, 1)
    np.savez(tmp_path / "s.npz", **state)
    ref, _ = sampler.run_block(problem, state, 2500, 5, True, 1)
    with np.load(tmp_path / "s.npz") as z:
        again = {k: z[k].copy() for k in z.files}
    out, _ = sampler.run_block(problem, again, 2500, 5, True, 1)
    np.testing.assert_array_equal(out, ref)


def test_warm_start_covariance_seeds_the_archive():
    problem = make_gaussian(3, seed=7)
    sampler = DEMCz()
    state = sampler.init_state(problem, np.full((2, 3), 0.5), np.zeros(2), chain_states(0, 2))
    cov = np.diag([1e-4, 4e-4, 9e-4])
    sampler.set_covariance(state, np.stack([cov, cov]))
    z = sampler.archive(state)
    np.testing.assert_allclose(z.std(axis=0), [0.01, 0.02, 0.03], rtol=0.35)


def test_calibrate_runs_it_and_keeps_valid_draws():
    import warnings

    import drivers
    import mdf

    pixel = drivers.read(Path(__file__).resolve().parents[1] / "data"
                         / "CARDAMOM_DATA_DRIVERS_EXAMPLE.cbf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        result = mdf.calibrate(pixel, "400", sampler=DEMCz(), seed=3, threads=2, chains=3,
                               burn_in=4000, iterations=2000, thin=20, draws=10, block=2000,
                               warm_start=False)
    assert result.parameters.shape == (3, 100, 23)
    lo, hi = result.model.bounds.T
    assert np.all(result.parameters >= lo) and np.all(result.parameters <= hi)
    assert np.all(np.isfinite(result.log_posterior))
    k = 57
    again = mdf.log_posterior(pixel, "400", result.parameters[1, k])["total"]
    assert again == pytest.approx(result.log_posterior[1, k], rel=1e-9)


def test_group_evaluation_is_single_evaluations_bit_for_bit():
    """Problem._log_posterior_group (DALEC 400's interleaved four- and two-run kernels)
    against single calls of _log_posterior, for 1-4 points, with proposals rejected before
    their run in every position."""
    import itertools
    import warnings

    import drivers
    from mdf.posterior import Problem
    from mdf.start import find_start

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem = Problem(drivers.read(drivers.data_path("flux_site_76.cbf")), "400")
    x0, _, _ = find_start(problem, chain_states(5, 4))
    outside = x0[1].copy()
    outside[3] = 1.5  # outside the prior box: -inf without a run
    scratches = [problem.scratch() for _ in range(4)]
    want_in = [problem._log_posterior(x, problem.ctx, problem.scratch()) for x in x0]
    out = np.empty(4)
    for k in (1, 2, 3, 4):
        for mask in itertools.product((True, False), repeat=k):
            xs = [x0[i] if inside else outside for i, inside in enumerate(mask)]
            padded = xs + [xs[-1]] * (4 - k)
            out[:] = 7.0
            problem._log_posterior_group(*padded, k, problem.ctx, *scratches, out)
            want = [want_in[i] if inside else -np.inf for i, inside in enumerate(mask)]
            np.testing.assert_array_equal(out[:k], want)
            assert np.all(out[k:] == 7.0)  # nothing written past the k points
    assert np.all(np.isfinite(want_in)) and len(set(want_in)) == 4


@pytest.mark.parametrize("chains, threads", [(3, 1), (4, 1), (4, 2), (5, 1)])
def test_lockstep_groups_give_the_chains_of_one_chain_per_thread(chains, threads):
    import warnings

    import drivers
    import mdf

    pixel = drivers.read(drivers.data_path("flux_site_76.cbf"))
    runs = []
    # lockstep groups of four (3: one of three; 5: four and one) or, on 2 threads, pairs;
    # against one chain per thread
    for n_threads in (threads, chains):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs.append(mdf.calibrate(pixel, "400", seed=7, chains=chains, threads=n_threads,
                                      burn_in=4000, iterations=4000, thin=20, draws=5,
                                      block=2000, warm_start=False))
    np.testing.assert_array_equal(runs[0].parameters, runs[1].parameters)
    np.testing.assert_array_equal(runs[0].log_posterior, runs[1].log_posterior)
