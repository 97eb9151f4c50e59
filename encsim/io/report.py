"""`encsim report RUN [RUN...]`: a self-contained HTML report of one or more closed-loop runs.

The page is rendered from the Jinja2 templates packaged in ``encsim/io/templates`` (figures embedded
as base64 PNG): a headline per run (risk ratio, LoWC ratio, alert and nuisance-alert rates with
their 95 % intervals and one plain sentence each), the runs compared (they must fly the same
encounters: same scenario text, seed, encounter ids and weights), weighted closest-approach
displays, alert timing, P(alert) by miss-distance bin, the DO-365 alerting rows of the summary, the
whole summary table and the provenance of every run. Runs are read by
`encsim.io.results_file.read_results` (a run directory through its verified chunk files).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import __version__
from ..checksums import text_sha256
from . import report_figures as figures
from .results_file import read_results

__all__ = ["DifferentEncountersError", "render_run_report", "write_run_report"]


class DifferentEncountersError(ValueError):
    """Runs compared on one page do not fly the same encounters."""


#: the headline's metrics: key, summary row, title
HEADLINE = (
    ("risk", "risk ratio (NMAC)", "Risk ratio (NMAC)"),
    ("lowc", "LoWC ratio", "LoWC ratio"),
    ("alert", "alert rate", "Alert rate"),
    ("nuisance", "nuisance alert rate", "Nuisance-alert rate"),
)
#: columns of the DO-365 alerting table: the summary row's suffix after "L<k> <name>: "
ALERTING_CLASSES = ("timely", "late", "early", "missed", "in window", "nuisance", "short", "alert to LoWC (s)")
#: what each class means (lead = nominal LoWC time - first alert at this level or above)
ALERTING_MEANINGS = {
    "timely": "AT <= lead <= EAT",
    "late": "alerted, but less than AT before LoWC",
    "early": "alerted more than EAT before LoWC",
    "missed": "no alert at this level before LoWC",
    "in window": "timely or late (the DO-365 alerting window)",
    "nuisance": "alert without a nominal LoWC, over all encounters",
    "short": "an alert episode under 4 s, over encounters alerted at this level",
    "alert to LoWC (s)": "weighted median lead time (s; negative: after LoWC)",
}


def _percent(value: float) -> str:
    return f"{100 * value:.3g} %"


def _sentence(key: str, logic: str, row) -> str:
    """One plain sentence for a headline metric (``row`` a `SummaryRow`)."""
    if row is None or row.estimate is None:
        return "Not estimated: " + (row.detail if row is not None else "the run holds no such outcome") + "."
    value, low, high = row.estimate, row.ci_low, row.ci_high
    interval = f"95 % CI {_percent(low)} to {_percent(high)}"
    if key in ("risk", "lowc"):
        event = "NMACs" if key == "risk" else "losses of well clear"
        if value == 1:
            sentence = f"The {logic} logic leaves {event} unchanged (ratio 1, 95 % CI {low:.3g} to {high:.3g})"
        elif high > 1 >= value:
            sentence = (
                f"The {logic} logic removes {_percent(1 - value)} of {event}, but the 95 % interval of the ratio "
                f"({low:.3g} to {high:.3g}) includes no change or an increase"
            )
        elif value <= 1:
            sentence = (
                f"The {logic} logic removes {_percent(1 - value)} of {event} (95 % CI {_percent(1 - high)} to "
                f"{_percent(1 - low)})"
            )
        else:
            sentence = (
                f"The {logic} logic adds {_percent(value - 1)} more {event} "
                f"(ratio {value:.3g}, 95 % CI {low:.3g} to {high:.3g})"
            )
        return sentence + "."
    if key == "alert":
        return f"The {logic} logic alerts in {_percent(value)} of encounters, weighted ({interval})."
    return (
        f"In {_percent(value)} of encounters, weighted, the {logic} logic alerts although the unequipped flight "
        f"stays well clear ({interval})."
    )


def _estimate(row) -> dict:
    if row is None or row.estimate is None:
        return {"value": None, "ci_low": None, "ci_high": None, "text": "not estimated", "interval": ""}
    return {
        "value": row.estimate,
        "ci_low": row.ci_low,
        "ci_high": row.ci_high,
        "text": f"{row.estimate:.3g}",
        "interval": f"{row.ci_low:.3g} - {row.ci_high:.3g}",
    }


def _alerting_table(rows_by_name: dict) -> dict | None:
    """The DO-365 alerting rows as levels x classes, with jitter and SLoWC; None without them."""
    from ..metrics.alerting import ALERT_LEVEL_NAMES

    levels = []
    for level, name in ALERT_LEVEL_NAMES.items():
        cells = [rows_by_name.get(f"L{level} {name}: {item}") for item in ALERTING_CLASSES]
        if all(cell is None for cell in cells):
            continue
        levels.append({"name": f"L{level} {name}", "cells": [_estimate(cell) for cell in cells]})
    if not levels:
        return None
    scope = rows_by_name.get(f"L1 {ALERT_LEVEL_NAMES[1]}: timely")
    scope = scope.detail.removeprefix("AT <= lead <= EAT, ") if scope is not None else ""
    columns = [
        {"name": item, "cells": [level["cells"][k] for level in levels]} for k, item in enumerate(ALERTING_CLASSES)
    ]
    extra = [
        {"name": row.name, **_estimate(row), "detail": row.detail}
        for row in rows_by_name.values()
        if row.name in ("alert jitter", "SLoWC nominal", "SLoWC mitigated")
    ]
    return {"levels": [level["name"] for level in levels], "classes": columns, "scope": scope, "extra": extra}


#: unit suffixes of the closed-loop provenance's keys, and how they read
_UNIT_WORDS = (("_rad_s", " rad/s"), ("_fps", " ft/s"), ("_ft", " ft"), ("_s", " s"), ("_g", " g"))


def _pairs(mapping: dict) -> str:
    """``{"initial_delay_s": 5.0}`` -> ``"initial delay 5 s"`` (turn rates also in deg/s)."""
    parts = []
    for key, value in mapping.items():
        if value is None or isinstance(value, dict | list) or key.endswith("sha256"):
            continue  # the seams' parameter sets and sources: in the identity's full text below
        unit = next(((suffix, word) for suffix, word in _UNIT_WORDS if key.endswith(suffix)), ("", ""))
        name = key[: len(key) - len(unit[0])].replace("_", " ")
        if isinstance(value, str | bool):
            parts.append(f"{name} {value}")
            continue
        text = f"{name} {value:g}{unit[1]}"
        if unit[0] == "_rad_s":
            text += f" ({np.degrees(value):.3g} deg/s)"
        parts.append(text)
    return ", ".join(parts)


def _provenance(path: Path, data: dict) -> list[dict]:
    """The provenance of one run as (field, value[, long]) rows of a readable table."""
    attrs, closed_loop = data["attrs"], data.get("closed_loop", {})

    def attr(key, default="?"):
        value = attrs.get(key, default)
        return value.item() if hasattr(value, "item") else value

    rows = [
        ("source", f"{path} ({data.get('kind', 'file')}, {len(data.get('sources', []))} file(s) read)"),
        ("written by", f"encsim {attr('encsim_version')}; reported by encsim {__version__}"),
        ("written", f"{attr('created_utc')} by {attr('command')}"),
        ("scenario", f"{attr('scenario_name', '')} (text sha256 {text_sha256(str(attr('scenario_text')))})"),
        ("seed", str(attr("seed"))),
        (
            "encounters",
            f"{len(data['metadata']):,} of {int(attr('attempts', 0)):,} attempts "
            f"(acceptance rate {float(attr('acceptance_rate', float('nan'))):.4f})",
        ),
        ("ownship model", f"{attr('ownship_model')} (sha256 {attr('ownship_model_sha256')})"),
        ("intruder model", f"{attr('intruder_model')} (sha256 {attr('intruder_model_sha256')})"),
        ("logic", f"{data.get('logic', '')} ({closed_loop.get('logic_function', '?')})"),
        ("logic source sha256", str(closed_loop.get("logic_source_sha256", "?"))),
        ("pilot", _pairs(closed_loop.get("pilot", {}))),
        ("surveillance", _pairs(closed_loop.get("surveillance", {})) or "perfect"),
        ("decision period", f"{closed_loop.get('decision_period_s', '?')} s"),
        ("well-clear preset", str(closed_loop.get("well_clear", "?"))),
        (
            "NMAC cylinder",
            "radius {:g} ft, half height {:g} ft".format(*closed_loop.get("nmac_cylinder_ft", (np.nan, np.nan))),
        ),
    ]
    rejections = attrs.get("rejections", {})
    if isinstance(rejections, str | bytes):
        rejections = json.loads(rejections)
    shown = {k: int(v) for k, v in sorted(rejections.items(), key=lambda kv: -int(kv[1])) if int(v)}
    table = [{"field": field, "value": value, "long": ""} for field, value in rows]
    table.append(
        {"field": "rejections", "long": "", "value": ", ".join(f"{k} {v:,}" for k, v in shown.items()) or "none"}
    )
    params = closed_loop.get("logic_params", [])
    table.append(
        {"field": "logic parameters", "value": f"{len(params)} values", "long": ", ".join(f"{p:g}" for p in params)}
    )
    if closed_loop.get("daa_config_sha256"):  # the DAA logic's DAIDALUS configuration (encsim.simulate provenance)
        table.append(
            {
                "field": "DAA configuration",
                "value": f"{closed_loop.get('daa_config', '?')} (sha256 {closed_loop['daa_config_sha256']})",
                "long": str(closed_loop.get("daa_config_text", "")),
            }
        )
    identity = attrs.get("identity")
    if identity is not None:
        identity = identity.decode() if isinstance(identity, bytes) else str(identity)
        table.append(
            {
                "field": "identity",
                "value": f"sha256 {text_sha256(identity)}",
                "long": json.dumps(json.loads(identity), indent=1, sort_keys=True),
            }
        )
    return table


def _worst(outcomes, n: int = 5) -> list[dict]:
    """Encounters worth a page of their own: induced and unresolved NMACs, heaviest weight first."""
    nominal, mitigated = outcomes["nominal_nmac"].to_numpy(bool), outcomes["mitigated_nmac"].to_numpy(bool)
    found = []
    for kind, mask in (("induced NMAC", mitigated & ~nominal), ("unresolved NMAC", mitigated & nominal)):
        ranked = outcomes[mask].sort_values("weight", ascending=False, kind="stable").head(n)
        for _, row in ranked.iterrows():
            found.append(
                {
                    "kind": kind,
                    "encounter_id": int(row["encounter_id"]),
                    "weight": float(row["weight"]),
                    "hmd": float(row["mitigated_hmd_ft"]),
                    "vmd": float(row["mitigated_vmd_ft"]),
                    "figure": None,  # the replayed page, when the caller draws it (render_run_report)
                }
            )
    return found


def _load_run(path) -> dict:
    from ..metrics import closed_loop_summary
    from ..simulate import alerting_times
    from .scenario import intruder_layer_edges_ft, parse_scenario, scored_regions_ft

    path = Path(path)
    data = read_results(path)
    if "outcomes" not in data:
        raise ValueError(f"{path} has no closed-loop outcomes: run the scenario with --logic")
    attrs = data["attrs"]
    scenario = parse_scenario(str(attrs["scenario_text"]), source=f"{path} (scenario)", check_models=False)
    rows = closed_loop_summary(
        data["outcomes"],
        alerting_times=alerting_times(data.get("closed_loop")),
        metadata=data["metadata"],
        layer_edges_ft=intruder_layer_edges_ft(scenario),
        regions_ft=scored_regions_ft(scenario),
    )
    return {"path": path, "data": data, "scenario": scenario, "rows": rows, "outcomes": data["outcomes"]}


def _check_same_encounters(runs: list[dict]) -> str:
    """Refuse runs over different encounters; the sentence saying what they share."""
    first = runs[0]
    attrs = first["data"]["attrs"]
    ids = first["data"]["metadata"]["encounter_id"].to_numpy()
    weights = first["data"]["metadata"]["weight"].to_numpy(float)
    for run in runs[1:]:
        other = run["data"]["attrs"]
        where = f"{run['path']} and {first['path']}"
        if str(other["scenario_text"]) != str(attrs["scenario_text"]):
            raise DifferentEncountersError(
                f"{where} fly different encounters: their scenario texts differ "
                f"({other.get('scenario_name', '?')} vs {attrs.get('scenario_name', '?')}); "
                "compare runs of one scenario file, with different logics or settings"
            )
        if int(other["seed"]) != int(attrs["seed"]):
            raise DifferentEncountersError(
                f"{where} fly different encounters: seed {int(other['seed'])} vs {int(attrs['seed'])}"
            )
        meta = run["data"]["metadata"]
        if len(meta) != len(ids) or not np.array_equal(meta["encounter_id"].to_numpy(), ids):
            raise DifferentEncountersError(
                f"{where} fly different encounters: {len(meta):,} vs {len(ids):,} encounters, or other encounter ids "
                "(a different --encounters)"
            )
        if not np.array_equal(meta["weight"].to_numpy(float), weights):
            raise DifferentEncountersError(f"{where} fly different encounters: the encounter weights differ")
    return (
        f"All {len(runs)} runs fly the same {len(ids):,} encounters: the same scenario text "
        f"(sha256 {text_sha256(str(attrs['scenario_text']))[:16]}...), seed {int(attrs['seed'])}, "
        "and identical encounter ids and weights."
    )


def _labels(runs: list[dict]) -> list[str]:
    """Each run's logic; the file or folder name added where two runs share a logic."""
    logics = [str(run["data"].get("logic", "")) for run in runs]
    return [
        logic if logics.count(logic) == 1 else f"{logic} [{run['path'].name or run['path']}]"
        for logic, run in zip(logics, runs)
    ]


