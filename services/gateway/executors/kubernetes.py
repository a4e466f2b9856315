"""The Kubernetes executor: each run as a restricted ``batch/v1`` Job on the training cluster.

State lives in the cluster, not in this process: a Job per run (labelled with the gateway's
job id) in a per-competition namespace behind a deny-all NetworkPolicy, its code snapshot in
ConfigMaps of at most 1 MB each, owned by the Job. A new executor (after a gateway restart)
picks any run up again from its RunHandle, and ``find_runs(competitions)`` lists the live ones
by label, one run namespace at a time (no cluster-wide rights needed). The Job and policy manifests come from the
pure builders in ``kubejobs``, the code's from ``kubecode``.
"""

from __future__ import annotations

import asyncio
import io
import tarfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client.rest import ApiException

from arenahub.gateway.executors.base import LogRecord, OutputsUnavailable, RunHandle, RunResult, RunSpec
from arenahub.gateway.executors.kubecode import (
    build_code_configmaps,
    check_snapshot_size,
    index_archive,
    owned_by_job,
)
from arenahub.gateway.executors.kubejobs import (
    CANCELLED_LABEL,
    COLLECTOR_CONTAINER,
    JOB_CONTAINER,
    JOB_ID_LABEL,
    MANAGED_BY,
    KubeJobSettings,
    build_deny_all_policy,
    build_job,
    build_labels,
    build_namespace,
    job_name,
    job_outcome,
    namespace_for,
    run_namespaces,
)
from arenahub.gateway.executors.kubelogs import LOG_CHUNK_BYTES, LogSplitter
from arenahub.gateway.executors.kubeoutputs import unpack_collector_log

CANCEL_REASON_ANNOTATION = "arenahub.io/cancel-reason"
HANDLE_PREFIX = "kube:"  # RunHandle.run_dir of a Kubernetes run: "kube:<namespace>/<job name>"


def kube_handle(job_id: str, namespace: str, name: str, started_at: float) -> RunHandle:
    """The RunHandle of a Job (supervisor_pid is 0: the cluster supervises it)."""
    return RunHandle(job_id=job_id, run_dir=f"{HANDLE_PREFIX}{namespace}/{name}", supervisor_pid=0,
                     started_at=started_at)


def parse_handle(handle: RunHandle) -> tuple[str, str]:
    """(namespace, Job name) of a handle made by kube_handle; raises ValueError for another executor's."""
    if not handle.run_dir.startswith(HANDLE_PREFIX) or "/" not in handle.run_dir:
        raise ValueError(f"Run {handle.job_id} was not started by the Kubernetes executor ({handle.run_dir!r}).")
    namespace, _, name = handle.run_dir[len(HANDLE_PREFIX):].partition("/")
    return namespace, name


