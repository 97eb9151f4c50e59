"""The closed-loop summary table, one definition for the CLI and the HTML report.

Rows: weighted P(NMAC) and P(LoWC) nominal and mitigated, the alert rate, the nuisance-alert rate
(alert without a nominal loss of well clear), and for NMAC and LoWC the ratio with its induced and
resolved parts, every one with its 95 % bootstrap interval; estimator cautions travel as notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .detection import DO365_DWC, NMAC
from .estimators import risk_ratio_with_cautions, weighted_probability

__all__ = ["SummaryRow", "closed_loop_summary"]


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary; ``estimate`` is None when the estimator refused (see ``detail``)."""

    name: str
    estimate: float | None
    ci_low: float
    ci_high: float
    detail: str
    notes: list[str] = field(default_factory=list)

    def interval_text(self) -> str:
        return "" if self.estimate is None else f"{self.ci_low:.4g} - {self.ci_high:.4g}"


#: DEGAS's sanity regions (daa-reference 4.2): HMD and VMD below these for every encounter means the
#: encounter set cannot tell the event apart from the geometry it was built with
NMAC_REGION_FT = (NMAC.radius_ft, NMAC.half_height_ft)
LOWC_REGION_FT = (DO365_DWC.dthr_ft, DO365_DWC.zthr_ft)


def _too_narrow(outcomes: pd.DataFrame, region_ft: tuple[float, float], name: str) -> list[str]:
    if not {"nominal_hmd_ft", "nominal_vmd_ft"} <= set(outcomes.columns):
        return []
    hmd, vmd = outcomes["nominal_hmd_ft"].to_numpy(), outcomes["nominal_vmd_ft"].to_numpy()
    if hmd.size and np.all(hmd < region_ft[0]) and np.all(vmd < region_ft[1]):
        return [
            f"every nominal HMD/VMD lies inside the {name} region ({region_ft[0]:g} ft / {region_ft[1]:g} ft): "
            f"the encounter set is too narrow to measure {name} probabilities or ratios; widen the HMD/VMD proposal"
        ]
    return []


def _probability_rows(outcomes: pd.DataFrame, w: np.ndarray, rng, resampled=None) -> list[SummaryRow]:
    rows = []
    notes = {
        "P(NMAC) nominal": _too_narrow(outcomes, NMAC_REGION_FT, "NMAC"),
        "P(LoWC) nominal": _too_narrow(outcomes, LOWC_REGION_FT, "LoWC"),
    }
    nuisance = outcomes["alerted"].to_numpy(bool) & ~outcomes["nominal_lowc"].to_numpy(bool)
    columns = [
        ("P(NMAC) nominal", outcomes["nominal_nmac"]),
        ("P(NMAC) mitigated", outcomes["mitigated_nmac"]),
        ("P(LoWC) nominal", outcomes["nominal_lowc"]),
        ("P(LoWC) mitigated", outcomes["mitigated_lowc"]),
        ("alert rate", outcomes["alerted"]),
        ("nuisance alert rate", nuisance),
    ]
    for name, column in columns:
        sums = None if resampled is None else (resampled[name], resampled["weight"])
        e = weighted_probability(np.asarray(column, dtype=float), w, rng=rng, resample_sums=sums)
        detail = "alert without nominal LoWC" if name.startswith("nuisance") else f"{e.events} events"
        rows.append(SummaryRow(name, e.probability, e.ci_low, e.ci_high, detail, notes.get(name, [])))
    return rows


