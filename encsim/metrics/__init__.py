"""Encounter metrics: separations, NMAC, well clear, detection, and weighted estimators."""

from .detection import (
    DO365_DWC,
    NMAC,
    NONCOOP_DWC,
    WELL_CLEAR_PRESETS,
    Cylinder,
    WellClearVolume,
    detect_cylinder,
    detect_well_clear,
    loss_of_well_clear,
    separation_metrics,
    separation_series,
)
from .estimators import (
    MIN_EVENTS,
    EstimatorWarning,
    ProbabilityEstimate,
    RatioEstimate,
    clopper_pearson,
    kish_effective_size,
    risk_ratio,
    risk_ratio_with_cautions,
    weighted_probability,
    zero_event_upper_bound,
)
from .summary import SummaryRow, closed_loop_summary

__all__ = [
    "DO365_DWC",
    "MIN_EVENTS",
    "NMAC",
    "NONCOOP_DWC",
    "WELL_CLEAR_PRESETS",
    "Cylinder",
    "EstimatorWarning",
    "ProbabilityEstimate",
    "RatioEstimate",
    "SummaryRow",
    "WellClearVolume",
    "clopper_pearson",
    "closed_loop_summary",
    "detect_cylinder",
    "detect_well_clear",
    "kish_effective_size",
    "loss_of_well_clear",
    "risk_ratio",
    "risk_ratio_with_cautions",
    "separation_metrics",
    "separation_series",
    "weighted_probability",
    "zero_event_upper_bound",
]
