"""User logics named by import path: the API, `encsim run` to a file and to a run directory, workers."""

from __future__ import annotations

import multiprocessing
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import small_scenario_text
from numba import njit

from encsim.avoidance import LogicSpecError, describe_logic, is_compiled, resolve_logic, unequipped
from encsim.cli import main
from encsim.io.encounters_file import read_encounter_file
from encsim.runner import run_scenario

# A plain-Python logic (the slow path): a corrective alert and a 20 ft/s climb once the intruder
# is within 3,000 ft horizontally, so mitigated flights differ from nominal ones where it matters.
PLUGIN_SOURCE = """
import math


def climb_when_close(t_s, own, intruder, memory, params, advisory):
    for k in range(advisory.shape[0]):
        advisory[k] = 0.0
    if math.hypot(intruder[0] - own[0], intruder[1] - own[1]) < 3000.0:
        advisory[0] = 2.0
        advisory[1] = 1.0
        advisory[2] = 20.0
        advisory[6] = 1.0


def wrong_signature(t_s, own):
    return None


def feet_per_minute_as_feet_per_second(t_s, own, intruder, memory, params, advisory):
    for k in range(advisory.shape[0]):
        advisory[k] = 0.0
    advisory[0], advisory[1], advisory[2], advisory[6] = 2.0, 1.0, 1500.0, 1.0
"""

SCENARIO = small_scenario_text(
    "plugin_test", tcpa_s=20, duration_s=40, hmd_ft=500, vmd_ft=100, encounters=12, chunk_size=6
)


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder holding the plug-in module, as the current directory (sys.path restored afterwards)."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "my_logic.py").write_text(textwrap.dedent(PLUGIN_SOURCE))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "my_logic", raising=False)
    monkeypatch.chdir(folder)
    (folder / "scenario.toml").write_text(SCENARIO)
    return folder


def test_resolve_logic_by_name_import_path_function_and_tuple(plugin_dir):
    sys.path.insert(0, str(plugin_dir))
    function, params = resolve_logic("daa")
    assert is_compiled(function) and params.dtype == np.float64 and params.size > 1
    function, params = resolve_logic("my_logic:climb_when_close")
    assert not is_compiled(function) and function.__name__ == "climb_when_close" and params.shape == (1,)
    assert resolve_logic("encsim.avoidance.interface:unequipped")[0] is unequipped
    assert resolve_logic((unequipped, [1.0, 2.0]))[1].tolist() == [1.0, 2.0]
    assert describe_logic(unequipped) == "encsim.avoidance.interface:unequipped"
    for bad, words in (
        ("acas", "unknown logic 'acas'"),
        ("no_such_module:x", "cannot import module 'no_such_module'"),
        ("my_logic:nothing", "has no attribute 'nothing'"),
        (":x", "module:object"),
        (42, "callable"),
    ):
        with pytest.raises(LogicSpecError, match=words):
            resolve_logic(bad)


