"""Runs: identical results on any executor, after interruption, resumption and a killed worker."""

from __future__ import annotations

import json
import os
import signal
from concurrent.futures import ProcessPoolExecutor

import h5py
import numpy as np
import pytest

from encsim.runner import run_scenario

SCENARIO = """
name = "runner_test"
[ownship]
model = "uncor_1200only_fwse_v1p2"
presets = { G = 1, A = 4 }
[intruder]
model = "uncor_1200only_rotorcraft_v1p2"
presets = { G = 1, A = 4 }
[geometry]
tcpa_s = 30
duration_s = 60
hmd_edges_ft = [-2000, -1000, -500, 0, 500, 1000, 2000]
hmd_proportions = [1, 1, 5, 5, 1, 1]
vmd_edges_ft = [-300, -200, -100, 0, 100, 200, 300]
vmd_weights = [1, 1, 5, 5, 1, 1]
[run]
encounters = 700
seed = 9
chunk_size = 150
"""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenario") / "runner.toml"
    path.write_text(SCENARIO)
    return path


def contents(results_path) -> dict:
    with h5py.File(results_path, "r") as f:
        return {f"{g}/{name}": f[g][name][()] for g in ("metadata", "outcomes") if g in f for name in f[g]}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture(scope="module")
def serial(scenario_file, tmp_path_factory):
    result = run_scenario(scenario_file, tmp_path_factory.mktemp("serial") / "run")
    assert result.encounters == 700 and result.chunks_computed == 5
    return contents(result.results_path)


def test_results_join_every_chunk_with_provenance(serial, scenario_file, tmp_path):
    assert serial["metadata/encounter_id"].tolist() == list(range(700))
    run = run_scenario(scenario_file, tmp_path / "again")
    with h5py.File(run.results_path, "r") as f:
        assert f.attrs["n_chunks"] == 5 and "[geometry]" in f.attrs["scenario_text"]
        assert f.attrs["ownship_model"] == "uncor_1200only_fwse_v1p2" and len(json.loads(f.attrs["chunk_sha256"])) == 5
    manifest = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert sorted(manifest["chunks"]) == ["0", "1", "2", "3", "4"]
    with pytest.raises(ValueError, match="resume"):
        run_scenario(scenario_file, tmp_path / "again")


def test_a_process_pool_gives_bit_identical_results(serial, scenario_file, tmp_path):
    import multiprocessing

    # spawn, not fork: a forked copy of a process whose Numba threads are running can die
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = run_scenario(scenario_file, tmp_path / "pool", executor=pool)
    assert_same(serial, contents(result.results_path))


def test_interrupted_and_resumed_runs_are_identical(serial, scenario_file, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario_file, tmp_path / "run", stop_after=2)
    # a chunk half-written by a killed run, and a finished chunk damaged afterwards
    (tmp_path / "run" / "chunks" / "chunk_000004.h5.partial").write_bytes(b"half")
    damaged = tmp_path / "run" / "chunks" / "chunk_000000.h5"
    damaged.write_bytes(damaged.read_bytes()[:-100])
    resumed = run_scenario(scenario_file, tmp_path / "run", resume=True)
    assert resumed.chunks_reused == 1 and resumed.chunks_computed == 4
    assert not list((tmp_path / "run" / "chunks").glob("*.partial"))
    assert_same(serial, contents(resumed.results_path))


@pytest.mark.slow
def test_dask_with_one_and_two_workers_and_a_killed_worker(serial, scenario_file, tmp_path):
    from dask.distributed import Client, LocalCluster

    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                result = run_scenario(scenario_file, tmp_path / f"dask{workers}", executor=client)
        assert_same(serial, contents(result.results_path))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            pids = list(client.run(os.getpid).values())
            killed = []

            def kill_one(encounters):
                if encounters > 0 and not killed:  # after the first finished chunk, with others running
                    os.kill(pids[0], signal.SIGKILL)  # a worker dies mid-run; its chunks are retried
                    killed.append(pids[0])

            result = run_scenario(scenario_file, tmp_path / "killed", executor=client, progress=kill_one)
    assert killed
    assert_same(serial, contents(result.results_path))


