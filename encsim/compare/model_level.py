"""Model-level comparison: exact per-layer distributions and dynamics of two encounter models.

Everything here is computed from the counts by the chain rule (`EncounterModel.exact_joint`),
never by sampling. Layers are matched by their altitude edges, never by index (decisions.md
section 1): models with different layer tables are compared only on the layers they share, and
the result says which. Presets such as G = 1, A = 4 apply to each model only where it has the
variable (the unconventional models have no G or A), and the result says so too.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..bayes import EncounterModel, load_model
from ..bayes.model import ROLE_UNITS
from ..units import S_PER_MIN
from .distances import DISTANCES, BinnedDistribution

COMPARED_ROLES = ("v", "vdot", "hdot", "psidot")
DYNAMIC_ROLES = ("vdot", "hdot", "psidot")


def _model(model) -> EncounterModel:
    return model if isinstance(model, EncounterModel) else load_model(model)


def layer_edges(model: EncounterModel) -> np.ndarray:
    """The altitude layer table of a model (registry's, else the file's L edges)."""
    if model.entry is not None and model.entry.layer_edges_ft:
        return np.asarray(model.entry.layer_edges_ft, dtype=np.float64)
    edges = model.bin_edges("L")
    if edges is None:
        raise ValueError(f"model {model.name}: L is categorical and the registry gives no layer table")
    return edges


def layer_pairs(model: EncounterModel) -> list[tuple[float, float]]:
    """The altitude layers of a model as (lower, upper) edges in ft."""
    edges = layer_edges(model).tolist()
    return [(float(lo), float(hi)) for lo, hi in itertools.pairwise(edges)]


def format_layers(layers) -> str:
    """``[(500, 1200), (1200, 3000)]`` -> ``"500-1200, 1200-3000"`` (ft)."""
    return ", ".join(f"{lo:g}-{hi:g}" for lo, hi in layers) or "none"


_LAYER = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)\s*(?:ft)?\s*$", re.IGNORECASE)


def parse_layers(text) -> list[tuple[float, float]] | None:
    """Altitude layers given as edges in ft AGL: ``"500-1200,1200-3000"`` -> ``[(500.0, 1200.0), (1200.0, 3000.0)]``.

    Layers are named by their edges, never by index (decisions.md section 1). ``None`` or an empty
    string means every shared layer. A sequence of (lower, upper) pairs is accepted as it is.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str):
        items = [(float(lo), float(hi)) for lo, hi in text]
    else:
        items = []
        for part in text.split(","):
            match = _LAYER.match(part)
            if match is None:
                raise ValueError(
                    f"layer {part.strip()!r} is not LOWER-UPPER in ft AGL (e.g. --layers 500-1200,1200-3000)"
                )
            items.append((float(match.group(1)), float(match.group(2))))
    for lo, hi in items:
        if not lo < hi:
            raise ValueError(f"layer {lo:g}-{hi:g} ft: the lower edge must be below the upper edge")
    return list(dict.fromkeys(items))


def _applicable(model: EncounterModel, presets: dict | None) -> dict:
    return {name: bin1 for name, bin1 in (presets or {}).items() if name in model.roles}


def distributions_by_layer(
    model, role: str, presets: dict | None = None
) -> dict[tuple[float, float], BinnedDistribution]:
    """P(role | L = layer, presets) for every layer with data, as binned mixtures (exact)."""
    model = _model(model)
    given = _applicable(model, presets)
    joint = model.exact_joint(["L", role], given)
    edges = layer_edges(model)
    var_edges = model.bin_edges(role)
    zero = model.zero_bins[model.variable_index(role)]
    out = {}
    for layer in range(joint.shape[0]):
        mass = joint[layer].sum()
        if mass > 0:
            out[(float(edges[layer]), float(edges[layer + 1]))] = BinnedDistribution(
                joint[layer] / mass, var_edges, zero
            )
    return out


def _free_state_grid(model: EncounterModel, given0: dict[int, int]) -> tuple[list[int], np.ndarray]:
    free = [i for i in range(model.n_variables) if i not in given0]
    shape = tuple(int(model.r[i]) for i in free)
    grid = np.indices(shape).reshape(len(free), -1)
    return free, grid


def stay_probabilities(model, presets: dict | None = None) -> dict[tuple[float, float], dict[str, float]]:
    """Per layer: P(every dynamic variable keeps its bin next second), the manoeuvre rate and the
    command-change rate per minute (decisions.md section 6).

    A manoeuvre is a bin change of any of vdot, hdot, psidot; the stay probability is averaged over
    the initial network's distribution given the layer (and presets). Within-bin resamples change
    commanded values too: command changes per minute = 60 x (1 - stay x prod(1 - resample rate)).
    """
    model = _model(model)
    if model.transition is None:
        raise ValueError(f"model {model.name} has no transition network")
    given = _applicable(model, presets)
    given0 = {model.variable_index(k): v - 1 for k, v in given.items()}
    free, grid = _free_state_grid(model, given0)
    joint = model.exact_joint(free, given).ravel()
    state = {i: np.full(grid.shape[1], b) for i, b in given0.items()}
    state.update({i: grid[k] for k, i in enumerate(free)})
    time_t_of = {t1: t for t, t1 in model.temporal_map}
    for j in model.transition_order:  # (t+1) variables that stay hold their time-t bins
        state[j] = state[time_t_of[j]]
    stay = np.ones(grid.shape[1])
    for j in model.transition_order:
        column = np.zeros(grid.shape[1], dtype=np.int64)
        stride = 1
        for p in model.transition.parents(j):
            column += state[int(p)] * stride
            stride *= int(model.transition.r[p])
        stay *= model.transition_cpt(j)[state[time_t_of[j]], column]
    dynamic_vars = [model.roles[r] for r in DYNAMIC_ROLES if r in model.roles]
    no_resample = float(np.prod([1.0 - model.resample_rates[i] for i in dynamic_vars]))
    layer_var = model.roles["L"]
    edges = layer_edges(model)
    out = {}
    for layer in range(int(model.r[layer_var])):
        mask = state[layer_var] == layer
        mass = joint[mask].sum()
        if mass <= 0:
            continue
        p_stay = float(np.sum(joint[mask] * stay[mask]) / mass)
        out[(float(edges[layer]), float(edges[layer + 1]))] = {
            "stay_probability": p_stay,
            "manoeuvres_per_min": S_PER_MIN * (1.0 - p_stay),
            "mean_time_between_manoeuvres_s": 1.0 / (1.0 - p_stay) if p_stay < 1 else float("inf"),
            "command_changes_per_min": S_PER_MIN * (1.0 - p_stay * no_resample),
        }
    return out


