"""Weighted estimators over encounter sets (decisions.md section 6, daa-reference 4).

For an event indicator x (NMAC, LoWC, alert) and importance weights w:

- P = sum(w x) / sum(w), analytic sd = sqrt(sum((w (x - P))^2)) / sum(w);
- paired nominal/mitigated outcomes: ratio = P_mit / P_nom; induced = sum(w max(0, x_mit - x_nom))
  / sum(w) / P_nom; resolved = sum(w max(0, x_nom - x_mit)) / sum(w) / P_nom; so
  ratio = 1 - resolved + induced; analytic sd of the ratio = sqrt(sum((w (x_mit - P_mit))^2)) /
  sum(w) / P_nom (P_nom held fixed, as DEGAS does);
- bootstrap: encounters resampled with replacement (an encounter's nominal and mitigated outcomes
  stay together), statistic sum(w x_mit) / sum(w x_nom); bias-corrected percentile interval by
  default (DEGAS / MATLAB 'cper'), plain percentile and BCa on request; 95 %, 1,000 seeded resamples.

With no nominal event the ratio is refused, with the Kish effective sample size and what it implies.

No interval of width zero on thin evidence (issue 16): with no event the interval is [0, the one-sided
upper bound 1 - (1 - confidence)^(1 / N_eff)] (N_eff the Kish effective sample size of the weights);
with fewer than `MIN_EVENTS` events a caution is attached and the Clopper-Pearson interval with
n = N_eff and x = P * N_eff replaces the bootstrap interval when it is wider. The same holds for the
complement (every encounter an event). A ratio's bound is the bound of P_mit (or of the induced or
resolved part) divided by P_nom held fixed, as the analytic sd does (decisions.md section 6).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

# the beta quantile straight from scipy.special (scipy.stats.beta.ppf calls the same function, bit for
# bit): importing scipy.stats costs every run about half a second of start-up for this one quantile
from scipy.special import betaincinv, ndtr, ndtri

BOOTSTRAP_METHODS = ("bc", "percentile", "bca")


#: below this many nominal events a ratio's bootstrap interval is not to be trusted (it can collapse
#: to a point: resamples either repeat the few events or drop them)
MIN_NOMINAL_EVENTS = 10
#: below this many events (or non-events) a probability's bootstrap interval is thin evidence: the
#: Clopper-Pearson interval on N_eff replaces it when wider, and a caution says so
MIN_EVENTS = MIN_NOMINAL_EVENTS


def zero_event_upper_bound(n_eff: float, confidence: float = 0.95) -> float:
    """One-sided upper bound of a probability when no event was seen in N_eff (effective) trials.

    1 - (1 - confidence)^(1 / N_eff): the p at which seeing no event has probability 1 - confidence
    (the "rule of three", 3 / N_eff, for large N_eff).

    Examples
    --------
    >>> round(zero_event_upper_bound(100.0), 6)
    0.029513
    """
    if n_eff <= 0:
        return 1.0
    return float(1.0 - (1.0 - confidence) ** (1.0 / n_eff))


def clopper_pearson(x: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact binomial) interval for x events in n trials; x and n may be fractional.

    With effective counts (x = P * N_eff, n = N_eff) the beta quantiles still apply, so weighted
    estimates get the exact interval of a binomial sample worth as much.

    Examples
    --------
    >>> low, high = clopper_pearson(1, 10)
    >>> round(low, 4), round(high, 4)
    (0.0025, 0.445)
    """
    alpha = 1.0 - confidence
    low = 0.0 if x <= 0 else float(betaincinv(x, n - x + 1, alpha / 2))
    high = 1.0 if x >= n else float(betaincinv(x + 1, n - x, 1 - alpha / 2))
    return low, high


