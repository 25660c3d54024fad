"""Where a site is: latitude and longitude from the file, a README beside it, or FLUXNET ids.

Order of precedence (the first that gives a latitude wins; ``position_source`` records it):

1. values passed by the caller;
2. ``# latitude: <deg>`` / ``# longitude: <deg>`` comment lines at the top of a CSV;
3. ``lat <deg>, lon <deg>`` in a ``README.md`` beside the file (as in the shared site folders);
4. the tower position of a FLUXNET2015 site whose id the file or folder name holds
   (``drivers/data/fluxnet_sites.csv``, the 204 CARDAMOM-FluxVal sites, 4 decimals).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@lru_cache(maxsize=1)
def fluxnet_sites() -> dict[str, tuple[float, float]]:
    """FLUXNET2015 site id -> (tower latitude, longitude) [degrees], from the package data."""
    out = {}
    with open(DATA / "fluxnet_sites.csv") as fh:
        next(fh)
        for line in fh:
            name, _, lat, lon = line.strip().split(",")[:4]
            out[name] = (float(lat), float(lon))
    return out


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def fluxnet_position(*names: str):
    """(lat, lon, site id) of the first FLUXNET site whose id one of ``names`` starts with."""
    sites = {_key(k): (k, v) for k, v in fluxnet_sites().items()}
    for name in names:
        key = _key(name)
        for n in (5, 6):  # ids are CC-Xxx (5 significant characters once the dash is gone)
            hit = sites.get(key[:n])
            if hit is not None and len(key) >= n:
                site, (lat, lon) = hit
                return lat, lon, site
    return None


def readme_position(path: Path):
    """``lat <x>, lon <y>`` from a README.md beside ``path``, or None."""
    readme = Path(path).with_name("README.md")
    if not readme.is_file():
        return None
    text = readme.read_text(errors="replace")
    m = re.search(
        r"\blat(?:itude)?\s*[:=]?\s*(-?\d+(?:\.\d+)?)\s*,\s*lon(?:gitude)?\s*[:=]?\s*"
        r"(-?\d+(?:\.\d+)?)",
        text,
    )
    return (float(m.group(1)), float(m.group(2))) if m else None


def site_position(path, meta=None, latitude=None, longitude=None):
    """``(latitude, longitude, source)``; latitude None if nothing gives one."""
    path = Path(path)
    if latitude is not None:
        return float(latitude), longitude, "given"
    meta = meta or {}
    for key in ("latitude", "lat"):
        if key in meta:
            lon = None
            for k in ("longitude", "lon"):
                if k in meta:
                    lon = float(meta[k])
            return float(meta[key]), lon if longitude is None else longitude, "file header"
    found = readme_position(path)
    if found is not None:
        return (
            found[0],
            found[1] if longitude is None else longitude,
            f"{path.with_name('README.md')}",
        )
    hit = fluxnet_position(path.name, path.parent.name)
    if hit is not None:
        lat, lon, site = hit
        return lat, lon if longitude is None else longitude, f"FLUXNET2015 tower position of {site}"
    return None, longitude, "none"