def test_cli_runs_a_plain_python_logic_from_the_current_directory_into_a_file(plugin_dir):
    result = CliRunner().invoke(
        main, ["run", "scenario.toml", "--logic", "my_logic:climb_when_close", "-o", "out.h5", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "slow path" in result.output and "UserWarning" not in result.output
    stored = read_encounter_file(plugin_dir / "out.h5")
    assert stored["logic"] == "my_logic:climb_when_close" and len(stored["outcomes"]) == 12
    outcomes = stored["outcomes"]
    assert outcomes["alerted"].any(), "every encounter passes within 500 ft: the logic must alert"
    climbed = outcomes.loc[outcomes["alerted"]]
    assert (climbed["mitigated_vmd_ft"] != climbed["nominal_vmd_ft"]).any()
    missing = CliRunner().invoke(main, ["run", "scenario.toml", "--logic", "my_logic:nothing", "-o", "x.h5"])
    assert missing.exit_code == 2 and "has no attribute 'nothing'" in missing.output


@pytest.mark.filterwarnings("ignore:a plain Python logic")
def test_run_directory_with_a_plugin_logic_resumes_with_honest_progress_and_reports(plugin_dir):
    sys.path.insert(0, str(plugin_dir))
    run_dir = plugin_dir / "run"
    with pytest.raises(KeyboardInterrupt):
        run_scenario("scenario.toml", run_dir, logic="my_logic:climb_when_close", stop_after=1)
    finished, kept = [], []
    result = run_scenario(
        "scenario.toml",
        run_dir,
        logic="my_logic:climb_when_close",
        resume=True,
        progress=finished.append,
        on_reused=kept.append,
    )
    assert kept == [6] and finished == [6] and result.chunks_reused == 1 and result.chunks_computed == 1
    with pytest.raises(LogicSpecError, match="cannot import"):
        run_scenario("scenario.toml", plugin_dir / "other", logic="missing_module:logic")
    assert not (plugin_dir / "other" / "chunks").exists() or not any((plugin_dir / "other" / "chunks").iterdir())
    with pytest.raises(TypeError, match="by name"):
        run_scenario("scenario.toml", plugin_dir / "other", logic=unequipped)
    report = CliRunner().invoke(main, ["report", str(run_dir), "-o", "report.html"])  # the run directory itself
    assert report.exit_code == 0, report.output
    page = (plugin_dir / "report.html").read_text()
    assert "my_logic:climb_when_close" in page and "risk ratio" in page.lower()
    joined = read_encounter_file(result.results_path)
    assert joined["closed_loop"]["logic_function"] == "my_logic:climb_when_close"  # carried over from the chunks
    assert joined["attrs"]["command"] and joined["attrs"]["created_utc"].startswith("20")


@pytest.mark.filterwarnings("ignore:a plain Python logic")
def test_worker_processes_import_the_plugin_logic_themselves(plugin_dir):
    sys.path.insert(0, str(plugin_dir))  # spawned workers start with the parent's sys.path
    serial = run_scenario("scenario.toml", plugin_dir / "serial", logic="my_logic:climb_when_close")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pooled = run_scenario("scenario.toml", plugin_dir / "pooled", logic="my_logic:climb_when_close", executor=pool)
    a, b = read_encounter_file(serial.results_path)["outcomes"], read_encounter_file(pooled.results_path)["outcomes"]
    assert a.equals(b)


def test_cli_and_runner_check_a_user_logic_before_running_it(plugin_dir):
    for name, words in (
        ("wrong_signature", "failed: TypeError"),
        ("feet_per_minute_as_feet_per_second", "vertical rate"),
    ):
        result = CliRunner().invoke(
            main, ["run", "scenario.toml", "--logic", f"my_logic:{name}", "-o", "x.h5", "--quiet"]
        )
        assert result.exit_code == 2 and "breaks the logic contract" in result.output and words in result.output, (
            result.output
        )
        assert "Traceback" not in result.output
    sys.path.insert(0, str(plugin_dir))
    with pytest.raises(ValueError, match="breaks|failed"):
        run_scenario("scenario.toml", plugin_dir / "run", logic="my_logic:wrong_signature")
    assert not (plugin_dir / "x.h5").exists()


@njit
def _nan_climb(t_s, own, intruder, memory, params, advisory):
    for k in range(advisory.shape[0]):
        advisory[k] = 0.0
    advisory[0], advisory[1], advisory[2], advisory[6] = 2.0, 1.0, np.nan, 1.0


def _nan_climb_python(t_s, own, intruder, memory, params, advisory):
    _nan_climb.py_func(t_s, own, intruder, memory, params, advisory)


@pytest.mark.filterwarnings("ignore:a plain Python logic")
@pytest.mark.parametrize("logic", [_nan_climb, _nan_climb_python], ids=["njit", "python"])
def test_the_closed_loop_refuses_outcomes_of_a_logic_that_gives_nan(logic):
    """Unchecked (API) use: NaN targets would freeze the minimum range; both engines mark the run."""
    from encsim.commands import CommandSchedule
    from encsim.dynamics import initial_states_from_sample
    from encsim.simulate import simulate_states

    own = initial_states_from_sample([200.0], [1000.0], [0.0], [0.0], heading_rad=0.0)
    intruder = initial_states_from_sample([200.0], [1000.0], [0.0], [0.0], heading_rad=np.pi, north_ft=12000.0)
    level = CommandSchedule.from_lists([[(0, 0, 0, 0)]])
    with pytest.raises(ValueError, match=r"non-finite advisory .* ids \[7\]"):
        simulate_states(own, level, intruder, level, 40.0, logic, encounter_ids=[7])
