"""Plain-Python twins of the sensor, tracker and pilot kernels, on numpy's Philox.

Each twin recomputes what a kernel does from the documented model, with its own stream (numpy's
``Philox`` started one block below the slot's counter, see `encsim.random`), so the
tests compare the Numba kernels with an implementation that shares no code with them.
"""

from __future__ import annotations

import math

import numpy as np

from encsim.model_streams import slot_attempt

UINT64_MAX = 2**64 - 1
SURVEILLANCE, NAVIGATION, ALTIMETRY, PILOT = 3, 4, 5, 6


class Slot:
    """The draws of slot (sub_stream, step, component) of encounter (seed, encounter_id)."""

    def __init__(self, seed: int, encounter_id: int, sub_stream: int, step: int, component: int):
        counter = np.array([UINT64_MAX, sub_stream - 1, slot_attempt(step, component), 0], dtype=np.uint64)
        key = np.array([seed, encounter_id], dtype=np.uint64)
        self._bits = np.random.Philox(key=key, counter=counter)

    def uniform(self) -> float:
        return (int(self._bits.random_raw()) >> 11) * 2.0**-53

    def open0(self) -> float:
        return 1.0 - self.uniform()

    def normal(self) -> float:
        radius = math.sqrt(-2.0 * math.log(self.open0()))
        return radius * math.cos(2.0 * math.pi * self.uniform())

    def exponential(self, mean: float) -> float:
        return -mean * math.log(self.open0())

    def laplace(self, scale: float) -> float:
        t = self.uniform() + 2.0**-54
        return scale * math.log(2.0 * t) if t < 0.5 else -scale * math.log(2.0 * (1.0 - t))

    def gamma(self, shape: float, scale: float) -> float:
        if shape <= 0.0 or scale <= 0.0:
            return 0.0
        a = shape + 1.0 if shape < 1.0 else shape
        d = a - 1.0 / 3.0
        c = 1.0 / math.sqrt(9.0 * d)
        while True:
            x = self.normal()
            v = 1.0 + c * x
            if v <= 0.0:
                continue
            v = v**3
            if math.log(self.open0()) < 0.5 * x * x + d - d * v + d * math.log(v):
                break
        value = d * v
        if shape < 1.0:
            value *= self.open0() ** (1.0 / shape)
        return value * scale


def wrap_pi(angle: float) -> float:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def quantise(value: float, quantum: float) -> float:
    return quantum * math.floor(value / quantum + 0.5) if quantum > 0 else value


# ------------------------------------------------------------------ sensors


class GaussMarkovPair:
    """North and east errors of one Gauss-Markov quantity."""

    def __init__(self):
        self.north = self.east = None
        self.last_t = None

    def advance(self, t_s, sd, tau, slot: Slot):
        z_north, z_east = slot.normal(), slot.normal()
        if self.north is None:
            self.north, self.east = sd * z_north, sd * z_east
        else:
            phi = math.exp(-(t_s - self.last_t) / tau)
            gain = sd * math.sqrt(1.0 - phi * phi)
            self.north = phi * self.north + gain * z_north
            self.east = phi * self.east + gain * z_east
        self.last_t = t_s


def adsb_twin(seed, encounter_id, steps, own, intruder, altitude_bias_ft, p):
    """ADS-B reports of one encounter; ``p`` an AdsbParams."""
    ft_per_nm = 1852.0 / 0.3048
    position, velocity = GaussMarkovPair(), GaussMarkovPair()
    rows = []
    for step, o, i in zip(steps, own, intruder, strict=True):
        t_s = 0.1 * step
        position.advance(t_s, p.position_sd_ft, p.correlation_time_s, Slot(seed, encounter_id, SURVEILLANCE, step, 1))
        velocity.advance(t_s, p.velocity_sd_fps, p.correlation_time_s, Slot(seed, encounter_id, SURVEILLANCE, step, 2))
        distance = math.dist(o[:3], i[:3])
        row = [0.0] + [math.nan] * 6
        if distance <= p.max_range_nmi * ft_per_nm:
            drop = p.drop_probability_near if distance <= p.near_range_nmi * ft_per_nm else p.drop_probability_far
            if Slot(seed, encounter_id, SURVEILLANCE, step, 4).uniform() >= drop:
                vertical_error = Slot(seed, encounter_id, SURVEILLANCE, step, 3).laplace(
                    p.vertical_rate_laplace_scale_fps
                )
                row = [
                    1.0,
                    i[0] + position.north,
                    i[1] + position.east,
                    quantise(i[2] + altitude_bias_ft, p.altitude_quantum_ft),
                    i[3] + velocity.north,
                    i[4] + velocity.east,
                    i[5] + vertical_error,
                ]
        rows.append(row)
    return np.array(rows)


