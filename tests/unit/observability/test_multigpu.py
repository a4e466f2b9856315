"""Multi-GPU jobs on a 2-node x 4-GPU inventory: whole on one node or waiting, N devices, torchrun's environment."""

from pathlib import Path

import pytest

from arenahub.gateway.executors.sandbox import JobSandboxInputs, make_job_env
from arenahub.gateway.multigpu import make_torchrun_env
from arenahub.gateway.placement import BINPACK, FIFO_SPREAD, Cluster, make_plan
from arenahub.gateway.queue import JobRequest
from arenahub.gateway.runspecs import build_run_spec
from arenahub.gateway.settings import RunSettings
from arenahub.gateway.specs import JobSpec

pytestmark = pytest.mark.unit

INVENTORY = {"node-a": 4, "node-b": 4}


def job(job_id, gpus, at=0.0, user="ada"):
    return JobRequest(job_id, user, gpus, submitted_at=at)


@pytest.mark.parametrize("policy", [BINPACK, FIFO_SPREAD])
def test_a_four_gpu_job_waits_rather_than_start_split_over_two_half_free_nodes(policy):
    cluster = Cluster.from_sizes(INVENTORY).allocate("a", "bob", "node-a", [0, 1]).allocate("b", "cy", "node-b", [0, 1])
    plan = make_plan([job("big", 4)], cluster, {}, policy, now=10.0)
    assert plan.assignments == ()
    assert "4 free GPUs on one node" in plan.waiting[0].reason


def test_a_four_gpu_job_starts_on_four_gpus_of_one_node_once_one_is_free():
    cluster = Cluster.from_sizes(INVENTORY).allocate("a", "bob", "node-a", [0, 1])
    (start,) = make_plan([job("big", 4)], cluster, {}, BINPACK, now=10.0).assignments
    assert (start.node, start.gpu_indices) == ("node-b", (0, 1, 2, 3))


def test_a_three_gpu_and_a_one_gpu_job_share_a_node_and_leave_the_other_whole():
    plan = make_plan([job("three", 3, 0), job("one", 1, 1, user="bob")], Cluster.from_sizes(INVENTORY), {}, BINPACK, 5.0)
    assert {a.job_id: a.node for a in plan.assignments} == {"three": "node-a", "one": "node-a"}
    assert plan.cluster.free_count("node-b") == 4


def run_env(gpus):
    spec = JobSpec(kind="train", entrypoint="train.py", gpus=len(gpus), time_limit_s=60)
    run = build_run_spec(job_id="j1", user="ada", spec=spec, code_dir=Path("/state/jobs/j1/code"), gpus=gpus,
                         dataset_path=None, run=RunSettings())
    inputs = JobSandboxInputs(spec=run, work_dir="/w", etc_dir="/e", uid=300000, gid=300000, system_layout={},
                              python_paths=("/usr",), gpu_devices=None, gpu_control_nodes=())
    return dict(make_job_env(inputs))


def test_a_four_gpu_run_sees_four_devices_and_torchruns_single_node_environment():
    env = run_env([4, 5, 6, 7])
    assert env["CUDA_VISIBLE_DEVICES"] == "4,5,6,7"
    assert (env["NPROC_PER_NODE"], env["LOCAL_WORLD_SIZE"], env["NNODES"]) == ("4", "4", "1")
    assert (env["MASTER_ADDR"], env["MASTER_PORT"]) == ("127.0.0.1", "29500")
    assert (env["PET_NPROC_PER_NODE"], env["PET_NNODES"]) == ("4", "1")


def test_a_cpu_only_run_gets_no_distributed_variables():
    env = run_env([])
    assert "NPROC_PER_NODE" not in env and "MASTER_ADDR" not in env
    assert make_torchrun_env(0) == {}


def test_a_spec_may_choose_its_own_rendezvous_port():
    spec = JobSpec(kind="train", entrypoint="train.py", gpus=2, time_limit_s=60, env={"MASTER_PORT": "12355"})
    run = build_run_spec(job_id="j1", user="ada", spec=spec, code_dir=Path("/c"), gpus=[0, 1], dataset_path=None,
                         run=RunSettings())
    assert run.env["MASTER_PORT"] == "12355" and run.env["NPROC_PER_NODE"] == "2"
