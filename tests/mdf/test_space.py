"""The normalised parameter space and circular phase parameters."""

from __future__ import annotations

import numpy as np
import pytest

import dalec
from mdf.diagnostics import rhat
from mdf.space import ParameterSpace


def test_round_trip_and_box():
    space = ParameterSpace(dalec.get_model("811"))
    lo, hi = space.lo, space.hi
    x = np.linspace(0, 1, 7)[:, None] * np.ones(space.ndim)
    pars = space.from_normalised(x)
    np.testing.assert_allclose(pars[0], lo)
    np.testing.assert_allclose(pars[-1], hi, rtol=1e-12)
    np.testing.assert_allclose(space.to_normalised(pars), x, atol=1e-12)
    # log-uniform: the normalised midpoint is the geometric mean
    np.testing.assert_allclose(pars[3], np.sqrt(lo * hi), rtol=1e-12)


def test_phase_straddling_new_year_is_one_piece(rng):
    space = ParameterSpace(dalec.get_model("400"))
    i = space.model.parameter_names.index("f_day")
    draws = np.tile(space.from_normalised(np.full(space.ndim, 0.5)), (4, 500, 1))
    # leaf fall around day 0 of the year, written in different 365.25-day periods per chain
    days = rng.normal(0, 5, (4, 500)) + np.array([365.25, 730.5, 365.25, 1095.75])[:, None]
    draws[:, :, i] = days
    wrapped = space.wrap_circular(draws)[:, :, i]
    assert np.ptp(wrapped) < 60
    assert np.std(wrapped) == pytest.approx(np.std(days - np.round(days / 365.25) * 365.25))
    assert rhat(wrapped) < 1.02
    naive = np.mod(days, 365.25)  # splits the posterior at the turn of the year
    assert np.std(naive) > 100 > 10 > np.std(wrapped)
