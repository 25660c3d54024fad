"""Calibrating one pixel: reproducible, resumable, self-consistent, written as ArviZ groups."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import drivers
import mdf

ROOT = Path(__file__).resolve().parents[2]
CBF = ROOT / "tests" / "data" / "CARDAMOM_DATA_DRIVERS_EXAMPLE.cbf"
SHORT = dict(chains=2, burn_in=4000, iterations=2000, thin=20, draws=20, block=2000,
             warm_start=False)


@pytest.fixture(scope="module")
def pixel():
    return drivers.read(CBF)


@pytest.fixture(scope="module")
def result(pixel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        return mdf.calibrate(pixel, "400", seed=7, threads=1, **SHORT)


def test_same_seed_same_chains_on_one_or_two_threads(pixel, result):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        again = mdf.calibrate(pixel, "400", seed=7, threads=2, **SHORT)
        other = mdf.calibrate(pixel, "400", seed=8, threads=2, **SHORT)
    np.testing.assert_array_equal(again.parameters, result.parameters)
    np.testing.assert_array_equal(again.log_posterior, result.log_posterior)
    assert not np.array_equal(other.parameters, result.parameters)


def test_kept_draws_are_valid_and_their_log_posterior_is_right(pixel, result):
    assert result.parameters.shape == (2, 100, 23)
    lo, hi = result.model.bounds.T
    assert np.all(result.parameters >= lo) and np.all(result.parameters <= hi)
    assert np.all(np.isfinite(result.log_posterior))
    for c, k in [(0, 0), (1, 57), (0, 99)]:
        again = mdf.log_posterior(pixel, "400", result.parameters[c, k])["total"]
        assert again == pytest.approx(result.log_posterior[c, k], rel=1e-9)


def test_result_file_has_arviz_groups(tmp_path, result):
    path = tmp_path / "result.nc"
    result.to_netcdf(path)
    assert [p.name for p in tmp_path.iterdir()] == ["result.nc"]
    tree = xr.open_datatree(path)
    for group in ("posterior", "sample_stats", "observed_data", "posterior_predictive",
                  "constant_data", "diagnostics", "summary"):
        assert group in tree.children, group
    post = tree["posterior"].to_dataset()
    assert post["theta"].dims == ("chain", "draw")
    np.testing.assert_array_equal(post["theta"].values, result.parameters[:, :, 9])
    pp = tree["posterior_predictive"].to_dataset()
    assert pp["nee"].dims == ("chain", "draw", "time")
    assert pp.sizes["time"] == 72
    # the ensemble is the model run at the kept draws
    q = tree["summary"]["nee_quantiles"].values
    assert np.all(np.diff(q, axis=0) >= 0)
    p_sink = float(tree["summary"]["p_sink"])
    assert p_sink == pytest.approx(np.mean(pp["nee"].mean("time").values < 0))
    assert tree.attrs["sink_source_class"] in ("sink", "source", "neutral")


def test_cardamom_sampler_runs_and_keeps_valid_draws(pixel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        res = mdf.calibrate(pixel, "400", sampler="cardamom", seed=3, threads=1,
                            **{**SHORT, "burn_in": 6000})
    assert np.all(np.isfinite(res.log_posterior))
    assert res.parameters.shape[:2] == (2, 100)


def test_unconverged_run_warns_and_can_be_extended(pixel):
    with pytest.warns(mdf.ConvergenceWarning, match="not converged"):
        res = mdf.calibrate(pixel, "400", seed=5, threads=1, **SHORT)
    assert res.converged is False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        longer = res.extend(2000, threads=1)
    assert longer.parameters.shape[1] == 2 * res.parameters.shape[1]
    np.testing.assert_array_equal(longer.parameters[:, :100], res.parameters)


KILL_SCRIPT = """
import sys, warnings, drivers, mdf
warnings.simplefilter("ignore")
def progress(phase, done, total, run):
    print(phase, done, flush=True)
mdf.calibrate(drivers.read(sys.argv[1]), "400", seed=11, threads=1, checkpoint=sys.argv[2],
              progress=progress, chains=2, burn_in=8000, iterations=8000, thin=20, draws=20,
              block=2000, warm_start=False, checkpoint_every=0)
