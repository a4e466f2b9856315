"""The training cluster's cap on a job's code archive: its setting, and the 413 the gateway answers with before queueing."""

import pytest
from pydantic import ValidationError

from arenahub.core.errors import PayloadTooLarge
from arenahub.gateway.executor_settings import ExecutorSettings, make_executor, snapshot_cap
from arenahub.gateway.settings import GatewaySettings
from arenahub.gateway.submissions import check_code_fits_executor

pytestmark = pytest.mark.unit


def kube(**values) -> ExecutorSettings:
    return ExecutorSettings(kind="kubernetes", kubernetes={"image": "registry.example/job:1", **values})


def test_the_cap_defaults_to_16_mib_and_is_read_from_its_environment_variable(monkeypatch):
    assert snapshot_cap(kube()) == 16 << 20
    monkeypatch.setenv("ARENAHUB_GATEWAY_EXECUTOR__KIND", "kubernetes")
    monkeypatch.setenv("ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__IMAGE", "registry.example/job:1")
    monkeypatch.setenv("ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__MAX_SNAPSHOT_BYTES", "3000000")
    monkeypatch.setenv("ARENAHUB_GATEWAY_ENVIRONMENT", "dev")
    assert snapshot_cap(GatewaySettings().executor) == 3_000_000


@pytest.mark.parametrize("value", [0, (64 << 20) + 1])
def test_a_cap_of_zero_or_over_64_mib_is_refused(value):
    with pytest.raises(ValidationError, match="max_snapshot_bytes"):
        kube(max_snapshot_bytes=value)


def test_the_local_executor_has_no_cap_of_its_own():
    assert snapshot_cap(ExecutorSettings()) is None
    check_code_fits_executor(10 << 30, ExecutorSettings())  # only upload_max_bytes applies there


def test_the_executor_the_gateway_builds_gets_the_cap(tmp_path):
    executor = make_executor(kube(max_snapshot_bytes=2_000_000, kubeconfig=tmp_path / "none"), tmp_path)
    assert executor.settings.max_snapshot_bytes == 2_000_000


def test_code_over_the_kubernetes_cap_is_a_413_naming_the_cap_and_what_to_do():
    settings = kube(max_snapshot_bytes=2 << 20)
    check_code_fits_executor(2 << 20, settings)
    with pytest.raises(PayloadTooLarge) as refused:
        check_code_fits_executor((2 << 20) + 1, settings)
    assert refused.value.status == 413 and refused.value.reason == "snapshot-too-large"
    message = str(refused.value)
    assert "at most 2.0 MiB" in message and "MAX_SNAPSHOT_BYTES" in message
    assert "checkpoints" in message and "dataset" in message
