"""Kalman filter tracker: against a textbook twin, consistency (NEES), SUM convention, covariances.

Consistency: on tracks that follow the filter's own model the normalised estimation error
squared, e' P^-1 e, is chi-square with 6 degrees of freedom at every time, so its mean over M
independent tracks is 6 with standard error sqrt(12 / M) (Bar-Shalom et al. 2001, 5.4.2).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from model_twins import cv_matrices, track_twin

from encsim.sensors import (
    ADSB_DO365,
    RADAR_DO365,
    TrackerParams,
    adsb_measurement,
    radar_measurement,
    radar_measurements,
    sum_uncertainty,
    track,
)

Z = 4.5


def random_spd(rng, scale):
    A = rng.normal(size=(6, 6))
    return scale * (A @ A.T + 0.5 * np.eye(6))


def test_track_matches_textbook_twin():
    rng = np.random.default_rng(11)
    n = 40
    times = np.cumsum(rng.choice([0.5, 1.0, 2.0], size=n))
    z = rng.normal(0, 500, (n, 6))
    measured = rng.random((n, 6)) < 0.6
    measured[:3] = False  # the track starts late
    measured[10] = False  # a lost report: prediction only
    R = np.array([random_spd(rng, 40.0) for _ in range(n)])
    params = TrackerParams(horizontal_accel_psd_ft2_s3=5.0, vertical_accel_psd_ft2_s3=2.0)
    x, P = track(times, z, measured, R, params)
    x_twin, P_twin = track_twin(times, z, measured, R, params)
    assert np.all(np.isnan(x[:3])) and np.all(np.isnan(x_twin[:3]))
    np.testing.assert_allclose(x[3:], x_twin[3:], rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(P[3:], P_twin[3:], rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(P[3:], np.swapaxes(P[3:], 1, 2), atol=0)  # symmetrised


def simulate_tracks(rng, n_tracks, n_steps, params, R, measured_row, straight):
    """Truth following the filter's model (straight: no process noise) and its measurements."""
    F, Q = cv_matrices(1.0, params.horizontal_accel_psd_ft2_s3, params.vertical_accel_psd_ft2_s3)
    truth = np.zeros((n_tracks, n_steps, 6))
    truth[:, 0, 3:] = rng.normal(0, params.initial_velocity_sd_fps, (n_tracks, 3))
    chol_Q = np.linalg.cholesky(Q)
    for k in range(1, n_steps):
        truth[:, k] = truth[:, k - 1] @ F.T
        if not straight:
            truth[:, k] += rng.normal(size=(n_tracks, 6)) @ chol_Q.T
    noise = rng.normal(size=(n_tracks, n_steps, 6)) @ np.linalg.cholesky(R).T
    return truth, truth + noise, np.broadcast_to(measured_row, (n_steps, 6))


@pytest.mark.parametrize(
    ("case", "straight"),
    [("position_with_cross_terms", True), ("position_with_cross_terms", False), ("adsb_like", True)],
)
def test_track_consistency_nees(case, straight):
    rng = np.random.default_rng(12)
    n_tracks, n_steps = 1_500, 41
    if case == "adsb_like":
        _, measured_row, R1 = adsb_measurement(np.array([[1.0, 0, 0, 0, 0, 0, 0]]), ADSB_DO365)
        R, measured_row = R1[0], measured_row[0]
    else:
        R = np.zeros((6, 6))
        R[:3, :3] = [[300.0**2, 0.8 * 300 * 150, 0.0], [0.8 * 300 * 150, 150.0**2, 0.0], [0.0, 0.0, 50.0**2]]
        R[3:, 3:] = np.eye(3)
        measured_row = np.array([True, True, True, False, False, False])
    params = TrackerParams(
        horizontal_accel_psd_ft2_s3=1e-9 if straight else 9.0, vertical_accel_psd_ft2_s3=1e-9 if straight else 4.0
    )
    truth, z, measured = simulate_tracks(rng, n_tracks, n_steps, params, R, measured_row, straight)
    times = np.arange(n_steps, dtype=float)
    R_all = np.broadcast_to(R, (n_steps, 6, 6))
    nees = np.empty((n_tracks, 3))
    for i in range(n_tracks):
        x, P = track(times, z[i], measured, R_all, params)
        for j, k in enumerate((2, 10, 40)):
            e = x[k] - truth[i, k]
            nees[i, j] = e @ np.linalg.solve(P[k], e)
    tolerance = Z * math.sqrt(12.0 / n_tracks)
    np.testing.assert_array_less(np.abs(nees.mean(axis=0) - 6.0), tolerance)


