"""`encsim train` and `encsim compare` on the trained file."""

from __future__ import annotations

import numpy as np
import pandas as pd
from click.testing import CliRunner

import encsim
from encsim import units
from encsim.cli import main


def write_tracks(path, n_tracks=8, seconds=150):
    rng = np.random.default_rng(5)
    rows = []
    for k in range(n_tracks):
        t = np.arange(seconds, dtype=float)
        speed_fps = (70 + 10 * k) * units.FPS_PER_KT
        turn = np.radians(np.cumsum(np.where(t > 60, 2.0, 0.0)))
        east = np.cumsum(speed_fps * np.sin(turn))
        north = np.cumsum(speed_fps * np.cos(turn))
        alt = 800 + 300 * k + np.where(t > 90, (t - 90) * rng.choice([0, 10]), 0.0)
        rows.append(pd.DataFrame({"id": k, "time_s": t, "east_ft": east, "north_ft": north, "alt_msl_ft": alt + 500}))
    pd.concat(rows).to_csv(path, index=False)


def test_train_then_compare(tmp_path):
    tracks = tmp_path / "tracks.csv"
    write_tracks(tracks)
    model_path = tmp_path / "mine.txt"
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["train", str(tracks), "-o", str(model_path), "--like", "uncor_1200only_fwse_v1p2", "--set", "G=1",
         "--set", "A=4", "--column", "track_id=id", "--ground-ft", "500", "--report", str(tmp_path / "r.csv"),
         "--learn-structure", "bdeu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "altitude_outliers" in result.output and "wrote" in result.output
    assert "initial network skeleton recall" in result.output
    model = encsim.load_model(model_path)
    assert model.training_hours() > 0 and (tmp_path / "r.csv").is_file()
    report = tmp_path / "cmp"
    result = runner.invoke(main, ["compare", str(model_path), "uncor_1200only_fwse_v1p2", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert (report / "index.html").is_file() and (report / "model_distances.csv").is_file()


def test_train_refuses_a_bad_table(tmp_path):
    tracks = tmp_path / "tracks.csv"
    write_tracks(tracks, n_tracks=2)
    frame = pd.read_csv(tracks)
    frame["east_ft"] = frame["east_ft"].astype(object)
    frame.loc[17, "east_ft"] = "x"
    frame.to_csv(tracks, index=False)
    result = CliRunner().invoke(
        main,
        ["train", str(tracks), "-o", str(tmp_path / "m.txt"), "--like", "uncor_1200only_fwse_v1p2",
         "--column", "track_id=id", "--ground-ft", "500", "--set", "G=1", "--set", "A=4"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "column 'east_ft', row 17" in result.output
    result = CliRunner().invoke(
        main, ["train", str(tracks), "-o", str(tmp_path / "m.txt"), "--like", "uncor_1200only_fwse_v1p2", "--set", "G"]
    )
    assert result.exit_code == 2 and "expected NAME=VALUE" in result.output