print("finished", flush=True)
"""


@pytest.mark.slow
def test_sigkill_and_resume_gives_identical_chains(tmp_path, pixel):
    ckpt = tmp_path / "run.npz"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(CBF), str(ckpt)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    seen = []
    for line in proc.stdout:
        seen.append(line.split())
        if line.startswith("sampling 2000"):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, seen
    assert ckpt.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        resumed = mdf.calibrate(pixel, "400", seed=11, threads=2, checkpoint=ckpt, chains=2,
                                burn_in=8000, iterations=8000, thin=20, draws=20, block=2000,
                                warm_start=False)
        straight = mdf.calibrate(pixel, "400", seed=11, threads=1, chains=2, burn_in=8000,
                                 iterations=8000, thin=20, draws=20, block=2000,
                                 warm_start=False)
    np.testing.assert_array_equal(resumed.parameters, straight.parameters)
    np.testing.assert_array_equal(resumed.log_posterior, straight.log_posterior)
    assert not list(tmp_path.glob(".*tmp*"))


def test_checkpoint_from_other_settings_is_refused(tmp_path, pixel):
    ckpt = tmp_path / "run.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        mdf.calibrate(pixel, "400", seed=1, threads=1, checkpoint=ckpt, **SHORT)
        with pytest.raises(mdf.CheckpointError, match="other settings"):
            mdf.calibrate(pixel, "400", seed=2, threads=1, checkpoint=ckpt, **SHORT)


def test_emcee_sampler_runs_every_walker_as_a_chain(pixel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        res = mdf.calibrate(pixel, "400", sampler="emcee", seed=3, threads=2, chains=2,
                            burn_in=200, iterations=200, thin=10, draws=20, block=100)
        again = mdf.calibrate(pixel, "400", sampler="emcee", seed=3, threads=1, chains=2,
                              burn_in=200, iterations=200, thin=10, draws=20, block=100)
    assert res.parameters.shape == (2 * (2 * 23 + 2), 20, 23)
    assert np.all(np.isfinite(res.log_posterior))
    np.testing.assert_array_equal(res.parameters, again.parameters)


def test_am_sampler_same_seed_same_chains_on_one_or_two_threads(pixel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        one = mdf.calibrate(pixel, "400", sampler="am", seed=4, threads=1, **SHORT)
        two = mdf.calibrate(pixel, "400", sampler="am", seed=4, threads=2, **SHORT)
    np.testing.assert_array_equal(one.parameters, two.parameters)
    assert one.settings.sampler == "am"


def test_default_runs_until_converged_and_stops_at_the_first_passing_block(pixel):
    # targets every run meets: the run must stop at the first block with enough draws
    with warnings.catch_warnings():
        warnings.simplefilter("error", mdf.ConvergenceWarning)
        res = mdf.calibrate(pixel, "400", seed=2, threads=2, chains=2, burn_in=4000,
                            thin=20, block=2000, draws=20, warm_start=False,
                            target_rhat=100.0, target_ess=1.0)
    s = res.settings
    assert s.sampler == "demcz" and s.until_converged and s.iterations == 4_000_000
    assert res._run.stopped and res.converged
    # 100 draws per chain are needed before the targets are tested: 2000 iterations / 20
    assert res._run.done_sample == 2000
    assert res.parameters.shape == (2, 100, 23)


def _fake_run(draws, lp, target_rhat=1.05, target_ess=400.0):
    from mdf.calibration import Run, Settings
    from mdf.posterior import Problem

    run = Run(Problem(drivers.read(CBF), "400"),
              Settings(model="400", chains=draws.shape[0], target_rhat=target_rhat,
                       target_ess=target_ess), None)
    run.draws, run.lp = draws, lp
    return run


def test_convergence_rule_all_draws_then_later_half():
    from mdf.calibration import _check_targets

    rng = np.random.default_rng(0)
    c, n, d = 4, 2000, 23
    good = 0.5 + 0.01 * rng.standard_normal((c, n, d))  # well inside the unit box
    run = _fake_run(good.copy(), rng.standard_normal((c, n)))
    _check_targets(run)
    assert run.stopped and run.first_kept == 0
    # chains that disagree in the first half only: the later half passes and is kept
    bad_start = good.copy()
    bad_start[:, : n // 2, 3] += np.arange(c)[:, None] * 0.1
    run = _fake_run(bad_start, rng.standard_normal((c, n)))
    _check_targets(run)
    assert run.stopped and run.first_kept == n // 2
    # disagreeing throughout: not converged, nothing dropped
    bad = good.copy()
    bad[:, :, 3] += np.arange(c)[:, None] * 0.1
    run = _fake_run(bad, rng.standard_normal((c, n)))
    _check_targets(run)
    assert not run.stopped and run.first_kept == 0
    # too few effective draws: not converged
    sticky = np.repeat(good[:, :20], 100, axis=1)
    run = _fake_run(sticky, np.repeat(rng.standard_normal((c, 20)), 100, axis=1))
    _check_targets(run)
    assert not run.stopped


def test_checkpoint_can_be_extended_in_a_new_call(tmp_path, pixel):
    ckpt = tmp_path / "run.npz"
    short = {**SHORT, "thin": 20}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        first = mdf.calibrate(pixel, "400", seed=9, threads=1, checkpoint=ckpt, **short)
        longer = mdf.calibrate(pixel, "400", seed=9, threads=1, checkpoint=ckpt,
                               **{**short, "iterations": 4000})
        straight = mdf.calibrate(pixel, "400", seed=9, threads=1,
                                 **{**short, "iterations": 4000})
    np.testing.assert_array_equal(longer.parameters[:, :100], first.parameters)
    np.testing.assert_array_equal(longer.parameters, straight.parameters)
    # extend() leaves the result it was called on as it was
    before = first.parameters.copy()
    state = {k: v.copy() for k, v in first._run.state.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        ext = first.extend(2000, threads=1)
    np.testing.assert_array_equal(ext.parameters, straight.parameters)
    np.testing.assert_array_equal(first.parameters, before)
    for k, v in state.items():
        np.testing.assert_array_equal(first._run.state[k], v)


def test_checkpoint_of_other_data_or_options_is_refused(tmp_path, pixel):
    ckpt = tmp_path / "run.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        mdf.calibrate(pixel, "400", seed=1, threads=1, checkpoint=ckpt, **SHORT)
        with pytest.raises(mdf.CheckpointError, match="other data"):
            mdf.calibrate(pixel, "400", seed=1, threads=1, checkpoint=ckpt, eqf=5.0, **SHORT)
        changed = pixel.copy(deep=True)
        name = next(v for v in changed.data_vars if changed[v].dtype.kind == "f"
                    and changed[v].ndim == 1 and np.isfinite(changed[v].values).any())
        vals = changed[name].values
        vals[np.flatnonzero(np.isfinite(vals))[0]] *= 1.01
        with pytest.raises(mdf.CheckpointError, match="other data"):
            mdf.calibrate(changed, "400", seed=1, threads=1, checkpoint=ckpt, **SHORT)


def test_convergence_test_stops_at_the_first_failure_with_the_full_tests_answer(pixel,
                                                                              monkeypatch):
    from mdf import calibration
    from mdf.calibration import Run, _meets_targets, default_settings, target_diagnostics
    from mdf.posterior import Problem

    problem = Problem(pixel, "400")
    run = Run(problem, default_settings("400"), None)
    d = problem.space.ndim
    rng = np.random.default_rng(0)
    run.draws = rng.uniform(0.3, 0.7, size=(4, 400, d))  # independent draws: all pass
    run.lp = rng.normal(size=(4, 400))

    def full(first=0):
        diag = target_diagnostics(run, first)
        return bool(np.all(diag["rhat"] <= 1.05) and np.all(diag["ess_bulk"] >= 400))

    assert _meets_targets(run, 0) is full() is True
    run.draws[0, :, 7] += 0.2  # chain 0 elsewhere in parameter 7: R-hat fails there only
    calls = []
    real = calibration.rhat
    monkeypatch.setattr(calibration, "rhat", lambda x: calls.append(1) or real(x))
    assert _meets_targets(run, 0) is full() is False
    assert run.last_failed == 7 and len(calls) == 8  # 0..6 pass, 7 fails, the rest untested
    calls.clear()
    assert _meets_targets(run, 200) is full(200) is False
    assert len(calls) == 1  # the last failure is tested first


# ---------------------------------------------------------------- max_burn_in


def test_still_rising_compares_the_last_three_windows_with_the_three_before():
    from mdf.calibration import still_rising

    assert still_rising([-50.0, -40.0, -30.0, -20.0, -10.0])  # fewer than 6: cannot tell
    assert still_rising([-30.0, -30.0, -30.0, -27.0, -27.0, -27.0])  # +3
    assert not still_rising([-30.0, -30.0, -30.0, -28.5, -28.5, -28.5])  # +1.5
    assert not still_rising([-30.0, -30.0, -30.0, -31.0, -35.0, -33.0])  # falling
    # only the last six count
    assert not still_rising([-90.0, -60.0, -30.0, -30.0, -30.0, -30.0, -30.0, -30.0])
    assert still_rising([-1.0, -1.0, -1.0, 2.0, 2.0, 2.0], tol=2.5)
    assert not still_rising([-1.0, -1.0, -1.0, 2.0, 2.0, 2.0], tol=3.5)


def test_max_burn_in_below_burn_in_is_refused(pixel):
    with pytest.raises(ValueError, match=r"max_burn_in \(3000\) must be 0 .* burn_in \(4000\)"):
        mdf.calibrate(pixel, "400", seed=1, threads=1, **{**SHORT, "max_burn_in": 3000})


def test_fixed_burn_in_by_default(result):
    assert result.burn_in_iterations == SHORT["burn_in"]
    assert result.sampling_iterations == SHORT["iterations"]
    assert result._run.window_lp.size == 0


EXTEND = {**SHORT, "max_burn_in": 40_000}


@pytest.fixture(scope="module")
def extended(pixel):
    # no warm start: the chains climb from their EDC starts for tens of thousands of
    # iterations, far past burn_in
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        return mdf.calibrate(pixel, "400", seed=7, threads=1, **EXTEND)


def test_burn_in_goes_on_while_log_p_rises(extended, tmp_path):
    from mdf.calibration import still_rising

    run = extended._run
    n = extended.burn_in_iterations
    assert SHORT["burn_in"] < n <= EXTEND["max_burn_in"]
    assert n % SHORT["block"] == 0
    # one median per 2000-iteration window, and each decision followed the rule: every
    # window past burn_in but the last said "still rising"; the last did not, or hit the cap
    w = run.window_lp
    assert w.size == n // SHORT["block"]
    first = SHORT["burn_in"] // SHORT["block"]
    assert all(still_rising(w[:k]) for k in range(first, w.size))
    assert n == EXTEND["max_burn_in"] or not still_rising(w)
    assert w[-1] > w[0] + 10  # it was a climb
    # the median of each window is the median of the states it kept (20 per chain): the
    # last window's states are the chains' states then
    assert np.all(run.state["lp"].ravel() <= w.max() + 50)
    path = tmp_path / "r.nc"
    extended.to_netcdf(path)
    with xr.open_dataset(path) as root:
        assert root.attrs["burn_in_iterations"] == n
        assert root.attrs["setting_max_burn_in"] == EXTEND["max_burn_in"]
        assert root.attrs["sampling_iterations"] == SHORT["iterations"]


def test_extended_burn_in_resumes_and_extends_identically(tmp_path, pixel, extended):
    ckpt = tmp_path / "run.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        first = mdf.calibrate(pixel, "400", seed=7, threads=2, checkpoint=ckpt,
                              checkpoint_every=0, **EXTEND)
        longer = mdf.calibrate(pixel, "400", seed=7, threads=1, checkpoint=ckpt,
                               **{**EXTEND, "iterations": 4000})
        straight = mdf.calibrate(pixel, "400", seed=7, threads=1,
                                 **{**EXTEND, "iterations": 4000})
    np.testing.assert_array_equal(first.parameters, extended.parameters)
    # the checkpoint remembers that burn-in ended: the new call only samples on
    assert longer.burn_in_iterations == extended.burn_in_iterations
    np.testing.assert_array_equal(longer.parameters[:, :100], first.parameters)
    np.testing.assert_array_equal(longer.parameters, straight.parameters)


@pytest.mark.parametrize("name", ["demcz", "am", "cardamom", "emcee"])
def test_burn_in_thinning_does_not_change_the_chains(pixel, name):
    """max_burn_in reads 20 states of each burn-in window instead of one; the chains must
    be the same."""
    from mdf.rng import chain_states
    from mdf.samplers import get_sampler
    from mdf.start import find_start

    problem = mdf.Problem(pixel, "400")
    rng = chain_states(3, 2)
    x0, lp0, _ = find_start(problem, rng, threads=1)
    ends = []
    for thin in (2000, 100):
        sampler = get_sampler(name)
        state = sampler.init_state(problem, x0, lp0, rng.copy())
        _, lp = sampler.run_block(problem, state, 2000, thin, True, 1)
        assert lp.shape[1] == 2000 // thin
        ends.append((lp, state))
    (lp1, s1), (lp20, s20) = ends
    np.testing.assert_array_equal(lp1[:, 0], lp20[:, -1])
    assert s1.keys() == s20.keys()
    for k in s1:
        a, b = s1[k], s20[k]
        if k == "Z":  # DE-MCz's archive: rows past n_z are unused capacity
            a, b = a[:int(s1["n_z"][0])], b[:int(s20["n_z"][0])]
        np.testing.assert_array_equal(a, b, err_msg=k)


def test_checkpoint_written_before_max_burn_in_existed_still_resumes(tmp_path, pixel):
    ckpt = tmp_path / "run.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        mdf.calibrate(pixel, "400", seed=9, threads=1, checkpoint=ckpt, **SHORT)
        # as the earlier version wrote it: no max_burn_in setting, five progress counters,
        # no window medians
        with np.load(ckpt) as z:
            arrays = dict(z)
        settings = str(arrays["settings"])
        assert "'max_burn_in': 0, " in settings
        arrays["settings"] = np.array(settings.replace("'max_burn_in': 0, ", ""))
        arrays["done"] = arrays["done"][:5]
        del arrays["window_lp"]
        np.savez(ckpt, **arrays)
        longer = mdf.calibrate(pixel, "400", seed=9, threads=1, checkpoint=ckpt,
                               **{**SHORT, "iterations": 4000})
        straight = mdf.calibrate(pixel, "400", seed=9, threads=1,
                                 **{**SHORT, "iterations": 4000})
    assert longer.burn_in_iterations == SHORT["burn_in"]
    np.testing.assert_array_equal(longer.parameters, straight.parameters)


@pytest.mark.slow
def test_calibrate_dalec_1005_on_a_fluxval_netcdf_cbf():
    """A short 1005 run on the bundled FluxVal FI-Hyy file as CARDAMOM v3 read it: it starts,
    samples EDC-valid points and records their log-posterior (~20 s, mostly the start
    search)."""
    nc = ROOT / "tests" / "data" / "reference_jpl" / "dalec1005_FI-Hyy" / "input.cbf.nc"
    pixel = drivers.read(nc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdf.ConvergenceWarning)
        result = mdf.calibrate(pixel, "1005", chains=2, burn_in=2000, iterations=2000,
                               draws=20, warm_start=False, seed=3, threads=1)
    assert result.parameters.shape[0] == 2 and result.parameters.shape[2] == 37
    lo, hi = result.model.bounds.T
    assert np.all(result.parameters >= lo) and np.all(result.parameters <= hi)
    assert np.all(np.isfinite(result.log_posterior))
    again = mdf.log_posterior(pixel, "1005", result.parameters[1, -1])["total"]
    assert again == pytest.approx(result.log_posterior[1, -1], rel=1e-9)
    report = mdf.edc_report(pixel, "1005", result.parameters[0, 0])
    assert all(report.values())
