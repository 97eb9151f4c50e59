"""Closed-loop kernel: both aircraft, the logic under test and the pilot advance together in Numba.

Each encounter is flown twice from the same initial states: nominal (the ownship flies its
sampled commands) and mitigated (the logic decides at its decision rate; the pilot model turns
advisories into commands after its delay). The intruder flies its sampled commands in both runs,
so it is integrated once. Metrics are accumulated on the fly at every 10-Hz step. When the
mitigated run is provably the nominal run flown again (``Settings.one_flight``: the unequipped
logic with the standard pilot), the ownship is flown once and both runs' columns are written from it.

The kernels take grouped arrays: a `Flight` per aircraft, the `Settings` of the run and the
`Outputs` they fill (named tuples of arrays and scalars, which Numba passes as one argument each).
"""

from __future__ import annotations

import inspect
import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from .. import model_streams
from ..avoidance.interface import (
    ADVISORY_SIZE,
    AIR_V_EAST,
    AIR_V_NORTH,
    CHANGE_COUNTER,
    HORIZONTAL_MODE,
    LEGACY_ADVISORY_SIZE,
    LEGACY_STATE_SIZE,
    LEVEL,
    PC_ACCEL_G,
    PC_HORIZONTAL_MODE,
    PC_TARGET_HEADING,
    PC_TURN_RATE,
    PC_VERTICAL_ALTITUDE,
    PC_VERTICAL_MODE,
    PC_VERTICAL_NONE,
    PC_VERTICAL_RATE,
    PC_VERTICAL_TARGET,
    PILOT_COMMAND_SIZE,
    STATE_SIZE,
    TARGET_HEADING,
    TARGET_VERTICAL_RATE,
    TURN_RATE,
    UP,
    VERTICAL_MODE,
    clear_guidance,
    guidance_fault,
)
from ..avoidance.reference_logics import RECORDS, REFERENCE_LOGIC_IDS
from ..borrow import borrowed, keep_alive
from ..checksums import file_sha256, text_sha256
from ..dynamics._kernels import step_with_trig
from ..metrics._predicates import inside_cylinder, well_clear_lost
from ..random import next_uniform_open0, stream_init
from ..units import G_FPS2
from . import _seams

__all__ = [
    "FAULT_CODES",
    "OUTCOME_COLUMNS",
    "RAISED_LEVEL",
    "REFERENCE_LOGIC_IDS",
    "SURVEILLANCE_SUB_STREAM",
    "Flight",
    "Outputs",
    "Settings",
    "advisory_fault",
    "closed_loop_kernel",
    "reference_closed_loop_kernel",
]

# output columns, one row per encounter
OUTCOME_COLUMNS = (
    "nominal_hmd_ft",
    "nominal_vmd_ft",
    "nominal_nmac",
    "nominal_lowc",
    "nominal_t_lowc_s",
    "mitigated_hmd_ft",
    "mitigated_vmd_ft",
    "mitigated_nmac",
    "mitigated_lowc",
    "mitigated_t_lowc_s",
    "alerted",
    "t_first_alert_s",
    "first_alert_level",
    "max_alert_level",
    "t_first_manoeuvre_s",
    "max_deviation_ft",
    # DO-365 alerting performance (issue 16), mitigated run: first decision at reported level >= k,
    # number of changes of the reported level, shortest completed episode at level >= k (NaN: none)
    "t_first_alert_l1_s",
    "t_first_alert_l2_s",
    "t_first_alert_l3_s",
    "alert_level_changes",
    "min_alert_episode_l1_s",
    "min_alert_episode_l2_s",
    "min_alert_episode_l3_s",
    # severity of loss of well clear (0-100), the maximum over the run (`_slowc`)
    "nominal_max_slowc",
    "mitigated_max_slowc",
    # the same alerting outputs open loop: the logic called on the nominal run, the pilot not
    # responding (DO-365 scores alerting against the unmitigated encounter)
    "open_loop_t_first_alert_l1_s",
    "open_loop_t_first_alert_l2_s",
    "open_loop_t_first_alert_l3_s",
    "open_loop_alert_level_changes",
    "open_loop_min_alert_episode_l1_s",
    "open_loop_min_alert_episode_l2_s",
    "open_loop_min_alert_episode_l3_s",
)
_N_OUT = len(OUTCOME_COLUMNS)
#: first column of the per-level alerting outputs, and of the SLoWC pair
_ALERTING, _SLOWC, _OPEN_LOOP_ALERTING = 16, 23, 25
#: alert levels scored per level (DO-365: preventive, corrective, warning)
N_ALERT_LEVELS = 3
# pilot parameters
_DELAY_INITIAL, _DELAY_SUBSEQUENT, _ACCEL_INITIAL, _ACCEL_SUBSEQUENT, _TURN_RATE = range(5)
# well-clear volume (`WellClearVolume.as_array`)
_DTHR, _ZTHR, _TTHR, _HMD, _TCOA = range(5)
# surveillance parameters: horizontal and vertical position sd (ft), horizontal and vertical velocity sd
# (ft/s), latency (s)
_POS_SD, _ALT_SD, _VEL_SD, _VS_SD, _LATENCY = range(5)
#: random sub-stream of the surveillance noise of an encounter (0-2 are its generation's)
SURVEILLANCE_SUB_STREAM = 3


