"""A proposal whose forward run goes NaN is rejected (log P = -inf), never an exception.

The point below is the proposal that failed FluxVal site 72 with DALEC 400 during the start
search of the full run (seed 1): its foliage decays to 5e-14 g m-2 and at a month without
light ACM's denominator is exactly 0. CARDAMOM's C gives NaN there and rejects the point.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

import dalec
import drivers
from mdf import Problem
from tests.conftest import shared_path

SITE_72_PROPOSAL = [
    0.7465869963121008, 0.5178893169657838, 0.3909128174990983, 0.2910256600635618,
    0.010023540724689799, 0.5506800829315525, 0.8984143578153009, 0.8062254355692471,
    0.7632543719903623, 0.6681560218885234, 0.47534777416257534, 0.9596646738299077,
    0.34600544433235714, 0.03969855751554218, 0.6710972573665169, 0.7953888722599197,
    0.254033175007545, 0.572681669058658, 0.5664300881315701, 0.40656371398797403,
    0.9941834862165354, 0.5716815188261283, 0.9517716449022195,
]


def test_nan_run_is_rejected_by_posterior_and_start_search():
    path = shared_path("data", "fluxval", "cbf", "flux_site_72.cbf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # model 400 does not score the site's ET
        problem = Problem(drivers.read(path), "400")
    x = np.array(SITE_72_PROPOSAL)
    gpp = dalec.run("400", problem.pixel, problem.space.from_normalised(x))["gpp"].values
    assert np.isnan(gpp).any()  # the run itself goes NaN (an EDC does not reject it first)
    assert problem.log_posterior_x(x) == -math.inf
    score = problem._edc_guided(x, problem.ctx, problem.scratch())
    assert math.isfinite(score) and score < 0.0  # the search sees a failure, not a crash
