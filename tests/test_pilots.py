"""R6 UAS pilot and TCAS compliance: kernels against plain-Python twins, statistics, exact modes.

Tolerances are ``Z = 4.5`` standard errors of the estimator at the sample size used.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from model_twins import R6Twin

from encsim.pilots import (
    R6_DETERMINISTIC,
    R6_STOCHASTIC,
    R6PilotParams,
    TcasPilotParams,
    r6_delays,
    r6_run,
    tcas_complies,
)

Z = 4.5
SEED = 424242


def scripted_encounter(rng, n=60):
    """An alert that rises, moves its band edges, sometimes loses a side, then clears."""
    steps = np.arange(n) * 10
    levels = np.zeros(n, dtype=np.int64)
    onset, end = rng.integers(0, 10), rng.integers(35, 55)
    levels[onset:end] = rng.choice([2, 3, 4], size=end - onset)
    heading = rng.uniform(-math.pi, math.pi)
    resolutions = np.empty((n, 4))
    resolutions[:, 0] = heading - np.radians(rng.uniform(5, 40, n))
    resolutions[:, 1] = heading + np.radians(rng.uniform(5, 40, n))
    resolutions[:, 2] = 4000.0 - rng.uniform(100, 900, n)
    resolutions[:, 3] = 4000.0 + rng.uniform(100, 900, n)
    resolutions[rng.random((n, 4)) < 0.15] = np.nan
    preferred = rng.choice([-1.0, 0.0, 1.0], size=(n, 2))
    own = np.zeros((n, 8))
    own[:, 2] = 4000.0 + np.cumsum(rng.normal(0, 10, n))
    own[:, 5] = rng.choice([-10.0, 0.0, 10.0, 25.0])
    own[:, 6] = heading + np.cumsum(rng.normal(0, 0.01, n))
    return steps, levels, resolutions, preferred, own


@pytest.mark.parametrize("params", [R6_STOCHASTIC, R6_DETERMINISTIC], ids=["stochastic", "deterministic"])
def test_r6_matches_twin(params):
    rng = np.random.default_rng(21)
    manoeuvred = 0
    for encounter_id in range(40):
        steps, levels, resolutions, preferred, own = scripted_encounter(rng)
        commands, _ = r6_run(steps, levels, resolutions, preferred, own, params, rng=SEED, encounter_id=encounter_id)
        twin = R6Twin(params, SEED, encounter_id)
        expected = np.array([twin.step(*row) for row in zip(steps, levels, resolutions, preferred, own, strict=True)])
        np.testing.assert_allclose(commands, expected, rtol=1e-12, atol=1e-9)
        manoeuvred += commands[:, 0].any()
    assert manoeuvred > 10


def test_r6_delay_statistics():
    """Coordination delay mean 11.0 s (gamma 5.5 x 2 s) within 1 %; initial 5 s, execution 3 s."""
    n = 40_000
    delays = r6_delays(n, rng=SEED, step=70)
    coordination = delays[:, 1]
    tolerance = Z * math.sqrt(5.5) * 2.0 / math.sqrt(n)
    assert tolerance < 0.01 * 11.0
    assert abs(coordination.mean() - 11.0) < tolerance, coordination.mean()
    assert abs(coordination.var() - 5.5 * 4.0) < Z * 22.0 * math.sqrt((2 + 6 / 5.5) / n)  # gamma kurtosis 6/k
    for column, mean in ((0, 5.0), (2, 3.0)):  # exponential: sd = mean
        assert abs(delays[:, column].mean() - mean) < Z * mean / math.sqrt(n)
    np.testing.assert_array_equal(r6_delays(5, R6_DETERMINISTIC), [[5.0, 11.0, 3.0]] * 5)


def steady_alert(n=60, level=2, heading_deg=10.0):
    steps = np.arange(n) * 10
    levels = np.full(n, level, dtype=np.int64)
    heading = math.radians(heading_deg)
    resolutions = np.tile([heading - math.radians(20), heading + math.radians(25), 3300.0, 4400.0], (n, 1))
    preferred = np.tile([1.0, -1.0], (n, 1))
    own = np.zeros((n, 8))
    own[:, 2] = 4000.0
    own[:, 6] = heading
    return steps, levels, resolutions, preferred, own


def test_r6_deterministic_mode_is_exact():
    """Alert at 0 s: decision after 5 + 11 s, command at 19 s: 30 deg beyond the preferred edge."""
    steps, levels, resolutions, preferred, own = steady_alert()
    commands, phases = r6_run(steps, levels, resolutions, preferred, own, R6_DETERMINISTIC)
    t = steps / 10
    np.testing.assert_array_equal(commands[:, 0], (t >= 19.0).astype(float))
    np.testing.assert_array_equal(phases[t < 5], 1)
    np.testing.assert_array_equal(phases[(t >= 5) & (t < 16)], 2)
    np.testing.assert_array_equal(phases[(t >= 16) & (t < 19)], 3)
    active = commands[commands[:, 0] == 1]
    np.testing.assert_allclose(active[:, 2], math.radians(10 + 25 + 30), atol=1e-12)
    np.testing.assert_array_equal(active[:, 1], 1)  # always a turn
    np.testing.assert_array_equal(active[:, 4], 1)  # the preferred side
    # only altitude resolutions: 500 ft beyond the preferred (lower) edge
    resolutions[:, :2] = np.nan
    commands, _ = r6_run(steps, levels, resolutions, preferred, own, R6_DETERMINISTIC)
    np.testing.assert_allclose(commands[commands[:, 0] == 1, 3], 3300.0 - 500.0)
    # the alert is last seen at 29 s: 4 s later the manoeuvre ends
    levels[30:] = 0
    commands, phases = r6_run(steps, levels, resolutions, preferred, own, R6_DETERMINISTIC)
    assert commands[32, 0] == 1 and commands[33, 0] == 0 and phases[33] == 0


def test_r6_direction_choice_and_never_reverses():
    """P(preferred side) = 0.8 + 0.2 x 0.4 (free choice: left 0.6); turns never go the other way."""
    n_enc = 3_000
    right = active = reversals = 0
    for encounter_id in range(n_enc):
        steps, levels, resolutions, preferred, own = steady_alert(n=60)
        resolutions[:, 2:] = np.nan  # horizontal only
        commands, _ = r6_run(steps, levels, resolutions, preferred, own, rng=SEED, encounter_id=encounter_id)
        final = commands[-1]
        if final[0] != 1:
            continue
        active += 1
        right += final[4] == 1.0
        turn_in_direction = (final[4] * (final[2] - own[0, 6])) % (2 * math.pi)
        reversals += turn_in_direction > math.pi + 1e-12
    assert reversals == 0
    assert active > 0.95 * n_enc
    p = 0.8 + 0.2 * 0.4
    assert abs(right / active - p) < Z * math.sqrt(p * (1 - p) / active), right / active


def test_tcas_compliance():
    n = 20_000
    complies = tcas_complies(TcasPilotParams(probability_noncompliance=0.1), np.full(n, 150), rng=SEED)
    assert abs(complies.mean() - 0.9) < Z * math.sqrt(0.09 / n)
    assert tcas_complies(TcasPilotParams(), np.zeros(100, dtype=int)).all()


def test_pilot_validation():
    with pytest.raises(ValueError, match=r"R6PilotParams.probability_turn_left=1.5"):
        R6PilotParams(probability_turn_left=1.5)
    with pytest.raises(ValueError, match=r"R6PilotParams.trigger_level=0"):
        R6PilotParams(trigger_level=0)
    with pytest.raises(ValueError, match=r"R6PilotParams.update_min_s"):
        dataclasses.replace(R6_STOCHASTIC, update_min_s=(1.0,))
    with pytest.raises(ValueError, match=r"TcasPilotParams.probability_noncompliance=2"):
        TcasPilotParams(probability_noncompliance=2)
    steps, levels, resolutions, preferred, own = steady_alert(n=3)
    with pytest.raises(ValueError, match="levels: expected"):
        r6_run(steps, levels + 5, resolutions, preferred, own)


def test_r6_retargets_when_the_edge_moves_past_its_target():
    """Deterministic: commanded at 19 s; the edge moves at 25 s; the next look (19 + 6 + 3 s) re-targets."""
    steps, levels, resolutions, preferred, own = steady_alert(n=40)
    heading = own[0, 6]
    resolutions[25:, 1] = heading + math.radians(70.0)
    commands, _ = r6_run(steps, levels, resolutions, preferred, own, R6_DETERMINISTIC)
    np.testing.assert_allclose(commands[19:28, 2], heading + math.radians(25 + 30), atol=1e-12)
    np.testing.assert_allclose(commands[28:, 2], heading + math.radians(70 + 30), atol=1e-12)


def test_r6_delays_and_tcas_compliance_match_twin():
    from model_twins import PILOT, Slot

    delays = r6_delays(20, rng=SEED, step=130)
    complies = tcas_complies(TcasPilotParams(0.3), np.arange(20) * 7, rng=SEED)
    for e in range(20):
        expected = [
            Slot(SEED, e, PILOT, 130, 1).exponential(5.0),
            Slot(SEED, e, PILOT, 130, 2).gamma(5.5, 2.0),
            Slot(SEED, e, PILOT, 130, 3).exponential(3.0),
        ]
        np.testing.assert_allclose(delays[e], expected, rtol=1e-13)
        assert complies[e] == (Slot(SEED, e, PILOT, 7 * e, 9).uniform() >= 0.3)
