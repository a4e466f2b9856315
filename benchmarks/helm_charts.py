"""Render, install and upgrade times of the arenahub Helm charts against `helm create`'s scaffold chart.

Usage:
  .venv/bin/python benchmarks/helm_charts.py [--repeat 5]

Renders each chart `--repeat` times with `helm template`, then starts both harness control planes
and, `--repeat` times each, installs the coding chart (waiting until its pods run on kwok nodes),
upgrades it with a changed profile list (waiting for the new hub pod), installs the training chart
(two competitions, Kueue on) and the baseline scaffold chart the same way. Prints one line per
measurement and a Markdown table of medians at the end. Needs `scripts/k8s-harness build`.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kubernetes import client as k8s

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.k8s.harness import CODING, TRAINING, build_default_nodes, start_control_planes  # noqa: E402
from tests.unit.helm.charts import (  # noqa: E402
    CODING_CHART,
    KUBE_VERSION,
    KUEUE_API,
    TRAINING_CHART,
    ensure_kueue_crds,
    profiles_for,
    run_helm,
    values_file,
)

# The harness has no load balancer and no storage provisioner: a NodePort proxy, and volumes made
# beforehand for the chart's two claims (static provisioning).
CODING_VALUES = {"proxy": {"service": {"type": "NodePort"}}}
CODING_CLAIMS = {"arena-arenahub-coding-hub-db": "1Gi", "arena-arenahub-coding-gateway-state": "20Gi"}
TRAINING_VALUES = {"kueue": {"enabled": True}, "keepNamespacesOnUninstall": False,
                   "competitions": [{"name": "faces", "gpus": 6}, {"name": "cars", "gpus": 3}]}


def timed(label: str, action: Callable[[], object], results: dict[str, list[float]]) -> None:
    start = time.perf_counter()
    action()
    elapsed = time.perf_counter() - start
    results.setdefault(label, []).append(elapsed)
    print(f"{label}: {elapsed:.3f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    work = Path(tempfile.mkdtemp(prefix="arenahub-helm-bench-"))
    scaffold = work / "scaffold"
    run_helm(["create", str(scaffold)])
    coding_values = values_file(CODING_VALUES, work)
    training_values = values_file(TRAINING_VALUES, work)
    for _ in range(args.repeat):
        timed("template coding", lambda: run_helm(["template", "a", str(CODING_CHART), "-f", str(coding_values),
                                                   "--kube-version", KUBE_VERSION]), results)
        timed("template training", lambda: run_helm(["template", "a", str(TRAINING_CHART), "-f", str(training_values),
                                                     "--kube-version", KUBE_VERSION, "--api-versions", KUEUE_API]), results)
        timed("template scaffold", lambda: run_helm(["template", "a", str(scaffold), "--kube-version", KUBE_VERSION]),
              results)

    coding, training = start_control_planes([CODING, TRAINING])
    try:
        for plane in (coding, training):
            plane.create_nodes(build_default_nodes(plane.name))
        with training.api_client() as api:
            ensure_kueue_crds(api)
        upgraded = values_file({**CODING_VALUES, "singleuser": {"profileList": profiles_for("whole")}}, work)
        for i in range(args.repeat):
            ns = f"bench-{secrets.token_hex(3)}"
            for plane in (coding, training):
                plane.ensure_namespace(ns)
            with coding.api_client() as api:
                for claim, size in CODING_CLAIMS.items():
                    k8s.CoreV1Api(api).create_persistent_volume(body={
                        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"{ns}-{claim}"},
                        "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                                 "storageClassName": "", "hostPath": {"path": f"/srv/{ns}-{claim}"},
                                 "claimRef": {"namespace": ns, "name": claim}}})
            wait = ["--namespace", ns, "--wait", "--timeout", "180s"]
            timed("install coding (--wait)", lambda: run_helm(
                ["install", "arena", str(CODING_CHART), "-f", str(coding_values), *wait],
                kubeconfig=coding.kubeconfig, timeout_s=240), results)
            timed("upgrade coding, new profiles (--wait)", lambda: run_helm(
                ["upgrade", "arena", str(CODING_CHART), "-f", str(upgraded), *wait],
                kubeconfig=coding.kubeconfig, timeout_s=240), results)
            timed("install scaffold (--wait)", lambda: run_helm(
                ["install", "scaffold", str(scaffold), *wait], kubeconfig=coding.kubeconfig, timeout_s=240), results)
            training_run = values_file({**TRAINING_VALUES, "namespacePrefix": f"b{i}-"}, work)
            timed("install training (--wait)", lambda: run_helm(
                ["install", "arena", str(TRAINING_CHART), "-f", str(training_run), *wait],
                kubeconfig=training.kubeconfig, timeout_s=240), results)
            # the Kueue ResourceFlavor is cluster-wide and belongs to one release at a time
            run_helm(["uninstall", "arena", "--namespace", ns, "--wait"], kubeconfig=training.kubeconfig)
            for plane in (coding, training):
                with plane.api_client() as api:
                    k8s.CoreV1Api(api).delete_namespace(ns, propagation_policy="Background")
    finally:
        coding.stop()
        training.stop()

    print("\n| measurement | median s | min s | max s | runs |\n|---|---|---|---|---|")
    for label, values in results.items():
        print(f"| {label} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} | {len(values)} |")


if __name__ == "__main__":
    main()
