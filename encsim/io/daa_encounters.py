"""Generated encounters as DAIDALUS ``.daa`` files (``encsim encounters ... --daa DIR``).

One file per encounter, ``encounter_<id>.daa`` (the id zero-padded to 6 digits), holding the
nominal (unmitigated) trajectories at 1 Hz, the ownship first (``ownship``, then ``intruder``),
so DAIDALUS users can replay encsim's encounter sets in their own tools and `encsim daa` can
replay them through encsim's DAA logic.

- Without an anchor: Euclidean ``sx sy sz`` = local east, north (nmi) and altitude above ground
  (ft), the ownship starting at sx = sy = 0.
- With an anchor (the scenario's ``[anchor]`` table, or ``anchor=``): geodetic ``lat lon alt``
  with DAIDALUS's own conventions (`encsim.io.daa_file`): the local east/north plane is the plane
  tangent at the anchor to DAIDALUS's sphere (one nautical mile per arc-minute), each point taken
  to the sphere by the inverse of its orthographic projection (`plane_to_geodetic`), velocities
  turned into each point's own east/north (`plane_velocity_to_geodetic`); ``alt`` is the altitude
  above the ground plus the anchor's ground altitude (no Earth curvature in altitude, as DAIDALUS).
  Read back with `read_daa` and projected at the anchor (`project_to_plane`, `project_geodetic`),
  positions come back within 1e-6 ft and velocities within 1e-3 ft/s of the flown ones for
  encounters within a few tens of nautical miles of the anchor (tests/test_daa_encounters.py).
  This is not the WGS-84 placement of `encsim.io.geodetic` (PROJ, ellipsoid): a .daa file is
  read on DAIDALUS's sphere, so it is written on it.

Velocities are the flown ground velocity (V cos(pitch) along the heading, V sin(pitch) up).
Provenance travels as ``#`` comment lines: encsim version, scenario name and sha256, seed,
encounter id and the frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..checksums import text_sha256
from ..dynamics import Trajectories, fly_commands
from .daa_file import plane_to_geodetic, plane_velocity_to_geodetic, write_daa

__all__ = ["daa_file_name", "encounter_rows", "write_encounters_daa", "write_flown_daa"]

#: aircraft names in the written files (the ownship first: DAIDALUS takes the first as ownship)
AIRCRAFT_NAMES = ("ownship", "intruder")
#: recording rate of the written files
OUTPUT_HZ = 1.0


def daa_file_name(encounter_id: int) -> str:
    """``encounter_000042.daa``: the file of one encounter."""
    return f"encounter_{int(encounter_id):06d}.daa"


def _anchor_dict(anchor) -> dict | None:
    if anchor is None:
        return None
    if isinstance(anchor, dict):
        ground = float(anchor.get("ground_alt_ft", 0.0))
        return {"lat_deg": float(anchor["lat_deg"]), "lon_deg": float(anchor["lon_deg"]), "ground_alt_ft": ground}
    return {"lat_deg": anchor.lat_deg, "lon_deg": anchor.lon_deg, "ground_alt_ft": anchor.ground_alt_ft}


def encounter_rows(own: Trajectories, intruder: Trajectories, row: int, anchor: dict | None = None) -> pd.DataFrame:
    """The `DaaFile.rows` layout of encounter ``row`` of two flown trajectory sets, ownship first at each time."""
    frames = []
    for name, flown in zip(AIRCRAFT_NAMES, (own, intruder), strict=True):
        east, north, up = flown.east_ft[row], flown.north_ft[row], flown.up_ft[row]
        horizontal = flown.speed_fps[row] * np.cos(flown.pitch_rad[row])
        vx = horizontal * np.sin(flown.heading_rad[row])
        vy = horizontal * np.cos(flown.heading_rad[row])
        frame = pd.DataFrame({"time_s": flown.t_s, "aircraft": name, "alt_ft": up, "vz_fps": flown.hdot_fps[row]})
        if anchor is None:
            frame["x_ft"], frame["y_ft"], frame["vx_fps"], frame["vy_fps"] = east, north, vx, vy
            frame["lat_deg"] = frame["lon_deg"] = np.nan
        else:
            lat0, lon0 = anchor["lat_deg"], anchor["lon_deg"]
            frame["lat_deg"], frame["lon_deg"] = plane_to_geodetic(east, north, lat0, lon0)
            frame["vx_fps"], frame["vy_fps"] = plane_velocity_to_geodetic(east, north, vx, vy, lat0, lon0)
            frame["alt_ft"] = up + anchor["ground_alt_ft"]
            frame["x_ft"] = frame["y_ft"] = np.nan
        frame["order"] = len(frames)
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True).sort_values(["time_s", "order"], kind="stable")
    rows["alerter"] = 1
    columns = ["time_s", "aircraft", "lat_deg", "lon_deg", "x_ft", "y_ft", "alt_ft", "vx_fps", "vy_fps", "vz_fps"]
    return rows[[*columns, "alerter"]].reset_index(drop=True)


def _comment(provenance: dict, encounter_id: int, anchor: dict | None) -> str:
    lines = [f"encsim {provenance.get('encsim_version', '')} encounter {encounter_id}: nominal trajectories at 1 Hz"]
    for key in ("scenario_name", "scenario_sha256", "seed"):
        if provenance.get(key) not in (None, ""):
            lines.append(f"{key}: {provenance[key]}")
    lines.append(f"encounter_id: {encounter_id}")
    if anchor is None:
        lines.append("frame: Euclidean; sx/sy local east/north from the ownship's start, sz altitude above ground")
    else:
        lines.append(
            f"frame: geodetic on DAIDALUS's sphere, tangent plane at anchor {anchor['lat_deg']!r}, "
            f"{anchor['lon_deg']!r}; alt = altitude above ground + {anchor['ground_alt_ft']!r} ft"
        )
    return "\n".join(lines)


def write_flown_daa(
    encounter_ids, own: Trajectories, intruder: Trajectories, out_dir, *, anchor=None, provenance=None
) -> list[Path]:
    """Write already flown trajectories (row k = encounter ``encounter_ids[k]``) as .daa files in ``out_dir``.

    ``anchor``: None (Euclidean) or a dict / `AnchorSpec` with ``lat_deg``, ``lon_deg``,
    ``ground_alt_ft``. ``provenance``: ``encsim_version``, ``scenario_name``, ``scenario_sha256``,
    ``seed`` for the comment lines. Returns the written paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    anchor = _anchor_dict(anchor)
    provenance = dict(provenance or {})
    paths = []
    for row, encounter_id in enumerate(np.asarray(encounter_ids, dtype=np.int64)):
        path = out / daa_file_name(encounter_id)
        rows = encounter_rows(own, intruder, row, anchor)
        write_daa(path, rows, geodetic=anchor is not None, comment=_comment(provenance, int(encounter_id), anchor))
        paths.append(path)
    return paths


