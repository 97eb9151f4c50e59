"""encsim.replay and encsim show: one encounter of a run re-flown, its outcome equal to the stored one."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import PROJECT_ROOT

import encsim
from encsim.cli import main
from encsim.replays import ReplayError
from encsim.simulate import OUTCOME_COLUMNS

SCENARIO = PROJECT_ROOT / "scenarios" / "daa_fwse_vs_rotorcraft.toml"
N_ENCOUNTERS = 20


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """20 encounters of a shipped scenario flown with the DAA logic and with TCAS."""
    folder = tmp_path_factory.mktemp("replay")
    for logic in ("daa", "tcas"):
        arguments = ["run", str(SCENARIO), "--logic", logic, "--encounters", str(N_ENCOUNTERS)]
        result = CliRunner().invoke(main, [*arguments, "-o", str(folder / f"{logic}.h5"), "--quiet"])
        assert result.exit_code == 0, result.output
    return {logic: encsim.open_results(folder / f"{logic}.h5") for logic in ("daa", "tcas")}


def _picked(results, count=6):
    """Alerted encounters first (the mitigated flight differs from the nominal one), then others."""
    table = results.outcomes
    alerted = table.loc[table["alerted"], "encounter_id"].tolist()
    quiet = table.loc[~table["alerted"], "encounter_id"].tolist()
    return (alerted[: count - 2] + quiet[:2])[:count]


@pytest.mark.parametrize("logic", ["daa", "tcas"])
def test_the_replayed_outcome_is_the_stored_one_bit_for_bit(runs, logic):
    results = runs[logic]
    picked = _picked(results)
    assert len(picked) >= 4 and results.outcomes.set_index("encounter_id").loc[picked, "alerted"].any()
    for encounter_id in picked:
        replay = encsim.replay(results, encounter_id)
        stored = results.outcomes.set_index("encounter_id").loc[encounter_id, list(OUTCOME_COLUMNS)].astype(float)
        # floating-point equal (NaN where the run has NaN): the plain loop runs the kernel's arithmetic
        np.testing.assert_array_equal(replay.outcome.to_numpy(), stored.to_numpy())
        assert replay.encounter_id == encounter_id and replay.logic == logic


def test_the_tables_hold_both_arms_step_by_step(runs):
    results = runs["tcas"]
    with_ra = results.outcomes[results.outcomes["max_alert_level"] == 2]
    assert len(with_ra), "no resolution advisory among the run's encounters"
    encounter_id = int(with_ra["encounter_id"].iloc[0])
    replay = encsim.replay(results, encounter_id)
    duration_s = results.scenario.geometry.duration_s
    n_steps, n_decisions = round(duration_s / 0.1) + 1, round(duration_s) + 1
    steps, decisions = replay.steps, replay.decisions
    assert steps.groupby("arm").size().to_dict() == {"mitigated": n_steps, "nominal": n_steps}
    assert decisions.groupby("arm").size().to_dict() == {"mitigated": n_decisions, "nominal": n_decisions}
    # the nominal ownship and intruder are the stored flights, as re-flown by the Numba flight kernel
    _, own, intruder = results.nominal_trajectories([encounter_id], output_hz=10.0)
    nominal = steps[steps["arm"] == "nominal"]
    np.testing.assert_allclose(nominal["own_north_ft"], own.north_ft[0], atol=1e-6)
    np.testing.assert_allclose(nominal["own_up_ft"], own.up_ft[0], atol=1e-6)
    np.testing.assert_allclose(nominal["intruder_east_ft"], intruder.east_ft[0], atol=1e-6)
    for arm in ("nominal", "mitigated"):  # the separations score the outcome
        flown = steps[steps["arm"] == arm]
        assert flown["horizontal_separation_ft"].min() == pytest.approx(replay.outcome[f"{arm}_hmd_ft"], rel=1e-12)
    said = decisions[decisions["arm"] == "mitigated"]
    outcome = replay.outcome
    assert said["alert_level"].max() == outcome["max_alert_level"]
    assert said.loc[said["alert_level"] >= 1, "t_s"].iloc[0] == outcome["t_first_alert_s"]
    ras = said[said["alert_level"] == 2]
    assert (ras["vertical_sense"] != 0).all() and len(ras)  # a TCAS RA has a sense and a strength
    assert set(np.abs(ras["target_vertical_rate_fpm"]).round(6)) <= {1500.0, 2500.0}
    # the pilot: guidance first flown at the recorded manoeuvre time, then the command turns toward it
    mitigated = steps[steps["arm"] == "mitigated"]
    flying = mitigated[mitigated["flying_vertical"]]
    if not np.isnan(outcome["t_first_manoeuvre_s"]):
        assert flying["t_s"].iloc[0] == pytest.approx(outcome["t_first_manoeuvre_s"])
        first = flying.iloc[0]
        assert np.sign(first["commanded_vertical_rate_fpm"] - first["own_vertical_rate_fpm"]) == np.sign(
            first["flown_target_vertical_rate_fpm"] - first["own_vertical_rate_fpm"]
        )
    assert np.isnan(steps["commanded_vertical_rate_fpm"].iloc[-1])  # no command after the last step
    assert not steps.loc[steps["arm"] == "nominal", "flying_vertical"].any()
    units = ("_ft", "_s", "_deg", "_kt", "_fpm", "_deg_s")
    unitless = {"arm", "step", "flying_vertical", "flying_horizontal", "alert_level", "vertical_mode"}
    unitless |= {"horizontal_mode", "change_counter", "vertical_sense"}
    unitless |= {"direction_region", "direction_preferred", "altitude_region", "altitude_preferred"}
    for frame in (steps, decisions):
        assert all(c.endswith(units) or c in unitless for c in frame.columns), list(frame.columns)


def test_worst_rows_feed_replay(runs):
    results = runs["daa"]
    worst = results.worst(3, by="min_hmd")
    assert len(worst) == 3
    for row in worst.itertuples():
        replay = encsim.replay(results.path, row.encounter_id)  # a path works as well as a Results
        assert replay.outcome["mitigated_hmd_ft"] == row.mitigated_hmd_ft


def test_another_logic_or_another_source_is_refused_naming_both(runs):
    results = runs["tcas"]
    recorded = results.provenance["closed_loop"]["logic_source_sha256"]
    with pytest.raises(
        ReplayError, match=f"logic daa has source sha256 [0-9a-f]{{64}}, but the run recorded {recorded}"
    ):
        encsim.replay(results, 0, logic="daa")
    edited = "0" * 64  # as if the logic's source file had changed since the run
    results._data["closed_loop"] = {**results._data["closed_loop"], "logic_source_sha256": edited}
    try:
        with pytest.raises(
            ReplayError, match=f"logic tcas has source sha256 {recorded}, but the run recorded {edited}"
        ):
            encsim.replay(results, 0)
    finally:
        results._data["closed_loop"]["logic_source_sha256"] = recorded
    with pytest.raises(KeyError, match="encounter id 999 is not in"):
        encsim.replay(results, 999)


def test_show_draws_the_encounter(runs, tmp_path):
    results = runs["daa"]
    encounter_id = _picked(results)[0]
    output = tmp_path / "one.png"
    runner = CliRunner()
    result = runner.invoke(main, ["show", str(results.path), str(encounter_id), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "replayed outcome equals the stored one" in result.output
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and output.stat().st_size > 50_000
    again = runner.invoke(main, ["show", str(results.path), str(encounter_id), "-o", str(output)])
    assert again.exit_code != 0 and "--overwrite" in again.output
    wrong = runner.invoke(main, ["show", str(results.path), "1", "--logic", "tcas", "-o", str(tmp_path / "x.png")])
    assert wrong.exit_code != 0 and "source sha256" in wrong.output and "daa" in wrong.output


def test_a_flat_trace_keeps_a_readable_scale():
    """A level flight's vertical rates (rounding noise of 1e-16 ft/min) are drawn on at least +-100 ft/min."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from encsim.io.encounter_plot import _keep_readable

    figure, axis = plt.subplots()
    axis.plot([0.0, 1.0, 2.0], [0.0, 4e-16, -4e-16])
    _keep_readable(axis, 200.0)
    low, high = axis.get_ylim()
    assert high - low == pytest.approx(200.0) and low < 0.0 < high
    axis.plot([0.0, 1.0], [-900.0, 1500.0])  # a climb: its own scale is kept
    axis.relim()
    axis.autoscale_view()
    span = axis.get_ylim()[1] - axis.get_ylim()[0]
    _keep_readable(axis, 200.0)
    assert axis.get_ylim()[1] - axis.get_ylim()[0] == pytest.approx(span)
    plt.close(figure)
