"""Numba kernels of the 10-Hz point-mass aircraft model (mitll-reference section 3.3-3.4).

State (V, N, E, h, psi, theta, phi): airspeed ft/s, north/east/up ft, heading rad (clockwise from
north, not wrapped), pitch rad, bank rad. Commands (hdot_c ft/s, psidot_c rad/s, a_c ft/s^2) are
tracked in one forward-Euler step of dt under pitch-rate, yaw-rate, roll-rate and bank limits,
with all rates evaluated at the old state (the DEGAS / MIT LL "run_dynamics_fast" physics).
"""

from __future__ import annotations

import math

from numba import njit, prange

from ..commands import MIN_DIVISOR_SPEED_FPS
from ..units import G_FPS2

#: bank limit, rad (75 deg)
BANK_LIMIT_RAD = math.radians(75.0)
#: roll-rate limit, rad/s (about 30 deg/s)
ROLL_RATE_MAX_RAD_S = 0.524
#: proportional gain from turn-rate error to roll rate, 1/s
TURN_RATE_GAIN_PER_S = 20.0
#: fraction of the bank angle at which the vertical-acceleration capability runs out
DYNAMIC_BANK_MARGIN = 0.98
#: the upper speed clamp stays this far below V_max, ft/s (as the reference)
SPEED_MAX_MARGIN_FPS = 1e-6

# indices of the per-aircraft limit rows
SPEED_MIN, SPEED_MAX, HDOT_MIN, HDOT_MAX, PITCH_RATE_MAX, YAW_RATE_MAX = range(6)


@njit(cache=True, inline="always")
def _clip(value, lo, hi):
    return min(max(value, lo), hi)


@njit(cache=True, inline="always")
def _bank_max(limited, c):
    """The bank limit; with a dynamic limit (``limited``), the least of it and the one of cosine ``c``."""
    if not limited:
        return BANK_LIMIT_RAD
    extra = DYNAMIC_BANK_MARGIN * math.acos(c) if abs(c) < 1.0 else 0.0
    return min(BANK_LIMIT_RAD, extra)


@njit(cache=True, inline="always")
def _bank_max_lower_bound(limited, c):
    """A lower bound of `_bank_max` (c) without its arc cosine: acos(c) = 2 asin(sqrt((1 - c) / 2)) is at
    least sqrt(2 (1 - c)), as asin(x) >= x; the factor below 1 covers the roundings of both sides."""
    if not limited:
        return BANK_LIMIT_RAD
    if not abs(c) < 1.0:
        return 0.0
    return min(BANK_LIMIT_RAD, DYNAMIC_BANK_MARGIN * (1.0 - 1e-9) * math.sqrt(2.0 * (1.0 - c)))


@njit(cache=True)
def step(
    speed,
    north,
    east,
    up,
    heading,
    pitch,
    bank,
    hdot_cmd,
    psidot_cmd,
    accel_cmd,
    speed_min,
    speed_max,
    hdot_min,
    hdot_max,
    q_max,
    r_max,
    dt,
):
    """One integration step; returns the new (speed, north, east, up, heading, pitch, bank)."""
    return step_with_trig(
        speed,
        north,
        east,
        up,
        heading,
        pitch,
        bank,
        math.cos(pitch),
        math.sin(pitch),
        math.cos(heading),
        math.sin(heading),
        hdot_cmd,
        psidot_cmd,
        accel_cmd,
        speed_min,
        speed_max,
        hdot_min,
        hdot_max,
        q_max,
        r_max,
        dt,
    )


