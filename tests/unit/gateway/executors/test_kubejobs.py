"""Pure builders of the Kubernetes executor: the restricted Job, namespace, policy, outcome, log lines."""

import io
import tarfile
from pathlib import Path

import pytest

from arenahub.gateway.executors.base import Mount, RunHandle, RunLimits, RunSpec
from arenahub.gateway.executors.kubecode import CodeIndex
from arenahub.gateway.executors.kubejobs import (
    KubeJobSettings,
    build_deny_all_policy,
    build_job,
    build_namespace,
    dns_label,
    job_outcome,
    namespace_for,
    run_namespaces,
)
from arenahub.gateway.executors.kubelogs import split_log_lines
from arenahub.gateway.executors.kubernetes import kube_handle, pack_snapshot, parse_handle

pytestmark = pytest.mark.unit

SETTINGS = KubeJobSettings(image="arenahub/job:1", datasets_root="/srv/datasets")
CODE = CodeIndex(parts=1, size=64, sha256="0" * 64)


def make_spec(**changes) -> RunSpec:
    values = dict(job_id="job-1", user="alice", code_dir=Path("/tmp/code"), argv=["python3", "train.py"],
                  mounts=[Mount(Path("/srv/datasets/faces/train"), "/data/train")], gpus=[0, 1],
                  limits=RunLimits(wall_s=600, mem_bytes=1 << 30, cpu_s=2400, max_procs=512, disk_bytes=1 << 30),
                  env={"ARENAHUB_COMPETITION": "Faces 2026"})
    values.update(changes)
    return RunSpec(**values)


def test_the_job_has_a_deadline_no_retries_whole_gpus_and_no_token():
    job = build_job(make_spec(), SETTINGS, name="arenahub-run-job-1", namespace="ns", code=CODE)
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert (spec["activeDeadlineSeconds"], spec["backoffLimit"], spec["suspend"]) == (600, 0, False)
    assert pod["automountServiceAccountToken"] is False
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert pod["nodeSelector"] == {"arenahub.io/pool": "training"}
    assert "annotations" not in job["metadata"] and "annotations" not in spec["template"]["metadata"]


def test_every_container_is_restricted():
    pod = build_job(make_spec(), SETTINGS, name="n", namespace="ns", code=CODE)["spec"]["template"]["spec"]
    for container in pod["initContainers"] + pod["containers"]:
        context = container["securityContext"]
        assert context["runAsNonRoot"] and context["readOnlyRootFilesystem"]
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_datasets_are_read_only_subpaths_and_a_folder_outside_the_root_is_refused():
    pod = build_job(make_spec(), SETTINGS, name="n", namespace="ns", code=CODE)["spec"]["template"]["spec"]
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == "/data/train")
    assert (mount["subPath"], mount["readOnly"]) == ("faces/train", True)
    claim = next(v for v in pod["volumes"] if v["name"] == "datasets")
    assert claim["persistentVolumeClaim"]["readOnly"] is True
    with pytest.raises(ValueError, match="not under the datasets volume root /srv/datasets"):
        build_job(make_spec(mounts=[Mount(Path("/etc"), "/data/train")]), SETTINGS, name="n", namespace="ns", code=CODE)
    with pytest.raises(ValueError, match="read-only only"):
        build_job(make_spec(mounts=[Mount(Path("/srv/datasets/a"), "/data/a", writable=True)]), SETTINGS,
                  name="n", namespace="ns", code=CODE)


def test_with_a_kueue_queue_the_job_is_suspended_and_labelled():
    settings = KubeJobSettings(image="x", kueue_queue="gpu", datasets_root="/srv/datasets")
    job = build_job(make_spec(), settings, name="n", namespace="ns", code=CODE)
    assert job["spec"]["suspend"] is True
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "gpu"


def test_the_namespace_comes_from_the_competition_and_enforces_restricted():
    assert namespace_for(make_spec(), SETTINGS).startswith("arenahub-runs-faces-2026-")
    assert namespace_for(make_spec(env={}), SETTINGS) == "arenahub-runs-default"
    assert build_namespace("ns")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_policy_denies_all_traffic_of_job_pods():
    spec = build_deny_all_policy("ns")["spec"]
    assert spec["podSelector"] == {"matchLabels": {"arenahub.io/component": "job"}}
    assert (spec["policyTypes"], spec["ingress"], spec["egress"]) == (["Ingress", "Egress"], [], [])


