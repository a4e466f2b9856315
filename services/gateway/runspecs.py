"""Builds the executor's RunSpec for a placed job (pure: values in, RunSpec out)."""

from __future__ import annotations

from pathlib import Path

from arenahub.gateway.datasets import dataset_mounts
from arenahub.gateway.executors.base import Mount, RunLimits, RunSpec
from arenahub.gateway.executors.kubejobs import COMPETITION_ENV
from arenahub.gateway.multigpu import make_torchrun_env
from arenahub.gateway.executors.sandbox import WORKSPACE
from arenahub.gateway.settings import RunSettings
from arenahub.gateway.specs import JobSpec, build_argv
from arenahub.scoring.evaluation import OUTPUTS_SUBDIR


def build_run_limits(run: RunSettings, time_limit_s: int) -> RunLimits:
    """Limits of one run; a CPU-time limit of 0 in the settings means 4 x the wall-clock limit."""
    return RunLimits(
        wall_s=time_limit_s,
        mem_bytes=run.mem_bytes,
        cpu_s=run.cpu_s or 4 * time_limit_s,
        max_procs=run.max_procs,
        disk_bytes=run.disk_bytes,
    )


def build_run_spec(
    *,
    job_id: str,
    user: str,
    spec: JobSpec,
    code_dir: Path,
    gpus: list[int],
    dataset_path: Path | None,
    run: RunSettings,
    competition: str | None = None,
) -> RunSpec:
    """The RunSpec of a job: its command, read-only dataset parts for its kind, GPUs and limits.

    Train jobs see the dataset's ``train/`` at /data/train, test jobs its ``test/inputs/`` at
    /data/test/inputs; the annotations are never mounted. ``competition``: the id of the
    competition the job belongs to (ARENAHUB_COMPETITION in its environment).
    """
    if spec.time_limit_s is None:
        raise ValueError(f"Job {job_id} has no time limit; check_spec fills it in before a job is stored.")
    mounts = (
        [Mount(host=host, target=target) for host, target in dataset_mounts(spec.kind, dataset_path)]
        if dataset_path is not None
        else []
    )
    env = {
        **make_torchrun_env(len(gpus)),  # single-node torchrun; a spec may override e.g. MASTER_PORT
        **spec.env,
        "ARENAHUB_JOB_ID": job_id,
        "ARENAHUB_JOB_KIND": spec.kind,
        "ARENAHUB_DATA_DIR": "/data",
    }
    # Set by the gateway only: on Kubernetes it picks the run's namespace (and with it the
    # competition's GPU quota), so a job's own env must not choose it.
    env.pop(COMPETITION_ENV, None)
    if competition is not None:
        env[COMPETITION_ENV] = competition
    if spec.kind == "test":
        env["ARENAHUB_OUTPUT_DIR"] = f"{WORKSPACE}/{OUTPUTS_SUBDIR}"  # what the scorer reads afterwards
    return RunSpec(
        job_id=job_id,
        user=user,
        code_dir=code_dir,
        argv=build_argv(spec, python=run.python),
        mounts=mounts,
        gpus=list(gpus),
        limits=build_run_limits(run, spec.time_limit_s),
        env=env,
    )


def code_dir_of(state_dir: Path, job_id: str) -> Path:
    """Where the unpacked code snapshot of ``job_id`` lives."""
    return state_dir / "jobs" / job_id / "code"