def thin_evidence_interval(
    p: float,
    events: int,
    non_events: int,
    n_eff: float,
    confidence: float,
    low: float,
    high: float,
    *,
    thin: bool = False,
) -> tuple[float, float, list[str]]:
    """The interval to report for a probability p: the bootstrap's [low, high] unless evidence is thin.

    No event: [0, `zero_event_upper_bound`]; every encounter an event: [1 - that bound, 1]. Fewer than
    `MIN_EVENTS` events (or non-events), or ``thin`` (a ratio with few nominal events): the
    Clopper-Pearson interval on (P N_eff, N_eff) when it is wider than the bootstrap's. Returns the
    interval and the cautions to print beside it.
    """
    notes = []
    if events == 0:
        bound = zero_event_upper_bound(n_eff, confidence)
        return 0.0, bound, [f"no event: one-sided {confidence:.0%} upper bound {bound:.3g} (N_eff {n_eff:.0f})"]
    if non_events == 0:
        bound = zero_event_upper_bound(n_eff, confidence)
        return 1.0 - bound, 1.0, [f"every encounter an event: one-sided {confidence:.0%} lower bound {1 - bound:.3g}"]
    if thin or min(events, non_events) < MIN_EVENTS:
        cp_low, cp_high = clopper_pearson(p * n_eff, n_eff, confidence)
        which = "event" if events <= non_events else "non-event"
        count = min(events, non_events)
        if not (np.isfinite(low) and np.isfinite(high)) or cp_high - cp_low > high - low:
            low, high = cp_low, cp_high
            notes.append(
                f"{count} {which}(s): Clopper-Pearson interval on N_eff {n_eff:.0f}, wider than the bootstrap's"
            )
        elif not thin:
            notes.append(f"only {count} {which}(s): the interval rests on thin evidence")
    return low, high, notes


class EstimatorWarning(UserWarning):
    """An estimate that should not be trusted as it stands (wide interval, ratio >= 1, ...)."""


def kish_effective_size(weights: np.ndarray) -> float:
    """(sum w)^2 / sum(w^2): the number of equally weighted encounters worth as much."""
    weights = np.asarray(weights, dtype=np.float64)
    return float(weights.sum() ** 2 / np.sum(weights**2)) if weights.size else 0.0


def _check(x: np.ndarray, w: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64).ravel()
    w = np.asarray(w, dtype=np.float64).ravel()
    if x.shape != w.shape:
        raise ValueError(f"{name}: {x.shape[0]} outcomes but {w.shape[0]} weights")
    if x.size == 0:
        raise ValueError(f"{name}: no encounters")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"{name}: weights must be finite, non-negative and not all zero")
    if not np.all((x == 0) | (x == 1)):
        raise ValueError(f"{name}: outcomes must be 0 or 1 (event indicators)")
    return x, w


@dataclass(frozen=True)
class ProbabilityEstimate:
    """Weighted probability of an event with its analytic sd and bootstrap interval."""

    probability: float
    sd: float
    ci_low: float
    ci_high: float
    confidence: float
    method: str
    n: int
    n_eff: float
    events: int
    #: cautions (thin evidence: no event, few events and the Clopper-Pearson interval)
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return (
            f"{self.probability:.4g} (sd {self.sd:.2g}, {self.confidence:.0%} CI {self.ci_low:.4g}-{self.ci_high:.4g}, "
            f"{self.events} events in {self.n} encounters, N_eff {self.n_eff:.0f})"
        )


@dataclass(frozen=True)
class RatioEstimate:
    """Paired nominal/mitigated estimate: ratio, its induced and resolved parts, sd and interval."""

    p_nominal: float
    p_mitigated: float
    ratio: float
    induced: float
    resolved: float
    sd: float
    ci_low: float
    ci_high: float
    confidence: float
    method: str
    n: int
    n_eff: float
    nominal_events: int
    mitigated_events: int
    #: intervals of the parts, from the same bootstrap resamples as the ratio's
    induced_ci_low: float = float("nan")
    induced_ci_high: float = float("nan")
    resolved_ci_low: float = float("nan")
    resolved_ci_high: float = float("nan")

    def __str__(self) -> str:
        return (
            f"ratio {self.ratio:.4g} (sd {self.sd:.2g}, "
            f"{self.confidence:.0%} CI {self.ci_low:.4g}-{self.ci_high:.4g}); "
            f"induced {self.induced:.4g} ({self.induced_ci_low:.4g}-{self.induced_ci_high:.4g}), "
            f"resolved {self.resolved:.4g} ({self.resolved_ci_low:.4g}-{self.resolved_ci_high:.4g}); "
            f"P_nom {self.p_nominal:.4g}, P_mit {self.p_mitigated:.4g}"
        )


def _bootstrap_sums(values: list[np.ndarray], n_boot: int, rng) -> list[np.ndarray]:
    """Sums of each array over ``n_boot`` resamples of the encounters (the same resamples for all).

    Resample b draws from the Philox stream (seed, b), so the interval is reproducible from the
    seed and independent of the number of threads (Numba kernel `_bootstrap.bootstrap_row_sums`).
    """
    from ..random import seed_to_uint64
    from ._bootstrap import resample_row_sums

    return resample_row_sums(values, n_boot, seed_to_uint64(rng))


