"""Model-data fusion: priors, EDCs, likelihoods, samplers, posterior products and the CLI."""

from .batch import calibrate_many, pixel_seed
from .calibration import CheckpointError, ConvergenceWarning, calibrate
from .posterior import Problem, edc_report, log_posterior
from .results import CalibrationResult

__all__ = [
    "CalibrationResult",
    "CheckpointError",
    "ConvergenceWarning",
    "Problem",
    "calibrate",
    "calibrate_many",
    "edc_report",
    "log_posterior",
    "pixel_seed",
]
__version__ = "0.1.0.dev0"