def _ratio_rows(outcomes: pd.DataFrame, w: np.ndarray, rng, resampled=None) -> list[SummaryRow]:
    rows = []
    for name, event in (("risk ratio (NMAC)", "nmac"), ("LoWC ratio", "lowc")):
        sums = None if resampled is None else [resampled[f"{part}_{event}"] for part in RATIO_PARTS]
        try:
            r, cautions = risk_ratio_with_cautions(
                outcomes[f"nominal_{event}"].to_numpy(float),
                outcomes[f"mitigated_{event}"].to_numpy(float),
                w,
                rng=rng,
                resample_sums=sums,
            )
        except ValueError as exc:  # no nominal event: refused, with the encounters needed
            rows.append(SummaryRow(name, None, float("nan"), float("nan"), str(exc)))
            continue
        rows.append(
            SummaryRow(
                name,
                r.ratio,
                r.ci_low,
                r.ci_high,
                f"sd {r.sd:.2g}; {r.nominal_events} nominal, {r.mitigated_events} mitigated events",
                cautions,
            )
        )
        rows.append(
            SummaryRow(
                f"  induced ({event.upper()})",
                r.induced,
                r.induced_ci_low,
                r.induced_ci_high,
                "mitigated event without a nominal one, / P_nom",
            )
        )
        rows.append(
            SummaryRow(
                f"  resolved ({event.upper()})",
                r.resolved,
                r.resolved_ci_low,
                r.resolved_ci_high,
                "nominal event the logic removed, / P_nom",
            )
        )
    return rows


#: the bootstrap sums a ratio row takes, in `risk_ratio`'s order (its ``resample_sums``)
RATIO_PARTS = ("mitigated", "induced", "resolved", "nominal")

#: resamples of every interval of the summary (the estimators' default)
N_BOOT = 1000


def _resampled(outcomes: pd.DataFrame, w: np.ndarray, rng) -> dict[str, np.ndarray] | None:
    """Every bootstrap sum the summary's estimators take, from one pass over the encounters.

    An int or SeedSequence ``rng`` gives each estimator the same seed, hence the same resamples:
    their sums of w and of w x for each event x come from one pass (`resample_indicator_sums`), the
    same numbers bit for bit as each estimator drawing its own. A Generator gives each estimator a
    seed of its own (it advances): None, and each draws its own as before.
    """
    if isinstance(rng, np.random.Generator):
        return None
    from ..sampling._philox import seed_to_uint64
    from ._bootstrap import resample_indicator_sums

    events = {column: outcomes[column].to_numpy(float) == 1 for column in _EVENT_COLUMNS}
    indicators = {
        "P(NMAC) nominal": events["nominal_nmac"],
        "P(NMAC) mitigated": events["mitigated_nmac"],
        "P(LoWC) nominal": events["nominal_lowc"],
        "P(LoWC) mitigated": events["mitigated_lowc"],
        "alert rate": events["alerted"],
        "nuisance alert rate": events["alerted"] & ~outcomes["nominal_lowc"].to_numpy(bool),
    }
    for event in ("nmac", "lowc"):
        nominal, mitigated = events[f"nominal_{event}"], events[f"mitigated_{event}"]
        indicators |= {f"induced_{event}": mitigated & ~nominal, f"resolved_{event}": nominal & ~mitigated}
    weight_sums, sums = resample_indicator_sums(w, list(indicators.values()), N_BOOT, seed_to_uint64(rng))
    resampled = dict(zip(indicators, sums)) | {"weight": weight_sums}
    for event, name in (("nmac", "NMAC"), ("lowc", "LoWC")):
        resampled[f"nominal_{event}"] = resampled[f"P({name}) nominal"]
        resampled[f"mitigated_{event}"] = resampled[f"P({name}) mitigated"]
    return resampled


_EVENT_COLUMNS = ("nominal_nmac", "mitigated_nmac", "nominal_lowc", "mitigated_lowc", "alerted")


def closed_loop_summary(outcomes: pd.DataFrame, *, rng=0) -> list[SummaryRow]:
    """The summary rows of paired nominal/mitigated outcomes (from `encsim.simulate` or a results file)."""
    w = outcomes["weight"].to_numpy(float)
    resampled = _resampled(outcomes, w, rng)
    return _probability_rows(outcomes, w, rng, resampled) + _ratio_rows(outcomes, w, rng, resampled)
