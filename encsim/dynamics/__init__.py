"""10-Hz point-mass aircraft dynamics: fly initial states under command schedules.

`fly_commands` is the public entry: it replays encounters exactly and flies manoeuvres that users
script themselves, with no sampling. `encsim.fly` (in `encsim.tracks`) builds on it for sampled
tracks with model limits and rejection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..commands import CommandSchedule, InitialStates
from . import _kernels

__all__ = [
    "DT_S",
    "ROLL_RATE_MAX_RAD_S",
    "DynamicLimits",
    "Trajectories",
    "fly_commands",
    "fly_vertical_only",
    "initial_states_from_sample",
    "kernel_cached",
    "step_indices",
]

#: integration step, s (10 Hz)
DT_S = 0.1
#: the roll-rate limit of the dynamics, rad/s (a kernel constant: pattern generators time turns by it)
ROLL_RATE_MAX_RAD_S = _kernels.ROLL_RATE_MAX_RAD_S


@dataclass(frozen=True)
class DynamicLimits:
    """Limits the integrator enforces while flying (scalars, or one value per aircraft).

    The defaults are the MIT LL pairing tool's compiled-in values: speed 1.7-1116 ft/s, vertical
    rate +-10,000 ft/s, pitch rate 3 deg/s, yaw rate effectively unlimited.
    """

    speed_min_fps: float | np.ndarray = 1.7
    speed_max_fps: float | np.ndarray = 1116.0
    hdot_min_fps: float | np.ndarray = -10_000.0
    hdot_max_fps: float | np.ndarray = 10_000.0
    pitch_rate_max_rad_s: float | np.ndarray = math.radians(3.0)  # noqa: RUF009 (a float, computed once)
    yaw_rate_max_rad_s: float | np.ndarray = 1e6

    def as_array(self, n_aircraft: int) -> np.ndarray:
        """(6, n_aircraft) float64 rows in the kernel's order."""
        rows = [
            self.speed_min_fps,
            self.speed_max_fps,
            self.hdot_min_fps,
            self.hdot_max_fps,
            self.pitch_rate_max_rad_s,
            self.yaw_rate_max_rad_s,
        ]
        out = np.empty((6, n_aircraft), dtype=np.float64)
        names = (
            "speed_min_fps",
            "speed_max_fps",
            "hdot_min_fps",
            "hdot_max_fps",
            "pitch_rate_max_rad_s",
            "yaw_rate_max_rad_s",
        )
        for k, (name, value) in enumerate(zip(names, rows)):
            value = np.asarray(value, dtype=np.float64)
            if value.ndim and value.shape != (n_aircraft,):
                raise ValueError(f"DynamicLimits.{name} has shape {value.shape}, expected a scalar or ({n_aircraft},)")
            out[k] = value
        if np.any(out[0] >= out[1]) or np.any(out[2] >= out[3]):
            raise ValueError("DynamicLimits: every minimum must be below its maximum")
        if np.any(out[4:] <= 0):
            raise ValueError("DynamicLimits: pitch and yaw rate limits must be positive")
        return out


@dataclass(frozen=True)
class Trajectories:
    """Flown trajectories: ``t_s`` (n_records,) and (n_aircraft, n_records) arrays.

    ``north_ft``, ``east_ft``, ``up_ft`` position; ``speed_fps`` airspeed; ``heading_rad`` (not
    wrapped), ``pitch_rad``, ``bank_rad``; ``hdot_fps`` vertical rate (V sin pitch).
    """

    t_s: np.ndarray
    north_ft: np.ndarray
    east_ft: np.ndarray
    up_ft: np.ndarray
    speed_fps: np.ndarray
    heading_rad: np.ndarray
    pitch_rad: np.ndarray
    bank_rad: np.ndarray
    hdot_fps: np.ndarray
    #: (4, n_aircraft): min and max altitude (ft) and speed (ft/s) over every 10-Hz sample
    extremes: np.ndarray | None = None

    FIELDS = ("north_ft", "east_ft", "up_ft", "speed_fps", "heading_rad", "pitch_rad", "bank_rad", "hdot_fps")

    @property
    def n_aircraft(self) -> int:
        return self.north_ft.shape[0]

    def to_frame(self, i: int) -> pd.DataFrame:
        """Aircraft ``i`` as a DataFrame, one row per recorded sample."""
        return pd.DataFrame({"t_s": self.t_s, **{name: getattr(self, name)[i] for name in self.FIELDS}})

    def select(self, rows) -> Trajectories:
        extremes = None if self.extremes is None else self.extremes[:, rows]
        return Trajectories(self.t_s, *(getattr(self, name)[rows] for name in self.FIELDS), extremes=extremes)

    @classmethod
    def concatenate(cls, parts: list[Trajectories]) -> Trajectories:
        extremes = (
            None if any(p.extremes is None for p in parts) else np.concatenate([p.extremes for p in parts], axis=1)
        )
        return cls(
            parts[0].t_s, *(np.concatenate([getattr(p, name) for p in parts]) for name in cls.FIELDS), extremes=extremes
        )


