"""Files and command lines of a control plane's components: certificates, kubeconfigs, flags."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

import yaml

from .binaries import STAGES_FILE, HarnessBinaries
from .kubeconfig import build_kubeconfig
from .pki import CertKey, make_ca, make_client_cert, make_serving_cert, make_signing_key
from .processes import LOOPBACK

SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
ADMIN_USER = "arenahub-admin"


@dataclass(frozen=True)
class ClusterSpec:
    """What tells two harness clusters apart: a name and a pod CIDR inside 127.0.0.0/8."""

    name: str
    pod_cidr: str
    service_cidr: str = "10.96.0.0/16"  # nothing connects to it: the harness has no kube-proxy


CODING = ClusterSpec("coding", "127.20.0.0/16")
TRAINING = ClusterSpec("training", "127.21.0.0/16")


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    kwok: int


def write_file(path: Path, data: bytes | str, mode: int = 0o600) -> Path:
    """Write `data` to `path` (parents created) with permissions `mode`; returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    path.chmod(mode)
    return path


def write_kubeconfig(path: Path, doc: Mapping[str, Any]) -> Path:
    """Write a kubeconfig document (see kubeconfig.build_kubeconfig) as YAML, readable by the owner only."""
    return write_file(path, yaml.safe_dump(dict(doc), sort_keys=False))


def write_pki(spec: ClusterSpec, pki: Path, kubeconfigs: Path, server: str, now: datetime) -> CertKey:
    """Every certificate, key and kubeconfig a control plane needs; returns the CA."""
    ca = make_ca("arenahub-harness-ca", now)
    write_file(pki / "ca.crt", ca.cert_pem, 0o644)
    write_file(pki / "ca.key", ca.key_pem)
    # the first address of the service range is the `kubernetes` Service's ClusterIP
    service_ip = str(next(ipaddress.ip_network(spec.service_cidr).hosts()))
    serving = make_serving_cert(
        ca, "kube-apiserver", [LOOPBACK, service_ip],
        ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
         "kubernetes.default.svc.cluster.local"], now,
    )
    write_file(pki / "apiserver.crt", serving.cert_pem)
    write_file(pki / "apiserver.key", serving.key_pem)
    kwok_serving = make_serving_cert(ca, "kwok", [LOOPBACK], ["localhost"], now)
    write_file(pki / "kwok-serving.crt", kwok_serving.cert_pem)
    write_file(pki / "kwok-serving.key", kwok_serving.key_pem)
    sa_key, sa_pub = make_signing_key()
    write_file(pki / "sa.key", sa_key)
    write_file(pki / "sa.pub", sa_pub, 0o644)
    # (file stem, user, groups): who each component is to the API server
    identities = [
        ("admin", ADMIN_USER, ["system:masters"]),
        ("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ["system:masters"]),
        ("kube-controller-manager", "system:kube-controller-manager", []),
        ("kube-scheduler", "system:kube-scheduler", []),
        # kwok plays every node's kubelet at once, which the Node authorizer cannot express
        ("kwok", "kwok-controller", ["system:masters"]),
    ]
    for stem, user, groups in identities:
        cert = make_client_cert(ca, user, groups, now)
        write_file(pki / f"{stem}.crt", cert.cert_pem)
        write_file(pki / f"{stem}.key", cert.key_pem)
        if stem != "apiserver-kubelet-client":
            doc = build_kubeconfig("harness", server, ca.cert_pem, user,
                                   client_cert_pem=cert.cert_pem, client_key_pem=cert.key_pem)
            write_kubeconfig(kubeconfigs / f"{stem}.kubeconfig", doc)
    return ca


def build_component_args(
    binaries: HarnessBinaries, spec: ClusterSpec, ports: Ports, workdir: Path
) -> dict[str, list[str]]:
    """Command lines of etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok."""
    pki, kc = workdir / "pki", workdir / "kubeconfig"
    etcd_url = f"http://{LOOPBACK}:{ports.etcd_client}"
    peer_url = f"http://{LOOPBACK}:{ports.etcd_peer}"
    return {
        "etcd": [
            str(binaries.path("etcd")), "--name=harness", f"--data-dir={workdir / 'etcd'}",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=harness={peer_url}", "--initial-cluster-state=new",
            # a throw-away store: fsync would only make every write wait for the disk
            "--unsafe-no-fsync=true", "--log-level=warn", "--quota-backend-bytes=1073741824",
        ],
        "kube-apiserver": [
            str(binaries.path("kube-apiserver")), f"--etcd-servers={etcd_url}",
            f"--bind-address={LOOPBACK}", f"--advertise-address={LOOPBACK}", f"--secure-port={ports.apiserver}",
            f"--cert-dir={workdir / 'apiserver-certs'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--authorization-mode=Node,RBAC",
            # on top of the default set (which already has PodSecurity, ServiceAccount, ...)
            "--enable-admission-plugins=NodeRestriction,PodSecurity,ResourceQuota,LimitRanger",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={spec.service_cidr}",
            # the `kubernetes` Service would need a non-loopback endpoint; nothing uses it here
            "--endpoint-reconciler-type=none",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={pki / 'ca.crt'}",
            # kwok's nodes have a Hostname address nobody resolves; logs go to InternalIP 127.0.0.1
            "--kubelet-preferred-address-types=InternalIP",
            "--allow-privileged=true", "--profiling=false",
        ],
        "kube-controller-manager": [
            str(binaries.path("kube-controller-manager")),
            f"--kubeconfig={kc / 'kube-controller-manager.kubeconfig'}",
            # leader election only as a readiness signal (its Lease); retry fast because the
            # first attempt usually comes before the API server's RBAC roles exist
            "--secure-port=0", "--leader-elect=true", "--leader-elect-retry-period=500ms",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
            "--node-monitor-period=1s", "--profiling=false",
        ],
        "kube-scheduler": [
            str(binaries.path("kube-scheduler")), f"--kubeconfig={kc / 'kube-scheduler.kubeconfig'}",
            "--secure-port=0", "--leader-elect=true", "--leader-elect-retry-period=500ms", "--profiling=false",
        ],
        "kwok": [
            str(binaries.path("kwok")), f"--config={STAGES_FILE}", f"--kubeconfig={kc / 'kwok.kubeconfig'}",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--cidr={spec.pod_cidr}", f"--node-ip={LOOPBACK}", f"--node-port={ports.kwok}",
            f"--server-address={LOOPBACK}:{ports.kwok}",
            f"--tls-cert-file={pki / 'kwok-serving.crt'}", f"--tls-private-key-file={pki / 'kwok-serving.key'}",
            "--node-lease-duration-seconds=40", "--enable-crds=Logs,ClusterLogs",
        ],
    }
