"""Which published model stands in best for a set of real tracks? Distances with bootstrap intervals.

The tracks' 1-s states (after `process_tracks`) give an empirical P(variable | layer) in each
model's own bins and layers; each published model gives its exact P(variable | layer, presets)
from its initial network (which MIT LL counts over every second of its training tracks, so the
two are the same kind of distribution). The distance is Hellinger's. Per variable, an overall
distance compares the tracks' pooled distribution with the model's mixture over its layers,
weighted by the tracks' time in each layer, so that models with different layer tables compare
on one number. Intervals come from a bootstrap that resamples whole tracks (segments) with
replacement, or, optionally, blocks of consecutive seconds (narrower, and optimistic: it treats
blocks as independent).

`read_flights` reads flights in the format of ``traffic``'s sample data (one gzipped JSON list of
records per flight) and assumes a constant ground elevation per flight: its lowest barometric
altitude (a helicopter air-ambulance mission starts and ends on a helipad), stated in the results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..bayes import EncounterModel, load_model
from ..compare.model_level import layer_edges
from .counting import VALUE_COLUMN, discretise

#: unit conversions to the tracks' units, for models whose files say nothing (haa_v1: vertical rate
#: edges +-4.1667/12.5/20.8333/25 are the other models' +-250/750/1250/1500 ft/min in ft/s)
UNIT_ASSUMPTIONS = {"haa_v1": {"hdot": 60.0}}
#: variables left out of a model's comparison, and why
LEFT_OUT = {"haa_v1": {"vdot": "acceleration units undocumented (edges +-10)"}}


def read_flights(paths, ground: str = "lowest") -> pd.DataFrame:
    """Flights in ``traffic``'s sample format as one track table (track id = file name).

    ``ground="lowest"``: constant ground elevation per flight = its lowest barometric altitude.
    """
    if ground != "lowest":
        raise ValueError(f"ground={ground!r}: only 'lowest' (per flight) is implemented")
    frames = []
    for path in paths:
        frame = pd.read_json(path)
        name = Path(path).name.split(".")[0]
        frames.append(frame.assign(track_id=name, ground_ft=float(frame["altitude"].min())))
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class ModelView:
    """A published model as the study sees it: presets, altitude reference, unit factors."""

    model: EncounterModel
    presets: dict
    altitude_column: str  # "alt_agl_ft" or "alt_msl_ft"
    scale: dict  # role -> factor from the model's units to the tracks'

    @classmethod
    def of(cls, name, presets=None) -> ModelView:
        model = name if isinstance(name, EncounterModel) else load_model(name)
        reference = model.entry.altitude_reference if model.entry is not None else "AGL"
        column = "alt_msl_ft" if reference == "MSL" else "alt_agl_ft"
        given = {k: v for k, v in (presets or {}).items() if k in model.roles}
        return cls(model, given, column, UNIT_ASSUMPTIONS.get(model.name, {}))

    def roles(self, wanted) -> list[str]:
        left_out = LEFT_OUT.get(self.model.name, {})
        return [r for r in wanted if r in self.model.roles and r not in left_out]

    def edges(self, role: str) -> np.ndarray:
        return self.model.bin_edges(role) * self.scale.get(role, 1.0)

    def layer_law(self, role: str) -> np.ndarray:
        """P(role | layer, presets), (layers, bins); rows of layers without data are nan."""
        joint = self.model.exact_joint(["L", role], self.presets)
        totals = joint.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return joint / totals


def hellinger(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hellinger distance along the last axis (sqrt of half the squared difference of root masses)."""
    return np.sqrt(0.5 * ((np.sqrt(p) - np.sqrt(q)) ** 2).sum(axis=-1))


