"""The figures of the run report (`encsim.io.report`): matplotlib, returned as base64 PNG data URIs.

Every figure has a title and labelled axes; every display of encounters is weighted (the encounter
sets are importance-sampled), and the captions in the report's template say how.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

#: NMAC outcome categories of one encounter: label, colour, (nominal NMAC, mitigated NMAC)
NMAC_CATEGORIES = (
    ("no NMAC", "#9a9a9a", (False, False)),
    ("resolved", "tab:green", (True, False)),
    ("unresolved", "tab:red", (True, True)),
    ("induced", "tab:purple", (False, True)),
)
#: marker area (pt^2) of an encounter of the median weight in the closest-approach displays
MEDIAN_MARKER_AREA = 12.0


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_uri(figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI (closed afterwards)."""
    plt = _pyplot()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def ratio_chart(runs: list[dict]) -> str:
    """Risk ratio and LoWC ratio with their 95 % intervals, one row per run (a forest plot)."""
    plt = _pyplot()
    labels = [run["label"] for run in runs]
    height = 1.2 + 0.45 * len(runs)
    figure, axes = plt.subplots(1, 2, figsize=(11, height), constrained_layout=True, sharey=True)
    y = np.arange(len(runs))[::-1]
    for axis, key, title in zip(axes, ("risk", "lowc"), ("Risk ratio (NMAC)", "LoWC ratio")):
        for row, run in zip(y, runs):
            estimate = run["headline"][key]
            if estimate["value"] is None:
                axis.text(0.02, row, "not estimated", va="center", fontsize=8, color="0.4")
                continue
            low, high = estimate["ci_low"], estimate["ci_high"]
            axis.errorbar(
                estimate["value"],
                row,
                xerr=[[estimate["value"] - low], [high - estimate["value"]]],
                fmt="o",
                color="tab:blue",
                capsize=4,
            )
        axis.axvline(1.0, color="k", lw=0.8, ls="--")
        axis.set_xlim(left=0)
        axis.set_title(f"{title}: mitigated / nominal probability (1 = no change)", fontsize=10)
        axis.set_xlabel(f"{title.split(' (')[0]} (dot: estimate, bar: 95 % interval)")
        axis.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, labels)
    axes[0].set_ylim(-0.6, len(runs) - 0.4)
    return png_uri(figure)


def _marker_areas(weights: np.ndarray) -> np.ndarray:
    median = float(np.median(weights)) if weights.size else 1.0
    return MEDIAN_MARKER_AREA * weights / median


#: the zoomed closest-approach display spans this many NMAC radii and half heights
ZOOM_NMAC_MULTIPLE = 4.0


def closest_approaches(runs: list[dict], nmac_cylinder_ft: tuple[float, float], *, zoom: bool = False) -> str:
    """Nominal HMD/VMD (once: the runs share their encounters) and each run's mitigated HMD/VMD.

    Marker area proportional to the weight; colour the NMAC outcome; one pair of axes for all
    (with ``zoom``, ZOOM_NMAC_MULTIPLE times the NMAC cylinder, whatever lies inside).
    """
    plt = _pyplot()
    panels = [("nominal (no logic)", runs[0]["outcomes"], "nominal")]
    panels += [(f"mitigated: {run['label']}", run["outcomes"], "mitigated") for run in runs]
    columns = min(len(panels), 3)
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(4.3 * columns, 5.0 * rows + 0.6), constrained_layout=True, squeeze=False
    )
    hmd_max = max(float(np.nanmax(o[f"{arm}_hmd_ft"])) for _, o, arm in panels)
    vmd_max = max(float(np.nanmax(o[f"{arm}_vmd_ft"])) for _, o, arm in panels)
    for axis, (title, outcomes, arm) in zip(axes.flat, panels):
        weights = outcomes["weight"].to_numpy(float)
        areas = _marker_areas(weights)
        nominal, mitigated = outcomes["nominal_nmac"].to_numpy(bool), outcomes["mitigated_nmac"].to_numpy(bool)
        for label, colour, (nom, mit) in NMAC_CATEGORIES:
            mask = (nominal == nom) & (mitigated == mit)
            background = not (nom or mit)  # the NMAC outcomes are drawn above the rest, outlined
            share = weights[mask].sum() / weights.sum()
            axis.scatter(
                outcomes[f"{arm}_hmd_ft"].to_numpy(float)[mask],
                outcomes[f"{arm}_vmd_ft"].to_numpy(float)[mask],
                s=areas[mask],
                color=colour,
                alpha=0.35 if background else 0.9,
                edgecolors="none" if background else "k",
                linewidths=0.4,
                zorder=1 if background else 3,
                label=f"{label}: {int(mask.sum())} enc., {share:.2%} of weight",
            )
        axis.add_patch(
            plt.Rectangle((0, 0), *nmac_cylinder_ft, fill=False, ec="k", lw=1.0, ls=":", label="NMAC cylinder")
        )
        if zoom:
            axis.set_xlim(0, ZOOM_NMAC_MULTIPLE * nmac_cylinder_ft[0])
            axis.set_ylim(0, ZOOM_NMAC_MULTIPLE * nmac_cylinder_ft[1])
        else:
            axis.set_xlim(0, hmd_max * 1.03)
            axis.set_ylim(0, vmd_max * 1.05)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("horizontal miss distance HMD (ft)")
        axis.set_ylabel("vertical miss distance |VMD| (ft)")
        legend = axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
        for handle in legend.legend_handles:  # legend markers of one size: the area stands for the weight
            if hasattr(handle, "set_sizes"):
                handle.set_sizes([20.0])
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    _weight_key(figure, runs[0]["outcomes"]["weight"].to_numpy(float))
    where = f"near the NMAC cylinder ({ZOOM_NMAC_MULTIPLE:g} x its size)" if zoom else "all encounters"
    figure.suptitle(
        f"Closest approach per encounter, {where}\n(marker area proportional to the importance weight)", fontsize=11
    )
    return png_uri(figure)


