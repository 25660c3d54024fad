"""``starts=``: more independent start searches than chains; the best become the chains."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import drivers
import mdf
from mdf.optimise import climb
from mdf.posterior import Problem
from mdf.rng import chain_states
from mdf.start import find_start

pytestmark = [pytest.mark.filterwarnings("ignore:model 400 cannot simulate")]
SHORT = dict(chains=2, burn_in=2000, iterations=1000, thin=100, draws=5, seed=3,
             warm_start_evals=None)


@pytest.fixture(scope="module")
def fi_hyy():
    return drivers.read(drivers.data_path("flux_site_76.cbf"))


def _calibrate(pixel, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mdf.calibrate(pixel, "400", **{k: v for k, v in {**SHORT, **kw}.items()
                                              if v is not None})


def test_as_many_starts_as_chains_changes_nothing(fi_hyy):
    plain = _calibrate(fi_hyy, threads=1, warm_start=False)
    same = _calibrate(fi_hyy, threads=1, warm_start=False, starts=2)
    np.testing.assert_array_equal(same.parameters, plain.parameters)


def test_the_chains_are_the_best_searches_after_the_climb(fi_hyy):
    result = _calibrate(fi_hyy, threads=1, starts=5)
    problem = Problem(fi_hyy, "400")
    rng = chain_states(3, 5)
    x0, lp0, used = find_start(problem, rng, max_iter=100_000)
    climb(problem, x0, lp0, rng, max_evals=60_000)
    best = np.sort(np.argsort(-lp0)[:2])
    assert lp0[best].min() >= np.delete(lp0, best).max()
    np.testing.assert_array_equal(result._run.start_iterations, used[best])
    assert result.settings.starts == 5
    again = _calibrate(fi_hyy, threads=2, starts=5)
    np.testing.assert_array_equal(again.parameters, result.parameters)
