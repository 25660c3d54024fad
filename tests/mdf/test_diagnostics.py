"""R-hat and ESS behave as theory says on chains with known properties."""

from __future__ import annotations

import numpy as np
import pytest

from mdf.diagnostics import ess_bulk, ess_tail, psrf, rhat


def ar1(rng, phi, shape):
    x = np.empty(shape)
    x[:, 0] = rng.standard_normal(shape[0]) / np.sqrt(1 - phi**2)
    for t in range(1, shape[1]):
        x[:, t] = phi * x[:, t - 1] + rng.standard_normal(shape[0])
    return x


def test_independent_draws(rng):
    x = rng.standard_normal((4, 2000))
    assert rhat(x) == pytest.approx(1.0, abs=0.01)
    assert 0.85 * x.size < ess_bulk(x) < 1.15 * x.size
    assert 0.7 * x.size < ess_tail(x) < 1.3 * x.size


def test_ar1_ess_matches_integrated_autocorrelation_time(rng):
    phi = 0.9
    x = ar1(rng, phi, (4, 20000))
    tau = (1 + phi) / (1 - phi)  # integrated autocorrelation time of AR(1)
    assert ess_bulk(x) == pytest.approx(x.size / tau, rel=0.2)


def test_chains_in_different_places_are_flagged(rng):
    x = rng.standard_normal((4, 1000)) + np.array([0, 0, 0, 1.0])[:, None]
    assert rhat(x) > 1.05
    assert psrf(x) > 1.05
    # a scale difference only the folded (tail) R-hat sees
    y = rng.standard_normal((4, 1000)) * np.array([1, 1, 1, 3.0])[:, None]
    assert rhat(y) > 1.05 > psrf(y)


def test_trend_within_chains_is_flagged_by_splitting(rng):
    x = rng.standard_normal((4, 1000)) + np.linspace(-1, 1, 1000)
    assert rhat(x) > 1.1
    assert psrf(x) < 1.05  # the classic PSRF misses it


def test_matches_arviz_when_installed(rng):
    az = pytest.importorskip("arviz")
    x = ar1(rng, 0.7, (4, 500))
    assert rhat(x) == pytest.approx(float(az.rhat(x)), rel=1e-10)
    assert ess_bulk(x) == pytest.approx(float(az.ess(x, method="bulk")), rel=1e-8)
    assert ess_tail(x) == pytest.approx(float(az.ess(x, method="tail")), rel=1e-8)
