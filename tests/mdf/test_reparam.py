"""The steady-state reparameterisation (``reparam="steady_state"``) is an exact shear: the
samplers see the same posterior at the mapped point, the map has unit Jacobian and is
inverted to rounding, and results come back in model units."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import drivers
import mdf
from mdf.posterior import Problem
from mdf.reparam import ReparameterisedSpace, reparameterise
from mdf.rng import chain_states
from mdf.start import find_start


@pytest.fixture(scope="module")
def fi_hyy():
    return drivers.read(drivers.data_path("flux_site_76.cbf"))


@pytest.fixture(scope="module")
def problems(fi_hyy):
    base = Problem(fi_hyy, "400")
    return base, reparameterise(base, "steady_state")


@pytest.fixture(scope="module")
def feasible(problems):
    """EDC-consistent points of the sheared coordinates and jittered copies of them."""
    _, rp = problems
    v0, lp0, _ = find_start(rp, chain_states(3, 4), max_iter=20_000)
    assert np.all(np.isfinite(lp0))
    rng = np.random.default_rng(5)
    jitter = v0[rng.integers(0, 4, 60)] + rng.normal(0.0, 0.003, (60, v0.shape[1]))
    return np.vstack([v0, jitter])


def test_only_the_initial_pools_move_and_by_their_steady_state(problems, rng):
    base, rp = problems
    v = rng.uniform(size=(50, base.space.ndim))
    x = rp.space.x_of(v)
    np.testing.assert_array_equal(x[:, :17], v[:, :17])
    # the shift of a pool is a function of the rates alone: moving a pool leaves the others
    w = v.copy()
    w[:, 20] += 0.1
    expected = np.broadcast_to(np.where(np.arange(23) == 20, 0.1, 0.0), x.shape)
    np.testing.assert_allclose(rp.space.x_of(w) - x, expected, atol=1e-14)
    # wood: x shifts by ln(f_wood'/t_wood) over its span; halving t_wood (in model units)
    # raises the initial wood pool for the same v by exactly ln 2 / span
    pars = base.space.from_normalised(v)
    half = pars.copy()
    half[:, 5] /= 2
    vh = v.copy()
    vh[:, 5] = base.space.to_normalised(half)[:, 5]
    shift = (rp.space.x_of(vh)[:, 20] - x[:, 20]) * base.space.span[20]
    np.testing.assert_allclose(shift, np.log(2.0), rtol=1e-12)


def test_the_map_is_inverted_to_rounding_and_has_unit_jacobian(problems, rng):
    base, rp = problems
    v = rng.uniform(0.05, 0.95, size=(40, base.space.ndim))
    assert np.abs(rp.space.v_of(rp.space.x_of(v)) - v).max() < 1e-14
    pars = rp.space.from_normalised(v)
    np.testing.assert_allclose(rp.space.to_normalised(pars), v, atol=1e-13)
    h = 1e-6
    for point in v[:5]:
        jac = np.empty((v.shape[1], v.shape[1]))
        for i in range(v.shape[1]):
            e = np.zeros(v.shape[1])
            e[i] = h
            jac[:, i] = (rp.space.x_of(point + e) - rp.space.x_of(point - e)) / (2 * h)
        assert abs(np.linalg.det(jac) - 1.0) < 1e-7


def test_log_posterior_is_the_plain_one_at_the_sheared_point(problems, feasible):
    base, rp = problems
    x = rp.space.x_of(feasible)
    s, sb = rp.scratch(), base.scratch()
    lp_v = np.array([rp._log_posterior(v, rp.ctx, s) for v in feasible])
    lp_x = np.array([base._log_posterior(xi, base.ctx, sb) for xi in x])
    assert np.isfinite(lp_x).sum() >= 10 and np.isinf(lp_x).sum() >= 1
    np.testing.assert_array_equal(lp_v, lp_x)
    # the four-at-once form, every group size, bit for bit
    scratches = [rp.scratch() for _ in range(4)]
    out = np.empty(4)
    for k in (1, 2, 3, 4):
        for start in range(0, 20, 4):
            pts = [feasible[start + min(i, k - 1)] for i in range(4)]
            rp._log_posterior_group(*pts, k, rp.ctx, *scratches, out)
            np.testing.assert_array_equal(out[:k], lp_x[start:start + k])


def test_calibration_reports_model_units_whose_log_posterior_was_sampled(fi_hyy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mdf.calibrate(fi_hyy, "400", chains=2, burn_in=2000, iterations=2000, thin=100,
                               warm_start=False, draws=10, seed=4, threads=1,
                               reparam="steady_state")
    pars = result.parameters.reshape(-1, result.parameters.shape[-1])
    lo, hi = result.model.bounds[:, 0], result.model.bounds[:, 1]
    assert np.all((pars >= lo) & (pars <= hi))
    lp = result.log_posterior.ravel()
    plain = Problem(fi_hyy, "400")
    for k in range(0, pars.shape[0], 7):
        assert plain.terms(pars[k])["total"] == pytest.approx(lp[k], rel=1e-12, abs=1e-12)
    assert result.settings.reparam == "steady_state"


def test_same_chains_on_one_and_two_threads(fi_hyy):
    runs = []
    for threads in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = mdf.calibrate(fi_hyy, "400", chains=4, burn_in=2000, iterations=1000, thin=100,
                              warm_start=False, draws=5, seed=8, threads=threads,
                              reparam="steady_state")
        runs.append(r.parameters)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_models_without_the_jpl_layout_and_unknown_names_are_refused(problems):
    base, _ = problems
    with pytest.raises(ValueError, match="unknown reparam 'pools'"):
        reparameterise(base, "pools")
    with pytest.raises(ValueError, match="defined for DALEC 400"):
        reparameterise(SimpleNamespace(model=SimpleNamespace(name="C1")), "steady_state")
    assert isinstance(reparameterise(base, "steady_state").space, ReparameterisedSpace)
    assert reparameterise(base, "none") is base


@pytest.fixture(scope="module")
def phased(fi_hyy):
    return reparameterise(Problem(fi_hyy, "400"), "steady_state+phases")


def test_phases_sample_the_posterior_modulo_a_year(fi_hyy, problems, feasible):
    """Along a phase, exp(lp_v) is the plain density summed over the three year copies:
    lp_v(v) - log Σ_k p(day + k·P) is the same constant at every day (p the density of the
    day in model units, the plain log P minus ln(day·span)). Without EDCs, so that every day
    of the year is a finite point."""
    _, rp = problems
    base = Problem(fi_hyy, "400", edc=False)
    phased = reparameterise(base, "phases")
    period = 365.25
    span = base.space.span
    for i in (11, 14):
        for v in feasible[:4]:
            x = rp.space.x_of(v)
            diffs = []
            for w in np.linspace(0.0, 0.99, 12):
                day = period * (1.0 + w)
                lps = []
                for k in range(3):
                    xk = x.copy()
                    xk[i] = np.log((day + k * period) / base.space.lo[i]) / span[i]
                    lps.append(base.log_posterior_x(xk) - np.log((day + k * period) * span[i]))
                lps = np.array(lps)
                if not np.all(np.isfinite(lps)):
                    assert np.all(np.isinf(lps))  # the model sees the day modulo a year
                    continue
                # the model depends on the day modulo a year, to the reference's π = 3.1415927
                # (a year shifts sin's argument by that, not by π: log P moves by ~1e-8
                # relative); the copies differ by the prior alone
                np.testing.assert_allclose(lps + np.log(day + np.arange(3) * period),
                                           lps[0] + np.log(day), rtol=1e-7)
                vv = phased.space.v_of(x[None])[0]
                vv[i] = (w - phased.space.offsets[[11, 14].index(i)]) % 1.0
                diffs.append(phased.log_posterior_x(vv) - np.logaddexp.reduce(lps))
            assert len(diffs) == 12
            # a wrong copy weight would move this by ~0.1 over the year
            np.testing.assert_allclose(diffs, diffs[0], atol=1e-4)


def test_phases_come_back_in_the_first_year_and_the_cut_moves_away_from_the_mass(phased, rng):
    space = phased.space
    v = rng.uniform(size=(30, space.ndim))
    assert np.abs(space.v_of(space.x_of(v)) - v).max() < 1e-12
    pars = space.from_normalised(v)
    assert np.all((pars[:, [11, 14]] >= 365.25) & (pars[:, [11, 14]] < 730.5))
    # every copy of a day maps to the same v
    later = pars.copy()
    later[:, 11] += 365.25
    later[:, 14] += 730.5
    np.testing.assert_allclose(space.to_normalised(later), space.to_normalised(pars), atol=1e-12)
    # starts straddling the cut (days 355-375 of the year) end up in one piece around v = 0.5
    starts = v[:4].copy()
    starts[:, 11] = [0.97, 0.99, 0.01, 0.03]
    before = space.x_of(starts)
    moved = space.recentre(starts)
    try:
        np.testing.assert_allclose(space.x_of(moved), before, atol=1e-12)
        assert np.all(np.abs(moved[:, 11] - 0.5) < 0.05)
    finally:
        space.offsets[:] = 0.0


def test_resumed_run_with_circular_phases_gives_the_same_chains(fi_hyy, tmp_path):
    kw = dict(chains=2, burn_in=2000, thin=100, warm_start=False, draws=5, seed=2, threads=1,
              reparam="steady_state+phases")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = mdf.calibrate(fi_hyy, "400", iterations=2000, **kw)
        mdf.calibrate(fi_hyy, "400", iterations=1000, checkpoint=tmp_path / "c.npz",
                      checkpoint_every=0, **kw)
        resumed = mdf.calibrate(fi_hyy, "400", iterations=2000, checkpoint=tmp_path / "c.npz",
                                checkpoint_every=0, **kw)
    np.testing.assert_array_equal(resumed.parameters, whole.parameters)
    assert np.all(whole.parameters[..., [11, 14]] < 730.5)
