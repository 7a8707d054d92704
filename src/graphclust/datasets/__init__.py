"""Datasets: synthetic generators and loaders for the real data in ``../shared/data``."""
from graphclust.datasets.synthetic import HYBRID_COMPONENTS, gaussian_mixture, hybrid

__all__ = ["hybrid", "gaussian_mixture", "HYBRID_COMPONENTS"]
