"""A real Kubernetes control plane on 127.0.0.1 (etcd, API server, controller manager, scheduler)
with kwok faking the nodes and the pods' lives; several can run side by side."""

from __future__ import annotations

import atexit
import secrets
import shutil
import ssl
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from kubernetes import client as k8s

from .binaries import HarnessBinaries, find_binaries
from .components import (
    CODING,
    TRAINING,
    ClusterSpec,
    Ports,
    build_component_args,
    write_kubeconfig,
    write_pki,
)
from .kubeconfig import build_kubeconfig
from .kwok import build_logs_resource, format_cri_log
from .pki import CertKey, make_client_cert
from .processes import LOOPBACK, ComponentFailed, ManagedProcess, free_ports, http_ok, is_port_clash, wait_until
from .resources import ensure_kwok_crds, ensure_namespace, wait_nodes_ready


@dataclass
class ControlPlane:
    """A started control plane. Use `start_control_plane()` to get one and `stop()` (or `with`) to end it.

    kubeconfig: admin (system:masters) kubeconfig file; server: https URL of the API server.
    """

    spec: ClusterSpec
    workdir: Path
    ports: Ports
    ca: CertKey
    keep_workdir: bool = False
    processes: list[ManagedProcess] = field(default_factory=list)
    startup_s: float = 0.0

    # -- addresses and credentials ------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def server(self) -> str:
        return f"https://{LOOPBACK}:{self.ports.apiserver}"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig" / "admin.kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "pki" / "ca.crt"

    @property
    def pod_log_dir(self) -> Path:
        return self.workdir / "pod-logs"

    @property
    def log_dir(self) -> Path:
        return self.workdir / "logs"

    def api_client(self) -> k8s.ApiClient:
        """A new admin ApiClient (close it, or use it as a context manager)."""
        pki = self.workdir / "pki"
        return _api_client(self.server, self.ca_file, pki / "admin.crt", pki / "admin.key")

    def issue_user_kubeconfig(self, user: str, groups: Sequence[str] = ()) -> Path:
        """A kubeconfig file for `user` in `groups`, authenticated by a client certificate from this cluster's CA.

        The user has no rights until RBAC grants some; the file lives in the workdir.
        """
        cert = make_client_cert(self.ca, user, groups, datetime.now(timezone.utc))
        doc = build_kubeconfig(self.name, self.server, self.ca.cert_pem, user,
                               client_cert_pem=cert.cert_pem, client_key_pem=cert.key_pem)
        return write_kubeconfig(self.workdir / "kubeconfig" / f"user-{_slug(user)}.kubeconfig", doc)

    def token_kubeconfig(self, token: str, label: str) -> Path:
        """A kubeconfig file that presents bearer `token` (e.g. a service-account token) to this cluster."""
        doc = build_kubeconfig(self.name, self.server, self.ca.cert_pem, label, token=token)
        return write_kubeconfig(self.workdir / "kubeconfig" / f"token-{_slug(label)}.kubeconfig", doc)

    # -- nodes, namespaces, logs ----------------------------------------------------------------
    def create_nodes(self, manifests: Iterable[Mapping[str, Any]], timeout_s: float = 60) -> list[str]:
        """Create the Node manifests (see nodes.py) and wait until kwok reports them Ready and
        the node controller has lifted the not-ready taint; returns their names."""
        names = []
        with self.api_client() as api:
            core = k8s.CoreV1Api(api)
            for manifest in manifests:
                core.create_node(body=dict(manifest))  # type: ignore[arg-type]  # plain manifests are accepted
                names.append(manifest["metadata"]["name"])
            wait_nodes_ready(core, names, timeout_s=timeout_s, watched=self.processes)
        return names

    def ensure_namespace(self, name: str, labels: Mapping[str, str] | None = None, timeout_s: float = 30) -> None:
        """Create namespace `name` (if absent) with `labels`, and wait for its `default` service
        account, without which the API server refuses pods."""
        with self.api_client() as api:
            ensure_namespace(k8s.CoreV1Api(api), name, labels or {}, timeout_s=timeout_s)

    @contextmanager
    def namespace(self, prefix: str, labels: Mapping[str, str] | None = None) -> Iterator[str]:
        """A fresh namespace `<prefix>-<random>` with `labels`, ready for pods; deleted on exit
        (without waiting for its pods to go)."""
        name = f"{prefix}-{secrets.token_hex(3)}"
        self.ensure_namespace(name, labels)
        try:
            yield name
        finally:
            with self.api_client() as api:
                k8s.CoreV1Api(api).delete_namespace(name, propagation_policy="Background")
                try:  # a ClusterLogs made by serve_pod_logs(namespace=name) outlives the namespace
                    k8s.CustomObjectsApi(api).delete_cluster_custom_object(
                        "kwok.x-k8s.io", "v1alpha1", "clusterlogs", f"ns-{name}")
                except k8s.ApiException as e:
                    if e.status != 404:
                        raise

    def serve_pod_logs(
        self, namespace: str, lines: Iterable[str], *, pod_name: str | None = None,
        containers: Sequence[str] = (), stream: str = "stdout",
    ) -> Path:
        """Make `GET .../pods/<pod>/log` answer `lines`: write them to a file in the CRI log
        format and point kwok at it. Without `pod_name` every pod of `namespace` gets these
        lines (for Job pods, whose names are generated). Returns the log file's path.
        Calling it again for the same pod or namespace replaces the lines."""
        self.pod_log_dir.mkdir(exist_ok=True)
        target = pod_name or "all-pods"
        path = self.pod_log_dir / f"{_slug(namespace)}--{_slug(target)}.log"
        path.write_text(format_cri_log(lines, datetime.now(timezone.utc), stream=stream))
        resource = build_logs_resource(str(path), namespace=namespace, pod_name=pod_name, containers=containers)
        with self.api_client() as api:
            _apply_kwok_resource(k8s.CustomObjectsApi(api), resource)
        return path

    # -- lifecycle ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every component (kwok first, etcd last) and remove the workdir; safe to repeat."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        atexit.unregister(self.stop)
        if not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "ControlPlane":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _api_client(server: str, ca_file: Path, cert_file: Path, key_file: Path) -> k8s.ApiClient:
    config = k8s.Configuration()
    config.host = server
    config.ssl_ca_cert = str(ca_file)
    config.cert_file = str(cert_file)
    config.key_file = str(key_file)
    return k8s.ApiClient(config)