def polar(own, intruder):
    d = np.asarray(intruder[:3]) - np.asarray(own[:3])
    horizontal = math.hypot(d[0], d[1])
    distance = math.sqrt(horizontal**2 + d[2] ** 2)
    rate = float(np.dot(d, np.asarray(intruder[3:6]) - np.asarray(own[3:6]))) / distance if distance > 0 else 0.0
    return distance, rate, wrap_pi(math.atan2(d[1], d[0]) - own[6]), math.atan2(d[2], horizontal)


def radar_twin(seed, encounter_id, steps, own, intruder, p):
    """Radar measurements of one encounter and its biases; ``p`` a RadarParams."""
    deg = math.pi / 180.0
    bias_slot = Slot(seed, encounter_id, SURVEILLANCE, 0, 10)
    bounds = (p.range_bias_bound_ft, p.range_rate_bias_bound_fps, p.azimuth_bias_bound_deg * deg,
              p.elevation_bias_bound_deg * deg)  # fmt: skip
    biases = [b * (2.0 * bias_slot.uniform() - 1.0) for b in bounds]
    rows = []
    for step, o, i in zip(steps, own, intruder, strict=True):
        distance, rate, azimuth, elevation = polar(o, i)
        inside = abs(azimuth) <= p.azimuth_limit_deg * deg and abs(elevation) <= p.elevation_limit_deg * deg
        in_range = p.min_range_ft <= distance <= p.max_range_nmi * 1852.0 / 0.3048
        if not (inside and in_range):
            rows.append([0.0] + [math.nan] * 7)
            continue
        s = Slot(seed, encounter_id, SURVEILLANCE, step, 11)
        r = distance + biases[0] + p.range_sd_ft * s.normal()
        rr = rate + biases[1] + p.range_rate_sd_fps * s.normal()
        az = wrap_pi(azimuth + biases[2] + p.azimuth_sd_deg * deg * s.normal())
        el = elevation + biases[3] + p.elevation_sd_deg * deg * s.normal()
        bearing = o[6] + az
        rows.append([1.0, r, rr, az, el, r * math.cos(el) * math.cos(bearing), r * math.cos(el) * math.sin(bearing),
                     r * math.sin(el)])  # fmt: skip
    return np.array(rows), np.array(biases)


def active_twin(seed, encounter_id, steps, own, intruder, altitude_bias_ft, p):
    """Active surveillance of one encounter and its range bias; ``p`` an ActiveSurveillanceParams."""
    deg, ft_per_nm = math.pi / 180.0, 1852.0 / 0.3048
    bias = p.range_bias_bound_ft * (2.0 * Slot(seed, encounter_id, SURVEILLANCE, 0, 20).uniform() - 1.0)
    rows = []
    for step, o, i in zip(steps, own, intruder, strict=True):
        distance, _, azimuth, elevation = polar(o, i)
        if abs(azimuth) <= p.front_half_angle_deg * deg:
            limit = p.max_range_front_nmi
        elif abs(azimuth) >= math.pi - p.rear_half_angle_deg * deg:
            limit = p.max_range_rear_nmi
        else:
            limit = p.max_range_side_nmi
        visible = p.elevation_min_deg * deg <= elevation <= p.elevation_max_deg * deg and distance <= limit * ft_per_nm
        if not visible or Slot(seed, encounter_id, SURVEILLANCE, step, 22).uniform() >= p.detection_probability:
            rows.append([0.0] + [math.nan] * 6)
            continue
        s = Slot(seed, encounter_id, SURVEILLANCE, step, 21)
        r = max(distance + bias + p.range_sd_ft * s.normal(), 0.0)
        inner = abs(elevation) <= p.inner_elevation_deg * deg
        sd = (p.inner_bearing_sd_deg if inner else p.outer_bearing_sd_deg) * deg
        bound = (p.inner_bearing_bound_deg if inner else p.outer_bearing_bound_deg) * deg
        bearing = wrap_pi(azimuth + min(max(sd * s.normal(), -bound), bound))
        altitude = quantise(i[2] + altitude_bias_ft, p.altitude_quantum_ft)
        up = altitude - o[2]
        horizontal = math.sqrt(max(r * r - up * up, 0.0))
        rows.append([1.0, r, bearing, altitude, horizontal * math.cos(o[6] + bearing),
                     horizontal * math.sin(o[6] + bearing), up])  # fmt: skip
    return np.array(rows), bias


