"""Model-data fusion: priors, EDCs, likelihoods, samplers, posterior products and the CLI."""

__version__ = "0.1.0.dev0"
