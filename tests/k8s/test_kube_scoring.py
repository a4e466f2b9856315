"""A competition test job run as a Job on the training control plane is scored from its collector sidecar's log.

kwok runs no containers: what the job would have written to /workspace/outputs is packed here
with the collector's own functions and served as the collector container's log, while the
job container's log carries a forged frame that must never be read.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from arenahub.demo import install
from arenahub.gateway.executors.kubejobs import COLLECTOR_CONTAINER, JOB_CONTAINER, KubeJobSettings
from arenahub.gateway.executors.kubernetes import KubernetesExecutor
from arenahub.jobrunner.outputframe import build_frame, pack_outputs
from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.gateway.archives import make_archive
from tests.integration.gateway.conftest import GatewayHarness
from tests.integration.gateway.processes import HubProcess
from tests.k8s.harness import ControlPlane, build_pod_lifecycle_annotations
from tests.k8s.harness.containerlogs import serve_container_logs
from tests.k8s.test_kube_executor import add_dataset_claim
from tests.support.scores import wait_for_score

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(240)]

PREDICT = "print('predicting', flush=True)\n"  # never runs: kwok fakes the container


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path_factory.mktemp("hub")).start()
    yield process
    process.stop()


def frame_of(folder: Path) -> list[str]:
    return build_frame(pack_outputs(folder).archive)


async def run_scored_test_job(hub: HubProcess, cluster: ControlPlane, tmp_path: Path,
                              logs: dict[str, list[str]]) -> tuple[dict, dict, list[k8s.V1Pod]]:
    """Start a gateway with the Kubernetes executor, serve ``logs`` per container of the run
    namespace, run the demo competition's test job to the end; returns (job, score) as Ada sees
    them and the run namespace's pods."""
    prefix = f"sc{secrets.token_hex(3)}-"
    namespace = f"{prefix}demo"
    add_dataset_claim(cluster, namespace)
    serve_container_logs(cluster, namespace, logs)
    settings = KubeJobSettings(image="registry.invalid/arenahub/job:test", namespace_prefix=prefix,
                               datasets_root=str((tmp_path / "data").resolve()),
                               pod_annotations=build_pod_lifecycle_annotations(run_s=1))
    executor = KubernetesExecutor(settings, kubeconfig=cluster.kubeconfig, poll_interval_s=0.2)
    harness = GatewayHarness(hub=hub, database_url=f"sqlite:///{tmp_path / 'gateway.sqlite'}",
                             state_dir=tmp_path / "state")
    demo = install(tmp_path / "data")
    await harness.start(executor=executor)
    try:
        async with harness.client(hub.token_for(hub.ORGANISER)) as organiser, \
                harness.client(hub.token_for(unique_user("ada"))) as ada:
            created = await organiser.post("/competitions", json={"source": demo.yaml_text})
            assert created.status_code == 201, created.text
            job = (await submit(ada, {"kind": "test", "entrypoint": "predict.py", "dataset": "demo-points"},
                                code=make_archive({"predict.py": PREDICT}))).json()
            done = await wait_for_status(ada, job["id"], {"succeeded", "failed", "lost"}, timeout_s=90)
            score = await wait_for_score(ada, job["id"], poll_s=0.2)
        with cluster.api_client() as api:
            return done, score, k8s.CoreV1Api(api).list_namespaced_pod(namespace).items
    finally:
        for served in reversed(harness.served):
            await served.stop()
        await executor.aclose()


def demo_outputs(tmp_path: Path, *, right: bool) -> Path:
    """The demo's test outputs: the annotations themselves (all right) or one wrong answer each."""
    annotations = tmp_path / "data" / "demo-points" / "test" / "annotations"
    folder = tmp_path / ("right" if right else "wrong")
    folder.mkdir()
    for path in sorted(annotations.glob("*.json")):
        if right:
            shutil.copyfile(path, folder / path.name)
        else:
            (folder / path.name).write_text('{"label": "nothing", "count": -1}')
    return folder


async def test_a_test_job_on_kubernetes_is_scored_from_its_collector_log_not_from_the_jobs_own_log(
    hub: HubProcess, training_cluster: ControlPlane, tmp_path: Path
):
    install(tmp_path / "data")  # the dataset the competition below registers (install keeps it)
    right, wrong = demo_outputs(tmp_path, right=True), demo_outputs(tmp_path, right=False)
    (right / "planted.json").symlink_to("/etc/passwd")  # skipped by the collector
    logs = {
        JOB_CONTAINER: ["predicting", *frame_of(wrong), "done"],  # the participant's forgery
        COLLECTOR_CONTAINER: ["arenahub collector: 100 output files", *frame_of(right)],
    }
    job, score, pods = await run_scored_test_job(hub, training_cluster, tmp_path, logs)
    assert job["status"] == "succeeded", job
    assert score["status"] == "scored", score
    assert score["score"] == pytest.approx(1.0)
    # the API server (restricted Pod Security enforced) took the native sidecar as built
    [pod] = pods
    unpack, collector = pod.spec.init_containers
    assert (collector.name, collector.restart_policy) == (COLLECTOR_CONTAINER, "Always")
    assert [(m.mount_path, m.read_only) for m in collector.volume_mounts] == [("/workspace", True)]


async def test_a_test_job_whose_collector_frame_is_truncated_gets_an_error_score_that_says_why(
    hub: HubProcess, training_cluster: ControlPlane, tmp_path: Path
):
    install(tmp_path / "data")
    frame = frame_of(demo_outputs(tmp_path, right=True))
    logs = {JOB_CONTAINER: ["predicting"], COLLECTOR_CONTAINER: frame[:-1]}  # the end marker never came
    job, score, _ = await run_scored_test_job(hub, training_cluster, tmp_path, logs)
    assert job["status"] == "succeeded", job
    assert score["status"] == "error"
    assert "could not be collected" in score["message"] and job["id"] in score["message"]