def _weight_key(figure, weights: np.ndarray) -> None:
    """A key of marker areas for three weights (the minimum, the median, the maximum)."""
    plt = _pyplot()
    samples = np.array([weights.min(), np.median(weights), weights.max()])
    handles = [
        plt.scatter([], [], s=float(area), color="0.5", alpha=0.55, linewidths=0)
        for area in _marker_areas_of(samples, weights)
    ]
    figure.legend(
        handles,
        [f"weight {w:.3g}" for w in samples],
        loc="outside lower center",
        ncol=3,
        fontsize=8,
        frameon=False,
        title="marker area by weight (min, median, max)",
        title_fontsize=8,
    )


def _marker_areas_of(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return MEDIAN_MARKER_AREA * values / float(np.median(weights))


#: line styles of the runs' histograms, so that runs with the same timing stay visible on top of each other
_LINE_STYLES = ("-", "--", ":", "-.")


def _weighted_histogram(axis, values, weights, bins, k, label):
    colours = _pyplot().rcParams["axes.prop_cycle"].by_key()["color"]
    keep = np.isfinite(values)
    total = weights.sum()
    axis.hist(
        values[keep],
        bins=bins,
        weights=weights[keep] / total,
        histtype="step",
        lw=1.8,
        color=colours[k % len(colours)],
        ls=_LINE_STYLES[k % len(_LINE_STYLES)],
        label=label,
    )


def alert_timing(runs: list[dict]) -> str:
    """Weighted distributions of the first alert relative to nominal LoWC, and of the pilot's response."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.0), constrained_layout=True)
    relative = [
        (o["t_first_alert_s"] - o["nominal_t_lowc_s"]).to_numpy(float)[o["nominal_lowc"].to_numpy(bool)]
        for o in (run["outcomes"] for run in runs)
    ]
    finite = np.concatenate([r[np.isfinite(r)] for r in relative]) if relative else np.zeros(0)
    low, high = (np.floor(finite.min() / 5) * 5, np.ceil(finite.max() / 5) * 5 + 5) if finite.size else (-100, 10)
    bins = np.arange(low, high + 5, 5)
    for k, (run, values) in enumerate(zip(runs, relative)):
        o = run["outcomes"]
        w = o["weight"].to_numpy(float)[o["nominal_lowc"].to_numpy(bool)]
        _weighted_histogram(axes[0], values, w, bins, k, run["label"])
    axes[0].axvline(0, color="k", lw=0.8, ls="--")
    axes[0].set_title("First alert relative to nominal loss of well clear\n(negative: before LoWC)", fontsize=10)
    axes[0].set_xlabel("t first alert - t nominal LoWC (s)")
    axes[0].set_ylabel("weighted share of nominal-LoWC encounters")
    response = []
    for run in runs:
        o = run["outcomes"]
        alerted = o["alerted"].to_numpy(bool)
        response.append(((o["t_first_manoeuvre_s"] - o["t_first_alert_s"]).to_numpy(float)[alerted], alerted))
    finite = np.concatenate([r[np.isfinite(r)] for r, _ in response]) if response else np.zeros(0)
    top = float(np.ceil(finite.max())) + 1 if finite.size else 10.0
    bins = np.arange(0, top + 1, 1.0)
    for k, (run, (values, alerted)) in enumerate(zip(runs, response)):
        w = run["outcomes"]["weight"].to_numpy(float)[alerted]
        _weighted_histogram(axes[1], values, w, bins, k, run["label"])
    axes[1].set_title("Pilot response: first manoeuvre after the first alert\n(positive: after the alert)", fontsize=10)
    axes[1].set_xlabel("t first manoeuvre - t first alert (s)")
    axes[1].set_ylabel("weighted share of alerted encounters")
    for axis, values in zip(axes, (relative, [r for r, _ in response])):
        if not any(np.isfinite(v).any() for v in values):  # e.g. an unequipped run: say so, no empty frame
            axis.text(0.5, 0.5, "no alert in any run", ha="center", va="center", transform=axis.transAxes)
            axis.set_ylim(0, 1)
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    return png_uri(figure)


def _bin_edges(values: np.ndarray, n: int) -> np.ndarray:
    top = float(np.nanmax(values)) if values.size else 1.0
    return np.linspace(0.0, top * 1.0001 + 1e-9, n + 1)


def alert_probability_by_bin(runs: list[dict], n_hmd: int = 8, n_vmd: int = 6) -> str:
    """Weighted P(alert) in bins of nominal HMD and |VMD|, one heat map per run (same bins for all)."""
    plt = _pyplot()
    nominal = runs[0]["outcomes"]
    hmd_edges = _bin_edges(nominal["nominal_hmd_ft"].to_numpy(float), n_hmd)
    vmd_edges = _bin_edges(nominal["nominal_vmd_ft"].to_numpy(float), n_vmd)
    columns = min(len(runs), 3)
    rows = -(-len(runs) // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(max(5.2 * columns, 7.5), 3.9 * rows + 0.8), constrained_layout=True, squeeze=False
    )
    image = None
    for axis, run in zip(axes.flat, runs):
        o = run["outcomes"]
        w = o["weight"].to_numpy(float)
        hmd, vmd = o["nominal_hmd_ft"].to_numpy(float), o["nominal_vmd_ft"].to_numpy(float)
        alerted = o["alerted"].to_numpy(float)
        total, _, _ = np.histogram2d(hmd, vmd, bins=(hmd_edges, vmd_edges), weights=w)
        hits, _, _ = np.histogram2d(hmd, vmd, bins=(hmd_edges, vmd_edges), weights=w * alerted)
        counts, _, _ = np.histogram2d(hmd, vmd, bins=(hmd_edges, vmd_edges))
        with np.errstate(invalid="ignore", divide="ignore"):
            probability = np.where(total > 0, hits / total, np.nan)
        image = axis.pcolormesh(hmd_edges, vmd_edges, probability.T, vmin=0, vmax=1, cmap="viridis")
        for i in range(n_hmd):
            for j in range(n_vmd):
                if counts[i, j]:
                    axis.text(
                        (hmd_edges[i] + hmd_edges[i + 1]) / 2,
                        (vmd_edges[j] + vmd_edges[j + 1]) / 2,
                        f"{probability[i, j]:.2f}\n({int(counts[i, j])})",
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color="w" if probability[i, j] < 0.6 else "k",
                    )
        axis.set_title(f"P(alert): {run['label']}", fontsize=10)
        axis.set_xlabel("nominal HMD (ft)")
        axis.set_ylabel("nominal |VMD| (ft)")
    for axis in list(axes.flat)[len(runs) :]:
        axis.set_visible(False)
    if image is not None:
        figure.colorbar(image, ax=axes, shrink=0.8, label="weighted P(alert)")
    figure.suptitle(
        "Weighted probability of an alert by nominal miss distance\n(each cell: P(alert), encounter count)", fontsize=11
    )
    return png_uri(figure)


def weight_summary(outcomes: pd.DataFrame) -> dict:
    """Weights of an importance-sampled set: range and effective sample size (Kish)."""
    w = outcomes["weight"].to_numpy(float)
    return {
        "min": float(w.min()),
        "median": float(np.median(w)),
        "max": float(w.max()),
        "n_eff": float(w.sum() ** 2 / np.sum(w**2)),
        "n": int(w.size),
    }