class Flight(NamedTuple):
    """One aircraft of every encounter (encounter a is column or row range a).

    ``init`` (7, n): speed_fps, north_ft, east_ft, up_ft, heading_rad, pitch_rad, bank_rad;
    ``offsets`` (n + 1,) int64: encounter a's command rows are ``offsets[a]:offsets[a + 1]``;
    ``steps`` (rows,) int64: the step index from which each row applies; ``commands`` (3, rows):
    hdot_fps, psidot_rad_s, vdot_fps2; ``limits`` (6, n): the dynamics' limits (`DynamicLimits`).
    """

    init: np.ndarray
    offsets: np.ndarray
    steps: np.ndarray
    commands: np.ndarray
    limits: np.ndarray


class Settings(NamedTuple):
    """What the closed loop needs besides the aircraft and the logic.

    ``n_steps`` and ``stride`` (int64): steps of ``dt_s`` flown (the longest encounter's), and steps
    between decisions; ``encounter_steps`` (n,) int64: the steps encounter a is flown and measured
    over (all ``n_steps`` but for sets of encounters of their own lengths, like recorded ones);
    ``pilot`` (5,): `PilotModel.as_array` (the standard pilot, and the turn rate and acceleration
    other pilots' commands default to); ``nmac_ft`` (2,): radius and half-height; ``well_clear``
    (5,): DTHR ft, ZTHR ft, TTHR s, HMD* ft, TCOA s; ``surveillance``: the surveillance model's
    parameter array (`Surveillance.as_array` for the perfect and white-noise models); ``seed``
    (uint64): the Philox key of the encounters' model draws; ``memory_size``: the logic's;
    ``surveillance_memory_size``, ``pilot_memory_size``: the models'; ``navigation``,
    ``altimetry``, ``fly``: the `encsim.simulate._seams` settings arrays; ``pilot_params``: the
    pilot model's parameter array (unused by the standard pilot); ``open_loop_params``: the logic's
    parameters for the open-loop pass on the nominal run (`reference_logics.open_loop_params_of`: the
    DAA logic's alerting only; otherwise the logic's parameters); ``one_flight`` (bool): the mitigated
    run is the nominal run flown again (the caller proves it: `encsim.simulate._one_flight`), so the
    ownship is flown once and that flight gives both runs' columns.
    """

    n_steps: np.int64
    stride: np.int64
    dt_s: float
    pilot: np.ndarray
    nmac_ft: np.ndarray
    well_clear: np.ndarray
    surveillance: np.ndarray
    seed: np.uint64
    memory_size: np.int64
    surveillance_memory_size: np.int64
    navigation: np.ndarray
    altimetry: np.ndarray
    pilot_params: np.ndarray
    pilot_memory_size: np.int64
    fly: np.ndarray
    open_loop_params: np.ndarray
    encounter_steps: np.ndarray
    one_flight: bool


class Outputs(NamedTuple):
    """What the closed loop fills, one row per encounter: ``outcomes`` (n, len(`OUTCOME_COLUMNS`)) and
    ``faults`` (n, 3): the first contract breach of the logic in the mitigated run (`FAULT_CODES`
    code, time s, offending value), all zero when there is none.
    """

    outcomes: np.ndarray
    faults: np.ndarray


#: what a logic did wrong at a decision (code 0: nothing); the value stored with it is in brackets
FAULT_CODES = {
    1: "a non-finite advisory entry [its index]",
    2: "an alert level outside 0, 1, 2, 3 [the level]",
    3: "a vertical mode other than 0 or 1 [the mode]",
    4: "a horizontal mode other than 0 or 1 [the mode]",
    5: "an exception (e.g. an index out of bounds) [0]",
    6: "a non-finite ownship state at the end [0]",
    7: "a guidance block field out of range: region, preferred direction, recovery flag or band count [its index]",
    8: "the pilot model wrote a non-finite or out-of-range command [its index]",
    9: "the surveillance model gave a non-finite state of the intruder, or raised [its index]",
}
#: the level a contained plug-in's wrapper writes when the logic raised (`encsim.simulate.containment`)
RAISED_LEVEL = -999.0


@njit(cache=True, inline="always")
def advisory_fault(advisory):
    """(code, value) of the first breach of the advisory contract (`FAULT_CODES`), or (0, 0.0)."""
    for k in range(LEGACY_ADVISORY_SIZE):
        if not math.isfinite(advisory[k]):
            return 1, float(k)
    level = advisory[LEVEL]
    if level == RAISED_LEVEL:
        return 5, 0.0
    if not (level == 0.0 or level == 1.0 or level == 2.0 or level == 3.0):
        return 2, level
    if not (advisory[VERTICAL_MODE] == 0.0 or advisory[VERTICAL_MODE] == 1.0):
        return 3, advisory[VERTICAL_MODE]
    if not (advisory[HORIZONTAL_MODE] == 0.0 or advisory[HORIZONTAL_MODE] == 1.0):
        return 4, advisory[HORIZONTAL_MODE]
    return guidance_fault(advisory)


@njit(cache=True)
def _gaussian(stream):
    """A standard normal draw (Box-Muller, one of the pair)."""
    return math.sqrt(-2.0 * math.log(next_uniform_open0(stream))) * math.cos(2.0 * math.pi * next_uniform_open0(stream))


