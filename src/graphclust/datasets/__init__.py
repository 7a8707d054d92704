"""Datasets: synthetic generators and loaders for the real data in ``../shared/data``."""
from graphclust.datasets.loaders import (
    BENCHMARK_BATTERIES,
    data_dir,
    list_benchmarks,
    load_benchmark,
    load_mnist,
    load_scrna,
)
from graphclust.datasets.synthetic import HYBRID_COMPONENTS, gaussian_mixture, hybrid

__all__ = [
    "hybrid",
    "gaussian_mixture",
    "HYBRID_COMPONENTS",
    "data_dir",
    "load_mnist",
    "load_scrna",
    "list_benchmarks",
    "load_benchmark",
    "BENCHMARK_BATTERIES",
]