def test_closed_loop_runs_resume_identically(scenario_file, tmp_path):
    full = run_scenario(scenario_file, tmp_path / "full", logic="tcas")
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario_file, tmp_path / "part", logic="tcas", stop_after=3)
    with pytest.raises(ValueError, match="logic"):
        run_scenario(scenario_file, tmp_path / "part", logic="daa", resume=True)
    resumed = run_scenario(scenario_file, tmp_path / "part", logic="tcas", resume=True)
    assert_same(contents(full.results_path), contents(resumed.results_path))
    assert "outcomes/mitigated_nmac" in contents(full.results_path)


def test_cli_runs_into_a_directory_resumes_merges_and_reports(scenario_file, tmp_path):
    from click.testing import CliRunner

    from encsim.cli import main

    runner = CliRunner()
    run_dir = tmp_path / "run"
    first = runner.invoke(main, ["run", str(scenario_file), "-o", str(run_dir), "--workers", "0", "--quiet"])
    assert first.exit_code == 0, first.output
    assert "5 chunks computed" in first.output and "P(NMAC)" in first.output
    again = runner.invoke(main, ["run", str(scenario_file), "-o", str(run_dir), "--workers", "0"])
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = runner.invoke(main, ["run", str(scenario_file), "-o", str(run_dir), "--workers", "0", "--resume", "--quiet"])
    assert resumed.exit_code == 0 and "0 chunks computed, 5 reused" in resumed.output
    assert runner.invoke(main, ["merge", str(run_dir)]).exit_code == 0
    (run_dir / "chunks" / "chunk_000002.h5").unlink()
    broken = runner.invoke(main, ["merge", str(run_dir)])
    assert broken.exit_code == 2 and "[2]" in broken.output
    override = runner.invoke(main, ["run", str(scenario_file), "-o", str(tmp_path / "x"), "--seed", "3"])
    assert override.exit_code == 2 and "run directory follows the scenario" in override.output


def test_slurm_and_pbs_job_scripts_and_cluster_settings(tmp_path, monkeypatch):
    pytest.importorskip("dask_jobqueue", reason="the hpc extra (also in dev) provides dask-jobqueue")
    from encsim.io.scenario import parse_scenario
    from encsim.runner.clusters import batch_cluster

    monkeypatch.setenv("ENCSIM_MODEL_DIR", "/data/mitll")
    slurm = batch_cluster("slurm", queue="short", cores=4, memory="16GB", walltime="02:00:00", scheduler_host="127.0.0.1")
    try:
        script = slurm.job_script()
    finally:
        slurm.close()
    for line in ("#SBATCH -p short", "#SBATCH --cpus-per-task=4", "#SBATCH -t 02:00:00", "export NUMBA_NUM_THREADS=1",
                 "export ENCSIM_MODEL_DIR=/data/mitll", "--nworkers 4", "--nthreads 1"):  # fmt: skip
        assert line in script, line
    pbs = batch_cluster("pbs", queue="workq", cores=2, memory="8GB", walltime="00:30:00", scheduler_host="127.0.0.1")
    try:
        assert "#PBS -q workq" in pbs.job_script() and "walltime=00:30:00" in pbs.job_script()
    finally:
        pbs.close()
    with pytest.raises(ValueError, match="scheduler"):
        batch_cluster("lsf")
    scenario = parse_scenario(SCENARIO + '[cluster]\nscheduler = "slurm"\nqueue = "short"\ncores = 8\njobs = 4\n')
    assert scenario.cluster.scheduler == "slurm" and scenario.cluster.jobs == 4
    from encsim.io.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="scheduler"):
        parse_scenario(SCENARIO + '[cluster]\nscheduler = "grid"\n')


def test_a_missing_model_fails_once_before_any_chunk_is_submitted(scenario_file, tmp_path, monkeypatch):
    from encsim.bayes.registry import ModelNotFoundError

    class RefusingExecutor:
        def submit(self, *args, **kwargs):
            raise AssertionError("a chunk was submitted although a model file is missing")

    monkeypatch.setenv("ENCSIM_MODEL_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("ENCSIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ENCSIM_OFFLINE", "1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="uncor_1200only_(fwse|rotorcraft)_v1p2.*Looked in"):
        run_scenario(scenario_file, tmp_path / "run", executor=RefusingExecutor())
    assert not (tmp_path / "run").exists()
