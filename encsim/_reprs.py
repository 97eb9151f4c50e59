"""Short text and HTML representations of encsim's containers (models, track samples, encounter sets).

The classes keep only one-line ``__repr__``/``_repr_html_`` methods that call these, so that a
notebook shows a few informative lines (and a small table) instead of every array.
"""

from __future__ import annotations

import html

_HEAD_ROWS = 5


def _ids(ids) -> str:
    if len(ids) == 0:
        return "none"
    first, last = int(ids[0]), int(ids[-1])
    return f"{first}" if len(ids) == 1 else f"{first}-{last}"


def _counts(rejections: dict) -> int:
    return int(sum(int(v) for v in (rejections or {}).values()))


def _html(lines: list[str], table_html: str = "") -> str:
    header = "<br>".join(html.escape(line) for line in lines)
    return f"<div><div style='font-family:monospace'>{header}</div>{table_html}</div>"


# ---------------------------------------------------------------------------------- models


def model_lines(model) -> list[str]:
    dynamic = f"{len(model.dynamic_variables)} dynamic" if model.has_transitions else "static network"
    lines = [f"EncounterModel {model.name}: {model.n_variables} variables ({', '.join(model.labels)}), {dynamic}"]
    entry = model.entry
    if entry is not None:
        low, high = entry.altitude_scope_ft
        scope = f"{low:,.0f}-{'inf' if high == float('inf') else f'{high:,.0f}'} ft {entry.altitude_reference}"
        lines.append(f"  {entry.aircraft_class}; {entry.data_source}; {scope}")
    source = model.path.name if model.path is not None else "(no file)"
    lines.append(
        f"  sha256 {model.sha256[:12]}..., file {source}" + (f"; {len(model.quirks)} quirks" if model.quirks else "")
    )
    return lines


def model_repr(model) -> str:
    return "<" + "\n".join(model_lines(model)) + ">"


def model_html(model) -> str:
    import pandas as pd

    rows = [
        {
            "label": row["label"],
            "meaning": row["meaning"],
            "bins": row["bins"],
            "units": row["units"],
            "edges": "*" if row["edges"] is None else " ".join(f"{e:g}" for e in row["edges"]),
            "parents": ", ".join(row["parents"]),
            "dynamic": "yes" if row["dynamic"] else "",
        }
        for row in model.describe_variables()
    ]
    return _html(model_lines(model), pd.DataFrame(rows).to_html(index=False))


# ---------------------------------------------------------------------------------- track samples


def sample_lines(sample) -> list[str]:
    presets = ", ".join(f"{k}={v}" for k, v in (sample.presets or {}).items()) or "none"
    ids = sample.initial["track_id"].to_numpy() if "track_id" in sample.initial else []
    return [
        f"TrackSample {sample.n_tracks:,} tracks of {sample.duration_s} s from {sample.model_name} "
        f"(seed {sample.seed}, ids {_ids(ids)}, presets {presets})",
        f"  {int(sample.schedule.offsets[-1]):,} command rows; rejected and redrawn: {_counts(sample.rejections):,}",
        "  .initial .schedule .schedule_bins .bin_changes .resamples .rejections",
    ]


def sample_repr(sample) -> str:
    return "<" + "\n".join(sample_lines(sample)) + ">"


def sample_html(sample) -> str:
    return _html(
        sample_lines(sample), sample.initial.head(_HEAD_ROWS).to_html(index=False, float_format="{:.4g}".format)
    )


def flown_repr(flown) -> str:
    t_s = flown.trajectories.t_s
    rate = f"{1.0 / (t_s[1] - t_s[0]):g} Hz" if len(t_s) > 1 else "one record"
    lines = [
        f"FlownTracks {flown.sample.n_tracks:,} tracks flown, recorded at {rate} ({len(t_s)} records); "
        f"flights rejected and redrawn: {_counts(flown.rejections):,}",
        "  sample: " + sample_lines(flown.sample)[0],
        "  .sample .trajectories .rejections .limits",
    ]
    return "<" + "\n".join(lines) + ">"


# ---------------------------------------------------------------------------------- encounter sets


def _aircraft_name(spec) -> str:
    """A scenario aircraft: its model, or a small-UAS mission's pattern and performance."""
    model = getattr(spec, "model", None)
    return model if model is not None else f"small UAS {spec.pattern} ({spec.performance})"


def encounters_lines(encounters) -> list[str]:
    metadata = encounters.metadata
    scenario = encounters.scenario
    nominal = (
        f"nominal: {int(metadata['nmac'].sum())} NMAC, {int(metadata['lowc'].sum())} LoWC (unweighted counts)"
        if {"nmac", "lowc"} <= set(metadata.columns)
        else "nominal outcomes: none"
    )
    return [
        f"EncounterSet {encounters.n_encounters:,} encounters of {scenario.name or 'a scenario'} (seed "
        f"{encounters.seed}, ids {_ids(metadata['encounter_id'].to_numpy())}), acceptance rate "
        f"{encounters.acceptance_rate:.4f}",
        f"  ownship {_aircraft_name(scenario.ownship)}, intruder {_aircraft_name(scenario.intruder)}; "
        f"{scenario.geometry.duration_s} s each",
        f"  {nominal}; trajectories {'kept' if encounters.trajectories is not None else 'not kept'}",
        "  .metadata .ownship .intruder .own_initial .int_initial .rejections",
    ]


def encounters_repr(encounters) -> str:
    return "<" + "\n".join(encounters_lines(encounters)) + ">"


def encounters_html(encounters) -> str:
    columns = [
        c for c in ("encounter_id", "weight", "hmd_ft", "vmd_ft", "tca_s", "nmac", "lowc") if c in encounters.metadata
    ]
    table = encounters.metadata[columns].head(_HEAD_ROWS).to_html(index=False, float_format="{:.4g}".format)
    return _html(encounters_lines(encounters), table)