@njit(cache=True, inline="always")
def _observe(intruder_states, i, stride_latency, surveillance, stream, seen):
    """What the logic sees of the intruder: its state ``latency`` ago, plus Gaussian errors."""
    seen[:] = intruder_states[max(0, i - stride_latency)]
    if surveillance[_POS_SD] > 0.0:
        seen[0] += surveillance[_POS_SD] * _gaussian(stream)
        seen[1] += surveillance[_POS_SD] * _gaussian(stream)
    if surveillance[_ALT_SD] > 0.0:
        seen[2] += surveillance[_ALT_SD] * _gaussian(stream)
    if surveillance[_VEL_SD] > 0.0:
        seen[3] += surveillance[_VEL_SD] * _gaussian(stream)
        seen[4] += surveillance[_VEL_SD] * _gaussian(stream)
    if surveillance[_VS_SD] > 0.0:
        seen[5] += surveillance[_VS_SD] * _gaussian(stream)


@njit(cache=True)
def _trig(pitch, heading):
    """The cosine and sine of a pitch and a heading: what a state vector and the step from it share."""
    return math.cos(pitch), math.sin(pitch), math.cos(heading), math.sin(heading)


@njit(cache=True)
def _state(out, speed, north, east, up, heading, pitch):
    _state_with_trig(out, speed, north, east, up, heading, _trig(pitch, heading))


@njit(cache=True)
def _state_with_trig(out, speed, north, east, up, heading, trig):
    """`_state` from ``trig`` (`_trig` of its pitch and heading)."""
    cos_theta, sin_theta, cos_psi, sin_psi = trig
    horizontal = speed * cos_theta
    out[0] = north
    out[1] = east
    out[2] = up
    out[3] = horizontal * cos_psi
    out[4] = horizontal * sin_psi
    out[5] = speed * sin_theta
    out[6] = heading
    out[7] = speed
    for k in range(LEGACY_STATE_SIZE, STATE_SIZE):  # exact state (no SUM uncertainty), no wind
        out[k] = 0.0
    out[AIR_V_NORTH] = out[3]
    out[AIR_V_EAST] = out[4]


@njit(cache=True, inline="always")
def _lowc(own, intruder, wc):
    """Loss of well clear between two states (`STATE_SIZE`) for the volume ``wc`` (`WellClearVolume.as_array`)."""
    return well_clear_lost(
        intruder[1] - own[1],
        intruder[0] - own[0],
        intruder[2] - own[2],
        intruder[4] - own[4],
        intruder[3] - own[3],
        intruder[5] - own[5],
        wc[_DTHR],
        wc[_ZTHR],
        wc[_TTHR],
        wc[_HMD],
        wc[_TCOA],
    )


@njit(cache=True)
def _squircle(x, y):
    """The Fernandez-Guasti squircular combination of two penetrations in [0, 1]."""
    return math.sqrt(x * x + (1.0 - x * x) * y * y)


@njit(cache=True, inline="always")
def _slowc(own, intruder, wc):
    """Severity of loss of well clear, 0 (well clear) to 100 (full penetration), of one state pair.

    Pratt and Kay's SLoWC (RTCA SC-228 closed-loop metrics white paper, as documented with the
    public flightconflicts R package): range penetration r / S, with S the range at which tau_mod
    equals TTHR at the current range rate (at least DTHR); penetration of the projected horizontal
    miss distance HMD / HMD*; vertical penetration |dh| / ZTHR; each capped at 1, combined by the
    squircular operator: SLoWC = 100 (1 - FG(FG(range, HMD), vertical)). Zero whenever any one of
    the three is at or beyond its threshold.
    """
    dx = intruder[1] - own[1]
    dy = intruder[0] - own[0]
    dvx = intruder[4] - own[4]
    dvy = intruder[3] - own[3]
    r = math.sqrt(dx * dx + dy * dy)
    dthr, tthr = wc[_DTHR], wc[_TTHR]
    size = dthr
    if r > 1e-4:
        r_dot_t = (dx * dvx + dy * dvy) / r * tthr
        size = max(dthr, 0.5 * (math.sqrt(r_dot_t * r_dot_t + 4.0 * dthr * dthr) - r_dot_t))
    vv = dvx * dvx + dvy * dvy
    sv = dx * dvx + dy * dvy
    t_cpa = -sv / vv if vv > 0.0 and sv < 0.0 else 0.0
    hmd = math.sqrt((dx + dvx * t_cpa) ** 2 + (dy + dvy * t_cpa) ** 2)
    range_pen = min(r / size, 1.0)
    hmd_pen = min(hmd / wc[_HMD], 1.0)
    vertical_pen = min(abs(intruder[2] - own[2]) / wc[_ZTHR], 1.0)
    return 100.0 * (1.0 - _squircle(_squircle(range_pen, hmd_pen), vertical_pen))


@njit(cache=True)
def _wrap(angle):
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


@njit(cache=True)
def _initial(flight, a):
    """Encounter a's initial (speed, north, east, up, heading, pitch, bank) of ``flight``."""
    init = flight.init
    return init[0, a], init[1, a], init[2, a], init[3, a], init[4, a], init[5, a], init[6, a]


@njit(cache=True)
def _step(limits, a, state, trig, hdot_cmd, psidot_cmd, vdot_cmd, dt):
    """One dynamics step of encounter a's aircraft (``limits`` its flight's) from ``state`` (its 7 numbers;
    ``trig`` `_trig` of its pitch and heading, computed once for the state vector and the step)."""
    speed, north, east, up, heading, pitch, bank = state
    cos_theta, sin_theta, cos_psi, sin_psi = trig
    return step_with_trig(
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
        vdot_cmd,
        limits[0, a],
        limits[1, a],
        limits[2, a],
        limits[3, a],
        limits[4, a],
        limits[5, a],
        dt,
    )


