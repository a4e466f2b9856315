"""VGPUKubeSpawner: each user's notebook as a pod on a GPU slice of the coding cluster (a KubeSpawner).

A thin adapter over pure helpers: ``arenahub.core.profiles`` picks the profile (the same list
as the local spawner), ``kubeobjects`` turns it into the sharing backend's resource requests,
the coding pool's placement, the notebook NetworkPolicy and plain-words spawn messages.
KubeSpawner does the rest: the pod, the user's PVC (kept across stops and culling), reflectors.
The quota check is JupyterHub's ``c.Spawner.pre_spawn_hook``, which this class leaves alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from kubernetes_asyncio.client.rest import ApiException
from kubespawner import KubeSpawner
from kubespawner.clients import shared_client
from tornado import web
from traitlets import Bool, Dict, Enum, Float, Integer, List, Unicode, default

from arenahub.core.profiles import (
    DEFAULT_PROFILES,
    Profile,
    ProfileError,
    profile_from_dict,
    select_profile,
    validate_profiles,
)

from .kubeobjects import (
    BACKENDS,
    POOL_LABEL,
    BackendError,
    SliceBackend,
    backend_of,
    build_notebook_network_policy,
    build_notebook_resources,
    build_pool_tolerations,
    describe_pod_event,
    describe_spawn_timeout,
    describe_unschedulable,
    render_kube_profile_form,
    unschedulable_message,
)


class SpawnFailed(RuntimeError):
    """A spawn that cannot succeed; JupyterHub shows ``jupyterhub_message`` to the participant."""

    def __init__(self, message: str):
        super().__init__(message)
        self.jupyterhub_message = message


class VGPUKubeSpawner(KubeSpawner):
    """Start each user's server as a pod on a GPU slice of the coding cluster."""

    profiles = List(
        [p.__dict__ | {"extra": {}} for p in DEFAULT_PROFILES],
        help="""Profiles offered in the spawn form: the same list as VGPULocalSpawner.profiles.

        Each entry: slug, display_name, gpu_fraction (0, or 1/n of one GPU), mem_gib, cpu,
        description, idle_timeout_s, default, max_procs, and extra. extra.gpu_backend picks
        another sharing backend for one profile (e.g. a MIG pool next to a HAMi pool).
        """,
    ).tag(config=True)

    gpu_backend = Enum(
        list(BACKENDS),
        "hami",
        help="""How the coding cluster shares GPUs, i.e. which resource names a slice asks for:
        hami (nvidia.com/gpu + gpumem + gpucores), gpumanager (tencent.com/vcuda-core/-memory),
        nvidia-timeslicing or nvidia-mps (nvidia.com/gpu.shared), mig (nvidia.com/mig-<profile>),
        whole (nvidia.com/gpu). Change it to match the device plugin installed on the coding nodes.
        """,
    ).tag(config=True)

    gpu_mem_mib = Integer(
        81920,
        help="""Memory of one coding GPU in MiB. HAMi and GPUManager requests are this times the
        profile's gpu_fraction. Set it to the coding nodes' GPU model (81920 for an 80 GB H100).""",
    ).tag(config=True)

    timeslice_replicas = Integer(
        4,
        help="""Replicas per GPU configured in the NVIDIA device plugin's time-slicing or MPS
        sharing (nvidia-timeslicing, nvidia-mps). A profile asks for gpu_fraction x this many.""",
    ).tag(config=True)

    mig_profiles = Dict(
        {},
        help="""Profile slug -> MIG profile (e.g. {"gpu-quarter": "1g.10gb"}) for the mig backend.
        Empty: each profile gets the smallest 80 GB H100 MIG instance with its compute share.""",
    ).tag(config=True)

    coding_pool_selector = Dict(
        {POOL_LABEL: "coding"},
        help="""Node labels of the coding pool; notebook pods only run on nodes with all of them.
        Empty: any node. Merged over node_selector.""",
    ).tag(config=True)

    coding_pool_tolerations = List(
        [{"key": POOL_LABEL, "operator": "Equal", "value": "coding", "effect": "NoSchedule"}],
        help="""Tolerations for the coding pool's taints. GPU profiles also tolerate the
        nvidia.com/gpu NoSchedule taint. Added to tolerations.""",
    ).tag(config=True)

    unschedulable_timeout_s = Float(
        10.0,
        help="""Seconds a notebook pod may stay Unschedulable (no slice free, no room) before the
        spawn fails with a message saying what is missing. 0 waits until start_timeout.""",
    ).tag(config=True)

    notebook_network_policy = Bool(
        True,
        help="""Ensure, in the notebook namespace, a NetworkPolicy that lets notebook pods talk only
        to the hub, the proxy and DNS (the training cluster and the internet stay out of reach).
        Turn it off only when the Helm chart installs an equivalent policy.""",
    ).tag(config=True)

    network_policy_name = Unicode(
        "arenahub-notebooks", help="Name of the notebook NetworkPolicy (see notebook_network_policy)."
    ).tag(config=True)

    hub_pod_labels = Dict(
        {"component": "hub"}, help="Labels of the hub's pods: notebooks may reach them on hub_api_port."
    ).tag(config=True)

    proxy_pod_labels = Dict(
        {"component": "proxy"}, help="Labels of the proxy's pods: the only other pods notebooks may reach."
    ).tag(config=True)

    hub_api_port = Integer(8081, help="Port of the hub API that notebook pods call.").tag(config=True)

    proxy_port = Integer(8000, help="Port of the proxy's public HTTP service.").tag(config=True)

    _ensured_policies: set[str] = set()  # namespaces whose NetworkPolicy exists (per hub process)

    # -- Zero-to-JupyterHub defaults: a PVC per user, kept across stops ----------------------------
    @default("storage_pvc_ensure")
    def _default_storage_pvc_ensure(self) -> bool:
        return True

    @default("storage_capacity")
    def _default_storage_capacity(self) -> str:
        return "10Gi"

    @default("volumes")
    def _default_volumes(self) -> list[dict[str, Any]]:
        return [{"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}]

    @default("volume_mounts")
    def _default_volume_mounts(self) -> list[dict[str, Any]]:
        return [{"name": "home", "mountPath": "/home/jovyan"}]

    @default("start_timeout")
    def _default_start_timeout(self) -> int:
        return 300

    @default("cmd")
    def _default_cmd(self) -> list[str]:
        # The notebook image's own CMD (images/notebook), stated here so that the profile's
        # kernel-culling options (Spawner.args) reach the server: KubeSpawner drops args when
        # cmd is None. tini stays the image's ENTRYPOINT (cmd becomes the container's args).
        return ["python3", "-m", "arenahub.spawner.singleuser"]

    # -- profiles ------------------------------------------------------------------------------
    def profile_objects(self) -> list[Profile]:
        """The configured profiles, validated; raises ProfileError naming the bad entry."""
        profiles = [profile_from_dict(raw) for raw in self.profiles]
        validate_profiles(profiles)
        return profiles

    def slice_backend(self, profile: Profile) -> SliceBackend:
        """The sharing backend ``profile`` uses, with this spawner's GPU settings."""
        return SliceBackend(
            name=backend_of(profile, self.gpu_backend),
            gpu_mem_mib=self.gpu_mem_mib,
            timeslice_replicas=self.timeslice_replicas,
            mig_profiles=dict(self.mig_profiles),
        )

    def chosen_profile(self) -> Profile:
        """The profile the user asked for (same method as VGPULocalSpawner's; the quota pre-spawn
        hook calls it before start). Raises SpawnFailed listing the valid slugs."""
        try:
            return select_profile(self.user_options, self.profile_objects())
        except ProfileError as e:
            raise SpawnFailed(str(e)) from None

    @default("apply_user_options")
    def _default_apply_user_options(self) -> Any:
        # JupyterHub runs this before the pre-spawn hook: an unknown profile is refused with the
        # valid choices before the quota check or any Kubernetes call
        def check_profile(spawner: "VGPUKubeSpawner", user_options: dict[str, Any]) -> None:
            try:
                spawner.chosen_profile()
            except SpawnFailed as e:
                error = web.HTTPError(400, str(e))
                error.jupyterhub_message = str(e)  # type: ignore[attr-defined]
                raise error from None

        return check_profile

    @default("options_form")
    def _default_options_form(self) -> str:
        return render_kube_profile_form(self.profile_objects(), str((self.user_options or {}).get("profile", "")))

    def options_from_form(self, formdata: dict[str, list[str]]) -> dict[str, str]:
        """The spawn form's choice as user_options ({"profile": slug})."""
        return {"profile": (formdata.get("profile") or [""])[0]}

    async def load_user_options(self) -> None:
        """Apply the chosen profile: slice resources, memory, CPU, coding pool, environment and
        kernel culling (``--MappingKernelManager.cull_*`` server options after the operator's args).

        Raises SpawnFailed listing the valid choices for an unknown profile or an inexpressible slice.
        """
        profile = self.chosen_profile()
        try:
            resources = build_notebook_resources(profile, self.slice_backend(profile))
        except BackendError as e:
            raise SpawnFailed(str(e)) from None
        self._profile = profile
        # rebuilt from the configured values on every spawn, so a previous profile leaves nothing behind
        base = self._configured_values()
        self.extra_resource_limits = {**base["extra_resource_limits"], **resources.limits}
        self.extra_resource_guarantees = {**base["extra_resource_guarantees"], **resources.guarantees}
        self.cpu_limit = self.cpu_guarantee = resources.cpu
        self.mem_limit = self.mem_guarantee = resources.mem_bytes
        self.node_selector = {**base["node_selector"], **self.coding_pool_selector}
        self.tolerations = [*self._sorted_dict_values(base["tolerations"]),
                            *build_pool_tolerations(self.coding_pool_tolerations, profile.uses_gpu)]
        self.environment = {**base["environment"], **resources.env}
        self.args = [*base["args"], *profile.kernel_culling().server_args()]

    def _configured_values(self) -> dict[str, Any]:
        """The operator's values of the traits a profile changes, saved before the first change."""
        if not hasattr(self, "_configured"):
            self._configured = {
                name: getattr(self, name)
                for name in ("extra_resource_limits", "extra_resource_guarantees", "node_selector",
                             "tolerations", "environment", "args")
            }
        return self._configured

    # -- start, progress ---------------------------------------------------------------------------
    async def _start(self) -> Any:
        """Start the pod; fail early and clearly when it stays Unschedulable or misses start_timeout."""
        if self.notebook_network_policy:
            await self._ensure_notebook_network_policy()
        started = asyncio.ensure_future(super()._start())
        watch = asyncio.ensure_future(self._watch_placement(time.monotonic()))
        try:
            done, _ = await asyncio.wait({started, watch}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            started.cancel()
            watch.cancel()
            raise
        if started in done:
            watch.cancel()
            return started.result()
        started.cancel()
        error = watch.exception() or SpawnFailed("The server could not be started.")
        self.log.warning("Spawn of %s failed: %s", self._log_name, error)
        await self.stop(now=True)  # the pod must not grab a slice later, when nobody waits for it
        raise error

    async def _watch_placement(self, since: float) -> None:
        """Raise SpawnFailed when the pod is Unschedulable for unschedulable_timeout_s, or just
        before start_timeout (so the participant reads why, not only "timeout")."""
        unschedulable_since: float | None = None
        deadline = since + max(self.start_timeout - 2, 1)
        while True:
            await asyncio.sleep(0.5)
            pod = self._reflected_pod()
            reason = unschedulable_message(pod) if pod else None
            now = time.monotonic()
            if reason is not None:
                unschedulable_since = unschedulable_since or now
                waited_s = now - unschedulable_since
                if self.unschedulable_timeout_s and hasattr(self, "_profile") and waited_s >= self.unschedulable_timeout_s:
                    raise SpawnFailed(describe_unschedulable(reason, self._profile, self.pvc_name))
            else:
                unschedulable_since = None
            if now >= deadline:
                phase = ((pod or {}).get("status") or {}).get("phase", "not created")
                raise SpawnFailed(describe_spawn_timeout(self.start_timeout, phase, reason,
                                                         getattr(self, "_profile", None), self.pvc_name))

    def _reflected_pod(self) -> dict[str, Any] | None:
        reflector = self.pod_reflector
        if reflector is None:
            return None
        return reflector.pods.get(f"{self.namespace}/{self.pod_name}")

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        """KubeSpawner's progress from pod events, in plain words."""
        async for event in super().progress():
            raw = event.get("raw_event")
            profile = getattr(self, "_profile", None)
            if raw and profile is not None:
                event = {**event, "message": describe_pod_event(raw.get("reason") or "", raw.get("message") or "",
                                                                profile)}
            yield event

    async def _ensure_notebook_network_policy(self) -> None:
        """Create the notebook NetworkPolicy in this namespace unless it exists (once per hub process)."""
        if self.namespace in self._ensured_policies:
            return
        policy = build_notebook_network_policy(
            self.network_policy_name,
            {"component": self.component_label},
            self.hub_pod_labels,
            self.proxy_pod_labels,
            notebook_port=self.port,
            hub_port=self.hub_api_port,
            proxy_port=self.proxy_port,
        )
        networking = shared_client("NetworkingV1Api")
        try:
            await networking.create_namespaced_network_policy(self.namespace, policy)
        except ApiException as e:
            if e.status != 409:
                raise
        self._ensured_policies.add(self.namespace)
