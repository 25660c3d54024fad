"""Model-data fusion: priors, EDCs, likelihoods, samplers, posterior products and the CLI."""

from .posterior import Problem, log_posterior

__all__ = ["Problem", "log_posterior"]
__version__ = "0.1.0.dev0"
