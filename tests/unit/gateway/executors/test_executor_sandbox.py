"""Unit tests for the job sandbox plan: spec validation, environment, bwrap layout, result decisions."""

import signal
from dataclasses import replace
from pathlib import Path

import pytest

from arenahub.core.bwrap import build_bwrap_argv
from arenahub.gateway.executors.base import Mount, RunHandle, RunLimits, RunSpec
from arenahub.gateway.executors.runconfig import SupervisorConfig
from arenahub.gateway.executors.sandbox import (
    GpuDevice,
    JobSandboxInputs,
    RunEnding,
    decide_result,
    make_etc_files,
    make_job_env,
    make_job_sandbox,
    validate_run_spec,
)

pytestmark = pytest.mark.unit

LIMITS = RunLimits(wall_s=60, mem_bytes=1 << 30, cpu_s=120, max_procs=64, disk_bytes=2 << 30)
SPEC = RunSpec(job_id="job-1", user="alice", code_dir=Path("/state/code/job-1"), argv=["python", "train.py"],
               mounts=[Mount(Path("/srv/ds/faces/train"), "/data/train")], gpus=[], limits=LIMITS, env={})


def _inputs(spec: RunSpec = SPEC, **changes) -> JobSandboxInputs:
    base = JobSandboxInputs(
        spec=spec, work_dir="/state/runs/job-1/work", etc_dir="/state/runs/job-1/etc", uid=2_000_000_007,
        gid=2_000_000_007, system_layout={"/usr": None, "/bin": "usr/bin"},
        python_paths=("/opt/venv", "/opt/python3.11"), gpu_devices=None, gpu_control_nodes=(),
    )
    return replace(base, **changes)


@pytest.mark.parametrize("changes, message", [
    ({"job_id": "../escape"}, "job_id"),
    ({"argv": []}, "argv must name a command"),
    ({"limits": replace(LIMITS, wall_s=0)}, "limits.wall_s must be a positive integer"),
    ({"gpus": [0, 0]}, "distinct GPU indices"),
    ({"gpus": [-1]}, "distinct GPU indices"),
    ({"mounts": [Mount(Path("/x"), "data")]}, "must be an absolute folder"),
    ({"mounts": [Mount(Path("/x"), "/etc/ssl")]}, "overlaps the sandbox folder /etc"),
    ({"mounts": [Mount(Path("/x"), "/")]}, "absolute folder below /"),
    ({"mounts": [Mount(Path("/x"), "/data"), Mount(Path("/y"), "/data")]}, "share the target"),
    ({"env": {"ARENAHUB_JOB_ID": "other"}}, "set by the executor"),
    ({"env": {"ARENAHUB_GPUS": "0,1"}}, "set by the executor"),
    ({"env": {"1BAD": "x"}}, "not a valid"),
])
def test_invalid_run_specs_are_refused_with_a_reason(changes, message):
    with pytest.raises(ValueError, match=message):
        validate_run_spec(replace(SPEC, **changes))


def test_valid_run_spec_passes_including_the_gateways_own_job_variables():
    validate_run_spec(replace(SPEC, env={"ARENAHUB_JOB_ID": "job-1", "ARENAHUB_JOB_KIND": "train", "EPOCHS": "3"}))


def test_environment_is_built_from_scratch_with_the_python_first_on_path():
    env = dict(make_job_env(_inputs(replace(SPEC, env={"EPOCHS": "3"}))))
    assert env["PATH"].split(":")[:2] == ["/opt/venv/bin", "/opt/python3.11/bin"]
    assert env["HOME"] == "/tmp" and env["PYTHONUNBUFFERED"] == "1" and env["EPOCHS"] == "3"
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["ARENAHUB_JOB_ID"] == "job-1"


def test_placed_gpus_are_selected_by_uuid_when_the_driver_is_known_and_by_index_otherwise():
    spec = replace(SPEC, gpus=[2, 3])
    devices = (GpuDevice(2, 2, "GPU-aaa"), GpuDevice(3, 5, "GPU-bbb"))
    assert dict(make_job_env(_inputs(spec, gpu_devices=devices)))["CUDA_VISIBLE_DEVICES"] == "GPU-aaa,GPU-bbb"
    env = dict(make_job_env(_inputs(spec)))
    assert env["CUDA_VISIBLE_DEVICES"] == "2,3" and env["ARENAHUB_GPUS"] == "2,3"


