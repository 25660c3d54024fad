"""The log-posterior and each of its terms match CARDAMOM v2.2's DALEC_MLF (reference/jpl)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import drivers
from mdf import log_posterior
from tests.dalec.reference import HERE, load_case

CBF = Path(__file__).resolve().parents[1] / "data" / "CARDAMOM_DATA_DRIVERS_EXAMPLE.cbf"


def reference_terms(case):
    rows = (HERE / case / "likelihood.csv").read_text().splitlines()[1:]
    return {k: float(v) for k, v in (r.split(",") for r in rows)}


@pytest.mark.parametrize("case,model", [("dalec400_fire", "400"), ("dalec809", "809")])
def test_terms_match_cardamom(case, model):
    # the reference ran the demo CBF's header settings (model 400: same file, 7 met columns)
    pixel = drivers.read(CBF)
    _, pars, _, _ = load_case(case)
    ref = reference_terms(case)
    got = log_posterior(pixel, model, pars)
    priors = sum(v for k, v in got.items() if k.startswith("prior_")) + got["initial_live_biomass"]
    other = got.get("mean_fire", 0.0) + got.get("abgb", 0.0) + got.get("som", 0.0)
    assert priors == pytest.approx(ref["logP_parameter_priors"], abs=1e-9)
    assert got["gpp"] == pytest.approx(ref["logL_GPP"], abs=1e-9)
    assert got["mean_lai"] == pytest.approx(ref["logL_LAI_or_meanLAI"], abs=1e-9)
    assert other == pytest.approx(ref["logL_other_terms_biomass_SOM_meanfire_meanGPP"], abs=1e-9)
    assert got["total"] == pytest.approx(ref["logPost_DALEC_MLF"], abs=1e-9)
    assert "lai" not in got  # a mean-LAI constraint replaces the LAI series in v2.2


def test_out_of_box_and_edc_failure_are_minus_inf():
    pixel = drivers.read(CBF)
    _, pars, _, _ = load_case("dalec809")
    bad = pars.copy()
    bad[16] = 500.0  # LCMA above its prior max: no model run
    assert log_posterior(pixel, "809", bad)["total"] == -np.inf
    edc = pars.copy()
    edc[7], edc[8] = 5e-4, 9e-4  # SOM turnover faster than litter turnover: EDC 1 fails
    out = log_posterior(pixel, "809", edc)
    assert out["total"] == -np.inf and np.isnan(out["gpp"])
    assert np.isfinite(log_posterior(pixel, "809", edc, edc=False)["total"])


@pytest.mark.parametrize("case,model", [("dalec400_fire", "400"), ("dalec400_nofire", "400"),
                                        ("dalec809", "809")])
def test_edc_report_matches_reference_passfail(case, model):
    from mdf import edc_report

    pixel, pars, _, _ = load_case(case)
    report = edc_report(pixel, model, pars)
    rows = (HERE / case / "edc_passfail.csv").read_text().splitlines()[1:]
    reference = {int(k): bool(int(v)) for k, v in (r.split(",") for r in rows)}
    assert report  # the model's EDC numbers
    for number, passed in report.items():
        assert passed == reference[number], number
    if case == "dalec400_nofire":
        assert not all(report.values())
