"""Scenario files (TOML) validated with pydantic: everything an encounter study needs.

Every error names the key, the value and what is allowed; unknown keys are errors. Bins and layers
seen by users are 1-based (decisions.md section 1). See ``scenarios/*.toml`` for examples and
docs/encounters.md for the meaning of each key.
"""

from __future__ import annotations

import itertools
import math
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from ..units import FPS_PER_FPM, FT_PER_NM


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message lists every problem with its key."""


class _Strict(BaseModel):
    # strict: no coercion (``encounters = true`` or ``"200"`` are refused, not read as 1 or 200; a
    # whole number is still a valid float); allow_inf_nan=False: every number finite (TOML has
    # nan and inf literals, which would otherwise pass as weights, edges or radii)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _increasing(values: list[float], name: str) -> list[float]:
    if len(values) < 2:
        raise ValueError(f"{name} needs at least 2 edges, got {values}")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"{name} must increase strictly, got {values}")
    return values


class AircraftSpec(_Strict):
    """One aircraft of the encounter: its model, presets, layers and optional filters."""

    model: str = Field(description="registry name or model file path")
    presets: dict[str, int] = Field(default_factory=dict, description="1-based bins, e.g. {G = 1, A = 4}")
    layers_ft: list[list[float]] | None = Field(
        default=None, description="altitude layers [[lo, hi], ...], ft AGL, one per L bin"
    )
    min_speed_kt: float | None = None
    max_speed_kt: float | None = None
    min_alt_ft: float | None = None
    max_alt_ft: float | None = None
    filter_at: Literal["cpa", "whole"] = "cpa"

    @field_validator("layers_ft")
    @classmethod
    def _layers(cls, layers):
        if layers is None:
            return layers
        for k, pair in enumerate(layers, start=1):
            if len(pair) != 2 or pair[0] > pair[1]:
                raise ValueError(f"layer {k} is {pair}: expected [lo, hi] with lo <= hi (ft)")
        for k in range(1, len(layers)):
            if layers[k][0] != layers[k - 1][1]:
                raise ValueError(f"layers {k} and {k + 1} are not contiguous ({layers[k - 1]} then {layers[k]})")
        return layers

    @model_validator(mode="after")
    def _filters(self):
        for low, high in (("min_speed_kt", "max_speed_kt"), ("min_alt_ft", "max_alt_ft")):
            lo, hi = getattr(self, low), getattr(self, high)
            for name, value in ((low, lo), (high, hi)):
                if value is not None and value < 0:
                    raise ValueError(f"{name} = {value} must be >= 0")
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{low} = {lo} is above {high} = {hi}")
        return self

    def layer_edges(self) -> list[float] | None:
        if self.layers_ft is None:
            return None
        return [self.layers_ft[0][0]] + [pair[1] for pair in self.layers_ft]


class GeometrySpec(_Strict):
    """Encounter geometry and the importance-sampling proposal."""

    tcpa_s: int = Field(description="designed time of closest approach, s")
    duration_s: int = Field(description="encounter length, s (>= tcpa_s)")
    hmd_edges_ft: list[float] = Field(description="edges of the signed-HMD proposal bins, ft")
    hmd_proportions: list[float] = Field(description="probability mass per HMD bin (normalised)")
    max_hmd_ft: float = Field(default=10 * FT_PER_NM, description="target: signed HMD uniform on [-max, max], ft")
    vmd_edges_ft: list[float] = Field(description="edges of the VMD bins (intruder - ownship altitude at tCPA), ft")
    vmd_weights: list[float] = Field(description="relative acceptance weight per VMD bin")
    min_initial_vertical_ft: float = Field(
        default=0.0, ge=0, description="H_min: intended minimum initial vertical separation"
    )
    min_initial_range_nm: float = Field(
        default=0.0, ge=0, description="R_min: intended minimum initial horizontal range"
    )
    hmd_tolerance_ft: float = Field(default=500.0, gt=0)
    vmd_tolerance_ft: float = Field(default=20.0, gt=0)
    check_hmd_vmd: bool = Field(
        default=True, description="reject attempts whose realised HMD/VMD differ from the sampled ones"
    )
    track_limits: bool = Field(
        default=False, description="apply the model's track-level limits (encsim.fly) to both aircraft"
    )
    elliptic: Literal["correct", "reference"] = Field(
        default="correct", description="E(m) (correct) or the reference's E(k)"
    )
    heading_speeds: Literal["tcpa", "reference"] = Field(default="tcpa", description="speeds of the heading density")

    @field_validator("hmd_edges_ft", "vmd_edges_ft")
    @classmethod
    def _edges(cls, values, info):
        return _increasing(values, info.field_name)

    @field_validator("hmd_proportions", "vmd_weights")
    @classmethod
    def _weights(cls, values, info):
        if any(v < 0 for v in values):
            raise ValueError(f"{info.field_name} must be non-negative, got {values}")
        if sum(values) <= 0:
            raise ValueError(f"{info.field_name} must not be all zero")
        return values

    @model_validator(mode="after")
    def _consistent(self):
        if not 0 <= self.tcpa_s <= self.duration_s:
            raise ValueError(f"tcpa_s = {self.tcpa_s} must satisfy 0 <= tcpa_s <= duration_s = {self.duration_s}")
        if self.duration_s < 1:
            raise ValueError(f"duration_s = {self.duration_s} must be >= 1")
        if len(self.hmd_proportions) != len(self.hmd_edges_ft) - 1:
            raise ValueError(
                f"hmd_proportions has {len(self.hmd_proportions)} entries for {len(self.hmd_edges_ft) - 1} HMD bins"
            )
        if len(self.vmd_weights) != len(self.vmd_edges_ft) - 1:
            raise ValueError(
                f"vmd_weights has {len(self.vmd_weights)} entries for {len(self.vmd_edges_ft) - 1} VMD bins"
            )
        if self.max_hmd_ft <= 0:
            raise ValueError(f"max_hmd_ft = {self.max_hmd_ft} must be positive")
        outside = [edge for edge in (self.hmd_edges_ft[0], self.hmd_edges_ft[-1]) if abs(edge) > self.max_hmd_ft]
        if outside:
            # the target HMD density is uniform on [-max_hmd_ft, max_hmd_ft]: a proposal reaching
            # beyond it would give draws of zero target density a positive weight
            raise ValueError(
                f"hmd_edges_ft reach {outside[0]:g} ft, outside the target [-max_hmd_ft, max_hmd_ft] = "
                f"[{-self.max_hmd_ft:g}, {self.max_hmd_ft:g}] ft: narrow the edges or raise max_hmd_ft"
            )
        return self


class MetricsSpec(_Strict):
    """The NMAC cylinder (a preset name, or radius and half-height) and the well-clear preset."""

    nmac_radius_ft: float = Field(default=500.0, gt=0)
    nmac_half_height_ft: float = Field(default=100.0, gt=0)
    well_clear: Literal["do365", "daidalus", "preventive", "noncoop", "suas"] = "do365"
    nmac: Literal["nmac", "suas"] | None = Field(
        default=None, description="cylinder preset (encsim.metrics.CYLINDER_PRESETS) instead of the two numbers"
    )

    @model_validator(mode="before")
    @classmethod
    def _nmac_preset(cls, data):
        if not isinstance(data, dict) or data.get("nmac") is None:
            return data
        from ..metrics.detection import CYLINDER_PRESETS

        cylinder = CYLINDER_PRESETS.get(data["nmac"])
        if cylinder is None:  # the Literal names the allowed values
            return data
        preset = {"nmac_radius_ft": cylinder.radius_ft, "nmac_half_height_ft": cylinder.half_height_ft}
        clashing = [f"{key} = {data[key]!r}" for key in preset if key in data and data[key] != preset[key]]
        if clashing:  # the preset's own numbers may be repeated (a dumped scenario holds both)
            raise ValueError(
                f"nmac = {data['nmac']!r} is the cylinder {preset['nmac_radius_ft']:g} ft / "
                f"{preset['nmac_half_height_ft']:g} ft: leave out {', '.join(clashing)}"
            )
        return {**data, **preset}


class RunSpec(_Strict):
    encounters: int = Field(gt=0, description="number of encounters (ids first_id .. first_id + encounters - 1)")
    seed: int = Field(ge=0, lt=2**64)
    first_id: int = Field(default=0, ge=0)
    chunk_size: int = Field(
        default=1000, gt=0, description="encounters per chunk (scheduling unit; results do not depend on it)"
    )
    max_attempts: int = Field(default=10_000, gt=0, description="attempts per encounter before giving up")


class AnchorSpec(_Strict):
    """Where the local frame sits on the Earth: the ownship's start (local east = north = 0) and the ground altitude.

    Used where encounters leave encsim geodetic (``encsim encounters --daa``: lat/lon columns);
    the local up axis is the altitude above this ground.
    """

    lat_deg: float = Field(ge=-90.0, le=90.0, description="latitude of the local origin, deg north")
    lon_deg: float = Field(ge=-180.0, le=360.0, description="longitude of the local origin, deg east")
    ground_alt_ft: float = Field(default=0.0, description="ground altitude MSL at the origin, ft")


class ClusterSpec(_Strict):
    """Where `encsim run` computes the chunks (the same settings as its command-line options)."""

    scheduler: str = Field(default="local", description="local | tcp://host:port | slurm | pbs")
    workers: int = Field(default=2, ge=0, description="local workers (0: in this process)")
    queue: str | None = None
    cores: int = Field(default=1, gt=0, description="cores per job (SLURM/PBS)")
    memory: str = Field(default="4GB", description="memory per job (SLURM/PBS)")
    walltime: str = Field(default="01:00:00", description="walltime per job (SLURM/PBS)")
    jobs: int = Field(default=1, gt=0, description="number of batch jobs (SLURM/PBS)")

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, value):
        if value not in ("local", "slurm", "pbs") and not value.startswith("tcp://"):
            raise ValueError(f"scheduler {value!r}: expected local, slurm, pbs or tcp://host:port")
        return value


def _dataclass_overrides(kind, preset, values: dict, table: str):
    """``preset`` with ``values`` replaced, validated by the parameter class itself; errors name the key."""
    import dataclasses

    names = [f.name for f in dataclasses.fields(kind)]
    unknown = [key for key in values if key not in names]
    if unknown:
        raise ValueError(f"{table}.{unknown[0]}: unknown key; expected one of {', '.join(names)}")
    converted = {
        key: tuple(tuple(v) if isinstance(v, list) else v for v in value) if isinstance(value, list) else value
        for key, value in values.items()
    }
    try:
        return dataclasses.replace(preset, **converted)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{table}: {exc}") from None


_Number = float | int
_Setting = float | int | bool | list[float] | list[list[float]]


class SurveillanceSpec(_Strict):
    """``[surveillance]``: what the logic sees (docs/sensors_and_pilots.md).

    ``model``: perfect | noise | adsb | radar | active | active-mode-c | module:object; the
    reference models' parameters are their presets, with the keys of a sub-table of the model's
    name replaced (``[surveillance.radar]`` ``azimuth_limit_deg = 60``; ``[surveillance.active]``
    serves both active models); ``params`` is a user model's parameter array; ``navigation``: the
    ownship's DO-365 GPS/INS error (true), or a table of `NavigationParams` keys.
    """

    model: str = "perfect"
    max_coast_s: float = Field(default=10.0, ge=0)
    navigation: bool | dict[str, _Number] = False
    params: list[float] | None = None
    noise: dict[str, _Number] | None = None
    adsb: dict[str, _Number] | None = None
    radar: dict[str, _Number] | None = None
    active: dict[str, _Number] | None = None

    @field_validator("model")
    @classmethod
    def _model(cls, value):
        from ..simulate.seams import SURVEILLANCE_MODELS

        if value not in SURVEILLANCE_MODELS and ":" not in value:
            raise ValueError(
                f"surveillance model {value!r}: expected one of {', '.join(SURVEILLANCE_MODELS)} or module:object"
            )
        return value


class TrackerSpec(_Strict):
    """``[tracker]``: the constant-velocity Kalman tracker after the sensor (its presence turns it on)."""

    enabled: bool = True
    horizontal_accel_psd_ft2_s3: float | None = None
    vertical_accel_psd_ft2_s3: float | None = None
    initial_position_sd_ft: float | None = None
    initial_velocity_sd_fps: float | None = None


class AltimetrySpec(_Strict):
    """``[altimetry]``: one Laplacian bias per aircraft and encounter (ICAO Annex 10 as DEGAS applies it).

    ``to_truth``: the encounter's altitudes are the indicated ones, and NMAC, LoWC and the miss
    distances are scored on the true ones (off by the biases); otherwise only what the logic sees
    carries the biases. The other keys replace the preset's (`AltimetryParams`).
    """

    enabled: bool = True
    to_truth: bool = False
    layer_tops_ft: list[float] | None = None
    ownship_scale_ft: list[float] | None = None
    other_scale_ft: list[float] | None = None
    probability_ownship_scale: list[float] | None = None


def _r6_fields() -> dict:
    """Each `R6PilotParams` key as an optional scenario field of its type (None: the preset's value)."""
    import dataclasses

    from ..pilots import R6_STOCHASTIC

    kinds = {bool: bool, int: int, float: float}
    fields = {}
    for field in dataclasses.fields(R6_STOCHASTIC):
        default = getattr(R6_STOCHASTIC, field.name)
        if isinstance(default, tuple):
            kind = list[list[float]] if default and isinstance(default[0], tuple) else list[float]
        else:
            kind = kinds[type(default)]
        fields[field.name] = (kind | None, None)
    return fields


class _PilotBase(_Strict):
    model: str = "standard"
    probability_noncompliance: float = Field(default=0.0, ge=0, le=1)
    altitude_rate_fpm: float = Field(default=1500.0, gt=0)
    altitude_capture_s: float = Field(default=5.0, gt=0)
    params: list[float] | None = None
    standard: dict[str, _Number] | None = None

    @field_validator("model")
    @classmethod
    def _model(cls, value):
        from ..simulate.seams import PILOTS

        if value not in PILOTS and ":" not in value:
            raise ValueError(f"pilot model {value!r}: expected one of {', '.join(PILOTS)} or module:object")
        return value

    @model_validator(mode="after")
    def _r6_keys(self):
        given = self.r6_overrides()
        if given and not self.model.startswith("r6"):
            raise ValueError(f"pilot.{next(iter(given))}: an R6 key, but pilot.model = {self.model!r}")
        return self

    def r6_overrides(self) -> dict:
        """The R6 keys the table sets (the preset's values for the others)."""
        base = set(_PilotBase.model_fields)
        return {k: v for k, v in self.model_dump().items() if k not in base and v is not None}


#: ``[pilot]``: what the pilot does (standard | r6 | r6-deterministic | module:object). The R6 pilot's
#: parameters are its preset's with any `R6PilotParams` key of this table replaced
#: (``coordination_delay_scale_s = 3``: a sweep varies ``pilot.coordination_delay_scale_s``);
#: ``[pilot.standard]`` holds `PilotModel` keys; ``probability_noncompliance``: the standard pilot
#: ignores a run's advisories with this probability (TCAS); ``params``: a user pilot's parameter array.
PilotSpec = create_model("PilotSpec", __base__=_PilotBase, **_r6_fields())


class EncounterSpec(_Strict):
    """Which source generates the encounters (docs/encounter_sources.md)."""

    kind: Literal["pairing", "small_uas", "recorded"] = Field(
        default="pairing",
        description="pairing: two model-sampled tracks; small_uas: a small-UAS mission ownship vs a model "
        "intruder; recorded: .daa recordings (RecordedScenario)",
    )


class SmallUasSpec(_Strict):
    """The small-UAS ownship of ``kind = "small_uas"``: a mission pattern flown with a performance preset."""

    pattern: str = Field(description="transit | lawnmower | orbit | out_and_back | hover (PATTERN_PRESETS)")
    performance: str = Field(description="multirotor | fixed_wing (PERFORMANCE_PRESETS)")
    alt_ft: list[float] = Field(default_factory=lambda: [50.0, 400.0], description="[lo, hi] ft AGL, uniform")
    speed_kt: list[float] | None = Field(
        default=None, description="[lo, hi] kt, uniform (default: the performance preset's cruise range)"
    )

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value):
        from ..encounters.small_uas import PATTERN_PRESETS

        if value not in PATTERN_PRESETS:
            raise ValueError(f"unknown pattern {value!r}; expected one of {sorted(PATTERN_PRESETS)}")
        return value

    @field_validator("performance")
    @classmethod
    def _performance(cls, value):
        from ..encounters.small_uas import PERFORMANCE_PRESETS

        if value not in PERFORMANCE_PRESETS:
            raise ValueError(f"unknown performance {value!r}; expected one of {sorted(PERFORMANCE_PRESETS)}")
        return value

    @field_validator("alt_ft", "speed_kt")
    @classmethod
    def _range(cls, values, info):
        if values is not None and (len(values) != 2 or not 0 <= values[0] <= values[1]):
            raise ValueError(f"{info.field_name} must be [lo, hi] with 0 <= lo <= hi, got {values}")
        return values

    @model_validator(mode="after")
    def _flyable(self):
        from ..encounters.small_uas import PERFORMANCE_PRESETS, Mission

        performance = PERFORMANCE_PRESETS[self.performance]
        if self.speed_kt is not None and not (
            performance.min_speed_kt <= self.speed_kt[0] and self.speed_kt[1] <= performance.max_speed_kt
        ):
            raise ValueError(
                f"speed_kt = {self.speed_kt} leaves the {self.performance} envelope "
                f"[{performance.min_speed_kt:g}, {performance.max_speed_kt:g}] kt"
            )
        Mission.from_spec(self)  # a hover without hover, an orbit too tight: said here, not at generation
        return self


