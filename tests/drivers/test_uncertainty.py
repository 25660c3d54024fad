"""Uncertainty policies are explicit, recorded, swappable and reproducible."""

from __future__ import annotations

import numpy as np
import pytest

import drivers
from drivers.options import get_obs_options
from drivers.uncertainty import (
    EDINBURGH_STREAM_RULES,
    EdinburghRules,
    FireRule,
    JPLDefaults,
    StreamRule,
    policy_from_description,
    step_uncertainty,
)

FI_HYY = drivers.data_path("fi-hyy")


@pytest.fixture(scope="module")
def raw():
    return drivers.read(FI_HYY, policy=None)


def test_policy_none_keeps_the_product_uncertainties(raw):
    header = open(FI_HYY / "FI-Hyy_timeseries_obs.csv").readline().strip().replace('"', "")
    cols = header.split(",")
    table = np.genfromtxt(FI_HYY / "FI-Hyy_timeseries_obs.csv", delimiter=",", skip_header=1)
    u = table[:, cols.index("GPP_unc_gCm2day")]
    np.testing.assert_array_equal(raw["gpp_obs_unc"].values, np.where(u == -9999, np.nan, u))
    assert "uncertainty_policy" not in raw.attrs


def test_switching_policies_starts_from_the_same_product_numbers(raw):
    edinburgh = EdinburghRules().apply(raw)
    jpl = JPLDefaults().apply(edinburgh)
    again = EdinburghRules().apply(jpl)
    for stream in ("lai", "nee", "et", "gpp"):
        np.testing.assert_array_equal(
            again[f"{stream}_obs_unc"].values, edinburgh[f"{stream}_obs_unc"].values
        )
    assert jpl.attrs["uncertainty_policy"] == "jpl"
    assert get_obs_options(jpl, "gpp").error_type == "lognormal"
    assert get_obs_options(jpl, "gpp").unc == 2.0
    assert "gpp_obs_unc" not in jpl  # a standard deviation is not a log-normal factor
    ok = np.isfinite(raw["nee_obs"].values)
    np.testing.assert_array_equal(jpl["nee_obs_unc"].values[ok], raw["nee_obs_unc"].values[ok])
    assert np.isnan(jpl["nee_obs_unc"].values[~ok]).all()
    assert get_obs_options(edinburgh, "lai").error_type == "gaussian"


def test_edinburgh_rule_formula_against_hand_computation(raw):
    obs = raw["et_obs"].values
    u = raw["et_obs_unc"].values
    ok = np.isfinite(obs)
    expected = np.maximum(1.0, np.sqrt(u[ok] ** 2 + (0.1 * obs[ok].mean()) ** 2))
    np.testing.assert_allclose(
        EdinburghRules().apply(raw)["et_obs_unc"].values[ok], expected, rtol=1e-15
    )


def test_a_custom_rule_is_recorded_and_reproducible(raw):
    rules = dict(EDINBURGH_STREAM_RULES)
    rules["nee"] = StreamRule(0.58, relative_structural=0.0, absolute_structural=0.5)
    policy = EdinburghRules(rules=rules)
    a = policy.apply(raw)
    ok = np.isfinite(raw["nee_obs"].values)
    np.testing.assert_allclose(
        a["nee_obs_unc"].values[ok], np.sqrt(raw["nee_obs_unc"].values[ok] ** 2 + 0.25), rtol=1e-15
    )
    rebuilt = policy_from_description(a.attrs["uncertainty_policy"])
    b = rebuilt.apply(raw)
    np.testing.assert_array_equal(a["nee_obs_unc"].values, b["nee_obs_unc"].values)
    assert policy_from_description("edinburgh").describe() == "edinburgh"
    assert isinstance(drivers.get_policy("jpl"), JPLDefaults)


def test_fire_rule():
    obs = np.array([0.005, 0.02, 0.5, np.nan, 2.0])
    unc = np.array([0.1, 0.001, 0.3, 0.2, 5.0])
    sd = FireRule(0.1).final(obs, unc)
    mean = np.mean([0.02, 0.5, 2.0])  # values below 0.01 are dropped
    expected = [np.nan, max(0.1 * mean, 0.01), max(0.1 * mean, 0.3), np.nan, max(0.1 * mean, 2.0)]
    np.testing.assert_allclose(sd, expected)


def test_step_uncertainty_relative_and_structural():
    ds = drivers.make_pixel(
        np.arange(4.0),
        {"tmin": np.zeros(4)},
        10.0,
        obs={"gpp": np.array([2.0, 0.01, np.nan, 4.0])},
        obs_options={
            "gpp": drivers.ObsOptions(
                error_type="relative", unc=0.1, threshold=0.5, structural_unc=0.3
            )
        },
    )
    sd = step_uncertainty(ds, "gpp")
    expected = np.sqrt(np.array([0.2, 0.05, np.nan, 0.4]) ** 2 + 0.09)
    np.testing.assert_allclose(sd, expected)
