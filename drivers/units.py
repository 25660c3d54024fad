"""Unit conversion of driver series to the units of :mod:`dalec.variables`.

Only the conversions that driver files need are known here, each as ``value * scale +
offset``: they are spelled out rather than delegated to a units library so that the
dependency list stays short and every factor is visible in one table.

This module imports nothing from the package (a leaf).
"""

from __future__ import annotations

import re

SECONDS_PER_DAY = 86400.0

#: canonical unit -> {accepted spelling (normalised) -> (scale, offset)} giving canonical units
_TABLE: dict[str, dict[str, tuple[float, float]]] = {
    "degC": {
        "degc": (1.0, 0.0),
        "c": (1.0, 0.0),
        "celsius": (1.0, 0.0),
        "degreesc": (1.0, 0.0),
        "degreec": (1.0, 0.0),
        "degreescelsius": (1.0, 0.0),
        "k": (1.0, -273.15),
        "kelvin": (1.0, -273.15),
    },
    "MJ m-2 d-1": {
        "mjm-2d-1": (1.0, 0.0),
        "mj/m2/d": (1.0, 0.0),
        "mj/m2/day": (1.0, 0.0),
        "mjm-2day-1": (1.0, 0.0),
        "mjm**-2day**-1": (1.0, 0.0),
        "wm-2": (0.0864, 0.0),
        "w/m2": (0.0864, 0.0),
        "jm-2d-1": (1e-6, 0.0),
        "jm-2s-1": (0.0864, 0.0),
    },
    "hPa": {
        "hpa": (1.0, 0.0),
        "mbar": (1.0, 0.0),
        "mb": (1.0, 0.0),
        "kpa": (10.0, 0.0),
        "pa": (0.01, 0.0),
    },
    "kPa": {"kpa": (1.0, 0.0), "hpa": (0.1, 0.0), "pa": (1e-3, 0.0)},
    "kg m-2 d-1": {
        "kgm-2d-1": (1.0, 0.0),
        "mmd-1": (1.0, 0.0),
        "mm/d": (1.0, 0.0),
        "mm/day": (1.0, 0.0),
        "mmday-1": (1.0, 0.0),
        "kgm-2s-1": (SECONDS_PER_DAY, 0.0),
        "kg/m2/s": (SECONDS_PER_DAY, 0.0),
        "mms-1": (SECONDS_PER_DAY, 0.0),
        "mm/s": (SECONDS_PER_DAY, 0.0),
        "mmh-1": (24.0, 0.0),
        "mm/h": (24.0, 0.0),
    },
    "1e-6": {"1e-6": (1.0, 0.0), "ppm": (1.0, 0.0), "umol/mol": (1.0, 0.0), "µmol/mol": (1.0, 0.0)},
    "m s-1": {"ms-1": (1.0, 0.0), "m/s": (1.0, 0.0)},
    "s": {"s": (1.0, 0.0), "h": (3600.0, 0.0), "hours": (3600.0, 0.0)},
    "1": {
        "1": (1.0, 0.0),
        "": (1.0, 0.0),
        "fraction": (1.0, 0.0),
        "m2/m2": (1.0, 0.0),
        "m2m-2": (1.0, 0.0),
        "%": (0.01, 0.0),
        "percent": (0.01, 0.0),
    },
    "g m-2 d-1": {
        "gm-2d-1": (1.0, 0.0),
        "gcm-2d-1": (1.0, 0.0),
        "gc/m2/d": (1.0, 0.0),
        "gc/m2/day": (1.0, 0.0),
        "gcm-2day-1": (1.0, 0.0),
    },
    "d": {"d": (1.0, 0.0), "day": (1.0, 0.0), "days": (1.0, 0.0)},
}


def normalise(units: str) -> str:
    """Lower-case spelling without blanks, brackets or underscores.

    ``'kg m-2 s-1'`` -> ``'kgm-2s-1'``, ``'deg C'`` -> ``'degc'``.
    """
    text = str(units).strip().lower().replace("°", "deg")
    return re.sub(r"[\s\[\]()_]+", "", text)


def conversion(units: str, canonical: str) -> tuple[float, float]:
    """``(scale, offset)`` so that ``value * scale + offset`` is in ``canonical`` units.

    Parameters
    ----------
    units : str
        Declared units of the data (``'K'``, ``'kg m-2 s-1'``, ``'W m-2'``, ``'kPa'``, ...).
    canonical : str
        Target units, as in :mod:`dalec.variables` (``'degC'``, ``'kg m-2 d-1'``, ...).

    Raises
    ------
    KeyError
        If the conversion is not known; the message lists the accepted spellings.
    """
    table = _TABLE.get(canonical)
    if table is None:
        if normalise(units) == normalise(canonical):
            return 1.0, 0.0
        raise KeyError(f"no conversions to {canonical!r} are known")
    key = normalise(units)
    if key in table:
        return table[key]
    if key == normalise(canonical):
        return 1.0, 0.0
    raise KeyError(
        f"cannot convert {units!r} to {canonical!r}; accepted units: "
        f"{', '.join(sorted(k for k in table if k))}"
    )


def convert(values, units: str, canonical: str):
    """Return ``values`` converted from ``units`` to ``canonical`` (see :func:`conversion`)."""
    scale, offset = conversion(units, canonical)
    if scale == 1.0 and offset == 0.0:
        return values
    return values * scale + offset
