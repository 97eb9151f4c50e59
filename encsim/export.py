"""Exports of a run for tools without encsim: outcome tables (Parquet, CSV) and trajectories (GeoJSON, KML).

- ``parquet`` / ``csv``: `encsim.results.Results.table` (outcomes and metadata, one row per
  encounter, units in the column names). Parquet carries the run's provenance as JSON in its
  schema metadata (key ``encsim_provenance``); a CSV gets it beside it, in ``OUT.provenance.json``.
  Parquet needs pyarrow (``pip install 'encsim[parquet]'``).
- ``geojson`` / ``kml``: the nominal trajectories of both aircraft of every (or the chosen)
  encounter, re-flown from the stored initial states and commands with `encsim.fly_commands`,
  placed on WGS-84 at an anchor (the local origin, where the ownship starts) with
  `encsim.io.geodetic`. GeoJSON (RFC 7946): one LineString Feature per aircraft and encounter,
  coordinates [longitude, latitude, height in metres above the ellipsoid], properties with the
  encounter id, role, weight, times (s) and the encounter's outcomes. KML: one Folder per
  encounter with a Placemark per aircraft (absolute altitudes in metres). Both are written with
  the standard library only.
- ``h5``: a self-contained results file (`encsim.io.standalone.write_standalone_results`).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from .io.geodetic import enu_to_geodetic
from .units import M_PER_FT

__all__ = ["EXPORT_FORMATS", "export_results", "parse_lat_lon"]

EXPORT_FORMATS = ("parquet", "csv", "geojson", "kml", "h5")
KML_NAMESPACE = "http://www.opengis.net/kml/2.2"
#: per-encounter values copied into each trajectory's properties (where the results hold them)
_PROPERTY_COLUMNS = (
    "weight",
    "nominal_hmd_ft",
    "nominal_vmd_ft",
    "nominal_nmac",
    "nominal_lowc",
    "mitigated_hmd_ft",
    "mitigated_vmd_ft",
    "mitigated_nmac",
    "mitigated_lowc",
    "alerted",
    "t_first_alert_s",
    "hmd_ft",
    "vmd_ft",
    "tca_s",
    "nmac",
    "lowc",
)


def parse_lat_lon(text: str) -> dict[str, float]:
    """``"LAT,LON"`` or ``"LAT,LON,GROUND_FT"`` -> an anchor (`encsim.io.geodetic.parse_anchor`).

    Examples
    --------
    >>> parse_lat_lon("42.36,-71.01")
    {'lat_deg': 42.36, 'lon_deg': -71.01, 'ground_alt_ft': 0.0}
    """
    from .io.geodetic import parse_anchor

    parts = str(text).split(",")
    return parse_anchor(text if len(parts) == 3 else f"{text},0")


def _json_value(value):
    """A table value as JSON: numpy scalars unwrapped, NaN and infinities as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _provenance(results) -> dict:
    provenance = results.provenance
    provenance["exported_from"] = str(results.path)
    return provenance


def _write_table(results, out: Path, fmt: str) -> None:
    table = results.table()
    provenance = json.dumps(_provenance(results), default=str)
    if fmt == "csv":
        table.to_csv(out, index=False)
        out.with_name(out.name + ".provenance.json").write_text(provenance)
        return
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError("Parquet needs pyarrow: pip install 'encsim[parquet]' (or export --format csv)") from None
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), b"encsim_provenance": provenance.encode()})
    pq.write_table(arrow, out)


def _placed_trajectories(results, anchor: dict, encounter_ids, output_hz: float):
    """Yield (encounter id, row of the table, role, t_s, lon, lat, height_m) of every aircraft."""
    ids, ownship, intruder = results.nominal_trajectories(encounter_ids, output_hz=output_hz)
    table = results.table().set_index("encounter_id")
    for role, flown in (("ownship", ownship), ("intruder", intruder)):
        lat, lon, alt_ft = enu_to_geodetic(
            flown.east_ft, flown.north_ft, flown.up_ft, anchor["lat_deg"], anchor["lon_deg"], anchor["ground_alt_ft"]
        )
        for k, encounter_id in enumerate(ids):
            yield int(encounter_id), table.loc[encounter_id], role, flown.t_s, lon[k], lat[k], alt_ft[k] * M_PER_FT


def _properties(row, columns) -> dict:
    return {name: _json_value(row[name]) for name in _PROPERTY_COLUMNS if name in columns}


