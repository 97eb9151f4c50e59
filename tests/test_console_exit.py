"""The ``encsim`` command ends the process without Python's finalisation (`encsim.cli.console`,
issue 19): its statuses and messages are `main`'s, and what it writes is complete; it keeps freed
memory for its next allocations."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from encsim.io.results_file import read_results

ROOT = Path(__file__).resolve().parent.parent


def _console(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from encsim.cli import console; sys.argv[0] = 'encsim'; console()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_the_command_keeps_main_s_statuses_and_messages(tmp_path):
    version = _console("--version", cwd=tmp_path)
    assert version.returncode == 0 and "encsim" in version.stdout
    usage = _console("no-such-command", cwd=tmp_path)
    assert usage.returncode == 2 and "No such command" in usage.stderr
    missing = _console("run", str(tmp_path / "absent.toml"), "-o", str(tmp_path / "x.h5"), cwd=tmp_path)
    assert missing.returncode != 0 and "absent.toml" in missing.stderr


def test_a_run_through_the_command_writes_the_same_complete_file_as_main(tmp_path):
    from click.testing import CliRunner

    from encsim.cli import main

    args = ["run", str(ROOT / "scenarios" / "fwse_vs_rotorcraft.toml"), "--logic", "unequipped"]
    args += ["--encounters", "40", "--quiet"]
    done = _console(*args, "-o", str(tmp_path / "console.h5"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "P(NMAC)" in done.stdout  # the summary reached the pipe before the process ended
    in_process = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "main.h5")])
    assert in_process.exit_code == 0, in_process.output
    console_file, main_file = read_results(tmp_path / "console.h5"), read_results(tmp_path / "main.h5")
    for part in ("metadata", "outcomes"):
        assert console_file[part].shape[0] == 40
        for name in console_file[part].columns:
            np.testing.assert_array_equal(console_file[part][name].to_numpy(), main_file[part][name].to_numpy())


def test_the_command_keeps_freed_memory_unless_the_environment_says_otherwise(monkeypatch):
    from encsim import cli

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's mallopt")
    monkeypatch.setenv("MALLOC_TOP_PAD_", "0")
    assert not cli._keep_freed_memory()  # the user's setting rules
    monkeypatch.delenv("MALLOC_TOP_PAD_")
    assert cli._keep_freed_memory()


def test_the_command_runs_openblas_on_one_thread_unless_the_user_chose(tmp_path):
    """Set before numpy loads OpenBLAS: the command imports numpy lazily, after `console` starts."""
    code = (
        "import sys, os; from encsim import cli; assert 'numpy' not in sys.modules; "
        "cli._no_idle_blas_threads(); print(os.environ['OPENBLAS_NUM_THREADS'])"
    )
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    env["PYTHONPATH"] = str(ROOT)
    chosen = {**env, "OPENBLAS_NUM_THREADS": "3"}
    for environment, expected in ((env, "1"), (chosen, "3")):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=environment, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == expected


def test_a_run_leaves_the_imports_objects_out_of_the_garbage_collector(tmp_path):
    """`encsim run -o X.h5` freezes what is alive before its run (`gc.freeze`): nothing is frozen after
    the imports alone, and the run's `_write_h5` freezes them."""
    from conftest import small_scenario_text

    scenario = tmp_path / "s.toml"
    scenario.write_text(small_scenario_text("freeze_test", encounters=40, seed=3, chunk_size=40))
    code = (
        "import gc, sys; from encsim import cli; assert gc.get_freeze_count() == 0\n"
        "try:\n"
        "    cli.main(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n"
        "    print('frozen', gc.get_freeze_count() > 10000)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["run", str(scenario), "--logic", "unequipped", "-o", str(tmp_path / "x.h5"), "--quiet"]
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("frozen True")


def test_a_run_with_its_kernels_cached_says_nothing_of_compiling(tmp_path):
    """The note on the first run's compilation checks the kernels a run flies: once they are in the
    disk cache (the run in this process puts them there), a new process's run does not print it."""
    from click.testing import CliRunner

    from encsim.cli import main
    from encsim.encounters import kernels_cached as generation_cached
    from encsim.simulate import kernels_cached as closed_loop_cached

    args = ["run", str(ROOT / "scenarios" / "fwse_vs_rotorcraft.toml"), "--logic", "unequipped"]
    args += ["--encounters", "4", "--quiet"]
    assert CliRunner().invoke(main, [*args, "-o", str(tmp_path / "here.h5")]).exit_code == 0
    if generation_cached() is None or closed_loop_cached() is None:
        pytest.skip("this Numba keeps its cache index elsewhere")
    assert generation_cached() and closed_loop_cached()
    later = _console(*args, "-o", str(tmp_path / "later.h5"), cwd=tmp_path)
    assert later.returncode == 0, later.stderr
    assert "compiles encsim's kernels" not in later.stderr
