"""Command schedules and initial states: the data handed from the sampler to the dynamics.

Both are struct-of-arrays containers with no behaviour beyond validation, so that the sampler
(`encsim.sampling`) and the dynamics (`encsim.dynamics`) can exchange them without importing
each other.

A schedule holds, for many aircraft, a list of command rows in compressed (CSR) form: the rows of
aircraft ``i`` are ``offsets[i]:offsets[i + 1]``. Row times are in seconds from the start of the
track, strictly increasing within an aircraft, the first row at 0 s. A row stays in force until the
next row's time. The dynamics turn a row time into an integer 10-Hz step index
(``round(t_s / dt_s)``), so times must be multiples of the step (the sampler produces whole seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import units

#: speed used in divisions instead of V when V is smaller, ft/s (the start pitch here, the dynamics' kernel)
MIN_DIVISOR_SPEED_FPS = 1.0


@dataclass(frozen=True)
class CommandSchedule:
    """Commanded vertical rate, turn rate and longitudinal acceleration for many aircraft.

    Attributes
    ----------
    offsets : int64 array (n_aircraft + 1,)
        Row ranges per aircraft (CSR).
    t_s : float64 array (n_rows,)
        Time each row takes effect, s since the start of the track.
    hdot_fps : float64 array (n_rows,)
        Commanded vertical rate, ft/s (positive up).
    psidot_rad_s : float64 array (n_rows,)
        Commanded turn rate, rad/s (positive clockwise seen from above, i.e. to the right).
    vdot_fps2 : float64 array (n_rows,)
        Commanded longitudinal acceleration, ft/s^2.
    """

    offsets: np.ndarray
    t_s: np.ndarray
    hdot_fps: np.ndarray
    psidot_rad_s: np.ndarray
    vdot_fps2: np.ndarray

    def __post_init__(self) -> None:
        offsets = np.ascontiguousarray(self.offsets, dtype=np.int64)
        object.__setattr__(self, "offsets", offsets)
        for name in ("t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2"):
            object.__setattr__(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.float64))
        n_rows = self.t_s.shape[0]
        if offsets.ndim != 1 or offsets.shape[0] < 1 or offsets[0] != 0 or offsets[-1] != n_rows:
            raise ValueError(
                f"CommandSchedule.offsets must start at 0 and end at the number of rows ({n_rows}); "
                f"got first={offsets[:1]}, last={offsets[-1:]}"
            )
        if np.any(np.diff(offsets) < 1):
            raise ValueError("CommandSchedule: every aircraft needs at least one row (the row at t = 0 s)")
        for name in ("hdot_fps", "psidot_rad_s", "vdot_fps2"):
            if getattr(self, name).shape[0] != n_rows:
                raise ValueError(f"CommandSchedule.{name} has {getattr(self, name).shape[0]} rows, expected {n_rows}")
        first_t = self.t_s[offsets[:-1]]
        if np.any(first_t != 0.0):
            bad = int(np.flatnonzero(first_t != 0.0)[0])
            raise ValueError(f"CommandSchedule: aircraft {bad}'s first row is at t = {first_t[bad]} s, expected 0 s")
        steps = np.diff(self.t_s)
        inside = np.ones(steps.shape[0], dtype=bool)
        inside[offsets[1:-1] - 1] = False  # differences across aircraft boundaries do not count
        if np.any(steps[inside] <= 0.0):
            bad_row = int(np.flatnonzero((steps <= 0.0) & inside)[0]) + 1
            raise ValueError(f"CommandSchedule: row times must increase within an aircraft (row {bad_row})")

    @classmethod
    def trusted(cls, offsets, t_s, hdot_fps, psidot_rad_s, vdot_fps2) -> CommandSchedule:
        """Build without validation, for arrays that encsim itself produced (the sampler's)."""
        schedule = object.__new__(cls)
        for name, value in zip(
            ("offsets", "t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2"),
            (offsets, t_s, hdot_fps, psidot_rad_s, vdot_fps2),
        ):
            object.__setattr__(schedule, name, value)
        return schedule

    @property
    def n_aircraft(self) -> int:
        return self.offsets.shape[0] - 1

    def rows_of(self, i: int) -> dict[str, np.ndarray]:
        """The command rows of aircraft ``i`` as a dict of arrays."""
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return {
            "t_s": self.t_s[lo:hi],
            "hdot_fps": self.hdot_fps[lo:hi],
            "psidot_rad_s": self.psidot_rad_s[lo:hi],
            "vdot_fps2": self.vdot_fps2[lo:hi],
        }

    @classmethod
    def from_lists(cls, rows_per_aircraft) -> CommandSchedule:
        """Build from a list (one entry per aircraft) of ``(t_s, hdot_fps, psidot_rad_s, vdot_fps2)`` rows."""
        counts = [len(rows) for rows in rows_per_aircraft]
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        flat = np.array([row for rows in rows_per_aircraft for row in rows], dtype=np.float64).reshape(-1, 4)
        return cls(offsets, flat[:, 0], flat[:, 1], flat[:, 2], flat[:, 3])


#: the per-row arrays of a `CommandSchedule`
SCHEDULE_FIELDS = ("t_s", "hdot_fps", "psidot_rad_s", "vdot_fps2")


def take_schedule_rows(schedule: CommandSchedule, positions: np.ndarray) -> tuple[CommandSchedule, np.ndarray]:
    """The command schedules of the aircraft at ``positions`` (in that order), and the rows they came from."""
    offsets = schedule.offsets
    starts = offsets[positions]
    counts = offsets[positions + 1] - starts
    new_offsets = np.zeros(positions.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    rows = np.repeat(starts - new_offsets[:-1], counts) + np.arange(new_offsets[-1])
    taken = CommandSchedule.trusted(new_offsets, *(getattr(schedule, name)[rows] for name in SCHEDULE_FIELDS))
    return taken, rows


def join_schedules(schedules: list[CommandSchedule]) -> CommandSchedule:
    """Several schedules' aircraft one after the other."""
    offsets = [np.zeros(1, dtype=np.int64)]
    shift = 0
    for schedule in schedules:
        offsets.append(schedule.offsets[1:] + shift)
        shift += int(schedule.offsets[-1])
    return CommandSchedule.trusted(
        np.concatenate(offsets), *(np.concatenate([getattr(s, name) for s in schedules]) for name in SCHEDULE_FIELDS)
    )


@dataclass(frozen=True)
class InitialStates:
    """Initial point-mass states of many aircraft (struct of arrays, one entry per aircraft).

    Heading is clockwise from north; pitch positive nose up; bank positive right wing down.
    """

    speed_fps: np.ndarray
    north_ft: np.ndarray
    east_ft: np.ndarray
    alt_ft: np.ndarray
    heading_rad: np.ndarray
    pitch_rad: np.ndarray
    bank_rad: np.ndarray

    FIELDS = ("speed_fps", "north_ft", "east_ft", "alt_ft", "heading_rad", "pitch_rad", "bank_rad")

    def __post_init__(self) -> None:
        arrays = [np.ascontiguousarray(np.atleast_1d(getattr(self, f)), dtype=np.float64) for f in self.FIELDS]
        n = arrays[0].shape[0]
        for name, arr in zip(self.FIELDS, arrays):
            if arr.shape != (n,):
                raise ValueError(f"InitialStates.{name} has shape {arr.shape}, expected ({n},)")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"InitialStates.{name} holds non-finite values")
            object.__setattr__(self, name, arr)

    @property
    def n_aircraft(self) -> int:
        return self.speed_fps.shape[0]

    @classmethod
    def from_rates(
        cls, speed_fps, alt_ft, hdot_fps, psidot_rad_s, heading_rad=0.0, north_ft=0.0, east_ft=0.0
    ) -> InitialStates:
        """Initial states as the reference sets them (mitll-reference 3.4): pitch = asin(hdot / V),
        bank = atan(V psidot / g); the one place these start angles are computed.

        Scalars broadcast to the length of ``speed_fps``; V below `MIN_DIVISOR_SPEED_FPS` divides as
        that value.

        Examples
        --------
        >>> states = InitialStates.from_rates([200.0], [1000.0], [10.0], [0.0])
        >>> round(float(states.pitch_rad[0]), 6), float(states.bank_rad[0])
        (0.050021, 0.0)
        """
        speed_fps = np.atleast_1d(np.asarray(speed_fps, dtype=np.float64))
        n = speed_fps.shape[0]

        def full(value):
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()

        pitch = np.arcsin(np.clip(full(hdot_fps) / np.maximum(speed_fps, MIN_DIVISOR_SPEED_FPS), -1.0, 1.0))
        bank = np.arctan(speed_fps * full(psidot_rad_s) / units.G_FPS2)
        return cls(speed_fps, full(north_ft), full(east_ft), full(alt_ft), full(heading_rad), pitch, bank)