def _write_geojson(results, out: Path, anchor: dict, encounter_ids, output_hz: float) -> None:
    features = []
    columns = set(results.table().columns)
    for encounter_id, row, role, t_s, lon, lat, height_m in _placed_trajectories(
        results, anchor, encounter_ids, output_hz
    ):
        coordinates = [
            [round(float(x), 8), round(float(y), 8), round(float(z), 2)] for x, y, z in zip(lon, lat, height_m)
        ]
        properties = {
            "encounter_id": encounter_id,
            "role": role,
            "flight": "nominal",
            "t_s": [round(float(t), 3) for t in t_s],
            **_properties(row, columns),
        }
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coordinates},
                "properties": properties,
            }
        )
    document = {
        "type": "FeatureCollection",
        "name": str(results.provenance.get("scenario_name", "")),
        "encsim": {"anchor": anchor, "provenance_of": str(results.path), "logic": results.logic},
        "features": features,
    }
    out.write_text(json.dumps(document, separators=(",", ":"), default=str))


def _write_kml(results, out: Path, anchor: dict, encounter_ids, output_hz: float) -> None:
    ET.register_namespace("", KML_NAMESPACE)

    def element(parent, tag, text=None, **attributes):
        node = ET.SubElement(parent, f"{{{KML_NAMESPACE}}}{tag}", attributes)
        if text is not None:
            node.text = str(text)
        return node

    root = ET.Element(f"{{{KML_NAMESPACE}}}kml")
    document = element(root, "Document")
    element(document, "name", f"encsim {results.provenance.get('scenario_name', '')} (nominal trajectories)")
    element(document, "description", f"from {results.path}; anchor {anchor}")
    for role, colour in (("ownship", "ffff0000"), ("intruder", "ff0000ff")):  # aabbggrr: blue, red
        style = element(document, "Style", id=role)
        line = element(style, "LineStyle")
        element(line, "color", colour)
        element(line, "width", 2)
    columns = set(results.table().columns)
    folders: dict[int, ET.Element] = {}
    for encounter_id, row, role, _t_s, lon, lat, height_m in _placed_trajectories(
        results, anchor, encounter_ids, output_hz
    ):
        if encounter_id not in folders:
            folders[encounter_id] = element(document, "Folder")
            element(folders[encounter_id], "name", f"encounter {encounter_id}")
        placemark = element(folders[encounter_id], "Placemark")
        element(placemark, "name", f"{role} {encounter_id}")
        element(placemark, "styleUrl", f"#{role}")
        extended = element(placemark, "ExtendedData")
        for name, value in {"encounter_id": encounter_id, "role": role, **_properties(row, columns)}.items():
            data = element(extended, "Data", name=name)
            element(data, "value", "" if value is None else value)
        line = element(placemark, "LineString")
        element(line, "altitudeMode", "absolute")
        element(line, "coordinates", " ".join(f"{x:.8f},{y:.8f},{z:.2f}" for x, y, z in zip(lon, lat, height_m)))
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)


def export_results(
    run, out_path, fmt: str, *, anchor: dict | None = None, encounter_ids=None, output_hz: float = 1.0
) -> Path:
    """Export the results of ``run`` (results file or run directory) to ``out_path`` as ``fmt``.

    Parameters
    ----------
    run : path-like or encsim.results.Results
        What to export.
    out_path : path-like
        The file to write.
    fmt : {"parquet", "csv", "geojson", "kml", "h5"}
        See the module docstring.
    anchor : dict, optional
        For ``geojson`` and ``kml`` (required): where the local origin lies, as from
        `parse_lat_lon` (``lat_deg``, ``lon_deg``, ``ground_alt_ft``).
    encounter_ids : sequence of int, optional
        Trajectories of these encounters only (default: all).
    output_hz : float
        Trajectory sampling rate (1 Hz by default; 10 Hz is the integration rate).
    """
    from .results import Results, open_results

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    if fmt in ("geojson", "kml") and anchor is None:
        raise ValueError(f"--format {fmt} places trajectories on the Earth: give an anchor (--anchor LAT,LON)")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "h5":
        from .io.standalone import write_standalone_results

        return write_standalone_results(run.path if isinstance(run, Results) else run, out)
    results = run if isinstance(run, Results) else open_results(run)
    if fmt in ("parquet", "csv"):
        _write_table(results, out, fmt)
        return out
    writer = _write_geojson if fmt == "geojson" else _write_kml
    writer(results, out, anchor, encounter_ids, output_hz)
    return out
