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
from .estimators import _ratio_indicators, risk_ratio_with_cautions, weighted_probability

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


def _all_encounter_events(outcomes: pd.DataFrame, extra=None) -> dict[str, np.ndarray]:
    """The events whose rates the summary estimates over all encounters ({name: boolean}), and ``extra``."""
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
    return indicators | (extra or {})


def _named_resampled(names, sums: list[np.ndarray], weight_sums: np.ndarray) -> dict[str, np.ndarray]:
    """`_resampled`'s dictionary: each event's sums by name, the weights' as "weight", and the names
    the ratio rows take (``nominal_nmac`` ...)."""
    resampled = dict(zip(names, sums)) | {"weight": weight_sums}
    for event, name in (("nmac", "NMAC"), ("lowc", "LoWC")):
        resampled[f"nominal_{event}"] = resampled[f"P({name}) nominal"]
        resampled[f"mitigated_{event}"] = resampled[f"P({name}) mitigated"]
    return resampled


def _resampled(outcomes: pd.DataFrame, w: np.ndarray, rng, extra=None) -> dict[str, np.ndarray] | None:
    """Every bootstrap sum the summary's estimators over all encounters take, from one pass over them.

    An int or SeedSequence ``rng`` gives each estimator the same seed, hence the same resamples:
    their sums of w and of w x for each event x come from one pass (`resample_indicator_sums`), the
    same numbers bit for bit as each estimator drawing its own. ``extra``: more events over all
    encounters ({name: indicator}, e.g. the nuisance alerts of each alert level), summed in the same
    pass. A Generator gives each estimator a seed of its own (it advances): None, and each draws its
    own as before. (With shared passes, `closed_loop_summary` declares the same events over all
    encounters in `_SharedResamples` instead, where other values over all of them join the pass.)
    """
    if isinstance(rng, np.random.Generator):
        return None
    from ..random import seed_to_uint64
    from ._bootstrap import resample_indicator_sums

    indicators = _all_encounter_events(outcomes, extra)
    weight_sums, sums = resample_indicator_sums(w, list(indicators.values()), N_BOOT, seed_to_uint64(rng))
    return _named_resampled(indicators, sums, weight_sums)


_EVENT_COLUMNS = ("nominal_nmac", "mitigated_nmac", "nominal_lowc", "mitigated_lowc", "alerted")

#: estimators over the same encounters with the same seed share one bootstrap pass (False: each draws
#: its own, the code path before; the same numbers bit for bit, see `_SharedResamples`)
_SHARE_PASSES = True

#: the name of the weights' own sums in `_SharedResamples` (not a name of a declared value)
_WEIGHT = "\0weight"


def _resample_set(w: np.ndarray, events: list[np.ndarray], reals: list[np.ndarray], rng) -> tuple:
    """One pass over a set of encounters for `_SharedResamples`: (sums of w, of w x per event, of w y per real)."""
    from ..random import seed_to_uint64
    from ._bootstrap import resample_record_sums

    return resample_record_sums(w, events, reals, N_BOOT, seed_to_uint64(rng))