def _plain_header(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # whole-second mtimes and no owner: no PAX record per member, so the archive comes out as
    # small as the one `arenahub submit` uploads (the 413 at submission measures that one)
    info.mtime, info.uid, info.gid, info.uname, info.gname = int(info.mtime), 0, 0, "", ""
    return info


def pack_snapshot(code_dir: Path) -> bytes:
    """The code folder as a tar.gz (paths relative to it, symlinks kept as links)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for path in sorted(Path(code_dir).rglob("*")):
            tar.add(path, arcname=str(path.relative_to(code_dir)), recursive=False, filter=_plain_header)
    return buffer.getvalue()


class KubernetesExecutor:
    """Starts, follows, cancels and re-attaches to runs as Jobs on the training cluster."""

    def __init__(
        self,
        settings: KubeJobSettings,
        *,
        kubeconfig: Path | None = None,
        ensure_namespaces: bool = True,
        poll_interval_s: float = 1.0,
        cancel_wait_s: float = 30.0,
    ):
        """kubeconfig: the training cluster's credentials (None: in-cluster service account).
        ensure_namespaces: create missing run namespaces and their deny-all policy (needs rights
        on namespaces; False when the Helm chart creates them). poll_interval_s: how often logs
        and Job status are read while a run is followed."""
        self.settings = settings
        self.kubeconfig = kubeconfig
        self.ensure_namespaces = ensure_namespaces
        self.poll_interval_s = poll_interval_s
        self.cancel_wait_s = cancel_wait_s
        self._api: k8s.ApiClient | None = None
        self._ready_namespaces: set[str] = set()
        self._cancelled: dict[str, str] = {}  # job id -> reason, for runs this executor cancelled

    async def _client(self) -> k8s.ApiClient:
        if self._api is None:
            configuration = k8s.Configuration()
            if self.kubeconfig is not None:
                await k8s_config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=configuration)
            else:
                k8s_config.load_incluster_config(client_configuration=configuration)
            self._api = k8s.ApiClient(configuration)
        return self._api

    async def aclose(self) -> None:
        """Close the HTTP connections to the API server."""
        if self._api is not None:
            await self._api.close()
            self._api = None

    # -- start ---------------------------------------------------------------------------------
    async def start(self, spec: RunSpec) -> RunHandle:
        """Create the run's Job, then its code ConfigMaps (owned by the Job); raises ValueError for
        a spec that cannot run here, a snapshot over max_snapshot_bytes included (nothing is created).
        On any failure after the Job was created, the Job is deleted, and with it the parts made so far."""
        if not Path(spec.code_dir).is_dir():
            raise ValueError(f"code_dir {spec.code_dir} is not a folder; extract the code snapshot first.")
        if not spec.argv:
            raise ValueError("The run has no command (argv is empty).")
        namespace, name = namespace_for(spec, self.settings), job_name(spec.job_id)
        archive = await asyncio.to_thread(pack_snapshot, Path(spec.code_dir))
        check_snapshot_size(len(archive), self.settings.max_snapshot_bytes)
        job = build_job(spec, self.settings, name=name, namespace=namespace, code=index_archive(archive))
        configmaps = build_code_configmaps(name, namespace, archive, build_labels(spec))
        api = await self._client()
        await self._ensure_namespace(namespace)
        core, batch = k8s.CoreV1Api(api), k8s.BatchV1Api(api)
        try:
            created = await batch.create_namespaced_job(namespace, job)
        except ApiException as e:
            if e.status == 409:
                raise ValueError(f"A run with job_id {spec.job_id} already exists ({namespace}/{name}).") from None
            raise
        # The parts belong to the Job: deleting the Job (cancel, TTL) deletes the code too. The
        # init step waits for them (a missing ConfigMap in its volume keeps the pod in ContainerCreating).
        parts = [owned_by_job(c, name, created.metadata.uid) for c in configmaps]
        try:
            outcomes = await asyncio.gather(*(core.create_namespaced_config_map(namespace, c) for c in parts),
                                            return_exceptions=True)
            failures = [o for o in outcomes if isinstance(o, BaseException)]
            if failures:
                raise failures[0]
        except BaseException:
            await asyncio.shield(self._delete_job(namespace, name))
            raise
        return kube_handle(spec.job_id, namespace, name, time.time())

    async def _delete_job(self, namespace: str, name: str) -> None:
        """Delete a half-created run's Job; the garbage collector deletes the parts it owns (the
        gateway needs no right to delete ConfigMaps)."""
        try:
            await k8s.BatchV1Api(await self._client()).delete_namespaced_job(
                name, namespace, propagation_policy="Background")
        except ApiException as e:
            if e.status != 404:
                raise

    async def _ensure_namespace(self, namespace: str) -> None:
        if not self.ensure_namespaces or namespace in self._ready_namespaces:
            return
        api = await self._client()
        try:
            await k8s.CoreV1Api(api).create_namespace(build_namespace(namespace))
        except ApiException as e:
            if e.status != 409:
                raise
        try:
            await k8s.NetworkingV1Api(api).create_namespaced_network_policy(namespace, build_deny_all_policy(namespace))
        except ApiException as e:
            if e.status != 409:
                raise
        self._ready_namespaces.add(namespace)

    # -- status --------------------------------------------------------------------------------
    async def _read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        api = await self._client()
        try:
            job = await k8s.BatchV1Api(api).read_namespaced_job(name, namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return api.sanitize_for_serialization(job)

    async def _job_pods(self, namespace: str, name: str) -> list[dict[str, Any]]:
        api = await self._client()
        pods = await k8s.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"job-name={name}")
        return [api.sanitize_for_serialization(p) for p in pods.items]

    async def result(self, handle: RunHandle) -> RunResult | None:
        """The run's result, None while it is queued or runs, "lost" when its Job vanished."""
        namespace, name = parse_handle(handle)
        job = await self._read_job(namespace, name)
        if job is None:
            if handle.job_id in self._cancelled:
                return RunResult("cancelled", None, self._cancelled[handle.job_id], time.time())
            return RunResult(
                "lost", None,
                f"The Job {namespace}/{name} no longer exists on the training cluster: it was deleted outside "
                "arenahub or removed after it finished (ttl_after_finished_s). Its output up to then is kept.",
                time.time(),
            )
        pods = await self._job_pods(namespace, name) if job.get("status", {}).get("failed") else []
        outcome = job_outcome(job, pods, time.time())
        reason = ((job.get("metadata") or {}).get("annotations") or {}).get(CANCEL_REASON_ANNOTATION)
        if outcome is not None and outcome.status == "cancelled" and reason:
            outcome = RunResult("cancelled", None, reason, outcome.finished_at)
        return outcome

    async def find_runs(self, competitions: Iterable[str] = ()) -> list[RunHandle]:
        """Handles of every Job this gateway started that still exists in the run namespaces of
        ``competitions`` and of the default competition (for re-attaching after a restart).

        One list per namespace, so the rights the arenahub-training chart grants in its
        competition namespaces suffice (no cluster-wide list). Raises PermissionError naming the
        namespace when the training cluster refuses a list.
        """
        api = await self._client()
        batch = k8s.BatchV1Api(api)
        handles = []
        for namespace in run_namespaces(competitions, self.settings):
            try:
                jobs = await batch.list_namespaced_job(
                    namespace, label_selector=f"{MANAGED_BY[0]}={MANAGED_BY[1]},{JOB_ID_LABEL}")
            except ApiException as e:
                if e.status != 403:
                    raise
                raise PermissionError(
                    f"The training cluster refused to list Jobs in namespace {namespace}: the executor's "
                    "credentials have no rights there. Add the competition to the arenahub-training chart "
                    "(it grants them), or set the executor's default_competition to one it has."
                ) from None
            handles += [
                kube_handle(job.metadata.labels[JOB_ID_LABEL], job.metadata.namespace, job.metadata.name,
                            job.metadata.creation_timestamp.timestamp())
                for job in jobs.items
            ]
        return handles

    # -- logs ----------------------------------------------------------------------------------
    async def _open_pod_log(self, namespace: str, pod: str, container: str = JOB_CONTAINER, *,
                            follow: bool = False, limit_bytes: int | None = None) -> aiohttp.ClientResponse | None:
        """The unread response of one pod-log request (the caller closes it), None when the
        container has not started yet or the pod is gone. No request timeout: a followed log
        stays open as long as the container runs."""
        api = await self._client()
        extra = {"limit_bytes": limit_bytes} if limit_bytes is not None else {}
        response = await k8s.CoreV1Api(api).read_namespaced_pod_log(
            pod, namespace, container=container, follow=follow, _preload_content=False, **extra)
        if response.status < 300:
            return response
        body = (await response.read())[:500].decode(errors="replace")
        response.close()
        if response.status in (400, 404):  # container not started yet, or the pod is gone
            return None
        raise ApiException(status=response.status, reason=f"reading the log of pod {namespace}/{pod}: {body}")

    async def _pod_log(self, namespace: str, pod: str, container: str = JOB_CONTAINER,
                       limit_bytes: int | None = None) -> bytes | None:
        response = await self._open_pod_log(namespace, pod, container, limit_bytes=limit_bytes)
        if response is None:
            return None
        try:
            return await response.read()
        finally:
            response.close()

    async def _log_pod(self, namespace: str, name: str) -> tuple[str, bool] | None:
        """(name, whether its job container may still write) of the run's pod once it has started."""
        pods = await self._job_pods(namespace, name)
        started = [p for p in pods if (p.get("status") or {}).get("phase") in ("Running", "Succeeded", "Failed")]
        if not started:
            return None
        status = started[0].get("status") or {}
        job = [c for c in status.get("containerStatuses") or [] if c.get("name") == JOB_CONTAINER]
        ended = status.get("phase") != "Running" or bool(job and (job[0].get("state") or {}).get("terminated"))
        return started[0]["metadata"]["name"], not ended

    async def _stream_log(self, namespace: str, pod: str, lines: LogSplitter,
                          stop_when: Callable[[], Awaitable[bool]] | None = None) -> AsyncIterator[LogRecord]:
        """The records of one request for the job container's log, read a chunk at a time. With
        ``stop_when`` the log is followed: it is asked every poll_interval_s and ends the stream
        when true; a stream that ends or drops just ends (the caller reconnects). Without, the
        log is read once to its end and a last line without newline counts too."""
        response = await self._open_pod_log(namespace, pod, follow=stop_when is not None)
        if response is None:
            return
        try:
            next_check = time.monotonic() + self.poll_interval_s
            while True:
                if stop_when is None:
                    chunk = await response.content.read(LOG_CHUNK_BYTES)
                else:
                    try:
                        chunk = await asyncio.wait_for(response.content.read(LOG_CHUNK_BYTES),
                                                       max(0.0, next_check - time.monotonic()))
                    except TimeoutError:
                        chunk = None
                    except (aiohttp.ClientError, ConnectionError):
                        return  # dropped (API server or node restarted): the caller reconnects
                if chunk == b"":
                    break
                for record in lines.feed(chunk or b""):
                    yield record
                if stop_when is not None and time.monotonic() >= next_check:
                    if await stop_when():
                        return
                    next_check = time.monotonic() + self.poll_interval_s
            if stop_when is None:
                for record in lines.finish():
                    yield record
        finally:
            response.close()

    async def read_logs(self, handle: RunHandle, offset: int = 0) -> AsyncIterator[LogRecord]:
        """Yield the job container's lines after byte ``offset`` of its log (stdout and stderr
        merged, as the pod log API serves them), following it until the run has ended.

        While the job container runs its log is one streaming request (``follow``), reopened
        after a pause if it drops, each time skipping the bytes already yielded. Once the run
        has ended one plain read from the last position picks up what the stream had not
        delivered. Before the container starts, the pod is looked for every poll_interval_s."""
        namespace, name = parse_handle(handle)
        position, seq = offset, None
        run_ended = False

        async def has_ended() -> bool:
            nonlocal run_ended
            run_ended = await self.result(handle) is not None
            return run_ended

        while True:
            finished = await has_ended()  # before reading: then a plain read gets the rest
            pod = await self._log_pod(namespace, name)
            lines = LogSplitter(position, seq)
            if pod is not None and (finished or pod[1]):
                try:
                    async for record in self._stream_log(namespace, pod[0], lines, None if finished else has_ended):
                        yield record
                except ApiException as e:
                    if finished or e.status < 500:
                        raise
                    # the API server could not reach the node's kubelet (restarting?): try again
                position, seq = lines.position, lines.seq
            if finished:
                if handle.job_id in self._cancelled:  # the reason is the run's last line
                    yield LogRecord(seq=seq or 0, offset=position, ts=time.time(), stream="system",
                                    text=self._cancelled[handle.job_id])
                return
            if not run_ended:  # not started, its job container done, or the stream dropped
                await asyncio.sleep(self.poll_interval_s)

    # -- outputs -------------------------------------------------------------------------------
    async def collect_outputs(self, handle: RunHandle, dest: Path) -> Path:
        """Unpack a finished test run's outputs into ``dest/outputs`` from its collector sidecar's log.

        Only the collector container's log is read (the job's own log is the participant's and
        could print a fake frame). It must happen before ttl_after_finished_s removes the pod.
        Raises OutputsUnavailable when the pod or the frame is gone, damaged or over the cap.
        """
        namespace, name = parse_handle(handle)
        pods = await self._job_pods(namespace, name)
        ended = sorted((p for p in pods if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed")),
                       key=lambda p: (p.get("status") or {}).get("phase") != "Succeeded")
        data = None
        if ended:
            # base64 is 4/3 of the archive; the limit keeps a runaway log out of the gateway's memory
            limit = self.settings.outputs_max_bytes * 4 // 3 + (1 << 20)
            data = await self._pod_log(namespace, ended[0]["metadata"]["name"], COLLECTOR_CONTAINER, limit)
        if data is None:
            raise OutputsUnavailable(
                "Your test run finished, but its outputs could not be collected: the training cluster "
                "no longer has the run's pod. Submit the run again; if it happens again tell the "
                f"organisers, quoting job {handle.job_id}.",
                reason="outputs-missing",
                log_detail=f"job {handle.job_id}: no finished pod of Job {namespace}/{name} with a "
                f"{COLLECTOR_CONTAINER} log (removed after ttl_after_finished_s={self.settings.ttl_after_finished_s}?)",
            )
        return await asyncio.to_thread(unpack_collector_log, data, dest, job_id=handle.job_id,
                                       max_bytes=self.settings.outputs_max_bytes)

    # -- cancel --------------------------------------------------------------------------------
    async def cancel(self, handle: RunHandle, reason: str = "") -> None:
        """Mark the Job cancelled (with ``reason``, default "cancelled on request") and delete it
        with foreground propagation (its pod goes first); returns once it is gone or after cancel_wait_s."""
        namespace, name = parse_handle(handle)
        job = await self._read_job(namespace, name)
        if job is None or job_outcome(job, [], time.time()) is not None:
            return
        self._cancelled[handle.job_id] = reason or "Cancelled on request."
        batch = k8s.BatchV1Api(await self._client())
        marker = {"metadata": {"labels": {CANCELLED_LABEL: "true"},
                               "annotations": {CANCEL_REASON_ANNOTATION: self._cancelled[handle.job_id]}}}
        try:
            await batch.patch_namespaced_job(name, namespace, marker)
            await batch.delete_namespaced_job(name, namespace, propagation_policy="Foreground")
        except ApiException as e:
            if e.status != 404:
                raise
        deadline = time.monotonic() + self.cancel_wait_s
        while time.monotonic() < deadline and await self._read_job(namespace, name) is not None:
            await asyncio.sleep(min(self.poll_interval_s, 0.5))