def test_sum_uncertainty_convention():
    P = np.zeros((6, 6))
    P[0, 0], P[1, 1], P[0, 1], P[1, 0] = 400.0, 900.0, -120.0, -120.0  # north, east
    P[2, 2] = 2500.0
    P[3, 3], P[4, 4], P[3, 4], P[4, 3] = 4.0, 9.0, 2.25, 2.25
    P[5, 5] = 16.0
    s = sum_uncertainty(P)
    np.testing.assert_allclose(s, [30.0, 20.0, -math.sqrt(120.0), 50.0, 3.0, 2.0, 1.5, 4.0])
    assert np.sign(s[2]) * s[2] ** 2 == pytest.approx(P[0, 1])  # DAIDALUS reads sign(s) s^2 back
    assert sum_uncertainty(np.stack([P, P])).shape == (2, 8)


def test_radar_measurement_covariance_is_consistent():
    """Converted radar positions: e' R^-1 e averages 3 over encounters (biases included)."""
    n_enc = 4_000
    rng = np.random.default_rng(13)
    own = np.zeros((n_enc, 1, 8))
    own[..., 6] = rng.uniform(-math.pi, math.pi, n_enc)[:, None]
    intruder = np.zeros((n_enc, 1, 8))
    bearing = own[:, 0, 6] + rng.uniform(-1.5, 1.5, n_enc)
    distance = rng.uniform(3000.0, 20000.0, n_enc)
    elevation = rng.uniform(-0.2, 0.2, n_enc)
    intruder[:, 0, 0] = distance * np.cos(elevation) * np.cos(bearing)
    intruder[:, 0, 1] = distance * np.cos(elevation) * np.sin(bearing)
    intruder[:, 0, 2] = distance * np.sin(elevation)
    out, _ = radar_measurements(own, intruder, [0], rng=3)
    z, measured, R = radar_measurement(out[:, 0], own[:, 0, 6], RADAR_DO365)
    assert np.all(measured[:, :3])
    e = z[:, :3] - intruder[:, 0, :3]
    statistic = np.einsum("ni,nij,nj->n", e, np.linalg.inv(R[:, :3, :3]), e)
    # uniform biases are not Gaussian, but the statistic's mean is still the dimension; its sd < sqrt(2 * 3 * 2)
    assert abs(statistic.mean() - 3.0) < Z * math.sqrt(12.0 / n_enc)


def test_track_validation():
    with pytest.raises(ValueError, match="times_s: expected"):
        track([0.0, 0.0], np.zeros((2, 6)), np.ones((2, 6), bool), np.zeros((2, 6, 6)))
    with pytest.raises(ValueError, match="a measured component is not finite"):
        track([0.0, 1.0], np.full((2, 6), np.nan), np.ones((2, 6), bool), np.zeros((2, 6, 6)))
    with pytest.raises(ValueError, match="TrackerParams.initial_velocity_sd_fps=0"):
        TrackerParams(initial_velocity_sd_fps=0)


def test_polar_covariance_matches_twin():
    from encsim.sensors._tracker import polar_position_covariance

    rng = np.random.default_rng(14)
    for _ in range(20):
        r, b, el = rng.uniform(100, 1e5), rng.uniform(-4, 4), rng.uniform(-1, 1)
        var = rng.uniform(0.1, 10.0, 3) * [100.0, 1e-4, 1e-4]
        R = np.zeros((6, 6))
        polar_position_covariance(r, b, el, *var, R)
        J = np.array(
            [
                [math.cos(el) * math.cos(b), -r * math.cos(el) * math.sin(b), -r * math.sin(el) * math.cos(b)],
                [math.cos(el) * math.sin(b), r * math.cos(el) * math.cos(b), -r * math.sin(el) * math.sin(b)],
                [math.sin(el), 0.0, r * math.cos(el)],
            ]
        )
        np.testing.assert_allclose(R[:3, :3], J @ np.diag(var) @ J.T, rtol=1e-12, atol=1e-9)
