"""Named calibration recipes that reproduce a reference implementation's whole procedure.

A preset fixes the sampler, the cost-function scaling, the phases a chain goes through and how
the kept draws are chosen, so that a run compares with the reference's published products.
``mdf.calibrate(pixel, model, preset="edinburgh")`` runs :mod:`mdf.presets.edinburgh`.
"""

from __future__ import annotations

_PRESETS = {"edinburgh": "mdf.presets.edinburgh"}


def get_preset(name: str):
    """The preset module by name (it provides ``calibrate(pixel, model, **kwargs)``)."""
    import importlib

    try:
        return importlib.import_module(_PRESETS[str(name).lower()])
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(_PRESETS)}") from None


__all__ = ["get_preset"]