@njit(cache=True)
def _fly_intruder(intruder, a, n_steps, dt, states):
    """The intruder's states (n_steps + 1, STATE_SIZE) along its sampled commands."""
    state = _initial(intruder, a)
    row, last = intruder.offsets[a], intruder.offsets[a + 1] - 1
    cmd, limits, steps = intruder.commands, intruder.limits, intruder.steps
    for i in range(n_steps + 1):
        trig = _trig(state[5], state[4])
        _state_with_trig(states[i], state[0], state[1], state[2], state[3], state[4], trig)
        if i == n_steps:
            break
        while row < last and steps[row + 1] <= i:
            row += 1
        state = _step(limits, a, state, trig, cmd[0, row], cmd[1, row], cmd[2, row], dt)


@njit
def _unknown_logic(logic_id, t_s, own, intruder, memory, params, advisory):
    """An id no record has: a NaN advisory, so the run is marked faulty and its outcomes refused."""
    for k in range(advisory.shape[0]):
        advisory[k] = np.nan


def _dispatch_node(logic_id, function, otherwise):
    """Call ``function`` for ``logic_id``, else hand the id on to ``otherwise``."""

    @njit
    def node(requested_id, t_s, own, intruder, memory, params, advisory):
        if requested_id == logic_id:
            function(t_s, own, intruder, memory, params, advisory)
        else:
            otherwise(requested_id, t_s, own, intruder, memory, params, advisory)

    return node


def _reference_dispatch(records):
    """One function that calls the logic of the record with the requested id (an unknown id: `_unknown_logic`)."""
    dispatch = _unknown_logic
    for record in reversed(records):
        dispatch = _dispatch_node(record.logic_id, record.function, dispatch)
    return dispatch


def _registry_key(records) -> tuple[int, ...]:
    """Each record's id and a 62-bit hash of its function's name, parameter count and source file.

    The disk-cached kernel closes over this key, and Numba's cache index hashes a kernel's closure:
    so a record added, removed or changed (or the source file of a reference logic edited, which
    Numba would not notice by itself: it checks only the file defining the cached function)
    compiles the kernel afresh instead of loading a stale one.
    """
    key = []
    for record in records:
        function = getattr(record.function, "py_func", record.function)
        try:
            source_sha256 = file_sha256(inspect.getsourcefile(function))
        except (TypeError, OSError):
            source_sha256 = ""
        text = f"{function.__module__}:{function.__qualname__}|{record.n_params}|{source_sha256}"
        key += [record.logic_id, int(text_sha256(text)[:15], 16)]
    for module in _SEAM_SOURCES:  # the models the closed loop calls: id -1, never a logic's
        key += [-1, int(file_sha256(inspect.getsourcefile(module))[:15], 16)]
    return tuple(key)


#: the modules of the reference surveillance, tracker, navigation, altimetry and pilot kernels
_SEAM_SOURCES = (_seams, _seams.pk, _seams.sk, _seams.tk, model_streams)


_REFERENCE_DISPATCH = _reference_dispatch(RECORDS)


def call_logic(logic, t_s, own, intruder, memory, params, advisory):
    """``logic(t_s, own, intruder, memory, params, advisory)``; ``logic`` is a compiled function or a
    `REFERENCE_LOGIC_IDS` id (Numba specialises on which, see the overload below)."""
    logic(t_s, own, intruder, memory, params, advisory)


@overload(call_logic)
def _call_logic_overload(logic, t_s, own, intruder, memory, params, advisory):
    if not isinstance(logic, types.Integer):

        def call_function(logic, t_s, own, intruder, memory, params, advisory):
            logic(t_s, own, intruder, memory, params, advisory)

        return call_function

    # a kernel that calls only global functions can be cached on disk; one that takes a function
    # argument cannot (its type is the function object of one process), so the reference logics
    # are chosen by id and compile once per installation instead of once per process
    def call_reference(logic, t_s, own, intruder, memory, params, advisory):
        _REFERENCE_DISPATCH(logic, t_s, own, intruder, memory, params, advisory)

    return call_reference


def known_logic(logic, registry_key):
    """True for a compiled function, or for an id among the even entries of ``registry_key``."""
    return True


@overload(known_logic)
def _known_logic_overload(logic, registry_key):
    if not isinstance(logic, types.Integer):
        return lambda logic, registry_key: True

    def known_id(logic, registry_key):
        for k in range(0, len(registry_key), 2):
            if registry_key[k] == logic:
                return True
        return False

    return known_id


@njit(cache=True, inline="always")
def _no_traffic(advisory):
    """The advisory of a decision without a track of the intruder: no alert, no guidance (the logic is not called)."""
    for k in range(LEGACY_ADVISORY_SIZE):
        advisory[k] = 0.0
    clear_guidance(advisory)


