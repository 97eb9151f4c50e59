"""A small-UAS ownship flying a mission pattern, paired with a model-sampled manned intruder.

``[encounter] kind = "small_uas"``. The ownship is no model track: it flies one of the mission
patterns of `PATTERN_PRESETS` (the kinds of pattern MIT LL and ASTM F38 small-UAS studies use:
straight transit, lawnmower survey, orbit, out-and-back inspection, hover) with the performance of
one of `PERFORMANCE_PRESETS` (``multirotor``, ``fixed_wing``), level at an altitude drawn uniformly
in the scenario's band (50-400 ft AGL by default), at a speed drawn uniformly in the scenario's
range (the preset's cruise range by default). Its state at tCPA is the pattern's state at a mission
time drawn uniformly over one period of the pattern; the pattern repeats, so the encounter sees
whatever the mission flies from tCPA before to the end of the encounter after that moment.

The pattern becomes a command schedule (constant speed, level, piecewise-constant turn rate at
0.1-s resolution) that encsim's point-mass dynamics fly, in generation and in the closed loop
alike. The point-mass model cannot hover: its speed never drops below 1.7 ft/s (1.0 kt, the MIT LL
floor, `encsim.dynamics.DynamicLimits`) and it climbs only along its flight path. A hover is
therefore flown as station keeping: the multirotor circles at that floor speed at its 30 deg/s
turn rate, a circle of 3.2 ft radius, which stays far inside the 50-ft small-UAS NMAC cylinder.
The small UAS flies with dynamic limits of its own (`Performance.limits`: its speed envelope, its
500 ft/min, and a pitch-rate limit of 30 deg/s instead of the manned aircraft's 3 deg/s, without
which the dynamics could not bank enough for its turns), in generation and in the closed loop
(`EncounterSet.own_limits`; the run's provenance records them, so replays fly them too).

The intruder, the screen, the geometry (intruder heading at CPA by relative speed, signed HMD from
the proposal, VMD acceptance on the natural relative altitude at tCPA), the placement and the
importance weights are the pairing's (`encsim.encounters.pairing`, `encsim.encounters.steps`):
this source overrides only the ownship's sample step. The ownship's draws come from the same
sub-stream 0 (seed, encounter id; attempt) a model ownship would use: mission phase, speed,
altitude and turning sense, in that order.

Which numbers come from a source and which are judgement: docs/encounter_sources.md.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import units
from ..checksums import text_sha256
from ..commands import CommandSchedule, InitialStates
from ..dynamics import ROLL_RATE_MAX_RAD_S, DynamicLimits
from ..random import uniforms
from .pairing import UncorrelatedPairing
from .steps import OWNSHIP_SUB_STREAM

#: schedule resolution: segment durations and mission phases are whole 0.1-s steps (the dynamics' step)
STEP_S = 0.1
#: the point-mass model's lowest speed (ft/s): a hovering ownship flies at it (module docstring)
HOVER_SPEED_FPS = DynamicLimits().speed_min_fps
#: pitch-rate limit of a small UAS in the dynamics (judgement: the MIT LL 3 deg/s of manned aircraft
#: caps the bank, through the dynamics' bank limit, at 9-19 deg at small-UAS speeds, too little for
#: the presets' turns; small UAS pitch and roll far faster than that)
PITCH_RATE_LIMIT_DEG_S = 30.0
#: pattern turns bank at most this much (judgement): the point-mass model rolls at 30 deg/s at most,
#: so a steeper bank takes long enough to roll into and out of that it distorts the turn's
#: geometry (a 300-ft lawnmower spacing flown at 40 kt and 44 deg of bank came out 400 ft wide)
PATTERN_BANK_LIMIT_DEG = 30.0
#: shortest arc of an omega turn, s (judgement: a few times the 1-2 s the dynamics take to roll into it)
MIN_OMEGA_ARC_S = 3.0
#: margin on the stability of the dynamics' roll loop that pattern turns keep (`pattern_bank_limit_rad`)
_ROLL_LOOP_MARGIN = 1.2
#: slowest speed of a pattern that turns (all but transit and hover), kt: below it the roll loop
#: leaves pattern turns too little bank (`pattern_bank_limit_rad`: 17 deg at 25 kt, none at 23 kt)
MIN_TURNING_SPEED_KT = 25.0


def pattern_bank_limit_rad(speed_fps: float) -> float:
    """The steepest bank of a pattern turn at ``speed_fps``.

    `PATTERN_BANK_LIMIT_DEG`, or less where the dynamics' roll loop would be unstable: it corrects
    the turn-rate error with a gain of 20/s at 10 Hz, and d(turn rate)/d(bank) = g / (V cos^2(bank)),
    so one step's correction overshoots (gain x 0.1 s x g / (V cos^2) > 2) when V cos^2(bank) < g x 1 s.
    Pattern turns keep V cos^2(bank) >= 1.2 g x 1 s; the slowest cruise speeds are chosen so that
    some bank remains (25 kt: 17 deg).
    """
    cos2 = _ROLL_LOOP_MARGIN * units.G_FPS2 * 1.0 / speed_fps
    stable = math.acos(math.sqrt(min(cos2, 1.0)))
    return min(math.radians(PATTERN_BANK_LIMIT_DEG), stable)


@dataclass(frozen=True)
class Performance:
    """A small-UAS performance preset: speed envelope, the cruise speeds a moving pattern is flown at,
    the vertical rate, and the turn capability (a turn-rate limit, or a bank limit for a fixed wing)."""

    name: str
    min_speed_kt: float
    max_speed_kt: float
    cruise_speed_kt: tuple[float, float]
    max_vertical_rate_fpm: float
    max_turn_rate_deg_s: float | None = None
    max_bank_deg: float | None = None
    can_hover: bool = False

    def limits(self) -> DynamicLimits:
        """The dynamic limits it flies with: its speed envelope (not below the model's 1.7-ft/s floor),
        its vertical rate, and a pitch-rate limit of `PITCH_RATE_LIMIT_DEG_S` (module docstring)."""
        return DynamicLimits(
            speed_min_fps=max(units.kt_to_fps(self.min_speed_kt), HOVER_SPEED_FPS),
            speed_max_fps=units.kt_to_fps(self.max_speed_kt),
            hdot_min_fps=-units.fpm_to_fps(self.max_vertical_rate_fpm),
            hdot_max_fps=units.fpm_to_fps(self.max_vertical_rate_fpm),
            pitch_rate_max_rad_s=math.radians(PITCH_RATE_LIMIT_DEG_S),
        )

    def max_turn_rate_rad_s(self, speed_fps: float) -> float:
        """The fastest turn at ``speed_fps``: the turn-rate limit, or g tan(bank limit) / V."""
        if self.max_turn_rate_deg_s is not None:
            return math.radians(self.max_turn_rate_deg_s)
        return units.G_FPS2 * math.tan(math.radians(self.max_bank_deg)) / speed_fps

    def pattern_turn_rate_rad_s(self, speed_fps: float) -> float:
        """The tightest turn a pattern flies at ``speed_fps``: the fastest turn, at no more than
        `pattern_bank_limit_rad` of bank (module docstring)."""
        gentle = units.G_FPS2 * math.tan(pattern_bank_limit_rad(speed_fps)) / speed_fps
        return min(self.max_turn_rate_rad_s(speed_fps), gentle)


PERFORMANCE_PRESETS = {
    # the envelopes (0-40 kt, 500 ft/min, 30 deg/s, hover; 30-60 kt, 500 ft/min, 30 deg bank);
    # the multirotor's 25-40 kt cruise range for moving patterns is judgement: a 0-kt transit is a
    # hover, and below about 19 kt (V < g x 1 s) the dynamics' roll loop (gain 20/s at 10 Hz) is
    # unstable even level, so turns at those speeds wander (pattern_bank_limit_rad)
    "multirotor": Performance("multirotor", 0.0, 40.0, (25.0, 40.0), 500.0, max_turn_rate_deg_s=30.0, can_hover=True),
    "fixed_wing": Performance("fixed_wing", 30.0, 60.0, (30.0, 60.0), 500.0, max_bank_deg=30.0),
}


@dataclass(frozen=True)
class Pattern:
    """A mission pattern preset (lengths in ft, duration in s; zero where a kind does not use one)."""

    name: str
    kind: str
    length_ft: float = 0.0
    spacing_ft: float = 0.0
    radius_ft: float = 0.0
    hover_s: float = 0.0


PATTERN_PRESETS = {
    "transit": Pattern("transit", "transit", length_ft=2.0 * units.FT_PER_NM),
    "lawnmower": Pattern("lawnmower", "lawnmower", length_ft=2000.0, spacing_ft=300.0),
    "orbit": Pattern("orbit", "orbit", radius_ft=1000.0),
    "out_and_back": Pattern("out_and_back", "out_and_back", length_ft=1.0 * units.FT_PER_NM),
    "hover": Pattern("hover", "hover", hover_s=60.0),
}


def _steps(duration_s: float) -> int:
    return max(1, int(round(duration_s / STEP_S)))


def _turn(angle_rad: float, rate_rad_s: float) -> tuple[int, float]:
    """A turn through ``angle_rad`` (signed: positive right) at about ``rate_rad_s``: whole steps, and the
    rate adjusted so that the commanded angle is exact."""
    n = _steps(abs(angle_rad) / rate_rad_s)
    return n, angle_rad / (n * STEP_S)


def _straight(length_ft: float, speed_fps: float) -> tuple[int, float]:
    return _steps(length_ft / speed_fps), 0.0


def u_turn(offset_ft: float, speed_fps: float, max_rate_rad_s: float) -> list[tuple[int, float]]:
    """Reverse course onto a parallel line ``offset_ft`` to the right (0: back along the same line).

    One half circle of radius offset/2 when the aircraft turns that tightly; otherwise an omega
    turn of radius r: left by beta, right by 180 deg + 2 beta, left by beta, with
    cos(beta) = (offset / (2 r) + 1) / 2, which lands exactly on the parallel line; r is the
    tightest radius, widened until the short arcs last `MIN_OMEGA_ARC_S` (shorter ones end before
    the aircraft has rolled into them).
    """
    r_min = speed_fps / max_rate_rad_s
    if offset_ft >= 2.0 * r_min:
        return [_turn(math.pi, speed_fps / (offset_ft / 2.0))]
    radius = r_min
    beta = math.acos((offset_ft / (2.0 * radius) + 1.0) / 2.0)
    while beta * radius / speed_fps < MIN_OMEGA_ARC_S:  # a wider omega, so the aircraft can roll into its arcs
        radius *= 1.05
        beta = math.acos((offset_ft / (2.0 * radius) + 1.0) / 2.0)
    rate = speed_fps / radius
    return [_turn(-beta, rate), _turn(math.pi + 2.0 * beta, rate), _turn(-beta, rate)]


def pattern_segments(pattern: Pattern, performance: Performance, speed_fps: float) -> list[tuple[int, float]]:
    """One period of the pattern as (steps of 0.1 s, turn rate rad/s) segments, turning right first.

    Raises
    ------
    ValueError
        For a hover with a performance that cannot hover, or an orbit tighter than the aircraft turns.
    """
    rate = performance.pattern_turn_rate_rad_s(speed_fps)
    if pattern.kind == "transit":
        return [_straight(pattern.length_ft, speed_fps)]
    if pattern.kind == "lawnmower":
        mirrored = [(n, -w) for n, w in u_turn(pattern.spacing_ft, speed_fps, rate)]
        leg = _straight(pattern.length_ft, speed_fps)
        return [leg, *u_turn(pattern.spacing_ft, speed_fps, rate), leg, *mirrored]
    if pattern.kind == "orbit":
        orbit_rate = speed_fps / pattern.radius_ft
        if orbit_rate > rate * (1.0 + 1e-12):
            raise ValueError(
                f"orbit of {pattern.radius_ft:g} ft at {units.fps_to_kt(speed_fps):.1f} kt needs "
                f"{math.degrees(orbit_rate):.1f} deg/s; {performance.name} turns at most {math.degrees(rate):.1f} deg/s"
            )
        return [_turn(2.0 * math.pi, orbit_rate)]
    if pattern.kind == "out_and_back":
        leg = _straight(pattern.length_ft, speed_fps)
        back = u_turn(0.0, speed_fps, rate)
        return [leg, *back, leg, *back]
    if pattern.kind == "hover":
        if not performance.can_hover:
            raise ValueError(f"pattern {pattern.name}: {performance.name} cannot hover (use multirotor)")
        return [(_steps(pattern.hover_s), performance.max_turn_rate_rad_s(speed_fps))]
    raise ValueError(f"unknown pattern kind {pattern.kind!r}")


def _bank_rad(rate_rad_s: float, speed_fps: float) -> float:
    return math.atan(speed_fps * rate_rad_s / units.G_FPS2)


def with_roll_lead(segments, speed_fps: float) -> list[tuple[int, float]]:
    """The periodic ``segments`` with every change of turn rate commanded early by half the time the
    dynamics take to roll to the new bank at their roll-rate limit, so that the flown turn rate
    ramps around the intended change instead of after it, and each turn's heading change and
    placement come out as intended. Same period, same mission time origin (the change into the
    first segment, moved before the period's end, makes a short last segment)."""
    n = len(segments)
    if n < 2:
        return list(segments)
    leads = []
    for k in range(n):  # lead of the change into segment k (from segment k - 1, periodically)
        change = abs(_bank_rad(segments[k][1], speed_fps) - _bank_rad(segments[k - 1][1], speed_fps))
        leads.append(int(round(change / ROLL_RATE_MAX_RAD_S / 2.0 / STEP_S)))
    # segment k now runs from (its start - leads[k]) to (its end - leads[k + 1])
    led = [(segments[k][0] - leads[(k + 1) % n] + leads[k], segments[k][1]) for k in range(n)]
    led[0] = (led[0][0] - leads[0], led[0][1])
    if leads[0]:
        led.append((leads[0], segments[0][1]))
    if min(steps for steps, _ in led) < 1:
        return list(segments)  # segments too short to lead: flown as commanded
    return led


def commanded_segments(pattern: Pattern, performance: Performance, speed_fps: float, sense: float = 1.0):
    """One period of the commands flying ``pattern``: its segments, mirrored for ``sense`` = -1 (turning
    left first), with the roll lead of `with_roll_lead`."""
    segments = [(n, sense * rate) for n, rate in pattern_segments(pattern, performance, speed_fps)]
    return with_roll_lead(segments, speed_fps)


def mission_rows(segments, start_step: int, duration_s: float) -> list[tuple[float, float, float, float]]:
    """Schedule rows ``(t_s, hdot_fps, psidot_rad_s, vdot_fps2)`` of the periodic ``segments`` flown
    from mission step ``start_step`` for ``duration_s`` (a row wherever the turn rate changes)."""
    ends = np.cumsum([n for n, _ in segments])
    period = int(ends[-1])
    total = _steps(duration_s)
    rows, step, last = [], start_step % period, None
    t = 0
    while t < total:
        k = int(np.searchsorted(ends, step, side="right"))
        rate = segments[k][1]
        if rate != last:
            rows.append((t * STEP_S, 0.0, rate, 0.0))
            last = rate
        advance = int(ends[k]) - step
        t += advance
        step = (step + advance) % period
    return rows


@dataclass(frozen=True)
class Mission:
    """The scenario's ownship mission: pattern, performance, altitude band and speed range."""

    pattern: Pattern
    performance: Performance
    alt_ft: tuple[float, float]
    speed_kt: tuple[float, float]

    @classmethod
    def from_spec(cls, spec) -> Mission:
        performance = PERFORMANCE_PRESETS[spec.performance]
        speed = performance.cruise_speed_kt if spec.speed_kt is None else tuple(spec.speed_kt)
        mission = cls(PATTERN_PRESETS[spec.pattern], performance, tuple(spec.alt_ft), speed)
        mission.check()
        return mission

    def check(self) -> None:
        """Refuse a mission the aircraft cannot fly: a hover without hover, turns below
        `MIN_TURNING_SPEED_KT`, an orbit too tight at top speed."""
        turning = self.pattern.kind not in ("transit", "hover")
        if turning and self.speed_kt[0] < MIN_TURNING_SPEED_KT:
            raise ValueError(
                f"pattern {self.pattern.name} turns, and the point-mass dynamics fly turns reliably only from "
                f"{MIN_TURNING_SPEED_KT:g} kt (their roll loop is unstable below about 19 kt): speed_kt = "
                f"{list(self.speed_kt)} starts below it"
            )
        for speed_kt in self.speed_kt:
            pattern_segments(self.pattern, self.performance, max(units.kt_to_fps(speed_kt), HOVER_SPEED_FPS))

    def speed_fps(self, u: float) -> float:
        if self.pattern.kind == "hover":
            return HOVER_SPEED_FPS
        low, high = self.speed_kt
        return max(units.kt_to_fps(low + u * (high - low)), HOVER_SPEED_FPS)

    def description(self) -> str:
        """JSON of every number the mission uses (its sha256 stands in for a model file's in provenance)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


@dataclass(frozen=True)
class MissionSample:
    """Small-UAS missions, one per row: ``initial`` (``track_id``, ``alt_ft``, ``speed_kt``,
    ``mission_time_tcpa_s``, ``period_s``, ``sense`` +1 right-hand / -1 mirrored) and the command
    ``schedule`` the dynamics fly from the encounter's start."""

    initial: pd.DataFrame
    schedule: CommandSchedule
    limits: DynamicLimits

    @property
    def n_tracks(self) -> int:
        return len(self.initial)

    def initial_states(self) -> InitialStates:
        """Level, heading north at the origin, banked for the turn rate of the first row."""
        first_rate = self.schedule.psidot_rad_s[self.schedule.offsets[:-1]]
        return InitialStates.from_rates(
            units.kt_to_fps(self.initial["speed_kt"].to_numpy()), self.initial["alt_ft"].to_numpy(), 0.0, first_rate
        )

    def take(self, positions) -> MissionSample:
        positions = np.asarray(positions, dtype=np.int64)
        rows = [self.schedule.rows_of(int(i)) for i in positions]
        return MissionSample(self.initial.iloc[positions].reset_index(drop=True), _schedule_of(rows), self.limits)

    @staticmethod
    def concatenate(parts: list[MissionSample]) -> MissionSample:
        rows = [part.schedule.rows_of(i) for part in parts for i in range(part.n_tracks)]
        initial = pd.concat([part.initial for part in parts], ignore_index=True)
        return MissionSample(initial, _schedule_of(rows), parts[0].limits)


def _schedule_of(rows: list[dict]) -> CommandSchedule:
    counts = np.array([len(r["t_s"]) for r in rows], dtype=np.int64)
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])

    def joined(name):
        return np.concatenate([r[name] for r in rows]) if rows else np.zeros(0)

    return CommandSchedule.trusted(offsets, *(joined(n) for n in ("t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2")))


