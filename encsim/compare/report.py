"""Model-comparison report: CSV tables, per-layer distribution plots and a distance heat map in HTML.

Every report carries its provenance (design.md): ``provenance.json`` in the report folder and the
same block at the end of ``index.html`` (encsim version, command and arguments, UTC time, each model
file used with its sha256 and registry entry, seeds, track counts and durations, levels, layers,
metric and tolerance, and the scenario for the outcome level).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import itertools
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..bayes import load_model
from ..checksums import text_sha256
from .model_level import (
    COMPARED_ROLES,
    ModelComparison,
    compare_models,
    distributions_by_layer,
    format_layers,
    parse_layers,
)

TRACK_RESAMPLES = 500
_ROLE_TITLES = {
    "v": "airspeed (kt)",
    "vdot": "acceleration (kt/s)",
    "hdot": "vertical rate (ft/min)",
    "psidot": "turn rate (deg/s)",
}


def _plot_layers(comparison: ModelComparison, presets, path: Path) -> None:
    """Per-layer densities of each variable, both models side by side (bars: mass per bin / width)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    roles = [r for r in COMPARED_ROLES if r in set(comparison.distances.get("variable", []))]
    layers = comparison.matched_layers
    if not roles or not layers:
        return
    figure, axes = plt.subplots(
        len(roles), len(layers), figsize=(3.2 * len(layers), 2.4 * len(roles)), squeeze=False, constrained_layout=True
    )
    for row, role in enumerate(roles):
        dists = [distributions_by_layer(name, role, presets) for name in (comparison.model_a, comparison.model_b)]
        for col, layer in enumerate(layers):
            axis = axes[row][col]
            for dist_by_layer, colour, label in zip(
                dists, ("tab:blue", "tab:orange"), (comparison.model_a, comparison.model_b)
            ):
                d = dist_by_layer.get(layer)
                if d is None:
                    continue
                density = d.probabilities / np.diff(d.edges)
                if d.zero_bin >= 0:  # the zero bin is a point mass at 0, not a density: marked apart
                    density[d.zero_bin] = 0.0
                    label = f"{label} (P(=0) {d.probabilities[d.zero_bin]:.2f})"
                axis.stairs(density, d.edges, color=colour, label=label, lw=1.4)
                if d.zero_bin >= 0:
                    axis.axvline(0.0, color=colour, lw=2, alpha=0.5)
            if row == 0:
                axis.set_title(f"{layer[0]:g}-{layer[1]:g} ft", fontsize=9)
            if col == 0:
                axis.set_ylabel(_ROLE_TITLES[role], fontsize=8)
            axis.tick_params(labelsize=7)
    for axis_row in axes:
        for axis in axis_row:
            if axis.get_legend_handles_labels()[0]:
                axis.legend(fontsize=6)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _heat_map(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = table.rename(index=lambda pair: pair.replace("uncor_", ""))
    figure, axis = plt.subplots(
        figsize=(6.5 + 1.0 * table.shape[1], 1.2 + 0.45 * table.shape[0]), constrained_layout=True
    )
    image = axis.imshow(table.to_numpy(), cmap="viridis", vmin=0, vmax=max(0.01, float(np.nanmax(table.to_numpy()))))
    axis.set_xticks(range(table.shape[1]), table.columns, rotation=30, ha="right", fontsize=8)
    axis.set_yticks(range(table.shape[0]), table.index, fontsize=8)
    for (i, j), value in np.ndenumerate(table.to_numpy()):
        axis.text(
            j,
            i,
            f"{value:.2f}",
            ha="center",
            va="center",
            color="w" if value < 0.6 * np.nanmax(table.to_numpy()) else "k",
            fontsize=7,
        )
    figure.colorbar(image, ax=axis, label="Hellinger (mean over layers)")
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _track_section(
    models: list[str], presets, out: Path, n_tracks: int, duration_s: int, seed: int, layers, record: list
) -> str:
    from .track_level import compare_tracks, split_intervals

    frames, parts = [], []
    for k, (a, b) in enumerate(itertools.combinations(models, 2)):
        table = compare_tracks(
            a,
            b,
            n=n_tracks,
            duration_s=duration_s,
            rng=seed + k,
            presets=presets,
            layers=layers,
            n_boot=TRACK_RESAMPLES,
        )
        pair_layers = table.attrs["layers_ft"]
        record.append(
            {
                "model_a": a,
                "model_b": b,
                "seed": seed + k,
                "bootstrap_seed": seed + k,
                "tracks_per_model": n_tracks,
                "duration_s": duration_s,
                "bootstrap_resamples": TRACK_RESAMPLES,
                "layers_ft": [list(layer) for layer in pair_layers],
            }
        )
        table = split_intervals(table)
        frames.append(table.assign(model_a=a, model_b=b))
        chosen = "the requested layers" if layers else "every layer both models have"
        parts.append(
            f"<h3>{html.escape(a)} vs {html.escape(b)}</h3><p>Tracks starting in {chosen}: "
            f"{html.escape(format_layers(pair_layers))} ft AGL (in each model's proportions).</p>"
            f"{table.round(4).to_html(index=False)}"
        )
    pd.concat(frames, ignore_index=True).to_csv(out / "track_distances.csv", index=False)
    return (
        f"<h2>Track level</h2><p>{n_tracks} tracks of {duration_s} s per model, "
        "starting in the layers named under each "
        f"pair (the same layers as the model level), flown under each model's limits; seed {seed} (+ pair index); "
        "differences are B - A with 95 % bootstrap intervals (columns _low, _high); effect sizes first, p-values last; "
        "tracks may leave their starting layer.</p>" + "".join(parts)
    )


def _outcome_section(
    models: list[str],
    out: Path,
    scenario,
    logic: str,
    encounters: int,
    tolerance: float,
    metric: str,
    seed: int,
    layers,
    record: list,
) -> str:
    from .outcome_level import MAX_DROPPED_FRACTION, compare_outcomes

    frames, parts = [], []
    for a, b in itertools.combinations(models, 2):
        result = compare_outcomes(
            scenario, a, b, logic=logic, encounters=encounters, tolerance=tolerance, metric=metric, rng=seed
        )
        record.append(
            {
                "model_a": a,
                "model_b": b,
                "encounters_per_model": encounters,
                "encounter_seed": scenario.run.seed,
                "first_encounter_id": scenario.run.first_id,
                "bootstrap_seed": seed,
                "bootstrap_resamples": result.n_boot,
                "encounters_simulated_per_model": result.encounters,
                "metric": result.metric,
                "dropped_resamples": result.dropped,
                "verdict": result.verdict,
                "notes": list(result.notes),
            }
        )
        values = result.table.rename(
            columns={"model_a": "value_a", "model_b": "value_b"}
        )  # the pair's names go in model_a/b
        frames.append(values.assign(model_a=a, model_b=b, logic=logic))
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
        parts.append(
            f"<h3>intruder {html.escape(a)} vs {html.escape(b)}</h3><p><b>{html.escape(result.verdict)}</b></p>"
            f"<ul>{notes}</ul>{values.round(4).to_html(index=False)}"
        )
    pd.concat(frames, ignore_index=True).to_csv(out / "outcome_differences.csv", index=False)
    layer_note = (
        f" The altitude layers {format_layers(layers)} ft of the model and track levels do not apply here: the "
        "scenario sets the altitudes."
        if layers
        else ""
    )
    return (
        f"<h2>Outcome level</h2><p>Scenario {html.escape(scenario.name)} with logic {html.escape(logic)}, {encounters} "
        f"encounters per intruder model (the ownship unchanged; encounter seed {scenario.run.seed} from the scenario); "
        f"differences B - A with 95 % bootstrap intervals (bootstrap seed {seed}); "
        f"verdict on {html.escape(metric)} with "
        f"tolerance {tolerance:g}; resamples where a ratio is undefined are dropped and counted (more than "
        f"{MAX_DROPPED_FRACTION:.0%} dropped, or a zero-width interval: inconclusive).{html.escape(layer_note)}</p>"
        + "".join(parts)
    )


REPORT_KIND = "encsim compare"
_LEGACY_FILES = (
    "index.html",
    "provenance.json",
    "model_distances.csv",
    "model_dynamics.csv",
    "track_distances.csv",
    "outcome_differences.csv",
    "heatmap.png",
)


def _is_report_file_name(name) -> bool:
    return isinstance(name, str) and Path(name).name == name and name not in ("", ".", "..")


def _earlier_report_files(out: Path) -> list[str] | None:
    """The files an earlier ``encsim compare`` report in ``out`` wrote (from its provenance.json), or
    None if ``out`` holds no such report. Reports written before provenance.json listed its files
    are recognised by their record and give the names encsim compare writes."""
    try:
        record = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    if record.get("report") == REPORT_KIND and isinstance(record.get("files"), list):
        return [name for name in record["files"] if _is_report_file_name(name)]
    if {"encsim_version", "levels", "models"} <= set(record) and "report" not in record:
        return [p.name for p in out.iterdir() if p.name in _LEGACY_FILES or re.fullmatch(r"layers_\d+\.png", p.name)]
    return None


def prepare_report_folder(out_dir) -> Path:
    """Make ``out_dir`` ready for a report: create it, or clear an earlier report's files.

    A folder that exists and is not empty must hold an earlier encsim compare report (its
    provenance.json); the files that report listed are removed, and nothing else. Any other
    non-empty folder is refused (``ValueError``), so nothing of somebody else's is overwritten.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--report {out}: a file, not a folder")
    if not out.exists() or not any(out.iterdir()):
        out.mkdir(parents=True, exist_ok=True)
        return out
    earlier = _earlier_report_files(out)
    if earlier is None:
        raise ValueError(
            f"--report {out}: the folder is not empty and is not an encsim compare report (it has no provenance.json "
            "written by encsim compare); give a new or empty folder, or the folder of an earlier report"
        )
    for name in earlier:
        path = out / name
        if path.is_file() or path.is_symlink():
            path.unlink()
    return out


def _planned_files(n_pairs: int, levels) -> list[str]:
    names = ["index.html", "provenance.json", "model_distances.csv", "model_dynamics.csv", "heatmap.png"]
    names += [f"layers_{k}.png" for k in range(n_pairs)]
    if "track" in levels:
        names.append("track_distances.csv")
    if "outcome" in levels:
        names.append("outcome_differences.csv")
    return names


def _check_inputs(models: list[str], levels, layers, scenario, logic: str) -> None:
    """Everything that can be refused is refused before anything is computed at length or written."""
    if "track" in levels:
        from .track_level import track_layers

        for a, b in itertools.combinations(models, 2):
            track_layers(a, b, layers)
    if "outcome" in levels:
        if scenario is None:
            raise ValueError("the outcome level needs a scenario")
        from ..avoidance import resolve_logic
        from .outcome_level import intruder_variant

        resolve_logic(logic)  # LogicSpecError, a ValueError, names the logic
        for name in models:
            intruder_variant(scenario, name)  # a model that cannot make encounters, a layer preset it lacks


def _json_safe(value):
    """Plain JSON: tuples as lists, non-finite floats as strings ("inf")."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else str(float(value))
    if isinstance(value, Path):
        return str(value)
    return value


def _model_record(name: str, role: str) -> dict:
    model = load_model(name)
    entry = dataclasses.asdict(model.entry) if model.entry is not None else None
    return {
        "name": model.name,
        "role": role,
        "file": model.path.name if model.path else None,
        "sha256": model.sha256,
        "registry_entry": entry,
    }


def provenance_record(
    models: list[str],
    *,
    levels,
    presets,
    layers,
    n_tracks: int,
    duration_s: int,
    seed: int,
    scenario,
    scenario_text: str | None,
    logic: str,
    encounters: int,
    tolerance: float,
    metric: str,
    arguments: dict | None,
    command: str | None,
) -> dict:
    """The inputs of a comparison report (without the per-pair details, which `write_report` adds)."""
    used = [_model_record(name, "compared") for name in models]
    record = {
        "report": REPORT_KIND,
        "encsim_version": __version__,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": command if command is not None else " ".join(sys.argv),
        "arguments": arguments or {},
        "levels": list(levels),
        "models": used,
        "presets": presets or {},
        "layers_ft": [list(layer) for layer in layers] if layers else "all shared layers",
        "seed": seed,
    }
    if "track" in levels:
        record["track_level"] = {
            "tracks_per_model": n_tracks,
            "duration_s": duration_s,
            "seed_of_pair_k": f"{seed} + k",
            "pairs": [],
        }
    if "outcome" in levels and scenario is not None:
        own_model = getattr(scenario.ownship, "model", None)  # None: a small-UAS mission ownship
        if own_model is not None and own_model not in models:
            used.append(_model_record(own_model, "outcome-level ownship"))
        record["outcome_level"] = {
            "scenario": scenario.name,
            "scenario_sha256": text_sha256(scenario_text) if scenario_text else None,
            "scenario_text": scenario_text,
            "logic": logic,
            "encounters_per_model": encounters,
            "encounter_seed": scenario.run.seed,
            "bootstrap_seed": seed,
            "metric": metric,
            "tolerance": tolerance,
            "pairs": [],
        }
    return record


def _provenance_html(record: dict) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(m['name'])}</td><td>{html.escape(m['role'])}</td><td>{html.escape(str(m['file']))}</td>"
        f"<td><code>{html.escape(m['sha256'])}</code></td>"
        f"<td>{html.escape((m['registry_entry'] or {}).get('data_source', 'not in the registry'))}</td></tr>"
        for m in record["models"]
    )
    text = html.escape(json.dumps(record, indent=1))
    return (
        f'<h2 id="provenance">Provenance</h2><p>encsim {html.escape(record["encsim_version"])}, written '
        f"{html.escape(record['created_utc'])} (UTC); command <code>{html.escape(record['command'])}</code>; seed "
        f"{record['seed']}; levels {html.escape(', '.join(record['levels']))}. The same record is in "
        f'<a href="provenance.json">provenance.json</a>.</p><table><tr><th>model</th><th>role</th><th>file</th>'
        f"<th>sha256</th><th>data</th></tr>{rows}</table>"
        f"<details><summary>full record</summary><pre>{text}</pre></details>"
    )