@njit(inline="always")
def _perceive(
    surveillance_model,
    settings,
    encounter_id,
    i,
    own,
    own_seen,
    intruder_states,
    latency_steps,
    legacy_stream,
    biases,
    memory,
    seen,
):
    """What the logic sees of the intruder at step i (``seen``); False when it has no track of it.

    Perfect and white-noise surveillance read the truth (``latency_steps`` ago for the latter, with
    its errors from the older sequential stream); the other models are called through the seam.
    The intruder's altimetry bias is in what it reports of its altitude.
    """
    model = _seams.model_id(surveillance_model)
    if model == _seams.PERFECT or model == _seams.NOISE:
        _observe(intruder_states, i, latency_steps, settings.surveillance, legacy_stream, seen)
        if settings.altimetry[_seams.ALT_ON] != 0.0:
            seen[UP] += biases[1]
        return True
    return _seams.call_surveillance(
        surveillance_model,
        settings.seed,
        np.uint64(encounter_id),
        i,
        own,
        intruder_states[i],
        own_seen,
        biases,
        settings.surveillance,
        memory,
        seen,
    )


@njit(cache=True)
def _seen_fault(seen):
    """(9, index) of the first non-finite entry of what the logic would see of the intruder, or (0, 0.0)."""
    for k in range(STATE_SIZE):
        if not math.isfinite(seen[k]):
            return 9, float(k)
    return 0, 0.0


@njit(cache=True)
def pilot_command_fault(command):
    """(8, index) of the first non-finite or out-of-range entry of a pilot's command, or (0, 0.0)."""
    for k in range(PILOT_COMMAND_SIZE):
        if not math.isfinite(command[k]):
            return 8, float(k)
    if not (command[PC_HORIZONTAL_MODE] == 0.0 or command[PC_HORIZONTAL_MODE] == 1.0):
        return 8, float(PC_HORIZONTAL_MODE)
    vertical = command[PC_VERTICAL_MODE]
    if not (vertical == PC_VERTICAL_NONE or vertical == PC_VERTICAL_RATE or vertical == PC_VERTICAL_ALTITUDE):
        return 8, float(PC_VERTICAL_MODE)
    if command[PC_TURN_RATE] < 0.0:
        return 8, float(PC_TURN_RATE)
    if command[PC_ACCEL_G] < 0.0:
        return 8, float(PC_ACCEL_G)
    return 0, 0.0


