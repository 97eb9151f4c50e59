"""Closed loop: every encounter flown nominal and mitigated with the logic under test."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..avoidance import PilotModel, Surveillance, is_compiled, resolve_logic, unequipped
from ..avoidance.interface import MEMORY_SIZE
from ..avoidance.reference_logics import REFERENCE_LOGIC_IDS, memory_size_of, open_loop_params_of, reference_logic_id
from ..dynamics import DT_S, DynamicLimits, step_indices
from ..metrics.detection import NMAC, WellClearVolume, well_clear_preset
from . import _kernels, _seams
from .seams import (
    PilotConfig,
    SeamContractError,
    SurveillanceConfig,
    check_pilot,
    check_surveillance,
    pilot_arguments,
    pilot_config,
    pilot_from_provenance,
    pilot_provenance,
    surveillance_arguments,
    surveillance_config,
    surveillance_from_provenance,
    surveillance_provenance,
)

__all__ = [
    "OUTCOME_COLUMNS",
    "LogicRunError",
    "PilotConfig",
    "SeamContractError",
    "SurveillanceConfig",
    "alerting_times",
    "check_pilot",
    "check_surveillance",
    "closed_loop_provenance",
    "pilot_config",
    "pilot_from_provenance",
    "record_encounter",
    "simulate",
    "simulate_states",
    "surveillance_config",
    "surveillance_from_provenance",
]
OUTCOME_COLUMNS = _kernels.OUTCOME_COLUMNS
_NMAC_FT = (NMAC.radius_ft, NMAC.half_height_ft)
#: the modules `simulate` imports on a compiled logic's first call (its plain-logic path aside):
#: a caller about to fly in several threads imports them first (`encsim.runner.run`), as two
#: threads importing one package at once can meet in a circular import
LAZY_IMPORTS = (
    "encsim.simulate.containment",
    "encsim.avoidance",
    "encsim.avoidance.daidalus.logic",
    "encsim.avoidance.plugins",
    "encsim.checksums",
    "encsim.dynamics",
)


class LogicRunError(ValueError):
    """A logic that broke its contract or raised during a run: the message names the encounter and time."""


def _flight(states, schedule, limits) -> _kernels.Flight:
    """One aircraft of every encounter, as the kernels take it."""
    init = np.stack(
        [
            states.speed_fps,
            states.north_ft,
            states.east_ft,
            states.alt_ft,
            states.heading_rad,
            states.pitch_rad,
            states.bank_rad,
        ]
    )
    commands = np.stack([schedule.hdot_fps, schedule.psidot_rad_s, schedule.vdot_fps2])
    return _kernels.Flight(init, schedule.offsets, step_indices(schedule, dt_s=DT_S), commands, limits)


def simulate_states(
    own_initial,
    own_schedule,
    int_initial,
    int_schedule,
    duration_s: float,
    logic="unequipped",
    *,
    pilot: PilotModel | PilotConfig | str | None = None,
    decision_period_s: float = 1.0,
    well_clear: str | WellClearVolume = "do365",
    nmac_ft=_NMAC_FT,
    surveillance: Surveillance | SurveillanceConfig | str | None = None,
    seed: int = 0,
    encounter_ids=None,
    compiling=None,
    own_limits: DynamicLimits | None = None,
    int_limits: DynamicLimits | None = None,
) -> pd.DataFrame:
    """Closed loop from explicit initial states and command schedules (one row per encounter).

    Parameters
    ----------
    own_initial, int_initial : InitialStates
        Placed initial states of the ownship and intruder (one entry per encounter).
    own_schedule, int_schedule : CommandSchedule
        Their sampled commands; the intruder always flies its own, the ownship unless manoeuvring.
    duration_s : float or array_like
        Encounter length (a multiple of 0.1 s), or one per encounter (recorded encounters): each is
        flown, and its metrics measured, over its own length.
    logic : str, njit function or (njit function, params)
        ``"unequipped"``, ``"tcas"``, or a fast-path logic (`encsim.avoidance.interface`).
    pilot : PilotModel, PilotConfig or str
        The pilot seam (`encsim.simulate.seams`): ``"standard"`` (the default: the standard TCAS
        pilot, or a `PilotModel`'s delays, accelerations and turn rate), ``"r6"``,
        ``"r6-deterministic"``, ``module:object`` or a `PilotConfig`.
    decision_period_s : float
        Time between the logic's decisions (1 s by default).
    well_clear : str or WellClearVolume
        Well-clear volume for LoWC, a preset name or a volume (its TCOA test included); ``nmac_ft``
        the NMAC cylinder (radius, half-height).
    surveillance : Surveillance, SurveillanceConfig or str, optional
        What the logic sees (`encsim.simulate.seams`): ``"perfect"`` (the default), ``"noise"`` or a
        `Surveillance` (white noise and latency), ``"adsb"``, ``"radar"``, ``"active"`` (with
        ``"+tracker"``), ``module:object`` or a `SurveillanceConfig` (tracker, navigation,
        altimetry). Their draws come from the encounter's sub-streams 3-5 (seed, encounter id),
        the pilot's from 6, so they are the same for an encounter whatever else is simulated with it.
    compiling : callable, optional
        A context manager factory wrapped around compiling the closed-loop kernel for these
        arguments, apart from running it (the runner's per-chunk time limit pauses there).
    own_limits : DynamicLimits, optional
        The ownship's dynamic limits (default: the MIT LL ones, as the intruder's); a small-UAS
        ownship flies with its performance preset's (`encsim.encounters.small_uas`). Its fields may
        be arrays of one value per encounter (recorded aircraft: `encsim.io.recorded_set.recorded_limits`).
    int_limits : DynamicLimits, optional
        The intruder's, likewise (default: the MIT LL ones).
    """
    pilot, surveillance = pilot_config(pilot), surveillance_config(surveillance)
    function, params = resolve_logic(logic, pilot.standard)
    n = own_initial.n_aircraft
    settings, models = _settings(
        duration_s, pilot, decision_period_s, well_clear, nmac_ft, surveillance, seed, function, params, n_encounters=n
    )
    if not (int_initial.n_aircraft == own_schedule.n_aircraft == int_schedule.n_aircraft == n):
        raise ValueError("own and intruder states and schedules must describe the same number of encounters")
    out = np.full((n, len(OUTCOME_COLUMNS)), np.nan)
    ownship = _flight(own_initial, own_schedule, _limits_array(own_limits, n))
    intruder = _flight(int_initial, int_schedule, _limits_array(int_limits, n))
    # a writable copy: read-only ids would be another signature of the disk-cached kernel
    ids = np.arange(n, dtype=np.int64) if encounter_ids is None else np.array(encounter_ids, dtype=np.int64)
    faults = np.zeros((n, 3))
    if not is_compiled(function):  # a plain Python callable: the slow path
        return _simulate_python(function, params, models, ownship, intruder, settings, ids, out, faults)
    if n:
        user_models = not all(isinstance(model, np.integer) for model in models)
        if user_models:  # bounds-checked, their exceptions reported as faults 8 and 9
            from .containment import contained_pilot, contained_surveillance

            sensor, pilot_model = models
            models = (
                sensor if isinstance(sensor, np.integer) else contained_surveillance(sensor),
                pilot_model if isinstance(pilot_model, np.integer) else contained_pilot(pilot_model),
            )
        if function in REFERENCE_LOGIC_IDS and not user_models:  # the disk-cached kernel (docs/closed_loop.md)
            kernel, logic_argument = _kernels.reference_closed_loop_kernel, np.int64(reference_logic_id(function))
        elif function in REFERENCE_LOGIC_IDS:  # a user's surveillance or pilot model: compiled in this process
            kernel, logic_argument = _kernels.closed_loop_kernel, function
        else:  # a user's logic: bounds-checked, its exceptions caught (encsim.simulate.containment)
            from .containment import contained

            kernel, logic_argument = _kernels.closed_loop_kernel, contained(function)
        arguments = (logic_argument, params, *models, ownship, intruder, settings, ids, _kernels.Outputs(out, faults))
        if compiling is not None:  # compile apart from running (a minute for a new plug-in's closed loop)
            import numba

            with compiling():
                kernel.compile(tuple(numba.typeof(argument) for argument in arguments))
        kernel(*arguments)

    def explain(a):
        from .containment import explain_raise

        return explain_raise(function, params, models, ownship, intruder, settings, a, int(ids[a]))

    return _outcome_frame(out, logic, ids, faults, explain)


def _limits_array(limits: DynamicLimits | None, n: int) -> np.ndarray:
    """(6, n) limits of one aircraft of every encounter: the MIT LL ones unless given."""
    return (DynamicLimits() if limits is None else limits).as_array(n)


def _settings(
    duration_s,
    pilot,
    decision_period_s,
    well_clear,
    nmac_ft,
    surveillance,
    seed,
    function=None,
    params=None,
    n_encounters=1,
):
    """The closed loop's `Settings` group and the (surveillance, pilot) model arguments of the kernel, the
    duration and decision period checked against the 10-Hz step.

    ``pilot`` and ``surveillance`` are a `PilotConfig` and a `SurveillanceConfig`; ``duration_s`` one
    length for all ``n_encounters`` encounters or one per encounter.
    """
    stride = int(round(decision_period_s / DT_S))
    if stride < 1 or abs(stride * DT_S - decision_period_s) > 1e-9:
        raise ValueError(f"decision_period_s = {decision_period_s} must be a positive multiple of {DT_S} s")
    encounter_steps = _encounter_steps(duration_s, n_encounters)
    n_steps = int(encounter_steps.max(initial=1))
    sensor, sensor_params, sensor_memory, navigation, altimetry = surveillance_arguments(surveillance, stride)
    pilot_model, pilot_params, pilot_memory, fly = pilot_arguments(pilot)
    settings = _kernels.Settings(
        n_steps=np.int64(n_steps),
        stride=np.int64(stride),
        dt_s=float(DT_S),
        pilot=pilot.standard.as_array(),
        nmac_ft=np.asarray(nmac_ft, dtype=np.float64),
        well_clear=_volume(well_clear).as_array(),
        surveillance=sensor_params,
        seed=np.uint64(seed),
        memory_size=np.int64(MEMORY_SIZE if function is None else memory_size_of(function)),
        surveillance_memory_size=np.int64(sensor_memory),
        navigation=navigation,
        altimetry=altimetry,
        pilot_params=pilot_params,
        pilot_memory_size=np.int64(pilot_memory),
        fly=fly,
        open_loop_params=_open_loop_params(function, params),
        encounter_steps=encounter_steps,
        one_flight=np.bool_(_one_flight(function, sensor, pilot_model)),
    )
    return settings, (sensor, pilot_model)


def _one_flight(function, sensor, pilot_model) -> bool:
    """Whether the mitigated run is provably the nominal run flown again, so the kernel flies the ownship once.

    The unequipped logic writes no alert and no guidance at any decision, whatever it sees or is given;
    the standard pilot manoeuvres (and draws its non-compliance) only on guidance; so the mitigated flight
    has the nominal one's initial state, commands and dynamics, step for step, and the same metrics and
    alert levels. A reference surveillance model is the same computation in both runs (its own sub-stream,
    restarted); a user's model is not assumed to be. Any other logic or pilot flies both runs.
    """
    reference_models = isinstance(sensor, np.integer) and isinstance(pilot_model, np.integer)
    return function is unequipped and reference_models and int(pilot_model) == _seams.STANDARD


def _encounter_steps(duration_s, n_encounters: int) -> np.ndarray:
    """The 10-Hz steps each encounter is flown for: (n_encounters,) int64, every duration checked."""
    durations = np.asarray(duration_s, dtype=np.float64)
    if durations.ndim != 0 and durations.shape != (n_encounters,):
        raise ValueError(
            f"duration_s: expected one duration or {n_encounters} (one per encounter), got shape {durations.shape}"
        )
    flat = np.atleast_1d(durations)
    steps = np.rint(flat / DT_S)
    wrong = np.flatnonzero(~(steps >= 1) | (np.abs(steps * DT_S - flat) > 1e-9))
    if wrong.size:
        which = "" if durations.ndim == 0 else f"[{wrong[0]}]"
        raise ValueError(f"duration_s{which} = {flat[wrong[0]]} must be a positive multiple of {DT_S} s")
    if durations.ndim == 0:
        return np.full(n_encounters, int(steps[0]), dtype=np.int64)
    return steps.astype(np.int64)


def _open_loop_params(function, params) -> np.ndarray:
    """The logic's parameters for the open-loop pass (`open_loop_params_of`); a one-zero array without a logic."""
    if params is None:
        return np.zeros(1)
    return open_loop_params_of(function, np.asarray(params, dtype=np.float64))


def record_encounter(
    own_initial,
    own_schedule,
    int_initial,
    int_schedule,
    duration_s: float,
    logic,
    recorder,
    *,
    pilot: PilotModel | PilotConfig | str | None = None,
    decision_period_s: float = 1.0,
    well_clear: str | WellClearVolume = "do365",
    nmac_ft=_NMAC_FT,
    surveillance: Surveillance | SurveillanceConfig | str | None = None,
    seed: int = 0,
    encounter_id: int = 0,
    own_limits: DynamicLimits | None = None,
    int_limits: DynamicLimits | None = None,
) -> np.ndarray:
    """One encounter flown nominal and mitigated by the plain-Python closed loop, step by step into ``recorder``.

    The arguments are `simulate_states`'s for a single encounter (states and schedules of one
    aircraft each); ``recorder`` receives the flights (see `encsim.simulate.plain.run_encounter`).
    A compiled logic is called from Python, so the decisions are the kernel's. Returns the row of
    `OUTCOME_COLUMNS` (an array); raises `LogicRunError` for a logic that broke its contract.
    """
    from .plain import run_encounter

    pilot, surveillance = pilot_config(pilot), surveillance_config(surveillance)
    function, params = resolve_logic(logic, pilot.standard)
    if not (
        own_initial.n_aircraft == int_initial.n_aircraft == own_schedule.n_aircraft == int_schedule.n_aircraft == 1
    ):
        raise ValueError("record_encounter flies one encounter: give the states and schedules of one aircraft each")
    settings, models = _settings(
        duration_s, pilot, decision_period_s, well_clear, nmac_ft, surveillance, seed, function, params
    )
    ownship = _flight(own_initial, own_schedule, _limits_array(own_limits, 1))
    intruder = _flight(int_initial, int_schedule, _limits_array(int_limits, 1))
    out, faults = np.full((1, len(OUTCOME_COLUMNS)), np.nan), np.zeros((1, 3))
    out[0] = run_encounter(
        function, params, ownship, intruder, settings, 0, int(encounter_id), faults[0], recorder, models=models
    )
    _outcome_frame(out, logic, np.array([encounter_id], dtype=np.int64), faults)  # refuses a faulty flight
    return out[0]


def _volume(well_clear) -> WellClearVolume:
    """A well-clear volume from a preset name or a `WellClearVolume`."""
    if isinstance(well_clear, WellClearVolume):
        return well_clear
    if isinstance(well_clear, str):
        return well_clear_preset(well_clear)
    raise TypeError(f"well_clear must be a preset name or a WellClearVolume, got {well_clear!r:.80}")


def _fault_text(code: int, value: float) -> str:
    from ..avoidance import interface

    if code == 1:
        names = {
            getattr(interface, name): name
            for name in (
                "LEVEL",
                "VERTICAL_MODE",
                "HORIZONTAL_MODE",
                "TARGET_VERTICAL_RATE",
                "TARGET_HEADING",
                "TURN_RATE",
                "CHANGE_COUNTER",
            )
            if hasattr(interface, name)
        }
        return f"wrote a non-finite advisory entry, advisory[{int(value)}] ({names.get(int(value), '?')})"
    if code == 2:
        return f"wrote alert level {value:g} (expected 0, 1, 2 or 3)"
    if code in (3, 4):
        return f"wrote {'vertical' if code == 3 else 'horizontal'} mode {value:g} (expected 0 or 1)"
    if code == 6:
        return "flew the ownship to a non-finite state"
    if code == 7:
        return f"wrote a guidance block field out of range, advisory[{int(value)}] (see guidance_index)"
    if code == 9:
        return (
            f"was given a non-finite state by the surveillance model (or the model raised), seen[{int(value)}] "
            "(check it with encsim.simulate.check_surveillance):"
        )
    if code == 8:
        return (
            f"was flown by a pilot model that wrote a non-finite or out-of-range command, command[{int(value)}] "
            "(check it with encsim.simulate.check_pilot):"
        )
    return "raised an exception"


def _outcome_frame(out: np.ndarray, logic, ids: np.ndarray, faults=None, explain=None) -> pd.DataFrame:
    """The outcome table; refuses runs the engine marked faulty, naming the first encounter and time."""
    hmd_columns = [OUTCOME_COLUMNS.index("nominal_hmd_ft"), OUTCOME_COLUMNS.index("mitigated_hmd_ft")]
    faulty = np.flatnonzero(np.isnan(out[:, hmd_columns]).any(axis=1))
    if faulty.size:
        from ..avoidance import describe_logic

        others = f" ({faulty.size} faulty encounter(s), ids {ids[faulty][:10].tolist()})"
        coded = [a for a in faulty if faults is not None and faults[a, 0] != 0]
        if not coded:
            raise LogicRunError(
                f"logic {describe_logic(logic)} gave a non-finite advisory (or flew the ownship to a non-finite state) "
                f"in {faulty.size} encounter(s), ids {ids[faulty][:10].tolist()}: outcomes would be meaningless; "
                "check it with encsim.avoidance.check_logic"
            )
        a = coded[0]
        code, t_s, value = int(faults[a, 0]), float(faults[a, 1]), float(faults[a, 2])
        what = _fault_text(code, value)
        if code == 5 and explain is not None:
            what += f": {explain(a)}"
        raise LogicRunError(
            f"logic {describe_logic(logic)} {what} at t = {t_s:g} s of encounter {int(ids[a])}{others}: the run "
            "stops, as its outcomes would be meaningless; check the logic with encsim.avoidance.check_logic"
        )
    frame = pd.DataFrame(out, columns=list(OUTCOME_COLUMNS))
    for column in ("nominal_nmac", "nominal_lowc", "mitigated_nmac", "mitigated_lowc", "alerted"):
        frame[column] = frame[column].astype(bool)
    return frame


def _simulate_python(function, params, models, ownship, intruder, settings, ids, out, faults) -> pd.DataFrame:
    """Python-object logics: the plain-Python closed loop, one encounter at a time (slow)."""
    import warnings

    from ..avoidance import describe_logic
    from .plain import run_encounter

    warnings.warn(
        "a plain Python logic runs the closed loop in Python, about a thousand times slower than an @njit "
        "logic: use it to prototype, then compile it",
        UserWarning,
        stacklevel=3,
    )
    clock = {"t": None}

    def recording(t_s, *arrays):
        clock["t"] = t_s
        return function(t_s, *arrays)

    for a in range(out.shape[0]):
        try:
            out[a] = run_encounter(
                recording, params, ownship, intruder, settings, a, int(ids[a]), faults[a], models=models
            )
        except Exception as exc:  # the user's code: report what it raised, where and when
            raise LogicRunError(
                f"logic {describe_logic(function)} raised {type(exc).__name__}: {exc} at t = {clock['t']:g} s "
                f"of encounter {int(ids[a])}"
            ) from exc
    return _outcome_frame(out, function, ids, faults)


def simulate(
    encounters,
    logic="unequipped",
    *,
    pilot: PilotModel | PilotConfig | str | None = None,
    decision_period_s: float = 1.0,
    well_clear: str | WellClearVolume | None = None,
    surveillance: Surveillance | SurveillanceConfig | str | None = None,
    compiling=None,
) -> pd.DataFrame:
    """Fly every encounter of an `EncounterSet` nominal and mitigated with ``logic`` (see `simulate_states`).

    The nominal run reproduces the encounter generator's flight exactly; outcomes come with the
    encounter ids and weights, ready for `encsim.metrics.risk_ratio`. Without ``surveillance`` or
    ``pilot``, the scenario's ``[surveillance]``, ``[tracker]``, ``[altimetry]`` and ``[pilot]``
    tables decide them (perfect surveillance and the standard pilot when it has none).
    """
    scenario = encounters.scenario
    if surveillance is None or pilot is None:
        scenario_surveillance, scenario_pilot = scenario_seams(scenario)
        surveillance = scenario_surveillance if surveillance is None else surveillance
        pilot = scenario_pilot if pilot is None else pilot
    own_limits, int_limits = getattr(encounters, "own_limits", None), getattr(encounters, "int_limits", None)
    durations_s = getattr(encounters, "durations_s", None)  # recorded encounters: each its own length
    frame = simulate_states(
        encounters.own_initial,
        encounters.ownship.schedule,
        encounters.int_initial,
        encounters.intruder.schedule,
        scenario.geometry.duration_s if durations_s is None else durations_s,
        logic,
        pilot=pilot,
        decision_period_s=decision_period_s,
        well_clear=well_clear or scenario.metrics.well_clear,
        nmac_ft=(scenario.metrics.nmac_radius_ft, scenario.metrics.nmac_half_height_ft),
        surveillance=surveillance,
        seed=encounters.seed,
        encounter_ids=encounters.metadata["encounter_id"].to_numpy(),
        compiling=compiling,
        own_limits=own_limits,
        int_limits=int_limits,
    )
    frame.insert(0, "encounter_id", encounters.metadata["encounter_id"].to_numpy())
    frame.insert(1, "weight", encounters.metadata["weight"].to_numpy())
    frame.attrs["closed_loop"] = closed_loop_provenance(
        logic,
        pilot=pilot,
        surveillance=surveillance,
        decision_period_s=decision_period_s,
        well_clear=well_clear or scenario.metrics.well_clear,
        nmac_ft=(scenario.metrics.nmac_radius_ft, scenario.metrics.nmac_half_height_ft),
        own_limits=own_limits,
        int_limits=int_limits,
    )
    return frame


def scenario_seams(scenario) -> tuple[SurveillanceConfig, PilotConfig]:
    """The surveillance and pilot a scenario's tables ask for (`encsim.io.scenario`), or the defaults.

    The scenario's ``surveillance_config()`` and ``pilot_config()`` methods build them; a scenario
    object without them (an older schema) gets perfect surveillance and the standard pilot.
    """
    make_surveillance = getattr(scenario, "surveillance_config", None)
    make_pilot = getattr(scenario, "pilot_config", None)
    surveillance = make_surveillance() if callable(make_surveillance) else None
    pilot = make_pilot() if callable(make_pilot) else None
    return surveillance_config(surveillance), pilot_config(pilot)


def closed_loop_provenance(
    logic,
    *,
    pilot=None,
    surveillance=None,
    decision_period_s=1.0,
    well_clear="do365",
    nmac_ft=_NMAC_FT,
    own_limits: DynamicLimits | None = None,
    int_limits: DynamicLimits | None = None,
) -> dict:
    """Everything that decided the mitigated flights besides the encounters: stored with the outcomes.

    The logic's name, parameter array and the sha256 of the source file that defines it (so a
    changed plug-in is visible), the pilot and surveillance seams (model names, parameters and
    source sha256: `encsim.simulate.seams`), the decision period, the well-clear preset and the
    NMAC cylinder; ``ownship_limits`` only for an ownship flying other dynamic limits than the MIT
    LL ones (a small UAS), so that a replay flies it the same; ``intruder_limits`` likewise (limits that
    differ per encounter, as recorded aircraft's, are in the encounters' metadata instead); for a DAA
    preset (``daa``, ``daa-sum``, ...) also its DAIDALUS configuration: name, text and sha256
    (`encsim.avoidance.daidalus.logic.daa_provenance`).
    """
    import dataclasses
    import inspect

    from ..avoidance import describe_logic
    from ..avoidance.daidalus.logic import daa_provenance
    from ..checksums import file_sha256

    pilot, surveillance = pilot_config(pilot), surveillance_config(surveillance)
    function, params = resolve_logic(logic, pilot.standard)
    source_sha256 = ""
    try:
        source = inspect.getsourcefile(getattr(function, "py_func", function))
        if source:
            source_sha256 = file_sha256(source)
    except (TypeError, OSError):  # a builtin or a function without a file
        pass
    return {
        "logic": describe_logic(logic),
        "logic_function": describe_logic(function),
        "logic_source_sha256": source_sha256,
        "logic_params": [float(x) for x in params],
        "pilot": pilot_provenance(pilot),
        "surveillance": surveillance_provenance(surveillance),
        "decision_period_s": float(decision_period_s),
        "well_clear": well_clear if isinstance(well_clear, str) else dataclasses.asdict(_volume(well_clear)),
        "nmac_cylinder_ft": [float(nmac_ft[0]), float(nmac_ft[1])],
        **_limits_record("ownship_limits", own_limits),
        **_limits_record("intruder_limits", int_limits),
        **daa_provenance(logic),  # a DAA preset's DAIDALUS configuration: its name, text and sha256
    }


def _limits_record(key: str, limits: DynamicLimits | None) -> dict:
    """``{key: limits}`` for limits the whole run shares; per-encounter limits (recorded aircraft) are
    in the encounters' metadata instead, so a run's identity does not depend on its chunking."""
    import dataclasses

    if limits is None:
        return {}
    values = dataclasses.asdict(limits)
    if any(np.ndim(value) for value in values.values()):
        return {}
    return {key: values}


def alerting_times(provenance: dict | None) -> tuple[np.ndarray, np.ndarray, str]:
    """Alerting times AT_k and early alerting times EAT_k (s, levels 1-3) to score a run's alerts by.

    From the run's logic parameters when the logic is the DAA reference logic (any preset: its
    parameter array holds them); otherwise, a logic without alerting times of its own, from the
    DO-365B configuration of the ``daa`` preset, named as such. ``provenance`` is
    `closed_loop_provenance`'s dict (stored with every results file).
    """
    from ..avoidance.daidalus.logic import N_PARAMS, alerting_times_s, daidalus_logic, daidalus_params
    from ..avoidance.plugins import describe_logic

    provenance = provenance or {}
    params = np.asarray(provenance.get("logic_params", []), dtype=np.float64)
    if provenance.get("logic_function") == describe_logic(daidalus_logic) and params.shape == (N_PARAMS,):
        at, eat = alerting_times_s(params)
        return at, eat, f"the parameters of logic {provenance.get('logic', '?')}"
    at, eat = alerting_times_s(daidalus_params("do365b"))
    return at, eat, "DO-365B (the daa preset's parameters; the logic under test has none of its own)"


def kernels_cached() -> bool | None:
    """Whether Numba's disk cache already holds the reference closed loop's kernel.

    False on a fresh installation, whose first run with a logic compiles it (a minute or two); None
    when this Numba keeps its cache index elsewhere, so the caller says nothing rather than guess.
    """
    from ..dynamics import kernel_cached

    return kernel_cached(_kernels.reference_closed_loop_kernel)