def _apply_kwok_resource(custom: k8s.CustomObjectsApi, resource: Mapping[str, Any]) -> None:
    plural = {"Logs": "logs", "ClusterLogs": "clusterlogs"}[resource["kind"]]
    name = resource["metadata"]["name"]
    namespace = resource["metadata"].get("namespace")
    try:
        if namespace:
            custom.create_namespaced_custom_object("kwok.x-k8s.io", "v1alpha1", namespace, plural, dict(resource))
        else:
            custom.create_cluster_custom_object("kwok.x-k8s.io", "v1alpha1", plural, dict(resource))
    except k8s.ApiException as e:
        if e.status != 409:
            raise
        patch = {"spec": resource["spec"]}
        if namespace:
            custom.patch_namespaced_custom_object("kwok.x-k8s.io", "v1alpha1", namespace, plural, name, patch)
        else:
            custom.patch_cluster_custom_object("kwok.x-k8s.io", "v1alpha1", plural, name, patch)


def _lease_held(coordination: k8s.CoordinationV1Api, name: str) -> bool:
    lease = coordination.read_namespaced_lease(name, "kube-system")
    return bool(lease.spec and lease.spec.holder_identity)


PORT_CLASH_ATTEMPTS = 3


def start_control_planes(
    specs: Sequence[ClusterSpec], binaries: HarnessBinaries | None = None, *, keep_workdir: bool = False
) -> list[ControlPlane]:
    """Start one control plane per spec, all at once (threads), in the order of `specs`.

    A start is mostly waiting on processes, so two take about as long as one. If any fails,
    the others are stopped and the first error is raised.
    """
    binaries = (binaries or find_binaries()).require()
    with ThreadPoolExecutor(max_workers=max(len(specs), 1), thread_name_prefix="control-plane") as pool:
        futures = [pool.submit(start_control_plane, spec, binaries, keep_workdir=keep_workdir) for spec in specs]
        wait(futures)
    errors = [error for f in futures if (error := f.exception()) is not None]
    planes = [f.result() for f in futures if f.exception() is None]
    if errors:
        for plane in planes:
            plane.stop()
        raise errors[0]
    return planes