def sample_missions(mission: Mission, seed, ids, attempts, tcpa_s: float, duration_s: float) -> MissionSample:
    """The ownship's **sample** step: mission phase, speed, altitude and sense of each (id, attempt)
    from sub-stream 0, and the schedule flown from tCPA before the drawn phase."""
    table, schedules = [], []
    for encounter_id, attempt in zip(ids, attempts):
        u_phase, u_speed, u_alt, u_sense = uniforms(int(seed), int(encounter_id), OWNSHIP_SUB_STREAM, int(attempt), 4)
        speed_fps = mission.speed_fps(u_speed)
        sense = 1.0 if u_sense < 0.5 else -1.0
        segments = commanded_segments(mission.pattern, mission.performance, speed_fps, sense)
        period = int(sum(n for n, _ in segments))
        phase = min(int(u_phase * period), period - 1)  # uniform over the period's 0.1-s steps
        alt_low, alt_high = mission.alt_ft
        table.append(
            (
                int(encounter_id),
                alt_low + u_alt * (alt_high - alt_low),
                units.fps_to_kt(speed_fps),
                phase * STEP_S,
                period * STEP_S,
                sense,
            )
        )
        schedules.append(mission_rows(segments, phase - _steps(tcpa_s), duration_s))
    initial = pd.DataFrame(
        table, columns=["track_id", "alt_ft", "speed_kt", "mission_time_tcpa_s", "period_s", "sense"]
    ).astype({"track_id": np.int64})
    return MissionSample(initial, CommandSchedule.from_lists(schedules), mission.performance.limits())


