"""`encsim report results.h5`: a self-contained HTML report of a run (figures embedded as PNG)."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import pandas as pd

from .. import __version__
from .encounters_file import read_encounter_file
from .scenario import parse_scenario


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return f'<img src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}" alt="figure">'


def _scatter(outcomes: pd.DataFrame, nmac_radius_ft: float, nmac_half_height_ft: float) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True, sharey=True)
    categories = (
        ("no NMAC", ~outcomes["nominal_nmac"] & ~outcomes["mitigated_nmac"], "tab:gray"),
        ("resolved", outcomes["nominal_nmac"] & ~outcomes["mitigated_nmac"], "tab:green"),
        ("unresolved", outcomes["nominal_nmac"] & outcomes["mitigated_nmac"], "tab:red"),
        ("induced", ~outcomes["nominal_nmac"] & outcomes["mitigated_nmac"], "tab:purple"),
    )
    for axis, run in zip(axes, ("nominal", "mitigated")):
        for label, mask, colour in categories:
            axis.scatter(
                outcomes.loc[mask, f"{run}_hmd_ft"],
                outcomes.loc[mask, f"{run}_vmd_ft"],
                s=6,
                color=colour,
                label=f"{label} ({int(mask.sum())})",
                alpha=0.7,
            )
        axis.axvline(nmac_radius_ft, color="k", lw=0.8, ls=":")  # the scenario's NMAC cylinder
        axis.axhline(nmac_half_height_ft, color="k", lw=0.8, ls=":")
        axis.set_xlabel(f"{run} HMD (ft)")
        axis.set_title(f"{run} run")
    axes[0].set_ylabel("VMD (ft)")
    axes[1].legend(fontsize=8, title="NMAC outcome")
    figure.suptitle("closest approach per encounter, coloured by NMAC outcome (dotted: the NMAC cylinder)", fontsize=10)
    text = _png(figure)
    plt.close(figure)
    return text


def _alert_timeline(outcomes: pd.DataFrame) -> str:
    import matplotlib.pyplot as plt

    alerted = outcomes[outcomes["alerted"]]
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    lead = (alerted["nominal_t_lowc_s"] - alerted["t_first_alert_s"]).dropna()
    axes[0].hist(lead, bins=40, color="tab:blue")
    axes[0].set_xlabel("time from first alert to nominal LoWC (s)")
    axes[0].set_ylabel("encounters")
    response = (alerted["t_first_manoeuvre_s"] - alerted["t_first_alert_s"]).dropna()
    axes[1].hist(response, bins=40, color="tab:orange")
    axes[1].set_xlabel("time from first alert to first manoeuvre (s)")
    text = _png(figure)
    plt.close(figure)
    return text


def write_run_report(results_path, output=None) -> Path:
    """HTML report of a results file from ``encsim run --logic``; returns its path."""
    from ..metrics import closed_loop_summary
    from ..simulate import alerting_times
    from .scenario import intruder_layer_edges_ft

    results_path = Path(results_path)
    stored = read_encounter_file(results_path)
    if "outcomes" not in stored:
        raise ValueError(f"{results_path} has no closed-loop outcomes: run the scenario with --logic")
    outcomes, attrs = stored["outcomes"], stored["attrs"]
    scenario = parse_scenario(str(attrs["scenario_text"]), check_models=False)
    metrics = scenario.metrics
    nmac_cylinder = (metrics.nmac_radius_ft, metrics.nmac_half_height_ft)
    rows = [
        (
            row.name,
            "refused" if row.estimate is None else f"{row.estimate:.4g}",
            row.interval_text(),
            row.detail + "".join(f"; note: {note}" for note in row.notes),
        )
        for row in closed_loop_summary(
            outcomes,
            alerting_times=alerting_times(stored.get("closed_loop")),
            metadata=stored["metadata"],
            layer_edges_ft=intruder_layer_edges_ft(scenario),
        )
    ]
    table = "".join(f"<tr>{''.join(f'<td>{html.escape(str(v))}</td>' for v in row)}</tr>" for row in rows)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>encsim run report</title>
<style>body{{font-family:sans-serif;max-width:1150px;margin:auto}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px}}
pre{{background:#f6f6f6;padding:8px;font-size:12px}}</style></head><body>
<h1>Run report: {html.escape(str(attrs.get("scenario_name", "")))}</h1>
<p>{len(outcomes)} encounters, logic <b>{html.escape(stored.get("logic", ""))}</b>;
acceptance rate {float(attrs["acceptance_rate"]):.4f}; seed {attrs["seed"]};
written by encsim {html.escape(str(attrs["encsim_version"]))}, reported by encsim {__version__}.</p>
<table><tr><th>metric</th><th>estimate</th><th>95 % CI</th><th>detail</th></tr>{table}</table>
<h2>Closest approach, nominal and mitigated</h2>{_scatter(outcomes, *nmac_cylinder)}
<h2>Alert timing</h2>{_alert_timeline(outcomes)}
<h2>Provenance</h2><p>ownship {html.escape(str(attrs["ownship_model"]))}
({html.escape(str(attrs["ownship_model_sha256"]))}), intruder {html.escape(str(attrs["intruder_model"]))}
({html.escape(str(attrs["intruder_model_sha256"]))}); rejections
{html.escape(str(attrs["rejections"]))}; written {html.escape(str(attrs.get("created_utc", "?")))} by
<code>{html.escape(str(attrs.get("command", "?")))}</code>.</p>
<h3>Closed loop</h3><pre>{html.escape(json.dumps(stored.get("closed_loop", {}), indent=1))}</pre>
<h3>Scenario</h3><pre>{html.escape(str(attrs["scenario_text"]))}</pre></body></html>"""
    output = Path(output) if output else results_path.with_suffix(".html")
    tmp = output.with_name(f"{output.name}.partial")  # renamed when complete: never a half-written page
    try:
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    return output
