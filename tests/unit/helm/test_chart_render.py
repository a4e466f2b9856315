"""What `helm template` makes of the charts: security-relevant facts of the rendered objects."""

from __future__ import annotations

import base64

import pytest

from tests.unit.helm.charts import (
    CODING_CHART,
    CODING_SETS,
    EXTERNAL_DB,
    IN_CHART_DB,
    INGRESS,
    TRAINING_CHART,
    TWO_COMPETITIONS,
    KUEUE_API,
    ValuesSet,
    find,
    helm_binary,
    only,
    render,
)

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(helm_binary() is None, reason="helm not built: run scripts/k8s-harness build"),
]

HUB = "arena-arenahub-coding-hub"
SELECTOR = "app.kubernetes.io/component"


@pytest.fixture(scope="module")
def coding() -> list[dict]:
    return render(ValuesSet("defaults", CODING_CHART, {}))


@pytest.fixture(scope="module")
def training() -> list[dict]:
    return render(ValuesSet("two", TRAINING_CHART, TWO_COMPETITIONS))


def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def test_every_values_set_renders_the_hub_proxy_and_gateway():
    for values_set in CODING_SETS:
        names = {d["metadata"]["name"] for d in find(render(values_set), "Deployment")}
        assert names == {HUB, "arena-arenahub-coding-proxy", "arena-arenahub-coding-gateway"}, values_set.name


def test_hub_role_grants_only_pods_pvcs_and_events_in_its_namespace(coding):
    role = only(coding, "Role", HUB)
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert resources == {"pods", "persistentvolumeclaims", "events"}
    events = next(rule for rule in role["rules"] if rule["resources"] == ["events"])
    assert set(events["verbs"]) == {"get", "watch", "list"}
    assert find(coding, "ClusterRole") == [] and find(coding, "ClusterRoleBinding") == []


def test_hub_pod_runs_non_root_with_scrape_annotations_and_config_checksum(coding):
    pod = only(coding, "Deployment", HUB)["spec"]["template"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    container = pod["spec"]["containers"][0]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/hub/metrics"
    assert len(annotations["checksum/config"]) == 64


def test_hub_has_a_disruption_budget_selecting_its_pod(coding):
    pdb = only(coding, "PodDisruptionBudget", HUB)
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"][SELECTOR] == "hub"


def test_notebooks_accept_traffic_only_from_the_proxy_and_the_hub(coding):
    policy = only(coding, "NetworkPolicy", "arena-arenahub-coding-singleuser")
    assert policy["spec"]["podSelector"]["matchLabels"][SELECTOR] == "singleuser-server"
    sources = {peer["podSelector"]["matchLabels"][SELECTOR] for rule in policy["spec"]["ingress"] for peer in rule["from"]}
    assert sources == {"proxy", "hub"}


def test_notebooks_reach_no_internet_by_default_and_may_be_opened_to_it(coding):
    def public_egress(objects: list[dict]) -> list[dict]:
        policy = only(objects, "NetworkPolicy", "arena-arenahub-coding-singleuser")
        return [rule for rule in policy["spec"]["egress"]
                if any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for peer in rule.get("to", []))]

    assert public_egress(coding) == []
    opened = render(ValuesSet("open", CODING_CHART,
                              {"singleuser": {"networkPolicy": {"egressAllowRules": {"nonPrivateIPs": True}}}}))
    [rule] = public_egress(opened)
    assert "169.254.169.254/32" in rule["to"][0]["ipBlock"]["except"]


def test_secret_values_stay_out_of_the_mounted_hub_config(coding):
    text = only(coding, "ConfigMap", HUB)["data"]["values.yaml"]
    for key in ("cookieSecret", "secretToken", "apiToken", "password:"):
        assert key not in text


def test_explicit_secrets_are_used_as_given():
    token = "ab" * 32
    objects = render(ValuesSet("explicit", CODING_CHART, {"proxy": {"secretToken": token}}))
    data = only(objects, "Secret")["data"]
    assert base64.b64decode(data["proxy-token"]).decode() == token


def test_external_database_needs_no_in_chart_postgresql_and_gets_its_password_from_the_secret():
    objects = render(ValuesSet("ext", CODING_CHART, EXTERNAL_DB))
    assert find(objects, "StatefulSet") == []
    assert find(objects, "PersistentVolumeClaim", "arena-arenahub-coding-hub-db") == []
    gateway = only(objects, "Deployment", "arena-arenahub-coding-gateway")["spec"]["template"]["spec"]["containers"][0]
    url = _env(gateway)["ARENAHUB_GATEWAY_DB__URL"]["value"]
    assert url == "postgresql+psycopg://gateway:$(GATEWAY_DB_PASSWORD)@db.example.org:5432/gateway"


