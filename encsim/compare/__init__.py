"""Surrogacy: how well one encounter model stands in for another.

Model level (exact) here; track level in `encsim.compare.track_level`, outcome level (closed loop)
in `encsim.compare.outcome_level`, the HTML report with provenance in `encsim.compare.report`.
"""

from .distances import BinnedDistribution, hellinger, jensen_shannon, total_variation, wasserstein1
from .model_level import ModelComparison, compare_models, distributions_by_layer, parse_layers, stay_probabilities

__all__ = [
    "BinnedDistribution",
    "ModelComparison",
    "compare_models",
    "distributions_by_layer",
    "hellinger",
    "jensen_shannon",
    "parse_layers",
    "stay_probabilities",
    "total_variation",
    "wasserstein1",
]
