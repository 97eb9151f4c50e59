"""Public wrappers of the sensor, navigation and altimetry kernels: many encounters at once.

The closed loop will call the per-report kernels of `encsim.sensors._kernels` itself; these
wrappers run the same kernels over arrays of truth states, for studies, plots and the tests.
States are encsim's 8 columns (north_ft, east_ft, up_ft, v_north_fps, v_east_fps, v_up_fps,
heading_rad, speed_fps); ``steps`` are the 10-Hz step indices of the report times (time =
step / 10 s), which also key the random draws, so an encounter's reports are the same whatever
other encounters are computed with it.
"""

from __future__ import annotations

import numpy as np

from ..random import seed_to_uint64
from . import _kernels as k
from .params import (
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
)

__all__ = [
    "ACTIVE_COLUMNS",
    "ADSB_COLUMNS",
    "RADAR_COLUMNS",
    "active_measurements",
    "adsb_reports",
    "altimetry_biases",
    "navigation_estimates",
    "radar_measurements",
]

#: columns of an ADS-B report (NaN after ``valid`` when the report is lost)
ADSB_COLUMNS = ("valid", "north_ft", "east_ft", "up_ft", "v_north_fps", "v_east_fps", "v_up_fps")
#: columns of a radar measurement (angles from the ownship's heading; relative = intruder - ownship)
RADAR_COLUMNS = (
    "valid",
    "range_ft",
    "range_rate_fps",
    "azimuth_rad",
    "elevation_rad",
    "relative_north_ft",
    "relative_east_ft",
    "relative_up_ft",
)
#: columns of an active surveillance measurement
ACTIVE_COLUMNS = (
    "valid",
    "range_ft",
    "bearing_rad",
    "altitude_ft",
    "relative_north_ft",
    "relative_east_ft",
    "relative_up_ft",
)


def _states(name: str, states, n_steps: int | None = None) -> np.ndarray:
    array = np.ascontiguousarray(states, dtype=np.float64)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3 or array.shape[2] != 8:
        raise ValueError(f"{name}: expected shape (n_encounters, n_steps, 8) or (n_steps, 8), got {np.shape(states)}")
    if n_steps is not None and array.shape[1] != n_steps:
        raise ValueError(f"{name}: {array.shape[1]} rows per encounter but {n_steps} steps")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: states must be finite")
    return array


def _steps(steps) -> np.ndarray:
    array = np.asarray(steps)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"steps: expected a 1-D array of integer 10-Hz step indices, got {array.dtype} {array.shape}")
    if array.size and (array[0] < 0 or np.any(np.diff(array) <= 0)):
        raise ValueError("steps: expected increasing step indices >= 0")
    return array.astype(np.int64)


def _encounter_ids(encounter_ids, n: int) -> np.ndarray:
    if encounter_ids is None:
        return np.arange(n, dtype=np.uint64)
    ids = np.asarray(encounter_ids)
    if ids.shape != (n,) or not np.issubdtype(ids.dtype, np.integer) or np.any(ids < 0):
        raise ValueError(f"encounter_ids: expected {n} integers >= 0, got {ids!r}")
    return ids.astype(np.uint64)


def _per_encounter(name: str, values, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n)
    array = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)).copy()
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected finite values")
    return array


def _check_params(name: str, params, expected: type) -> None:
    if not isinstance(params, expected):
        raise TypeError(f"{name}: expected {expected.__name__}, got {type(params).__name__}")


def adsb_reports(
    own,
    intruder,
    steps,
    params: AdsbParams = ADSB_DO365,
    *,
    rng=0,
    encounter_ids=None,
    altitude_bias_ft=None,
) -> np.ndarray:
    """ADS-B reports of the intruder, one per step given (call it at the report period).

    Parameters
    ----------
    own, intruder : array_like (n_encounters, n_steps, 8) or (n_steps, 8)
        True states at the report times (the ownship's sets the range for losses and drops).
    steps : array_like of int (n_steps,)
        Increasing 10-Hz step indices of the reports.
    params : AdsbParams
    rng : int, SeedSequence or Generator
        The run's seed (key word 0 of every encounter's stream).
    encounter_ids : array_like of int (n_encounters,), optional
        Key word 1 of each encounter; default 0, 1, 2, ...
    altitude_bias_ft : float or array_like (n_encounters,), optional
        The intruder's altimetry bias, added before quantisation (see `altimetry_biases`).

    Returns
    -------
    ndarray (n_encounters, n_steps, 7)
        Columns `ADSB_COLUMNS`: valid (1 or 0), then the reported state, NaN when lost.

    Examples
    --------
    >>> import numpy as np
    >>> own = np.zeros((3, 8))
    >>> intruder = own + [6000.0, 0, 0, 0, 0, 0, 0, 0]
    >>> adsb_reports(own, intruder, [0, 10, 20]).shape
    (1, 3, 7)
    """
    _check_params("params", params, AdsbParams)
    steps = _steps(steps)
    own = _states("own", own, steps.size)
    intruder = _states("intruder", intruder, steps.size)
    if own.shape != intruder.shape:
        raise ValueError(f"own {own.shape} and intruder {intruder.shape} states differ in shape")
    n = own.shape[0]
    out = np.empty((n, steps.size, k.ADSB_REPORT_SIZE))
    k.adsb_batch(
        np.uint64(seed_to_uint64(rng)),
        _encounter_ids(encounter_ids, n),
        steps,
        own,
        intruder,
        _per_encounter("altitude_bias_ft", altitude_bias_ft, n),
        params.as_array(),
        out,
    )
    return out


