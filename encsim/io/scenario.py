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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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


class EncounterSpec(_Strict):
    """Which source generates the encounters (docs/encounter_sources.md)."""

    kind: Literal["pairing", "small_uas"] = Field(
        default="pairing",
        description="pairing: two model-sampled tracks; small_uas: a small-UAS mission ownship vs a model intruder",
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


class SmallUasScenario(Scenario):
    """A study with ``[encounter] kind = "small_uas"``: the ``[ownship]`` table is a `SmallUasSpec`."""

    ownship: SmallUasSpec


#: the scenario schema of each encounter kind (parse_scenario picks it from ``[encounter] kind``)
SCENARIO_CLASSES = {"pairing": Scenario, "small_uas": SmallUasScenario}


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
    if check_models:
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
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror or exc}") from None
    text = _decode(raw, path)
    scenario = parse_scenario(text, source=str(path))
    if check_filters:
        check_filters_feasible(scenario, str(path))
    return scenario, text


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
