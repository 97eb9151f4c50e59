"""What the ownship's logic sees: surveillance sensors, navigation and altimetry errors, tracker.

Standalone models with DO-365 Appendix Q and ICAO Annex 10 presets (docs/sensors_and_pilots.md):
ADS-B In, air-to-air radar, active surveillance (Mode S / Mode C), ownship GPS/INS error,
altimetry biases, and a constant-velocity Kalman filter whose covariance feeds DAIDALUS's SUM.
Each model's random draws come from its own sub-stream of the encounter, keyed by (10-Hz step,
component) (`encsim.model_streams`).
"""

from .params import (
    ACTIVE_MODE_C,
    ACTIVE_MODE_S,
    ADSB_DO365,
    ALTIMETRY_ICAO_ANNEX10,
    NAVIGATION_DO365,
    RADAR_DO365,
    ActiveSurveillanceParams,
    AdsbParams,
    AltimetryParams,
    NavigationParams,
    RadarParams,
    TrackerParams,
)
from .reports import (
    ACTIVE_COLUMNS,
    ADSB_COLUMNS,
    RADAR_COLUMNS,
    active_measurements,
    adsb_reports,
    altimetry_biases,
    navigation_estimates,
    radar_measurements,
)
from .tracker import (
    SUM_COLUMNS,
    TRACK_COLUMNS,
    active_measurement,
    adsb_measurement,
    radar_measurement,
    sum_uncertainty,
    track,
)

__all__ = [
    "ACTIVE_COLUMNS",
    "ACTIVE_MODE_C",
    "ACTIVE_MODE_S",
    "ADSB_COLUMNS",
    "ADSB_DO365",
    "ALTIMETRY_ICAO_ANNEX10",
    "NAVIGATION_DO365",
    "RADAR_COLUMNS",
    "RADAR_DO365",
    "SUM_COLUMNS",
    "TRACK_COLUMNS",
    "ActiveSurveillanceParams",
    "AdsbParams",
    "AltimetryParams",
    "NavigationParams",
    "RadarParams",
    "TrackerParams",
    "active_measurement",
    "active_measurements",
    "adsb_measurement",
    "adsb_reports",
    "altimetry_biases",
    "navigation_estimates",
    "radar_measurement",
    "radar_measurements",
    "sum_uncertainty",
    "track",
]
