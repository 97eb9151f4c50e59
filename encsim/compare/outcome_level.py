"""Outcome-level comparison: does swapping the intruder model change what a DAA study concludes?

The same scenario and logic are run with the intruder drawn from model A and from model B (the
ownship unchanged); the weighted P(NMAC), P(LoWC) (nominal and mitigated), risk ratio, LoWC ratio
and alert rate are compared as differences B - A with percentile bootstrap intervals (the two
encounter sets resampled independently). A tolerance on one metric turns that into a verdict:
B can stand in for A when the whole interval lies within +-tolerance, cannot when it lies wholly
outside, and the answer is "inconclusive" otherwise (more encounters needed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..bayes import load_model
from ..encounters import generate_encounters
from ..io.scenario import Scenario
from ..simulate import simulate

METRICS = ("p_nmac_nominal", "p_nmac_mitigated", "p_lowc_nominal", "p_lowc_mitigated", "risk_ratio", "lowc_ratio", "alert_rate")


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
        return np.stack([
            sums["nominal_nmac"] / total, sums["mitigated_nmac"] / total, sums["nominal_lowc"] / total,
            sums["mitigated_lowc"] / total, sums["mitigated_nmac"] / sums["nominal_nmac"],
            sums["mitigated_lowc"] / sums["nominal_lowc"], sums["alerted"] / total,
        ], axis=-1)  # fmt: skip


@dataclass(frozen=True)
class OutcomeComparison:
    model_a: str
    model_b: str
    logic: str
    table: pd.DataFrame
    verdict: str
    notes: list


def _with_intruder(scenario: Scenario, model_name: str, notes: list) -> Scenario:
    model = load_model(model_name)
    presets = {k: v for k, v in scenario.intruder.presets.items() if k in model.roles}
    dropped = sorted(set(scenario.intruder.presets) - set(presets))
    if dropped:
        notes.append(f"{model_name} has no {', '.join(dropped)}: those intruder presets do not apply")
    intruder = scenario.intruder.model_copy(update={"model": model_name, "presets": presets})
    return scenario.model_copy(update={"intruder": intruder})


def compare_outcomes(scenario: Scenario, model_a: str, model_b: str, *, logic: str = "daa", encounters: int | None = None,
                     metric: str = "risk_ratio", tolerance: float = 0.05, n_boot: int = 500, confidence: float = 0.95,
                     rng=0) -> OutcomeComparison:  # fmt: skip
    """Run ``scenario`` with ``logic`` and the intruder from ``model_a`` and from ``model_b``; compare.

    Examples
    --------
    >>> scenario, _ = load_scenario("scenarios/fwse_vs_rotorcraft.toml")  # doctest: +SKIP
    >>> result = compare_outcomes(scenario, "uncor_1200only_rotorcraft_v1p2", "uncor_1200only_fwse_v1p2")  # doctest: +SKIP
    >>> print(result.verdict)  # doctest: +SKIP
    """
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}; expected one of {METRICS}")
    notes: list = []
    n = encounters or scenario.run.encounters
    ids = np.arange(scenario.run.first_id, scenario.run.first_id + n)
    outcomes = []
    for model in (model_a, model_b):
        variant = _with_intruder(scenario, model, notes)
        outcomes.append(simulate(generate_encounters(variant, ids=ids), logic))
    point = [_statistics(o)[0] for o in outcomes]
    generator = np.random.default_rng(rng)
    boot = [
        _statistics(o, generator.integers(0, len(o), size=(n_boot, len(o))))
        for o in outcomes
    ]  # fmt: skip
    differences = boot[1] - boot[0]
    alpha = 1.0 - confidence
    rows = []
    for k, name in enumerate(METRICS):
        finite = differences[:, k][np.isfinite(differences[:, k])]
        low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2]) if finite.size else (np.nan, np.nan)
        rows.append({"metric": name, "model_a": point[0][k], "model_b": point[1][k], "difference": point[1][k] - point[0][k],
                     "ci_low": low, "ci_high": high})  # fmt: skip
    table = pd.DataFrame(rows)
    chosen = table.set_index("metric").loc[metric]
    half = (chosen["ci_high"] - chosen["ci_low"]) / 2
    stated = f"{metric.replace('_', ' ')} differs by {chosen['difference']:.3g} +/- {half:.2g}"
    if not np.isfinite(chosen["ci_low"]):
        verdict = f"inconclusive for {logic}: {metric} is undefined in some resamples (too few nominal events)"
    elif -tolerance <= chosen["ci_low"] and chosen["ci_high"] <= tolerance:
        verdict = f"{model_b} can stand in for {model_a} for this logic ({logic}): {stated} (tolerance {tolerance:g})"
    elif chosen["ci_low"] > tolerance or chosen["ci_high"] < -tolerance:
        verdict = f"{model_b} cannot stand in for {model_a} for this logic ({logic}): {stated} (tolerance {tolerance:g})"
    else:
        verdict = f"inconclusive for {logic}: {stated}, straddling the tolerance {tolerance:g}; more encounters needed"
    return OutcomeComparison(model_a, model_b, logic, table, verdict, notes)
