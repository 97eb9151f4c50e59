"""Contained plug-ins (issue 18, case 9): whatever a user's logic does at run time, the run stops with
one message naming the chunk, the encounter and the time; memory is never corrupted; a logic that
never returns meets the per-chunk time limit."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import small_scenario_text

from encsim.avoidance import LogicContractError, check_logic
from encsim.cli import main
from encsim.encounters import generate_encounters
from encsim.io.scenario import parse_scenario
from encsim.runner import run_scenario
from encsim.runner.run import ChunkTimeLimitError
from encsim.simulate import LogicRunError, simulate

SCENARIO = small_scenario_text("strict_plugins", encounters=12, chunk_size=6, seed=5)


@pytest.fixture(scope="module")
def encounters():
    return generate_encounters(parse_scenario(SCENARIO), SCENARIO)


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenario") / "plugins.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def low(encounters):
    """Ids of the encounters whose ownship may fly below 2,000 ft at 5 s (where the logics misbehave).

    Within 5 s an ownship climbs at most 2,000 ft/min x 5 s = 167 ft; one starting below 1,800 ft
    certainly misbehaves, so the set is never empty.
    """
    ids = encounters.metadata["encounter_id"].to_numpy()
    assert (encounters.own_initial.alt_ft < 1800.0).any(), "the scenario must hold low encounters"
    return set(ids[encounters.own_initial.alt_ft < 2200.0].tolist())


@pytest.mark.parametrize(
    ("how", "words"),
    [
        (1.0, r"raised an exception: IndexError: index is out of bounds"),
        (2.0, r"raised an exception: IndexError: index is out of bounds"),
        (3.0, r"wrote alert level 7 \(expected 0, 1, 2 or 3\)"),
        (4.0, r"wrote vertical mode 3 \(expected 0 or 1\)"),
        (5.0, r"raised an exception: ValueError: a user's error"),
    ],
    ids=["advisory[ADVISORY_SIZE]", "past memory", "level 7", "mode 3", "raise"],
)
def test_a_compiled_logic_is_checked_at_every_decision_and_cannot_write_out_of_bounds(encounters, low, how, words):
    from strict_logics import misbehaves

    with pytest.raises(LogicRunError, match=words) as info:
        simulate(encounters, (misbehaves, np.array([how])))
    message = str(info.value)
    assert "strict_logics:misbehaves" in message and " at t = 5 s of encounter " in message
    first = int(message.split(" of encounter ")[1].split()[0])
    assert first in low  # an encounter where it misbehaved, named with the time it did
    # the process is intact: the same logic behaving runs (no corrupted heap, no stale state)
    fine = simulate(encounters, (misbehaves, np.array([0.0])))
    assert not fine["alerted"].any() and np.isfinite(fine["mitigated_hmd_ft"]).all()


def test_check_logic_refuses_a_logic_that_returns_its_advisory_instead_of_filling_it(tmp_path, scenario_file):
    from strict_logics import returns_its_advisory

    with pytest.raises(LogicContractError, match=r"returned ndarray .* at t = 0 s: a logic returns nothing and fills"):
        check_logic(returns_its_advisory)
    result = CliRunner().invoke(
        main,
        ["run", str(scenario_file), "--logic", "strict_logics:returns_its_advisory", "-o", str(tmp_path / "r.h5")],
    )
    assert (
        result.exit_code == 2 and "breaks the logic contract" in result.output and "returned ndarray" in result.output
    )


@pytest.mark.filterwarnings("ignore:a plain Python logic")
def test_a_python_logic_that_raises_names_chunk_encounter_and_time_on_every_executor(scenario_file, low, tmp_path):
    expected = (
        r"chunk \d \(encounters \d+-\d+\): logic strict_logics:python_boom raised RuntimeError: boom "
        r"at t = 5 s of encounter \d+"
    )
    with pytest.raises(LogicRunError, match=expected):
        run_scenario(scenario_file, tmp_path / "serial", logic="strict_logics:python_boom")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        with pytest.raises(LogicRunError, match=expected):
            run_scenario(scenario_file, tmp_path / "processes", logic="strict_logics:python_boom", executor=pool)
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            with pytest.raises(LogicRunError, match=expected):
                run_scenario(scenario_file, tmp_path / "dask", logic="strict_logics:python_boom", executor=client)
    for output, options in ((tmp_path / "r.h5", []), (tmp_path / "cli_dir", ["--workers", "0"])):
        result = CliRunner().invoke(
            main, ["run", str(scenario_file), "--logic", "strict_logics:python_boom", "-o", str(output), *options]
        )
        assert result.exit_code == 2 and "raised RuntimeError: boom at t = 5 s of encounter" in result.output
        assert "chunk " in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.h5").exists()


@pytest.mark.filterwarnings("ignore:a plain Python logic")
def test_a_logic_that_never_returns_meets_the_chunk_time_limit(scenario_file, tmp_path):
    with pytest.raises(ChunkTimeLimitError, match=r"chunk \d ran longer than the time limit of 3(\.0)? s per chunk"):
        run_scenario(scenario_file, tmp_path / "run", logic="strict_logics:python_hangs", chunk_time_limit_s=3)
    notes = list((tmp_path / "run" / "chunks").glob("*.time-limit"))
    assert notes and "python_hangs" in notes[0].read_text()  # the stack where it hung
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(scenario_file),
            "--logic",
            "strict_logics:python_hangs",
            "-o",
            str(tmp_path / "cli"),
            "--workers",
            "0",
            "--chunk-time-limit",
            "3",
        ],
    )
    assert result.exit_code == 2 and "ran longer than the time limit of 3.0 s" in result.output, result.output