@njit
def _run_ownship(
    logic,
    logic_params,
    surveillance_model,
    pilot_model,
    settings,
    ownship,
    a,
    intruder_states,
    biases,
    nominal_path,
    mitigated,
    also_nominal,
    encounter_id,
    out,
    faults,
):
    """Fly the ownship once (nominal, or mitigated with the logic) and accumulate its metrics in row a of ``out``.

    With ``mitigated`` and ``also_nominal`` (``Settings.one_flight``), the mitigated flight is the nominal
    one: its metrics fill the nominal columns too, its alert levels the open-loop ones, and its deviation
    from the nominal path is 0 (the path is not stored).
    """
    # the arguments' arrays borrowed (`encsim.borrow`; the caller holds them): the step loop reads and
    # passes them at every step, and each reference counted was an atomic increment and decrement
    settings, ownship, intruder_states, biases, nominal_path, out, faults, logic_params = borrowed(
        (settings, ownship, intruder_states, biases, nominal_path, out, faults, logic_params)
    )
    pilot, cylinder, wc, surveillance = settings.pilot, settings.nmac_ft, settings.well_clear, settings.surveillance
    n_steps, stride, dt = settings.encounter_steps[a], settings.stride, settings.dt_s
    seed = settings.seed
    state = _initial(ownship, a)
    speed, north, east, up, heading, pitch, bank = state
    own = np.empty(STATE_SIZE)
    own_seen = np.empty(STATE_SIZE)
    memory = np.zeros(settings.memory_size)
    advisory = np.zeros(ADVISORY_SIZE)
    clear_guidance(advisory)
    requested = np.zeros(ADVISORY_SIZE)
    pending = np.zeros(ADVISORY_SIZE)
    active = np.zeros(ADVISORY_SIZE)
    has_pending, responded = False, False
    pending_time = 0.0
    accel = 0.0
    hdot_pilot = 0.0
    best_range, vmd, nmac, lowc, t_lowc = np.inf, 0.0, False, False, np.nan
    alerted, t_alert, first_level, max_level, t_manoeuvre, deviation = False, np.nan, 0.0, 0.0, np.nan, 0.0
    faulty = False  # a non-finite advisory or ownship state: the run is marked, not measured
    slowc = 0.0
    first_at_level = np.full(N_ALERT_LEVELS, np.nan)  # first decision at reported level >= k
    episode_start = np.full(N_ALERT_LEVELS, np.nan)  # start of the episode at level >= k under way
    shortest_episode = np.full(N_ALERT_LEVELS, np.nan)  # shortest completed episode at level >= k
    level_changes, previous_level = 0, 0.0
    row, last = ownship.offsets[a], ownship.offsets[a + 1] - 1
    base = 5 if mitigated else 0
    seen = np.empty(STATE_SIZE)
    stream = np.empty(9, dtype=np.uint64)
    stream_init(stream, seed, np.uint64(encounter_id), np.uint64(SURVEILLANCE_SUB_STREAM), np.uint64(0))
    latency_steps = int(round(surveillance[_LATENCY] / dt))
    # the seams: navigation, surveillance and pilot memories; the standard pilot's compliance
    model_stream = np.empty(9, dtype=np.uint64)
    navigation_memory = np.zeros(_seams.NAVIGATION_MEMORY_SIZE)
    surveillance_memory = np.zeros(settings.surveillance_memory_size)
    pilot_memory = np.zeros(settings.pilot_memory_size)
    open_loop_params = settings.open_loop_params
    command = np.zeros(PILOT_COMMAND_SIZE)
    standard_pilot = _seams.model_id(pilot_model) == _seams.STANDARD
    sensor_id = _seams.model_id(surveillance_model)
    truth_model = sensor_id == _seams.PERFECT or sensor_id == _seams.NOISE
    exact_own = settings.navigation[_seams.NAV_ON] == 0.0 and settings.altimetry[_seams.ALT_ON] == 0.0
    noncompliance = settings.fly[_seams.FLY_NONCOMPLIANCE]
    complies, compliance_drawn, flying_vertical = True, False, False
    to_truth = settings.altimetry[_seams.ALT_ON] != 0.0 and settings.altimetry[_seams.ALT_TO_TRUTH] != 0.0
    # what the pilot's altimeter reads minus the dynamics' altitude (for flying an altitude target)
    altimeter_offset = 0.0
    if settings.altimetry[_seams.ALT_ON] != 0.0 and not to_truth:
        altimeter_offset = biases[0]
    # read once, before the loop (the attributes are borrowed arrays: reading them counts nothing)
    cmd, own_limits, own_steps = ownship.commands, ownship.limits, ownship.steps
    other = np.empty(STATE_SIZE)
    # this run's own arrays borrowed for the step loop too, their owners kept alive to the end
    owned = (own, own_seen, memory, advisory, requested, pending, active, seen, stream, model_stream, command, other)
    owned_too = (first_at_level, episode_start, shortest_episode, navigation_memory, surveillance_memory, pilot_memory)
    own, own_seen, memory, advisory, requested, pending, active, seen, stream, model_stream, command, other = borrowed(
        owned
    )
    first_at_level, episode_start, shortest_episode, navigation_memory, surveillance_memory, pilot_memory = borrowed(
        owned_too
    )
    for i in range(n_steps + 1):
        t = i * dt
        trig = _trig(pitch, heading)
        _state_with_trig(own, speed, north, east, up, heading, trig)
        if to_truth:  # the encounter's altitudes are what the altimeters indicate; the truth is off by the bias
            own[UP] -= biases[0]
        for k in range(STATE_SIZE):  # a copy into a borrowed array, not a view (a new array per step)
            other[k] = intruder_states[i, k]
        horizontal = math.sqrt((other[0] - own[0]) ** 2 + (other[1] - own[1]) ** 2)
        vertical = other[2] - own[2]
        if horizontal < best_range:
            best_range, vmd = horizontal, abs(vertical)
        if inside_cylinder(horizontal, vertical, cylinder[0], cylinder[1]):
            nmac = True
        if not lowc and _lowc(own, other, wc):
            lowc, t_lowc = True, t
        slowc = max(slowc, _slowc(own, other, wc))
        if mitigated and not also_nominal:
            deviation = max(
                deviation,
                math.sqrt(
                    (north - nominal_path[i, 0]) ** 2
                    + (east - nominal_path[i, 1]) ** 2
                    + (up - nominal_path[i, 2]) ** 2
                ),
            )
        elif not mitigated:
            nominal_path[i, 0], nominal_path[i, 1], nominal_path[i, 2] = north, east, up
        if i % stride == 0:  # a decision (open loop in the nominal run: the logic sees it, nobody responds)
            if not exact_own:  # the ownship as its navigation and altimeter see it
                _seams.navigate(
                    seed,
                    np.uint64(encounter_id),
                    i,
                    own,
                    biases[0],
                    settings.navigation,
                    navigation_memory,
                    model_stream,
                    own_seen,
                )
            seen_own = own if exact_own else own_seen
            tracked = _perceive(
                surveillance_model,
                settings,
                encounter_id,
                i,
                own,
                seen_own,
                intruder_states,
                latency_steps,
                stream,
                biases,
                surveillance_memory,
                seen,
            )
            code, value = 0, 0.0
            if tracked and not truth_model:  # a sensor or a user's model: check what it gives the logic
                code, value = _seen_fault(seen)
            if tracked and code == 0:
                call_logic(logic, t, seen_own, seen, memory, logic_params if mitigated else open_loop_params, advisory)
            elif code == 0:
                _no_traffic(advisory)
            if code == 0:
                code, value = advisory_fault(advisory)
            if code != 0:  # checked at every decision, both runs: the run stops at the first breach, named
                faults[a, 0], faults[a, 1], faults[a, 2] = code, t, value
                faulty = True
                break
            level = advisory[LEVEL]
            if mitigated:
                if level >= 1.0 and not alerted:
                    alerted, t_alert, first_level = True, t, level
                max_level = max(max_level, level)
            _score_alert_levels(t, level, first_at_level, episode_start, shortest_episode)
            if level != previous_level:
                level_changes += 1
            previous_level = level
            if mitigated and standard_pilot:
                reference = pending if has_pending else active
                changed = (
                    advisory[VERTICAL_MODE] != reference[VERTICAL_MODE]
                    or advisory[HORIZONTAL_MODE] != reference[HORIZONTAL_MODE]
                    or advisory[CHANGE_COUNTER] != reference[CHANGE_COUNTER]
                )
                guidance = advisory[VERTICAL_MODE] > 0 or advisory[HORIZONTAL_MODE] > 0
                if guidance and noncompliance > 0.0 and not compliance_drawn:  # decided once, at the first guidance
                    compliance_drawn = True
                    complies = _seams.tcas_complies(seed, np.uint64(encounter_id), i, noncompliance, model_stream)
                if not changed:  # band updates: the pilot follows the moving targets at once
                    reference[TARGET_VERTICAL_RATE] = advisory[TARGET_VERTICAL_RATE]
                    reference[TARGET_HEADING] = advisory[TARGET_HEADING]
                    reference[TURN_RATE] = advisory[TURN_RATE]
                elif complies:
                    requested[:] = advisory
                    pending[:] = requested
                    has_pending = True
                    if not guidance:
                        pending_time = t  # clear of conflict: back to the sampled commands at once
                    elif responded:
                        pending_time = t + pilot[_DELAY_SUBSEQUENT]
                    else:
                        pending_time = t + pilot[_DELAY_INITIAL]
            elif mitigated:
                _seams.call_pilot(
                    pilot_model,
                    seed,
                    np.uint64(encounter_id),
                    i,
                    seen_own,
                    advisory,
                    settings.pilot_params,
                    pilot_memory,
                    command,
                )
                code, value = pilot_command_fault(command)
                if code != 0:
                    faults[a, 0], faults[a, 1], faults[a, 2] = code, t, value
                    faulty = True
                    break
                if not responded and (command[PC_HORIZONTAL_MODE] > 0 or command[PC_VERTICAL_MODE] > 0):
                    responded, t_manoeuvre = True, t
        if mitigated and standard_pilot and has_pending and t >= pending_time - 1e-9:
            active[:] = pending
            has_pending = False
            if active[VERTICAL_MODE] > 0 or active[HORIZONTAL_MODE] > 0:
                accel = (pilot[_ACCEL_SUBSEQUENT] if responded else pilot[_ACCEL_INITIAL]) * G_FPS2
                if not responded:
                    responded, t_manoeuvre = True, t
                hdot_pilot = speed * math.sin(pitch)
        if i == n_steps:
            break
        while row < last and own_steps[row + 1] <= i:
            row += 1
        hdot_cmd, psidot_cmd, vdot_cmd = cmd[0, row], cmd[1, row], cmd[2, row]
        if mitigated and standard_pilot:
            if active[VERTICAL_MODE] > 0:
                change = active[TARGET_VERTICAL_RATE] - hdot_pilot
                hdot_pilot += min(max(change, -accel * dt), accel * dt)
                hdot_cmd = hdot_pilot
            if active[HORIZONTAL_MODE] > 0:
                rate = active[TURN_RATE] if active[TURN_RATE] > 0 else pilot[_TURN_RATE]
                psidot_cmd = min(max(_wrap(active[TARGET_HEADING] - heading), -rate), rate)
        elif mitigated:
            if command[PC_VERTICAL_MODE] > 0:
                if not flying_vertical:
                    hdot_pilot = speed * math.sin(pitch)
                    flying_vertical = True
                target_rate = _vertical_rate_target(command, up + altimeter_offset, settings.fly)
                accel = (command[PC_ACCEL_G] if command[PC_ACCEL_G] > 0 else pilot[_ACCEL_INITIAL]) * G_FPS2
                hdot_pilot += min(max(target_rate - hdot_pilot, -accel * dt), accel * dt)
                hdot_cmd = hdot_pilot
            else:
                flying_vertical = False
            if command[PC_HORIZONTAL_MODE] > 0:
                rate = command[PC_TURN_RATE] if command[PC_TURN_RATE] > 0 else pilot[_TURN_RATE]
                psidot_cmd = min(max(_wrap(command[PC_TARGET_HEADING] - heading), -rate), rate)
        speed, north, east, up, heading, pitch, bank = _step(
            own_limits, a, (speed, north, east, up, heading, pitch, bank), trig, hdot_cmd, psidot_cmd, vdot_cmd, dt
        )
    if not (math.isfinite(north) and math.isfinite(east) and math.isfinite(up) and math.isfinite(speed)):
        faulty = True
        if mitigated and faults[a, 0] == 0:
            faults[a, 0], faults[a, 1] = 6, n_steps * dt
    _write_separation(out, a, base, faulty, best_range, vmd, nmac, lowc, t_lowc)
    if also_nominal:
        _write_separation(out, a, 0, faulty, best_range, vmd, nmac, lowc, t_lowc)
    if mitigated:
        out[a, 10] = 1.0 if alerted else 0.0
        out[a, 11] = t_alert
        out[a, 12] = first_level
        out[a, 13] = max_level
        out[a, 14] = t_manoeuvre
        out[a, 15] = deviation
        for k in range(N_ALERT_LEVELS):
            out[a, _ALERTING + k] = first_at_level[k]
            out[a, _ALERTING + 4 + k] = shortest_episode[k]
        out[a, _ALERTING + 3] = level_changes
    if not mitigated or also_nominal:
        for k in range(N_ALERT_LEVELS):
            out[a, _OPEN_LOOP_ALERTING + k] = first_at_level[k]
            out[a, _OPEN_LOOP_ALERTING + 4 + k] = shortest_episode[k]
        out[a, _OPEN_LOOP_ALERTING + 3] = level_changes
    out[a, _SLOWC + (1 if mitigated else 0)] = slowc
    if also_nominal:
        out[a, _SLOWC] = slowc
    keep_alive((owned, owned_too))


