"""The counting round trip: tracks sampled from a model, counted back, tested column by column.

`sample_bins` turns a `TrackSample` into 1-s bins (vectorised, no Python loop over rows), which
`ModelCounter.add_bins` counts. The expected law is computed independently of the sampler:

- transition columns: the model's own column (the sampler draws each (t+1) variable from it; with
  ``empty_column="hold"`` no track is conditioned away, so the law of a non-empty column is exact);
- initial network, counted from each track's first second: the model's initial joint conditioned
  on the sampler's initial acceptance rule (airspeed x 1.68781 > |vertical rate| / 60), computed
  exactly over the full joint of the initial variables (`first_second_law`).

`column_tests` runs one chi-square test per column with at least ``min_count`` counts (cells with
expected count below 5 pooled into one), and `holm` applies Holm's step-down correction.
"""

from __future__ import annotations

import string

import numpy as np
import pandas as pd
from scipy import stats

from ..bayes import EncounterModel
from ..sampling.sampler import bin_column_name, column_name
from ..units import FPM_PER_FPS, SPEED_RULE_FPS_PER_KT
from .counting import discretise


def sample_bins(sample, model: EncounterModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(track index, second, 0-based bins of every initial variable) for each track-second."""
    n, duration = sample.n_tracks, sample.duration_s
    offsets = sample.schedule.offsets
    seconds = np.rint(sample.schedule.t_s).astype(np.int64)
    ends = np.empty_like(seconds)
    ends[:-1] = seconds[1:]
    ends[offsets[1:] - 1] = duration
    lengths = ends - seconds
    bins = np.zeros((n * duration, model.n_variables), dtype=np.int16, order="F")  # column writes are contiguous
    for k, role in enumerate(("hdot", "psidot", "vdot")):
        if role in model.roles:
            bins[:, model.roles[role]] = np.repeat(sample.schedule_bins[:, k].astype(np.int16) - 1, lengths)
    dynamic = {model.roles.get(role) for role in ("hdot", "psidot", "vdot")}
    for i in range(model.n_variables):
        if i in dynamic:
            continue
        if bin_column_name(model, i) in sample.initial.columns:  # categorical, and L: 1-based bins
            static = sample.initial[bin_column_name(model, i)].to_numpy().astype(np.int64) - 1
        else:  # a continuous static variable (airspeed): its initial value, uniform inside its bin
            static, _ = discretise(sample.initial[column_name(model, i)].to_numpy(), model.boundaries[i])
        bins[:, i] = np.repeat(static, duration)
    track = np.repeat(np.arange(n), duration)
    second = np.tile(np.arange(duration), n)
    return track, second, bins


def _acceptance(model: EncounterModel) -> np.ndarray | None:
    """P(initial acceptance | v bin, hdot bin), (r_v, r_hdot), or None without the rule."""
    if not {"v", "hdot"} <= set(model.roles):
        return None
    v_edges = model.bin_edges("v")
    h_edges = model.bin_edges("hdot")
    h_zero = model.zero_bins[model.roles["hdot"]]
    out = np.ones((v_edges.shape[0] - 1, h_edges.shape[0] - 1))
    grid = (np.arange(200_000) + 0.5) / 200_000  # midpoint rule in the vertical-rate bin
    for b in range(h_edges.shape[0] - 1):
        if b == h_zero:
            continue  # value exactly 0: accepted whenever the speed is > 0
        rate_fpm = np.abs(h_edges[b] + grid * (h_edges[b + 1] - h_edges[b]))
        threshold_kt = rate_fpm / FPM_PER_FPS / SPEED_RULE_FPS_PER_KT
        for a in range(v_edges.shape[0] - 1):
            lo, hi = v_edges[a], v_edges[a + 1]
            out[a, b] = np.mean(np.clip((hi - threshold_kt) / (hi - lo), 0.0, 1.0))
    return out


def first_second_law(model: EncounterModel) -> np.ndarray:
    """Exact joint law of a sampled track's first second (all initial variables, one axis each)."""
    letters = string.ascii_letters
    operands, subscripts = [], []
    for i in range(model.n_variables):
        operands.append(model.cpt_factor(i))
        subscripts.append("".join(letters[k] for k in [i, *(int(p) for p in model.parents(i))]))
    acceptance = _acceptance(model)
    if acceptance is not None:
        operands.append(acceptance)
        subscripts.append(letters[model.roles["v"]] + letters[model.roles["hdot"]])
    output = "".join(letters[i] for i in range(model.n_variables))
    joint = np.einsum(",".join(subscripts) + "->" + output, *operands, optimize="greedy")
    return joint / joint.sum()


def expected_initial_columns(model: EncounterModel, joint: np.ndarray, i: int) -> np.ndarray:
    """P(variable i | its parents) under ``joint``, as an (r_i, q_i) table (first parent fastest)."""
    parents = [int(p) for p in model.parents(i)]
    keep = [i, *parents]
    marginal = joint.sum(axis=tuple(k for k in range(joint.ndim) if k not in keep))
    order = [sorted(keep).index(k) for k in keep]  # axes (i, p1, ..., pk)
    marginal = np.transpose(marginal, order)
    table = marginal.reshape(marginal.shape[0], -1, order="F")
    totals = table.sum(axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, table / totals, 0.0)


def chi_square_column(observed: np.ndarray, probabilities: np.ndarray) -> tuple[float, int, float]:
    """Chi-square goodness of fit of one column of counts.

    The cells with the smallest expected counts are pooled, smallest first, until the pool
    expects at least 5 (the usual validity rule of the chi-square approximation). A count where
    the probability is 0 makes the p-value 0.
    """
    total = observed.sum()
    if np.any(observed[probabilities == 0] > 0):
        return np.inf, 0, 0.0
    possible = probabilities > 0
    expected = probabilities[possible] * total
    counts = observed[possible]
    order = np.argsort(expected, kind="stable")
    cumulative = np.cumsum(expected[order])
    pooled = int(np.searchsorted(cumulative, 5.0)) + 1 if expected.min() < 5 else 0
    pooled = min(pooled, expected.shape[0])
    obs = np.r_[counts[order[:pooled]].sum(), counts[order[pooled:]]] if pooled else counts
    exp = np.r_[expected[order[:pooled]].sum(), expected[order[pooled:]]] if pooled else expected
    if obs.shape[0] < 2:
        return 0.0, 0, 1.0
    statistic = float(((obs - exp) ** 2 / exp).sum())
    dof = obs.shape[0] - 1
    return statistic, dof, float(stats.chi2.sf(statistic, dof))


def column_tests(network: str, labels, counted, expected, min_count: int = 1000) -> pd.DataFrame:
    """One chi-square test per column with >= ``min_count`` counts, for every variable given.

    ``counted`` and ``expected`` map a variable index to its (r, q) count table and probability
    table. Columns whose expected law is empty (probability 0 everywhere) are skipped.
    """
    rows = []
    for i, table in counted.items():
        probabilities = expected[i]
        for column in np.flatnonzero(table.sum(axis=0) >= min_count):
            if probabilities[:, column].sum() == 0:
                continue
            statistic, dof, p = chi_square_column(table[:, column], probabilities[:, column])
            rows.append(
                {
                    "network": network,
                    "variable": labels[i],
                    "column": int(column),
                    "count": int(table[:, column].sum()),
                    "chi2": statistic,
                    "dof": dof,
                    "p": p,
                }
            )
    return pd.DataFrame(rows, columns=["network", "variable", "column", "count", "chi2", "dof", "p"])


def holm(p_values, alpha: float) -> np.ndarray:
    """Holm's step-down rejections at family-wise level ``alpha`` (boolean per p-value)."""
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p)
    m = p.shape[0]
    reject = np.zeros(m, dtype=bool)
    for rank, k in enumerate(order):
        if p[k] > alpha / (m - rank):
            break
        reject[k] = True
    return reject


