"""The `encsim` command: models list/info/verify and sample, through click's test runner."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import PROJECT_ROOT

import encsim
from encsim.cli import main
from encsim.io.tracks_file import read_tracks
from encsim.sampling import sample_tracks

SCENARIOS = PROJECT_ROOT / "scenarios"


@pytest.fixture()
def runner():
    return CliRunner()


def test_models_list_names_every_registry_model(runner):
    result = runner.invoke(main, ["models", "list"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines()[2:] if line.strip()]
    assert len(lines) == 27
    fwse = next(line for line in lines if line.startswith("uncor_1200only_fwse_v1p2 "))
    assert "surrogate" in fwse and "50-5,000 ft AGL" in fwse
    haa = next(line for line in lines if line.startswith("haa_v1 "))
    assert "MSL" in haa


def test_models_info_shows_variables_units_parents_and_training_hours(runner):
    result = runner.invoke(main, ["models", "info", "uncor_1200only_fwse_v1p2"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ft/min" in out and "deg/s" in out and "kt/s" in out
    assert "parents [G, A, L, v, \\dot v]" in out
    hours = fwse_hours = encsim.load_model("uncor_1200only_fwse_v1p2").training_hours()
    assert f"{fwse_hours:,.0f} h" in out and hours > 100_000
    assert "\\dot h(t+1)      <- A, L, \\dot v(t), \\dot h(t), \\dot \\psi(t)" in out


def test_models_info_reports_skydiving_quirk_and_unknown_names(runner):
    result = runner.invoke(main, ["models", "info", "skydiving_v1"])
    assert result.exit_code == 0
    assert "QUIRK" in result.output and "different totals" in result.output
    assert "n/a (initial tables disagree" in result.output  # no training hours when the tables disagree
    for counts_encounters in ("cor_v1", "terminal_v3_radar_encounter_model"):
        other = runner.invoke(main, ["models", "info", counts_encounters])
        assert (
            "training   n/a (the counts are encounters" in other.output
            and encsim.load_model(counts_encounters).training_hours() is None
        )
    unknown = runner.invoke(main, ["models", "info", "uncor_1200only_fwse_v1p3"])
    assert unknown.exit_code == 2
    assert "did you mean uncor_1200only_fwse_v1p2" in unknown.output


def test_models_verify_passes_on_the_shared_files_and_fails_on_a_corrupted_copy(
    runner, tmp_path, model_dir, monkeypatch
):
    result = runner.invoke(main, ["models", "verify"])
    assert result.exit_code == 0, result.output
    assert "all models verified" in result.output
    assert "QUIRK skydiving_v1" in result.output
    broken_dir = tmp_path / "models"
    broken_dir.mkdir()
    shutil.copy(model_dir / "balloon_v1.txt", broken_dir / "balloon_v1.txt")
    with open(broken_dir / "balloon_v1.txt", "a") as handle:
        handle.write("0 \n")
    monkeypatch.setenv("ENCSIM_MODEL_DIR", str(broken_dir))
    failed = runner.invoke(main, ["models", "verify", "balloon_v1", "glider_v1"])
    assert failed.exit_code == 1
    assert "FAIL  balloon_v1" in failed.output and "sha256" in failed.output
    assert "FAIL  glider_v1" in failed.output and "not found" in failed.output


def test_sample_writes_tracks_with_provenance_identical_to_the_api(runner, tmp_path):
    out = tmp_path / "tracks.h5"
    args = [
        "sample",
        "uncor_1200only_fwse_v1p2",
        "-n",
        "700",
        "--duration",
        "90",
        "--seed",
        "5",
        "--start",
        "G=1,A=4",
        "--chunk-size",
        "300",
        "-o",
        str(out),
        "--quiet",
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "wrote 700 tracks" in result.output
    with h5py.File(out, "r") as f:
        assert f.attrs["model_name"] == "uncor_1200only_fwse_v1p2"
        assert f.attrs["model_sha256"] == encsim.load_model("uncor_1200only_fwse_v1p2").sha256
        assert f.attrs["seed"] == 5 and f.attrs["encsim_version"] == encsim.__version__
        assert json.loads(f.attrs["presets"]) == {"G": 1, "A": 4}
        assert json.loads(f.attrs["arguments"])["n"] == 700
        assert f["schedule/offsets"].chunks[0] > 1  # the leading 0 written with the first chunk's offsets
    from_file = read_tracks(out)
    direct = sample_tracks("uncor_1200only_fwse_v1p2", 700, 90, rng=5, start={"G": 1, "A": 4})
    assert from_file.initial.equals(direct.initial)
    np.testing.assert_array_equal(from_file.schedule.offsets, direct.schedule.offsets)
    np.testing.assert_array_equal(from_file.schedule.psidot_rad_s, direct.schedule.psidot_rad_s)
    np.testing.assert_array_equal(from_file.schedule_bins, direct.schedule_bins)
    assert from_file.rejections == direct.rejections
    assert not list(tmp_path.glob("*.partial"))


def test_sample_refuses_bad_presets_and_models_with_clear_messages(runner, tmp_path):
    out = str(tmp_path / "x.h5")
    bad_preset = runner.invoke(main, ["sample", "uncor_1200only_fwse_v1p2", "-n", "5", "--start", "G=2,A=1", "-o", out])
    assert bad_preset.exit_code == 2 and "probability 0" in bad_preset.output
    refused = runner.invoke(main, ["sample", "haa_v1", "-n", "5", "-o", out])
    assert refused.exit_code == 2 and "refused" in refused.output and "undocumented" in refused.output
    assert not (tmp_path / "x.h5").exists()


def test_sample_with_fly_stores_trajectories_limits_and_fly_rejections(runner, tmp_path):
    out = tmp_path / "flown.h5"
    args = [
        "sample",
        "uncor_1200only_fwse_v1p2",
        "-n",
        "300",
        "--duration",
        "60",
        "--seed",
        "2",
        "--start",
        "G=1,A=4",
        "--fly",
        "--output-hz",
        "1",
        "-o",
        str(out),
        "--quiet",
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    from encsim.io.tracks_file import read_trajectories

    trajectories = read_trajectories(out)
    assert trajectories.up_ft.shape == (300, 61)
    with h5py.File(out, "r") as f:
        rejections = json.loads(f.attrs["rejections"])
        assert {"fly:altitude", "fly:speed", "fly:vertical_rate"} <= set(rejections)
        assert f["trajectories"]["limit_speed_min_fps"].shape == (300,)
    flown = encsim.fly(sample_tracks("uncor_1200only_fwse_v1p2", 300, 60, rng=2, start={"G": 1, "A": 4}), output_hz=1.0)
    np.testing.assert_allclose(trajectories.up_ft, flown.trajectories.up_ft, rtol=1e-6)  # stored as float32
    assert rejections["fly:speed"] == flown.rejections["speed"]


def test_plot_draws_a_png_from_stored_or_replayed_tracks(runner, tmp_path):
    plain = tmp_path / "plain.h5"
    assert (
        runner.invoke(
            main, ["sample", "glider_v1", "-n", "20", "--duration", "60", "-o", str(plain), "--quiet"]
        ).exit_code
        == 0
    )
    result = runner.invoke(main, ["plot", str(plain), "--count", "4", "-o", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    png = (tmp_path / "p.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    too_far = runner.invoke(main, ["plot", str(plain), "--first", "50"])
    assert too_far.exit_code == 2 and "holds 20 tracks" in too_far.output


def test_run_writes_a_replayable_encounter_set_and_prints_the_summary(runner, tmp_path):
    from encsim.dynamics import fly_commands
    from encsim.io.encounters_file import read_encounter_file

    out = tmp_path / "results.h5"
    result = runner.invoke(
        main,
        [
            "run",
            str(SCENARIOS / "fwse_vs_rotorcraft.toml"),
            "-o",
            str(out),
            "--encounters",
            "120",
            "--seed",
            "4",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 120 encounters" in result.output and "acceptance rate" in result.output
    assert "P(NMAC)" in result.output and "P(LoWC)" in result.output and "95 % CI" in result.output
    stored = read_encounter_file(out)
    assert len(stored["metadata"]) == 120 and stored["attrs"]["seed"] == 4
    assert "[geometry]" in stored["attrs"]["scenario_text"]
    assert stored["attrs"]["ownship_model_sha256"] == encsim.load_model("uncor_1200only_fwse_v1p2").sha256
    assert stored["attrs"]["rejections"]["vmd"] > 0
    own = fly_commands(stored["ownship"]["initial"], stored["ownship"]["schedule"], 60)
    intr = fly_commands(stored["intruder"]["initial"], stored["intruder"]["schedule"], 60)
    hmd = np.hypot(own.north_ft - intr.north_ft, own.east_ft - intr.east_ft).min(axis=1)
    np.testing.assert_allclose(hmd, stored["metadata"]["hmd_ft"], atol=1e-6)  # replayed from the file alone
    encounters_only = runner.invoke(
        main,
        [
            "encounters",
            str(SCENARIOS / "fwse_vs_rotorcraft.toml"),
            "-o",
            str(tmp_path / "set.h5"),
            "--encounters",
            "30",
            "--trajectories",
            "--quiet",
        ],
    )
    assert encounters_only.exit_code == 0, encounters_only.output
    assert (
        "P(NMAC)" in encounters_only.output
        and "P(LoWC)" in encounters_only.output
        and "95 % CI" in encounters_only.output
    )
    with h5py.File(tmp_path / "set.h5", "r") as f:
        assert f["ownship"]["trajectories"]["up_ft"].shape == (30, 601)


def test_run_refuses_bad_scenarios_and_outputs(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((SCENARIOS / "fwse_vs_rotorcraft.toml").read_text().replace("tcpa_s = 30", "tcpa_s = 61"))
    result = runner.invoke(main, ["run", str(bad), "-o", str(tmp_path / "r.h5")])
    assert result.exit_code == 2 and "geometry: tcpa_s = 61" in result.output


def test_a_run_directory_records_encounters_and_seed_overrides_and_resume_holds_it_to_them(runner, tmp_path):
    scenario = str(SCENARIOS / "fwse_vs_rotorcraft.toml")
    run_dir = tmp_path / "dir"
    first = runner.invoke(main, ["run", scenario, "-o", str(run_dir), "--encounters", "6", "--seed", "3", "--quiet"])
    assert first.exit_code == 0, first.output
    with h5py.File(run_dir / "results.h5", "r") as f:
        text = str(f.attrs["scenario_text"])
        assert f["metadata"]["encounter_id"].shape == (6,) and int(f.attrs["seed"]) == 3
    assert "encounters = 6" in text and "seed = 3" in text  # the run's own scenario text says what it did
    other = runner.invoke(main, ["run", scenario, "-o", str(run_dir), "--seed", "4", "--resume", "--quiet"])
    assert other.exit_code == 2 and "seed" in other.output and "scenario_sha256" in other.output


def test_run_without_the_model_files_fails_cleanly_saying_where_it_looked(runner, tmp_path, monkeypatch):
    empty = tmp_path / "no_models"
    empty.mkdir()
    monkeypatch.setenv("ENCSIM_MODEL_DIR", str(empty))
    monkeypatch.setenv("ENCSIM_CACHE_DIR", str(empty))
    monkeypatch.setenv("ENCSIM_OFFLINE", "1")
    for command in ("run", "encounters"):
        result = runner.invoke(
            main,
            [
                command,
                str(SCENARIOS / "fwse_vs_rotorcraft.toml"),
                "-o",
                str(tmp_path / "r.h5"),
                "--encounters",
                "10",
                "--quiet",
            ],
        )
        assert result.exit_code == 2, (command, result.output)
        assert "not found" in result.output and str(empty) in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.h5").exists()


def test_run_makes_a_missing_output_folder_and_refuses_one_it_cannot_make(runner, tmp_path):
    # a missing output folder is made (the README's -o out/results.h5 on a fresh clone); one that
    # cannot be made, because a file stands in its path, is refused before any work
    (tmp_path / "a_file").write_text("")
    blocked = runner.invoke(
        main,
        [
            "run",
            str(SCENARIOS / "fwse_vs_rotorcraft.toml"),
            "-o",
            str(tmp_path / "a_file" / "r.h5"),
            "--encounters",
            "10",
            "--quiet",
        ],
    )
    assert blocked.exit_code == 2 and "cannot create the folder" in blocked.output and "Traceback" not in blocked.output
    (tmp_path / "folder.h5").mkdir()  # run -o takes folders (run directories), but not one named as a results file
    folder = runner.invoke(
        main,
        [
            "run",
            str(SCENARIOS / "fwse_vs_rotorcraft.toml"),
            "-o",
            str(tmp_path / "folder.h5"),
            "--encounters",
            "10",
            "--quiet",
        ],
    )
    assert folder.exit_code == 2 and "this is a folder; give a file name" in folder.output
    made = runner.invoke(
        main,
        [
            "run",
            str(SCENARIOS / "fwse_vs_rotorcraft.toml"),
            "-o",
            str(tmp_path / "new" / "r.h5"),
            "--encounters",
            "10",
            "--quiet",
        ],
    )
    assert made.exit_code == 0, made.output
    assert (tmp_path / "new" / "r.h5").is_file()


def test_compare_writes_an_html_report_with_tables_and_figures(runner, tmp_path):
    out = tmp_path / "report"
    result = runner.invoke(
        main,
        ["compare", "uncor_1200only_fwse_v1p2", "uncor_1200only_rotorcraft_v1p2", "glider_v1", "--report", str(out)],
    )
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    assert "glider_v1 has no A, G" in page and "heatmap.png" in page
    import pandas as pd

    distances = pd.read_csv(out / "model_distances.csv")
    assert set(distances["variable"]) == {"v", "vdot", "hdot", "psidot"}
    assert {"hellinger", "jensen_shannon", "total_variation", "wasserstein1"} <= set(distances.columns)
    assert (out / "heatmap.png").stat().st_size > 5_000 and (out / "layers_0.png").exists()
    too_few = runner.invoke(main, ["compare", "glider_v1", "--report", str(out)])
    assert too_few.exit_code == 2
    tracks = runner.invoke(
        main,
        [
            "compare",
            "uncor_1200only_fwse_v1p2",
            "uncor_1200only_fwme_v1p2",
            "--level",
            "track",
            "--tracks",
            "200",
            "--report",
            str(tmp_path / "tracks"),
        ],
    )
    assert tracks.exit_code == 0, tracks.output
    assert "Track level" in (tmp_path / "tracks" / "index.html").read_text()
    assert len(pd.read_csv(tmp_path / "tracks" / "track_distances.csv")) == 5


def test_run_with_a_logic_writes_outcomes_and_prints_ratios(runner, tmp_path):
    from encsim.io.encounters_file import read_encounter_file

    out = tmp_path / "daa.h5"
    args = [
        "run",
        str(SCENARIOS / "uncor_1200code_v2p1_above_500ft.toml"),
        "--logic",
        "daa",
        "-o",
        str(out),
        "--encounters",
        "300",
        "--quiet",
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    for words in (
        "logic: daa",
        "P(NMAC) mitigated",
        "alert rate",
        "nuisance alert rate",
        "LoWC ratio",
        "induced (LOWC)",
        "resolved (LOWC)",
    ):
        assert words in result.output
    assert "note: interval" in result.output  # 300 encounters: the estimator's caution is printed under its row
    stored = read_encounter_file(out)
    assert stored["logic"] == "daa" and len(stored["outcomes"]) == 300
    from encsim.avoidance import PilotModel, daidalus_params

    closed_loop = stored["closed_loop"]  # what decided the mitigated flights, besides the encounters
    assert closed_loop["logic_params"] == daidalus_params("do365b").tolist() and closed_loop["decision_period_s"] == 1.0
    assert closed_loop["daa_config"] == "do365b" and len(closed_loop["daa_config_sha256"]) == 64  # the DAA config
    assert (
        closed_loop["pilot"]["initial_delay_s"] == PilotModel().initial_delay_s
        and len(closed_loop["logic_source_sha256"]) == 64
    )
    assert set(stored["outcomes"]["encounter_id"]) == set(stored["metadata"]["encounter_id"])
    bad = runner.invoke(
        main, ["run", str(SCENARIOS / "fwse_vs_rotorcraft.toml"), "--logic", "acas", "-o", str(tmp_path / "x.h5")]
    )
    assert bad.exit_code == 2 and "module:object" in bad.output
    report = runner.invoke(main, ["report", str(out), "-o", str(tmp_path / "report.html")])
    assert report.exit_code == 0, report.output
    page = (tmp_path / "report.html").read_text()
    assert "risk ratio (NMAC)" in page and page.count("data:image/png;base64") == 5 and "[geometry" in page
    assert "note: interval" in page and "nuisance alert rate" in page and "resolved (LOWC)" in page
    assert "logic source sha256" in page and "created_utc" not in page and "<th>written</th><td>20" in page
    nominal_only = tmp_path / "nominal.h5"
    assert (
        runner.invoke(
            main,
            [
                "run",
                str(SCENARIOS / "fwse_vs_rotorcraft.toml"),
                "-o",
                str(nominal_only),
                "--encounters",
                "20",
                "--quiet",
            ],
        ).exit_code
        == 0
    )
    refused = runner.invoke(main, ["report", str(nominal_only)])
    assert refused.exit_code == 2 and "--logic" in refused.output
    plugin = runner.invoke(
        main,
        [
            "run",
            str(SCENARIOS / "fwse_vs_rotorcraft.toml"),
            "--logic",
            "encsim.avoidance.interface:unequipped",
            "-o",
            str(tmp_path / "t.h5"),
            "--encounters",
            "50",
            "--quiet",
        ],
    )
    assert plugin.exit_code == 0, plugin.output


def test_compare_at_outcome_level_writes_a_verdict(runner, tmp_path):
    out = tmp_path / "outcome"
    args = [
        "compare",
        "uncor_1200only_rotorcraft_v1p2",
        "uncor_1200only_fwse_v1p2",
        "--level",
        "outcome",
        "--scenario",
        str(SCENARIOS / "fwse_vs_rotorcraft.toml"),
        "--encounters",
        "200",
        "--tracks",
        "100",
        "--report",
        str(out),
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    assert "Outcome level" in page and ("stand in" in page or "inconclusive" in page)
    import pandas as pd

    assert set(pd.read_csv(out / "outcome_differences.csv")["metric"]) >= {"risk_ratio", "alert_rate"}
    missing = runner.invoke(main, ["compare", "glider_v1", "blimp_v1", "--level", "outcome", "--report", str(out)])
    assert missing.exit_code == 2 and "--scenario" in missing.output


def test_report_plot_and_merge_refuse_the_wrong_inputs_by_name(runner, tmp_path):
    not_hdf5 = tmp_path / "notes.h5"
    not_hdf5.write_text("not a results file")
    tracks = tmp_path / "tracks.h5"
    assert (
        runner.invoke(
            main, ["sample", "uncor_1200only_fwse_v1p2", "-n", "3", "--duration", "10", "-o", str(tracks), "--quiet"]
        ).exit_code
        == 0
    )
    cases = [
        (["report", str(not_hdf5)], "not an HDF5 file (expected a results file"),
        (["report", str(tracks)], "this is a tracks file, not a results file"),
        (["report", str(tmp_path)], "results.h5: no such file"),
        (["plot", str(not_hdf5)], "not an HDF5 file (expected a tracks file"),
        (["plot", str(tracks), "-o", str(not_hdf5 / "p.png")], "cannot create the folder"),
        (["merge", str(tmp_path)], "not a run directory (no manifest.json"),
    ]
    for args, words in cases:
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output, (
            args,
            result.output,
        )
