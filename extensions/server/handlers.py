"""HTTP handlers under ``<server>/arenahub/``: the panel's API, proxied to the job gateway with the server's token.

The browser (and the kernel-side panel) only ever talks to its own notebook server; the
server adds its JupyterHub token when it calls the gateway, so no gateway secret reaches a page.
Errors use the gateway's shape, ``{"error": reason, "message": text}``, with the message meant
to be shown unchanged.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.escape import xhtml_escape
from tornado.iostream import StreamClosedError

from arenahub.core.errors import ArenaError, UnprocessableInput
from arenahub.extensions.folders import list_entrypoints, resolve_job_folder
from arenahub.extensions.jobrequest import parse_job_request
from arenahub.extensions.snapshot import SnapshotLimits, build_snapshot

if TYPE_CHECKING:
    from arenahub.extensions.app import ArenaExtension

JOB_ID = r"(?P<job_id>[A-Za-z0-9_-]{1,64})"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length",
               "proxy-authenticate", "proxy-authorization"}


def _int_arg(handler: web.RequestHandler, name: str, default: int | None) -> int | None:
    raw = handler.get_argument(name, None)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise UnprocessableInput(f"{name} must be a whole number, got {raw!r}.", reason="request-invalid") from None


class ArenaHandler(APIHandler):
    """Base of the JSON handlers: the extension's parts, and ArenaErrors as ``{"error", "message"}``."""

    auth_resource = "arenahub"
    ext: ArenaExtension

    def initialize(self, ext: ArenaExtension) -> None:
        self.ext = ext

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, ArenaError):
            # Expected refusals: one line for the operator, no traceback.
            self.log.info("arenahub %s %s -> %s %s %s", self.request.method, self.request.path,
                          value.status, value.reason, value.log_detail)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ArenaError):
            self.set_status(exc.status)
            body = {"error": exc.reason, "message": exc.message}
        elif isinstance(exc, web.HTTPError):
            body = {"error": "http-error", "message": exc.log_message or self._reason}
        else:
            incident = secrets.token_hex(4)
            self.log.error("arenahub incident %s in %s %s", incident, self.request.method, self.request.path)
            body = {
                "error": "internal-error",
                "message": f"Something went wrong in your notebook server's arenahub extension (incident "
                f"{incident}). Try again; if it keeps happening, restart your server from the hub.",
            }
        self.finish(json.dumps(body))


class ConfigHandler(ArenaHandler):
    """GET /arenahub/config: what the panel needs to know about this server."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish({
            "gateway_configured": self.ext.gateway.is_configured,
            "snapshot_max_bytes": self.ext.snapshot_max_bytes,
            "snapshot_max_files": self.ext.snapshot_max_files,
            "root_dir": self.ext.root_dir,
            "tensorboard_url": url_path_join(self.base_url, "arenahub", "tensorboard") + "/",
        })


class EntrypointsHandler(ArenaHandler):
    """GET /arenahub/entrypoints?folder=F: the scripts a job in folder F can start with."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        folder, label = resolve_job_folder(self.ext.root_dir_path, self.get_argument("folder", ""))
        scripts = await asyncio.to_thread(list_entrypoints, folder)
        self.finish({"folder": label, "exists": folder.is_dir(), "entrypoints": scripts})


class DatasetsHandler(ArenaHandler):
    """GET /arenahub/datasets: the gateway's registered datasets."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(await self.ext.gateway.fetch_json("datasets"))


class JobsHandler(ArenaHandler):
    """GET /arenahub/jobs lists the user's jobs; POST snapshots a folder and submits it."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        params = {"limit": _int_arg(self, "limit", 50), "status": self.get_argument("status", None)}
        self.finish(await self.ext.gateway.fetch_json("jobs", params))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = parse_job_request(self.get_json_body())
        folder, label = resolve_job_folder(self.ext.root_dir_path, request.folder)
        if not self.ext.gateway.is_configured:
            await self.ext.gateway.fetch_json("jobs")  # raises the not-configured error before any packing
        limits = SnapshotLimits(self.ext.snapshot_max_bytes, self.ext.snapshot_max_files)
        started = time.perf_counter()
        snapshot = await asyncio.to_thread(
            build_snapshot, folder, limits, folder_label=label, entrypoint=request.entrypoint
        )
        job = await self.ext.gateway.submit_job(snapshot.archive, request.gateway_spec())
        self.log.info("arenahub: submitted %s job %s from %s (%d files, %d bytes packed in %.2f s)",
                      request.kind, job.get("id"), label, len(snapshot.plan.files), len(snapshot.archive),
                      time.perf_counter() - started)
        self.set_status(201)
        self.finish({**job, "snapshot": {
            "folder": label, "files": len(snapshot.plan.files), "bytes": snapshot.plan.total_bytes,
            "archive_bytes": len(snapshot.archive), "sha256": snapshot.sha256,
            "ignored": snapshot.plan.ignored, "skipped_links": list(snapshot.plan.skipped_links),
        }})