class Scenario(_Strict):
    """A complete encounter study (``[encounter] kind = "pairing"``, the default: two model aircraft)."""

    name: str = ""
    description: str = ""
    encounter: EncounterSpec = Field(default_factory=EncounterSpec)
    ownship: AircraftSpec
    intruder: AircraftSpec
    geometry: GeometrySpec
    metrics: MetricsSpec = Field(default_factory=MetricsSpec)
    run: RunSpec
    cluster: ClusterSpec | None = None
    anchor: AnchorSpec | None = None
    surveillance: SurveillanceSpec | None = None
    tracker: TrackerSpec | None = None
    altimetry: AltimetrySpec | None = None
    pilot: PilotSpec | None = None

    @model_validator(mode="after")
    def _seams(self):
        """The closed loop's tables make valid models (each parameter checked by its own class)."""
        self.surveillance_config()
        self.pilot_config()
        return self

    def surveillance_config(self):
        """The `encsim.simulate.SurveillanceConfig` of the ``[surveillance]``, ``[tracker]`` and ``[altimetry]``
        tables (perfect surveillance without them)."""
        from ..sensors import ALTIMETRY_ICAO_ANNEX10, NAVIGATION_DO365, NavigationParams, TrackerParams
        from ..simulate.seams import _SENSOR_PARAMS, SURVEILLANCE_MODELS, SurveillanceConfig

        spec = self.surveillance or SurveillanceSpec()
        tracker = None
        if self.tracker is not None and self.tracker.enabled:
            given = {k: v for k, v in self.tracker.model_dump(exclude={"enabled"}).items() if v is not None}
            tracker = _dataclass_overrides(TrackerParams, TrackerParams(), given, "tracker")
        altimetry = None
        if self.altimetry is not None and self.altimetry.enabled:
            given = {
                k: v for k, v in self.altimetry.model_dump(exclude={"enabled", "to_truth"}).items() if v is not None
            }
            altimetry = _dataclass_overrides(type(ALTIMETRY_ICAO_ANNEX10), ALTIMETRY_ICAO_ANNEX10, given, "altimetry")
        navigation = None
        if spec.navigation is True:
            navigation = NAVIGATION_DO365
        elif isinstance(spec.navigation, dict):
            navigation = _dataclass_overrides(
                NavigationParams, NAVIGATION_DO365, spec.navigation, "surveillance.navigation"
            )
        model, params = spec.model, None
        if model in SURVEILLANCE_MODELS:
            kernel_id, preset = SURVEILLANCE_MODELS[model]
            table = model.split("-")[0]
            overrides = getattr(spec, table, None) if table in ("noise", "adsb", "radar", "active") else None
            if overrides:
                params = _dataclass_overrides(_SENSOR_PARAMS[kernel_id], preset, overrides, f"surveillance.{table}")
            if model in ("perfect", "noise") and tracker is not None:
                raise ValueError(f"tracker: surveillance model {model!r} reports the truth: it takes no tracker")
        elif spec.params is not None:
            model = (model, spec.params)
        return SurveillanceConfig(
            model,
            params,
            tracker=tracker,
            navigation=navigation,
            altimetry=altimetry,
            altimetry_to_truth=bool(self.altimetry is not None and self.altimetry.to_truth),
            max_coast_s=spec.max_coast_s,
        )

    def pilot_config(self):
        """The `encsim.simulate.PilotConfig` of the ``[pilot]`` table (the standard pilot without it)."""
        from ..avoidance import PilotModel
        from ..simulate.seams import PILOTS, PilotConfig

        spec = self.pilot or PilotSpec()
        standard = PilotModel()
        if spec.standard:
            standard = _dataclass_overrides(PilotModel, standard, spec.standard, "pilot.standard")
            standard.as_array()  # validates
        model, r6 = spec.model, None
        if model in PILOTS and PILOTS[model][1] is not None and spec.r6_overrides():
            r6 = _dataclass_overrides(type(PILOTS[model][1]), PILOTS[model][1], spec.r6_overrides(), "pilot")
        elif model not in PILOTS and spec.params is not None:
            model = (model, spec.params)
        return PilotConfig(
            model,
            standard,
            r6,
            probability_noncompliance=spec.probability_noncompliance,
            altitude_rate_fpm=spec.altitude_rate_fpm,
            altitude_capture_s=spec.altitude_capture_s,
        )


