"""Sensor, navigation and altimetry models: kernels against plain-Python twins, and statistics.

Statistical tolerances are derived from the sample size: each is ``Z`` standard errors of the
estimator (``Z = 4.5``: a false failure about once in 150,000 runs), and each test also checks
that this tolerance is no wider than the accuracy the issue asks for.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from model_twins import active_twin, adsb_twin, altimetry_twin, navigation_twin, radar_twin

from encsim.sensors import (
    ACTIVE_MODE_C,
    ACTIVE_MODE_S,
    ADSB_DO365,
    ALTIMETRY_ICAO_ANNEX10,
    NAVIGATION_DO365,
    RADAR_DO365,
    AdsbParams,
    AltimetryParams,
    RadarParams,
    active_measurements,
    adsb_reports,
    altimetry_biases,
    navigation_estimates,
    radar_measurements,
)

Z = 4.5
FT_PER_NM = 1852.0 / 0.3048
SEED = 20261206


def random_geometry(rng, n_enc, n_steps, max_range_nmi=25.0):
    """Ownship and intruder on straight lines, with ranges spread over 0..max_range_nmi."""
    t = np.arange(n_steps)
    own = np.zeros((n_enc, n_steps, 8))
    intruder = np.zeros((n_enc, n_steps, 8))
    for states, spread in ((own, 0.0), (intruder, max_range_nmi * FT_PER_NM)):
        start = rng.uniform(-spread, spread, (n_enc, 1, 3)) * [1.0, 1.0, 0.05]
        start[..., 2] += 5000.0 + rng.uniform(-1000, 1000, (n_enc, 1))
        velocity = rng.uniform(-250.0, 250.0, (n_enc, 1, 3)) * [1.0, 1.0, 0.05]
        states[..., :3] = start + velocity * t[None, :, None]
        states[..., 3:6] = velocity
        states[..., 6] = np.arctan2(velocity[..., 1], velocity[..., 0])
        states[..., 7] = np.hypot(velocity[..., 0], velocity[..., 1])
    return own, intruder


def test_adsb_matches_twin():
    rng = np.random.default_rng(1)
    own, intruder = random_geometry(rng, 6, 40)
    steps = np.arange(40) * 10 + 7
    bias = rng.normal(0, 50, 6)
    ids = np.array([3, 99, 5, 12345678901, 0, 7])
    out = adsb_reports(own, intruder, steps, rng=SEED, encounter_ids=ids, altitude_bias_ft=bias)
    assert np.nansum(out[..., 0]) > 20  # the geometry gives reports, dropped ones and some out of range
    for e in range(6):
        expected = adsb_twin(SEED, int(ids[e]), steps, own[e], intruder[e], bias[e], ADSB_DO365)
        np.testing.assert_allclose(out[e], expected, rtol=1e-12, atol=1e-9, equal_nan=True)


def static_pair(n_enc, n_steps, range_nmi):
    own = np.zeros((n_enc, n_steps, 8))
    intruder = np.zeros((n_enc, n_steps, 8))
    own[..., 2] = intruder[..., 2] = 3000.0
    intruder[..., 0] = range_nmi * FT_PER_NM
    return own, intruder


NO_DROPS = dataclasses.replace(ADSB_DO365, drop_probability_near=0.0, drop_probability_far=0.0)


def test_adsb_horizontal_error_sd_and_autocorrelation():
    """248 ft (75.6 m) per axis within 2 %; autocorrelation e^-1 within 0.03 at a 300 s lag.

    Reports at 0, 1 and 300 s (the exact discretisation makes any report spacing exact; the
    1-Hz stepping itself is checked against the twin and in the next test).
    """
    n_enc = 20_000
    own, intruder = static_pair(n_enc, 3, 1.0)
    out = adsb_reports(own, intruder, [0, 10, 3000], NO_DROPS, rng=SEED)
    errors = np.concatenate([out[:, :, 1] - intruder[:, :, 0], out[:, :, 2] - intruder[:, :, 1]])  # 2 n_enc x 3
    n = errors.shape[0]
    expected_sd = 75.6 / 0.3048
    sd_tolerance = Z * expected_sd / math.sqrt(2 * n)  # sd of a normal sample's sd
    assert sd_tolerance < 0.02 * expected_sd
    for column in range(3):  # stationary from the first report
        assert abs(errors[:, column].std() - expected_sd) < sd_tolerance, (column, errors[:, column].std())
    rho = np.corrcoef(errors[:, 0], errors[:, 2])[0, 1]
    rho_tolerance = Z * (1 - math.exp(-2)) / math.sqrt(n)  # sd of a sample correlation: (1 - rho^2) / sqrt(n)
    assert rho_tolerance < 0.03
    assert abs(rho - math.exp(-1)) < rho_tolerance, rho
    rho_1s = np.corrcoef(errors[:, 0], errors[:, 1])[0, 1]
    assert abs(rho_1s - math.exp(-1 / 300)) < Z * (1 - math.exp(-2 / 300)) / math.sqrt(n)
    v_errors = (out[:, 2, 4:6] - intruder[:, 2, 3:5]).ravel()
    expected_v = 1.22 / 0.3048
    assert abs(v_errors.std() - expected_v) < Z * expected_v / math.sqrt(2 * v_errors.size)


def test_adsb_error_stepped_at_1_hz():
    """The same law when the errors advance report by report for 300 s."""
    n_enc, n_steps = 2_000, 301
    own, intruder = static_pair(n_enc, n_steps, 1.0)
    out = adsb_reports(own, intruder, np.arange(n_steps) * 10, NO_DROPS, rng=SEED + 1)
    errors = np.concatenate([out[:, :, 1] - intruder[:, :, 0], out[:, :, 2] - intruder[:, :, 1]])
    n = errors.shape[0]
    expected_sd = 75.6 / 0.3048
    assert abs(errors[:, -1].std() - expected_sd) < Z * expected_sd / math.sqrt(2 * n)
    rho = np.corrcoef(errors[:, 0], errors[:, -1])[0, 1]
    assert abs(rho - math.exp(-1)) < Z * (1 - math.exp(-2)) / math.sqrt(n)


def test_adsb_vertical_rate_and_altitude():
    n_enc = 20_000
    own, intruder = static_pair(n_enc, 1, 1.0)
    intruder[..., 2] = 3011.0
    out = adsb_reports(own, intruder, [10], NO_DROPS, rng=SEED)
    b = 5.6 / (1.96 * math.sqrt(2.0))
    errors = out[:, 0, 6]
    # Laplace: E|X| = b, sd |X| = b; P(|X| <= 5.6) = 1 - exp(-5.6 / b)
    assert abs(np.abs(errors).mean() - b) < Z * b / math.sqrt(n_enc)
    p_in = 1 - math.exp(-5.6 / b)
    assert abs(np.mean(np.abs(errors) <= 5.6) - p_in) < Z * math.sqrt(p_in * (1 - p_in) / n_enc)
    np.testing.assert_array_equal(out[:, 0, 3], 3000.0)  # 3011 ft quantised to 25 ft


@pytest.mark.parametrize(("range_nmi", "window"), [(5.0, 3), (9.9, 3), (15.0, 7)])
def test_adsb_report_windows(range_nmi, window):
    """Any 3 s window within 10 NM (7 s beyond) holds a report with probability 0.95."""
    n_enc, n_windows = 2_000, 10
    own, intruder = static_pair(n_enc, window * n_windows, range_nmi)
    out = adsb_reports(own, intruder, np.arange(window * n_windows) * 10, rng=SEED)
    held = out[:, :, 0].reshape(n_enc, n_windows, window).max(axis=2)
    n = held.size
    tolerance = Z * math.sqrt(0.95 * 0.05 / n)
    assert abs(held.mean() - 0.95) < tolerance, held.mean()


def test_adsb_no_report_beyond_max_range():
    own, intruder = static_pair(50, 20, 20.01)
    assert np.all(adsb_reports(own, intruder, np.arange(20) * 10, NO_DROPS)[..., 0] == 0)


def test_adsb_draws_of_one_component_never_move_another():
    """Common random numbers: other drop probabilities leave every received report unchanged."""
    own, intruder = static_pair(200, 30, 4.0)
    steps = np.arange(30) * 10
    a = adsb_reports(own, intruder, steps, rng=SEED)
    b = adsb_reports(own, intruder, steps, dataclasses.replace(ADSB_DO365, drop_probability_near=0.1), rng=SEED)
    both = (a[..., 0] == 1) & (b[..., 0] == 1)
    assert both.sum() > 1000
    np.testing.assert_array_equal(a[both], b[both])


def test_reports_do_not_depend_on_chunking():
    rng = np.random.default_rng(5)
    own, intruder = random_geometry(rng, 8, 12, max_range_nmi=8.0)
    steps = np.arange(12) * 10
    whole = adsb_reports(own, intruder, steps, rng=SEED)
    part = adsb_reports(own[5:], intruder[5:], steps, rng=SEED, encounter_ids=np.arange(5, 8))
    np.testing.assert_array_equal(whole[5:], part)


def test_radar_matches_twin():
    rng = np.random.default_rng(2)
    own, intruder = random_geometry(rng, 6, 30, max_range_nmi=3.0)
    steps = np.arange(30) * 10
    params = dataclasses.replace(RADAR_DO365, min_range_ft=500.0, max_range_nmi=4.0)
    out, biases = radar_measurements(own, intruder, steps, params, rng=SEED)
    assert 0 < np.sum(out[..., 0]) < out[..., 0].size
    for e in range(6):
        expected, expected_biases = radar_twin(SEED, e, steps, own[e], intruder[e], params)
        np.testing.assert_allclose(biases[e], expected_biases, rtol=1e-14)
        np.testing.assert_allclose(out[e], expected, rtol=1e-11, atol=1e-9, equal_nan=True)


def test_radar_field_of_regard_is_exact():
    """Detected iff |azimuth| <= 110 deg and |elevation| <= 15 deg from the ownship's heading."""
    az = np.radians(np.arange(-180.0, 180.0, 2.5))
    el = np.radians(np.arange(-30.0, 30.5, 1.5))
    A, E = np.meshgrid(az, el)
    n = A.size
    own = np.zeros((n, 1, 8))
    own[..., 6] = 0.7  # heading 40 deg: azimuth is relative to it
    intruder = np.zeros((n, 1, 8))
    distance = 8000.0
    bearing = own[:, 0, 6] + A.ravel()
    intruder[:, 0, 0] = distance * np.cos(E.ravel()) * np.cos(bearing)
    intruder[:, 0, 1] = distance * np.cos(E.ravel()) * np.sin(bearing)
    intruder[:, 0, 2] = distance * np.sin(E.ravel())
    out, _ = radar_measurements(own, intruder, [0])
    inside = (np.abs(A.ravel()) <= np.radians(110.0) + 1e-9) & (np.abs(E.ravel()) <= np.radians(15.0) + 1e-9)
    margin = (np.abs(np.abs(A.ravel()) - np.radians(110.0)) > 1e-6) & (
        np.abs(np.abs(E.ravel()) - np.radians(15.0)) > 1e-6
    )
    np.testing.assert_array_equal(out[margin, 0, 0] == 1.0, inside[margin])
    narrow = dataclasses.replace(RADAR_DO365, azimuth_limit_deg=60.0, min_range_ft=9000.0)
    assert np.all(radar_measurements(own, intruder, [0], narrow)[0][..., 0] == 0)  # all closer than 9000 ft


