"""Track-level comparison: sampled and flown tracks of two models, compared feature by feature.

Each track is summarised by features an analyst reads directly (one value per track, so tracks
are the independent units of the bootstrap):

- ``speed_kt``: time-averaged airspeed;
- ``abs_vertical_rate_fpm``: time-averaged |vertical rate|;
- ``abs_turn_rate_deg_s``: time-averaged |turn rate| (from the 1-Hz heading);
- ``altitude_change_ft``: altitude at the end minus at the start;
- ``manoeuvres_per_min``: DBN bin changes of vdot, hdot, psidot per minute (decisions.md section 6).

With ``layers`` (edges in ft AGL), only tracks that start in those layers are compared: the ``n``
tracks are spread over the layers in proportion to the model's exact P(layer | presets) and each
share is sampled with the layer as a preset (distinct track ids), so the mixture over the chosen
layers is the model's own. Tracks may leave their starting layer afterwards.

Effect sizes first, p-values second (they vanish at large N): the difference of means (B - A)
with a bootstrap interval (it contains 0 when a model is compared with itself), the Wasserstein-1
distance and the Kolmogorov-Smirnov statistic with bootstrap intervals, then the KS p-value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .. import units
from ..bayes import EncounterModel, load_model
from ..sampling import sample_tracks
from ..tracks import fly
from .model_level import format_layers, layer_pairs, parse_layers, select_layers

FEATURES = ("speed_kt", "abs_vertical_rate_fpm", "abs_turn_rate_deg_s", "altitude_change_ft", "manoeuvres_per_min")


def _model(model) -> EncounterModel:
    return model if isinstance(model, EncounterModel) else load_model(model)


def layer_allocation(model, n: int, layers, presets: dict | None = None) -> dict[int, int]:
    """Tracks per 1-based layer bin: ``n`` spread over ``layers`` (edges in ft) by the exact
    P(layer | presets) of the model (largest remainders; layers without data get none)."""
    model = _model(model)
    given = {k: v for k, v in (presets or {}).items() if k in model.roles}
    table = layer_pairs(model)
    requested = parse_layers(layers) or table
    missing = [layer for layer in requested if layer not in table]
    if missing:
        raise ValueError(
            f"layer {format_layers(missing)} ft AGL matches no altitude layer of {model.name}; "
            f"available layers: {format_layers(table)} ft"
        )
    bins = [table.index(layer) + 1 for layer in requested]
    p_layer = model.exact_marginal("L", given)
    weights = np.array([p_layer[b - 1] for b in bins], dtype=np.float64)
    if weights.sum() <= 0:
        raise ValueError(
            f"{model.name}: the layers {format_layers(requested)} ft have probability 0 under presets {given}"
        )
    share = n * weights / weights.sum()
    counts = np.floor(share).astype(np.int64)
    for k in np.argsort(-(share - counts))[: n - int(counts.sum())]:
        counts[k] += 1
    return {b: int(c) for b, c in zip(bins, counts) if c > 0}


def _features(model: EncounterModel, tracks, duration_s: int) -> pd.DataFrame:
    flown = fly(tracks, model, output_hz=1.0)
    trajectories = flown.trajectories
    turn = np.abs(np.diff(trajectories.heading_rad, axis=1)) / np.diff(trajectories.t_s)
    frame = pd.DataFrame(
        {
            "speed_kt": units.fps_to_kt(trajectories.speed_fps).mean(axis=1),
            "abs_vertical_rate_fpm": np.abs(trajectories.hdot_fps).mean(axis=1) * units.FPM_PER_FPS,
            "abs_turn_rate_deg_s": units.rad_to_deg(turn).mean(axis=1),
            "altitude_change_ft": trajectories.up_ft[:, -1] - trajectories.up_ft[:, 0],
            "manoeuvres_per_min": flown.sample.bin_changes.to_numpy().sum(axis=1) * units.S_PER_MIN / duration_s,
        }
    )
    frame["start_alt_ft"] = flown.sample.initial["alt_ft"].to_numpy()
    return frame


def track_features(
    model, n: int, duration_s: int, rng, presets: dict | None = None, layers=None, *, with_start_altitude: bool = False
) -> pd.DataFrame:
    """Sample ``n`` tracks, fly them under the model's limits (1-Hz records), one row of features each.

    ``layers`` (edges in ft AGL) keeps to tracks starting in those layers, in the model's own
    proportions (see the module docstring). ``with_start_altitude`` adds the initial altitude
    (``start_alt_ft``, not a feature) to check where the tracks began.
    """
    model = _model(model)
    given = {k: v for k, v in (presets or {}).items() if k in model.roles}
    if parse_layers(layers) is None:
        features = _features(model, sample_tracks(model, n, duration_s, rng, start=given or None), duration_s)
    else:
        frames, first_id = [], 0
        for layer_bin, count in layer_allocation(model, n, layers, presets).items():
            tracks = sample_tracks(model, count, duration_s, rng, start={**given, "L": layer_bin}, first_id=first_id)
            frames.append(_features(model, tracks, duration_s))
            first_id += count
        features = pd.concat(frames, ignore_index=True)
    return features if with_start_altitude else features.drop(columns="start_alt_ft")


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def compare_features(
    features_a: pd.DataFrame, features_b: pd.DataFrame, *, n_boot: int = 500, confidence: float = 0.95, rng=0
) -> pd.DataFrame:
    """Per feature: means, difference of means, W1 and KS with percentile bootstrap intervals, KS p-value."""
    generator = np.random.default_rng(rng)
    rows = []
    for feature in features_a.columns:
        a, b = features_a[feature].to_numpy(), features_b[feature].to_numpy()
        boot_diff, boot_w1, boot_ks = np.empty(n_boot), np.empty(n_boot), np.empty(n_boot)
        for k in range(n_boot):
            ra, rb = a[generator.integers(0, a.size, a.size)], b[generator.integers(0, b.size, b.size)]
            boot_diff[k] = rb.mean() - ra.mean()
            boot_w1[k] = stats.wasserstein_distance(ra, rb)
            boot_ks[k] = stats.ks_2samp(ra, rb).statistic
        ks = stats.ks_2samp(a, b)
        rows.append(
            {
                "feature": feature,
                "mean_a": a.mean(),
                "mean_b": b.mean(),
                "mean_difference": b.mean() - a.mean(),
                "mean_difference_ci": _interval(boot_diff, confidence),
                "wasserstein1": stats.wasserstein_distance(a, b),
                "wasserstein1_ci": _interval(boot_w1, confidence),
                "ks_statistic": ks.statistic,
                "ks_statistic_ci": _interval(boot_ks, confidence),
                "ks_pvalue": ks.pvalue,
            }
        )
    return pd.DataFrame(rows)


def track_layers(model_a, model_b, layers=None) -> list[tuple[float, float]]:
    """The layers the track level samples: ``layers`` (edges in ft AGL), which must be layers of both
    models, else every layer both models have -- the same selection as the model level
    (`select_layers`). ``ValueError`` naming the layers if there is none."""
    a, b = _model(model_a), _model(model_b)
    chosen, _unmatched, _ = select_layers(a, b, layers)
    if not chosen:
        raise ValueError(
            f"{a.name} and {b.name} share no altitude layer ({a.name}: {format_layers(layer_pairs(a))} ft; "
            f"{b.name}: {format_layers(layer_pairs(b))} ft): the track level has nothing to compare"
        )
    return chosen


def split_intervals(table: pd.DataFrame) -> pd.DataFrame:
    """The table with each interval column ``<name>`` (a (low, high) pair) as numeric ``<name>_low``,
    ``<name>_high``."""
    out = table.copy()
    for name in [c for c in table.columns if c.endswith("_ci")]:
        position = out.columns.get_loc(name)
        pairs = np.array([tuple(v) for v in out.pop(name)], dtype=np.float64).reshape(-1, 2)
        out.insert(position, f"{name}_high", pairs[:, 1])
        out.insert(position, f"{name}_low", pairs[:, 0])
    return out


def compare_tracks(
    model_a,
    model_b,
    *,
    n: int = 2000,
    duration_s: int = 120,
    rng=0,
    presets: dict | None = None,
    n_boot: int = 500,
    confidence: float = 0.95,
    layers=None,
) -> pd.DataFrame:
    """Sample, fly and compare ``n`` tracks of each model (independent streams for the two models).

    Only tracks starting in ``layers`` (edges in ft AGL; they must be layers of both models,
    ``ValueError`` naming the layer and the available ones otherwise) are compared; by default
    every layer both models have (as at the model level). A model whose every layer is compared is
    sampled from its full initial network. The layers are in ``table.attrs["layers_ft"]``; the
    interval columns hold (low, high) pairs (`split_intervals` makes them numeric columns).
    """
    seeds = np.random.SeedSequence(rng).spawn(2)
    a, b = _model(model_a), _model(model_b)
    chosen = track_layers(a, b, layers)
    features = []
    for model, seed in ((a, seeds[0]), (b, seeds[1])):
        every = sorted(layer_pairs(model)) == chosen  # the whole table: plain sampling (the same law)
        features.append(track_features(model, n, duration_s, seed, presets, None if every else chosen))
    table = compare_features(features[0], features[1], n_boot=n_boot, confidence=confidence, rng=rng)
    table.attrs["layers_ft"] = chosen
    return table
