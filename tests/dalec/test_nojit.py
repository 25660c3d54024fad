"""The kernels run as plain Python (NUMBA_DISABLE_JIT=1) and agree with the jitted run."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import dalec
from tests.dalec.reference import load_case

SCRIPT = """
import sys, numpy as np, dalec
from tests.dalec.reference import load_case
from tests.dalec.test_nojit import parameters_for
pixel, pars, _, _ = load_case("dalec809")
pixel = pixel.isel(time=slice(0, 12))
out = {}
for name in ("400", "811", "1005"):
    model = dalec.get_model(name)
    p = parameters_for(model, pars)
    ds = dalec.run(model, pixel, np.stack([p, p * 1.01]))
    out.update({f"{name}_{v}": ds[v].values for v in ("nee", "c_som", "lai", "gpp")})
np.savez(sys.argv[1], **out)
"""


def parameters_for(model, pars809):
    """The 809 case's vector cut to ``model``; for 1005 with uWUE 10 and mid-box values of
    its four new parameters."""
    if model.n_parameters <= pars809.size:
        return pars809[: model.n_parameters]
    p = np.sqrt(model.bounds[:, 0] * model.bounds[:, 1])
    p[: pars809.size] = pars809
    p[23] = 10.0
    return p


@pytest.mark.parametrize("jit", ["0", "1"])
def test_pure_python_kernels_agree_with_jit(tmp_path, jit):
    env = dict(os.environ, NUMBA_DISABLE_JIT=jit)
    target = tmp_path / "out.npz"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", SCRIPT, str(target)], check=True, env=env, cwd=root)
    result = np.load(target)
    pixel, pars, _, _ = load_case("dalec809")
    pixel = pixel.isel(time=slice(0, 12))
    for name in ("400", "811", "1005"):
        model = dalec.get_model(name)
        p = parameters_for(model, pars)
        ds = dalec.run(model, pixel, np.stack([p, p * 1.01]))
        for v in ("nee", "c_som", "lai", "gpp"):
            np.testing.assert_allclose(result[f"{name}_{v}"], ds[v].values, rtol=1e-13, atol=0)
