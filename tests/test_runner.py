"""Runs: identical results on any executor, after interruption, resumption and a killed worker."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pytest
from distributed.diagnostics.plugin import WorkerPlugin

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


class _FirstChunkWaits(WorkerPlugin):
    """Worker plug-in: the first chunk of run ``run_dir`` to start (on any worker) waits for a barrier.

    ``setup`` runs in every worker process, including one a nanny restarts after a kill, and
    replaces ``encsim.runner.run.compute_chunk`` there: a task names that function by reference, so
    workers resolve it to the replacement. The replacement records every call in ``marks``
    (``ran_<chunk>_<unique>`` holding the pid); the first call claims ``victim`` (O_EXCL, so only
    one worker does), publishes ``victim.json`` (chunk, pid, dask task key), leaves a half-written
    ``.partial`` chunk file as a worker killed mid-write would, and waits for ``release``; later
    calls (the retry) compute normally.
    """

    name = "encsim-test-first-chunk-waits"

    def __init__(self, marks, run_dir):
        self.marks, self.run_dir = str(marks), str(run_dir)

    def setup(self, worker):
        import encsim.runner.run as run_module

        current = run_module.compute_chunk
        original = current.args[0] if isinstance(current, functools.partial) else current  # set up twice: wrap once
        run_module.compute_chunk = functools.partial(
            _compute_chunk_first_call_waits, original, self.marks, self.run_dir
        )


def _compute_chunk_first_call_waits(original, marks, target, scenario_text, logic, chunk_index, run_dir):
    if str(run_dir) != target:
        return original(scenario_text, logic, chunk_index, run_dir)
    from distributed import get_worker

    marks = Path(marks)
    (marks / f"ran_{chunk_index}_{uuid.uuid4().hex}").write_text(str(os.getpid()))
    try:
        os.close(os.open(marks / "victim", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return original(scenario_text, logic, chunk_index, run_dir)
    (Path(run_dir) / "chunks" / f"chunk_{chunk_index:06d}.h5.partial").write_bytes(b"half-written")
    info = {"chunk": chunk_index, "pid": os.getpid(), "key": str(get_worker().get_current_task())}
    (marks / "victim.tmp").write_text(json.dumps(info))
    (marks / "victim.tmp").replace(marks / "victim.json")
    deadline = time.monotonic() + 120  # never hang a test run: if nobody kills us, finish (and the test fails)
    while not (marks / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return original(scenario_text, logic, chunk_index, run_dir)


def _wait_for(path: Path, timeout_s: float = 60) -> Path:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout_s} s"
        time.sleep(0.05)
    return path


@pytest.mark.slow
def test_dask_with_one_and_two_workers_and_a_killed_worker(serial, scenario_file, tmp_path):
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            result = run_scenario(scenario_file, tmp_path / "dask1", executor=client)
    assert_same(serial, contents(result.results_path))
    marks, killed_dir = tmp_path / "marks", tmp_path / "killed"
    marks.mkdir()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            result = run_scenario(scenario_file, tmp_path / "dask2", executor=client)
            assert_same(serial, contents(result.results_path))

            client.register_plugin(_FirstChunkWaits(marks, killed_dir))
            killed = {}

            def kill_the_waiting_worker(encounters):
                # the first call with encounters > 0 follows a finished chunk, so the first chunk to
                # start (the victim) is already waiting at the barrier: it cannot finish before the kill
                if encounters == 0 or killed:
                    return
                victim = json.loads(_wait_for(marks / "victim.json").read_text())
                address = next(a for a, pid in client.run(os.getpid).items() if pid == victim["pid"])
                assert victim["key"] in map(str, client.processing()[address])  # dask has it in progress there
                os.kill(victim["pid"], signal.SIGKILL)
                (marks / "release").touch()
                killed.update(victim)

            result = run_scenario(scenario_file, killed_dir, executor=client, progress=kill_the_waiting_worker)
    assert killed, "no worker was killed"
    runs = {}
    for mark in marks.glob("ran_*"):
        runs.setdefault(int(mark.name.split("_")[1]), []).append(int(mark.read_text()))
    assert sorted(runs) == [0, 1, 2, 3, 4]
    victim_pids = runs.pop(killed["chunk"])
    assert len(victim_pids) == 2 and killed["pid"] in victim_pids  # the killed chunk was computed again elsewhere
    assert all(len(pids) == 1 for pids in runs.values()), runs  # every other chunk once
    assert result.chunks_computed == 5 and result.encounters == 700
    manifest = json.loads((killed_dir / "manifest.json").read_text())
    assert sorted(manifest["chunks"]) == ["0", "1", "2", "3", "4"]
    for entry in manifest["chunks"].values():
        assert hashlib.sha256((killed_dir / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
    assert not list((killed_dir / "chunks").glob("*.partial"))
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
    from encsim.io.encounters_file import read_encounter_file

    runner = CliRunner()
    run_dir = tmp_path / "run"
    first = runner.invoke(main, ["run", str(scenario_file), "-o", str(run_dir), "--workers", "0", "--quiet"])
    assert first.exit_code == 0, first.output
    assert "5 chunks computed" in first.output and "P(NMAC)" in first.output
    again = runner.invoke(main, ["run", str(scenario_file), "-o", str(run_dir), "--workers", "0"])
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = runner.invoke(
        main, ["run", str(scenario_file), "-o", str(run_dir), "--workers", "0", "--resume", "--quiet"]
    )
    assert resumed.exit_code == 0 and "0 chunks computed, 5 reused" in resumed.output
    assert runner.invoke(main, ["merge", str(run_dir)]).exit_code == 0
    (run_dir / "chunks" / "chunk_000002.h5").unlink()
    broken = runner.invoke(main, ["merge", str(run_dir)])
    assert broken.exit_code == 2 and "[2]" in broken.output
    # the joined file would read the missing chunk as fill values: refused, naming the chunk
    report = runner.invoke(main, ["report", str(run_dir)])
    assert report.exit_code == 2 and "chunk_000002.h5" in report.output and "missing" in report.output
    with pytest.raises(FileNotFoundError, match="chunk_000002"):
        read_encounter_file(run_dir / "results.h5")
    # --seed on a run directory is written into the run's scenario text: resuming this run (seed 9)
    # with another seed is a change of scenario, refused by name
    override = runner.invoke(main, ["run", str(scenario_file), "-o", str(run_dir), "--seed", "3", "--resume"])
    assert override.exit_code == 2 and "seed" in override.output and "scenario_sha256" in override.output


def test_slurm_and_pbs_job_scripts_and_cluster_settings(tmp_path, monkeypatch):
    pytest.importorskip("dask_jobqueue", reason="the hpc extra (also in dev) provides dask-jobqueue")
    from encsim.io.scenario import parse_scenario
    from encsim.runner.clusters import batch_cluster

    monkeypatch.setenv("ENCSIM_MODEL_DIR", "/data/mitll")
    slurm = batch_cluster(
        "slurm", queue="short", cores=4, memory="16GB", walltime="02:00:00", scheduler_host="127.0.0.1"
    )
    try:
        script = slurm.job_script()
    finally:
        slurm.close()
    for line in (
        "#SBATCH -p short",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH -t 02:00:00",
        "export NUMBA_NUM_THREADS=1",
        "export ENCSIM_MODEL_DIR=/data/mitll",
        "--nworkers 4",
        "--nthreads 1",
    ):
        assert line in script, line
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENCSIM_MODEL_DIR", "models/mitll")  # relative: PBS jobs start in $HOME
    pbs = batch_cluster("pbs", queue="workq", cores=2, memory="8GB", walltime="00:30:00", scheduler_host="127.0.0.1")
    try:
        assert "#PBS -q workq" in pbs.job_script() and "walltime=00:30:00" in pbs.job_script()
        assert f"export ENCSIM_MODEL_DIR={tmp_path / 'models' / 'mitll'}" in pbs.job_script()
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
    from encsim.bayes.catalogue import ModelNotFoundError

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


def test_run_directory_cli_refuses_bad_outputs_manifests_and_options(scenario_file, tmp_path):
    from click.testing import CliRunner

    from encsim.cli import main

    runner = CliRunner()
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    cases = [
        (["run", str(scenario_file), "-o", str(a_file)], "exists and is not a folder"),
        (
            ["run", str(scenario_file), "-o", str(tmp_path / "r.h5"), "--workers", "2", "--resume"],
            "--workers, --resume: for a run directory",
        ),
    ]
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for text, words in (
        ("{not json", "not a readable manifest"),
        ('{"chunks": {}}', "n_chunks = None"),
        ('{"n_chunks": 0, "chunks": {}}', "n_chunks = 0"),
        ("[]", "expected a JSON object"),
    ):
        cases.append((["merge", str(run_dir)], words))
        cases.append((["run", str(scenario_file), "-o", str(run_dir), "--workers", "0", "--resume", "--quiet"], words))
        (run_dir / "manifest.json").write_text(text)
        for args, expected in cases[-2:]:
            result = runner.invoke(main, args)
            assert result.exit_code == 2 and expected in result.output and "Traceback" not in result.output, (
                args,
                result.output,
            )
    for args, expected in cases[:2]:
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and expected in result.output, (args, result.output)
    assert not (tmp_path / "r.h5").exists()
