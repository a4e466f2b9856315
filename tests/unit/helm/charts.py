"""Helpers for the Helm chart tests: find helm, render the charts with named values sets, pick objects."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.k8s.harness import find_binaries

REPO = Path(__file__).resolve().parents[3]
CHARTS_DIR = REPO / "helm"
CODING_CHART = CHARTS_DIR / "arenahub-coding"
TRAINING_CHART = CHARTS_DIR / "arenahub-training"
KUEUE_CRD_DIR = Path(__file__).resolve().parent / "kueue-crds"
KUEUE_API = "kueue.x-k8s.io/v1beta1"
KUBE_VERSION = find_binaries().versions["K8S_VERSION"]
BACKENDS = ("hami", "gpumanager", "nvidia-timeslicing", "nvidia-mps", "mig", "whole")


class HelmFailed(RuntimeError):
    """helm exited non-zero; the message is its stderr."""


def helm_binary() -> Path | None:
    """The harness's helm (scripts/k8s-harness build), else one on PATH, else None."""
    built = find_binaries().path("helm")
    if built.is_file():
        return built
    found = shutil.which("helm")
    return Path(found) if found else None


def _helm_env(home: Path) -> dict[str, str]:
    # helm keeps caches and repository lists under these; tests must not touch the user's
    return {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def run_helm(args: Sequence[str], *, kubeconfig: Path | None = None, timeout_s: float = 120) -> str:
    """Run helm with ``args``; returns stdout, raises HelmFailed with stderr when it fails."""
    helm = helm_binary()
    if helm is None:
        raise HelmFailed("helm not found; run scripts/k8s-harness build")
    with tempfile.TemporaryDirectory(prefix="arenahub-helm-") as home:
        env = _helm_env(Path(home))
        if kubeconfig is not None:
            env["KUBECONFIG"] = str(kubeconfig)
        done = subprocess.run([str(helm), *args], capture_output=True, text=True, env=env, timeout=timeout_s)
    if done.returncode != 0:
        raise HelmFailed(done.stderr.strip() or done.stdout.strip())
    return done.stdout


def values_file(values: Mapping[str, Any], folder: Path) -> Path:
    """Write ``values`` as a values file (JSON is YAML) in ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkstemp(prefix="values-", suffix=".yaml", dir=folder)[1])
    path.write_text(json.dumps(values))
    return path


def parse_manifests(text: str) -> list[dict[str, Any]]:
    """The objects of a multi-document YAML text (empty documents dropped)."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


@dataclass(frozen=True)
class ValuesSet:
    """A named set of values for one chart, with the extra API versions the render may assume."""

    name: str
    chart: Path
    values: Mapping[str, Any]
    api_versions: tuple[str, ...] = ()
    notes: str = field(default="", compare=False)

    def template_args(self, values_path: Path, release: str, namespace: str) -> list[str]:
        """Arguments of ``helm template`` (or, without the first three, ``helm install``) for this set."""
        args = ["template", release, str(self.chart), "--namespace", namespace, "-f", str(values_path),
                "--kube-version", KUBE_VERSION]
        for api in self.api_versions:
            args += ["--api-versions", api]
        return args


@functools.lru_cache(maxsize=64)
def _template(chart: Path, values_json: str, api_versions: tuple[str, ...], release: str, namespace: str) -> str:
    values_set = ValuesSet("cached", chart, json.loads(values_json), api_versions)
    with tempfile.TemporaryDirectory(prefix="arenahub-values-") as tmp:
        path = values_file(values_set.values, Path(tmp))
        return run_helm(values_set.template_args(path, release, namespace))


def render_text(values_set: ValuesSet, *, release: str = "arena", namespace: str = "arenahub") -> str:
    """What ``helm template`` prints for ``values_set`` (cached per chart, values and names: the
    lint, render and hub-config tests share renders); raises HelmFailed on bad values."""
    return _template(values_set.chart, json.dumps(values_set.values, sort_keys=True), values_set.api_versions,
                     release, namespace)


def render(values_set: ValuesSet, *, release: str = "arena", namespace: str = "arenahub") -> list[dict[str, Any]]:
    """The objects ``helm template`` makes of ``values_set``; raises HelmFailed on bad values."""
    return parse_manifests(render_text(values_set, release=release, namespace=namespace))


def find(objects: Iterable[Mapping[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    """Objects of ``kind`` (and ``name`` when given)."""
    return [dict(o) for o in objects
            if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def only(objects: Iterable[Mapping[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of ``kind`` (and ``name``); fails the test when there is not exactly one."""
    found = find(objects, kind, name)
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0]


def profiles_for(backend: str) -> list[dict[str, Any]]:
    """A profile list every backend can express (whole GPUs only for 'whole')."""
    if backend == "whole":
        return [
            {"slug": "cpu", "display_name": "CPU only", "gpu_fraction": 0, "mem_gib": 4, "cpu": 1},
            {"slug": "gpu-whole", "display_name": "1 GPU", "gpu_fraction": 1, "mem_gib": 32, "cpu": 4, "default": True},
        ]
    return [
        {"slug": "cpu", "display_name": "CPU only", "gpu_fraction": 0, "mem_gib": 4, "cpu": 1},
        {"slug": "gpu-quarter", "display_name": "0.25 GPU", "gpu_fraction": 0.25, "mem_gib": 8, "cpu": 1,
         "idle_timeout_s": 1800, "default": True},
        {"slug": "gpu-half", "display_name": "0.5 GPU", "gpu_fraction": 0.5, "mem_gib": 16, "cpu": 2},
    ]


EXTERNAL_DB = {
    "hub": {"db": {"type": "postgres", "url": "postgresql+psycopg://jupyterhub@db.example.org:5432/jupyterhub",
                   "password": "s3cret/with:odd@chars"}},
    "gateway": {"db": {"type": "postgres", "url": "postgresql+psycopg://gateway@db.example.org:5432/gateway",
                       "password": "another"}},
}
IN_CHART_DB = {"hub": {"db": {"type": "postgres"}}, "gateway": {"db": {"type": "postgres"}},
               "postgresql": {"enabled": True}}
INGRESS = {"ingress": {"enabled": True, "ingressClassName": "nginx", "hosts": ["hub.example.org"],
                       "tls": [{"hosts": ["hub.example.org"], "secretName": "hub-tls"}]},
           "proxy": {"service": {"type": "ClusterIP"}}}
# The gateway mounts the datasets (with the hidden annotations the scorer reads); homes on a named class;
# one profile with its own unattended timeout.
GATEWAY_DATASETS_AND_STORAGE = {
    "gateway": {"extraVolumes": [{"name": "datasets", "persistentVolumeClaim": {"claimName": "arena-datasets",
                                                                                "readOnly": True}}],
                "extraVolumeMounts": [{"name": "datasets", "mountPath": "/srv/datasets", "readOnly": True}]},
    "singleuser": {"storage": {"type": "dynamic", "capacity": "50Gi", "dynamic": {"storageClass": "fast-ssd"}},
                   "profileList": [{**p, "unattended_timeout_s": 600} for p in profiles_for("hami")]},
}
# Per-profile kernel culling: set, turned off, and null (the profile kind's default).
KERNEL_CULLING = {"singleuser": {"profileList": [
    {**p, "kernel_idle_timeout_s": t, "kernel_cull_interval_s": 30, "kernel_cull_connected": c,
     "kernel_cull_busy": False}
    for p, t, c in zip(profiles_for("hami"), (0, 600, None), (None, True, False))
]}}
TWO_COMPETITIONS = {"namespacePrefix": "arena-", "competitions": [
    {"name": "faces", "gpus": 6, "maxJobs": 20, "datasetVolume": {"size": "50Gi", "accessModes": ["ReadOnlyMany"]}},
    {"name": "cars", "gpus": 3, "cpu": "24", "memory": "200Gi"},
]}

CODING_SETS = [
    *(ValuesSet(f"coding-{backend}", CODING_CHART,
                {"gpuSharing": {"backend": backend}, "singleuser": {"profileList": profiles_for(backend)}})
      for backend in BACKENDS),
    ValuesSet("coding-external-db", CODING_CHART, EXTERNAL_DB),
    ValuesSet("coding-in-chart-db", CODING_CHART, IN_CHART_DB),
    ValuesSet("coding-ingress", CODING_CHART, INGRESS),
    ValuesSet("coding-datasets-storage", CODING_CHART, GATEWAY_DATASETS_AND_STORAGE),
    ValuesSet("coding-kernel-culling", CODING_CHART, KERNEL_CULLING),
]
TRAINING_SETS = [
    ValuesSet("training-default", TRAINING_CHART, {}),
    ValuesSet("training-two-competitions", TRAINING_CHART, TWO_COMPETITIONS),
    ValuesSet("training-kueue", TRAINING_CHART, {**TWO_COMPETITIONS, "kueue": {"enabled": True, "cohort": "arena"}},
              api_versions=(KUEUE_API,)),
]
VALUES_SETS = [*CODING_SETS, *TRAINING_SETS]


def ensure_kueue_crds(api_client: Any, timeout_s: float = 60) -> None:
    """Install the vendored Kueue CRDs (kueue-crds/) into a cluster, if absent, and wait until
    the API server serves them."""
    import time

    from kubernetes import client as k8s

    extensions = k8s.ApiextensionsV1Api(api_client)
    names = []
    for path in sorted(KUEUE_CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        names.append(crd["metadata"]["name"])
        try:
            extensions.create_custom_resource_definition(body=crd)
        except k8s.ApiException as e:
            if e.status != 409:
                raise
    deadline = time.monotonic() + timeout_s
    while True:
        established = [
            any(c.type == "Established" and c.status == "True"
                for c in (extensions.read_custom_resource_definition(n).status.conditions or []))
            for n in names
        ]
        if all(established):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"Kueue CRDs not established within {timeout_s} s: {names}")
        time.sleep(0.2)
