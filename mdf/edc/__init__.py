"""Ecological and Dynamic Constraints (EDCs): binary accept/reject rules on parameters and runs.

One module per reference family; :mod:`mdf.edc.jpl` holds the JPL CARDAMOM EDCs of models 400
and 809/811 (v2.2) and 1005 (v3) (Bloom & Williams 2015, doi:10.5194/bg-12-1299-2015),
:mod:`mdf.edc.gcel` the Edinburgh CARDAMOM EDCs of DALEC.C1 and DALEC.4. Importing this package
registers both.
"""

from . import gcel  # noqa: F401  (registers the Edinburgh hooks)
from .jpl import EDC_NAMES, EDCS, edc_passfail, edc_report

__all__ = ["EDCS", "EDC_NAMES", "edc_passfail", "edc_report"]