@njit(cache=True)
def _write_separation(out, a, base, faulty, best_range, vmd, nmac, lowc, t_lowc):
    """A run's HMD, VMD, NMAC, LoWC and its time in row a of ``out`` from column ``base`` (0 nominal, 5 mitigated)."""
    # NaN comparisons would silently skip steps of the minimum range: mark the run as faulty instead
    out[a, base + 0] = np.nan if faulty else best_range
    out[a, base + 1] = vmd
    out[a, base + 2] = 1.0 if nmac else 0.0
    out[a, base + 3] = 1.0 if lowc else 0.0
    out[a, base + 4] = t_lowc


@njit(cache=True)
def _vertical_rate_target(command, altimeter_ft, fly):
    """The vertical rate (ft/s) a pilot's vertical command asks for now: its rate, or toward its altitude.

    An altitude is captured at the rate ``fly[FLY_ALTITUDE_RATE]``, proportionally within
    ``fly[FLY_CAPTURE_S]`` seconds of it (so the ownship levels off rather than oscillating).
    """
    if command[PC_VERTICAL_MODE] == PC_VERTICAL_RATE:
        return command[PC_VERTICAL_TARGET]
    limit = fly[_seams.FLY_ALTITUDE_RATE]
    wanted = (command[PC_VERTICAL_TARGET] - altimeter_ft) / fly[_seams.FLY_CAPTURE_S]
    return min(max(wanted, -limit), limit)


