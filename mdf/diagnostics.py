"""Convergence diagnostics: rank-normalised split R-hat, bulk and tail ESS, classic PSRF.

Implements Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021) for draws shaped
``(chain, draw)``; leaf module (numpy and scipy only).

References
----------
Vehtari, A. et al. (2021) Rank-normalization, folding, and localization: an improved R-hat for
assessing convergence of MCMC. Bayesian Anal. 16, 667-718. doi:10.1214/20-BA1221
Brooks, S. P. and Gelman, A. (1998) General methods for monitoring convergence of iterative
simulations. J. Comput. Graph. Stat. 7, 434-455. doi:10.1080/10618600.1998.10474787
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata


def _split(x: np.ndarray) -> np.ndarray:
    """(chain, draw) -> (2·chain, draw//2): each chain cut in halves (middle draw dropped)."""
    n = x.shape[1] // 2
    return np.concatenate([x[:, :n], x[:, -n:]], axis=0)


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Rank-normalise all draws together: Φ⁻¹((rank - 3/8)/(S + 1/4)), average ties."""
    ranks = rankdata(x, method="average").reshape(x.shape)
    return ndtri((ranks - 0.375) / (x.size + 0.25))


def _rhat_basic(x: np.ndarray) -> float:
    m, n = x.shape
    if n < 2 or not np.all(np.isfinite(x)):
        return np.nan
    w = np.mean(np.var(x, axis=1, ddof=1))
    b = n * np.var(np.mean(x, axis=1), ddof=1)
    if w == 0:
        return 1.0 if b == 0 else np.inf
    var_plus = (n - 1) / n * w + b / n
    return float(np.sqrt(var_plus / w))


def rhat(x) -> float:
    """Rank-normalised split R-hat (max of bulk and folded), Vehtari et al. (2021)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 4:
        return np.nan
    if np.ptp(x) == 0:
        return 1.0
    s = _split(x)
    bulk = _rhat_basic(_z_scale(s))
    folded = np.abs(s - np.median(s))
    tail = _rhat_basic(_z_scale(folded))
    return float(max(bulk, tail))


def psrf(x) -> float:
    """CARDAMOM's classic Gelman-Rubin PSRF (no splitting, no ranks), kept for comparison."""
    return _rhat_basic(np.asarray(x, dtype=np.float64))


def _autocov(x: np.ndarray) -> np.ndarray:
    """Autocovariance of each chain (rows) by FFT, biased estimator."""
    m, n = x.shape
    size = 2 ** int(np.ceil(np.log2(2 * n)))
    xc = x - x.mean(axis=1, keepdims=True)
    f = np.fft.rfft(xc, n=size, axis=1)
    ac = np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :n]
    return ac / n


