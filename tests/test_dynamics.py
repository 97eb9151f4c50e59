"""The 10-Hz point-mass dynamics: a plain-Python twin and hand-derived cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from encsim.commands import CommandSchedule, InitialStates
from encsim.dynamics import DynamicLimits, fly_commands, fly_vertical_only, initial_states_from_sample

G = 32.2
DT = 0.1


# ------------------------------------------------------------------ the twin (mitll-reference 3.3-3.4)


def twin_step(state, command, limits):
    V, N, E, h, psi, theta, phi = state
    hdot_c, psidot_c, a_c = command
    v_min, v_max, hd_min, hd_max, q_max, r_max = limits
    Vd = max(V, 1.0)
    hdot_c = min(max(hdot_c, hd_min), hd_max)
    hddot_c = (hdot_c - V * math.sin(theta)) / DT
    q = (hddot_c / math.cos(theta) + G * math.cos(theta) * math.sin(phi) ** 2 - a_c * math.tan(theta)) / (
        Vd * math.cos(phi)
    )
    q = min(max(q, -q_max), q_max)
    r = min(max(G * math.sin(phi) * math.cos(theta) / Vd, -r_max), r_max)
    hddot_phi = min(hddot_c, Vd * q_max * math.cos(phi) * math.cos(theta))
    D = Vd**2 * q_max**2 - 4 * G * a_c * math.sin(theta) + 4 * G * hddot_phi + 4 * G**2 * math.cos(theta) ** 2
    phi_max = math.radians(75)
    if D >= 0:
        c = (-Vd * q_max + math.sqrt(D)) / (2 * G * math.cos(theta))
        phi_max = min(math.radians(75), 0.98 * math.acos(c) if abs(c) < 1 else 0.0)
    psidot0 = (q * math.sin(phi) + r * math.cos(phi)) / math.cos(theta)
    p = min(max(20 * (psidot_c - psidot0), -0.524), 0.524)
    if phi + p * DT > phi_max:
        p = (phi_max - phi) / DT
    if phi + p * DT < -phi_max:
        p = (-phi_max - phi) / DT
    phidot = p + q * math.sin(phi) * math.tan(theta) + r * math.cos(phi) * math.tan(theta)
    thetadot = q * math.cos(phi) - r * math.sin(phi)
    psidot = (q * math.sin(phi) + r * math.cos(phi)) / math.cos(theta)
    Ndot = V * math.cos(theta) * math.cos(psi)
    Edot = V * math.cos(theta) * math.sin(psi)
    hdot = V * math.sin(theta)
    V = V + a_c * DT
    if V < v_min:
        V = v_min
    if V >= v_max:
        V = v_max - 1e-6
    return [V, N + Ndot * DT, E + Edot * DT, h + hdot * DT, psi + psidot * DT, theta + thetadot * DT, phi + phidot * DT]


def twin_fly(state, rows, duration_s, limits, lead=False):
    """rows: list of (t_s, hdot, psidot, vdot); returns samples (n_samples, 7)."""
    n_steps = round(duration_s / DT)
    samples = [list(state)]
    for i in range(1, n_steps + 1):
        # the last row whose step index is <= i - 1 (<= i with the reference's lead)
        horizon = i if lead else i - 1
        active = [row for row in rows if round(row[0] / DT) <= horizon][-1]
        state = twin_step(state, active[1:], limits)
        samples.append(state)
    return np.array(samples)


def random_case(rng, n):
    states = initial_states_from_sample(
        speed_fps=rng.uniform(40, 350, n),
        alt_ft=rng.uniform(500, 5000, n),
        hdot_fps=rng.uniform(-30, 30, n),
        psidot_rad_s=np.radians(rng.uniform(-8, 8, n)),
        heading_rad=rng.uniform(-np.pi, np.pi, n),
    )
    rows = []
    for _ in range(n):
        times = np.concatenate([[0], np.sort(rng.choice(np.arange(1, 30), size=rng.integers(0, 6), replace=False))])
        rows.append(
            [(float(t), rng.uniform(-35, 35), np.radians(rng.uniform(-10, 10)), rng.uniform(-4, 4)) for t in times]
        )
    return states, rows


@pytest.mark.parametrize("lead,output_hz", [(False, 10.0), (True, 10.0), (False, 1.0)])
def test_kernel_agrees_with_the_plain_twin_on_random_tracks(lead, output_hz):
    rng = np.random.default_rng(7)
    n, duration = 200, 30.0
    states, rows = random_case(rng, n)
    limits = DynamicLimits(
        speed_min_fps=rng.uniform(1.7, 60, n),
        speed_max_fps=rng.uniform(250, 500, n),
        hdot_min_fps=-25.0,
        hdot_max_fps=25.0,
    )
    flown = fly_commands(
        states, CommandSchedule.from_lists(rows), duration, limits=limits, command_lead=lead, output_hz=output_hz
    )
    stride = int(10 / output_hz)
    limit_rows = limits.as_array(n)
    for a in range(n):
        start = [getattr(states, f)[a] for f in InitialStates.FIELDS]
        twin = twin_fly(start, rows[a], duration, limit_rows[:, a], lead=lead)[::stride]
        ours = np.stack(
            [
                flown.speed_fps[a],
                flown.north_ft[a],
                flown.east_ft[a],
                flown.up_ft[a],
                flown.heading_rad[a],
                flown.pitch_rad[a],
                flown.bank_rad[a],
            ],
            axis=1,
        )
        np.testing.assert_allclose(ours, twin, rtol=1e-9, atol=1e-9, err_msg=f"aircraft {a}")
        np.testing.assert_allclose(flown.hdot_fps[a], twin[:, 0] * np.sin(twin[:, 5]), rtol=1e-9, atol=1e-9)
    assert flown.t_s[-1] == pytest.approx(duration) and flown.t_s.shape[0] == int(duration * output_hz) + 1


def one(speed=200.0, alt=1000.0, hdot=0.0, psidot=0.0, heading=0.0):
    return initial_states_from_sample([speed], [alt], [hdot], [psidot], heading_rad=heading)


def test_level_flight_covers_speed_times_time():
    flown = fly_commands(one(speed=200.0), CommandSchedule.from_lists([[(0, 0, 0, 0)]]), 60.0)
    assert flown.north_ft[0, -1] == pytest.approx(12_000.0, abs=1e-9)
    assert np.all(flown.east_ft == 0) and np.all(flown.up_ft == 1000.0)
    assert flown.north_ft[0, 10] == pytest.approx(200.0, abs=1e-12)


def test_steady_turn_banks_to_atan_v_turn_rate_over_g():
    speed, turn = 200.0, math.radians(3.0)
    flown = fly_commands(one(speed=speed), CommandSchedule.from_lists([[(0, 0, 0, 0), (2, 0, turn, 0)]]), 60.0)
    expected_bank = math.atan(speed * turn / G)
    assert flown.bank_rad[0, -1] == pytest.approx(expected_bank, abs=1e-6)
    heading_rate = np.diff(flown.heading_rad[0, -100:]) / DT
    np.testing.assert_allclose(heading_rate, turn, rtol=1e-6)
    assert flown.heading_rad[0, 20] == 0.0  # nothing before the command's time
    # roll-in at the 0.524 rad/s roll-rate limit
    assert flown.bank_rad[0, 21] == pytest.approx(0.524 * DT, rel=1e-12)


def test_climb_reaches_the_commanded_rate_under_the_pitch_rate_limit():
    speed, rate, q_max = 200.0, 20.0, math.radians(3.0)
    flown = fly_commands(one(speed=speed), CommandSchedule.from_lists([[(0, rate, 0, 0)]]), 10.0)
    target_pitch = math.asin(rate / speed)
    saturated_steps = int(target_pitch / (q_max * DT))  # 19 steps at the pitch-rate limit
    np.testing.assert_allclose(
        flown.pitch_rad[0, : saturated_steps + 1], np.arange(saturated_steps + 1) * q_max * DT, rtol=1e-12
    )
    assert flown.hdot_fps[0, saturated_steps] < rate
    np.testing.assert_allclose(flown.hdot_fps[0, saturated_steps + 1 :], rate, rtol=1e-6)  # one-step tracking of sin
    climb = np.cumsum(speed * np.sin(np.arange(saturated_steps + 1) * q_max * DT)) * DT
    np.testing.assert_allclose(flown.up_ft[0, 1 : saturated_steps + 2] - 1000.0, climb, rtol=1e-12)


def test_constant_acceleration():
    flown = fly_commands(one(speed=100.0), CommandSchedule.from_lists([[(0, 0, 0, 2.0)]]), 10.0)
    np.testing.assert_allclose(flown.speed_fps[0], 100.0 + 2.0 * flown.t_s, rtol=1e-12)
    n = 100
    assert flown.north_ft[0, -1] == pytest.approx(100.0 * 10.0 + 2.0 * DT * DT * n * (n - 1) / 2, rel=1e-12)


def test_a_command_mid_track_acts_from_its_own_step_or_one_step_early_with_the_lead():
    schedule = CommandSchedule.from_lists([[(0, 0, 0, 0), (5, 10.0, 0, 0)]])
    plain = fly_commands(one(), schedule, 8.0)
    assert np.all(plain.pitch_rad[0, :51] == 0.0) and plain.pitch_rad[0, 51] > 0.0
    lead = fly_commands(one(), schedule, 8.0, command_lead=True)
    assert np.all(lead.pitch_rad[0, :50] == 0.0) and lead.pitch_rad[0, 50] > 0.0
    np.testing.assert_allclose(lead.pitch_rad[0, 50:-1], plain.pitch_rad[0, 51:], rtol=1e-12)


def test_speed_saturates_at_both_limits():
    limits = DynamicLimits(speed_min_fps=50.0, speed_max_fps=150.0)
    slow = fly_commands(one(speed=60.0), CommandSchedule.from_lists([[(0, 0, 0, -5.0)]]), 10.0, limits=limits)
    assert slow.speed_fps[0, -1] == 50.0 and slow.speed_fps.min() == 50.0
    fast = fly_commands(one(speed=140.0), CommandSchedule.from_lists([[(0, 0, 0, 5.0)]]), 10.0, limits=limits)
    assert fast.speed_fps[0, -1] == 150.0 - 1e-6


def test_vertical_rate_command_is_saturated():
    limits = DynamicLimits(hdot_min_fps=-25.0, hdot_max_fps=25.0)
    up = fly_commands(one(speed=250.0), CommandSchedule.from_lists([[(0, 100.0, 0, 0)]]), 30.0, limits=limits)
    assert up.hdot_fps[0, -1] == pytest.approx(25.0, rel=1e-9) and up.hdot_fps.max() <= 25.0 + 1e-9
    down = fly_commands(one(speed=250.0), CommandSchedule.from_lists([[(0, -100.0, 0, 0)]]), 30.0, limits=limits)
    assert down.hdot_fps[0, -1] == pytest.approx(-25.0, rel=1e-9)


def test_bank_roll_rate_and_yaw_rate_limits():
    huge_turn = CommandSchedule.from_lists([[(0, 0, 2.0, 0)]])
    flown = fly_commands(one(speed=300.0), huge_turn, 20.0)
    roll_steps = np.diff(flown.bank_rad[0])
    assert roll_steps.max() <= 0.524 * DT + 1e-12
    assert flown.bank_rad[0].max() <= math.radians(75.0) + 1e-12
    slow_yaw = fly_commands(one(speed=300.0), huge_turn, 20.0, limits=DynamicLimits(yaw_rate_max_rad_s=0.01))
    heading_rate = np.diff(slow_yaw.heading_rad[0]) / DT
    # with little pitch, heading rate ~ r cos(phi) + q sin(phi); r alone is capped
    assert heading_rate.max() < 0.01 / math.cos(slow_yaw.bank_rad[0].max()) + 0.02
    assert heading_rate.max() < np.diff(flown.heading_rad[0]).max() / DT


def _level_turn_bank_limit_rad(speed_fps, pitch_rate_max_rad_s, g_fps2=32.2):
    """mitll-reference 3.3 step 4 by hand for a level turn (pitch 0, no vertical or speed command):
    D = V^2 q^2 + 4 g^2, c = (-V q + sqrt(D)) / 2g, limit = min(75 deg, 0.98 acos c)."""
    v_q = speed_fps * pitch_rate_max_rad_s
    c = (-v_q + math.sqrt(v_q**2 + 4 * g_fps2**2)) / (2 * g_fps2)
    return min(math.radians(75.0), 0.98 * math.acos(c))


@pytest.mark.parametrize(
    ("speed_fps", "pitch_rate_max_deg_s", "expected_deg"),
    [
        (300.0, 3.0, 37.4771),
        (150.0, 3.0, 27.1388),
        (300.0, 57.3, 75.0),  # the last: the 75 deg bank limit binds
    ],
)
def test_a_hard_level_turn_saturates_at_the_dynamic_bank_limit(speed_fps, pitch_rate_max_deg_s, expected_deg):
    limit_rad = _level_turn_bank_limit_rad(speed_fps, math.radians(pitch_rate_max_deg_s))
    assert math.degrees(limit_rad) == pytest.approx(expected_deg, abs=1e-3)
    huge_turn = CommandSchedule.from_lists([[(0, 0, 2.0, 0)]])
    flown = fly_commands(
        one(speed=speed_fps),
        huge_turn,
        30.0,
        limits=DynamicLimits(pitch_rate_max_rad_s=math.radians(pitch_rate_max_deg_s)),
    )
    settled_bank = flown.bank_rad[0, -50:]
    # the turn holds the bank at the limit itself (the roll rate is cut to land on it)
    assert np.ptp(settled_bank) < 1e-9
    assert settled_bank[0] == pytest.approx(limit_rad, abs=1e-9)
    assert np.all(flown.bank_rad[0] <= limit_rad + 1e-12)
    assert np.all(flown.up_ft[0] == pytest.approx(1000.0, abs=1e-6))  # the pitch-rate limit still holds altitude


def test_pitch_rate_limit_is_a_parameter():
    fast_pitch = DynamicLimits(pitch_rate_max_rad_s=math.radians(6.0))
    flown = fly_commands(one(speed=200.0), CommandSchedule.from_lists([[(0, 20.0, 0, 0)]]), 2.0, limits=fast_pitch)
    assert flown.pitch_rad[0, 1] == pytest.approx(math.radians(6.0) * DT, rel=1e-12)


def test_vertical_only_integrator_for_balloons():
    schedule = CommandSchedule.from_lists([[(0, 5.0, 0, 0), (10, -2.0, 0, 0)]])
    flown = fly_vertical_only([100.0], schedule, 20.0, output_hz=1.0)
    assert flown.up_ft[0, 10] == pytest.approx(150.0) and flown.up_ft[0, 20] == pytest.approx(130.0)
    assert np.all(flown.north_ft == 0) and np.all(flown.east_ft == 0)


def test_inputs_are_validated():
    states = one()
    schedule = CommandSchedule.from_lists([[(0, 0, 0, 0)]])
    with pytest.raises(ValueError, match="multiple of dt_s"):
        fly_commands(states, schedule, 10.05)
    with pytest.raises(ValueError, match="output_hz"):
        fly_commands(states, schedule, 10.0, output_hz=3.0)
    with pytest.raises(ValueError, match="2 aircraft"):
        fly_commands(states, CommandSchedule.from_lists([[(0, 0, 0, 0)], [(0, 0, 0, 0)]]), 10.0)
    with pytest.raises(ValueError, match=r"t_s\[1\] = 0.25"):
        fly_commands(states, CommandSchedule.from_lists([[(0, 0, 0, 0), (0.25, 1, 0, 0)]]), 10.0)
    with pytest.raises(ValueError, match="increase"):
        CommandSchedule.from_lists([[(0, 0, 0, 0), (3, 1, 0, 0), (2, 0, 0, 0)]])
    with pytest.raises(ValueError, match="first row"):
        CommandSchedule.from_lists([[(1, 0, 0, 0)]])
    with pytest.raises(ValueError, match="minimum must be below"):
        fly_commands(states, schedule, 10.0, limits=DynamicLimits(speed_min_fps=2000.0))


def test_the_bank_limits_lower_bound_never_exceeds_the_limit():
    """The step computes the dynamic bank limit's arc cosine only when the bank could reach
    sqrt(2 (1 - c)) scaled (a lower bound of acos(c)): that bound must hold for every cosine c,
    compiled and plain, or a clamp would be skipped."""
    from encsim.dynamics._kernels import _bank_max, _bank_max_lower_bound

    rng = np.random.default_rng(7)
    near_one = 1.0 - np.logspace(-16, 0, 2000)
    cosines = np.concatenate([rng.uniform(-1.0, 1.0, 20000), near_one, -near_one, [-1.0, 0.0, 1.0, 1.5, -1.5, np.nan]])
    for c in cosines:
        for limited in (True, False):
            assert _bank_max_lower_bound.py_func(limited, c) <= _bank_max.py_func(limited, c)
            assert _bank_max_lower_bound(limited, c) <= _bank_max(limited, c)
