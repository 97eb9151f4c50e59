"""Constant-velocity Kalman filter tracker and the measurement covariances of each sensor.

The filter (`track`) turns a sequence of measurements into a state estimate with a covariance,
whose standard deviations and east-north cross terms feed DAIDALUS's Sensor Uncertainty
Mitigation in its own convention (`sum_uncertainty`). `adsb_measurement`, `radar_measurement`
and `active_measurement` turn the sensors' outputs into the filter's measurement vectors and
covariances, biases included as the variance of their uniform distribution (bound^2 / 3).
"""

from __future__ import annotations

import math

import numpy as np

from . import _kernels as k
from . import _tracker as t
from .params import ActiveSurveillanceParams, AdsbParams, RadarParams, TrackerParams

__all__ = [
    "SUM_COLUMNS",
    "TRACK_COLUMNS",
    "active_measurement",
    "adsb_measurement",
    "radar_measurement",
    "sum_uncertainty",
    "track",
]

#: state of a track
TRACK_COLUMNS = ("north_ft", "east_ft", "up_ft", "v_north_fps", "v_east_fps", "v_up_fps")
#: DAIDALUS SUM fields (.daa column names), here in ft and ft/s
SUM_COLUMNS = ("s_EW_std", "s_NS_std", "s_EN_std", "sz_std", "v_EW_std", "v_NS_std", "v_EN_std", "vz_std")