def navigation_twin(seed, encounter_id, steps, own, p):
    """GPS/INS estimates of one encounter; ``p`` a NavigationParams."""
    position, velocity = GaussMarkovPair(), GaussMarkovPair()
    rows = []
    for step, o in zip(steps, own, strict=True):
        t_s = 0.1 * step
        position.advance(
            t_s, p.position_sd_ft, p.position_correlation_time_s, Slot(seed, encounter_id, NAVIGATION, step, 1)
        )
        velocity.advance(
            t_s, p.velocity_sd_fps, p.velocity_correlation_time_s, Slot(seed, encounter_id, NAVIGATION, step, 2)
        )
        heading = wrap_pi(
            o[6] + p.heading_sd_deg * math.pi / 180.0 * Slot(seed, encounter_id, NAVIGATION, step, 3).normal()
        )
        vn, ve = o[3] + velocity.north, o[4] + velocity.east
        rows.append([o[0] + position.north, o[1] + position.east, o[2], vn, ve, o[5], heading, math.hypot(vn, ve)])
    return np.array(rows)


def altimetry_twin(seed, encounter_id, own_alt, intruder_alt, p):
    """(ownship bias, intruder bias, ownship scale, intruder scale); ``p`` an AltimetryParams."""

    def layer(alt):
        return sum(alt >= top for top in p.layer_tops_ft)

    own_scale = p.ownship_scale_ft[layer(own_alt)]
    j = layer(intruder_alt)
    same = Slot(seed, encounter_id, ALTIMETRY, 0, 2).uniform() < p.probability_ownship_scale[j]
    intruder_scale = p.ownship_scale_ft[j] if same else p.other_scale_ft[j]
    return (
        Slot(seed, encounter_id, ALTIMETRY, 0, 1).laplace(own_scale),
        Slot(seed, encounter_id, ALTIMETRY, 0, 3).laplace(intruder_scale),
        own_scale,
        intruder_scale,
    )


# ------------------------------------------------------------------ tracker


def cv_matrices(dt, q_h, q_v):
    F = np.eye(6)
    F[:3, 3:] = dt * np.eye(3)
    Q = np.zeros((6, 6))
    for axis, q in ((0, q_h), (1, q_h), (2, q_v)):
        Q[axis, axis] = q * dt**3 / 3.0
        Q[axis, axis + 3] = Q[axis + 3, axis] = q * dt**2 / 2.0
        Q[axis + 3, axis + 3] = q * dt
    return F, Q


def track_twin(times, z, measured, R, params):
    """The Kalman filter in textbook form (x = Fx, P = FPF' + Q; K = PH'S^-1, P = (I - KH)P)."""
    n = len(times)
    xs, Ps = np.full((n, 6), np.nan), np.full((n, 6, 6), np.nan)
    x = P = None
    for k in range(n):
        rows = np.flatnonzero(measured[k])
        if x is None:
            if rows.size == 0:
                continue
            x = np.where(measured[k], z[k], 0.0)
            P = np.where(np.outer(measured[k], measured[k]), R[k], 0.0)
            for i in range(6):
                if not measured[k, i]:
                    P[i, i] = (params.initial_position_sd_ft if i < 3 else params.initial_velocity_sd_fps) ** 2
        else:
            F, Q = cv_matrices(
                times[k] - times[k - 1], params.horizontal_accel_psd_ft2_s3, params.vertical_accel_psd_ft2_s3
            )
            x = F @ x
            P = F @ P @ F.T + Q
            if rows.size:
                H = np.eye(6)[rows]
                S = H @ P @ H.T + R[k][np.ix_(rows, rows)]
                K = P @ H.T @ np.linalg.inv(S)
                x = x + K @ (z[k][rows] - H @ x)
                P = (np.eye(6) - K @ H) @ P
        xs[k], Ps[k] = x, P
    return xs, Ps


# ------------------------------------------------------------------ R6 pilot