@njit(cache=True)
def step_with_trig(
    speed,
    north,
    east,
    up,
    heading,
    pitch,
    bank,
    cos_theta,
    sin_theta,
    cos_psi,
    sin_psi,
    hdot_cmd,
    psidot_cmd,
    accel_cmd,
    speed_min,
    speed_max,
    hdot_min,
    hdot_max,
    q_max,
    r_max,
    dt,
):
    """`step` given the cosine and sine of the state's pitch (``cos_theta``, ``sin_theta``) and heading
    (``cos_psi``, ``sin_psi``): the closed loop computes them once for its state vector and this step."""
    # Expressions keep the order of operations of the plain twin in the tests: the roll loop
    # (gain 20 per s at 10 Hz) can sit in a limit cycle that amplifies rounding differences.
    g = G_FPS2
    tan_theta = math.tan(pitch)
    cos_phi = math.cos(bank)
    sin_phi = math.sin(bank)
    v_div = max(speed, MIN_DIVISOR_SPEED_FPS)

    # 1. vertical rate command reached in one step
    hdot_cmd = _clip(hdot_cmd, hdot_min, hdot_max)
    hddot_cmd = (hdot_cmd - speed * sin_theta) / dt
    # 2. pitch rate
    q = (hddot_cmd / cos_theta + g * cos_theta * sin_phi**2 - accel_cmd * tan_theta) / (v_div * cos_phi)
    q = _clip(q, -q_max, q_max)
    # 3. coordinated yaw rate
    r = _clip(g * sin_phi * cos_theta / v_div, -r_max, r_max)
    # 4. dynamic bank limit: the bank at which the pitch-rate limit still holds the vertical command
    hddot_bank = min(hddot_cmd, v_div * q_max * cos_phi * cos_theta)
    disc = v_div**2 * q_max**2 - 4 * g * accel_cmd * sin_theta + 4 * g * hddot_bank + 4 * g**2 * cos_theta**2
    limited = disc >= 0.0  # else no dynamic limit: the bank limit alone
    c = 0.0
    if limited:
        c = (-v_div * q_max + math.sqrt(disc)) / (2 * g * cos_theta)
    # 5. roll rate toward the commanded turn rate, within the roll-rate and bank limits
    psidot_frozen = (q * sin_phi + r * cos_phi) / cos_theta
    p = _clip(TURN_RATE_GAIN_PER_S * (psidot_cmd - psidot_frozen), -ROLL_RATE_MAX_RAD_S, ROLL_RATE_MAX_RAD_S)
    if abs(bank + p * dt) > _bank_max_lower_bound(limited, c):  # else neither limit binds: no arc cosine needed
        bank_max = _bank_max(limited, c)
        if bank + p * dt > bank_max:
            p = (bank_max - bank) / dt
        if bank + p * dt < -bank_max:
            p = (-bank_max - bank) / dt
    # 6. Euler-angle rates
    bank_rate = p + q * sin_phi * tan_theta + r * cos_phi * tan_theta
    pitch_rate = q * cos_phi - r * sin_phi
    heading_rate = (q * sin_phi + r * cos_phi) / cos_theta
    # 7. kinematics (no wind)
    north_rate = speed * cos_theta * cos_psi
    east_rate = speed * cos_theta * sin_psi
    up_rate = speed * sin_theta
    # 8. forward Euler, then the speed clamp
    speed = speed + accel_cmd * dt
    if speed < speed_min:
        speed = speed_min
    if speed >= speed_max:
        speed = speed_max - SPEED_MAX_MARGIN_FPS
    return (
        speed,
        north + north_rate * dt,
        east + east_rate * dt,
        up + up_rate * dt,
        heading + heading_rate * dt,
        pitch + pitch_rate * dt,
        bank + bank_rate * dt,
    )


@njit(cache=True)
def _record(out, a, m, speed, north, east, up, heading, pitch, bank):
    out[0, a, m] = north
    out[1, a, m] = east
    out[2, a, m] = up
    out[3, a, m] = speed
    out[4, a, m] = heading
    out[5, a, m] = pitch
    out[6, a, m] = bank
    out[7, a, m] = speed * math.sin(pitch)


@njit(parallel=True, cache=True, nogil=True)
def fly_kernel(
    init, offsets, row_step, hdot_cmd, psidot_cmd, accel_cmd, limits, n_steps, stride, lead, dt, out, extremes
):
    """Fly every aircraft for ``n_steps`` steps, recording every ``stride``-th sample.

    init: (7, n) speed, north, east, up, heading, pitch, bank. Schedule rows ``offsets[a]:offsets[a+1]``
    start at step ``row_step``. The step producing sample i uses the last row with
    ``row_step <= i - 1`` (a command acts from its own time on), or ``<= i`` when ``lead`` (the
    reference's one-step lead). limits: (6, n). out: (8, n, n_records) north, east, up, speed,
    heading, pitch, bank, vertical rate. extremes: (4, n) minimum and maximum altitude and speed over
    every 10-Hz sample, whatever the recording rate (for track-level limits).
    """
    n = init.shape[1]
    for a in prange(n):
        speed = init[0, a]
        north = init[1, a]
        east = init[2, a]
        up = init[3, a]
        heading = init[4, a]
        pitch = init[5, a]
        bank = init[6, a]
        _record(out, a, 0, speed, north, east, up, heading, pitch, bank)
        up_min = up
        up_max = up
        speed_lo = speed
        speed_hi = speed
        row = offsets[a]
        last_row = offsets[a + 1] - 1
        shift = 0 if lead else 1
        for i in range(1, n_steps + 1):
            while row < last_row and row_step[row + 1] <= i - shift:
                row += 1
            speed, north, east, up, heading, pitch, bank = step(
                speed,
                north,
                east,
                up,
                heading,
                pitch,
                bank,
                hdot_cmd[row],
                psidot_cmd[row],
                accel_cmd[row],
                limits[SPEED_MIN, a],
                limits[SPEED_MAX, a],
                limits[HDOT_MIN, a],
                limits[HDOT_MAX, a],
                limits[PITCH_RATE_MAX, a],
                limits[YAW_RATE_MAX, a],
                dt,
            )
            if i % stride == 0:
                _record(out, a, i // stride, speed, north, east, up, heading, pitch, bank)
            up_min = min(up_min, up)
            up_max = max(up_max, up)
            speed_lo = min(speed_lo, speed)
            speed_hi = max(speed_hi, speed)
        extremes[0, a] = up_min
        extremes[1, a] = up_max
        extremes[2, a] = speed_lo
        extremes[3, a] = speed_hi
