"""encsim.open_results: results files and run directories as DataFrames, never fill values; reprs and dir(encsim)."""

from __future__ import annotations

import dataclasses
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import PROJECT_ROOT, small_scenario_text

import encsim
from encsim.cli import main
from encsim.io.results_file import ResultsFileError
from encsim.metrics import closed_loop_summary, separation_metrics, weighted_probability
from encsim.results import WORST_BY, describe_rejections, summary_frame


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same 30 encounters flown with the DAA logic as one .h5 file and as a run directory of 3 chunks,
    and as a nominal-only encounter set."""
    folder = tmp_path_factory.mktemp("results")
    scenario = folder / "small.toml"
    scenario.write_text(small_scenario_text("small", encounters=30, chunk_size=10))
    runner = CliRunner()
    for arguments in (
        ["run", str(scenario), "--logic", "daa", "-o", str(folder / "one.h5"), "--quiet"],
        ["run", str(scenario), "--logic", "daa", "-o", str(folder / "run"), "--workers", "0", "--quiet"],
        ["encounters", str(scenario), "-o", str(folder / "nominal.h5"), "--quiet"],
    ):
        result = runner.invoke(main, arguments)
        assert result.exit_code == 0, result.output
    return folder


def test_a_file_and_a_run_directory_open_to_the_same_tables(runs):
    one, run = encsim.open_results(runs / "one.h5"), encsim.open_results(runs / "run")
    assert (one.kind, run.kind) == ("file", "run directory")
    pd.testing.assert_frame_equal(one.outcomes, run.outcomes)
    pd.testing.assert_frame_equal(one.metadata, run.metadata)
    pd.testing.assert_frame_equal(one.summary(), run.summary())
    assert one.n_encounters == run.n_encounters == 30 and one.metadata["encounter_id"].tolist() == list(range(30))
    assert one.logic == run.logic == "daa" and run.scenario.name == "small" and "[geometry]" in run.scenario_text
    for results in (one, run):
        provenance = results.provenance
        assert provenance["seed"] == 5 and provenance["ownship_model"] == "uncor_1200only_fwse_v1p2"
        assert len(provenance["closed_loop"]["logic_source_sha256"]) == 64 and isinstance(
            provenance["rejections"], dict
        )
        assert provenance["n_encounters"] == 30
    assert run.provenance["attempts"] == one.provenance["attempts"] and run.rejections == one.rejections
    # the joined results.h5 of the directory is read through its chunk files, to the same tables
    joined = encsim.open_results(runs / "run" / "results.h5")
    pd.testing.assert_frame_equal(joined.outcomes, one.outcomes)


def test_unit_suffixed_columns(runs):
    results = encsim.open_results(runs / "one.h5")
    unitless = {"encounter_id", "weight", "attempts", "attempt", "vmd_bin", "alerted", "nmac", "lowc"}
    unitless |= {c for c in results.metadata.columns if c.startswith("weight_") or c == "hmd_proposal_density"}
    unitless |= {c for c in results.outcomes.columns if c.endswith(("_nmac", "_lowc", "_level"))}
    # counts of reported-level changes, and SLoWC (a 0-100 severity index, no unit)
    unitless |= {c for c in results.outcomes.columns if c.endswith(("_changes", "_slowc"))}
    suffixes = ("_ft", "_s", "_kt", "_fps", "_rad", "_deg")
    for frame in (results.outcomes, results.metadata):
        assert all(c.endswith(suffixes) or c in unitless for c in frame.columns), list(frame.columns)


def test_a_joined_file_without_its_chunks_is_refused_never_read_as_fill_values(runs, tmp_path):
    alone = tmp_path / "elsewhere" / "results.h5"
    alone.parent.mkdir()
    shutil.copy(runs / "run" / "results.h5", alone)
    with h5py.File(alone, "r") as f:  # what reading it directly would give: fill values, silently
        assert np.isnan(f["metadata"]["weight"][()]).all()
    with pytest.raises(ResultsFileError, match="joined file.*chunk files"):
        encsim.open_results(alone)
    # with its chunk files beside it (but no manifest) it reads them, in order
    shutil.copytree(runs / "run" / "chunks", alone.parent / "chunks")
    pd.testing.assert_frame_equal(
        encsim.open_results(alone).outcomes, encsim.open_results(runs / "run").outcomes, check_exact=True
    )
    with h5py.File(alone.parent / "chunks" / "chunk_000000.h5", "r+") as f:  # changed after the join
        f.attrs["note"] = "edited"
    with pytest.raises(ResultsFileError, match="changed since they were joined"):
        encsim.open_results(alone)


def test_other_hdf5_files_are_refused_saying_what_they_are(runs, tmp_path, fwse):
    from encsim.io.tracks_file import TrackFileWriter

    with TrackFileWriter(tmp_path / "tracks.h5", {"model_name": fwse.name}) as writer:
        writer.append(encsim.sample_tracks(fwse, 3, 10, rng=1, start={"G": 1, "A": 4}))
    with pytest.raises(ResultsFileError, match="tracks file"):
        encsim.open_results(tmp_path / "tracks.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = [1]
    with pytest.raises(ResultsFileError, match="did not write"):
        encsim.open_results(tmp_path / "other.h5")


def test_an_incomplete_or_changed_run_directory_is_refused(runs, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(runs / "run", copy)
    with h5py.File(copy / "chunks" / "chunk_000001.h5", "r+") as f:
        f.attrs["note"] = "edited"
    with pytest.raises(ResultsFileError, match=r"\[\] missing, \[1\] changed"):
        encsim.open_results(copy)
    assert encsim.open_results(copy, verify=False).n_encounters == 30
    (copy / "chunks" / "chunk_000002.h5").unlink()
    with pytest.raises(ResultsFileError, match=r"chunks \[2\] missing.*--resume"):
        encsim.open_results(copy, verify=False)
    with pytest.raises(ResultsFileError, match="not a run directory"):
        encsim.open_results(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        encsim.open_results(tmp_path / "nothing.h5")


def test_values_no_run_can_hold_are_refused(runs, tmp_path):
    damaged = tmp_path / "damaged.h5"
    shutil.copy(runs / "one.h5", damaged)
    with h5py.File(damaged, "r+") as f:
        f["metadata"]["weight"][3] = np.nan
    with pytest.raises(ResultsFileError, match="weight of row 3 is nan"):
        encsim.open_results(damaged)
    shutil.copy(runs / "one.h5", damaged)
    with h5py.File(damaged, "r+") as f:
        f["metadata"]["encounter_id"][4] = 0
    with pytest.raises(ResultsFileError, match="ids repeat"):
        encsim.open_results(damaged)


def test_summary_is_the_closed_loop_summary_as_a_frame(runs):
    results = encsim.open_results(runs / "run")
    rows = closed_loop_summary(results.outcomes)
    table = results.summary()
    assert table.index.tolist() == [row.name.strip() for row in rows]
    assert list(table.columns) == [f.name for f in dataclasses.fields(rows[0]) if f.name != "name"]
    for row in rows:
        got = table.loc[row.name.strip()]
        if row.estimate is None:
            assert np.isnan(got["estimate"])
        else:
            got_values = [got["estimate"], got["ci_low"], got["ci_high"]]
            np.testing.assert_array_equal(got_values, [row.estimate, row.ci_low, row.ci_high])  # NaN equals NaN
        assert got["notes"] == "; ".join(row.notes)
    # the intervals are the estimator's: P(NMAC) nominal against weighted_probability directly
    direct = weighted_probability(results.outcomes["nominal_nmac"].to_numpy(float), results.outcomes["weight"], rng=0)
    assert table.loc["P(NMAC) nominal", "ci_high"] == direct.ci_high


def test_summary_frame_takes_new_rows_and_fields_without_changes():
    @dataclasses.dataclass(frozen=True)
    class FutureRow:
        name: str
        estimate: float | None
        ci_low: float
        ci_high: float
        plain_sentence: str
        notes: list = dataclasses.field(default_factory=list)

    frame = summary_frame(
        [FutureRow("  new ratio", 0.5, 0.4, 0.6, "halves it", ["a", "b"]), FutureRow("x", None, 0, 0, "")]
    )
    assert frame.index.tolist() == ["new ratio", "x"] and frame.loc["new ratio", "plain_sentence"] == "halves it"
    assert frame.loc["new ratio", "notes"] == "a; b" and np.isnan(frame.loc["x", "estimate"])


def test_worst_ranks_by_each_key(runs):
    results = encsim.open_results(runs / "run")
    o = results.outcomes
    # the DAIDALUS-exact DAA logic induces no NMAC in these 30 encounters: two encounters without a nominal NMAC
    # are marked as mitigated NMACs here, so that the induced ranking has rows to order (the ranking is tested,
    # not the logic)
    quiet = o.index[~o["nominal_nmac"].to_numpy(bool)][:2]
    o.loc[quiet, "mitigated_nmac"] = True
    induced = o[o["mitigated_nmac"] & ~o["nominal_nmac"]]
    worst = results.worst(100, by="induced_nmac")
    assert sorted(worst["encounter_id"]) == sorted(induced["encounter_id"]) and len(worst) >= 1
    assert np.all(np.diff(worst["weight"].to_numpy()) <= 0) and worst.columns[:2].tolist() == ["encounter_id", "weight"]
    unresolved = results.worst(100, by="unresolved_nmac")
    assert set(unresolved["encounter_id"]) == set(o.loc[o["mitigated_nmac"] & o["nominal_nmac"], "encounter_id"])
    closest = results.worst(3, by="min_hmd")
    assert closest["encounter_id"].tolist() == o.sort_values("mitigated_hmd_ft")["encounter_id"].head(3).tolist()
    late = results.worst(100, by="latest_alert")
    lead = o["nominal_t_lowc_s"] - o["t_first_alert_s"]
    expected = np.sort(np.where(o["t_first_alert_s"].isna(), -np.inf, lead)[o["nominal_lowc"].to_numpy()])
    np.testing.assert_array_equal(late["alert_lead_s"].to_numpy(), expected)
    assert len(results.worst(0)) == 0 and set(WORST_BY) == {
        "induced_nmac",
        "unresolved_nmac",
        "latest_alert",
        "min_hmd",
    }
    assert {"hmd_ft", "mitigated_hmd_ft"} <= set(closest.columns)  # outcomes and metadata side by side
    with pytest.raises(ValueError, match="expected one of induced_nmac"):
        results.worst(3, by="closest")


def test_nominal_only_results(runs):
    results = encsim.open_results(runs / "nominal.h5")
    assert results.outcomes is None and not results.has_outcomes and results.logic == ""
    table = results.summary()
    direct = weighted_probability(results.metadata["nmac"].to_numpy(float), results.metadata["weight"], rng=0)
    assert table.loc["P(NMAC) nominal", "estimate"] == direct.probability
    assert results.worst(2, by="min_hmd")["hmd_ft"].tolist() == sorted(results.metadata["hmd_ft"])[:2]
    with pytest.raises(ValueError, match="needs closed-loop outcomes"):
        results.worst(2, by="induced_nmac")
    assert "none (nominal outcomes only)" in repr(results)


def test_nominal_trajectories_replay_the_stored_encounters(runs):
    results = encsim.open_results(runs / "run")
    ids, own, intruder = results.nominal_trajectories([7, 2, 25], output_hz=10)
    assert ids.tolist() == [7, 2, 25] and own.up_ft.shape == (3, 601)
    side = {name: None for name in ("north_ft", "east_ft", "up_ft", "speed_fps", "heading_rad", "pitch_rad")}
    metrics = separation_metrics(own.t_s, {n: getattr(own, n) for n in side}, {n: getattr(intruder, n) for n in side})
    stored = results.metadata.set_index("encounter_id").loc[[7, 2, 25]]
    np.testing.assert_allclose(metrics.hmd_ft, stored["hmd_ft"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(metrics.nmac, stored["nmac"])
    with pytest.raises(KeyError, match=r"\[99\]"):
        results.nominal_trajectories([99])


def test_results_repr_is_short_and_the_html_has_the_summary(runs, monkeypatch):
    results = encsim.open_results(runs / "run")
    text = repr(results)
    assert len(text.splitlines()) <= 8 and len(text) < 800
    assert "30 (seed 5" in text and "daa: NMAC" in text and "run directory" in text
    page = results._repr_html_()
    assert page.count("<table") == 2 and "risk ratio (NMAC)" in page and "small" in page
    large = encsim.open_results(runs / "run")
    monkeypatch.setattr("encsim.results._HTML_SUMMARY_MAX_ENCOUNTERS", 10)  # a large run: no bootstrap on display
    assert "results.summary() computes" in large._repr_html_() and "risk ratio" not in large._repr_html_()
    large.summary()
    assert "risk ratio (NMAC)" in large._repr_html_()


def test_rejections_print_readably():
    text = describe_rejections({"vmd": 46, "below_ground": 3, "hmd_mismatch": 0, "fly:altitude": 1200})
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["1,200", "fly:altitude"] and "fly: left the altitude limits" in lines[0]
    assert "VMD acceptance test" in lines[1] and len(lines) == 3
    assert describe_rejections({"vmd": 0}).strip() == "none"


def test_dir_encsim_shows_the_public_api():
    names = dir(encsim)
    for name in ("open_results", "Results", "load_model", "sample_tracks", "fly", "simulate", "generate_encounters"):
        assert name in names
    assert not [n for n in names if n.startswith("_") and n != "__version__"] and "importlib" not in names
    for name in encsim.__all__:
        assert getattr(encsim, name) is not None


def test_reprs_of_models_track_samples_and_encounter_sets_are_short(fwse):
    text = repr(fwse)
    assert "uncor_1200only_fwse_v1p2" in text and "7 variables" in text and len(text) < 600
    assert "<table" in fwse._repr_html_()
    tracks = encsim.sample_tracks(fwse, 20, 30, rng=1, start={"G": 1, "A": 4})
    text = repr(tracks)
    assert "20 tracks" in text and "30 s" in text and len(text) < 600 and "<table" in tracks._repr_html_()
    scenario, scenario_text = encsim.load_scenario(PROJECT_ROOT / "scenarios" / "fwse_vs_rotorcraft.toml")
    encounters = encsim.generate_encounters(scenario, scenario_text, ids=np.arange(50))
    text = repr(encounters)
    assert "50 encounters" in text and len(text) < 1000 and len(text.splitlines()) <= 8
    assert "<table" in encounters._repr_html_() and len(encounters._repr_html_()) < 20_000