def test_radar_error_statistics():
    n_enc, n_steps = 4_000, 10
    own, intruder = static_pair(n_enc, n_steps, 1.0)
    intruder[..., 4] = -150.0  # crossing: a range rate
    intruder[..., 1] = -150.0 * np.arange(n_steps)
    out, biases = radar_measurements(own, intruder, np.arange(n_steps) * 10, rng=SEED)
    assert np.all(out[..., 0] == 1)
    true = np.array([radar_truth(own[0, k], intruder[0, k]) for k in range(n_steps)])
    bounds = np.array([15.24, 2.4, math.radians(0.5), math.radians(0.5)]) / [0.3048, 0.3048, 1, 1]
    sds = np.array([21.34, 3.0, math.radians(1.0), math.radians(1.0)]) / [0.3048, 0.3048, 1, 1]
    for q in range(4):
        assert np.all(np.abs(biases[:, q]) <= bounds[q])
        # the bias is uniform: variance bound^2 / 3 (sd of a sample variance of a uniform: bound^2 sqrt(4/45 / n))
        assert abs(biases[:, q].var() - bounds[q] ** 2 / 3) < Z * bounds[q] ** 2 * math.sqrt(4 / 45 / n_enc)
        noise = out[:, :, 1 + q] - true[None, :, q] - biases[:, q, None]
        n = noise.size
        assert abs(noise.std() - sds[q]) < Z * sds[q] / math.sqrt(2 * n), (q, noise.std(), sds[q])