@dataclass(frozen=True)
class ModelComparison:
    """Distances per shared layer and variable, dynamics per layer, and what was (not) compared."""

    model_a: str
    model_b: str
    distances: pd.DataFrame
    dynamics: pd.DataFrame
    matched_layers: list = field(default_factory=list)
    unmatched_layers: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def select_layers(model_a: EncounterModel, model_b: EncounterModel, layers=None) -> tuple[list, dict, list]:
    """The layers to compare (matched by their edges), the unmatched layers of each model, and notes.

    ``layers`` (edges in ft, see `parse_layers`) restricts the comparison; a requested layer that is
    not a layer of both models is an error naming it and the layers that are available.
    """
    layers_a, layers_b = set(layer_pairs(model_a)), set(layer_pairs(model_b))
    shared = sorted(layers_a & layers_b)
    unmatched = {model_a.name: sorted(layers_a - layers_b), model_b.name: sorted(layers_b - layers_a)}
    notes = []
    if unmatched[model_a.name] or unmatched[model_b.name]:
        notes.append(f"compared only on the layers both models have: {shared} ft")
    requested = parse_layers(layers)
    if requested is None:
        return shared, unmatched, notes
    missing = [layer for layer in requested if layer not in shared]
    if missing:
        only = "; ".join(f"{name} alone has {format_layers(v)}" for name, v in unmatched.items() if v)
        raise ValueError(
            f"layer {format_layers(missing)} ft AGL matches no altitude layer shared by "
            f"{model_a.name} and {model_b.name}; "
            f"available layers: {format_layers(shared)} ft" + (f" ({only})" if only else "")
        )
    left_out = [layer for layer in shared if layer not in requested]
    if left_out:
        notes.append(
            f"restricted to the requested layers {format_layers(requested)} ft (shared but not compared: "
            f"{format_layers(left_out)} ft)"
        )
    return sorted(requested), unmatched, notes


def compare_models(
    model_a, model_b, *, presets: dict | None = None, roles=COMPARED_ROLES, layers=None
) -> ModelComparison:
    """Exact model-level comparison of two encounter models on the layers and variables they share.

    ``layers``: altitude layers to compare, by their edges in ft AGL (``"500-1200,1200-3000"`` or
    ``[(500, 1200), (1200, 3000)]``); default every layer both models have. A layer that is not a
    layer of both models raises ``ValueError`` naming it and the available layers.

    Examples
    --------
    >>> result = compare_models("uncor_1200only_fwse_v1p2", "uncor_1200only_rotorcraft_v1p2", presets={"G": 1, "A": 4})
    >>> print(result.distances[["variable", "layer_lo_ft", "layer_hi_ft", "hellinger"]].head(4).round(3).to_string())
      variable  layer_lo_ft  layer_hi_ft  hellinger
    0        v         50.0        500.0      0.282
    1        v        500.0       1200.0      0.216
    2        v       1200.0       3000.0      0.217
    3        v       3000.0       5000.0      0.213
    """
    a, b = _model(model_a), _model(model_b)
    notes = []
    for model in (a, b):
        missing = sorted(set(presets or {}) - set(model.roles))
        if missing:
            notes.append(f"{model.name} has no {', '.join(missing)}: those presets do not apply to it")
    shared_roles = [r for r in roles if r in a.roles and r in b.roles]
    for role in roles:
        if role not in shared_roles:
            notes.append(f"{role} is not in both models: not compared")
    matched, unmatched, layer_notes = select_layers(a, b, layers)
    notes.extend(layer_notes)
    rows = []
    for role in shared_roles:
        dist_a, dist_b = distributions_by_layer(a, role, presets), distributions_by_layer(b, role, presets)
        for layer in matched:
            if layer not in dist_a or layer not in dist_b:
                notes.append(f"layer {layer} has no data for {role} in one model")
                continue
            row = {"layer_lo_ft": layer[0], "layer_hi_ft": layer[1], "variable": role, "units": ROLE_UNITS[role][0]}
            row.update({name: fn(dist_a[layer], dist_b[layer]) for name, fn in DISTANCES.items()})
            rows.append(row)
    dynamics_rows = []
    if a.transition is not None and b.transition is not None:
        stay_a, stay_b = stay_probabilities(a, presets), stay_probabilities(b, presets)
        for layer in matched:
            if layer in stay_a and layer in stay_b:
                row = {"layer_lo_ft": layer[0], "layer_hi_ft": layer[1]}
                row.update({f"{k}_a": v for k, v in stay_a[layer].items()})
                row.update({f"{k}_b": v for k, v in stay_b[layer].items()})
                dynamics_rows.append(row)
    return ModelComparison(a.name, b.name, pd.DataFrame(rows), pd.DataFrame(dynamics_rows), matched, unmatched, notes)