def _unit_weights(units: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap multiplicities of each resampled unit, (resamples + 1, n_units); row 0 is the data."""
    n = units.shape[0]
    draws = rng.integers(0, n, size=(resamples, n))
    counts = np.zeros((resamples + 1, n))
    counts[0] = 1.0
    np.add.at(counts[1:], (np.repeat(np.arange(resamples), n), draws.ravel()), 1.0)
    return counts


def compare_with_published(
    states: pd.DataFrame,
    models,
    *,
    roles=("v", "vdot", "hdot", "psidot"),
    presets: dict | None = None,
    resamples: int = 1000,
    seed: int = 0,
    unit: str = "segment",
    block_s: int = 60,
    level: float = 0.95,
) -> pd.DataFrame:
    """Hellinger distance of each published model to the tracks, by variable and layer, with intervals.

    Parameters
    ----------
    states : DataFrame
        Processed 1-s states (`ProcessedTracks.frame`), with ``alt_msl_ft`` when a model is MSL.
    models : sequence of str or EncounterModel
        The published models.
    unit : {"segment", "block"}
        What the bootstrap resamples: whole segments (tracks), or blocks of ``block_s`` seconds.

    Returns
    -------
    DataFrame
        One row per model, variable and layer (``layer_ft`` "all" for the occupancy-weighted
        overall distance): seconds of track in the layer, the distance, its bootstrap interval.
    """
    rng = np.random.default_rng(seed)
    if "alt_msl_ft" not in states.columns and "ground_ft" in states.columns:
        states = states.assign(alt_msl_ft=states["alt_agl_ft"] + states["ground_ft"])
    if unit == "segment":
        unit_id = pd.factorize(states["segment"])[0]
    elif unit == "block":
        start = states.groupby("segment")["time_s"].transform("min").to_numpy()
        block = (states["time_s"].to_numpy() - start) // block_s
        unit_id = pd.factorize(states["segment"].to_numpy().astype(np.int64) * 1_000_000 + block)[0]
    else:
        raise ValueError(f"unit={unit!r}: expected 'segment' or 'block'")
    weights = _unit_weights(np.unique(unit_id), resamples, rng)[:, unit_id]  # (B + 1, rows)
    alpha = (1.0 - level) / 2.0
    rows = []
    for name in models:
        view = ModelView.of(name, presets)
        l_edges = layer_edges(view.model)
        layer, inside = discretise(states[view.altitude_column].to_numpy(), l_edges)
        for role in view.roles(roles):
            law = view.layer_law(role)
            bins, _ = discretise(states[VALUE_COLUMN[role]].to_numpy(), view.edges(role))
            r = law.shape[1]
            cell = layer * r + bins
            counts = np.stack([np.bincount(cell[inside], w[inside], minlength=law.size) for w in weights])
            counts = counts.reshape(-1, law.shape[0], r)  # (B + 1, layers, bins)
            per_layer = counts.sum(axis=2)
            with np.errstate(invalid="ignore", divide="ignore"):
                empirical = counts / per_layer[:, :, None]
                distance = hellinger(empirical, np.nan_to_num(law)[None])
                occupancy = per_layer / per_layer.sum(axis=1, keepdims=True)
                mixture = (occupancy[:, :, None] * np.nan_to_num(law)[None]).sum(axis=1)
                pooled = counts.sum(axis=1) / counts.sum(axis=(1, 2))[:, None]
                overall = hellinger(pooled, mixture)
            for k in range(law.shape[0]):
                if per_layer[0, k] == 0:
                    continue
                rows.append(
                    _row(view, role, f"{l_edges[k]:g}-{l_edges[k + 1]:g}", per_layer[0, k], distance[:, k], alpha)
                )
            rows.append(_row(view, role, "all", per_layer[0].sum(), overall, alpha))
    return pd.DataFrame(rows)


def _row(view: ModelView, role: str, layer: str, seconds: float, values: np.ndarray, alpha: float) -> dict:
    finite = values[1:][np.isfinite(values[1:])]
    low, high = np.quantile(finite, [alpha, 1 - alpha]) if finite.size else (np.nan, np.nan)
    return {
        "model": view.model.name,
        "variable": role,
        "layer_ft": layer,
        "reference": "MSL" if view.altitude_column == "alt_msl_ft" else "AGL",
        "seconds": int(seconds),
        "hellinger": float(values[0]),
        "ci_low": float(low),
        "ci_high": float(high),
        "level": 1.0 - 2.0 * alpha,
        "resamples": values[1:],  # the bootstrap values, for paired comparisons (same resamples)
    }


def better_surrogate(table: pd.DataFrame) -> pd.DataFrame:
    """Per variable, the model with the smaller overall distance and a paired bootstrap interval.

    Every model's distances were computed on the same resamples of the tracks, so the difference
    (other minus better) is bootstrapped pairwise; the choice is supported when its interval
    excludes 0.
    """
    overall = table[table["layer_ft"] == "all"]
    rows = []
    for role, group in overall.groupby("variable", sort=False):
        group = group.sort_values("hellinger")
        best = group.iloc[0]
        row = {"variable": role, "better": best["model"], "hellinger": best["hellinger"], "other": "",
               "other_hellinger": np.nan, "difference": np.nan, "diff_ci_low": np.nan, "diff_ci_high": np.nan,
               "supported": False}  # fmt: skip
        if len(group) > 1:
            other = group.iloc[1]
            alpha = (1.0 - best["level"]) / 2.0
            differences = other["resamples"] - best["resamples"]
            low, high = np.nanquantile(differences, [alpha, 1 - alpha])
            row.update(other=other["model"], other_hellinger=other["hellinger"],
                       difference=other["hellinger"] - best["hellinger"], diff_ci_low=low, diff_ci_high=high,
                       supported=bool(low > 0))  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)
