"""Read CARDAMOM inputs and plain site data into one validated pixel dataset.

>>> import drivers
>>> pixel = drivers.read("flux_site_76.cbf")        # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from .cbf import read_cbf, write_cbf
from .errors import DriverError
from .pixel import make_pixel
from .validate import check_met

__all__ = ["DriverError", "check_met", "make_pixel", "read", "read_cbf", "write_cbf"]


def read(path):
    """Read a pixel from any supported format, detected from the file's content.

    Parameters
    ----------
    path : str or Path
        A driver file. Supported now: JPL binary CBF.

    Returns
    -------
    xarray.Dataset
        The pixel dataset (see :mod:`drivers.pixel`).

    Raises
    ------
    DriverError
        The file does not exist or its format is not recognised.
    """
    from .cbf import looks_like_cbf

    path = Path(path)
    if not path.exists():
        raise DriverError(f"{path}: no such file or folder")
    if path.is_file() and (looks_like_cbf(path) or path.suffix.lower() == ".cbf"):
        return read_cbf(path)
    raise DriverError(f"{path}: format not recognised (supported: JPL binary CBF)")
