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


def _stan_ess(x):
    """Stan's ESS (``compute_effective_sample_size``, Geyer's initial positive and monotone
    sequences), written out loop by loop for comparison, autocovariances directly."""
    m, n = x.shape
    xc = x - x.mean(axis=1, keepdims=True)
    acov = np.array([[np.dot(xc[c, : n - t], xc[c, t:]) / n for t in range(n)]
                     for c in range(m)])
    mean_var = acov[:, 0].mean() * n / (n - 1)
    var_plus = mean_var * (n - 1) / n + np.var(x.mean(axis=1), ddof=1)
    rho = [0.0] * n
    rho[0] = 1.0
    even, odd = 1.0, 1.0 - (mean_var - acov[:, 1].mean()) / var_plus
    rho[1] = odd
    t = 1
    while t < n - 3 and even + odd > 0:
        even = 1.0 - (mean_var - acov[:, t + 1].mean()) / var_plus
        odd = 1.0 - (mean_var - acov[:, t + 2].mean()) / var_plus
        if even + odd >= 0:
            rho[t + 1], rho[t + 2] = even, odd
        t += 2
    max_t = t - 2
    if even > 0:
        rho[max_t + 1] = even
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2
        t += 2
    tau = -1 + 2 * sum(rho[: max_t + 1]) + rho[max_t + 1]
    return m * n / max(tau, 1 / np.log10(m * n))


@pytest.mark.parametrize("phi", [0.0, -0.3, 0.5, 0.95])
def test_ess_is_stans_and_does_not_depend_on_leftover_memory(rng, phi):
    """The lag after Geyer's positive sequence counts 0 when its even term is not positive
    (white or anti-correlated draws end there); an unset entry once let whatever memory the
    array reused enter tau, so the same draws gave ESS anywhere from 77 to 1,400."""
    from mdf.diagnostics import ess

    x = ar1(rng, phi, (4, 300))
    want = _stan_ess(x)
    got = []
    for junk in (0.0, 1e6, -1e6, 3.0):
        for size in (300, 301, 600):
            leftover = np.full(size, junk)  # freed just before ess allocates its buffers
            del leftover
            got.append(ess(x))
    assert got == [got[0]] * len(got)
    assert got[0] == pytest.approx(want, rel=1e-9)
