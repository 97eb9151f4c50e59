"""`encsim run --scheduler ...` and the scenario's [cluster] table, down to the cluster and client built.

No batch system is needed: a fake ``dask_jobqueue`` module (SLURMCluster, PBSCluster) and a fake
``dask.distributed.Client`` / ``LocalCluster`` record what the CLI builds. The fake client either
raises a sentinel as soon as it is constructed (the run stops before any chunk) or acts as a
synchronous executor, so that a whole run goes through the client made on the batch cluster.
"""

from __future__ import annotations

import concurrent.futures
import os
import sys
import types

import pytest
from click.testing import CliRunner
from conftest import small_scenario_text

from encsim.cli import main

SCENARIO = small_scenario_text("cluster_config_test")

SLURM_TABLE = """
[cluster]
scheduler = "slurm"
workers = 7
queue = "short"
cores = 4
memory = "16GB"
walltime = "02:00:00"
jobs = 3
"""


class Sentinel(Exception):
    """Raised by the fake client once built: the run stops before any chunk is submitted."""


class Recorder:
    def __init__(self):
        self.clusters: list[FakeBatchCluster] = []
        self.local_clusters: list[dict] = []
        self.clients: list[FakeClient] = []
        self.client_raises = True
        self.scale_raises = False


def fake_batch_class(kind: str, recorder: Recorder):
    class Cluster(FakeBatchCluster):
        pass

    Cluster.kind, Cluster.recorder = kind, recorder
    Cluster.__name__ = Cluster.__qualname__ = f"{kind}Cluster"
    return Cluster


class FakeBatchCluster:
    kind = ""
    recorder: Recorder

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.scaled: list[dict] = []
        self.closed = False
        self.recorder.clusters.append(self)

    def scale(self, n=None, jobs=0, memory=None, cores=None):
        self.scaled.append({"n": n, "jobs": jobs, "memory": memory, "cores": cores})
        if self.recorder.scale_raises:
            raise Sentinel("scale failed")

    def close(self):
        self.closed = True