def test_dns_labels_are_short_and_distinct():
    long = dns_label("x" * 100)
    assert len(long) <= 63 and long != dns_label("x" * 99)
    assert dns_label("ok-name") == "ok-name"


def test_the_init_step_unpacks_the_code_from_its_parts_checked_against_the_index():
    pod = build_job(make_spec(), SETTINGS, name="n", namespace="ns", code=CodeIndex(2, 1_500_000, "ab" * 32))
    pod = pod["spec"]["template"]["spec"]
    unpack = pod["initContainers"][0]
    assert {e["name"]: e["value"] for e in unpack["env"]} == {
        "ARENAHUB_CODE_PARTS": "2", "ARENAHUB_CODE_BYTES": "1500000", "ARENAHUB_CODE_SHA256": "ab" * 32}
    sources = next(v for v in pod["volumes"] if v["name"] == "snapshot")["projected"]["sources"]
    assert [s["configMap"]["name"] for s in sources] == ["n-code-0", "n-code-1"]


def test_the_snapshot_keeps_the_folder_layout(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "model.py").write_text("W = 1\n")
    with tarfile.open(fileobj=io.BytesIO(pack_snapshot(tmp_path))) as tar:
        assert sorted(tar.getnames()) == ["pkg", "pkg/model.py"]


@pytest.mark.parametrize("conditions, labels, status", [
    ([{"type": "Complete", "status": "True"}], {}, "succeeded"),
    ([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}], {}, "timeout"),
    ([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}], {}, "failed"),
    ([], {"arenahub.io/cancelled": "true"}, "cancelled"),
    ([{"type": "Suspended", "status": "True"}], {}, None),
])
def test_a_jobs_conditions_decide_the_runs_status(conditions, labels, status):
    job = {"metadata": {"labels": labels}, "spec": {"activeDeadlineSeconds": 5}, "status": {"conditions": conditions}}
    pods = [{"status": {"containerStatuses": [{"name": "job", "state": {"terminated": {"exitCode": 7}}}]}}]
    result = job_outcome(job, pods, now=1.0)
    assert (result.status if result else None) == status
    if status == "failed":
        assert result.exit_code == 7


def test_handles_round_trip_and_a_local_handle_is_refused():
    handle = kube_handle("j1", "ns", "arenahub-run-j1", 5.0)
    assert parse_handle(RunHandle.from_json(handle.to_json())) == ("ns", "arenahub-run-j1")
    with pytest.raises(ValueError, match="not started by the Kubernetes executor"):
        parse_handle(RunHandle("j1", "/var/runs/j1", 42, 5.0))


def test_log_lines_are_numbered_with_resume_offsets_and_a_partial_line_waits_until_the_end():
    records, used = split_log_lines(b"a\nbb\npart", 10, 3, final=False)
    assert [(r.seq, r.offset, r.text) for r in records] == [(3, 12, "a"), (4, 15, "bb")]
    assert used == 5
    records, used = split_log_lines(b"part", 15, 5, final=True)
    assert [(r.seq, r.offset, r.text) for r in records] == [(5, 19, "part")]


def test_runs_are_looked_for_in_each_competitions_namespace_and_the_default_one():
    assert run_namespaces(["faces", "Cars 2026", "faces"], SETTINGS) == sorted(
        ["arenahub-runs-faces", namespace_for(make_spec(env={"ARENAHUB_COMPETITION": "Cars 2026"}), SETTINGS),
         "arenahub-runs-default"])
    assert run_namespaces([], SETTINGS) == ["arenahub-runs-default"]


def test_a_priority_class_and_the_ttl_are_set_only_when_configured():
    plain = build_job(make_spec(), KubeJobSettings(image="i", datasets_root="/srv/datasets", ttl_after_finished_s=0),
                      name="n", namespace="ns", code=CODE)
    assert "priorityClassName" not in plain["spec"]["template"]["spec"] and "ttlSecondsAfterFinished" not in plain["spec"]
    chosen = build_job(make_spec(), KubeJobSettings(image="i", datasets_root="/srv/datasets", priority_class_name="hi"),
                       name="n", namespace="ns", code=CODE)
    assert chosen["spec"]["template"]["spec"]["priorityClassName"] == "hi"
    assert chosen["spec"]["ttlSecondsAfterFinished"] == 3600
