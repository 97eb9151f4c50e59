"""Comparison options of issue 6: --layers, --seed, --metric, provenance, dropped bootstrap resamples."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import MODEL_DIR, PROJECT_ROOT

import encsim
from encsim.cli import main
from encsim.compare import compare_models, parse_layers
from encsim.compare.outcome_level import summarise_outcomes
from encsim.compare.track_level import layer_allocation, track_features

FWSE = "uncor_1200only_fwse_v1p2"
ROTOR = "uncor_1200only_rotorcraft_v1p2"
RADES = "uncor_1200code_v2p1"


@pytest.fixture()
def runner():
    return CliRunner()


# ------------------------------------------------------------------------------------ layers


def test_layers_are_parsed_from_edges_and_bad_text_is_refused():
    assert parse_layers("500-1200,1200-3000") == [(500.0, 1200.0), (1200.0, 3000.0)]
    assert parse_layers(" 50 - 500 ft ") == [(50.0, 500.0)]
    assert parse_layers([(500, 1200)]) == [(500.0, 1200.0)]
    assert parse_layers(None) is None and parse_layers("") is None
    with pytest.raises(ValueError, match="'500to1200' is not LOWER-UPPER"):
        parse_layers("500to1200")
    with pytest.raises(ValueError, match="1200-500 ft: the lower edge"):
        parse_layers("1200-500")


def test_compare_models_keeps_to_the_requested_layers():
    every = compare_models(FWSE, RADES, presets={"G": 1, "A": 4})
    some = compare_models(FWSE, RADES, presets={"G": 1, "A": 4}, layers="3000-5000,500-1200")
    assert some.matched_layers == [(500.0, 1200.0), (3000.0, 5000.0)]
    assert set(zip(some.distances["layer_lo_ft"], some.distances["layer_hi_ft"])) == {(500.0, 1200.0), (3000.0, 5000.0)}
    assert set(some.dynamics["layer_lo_ft"]) == {500.0, 3000.0}
    kept = every.distances[every.distances["layer_lo_ft"] != 1200.0].reset_index(drop=True)
    pd.testing.assert_frame_equal(some.distances.reset_index(drop=True), kept)  # same numbers, fewer layers
    assert any("shared but not compared: 1200-3000" in note for note in some.notes)


def test_a_layer_that_matches_nothing_names_itself_and_the_available_layers():
    with pytest.raises(ValueError) as info:
        compare_models(FWSE, RADES, layers="50-500")  # a layer of FWSE only
    message = str(info.value)
    assert "50-500" in message and "available layers: 500-1200, 1200-3000, 3000-5000" in message
    assert f"{FWSE} alone has 50-500" in message and f"{RADES} alone has 5000-18000" in message
    with pytest.raises(ValueError, match="500-1000 ft AGL matches no altitude layer"):
        compare_models(FWSE, FWSE, layers="500-1000")  # edges that are no layer at all


def test_tracks_start_in_the_requested_layers_in_the_models_proportions():
    model = encsim.load_model(FWSE)
    allocation = layer_allocation(model, 1000, "50-500,3000-5000", {"G": 1, "A": 4})
    p = model.exact_marginal("L", {"G": 1, "A": 4})
    assert sum(allocation.values()) == 1000 and set(allocation) == {1, 4}
    assert allocation[1] == round(1000 * p[0] / (p[0] + p[3]))
    features = track_features(model, 200, 30, 3, {"G": 1, "A": 4}, "50-500,3000-5000", with_start_altitude=True)
    start = features["start_alt_ft"].to_numpy()
    assert len(features) == 200
    inside = ((start >= 50) & (start <= 500)) | ((start >= 3000) & (start <= 5000))
    assert inside.all() and ((start >= 50) & (start <= 500)).sum() == round(200 * p[0] / (p[0] + p[3]))
    assert "start_alt_ft" not in track_features(model, 20, 30, 3, {"G": 1, "A": 4}).columns
    with pytest.raises(ValueError, match="available layers"):
        layer_allocation(model, 10, "500-1000")


# ---------------------------------------------------------------------- outcome-level verdict


def outcomes(
    n: int, nominal_nmac: int, mitigated_nmac: int, rng: int = 0, lowc_like_nmac: bool = False
) -> pd.DataFrame:
    """Hand-made outcomes: the first ``nominal_nmac`` encounters are nominal NMACs, of which the
    first ``mitigated_nmac`` stay NMACs with the logic; everyone alerts; every encounter loses well
    clear nominally and the NMACs also with the logic (or LoWC = NMAC with ``lowc_like_nmac``)."""
    nominal, mitigated = np.arange(n) < nominal_nmac, np.arange(n) < mitigated_nmac
    return pd.DataFrame(
        {
            "weight": np.random.default_rng(rng).uniform(0.5, 1.5, n),
            "nominal_nmac": nominal,
            "mitigated_nmac": mitigated,
            "nominal_lowc": nominal if lowc_like_nmac else np.ones(n, bool),
            "mitigated_lowc": mitigated if lowc_like_nmac else nominal,
            "alerted": np.ones(n, bool),
        }
    )


def test_many_dropped_resamples_make_the_verdict_inconclusive_and_are_counted():
    # one nominal NMAC in 200 encounters: about (199/200)^200 = 37 % of the resamples of A have none
    result = summarise_outcomes(outcomes(200, 1, 0), outcomes(200, 60, 10), "A", "B", tolerance=10.0, n_boot=1000)
    assert result.metric == "risk_ratio" and result.n_boot == 1000
    assert 300 <= result.dropped <= 440
    table = result.table.set_index("metric")
    assert table.loc["risk_ratio", "dropped"] == result.dropped and table.loc["risk_ratio", "resamples"] == 1000
    assert table.loc["p_nmac_nominal", "dropped"] == 0  # probabilities are always defined
    assert (
        result.verdict.startswith("inconclusive") and f"{result.dropped} of 1000 bootstrap resamples" in result.verdict
    )
    assert "can stand in" not in result.verdict


def test_a_few_dropped_resamples_give_the_verdict_with_a_caution():
    # five nominal NMACs in 300: about 0.7 % of A's resamples have none
    a, b = outcomes(300, 5, 1), outcomes(300, 80, 10)
    result = summarise_outcomes(a, b, "A", "B", tolerance=10.0, n_boot=1000)
    assert 0 < result.dropped <= 50
    assert result.verdict.startswith("B can stand in for A") and f"caution: {result.dropped} of 1000" in result.verdict
    strict = summarise_outcomes(a, b, "A", "B", tolerance=10.0, n_boot=1000, max_dropped_fraction=0.0)
    assert strict.verdict.startswith("inconclusive") and strict.dropped == result.dropped
    clean = summarise_outcomes(outcomes(300, 80, 10, rng=1), b, "A", "B", tolerance=10.0, n_boot=300)
    assert clean.dropped == 0 and "caution" not in clean.verdict and "can stand in" in clean.verdict


def test_metric_aliases_and_zero_width_intervals():
    a, b = outcomes(300, 80, 10), outcomes(300, 70, 20, rng=2)
    nmac = summarise_outcomes(a, b, "A", "B", metric="nmac", n_boot=200)
    assert nmac.metric == "risk_ratio" and "risk ratio differs" in nmac.verdict
    lowc = summarise_outcomes(a, b, "A", "B", metric="lowc", n_boot=200, tolerance=10.0)
    assert lowc.metric == "lowc_ratio" and "lowc ratio differs" in lowc.verdict
    with pytest.raises(ValueError, match="metric 'speed'"):
        summarise_outcomes(a, b, "A", "B", metric="speed")
    # no mitigated NMAC with either model: both risk ratios are 0 in every resample
    none = summarise_outcomes(outcomes(300, 80, 0), outcomes(300, 70, 0, rng=3), "A", "B", n_boot=200)
    assert none.verdict.startswith("inconclusive") and "zero width" in none.verdict


# -------------------------------------------------------------------------- CLI and provenance


def test_cli_layers_and_provenance(runner, tmp_path):
    out = tmp_path / "report"
    result = runner.invoke(
        main, ["compare", FWSE, RADES, "--layers", "500-1200,1200-3000", "--seed", "7", "--report", str(out)]
    )
    assert result.exit_code == 0, result.output
    distances = pd.read_csv(out / "model_distances.csv")
    assert set(distances["layer_lo_ft"]) == {500.0, 1200.0} and set(distances["layer_hi_ft"]) == {1200.0, 3000.0}
    record = json.loads((out / "provenance.json").read_text())
    assert record["encsim_version"] == encsim.__version__
    assert dt.datetime.fromisoformat(record["created_utc"]).utcoffset() == dt.timedelta(0)
    assert record["arguments"]["layers"] == "500-1200,1200-3000" and record["layers_ft"] == [[500, 1200], [1200, 3000]]
    assert record["seed"] == 7 and record["levels"] == ["model"]
    for entry, name in zip(record["models"], (FWSE, RADES)):
        assert entry["name"] == name
        assert entry["sha256"] == hashlib.sha256((MODEL_DIR / entry["file"]).read_bytes()).hexdigest()
        assert (
            entry["registry_entry"]["sha256"] == entry["sha256"] and entry["registry_entry"]["noncooperative_surrogate"]
        )
    page = (out / "index.html").read_text()
    assert 'id="provenance"' in page and record["models"][0]["sha256"] in page and "provenance.json" in page
    assert "500-1200, 1200-3000 ft AGL" in page


def test_cli_refuses_a_layer_that_matches_nothing(runner, tmp_path):
    out = tmp_path / "never"
    result = runner.invoke(main, ["compare", FWSE, RADES, "--layers", "50-500", "--report", str(out)])
    assert result.exit_code == 2
    assert "--layers 50-500" in result.output and "available layers: 500-1200, 1200-3000, 3000-5000" in result.output
    garbled = runner.invoke(main, ["compare", FWSE, RADES, "--layers", "low", "--report", str(out)])
    assert garbled.exit_code == 2 and "'low' is not LOWER-UPPER" in garbled.output
    assert not out.exists()


def test_cli_seed_drives_the_track_level(runner, tmp_path):
    def run(seed, name):
        args = [
            "compare",
            FWSE,
            ROTOR,
            "--level",
            "track",
            "--tracks",
            "60",
            "--seed",
            str(seed),
            "--layers",
            "500-1200",
            "--report",
            str(tmp_path / name),
        ]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        return pd.read_csv(tmp_path / name / "track_distances.csv"), json.loads(
            (tmp_path / name / "provenance.json").read_text()
        )

    first, record = run(5, "a")
    again, _ = run(5, "b")
    other, _ = run(6, "c")
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["mean_a"], other["mean_a"])
    track = record["track_level"]
    assert track["tracks_per_model"] == 60 and track["duration_s"] == 120
    assert track["pairs"][0]["seed"] == 5 and track["pairs"][0]["bootstrap_resamples"] > 0


def test_cli_outcome_options_reach_compare_outcomes(runner, tmp_path, monkeypatch):
    """--metric, --tolerance, --seed and --encounters are passed through (the closed loop itself is
    exercised in test_compare.py); the outcome provenance names the scenario and its own seed."""
    import encsim.compare.outcome_level as outcome_level

    calls = []

    def fake(scenario, model_a, model_b, **kwargs):
        calls.append(kwargs)
        return summarise_outcomes(
            outcomes(200, 1, 0, lowc_like_nmac=True),
            outcomes(200, 60, 10),
            model_a,
            model_b,
            logic=kwargs["logic"],
            metric=kwargs["metric"],
            tolerance=kwargs["tolerance"],
            rng=kwargs["rng"],
        )

    monkeypatch.setattr(outcome_level, "compare_outcomes", fake)
    scenario = PROJECT_ROOT / "scenarios" / "fwse_vs_rotorcraft.toml"
    out = tmp_path / "outcome"
    args = [
        "compare",
        ROTOR,
        FWSE,
        "--level",
        "outcome",
        "--scenario",
        str(scenario),
        "--metric",
        "lowc",
        "--tolerance",
        "0.2",
        "--seed",
        "11",
        "--encounters",
        "120",
        "--tracks",
        "50",
        "--report",
        str(out),
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert calls == [{"logic": "daa", "encounters": 120, "tolerance": 0.2, "metric": "lowc_ratio", "rng": 11}]
    record = json.loads((out / "provenance.json").read_text())
    outcome = record["outcome_level"]
    assert outcome["metric"] == "lowc_ratio" and outcome["tolerance"] == 0.2 and outcome["bootstrap_seed"] == 11
    assert outcome["encounter_seed"] == 1 and outcome["scenario"] == "fwse_vs_rotorcraft"
    assert outcome["scenario_sha256"] == hashlib.sha256(scenario.read_bytes()).hexdigest()
    assert outcome["pairs"][0]["dropped_resamples"] > 0
    assert {m["role"] for m in record["models"]} == {"compared"}  # the scenario's ownship FWSE is among the compared
    table = pd.read_csv(out / "outcome_differences.csv")
    assert {"value_a", "value_b", "dropped", "resamples"} <= set(table.columns) and set(table["model_a"]) == {ROTOR}
    assert "dropped because the lowc ratio is undefined" in (out / "index.html").read_text()


# ------------------------------------------------------------------- audit fixes (issue 6)

SCENARIOS = PROJECT_ROOT / "scenarios"
BELOW_500 = SCENARIOS / "fwse_vs_rotorcraft_below_500ft.toml"


def _no_closed_loop(monkeypatch):
    """Any encounter generation fails the test: the checks under test must come before it."""
    import encsim.compare.outcome_level as outcome_level

    def refuse(*args, **kwargs):
        raise AssertionError("encounters were generated before the scenario was checked")

    monkeypatch.setattr(outcome_level, "generate_encounters", refuse)


def _fake_closed_loop(monkeypatch) -> list:
    """Record each intruder variant and return hand-made outcomes instead of flying encounters."""
    import encsim.compare.outcome_level as outcome_level

    variants = []

    def generate(scenario, ids=None):
        variants.append(scenario)
        return scenario

    monkeypatch.setattr(outcome_level, "generate_encounters", generate)
    monkeypatch.setattr(outcome_level, "simulate", lambda encounters, logic: outcomes(300, 80, 10, rng=len(variants)))
    return variants


def test_outcome_level_refuses_an_intruder_model_that_cannot_make_encounters(monkeypatch):
    from encsim.compare.outcome_level import compare_outcomes
    from encsim.io.scenario import load_scenario

    _no_closed_loop(monkeypatch)
    scenario, _ = load_scenario(SCENARIOS / "fwse_vs_rotorcraft.toml")
    with pytest.raises(ValueError) as info:
        compare_outcomes(scenario, ROTOR, "balloon_v1", encounters=50)
    assert "balloon_v1" in str(info.value) and "encounters refused" in str(info.value)


def test_cli_outcome_level_refuses_a_balloon_intruder_before_writing_anything(runner, tmp_path, monkeypatch):
    _no_closed_loop(monkeypatch)
    out = tmp_path / "balloon"
    args = [
        "compare",
        ROTOR,
        "balloon_v1",
        "--level",
        "outcome",
        "--scenario",
        str(SCENARIOS / "fwse_vs_rotorcraft.toml"),
        "--encounters",
        "50",
        "--tracks",
        "50",
        "--report",
        str(out),
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "balloon_v1" in result.output and "encounters refused" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_outcome_level_maps_the_layer_preset_by_its_edges(monkeypatch):
    from encsim.compare.outcome_level import compare_outcomes, intruder_variant
    from encsim.io.scenario import load_scenario, parse_scenario

    below, _ = load_scenario(BELOW_500)  # intruder rotorcraft, L = 1 = 50-500 ft
    variant, notes = intruder_variant(below, FWSE)
    assert variant.intruder.presets == {"G": 1, "A": 4, "L": 1} and variant.intruder.model == FWSE
    assert any("50-500 ft" in note and "L=1" in note for note in notes)
    for other, layers in ((RADES, "500-1200, 1200-3000, 3000-5000, 5000-18000"), ("glider_v1", "0-1200, 1200-3000")):
        with pytest.raises(ValueError) as info:
            intruder_variant(below, other)
        assert "50-500 ft" in str(info.value) and other in str(info.value) and layers in str(info.value)
    # the radar model's L = 1 is 500-1200 ft, the OpenSky models' L = 2; its layer table restates the registry's
    radar_text = (SCENARIOS / "uncor_1200code_v2p1_above_500ft.toml").read_text()
    radar = parse_scenario(
        radar_text.replace(
            '[intruder]\nmodel = "uncor_1200code_v2p1"\npresets = { G = 1, A = 4 }',
            '[intruder]\nmodel = "uncor_1200code_v2p1"\npresets = { G = 1, A = 4, L = 1 }',
        )
    )
    assert radar.intruder.presets["L"] == 1
    opensky, notes = intruder_variant(radar, FWSE)
    assert opensky.intruder.presets["L"] == 2 and opensky.intruder.layers_ft is None
    assert any("500-1200 ft" in note and "L=2" in note for note in notes)
    same_table, _ = intruder_variant(radar, "uncor_1200code_v1")
    assert same_table.intruder.presets["L"] == 1 and same_table.intruder.layers_ft == radar.intruder.layers_ft
    # a layer table that overrides the registry's means nothing for a model with other layers: refused
    custom = parse_scenario(radar_text.replace("[5000, 18000]]\n\n[geometry]", "[5000, 12500]]\n\n[geometry]"))
    with pytest.raises(ValueError, match="layers_ft"):
        intruder_variant(custom, FWSE)
    # through compare_outcomes: refused before any encounter; mapped presets reach the generator and the notes
    _no_closed_loop(monkeypatch)
    with pytest.raises(ValueError, match="50-500 ft"):
        compare_outcomes(below, ROTOR, RADES, encounters=50)
    variants = _fake_closed_loop(monkeypatch)
    result = compare_outcomes(radar, RADES, FWSE, encounters=50, n_boot=50)
    assert [v.intruder.presets.get("L") for v in variants] == [1, 2]
    assert any("L=2" in note for note in result.notes)


def test_track_level_keeps_to_the_shared_layers_by_default(monkeypatch):
    import encsim.compare.track_level as track_level

    calls = []
    real = track_level.track_features

    def spy(model, n, duration_s, rng, presets=None, layers=None, **kwargs):
        calls.append(layers)
        return (
            real(model, n, duration_s, rng, presets, layers, with_start_altitude=True)
            .assign(outside=lambda f: ~f["start_alt_ft"].between(1200, 5000))
            .drop(columns="start_alt_ft")
        )

    monkeypatch.setattr(track_level, "track_features", spy)
    table = track_level.compare_tracks(FWSE, "glider_v1", n=40, duration_s=10, presets={"G": 1, "A": 4}, n_boot=20)
    assert calls == [[(1200.0, 3000.0), (3000.0, 5000.0)]] * 2
    assert table.set_index("feature").loc["outside", ["mean_a", "mean_b"]].tolist() == [0.0, 0.0]
    assert table.attrs["layers_ft"] == [(1200.0, 3000.0), (3000.0, 5000.0)]


def test_cli_track_level_states_its_layers_and_splits_the_intervals(runner, tmp_path):
    out = tmp_path / "tracks"
    result = runner.invoke(
        main, ["compare", FWSE, "glider_v1", "--level", "track", "--tracks", "50", "--report", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    track_part = page[page.index("<h2>Track level</h2>") :]
    assert "1200-3000, 3000-5000 ft" in track_part
    record = json.loads((out / "provenance.json").read_text())
    assert record["track_level"]["pairs"][0]["layers_ft"] == [[1200, 3000], [3000, 5000]]
    table = pd.read_csv(out / "track_distances.csv")
    for name in ("mean_difference_ci", "wasserstein1_ci", "ks_statistic_ci"):
        assert name not in table.columns
        assert table[f"{name}_low"].dtype == np.float64 and table[f"{name}_high"].dtype == np.float64
        assert (table[f"{name}_low"] <= table[f"{name}_high"]).all()


def test_a_reused_report_folder_keeps_no_stale_files(runner, tmp_path):
    out = tmp_path / "report"
    # an earlier report (this is what a report written before the files were listed looks like)
    out.mkdir()
    (out / "provenance.json").write_text(
        json.dumps({"encsim_version": "0", "levels": ["model", "track"], "models": []})
    )
    (out / "track_distances.csv").write_text("feature\nspeed_kt\n")
    (out / "layers_5.png").write_bytes(b"png")
    (out / "my_notes.txt").write_text("kept")
    result = runner.invoke(main, ["compare", FWSE, ROTOR, "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "track_distances.csv").exists() and not (out / "layers_5.png").exists()
    assert (out / "my_notes.txt").read_text() == "kept"
    record = json.loads((out / "provenance.json").read_text())
    assert record["levels"] == ["model"]
    assert set(record["files"]) == {p.name for p in out.iterdir()} - {"my_notes.txt"}
    assert {"index.html", "provenance.json", "model_distances.csv", "model_dynamics.csv"} <= set(record["files"])
    # a second run removes what the first listed, and only that
    (out / "heatmap.png").unlink()
    again = runner.invoke(main, ["compare", FWSE, "glider_v1", "--report", str(out)])
    assert again.exit_code == 0, again.output
    assert set(json.loads((out / "provenance.json").read_text())["files"]) == {p.name for p in out.iterdir()} - {
        "my_notes.txt"
    }
    # a folder that holds something else is refused and left alone
    other = tmp_path / "other"
    other.mkdir()
    (other / "index.html").write_text("somebody's page")
    refused = runner.invoke(main, ["compare", FWSE, ROTOR, "--report", str(other)])
    assert refused.exit_code == 2 and "not an encsim compare report" in refused.output
    assert [p.name for p in other.iterdir()] == ["index.html"] and (
        other / "index.html"
    ).read_text() == "somebody's page"


def test_cli_refuses_an_unknown_logic_before_writing_anything(runner, tmp_path, monkeypatch):
    _no_closed_loop(monkeypatch)
    out = tmp_path / "logic"
    args = [
        "compare",
        ROTOR,
        FWSE,
        "--level",
        "outcome",
        "--scenario",
        str(SCENARIOS / "fwse_vs_rotorcraft.toml"),
        "--logic",
        "nosuch",
        "--encounters",
        "50",
        "--tracks",
        "50",
        "--report",
        str(out),
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "--logic" in result.output and "nosuch" in result.output and "Traceback" not in result.output
    assert not out.exists()
    from encsim.compare.report import write_report
    from encsim.io.scenario import load_scenario

    scenario, text = load_scenario(SCENARIOS / "fwse_vs_rotorcraft.toml")
    with pytest.raises(ValueError, match="nosuch"):
        write_report(
            [ROTOR, FWSE],
            out,
            levels=("model", "track", "outcome"),
            scenario=scenario,
            scenario_text=text,
            logic="nosuch",
            n_tracks=50,
        )
    assert not out.exists()