class _SharedResamples:
    """Bootstrap sums for the estimators over one set of encounters with one seed: one kernel pass per set.

    A resample's picks depend only on the seed, the resample index and the number of encounters
    resampled, and the kernels sum each column on its own in draw order
    (`_bootstrap.bootstrap_row_sums`, `bootstrap_record_sums`): columns summed together in one pass
    over a set of encounters are, bit for bit, what one pass per column gives. So the summary
    declares each value x it will estimate over a set (``add``), draws the sums of w x and of w
    once per distinct set (``draw``) and hands each estimator its own (``sums``). A Generator
    ``rng`` gives each estimator a seed of its own (it advances): then ``active`` is False, nothing
    is drawn here, ``sums`` is None and the estimators draw theirs as before.
    """

    def __init__(self, w: np.ndarray, rng, active: bool):
        self._w = w
        self._rng = rng
        self.active = active
        self._declared: dict[bytes, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        self._drawn: dict[bytes, dict[str, np.ndarray]] = {}

    @staticmethod
    def _key(subset: np.ndarray) -> bytes:
        return np.packbits(subset).tobytes()  # every subset masks the same n encounters

    def add(self, subset, values: dict[str, np.ndarray]) -> None:
        """Declare values x (one per encounter; a name means the same x wherever it is used) whose
        w x an estimator will resample over the encounters of the boolean mask ``subset``."""
        if self.active:
            subset = np.asarray(subset, dtype=bool)
            self._declared.setdefault(self._key(subset), (subset, {}))[1].update(values)

    def draw(self) -> None:
        """One pass per declared set: the sums of w x for each of its x, and of w, over `N_BOOT` resamples.

        Each encounter of the set is one record of its weight, the flags of the x that are events
        (0 or 1) and the values w x of the others (`_bootstrap.resample_record_sums`): one read per draw.
        """
        from ._bootstrap import MAX_FLAGS

        zero_one = {}  # id of a declared column (alive in _declared) -> its values are all 0 or 1
        for key, (subset, values) in self._declared.items():
            everyone = bool(subset.all())
            members = None if everyone else np.flatnonzero(subset)  # one pass over the mask, then takes by index
            w = self._w if everyone else self._w.take(members)
            if w.size == 0:  # no estimate over no encounter
                continue
            events, reals = {}, {}
            for name, column in values.items():
                x = np.asarray(column)
                if x.dtype != np.bool_:
                    x = x.astype(np.float64, copy=False)
                if id(column) not in zero_one:  # a column declared over several sets is checked once
                    zero_one[id(column)] = x.dtype == np.bool_ or bool(np.all((x == 0.0) | (x == 1.0)))
                # w x of a 0 / 1 column is w times a flag, bit for bit; any other value is summed as w x
                # (so a column not 0 / 1 over all encounters goes with the reals even over a set where it
                # is: the same sums)
                x = x if everyone else x.take(members)  # no copy of a column over all
                (events if zero_one[id(column)] and len(events) < MAX_FLAGS - 1 else reals)[name] = x
            weight_sums, event_sums, real_sums = _resample_set(
                w, list(events.values()), list(reals.values()), self._rng
            )
            self._drawn[key] = dict(zip(events, event_sums)) | dict(zip(reals, real_sums)) | {_WEIGHT: weight_sums}
        self._declared.clear()

    def sums(self, subset, *names: str, weight: bool = True) -> list[np.ndarray] | None:
        """The drawn sums of w x of each named x over ``subset`` (and then of w), for an estimator's
        ``resample_sums``; None when nothing is shared (the estimator draws its own)."""
        if not self.active:
            return None
        drawn = self._drawn.get(self._key(np.asarray(subset, dtype=bool)))
        if drawn is None:  # an empty set: the estimator refuses before it resamples
            return None
        return [drawn[name] for name in names] + ([drawn[_WEIGHT]] if weight else [])


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


def _probability_row(name: str, indicator, w, subset, rng, detail: str, notes=(), sums=None) -> SummaryRow:
    e = alerting._rate(indicator, w, subset, rng, sums)
    if e is None:
        return SummaryRow(name, None, float("nan"), float("nan"), f"no encounter to score ({detail})")
    return SummaryRow(name, e.probability, e.ci_low, e.ci_high, detail, list(notes) + list(e.notes))


def _level_classes(outcomes: pd.DataFrame, alerting_times) -> dict[int, pd.DataFrame]:
    """`alerting.alert_classes` of each alert level, with the level's AT and EAT."""
    at_s, eat_s, _ = alerting_times
    return {
        level: alerting.alert_classes(outcomes, level, float(at_s[level - 1]), float(eat_s[level - 1]))
        for level in alerting.ALERT_LEVEL_NAMES
    }


#: the must-alert classes whose rates each level reports, among its must-alert encounters
_MUST_ALERT_CLASSES = ("timely", "late", "early", "missed", "in_window")


def _declare_alerting(shared: _SharedResamples, outcomes: pd.DataFrame, levels: dict[int, pd.DataFrame]) -> None:
    """What `_alerting_rows` resamples over subsets of the encounters (its nuisance rates, over all
    of them, go to the set of all encounters): the must-alert encounters are the same set at every level."""
    for level, c in levels.items():
        shared.add(c["must_alert"].to_numpy(), {f"L{level} {kind}": c[kind].to_numpy() for kind in _MUST_ALERT_CLASSES})
        shared.add(c["alerted"].to_numpy(), {f"L{level} short": c["short"].to_numpy()})
    shared.add(_alerted_l1(outcomes), {"jitter": outcomes["open_loop_alert_level_changes"].to_numpy(float)})
    if "nominal_max_slowc" in outcomes.columns:
        runs = {f"SLoWC {run}": outcomes[f"{run}_max_slowc"].to_numpy(float) for run in ("nominal", "mitigated")}
        shared.add(outcomes["nominal_lowc"].to_numpy(bool), runs)


def _alerting_rows(
    outcomes: pd.DataFrame,
    w: np.ndarray,
    rng,
    alerting_times,
    levels: dict[int, pd.DataFrame] | None = None,
    shared: _SharedResamples | None = None,
    resampled: dict[str, np.ndarray] | None = None,
) -> list[SummaryRow]:
    """DO-365 alerting performance per level, open loop, with jitter and SLoWC.

    ``levels``: `_level_classes`; ``shared`` and ``resampled``: bootstrap sums drawn already
    (`_declare_alerting`; the sums over all encounters with the levels' nuisance alerts); without them each
    estimator draws its own.
    """
    at_s, eat_s, source = alerting_times
    levels = _level_classes(outcomes, alerting_times) if levels is None else levels
    shared = _SharedResamples(w, rng, active=False) if shared is None else shared
    rows = []
    for level, level_name in alerting.ALERT_LEVEL_NAMES.items():
        at, eat = float(at_s[level - 1]), float(eat_s[level - 1])
        c = levels[level]
        must = c["must_alert"].to_numpy()
        alerted = c["alerted"].to_numpy()
        tag = f"L{level} {level_name}"
        scope = f"of {int(must.sum())} must-alert encounters (nominal LoWC after t = 0); AT {at:g} s, EAT {eat:g} s"
        window = alerting._rate(c["in_window"], w, must, rng, shared.sums(must, f"L{level} in_window"))
        verdict = "" if window is None else alerting.window_verdict(window.ci_low, window.ci_high)
        details = {
            "timely": f"AT <= lead <= EAT, {scope}",
            "late": "alerted, but less than AT before LoWC",
            "early": "alerted more than EAT before LoWC",
            "missed": "no alert at this level before LoWC",
            "in_window": f"timely or late; DO-365 alerting window {verdict} (pass mark: 95 % interval above "
            f"{alerting.WINDOW_MAJORITY:g})",
        }
        nuisance = f"L{level} nuisance"
        nuisance_sums = (
            None if resampled is None or nuisance not in resampled else [resampled[nuisance], resampled["weight"]]
        )
        rows += [
            _probability_row(
                f"{tag}: {kind.replace('_', ' ')}",
                c[kind],
                w,
                must,
                rng,
                details[kind],
                sums=shared.sums(must, f"L{level} {kind}"),
            )
            for kind in _MUST_ALERT_CLASSES
        ]
        rows += [
            _probability_row(
                f"{tag}: nuisance", c["nuisance"], w, None, rng, "alert without nominal LoWC", sums=nuisance_sums
            ),
            _probability_row(
                f"{tag}: short",
                c["short"],
                w,
                alerted,
                rng,
                f"an alert episode under {alerting.SHORT_ALERT_S:g} s, of encounters alerted at this level",
                sums=shared.sums(alerted, f"L{level} short"),
            ),
            _lead_row(tag, c, w, rng),
        ]
    rows.append(_jitter_row(outcomes, w, rng, shared))
    rows += _slowc_rows(outcomes, w, rng, shared)
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


def _alerted_l1(outcomes: pd.DataFrame) -> np.ndarray:
    """Encounters alerted open loop (at level 1 or above): those whose jitter is scored."""
    return np.isfinite(outcomes["open_loop_t_first_alert_l1_s"].to_numpy(float))


def _jitter_row(outcomes: pd.DataFrame, w: np.ndarray, rng, shared: _SharedResamples) -> SummaryRow:
    changes = outcomes["open_loop_alert_level_changes"].to_numpy(float)
    alerted = _alerted_l1(outcomes)
    e = alerting._mean(changes, w, alerted, rng, shared.sums(alerted, "jitter"))
    if e is None:
        return SummaryRow("alert jitter", None, float("nan"), float("nan"), "no alert")
    return SummaryRow(
        "alert jitter", e.mean, e.ci_low, e.ci_high, "mean number of reported-level changes per alerted encounter"
    )


def _slowc_rows(outcomes: pd.DataFrame, w: np.ndarray, rng, shared: _SharedResamples) -> list[SummaryRow]:
    if "nominal_max_slowc" not in outcomes.columns:
        return []
    lowc = outcomes["nominal_lowc"].to_numpy(bool)
    rows = []
    for run in ("nominal", "mitigated"):
        e = alerting._mean(
            outcomes[f"{run}_max_slowc"].to_numpy(float), w, lowc, rng, shared.sums(lowc, f"SLoWC {run}")
        )
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


def _class_members(classes):
    """(label, boolean mask of its encounters) of each class, in `_class_order`."""
    codes, labels = pd.factorize(np.asarray(classes, dtype=object))  # one pass over the labels, not one per class
    return [(label, codes == code) for code, label in sorted(enumerate(labels), key=lambda item: _class_order(item[1]))]


#: the names under which `_declare_classes` resamples a class's LoWC ratio parts (`risk_ratio`'s order)
_CLASS_RATIO_SUMS = tuple(f"LoWC ratio {part}" for part in RATIO_PARTS)


def _class_nuisance(outcomes: pd.DataFrame) -> np.ndarray:
    return outcomes["alerted"].to_numpy(bool) & ~outcomes["nominal_lowc"].to_numpy(bool)


def _declare_classes(shared: _SharedResamples, outcomes: pd.DataFrame, members: list) -> None:
    """What `_class_rows` resamples: per class (``members``: `_class_members`), its alert and nuisance
    rates and LoWC ratio, one set."""
    parts = _ratio_indicators(outcomes["nominal_lowc"].to_numpy(float), outcomes["mitigated_lowc"].to_numpy(float))
    values = {"alerted": outcomes["alerted"].to_numpy(float), "nuisance": _class_nuisance(outcomes)}
    values |= dict(zip(_CLASS_RATIO_SUMS, parts))
    for _, in_class in members:
        shared.add(in_class, values)


def _class_rows(
    outcomes: pd.DataFrame, w: np.ndarray, rng, classes: list, kind: str, shared: _SharedResamples | None = None
) -> list[SummaryRow]:
    """The LoWC ratio, alert and nuisance rates of each class (``classes``: `_class_members`)."""
    rows = []
    shared = _SharedResamples(w, rng, active=False) if shared is None else shared
    # each column as floats once; each class's members found once, then every column taken by index
    alerted, nuisance = outcomes["alerted"].to_numpy(float), _class_nuisance(outcomes).astype(float)
    nominal_lowc, mitigated_lowc = outcomes["nominal_lowc"].to_numpy(float), outcomes["mitigated_lowc"].to_numpy(float)
    total_weight = w.sum()
    for label, in_class in classes:
        members = np.flatnonzero(in_class)
        w_class = w.take(members)
        share = float(w_class.sum() / total_weight)
        alert = alerting._rate(alerted.take(members), w_class, None, rng, shared.sums(in_class, "alerted"))
        nuisance_rate = alerting._rate(nuisance.take(members), w_class, None, rng, shared.sums(in_class, "nuisance"))
        head = f"[{kind} {label}]"
        detail = (
            f"{share:.1%} of the weight ({members.size} encounters); alert rate {alert.probability:.3g} "
            f"({alert.ci_low:.3g} - {alert.ci_high:.3g}); nuisance {nuisance_rate.probability:.3g} "
            f"({nuisance_rate.ci_low:.3g} - {nuisance_rate.ci_high:.3g})"
        )
        try:
            r, cautions = risk_ratio_with_cautions(
                nominal_lowc.take(members),
                mitigated_lowc.take(members),
                w_class,
                rng=rng,
                resample_sums=shared.sums(in_class, *_CLASS_RATIO_SUMS, weight=False),
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
    # every estimator with an int or SeedSequence rng resamples with the same seed: those over the same
    # encounters share a pass (`_SharedResamples`: one per distinct set, all of them included)
    shared = _SharedResamples(w, rng, active=_SHARE_PASSES and not isinstance(rng, np.random.Generator))
    levels = None
    if alerting_times is not None and alerting.has_alerting_columns(outcomes):
        levels = _level_classes(outcomes, alerting_times)
        _declare_alerting(shared, outcomes, levels)
    # the other rates over all encounters join the pass over all of them
    extra = {"starts inside WC": _starts_inside(outcomes)} if "nominal_t_lowc_s" in outcomes.columns else {}
    extra |= {f"L{level} nuisance": c["nuisance"].to_numpy() for level, c in (levels or {}).items()}
    everyone = np.ones(w.shape[0], dtype=bool)
    all_events = _all_encounter_events(outcomes, extra)
    # over all encounters, as one set: values over a subset that is every encounter (e.g. SLoWC when
    # every encounter has a nominal LoWC) join this pass
    shared.add(everyone, all_events)
    classifications = []
    if metadata is not None and len(metadata) == len(outcomes):
        if "int_heading_tcpa_rad" in metadata.columns:  # the ownship heads north at tCPA by construction
            geometry = alerting.geometry_class(metadata["int_heading_tcpa_rad"].to_numpy(float))
            classifications.append((_class_members(geometry), "geometry"))
        if layer_edges_ft is not None and "int_alt_tcpa_ft" in metadata.columns:
            layers = alerting.intruder_layer(metadata["int_alt_tcpa_ft"].to_numpy(float), layer_edges_ft)
            classifications.append((_class_members(layers), "intruder layer"))
    for members, _ in classifications:
        _declare_classes(shared, outcomes, members)
    shared.draw()
    if shared.active:
        drawn = shared.sums(everyone, *all_events)
        resampled = None if drawn is None else _named_resampled(all_events, drawn[:-1], drawn[-1])
    else:
        resampled = _resampled(outcomes, w, rng)
    rows = _probability_rows(outcomes, w, rng, resampled, regions_ft) + _ratio_rows(outcomes, w, rng, resampled)
    if levels is not None:
        rows += _alerting_rows(outcomes, w, rng, alerting_times, levels, shared, resampled)
    for members, kind in classifications:
        rows += _class_rows(outcomes, w, rng, members, kind, shared)
    return rows
