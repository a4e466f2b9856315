"""Test runs on Kubernetes: the collector sidecar in the Job, the gateway's unpacking of its log, and the local executor's outputs."""

from pathlib import Path

import pytest

from arenahub.gateway.executors.base import OutputsUnavailable, RunHandle, RunLimits, RunSpec
from arenahub.gateway.executors.kubecode import CodeIndex
from arenahub.gateway.executors.kubejobs import (
    COLLECTOR_CONTAINER,
    JOB_CONTAINER,
    TEST_GRACE_S,
    KubeJobSettings,
    build_job,
)
from arenahub.gateway.executors.kubeoutputs import unpack_collector_log
from arenahub.gateway.executors.local import LocalExecutor
from arenahub.jobrunner.outputframe import build_frame, build_refusal, pack_outputs

pytestmark = pytest.mark.unit

SETTINGS = KubeJobSettings(image="arenahub/job:1", outputs_max_bytes=1 << 20)


def make_spec(kind: str) -> RunSpec:
    return RunSpec(job_id="job-1", user="alice", code_dir=Path("/tmp/code"), argv=["python3", "predict.py"],
                   mounts=[], gpus=[0],
                   limits=RunLimits(wall_s=600, mem_bytes=1 << 30, cpu_s=2400, max_procs=512, disk_bytes=1 << 30),
                   env={"ARENAHUB_JOB_KIND": kind})


def pod_of(kind: str) -> dict:
    return build_job(make_spec(kind), SETTINGS, name="n", namespace="ns", code=CodeIndex(1, 64, "0" * 64))["spec"]["template"]["spec"]


def test_only_a_test_run_gets_the_collector_sidecar():
    assert [c["name"] for c in pod_of("train")["initContainers"]] == ["unpack-code"]
    assert "terminationGracePeriodSeconds" not in pod_of("train")
    test_pod = pod_of("test")
    assert [c["name"] for c in test_pod["initContainers"]] == ["unpack-code", COLLECTOR_CONTAINER]
    assert [c["name"] for c in test_pod["containers"]] == [JOB_CONTAINER]
    assert test_pod["terminationGracePeriodSeconds"] == TEST_GRACE_S


def test_the_collector_is_a_native_sidecar_running_arenahub_code_on_a_read_only_workspace():
    collector = pod_of("test")["initContainers"][1]
    assert collector["restartPolicy"] == "Always"
    assert collector["image"] == SETTINGS.image
    # isolated mode: no working folder or PYTHON* variable can put other code before the image's
    assert collector["command"][:5] == ["python3", "-I", "-B", "-m", "arenahub.jobrunner.collector"]
    assert collector["workingDir"] == "/"
    assert collector["command"][collector["command"].index("--max-bytes") + 1] == str(1 << 20)
    assert float(collector["command"][collector["command"].index("--deadline-s") + 1]) < TEST_GRACE_S
    assert collector["volumeMounts"] == [{"name": "workspace", "mountPath": "/workspace", "readOnly": True}]
    assert collector["resources"]["requests"] == collector["resources"]["limits"]  # Guaranteed QoS stays


def test_the_collector_has_the_same_restricted_security_context_as_the_job():
    pod = pod_of("test")
    collector, job = pod["initContainers"][1], pod["containers"][0]
    assert collector["securityContext"] == job["securityContext"]
    context = collector["securityContext"]
    assert context["runAsNonRoot"] and context["readOnlyRootFilesystem"]
    assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}


def collector_log(outputs: Path) -> bytes:
    lines = ["arenahub collector: packed", *build_frame(pack_outputs(outputs).archive)]
    return ("\n".join(lines) + "\n").encode()


def test_a_collector_log_unpacks_into_an_outputs_folder_under_dest(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "00001.json").write_text("{}")
    dest = tmp_path / "dest"
    dest.mkdir()
    folder = unpack_collector_log(collector_log(tmp_path / "run"), dest, job_id="j1", max_bytes=1 << 20)
    assert folder == dest / "outputs"
    assert (folder / "00001.json").read_text() == "{}"


@pytest.mark.parametrize("log, reason, says", [
    (b"just the job's chatter\n", "outputs-missing", "not caused by your code"),
    (b"ARENAHUB-OUTPUTS-BEGIN v1 bytes=10 sha256=" + b"a" * 64 + b"\nAAAA\n", "outputs-missing", "quoting job j1"),
    ((build_refusal("the outputs hold more than 100000 files and folders") + "\n").encode(),
     "outputs-too-large", "more than 100000 files"),
])
def test_a_log_without_a_usable_frame_gives_a_participant_message(tmp_path, log, reason, says):
    with pytest.raises(OutputsUnavailable) as refused:
        unpack_collector_log(log, tmp_path, job_id="j1", max_bytes=1 << 20)
    assert refused.value.reason == reason and says in refused.value.message
    assert "j1" in refused.value.log_detail


def test_a_frame_over_the_gateways_cap_is_refused_naming_the_cap(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "big.bin").write_bytes(bytes(range(256)) * 64)
    with pytest.raises(OutputsUnavailable) as refused:
        unpack_collector_log(collector_log(tmp_path / "run"), tmp_path, job_id="j1", max_bytes=100)
    assert refused.value.reason == "outputs-too-large" and "at most 100 bytes" in refused.value.message


async def test_the_local_executor_hands_out_its_run_folders_outputs(tmp_path):
    handle = RunHandle("j1", str(tmp_path / "runs" / "j1"), 0, 0.0)
    folder = await LocalExecutor(tmp_path / "state").collect_outputs(handle, tmp_path / "unused")
    assert folder == tmp_path / "runs" / "j1" / "work" / "outputs"