def test_only_the_placed_gpus_device_nodes_are_bound():
    spec = replace(SPEC, gpus=[3])
    sandbox = make_job_sandbox(_inputs(spec, gpu_devices=(GpuDevice(3, 5, "GPU-b"),),
                                       gpu_control_nodes=("/dev/nvidiactl",)))
    devices = sorted(b.target for b in sandbox.binds if b.device)
    assert devices == ["/dev/nvidia5", "/dev/nvidiactl"]
    assert not any(b.device for b in make_job_sandbox(_inputs(spec)).binds)


def test_sandbox_binds_code_writable_datasets_read_only_and_runs_the_command_as_the_job_uid():
    sandbox = make_job_sandbox(_inputs())
    binds = {b.target: b for b in sandbox.binds}
    assert binds["/workspace"].writable and binds["/workspace"].source == "/state/runs/job-1/work"
    assert not binds["/data/train"].writable
    assert binds["/etc/passwd"].source == "/state/runs/job-1/etc/passwd"
    assert "/opt/venv" in binds and "/home" not in binds
    assert sandbox.chdir == "/workspace" and sandbox.unshare_net and sandbox.unshare_pid
    assert sandbox.argv[:2] == ("/usr/bin/setpriv", "--reuid=2000000007")
    assert sandbox.argv[-3:] == ("--", "python", "train.py")
    assert {t.target: t.size_bytes for t in sandbox.tmpfs} == {"/tmp": 1 << 30, "/dev/shm": 1 << 30}
    argv = build_bwrap_argv(sandbox)
    assert argv.index("/usr") < argv.index("/workspace")


def test_generated_passwd_names_only_root_the_sandbox_user_and_nobody():
    files = make_etc_files(2_000_000_007, 2_000_000_007)
    assert [line.split(":")[0] for line in files["passwd"].splitlines()] == ["root", "sandbox", "nobody"]
    assert "sandbox:x:2000000007:2000000007:" in files["passwd"]


@pytest.mark.parametrize("ending, status, reason", [
    (RunEnding(exit_code=0), "succeeded", "exit code 0"),
    (RunEnding(exit_code=3), "failed", "exited with code 3"),
    (RunEnding(exit_code=128 + signal.SIGSEGV), "failed", "signal 11 (SIGSEGV)"),
    (RunEnding(exit_code=137, oom_killed=True), "failed", "Memory limit of 1 GiB reached"),
    (RunEnding(exit_code=128 + signal.SIGXCPU), "failed", "CPU-time limit of 120 s"),
    (RunEnding(exit_code=137, cpu_exceeded=True), "failed", "CPU-time limit of 120 s"),
    (RunEnding(exit_code=137, disk_exceeded=True), "failed", "Disk limit of 2 GiB"),
    (RunEnding(exit_code=137, timed_out=True), "timeout", "Time limit of 60 s"),
    (RunEnding(exit_code=137, timed_out=True, cancelled=True), "cancelled", "cancelled on request"),
    (RunEnding(exit_code=1, setup_error="bwrap: Can't find source path /x"), "failed", "could not start: bwrap"),
    (RunEnding(exit_code=None), "failed", "without an exit status"),
])
def test_run_endings_map_to_a_status_and_a_reason(ending, status, reason):
    got_status, got_reason = decide_result(ending, LIMITS)
    assert got_status == status and reason in got_reason


def test_supervisor_config_round_trips_through_json():
    config = SupervisorConfig(spec=replace(SPEC, gpus=[1], env={"A": "1"}), python_paths=("/opt/venv",),
                              gpu_devices=(GpuDevice(1, 1, "GPU-x"),), slots_dir="/run/slots", uid_base=7,
                              uid_count=3, use_cgroups=False, max_log_bytes=1000)
    assert SupervisorConfig.from_json(config.to_json()) == config


def test_run_handle_round_trips_and_rejects_garbage():
    handle = RunHandle("job-1", "/state/runs/job-1", 4242, 1700000000.5)
    assert RunHandle.from_json(handle.to_json()) == handle
    with pytest.raises(ValueError, match="Not a stored run handle"):
        RunHandle.from_json('{"job_id": "x"}')
