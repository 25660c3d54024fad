"""The kernels follow the C models' IEEE arithmetic: 0/0 is NaN, not an exception.

CARDAMOM's C divides freely; where a denominator reaches zero the run goes NaN and the
log-likelihood rejects the point. Numba's default (Python) error model raised
ZeroDivisionError there instead, and one such proposal during the start search failed whole
FluxVal pixels (sites 72, 106 and 108 with DALEC 400).
"""

from __future__ import annotations

import numpy as np
import pytest

import dalec
from tests.dalec.reference import load_case


def dark_pixel_without_leaves(name):
    """ACM's ``e0 I pd / (e0 I + pd)`` at LAI 0 and no light: C_fol,0 = 0, SW = 0 and a CO2
    (400 ppm) at which C_i equals C_a exactly, so both terms of the denominator are 0."""
    pixel, _, _, _ = load_case("dalec809")
    pixel = pixel.copy()
    pixel["swrad"] = pixel["swrad"] * 0.0
    pixel["co2"] = pixel["co2"] * 0.0 + 400.0
    model = dalec.get_model(name)
    pars = np.sqrt(model.bounds[:, 0] * model.bounds[:, 1])
    pars[model.parameter_names.index("c_foliar_0")] = 0.0
    return model, pixel, pars


@pytest.mark.parametrize("name", ["400", "811", "1005"])
def test_zero_over_zero_in_acm_is_nan_as_in_c(name):
    model, pixel, pars = dark_pixel_without_leaves(name)
    one = dalec.run(model, pixel, pars)  # the single-run kernel
    many = dalec.run(model, pixel, np.stack([pars, pars]))  # the ensemble kernel
    assert np.isnan(one["gpp"].values[0])
    np.testing.assert_array_equal(many["gpp"].values[1], one["gpp"].values)
