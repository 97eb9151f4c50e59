"""Outcome-level comparison: does swapping the intruder model change what a DAA study concludes?

The same scenario and logic are run with the intruder drawn from model A and from model B (the
ownship unchanged); the weighted P(NMAC), P(LoWC) (nominal and mitigated), risk ratio, LoWC ratio
and alert rate are compared as differences B - A with percentile bootstrap intervals (the two
encounter sets resampled independently). A tolerance on one metric turns that into a verdict:
B can stand in for A when the whole interval lies within +-tolerance, cannot when it lies wholly
outside, and the answer is "inconclusive" otherwise (more encounters needed).

Undefined resamples: a ratio (risk ratio, LoWC ratio) is undefined in a bootstrap resample with no
nominal event. Such resamples are dropped from that metric's interval and counted (``dropped``
column of the table, ``OutcomeComparison.dropped`` for the verdict's metric). Dropping them
conditions the interval on "at least one nominal event", which narrows it and biases it, so:

- more than ``max_dropped_fraction`` (default 5 %) of the resamples dropped: the verdict is
  "inconclusive" and says how many were dropped (too few nominal events; more encounters needed);
- some, but at most that fraction, dropped: the verdict is given and carries a caution naming the
  number dropped;
- none dropped: the verdict alone.

A zero-width interval (every resample gives the same difference, e.g. no mitigated NMAC with either
intruder model, so both risk ratios are 0 in every resample) carries no information about the
uncertainty: the verdict is "inconclusive" then too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ..bayes import load_model
from ..encounters import generate_encounters
from ..io.scenario import Scenario, format_validation_errors
from ..simulate import simulate
from .model_level import format_layers

METRICS = (
    "p_nmac_nominal",
    "p_nmac_mitigated",
    "p_lowc_nominal",
    "p_lowc_mitigated",
    "risk_ratio",
    "lowc_ratio",
    "alert_rate",
)
METRIC_ALIASES = {"nmac": "risk_ratio", "lowc": "lowc_ratio"}
MAX_DROPPED_FRACTION = 0.05


def resolve_metric(metric: str) -> str:
    """A metric name of `METRICS`, or an alias: ``nmac`` = risk_ratio, ``lowc`` = lowc_ratio."""
    name = METRIC_ALIASES.get(metric, metric)
    if name not in METRICS:
        raise ValueError(f"metric {metric!r}; expected one of {METRICS} or {tuple(METRIC_ALIASES)}")
    return name


def _statistics(outcomes: pd.DataFrame, picks: np.ndarray | None = None) -> np.ndarray:
    """The metrics for the encounters ``picks`` (rows: resamples) or for all encounters."""
    columns = ("nominal_nmac", "mitigated_nmac", "nominal_lowc", "mitigated_lowc", "alerted")
    w = outcomes["weight"].to_numpy()
    values = {c: outcomes[c].to_numpy().astype(float) * w for c in columns}
    if picks is None:
        sums = {c: np.array([v.sum()]) for c, v in values.items()}
        total = np.array([w.sum()])
    else:
        sums = {c: v[picks].sum(axis=1) for c, v in values.items()}
        total = w[picks].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.stack(
            [
                sums["nominal_nmac"] / total,
                sums["mitigated_nmac"] / total,
                sums["nominal_lowc"] / total,
                sums["mitigated_lowc"] / total,
                sums["mitigated_nmac"] / sums["nominal_nmac"],
                sums["mitigated_lowc"] / sums["nominal_lowc"],
                sums["alerted"] / total,
            ],
            axis=-1,
        )


@dataclass(frozen=True)
class OutcomeComparison:
    """Differences B - A per metric (``table``: point values, difference, interval, ``resamples`` and
    ``dropped`` resamples), the verdict on ``metric`` under ``tolerance``, and notes."""

    model_a: str
    model_b: str
    logic: str
    table: pd.DataFrame
    verdict: str
    notes: list
    metric: str = "risk_ratio"
    tolerance: float = 0.05
    n_boot: int = 0
    dropped: int = 0
    encounters: int = 0


def _layer_table(model, spec=None) -> list[tuple[float, float]]:
    """The layer table in force for an aircraft (decisions.md section 2): the scenario's, else the registry's."""
    from .model_level import layer_pairs

    if spec is not None and spec.layers_ft is not None:
        return [(float(lo), float(hi)) for lo, hi in spec.layers_ft]
    return layer_pairs(model)


def intruder_variant(scenario: Scenario, model_name: str) -> tuple[Scenario, list[str]]:
    """The scenario with its intruder model replaced by ``model_name``, validated like a loaded scenario.

    - The variant goes through the scenario checks of `encsim.io.scenario` (pydantic validation and
      the registry's "encounters" rule, decisions.md section 2): a model that cannot make encounters
      (balloon, skydiving, correlated, ...) is refused with the registry's reason.
    - Intruder presets apply where the model has the variable (the notes name the others).
    - An ``L`` preset names a layer by index in the table of the scenario's own intruder model (its
      ``layers_ft``, else the registry's); it is mapped by its altitude edges to the layer of
      ``model_name`` with the same edges (decisions.md section 1), and refused if there is none.
    - A scenario ``layers_ft`` (one layer per L bin of the scenario's intruder model) is kept for a
      model with the same registry layer table; for another model it is dropped if it only restates
      the registry's table (that model's own table is used) and refused if it overrides it.

    Returns the variant and notes saying what was done. Raises `ScenarioError` (a ``ValueError``).
    """
    from ..io.scenario import ScenarioError, check_scenario_models

    source = f"scenario {scenario.name or '(unnamed)'} with intruder model {model_name}"
    original = scenario.intruder
    # first the rule of scenario loading: may this model make encounters at all? (registry, decisions.md section 2)
    check_scenario_models(
        scenario.model_copy(update={"intruder": original.model_copy(update={"model": model_name})}), source=source
    )
    model = load_model(model_name)
    notes: list[str] = []
    presets = {k: v for k, v in original.presets.items() if k in model.roles}
    dropped = sorted(set(original.presets) - set(presets))
    if dropped:
        notes.append(f"{model_name} has no {', '.join(dropped)}: those intruder presets do not apply")
    update: dict = {"model": model_name, "presets": presets}
    reference = model if model_name == original.model else load_model(original.model)
    table_scenario = _layer_table(reference, original)  # what the scenario's L preset and layers_ft refer to
    table_model = table_scenario
    if model_name != original.model and _layer_table(model) != _layer_table(reference):
        table_model = _layer_table(model)
        if original.layers_ft is not None:
            if table_scenario != _layer_table(reference):
                raise ScenarioError(
                    f"{source}: intruder.layers_ft = {format_layers(table_scenario)} ft overrides the layer table of "
                    f"{original.model} and has no meaning for {model_name}, "
                    f"whose layers are {format_layers(table_model)} ft; "
                    "remove layers_ft from the scenario or compare models with the same layer table"
                )
            update["layers_ft"] = None
            notes.append(
                f"intruder layers_ft {format_layers(table_scenario)} ft (the layer table of {original.model}) "
                f"replaced by the layers of {model_name}: {format_layers(table_model)} ft"
            )
    if "L" in presets:
        bin1 = presets["L"]
        if not 1 <= bin1 <= len(table_scenario):
            raise ScenarioError(
                f"{source}: intruder preset L={bin1} is not a layer of {original.model} "
                f"({len(table_scenario)} layers: {format_layers(table_scenario)} ft)"
            )
        layer = table_scenario[bin1 - 1]
        if layer not in table_model:
            raise ScenarioError(
                f"{source}: intruder preset L={bin1} is the layer {format_layers([layer])} ft AGL of {original.model}; "
                f"no layer of {model_name} has these edges (its layers: {format_layers(table_model)} ft), so the "
                "outcome level cannot keep the intruder in the same altitudes"
            )
        presets["L"] = table_model.index(layer) + 1
        notes.append(
            f"intruder preset L={bin1} ({format_layers([layer])} ft AGL in {original.model}) is L={presets['L']} "
            f"of {model_name} (layers matched by their edges)"
        )
    intruder = original.model_copy(update=update)
    try:
        variant = type(scenario).model_validate(scenario.model_copy(update={"intruder": intruder}).model_dump())
    except ValidationError as exc:
        raise ScenarioError(format_validation_errors(exc, source=source)) from None
    check_scenario_models(variant, source=source)
    return variant, notes


def compare_outcomes(
    scenario: Scenario,
    model_a: str,
    model_b: str,
    *,
    logic: str = "daa",
    encounters: int | None = None,
    metric: str = "risk_ratio",
    tolerance: float = 0.05,
    n_boot: int = 500,
    confidence: float = 0.95,
    rng=0,
    max_dropped_fraction: float = MAX_DROPPED_FRACTION,
) -> OutcomeComparison:
    """Run ``scenario`` with ``logic`` and the intruder from ``model_a`` and from ``model_b``; compare.

    ``metric`` (one of `METRICS`, or ``nmac``/``lowc`` for the risk/LoWC ratio) and ``tolerance``
    (in the metric's units) make the verdict; ``rng`` seeds the bootstrap (the encounters come from
    the scenario's own seed). See the module docstring for resamples where a ratio is undefined.

    Examples
    --------
    200 encounters (a study would take thousands; paths from the project root):

    >>> from encsim.io.scenario import load_scenario
    >>> scenario, _ = load_scenario("scenarios/fwse_vs_rotorcraft.toml")
    >>> result = compare_outcomes(
    ...     scenario, "uncor_1200only_rotorcraft_v1p2", "uncor_1200only_fwse_v1p2", encounters=200, n_boot=200
    ... )
    >>> print(result.verdict)  # doctest: +NORMALIZE_WHITESPACE
    uncor_1200only_fwse_v1p2 can stand in for uncor_1200only_rotorcraft_v1p2 for this logic (daa):
    risk ratio differs by 0.00869 +/- 0.014 (tolerance 0.05)
    """
    metric = resolve_metric(metric)
    notes: list = []
    n = encounters or scenario.run.encounters
    ids = np.arange(scenario.run.first_id, scenario.run.first_id + n)
    variants = []
    for model in (model_a, model_b):  # both checked before any encounter is generated
        variant, variant_notes = intruder_variant(scenario, model)
        variants.append(variant)
        notes.extend(note for note in variant_notes if note not in notes)
    outcomes = [simulate(generate_encounters(variant, ids=ids), logic) for variant in variants]
    return summarise_outcomes(
        outcomes[0],
        outcomes[1],
        model_a,
        model_b,
        logic=logic,
        metric=metric,
        tolerance=tolerance,
        n_boot=n_boot,
        confidence=confidence,
        rng=rng,
        max_dropped_fraction=max_dropped_fraction,
        notes=notes,
    )


def summarise_outcomes(
    outcomes_a: pd.DataFrame,
    outcomes_b: pd.DataFrame,
    model_a: str,
    model_b: str,
    *,
    logic: str = "daa",
    metric: str = "risk_ratio",
    tolerance: float = 0.05,
    n_boot: int = 500,
    confidence: float = 0.95,
    rng=0,
    max_dropped_fraction: float = MAX_DROPPED_FRACTION,
    notes: list | None = None,
) -> OutcomeComparison:
    """The comparison of two outcome tables (columns ``weight``, ``nominal_nmac``, ``mitigated_nmac``,
    ``nominal_lowc``, ``mitigated_lowc``, ``alerted``; one row per encounter): table and verdict."""
    metric = resolve_metric(metric)
    outcomes = [outcomes_a, outcomes_b]
    point = [_statistics(o)[0] for o in outcomes]
    generator = np.random.default_rng(rng)
    boot = [_statistics(o, generator.integers(0, len(o), size=(n_boot, len(o)))) for o in outcomes]
    differences = boot[1] - boot[0]
    alpha = 1.0 - confidence
    rows = []
    for k, name in enumerate(METRICS):
        finite = differences[:, k][np.isfinite(differences[:, k])]
        low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2]) if finite.size else (np.nan, np.nan)
        rows.append(
            {
                "metric": name,
                "model_a": point[0][k],
                "model_b": point[1][k],
                "difference": point[1][k] - point[0][k],
                "ci_low": low,
                "ci_high": high,
                "resamples": n_boot,
                "dropped": n_boot - finite.size,
            }
        )
    table = pd.DataFrame(rows)
    chosen = table.set_index("metric").loc[metric]
    dropped = int(chosen["dropped"])
    label = metric.replace("_", " ")
    half = (chosen["ci_high"] - chosen["ci_low"]) / 2
    stated = f"{label} differs by {chosen['difference']:.3g} +/- {half:.2g}"
    dropped_text = (
        f"{dropped} of {n_boot} bootstrap resamples ({dropped / max(n_boot, 1):.1%}) dropped because the {label} "
        "is undefined in them (no nominal event)"
    )
    if not np.isfinite(chosen["difference"]) or dropped == n_boot:
        verdict = (
            f"inconclusive for {logic}: {label} is undefined (too few nominal events); {dropped_text}; "
            "more encounters needed"
        )
    elif dropped > max_dropped_fraction * n_boot:
        verdict = (
            f"inconclusive for {logic}: {dropped_text}, more than {max_dropped_fraction:.0%}, "
            "so the interval of the rest "
            f"is biased ({stated} over the resamples kept); more encounters needed"
        )
    elif chosen["ci_low"] == chosen["ci_high"]:
        verdict = (
            f"inconclusive for {logic}: every bootstrap resample gives the same {label} difference "
            f"({chosen['difference']:.3g}), so the interval has zero width and says nothing about the uncertainty "
            "(no events to vary, e.g. no mitigated NMAC with either intruder model); more encounters needed"
        )
    elif -tolerance <= chosen["ci_low"] and chosen["ci_high"] <= tolerance:
        verdict = f"{model_b} can stand in for {model_a} for this logic ({logic}): {stated} (tolerance {tolerance:g})"
    elif chosen["ci_low"] > tolerance or chosen["ci_high"] < -tolerance:
        verdict = (
            f"{model_b} cannot stand in for {model_a} for this logic ({logic}): {stated} (tolerance {tolerance:g})"
        )
    else:
        verdict = f"inconclusive for {logic}: {stated}, straddling the tolerance {tolerance:g}; more encounters needed"
    if 0 < dropped <= max_dropped_fraction * n_boot:
        verdict += f" (caution: {dropped_text})"
    return OutcomeComparison(
        model_a,
        model_b,
        logic,
        table,
        verdict,
        list(notes or []),
        metric,
        tolerance,
        n_boot,
        dropped,
        len(outcomes_a),
    )
