"""Building executors for the command line: local processes, an existing scheduler, SLURM or PBS.

Only the CLI builds clusters; the library takes any executor. Every worker runs one Numba thread
(``NUMBA_NUM_THREADS=1``) so that N workers on N cores do not oversubscribe them.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil

#: the command each batch system submits jobs with: without it, dask-jobqueue waits for workers forever
SUBMIT_COMMANDS = {"slurm": "sbatch", "pbs": "qsub"}


def require_batch_system(scheduler: str) -> None:
    """RuntimeError at once when ``scheduler`` is a batch system whose submit command is not on PATH."""
    command = SUBMIT_COMMANDS.get(scheduler)
    if command is not None and shutil.which(command) is None:
        raise RuntimeError(
            f"--scheduler {scheduler}: {command} is not on PATH, so this machine cannot submit {scheduler.upper()} "
            "jobs (dask would wait for workers that never start); run from a login node of the cluster, or use "
            "--workers N (local processes) or --scheduler tcp://host:port"
        )


@contextlib.contextmanager
def make_client(
    scheduler: str = "local",
    workers: int = 2,
    *,
    queue=None,
    cores: int = 1,
    memory: str = "4GB",
    walltime: str = "01:00:00",
    jobs: int = 1,
):
    """Yield a dask Client (or None for workers == 0 with the local scheduler: run in this process)."""
    if scheduler == "local" and workers == 0:
        yield None
        return
    from dask.distributed import Client

    if scheduler.startswith("tcp://"):
        with Client(scheduler) as client:
            yield client
        return
    worker_env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    if scheduler == "local":
        from dask.distributed import LocalCluster

        previous = {key: os.environ.get(key) for key in worker_env}
        os.environ.update(worker_env)  # spawned worker processes inherit it
        try:
            with LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster:
                with Client(cluster) as client:
                    yield client
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return
    require_batch_system(scheduler)
    cluster = batch_cluster(scheduler, queue=queue, cores=cores, memory=memory, walltime=walltime)
    try:
        cluster.scale(jobs=jobs)
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def batch_cluster(
    scheduler: str,
    *,
    queue=None,
    cores: int = 1,
    memory: str = "4GB",
    walltime: str = "01:00:00",
    scheduler_host: str | None = None,
):
    """A dask-jobqueue SLURMCluster or PBSCluster (the ``hpc`` extra), one worker process per core.

    ``scheduler_host`` pins the scheduler's address (tests use 127.0.0.1; on a cluster leave it to
    dask-jobqueue so that compute nodes can reach it).
    """
    try:
        import dask_jobqueue
    except ImportError:
        raise RuntimeError("SLURM and PBS need the hpc extra: pip install 'encsim[hpc]'") from None
    kind = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}.get(scheduler)
    if kind is None:
        raise ValueError(f"scheduler {scheduler!r}: expected local, slurm, pbs or tcp://host:port")
    prologue = ["export NUMBA_NUM_THREADS=1", "export OMP_NUM_THREADS=1"]
    if os.environ.get("ENCSIM_MODEL_DIR"):
        # absolute: batch jobs start in another directory (PBS: $HOME)
        prologue.append(f"export ENCSIM_MODEL_DIR={shlex.quote(os.path.abspath(os.environ['ENCSIM_MODEL_DIR']))}")
    options = {"scheduler_options": {"host": scheduler_host}} if scheduler_host else {}
    return kind(
        queue=queue,
        cores=cores,
        processes=cores,
        memory=memory,
        walltime=walltime,
        job_script_prologue=prologue,
        **options,
    )
