"""DO-365 alerting performance per alert level, severity of loss of well clear, encounter classes.

Definitions (docs/encounters.md, "Alerting performance"), for alert level k = 1 (preventive),
2 (corrective), 3 (warning) with alerting time AT_k and early alerting time EAT_k of the logic's
configuration (DO-365B Phase I: 55 / 55 / 25 s and 75 / 75 / 55 s), scored **open loop** (the logic
called on the nominal run, nobody responding: DO-365 scores alerting against the unmitigated
encounter) and against the nominal run's time of loss of well clear t_LoWC:

- *must alert*: a nominal LoWC after the start (an encounter that starts inside the volume
  cannot be alerted in time and is counted apart);
- lead = t_LoWC - (first decision at reported level >= k); the four classes partition the must-alert
  encounters: *early* lead > EAT_k, *timely* AT_k <= lead <= EAT_k, *late* 0 < lead < AT_k,
  *missed* no alert at level >= k before t_LoWC;
- *in the alerting window*: timely or late (alerted before LoWC, not earlier than EAT_k);
- *nuisance*: an alert at level >= k in an encounter without nominal LoWC (over all encounters);
- *short*: an alert episode at level >= k shorter than 4 s (over encounters alerted at level >= k);
- *jitter*: the number of changes of the reported level (weighted mean over alerted encounters).

Encounter classes: geometry at the designed closest approach by the intruder's heading relative to
the ownship's, |dpsi| >= 135 deg head-on, |dpsi| <= 45 deg overtaking, crossing between; intruder
altitude layer by its altitude at tCPA (ft AGL) in the layer table of the scenario.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .estimators import weighted_mean, weighted_probability

__all__ = [
    "ALERT_LEVEL_NAMES",
    "GEOMETRY_CUTOFFS_DEG",
    "SHORT_ALERT_S",
    "WINDOW_MAJORITY",
    "alert_classes",
    "geometry_class",
    "intruder_layer",
    "weighted_quantiles",
]

#: DO-365 alert levels scored (1-based)
ALERT_LEVEL_NAMES = {1: "preventive", 2: "corrective", 3: "warning"}
#: an alert episode shorter than this is "short" (DO-365's 4 s minimum alert duration)
SHORT_ALERT_S = 4.0
#: |relative heading| at or below the first is overtaking, at or above the second head-on (deg)
GEOMETRY_CUTOFFS_DEG = (45.0, 135.0)
#: encsim's pass mark for the alerting window: a majority of must-alert encounters alerted inside it,
#: judged on the 95 % interval (DO-365's own probability requirements are not public)
WINDOW_MAJORITY = 0.5


def alert_classes(
    outcomes: pd.DataFrame, level: int, alerting_s: float, early_s: float, prefix: str = "open_loop_"
) -> pd.DataFrame:
    """Per-encounter indicators of the alerting classes at ``level`` (see the module docstring).

    Columns: must_alert, starts_inside, early, timely, late, missed, in_window, nuisance, alerted,
    short, lead_s (NaN without an alert at the level or without nominal LoWC).
    """
    t_lowc = outcomes["nominal_t_lowc_s"].to_numpy(float)
    lowc = outcomes["nominal_lowc"].to_numpy(bool)
    t_first = outcomes[f"{prefix}t_first_alert_l{level}_s"].to_numpy(float)
    shortest = outcomes[f"{prefix}min_alert_episode_l{level}_s"].to_numpy(float)
    alerted = np.isfinite(t_first)
    starts_inside = lowc & (t_lowc <= 0.0)
    must_alert = lowc & ~starts_inside
    lead = np.where(must_alert & alerted, t_lowc - t_first, np.nan)
    before = must_alert & alerted & (lead > 0.0)
    with np.errstate(invalid="ignore"):
        early = before & (lead > early_s)
        timely = before & (lead >= alerting_s) & (lead <= early_s)
        late = before & (lead < alerting_s)
    return pd.DataFrame(
        {
            "must_alert": must_alert,
            "starts_inside": starts_inside,
            "early": early,
            "timely": timely,
            "late": late,
            "missed": must_alert & ~before,
            "in_window": timely | late,
            "nuisance": alerted & ~lowc,
            "alerted": alerted,
            "short": alerted & (shortest < SHORT_ALERT_S),
            "lead_s": lead,
        }
    )


def geometry_class(relative_heading_rad) -> np.ndarray:
    """'head-on', 'crossing' or 'overtaking' by |relative heading| (`GEOMETRY_CUTOFFS_DEG`)."""
    angle = np.abs(np.degrees(np.angle(np.exp(1j * np.asarray(relative_heading_rad, dtype=float)))))
    overtaking, head_on = GEOMETRY_CUTOFFS_DEG
    return np.where(angle >= head_on, "head-on", np.where(angle <= overtaking, "overtaking", "crossing"))


def intruder_layer(alt_ft, edges_ft) -> np.ndarray:
    """Label 'lo-hi ft' of the layer holding each altitude (ft AGL); outside the table 'below lo ft' / 'above hi ft'."""
    edges = np.asarray(edges_ft, dtype=float)
    alt = np.asarray(alt_ft, dtype=float)
    index = np.searchsorted(edges, alt, side="right") - 1
    labels = [f"{edges[k]:g}-{edges[k + 1]:g} ft" for k in range(edges.size - 1)] + [f"above {edges[-1]:g} ft"]
    labels = np.array(labels, dtype=object)
    out = np.where(index < 0, f"below {edges[0]:g} ft", labels[np.clip(index, 0, edges.size - 1)])
    return np.where(alt == edges[-1], labels[edges.size - 2], out)  # the top edge belongs to the top layer


def weighted_quantiles(values, weights, quantiles) -> np.ndarray:
    """Weighted quantiles: the smallest value whose cumulative weight reaches q of the total.

    Examples
    --------
    >>> weighted_quantiles([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], [0.25, 0.5, 0.75]).tolist()
    [1.0, 2.0, 3.0]
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    order = np.argsort(values, kind="stable")
    return _quantiles_of_sorted(values[order], weights[order], quantiles)