def track(times_s, z, measured, R, params: TrackerParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Filter one track.

    Parameters
    ----------
    times_s : array_like (n,)
        Increasing measurement times.
    z : array_like (n, 6)
        Measured state components (`TRACK_COLUMNS`); entries not measured are ignored (may be NaN).
    measured : array_like of bool (n, 6)
        Which components each time measures; a row of False only predicts.
    R : array_like (n, 6, 6)
        Measurement covariances (rows and columns of the measured components are used).
    params : TrackerParams, optional

    Returns
    -------
    x : ndarray (n, 6)
        Estimate after each time's update; NaN before the first measurement.
    P : ndarray (n, 6, 6)
        Its covariance.

    Examples
    --------
    >>> import numpy as np
    >>> times = np.arange(5.0)
    >>> z = np.zeros((5, 6))
    >>> z[:, 0] = 100.0 * times
    >>> measured = np.zeros((5, 6), bool)
    >>> measured[:, :3] = True
    >>> R = np.broadcast_to(np.eye(6) * 100.0, (5, 6, 6))
    >>> x, P = track(times, z, measured, R)
    >>> round(float(x[-1, 3]))  # v_north_fps
    100
    """
    params = TrackerParams() if params is None else params
    if not isinstance(params, TrackerParams):
        raise TypeError(f"params: expected TrackerParams, got {type(params).__name__}")
    times = np.ascontiguousarray(times_s, dtype=np.float64)
    n = times.size
    if times.ndim != 1 or np.any(np.diff(times) <= 0) or not np.all(np.isfinite(times)):
        raise ValueError("times_s: expected a 1-D array of increasing finite times")
    z = np.ascontiguousarray(z, dtype=np.float64)
    measured = np.ascontiguousarray(measured, dtype=np.bool_)
    R = np.ascontiguousarray(R, dtype=np.float64)
    if z.shape != (n, 6) or measured.shape != (n, 6) or R.shape != (n, 6, 6):
        raise ValueError(
            f"z {z.shape}, measured {measured.shape}, R {R.shape}: expected ({n}, 6), ({n}, 6), ({n}, 6, 6)"
        )
    if not np.all(np.isfinite(np.where(measured, z, 0.0))):
        raise ValueError("z: a measured component is not finite")
    x_out = np.empty((n, 6))
    P_out = np.empty((n, 6, 6))
    t.track_batch(
        times,
        z,
        measured,
        R,
        params.horizontal_accel_psd_ft2_s3,
        params.vertical_accel_psd_ft2_s3,
        params.initial_position_sd_ft,
        params.initial_velocity_sd_fps,
        x_out,
        P_out,
    )
    return x_out, P_out


def sum_uncertainty(P) -> np.ndarray:
    """DAIDALUS SUM values (`SUM_COLUMNS`, ft and ft/s) of covariances (..., 6, 6).

    ``s_EN_std`` and ``v_EN_std`` are the signed square roots of the east-north covariances:
    DAIDALUS reads them back as ``sign(s) * s**2``.
    """
    P = np.asarray(P, dtype=np.float64)
    if P.shape[-2:] != (6, 6):
        raise ValueError(f"P: expected shape (..., 6, 6), got {P.shape}")
    flat = np.ascontiguousarray(P.reshape(-1, 6, 6))
    out = np.empty((flat.shape[0], t.SUM_SIZE))
    for i in range(flat.shape[0]):
        t.sum_uncertainty(flat[i], out[i])
    return out.reshape(*P.shape[:-2], t.SUM_SIZE)


def adsb_measurement(reports, params: AdsbParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Filter inputs (z, measured, R) of ADS-B reports (n, 7) of `encsim.sensors.adsb_reports`.

    The position and velocity variances are the Gauss-Markov variances (the filter takes them as
    white: over 1 s the errors are nearly constant, a known limitation of treating them so);
    altitude carries the quantisation variance q^2 / 12, vertical rate the Laplace variance 2 b^2.
    """
    reports = np.asarray(reports, dtype=np.float64)
    if reports.ndim != 2 or reports.shape[1] != k.ADSB_REPORT_SIZE:
        raise ValueError(f"reports: expected shape (n, {k.ADSB_REPORT_SIZE}), got {reports.shape}")
    n = reports.shape[0]
    z = np.nan_to_num(reports[:, 1:])
    measured = np.repeat(reports[:, :1] == 1.0, 6, axis=1)
    variances = np.array(
        [
            params.position_sd_ft**2,
            params.position_sd_ft**2,
            max(params.altitude_quantum_ft**2 / 12.0, 1.0),
            params.velocity_sd_fps**2,
            params.velocity_sd_fps**2,
            max(2.0 * params.vertical_rate_laplace_scale_fps**2, 1e-4),
        ]
    )
    return z, measured, np.broadcast_to(np.diag(variances), (n, 6, 6)).copy()


def _uniform_variance(bound: float) -> float:
    return bound * bound / 3.0


def radar_measurement(measurements, own_heading_rad, params: RadarParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Filter inputs of radar measurements (n, 8): the relative position, its converted covariance.

    Bias variances (bound^2 / 3) are added to the white ones: a tracker that does not estimate
    the biases must allow for them.
    """
    measurements = np.asarray(measurements, dtype=np.float64)
    heading = np.broadcast_to(np.asarray(own_heading_rad, dtype=np.float64), (measurements.shape[0],))
    if measurements.ndim != 2 or measurements.shape[1] != k.RADAR_MEASUREMENT_SIZE:
        raise ValueError(f"measurements: expected shape (n, {k.RADAR_MEASUREMENT_SIZE}), got {measurements.shape}")
    n = measurements.shape[0]
    deg = math.pi / 180.0
    var_range = params.range_sd_ft**2 + _uniform_variance(params.range_bias_bound_ft)
    var_azimuth = (params.azimuth_sd_deg * deg) ** 2 + _uniform_variance(params.azimuth_bias_bound_deg * deg)
    var_elevation = (params.elevation_sd_deg * deg) ** 2 + _uniform_variance(params.elevation_bias_bound_deg * deg)
    z = np.zeros((n, 6))
    measured = np.zeros((n, 6), dtype=bool)
    R = np.zeros((n, 6, 6))
    for i in range(n):
        if measurements[i, 0] != 1.0:
            continue
        z[i, :3] = measurements[i, 5:8]
        measured[i, :3] = True
        bearing = heading[i] + measurements[i, 3]
        t.polar_position_covariance(
            measurements[i, 1], bearing, measurements[i, 4], var_range, var_azimuth, var_elevation, R[i]
        )
    return z, measured, R


def active_measurement(
    measurements, own_heading_rad, params: ActiveSurveillanceParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Filter inputs of active surveillance measurements (n, 7): relative position and covariance.

    Horizontal: range and bearing converted at the elevation the altitudes give, the bearing
    variance being that of the error clipped at its bound (taken as the unclipped sd^2, an upper
    bound); vertical: the quantisation variance q^2 / 12.
    """
    measurements = np.asarray(measurements, dtype=np.float64)
    heading = np.broadcast_to(np.asarray(own_heading_rad, dtype=np.float64), (measurements.shape[0],))
    if measurements.ndim != 2 or measurements.shape[1] != k.ACTIVE_MEASUREMENT_SIZE:
        raise ValueError(f"measurements: expected shape (n, {k.ACTIVE_MEASUREMENT_SIZE}), got {measurements.shape}")
    n = measurements.shape[0]
    deg = math.pi / 180.0
    var_range = params.range_sd_ft**2 + _uniform_variance(params.range_bias_bound_ft)
    z = np.zeros((n, 6))
    measured = np.zeros((n, 6), dtype=bool)
    R = np.zeros((n, 6, 6))
    for i in range(n):
        if measurements[i, 0] != 1.0:
            continue
        z[i, :3] = measurements[i, 4:7]
        measured[i, :3] = True
        distance = measurements[i, 1]
        elevation = math.asin(max(-1.0, min(1.0, measurements[i, 6] / distance))) if distance > 0.0 else 0.0
        inner = abs(elevation) <= params.inner_elevation_deg * deg
        bearing_sd = (params.inner_bearing_sd_deg if inner else params.outer_bearing_sd_deg) * deg
        t.polar_position_covariance(distance, heading[i] + measurements[i, 2], 0.0, var_range, bearing_sd**2, 0.0, R[i])
        R[i, 2, :] = 0.0
        R[i, :, 2] = 0.0
        R[i, 2, 2] = max(params.altitude_quantum_ft**2 / 12.0, 1.0)
    return z, measured, R