def start_control_plane(
    spec: ClusterSpec,
    binaries: HarnessBinaries | None = None,
    *,
    parent_dir: Path | None = None,
    keep_workdir: bool = False,
    timeout_s: float = 120,
) -> ControlPlane:
    """Start a control plane for `spec` in a new temporary workdir and wait until it can run pods.

    Raises HarnessNotBuilt when the binaries are missing and ComponentFailed (with the
    component's log tail) when a component exits or is not healthy within `timeout_s`;
    everything already started is stopped again before the error is raised. When another
    process grabs one of the chosen free ports first, it starts again on new ports (up to
    PORT_CLASH_ATTEMPTS times).
    """
    binaries = (binaries or find_binaries()).require()
    attempt = 1
    while True:
        try:
            return _start_once(spec, binaries, parent_dir=parent_dir, keep_workdir=keep_workdir, timeout_s=timeout_s)
        except ComponentFailed as e:
            if not is_port_clash(e) or attempt >= PORT_CLASH_ATTEMPTS:
                raise
            attempt += 1


def _start_once(
    spec: ClusterSpec, binaries: HarnessBinaries, *, parent_dir: Path | None, keep_workdir: bool, timeout_s: float
) -> ControlPlane:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"arenahub-k8s-{spec.name}-", dir=parent_dir))
    ports = Ports(*free_ports(4))
    server = f"https://{LOOPBACK}:{ports.apiserver}"
    ca = write_pki(spec, workdir / "pki", workdir / "kubeconfig", server, datetime.now(timezone.utc))
    plane = ControlPlane(spec=spec, workdir=workdir, ports=ports, ca=ca, keep_workdir=keep_workdir)
    atexit.register(plane.stop)
    args = build_component_args(binaries, spec, ports, workdir)
    deadline = started + timeout_s

    def launch(name: str, env: Mapping[str, str] | None = None) -> ManagedProcess:
        process = ManagedProcess(name, args[name], plane.log_dir / f"{name}.log", env=env).start()
        plane.processes.append(process)
        return process

    def left() -> float:
        return max(deadline - time.monotonic(), 1.0)

    try:
        launch("etcd")
        wait_until("etcd /health", lambda: http_ok(f"http://{LOOPBACK}:{ports.etcd_client}/health"),
                   timeout_s=left(), watched=plane.processes)
        launch("kube-apiserver")
        # started at once, not after /readyz: both wait for the API server themselves, and
        # their own start-up (informers, leader election) then overlaps the API server's
        launch("kube-controller-manager")
        launch("kube-scheduler")
        tls = ssl.create_default_context(cafile=str(plane.ca_file))
        tls.load_cert_chain(workdir / "pki" / "admin.crt", workdir / "pki" / "admin.key")
        wait_until("kube-apiserver /readyz", lambda: http_ok(f"{server}/readyz", tls),
                   timeout_s=left(), watched=plane.processes)
        with plane.api_client() as api:
            ensure_kwok_crds(k8s.ApiextensionsV1Api(api), binaries.kwok_crd_dir, timeout_s=left())
            # HOME points into the workdir so that a ~/.kwok/kwok.yaml of the person running
            # the tests cannot add stages to the harness's kwok
            launch("kwok", env={"HOME": str(workdir), "PATH": "/usr/bin:/bin"})
            kwok_tls = ssl.create_default_context(cafile=str(plane.ca_file))
            wait_until("kwok /healthz", lambda: http_ok(f"https://{LOOPBACK}:{ports.kwok}/healthz", kwok_tls),
                       timeout_s=left(), watched=plane.processes)
            coordination = k8s.CoordinationV1Api(api)
            for component in ("kube-scheduler", "kube-controller-manager"):
                wait_until(f"{component} to take its leader lease", partial(_lease_held, coordination, component),
                           timeout_s=left(), watched=plane.processes)
            ensure_namespace(k8s.CoreV1Api(api), "default", {}, timeout_s=left(), watched=plane.processes)
    except BaseException:
        plane.stop()
        raise
    plane.startup_s = time.monotonic() - started
    return plane


__all__ = [
    "CODING", "TRAINING", "ClusterSpec", "ComponentFailed", "ControlPlane", "Ports",
    "start_control_plane", "start_control_planes",
]
