"""Model-data fusion: priors, EDCs, likelihoods, samplers, posterior products and the CLI."""

from .calibration import CheckpointError, ConvergenceWarning, calibrate
from .posterior import Problem, edc_report, log_posterior
from .results import CalibrationResult

__all__ = [
    "CalibrationResult",
    "CheckpointError",
    "ConvergenceWarning",
    "Problem",
    "calibrate",
    "edc_report",
    "log_posterior",
]
__version__ = "0.1.0.dev0"
