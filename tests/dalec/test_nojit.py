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
pixel, pars, _, _ = load_case("dalec809")
pixel = pixel.isel(time=slice(0, 12))
out = {}
for name in ("400", "811"):
    model = dalec.get_model(name)
    p = pars[: model.n_parameters]
    ds = dalec.run(model, pixel, np.stack([p, p * 1.01]))
    out.update({f"{name}_{v}": ds[v].values for v in ("nee", "c_som", "lai", "gpp")})
np.savez(sys.argv[1], **out)
"""


@pytest.mark.parametrize("jit", ["0", "1"])
def test_pure_python_kernels_agree_with_jit(tmp_path, jit):
    env = dict(os.environ, NUMBA_DISABLE_JIT=jit)
    target = tmp_path / "out.npz"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", SCRIPT, str(target)], check=True, env=env, cwd=root)
    result = np.load(target)
    pixel, pars, _, _ = load_case("dalec809")
    pixel = pixel.isel(time=slice(0, 12))
    for name in ("400", "811"):
        model = dalec.get_model(name)
        p = pars[: model.n_parameters]
        ds = dalec.run(model, pixel, np.stack([p, p * 1.01]))
        for v in ("nee", "c_som", "lai", "gpp"):
            np.testing.assert_allclose(result[f"{name}_{v}"], ds[v].values, rtol=1e-13, atol=0)
