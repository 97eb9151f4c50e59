"""The closed loop's surveillance and pilot seams: what the logic sees, and what the pilot does.

Both are chosen like logics: a reference model by name, or a user's ``@njit`` function by
``module:object`` (or the function itself, or a ``(function, params)`` tuple). See
docs/closed_loop.md (the contracts) and docs/sensors_and_pilots.md (the reference models).

Surveillance: ``perfect`` (the truth; the default), ``noise`` (the older white-noise-plus-latency
`Surveillance`), ``adsb``, ``radar``, ``active`` (``active-mode-c``: a Mode C transponder), each
optionally followed by the constant-velocity Kalman tracker (``adsb+tracker``; radar and active
surveillance measure no velocity, so they are always tracked), with the ownship's navigation
error and the altimetry biases as options. A user's model::

    @njit
    def my_sensor(seed, encounter_id, step, own, intruder, own_seen, altitude_bias_ft, params, memory, seen):
        # own, intruder: the true states (STATE_SIZE); own_seen: the ownship as the logic sees it;
        # altitude_bias_ft: (ownship, intruder) altimetry biases; memory: zero at the start of each run
        # write seen (STATE_SIZE, the intruder as the logic sees it); return True, or False for no track
        ...


    my_sensor.memory_size = 32  # optional (default SEAM_MEMORY_SIZE)

Pilot: ``standard`` (`PilotModel`; the default), ``r6`` and ``r6-deterministic`` (the MIT LL UAS
pilot model, `encsim.pilots`), the standard pilot with a TCAS non-compliance probability, or a
user's ``@njit`` ``pilot(seed, encounter_id, step, own_seen, advisory, params, memory, command)``
writing a command (`encsim.avoidance.interface.PILOT_COMMAND_SIZE`) at each decision.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..avoidance.interface import (
    PC_ACCEL_G,
    PC_HORIZONTAL_MODE,
    PC_TURN_RATE,
    PC_VERTICAL_MODE,
    PILOT_COMMAND_SIZE,
    SEAM_MEMORY_SIZE,
    STATE_SIZE,
    PilotModel,
    Surveillance,
    logic_memory_size,
)
from ..dynamics import DT_S
from ..pilots import R6_DETERMINISTIC, R6_STOCHASTIC, R6PilotParams
from ..sensors import (
    ACTIVE_MODE_C,
    ACTIVE_MODE_S,
    ADSB_DO365,
    RADAR_DO365,
    ActiveSurveillanceParams,
    AdsbParams,
    AltimetryParams,
    NavigationParams,
    RadarParams,
    TrackerParams,
)
from ..units import FPS_PER_FPM
from . import _seams

__all__ = [
    "PILOTS",
    "SURVEILLANCE_MODELS",
    "PilotConfig",
    "SeamContractError",
    "SurveillanceConfig",
    "check_pilot",
    "check_surveillance",
    "pilot_config",
    "surveillance_config",
]

#: reference surveillance models: name -> (kernel id, default parameters)
SURVEILLANCE_MODELS: dict[str, tuple[int, Any]] = {
    "perfect": (_seams.PERFECT, None),
    "noise": (_seams.NOISE, Surveillance()),
    "adsb": (_seams.ADSB, ADSB_DO365),
    "radar": (_seams.RADAR, RADAR_DO365),
    "active": (_seams.ACTIVE, ACTIVE_MODE_S),
    "active-mode-c": (_seams.ACTIVE, ACTIVE_MODE_C),
}
_SENSOR_PARAMS = {
    _seams.NOISE: Surveillance,
    _seams.ADSB: AdsbParams,
    _seams.RADAR: RadarParams,
    _seams.ACTIVE: ActiveSurveillanceParams,
}
#: reference pilots: name -> (kernel id, default R6 parameters or None)
PILOTS: dict[str, tuple[int, R6PilotParams | None]] = {
    "standard": (_seams.STANDARD, None),
    "r6": (_seams.R6, R6_STOCHASTIC),
    "r6-deterministic": (_seams.R6, R6_DETERMINISTIC),
}
TRACKER_SUFFIX = "+tracker"


class SeamContractError(ValueError):
    """A surveillance or pilot model that breaks its contract, or a name that names nothing usable."""


def _import(spec: str, what: str):
    module_name, _, attribute = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise SeamContractError(f"{what} {spec!r}: cannot import {attribute!r} from {module_name!r} ({exc})") from None


def _user_model(spec, what: str):
    """(function, params array, label) of a user's model given by import path, function or (function, params)."""
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):  # (import path, params)
        function, _, label = _user_model(spec[0], what)
        spec = (function, spec[1])
    else:
        label = spec if isinstance(spec, str) else None
    obj = _import(spec, what) if isinstance(spec, str) else spec
    params = np.zeros(1)
    if isinstance(obj, tuple):
        if len(obj) != 2 or not callable(obj[0]):
            raise SeamContractError(f"{what} {label or obj!r:.80}: a tuple must be (function, params)")
        obj, params = obj[0], np.asarray(obj[1], dtype=np.float64)
    if not callable(obj) or not hasattr(obj, "py_func"):
        raise SeamContractError(f"{what} {label or obj!r:.80}: expected an @njit function (see docs/closed_loop.md)")
    if params.ndim != 1:
        raise SeamContractError(f"{what} {label or obj!r:.80}: params must be a 1-d array, got shape {params.shape}")
    module = getattr(obj, "__module__", "?")
    return obj, params, label or f"{module}:{getattr(obj, '__qualname__', '?')}"


