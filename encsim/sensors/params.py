"""Parameters of the sensor, navigation, altimetry and tracker models, with their presets.

Every class is a frozen dataclass with units in its field names, validated on construction (a
wrong value names the class, the field, the value and what was expected), and ``as_array()``
gives the float64 array its kernel takes. Sources are in docs/sensors_and_pilots.md: RTCA DO-365
Appendix Q as MIT LL's DEGAS encodes it, ICAO Annex 10 Vol. IV for altimetry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from ..units import FT_PER_NM, M_PER_FT, RAD_PER_DEG
from . import _kernels as k

__all__ = [
    "ACTIVE_MODE_C",
    "ACTIVE_MODE_S",
    "ADSB_DO365",
    "ALTIMETRY_ICAO_ANNEX10",
    "NAVIGATION_DO365",
    "RADAR_DO365",
    "ActiveSurveillanceParams",
    "AdsbParams",
    "AltimetryParams",
    "NavigationParams",
    "RadarParams",
    "TrackerParams",
]


def _ft(metres: float) -> float:
    return metres / M_PER_FT


def _check_range(owner: object, name: str, low: float, high: float, *, low_open: bool = False) -> None:
    value = getattr(owner, name)
    below = value <= low if low_open else value < low
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value) or below or value > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"{type(owner).__name__}.{name}={value!r}: expected a number in {bracket}{low}, {high}]")


def _check_all_nonnegative(owner: object, exempt: tuple[str, ...] = ()) -> None:
    for field in fields(owner):
        if field.name not in exempt and not isinstance(getattr(owner, field.name), tuple):
            _check_range(owner, field.name, 0.0, math.inf)


@dataclass(frozen=True)
class AdsbParams:
    """ADS-B In reports of the intruder (DO-365 Appendix Q as DEGAS models it).

    Horizontal position and velocity errors per axis are first-order Gauss-Markov processes
    (exact discretisation between reports, stationary from the first report); the vertical-rate
    error is Laplacian, fresh each report; altitude is the (altimetry-biased) pressure altitude
    quantised; reports are lost beyond ``max_range_nmi`` and dropped independently with
    ``drop_probability_near`` within ``near_range_nmi`` (slant range) and ``drop_probability_far``
    beyond.
    """

    position_sd_ft: float = _ft(75.6)
    velocity_sd_fps: float = _ft(1.22)
    correlation_time_s: float = 300.0
    vertical_rate_laplace_scale_fps: float = 5.6 / (1.96 * math.sqrt(2.0))
    altitude_quantum_ft: float = 25.0
    max_range_nmi: float = 20.0
    near_range_nmi: float = 10.0
    drop_probability_near: float = 0.05 ** (1.0 / 3.0)
    drop_probability_far: float = 0.05 ** (1.0 / 7.0)
    report_period_s: float = 1.0

    def __post_init__(self) -> None:
        _check_all_nonnegative(self)
        _check_range(self, "correlation_time_s", 0.0, math.inf, low_open=True)
        _check_range(self, "report_period_s", 0.0, math.inf, low_open=True)
        for name in ("drop_probability_near", "drop_probability_far"):
            _check_range(self, name, 0.0, 1.0)

    def as_array(self) -> np.ndarray:
        values = np.empty(k.ADSB_PARAMS_SIZE)
        values[k._A_POS_SD] = self.position_sd_ft
        values[k._A_VEL_SD] = self.velocity_sd_fps
        values[k._A_TAU] = self.correlation_time_s
        values[k._A_VRATE_B] = self.vertical_rate_laplace_scale_fps
        values[k._A_ALT_Q] = self.altitude_quantum_ft
        values[k._A_MAX_RANGE] = self.max_range_nmi * FT_PER_NM
        values[k._A_NEAR_RANGE] = self.near_range_nmi * FT_PER_NM
        values[k._A_DROP_NEAR] = self.drop_probability_near
        values[k._A_DROP_FAR] = self.drop_probability_far
        return values


@dataclass(frozen=True)
class RadarParams:
    """Air-to-air radar (DO-365 Appendix Q as DEGAS models it).

    Each of range, range rate, azimuth and elevation carries a white Gaussian error (the ``_sd``
    fields) plus a bias drawn once per encounter, uniform within +-``_bias_bound``. No detection
    outside the field of regard (+-azimuth and +-elevation limits relative to the ownship's
    heading and the horizontal plane) or outside [min_range_ft, max_range_nmi].
    """

    range_sd_ft: float = _ft(21.34)
    range_bias_bound_ft: float = _ft(15.24)
    range_rate_sd_fps: float = _ft(3.0)
    range_rate_bias_bound_fps: float = _ft(2.4)
    azimuth_sd_deg: float = 1.0
    azimuth_bias_bound_deg: float = 0.5
    elevation_sd_deg: float = 1.0
    elevation_bias_bound_deg: float = 0.5
    azimuth_limit_deg: float = 110.0
    elevation_limit_deg: float = 15.0
    min_range_ft: float = 0.0
    max_range_nmi: float = math.inf
    report_period_s: float = 1.0

    def __post_init__(self) -> None:
        _check_all_nonnegative(self)
        _check_range(self, "azimuth_limit_deg", 0.0, 180.0)
        _check_range(self, "elevation_limit_deg", 0.0, 90.0)
        _check_range(self, "report_period_s", 0.0, math.inf, low_open=True)
        if self.min_range_ft > self.max_range_nmi * FT_PER_NM:
            raise ValueError(
                f"RadarParams.min_range_ft={self.min_range_ft} is beyond max_range_nmi={self.max_range_nmi}"
            )

    def as_array(self) -> np.ndarray:
        values = np.empty(k.RADAR_PARAMS_SIZE)
        values[k._R_RANGE_SD] = self.range_sd_ft
        values[k._R_RANGE_BIAS] = self.range_bias_bound_ft
        values[k._R_RATE_SD] = self.range_rate_sd_fps
        values[k._R_RATE_BIAS] = self.range_rate_bias_bound_fps
        values[k._R_AZ_SD] = self.azimuth_sd_deg * RAD_PER_DEG
        values[k._R_AZ_BIAS] = self.azimuth_bias_bound_deg * RAD_PER_DEG
        values[k._R_EL_SD] = self.elevation_sd_deg * RAD_PER_DEG
        values[k._R_EL_BIAS] = self.elevation_bias_bound_deg * RAD_PER_DEG
        values[k._R_AZ_LIMIT] = self.azimuth_limit_deg * RAD_PER_DEG
        values[k._R_EL_LIMIT] = self.elevation_limit_deg * RAD_PER_DEG
        values[k._R_MIN_RANGE] = self.min_range_ft
        values[k._R_MAX_RANGE] = self.max_range_nmi * FT_PER_NM
        return values


@dataclass(frozen=True)
class ActiveSurveillanceParams:
    """Active surveillance: interrogation replies of the intruder's transponder (DO-365 Appendix Q).

    Range has a white Gaussian error plus a per-encounter bias uniform within +-bound; bearing
    (from the ownship's heading) a white Gaussian error clipped to +-bound, smaller within
    +-``inner_elevation_deg`` of the horizontal plane; the altitude is the intruder's Mode S
    (25 ft) or Mode C (100 ft) report of its (altimetry-biased) pressure altitude. A reply arrives
    with ``detection_probability`` per report, within the elevation limits and the maximum range
    of its direction (front within +-``front_half_angle_deg`` of the nose, rear within
    +-``rear_half_angle_deg`` of the tail, side otherwise).
    """

    range_sd_ft: float = _ft(15.24)
    range_bias_bound_ft: float = 125.0
    altitude_quantum_ft: float = 25.0
    detection_probability: float = 0.95
    max_range_front_nmi: float = 15.6
    max_range_side_nmi: float = 15.6
    max_range_rear_nmi: float = 15.6
    front_half_angle_deg: float = 45.0
    rear_half_angle_deg: float = 45.0
    elevation_min_deg: float = -15.0
    elevation_max_deg: float = 20.0
    inner_elevation_deg: float = 10.0
    inner_bearing_sd_deg: float = 9.0
    inner_bearing_bound_deg: float = 27.0
    outer_bearing_sd_deg: float = 15.0
    outer_bearing_bound_deg: float = 45.0
    report_period_s: float = 1.0

    def __post_init__(self) -> None:
        _check_all_nonnegative(self, exempt=("elevation_min_deg", "elevation_max_deg"))
        _check_range(self, "detection_probability", 0.0, 1.0)
        _check_range(self, "elevation_min_deg", -90.0, 90.0)
        _check_range(self, "elevation_max_deg", self.elevation_min_deg, 90.0)
        _check_range(self, "front_half_angle_deg", 0.0, 180.0)
        _check_range(self, "rear_half_angle_deg", 0.0, 180.0)
        _check_range(self, "report_period_s", 0.0, math.inf, low_open=True)

    def as_array(self) -> np.ndarray:
        values = np.empty(k.ACTIVE_PARAMS_SIZE)
        values[k._S_RANGE_SD] = self.range_sd_ft
        values[k._S_RANGE_BIAS] = self.range_bias_bound_ft
        values[k._S_ALT_Q] = self.altitude_quantum_ft
        values[k._S_P_DETECT] = self.detection_probability
        values[k._S_MAX_FRONT] = self.max_range_front_nmi * FT_PER_NM
        values[k._S_MAX_SIDE] = self.max_range_side_nmi * FT_PER_NM
        values[k._S_MAX_REAR] = self.max_range_rear_nmi * FT_PER_NM
        values[k._S_FRONT_HALF] = self.front_half_angle_deg * RAD_PER_DEG
        values[k._S_REAR_HALF] = self.rear_half_angle_deg * RAD_PER_DEG
        values[k._S_EL_MIN] = self.elevation_min_deg * RAD_PER_DEG
        values[k._S_EL_MAX] = self.elevation_max_deg * RAD_PER_DEG
        values[k._S_INNER_EL] = self.inner_elevation_deg * RAD_PER_DEG
        values[k._S_INNER_SD] = self.inner_bearing_sd_deg * RAD_PER_DEG
        values[k._S_INNER_BOUND] = self.inner_bearing_bound_deg * RAD_PER_DEG
        values[k._S_OUTER_SD] = self.outer_bearing_sd_deg * RAD_PER_DEG
        values[k._S_OUTER_BOUND] = self.outer_bearing_bound_deg * RAD_PER_DEG
        return values


@dataclass(frozen=True)
class NavigationParams:
    """Ownship GPS/INS error (DO-365 Appendix Q as DEGAS models it: NACp 8, NACv 2).

    Horizontal position and velocity errors per axis are first-order Gauss-Markov processes;
    the heading error is white Gaussian. Altitude and vertical rate are left to the altimetry
    model.
    """

    position_sd_ft: float = _ft(37.8)
    position_correlation_time_s: float = 300.0
    velocity_sd_fps: float = _ft(1.22)
    velocity_correlation_time_s: float = 300.0
    heading_sd_deg: float = 0.4

    def __post_init__(self) -> None:
        _check_all_nonnegative(self)
        _check_range(self, "position_correlation_time_s", 0.0, math.inf, low_open=True)
        _check_range(self, "velocity_correlation_time_s", 0.0, math.inf, low_open=True)

    def as_array(self) -> np.ndarray:
        values = np.empty(k.NAVIGATION_PARAMS_SIZE)
        values[k._N_POS_SD] = self.position_sd_ft
        values[k._N_POS_TAU] = self.position_correlation_time_s
        values[k._N_VEL_SD] = self.velocity_sd_fps
        values[k._N_VEL_TAU] = self.velocity_correlation_time_s
        values[k._N_HEADING_SD] = self.heading_sd_deg * RAD_PER_DEG
        return values


@dataclass(frozen=True)
class AltimetryParams:
    """Altimetry error: one Laplacian bias per aircraft per encounter (ICAO Annex 10 Vol. IV 4.4.2.4).

    Layers are bounded by ``layer_tops_ft`` (an altitude equal to a top belongs to the layer
    above). The ownship's scale is ``ownship_scale_ft`` of its layer; the intruder's is the same
    table's value with ``probability_ownship_scale`` of its layer, otherwise ``other_scale_ft``.
    """

    layer_tops_ft: tuple[float, ...] = (2300.0, 5000.0, 10000.0, 20000.0, 41000.0)
    ownship_scale_ft: tuple[float, ...] = (35.0, 38.0, 43.0, 58.0, 72.0, 94.0)
    other_scale_ft: tuple[float, ...] = (60.0, 60.0, 69.0, 87.0, 101.0, 101.0)
    probability_ownship_scale: tuple[float, ...] = (0.391, 0.320, 0.345, 0.610, 0.610, 0.610)

    def __post_init__(self) -> None:
        layers = k.ALTIMETRY_LAYERS
        expected = {
            "layer_tops_ft": layers - 1,
            "ownship_scale_ft": layers,
            "other_scale_ft": layers,
            "probability_ownship_scale": layers,
        }
        for name, size in expected.items():
            values = getattr(self, name)
            if len(values) != size or not all(math.isfinite(float(v)) and float(v) >= 0.0 for v in values):
                raise ValueError(f"AltimetryParams.{name}={values!r}: expected {size} finite numbers >= 0")
        if any(b <= a for a, b in zip(self.layer_tops_ft[:-1], self.layer_tops_ft[1:], strict=True)):
            raise ValueError(f"AltimetryParams.layer_tops_ft={self.layer_tops_ft!r}: expected increasing values")
        if any(p > 1.0 for p in self.probability_ownship_scale):
            raise ValueError(
                f"AltimetryParams.probability_ownship_scale={self.probability_ownship_scale!r}: expected values <= 1"
            )

    def as_array(self) -> np.ndarray:
        return np.array(
            [*self.layer_tops_ft, *self.ownship_scale_ft, *self.other_scale_ft, *self.probability_ownship_scale],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class TrackerParams:
    """Constant-velocity Kalman filter: white-acceleration noise and the initial spread.

    ``*_accel_psd_ft2_s3`` is the power spectral density q of the white acceleration per axis
    (the velocity variance grows by q per second without measurements); a rule of thumb (Bar-Shalom
    et al. 2001, 6.2.2) is q of the order of (peak acceleration)^2 x report period. The defaults
    suit a general-aviation intruder reported at 1 Hz: about 3 ft/s^2 (0.1 g) horizontally and
    2 ft/s^2 vertically.
    """

    horizontal_accel_psd_ft2_s3: float = 9.0
    vertical_accel_psd_ft2_s3: float = 4.0
    initial_position_sd_ft: float = 10000.0
    initial_velocity_sd_fps: float = 400.0

    def __post_init__(self) -> None:
        _check_all_nonnegative(self)
        _check_range(self, "initial_position_sd_ft", 0.0, math.inf, low_open=True)
        _check_range(self, "initial_velocity_sd_fps", 0.0, math.inf, low_open=True)


#: ADS-B In, DO-365 Appendix Q values as DEGAS models them
ADSB_DO365 = AdsbParams()
#: air-to-air radar, DO-365 Appendix Q values as DEGAS models them (no range limits)
RADAR_DO365 = RadarParams()
#: active surveillance of a Mode S transponder (25 ft altitude, 125 ft range bias bound)
ACTIVE_MODE_S = ActiveSurveillanceParams()
#: active surveillance of a Mode C transponder (100 ft altitude, 250 ft bias bound, directional range)
ACTIVE_MODE_C = ActiveSurveillanceParams(
    range_bias_bound_ft=250.0,
    altitude_quantum_ft=100.0,
    detection_probability=0.90,
    max_range_front_nmi=20.6,
    max_range_side_nmi=14.3,
    max_range_rear_nmi=8.0,
)
#: ownship GPS/INS error, DO-365 Appendix Q (NACp 8, NACv 2)
NAVIGATION_DO365 = NavigationParams()
#: altimetry error of ICAO Annex 10 Vol. IV as DEGAS applies it
ALTIMETRY_ICAO_ANNEX10 = AltimetryParams()
