"""Recorded encounters: a .daa recording turned into what encsim's closed loop flies (issue 20).

A recording (`encsim.io.daa_file.read_daa`: the first aircraft is the ownship, the first traffic
aircraft the intruder) becomes, per aircraft, initial states (`InitialStates`) and a 10-Hz
`CommandSchedule` that encsim's point-mass dynamics (`encsim.dynamics.fly_commands`) turn back
into the recorded track:

1. **Reference track.** Both aircraft on one 10-Hz grid from the first to the last time both have
   data (linear interpolation of the recorded positions); a geodetic file is projected once onto
   the plane tangent to DAIDALUS's sphere at the ownship's first position (`project_to_plane`), and
   the frame is moved so the ownship starts at east = north = 0. The file's velocities are not
   used: rates come from the positions and the **altitude track** (the NRC files' vz sign is
   inconsistent, ../shared/data/nrc-intercepts/README.md). Positions and their first and second
   derivatives are smoothed with a Savitzky-Golay filter (quadratic, `SMOOTHING_WINDOW_S`).
2. **Commands.** Each 0.1 s the schedule gets one row, found by flying encsim's dynamics one step
   from where the previous rows left the aircraft (so the schedule re-flies exactly what was
   fitted): vertical rate = the altitude track's rate + `ALTITUDE_GAIN_PER_S` x the altitude error;
   turn rate = the track's turn rate (from its heading changes, taken `TURN_LEAD_S` ahead for the
   roll-in) + `HEADING_GAIN_PER_S` x the heading error toward the reference point
   `PURSUIT_S` ahead (further when behind); longitudinal acceleration toward the track's ground speed
   corrected by the along-track error (`ALONG_TRACK_GAIN_PER_S`, at most `ALONG_TRACK_MAX_FRACTION`
   of the speed) and the vertical rate, over `SPEED_TIME_CONSTANT_S`.
3. **Limits.** The MIT LL defaults (`DynamicLimits`), except the pitch-rate limit: 3 deg/s caps the
   bank of the point-mass model (the dynamic bank limit) at about 30 deg at 100 kt, and recorded
   intercepts turn at up to 30 deg/s. Each aircraft gets max(3 deg/s, `PITCH_RATE_MARGIN` x the
   largest pitch rate its recorded turns need, psidot sin(bank) with tan(bank) = V psidot / g),
   kept in `RecordedEncounter.limits`; the closed loop must fly these aircraft with them.

How closely the schedules re-fly the twelve NRC intercepts is tested in
tests/test_recorded_encounters.py (horizontal and altitude errors against the recorded track).

Closest approach of the recording: the minimum horizontal range on the grid (encsim's HMD, as
`encsim.metrics.separation_metrics` defines it), its time (TCA) and the altitude difference there;
``ends_before_cpa`` flags a recording whose range is still decreasing at its last sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import units
from ..commands import CommandSchedule, InitialStates
from ..dynamics import DT_S, DynamicLimits, Trajectories, fly_commands
from ..io.daa_file import DaaFile, project_to_plane, read_daa

__all__ = [
    "RecordedEncounter",
    "RecordedEncounterError",
    "RecordedTrack",
    "recorded_encounter",
    "recorded_paths",
    "required_pitch_rate_rad_s",
]

#: Savitzky-Golay window of the reference track (21 samples at 10 Hz)
SMOOTHING_WINDOW_S = 2.0
#: the track's turn rate is commanded this much ahead (the dynamics roll in at 30 deg/s)
TURN_LEAD_S = 1.0
#: the heading is steered toward the reference point this far ahead (plus the time the error spans)
PURSUIT_S = 1.0
HEADING_GAIN_PER_S = 1.0
ALONG_TRACK_GAIN_PER_S = 0.3
ALONG_TRACK_MAX_FRACTION = 0.3
ALTITUDE_GAIN_PER_S = 0.5
SPEED_TIME_CONSTANT_S = 1.0
#: the pitch-rate limit of a recorded aircraft: this margin over what its recorded turns need
PITCH_RATE_MARGIN = 1.25
#: a recording must give at least this much common time (the smoothing window and some)
MIN_DURATION_S = 3.0
#: below this ground speed the track's heading is not defined by its velocity (hover)
_MIN_HEADING_SPEED_FPS = 1.0


class RecordedEncounterError(ValueError):
    """A recording that cannot be turned into an encounter: the message names the file and why."""


@dataclass(frozen=True)
class RecordedTrack:
    """The recorded positions on the 10-Hz grid: ``t_s`` (n,) from 0, arrays (2, n) ownship then intruder."""

    t_s: np.ndarray
    east_ft: np.ndarray
    north_ft: np.ndarray
    up_ft: np.ndarray


@dataclass(frozen=True)
class RecordedEncounter:
    """One recorded encounter, ready for `fly_commands` and the closed loop (index 0 ownship, 1 intruder).

    ``t_start_s``/``t_end_s`` are on the recording's clock; everything else counts from the start.
    ``duration_s`` (the last time both aircraft have data) is a multiple of 0.1 s. ``fitted`` is the
    flight the schedule gives (10 Hz), ``track`` the recording it follows.
    """

    source: str
    aircraft: tuple[str, str]
    frame: str
    t_start_s: float
    t_end_s: float
    duration_s: float
    initial: InitialStates
    schedule: CommandSchedule
    limits: DynamicLimits
    track: RecordedTrack
    fitted: Trajectories
    tca_s: float
    hmd_ft: float
    vmd_signed_ft: float
    ends_before_cpa: bool

    @property
    def vmd_ft(self) -> float:
        return abs(self.vmd_signed_ft)

    def fly(self, output_hz: float = 10.0) -> Trajectories:
        """Both aircraft flown from their initial states under their schedules and limits."""
        return fly_commands(self.initial, self.schedule, self.duration_s, limits=self.limits, output_hz=output_hz)

    def errors(self) -> dict[str, np.ndarray]:
        """Per aircraft, the largest and RMS horizontal and altitude errors (ft) of ``fitted`` against ``track``."""
        horizontal = np.hypot(self.fitted.east_ft - self.track.east_ft, self.fitted.north_ft - self.track.north_ft)
        vertical = np.abs(self.fitted.up_ft - self.track.up_ft)
        return {
            "horizontal_max_ft": horizontal.max(axis=1),
            "horizontal_rms_ft": np.sqrt((horizontal**2).mean(axis=1)),
            "altitude_max_ft": vertical.max(axis=1),
            "altitude_rms_ft": np.sqrt((vertical**2).mean(axis=1)),
        }


def _fail(source: str, message: str) -> RecordedEncounterError:
    return RecordedEncounterError(f"{source}: {message}")


def _reference_track(daa: DaaFile) -> tuple[RecordedTrack, float, float, str]:
    """Both aircraft's positions on the common 10-Hz grid, the start and end times, and the frame's description."""
    if len(daa.aircraft) < 2:
        raise _fail(daa.source, f"holds one aircraft ({daa.aircraft[0]!r}); a recorded encounter needs an intruder")
    rows = daa.rows
    sides = [rows[rows["aircraft"] == name] for name in daa.aircraft[:2]]
    for name, side in zip(daa.aircraft[:2], sides, strict=True):
        if np.any(np.diff(side["time_s"].to_numpy()) <= 0):
            line = int(side["line"].iloc[int(np.flatnonzero(np.diff(side["time_s"].to_numpy()) <= 0)[0]) + 1])
            raise _fail(daa.source, f"line {line}: aircraft {name!r} has two rows at one time")
    t_start = max(float(side["time_s"].iloc[0]) for side in sides)
    t_end = min(float(side["time_s"].iloc[-1]) for side in sides)
    n_steps = int(math.floor((t_end - t_start) / DT_S + 1e-6))
    if n_steps * DT_S < MIN_DURATION_S:
        raise _fail(
            daa.source,
            f"the ownship and the intruder have data together for {max(t_end - t_start, 0):.1f} s "
            f"(from {t_start} to {t_end} s); at least {MIN_DURATION_S} s are needed",
        )
    grid = t_start + np.arange(n_steps + 1) * DT_S
    if daa.geodetic:
        lat0, lon0 = float(sides[0]["lat_deg"].iloc[0]), float(sides[0]["lon_deg"].iloc[0])
        frame = f"plane tangent to DAIDALUS's sphere at {lat0!r}, {lon0!r} (the ownship's first position)"
    else:
        frame = "the file's Euclidean frame"
    positions = []
    for side in sides:
        if daa.geodetic:
            east, north = project_to_plane(side["lat_deg"].to_numpy(), side["lon_deg"].to_numpy(), lat0, lon0)
        else:
            east, north = side["x_ft"].to_numpy(), side["y_ft"].to_numpy()
        t = side["time_s"].to_numpy()
        positions.append([np.interp(grid, t, v) for v in (east, north, side["alt_ft"].to_numpy())])
    p = np.asarray(positions)  # (2 aircraft, 3 axes, n)
    p[:, :2] -= p[0, :2, :1][None]
    track = RecordedTrack(np.arange(n_steps + 1) * DT_S, p[:, 0], p[:, 1], p[:, 2])
    return track, t_start, float(grid[-1]), frame


def required_pitch_rate_rad_s(speed_fps, turn_rate_rad_s) -> np.ndarray:
    """Pitch rate of a coordinated level turn: psidot sin(bank), tan(bank) = V psidot / g."""
    bank = np.arctan(np.asarray(speed_fps) * np.abs(turn_rate_rad_s) / units.G_FPS2)
    return np.abs(turn_rate_rad_s) * np.sin(bank)


def _wrap(angle):
    return (angle + np.pi) % (2 * np.pi) - np.pi


@dataclass(frozen=True)
class _Reference:
    """The smoothed track and its rates, arrays (2, n) per aircraft (ft, ft/s, rad, rad/s)."""

    east_ft: np.ndarray
    north_ft: np.ndarray
    up_ft: np.ndarray
    east_rate_fps: np.ndarray
    north_rate_fps: np.ndarray
    up_rate_fps: np.ndarray
    ground_speed_fps: np.ndarray
    heading_rad: np.ndarray
    turn_rate_rad_s: np.ndarray


def _reference(track: RecordedTrack) -> _Reference:
    from scipy.signal import savgol_filter  # here: scipy.signal serves recorded encounters only, not every run

    p = np.stack([track.east_ft, track.north_ft, track.up_ft], axis=1)  # (2, 3, n)
    window = 2 * int(round(SMOOTHING_WINDOW_S / DT_S / 2)) + 1
    smooth = savgol_filter(p, window, 2, axis=-1)
    rate = savgol_filter(p, window, 2, deriv=1, delta=DT_S, axis=-1)
    accel = savgol_filter(p, window, 2, deriv=2, delta=DT_S, axis=-1)
    ground_speed = np.hypot(rate[:, 0], rate[:, 1])
    turn_rate = (rate[:, 1] * accel[:, 0] - rate[:, 0] * accel[:, 1]) / np.maximum(
        ground_speed, _MIN_HEADING_SPEED_FPS
    ) ** 2
    return _Reference(
        *smooth.transpose(1, 0, 2),
        *rate.transpose(1, 0, 2),
        ground_speed,
        np.arctan2(rate[:, 0], rate[:, 1]),
        turn_rate,
    )


def _limits(ref: _Reference) -> DynamicLimits:
    """The MIT LL limits with each aircraft's pitch-rate limit raised to what its recorded turns need."""
    needed = required_pitch_rate_rad_s(ref.ground_speed_fps, ref.turn_rate_rad_s).max(axis=1)
    default = DynamicLimits().pitch_rate_max_rad_s
    return DynamicLimits(pitch_rate_max_rad_s=np.maximum(default, PITCH_RATE_MARGIN * needed))