class FakeClient:
    """``Client(cluster_or_address)``: raises the sentinel, or runs submitted chunks synchronously.

    Without ``scatter``/``gather`` the runner takes it for a ``concurrent.futures`` executor.
    """

    recorder: Recorder

    def __init__(self, target, *args, **kwargs):
        self.target, self.submitted, self.exited = target, [], False
        self.recorder.clients.append(self)
        if self.recorder.client_raises:
            raise Sentinel(f"client built on {target!r}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.exited = True
        return False

    def submit(self, function, *args, **kwargs):
        self.submitted.append(args[2])  # compute_chunk(scenario_text, logic, chunk_index, run_dir)
        future = concurrent.futures.Future()
        try:
            future.set_result(function(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


@pytest.fixture()
def fakes(monkeypatch, tmp_path_factory):
    import dask.distributed

    commands = tmp_path_factory.mktemp("batch_commands")  # the submit commands make_client looks for
    for name in ("sbatch", "qsub"):
        (commands / name).write_text("#!/bin/sh\nexit 1\n")
        (commands / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{commands}{os.pathsep}{os.environ.get('PATH', '')}")
    recorder = Recorder()
    module = types.ModuleType("dask_jobqueue")
    module.SLURMCluster = fake_batch_class("SLURM", recorder)
    module.PBSCluster = fake_batch_class("PBS", recorder)
    monkeypatch.setitem(sys.modules, "dask_jobqueue", module)
    client_class = type("Client", (FakeClient,), {"recorder": recorder})
    monkeypatch.setattr(dask.distributed, "Client", client_class)

    class LocalCluster:
        def __init__(self, **kwargs):
            recorder.local_clusters.append({**kwargs, "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS")})

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(dask.distributed, "LocalCluster", LocalCluster)
    return recorder


def scenario(tmp_path, table: str = "") -> str:
    path = tmp_path / f"scenario{len(list(tmp_path.glob('scenario*.toml')))}.toml"  # a new file each call
    path.write_text(SCENARIO + table)
    return str(path)


def encsim_run(scenario_path, run_dir, *options):
    return CliRunner().invoke(main, ["run", scenario_path, "-o", str(run_dir), "--quiet", *options])


def prologue() -> list[str]:
    return [
        "export NUMBA_NUM_THREADS=1",
        "export OMP_NUM_THREADS=1",
        f"export ENCSIM_MODEL_DIR={os.environ['ENCSIM_MODEL_DIR']}",
    ]


def test_the_scenario_cluster_table_builds_the_slurm_cluster_and_the_run_goes_through_its_client(fakes, tmp_path):
    fakes.client_raises = False
    result = encsim_run(scenario(tmp_path, SLURM_TABLE), tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "20 encounters" in result.output and "2 chunks computed" in result.output
    [cluster] = fakes.clusters
    assert cluster.kind == "SLURM"
    assert cluster.kwargs == {
        "queue": "short",
        "cores": 4,
        "processes": 4,
        "memory": "16GB",
        "walltime": "02:00:00",
        "job_script_prologue": prologue(),
    }
    assert cluster.scaled == [{"n": None, "jobs": 3, "memory": None, "cores": None}]  # jobs, not workers = 7
    [client] = fakes.clients
    assert client.target is cluster and sorted(client.submitted) == [0, 1] and client.exited
    assert cluster.closed
    assert (tmp_path / "run" / "results.h5").exists()


@pytest.mark.parametrize(
    ("table", "option", "kind"),
    [
        (SLURM_TABLE, ["--scheduler", "pbs"], "PBS"),  # the command line's scheduler wins over the scenario's
        (SLURM_TABLE.replace('"slurm"', '"pbs"'), ["--scheduler", "slurm"], "SLURM"),
        (SLURM_TABLE.replace('"slurm"', '"pbs"'), [], "PBS"),
    ],
    ids=["scenario-slurm-cli-pbs", "scenario-pbs-cli-slurm", "scenario-pbs"],
)
def test_the_command_line_scheduler_wins_and_the_other_settings_come_from_the_scenario(
    fakes, tmp_path, table, option, kind
):
    result = encsim_run(scenario(tmp_path, table), tmp_path / "run", *option)
    assert isinstance(result.exception, Sentinel), result.output
    [cluster] = fakes.clusters
    assert cluster.kind == kind
    assert cluster.kwargs == {
        "queue": "short",
        "cores": 4,
        "processes": 4,
        "memory": "16GB",
        "walltime": "02:00:00",
        "job_script_prologue": prologue(),
    }
    assert [s["jobs"] for s in cluster.scaled] == [3]
    assert fakes.clients[0].target is cluster and cluster.closed  # closed although the client failed
    assert not (tmp_path / "run").exists()  # stopped before the runner made the run directory


def test_without_a_cluster_table_the_batch_defaults_apply(fakes, tmp_path, monkeypatch):
    monkeypatch.delenv("ENCSIM_MODEL_DIR")  # only the job scripts lose it: the sentinel stops the run first
    result = encsim_run(scenario(tmp_path), tmp_path / "run", "--scheduler", "slurm")
    assert isinstance(result.exception, Sentinel), result.output
    [cluster] = fakes.clusters
    assert cluster.kind == "SLURM"
    assert cluster.kwargs == {
        "queue": None,
        "cores": 1,
        "processes": 1,
        "memory": "4GB",
        "walltime": "01:00:00",
        "job_script_prologue": ["export NUMBA_NUM_THREADS=1", "export OMP_NUM_THREADS=1"],
    }
    assert [s["jobs"] for s in cluster.scaled] == [1] and cluster.closed


def test_a_local_or_tcp_scheduler_on_the_command_line_overrides_a_batch_cluster_table(fakes, tmp_path):
    path, numba_threads = scenario(tmp_path, SLURM_TABLE), os.environ.get("NUMBA_NUM_THREADS")
    result = encsim_run(path, tmp_path / "remote", "--scheduler", "tcp://10.1.2.3:8786")
    assert isinstance(result.exception, Sentinel), result.output
    assert [client.target for client in fakes.clients] == ["tcp://10.1.2.3:8786"]
    result = encsim_run(path, tmp_path / "local", "--scheduler", "local", "--workers", "2")
    assert isinstance(result.exception, Sentinel), result.output
    [local] = fakes.local_clusters
    assert local["n_workers"] == 2 and local["threads_per_worker"] == 1 and local["processes"] is True
    assert local["NUMBA_NUM_THREADS"] == "1"  # exported for the spawned workers while the cluster is built...
    assert os.environ.get("NUMBA_NUM_THREADS") == numba_threads  # ...and restored after
    assert not fakes.clusters  # no batch cluster for either


def test_local_workers_come_from_the_command_line_else_from_the_scenario(fakes, tmp_path):
    local_table = '[cluster]\nscheduler = "local"\nworkers = 5\n'
    path = scenario(tmp_path, local_table)
    assert isinstance(encsim_run(path, tmp_path / "a").exception, Sentinel)
    assert isinstance(encsim_run(path, tmp_path / "b", "--workers", "1").exception, Sentinel)
    assert [local["n_workers"] for local in fakes.local_clusters] == [5, 1]
    fakes.client_raises = False  # --workers 0: computed in this process, no cluster and no client
    result = encsim_run(path, tmp_path / "c", "--workers", "0")
    assert result.exit_code == 0, result.output
    assert "2 chunks computed" in result.output and len(fakes.local_clusters) == 2 and len(fakes.clients) == 2


def test_cluster_errors_are_reported_by_the_command(fakes, tmp_path, monkeypatch):
    path = scenario(tmp_path, SLURM_TABLE)
    typo = encsim_run(path, tmp_path / "a", "--scheduler", "lsf")
    assert typo.exit_code == 2 and "expected local, slurm, pbs or tcp://host:port" in typo.output
    extra = encsim_run(scenario(tmp_path, SLURM_TABLE + 'job_extra_directives = ["--gres=gpu:1"]\n'), tmp_path / "b")
    assert extra.exit_code == 2 and "job_extra_directives" in extra.output  # refused, not silently dropped
    grid = encsim_run(scenario(tmp_path, SLURM_TABLE.replace('"slurm"', '"grid"')), tmp_path / "c")
    assert grid.exit_code == 2 and "scheduler" in grid.output
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # the hpc extra is not installed
    missing = encsim_run(path, tmp_path / "d")
    assert missing.exit_code == 2 and "pip install 'encsim[hpc]'" in missing.output
    assert not fakes.clusters and not fakes.clients
    assert not any((tmp_path / name).exists() for name in "abcd")


def test_the_recorded_settings_make_a_valid_job_script_with_the_real_dask_jobqueue(fakes, tmp_path, monkeypatch):
    """What the CLI passes (recorded by the fakes) is accepted by the real classes and lands in the script."""
    encsim_run(scenario(tmp_path, SLURM_TABLE), tmp_path / "run")
    [cluster] = fakes.clusters
    monkeypatch.delitem(sys.modules, "dask_jobqueue")
    real = pytest.importorskip("dask_jobqueue", reason="the hpc extra (also in dev) provides dask-jobqueue")
    slurm = real.SLURMCluster(**cluster.kwargs, scheduler_options={"host": "127.0.0.1"})
    try:
        script = slurm.job_script()
    finally:
        slurm.close()
    for line in (
        "#SBATCH -p short",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=15G",
        "#SBATCH -t 02:00:00",
        "export NUMBA_NUM_THREADS=1",
        f"export ENCSIM_MODEL_DIR={os.environ['ENCSIM_MODEL_DIR']}",
        "--nworkers 4",
        "--nthreads 1",
    ):
        assert line in script, line


def test_a_failing_scale_still_closes_the_batch_cluster(fakes, tmp_path):
    """A failing scale must not leave the batch cluster (its scheduler and any submitted jobs) open."""
    fakes.scale_raises = True
    result = encsim_run(scenario(tmp_path, SLURM_TABLE), tmp_path / "run")
    if not (isinstance(result.exception, Sentinel) and len(fakes.clusters) == 1 and fakes.clusters[0].scaled):
        pytest.fail(f"did not reach cluster.scale: {result.output}")
    assert fakes.clusters[0].closed