def _source_sha256(obj) -> str:
    from ..checksums import file_sha256

    try:
        source = inspect.getsourcefile(getattr(obj, "py_func", obj))
        return file_sha256(source) if source else ""
    except (TypeError, OSError):
        return ""


def _asdict(params) -> dict:
    if params is None:
        return {}
    if dataclasses.is_dataclass(params):
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(params).items()}
    return {"params": [float(x) for x in np.asarray(params, dtype=np.float64)]}


@dataclass(frozen=True)
class SurveillanceConfig:
    """What the logic sees: the surveillance model, its tracker, the ownship's navigation, the altimetry.

    Attributes
    ----------
    model : str or function
        A `SURVEILLANCE_MODELS` name, ``module:object``, an ``@njit`` function or ``(function, params)``.
    params : parameters, optional
        The reference model's (`Surveillance`, `AdsbParams`, `RadarParams`,
        `ActiveSurveillanceParams`; default its preset); ignored for a user model (give a tuple).
    tracker : TrackerParams or None
        The constant-velocity Kalman tracker after the sensor; None: untracked (ADS-B only: the last
        report flown on at its velocity). Radar and active surveillance always get one.
    navigation : NavigationParams or None
        The ownship's GPS/INS error in what the logic sees of the ownship; None: exact.
    altimetry : AltimetryParams or None
        One Laplacian bias per aircraft and encounter in the altitudes the logic sees (the
        ownship's altimeter, the intruder's reports); None: exact.
    altimetry_to_truth : bool
        The encounter's altitudes are what the altimeters indicate, so the true altitudes that
        NMAC, LoWC and the miss distances are scored on are off by the biases.
    max_coast_s : float
        A track (or an untracked report) not refreshed for longer is dropped: the logic then has
        no intruder (it is not called; the advisory is no alert).
    """

    model: Any = "perfect"
    params: Any = None
    tracker: TrackerParams | None = None
    navigation: NavigationParams | None = None
    altimetry: AltimetryParams | None = None
    altimetry_to_truth: bool = False
    max_coast_s: float = 10.0

    def __post_init__(self) -> None:
        if isinstance(self.model, str) and ":" not in self.model and self.model not in SURVEILLANCE_MODELS:
            raise SeamContractError(
                f"surveillance model {self.model!r}: expected one of {sorted(SURVEILLANCE_MODELS)} "
                f"(optionally with {TRACKER_SUFFIX!r}) or module:object"
            )
        kernel_id = self.kernel_id
        if kernel_id is not None and self.params is not None and kernel_id in _SENSOR_PARAMS:
            expected = _SENSOR_PARAMS[kernel_id]
            if not isinstance(self.params, expected):
                raise SeamContractError(
                    f"surveillance model {self.model!r}: params must be {expected.__name__}, "
                    f"got {type(self.params).__name__}"
                )
        if kernel_id in (_seams.PERFECT, _seams.NOISE) and self.tracker is not None:
            raise SeamContractError(f"surveillance model {self.model!r} reports the truth: it takes no tracker")
        if not (
            isinstance(self.max_coast_s, (int, float)) and self.max_coast_s >= 0 and math.isfinite(self.max_coast_s)
        ):
            raise SeamContractError(
                f"SurveillanceConfig.max_coast_s={self.max_coast_s!r}: expected a finite number >= 0"
            )
        for name, kind in (
            ("tracker", TrackerParams),
            ("navigation", NavigationParams),
            ("altimetry", AltimetryParams),
        ):
            value = getattr(self, name)
            if value is not None and not isinstance(value, kind):
                raise SeamContractError(
                    f"SurveillanceConfig.{name}: expected {kind.__name__} or None, got {value!r:.80}"
                )

    @property
    def kernel_id(self) -> int | None:
        """The reference model's kernel id, or None for a user's model."""
        if isinstance(self.model, str) and self.model in SURVEILLANCE_MODELS:
            return SURVEILLANCE_MODELS[self.model][0]
        return None

    @property
    def sensor_params(self):
        """The reference model's parameters (its preset unless given)."""
        if self.kernel_id is None:
            return None
        return self.params if self.params is not None else SURVEILLANCE_MODELS[self.model][1]

    @property
    def effective_tracker(self) -> TrackerParams | None:
        """The tracker flown: the one given, and the default one for radar and active surveillance."""
        if self.tracker is None and self.kernel_id in (_seams.RADAR, _seams.ACTIVE):
            return TrackerParams()
        return self.tracker