def initial_states_from_sample(
    speed_fps, alt_ft, hdot_fps, psidot_rad_s, heading_rad=0.0, north_ft=0.0, east_ft=0.0
) -> InitialStates:
    """Initial states as the reference sets them: pitch = asin(hdot / V), bank = atan(V psidot / g).

    The same as `encsim.commands.InitialStates.from_rates`, under the dynamics' name.
    """
    return InitialStates.from_rates(speed_fps, alt_ft, hdot_fps, psidot_rad_s, heading_rad, north_ft, east_ft)


def step_indices(schedules: CommandSchedule, *, dt_s: float) -> np.ndarray:
    """The integer step of each command row (``t_s / dt_s``), refusing a time off the step grid."""
    steps = schedules.t_s / dt_s
    rounded = np.rint(steps)
    off = np.abs(steps - rounded) > 1e-9 * np.maximum(1.0, np.abs(steps))
    if np.any(off):
        bad = int(np.flatnonzero(off)[0])
        raise ValueError(f"schedules.t_s[{bad}] = {float(schedules.t_s[bad])!r} s is not a multiple of dt_s = {dt_s} s")
    return rounded.astype(np.int64)


def fly_commands(
    initial_states: InitialStates,
    schedules: CommandSchedule,
    duration_s: float,
    *,
    limits: DynamicLimits | None = None,
    dt_s: float = DT_S,
    output_hz: float = 10.0,
    command_lead: bool = False,
) -> Trajectories:
    """Fly aircraft from initial states under command schedules with the point-mass dynamics.

    Parameters
    ----------
    initial_states : InitialStates
        One entry per aircraft.
    schedules : CommandSchedule
        Command rows per aircraft; row times must be multiples of ``dt_s``. Each row is scheduled
        by its integer step index and acts from its own time on: a row at ``t`` is used by the
        step from sample ``t`` to ``t + dt``.
    duration_s : float
        Flight time; a positive multiple of ``dt_s``. Samples at 0, dt, ..., duration.
    limits : DynamicLimits, optional
        Integrator limits (default: the MIT LL pairing tool's).
    dt_s : float
        Integration step (0.1 s, the reference's).
    output_hz : float
        Recording rate; must divide the integration rate (10 or 1 Hz with dt = 0.1 s, ...).
    command_lead : bool
        Reproduce the reference: a row at ``t`` is already used by the step from ``t - dt`` to
        ``t`` (the C code advances to a row when the sample being produced has its time), so every
        command after the first starts one step early. Off by default.

    Examples
    --------
    Level at 200 ft/s, then a 0.05 rad/s turn from 5 s: after 60 s the heading is a little short
    of 0.05 x 55 = 2.75 rad (the roll-in takes a moment), the altitude unchanged.

    >>> states = initial_states_from_sample([200.0], [1000.0], [0.0], [0.0])
    >>> turn = CommandSchedule.from_lists([[(0, 0, 0, 0), (5, 0, 0.05, 0)]])
    >>> flown = fly_commands(states, turn, 60)
    >>> flown.up_ft.shape, round(float(flown.heading_rad[0, -1]), 2), round(float(flown.up_ft[0, -1]), 6)
    ((1, 601), 2.73, 1000.0)
    """
    if not isinstance(initial_states, InitialStates):
        raise TypeError(f"initial_states must be an InitialStates, not {type(initial_states).__name__}")
    if not isinstance(schedules, CommandSchedule):
        raise TypeError(f"schedules must be a CommandSchedule, not {type(schedules).__name__}")
    n = initial_states.n_aircraft
    if schedules.n_aircraft != n:
        raise ValueError(f"schedules has {schedules.n_aircraft} aircraft but initial_states has {n}")
    if not dt_s > 0:
        raise ValueError(f"dt_s must be positive, got {dt_s}")
    n_steps = int(round(duration_s / dt_s))
    if duration_s <= 0 or abs(n_steps * dt_s - duration_s) > 1e-9 * max(1.0, duration_s):
        raise ValueError(f"duration_s = {duration_s} must be a positive multiple of dt_s = {dt_s}")
    stride_float = (1.0 / dt_s) / output_hz
    stride = int(round(stride_float))
    if output_hz <= 0 or stride < 1 or abs(stride - stride_float) > 1e-9:
        raise ValueError(f"output_hz = {output_hz} must divide the integration rate {1.0 / dt_s:g} Hz")
    limit_rows = (limits or DynamicLimits()).as_array(n)
    init = np.stack(
        [
            getattr(initial_states, f)
            for f in ("speed_fps", "north_ft", "east_ft", "alt_ft", "heading_rad", "pitch_rad", "bank_rad")
        ]
    )
    n_records = n_steps // stride + 1
    out = np.empty((8, n, n_records), dtype=np.float64)
    extremes = np.empty((4, n), dtype=np.float64)
    if n:
        _kernels.fly_kernel(
            init,
            schedules.offsets,
            step_indices(schedules, dt_s=dt_s),
            schedules.hdot_fps,
            schedules.psidot_rad_s,
            schedules.vdot_fps2,
            limit_rows,
            n_steps,
            stride,
            bool(command_lead),
            float(dt_s),
            out,
            extremes,
        )
    t_s = np.arange(n_records) * (stride * dt_s)
    return Trajectories(t_s, *out, extremes=extremes)


