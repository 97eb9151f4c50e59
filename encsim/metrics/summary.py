"""The closed-loop summary table, one definition for the CLI, the HTML report and the API.

Rows: weighted P(NMAC) and P(LoWC) nominal and mitigated, the share of encounters that start inside
the well-clear volume, the alert rate, the nuisance-alert rate (alert without a nominal loss of
well clear), and for NMAC and LoWC the ratio with its induced and resolved parts and the number of
encounters that would bring the ratio's interval within +-10 %; with the outputs of the alerting
columns, DO-365 alerting performance per alert level (`encsim.metrics.alerting`), jitter and SLoWC;
with encounter metadata, LoWC ratio, alert and nuisance rates by geometry and by intruder altitude
layer. Every estimate has its 95 % interval; estimator cautions travel as notes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import alerting
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


#: a share of encounters starting inside the well-clear volume at or above this gets a caution
STARTS_INSIDE_CAUTION = 0.05


def _starts_inside(outcomes: pd.DataFrame) -> np.ndarray:
    """Encounters whose nominal loss of well clear holds at t = 0 (they start inside the volume)."""
    return outcomes["nominal_lowc"].to_numpy(bool) & (outcomes["nominal_t_lowc_s"].to_numpy(float) <= 0.0)


def _inside_caution(outcomes: pd.DataFrame, w: np.ndarray, region_ft=LOWC_REGION_FT) -> list[str]:
    """Why LoWC is (nearly) always 1: encounters starting inside the volume, with the measured shares."""
    if not {"nominal_t_lowc_s", "nominal_hmd_ft", "nominal_vmd_ft"} <= set(outcomes.columns):
        return []
    inside = _starts_inside(outcomes)
    share = float(np.sum(w * inside) / w.sum())
    p_lowc = float(np.sum(w * outcomes["nominal_lowc"].to_numpy(bool)) / w.sum())
    if share < STARTS_INSIDE_CAUTION and p_lowc < 1.0:
        return []
    hmd = outcomes["nominal_hmd_ft"].to_numpy(float)
    vmd = np.abs(outcomes["nominal_vmd_ft"].to_numpy(float))
    return [
        f"{share:.0%} of the weight ({int(inside.sum())} of {inside.size} encounters) starts inside the well-clear "
        f"volume (nominal LoWC at t = 0), so P(LoWC) is near 1 whatever the logic does: the tCPA is too small for "
        f"the closing speeds, or the HMD/VMD proposal too narrow ({np.mean(hmd < region_ft[0]):.0%} of "
        f"nominal HMDs below {region_ft[0]:g} ft, {np.mean(vmd < region_ft[1]):.0%} of |VMD| below "
        f"{region_ft[1]:g} ft); lengthen tCPA or widen the proposal"
    ]


def _probability_rows(outcomes: pd.DataFrame, w: np.ndarray, rng, resampled=None, regions=None) -> list[SummaryRow]:
    rows = []
    nmac_region, lowc_region = (NMAC_REGION_FT, LOWC_REGION_FT) if regions is None else regions
    notes = {
        "P(NMAC) nominal": _too_narrow(outcomes, nmac_region, "NMAC"),
        "P(LoWC) nominal": _too_narrow(outcomes, lowc_region, "LoWC") + _inside_caution(outcomes, w, lowc_region),
    }
    nuisance = outcomes["alerted"].to_numpy(bool) & ~outcomes["nominal_lowc"].to_numpy(bool)
    columns = [
        ("P(NMAC) nominal", outcomes["nominal_nmac"]),
        ("P(NMAC) mitigated", outcomes["mitigated_nmac"]),
        ("P(LoWC) nominal", outcomes["nominal_lowc"]),
        ("P(LoWC) mitigated", outcomes["mitigated_lowc"]),
        ("starts inside WC", _starts_inside(outcomes) if "nominal_t_lowc_s" in outcomes.columns else None),
        ("alert rate", outcomes["alerted"]),
        ("nuisance alert rate", nuisance),
    ]
    columns = [(name, column) for name, column in columns if column is not None]
    details = {
        "nuisance alert rate": "alert without nominal LoWC",
        "starts inside WC": "nominal LoWC at t = 0: no alert can come before it",
    }
    for name, column in columns:
        sums = None if resampled is None or name not in resampled else (resampled[name], resampled["weight"])
        e = weighted_probability(np.asarray(column, dtype=float), w, rng=rng, resample_sums=sums)
        detail = details.get(name, f"{e.events} events")
        rows.append(SummaryRow(name, e.probability, e.ci_low, e.ci_high, detail, notes.get(name, []) + list(e.notes)))
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
        if event == "lowc":
            cautions = _inside_caution(outcomes, w) + cautions
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
        rows.append(_encounters_needed(name, r, len(outcomes)))
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
    from ..random import seed_to_uint64
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


#: the relative half-width the "encounters needed" row aims at
TARGET_RELATIVE_HALF_WIDTH = 0.1


def encounters_needed(n: int, ratio: float, ci_low: float, ci_high: float, target: float = 0.1) -> float:
    """Encounters that would bring a ratio's interval half-width below ``target`` times the ratio.

    n (h / (target ratio))^2, h the larger half-width (intervals shrink as 1 / sqrt(n)); NaN for a
    ratio of 0 or an interval that is not finite.

    Examples
    --------
    >>> round(encounters_needed(10_000, 0.5, 0.4, 0.65, 0.1))
    90000
    """
    half_width = max(ratio - ci_low, ci_high - ratio)
    if not (ratio > 0 and np.isfinite(half_width)):
        return float("nan")
    return float(n * (half_width / (target * ratio)) ** 2)


def _encounters_needed(name: str, r, n: int) -> SummaryRow:
    needed = encounters_needed(n, r.ratio, r.ci_low, r.ci_high, TARGET_RELATIVE_HALF_WIDTH)
    label = f"  n for {name} +-10 %"
    if not np.isfinite(needed):
        return SummaryRow(
            label, None, float("nan"), float("nan"), "ratio 0 (no mitigated event): a relative width is undefined"
        )
    detail = f"encounters for a half-width below 10 % of {r.ratio:.3g}: n (h / (0.1 ratio))^2 with n = {n}"
    return SummaryRow(label, float(np.ceil(needed)), float("nan"), float("nan"), detail)


def _probability_row(name: str, indicator, w, subset, rng, detail: str, notes=()) -> SummaryRow:
    e = alerting._rate(indicator, w, subset, rng)
    if e is None:
        return SummaryRow(name, None, float("nan"), float("nan"), f"no encounter to score ({detail})")
    return SummaryRow(name, e.probability, e.ci_low, e.ci_high, detail, list(notes) + list(e.notes))


def _alerting_rows(outcomes: pd.DataFrame, w: np.ndarray, rng, alerting_times) -> list[SummaryRow]:
    """DO-365 alerting performance per level, open loop, with jitter and SLoWC."""
    at_s, eat_s, source = alerting_times
    rows = []
    for level, level_name in alerting.ALERT_LEVEL_NAMES.items():
        at, eat = float(at_s[level - 1]), float(eat_s[level - 1])
        c = alerting.alert_classes(outcomes, level, at, eat)
        must = c["must_alert"].to_numpy()
        tag = f"L{level} {level_name}"
        scope = f"of {int(must.sum())} must-alert encounters (nominal LoWC after t = 0); AT {at:g} s, EAT {eat:g} s"
        window = alerting._rate(c["in_window"], w, must, rng)
        verdict = "" if window is None else alerting.window_verdict(window.ci_low, window.ci_high)
        rows += [
            _probability_row(f"{tag}: timely", c["timely"], w, must, rng, f"AT <= lead <= EAT, {scope}"),
            _probability_row(f"{tag}: late", c["late"], w, must, rng, "alerted, but less than AT before LoWC"),
            _probability_row(f"{tag}: early", c["early"], w, must, rng, "alerted more than EAT before LoWC"),
            _probability_row(f"{tag}: missed", c["missed"], w, must, rng, "no alert at this level before LoWC"),
            _probability_row(
                f"{tag}: in window",
                c["in_window"],
                w,
                must,
                rng,
                f"timely or late; DO-365 alerting window {verdict} (pass mark: 95 % interval above "
                f"{alerting.WINDOW_MAJORITY:g})",
            ),
            _probability_row(f"{tag}: nuisance", c["nuisance"], w, None, rng, "alert without nominal LoWC"),
            _probability_row(
                f"{tag}: short",
                c["short"],
                w,
                c["alerted"].to_numpy(),
                rng,
                f"an alert episode under {alerting.SHORT_ALERT_S:g} s, of encounters alerted at this level",
            ),
            _lead_row(tag, c, w, rng),
        ]
    rows.append(_jitter_row(outcomes, w, rng))
    rows += _slowc_rows(outcomes, w, rng)
    rows[0] = SummaryRow(
        rows[0].name,
        rows[0].estimate,
        rows[0].ci_low,
        rows[0].ci_high,
        rows[0].detail + f"; scored open loop, alerting times from {source}",
        rows[0].notes,
    )
    return rows


def _lead_row(tag: str, c: pd.DataFrame, w: np.ndarray, rng) -> SummaryRow:
    lead = c["lead_s"].to_numpy(float)
    scored = np.isfinite(lead)
    name = f"{tag}: alert to LoWC (s)"
    if scored.sum() < 2:
        return SummaryRow(name, None, float("nan"), float("nan"), "fewer than two must-alert encounters alerted")
    median, low, high = alerting._median_interval(lead[scored], w[scored], rng=rng)
    q = alerting.weighted_quantiles(lead[scored], w[scored], [0.05, 0.25, 0.75, 0.95])
    detail = (
        f"weighted median; 5/25/75/95 % quantiles {q[0]:.0f} / {q[1]:.0f} / {q[2]:.0f} / {q[3]:.0f} s "
        f"(negative: after LoWC), {int(scored.sum())} encounters"
    )
    return SummaryRow(name, median, low, high, detail)


def _jitter_row(outcomes: pd.DataFrame, w: np.ndarray, rng) -> SummaryRow:
    changes = outcomes["open_loop_alert_level_changes"].to_numpy(float)
    alerted = np.isfinite(outcomes["open_loop_t_first_alert_l1_s"].to_numpy(float))
    e = alerting._mean(changes, w, alerted, rng)
    if e is None:
        return SummaryRow("alert jitter", None, float("nan"), float("nan"), "no alert")
    return SummaryRow(
        "alert jitter", e.mean, e.ci_low, e.ci_high, "mean number of reported-level changes per alerted encounter"
    )


def _slowc_rows(outcomes: pd.DataFrame, w: np.ndarray, rng) -> list[SummaryRow]:
    if "nominal_max_slowc" not in outcomes.columns:
        return []
    lowc = outcomes["nominal_lowc"].to_numpy(bool)
    rows = []
    for run in ("nominal", "mitigated"):
        e = alerting._mean(outcomes[f"{run}_max_slowc"].to_numpy(float), w, lowc, rng)
        if e is not None:
            detail = "SLoWC 0-100 (Pratt and Kay), maximum over the run, mean over nominal-LoWC encounters"
            rows.append(SummaryRow(f"SLoWC {run}", e.mean, e.ci_low, e.ci_high, detail))
    return rows


def _class_order(label: str):
    """Geometry classes head-on, crossing, overtaking; layers from the lowest ('below' first, 'above' last)."""
    order = {"head-on": -3, "crossing": -2, "overtaking": -1}
    if label in order:
        return order[label]
    if label.startswith(("below", "above")):
        return -math.inf if label.startswith("below") else math.inf
    return float(label.split("-", 1)[0])


def _class_rows(outcomes: pd.DataFrame, w: np.ndarray, rng, classes: pd.Series, kind: str) -> list[SummaryRow]:
    rows = []
    labels = np.asarray(classes, dtype=object)
    nuisance = outcomes["alerted"].to_numpy(bool) & ~outcomes["nominal_lowc"].to_numpy(bool)
    for label in sorted(pd.unique(labels), key=_class_order):
        members = labels == label
        share = float(w[members].sum() / w.sum())
        alert = alerting._rate(outcomes["alerted"], w, members, rng)
        nuisance_rate = alerting._rate(nuisance, w, members, rng)
        head = f"[{kind} {label}]"
        detail = (
            f"{share:.1%} of the weight ({int(members.sum())} encounters); alert rate {alert.probability:.3g} "
            f"({alert.ci_low:.3g} - {alert.ci_high:.3g}); nuisance {nuisance_rate.probability:.3g} "
            f"({nuisance_rate.ci_low:.3g} - {nuisance_rate.ci_high:.3g})"
        )
        subset = outcomes[members]
        try:
            r, cautions = risk_ratio_with_cautions(
                subset["nominal_lowc"].to_numpy(float), subset["mitigated_lowc"].to_numpy(float), w[members], rng=rng
            )
        except ValueError:  # no nominal LoWC in the class
            rows.append(
                SummaryRow(f"{head} LoWC ratio", None, float("nan"), float("nan"), "no nominal LoWC; " + detail)
            )
            continue
        rows.append(SummaryRow(f"{head} LoWC ratio", r.ratio, r.ci_low, r.ci_high, detail, cautions))
    return rows


def closed_loop_summary(
    outcomes: pd.DataFrame,
    *,
    rng=0,
    alerting_times: tuple | None = None,
    metadata: pd.DataFrame | None = None,
    layer_edges_ft=None,
    regions_ft=None,
) -> list[SummaryRow]:
    """The summary rows of paired nominal/mitigated outcomes (from `encsim.simulate` or a results file).

    Parameters
    ----------
    outcomes : DataFrame
        One row per encounter: `encsim.simulate.OUTCOME_COLUMNS` with ``weight``.
    alerting_times : (AT_k, EAT_k, source), optional
        Alerting and early alerting times (s) of levels 1-3 of the logic's configuration
        (`encsim.simulate.alerting_times`) and where they come from; with them, and the outcomes'
        open-loop alerting columns, the DO-365 alerting-performance rows are added.
    metadata : DataFrame, optional
        The encounters' metadata in the same order (``int_heading_tcpa_rad``, ``int_alt_tcpa_ft``):
        LoWC ratio, alert and nuisance rates by geometry class, and by intruder altitude layer
        when ``layer_edges_ft`` (the intruder's layer table, ft AGL) is given.
    regions_ft : ((radius, half-height), (DTHR, ZTHR)), optional
        The NMAC cylinder and the well-clear volume the run scored (ft), for the notes that warn
        when every nominal HMD/VMD lies inside them; default DEGAS's regions (500 / 100 ft, the
        DO-365 DWC's 4000 / 450 ft). A small-UAS run passes its 50 / 15 ft and 2000 / 250 ft.
    """
    w = outcomes["weight"].to_numpy(float)
    resampled = _resampled(outcomes, w, rng)
    rows = _probability_rows(outcomes, w, rng, resampled, regions_ft) + _ratio_rows(outcomes, w, rng, resampled)
    if alerting_times is not None and alerting.has_alerting_columns(outcomes):
        rows += _alerting_rows(outcomes, w, rng, alerting_times)
    if metadata is not None and len(metadata) == len(outcomes):
        if "int_heading_tcpa_rad" in metadata.columns:  # the ownship heads north at tCPA by construction
            geometry = alerting.geometry_class(metadata["int_heading_tcpa_rad"].to_numpy(float))
            rows += _class_rows(outcomes, w, rng, geometry, "geometry")
        if layer_edges_ft is not None and "int_alt_tcpa_ft" in metadata.columns:
            layers = alerting.intruder_layer(metadata["int_alt_tcpa_ft"].to_numpy(float), layer_edges_ft)
            rows += _class_rows(outcomes, w, rng, layers, "intruder layer")
    return rows