class RecordedEncounterSpec(_Strict):
    """``[encounter] kind = "recorded"``: each .daa file of ``path`` one encounter (docs/encounter_sources.md)."""

    kind: Literal["recorded"] = "recorded"
    path: str = Field(
        description="a folder of .daa files or one .daa file, relative to the scenario file (absolute once loaded)"
    )


class RecordedScenario(Scenario):
    """A study of recorded encounters: ``[ownship]``, ``[intruder]``, ``[geometry]`` and ``run.encounters``
    are built from the recordings (`encsim.io.recorded_set.recorded_scenario_text`)."""

    encounter: RecordedEncounterSpec


class SmallUasScenario(Scenario):
    """A study with ``[encounter] kind = "small_uas"``: the ``[ownship]`` table is a `SmallUasSpec`."""

    ownship: SmallUasSpec


#: the scenario schema of each encounter kind (parse_scenario picks it from ``[encounter] kind``)
SCENARIO_CLASSES = {"pairing": Scenario, "small_uas": SmallUasScenario, "recorded": RecordedScenario}


def scored_regions_ft(scenario: Scenario) -> tuple[tuple[float, float], tuple[float, float]]:
    """The scenario's NMAC cylinder (radius, half-height) and well-clear volume (DTHR, ZTHR), ft."""
    from ..metrics.detection import well_clear_preset

    volume = well_clear_preset(scenario.metrics.well_clear)
    metrics = scenario.metrics
    return (metrics.nmac_radius_ft, metrics.nmac_half_height_ft), (volume.dthr_ft, volume.zthr_ft)


