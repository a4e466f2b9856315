"""A real gateway process with the Kubernetes executor is killed (SIGKILL) while its job runs as a
Job on the training control plane; a new gateway on the same database re-attaches to the Job,
follows it to the end, stores every log line exactly once and records the final status.

The job's log is served by kwok from a file; lines appended while no gateway runs stand for what
the job printed meanwhile.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from kubernetes import client as k8s

from tests.integration.gateway.archives import make_archive
from tests.integration.gateway.processes import GatewayProcess, HubProcess, free_port, wait_until
from tests.k8s.harness import ControlPlane, build_pod_lifecycle_annotations
from tests.k8s.harness.kwok import format_cri_log

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(240)]

FIRST_LINES = [f"epoch {n} loss={1 / (n + 1):.3f}" for n in range(20)]
LATER_LINES = [f"epoch {n} loss={1 / (n + 1):.3f}" for n in range(20, 35)]
RUN_S = 30  # how long kwok keeps the Job's pod Running (the first gateway must see it run)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path_factory.mktemp("hub")).start()
    yield process
    process.stop()


def gateway_env(hub: HubProcess, cluster: ControlPlane, tmp_path: Path, prefix: str) -> dict[str, str]:
    """A gateway running jobs as Jobs on the harness's training cluster, SQLite in ``tmp_path``."""
    return {
        "JUPYTERHUB_API_URL": hub.api_url,
        "JUPYTERHUB_API_TOKEN": hub.gateway_token,
        "JUPYTERHUB_SERVICE_PREFIX": "/services/arenahub-gateway/",
        "ARENAHUB_GATEWAY_DB__URL": f"sqlite:///{tmp_path / 'gateway.sqlite'}",
        "ARENAHUB_GATEWAY_PATHS__STATE_DIR": str(tmp_path / "state"),
        "ARENAHUB_GATEWAY_SCHEDULER__INTERVAL_S": "0.2",
        "ARENAHUB_GATEWAY_CLUSTER__NODES": json.dumps({"training": 3}),
        "ARENAHUB_GATEWAY_EXECUTOR__KIND": "kubernetes",
        "ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__IMAGE": "registry.invalid/arenahub/job:test",
        "ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__KUBECONFIG": str(cluster.kubeconfig),
        "ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__NAMESPACE_PREFIX": prefix,
        "ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__ENSURE_NAMESPACES": "true",
        "ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__POD_ANNOTATIONS": json.dumps(
            build_pod_lifecycle_annotations(run_s=RUN_S)),
    }


def stored(api: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    return api.get(f"/jobs/{job_id}/logs", params={"format": "json", "limit": 5000}).json()["lines"]


def stdout_texts(lines: list[dict[str, Any]]) -> list[str]:
    return [line["text"] for line in lines if line["stream"] == "stdout"]


def test_a_killed_gateway_is_replaced_and_the_new_one_reattaches_to_the_kubernetes_job(
    hub: HubProcess, training_cluster: ControlPlane, tmp_path: Path
):
    prefix = f"gw{secrets.token_hex(3)}-"
    namespace = f"{prefix}default"
    log_file = training_cluster.serve_pod_logs(namespace, FIRST_LINES)
    env = gateway_env(hub, training_cluster, tmp_path, prefix)
    port = free_port()
    first = GatewayProcess(env, port, tmp_path / "gateway.log").start()
    second = None
    try:
        token = hub.token_for(f"ada-{secrets.token_hex(3)}")
        with httpx.Client(base_url=first.url, headers={"Authorization": f"token {token}"}, timeout=30) as api:
            reply = api.post("/jobs", files={"code": ("job.tgz", make_archive({"train.py": "print('hi')\n"}))},
                             data={"spec": json.dumps({"kind": "train", "entrypoint": "train.py", "gpus": 1,
                                                       "time_limit_s": 600})})
            assert reply.status_code == 201, reply.text
            job_id = reply.json()["id"]
            wait_until(lambda: len(stdout_texts(stored(api, job_id))) == len(FIRST_LINES), 60,
                       "the first gateway to store the lines printed so far")
            assert api.get(f"/jobs/{job_id}").json()["status"] == "running"
            first.kill()  # SIGKILL: no shutdown, the Job runs on in the cluster
            # the job prints on while no gateway follows it
            with log_file.open("a") as log:
                log.write(format_cri_log(LATER_LINES, datetime.now(timezone.utc)))
            second = GatewayProcess(env, port, tmp_path / "gateway.log").start()
            job = wait_until(lambda: (j := api.get(f"/jobs/{job_id}").json())["status"] not in ("queued", "running")
                             and j, 90, "the job to finish under the second gateway", interval_s=0.5)
            lines = stored(api, job_id)
        assert job["status"] == "succeeded", (job, second.log_tail())
        assert stdout_texts(lines) == FIRST_LINES + LATER_LINES  # each line once, in order
        assert [line["seq"] for line in lines] == list(range(len(lines)))
        with training_cluster.api_client() as admin:
            jobs = k8s.BatchV1Api(admin).list_namespaced_job(namespace).items
        assert [j.metadata.labels["arenahub.io/job-id"] for j in jobs] == [job_id]  # re-attached, not started again
    finally:
        first.kill()
        if second is not None:
            second.stop()
        with training_cluster.api_client() as admin:
            k8s.CoreV1Api(admin).delete_namespace(namespace, propagation_policy="Background")
            k8s.CustomObjectsApi(admin).delete_cluster_custom_object(
                "kwok.x-k8s.io", "v1alpha1", "clusterlogs", f"ns-{namespace}")
