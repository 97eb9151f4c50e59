"""encsim export and the standalone results file: every export read back without encsim's readers."""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET

import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import small_scenario_text

import encsim
from encsim.cli import main
from encsim.export import KML_NAMESPACE, export_results, parse_lat_lon
from encsim.io.geodetic import geodetic_to_enu
from encsim.io.standalone import write_standalone_results
from encsim.units import M_PER_FT

ANCHOR = "42.36,-71.01,20"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    scenario = folder / "small.toml"
    scenario.write_text(small_scenario_text("small", encounters=20, chunk_size=10))
    result = CliRunner().invoke(
        main, ["run", str(scenario), "--logic", "daa", "-o", str(folder / "run"), "--workers", "0", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    return folder / "run"


def export(*arguments):
    return CliRunner().invoke(main, ["export", *map(str, arguments)])


def test_csv_and_parquet_read_back_by_pandas_equal_the_table(run_dir, tmp_path):
    table = encsim.open_results(run_dir).table()
    assert export(run_dir, "--format", "csv", "-o", tmp_path / "t.csv").exit_code == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "t.csv"), table, check_exact=True)
    provenance = json.loads((tmp_path / "t.csv.provenance.json").read_text())
    assert (
        provenance["logic"] == "daa"
        and provenance["closed_loop"]["logic"]
        and "[geometry]" in provenance["scenario_text"]
    )
    pytest.importorskip("pyarrow", reason="the parquet extra (also in dev) provides pyarrow")
    import pyarrow.parquet as pq

    result = export(run_dir, "--format", "parquet", "-o", tmp_path / "t.parquet")
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), table, check_exact=True)
    metadata = pq.read_schema(tmp_path / "t.parquet").metadata
    assert json.loads(metadata[b"encsim_provenance"])["n_encounters"] == 20


def test_parquet_without_pyarrow_says_which_extra(run_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    result = export(run_dir, "--format", "parquet", "-o", tmp_path / "t.parquet")
    assert result.exit_code == 2 and "pip install 'encsim[parquet]'" in result.output


def test_geojson_trajectories_are_the_replayed_flights_placed_at_the_anchor(run_dir, tmp_path):
    results = encsim.open_results(run_dir)
    result = export(run_dir, "--format", "geojson", "-o", tmp_path / "t.geojson", "--anchor", ANCHOR, "--ids", "4,1")
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "t.geojson").read_text())
    assert document["type"] == "FeatureCollection" and len(document["features"]) == 4
    anchor = parse_lat_lon(ANCHOR)
    _, own, intruder = results.nominal_trajectories([4, 1])
    flown = {"ownship": own, "intruder": intruder}
    for feature in document["features"]:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "LineString"
        properties = feature["properties"]
        row = 0 if properties["encounter_id"] == 4 else 1
        coordinates = np.array(feature["geometry"]["coordinates"])
        assert coordinates.shape == (61, 3) and len(properties["t_s"]) == 61  # 60 s at 1 Hz
        assert np.all(np.abs(coordinates[:, 0]) <= 180) and np.all(np.abs(coordinates[:, 1]) <= 90)  # lon, lat
        stored = results.table().set_index("encounter_id").loc[properties["encounter_id"]]
        assert properties["weight"] == stored["weight"] and properties["mitigated_nmac"] == bool(
            stored["mitigated_nmac"]
        )
        east, north, up = geodetic_to_enu(
            coordinates[:, 1],
            coordinates[:, 0],
            coordinates[:, 2] / M_PER_FT,
            anchor["lat_deg"],
            anchor["lon_deg"],
            20.0,
        )
        track = flown[properties["role"]]
        for got, expected in ((east, track.east_ft), (north, track.north_ft), (up, track.up_ft)):
            np.testing.assert_allclose(got, expected[row], atol=0.05)  # 1e-8 deg and 1 cm of rounding
    own_start = next(f for f in document["features"] if f["properties"]["role"] == "ownship")["geometry"]
    np.testing.assert_allclose(own_start["coordinates"][0][:2], [-71.01, 42.36], atol=1e-8)  # the ownship starts there