def _given_or_drawn(resample_sums, values: list[np.ndarray], n_boot: int, rng) -> list[np.ndarray]:
    """``resample_sums`` (one sum per resample for each of ``values``, e.g. all of a summary's from one
    pass of `_bootstrap.resample_indicator_sums`) if given, else `_bootstrap_sums` of ``values``."""
    if resample_sums is None:
        return _bootstrap_sums(values, n_boot, rng)
    sums = [np.asarray(column, dtype=np.float64) for column in resample_sums]
    if len(sums) != len(values) or any(column.shape != (n_boot,) for column in sums):
        raise ValueError(f"resample_sums: expected {len(values)} arrays of {n_boot} sums (n_boot)")
    return sums


def _interval(
    stat: float, boot: np.ndarray, confidence: float, method: str, jackknife: np.ndarray | None
) -> tuple[float, float]:
    alpha = 1.0 - confidence
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return float("nan"), float("nan")
    if method == "percentile":
        levels = np.array([alpha / 2, 1 - alpha / 2])
    else:
        # bias correction: MATLAB bootci's z0 (ties count half)
        z0 = ndtri(np.clip(np.mean(boot < stat) + np.mean(boot == stat) / 2, 1e-12, 1 - 1e-12))
        z = ndtri(np.array([alpha / 2, 1 - alpha / 2]))
        acceleration = 0.0
        if method == "bca":
            deviations = jackknife.mean() - jackknife
            denominator = 6.0 * np.sum(deviations**2) ** 1.5
            acceleration = float(np.sum(deviations**3) / denominator) if denominator > 0 else 0.0
        levels = ndtr(z0 + (z0 + z) / (1 - acceleration * (z0 + z)))
    low, high = np.quantile(boot, levels)
    return float(low), float(high)


def _check_method(method: str, confidence: float, n_boot: int) -> None:
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"method={method!r}; expected one of {BOOTSTRAP_METHODS}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_boot < 10:
        raise ValueError(f"n_boot must be at least 10, got {n_boot}")


def weighted_probability(
    x, w, *, confidence: float = 0.95, n_boot: int = 1000, rng=0, method: str = "bc", resample_sums=None
) -> ProbabilityEstimate:
    """Weighted probability of an event, analytic sd and bootstrap interval.

    ``resample_sums``: optional precomputed bootstrap sums (of w x and of w) over ``n_boot``
    resamples, used instead of drawing them with ``rng``.

    Examples
    --------
    >>> weighted_probability([1, 0, 0, 1], [1, 1, 2, 4]).probability
    0.625
    """
    x, w = _check(x, w, "weighted_probability")
    _check_method(method, confidence, n_boot)
    total = w.sum()
    p = float(np.sum(w * x) / total)
    sd = float(np.sqrt(np.sum((w * (x - p)) ** 2)) / total)
    numerator, denominator = _given_or_drawn(resample_sums, [w * x, w], n_boot, rng)
    jackknife = (np.sum(w * x) - w * x) / (total - w) if method == "bca" else None
    low, high = _interval(p, numerator / denominator, confidence, method, jackknife)
    n_eff = kish_effective_size(w)
    events = int(np.count_nonzero(x[w > 0]))
    non_events = int(np.count_nonzero(x[w > 0] == 0))
    low, high, notes = thin_evidence_interval(p, events, non_events, n_eff, confidence, low, high)
    return ProbabilityEstimate(p, sd, low, high, confidence, method, x.size, n_eff, int(x.sum()), tuple(notes))


@dataclass(frozen=True)
class MeanEstimate:
    """Weighted mean of a per-encounter quantity with its analytic sd and bootstrap interval."""

    mean: float
    sd: float
    ci_low: float
    ci_high: float
    confidence: float
    n: int
    n_eff: float