class JobHandler(ArenaHandler):
    """GET /arenahub/jobs/<id>: one job."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.finish(await self.ext.gateway.fetch_json(f"jobs/{job_id}"))


class CancelHandler(ArenaHandler):
    """POST /arenahub/jobs/<id>/cancel: cancel a queued or running job."""

    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        self.set_status(202)
        self.finish(await self.ext.gateway.post_json(f"jobs/{job_id}/cancel"))


class MetricsHandler(ArenaHandler):
    """GET /arenahub/jobs/<id>/metrics?after=N: a page of the job's metric values."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        params = {"after": _int_arg(self, "after", 0), "limit": _int_arg(self, "limit", 1000)}
        self.finish(await self.ext.gateway.fetch_json(f"jobs/{job_id}/metrics", params))


class LogsHandler(ArenaHandler):
    """GET /arenahub/jobs/<id>/logs: the gateway's SSE stream passed through (resumable), or a JSON page."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        accept = self.request.headers.get("Accept", "")
        if self.get_argument("format", None) == "json" or ("application/json" in accept and "text/event-stream" not in accept):
            params = {"after": _int_arg(self, "after", None), "limit": _int_arg(self, "limit", 500), "format": "json"}
            self.finish(await self.ext.gateway.fetch_json(f"jobs/{job_id}/logs", params))
            return
        last_event_id = self.request.headers.get("Last-Event-ID") or self.get_argument("last_event_id", None)
        async with self.ext.gateway.open_log_stream(job_id, last_event_id) as upstream:
            self.set_header("Content-Type", "text/event-stream")
            self.set_header("Cache-Control", "no-cache")
            self.set_header("X-Accel-Buffering", "no")
            try:
                await self.flush()
                async for chunk in upstream.aiter_bytes():
                    self.write(chunk)
                    await self.flush()
            except StreamClosedError:
                return  # the reader went away; leaving the block closes the upstream stream
            except ArenaError as exc:
                # Headers are out already: end the stream with an error event the reader can show.
                self.write(f"event: error\ndata: {json.dumps({'error': exc.reason, 'message': exc.message})}\n\n")
        self.finish(set_content_type="text/event-stream")


class ScoreHandler(ArenaHandler):
    """GET /arenahub/jobs/<id>/score: a test job's score, or ``{"available": false}`` where none is offered."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        data = await self.ext.gateway.fetch_optional_json(f"jobs/{job_id}/score")
        self.finish({"available": False} if data is None else {"available": True, **data})


class OptionalHandler(ArenaHandler):
    """GET /arenahub/quota, /leaderboard and /gpus/mine: ``{"available": false}`` until the gateway offers them."""

    def initialize(self, ext: ArenaExtension, path: str = "") -> None:  # type: ignore[override]
        super().initialize(ext)
        self.path = path

    @web.authenticated
    @authorized
    async def get(self) -> None:
        params = {k: self.get_argument(k) for k in ("competition",) if self.get_argument(k, None)}
        data = await self.ext.gateway.fetch_optional_json(self.path, params)
        self.finish({"available": False} if data is None else {"available": True, **data})


class TensorBoardHandler(JupyterHandler):
    """/arenahub/tensorboard/...: the user's own TensorBoard, started on first use, over a private socket."""

    auth_resource = "arenahub"
    ext: ArenaExtension

    def initialize(self, ext: ArenaExtension) -> None:
        self.ext = ext

    def check_xsrf_cookie(self) -> None:
        # TensorBoard's page posts read-only data queries without Jupyter's XSRF token; its
        # API changes nothing, so the proxy defers to it (as jupyter-server-proxy does).
        return None

    @web.authenticated
    @authorized(action="read")
    async def get(self, path: str) -> None:
        await self._proxy(path)

    @web.authenticated
    @authorized(action="read")
    async def post(self, path: str) -> None:
        await self._proxy(path)

    async def _proxy(self, path: str) -> None:
        manager = self.ext.tensorboard
        manager.last_used = time.monotonic()
        try:
            await manager.ensure_running()
            if path in ("", "index.html"):
                await manager.sync(self.ext.gateway)  # the first page shows every job's metrics so far
                await manager.wait_until_loaded(timeout_s=manager.reload_s * 3 + 5)
        except ArenaError as exc:
            self.set_status(exc.status)
            self.log.warning("arenahub TensorBoard: %s %s", exc.reason, exc.log_detail)
            self.finish(f"<h1>TensorBoard is not available</h1><p>{xhtml_escape(exc.message)}</p>")
            return
        self.ext.start_tensorboard_sync()
        upstream_path = self.request.uri or ""
        # No Accept-Encoding upstream: the body comes back plain and is sent on as it is.
        headers = {k: v for k, v in self.request.headers.items() if k.lower() in ("accept", "content-type")}
        async with manager.upstream() as http:
            reply = await http.request(self.request.method or "GET", upstream_path, headers=headers,
                                       content=self.request.body or None)
        self.set_status(reply.status_code)
        for name, value in reply.headers.items():
            if name.lower() not in _HOP_BY_HOP and name.lower() not in ("server", "date", "content-encoding"):
                self.set_header(name, value)
        self.finish(reply.content)