def ess(x) -> float:
    """Effective sample size of draws (chain, draw) with Geyer's initial monotone sequence."""
    x = np.asarray(x, dtype=np.float64)
    m, n = x.shape
    if n < 4 or not np.all(np.isfinite(x)):
        return np.nan
    if np.ptp(x) == 0:
        return float(m * n)
    acov = _autocov(x)
    chain_mean = x.mean(axis=1)
    mean_var = np.mean(acov[:, 0]) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if m > 1:
        var_plus += np.var(chain_mean, ddof=1)
    # zeros: the lags the positive sequence does not reach count 0 (Stan, ArviZ); the first
    # lag past it, rho[max_t + 1], enters tau and is set only if its pair's even term is > 0
    rho = np.zeros(n)
    rho[0] = 1.0
    t = 1
    rho_even = 1.0
    rho_odd = 1.0 - (mean_var - np.mean(acov[:, 1])) / var_plus
    rho[1] = rho_odd
    while t < n - 3 and (rho_even + rho_odd) > 0:
        rho_even = 1.0 - (mean_var - np.mean(acov[:, t + 1])) / var_plus
        rho_odd = 1.0 - (mean_var - np.mean(acov[:, t + 2])) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1] = rho_even
            rho[t + 2] = rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    # initial monotone sequence
    for k in range(1, max_t // 2 + 1 if max_t > 1 else 1):
        i = 2 * k - 1
        if i + 2 > max_t + 1:
            break
        if rho[i + 1] + rho[i + 2] > rho[i - 1] + rho[i]:
            rho[i + 1] = (rho[i - 1] + rho[i]) / 2.0
            rho[i + 2] = rho[i + 1]
    tau = -1.0 + 2.0 * np.sum(rho[: max_t + 1]) + (rho[max_t + 1] if max_t + 1 < n else 0.0)
    tau = max(tau, 1.0 / np.log10(m * n))
    return float(m * n / tau)


def ess_bulk(x) -> float:
    """Bulk ESS: ESS of the rank-normalised split draws."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[1] < 4:
        return np.nan
    return ess(_z_scale(_split(x)))


def ess_tail(x) -> float:
    """Tail ESS: the smaller ESS of the 5 % and 95 % quantile indicators (split chains)."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[1] < 4:
        return np.nan
    s = _split(x)
    lo, hi = np.quantile(s, [0.05, 0.95])
    return float(min(ess((s <= lo).astype(float)), ess((s <= hi).astype(float))))


def summarise(draws: np.ndarray, names) -> dict[str, np.ndarray]:
    """R-hat, bulk/tail ESS and PSRF per variable of ``draws`` (chain, draw, variable)."""
    draws = np.asarray(draws, dtype=np.float64)
    k = draws.shape[2]
    out = {key: np.empty(k) for key in ("rhat", "ess_bulk", "ess_tail", "psrf")}
    for j in range(k):
        x = draws[:, :, j]
        out["rhat"][j] = rhat(x)
        out["ess_bulk"][j] = ess_bulk(x)
        out["ess_tail"][j] = ess_tail(x)
        out["psrf"][j] = psrf(x)
    out["names"] = list(names)
    return out


def cardamom_psrf(log_p) -> float:
    """CARDAMOM's convergence test statistic: the classic Gelman-Rubin PSRF of the
    log-probability over the last 10 % of each chain's kept draws.

    Edinburgh CARDAMOM accepts a run when it is below 1.2 (on the log-likelihood, after
    dropping chains until it passes); this library's targets are stricter (rank-normalised
    split R-hat <= 1.05 and bulk ESS >= 400 on every parameter and log P). Reported beside
    them so results can be set beside published CARDAMOM runs.

    Parameters
    ----------
    log_p : ndarray (chain, draw)

    Returns
    -------
    float
        NaN with fewer than two draws per chain in the last 10 %.
    """
    x = np.asarray(log_p, dtype=np.float64)
    tail = x[:, x.shape[1] - x.shape[1] // 10:]
    return psrf(tail) if tail.shape[1] >= 2 else float("nan")


def chain_groups(draws: np.ndarray, separation: float = 3.0) -> list[list[int]]:
    """Chains that sampled separate regions (modes, or places they never mixed between).

    Two chains are *apart* when, for some variable, their medians differ by more than
    ``separation`` times the larger of their robust standard deviations (interquartile range
    / 1.349): their central draws do not overlap. Chains are grouped by the chains they are
    not apart from (single linkage); a converged run is one group. R-hat flags such a run as
    unconverged too, but cannot say that the chains agree within groups and disagree between
    them, which is what a user needs to know before pooling the draws.

    Parameters
    ----------
    draws : ndarray (chain, draw, variable)
        Kept draws (phases wrapped; the log-posterior may be one of the variables).
    separation : float, default 3
        Distance between chain medians, in within-chain standard deviations, that counts as
        apart.

    Returns
    -------
    list of list of int
        Chain indices per group, largest group first (ties: lowest chain first).
    """
    x = np.asarray(draws, dtype=np.float64)
    c = x.shape[0]
    med = np.median(x, axis=1)
    q1, q3 = np.quantile(x, [0.25, 0.75], axis=1)
    sd = (q3 - q1) / 1.349
    parent = list(range(c))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a in range(c):
        for b in range(a + 1, c):
            scale = np.maximum(sd[a], sd[b])
            gap = np.abs(med[a] - med[b])
            with np.errstate(divide="ignore", invalid="ignore"):
                apart = np.any(np.where(scale > 0, gap > separation * scale, gap > 0))
            if not apart:
                parent[root(b)] = root(a)
    groups: dict[int, list[int]] = {}
    for i in range(c):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))
