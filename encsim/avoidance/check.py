"""`check_logic`: run a user logic on canonical geometries and check its contract, with clear messages."""

from __future__ import annotations

import math

import numpy as np

from ..units import FPM_PER_FPS
from .interface import (
    ADVISORY_SIZE,
    AIR_V_EAST,
    AIR_V_NORTH,
    HORIZONTAL_MODE,
    LEGACY_ADVISORY_SIZE,
    LEGACY_STATE_SIZE,
    LEVEL,
    STATE_SIZE,
    TARGET_HEADING,
    TARGET_VERTICAL_RATE,
    TURN_RATE,
    V_EAST,
    V_NORTH,
    VERTICAL_MODE,
    clear_guidance,
    guidance_fault,
)
from .reference_logics import memory_size_of


class LogicContractError(ValueError):
    """A logic that breaks the contract of `encsim.avoidance.interface` (the message says how)."""


def _state(north, east, up, heading, speed, vertical_rate=0.0):
    """A `STATE_SIZE` state as the closed loop builds it: exact (zero SUM terms), no wind (air = ground velocity)."""
    horizontal = math.sqrt(max(speed**2 - vertical_rate**2, 0.0))
    state = np.zeros(STATE_SIZE)
    state[:LEGACY_STATE_SIZE] = (
        north,
        east,
        up,
        horizontal * math.cos(heading),
        horizontal * math.sin(heading),
        vertical_rate,
        heading,
        speed,
    )
    state[AIR_V_NORTH], state[AIR_V_EAST] = state[V_NORTH], state[V_EAST]
    return state


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


def _shown(value) -> str:
    text = np.array2string(value, threshold=8) if isinstance(value, np.ndarray) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _run(logic, params, ownship, intruder, duration_s, memory_size):
    """A run's advisories at 1 Hz, the advisory and memory kept between decisions as the closed loop keeps them."""
    memory = np.zeros(memory_size)
    advisory = np.zeros(ADVISORY_SIZE)
    clear_guidance(advisory)
    records = []
    for t in range(int(duration_s) + 1):
        own, other = ownship(float(t)), intruder(float(t))
        own_before, other_before = own.copy(), other.copy()
        returned = logic(float(t), own, other, memory, params, advisory)
        if returned is not None:
            raise LogicContractError(
                f"the logic returned {type(returned).__name__} {_shown(returned)} at t = {t} s: a logic returns "
                "nothing and fills the advisory array it is given (advisory[:] = ...); what it returns is ignored"
            )
        if not (np.array_equal(own, own_before) and np.array_equal(other, other_before)):
            raise LogicContractError(f"the logic modified the aircraft states it was given (t = {t} s)")
        records.append(advisory.copy())
    return np.array(records), memory


def _guidance_problem(advisories: np.ndarray) -> str | None:
    """The first guidance-block breach of a run's advisories (the closed loop's rule), named, or None."""
    for t, advisory in enumerate(advisories):
        code, index = guidance_fault(advisory)
        if code != 0:
            return (
                f"guidance field advisory[{int(index)}] = {advisory[int(index)]!r} at t = {t} s is out of range "
                "(region -1..4, preferred direction -1/0/+1, recovery flag 0/1, band count 0..MAX_BANDS)"
            )
    return None


def check_logic(logic, params=None, *, duration_s: float = 60.0) -> dict[str, int]:
    """Check a logic's contract on canonical geometries; returns the highest alert level per geometry.

    Checks: it runs with the documented signature, given `STATE_SIZE` states (exact: zero SUM
    terms, air velocity equal to ground velocity) and the memory size it declares
    (`encsim.avoidance.reference_logics.memory_size_of`); the legacy advisory entries are finite,
    with levels in {0, 1, 2, 3}, modes 0 or 1, vertical rates within +-10,000 ft/min, non-negative
    turn rates; the guidance blocks are in range as the closed loop checks them (resolutions may be
    NaN); it does not modify the states; and it is deterministic: re-run from a fresh memory array
    it gives the same advisories (NaN equal to NaN), so whatever it remembers between decisions lives
    in the memory array the closed loop keeps for it (hidden state in globals or attributes fails this).

    Raises
    ------
    LogicContractError
        Naming the geometry, the time and what is wrong.
    """
    params = np.zeros(1) if params is None else np.asarray(params, dtype=np.float64)
    try:
        memory_size = memory_size_of(logic)
    except ValueError as exc:
        raise LogicContractError(str(exc)) from None
    levels = {}
    for name, (ownship, intruder) in canonical_geometries().items():
        try:
            first, _ = _run(logic, params, ownship, intruder, duration_s, memory_size)
        except LogicContractError as exc:
            raise LogicContractError(f"{name}: {exc}") from None
        except Exception as exc:  # the signature or the code itself fails
            raise LogicContractError(
                f"{name}: calling logic(t_s, own[{STATE_SIZE}], intruder[{STATE_SIZE}], memory[{memory_size}], params, "
                f"advisory[{ADVISORY_SIZE}]) failed: {type(exc).__name__}: {exc}"
            ) from None
        legacy = first[:, :LEGACY_ADVISORY_SIZE]
        if not np.all(np.isfinite(legacy)):
            t = int(np.flatnonzero(~np.all(np.isfinite(legacy), axis=1))[0])
            raise LogicContractError(f"{name}: non-finite advisory {legacy[t].tolist()} at t = {t} s")
        problem = _guidance_problem(first)
        if problem is not None:
            raise LogicContractError(f"{name}: {problem}")
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
        again, _ = _run(logic, params, ownship, intruder, duration_s, memory_size)
        if not np.array_equal(first, again, equal_nan=True):
            differs = (first != again) & ~(np.isnan(first) & np.isnan(again))
            t = int(np.flatnonzero(np.any(differs, axis=1))[0])
            raise LogicContractError(f"{name}: not deterministic: a second run differs at t = {t} s")
        levels[name] = int(first[:, LEVEL].max())
    return levels