class SmallUasSource(UncorrelatedPairing):
    """A small-UAS mission ownship (scenario ``[ownship]``: pattern, performance, altitudes, speeds)
    paired with a model intruder exactly as `UncorrelatedPairing` pairs two model tracks."""

    kind = "small_uas"

    def __init__(self, scenario):
        super().__init__(scenario)
        self.own_limits = self.ownship.performance.limits()

    def _ownship_aircraft(self) -> Mission:
        return Mission.from_spec(self.scenario.ownship)

    def provenance(self) -> dict:
        mission = self.ownship
        return {
            "ownship_model": f"small_uas:{mission.pattern.name}/{mission.performance.name}",
            "ownship_model_sha256": text_sha256(mission.description()),
            "intruder_model": self.intruder.model.name,
            "intruder_model_sha256": self.intruder.model.sha256,
        }

    def sample_ownship(self, seed, ids, attempts, sampler_rejects):
        geometry = self.scenario.geometry
        return sample_missions(self.ownship, seed, ids, attempts, geometry.tcpa_s, geometry.duration_s)

    def ownship_rejections(self, own_tracks, placed) -> dict:
        return {}  # level at a drawn altitude and speed inside the mission's ranges: nothing to filter

    def extra_columns(self, own_tracks, good) -> dict:
        initial = own_tracks.initial
        return {
            "own_mission_time_tcpa_s": initial["mission_time_tcpa_s"].to_numpy()[good],
            "own_mission_period_s": initial["period_s"].to_numpy()[good],
            "own_mission_sense": initial["sense"].to_numpy()[good],
        }