def clipped_normal_sd(c):
    """sd of a standard normal clipped to [-c, c]: E[X^2; |X| < c] + c^2 P(|X| > c), square-rooted."""
    p_out = 1.0 - math.erf(c / math.sqrt(2.0))
    density = math.exp(-c * c / 2.0) / math.sqrt(2.0 * math.pi)
    return math.sqrt((1.0 - p_out) - 2.0 * c * density + c * c * p_out)


def radar_truth(own, intruder):
    from model_twins import polar

    return polar(own, intruder)


@pytest.mark.parametrize("params", [ACTIVE_MODE_S, ACTIVE_MODE_C], ids=["mode_s", "mode_c"])
def test_active_matches_twin(params):
    rng = np.random.default_rng(3)
    own, intruder = random_geometry(rng, 6, 30, max_range_nmi=18.0)
    steps = np.arange(30) * 10 + 3
    bias = rng.normal(0, 60, 6)
    out, biases = active_measurements(own, intruder, steps, params, rng=SEED, altitude_bias_ft=bias)
    assert 0 < np.sum(out[..., 0]) < out[..., 0].size
    for e in range(6):
        expected, expected_bias = active_twin(SEED, e, steps, own[e], intruder[e], bias[e], params)
        assert biases[e, 0] == pytest.approx(expected_bias, rel=1e-14)
        np.testing.assert_allclose(out[e], expected, rtol=1e-11, atol=1e-9, equal_nan=True)