def test_kml_reads_back_with_xml_etree(run_dir, tmp_path):
    result = export(run_dir, "--format", "kml", "-o", tmp_path / "t.kml", "--anchor", "42.36,-71.01")
    assert result.exit_code == 0, result.output
    root = ET.parse(tmp_path / "t.kml").getroot()
    ns = {"k": KML_NAMESPACE}
    assert root.tag == f"{{{KML_NAMESPACE}}}kml"
    folders = root.findall("k:Document/k:Folder", ns)
    assert len(folders) == 20 and [f.find("k:name", ns).text for f in folders][:2] == ["encounter 0", "encounter 1"]
    placemarks = root.findall(".//k:Placemark", ns)
    assert len(placemarks) == 40
    first = placemarks[0]
    assert first.find("k:LineString/k:altitudeMode", ns).text == "absolute"
    points = [tuple(map(float, p.split(","))) for p in first.find("k:LineString/k:coordinates", ns).text.split()]
    assert len(points) == 61 and points[0][:2] == pytest.approx((-71.01, 42.36), abs=1e-8)
    data = {d.get("name"): d.find("k:value", ns).text for d in first.findall("k:ExtendedData/k:Data", ns)}
    assert data["role"] == "ownship" and data["encounter_id"] == "0"


def test_the_standalone_file_read_from_another_folder_equals_the_run_directory(run_dir, tmp_path):
    written = write_standalone_results(run_dir, tmp_path / "a" / "standalone.h5")
    moved = tmp_path / "elsewhere" / "copy.h5"
    moved.parent.mkdir()
    shutil.move(written, moved)
    with h5py.File(moved, "r") as f:
        datasets = []
        f.visititems(lambda name, item: datasets.append(item) if isinstance(item, h5py.Dataset) else None)
        assert datasets and not any(d.is_virtual for d in datasets)  # real data, no links to chunk files
    original, copy = encsim.open_results(run_dir), encsim.open_results(moved)
    pd.testing.assert_frame_equal(copy.outcomes, original.outcomes, check_exact=True)
    pd.testing.assert_frame_equal(copy.metadata, original.metadata, check_exact=True)
    pd.testing.assert_frame_equal(copy.summary(), original.summary())
    assert (
        copy.scenario_text == original.scenario_text
        and copy.provenance["closed_loop"] == original.provenance["closed_loop"]
    )
    assert copy.rejections == original.rejections and copy.provenance["standalone_of"] == "run"
    for a, b in zip(copy.nominal_trajectories([3])[1:], original.nominal_trajectories([3])[1:]):
        np.testing.assert_array_equal(a.up_ft, b.up_ft)
    # the CLI writes the same file
    assert export(run_dir, "--format", "h5", "-o", tmp_path / "cli.h5").exit_code == 0
    pd.testing.assert_frame_equal(encsim.open_results(tmp_path / "cli.h5").outcomes, original.outcomes)
    with pytest.raises(ValueError, match="overwrite"):
        write_standalone_results(moved, moved)


def test_export_refusals_are_clear(run_dir, tmp_path):
    result = export(run_dir, "--format", "kml", "-o", tmp_path / "t.kml")
    assert result.exit_code == 2 and "give an anchor (--anchor LAT,LON)" in result.output
    result = export(run_dir, "--format", "geojson", "-o", tmp_path / "t.geojson", "--anchor", "91,0")
    assert result.exit_code == 2 and "latitude 91.0 deg is outside [-90, 90]" in result.output
    result = export(run_dir, "--format", "geojson", "-o", tmp_path / "t.geojson", "--anchor", ANCHOR, "--ids", "7,99")
    assert result.exit_code == 2 and "encounter ids [99]" in result.output
    alone = tmp_path / "alone" / "results.h5"
    alone.parent.mkdir()
    shutil.copy(run_dir / "results.h5", alone)
    result = export(alone, "--format", "csv", "-o", tmp_path / "t.csv")
    assert result.exit_code == 2 and "joined file" in result.output and not (tmp_path / "t.csv").exists()
    with pytest.raises(ValueError, match="format 'xlsx'"):
        export_results(run_dir, tmp_path / "t.xlsx", "xlsx")
