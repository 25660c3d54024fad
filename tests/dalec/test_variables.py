"""Every output variable of every model is in the variable registry with UDUNITS units."""

from __future__ import annotations

import re

import numpy as np
import pytest

import dalec
import drivers
from dalec.variables import VARIABLES


@pytest.mark.parametrize("name", dalec.list_models())
def test_model_outputs_are_registered(name):
    model = dalec.get_model(name)
    for var in (*model.pools, *model.fluxes, *model.drivers):
        assert var in VARIABLES, f"{name}: {var} is not in dalec.variables"
        attrs = VARIABLES[var]
        assert attrs.get("units") and attrs.get("long_name"), var


_TOKEN = re.compile(
    r"^(g|kg|m|mm|cm|d|s|h|a|degC|K|hPa|Pa|kPa|MJ|W|J|mol|umol|1|1e-6|percent|%)(-?[0-9]+)?$"
)


def test_registry_units_parse_as_udunits_style():
    # every units string is a product of "unit" / "unitN" tokens UDUNITS parses (no "gC",
    # no "/"), or a CF time unit
    for name, attrs in VARIABLES.items():
        units = attrs.get("units", "")
        if " since " in units:
            continue
        for token in units.split():
            assert _TOKEN.match(token), (name, units)


def test_run_output_carries_registry_attributes():
    pixel = drivers.read(drivers.data_path("flux_site_76.cbf"))
    model = dalec.get_model("811")
    lo, hi = model.bounds.T
    out = dalec.run(model, pixel, np.sqrt(lo * hi))
    for var in out.data_vars:
        if var == "parameters":
            continue
        assert out[var].attrs["units"] == VARIABLES[var]["units"], var
    assert "source" in out["nee"].attrs["comment"]
    assert out["gpp"].attrs["standard_name"] == (
        "gross_primary_productivity_of_biomass_expressed_as_carbon")