class R6Twin:
    """The R6 pilot as a plain-Python state machine; ``p`` an R6PilotParams."""

    IDLE, INITIAL, COORDINATING, EXECUTING, MANOEUVRING = range(5)

    def __init__(self, p, seed, encounter_id):
        self.p, self.seed, self.encounter_id = p, seed, encounter_id
        self.phase = self.IDLE
        self.phase_end = self.next_update = self.last_alert = 0.0
        self.dimension = 0
        self.direction = 0.0
        self.followed = False
        self.heading = self.altitude = 0.0

    def slot(self, step, component):
        return Slot(self.seed, self.encounter_id, PILOT, step, component)

    def interval(self, level, step):
        minimum, mean = self.p.update_min_s[level], self.p.update_mean_s[level]
        return minimum + (mean if self.p.deterministic else self.slot(step, 4).exponential(mean))

    @staticmethod
    def to_edge(heading, edge, direction):
        delta = (direction * (edge - heading)) % (2.0 * math.pi)
        return delta if delta <= math.pi else 0.0

    def target(self, step, resolutions, own):
        p, deg, s = self.p, math.pi / 180.0, self.slot(step, 8)
        if self.dimension == 1:
            edge = resolutions[0] if self.direction < 0 else resolutions[1]
            if self.followed:
                shape, scale, offset = p.turn_shape, p.turn_scale_deg * deg, p.turn_offset_deg * deg
            else:
                shape, scale, offset = (
                    p.alternate_turn_shape,
                    p.alternate_turn_scale_deg * deg,
                    p.alternate_turn_offset_deg * deg,
                )
            turn = min(max(self.to_edge(own[6], edge, self.direction) + offset + s.gamma(shape, scale), 0.0), math.pi)
            self.heading, self.altitude = wrap_pi(own[6] + self.direction * turn), own[2]
        else:
            edge = resolutions[2] if self.direction < 0 else resolutions[3]
            extra = p.altitude_offset_ft + s.gamma(p.altitude_shape, p.altitude_scale_ft)
            self.altitude = own[2] + self.direction * max(max(self.direction * (edge - own[2]), 0.0) + extra, 0.0)
            self.heading = own[6]

    def decide(self, step, level, resolutions, preferred, own):
        p = self.p
        has_h = not (math.isnan(resolutions[0]) and math.isnan(resolutions[1]))
        has_v = not (math.isnan(resolutions[2]) and math.isnan(resolutions[3]))
        if not (has_h or has_v):
            return False
        if has_h and has_v:
            vclass = 0 if own[5] <= 0 else (1 if own[5] <= p.vertical_rate_threshold_fpm / 60.0 else 2)
            p_turn = p.turn_probability[vclass][min(max(level, 1), 3) - 1]
            self.dimension = 1 if self.slot(step, 5).uniform() < p_turn else 2
        else:
            self.dimension = 1 if has_h else 2
        low = 0 if self.dimension == 1 else 2
        wanted = preferred[0 if self.dimension == 1 else 1]
        follow = self.slot(step, 6).uniform() < p.probability_follow_preferred
        self.followed = follow and wanted != 0
        if self.followed:
            self.direction = 1.0 if wanted > 0 else -1.0
        else:
            p_low = p.probability_turn_left if self.dimension == 1 else p.probability_descend
            self.direction = -1.0 if self.slot(step, 7).uniform() < p_low else 1.0
        if self.direction < 0 and math.isnan(resolutions[low]):
            self.direction = 1.0
        elif self.direction > 0 and math.isnan(resolutions[low + 1]):
            self.direction = -1.0
        self.target(step, resolutions, own)
        return True

    def edge_passed(self, resolutions):
        if self.dimension == 1:
            edge = resolutions[0] if self.direction < 0 else resolutions[1]
            return not math.isnan(edge) and self.to_edge(self.heading, edge, self.direction) > 0.0
        edge = resolutions[2] if self.direction < 0 else resolutions[3]
        return not math.isnan(edge) and self.direction * (edge - self.altitude) > 0.0

    def step(self, step, level, resolutions, preferred, own):
        p, t = self.p, 0.1 * step
        if level >= p.trigger_level:
            self.last_alert = t
        elif self.phase != self.IDLE and t - self.last_alert >= p.alert_hold_s:
            self.phase = self.IDLE
        if self.phase == self.IDLE and level >= p.trigger_level:
            self.phase = self.INITIAL
            self.phase_end = t + p.initial_delay_min_s + self.slot(step, 1).exponential(p.initial_delay_mean_s)
        if self.phase == self.INITIAL and t >= self.phase_end:
            self.phase = self.COORDINATING
            gamma = self.slot(step, 2).gamma(p.coordination_delay_shape, p.coordination_delay_scale_s)
            self.phase_end = t + p.coordination_delay_min_s + gamma
        if (
            self.phase == self.COORDINATING
            and t >= self.phase_end
            and self.decide(step, level, resolutions, preferred, own)
        ):
            self.phase = self.EXECUTING
            self.phase_end = t + p.execution_delay_min_s + self.slot(step, 3).exponential(p.execution_delay_mean_s)
        if self.phase == self.EXECUTING and t >= self.phase_end:
            self.phase = self.MANOEUVRING
            self.next_update = t + self.interval(level, step)
        elif self.phase == self.MANOEUVRING and t >= self.next_update:
            if level >= p.trigger_level and self.edge_passed(resolutions):
                self.target(step, resolutions, own)
            self.next_update = t + self.interval(level, step)
        if self.phase == self.MANOEUVRING:
            return [1.0, float(self.dimension), self.heading, self.altitude, self.direction]
        return [0.0, 0.0, own[6], own[2], 0.0]
