"""Plots people would rather look at than read: tracks in plan and profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..units import FT_PER_NM
from .tracks_file import read_geodetic, read_tracks, read_trajectories


def _trajectories_for(path, rows):
    """Stored trajectories, or (for a file sampled without --fly) the tracks flown now as sampled."""
    try:
        return read_trajectories(path, rows), "stored trajectories"
    except ValueError:
        from ..dynamics import fly_commands

        sample = read_tracks(path).take(rows)
        flown = fly_commands(sample.initial_states(), sample.schedule, sample.duration_s, output_hz=10.0)
        return flown, "flown as sampled (no model limits applied)"


def plot_tracks(path, *, count: int = 5, first: int = 0, output=None, geodetic: bool | None = None) -> Path:
    """Plan view and altitude profile of ``count`` tracks of a tracks file; returns the PNG path.

    The plan view is east/north (NM) from each track's start, or, for a file written with an
    anchor (``encsim sample --fly --anchor``), longitude/latitude (deg) with the altitude profile
    in ft above WGS-84. ``geodetic``: None draws geodetic axes when the file has them, True
    requires them (ValueError if the file has none), False always draws local axes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import h5py
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    path = Path(path)
    with h5py.File(path, "r") as f:
        n_tracks = int(f.attrs["n_tracks"])
        model_name = str(f.attrs["model_name"])
        seed = int(f.attrs["seed"])
    if first >= n_tracks:
        raise ValueError(f"--first {first} but the file holds {n_tracks} tracks")
    rows = np.arange(first, min(first + count, n_tracks))
    placed = read_geodetic(path, rows) if geodetic is not False else None
    if geodetic and placed is None:
        raise ValueError(
            "no geodetic trajectories in the file (write them with encsim sample --fly --anchor LAT,LON,GROUND_FT)"
        )
    flown, origin = _trajectories_for(path, rows)
    figure, (plan, profile) = plt.subplots(1, 2, figsize=(12, 5.2), constrained_layout=True)
    if placed is not None:
        anchor, values = placed
        x, y, altitude = values["lon_deg"], values["lat_deg"], values["alt_ft_wgs84"]
        plan.set_xlabel("longitude (deg)")
        plan.set_ylabel("latitude (deg)")
        # one degree of longitude is cos(latitude) degrees of latitude long: keep distances true
        plan.set_aspect(1.0 / max(np.cos(np.radians(anchor["lat_deg"])), 1e-6), adjustable="datalim")
        plan.ticklabel_format(useOffset=False)
        plan.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))  # long labels: fewer ticks
        profile.set_ylabel("altitude (ft above WGS-84)")
        where = f", anchored at {anchor['lat_deg']}, {anchor['lon_deg']}, ground {anchor['ground_alt_ft']} ft"
    else:
        x, y, altitude = flown.east_ft / FT_PER_NM, flown.north_ft / FT_PER_NM, flown.up_ft
        plan.set_xlabel("east (NM)")
        plan.set_ylabel("north (NM)")
        plan.set_aspect("equal", adjustable="datalim")
        profile.set_ylabel("altitude (ft AGL)")
        where = ""
    for k, row in enumerate(rows):
        label = f"track {row}"
        plan.plot(x[k], y[k], lw=1.2, label=label)
        plan.plot(x[k, 0], y[k, 0], "o", color=plan.lines[-1].get_color(), ms=4)
        profile.plot(flown.t_s, altitude[k], lw=1.2, label=label)
    plan.set_title("plan view (dots: start)")
    profile.set_xlabel("time (s)")
    profile.set_title("altitude profile")
    for axis in (plan, profile):
        axis.grid(alpha=0.3)
    profile.legend(fontsize=8, loc="best")
    figure.suptitle(
        f"{model_name}, seed {seed}: tracks {rows[0]}-{rows[-1]} of {n_tracks} ({origin}{where})", fontsize=10
    )
    output = Path(output) if output else path.with_suffix(".png")
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


def plot_encounter(own, intruder, index: int = 0, *, ax=None, title: str | None = None):
    """One encounter in plan (east/north, NM) and profile (altitude vs time); returns the figure.

    ``own`` and ``intruder`` are `Trajectories` (e.g. ``EncounterSet.trajectories``).
    """
    import matplotlib.pyplot as plt

    figure, (plan, profile) = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    for label, flown, colour in (("ownship", own, "tab:blue"), ("intruder", intruder, "tab:red")):
        plan.plot(flown.east_ft[index] / FT_PER_NM, flown.north_ft[index] / FT_PER_NM, color=colour, label=label)
        plan.plot(flown.east_ft[index, 0] / FT_PER_NM, flown.north_ft[index, 0] / FT_PER_NM, "o", color=colour, ms=4)
        profile.plot(flown.t_s, flown.up_ft[index], color=colour, label=label)
    horizontal = np.hypot(intruder.east_ft[index] - own.east_ft[index], intruder.north_ft[index] - own.north_ft[index])
    k = int(np.argmin(horizontal))
    plan.plot(
        [own.east_ft[index, k] / FT_PER_NM, intruder.east_ft[index, k] / FT_PER_NM],
        [own.north_ft[index, k] / FT_PER_NM, intruder.north_ft[index, k] / FT_PER_NM],
        "k:",
        lw=1,
        label="at CPA",
    )
    profile.axvline(own.t_s[k], color="k", ls=":", lw=1)
    plan.set_xlabel("east (NM)")
    plan.set_ylabel("north (NM)")
    plan.set_aspect("equal", adjustable="datalim")
    plan.legend(fontsize=8)
    profile.set_xlabel("time (s)")
    profile.set_ylabel("altitude (ft AGL)")
    for axis in (plan, profile):
        axis.grid(alpha=0.3)
    figure.suptitle(title or f"encounter {index}: HMD {horizontal[k]:.0f} ft at {own.t_s[k]:.1f} s", fontsize=10)
    return figure