def _view(run: dict, label: str) -> dict:
    rows_by_name = {row.name.strip(): row for row in run["rows"]}
    headline = {}
    for key, name, title in HEADLINE:
        row = rows_by_name.get(name)
        headline[key] = {
            "title": title,
            **_estimate(row),
            "sentence": _sentence(key, label, row),
            "notes": list(row.notes) if row is not None else [],
        }
    return {
        "label": label,
        "logic": str(run["data"].get("logic", "")),
        "path": str(run["path"]),
        "outcomes": run["outcomes"],
        "headline": headline,
        "alerting": _alerting_table(rows_by_name),
        "summary": [
            {"name": row.name, **_estimate(row), "detail": row.detail, "notes": list(row.notes)} for row in run["rows"]
        ],
        "provenance": _provenance(run["path"], run["data"]),
        "worst": _worst(run["outcomes"]),
        "weights": figures.weight_summary(run["outcomes"]),
    }


def render_run_report(paths, *, encounter_figure=None, pages_per_run: int = 3) -> str:
    """The HTML page of the runs at ``paths`` (results files or run directories) as text.

    ``encounter_figure(path, encounter_id)``, if given, draws the page of one encounter (a PNG data
    URI, or None when it cannot be replayed): the caller brings it because replaying is above
    ``io`` in the layers (the CLI passes `encsim show`'s figure). It is asked for the first
    ``pages_per_run`` encounters worth a look of each run (heaviest induced, then unresolved NMACs).

    Raises
    ------
    DifferentEncountersError
        For runs that do not fly the same encounters.
    ValueError
        For results without closed-loop outcomes (and `read_results`'s errors for damaged inputs).
    """
    from jinja2 import Environment, PackageLoader, StrictUndefined

    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("give at least one results file or run directory")
    runs = [_load_run(path) for path in paths]
    same = _check_same_encounters(runs) if len(runs) > 1 else ""
    views = [_view(run, label) for run, label in zip(runs, _labels(runs))]
    if encounter_figure is not None:
        for view in views:
            for entry in view["worst"][:pages_per_run]:
                entry["figure"] = encounter_figure(view["path"], entry["encounter_id"])
    scenario = runs[0]["scenario"]
    nmac_cylinder = (scenario.metrics.nmac_radius_ft, scenario.metrics.nmac_half_height_ft)
    attrs = runs[0]["data"]["attrs"]
    environment = Environment(
        loader=PackageLoader("encsim.io", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html.j2").render(
        runs=views,
        scenario_name=str(attrs.get("scenario_name", "")) or "(unnamed scenario)",
        scenario_text=str(attrs["scenario_text"]),
        n_encounters=len(runs[0]["outcomes"]),
        seed=int(attrs["seed"]),
        same_encounters=same,
        class_meanings=ALERTING_MEANINGS,
        nmac_cylinder=nmac_cylinder,
        zoom=figures.ZOOM_NMAC_MULTIPLE,
        figures={
            "ratios": figures.ratio_chart(views),
            "closest": figures.closest_approaches(views, nmac_cylinder),
            "closest_zoom": figures.closest_approaches(views, nmac_cylinder, zoom=True),
            "timing": figures.alert_timing(views),
            "p_alert": figures.alert_probability_by_bin(views),
        },
        version=__version__,
    )


def write_run_report(results_paths, output=None, *, encounter_figure=None, pages_per_run: int = 3) -> Path:
    """Write the HTML report of one or more runs (see `render_run_report`); returns its path.

    ``results_paths`` is one path or a list; the default output is the (first) input with ``.html``.
    The page is written to a temporary name and renamed when complete: never a half-written page.
    """
    if isinstance(results_paths, str | Path):
        results_paths = [results_paths]
    paths = [Path(p) for p in results_paths]
    page = render_run_report(paths, encounter_figure=encounter_figure, pages_per_run=pages_per_run)
    output = Path(output) if output else paths[0].with_suffix(".html")
    tmp = output.with_name(f"{output.name}.partial")
    try:
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    return output
