"""The documentation builds with warnings as errors, and lists every output variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import dalec

ROOT = Path(__file__).resolve().parents[2]


def test_sphinx_build_has_no_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(ROOT / "docs"),
         str(tmp_path / "html")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = (ROOT / "docs" / "nomenclature.md").read_text()
    for name in dalec.list_models():
        model = dalec.get_model(name)
        for var in (*model.pools, *model.fluxes):
            assert f"`{var}`" in page, var
        for p in model.parameters:
            assert f"`{p.name}`" in page, p.name
