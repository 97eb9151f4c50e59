"""The HTML page of a sensitivity sweep (`encsim.runner.sweeps`): a figure per varied key and the table.

Rendered from ``templates/sweep.html.j2`` like the run report (`encsim.io.report`), figures embedded
as base64 PNG. Per varied key: the risk ratio and the LoWC ratio with their 95 % intervals against
the key's values, one line per value of a second varied key (any further key held at its baseline
value), and below them the paired differences from the baseline point with their intervals.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from .. import __version__
from . import report_figures as figures

__all__ = ["render_sweep_page", "sweep_figure"]

#: the panels of a key's figure: (column, title)
PANELS = (
    ("risk_ratio", "Risk ratio (NMAC)"),
    ("lowc_ratio", "LoWC ratio"),
    ("risk_ratio_diff", "Risk ratio - baseline's (paired)"),
    ("lowc_ratio_diff", "LoWC ratio - baseline's (paired)"),
)
#: the table's columns on the page: (column, header, format)
PAGE_COLUMNS = (
    ("risk_ratio", "risk ratio (NMAC)"),
    ("lowc_ratio", "LoWC ratio"),
    ("risk_ratio_diff", "risk ratio - baseline"),
    ("lowc_ratio_diff", "LoWC ratio - baseline"),
    ("p_nmac_nominal", "P(NMAC) nominal"),
    ("p_nmac_mitigated", "P(NMAC) mitigated"),
    ("p_lowc_nominal", "P(LoWC) nominal"),
    ("p_lowc_mitigated", "P(LoWC) mitigated"),
    ("alert_rate", "alert rate"),
)


def _numeric(values: list) -> bool:
    return all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in values)


def _positions(values: list) -> tuple[np.ndarray, list[str] | None]:
    """Where each value sits on the x axis: the value itself if numeric, else its rank (with labels)."""
    if _numeric(values):
        return np.asarray(values, dtype=float), None
    return np.arange(len(values), dtype=float), [str(v) for v in values]


def _normal(value):
    """A value as the table and the sweep's definition both hold it: numbers as floats, strings as
    themselves, anything else (booleans, lists) as its JSON text, which is also its TOML text."""
    if isinstance(value, bool | np.bool_):
        return json.dumps(bool(value))
    if _numeric([value]):
        return float(value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _same(a, b) -> bool:
    return _normal(a) == _normal(b)


def sweep_figure(table: pd.DataFrame, key: str, varied: dict, baseline: dict) -> str:
    """The figure of one varied key (a PNG data URI): ratios and paired differences against its values.

    ``varied`` maps every varied key to its values (in the sweep's order), ``baseline`` holds the
    baseline point's values: keys other than ``key`` and the line key are held at them.
    """
    plt = figures._pyplot()
    values = list(varied[key])
    others = [other for other in varied if other != key]
    line_key = others[0] if others else None
    held = {other: baseline[other] for other in others[1:]}
    x, labels = _positions(values)
    span = (x.max() - x.min()) if x.size > 1 else 1.0
    lines = list(varied[line_key]) if line_key else [None]
    figure, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True, sharex=True)
    for k, line in enumerate(lines):
        rows = table
        for other, value in held.items():
            rows = rows[[_same(v, value) for v in rows[other]]]
        if line_key is not None:
            rows = rows[[_same(v, line) for v in rows[line_key]]]
        order = [next((i for i, v in enumerate(values) if _same(v, value)), None) for value in rows[key]]
        rows = rows.assign(_x=[x[i] for i in order]).sort_values("_x")
        # spread the lines a little so that their interval bars do not hide each other
        offset = (k - (len(lines) - 1) / 2) * (0.015 * span if labels is None else 0.08)
        label = None if line_key is None else f"{line_key} = {line}"
        for axis, (column, title) in zip(axes.ravel(), PANELS):
            estimate = rows[column].to_numpy(float)
            low = rows[f"{column}_ci_low"].to_numpy(float)
            high = rows[f"{column}_ci_high"].to_numpy(float)
            axis.errorbar(
                rows["_x"].to_numpy(float) + offset,
                estimate,
                yerr=[np.maximum(estimate - low, 0), np.maximum(high - estimate, 0)],
                fmt="o-" if labels is None else "o",  # categories: no line between them
                capsize=4,
                color=f"C{k}",
                label=label,
            )
            axis.set_title(title, fontsize=10)
    for axis, (column, _) in zip(axes.ravel(), PANELS):
        axis.axhline(1.0 if not column.endswith("diff") else 0.0, color="k", lw=0.8, ls="--")
        axis.grid(alpha=0.3)
        axis.set_ylabel("dot: estimate, bar: 95 % interval", fontsize=8)
    for axis in axes[1]:
        axis.set_xlabel(key)
        if labels is not None:
            axis.set_xticks(x, labels)
    if line_key is not None:
        axes[0, 0].legend(fontsize=8)
    held_text = ", ".join(f"{k} = {v}" for k, v in held.items())
    figure.suptitle(f"{key}" + (f" ({held_text})" if held_text else ""), fontsize=11)
    return figures.png_uri(figure)


def _cell(row, column: str) -> dict:
    value = row[column]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {"text": "not estimated", "interval": ""}
    signed = column.endswith("diff")
    text = f"{value:+.3g}" if signed else f"{value:.3g}"
    low, high = row[f"{column}_ci_low"], row[f"{column}_ci_high"]
    return {"text": text, "interval": f"{low:+.3g} to {high:+.3g}" if signed else f"{low:.3g} - {high:.3g}"}


def drawn_keys(varied: dict) -> list[str]:
    """The keys that get a figure: those given more than one value (a key given one value is a setting of
    every point, not a dimension of the sweep), or the first key when none varies.

    >>> drawn_keys({"surveillance.model": ["radar"], "surveillance.radar.azimuth_limit_deg": [30, 60, 110]})
    ['surveillance.radar.azimuth_limit_deg']
    >>> drawn_keys({"logic": ["daa"]})
    ['logic']
    """
    keys = list(varied)
    return [key for key in keys if len(varied[key]) > 1] or keys[:1]


def render_sweep_page(table: pd.DataFrame, provenance: dict, scenario_text: str) -> str:
    """The sweep's HTML page as text (``provenance`` as `encsim.runner.sweeps` records it)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    varied = provenance["vary"]
    baseline = provenance["baseline"]
    keys = list(varied)
    rows = []
    for _, row in table.iterrows():
        rows.append(
            {
                "point": row["directory"],
                "values": [row[key] for key in keys],
                "baseline": bool(row["baseline"]),
                "cells": [_cell(row, column) for column, _ in PAGE_COLUMNS],
                "notes": row["notes"] if isinstance(row["notes"], str) else "",
            }
        )
    environment = Environment(
        loader=PackageLoader("encsim.io", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    plots = [{"key": key, "uri": sweep_figure(table, key, varied, baseline)} for key in drawn_keys(varied)]
    return environment.get_template("sweep.html.j2").render(
        provenance=provenance,
        keys=keys,
        headers=[header for _, header in PAGE_COLUMNS],
        rows=rows,
        plots=plots,
        n_points=len(table),
        n_encounters=int(table["encounters"].iloc[0]),
        scenario_text=scenario_text,
        version=__version__,
    )