def weighted_mean(x, w, *, confidence: float = 0.95, n_boot: int = 1000, rng=0, resample_sums=None) -> MeanEstimate:
    """Weighted mean sum(w x) / sum(w), sd sqrt(sum((w (x - mean))^2)) / sum(w), bias-corrected bootstrap.

    ``resample_sums``: optional precomputed bootstrap sums (of w x and of w) over ``n_boot``
    resamples, used instead of drawing them with ``rng``.

    Examples
    --------
    >>> weighted_mean([0.0, 2.0, 4.0], [1.0, 1.0, 2.0]).mean
    2.5
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    w = np.asarray(w, dtype=np.float64).ravel()
    if x.shape != w.shape or x.size == 0:
        raise ValueError(f"weighted_mean: {x.size} values and {w.size} weights (need as many, at least one)")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(w))) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weighted_mean: values must be finite, weights finite, non-negative and not all zero")
    _check_method("bc", confidence, n_boot)
    total = w.sum()
    mean = float(np.sum(w * x) / total)
    sd = float(np.sqrt(np.sum((w * (x - mean)) ** 2)) / total)
    numerator, denominator = _given_or_drawn(resample_sums, [w * x, w], n_boot, rng)
    low, high = _interval(mean, numerator / denominator, confidence, "bc", None)
    return MeanEstimate(mean, sd, low, high, confidence, x.size, kish_effective_size(w))


def risk_ratio(
    x_nominal,
    x_mitigated,
    w,
    *,
    confidence: float = 0.95,
    n_boot: int = 1000,
    rng=0,
    method: str = "bc",
    resample_sums=None,
) -> RatioEstimate:
    """Ratio of mitigated to nominal event probability over paired outcomes, with its parts.

    ``resample_sums``: optional precomputed bootstrap sums (of w x_mit, w induced, w resolved and
    w x_nom) over ``n_boot`` resamples, used instead of drawing them with ``rng``.

    Raises
    ------
    ValueError
        When no nominal event occurred (the ratio is undefined): the message gives N_eff and the
        bound P_nom < 3 / N_eff (95 %) and how many encounters ten nominal events would need.

    Examples
    --------
    >>> r = risk_ratio([1, 1, 1, 0, 0], [0, 1, 0, 1, 0], [1, 1, 2, 2, 4])
    >>> round(r.ratio, 12), round(r.induced, 12), round(r.resolved, 12)
    (0.75, 0.5, 0.75)
    """
    x_nom, w = _check(x_nominal, w, "risk_ratio (nominal)")
    x_mit, _ = _check(x_mitigated, w, "risk_ratio (mitigated)")
    _check_method(method, confidence, n_boot)
    total = w.sum()
    n_eff = kish_effective_size(w)
    p_nom = float(np.sum(w * x_nom) / total)
    if p_nom == 0:
        raise ValueError(
            f"no nominal event in {x_nom.size} encounters (N_eff {n_eff:.0f}): the ratio is undefined. "
            f"P_nom < {min(1.0, 3 / n_eff):.3g} (95 %); about 10 / P_nom encounters, at least {3.3 * n_eff:.0f}, "
            "are needed for ten nominal events"
        )
    p_mit = float(np.sum(w * x_mit) / total)
    parts = _ratio_indicators(x_nom, x_mit)
    w_induced = w * parts[1]  # events the mitigation added
    w_resolved = w * parts[2]  # events it removed
    induced = float(np.sum(w_induced) / total / p_nom)
    resolved = float(np.sum(w_resolved) / total / p_nom)
    ratio = p_mit / p_nom
    sd = float(np.sqrt(np.sum((w * (x_mit - p_mit)) ** 2)) / total / p_nom)
    # one set of resamples for the ratio and its parts: each is (weighted events) / (weighted nominal events)
    sums = _given_or_drawn(resample_sums, [w * parts[0], w_induced, w_resolved, w * parts[3]], n_boot, rng)
    (low, high), (induced_low, induced_high), (resolved_low, resolved_high) = (
        _ratio_interval(stat, numerator, sums[-1], w * x_nom, weighted, confidence, method)
        for stat, numerator, weighted in (
            (ratio, sums[0], w * x_mit),
            (induced, sums[1], w_induced),
            (resolved, sums[2], w_resolved),
        )
    )
    thin = []
    few_nominal = int(np.count_nonzero(x_nom[w > 0])) < MIN_NOMINAL_EVENTS
    for part, (stat, weighted, (lo, hi)) in {
        "ratio": (ratio, w * x_mit, (low, high)),
        "induced": (induced, w_induced, (induced_low, induced_high)),
        "resolved": (resolved, w_resolved, (resolved_low, resolved_high)),
    }.items():
        lo, hi, notes = _thin_ratio_interval(stat * p_nom, weighted, w, n_eff, p_nom, confidence, lo, hi, few_nominal)
        if part == "ratio":
            low, high = lo, hi
            thin += notes
        elif part == "induced":
            induced_low, induced_high = lo, hi
        else:
            resolved_low, resolved_high = lo, hi
    for note in thin:
        warnings.warn(f"mitigated events: {note}", EstimatorWarning, stacklevel=2)
    if ratio >= 1:
        warnings.warn(
            f"ratio {ratio:.3g} >= 1: the system does not reduce the event rate", EstimatorWarning, stacklevel=2
        )
    nominal_events = int(np.count_nonzero(x_nom))
    if nominal_events < MIN_NOMINAL_EVENTS:
        warnings.warn(
            f"only {nominal_events} nominal event(s): the bootstrap interval understates the uncertainty; "
            f"about {math.ceil(x_nom.size * MIN_NOMINAL_EVENTS / nominal_events)} encounters would give "
            f"{MIN_NOMINAL_EVENTS}",
            EstimatorWarning,
            stacklevel=2,
        )
    if np.isfinite(low) and max(ratio - low, high - ratio) > 0.5 * ratio:
        warnings.warn(
            f"interval {low:.3g}-{high:.3g} is wider than half the ratio {ratio:.3g}: more encounters needed",
            EstimatorWarning,
            stacklevel=2,
        )
    return RatioEstimate(
        p_nom,
        p_mit,
        ratio,
        induced,
        resolved,
        sd,
        low,
        high,
        confidence,
        method,
        x_nom.size,
        n_eff,
        int(x_nom.sum()),
        int(x_mit.sum()),
        induced_low,
        induced_high,
        resolved_low,
        resolved_high,
    )


def _ratio_indicators(x_nominal: np.ndarray, x_mitigated: np.ndarray) -> list[np.ndarray]:
    """The per-encounter values whose weighted sums `risk_ratio` resamples, in its ``resample_sums`` order.

    Mitigated event, induced (mitigated without nominal), resolved (nominal without mitigated) and
    nominal event, as 0.0 / 1.0 floats: w times each is what `risk_ratio` sums, so sums drawn
    elsewhere over the same encounters and seed (several estimators in one pass) are its own.
    """
    return [
        x_mitigated,
        np.maximum(0.0, x_mitigated - x_nominal),
        np.maximum(0.0, x_nominal - x_mitigated),
        x_nominal,
    ]


def _thin_ratio_interval(p_part, weighted, w, n_eff, p_nom, confidence, low, high, few_nominal):
    """A ratio's interval on thin evidence: the probability's bound divided by P_nom held fixed."""
    events = int(np.count_nonzero(weighted[w > 0]))
    non_events = int(np.count_nonzero(weighted[w > 0] == 0))
    if events >= MIN_EVENTS and non_events >= MIN_EVENTS and not few_nominal:
        return low, high, []
    scaled = (low * p_nom, high * p_nom) if np.isfinite(low) and np.isfinite(high) else (np.nan, np.nan)
    p_low, p_high, notes = thin_evidence_interval(
        p_part, events, non_events, n_eff, confidence, *scaled, thin=few_nominal
    )
    return p_low / p_nom, p_high / p_nom, notes


def _ratio_interval(stat, numerator_sums, nominal_sums, weighted_nominal, weighted_numerator, confidence, method):
    """Interval of (sum of weighted_numerator) / (sum of weighted_nominal) from bootstrap sums."""
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = numerator_sums / nominal_sums
    jackknife = None
    if method == "bca":
        with np.errstate(divide="ignore", invalid="ignore"):
            jackknife = (weighted_numerator.sum() - weighted_numerator) / (weighted_nominal.sum() - weighted_nominal)
        jackknife = jackknife[np.isfinite(jackknife)]
    return _interval(stat, boot, confidence, method, jackknife)


def risk_ratio_with_cautions(x_nominal, x_mitigated, w, **options) -> tuple[RatioEstimate, list[str]]:
    """`risk_ratio`, with its cautions (ratio >= 1, wide interval) returned as text instead of warned.

    For summaries and reports, which print each caution beside its ratio. Other warnings pass on.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EstimatorWarning)
        estimate = risk_ratio(x_nominal, x_mitigated, w, **options)
    cautions = []
    for item in caught:
        if issubclass(item.category, EstimatorWarning):
            cautions.append(str(item.message))
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    return estimate, cautions