def round_trip_tests(model: EncounterModel, counter, min_count: int = 1000) -> pd.DataFrame:
    """Every column test of a counter filled from tracks of ``model`` (initial from first seconds)."""
    joint = first_second_law(model)
    initial_counts = dict(enumerate(counter.initial_tables))
    initial_expected = {i: expected_initial_columns(model, joint, i) for i in initial_counts}
    transition = model.transition
    transition_counts = {j: t for j, t in enumerate(counter.transition_tables) if t is not None}
    transition_expected = {
        j: model.transition_cpt(j) * (transition.tables[j].sum(axis=0) > 0) for j in transition_counts
    }
    return pd.concat(
        [
            column_tests("initial", model.labels, initial_counts, initial_expected, min_count),
            column_tests("transition", transition.labels, transition_counts, transition_expected, min_count),
        ],
        ignore_index=True,
    )


# ------------------------------------------------------------------------------ the whole path


def flown_table(flown, model: EncounterModel) -> pd.DataFrame:
    """A track table (1-Hz records) of flown tracks, with their categorical bins as columns."""
    trajectories = flown.trajectories
    n, records = trajectories.north_ft.shape
    frame = pd.DataFrame(
        {
            "track_id": np.repeat(flown.sample.initial["track_id"].to_numpy(), records),
            "time_s": np.tile(trajectories.t_s, n),
            "east_ft": trajectories.east_ft.ravel(),
            "north_ft": trajectories.north_ft.ravel(),
            "alt_agl_ft": trajectories.up_ft.ravel(),
        }
    )
    for i in range(model.n_variables):
        if model.boundaries[i] is None:
            name = bin_column_name(model, i)
            frame[name] = np.repeat(flown.sample.initial[name].to_numpy(), records)
    return frame


def hellinger_by_layer(trained, original, roles=("v", "vdot", "hdot", "psidot"), presets=None) -> pd.DataFrame:
    """Hellinger distance of P(variable | layer) between two models, per layer and variable."""
    from ..compare.distances import hellinger
    from ..compare.model_level import distributions_by_layer

    rows = []
    for role in roles:
        mine = distributions_by_layer(trained, role, presets)
        theirs = distributions_by_layer(original, role, presets)
        for layer in sorted(set(mine) & set(theirs)):
            rows.append(
                {
                    "layer_ft": f"{layer[0]:g}-{layer[1]:g}",
                    "variable": role,
                    "hellinger": hellinger(mine[layer], theirs[layer]),
                }
            )
    return pd.DataFrame(rows)