def fly_vertical_only(
    alt_ft, schedules: CommandSchedule, duration_s: float, *, dt_s: float = DT_S, output_hz: float = 10.0
) -> Trajectories:
    """Balloons (no airspeed): N = E = 0, h += hdot dt with the commanded vertical rate (decisions.md 2)."""
    alt_ft = np.atleast_1d(np.asarray(alt_ft, dtype=np.float64))
    n = alt_ft.shape[0]
    n_steps = int(round(duration_s / dt_s))
    steps = step_indices(schedules, dt_s=dt_s)
    stride = int(round((1.0 / dt_s) / output_hz))
    hdot = np.zeros((n, n_steps))
    for a in range(n):
        lo, hi = schedules.offsets[a], schedules.offsets[a + 1]
        for k in range(lo, hi):
            end = steps[k + 1] if k + 1 < hi else n_steps
            hdot[a, steps[k] : end] = schedules.hdot_fps[k]
    up = np.concatenate([alt_ft[:, None], alt_ft[:, None] + np.cumsum(hdot * dt_s, axis=1)], axis=1)[:, ::stride]
    rate = np.concatenate([hdot, hdot[:, -1:]], axis=1)[:, ::stride]
    zeros = np.zeros_like(up)
    full_up = np.concatenate([alt_ft[:, None], alt_ft[:, None] + np.cumsum(hdot * dt_s, axis=1)], axis=1)
    extremes = np.stack([full_up.min(axis=1), full_up.max(axis=1), np.zeros(n), np.zeros(n)])
    t_s = np.arange(up.shape[1]) * stride * dt_s
    return Trajectories(
        t_s, zeros, zeros.copy(), up, zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), rate, extremes=extremes
    )


def kernel_cached(kernel) -> bool | None:
    """Whether Numba's disk cache holds ``kernel`` (None when this Numba keeps its index elsewhere)."""
    import os

    try:  # Numba's on-disk cache index of the kernel: present once it has been compiled here
        return os.path.exists(kernel._cache._cache_file._index_path)
    except AttributeError:  # another Numba's internals
        return None
