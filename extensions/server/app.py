"""The arenahub jupyter-server extension: settings (traitlets), the gateway client, TensorBoard, routes."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir
from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import PeriodicCallback
from traitlets import Float, Integer, Unicode, default

from arenahub.core.errors import ArenaError
from arenahub.extensions import handlers as h
from arenahub.extensions.gatewayclient import GATEWAY_URL_ENV, GatewayClient
from arenahub.extensions.snapshot import MIB
from arenahub.extensions.tbmanager import TensorBoardManager

log = logging.getLogger(__name__)


class ArenaExtension(ExtensionApp):
    """Routes under ``<base_url>arenahub/`` for the Train/Test panel, and the user's TensorBoard."""

    name = "arenahub"
    load_other_extensions = True

    gateway_url = Unicode(
        help=f"""Base URL of the job gateway, e.g. http://127.0.0.1:8000/services/arenahub-gateway/.
        Empty (the default) reads ${GATEWAY_URL_ENV}, which the hub's spawner sets; with neither,
        every job request answers 503 gateway-not-configured.""",
    ).tag(config=True)

    gateway_token = Unicode(
        help="""Token sent to the gateway as 'Authorization: Bearer'. Empty (the default) reads
        $JUPYTERHUB_API_TOKEN, the server's own hub token; change it only outside JupyterHub.""",
    ).tag(config=True)

    gateway_timeout_s = Float(
        30.0, help="Seconds to wait for the gateway before telling the user it is unreachable."
    ).tag(config=True)

    snapshot_max_bytes = Integer(
        50 * MIB,
        help="""Largest total size, in bytes, of the files a job folder may send (after .arenaignore).
        Keep it at or below the gateway's upload limit; larger folders are refused before upload.""",
    ).tag(config=True)

    snapshot_max_files = Integer(
        10_000, help="Most files a job folder may send (after .arenaignore)."
    ).tag(config=True)

    tensorboard_dir = Unicode(
        help="""Folder for the TensorBoard cache (event files rebuilt from the gateway) and its socket.
        Empty (the default) means <Jupyter runtime dir>/arenahub-tensorboard, private to this server.""",
    ).tag(config=True)

    tensorboard_sync_s = Float(
        10.0, help="Seconds between copies of new metrics into TensorBoard while it is in use."
    ).tag(config=True)

    tensorboard_idle_s = Float(
        600.0, help="Stop copying metrics this many seconds after TensorBoard was last opened (0: never stop)."
    ).tag(config=True)

    @default("gateway_url")
    def _default_gateway_url(self) -> str:
        return os.environ.get(GATEWAY_URL_ENV, "")

    @default("gateway_token")
    def _default_gateway_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    @default("tensorboard_dir")
    def _default_tensorboard_dir(self) -> str:
        return os.path.join(jupyter_runtime_dir(), "arenahub-tensorboard")

    @property
    def root_dir(self) -> str:
        """The server's file browser root: job folders are named relative to it."""
        return str(self.serverapp.root_dir) if self.serverapp else os.getcwd()

    @property
    def root_dir_path(self) -> Path:
        """``root_dir`` as a Path, with ``~`` expanded."""
        return Path(self.root_dir).expanduser()

    def initialize_settings(self) -> None:
        self.gateway = GatewayClient(self.gateway_url, self.gateway_token, timeout_s=self.gateway_timeout_s)
        base_url = self.serverapp.base_url if self.serverapp else "/"
        folder = Path(self.tensorboard_dir)
        self.tensorboard = TensorBoardManager(
            logdir=folder / "logs",
            socket_path=folder / "tensorboard.sock",
            path_prefix=base_url.rstrip("/") + "/arenahub/tensorboard",
        )
        self._tb_sync: PeriodicCallback | None = None
        if not self.gateway.is_configured:
            self.log.warning("arenahub: %s or JUPYTERHUB_API_TOKEN is not set; Train and Test will not work",
                             GATEWAY_URL_ENV)

    def initialize_handlers(self) -> None:
        ext = {"ext": self}
        self.handlers.extend([
            (r"/arenahub/config", h.ConfigHandler, ext),
            (r"/arenahub/entrypoints", h.EntrypointsHandler, ext),
            (r"/arenahub/datasets", h.DatasetsHandler, ext),
            (r"/arenahub/jobs", h.JobsHandler, ext),
            (rf"/arenahub/jobs/{h.JOB_ID}", h.JobHandler, ext),
            (rf"/arenahub/jobs/{h.JOB_ID}/cancel", h.CancelHandler, ext),
            (rf"/arenahub/jobs/{h.JOB_ID}/logs", h.LogsHandler, ext),
            (rf"/arenahub/jobs/{h.JOB_ID}/metrics", h.MetricsHandler, ext),
            (rf"/arenahub/jobs/{h.JOB_ID}/score", h.ScoreHandler, ext),
            (r"/arenahub/quota", h.OptionalHandler, {**ext, "path": "quota"}),
            (r"/arenahub/leaderboard", h.OptionalHandler, {**ext, "path": "leaderboard"}),
            (r"/arenahub/gpus/mine", h.OptionalHandler, {**ext, "path": "gpus/mine"}),
            (r"/arenahub/tensorboard/?(.*)", h.TensorBoardHandler, ext),
        ])

    def start_tensorboard_sync(self) -> None:
        """Copy new metrics into TensorBoard every ``tensorboard_sync_s`` while it is being used."""
        if self._tb_sync is None:
            self._tb_sync = PeriodicCallback(self._sync_tensorboard, self.tensorboard_sync_s * 1000)
            self._tb_sync.start()

    async def _sync_tensorboard(self) -> None:
        idle_s = time.monotonic() - self.tensorboard.last_used
        if self.tensorboard_idle_s and idle_s > self.tensorboard_idle_s:
            return
        try:
            await self.tensorboard.sync(self.gateway)
        except ArenaError as exc:
            self.log.info("arenahub: TensorBoard sync skipped: %s", exc.reason)

    async def stop_extension(self) -> None:
        if self._tb_sync is not None:
            self._tb_sync.stop()
        await self.tensorboard.stop()
        await asyncio.shield(self.gateway.aclose())
