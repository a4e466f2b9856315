"""Pure builders of the Kubernetes spawner: profile to slice resources, policy, messages."""

import pytest

from arenahub.core.profiles import Profile
from arenahub.spawner.kubeobjects import (
    BackendError,
    SliceBackend,
    backend_of,
    build_gpu_resources,
    build_notebook_network_policy,
    build_notebook_resources,
    build_pool_tolerations,
    describe_pod_event,
    describe_spawn_timeout,
    describe_unschedulable,
    pick_mig_profile,
    render_kube_profile_form,
    unschedulable_message,
)

pytestmark = pytest.mark.unit

QUARTER = Profile("gpu-quarter", "0.25 GPU", 0.25, 8, 1)
WHOLE = Profile("gpu-whole", "1 GPU", 1.0, 32, 4)
CPU = Profile("cpu", "CPU only", 0.0, 4, 1)


@pytest.mark.parametrize("backend, profile, expected", [
    ("hami", QUARTER, {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "20480", "nvidia.com/gpucores": "25"}),
    ("hami", WHOLE, {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "81920", "nvidia.com/gpucores": "100"}),
    ("gpumanager", QUARTER, {"tencent.com/vcuda-core": "25", "tencent.com/vcuda-memory": "80"}),
    ("nvidia-timeslicing", QUARTER, {"nvidia.com/gpu.shared": "1"}),
    ("nvidia-mps", Profile("half", "0.5 GPU", 0.5), {"nvidia.com/gpu.shared": "2"}),
    ("nvidia-timeslicing", WHOLE, {"nvidia.com/gpu": "1"}),
    ("mig", QUARTER, {"nvidia.com/mig-2g.20gb": "1"}),
    ("mig", Profile("eighth", "1/8", 0.125), {"nvidia.com/mig-1g.10gb": "1"}),
    ("whole", QUARTER, {"nvidia.com/gpu": "1"}),
    ("hami", CPU, {}),
])
def test_each_backend_expresses_a_profile_in_its_own_resource_names(backend, profile, expected):
    assert build_gpu_resources(profile, SliceBackend(name=backend)) == expected


def test_a_fraction_that_is_not_a_whole_number_of_replicas_is_refused_with_what_to_change():
    with pytest.raises(BackendError, match="multiple of 1/4"):
        build_gpu_resources(Profile("eighth", "1/8", 0.125), SliceBackend(name="nvidia-mps"))


def test_a_configured_mig_profile_wins_over_the_derived_one():
    assert pick_mig_profile(QUARTER, {"gpu-quarter": "1g.10gb"}) == "1g.10gb"


def test_a_profile_may_pick_its_own_backend_and_an_unknown_one_lists_the_valid_names():
    assert backend_of(Profile("m", "m", 0.25, extra={"gpu_backend": "mig"}), "hami") == "mig"
    with pytest.raises(BackendError, match="Available: hami, gpumanager"):
        backend_of(Profile("m", "m", 0.25, extra={"gpu_backend": "magic"}), "hami")


def test_notebook_resources_carry_memory_cpu_and_the_profile_in_the_environment():
    resources = build_notebook_resources(QUARTER, SliceBackend())
    assert resources.mem_bytes == 8 * 1024**3 and resources.cpu == 1
    assert resources.limits == resources.guarantees
    assert resources.env == {"ARENAHUB_PROFILE": "gpu-quarter", "ARENAHUB_GPU_FRACTION": "0.25",
                             "ARENAHUB_GPU_BACKEND": "hami"}


def test_gpu_pods_also_tolerate_the_gpu_taint_and_cpu_pods_do_not():
    pool = [{"key": "arenahub.io/pool", "operator": "Equal", "value": "coding", "effect": "NoSchedule"}]
    assert [t["key"] for t in build_pool_tolerations(pool, True)] == ["arenahub.io/pool", "nvidia.com/gpu"]
    assert [t["key"] for t in build_pool_tolerations(pool, False)] == ["arenahub.io/pool"]


def test_the_notebook_policy_lets_in_only_hub_and_proxy_and_lets_out_only_to_them_and_dns():
    policy = build_notebook_network_policy("nb", {"component": "singleuser-server"}, {"component": "hub"},
                                           {"component": "proxy"})
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert [p["podSelector"]["matchLabels"] for p in spec["ingress"][0]["from"]] == [
        {"component": "hub"}, {"component": "proxy"}]
    assert [port["port"] for rule in spec["egress"] for port in rule["ports"]] == [8081, 8000, 53, 53]


@pytest.mark.parametrize("scheduler_message, words", [
    ("0/2 nodes are available: 2 Insufficient nvidia.com/gpumem.", "No GPU slice free for 0.25 GPU"),
    ("0/1 nodes are available: 1 Insufficient memory.", "short of memory"),
    ("0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.", "home volume (claim-a)"),
    ("0/1 nodes are available: 1 node(s) had untolerated taint.", "cannot be placed on any coding node"),
])
def test_unschedulable_pods_are_explained_in_plain_words(scheduler_message, words):
    assert words in describe_unschedulable(scheduler_message, QUARTER, "claim-a")


def test_pod_events_become_progress_messages():
    assert describe_pod_event("Scheduled", "Successfully assigned ns/jupyter-a to node-1", QUARTER) == (
        "A GPU slice is reserved for you on node-1 (0.25 GPU · 8 GiB · 1 CPU).")
    assert describe_pod_event("Other", "left as it is", QUARTER) == "left as it is"


def test_only_a_pending_unschedulable_pod_has_an_unschedulable_message():
    condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes"}
    assert unschedulable_message({"status": {"phase": "Pending", "conditions": [condition]}}) == "0/1 nodes"
    assert unschedulable_message({"status": {"phase": "Running", "conditions": [condition]}}) is None


def test_the_form_offers_every_profile_and_checks_the_chosen_one():
    html = render_kube_profile_form([CPU, QUARTER], chosen="gpu-quarter")
    assert html.count('type="radio"') == 2
    assert 'value="gpu-quarter" checked' in html and 'value="cpu" checked' not in html


def test_a_spawn_timeout_says_why_when_the_pod_was_unschedulable_and_the_phase_otherwise():
    why = describe_spawn_timeout(300, "Pending", "0/2 nodes are available: 2 Insufficient nvidia.com/gpumem.",
                                 QUARTER, "claim-a")
    assert why.startswith("Your server did not start within 300 s: No GPU slice free for 0.25 GPU")
    assert describe_spawn_timeout(300, "Pending", None, QUARTER).startswith(
        "Your server did not start within 300 s (its pod is Pending).")