def surveillance_config(spec=None, **overrides) -> SurveillanceConfig:
    """A `SurveillanceConfig` from None (perfect), a name (``"adsb"``, ``"adsb+tracker"``, ``"radar"``, ...),
    a legacy `Surveillance` (the white-noise model), a user model, or a `SurveillanceConfig`; ``overrides``
    replace its fields (e.g. ``navigation=NAVIGATION_DO365``).

    Examples
    --------
    >>> surveillance_config("adsb+tracker").effective_tracker is not None
    True
    >>> surveillance_config().model
    'perfect'
    """
    if isinstance(spec, SurveillanceConfig):
        config = spec
    elif spec is None:
        config = SurveillanceConfig()
    elif isinstance(spec, Surveillance):
        config = SurveillanceConfig("noise", spec)
    elif isinstance(spec, str) and spec.endswith(TRACKER_SUFFIX):
        config = SurveillanceConfig(spec[: -len(TRACKER_SUFFIX)], tracker=TrackerParams())
    else:
        config = SurveillanceConfig(spec)
    return dataclasses.replace(config, **overrides) if overrides else config


@dataclass(frozen=True)
class PilotConfig:
    """What the pilot does with the logic's guidance.

    Attributes
    ----------
    model : str or function
        ``standard``, ``r6``, ``r6-deterministic``, ``module:object``, an ``@njit`` function or ``(function, params)``.
    standard : PilotModel
        The standard pilot's delays, accelerations and turn rate; other pilots' commands default
        to its turn rate and initial acceleration.
    r6 : R6PilotParams, optional
        The R6 pilot's parameters (default: the model name's preset).
    probability_noncompliance : float
        The standard pilot ignores every advisory of a run with this probability (drawn at its
        first guidance, pilot sub-stream): the TCAS non-compliant pilot.
    altitude_rate_fpm : float
        The vertical rate at which a pilot's altitude target is flown.
    altitude_capture_s : float
        Within this many seconds of an altitude target the rate shrinks in proportion (levelling off).
    """

    model: Any = "standard"
    standard: PilotModel = field(default_factory=PilotModel)
    r6: R6PilotParams | None = None
    probability_noncompliance: float = 0.0
    altitude_rate_fpm: float = 1500.0
    altitude_capture_s: float = 5.0

    def __post_init__(self) -> None:
        if isinstance(self.model, str) and ":" not in self.model and self.model not in PILOTS:
            raise SeamContractError(f"pilot {self.model!r}: expected one of {sorted(PILOTS)} or module:object")
        if not isinstance(self.standard, PilotModel):
            raise SeamContractError(f"PilotConfig.standard: expected a PilotModel, got {self.standard!r:.80}")
        self.standard.as_array()  # validates
        if self.r6 is not None and not isinstance(self.r6, R6PilotParams):
            raise SeamContractError(f"PilotConfig.r6: expected R6PilotParams or None, got {self.r6!r:.80}")
        p = self.probability_noncompliance
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
            raise SeamContractError(f"PilotConfig.probability_noncompliance={p!r}: expected a probability in [0, 1]")
        if p > 0.0 and self.kernel_id != _seams.STANDARD:
            raise SeamContractError("PilotConfig.probability_noncompliance applies to the standard pilot only")
        for name in ("altitude_rate_fpm", "altitude_capture_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise SeamContractError(f"PilotConfig.{name}={value!r}: expected a finite number > 0")

    @property
    def kernel_id(self) -> int | None:
        if isinstance(self.model, str) and self.model in PILOTS:
            return PILOTS[self.model][0]
        return None

    @property
    def r6_params(self) -> R6PilotParams | None:
        if self.kernel_id != _seams.R6:
            return None
        return self.r6 if self.r6 is not None else PILOTS[self.model][1]


def pilot_config(spec=None, **overrides) -> PilotConfig:
    """A `PilotConfig` from None (standard), a `PilotModel` (the standard pilot with it), a name, a user
    pilot, or a `PilotConfig`; ``overrides`` replace its fields.

    Examples
    --------
    >>> pilot_config("r6-deterministic").r6_params.deterministic
    True
    """
    if isinstance(spec, PilotConfig):
        config = spec
    elif spec is None:
        config = PilotConfig()
    elif isinstance(spec, PilotModel):
        config = PilotConfig(standard=spec)
    else:
        config = PilotConfig(spec)
    return dataclasses.replace(config, **overrides) if overrides else config


# ---------------------------------------------------------------- kernel arguments


def _tracker_array(tracker: TrackerParams | None, max_coast_s: float) -> np.ndarray:
    values = np.zeros(_seams.TRACKER_SETTINGS_SIZE)
    values[_seams.TRK_MAX_COAST] = max_coast_s
    if tracker is not None:
        values[_seams.TRK_ON] = 1.0
        values[_seams.TRK_Q_HORIZONTAL] = tracker.horizontal_accel_psd_ft2_s3
        values[_seams.TRK_Q_VERTICAL] = tracker.vertical_accel_psd_ft2_s3
        values[_seams.TRK_INIT_POSITION_SD] = tracker.initial_position_sd_ft
        values[_seams.TRK_INIT_VELOCITY_SD] = tracker.initial_velocity_sd_fps
    return values


def surveillance_arguments(config: SurveillanceConfig, decision_stride: int):
    """(model argument, params array, memory size, navigation array, altimetry array) for the kernel."""
    navigation = np.zeros(_seams.NAVIGATION_SETTINGS_SIZE)
    if config.navigation is not None:
        navigation[_seams.NAV_ON] = 1.0
        navigation[1:] = config.navigation.as_array()
    altimetry = np.zeros(_seams.ALTIMETRY_SETTINGS_SIZE)
    if config.altimetry is not None:
        altimetry[_seams.ALT_ON] = 1.0
        altimetry[_seams.ALT_TO_TRUTH] = 1.0 if config.altimetry_to_truth else 0.0
        altimetry[2:] = config.altimetry.as_array()
    kernel_id = config.kernel_id
    if kernel_id is None:
        function, params, _ = _user_model(config.model, "surveillance model")
        memory = logic_memory_size(function, SEAM_MEMORY_SIZE)
        return function, params, memory, navigation, altimetry
    sensor = config.sensor_params
    if kernel_id == _seams.PERFECT:
        return np.int64(kernel_id), Surveillance().as_array(), 1, navigation, altimetry
    if kernel_id == _seams.NOISE:
        return np.int64(kernel_id), sensor.as_array(), 1, navigation, altimetry
    report_stride = int(round(sensor.report_period_s / DT_S))
    if abs(report_stride * DT_S - sensor.report_period_s) > 1e-9 or report_stride % decision_stride:
        raise SeamContractError(
            f"surveillance model {config.model!r}: report_period_s = {sensor.report_period_s} must be a multiple of "
            f"the decision period ({decision_stride * DT_S:g} s): the sensor reports when the logic decides"
        )
    params = np.concatenate(
        [sensor.as_array(), [float(report_stride)], _tracker_array(config.effective_tracker, config.max_coast_s)]
    )
    return np.int64(kernel_id), params, _seams.REFERENCE_SURVEILLANCE_MEMORY_SIZE, navigation, altimetry


def pilot_arguments(config: PilotConfig):
    """(model argument, params array, memory size, fly array) for the kernel."""
    fly = np.array(
        [config.altitude_rate_fpm * FPS_PER_FPM, config.altitude_capture_s, config.probability_noncompliance]
    )
    kernel_id = config.kernel_id
    if kernel_id is None:
        function, params, _ = _user_model(config.model, "pilot")
        return function, params, logic_memory_size(function, SEAM_MEMORY_SIZE), fly
    if kernel_id == _seams.R6:
        from ..pilots import R6_MEMORY_SIZE

        return np.int64(kernel_id), config.r6_params.as_array(), R6_MEMORY_SIZE, fly
    return np.int64(kernel_id), np.zeros(1), 1, fly


# ---------------------------------------------------------------- provenance


def surveillance_provenance(config: SurveillanceConfig) -> dict:
    """The surveillance seam as stored with the outcomes: model, parameters, tracker, navigation, altimetry,
    and the sha256 of the source file of the model's kernel."""
    if config.kernel_id is None:
        function, params, label = _user_model(config.model, "surveillance model")
        model, model_params, source = label, _asdict(params), _source_sha256(function)
    else:
        model, model_params = config.model, _asdict(config.sensor_params)
        source = _source_sha256(_seams.reference_surveillance) if config.kernel_id > _seams.NOISE else ""
    tracker = config.effective_tracker
    return {
        "model": model,
        "params": model_params,
        "source_sha256": source,
        "tracker": _asdict(tracker) if tracker is not None else None,
        "navigation": _asdict(config.navigation) if config.navigation is not None else None,
        "altimetry": _asdict(config.altimetry) if config.altimetry is not None else None,
        "altimetry_to_truth": bool(config.altimetry_to_truth),
        "max_coast_s": float(config.max_coast_s),
    }


def pilot_provenance(config: PilotConfig) -> dict:
    """The pilot seam as stored with the outcomes (the standard pilot's `PilotModel` fields at the top level,
    as before the seam, so older readers keep working)."""
    entry = dict(dataclasses.asdict(config.standard))
    if config.kernel_id is None:
        function, params, label = _user_model(config.model, "pilot")
        entry.update(model=label, params=_asdict(params), source_sha256=_source_sha256(function))
    else:
        r6 = config.r6_params
        source = _source_sha256(_seams.r6_pilot) if r6 is not None else ""
        entry.update(model=config.model, params=_asdict(r6), source_sha256=source)
    entry.update(
        probability_noncompliance=float(config.probability_noncompliance),
        altitude_rate_fpm=float(config.altitude_rate_fpm),
        altitude_capture_s=float(config.altitude_capture_s),
    )
    return entry


def surveillance_from_provenance(entry: dict | None) -> SurveillanceConfig:
    """The `SurveillanceConfig` a run recorded (`surveillance_provenance`; a legacy `Surveillance` dict too)."""
    entry = entry or {}
    if "model" not in entry:  # before the seam: the white-noise model's fields, all zero for perfect
        legacy = Surveillance(**entry)
        return SurveillanceConfig() if not np.any(legacy.as_array()) else SurveillanceConfig("noise", legacy)
    model = entry["model"]
    kernel_id = SURVEILLANCE_MODELS[model][0] if model in SURVEILLANCE_MODELS else None
    params = None
    if kernel_id in _SENSOR_PARAMS and entry.get("params"):
        params = _SENSOR_PARAMS[kernel_id](**_tuples(entry["params"]))
        params = None if params == SURVEILLANCE_MODELS[model][1] else params  # the name's preset
    elif kernel_id is None and entry.get("params"):
        model = (_import(model, "surveillance model"), np.asarray(entry["params"]["params"]))
    tracker = entry.get("tracker")
    if (
        tracker is not None
        and kernel_id in (_seams.RADAR, _seams.ACTIVE)
        and TrackerParams(**tracker) == TrackerParams()
    ):
        tracker_params = None
    else:
        tracker_params = TrackerParams(**tracker) if tracker is not None else None
    return SurveillanceConfig(
        model,
        params,
        tracker=tracker_params,
        navigation=NavigationParams(**entry["navigation"]) if entry.get("navigation") else None,
        altimetry=AltimetryParams(**_tuples(entry["altimetry"])) if entry.get("altimetry") else None,
        altimetry_to_truth=bool(entry.get("altimetry_to_truth", False)),
        max_coast_s=float(entry.get("max_coast_s", 10.0)),
    )


def pilot_from_provenance(entry: dict | None) -> PilotConfig:
    """The `PilotConfig` a run recorded (`pilot_provenance`; a legacy `PilotModel` dict too)."""
    entry = dict(entry or {})
    standard = PilotModel(**{f.name: entry.pop(f.name) for f in dataclasses.fields(PilotModel) if f.name in entry})
    model = entry.get("model", "standard")
    r6 = None
    if model in PILOTS and PILOTS[model][0] == _seams.R6 and entry.get("params"):
        r6 = R6PilotParams(**_tuples(entry["params"]))
        r6 = None if r6 == PILOTS[model][1] else r6  # the name's preset
    elif model not in PILOTS and entry.get("params"):
        model = (_import(model, "pilot"), np.asarray(entry["params"]["params"]))
    return PilotConfig(
        model,
        standard,
        r6,
        probability_noncompliance=float(entry.get("probability_noncompliance", 0.0)),
        altitude_rate_fpm=float(entry.get("altitude_rate_fpm", 1500.0)),
        altitude_capture_s=float(entry.get("altitude_capture_s", 5.0)),
    )


def _tuples(values: dict) -> dict:
    """Lists (as JSON stores tuples) back to tuples, nested lists to tuples of tuples."""
    return {
        k: (tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v)
        for k, v in values.items()
    }


# ---------------------------------------------------------------- conformance checks


def _check_geometries():
    from ..avoidance.check import canonical_geometries

    return canonical_geometries()


def check_surveillance(model, params=None, *, duration_s: float = 60.0) -> dict[str, float]:
    """Check a surveillance model's contract on canonical geometries; returns the share of decisions with a track.

    The model (an ``@njit`` function, ``module:object`` or a reference name) is called at 1 Hz with
    the documented arguments and must: return a bool-like value; write a finite ``seen`` of
    `STATE_SIZE` when it returns True (SUM terms >= 0 except the cross terms); leave the true
    states untouched; be deterministic from a fresh memory (so its state lives in ``memory``) and
    draw its randomness from the key it is given (another encounter id, other draws are allowed).

    Raises
    ------
    SeamContractError
        Naming the geometry, the time and what is wrong.
    """
    config = surveillance_config(model if params is None or not callable(model) else (model, params))
    if config.kernel_id is not None and config.kernel_id <= _seams.NOISE:
        return {name: 1.0 for name in _check_geometries()}
    function, arguments, memory_size, _, _ = surveillance_arguments(config, 10)
    if config.kernel_id is not None:
        kernel_id = int(function)

        def function(seed, encounter_id, step, own, intruder, own_seen, biases, params, memory, seen):
            return _seams.reference_surveillance(
                kernel_id, seed, encounter_id, step, own, intruder, own_seen, biases, params, memory, seen
            )

    shares = {}
    for name, (ownship, intruder) in _check_geometries().items():
        first = _run_surveillance(function, arguments, memory_size, ownship, intruder, duration_s, name)
        again = _run_surveillance(function, arguments, memory_size, ownship, intruder, duration_s, name)
        if not np.array_equal(first, again, equal_nan=True):
            t = int(np.flatnonzero(np.any((first != again) & ~(np.isnan(first) & np.isnan(again)), axis=1))[0])
            raise SeamContractError(
                f"{name}: not deterministic: a second run differs at t = {t} s (keep state in memory)"
            )
        shares[name] = float(np.mean(~np.isnan(first[:, 0])))
    return shares


def _run_surveillance(function, params, memory_size, ownship, intruder, duration_s, name) -> np.ndarray:
    memory = np.zeros(memory_size)
    biases = np.zeros(2)
    rows = []
    for t in range(int(duration_s) + 1):
        own, other = ownship(float(t)), intruder(float(t))
        own_before, other_before = own.copy(), other.copy()
        seen = np.full(STATE_SIZE, np.nan)
        try:
            tracked = function(np.uint64(1), np.uint64(0), 10 * t, own, other, own.copy(), biases, params, memory, seen)
        except Exception as exc:  # the user's code: name where it failed
            raise SeamContractError(
                f"{name}: calling surveillance(seed, encounter_id, step, own[{STATE_SIZE}], intruder[{STATE_SIZE}], "
                f"own_seen[{STATE_SIZE}], altitude_bias_ft[2], params, memory[{memory_size}], seen[{STATE_SIZE}]) "
                f"failed at t = {t} s: {type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(tracked, (bool, np.bool_)):
            raise SeamContractError(f"{name}: returned {tracked!r:.40} at t = {t} s: expected True (a track) or False")
        if not (np.array_equal(own, own_before) and np.array_equal(other, other_before)):
            raise SeamContractError(f"{name}: the model modified the true states it was given (t = {t} s)")
        if tracked:
            if not np.all(np.isfinite(seen)):
                raise SeamContractError(f"{name}: a track with a non-finite seen state {seen.tolist()} at t = {t} s")
            sd = seen[[8, 9, 11, 12, 13, 15]]
            if np.any(sd < 0):
                raise SeamContractError(f"{name}: a negative SUM standard deviation {seen[8:16].tolist()} at t = {t} s")
            rows.append(seen.copy())
        else:
            rows.append(np.full(STATE_SIZE, np.nan))
    return np.array(rows)


def check_pilot(model, params=None, *, duration_s: float = 60.0) -> dict[str, bool]:
    """Check a pilot model's contract on scripted advisories; returns whether it manoeuvred per script.

    The pilot is called at 1 Hz with an advisory that alerts (level 2, heading guidance and
    direction resolutions on both sides) from t = 10 s to 40 s, then clears; it must write a
    command of `PILOT_COMMAND_SIZE` with finite entries, modes in range (horizontal 0/1, vertical
    0/1/2), non-negative turn rate and acceleration; leave the advisory and state untouched; and be
    deterministic from a fresh memory.

    Raises
    ------
    SeamContractError
        Naming the script, the time and what is wrong.
    """
    config = pilot_config(model if params is None or not callable(model) else (model, params))
    if config.kernel_id == _seams.STANDARD:
        return {"alert 10-40 s": True}
    function, arguments, memory_size, _ = pilot_arguments(config)
    if config.kernel_id is not None:
        function = _seams.r6_pilot
    first = _run_pilot(function, arguments, memory_size, duration_s)
    again = _run_pilot(function, arguments, memory_size, duration_s)
    if not np.array_equal(first, again):
        t = int(np.flatnonzero(np.any(first != again, axis=1))[0])
        raise SeamContractError(f"alert 10-40 s: not deterministic: a second run differs at t = {t} s")
    manoeuvred = bool(np.any(first[:, PC_HORIZONTAL_MODE] > 0) or np.any(first[:, PC_VERTICAL_MODE] > 0))
    return {"alert 10-40 s": manoeuvred}


def _scripted_advisory(t: float, heading: float) -> np.ndarray:
    from ..avoidance.interface import (
        ADVISORY_SIZE,
        BAND_HI,
        BAND_LO,
        BAND_REGION,
        DIRECTION,
        G_N_BANDS,
        G_PREFERRED,
        G_REGION,
        G_RESOLUTION_LOW,
        G_RESOLUTION_UP,
        HORIZONTAL_MODE,
        LEVEL,
        REGION_MID,
        REGION_NONE,
        TARGET_HEADING,
        band_index,
        clear_guidance,
        guidance_index,
    )

    advisory = np.zeros(ADVISORY_SIZE)
    clear_guidance(advisory)
    if 10.0 <= t < 40.0:
        advisory[LEVEL], advisory[HORIZONTAL_MODE], advisory[TARGET_HEADING] = 2.0, 1.0, heading + math.radians(30)
        advisory[guidance_index(DIRECTION, G_REGION)] = REGION_MID
        advisory[guidance_index(DIRECTION, G_RESOLUTION_LOW)] = (heading - math.radians(40)) % (2 * math.pi)
        advisory[guidance_index(DIRECTION, G_RESOLUTION_UP)] = (heading + math.radians(30)) % (2 * math.pi)
        advisory[guidance_index(DIRECTION, G_PREFERRED)] = 1.0
        advisory[guidance_index(DIRECTION, G_N_BANDS)] = 1.0  # one band: the whole circle, MID
        advisory[band_index(DIRECTION, 0, BAND_LO)], advisory[band_index(DIRECTION, 0, BAND_HI)] = 0.0, 2 * math.pi
        advisory[band_index(DIRECTION, 0, BAND_REGION)] = REGION_MID
    else:
        advisory[guidance_index(DIRECTION, G_REGION)] = REGION_NONE
    return advisory


def _run_pilot(function, params, memory_size, duration_s) -> np.ndarray:
    from ..avoidance.check import _state

    memory = np.zeros(memory_size)
    rows = []
    for t in range(int(duration_s) + 1):
        own = _state(0.0, 200.0 * t, 3000.0, math.pi / 2, 200.0)
        advisory = _scripted_advisory(float(t), math.pi / 2)
        own_before, advisory_before = own.copy(), advisory.copy()
        command = np.zeros(PILOT_COMMAND_SIZE)
        try:
            function(np.uint64(1), np.uint64(0), 10 * t, own, advisory, params, memory, command)
        except Exception as exc:
            raise SeamContractError(
                f"alert 10-40 s: calling pilot(seed, encounter_id, step, own_seen[{STATE_SIZE}], advisory, params, "
                f"memory[{memory_size}], command[{PILOT_COMMAND_SIZE}]) failed at t = {t} s: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if not (np.array_equal(own, own_before) and np.array_equal(advisory, advisory_before, equal_nan=True)):
            raise SeamContractError(f"alert 10-40 s: the pilot modified the state or advisory it was given (t = {t} s)")
        problem = _command_problem(command)
        if problem:
            raise SeamContractError(f"alert 10-40 s: {problem} at t = {t} s (command {command.tolist()})")
        rows.append(command.copy())
    return np.array(rows)


def _command_problem(command: np.ndarray) -> str | None:
    if not np.all(np.isfinite(command)):
        return "a non-finite command"
    if command[PC_HORIZONTAL_MODE] not in (0.0, 1.0):
        return f"horizontal mode {command[PC_HORIZONTAL_MODE]} (expected 0 or 1)"
    if command[PC_VERTICAL_MODE] not in (0.0, 1.0, 2.0):
        return f"vertical mode {command[PC_VERTICAL_MODE]} (expected 0, 1 or 2)"
    if command[PC_TURN_RATE] < 0 or command[PC_ACCEL_G] < 0:
        return "a negative turn rate or acceleration"
    return None