def write_report(
    models: list[str],
    out_dir,
    *,
    presets: dict | None = None,
    levels=("model",),
    n_tracks: int = 2000,
    duration_s: int = 120,
    seed: int = 0,
    scenario=None,
    logic: str = "daa",
    encounters: int = 5000,
    tolerance: float = 0.05,
    metric: str = "risk_ratio",
    layers=None,
    scenario_text: str | None = None,
    arguments: dict | None = None,
    command: str | None = None,
) -> Path:
    """Compare every pair of ``models`` (model level, and track/outcome level if asked); write CSVs,
    figures, ``index.html`` and ``provenance.json``.

    ``layers``: altitude layers by their edges in ft AGL (``"500-1200,1200-3000"``), for the model
    and track levels; ``seed`` seeds the track-level sampling (pair k uses seed + k) and the
    bootstraps; ``metric`` and ``tolerance`` make the outcome-level verdict.
    """
    from .outcome_level import resolve_metric

    layers = parse_layers(layers)
    metric = resolve_metric(metric)
    _check_inputs(models, levels, layers, scenario, logic)
    comparisons = [compare_models(a, b, presets=presets, layers=layers) for a, b in itertools.combinations(models, 2)]
    out = prepare_report_folder(out_dir)
    planned = _planned_files(len(comparisons), levels)
    record = provenance_record(
        models,
        levels=levels,
        presets=presets,
        layers=layers,
        n_tracks=n_tracks,
        duration_s=duration_s,
        seed=seed,
        scenario=scenario,
        scenario_text=scenario_text,
        logic=logic,
        encounters=encounters,
        tolerance=tolerance,
        metric=metric,
        arguments=arguments,
        command=command,
    )
    # first a record listing every file this run may write: a run that stops half-way leaves a folder
    # the next run recognises and clears
    (out / "provenance.json").write_text(
        json.dumps(_json_safe({**record, "complete": False, "files": planned}), indent=2) + "\n", encoding="utf-8"
    )
    distance_frames, dynamics_frames, sections = [], [], []
    heat = {}
    for k, comparison in enumerate(comparisons):
        pair = f"{comparison.model_a} vs {comparison.model_b}"
        distance_frames.append(comparison.distances.assign(model_a=comparison.model_a, model_b=comparison.model_b))
        dynamics_frames.append(comparison.dynamics.assign(model_a=comparison.model_a, model_b=comparison.model_b))
        figure_name = f"layers_{k}.png"
        _plot_layers(comparison, presets, out / figure_name)
        if len(comparison.distances):
            heat[pair] = comparison.distances.groupby("variable")["hellinger"].mean()
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in comparison.notes) or "<li>none</li>"
        sections.append(
            f"<h2>{html.escape(pair)}</h2>"
            f"<p>Layers compared: {html.escape(format_layers(comparison.matched_layers))} ft.</p>"
            f"<ul>{notes}</ul>{comparison.distances.round(4).to_html(index=False)}"
            f"<h3>Dynamics per layer</h3>{comparison.dynamics.round(4).to_html(index=False)}"
            f'<img src="{figure_name}" alt="per-layer distributions of {html.escape(pair)}">'
        )
    distances = pd.concat(distance_frames, ignore_index=True) if distance_frames else pd.DataFrame()
    dynamics = pd.concat(dynamics_frames, ignore_index=True) if dynamics_frames else pd.DataFrame()
    distances.to_csv(out / "model_distances.csv", index=False)
    dynamics.to_csv(out / "model_dynamics.csv", index=False)
    heat_html = ""
    if heat:
        table = pd.DataFrame(heat).T.reindex(
            columns=[r for r in COMPARED_ROLES if any(r in h.index for h in heat.values())]
        )
        _heat_map(table, out / "heatmap.png")
        heat_html = '<h2>Distances across models and variables</h2><img src="heatmap.png" alt="heat map">'
    track_html = ""
    if "track" in levels:
        track_html = _track_section(
            models, presets, out, n_tracks, duration_s, seed, layers, record["track_level"]["pairs"]
        )
    if "outcome" in levels:
        track_html += _outcome_section(
            models, out, scenario, logic, encounters, tolerance, metric, seed, layers, record["outcome_level"]["pairs"]
        )
    record["complete"] = True
    record["files"] = sorted({"index.html", "provenance.json"} | {name for name in planned if (out / name).exists()})
    record = _json_safe(record)
    layer_text = f"{format_layers(layers)} ft AGL" if layers else "all layers each pair shares"
    (out / "provenance.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>encsim model comparison</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px}} img{{max-width:100%}}</style></head><body>
<h1>Model-level comparison</h1>
<p>encsim {__version__}; models {html.escape(", ".join(models))}; presets {html.escape(str(presets or {}))}
(applied where a model has the variable); layers {html.escape(layer_text)}. Distributions are exact (chain rule on the
counts), conditioned on the altitude layer; layers are matched by their edges. Hellinger, Jensen-Shannon (base 2) and
total variation are in [0, 1]; Wasserstein-1 is in the variable's units (bin-uniform densities with the zero bin as a
point mass at 0). A manoeuvre is a bin change of any of the acceleration, vertical rate and turn rate.</p>
{heat_html}{"".join(sections)}{track_html}{_provenance_html(record)}</body></html>"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