def _command(ref: _Reference, k: int, state: InitialStates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The command row at step k for aircraft in ``state``: (hdot_fps, psidot_rad_s, vdot_fps2), one per aircraft."""
    n = ref.east_ft.shape[1]
    speed = ref.ground_speed_fps[:, k]
    error_e, error_n = ref.east_ft[:, k] - state.east_ft, ref.north_ft[:, k] - state.north_ft
    # heading: toward the track PURSUIT_S ahead, further ahead by the time the position error spans
    behind = np.ceil(np.hypot(error_e, error_n) / np.maximum(speed, 1.0) / DT_S).astype(np.int64)
    target = np.minimum(n - 1, k + int(round(PURSUIT_S / DT_S)) + behind)
    both = np.arange(2)
    to_e, to_n = ref.east_ft[both, target] - state.east_ft, ref.north_ft[both, target] - state.north_ft
    wanted_heading = np.where(np.hypot(to_e, to_n) > 1.0, np.arctan2(to_e, to_n), ref.heading_rad[:, k])
    lead = min(k + int(round(TURN_LEAD_S / DT_S)), n - 1)
    psidot = ref.turn_rate_rad_s[:, lead] + HEADING_GAIN_PER_S * _wrap(wanted_heading - state.heading_rad)
    # speed: the track's, corrected by the along-track error
    along = (error_e * ref.east_rate_fps[:, k] + error_n * ref.north_rate_fps[:, k]) / np.maximum(speed, 1e-9)
    most = ALONG_TRACK_MAX_FRACTION * speed
    horizontal = speed + np.clip(ALONG_TRACK_GAIN_PER_S * along, -most, most)
    # vertical rate: the altitude track's, corrected toward the next recorded altitude
    hdot = ref.up_rate_fps[:, k] + ALTITUDE_GAIN_PER_S * (ref.up_ft[:, k + 1] - state.alt_ft)
    vdot = (np.hypot(horizontal, hdot) - state.speed_fps) / SPEED_TIME_CONSTANT_S
    return hdot, psidot, vdot


def _fit(track: RecordedTrack):
    """Initial states, the 10-Hz command rows (2, n-1, 3), the limits and the fitted flight (7, 2, n)."""
    ref = _reference(track)
    limits = _limits(ref)
    start = InitialStates.from_rates(
        np.hypot(ref.ground_speed_fps[:, 0], ref.up_rate_fps[:, 0]),
        ref.up_ft[:, 0],
        ref.up_rate_fps[:, 0],
        ref.turn_rate_rad_s[:, 0],
        ref.heading_rad[:, 0],
        ref.north_ft[:, 0],
        ref.east_ft[:, 0],
    )
    n = track.t_s.shape[0]
    commands = np.zeros((2, n - 1, 3))
    flown = np.zeros((7, 2, n))
    state = start
    flown[:, :, 0] = [getattr(state, f) for f in InitialStates.FIELDS]
    for k in range(n - 1):  # one step of encsim's own dynamics per row, so the schedule re-flies this exactly
        hdot, psidot, vdot = _command(ref, k, state)
        commands[:, k] = np.stack([hdot, psidot, vdot], axis=1)
        one_row = CommandSchedule.trusted(np.arange(3, dtype=np.int64), np.zeros(2), hdot, psidot, vdot)
        step = fly_commands(state, one_row, DT_S, limits=limits)
        state = InitialStates(*(values[:, -1] for values in _state_fields(step)))
        flown[:, :, k + 1] = [getattr(state, f) for f in InitialStates.FIELDS]
    return start, commands, limits, flown


def _state_fields(flown: Trajectories):
    return (
        flown.speed_fps,
        flown.north_ft,
        flown.east_ft,
        flown.up_ft,
        flown.heading_rad,
        flown.pitch_rad,
        flown.bank_rad,
    )


def _schedule(commands: np.ndarray) -> CommandSchedule:
    n_rows = commands.shape[1]
    t_s = np.arange(n_rows) * DT_S
    offsets = np.array([0, n_rows, 2 * n_rows], dtype=np.int64)
    return CommandSchedule(
        offsets,
        np.concatenate([t_s, t_s]),
        commands[:, :, 0].ravel(),
        commands[:, :, 1].ravel(),
        commands[:, :, 2].ravel(),
    )


def _closest_approach(track: RecordedTrack) -> tuple[float, float, float, bool]:
    horizontal = np.hypot(track.east_ft[1] - track.east_ft[0], track.north_ft[1] - track.north_ft[0])
    k = int(np.argmin(horizontal))
    vertical = float(track.up_ft[1, k] - track.up_ft[0, k])
    closing_at_end = horizontal[-1] < horizontal[-2]
    return float(track.t_s[k]), float(horizontal[k]), vertical, bool(k == horizontal.shape[0] - 1 and closing_at_end)


def _trajectories(t_s: np.ndarray, flown: np.ndarray) -> Trajectories:
    speed, north, east, up, heading, pitch, bank = flown
    return Trajectories(t_s, north, east, up, speed, heading, pitch, bank, speed * np.sin(pitch))


def recorded_encounter(daa) -> RecordedEncounter:
    """Turn a .daa recording (a path, its text, or a read `DaaFile`) into a `RecordedEncounter`.

    Raises
    ------
    RecordedEncounterError
        Naming the file: fewer than two aircraft, less than `MIN_DURATION_S` of common data, two
        rows of one aircraft at one time.
    DaaFileError
        A file `read_daa` cannot read.
    """
    if not isinstance(daa, DaaFile):
        daa = read_daa(daa)
    track, t_start, t_end, frame = _reference_track(daa)
    initial, commands, limits, flown = _fit(track)
    tca, hmd, vmd_signed, ends_early = _closest_approach(track)
    return RecordedEncounter(
        source=str(daa.source),
        aircraft=(daa.aircraft[0], daa.aircraft[1]),
        frame=frame,
        t_start_s=t_start,
        t_end_s=t_end,
        duration_s=round((track.t_s.shape[0] - 1) * DT_S, 1),
        initial=initial,
        schedule=_schedule(commands),
        limits=limits,
        track=track,
        fitted=_trajectories(track.t_s, flown),
        tca_s=tca,
        hmd_ft=hmd,
        vmd_signed_ft=vmd_signed,
        ends_before_cpa=ends_early,
    )


def recorded_paths(folder_or_files) -> list[Path]:
    """The .daa files of a folder (sorted by name), or the given files, checked to exist."""
    if isinstance(folder_or_files, (str, Path)) and Path(folder_or_files).is_dir():
        paths = sorted(Path(folder_or_files).glob("*.daa"))
        if not paths:
            raise RecordedEncounterError(f"{folder_or_files}: no .daa files in this folder")
        return paths
    items = [folder_or_files] if isinstance(folder_or_files, (str, Path)) else list(folder_or_files)
    paths = [Path(p) for p in items]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise RecordedEncounterError(f"{missing[0]}: no such .daa file (expected a folder of .daa files or files)")
    return paths