def intruder_layer_edges_ft(scenario: Scenario) -> list[float] | None:
    """The intruder's altitude-layer edges (ft AGL): the scenario's table, else the registry's."""
    edges = scenario.intruder.layer_edges()
    if edges is not None:
        return edges
    from ..bayes.catalogue import load_registry

    entry = load_registry().get(scenario.intruder.model)
    return None if entry is None or not entry.layer_edges_ft else list(entry.layer_edges_ft)


def _toml_type(value) -> str:
    names = {bool: "a boolean", str: "a string", int: "an integer", float: "a float", list: "an array"}
    return names.get(type(value), type(value).__name__)


def format_validation_errors(error: ValidationError, *, source: str) -> str:
    """A pydantic validation error as one line per field (``source``: the file named in it)."""
    lines = [f"{source}: invalid scenario"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        value = item.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"].endswith("_type") and not isinstance(value, dict):
            message += f" (got {_toml_type(value)}; encsim does not convert)"
        lines.append(f"  - {key}{shown}: {message}")
    return "\n".join(lines)


def parse_scenario(text: str, *, source: str = "<scenario>", check_models: bool = True) -> Scenario:
    """Parse and validate scenario TOML text (models checked against the registry or as paths)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML ({exc})") from None
    encounter = document.get("encounter")
    kind = encounter.get("kind", "pairing") if isinstance(encounter, dict) else "pairing"
    schema = SCENARIO_CLASSES.get(kind, Scenario)  # an unknown kind: Scenario's validation names it
    try:
        scenario = schema.model_validate(document)
    except ValidationError as exc:
        raise ScenarioError(format_validation_errors(exc, source=source)) from None
    if check_models and kind != "recorded":  # recorded aircraft fly their recordings, no model
        check_scenario_models(scenario, source=source)
    return scenario


def check_scenario_models(scenario: Scenario, *, source: str) -> None:
    """Refuse a scenario whose ownship or intruder model is unknown, or one encsim cannot pair."""
    from ..bayes.catalogue import load_registry

    registry = load_registry()
    for role in ("ownship", "intruder"):
        spec = getattr(scenario, role)
        if not isinstance(spec, AircraftSpec):  # a small-UAS mission: no model to check
            continue
        name = spec.model
        if name in registry:
            entry = registry[name]
            if not entry.encounters:
                raise ScenarioError(
                    f"{source}: {role}.model = {name!r}: encounters refused: {entry.refusal or 'not supported'}"
                )
        elif not (name.endswith(".txt") or "/" in name):
            import difflib

            close = difflib.get_close_matches(name, registry, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ScenarioError(f"{source}: {role}.model = {name!r} is not a registry model or a .txt path{hint}")
        else:  # a file: the registry may still know it (by checksum), and refuse it
            _check_model_file(name, role, source)


def _check_model_file(path: str, role: str, source: str) -> None:
    from ..bayes import load_model
    from ..encounters.pairing import refuse_for_encounters

    try:
        model = load_model(path)
        refuse_for_encounters(model)
    except FileNotFoundError as exc:
        raise ScenarioError(f"{source}: {role}.model = {path!r}: {exc}") from None
    except ValueError as exc:  # a file that fails validation, or a model encsim cannot pair
        raise ScenarioError(f"{source}: {role}.model = {path!r}: {exc}") from None


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError(
            f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}, column {column} "
            f"({exc.reason}); save the scenario file as UTF-8"
        ) from None


def load_scenario(path, *, check_filters: bool = True) -> tuple[Scenario, str]:
    """Read and validate a scenario file; returns the scenario and its text (kept as provenance).

    Besides the checks of `parse_scenario`, the text must be UTF-8 and, with ``check_filters``,
    every speed and altitude filter must be reachable under its aircraft's model (`check_filters_feasible`).
    A scenario with ``[encounter] kind = "recorded"`` (its ``path`` relative to the file), a folder of
    .daa files or a .daa file gives the complete recorded scenario
    (`encsim.io.recorded_set.recorded_scenario_text`: the text returned is that one).
    """
    path = Path(path)
    if path.is_dir() or path.suffix.lower() == ".daa":  # recordings as the encounter set, default settings
        return _recorded_scenario(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror or exc}") from None
    text = _decode(raw, path)
    recorded = _recorded_document(text, str(path))
    if recorded is not None:  # the recordings, found relative to the scenario file, make the rest
        return _recorded_scenario(path.parent / recorded["encounter"]["path"], recorded, source=str(path))
    scenario = parse_scenario(text, source=str(path))
    if check_filters:
        check_filters_feasible(scenario, str(path))
    return scenario, text


def _recorded_scenario(recordings: Path, document: dict | None = None, source: str = ""):
    """A recorded scenario and its text; a recording that cannot be read is a `ScenarioError` naming it."""
    from .recorded_scenario import recorded_scenario_text

    try:
        text = recorded_scenario_text(recordings, document, source=source)
    except ValueError as exc:  # the .daa reader's and converter's errors name the file (and line)
        raise ScenarioError(f"{source + ': ' if source else ''}{exc}") from None
    return parse_scenario(text, source=source or str(recordings), check_models=False), text


def _recorded_document(text: str, source: str) -> dict | None:
    """The TOML document of a scenario with ``[encounter] kind = "recorded"`` (its path checked), else None."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None  # parse_scenario names the error
    encounter = document.get("encounter")
    if not isinstance(encounter, dict) or encounter.get("kind") != "recorded":
        return None
    extra = sorted(set(encounter) - {"kind", "path"})
    if extra:
        raise ScenarioError(f"{source}: encounter.{extra[0]}: unknown key (a recorded encounter takes kind and path)")
    if not isinstance(encounter.get("path"), str) or not encounter["path"]:
        raise ScenarioError(
            f"{source}: encounter.path = {encounter.get('path')!r}: expected a folder of .daa files or a .daa "
            "file, relative to the scenario file"
        )
    return document


def _positive_span(model, role: str, presets: dict, edges) -> tuple[float, float] | None:
    """Lowest and highest edge of the bins of ``role`` with positive probability given the presets."""
    import numpy as np

    if edges is None or role not in model.roles:
        return None
    given = {key: value for key, value in presets.items() if key in model.roles or key in model.labels}
    try:
        probability = np.asarray(model.exact_marginal(role, given=given or None))
    except (ValueError, KeyError):
        return None
    bins = np.flatnonzero(probability > 0)
    if bins.size == 0 or len(edges) != probability.shape[0] + 1:
        return None
    return float(edges[bins[0]]), float(edges[bins[-1] + 1])


def _largest_rate(model, role: str) -> float | None:
    edges = next((row["edges"] for row in model.describe_variables() if row["role"] == role), None)
    if not edges or not all(map(math.isfinite, edges)):
        return None
    return max(abs(edges[0]), abs(edges[-1]))


def check_filters_feasible(scenario: Scenario, source: str = "<scenario>") -> None:
    """Refuse a speed or altitude filter no track of the model can ever meet (probability 0), before sampling.

    A track starts in a layer (speed bin) of positive probability given the presets, and changes
    altitude (speed) by at most the largest vertical rate (acceleration) bin of the model over the
    encounter; a filter interval outside that reachable span has probability 0 under the model,
    and sampling would only reject attempt after attempt until ``max_attempts``. Filters inside
    the span may still be rare: the generator then says how often each was rejected.
    """
    from ..bayes import load_model

    duration_s = scenario.geometry.duration_s
    for role in ("ownship", "intruder"):
        spec = getattr(scenario, role)
        if not isinstance(spec, AircraftSpec):  # a small-UAS mission has no filters
            continue
        checks = [("alt", "L", "hdot", FPS_PER_FPM, "ft"), ("speed", "v", "vdot", 1.0, "kt")]
        if all(
            getattr(spec, f"{bound}_{kind}_{unit}") is None for kind, *_, unit in checks for bound in ("min", "max")
        ):
            continue
        try:
            model = load_model(spec.model)
        except (FileNotFoundError, ValueError):
            return  # the model's own check says what is wrong
        for kind, span_role, rate_role, per_second, unit in checks:
            low, high = getattr(spec, f"min_{kind}_{unit}"), getattr(spec, f"max_{kind}_{unit}")
            if low is None and high is None:
                continue
            edges = spec.layer_edges() if kind == "alt" and spec.layers_ft is not None else None
            if edges is None:
                edges = next((row["edges"] for row in model.describe_variables() if row["role"] == span_role), None)
            span = _positive_span(model, span_role, spec.presets, edges)
            rate = _largest_rate(model, rate_role)
            if span is None or rate is None:
                continue  # the model does not bound it: nothing to refuse
            reach = rate * per_second * duration_s
            lo, hi = span[0] - reach, span[1] + reach
            if (low is not None and low > hi) or (high is not None and high < lo):
                asked = f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"
                raise ScenarioError(
                    f"{source}: {role}: the {kind} filter {asked} {unit} can never be met: under {spec.model} "
                    f"(presets {dict(spec.presets) or 'none'}) a track starts within [{span[0]:g}, {span[1]:g}] "
                    f"{unit} and changes by at most {reach:g} {unit} in {duration_s} s, so it stays within "
                    f"[{lo:g}, {hi:g}] {unit}: the filter has probability 0 (every attempt would be rejected)"
                )


def with_run_overrides(text: str, *, encounters: int | None = None, seed: int | None = None, source: str = "") -> str:
    """The scenario text with ``[run]`` ``encounters`` and/or ``seed`` replaced (the CLI's overrides).

    A run directory keeps its scenario text as the run's identity and hands it to the workers, so
    an override must live in that text, not beside it: the run then records what it really did,
    and ``--resume`` with other overrides is refused like any other change of scenario. The
    ``[run]`` lines are edited in place (comments and layout kept); the result is parsed again and
    checked to hold the requested values.

    Examples
    --------
    >>> text = "[run]\\nencounters = 10  # ten\\nseed = 1\\n"
    >>> print(with_run_overrides(text, encounters=3, seed=7), end="")
    [run]
    encounters = 3  # ten
    seed = 7
    """
    overrides = {key: value for key, value in (("encounters", encounters), ("seed", seed)) if value is not None}
    if not overrides:
        return text
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == "[run]"), None)
    if start is None:
        raise ScenarioError(f"{source or 'scenario'}: no [run] table to override {', '.join(overrides)} in")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    for key, value in overrides.items():
        pattern = re.compile(rf"^(\s*{key}\s*=\s*)[^#\n]*?(\s*(#.*)?)$")
        rows = [i for i in range(start + 1, end) if pattern.match(lines[i].rstrip("\n"))]
        newline = "\n"
        if rows:
            row = rows[0]
            body = lines[row].rstrip("\n")
            lines[row] = pattern.sub(lambda m, v=value: f"{m.group(1)}{v}{m.group(2)}", body) + newline
        else:
            lines.insert(start + 1, f"{key} = {value}{newline}")
            end += 1
    edited = "".join(lines)
    run = tomllib.loads(edited)["run"]
    if any(run.get(key) != value for key, value in overrides.items()):
        raise ScenarioError(f"{source or 'scenario'}: could not set {overrides} in its [run] table")
    return edited


