"""`check_logic`: run a user logic on canonical geometries and check its contract, with clear messages."""

from __future__ import annotations

import math

import numpy as np

from ..units import FPM_PER_FPS
from .interface import (
    ADVISORY_SIZE,
    HORIZONTAL_MODE,
    LEVEL,
    MEMORY_SIZE,
    STATE_SIZE,
    TARGET_HEADING,
    TARGET_VERTICAL_RATE,
    TURN_RATE,
    VERTICAL_MODE,
)


class LogicContractError(ValueError):
    """A logic that breaks the contract of `encsim.avoidance.interface` (the message says how)."""


def _state(north, east, up, heading, speed, vertical_rate=0.0):
    horizontal = math.sqrt(max(speed**2 - vertical_rate**2, 0.0))
    return np.array(
        [north, east, up, horizontal * math.cos(heading), horizontal * math.sin(heading), vertical_rate, heading, speed]
    )


def canonical_geometries():
    """Name -> function of time giving (own, intruder) states: straight-line flights around a CPA at 40 s."""

    def moving(north0, east0, up0, heading, speed, vertical_rate=0.0):
        def at(t):
            horizontal = math.sqrt(max(speed**2 - vertical_rate**2, 0.0))
            return _state(
                north0 + horizontal * math.cos(heading) * t,
                east0 + horizontal * math.sin(heading) * t,
                up0 + vertical_rate * t,
                heading,
                speed,
                vertical_rate,
            )

        return at

    own = moving(0.0, 0.0, 3000.0, 0.0, 200.0)
    return {
        "head-on, co-altitude": (own, moving(16000.0, 0.0, 3000.0, math.pi, 200.0)),
        "head-on, 300 ft above": (own, moving(16000.0, 0.0, 3300.0, math.pi, 200.0)),
        "crossing from the right": (own, moving(8000.0, 8000.0, 3000.0, -math.pi / 2, 200.0)),
        "overtaking": (own, moving(-4000.0, 0.0, 3000.0, 0.0, 300.0)),
        "vertical only": (own, moving(0.0, 300.0, 4500.0, 0.0, 200.0, -30.0)),
        "diverging": (own, moving(-2000.0, 0.0, 3000.0, math.pi, 200.0)),
        "far away": (own, moving(300000.0, 300000.0, 9000.0, math.pi, 200.0)),
    }


def _run(logic, params, ownship, intruder, duration_s):
    memory = np.zeros(MEMORY_SIZE)
    records = []
    for t in range(int(duration_s) + 1):
        own, other = ownship(float(t)), intruder(float(t))
        advisory = np.zeros(ADVISORY_SIZE)
        own_before, other_before = own.copy(), other.copy()
        logic(float(t), own, other, memory, params, advisory)
        if not (np.array_equal(own, own_before) and np.array_equal(other, other_before)):
            raise LogicContractError(f"the logic modified the aircraft states it was given (t = {t} s)")
        records.append(advisory.copy())
    return np.array(records), memory


def check_logic(logic, params=None, *, duration_s: float = 60.0) -> dict[str, int]:
    """Check a logic's contract on canonical geometries; returns the highest alert level per geometry.

    Checks: it runs with the documented signature; advisories are finite, of the documented size,
    with levels in {0, 1, 2, 3}, modes 0 or 1, vertical rates within +-10,000 ft/min, non-negative
    turn rates; it does not modify the states; and it is deterministic: re-run from a fresh memory
    array it gives the same advisories, so whatever it remembers between decisions lives in the
    memory array the closed loop keeps for it (hidden state in globals or attributes fails this).

    Raises
    ------
    LogicContractError
        Naming the geometry, the time and what is wrong.
    """
    params = np.zeros(1) if params is None else np.asarray(params, dtype=np.float64)
    levels = {}
    for name, (ownship, intruder) in canonical_geometries().items():
        try:
            first, _ = _run(logic, params, ownship, intruder, duration_s)
        except LogicContractError as exc:
            raise LogicContractError(f"{name}: {exc}") from None
        except Exception as exc:  # the signature or the code itself fails
            raise LogicContractError(
                f"{name}: calling logic(t_s, own[{STATE_SIZE}], intruder[{STATE_SIZE}], memory[{MEMORY_SIZE}], params, "
                f"advisory[{ADVISORY_SIZE}]) failed: {type(exc).__name__}: {exc}"
            ) from None
        if not np.all(np.isfinite(first)):
            t = int(np.flatnonzero(~np.all(np.isfinite(first), axis=1))[0])
            raise LogicContractError(f"{name}: non-finite advisory {first[t].tolist()} at t = {t} s")
        bad_level = ~np.isin(first[:, LEVEL], [0, 1, 2, 3])
        if bad_level.any():
            t = int(np.flatnonzero(bad_level)[0])
            raise LogicContractError(f"{name}: alert level {first[t, LEVEL]} at t = {t} s; expected 0, 1, 2 or 3")
        for column, label in ((VERTICAL_MODE, "vertical mode"), (HORIZONTAL_MODE, "horizontal mode")):
            bad = ~np.isin(first[:, column], [0, 1])
            if bad.any():
                t = int(np.flatnonzero(bad)[0])
                raise LogicContractError(f"{name}: {label} {first[t, column]} at t = {t} s; expected 0 or 1")
        if np.any(np.abs(first[:, TARGET_VERTICAL_RATE]) > 10_000 / FPM_PER_FPS):
            raise LogicContractError(f"{name}: a target vertical rate beyond 10,000 ft/min: is it in ft/s?")
        if np.any(first[:, TURN_RATE] < 0) or np.any(first[:, TURN_RATE] > math.radians(30)):
            raise LogicContractError(f"{name}: turn rates must be in [0, 30 deg/s] (rad/s; 0 = the pilot's)")
        if np.any(np.abs(first[:, TARGET_HEADING]) > 100.0):
            raise LogicContractError(f"{name}: target heading beyond 100 rad: is it in degrees? (radians expected)")
        again, _ = _run(logic, params, ownship, intruder, duration_s)
        if not np.array_equal(first, again):
            t = int(np.flatnonzero(np.any(first != again, axis=1))[0])
            raise LogicContractError(f"{name}: not deterministic: a second run differs at t = {t} s")
        levels[name] = int(first[:, LEVEL].max())
    return levels