def test_active_statistics_and_limits():
    n_enc = 20_000
    own, intruder = static_pair(n_enc, 1, 2.0)
    intruder[..., 2] = 3040.0
    for params, quantum in ((ACTIVE_MODE_S, 25.0), (ACTIVE_MODE_C, 100.0)):
        out, biases = active_measurements(own, intruder, [10], params, rng=SEED)
        p = params.detection_probability
        assert abs(out[:, 0, 0].mean() - p) < Z * math.sqrt(p * (1 - p) / n_enc)
        got = out[out[:, 0, 0] == 1, 0]
        np.testing.assert_array_equal(got[:, 3], quantum * np.floor(3040.0 / quantum + 0.5))
        assert np.all(np.abs(got[:, 2]) <= math.radians(params.inner_bearing_bound_deg) + 1e-12)
        bearing_sd = math.radians(params.inner_bearing_sd_deg)
        assert abs(got[:, 2].std() / bearing_sd - clipped_normal_sd(3.0)) < Z / math.sqrt(2 * got.shape[0])
        assert np.all(np.abs(biases) <= params.range_bias_bound_ft)
    # Mode C: directional maximum range, 8 NM behind
    own, intruder = static_pair(10, 1, 9.0)
    intruder[..., 0] *= -1.0
    assert np.all(active_measurements(own, intruder, [0], ACTIVE_MODE_C)[0][..., 0] == 0)
    assert np.any(active_measurements(own, intruder, [0], ACTIVE_MODE_S)[0][..., 0] == 1)


