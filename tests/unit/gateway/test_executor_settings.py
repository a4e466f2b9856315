"""The gateway picks its executor from settings: local sandboxes, or Jobs on a training cluster."""

import pytest
from pydantic import ValidationError

from arenahub.gateway.executor_settings import ExecutorSettings, make_executor
from arenahub.gateway.executors.kubernetes import KubernetesExecutor
from arenahub.gateway.executors.local import LocalExecutor
from arenahub.gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit


def test_the_local_sandbox_is_the_default(tmp_path):
    assert isinstance(make_executor(ExecutorSettings(), tmp_path), LocalExecutor)


def test_kubernetes_is_chosen_through_environment_variables(monkeypatch, tmp_path):
    kubeconfig = tmp_path / "training.kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: t, cluster: {server: 'https://127.0.0.1:6443'}}]\n"
        "users: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: t, user: u}}]\n"
        "current-context: c\n")
    monkeypatch.setenv("ARENAHUB_GATEWAY_EXECUTOR__KIND", "kubernetes")
    monkeypatch.setenv("ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__IMAGE", "registry.example/arenahub-job:1")
    monkeypatch.setenv("ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("ARENAHUB_GATEWAY_ENVIRONMENT", "dev")
    settings = GatewaySettings()
    assert settings.executor.kind == "kubernetes"
    assert isinstance(make_executor(settings.executor, tmp_path), KubernetesExecutor)


def test_kubernetes_without_an_image_is_refused_naming_the_setting():
    with pytest.raises(ValidationError, match="ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__IMAGE"):
        ExecutorSettings(kind="kubernetes")


def test_an_unknown_executor_is_refused_with_the_valid_kinds():
    with pytest.raises(ValidationError, match="'local' or 'kubernetes'"):
        ExecutorSettings(kind="docker")


def test_pool_placement_settings_reach_the_jobs_settings_and_a_bad_toleration_is_named(tmp_path):
    settings = ExecutorSettings(kind="kubernetes", kubernetes={
        "image": "i", "pool_selector": {"pool": "a100"}, "ttl_after_finished_s": 0, "priority_class_name": "hi",
        "tolerations": [{"key": "pool", "operator": "Equal", "value": "a100", "effect": "NoSchedule"}],
        "pod_annotations": {"a": "b"}})
    jobs = make_executor(settings, tmp_path).settings
    assert (dict(jobs.pool_selector), jobs.ttl_after_finished_s, jobs.priority_class_name) == ({"pool": "a100"}, 0, "hi")
    assert [dict(t) for t in jobs.tolerations] == settings.kubernetes.tolerations
    assert dict(jobs.pod_annotations) == {"a": "b"}
    with pytest.raises(ValidationError, match=r"tolerations\[0\] has unknown field\(s\) efect"):
        ExecutorSettings(kind="kubernetes", kubernetes={"image": "i", "tolerations": [{"key": "k", "efect": "x"}]})