def _set_table_key(text: str, table: str, key: str, value: str) -> str:
    """``text`` with ``key = value`` (a TOML literal) in ``[table]``: replaced in place, or added (the table too)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, line in enumerate(lines) if line.strip() == f"[{table}]"), None)
    if start is None:
        return "".join(lines) + f"\n[{table}]\n{key} = {value}\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    pattern = re.compile(rf"^(\s*{key}\s*=\s*)[^#\n]*?(\s*(#.*)?)$")
    for row in range(start + 1, end):
        body = lines[row].rstrip("\n")
        if pattern.match(body):
            lines[row] = pattern.sub(lambda m: f"{m.group(1)}{value}{m.group(2)}", body) + "\n"
            return "".join(lines)
    lines.insert(start + 1, f"{key} = {value}\n")
    return "".join(lines)


def with_seam_overrides(
    text: str, *, surveillance: str | None = None, pilot: str | None = None, source: str = ""
) -> str:
    """The scenario text with ``[surveillance]`` ``model`` and/or ``[pilot]`` ``model`` set (the CLI's
    ``--surveillance`` and ``--pilot``), written into the text for the reason `with_run_overrides` gives.

    ``surveillance`` may end in ``+tracker``: the ``[tracker]`` table is then added (or enabled).
    The result is parsed again (without the model files) so a bad name fails here, naming the option.

    Examples
    --------
    >>> print(with_seam_overrides("[run]\\nseed = 1\\n", surveillance="adsb+tracker", pilot="r6"), end="")
    [run]
    seed = 1
    <BLANKLINE>
    [surveillance]
    model = "adsb"
    <BLANKLINE>
    [tracker]
    enabled = true
    <BLANKLINE>
    [pilot]
    model = "r6"
    """
    if surveillance is not None:
        name = surveillance.removesuffix("+tracker")
        text = _set_table_key(text, "surveillance", "model", f'"{name}"')
        if surveillance.endswith("+tracker"):
            text = _set_table_key(text, "tracker", "enabled", "true")
    if pilot is not None:
        text = _set_table_key(text, "pilot", "model", f'"{pilot}"')
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source or 'scenario'}: could not set the seams' models ({exc})") from None
    if surveillance is not None and document["surveillance"]["model"] != surveillance.removesuffix("+tracker"):
        raise ScenarioError(f"{source or 'scenario'}: could not set surveillance.model = {surveillance!r}")
    if pilot is not None and document["pilot"]["model"] != pilot:
        raise ScenarioError(f"{source or 'scenario'}: could not set pilot.model = {pilot!r}")
    return text
