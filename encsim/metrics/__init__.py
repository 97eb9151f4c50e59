"""Encounter metrics: separations, NMAC, well clear, detection, and weighted estimators."""

from .estimators import (
    EstimatorWarning,
    ProbabilityEstimate,
    RatioEstimate,
    kish_effective_size,
    risk_ratio,
    weighted_probability,
)

__all__ = [
    "EstimatorWarning",
    "ProbabilityEstimate",
    "RatioEstimate",
    "kish_effective_size",
    "risk_ratio",
    "weighted_probability",
]
