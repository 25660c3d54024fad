"""Chains that settle in separate regions are found (mdf.diagnostics.chain_groups) and said so:
a warning, the result file's attributes, the merged product and its summary."""

from __future__ import annotations

import math
import shutil
import warnings
from dataclasses import replace

import netCDF4
import numpy as np
import pytest
import xarray as xr
from numba import njit

import drivers
import mdf
from mdf.diagnostics import chain_groups
from mdf.merge import merge
from mdf.rng import chain_states
from mdf.runfolder import RunFolder
from mdf.samplers.demcz import DEMCz
from tests.mdf.test_batch import TINY, run, sites  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.filterwarnings("ignore:model 400 cannot simulate")]


def test_planted_modes_are_grouped_and_a_slow_drift_is_not(rng):
    x = rng.normal(size=(4, 400, 5))
    assert chain_groups(x) == [[0, 1, 2, 3]]
    modes = x.copy()
    modes[2:, :, 3] += 8.0
    assert chain_groups(modes) == [[0, 1], [2, 3]]
    drift = x + np.linspace(0.0, 1.0, 4)[:, None, None]  # medians a standard deviation apart
    assert chain_groups(drift) == [[0, 1, 2, 3]]
    stuck = x.copy()
    stuck[1] = 10.0  # a chain stuck far from the others
    assert chain_groups(stuck) == [[0, 2, 3], [1]]
    assert chain_groups(modes[[2, 0, 3, 1]]) == [[0, 2], [1, 3]]


@njit(nogil=True)
def _two_modes(x, ctx, scratch):
    """Two narrow Gaussians at (0.25, ...) and (0.75, ...), sd 0.01, in the unit box."""
    for i in range(x.shape[0]):
        if not (0.0 <= x[i] <= 1.0):
            return -math.inf
    a = b = 0.0
    for i in range(x.shape[0]):
        a += (x[i] - 0.25) ** 2
        b += (x[i] - 0.75) ** 2
    return math.log(math.exp(-0.5 * a / 1e-4) + math.exp(-0.5 * b / 1e-4))


class _TwoModes:
    _log_posterior = staticmethod(_two_modes)
    ctx = ()
    space = type("S", (), {"ndim": 10})()

    def scratch(self):
        return ()


def test_demcz_chains_started_in_two_modes_are_reported_as_two_groups():
    problem = _TwoModes()
    # ten dimensions: DE's difference of states from the two modes, times 2.38/√20, lands
    # between them, so the chains stay where they started
    x0 = np.repeat([0.25, 0.25, 0.75, 0.75], 10).reshape(4, 10)
    x0 += np.random.default_rng(0).normal(0.0, 0.005, x0.shape)
    lp0 = np.array([_two_modes(x, (), ()) for x in x0])
    sampler = DEMCz(p_unit=0.0, p_snooker=0.0, initial_sd=0.005)
    state = sampler.init_state(problem, x0, lp0, chain_states(1, 4))
    sampler.run_block(problem, state, 4000, 4000, True, 1)
    draws, lp = sampler.run_block(problem, state, 4000, 10, False, 1)
    assert chain_groups(np.concatenate([draws, lp[..., None]], axis=2)) == [[0, 1], [2, 3]]


@pytest.fixture(scope="module")
def short_result():
    pixel = drivers.read(drivers.data_path("flux_site_76.cbf"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mdf.calibrate(pixel, "400", seed=3, threads=1, **TINY)


def test_a_result_whose_chains_are_apart_warns_and_records_it(short_result):
    assert sorted(sum(short_result.chain_groups, [])) == [0, 1]
    apart = replace(short_result, chain_groups=[[1], [0]])
    with pytest.warns(mdf.ConvergenceWarning, match=r"2 separate regions \(1 \| 0\)"):
        apart.check_convergence()
    attrs = apart.to_datatree().attrs
    assert attrs["n_chain_groups"] == 2 and attrs["chain_groups"] == "1 | 0"
    together = replace(short_result, chain_groups=[[0, 1]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        together.check_convergence()
    assert not any("separate regions" in str(w.message) for w in caught)
    assert together.to_datatree().attrs["n_chain_groups"] == 1


def test_merge_maps_and_counts_pixels_with_chains_apart(run, tmp_path):  # noqa: F811
    path, _ = run
    copy = tmp_path / "run"
    shutil.copytree(path, copy)
    folder = RunFolder(copy)
    with netCDF4.Dataset(folder.result_path("hyy_3"), "a") as nc:
        nc.setncattr("n_chain_groups", np.int64(3))
    written = []
    for pid in ("hyy_1", "hyy_2", "hyy_3"):
        with netCDF4.Dataset(folder.result_path(pid)) as nc:
            written.append(int(nc.getncattr("n_chain_groups")))
    assert written[2] == 3
    summary = merge(copy, tmp_path / "p.nc")
    assert summary["separate_regions"] == sum(n > 1 for n in written)
    with xr.open_dataset(tmp_path / "p.nc") as ds:
        assert list(ds["chain_groups"].values) == written
        assert ds.attrs["n_chains_in_separate_regions"] == summary["separate_regions"]


def test_status_lists_each_done_pixel_with_its_verdict_and_chain_groups(run, tmp_path,  # noqa: F811
                                                                      capsys):
    from mdf.cli import main

    path, _ = run
    copy = tmp_path / "run"
    shutil.copytree(path, copy)
    with netCDF4.Dataset(RunFolder(copy).result_path("hyy_2"), "a") as nc:
        nc.setncattr("n_chain_groups", np.int64(2))
        nc.setncattr("chain_groups", "0 | 1")
    assert main(["status", str(copy), "--list", "done"]) == 0
    lines = {line.split()[1]: line for line in capsys.readouterr().out.splitlines()
             if line.startswith("done")}
    assert set(lines) == {"hyy_1", "hyy_2", "hyy_3"}
    assert all("not converged" in line for line in lines.values())  # CI-sized chains
    assert "chains in 2 separate regions (0 | 1)" in lines["hyy_2"]


def test_cardamom_psrf_is_the_classic_psrf_of_the_last_tenth(rng):
    from mdf.diagnostics import cardamom_psrf

    lp = rng.normal(size=(3, 200))
    lp[1, 150:] += 0.5  # only the last 10 % (draws 180-199) counts
    tail = lp[:, 180:]
    n = tail.shape[1]
    w = tail.var(axis=1, ddof=1).mean()
    b = n * tail.mean(axis=1).var(ddof=1)
    assert cardamom_psrf(lp) == pytest.approx(np.sqrt(((n - 1) / n * w + b / n) / w), rel=1e-12)
    lp[1, 180:] += 5.0
    assert cardamom_psrf(lp) > 1.2


def test_results_and_the_product_carry_cardamoms_test(short_result, run, tmp_path):  # noqa: F811
    from mdf.diagnostics import cardamom_psrf

    attrs = short_result.to_datatree().attrs
    np.testing.assert_equal(attrs["cardamom_psrf"], cardamom_psrf(short_result.log_posterior))
    path, _ = run
    summary = merge(path, tmp_path / "p.nc")
    psrfs = []
    for pid in ("hyy_1", "hyy_2", "hyy_3"):
        with netCDF4.Dataset(RunFolder(path).result_path(pid)) as nc:
            psrfs.append(float(nc.getncattr("cardamom_psrf")))
    with xr.open_dataset(tmp_path / "p.nc") as ds:
        np.testing.assert_allclose(ds["cardamom_psrf"].values, psrfs, rtol=1e-6)
    assert summary["cardamom_passed"] == sum(p < 1.2 for p in psrfs)
