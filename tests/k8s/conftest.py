"""Fixtures for tests against the real Kubernetes control planes of tests/k8s/harness.

`coding_cluster` and `training_cluster` are session-scoped `ControlPlane`s, started on first
use and stopped at the end of the session; when the session's tests need both, the first use
starts both at once (a start is mostly waiting, so two take about as long as one). They skip
(not fail) when the binaries have not been built; `make test` builds them first, by hand run
`scripts/k8s-harness build`.

What they hold when a test gets them:
- coding_cluster: 2 nodes `coding-gpu-0/1` (label arenahub.io/pool=coding), 2 H100 each,
  advertising every slice backend at once (HAMi, GPUManager, time-slicing/MPS, MIG).
- training_cluster: 3 nodes `training-gpu-0/1/2` (arenahub.io/pool=training), 3 whole
  `nvidia.com/gpu` each, as in seed 004.
Both are shared by the whole session: work in your own namespace (`cluster.namespace(...)`),
delete what holds GPUs, and add your own nodes (with their own pool label) when a test needs
capacity nobody else touches.
"""

from __future__ import annotations

import secrets
from typing import Iterator

import pytest
from kubernetes import client as k8s

from tests.k8s.harness import (
    CODING,
    TRAINING,
    ClusterSpec,
    ControlPlane,
    HarnessBinaries,
    build_default_nodes,
    find_binaries,
    start_control_plane,
    start_control_planes,
)

CLUSTER_FIXTURES = {"coding_cluster": CODING, "training_cluster": TRAINING}


@pytest.fixture(scope="session")
def harness_binaries() -> HarnessBinaries:
    """The cached harness build; skips the test when it is missing."""
    binaries = find_binaries()
    missing = binaries.missing()
    if missing:
        pytest.skip(
            f"Kubernetes harness not built ({', '.join(missing)} missing in {binaries.version_dir}); "
            "run `scripts/k8s-harness build` (or `make test`, which builds it) to run the k8s tests"
        )
    return binaries


def _ready(plane: ControlPlane) -> ControlPlane:
    plane.create_nodes(build_default_nodes(plane.name))
    return plane


@pytest.fixture(scope="session")
def _control_planes(
    request: pytest.FixtureRequest, harness_binaries: HarnessBinaries
) -> Iterator[dict[str, ControlPlane]]:
    """Control planes by cluster name: every one that a collected test uses, started together."""
    wanted = [
        spec for fixture, spec in CLUSTER_FIXTURES.items()
        if any(fixture in getattr(item, "fixturenames", ()) for item in request.session.items)
    ]
    planes: dict[str, ControlPlane] = {}
    try:
        for plane in start_control_planes(wanted, harness_binaries):
            planes[plane.name] = plane
        for plane in planes.values():
            _ready(plane)
        yield planes
    finally:
        for plane in planes.values():
            plane.stop()


def _plane(planes: dict[str, ControlPlane], spec: ClusterSpec, binaries: HarnessBinaries) -> ControlPlane:
    # a test that asks with request.getfixturevalue() was not foreseen: start its plane now
    if spec.name not in planes:
        planes[spec.name] = start_control_plane(spec, binaries)
        _ready(planes[spec.name])
    return planes[spec.name]


@pytest.fixture(scope="session")
def coding_cluster(_control_planes: dict[str, ControlPlane], harness_binaries: HarnessBinaries) -> ControlPlane:
    """The coding cluster: notebook pods on GPU slices."""
    return _plane(_control_planes, CODING, harness_binaries)


@pytest.fixture(scope="session")
def training_cluster(_control_planes: dict[str, ControlPlane], harness_binaries: HarnessBinaries) -> ControlPlane:
    """The training cluster: batch Jobs on whole GPUs, 3 nodes x 3 GPUs."""
    return _plane(_control_planes, TRAINING, harness_binaries)


@pytest.fixture
def competition(training_cluster: ControlPlane) -> Iterator[str]:
    """A competition name of its own on the training cluster; its run namespace is deleted afterwards."""
    name = f"comp-{secrets.token_hex(3)}"
    yield name
    with training_cluster.api_client() as api:
        try:
            k8s.CoreV1Api(api).delete_namespace(f"arenahub-runs-{name}", propagation_policy="Background")
        except k8s.ApiException as e:
            if e.status != 404:
                raise