def write_encounters_daa(encounters, out_dir, *, anchor=None, duration_s: float | None = None) -> list[Path]:
    """Write each encounter of an `EncounterSet` as one .daa file (nominal trajectories, 1 Hz, ownship first).

    Parameters
    ----------
    encounters : EncounterSet
        From `encsim.encounters.generate_encounters`.
    out_dir : str or Path
        Folder (created if needed); one ``encounter_<id>.daa`` per encounter.
    anchor : dict or AnchorSpec, optional
        Geodetic placement of the local origin (the ownship's start); default the scenario's
        ``[anchor]``, Euclidean files without one.
    duration_s : float, optional
        Length written (default the scenario's ``geometry.duration_s``).

    Returns
    -------
    list of Path
    """
    from .. import __version__

    scenario = encounters.scenario
    duration = float(scenario.geometry.duration_s if duration_s is None else duration_s)
    if anchor is None:
        anchor = scenario.anchor
    # a set whose aircraft fly other limits than the MIT LL ones carries them (own_limits, int_limits)
    own_limits, int_limits = getattr(encounters, "own_limits", None), getattr(encounters, "int_limits", None)
    own = fly_commands(
        encounters.own_initial, encounters.ownship.schedule, duration, limits=own_limits, output_hz=OUTPUT_HZ
    )
    intruder = fly_commands(
        encounters.int_initial, encounters.intruder.schedule, duration, limits=int_limits, output_hz=OUTPUT_HZ
    )
    provenance = {
        "encsim_version": __version__,
        "scenario_name": scenario.name,
        "scenario_sha256": text_sha256(encounters.scenario_text),
        "seed": int(scenario.run.seed),
    }
    ids = encounters.metadata["encounter_id"].to_numpy()
    return write_flown_daa(ids, own, intruder, out_dir, anchor=anchor, provenance=provenance)
