"""Surrogacy: how well one encounter model stands in for another (model level so far)."""

from .distances import BinnedDistribution, hellinger, jensen_shannon, total_variation, wasserstein1
from .model_level import ModelComparison, compare_models, distributions_by_layer, stay_probabilities

__all__ = [
    "BinnedDistribution",
    "ModelComparison",
    "compare_models",
    "distributions_by_layer",
    "hellinger",
    "jensen_shannon",
    "stay_probabilities",
    "total_variation",
    "wasserstein1",
]
