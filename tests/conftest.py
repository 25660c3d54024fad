"""Shared test helpers: where the shared data live, and small pixel factories.

``tests`` and its sub-folders are packages (so that ``tests/drivers`` never shadows the
``drivers`` package): import helpers as ``from tests.conftest import shared_path``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DALEC_MDF_SHARED", REPO.parent / "shared")).resolve()
REFERENCE = SHARED / "reference"
DATA = SHARED / "data"


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip the test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"needs {path} (the project's shared data; set DALEC_MDF_SHARED to its location)"
        )
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)