def test_in_chart_postgresql_is_a_statefulset_reached_by_hub_and_gateway_only():
    objects = render(ValuesSet("db", CODING_CHART, IN_CHART_DB))
    statefulset = only(objects, "StatefulSet", "arena-arenahub-coding-postgresql")
    assert statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
    policy = only(objects, "NetworkPolicy", "arena-arenahub-coding-postgresql")
    sources = {peer["podSelector"]["matchLabels"][SELECTOR] for peer in policy["spec"]["ingress"][0]["from"]}
    assert sources == {"hub", "gateway"}


def test_ingress_routes_its_hosts_to_the_public_proxy_service():
    ingress = only(render(ValuesSet("ing", CODING_CHART, INGRESS)), "Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert ingress["spec"]["rules"][0]["host"] == "hub.example.org"
    assert backend["name"] == "arena-arenahub-coding-proxy-public"


def test_gateway_mounts_the_training_kubeconfig_when_one_is_given():
    objects = render(ValuesSet("tk", CODING_CHART, {"gateway": {"training": {
        "kubeconfigSecret": "training-kube", "image": "registry.example/arenahub-job-runner:1"}}}))
    pod = only(objects, "Deployment", "arena-arenahub-coding-gateway")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    env = _env(pod["containers"][0])
    assert env["KUBECONFIG"]["value"] == "/etc/arenahub/training/kubeconfig"
    assert any(v.get("secret", {}).get("secretName") == "training-kube" for v in pod["volumes"])
    # and the gateway really uses it: its settings pick the Kubernetes executor with that file
    from arenahub.gateway.executor_settings import ExecutorSettings

    executor = ExecutorSettings(kind=env["ARENAHUB_GATEWAY_EXECUTOR__KIND"]["value"], kubernetes={
        "kubeconfig": env["ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__KUBECONFIG"]["value"],
        "image": env["ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__IMAGE"]["value"]})
    assert executor.kind == "kubernetes" and str(executor.kubernetes.kubeconfig) == "/etc/arenahub/training/kubeconfig"


def test_the_code_and_outputs_caps_reach_the_gateways_kubernetes_settings(monkeypatch):
    objects = render(ValuesSet("caps", CODING_CHART, {"gateway": {"training": {
        "kubeconfigSecret": "training-kube", "image": "registry.example/arenahub-job-runner:1",
        "maxSnapshotBytes": 4 << 20, "outputsMaxBytes": 3 << 20}}}))
    env = _env(only(objects, "Deployment", "arena-arenahub-coding-gateway")["spec"]["template"]["spec"]["containers"][0])
    from arenahub.gateway.executor_settings import ExecutorSettings, snapshot_cap

    for name in ("KIND", "KUBERNETES__IMAGE", "KUBERNETES__MAX_SNAPSHOT_BYTES", "KUBERNETES__OUTPUTS_MAX_BYTES"):
        monkeypatch.setenv(f"ARENAHUB_GATEWAY_EXECUTOR__{name}", env[f"ARENAHUB_GATEWAY_EXECUTOR__{name}"]["value"])
    from arenahub.gateway.settings import GatewaySettings

    monkeypatch.setenv("ARENAHUB_GATEWAY_ENVIRONMENT", "dev")  # the chart's Secret gives the real token
    executor: ExecutorSettings = GatewaySettings().executor
    assert snapshot_cap(executor) == 4 << 20 and executor.kubernetes.outputs_max_bytes == 3 << 20


@pytest.mark.parametrize("training", [{"maxSnapshotBytes": 128 << 20}, {"outputsMaxBytes": 0}, {"maxSnapshotBytes": "16Mi"}])
def test_caps_outside_their_range_are_refused_at_render(training):
    with pytest.raises(Exception, match="maxSnapshotBytes|outputsMaxBytes"):
        render(ValuesSet("bad-caps", CODING_CHART, {"gateway": {"training": {
            "kubeconfigSecret": "training-kube", "image": "registry.example/arenahub-job-runner:1", **training}}}))


def test_a_training_kubeconfig_without_a_job_image_is_refused_at_render():
    with pytest.raises(Exception, match="gateway.training.image"):
        render(ValuesSet("tk", CODING_CHART, {"gateway": {"training": {"kubeconfigSecret": "training-kube"}}}))


def test_gateway_config_groups_become_nested_environment_variables():
    objects = render(ValuesSet("gc", CODING_CHART, {"gateway": {"config": {
        "scheduler": {"policy": "spread"}, "cluster": {"nodes": {"training-gpu-0": 3}}}}}))
    env = _env(only(objects, "Deployment", "arena-arenahub-coding-gateway")["spec"]["template"]["spec"]["containers"][0])
    assert env["ARENAHUB_GATEWAY_SCHEDULER__POLICY"]["value"] == "spread"
    assert env["ARENAHUB_GATEWAY_CLUSTER__NODES"]["value"] == '{"training-gpu-0":3}'


# -- training chart ------------------------------------------------------------------------------
def test_each_competition_gets_a_restricted_namespace(training):
    namespaces = {n["metadata"]["name"]: n["metadata"]["labels"] for n in find(training, "Namespace")}
    assert set(namespaces) == {"arena-faces", "arena-cars"}
    for labels in namespaces.values():
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_each_competition_namespace_denies_all_traffic(training):
    for policy in find(training, "NetworkPolicy"):
        assert policy["spec"]["podSelector"] == {}
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert "ingress" not in policy["spec"] and "egress" not in policy["spec"]
    assert {p["metadata"]["namespace"] for p in find(training, "NetworkPolicy")} == {"arena-faces", "arena-cars"}


def test_gpu_quota_and_defaults_for_cpu_and_memory_follow_the_competition(training):
    quotas = {q["metadata"]["namespace"]: q["spec"]["hard"] for q in find(training, "ResourceQuota")}
    assert quotas["arena-faces"]["requests.nvidia.com/gpu"] == "6"
    assert quotas["arena-faces"]["requests.cpu"] == "96" and quotas["arena-faces"]["requests.memory"] == "768Gi"
    assert quotas["arena-faces"]["count/jobs.batch"] == "20"
    assert quotas["arena-cars"]["requests.cpu"] == "24" and "count/jobs.batch" not in quotas["arena-cars"]


def test_executor_may_run_jobs_and_read_pod_logs_but_read_no_secrets_or_configmaps(training):
    for role in find(training, "Role"):
        granted = {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}
        assert {("jobs", "create"), ("jobs", "delete"), ("jobs", "patch"), ("pods/log", "get"),
                ("configmaps", "create")} <= granted
        assert not any(r in ("secrets", "pods/exec", "namespaces") for r, _ in granted)
        assert not any(r == "configmaps" and v != "create" for r, v in granted)
        assert not any(v in ("*", "update", "escalate", "bind") for _, v in granted)
    assert find(training, "ClusterRole") == []
    bindings = find(training, "RoleBinding")
    assert {b["metadata"]["namespace"] for b in bindings} == {"arena-faces", "arena-cars"}
    assert all(b["subjects"] == [{"kind": "ServiceAccount", "name": "arenahub-executor", "namespace": "arenahub"}]
               for b in bindings)


def test_the_dataset_volume_is_a_kept_pvc_named_as_the_executor_mounts_it(training):
    claims = {(c["metadata"]["namespace"], c["metadata"]["name"]): c for c in find(training, "PersistentVolumeClaim")}
    assert set(claims) == {("arena-faces", "arenahub-datasets")}  # cars has no datasetVolume
    claim = claims[("arena-faces", "arenahub-datasets")]
    assert claim["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_cluster_wide_job_listing_is_opt_in_and_grants_only_list_and_watch():
    objects = render(ValuesSet("list", TRAINING_CHART, {"executor": {"listJobsClusterWide": True}}))
    role = only(objects, "ClusterRole")
    assert role["rules"] == [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list", "watch"]}]


def test_kueue_objects_appear_only_when_enabled(training):
    assert not [o for o in training if o["apiVersion"] == KUEUE_API]
    objects = render(ValuesSet("kueue", TRAINING_CHART, {**TWO_COMPETITIONS, "kueue": {"enabled": True}},
                               api_versions=(KUEUE_API,)))
    queue = only(objects, "ClusterQueue", "arena-faces")
    quotas = {r["name"]: r["nominalQuota"] for r in queue["spec"]["resourceGroups"][0]["flavors"][0]["resources"]}
    assert quotas == {"cpu": "96", "memory": "768Gi", "ephemeral-storage": "600Gi", "nvidia.com/gpu": 6}
    assert queue["spec"]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "arena-faces"}
    queues = {(q["metadata"]["namespace"], q["metadata"]["name"], q["spec"]["clusterQueue"])
              for q in find(objects, "LocalQueue")}
    assert queues == {("arena-faces", "arenahub", "arena-faces"), ("arena-cars", "arenahub", "arena-cars")}


def test_gateway_learns_how_much_of_a_gpu_each_notebook_profile_holds(coding):
    env = _env(only(coding, "Deployment", "arena-arenahub-coding-gateway")["spec"]["template"]["spec"]["containers"][0])
    assert env["ARENAHUB_GATEWAY_QUOTA__NOTEBOOK_PROFILES"]["value"] == '{"cpu":0,"gpu-half":0.5,"gpu-quarter":0.25}'
    assert env["ARENAHUB_GATEWAY_QUOTA__NOTEBOOK_DEFAULT_FRACTION"]["value"] == "0.25"