def radar_measurements(
    own, intruder, steps, params: RadarParams = RADAR_DO365, *, rng=0, encounter_ids=None
) -> tuple[np.ndarray, np.ndarray]:
    """Air-to-air radar measurements of the intruder at the steps given.

    Returns
    -------
    measurements : ndarray (n_encounters, n_steps, 8)
        Columns `RADAR_COLUMNS`: valid, then NaN outside the field of regard or range limits.
    biases : ndarray (n_encounters, 4)
        Each encounter's range (ft), range-rate (ft/s), azimuth and elevation (rad) biases.
    """
    _check_params("params", params, RadarParams)
    steps = _steps(steps)
    own = _states("own", own, steps.size)
    intruder = _states("intruder", intruder, steps.size)
    n = own.shape[0]
    out = np.empty((n, steps.size, k.RADAR_MEASUREMENT_SIZE))
    biases = np.empty((n, k.RADAR_BIAS_SIZE))
    k.radar_batch(
        np.uint64(seed_to_uint64(rng)),
        _encounter_ids(encounter_ids, n),
        steps,
        own,
        intruder,
        params.as_array(),
        out,
        biases,
    )
    return out, biases


def active_measurements(
    own,
    intruder,
    steps,
    params: ActiveSurveillanceParams = ACTIVE_MODE_S,
    *,
    rng=0,
    encounter_ids=None,
    altitude_bias_ft=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Active surveillance (interrogation replies) of the intruder at the steps given.

    Returns
    -------
    measurements : ndarray (n_encounters, n_steps, 7)
        Columns `ACTIVE_COLUMNS`: valid, then NaN when there is no reply.
    biases : ndarray (n_encounters, 1)
        Each encounter's range bias (ft).
    """
    _check_params("params", params, ActiveSurveillanceParams)
    steps = _steps(steps)
    own = _states("own", own, steps.size)
    intruder = _states("intruder", intruder, steps.size)
    n = own.shape[0]
    out = np.empty((n, steps.size, k.ACTIVE_MEASUREMENT_SIZE))
    biases = np.empty((n, k.ACTIVE_BIAS_SIZE))
    k.active_batch(
        np.uint64(seed_to_uint64(rng)),
        _encounter_ids(encounter_ids, n),
        steps,
        own,
        intruder,
        _per_encounter("altitude_bias_ft", altitude_bias_ft, n),
        params.as_array(),
        out,
        biases,
    )
    return out, biases


def navigation_estimates(
    own, steps, params: NavigationParams = NAVIGATION_DO365, *, rng=0, encounter_ids=None
) -> np.ndarray:
    """The ownship's GPS/INS estimate of its own state at the steps given (n_encounters, n_steps, 8)."""
    _check_params("params", params, NavigationParams)
    steps = _steps(steps)
    own = _states("own", own, steps.size)
    n = own.shape[0]
    out = np.empty_like(own)
    k.navigation_batch(
        np.uint64(seed_to_uint64(rng)), _encounter_ids(encounter_ids, n), steps, own, params.as_array(), out
    )
    return out


def altimetry_biases(
    own_altitude_ft,
    intruder_altitude_ft,
    params: AltimetryParams = ALTIMETRY_ICAO_ANNEX10,
    *,
    rng=0,
    encounter_ids=None,
) -> np.ndarray:
    """Each encounter's altimetry biases, from each aircraft's reference (initial) altitude.

    Returns
    -------
    ndarray (n_encounters, 4)
        Ownship bias, intruder bias, ownship Laplace scale, intruder Laplace scale (ft).
    """
    _check_params("params", params, AltimetryParams)
    own_alt = np.atleast_1d(np.asarray(own_altitude_ft, dtype=np.float64))
    intruder_alt = np.atleast_1d(np.asarray(intruder_altitude_ft, dtype=np.float64))
    if own_alt.ndim != 1 or own_alt.shape != intruder_alt.shape or not np.all(np.isfinite(own_alt + intruder_alt)):
        raise ValueError(
            f"own_altitude_ft {own_alt.shape} and intruder_altitude_ft {intruder_alt.shape}: "
            "expected finite 1-D arrays of one length"
        )
    n = own_alt.size
    out = np.empty((n, k.ALTIMETRY_OUT_SIZE))
    k.altimetry_batch(
        np.uint64(seed_to_uint64(rng)), _encounter_ids(encounter_ids, n), own_alt, intruder_alt, params.as_array(), out
    )
    return out
