"""Small things a new user hit: whole columns in models list, G/A bin meanings, SLURM without SLURM, first compile."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import small_scenario_text

from encsim.bayes.registry import load_registry
from encsim.cli import main


@pytest.fixture()
def runner():
    return CliRunner()


def test_models_list_never_cuts_a_value(runner):
    result = runner.invoke(main, ["models", "list"])
    assert result.exit_code == 0, result.output
    registry = load_registry()
    lines = result.output.splitlines()
    for name, entry in registry.items():
        line = next(line for line in lines if line.startswith(name + " "))
        assert entry.aircraft_class in line and entry.data_source in line, line
    header = lines[0]
    for line in lines[2:]:  # every column starts where its header does
        for column in ("aircraft class", "data", "scope", "uses"):
            start = header.index(column)
            assert line[start - 1] == " " and line[start] != " ", (column, line)


def test_models_info_gives_the_meaning_of_g_and_a_bins(runner):
    out = runner.invoke(main, ["models", "info", "uncor_1200only_fwse_v1p2"]).output
    assert "1 = mainland US and Alaska" in out and "5 = mainland Canada" in out
    assert "1 = class B, 2 = class C, 3 = class D, 4 = other (classes A, E, F, G)" in out
    older = runner.invoke(main, ["models", "info", "uncor_allcode_fwsingle_v1"]).output  # G has 4 bins, no Canada
    assert "4 = offshore of the islands" in older and "Canada" not in older
    due_regard = runner.invoke(main, ["models", "info", "dueregard_v1"]).output  # a G of 7 other regions: no guess
    assert "mainland US" not in due_regard


@pytest.mark.parametrize(("scheduler", "command"), [("slurm", "sbatch"), ("pbs", "qsub")])
def test_a_batch_scheduler_without_its_submit_command_fails_at_once(runner, tmp_path, monkeypatch, scheduler, command):
    pytest.importorskip("dask_jobqueue", reason="the hpc extra (also in dev) provides dask-jobqueue")
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, no qsub
    scenario = tmp_path / "s.toml"
    scenario.write_text(small_scenario_text("no_batch"))
    result = runner.invoke(main, ["run", str(scenario), "-o", str(tmp_path / "run"), "--scheduler", scheduler])
    assert result.exit_code == 2
    assert f"{command} is not on PATH" in result.output and "--workers N" in result.output
    assert not (tmp_path / "run").exists()


def test_the_first_run_says_it_compiles_the_kernels_once(runner, tmp_path, monkeypatch):
    import numpy as np

    from encsim.encounters import generate_encounters
    from encsim.encounters._kernels import fly_attempts_kernel
    from encsim.io.scenario import load_scenario

    scenario = tmp_path / "s.toml"
    scenario.write_text(small_scenario_text("compile_note"))
    generate_encounters(*load_scenario(scenario), ids=np.arange(2))  # generation's kernel compiled and cached by now
    arguments = ["run", str(scenario), "-o", str(tmp_path / "x.h5"), "--workers", "2"]  # refused right after
    assert "compiles encsim's kernels once" not in runner.invoke(main, arguments).output
    monkeypatch.setattr(fly_attempts_kernel._cache._cache_file, "_index_path", str(tmp_path / "never_compiled.nbi"))
    result = runner.invoke(main, arguments)
    assert "compiles encsim's kernels once (about 1-2 minutes" in result.output and result.exit_code == 2