def _quantiles_of_sorted(values: np.ndarray, weights: np.ndarray, quantiles) -> np.ndarray:
    """`weighted_quantiles` of values already in its order (ascending, ties in their given order)."""
    cumulative = np.cumsum(weights)
    targets = np.asarray(quantiles, dtype=float) * cumulative[-1]
    index = np.searchsorted(cumulative, targets - 1e-12 * cumulative[-1], side="left")
    return values[np.clip(index, 0, values.size - 1)]


def _rate(indicator, w, subset=None, rng=0, resample_sums=None):
    """Weighted probability of ``indicator`` among ``subset`` (all when None); None if the subset is empty.

    ``resample_sums``: the bootstrap sums of w x and w over the subset, if drawn already (see
    `weighted_probability`).
    """
    indicator = np.asarray(indicator, dtype=float)
    if subset is not None:
        subset = np.asarray(subset, dtype=bool)
        indicator, w = indicator[subset], w[subset]
    if indicator.size == 0 or w.sum() <= 0:
        return None
    return weighted_probability(indicator, w, rng=rng, resample_sums=resample_sums)


def _mean(values, w, subset, rng=0, resample_sums=None):
    subset = np.asarray(subset, dtype=bool)
    if not subset.any() or w[subset].sum() <= 0:
        return None
    return weighted_mean(np.asarray(values, dtype=float)[subset], w[subset], rng=rng, resample_sums=resample_sums)


def _median_interval(values, w, confidence=0.95, n_boot=400, rng=0) -> tuple[float, float, float]:
    """Weighted median with a percentile bootstrap interval (resamples from numpy's Philox, seeded).

    Each resample's median is `weighted_quantiles` of the picked values and weights: it sorts the
    picks by the values' ranks among the distinct values (small integers: a linear radix sort)
    instead of by the values, stably, which puts them in the same order (equal values, equal ranks).
    """
    values = np.asarray(values, dtype=float)
    w = np.asarray(w, dtype=float)
    median = float(weighted_quantiles(values, w, [0.5])[0])
    generator = np.random.Generator(np.random.Philox(key=int(rng)))
    distinct, ranks = np.unique(values, return_inverse=True)
    ranks = ranks.ravel().astype(np.uint16 if distinct.size <= 2**16 else np.int64)
    boot = np.empty(n_boot)
    for b in range(n_boot):
        pick = generator.integers(0, values.size, values.size)
        pick = pick[np.argsort(ranks[pick], kind="stable")]
        boot[b] = _quantiles_of_sorted(values[pick], w[pick], [0.5])[0]
    alpha = 1.0 - confidence
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return median, float(low), float(high)


def window_verdict(low: float, high: float) -> str:
    """'meets' when the interval lies at or above `WINDOW_MAJORITY`, 'does not meet' when below it."""
    if low >= WINDOW_MAJORITY:
        return "meets"
    if high < WINDOW_MAJORITY:
        return "does not meet"
    return "undecided (more encounters needed)"


def has_alerting_columns(outcomes: pd.DataFrame, prefix: str = "open_loop_") -> bool:
    return all(f"{prefix}t_first_alert_l{k}_s" in outcomes.columns for k in ALERT_LEVEL_NAMES)


def _finite(x) -> bool:
    return x is not None and math.isfinite(x)