@njit(cache=True, inline="always")
def _score_alert_levels(t, level, first_at_level, episode_start, shortest_episode):
    """Per alert level k = 1..3 at a decision: first time at level >= k, episodes at level >= k.

    An episode at level >= k runs from the first decision at level >= k to the first decision
    below k; only completed episodes are measured (one still under way at the end is censored).
    """
    for k in range(first_at_level.shape[0]):
        if level >= k + 1.0:
            if math.isnan(first_at_level[k]):
                first_at_level[k] = t
            if math.isnan(episode_start[k]):
                episode_start[k] = t
        elif not math.isnan(episode_start[k]):
            duration = t - episode_start[k]
            if math.isnan(shortest_episode[k]) or duration < shortest_episode[k]:
                shortest_episode[k] = duration
            episode_start[k] = np.nan


def _make_closed_loop(registry_key):
    """The closed-loop body, closing over the reference logics' and models' `_registry_key`."""

    def _closed_loop(
        logic, logic_params, surveillance_model, pilot_model, ownship, intruder, settings, encounter_ids, outputs
    ):
        """Nominal and mitigated runs of every encounter (row a of ``outputs.outcomes``, columns `OUTCOME_COLUMNS`).

        ``logic`` is a compiled function (`closed_loop_kernel`, compiled in each process for each
        function) or a `REFERENCE_LOGIC_IDS` id (`reference_closed_loop_kernel`, cached on disk); an
        id no reference logic has leaves every row NaN (faulty), never another logic's outcomes.
        ``surveillance_model`` and ``pilot_model`` likewise: a reference model's id
        (`encsim.simulate._seams.SURVEILLANCE_IDS`, ``PILOT_IDS``) or a user's compiled function.
        """
        # each output array gets its own plain assignment here, outside the prange loop: Numba 0.68
        # mis-compiles a parallel loop that writes ``outputs.field[a]`` or follows ``x, y = t.p, t.q``
        # (arrays written inside functions called from the loop, like `_run_ownship`, are safe)
        out = outputs.outcomes
        faults = outputs.faults
        one_flight = settings.one_flight
        n = ownship.init.shape[1]
        if not known_logic(logic, registry_key):
            out[:, :] = np.nan
            return
        for a in prange(n):
            n_steps = settings.encounter_steps[a]  # the encounter's own length
            intruder_states = np.empty((n_steps + 1, STATE_SIZE))
            nominal_path = np.empty((1 if one_flight else n_steps + 1, 3))  # not stored with one flight
            biases = np.zeros(2)
            _fly_intruder(intruder, a, n_steps, settings.dt_s, intruder_states)
            _altimetry(ownship, intruder, a, settings, encounter_ids[a], intruder_states, biases)
            for mitigated in (False, True):
                if one_flight and not mitigated:  # the mitigated flight is the nominal one: flown once, below
                    continue
                _run_ownship(
                    logic,
                    logic_params,
                    surveillance_model,
                    pilot_model,
                    settings,
                    ownship,
                    a,
                    intruder_states,
                    biases,
                    nominal_path,
                    mitigated,
                    one_flight,
                    encounter_ids[a],
                    out,
                    faults,
                )

    return _closed_loop


@njit(cache=True)
def _altimetry(ownship, intruder, a, settings, encounter_id, intruder_states, biases):
    """Encounter a's altimetry biases (ownship, intruder; zero without the model), drawn at the start altitudes;
    with the bias applied to the truth, the intruder's true altitudes are its indicated ones minus its bias."""
    stream = np.empty(9, dtype=np.uint64)
    altimetry = settings.altimetry
    _seams.draw_altimetry(
        settings.seed, np.uint64(encounter_id), ownship.init[3, a], intruder.init[3, a], altimetry, stream, biases
    )
    if altimetry[_seams.ALT_ON] != 0.0 and altimetry[_seams.ALT_TO_TRUTH] != 0.0:
        for i in range(intruder_states.shape[0]):
            intruder_states[i, UP] -= biases[1]


_closed_loop = _make_closed_loop(_registry_key(RECORDS))
closed_loop_kernel = njit(parallel=True, nogil=True)(_closed_loop)
reference_closed_loop_kernel = njit(parallel=True, cache=True, nogil=True)(_closed_loop)