def test_navigation_matches_twin_and_statistics():
    rng = np.random.default_rng(4)
    own, _ = random_geometry(rng, 5, 25)
    steps = np.arange(25) * 10
    out = navigation_estimates(own, steps, rng=SEED)
    for e in range(5):
        np.testing.assert_allclose(
            out[e], navigation_twin(SEED, e, steps, own[e], NAVIGATION_DO365), rtol=1e-12, atol=1e-9
        )
    n_enc = 20_000
    still = np.zeros((n_enc, 1, 8))
    errors = navigation_estimates(still, [0], rng=SEED)[:, 0, :2].ravel()
    expected = 37.8 / 0.3048
    assert abs(errors.std() - expected) < Z * expected / math.sqrt(2 * errors.size)


def test_altimetry_matches_twin():
    own_alt = np.array([0.0, 2299.0, 2300.0, 4999.0, 7000.0, 15000.0, 30000.0, 41000.0, 45000.0])
    intruder_alt = own_alt[::-1].copy()
    out = altimetry_biases(own_alt, intruder_alt, rng=SEED)
    for e in range(own_alt.size):
        expected = altimetry_twin(SEED, e, own_alt[e], intruder_alt[e], ALTIMETRY_ICAO_ANNEX10)
        np.testing.assert_allclose(out[e], expected, rtol=1e-14)


def test_altimetry_scale_by_layer_and_intruder_mixture():
    layers = [(1000.0, 0), (3000.0, 1), (7000.0, 2), (15000.0, 3), (30000.0, 4), (45000.0, 5)]
    p = ALTIMETRY_ICAO_ANNEX10
    n = 20_000
    for altitude, layer in layers:
        out = altimetry_biases(np.full(n, altitude), np.full(n, altitude), rng=SEED)
        np.testing.assert_array_equal(out[:, 2], p.ownship_scale_ft[layer])
        same = out[:, 3] == p.ownship_scale_ft[layer]
        assert np.all(same | (out[:, 3] == p.other_scale_ft[layer]))
        q = p.probability_ownship_scale[layer]
        assert abs(same.mean() - q) < Z * math.sqrt(q * (1 - q) / n), (layer, same.mean(), q)
        # Laplace bias: E|X| = scale, sd(|X|) = scale
        scale = p.ownship_scale_ft[layer]
        assert abs(np.abs(out[:, 0]).mean() - scale) < Z * scale / math.sqrt(n)


def test_parameter_validation_names_the_field():
    with pytest.raises(ValueError, match=r"AdsbParams.drop_probability_near=1.5"):
        AdsbParams(drop_probability_near=1.5)
    with pytest.raises(ValueError, match=r"RadarParams.azimuth_limit_deg=200"):
        RadarParams(azimuth_limit_deg=200)
    with pytest.raises(ValueError, match=r"RadarParams.range_sd_ft=-1"):
        RadarParams(range_sd_ft=-1)
    with pytest.raises(ValueError, match=r"AltimetryParams.layer_tops_ft"):
        AltimetryParams(layer_tops_ft=(1.0, 2.0))
    with pytest.raises(ValueError, match=r"steps: expected increasing"):
        adsb_reports(np.zeros((2, 8)), np.zeros((2, 8)), [10, 5])
    with pytest.raises(ValueError, match=r"own: expected shape"):
        adsb_reports(np.zeros((2, 7)), np.zeros((2, 8)), [0, 10])
    with pytest.raises(TypeError, match=r"expected AdsbParams"):
        adsb_reports(np.zeros((2, 8)), np.zeros((2, 8)), [0, 10], RADAR_DO365)
