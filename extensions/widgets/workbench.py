"""``Workbench()``: the Train/Test panel of a notebook (ipywidgets 8).

The kernel side talks only to its own notebook server's ``/arenahub/`` API (see client.py).
Four daemon threads keep it live: one polls the job list (and the user's GPU figures, quota,
leaderboard, datasets), one follows the selected job's log stream, one fetches new metric values
when metric lines arrive, and one renders: every widget change goes out from that one thread, at
most a few times a second, so long runs cost the browser a bounded number of redraws.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

import ipywidgets as w

from arenahub.widgets.client import PanelClient, PanelError, find_server
from arenahub.widgets.logview import LogBuffer, render_log_html
from arenahub.widgets.panel import PanelWidgets
from arenahub.widgets.plot import MetricPlot
from arenahub.widgets.series import MetricSeries
from arenahub.widgets.state import (
    ACTIVE_STATUSES,
    PanelState,
    Refusal,
    decide_buttons,
    make_gpu_line,
    make_leaderboard_rows,
    make_quota_view,
    merge_score,
    needs_score,
    next_retry_delay_s,
    pick_entrypoint,
    refusal_from_error,
)
from arenahub.widgets.views import (
    gpu_html,
    health_html,
    job_label,
    job_status_html,
    leaderboard_html,
    message_html,
    quota_text,
    reasons_html,
)

log = logging.getLogger(__name__)

TICK_S = 0.1
LOG_REDRAW_S = 0.25
PLOT_REDRAW_S = 0.5
EXTRAS_EVERY_S = 30.0


class Workbench(w.VBox):
    """Pick a folder and script, click Train or Test, and watch logs and metrics of your jobs."""

    def __init__(self, folder: str | None = None, *, entrypoint: str | None = None, dataset: str | None = None,
                 gpus: int = 0, time_limit_s: int = 3600, server_url: str | None = None, token: str | None = None,
                 log_lines: int = 1000, max_plot_points: int = 1500, test_entrypoint: str | None = None) -> None:
        """Open the panel on ``folder`` (relative to the server's root; default: the kernel's folder).

        ``entrypoint`` is the script Train runs (default train.py), ``test_entrypoint`` the one
        Test runs (default predict.py, else ``entrypoint``, else the first .py script); both can
        be changed in the panel. ``dataset``, ``gpus`` and ``time_limit_s`` preset the other controls.
        """
        self.ui = PanelWidgets(folder if folder is not None else os.getcwd(), gpus=gpus, time_limit_s=time_limit_s)
        self.plot = MetricPlot(max_points=max_plot_points)
        super().__init__(self.ui.layout(self.plot.widget))
        self.add_class("arenahub-workbench")
        self._client = PanelClient(find_server(server_url, token))
        self._user = os.environ.get("JUPYTERHUB_USER", "")
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # refresher: poll now
        self._poke = threading.Event()  # renderer: draw now
        self._metrics_due = threading.Event()
        self._state = PanelState(folder=self.ui.folder.value, gpus=gpus)
        self._wanted_entrypoint, self._wanted_dataset = entrypoint, dataset
        self._wanted_test_entrypoint = test_entrypoint
        self._entrypoints: list[str] = []
        self._jobs: list[dict[str, Any]] = []
        self._message = ("", "")
        self._quota_data: dict[str, Any] | None = None
        self._leaderboard: dict[str, Any] | None = None
        self._gpu_data: dict[str, Any] | None = None  # GET /gpus/mine, refreshed on every poll
        self._scores: dict[str, dict[str, Any]] = {}  # test job id -> the gateway's score reply
        self._tensorboard_url = ""
        self._logs = LogBuffer(log_lines)
        self._series = MetricSeries()
        self._follow_gen = 0
        self._drawn: dict[str, Any] = {}
        self._setting_widgets = False
        self.ui.train.on_click(lambda _: self._submit("train"))
        self.ui.test.on_click(lambda _: self._submit("test"))
        self.ui.cancel.on_click(lambda _: self._cancel())
        self.ui.folder.observe(lambda _: self._folder_changed(), "value")
        for control in (self.ui.entrypoint, self.ui.test_entrypoint, self.ui.dataset, self.ui.gpus):
            control.observe(lambda _: self._inputs_changed(), "value")
        self.ui.jobs.observe(self._job_selected, "value")
        self.ui.follow.observe(lambda _: self._poke.set(), "value")
        self._loops = [threading.Thread(target=target, name=f"arenahub-{target.__name__}", daemon=True)
                       for target in (self._refresh_loop, self._metrics_loop, self._render_loop)]
        for thread in self._loops:
            thread.start()
        self._folder_changed()

    # ------------------------------------------------------------------ state changes (any thread)
    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._state = PanelState(**{**self._state.__dict__, **changes})
        self._poke.set()

    def _say(self, level: str, text: str) -> None:
        with self._lock:
            self._message = (level, text)
        self._poke.set()

    def _gateway_failed(self, exc: PanelError, failures: int) -> float:
        delay = next_retry_delay_s(failures)
        health = "not-configured" if exc.reason == "gateway-not-configured" else "unreachable"
        self._update(gateway=health, gateway_message=exc.message, retry_at=time.time() + delay)
        return delay

    # ------------------------------------------------------------------ user actions (kernel thread)
    def _folder_changed(self) -> None:
        self._update(folder=self.ui.folder.value)
        threading.Thread(target=self._load_entrypoints, args=(self.ui.folder.value,), daemon=True).start()

    def _load_entrypoints(self, folder: str) -> None:
        try:
            reply = self._client.get("entrypoints", folder=folder)
        except PanelError as exc:
            self._say("error", exc.message)
            return
        with self._lock:
            self._entrypoints = list(reply["entrypoints"])
        self._update(folder_exists=bool(reply["exists"]))

    def _inputs_changed(self) -> None:
        if not self._setting_widgets:
            self._update(entrypoint=self.ui.entrypoint.value or None,
                         test_entrypoint=self.ui.test_entrypoint.value or None,
                         dataset=self.ui.dataset.value or None, gpus=int(self.ui.gpus.value or 0))

    def _submit(self, kind: str) -> None:
        buttons = decide_buttons(self._state, time.time())
        button = buttons.train if kind == "train" else buttons.test
        if not button.enabled:  # a click that raced a state change
            self._say("error", button.reason)
            return
        picker = self.ui.entrypoint if kind == "train" else self.ui.test_entrypoint
        request = {
            "folder": self.ui.folder.value, "kind": kind, "entrypoint": picker.value,
            "gpus": int(self.ui.gpus.value), "time_limit_s": int(self.ui.time_limit.value),
            "dataset": self.ui.dataset.value or None,
        }
        self._update(submitting=kind)
        self._say("info", f"Packing folder {request['folder']!r} and submitting a {kind} job…")
        threading.Thread(target=self._send_job, args=(request,), daemon=True).start()

    def _send_job(self, request: dict[str, Any]) -> None:
        try:
            job = self._client.post("jobs", request)
        except PanelError as exc:
            refusal: Refusal | None = refusal_from_error(exc.status, exc.reason, exc.message, time.time())
            if exc.reason == "gateway-unreachable":
                self._gateway_failed(exc, 1)
            self._update(submitting=None, refusal=refusal or self._state.refusal)
            self._say("error", exc.message)
            return
        snap = job.get("snapshot", {})
        self._say("success", f"{request['kind'].capitalize()} job {job['id'][:8]} is {job['status']}: "
                             f"{snap.get('files', '?')} files ({snap.get('bytes', 0) / 1024:.1f} KiB) from "
                             f"{snap.get('folder', request['folder'])!r}.")
        with self._lock:
            self._jobs = [job] + [j for j in self._jobs if j["id"] != job["id"]]
        self._update(submitting=None, refusal=None)
        self._select(job["id"])
        self._wake.set()

    def _cancel(self) -> None:
        job_id = self._state.selected_job_id
        if job_id is None:
            return
        self._update(cancelling=True)

        def send() -> None:
            try:
                job = self._client.post(f"jobs/{job_id}/cancel")
                self._say("info", f"Cancelling job {job_id[:8]}…")
                self._store_job(job)
            except PanelError as exc:
                self._say("error", exc.message)
            finally:
                self._update(cancelling=False)
                self._wake.set()

        threading.Thread(target=send, daemon=True).start()

    def _job_selected(self, change: dict[str, Any]) -> None:
        if not self._setting_widgets and change["new"] and change["new"] != self._state.selected_job_id:
            self._select(change["new"])

    def _select(self, job_id: str) -> None:
        with self._lock:
            self._follow_gen += 1
            gen = self._follow_gen
            self._logs.clear()
            self._series.clear()
        job = self._job(job_id)
        self._update(selected_job_id=job_id, selected_status=job and job.get("status"),
                     cancel_requested=bool(job and job.get("cancel_requested")))
        threading.Thread(target=self._follow, args=(job_id, gen), name="arenahub-follow", daemon=True).start()
        self._metrics_due.set()

    # ------------------------------------------------------------------ background work
    def _job(self, job_id: str | None) -> dict[str, Any] | None:
        with self._lock:
            return next((j for j in self._jobs if j["id"] == job_id), None)

    def _store_job(self, job: dict[str, Any]) -> None:
        with self._lock:
            self._jobs = [job if j["id"] == job["id"] else j for j in self._jobs]
        if job["id"] == self._state.selected_job_id:
            self._update(selected_status=job.get("status"), cancel_requested=bool(job.get("cancel_requested")))

    def _refresh_loop(self) -> None:
        failures, extras_at = 0, 0.0
        while not self._stop.is_set():
            try:
                if not self._tensorboard_url:
                    self._tensorboard_url = self._client.get("config").get("tensorboard_url", "")
                jobs = self._client.get("jobs", limit=30)["jobs"]
                gpu_data = self._get_optional("gpus/mine")  # the sampler's newest reading, cheap to ask
                with self._lock:
                    self._gpu_data = gpu_data
                if time.monotonic() >= extras_at:
                    self._load_extras()
                    extras_at = time.monotonic() + EXTRAS_EVERY_S
                self._load_score(jobs)
                with self._lock:
                    self._jobs = [merge_score(j, self._scores.get(j["id"]), self._leaderboard) for j in jobs]
                selected = self._job(self._state.selected_job_id)
                if selected is not None:
                    self._store_job(selected)
                elif self._state.selected_job_id is None and jobs:
                    self._select(jobs[0]["id"])  # open on the newest job, as a run page would
                failures = 0
                self._update(gateway="ok", gateway_message="", retry_at=None)
                active = any(j.get("status") in ACTIVE_STATUSES or needs_score(j, self._scores.get(j["id"]))
                             for j in jobs)
                delay = 2.0 if active else 10.0
            except PanelError as exc:
                failures += 1
                delay = self._gateway_failed(exc, failures)
                extras_at = 0.0
            self._wake.wait(delay)
            self._wake.clear()

    def _load_extras(self) -> None:
        datasets = [d["name"] for d in self._client.get("datasets").get("datasets", [])]
        quota, board = self._get_optional("quota"), self._get_optional("leaderboard")
        with self._lock:
            self._quota_data, self._leaderboard = quota, board
        view = make_quota_view(quota)
        refusal = self._state.refusal
        left = None if view is None else view.gpu_hours_left
        if refusal is not None and view is not None and (left is None or left > 0) and refusal.reason.startswith("quota"):
            refusal = None  # the quota has room again
        self._update(datasets=tuple(datasets), quota=view, refusal=refusal)

    def _load_score(self, jobs: list[dict[str, Any]]) -> None:
        """Ask for the selected test job's score until it is final (scored, error or not scored)."""
        job = next((j for j in jobs if j["id"] == self._state.selected_job_id), None)
        if job is not None and needs_score(job, self._scores.get(job["id"])):
            self._scores[job["id"]] = self._get_optional(f"jobs/{job['id']}/score") or {"available": False}
            if self._scores[job["id"]].get("status") == "scored":
                self._leaderboard = self._get_optional("leaderboard")  # the new rank

    def _get_optional(self, path: str) -> dict[str, Any] | None:
        """A quota or leaderboard reply; None when the gateway refuses it (the panel hides that part).

        Only an unreachable server or gateway propagates: that is an outage, not a missing part.
        """
        try:
            reply: dict[str, Any] = self._client.get(path)
            return reply
        except PanelError as exc:
            if exc.status == 0 or exc.status >= 500:
                raise
            log.info("arenahub panel: %s unavailable: %s %s", path, exc.reason, exc.message)
            return None

    def _follow(self, job_id: str, gen: int) -> None:
        last_id: str | None = None
        failures = 0
        while not self._stop.is_set() and gen == self._follow_gen:
            try:
                for event, data, event_id in self._client.stream_log_events(
                        job_id, last_id, lambda: self._stop.is_set() or gen != self._follow_gen):
                    failures = 0
                    if event == "line":
                        line = json.loads(data)
                        with self._lock:
                            if gen != self._follow_gen:
                                return
                            self._logs.add([line])
                        last_id = event_id or last_id
                        if line.get("action") == "metric":
                            self._metrics_due.set()
                        self._poke.set()
                    elif event == "end":
                        self._metrics_due.set()
                        self._wake.set()
                        return
                    elif event == "error":
                        self._say("error", json.loads(data).get("message", data))
            except PanelError as exc:
                if exc.status == 404:
                    self._say("error", exc.message)
                    return
                failures += 1
            self._stop.wait(next_retry_delay_s(failures) if failures else 1.0)

    def _metrics_loop(self) -> None:
        while not self._stop.is_set():
            self._metrics_due.wait(5.0)
            self._metrics_due.clear()
            job_id = self._state.selected_job_id
            if job_id is None:
                continue
            with self._lock:
                gen, cursor = self._follow_gen, self._series.cursor
            try:
                while True:
                    page = self._client.get(f"jobs/{job_id}/metrics", after=cursor, limit=10_000)
                    with self._lock:
                        if gen != self._follow_gen:
                            break
                        self._series.add_rows(page["metrics"])
                        cursor = self._series.cursor
                    if len(page["metrics"]) < 10_000:
                        break
            except PanelError:
                continue  # the next metric line or the 5 s timer tries again
            self._poke.set()

    # ------------------------------------------------------------------ rendering (render thread only)
    def _render_loop(self) -> None:
        while not self._stop.is_set():
            self._poke.wait(1.0)
            self._poke.clear()
            try:
                self._render(time.time())
            except Exception:  # noqa: BLE001 - keep the panel alive; the kernel log shows why
                log.exception("arenahub panel: rendering failed")
            self._stop.wait(TICK_S)

    def _set(self, key: str, widget: Any, attr: str, value: Any) -> None:
        """Send ``value`` to the browser only when it differs from what was last sent."""
        if self._drawn.get(key) != value:
            self._drawn[key] = value
            setattr(widget, attr, value)

    def _render(self, now: float) -> None:
        with self._lock:
            state, jobs, message = self._state, list(self._jobs), self._message
            entrypoints, quota_data, board = list(self._entrypoints), self._quota_data, self._leaderboard
            gpu_line = make_gpu_line(self._gpu_data)
        ui = self.ui
        self._setting_widgets = True
        try:
            self._render_inputs(state, entrypoints)
            self._set("jobs", ui.jobs, "options", tuple((job_label(j), j["id"]) for j in jobs))
            # Replacing a Select's options moves its value to the first one: put it back.
            if state.selected_job_id in {j["id"] for j in jobs} and ui.jobs.value != state.selected_job_id:
                ui.jobs.value = state.selected_job_id
        finally:
            self._setting_widgets = False
        buttons = decide_buttons(state, now)
        for name, button, decided in (("train", ui.train, buttons.train), ("test", ui.test, buttons.test),
                                      ("cancel", ui.cancel, buttons.cancel)):
            self._set(f"{name}.disabled", button, "disabled", not decided.enabled)
            self._set(f"{name}.tooltip", button, "tooltip", decided.reason or None)
        reasons = {"Train": buttons.train.reason, "Test": buttons.test.reason}
        self._set("reasons", ui.reasons, "value", reasons_html(reasons))
        retry_in = None if state.retry_at is None else state.retry_at - now
        self._set("health", ui.health, "value", health_html(state.gateway, state.gateway_message, retry_in))
        self._set("message", ui.message, "value", message_html(*message))
        self._set("status", ui.job_status, "value", job_status_html(self._job(state.selected_job_id), now))
        if self._tensorboard_url:
            self._set("tb", ui.tensorboard, "value",
                      f'<a href="{self._tensorboard_url}" target="_blank" rel="noopener">Open TensorBoard ↗</a>')
        view = make_quota_view(quota_data)
        self._set("quota.display", ui.quota_box.layout, "display", None if view else "none")
        if view is not None:
            left = view.gpu_hours_left
            self._set("quota.value", ui.quota_bar, "value",
                      0.0 if not view.gpu_hours_limit else min(1.0, (view.gpu_hours_used or 0) / view.gpu_hours_limit))
            self._set("quota.text", ui.quota_label, "value", quota_text(view) if left is not None or view else "")
        self._set("gpu", ui.gpu, "value", gpu_html(gpu_line))
        self._set("gpu.display", ui.gpu.layout, "display", None if gpu_line else "none")
        rows = make_leaderboard_rows(board)
        self._set("board", ui.leaderboard, "value", leaderboard_html(rows, self._user))
        self._set("board.display", ui.leaderboard.layout, "display", None if rows else "none")
        self._render_streams(state, now)

    def _render_inputs(self, state: PanelState, entrypoints: list[str]) -> None:
        ui = self.ui
        options = tuple(entrypoints) or ("",)
        if self._drawn.get("entrypoints") != options:
            self._drawn["entrypoints"] = options
            train = pick_entrypoint(entrypoints, "train", wanted=self._wanted_entrypoint, current=ui.entrypoint.value)
            test = pick_entrypoint(entrypoints, "test", wanted=self._wanted_test_entrypoint,
                                   current=ui.test_entrypoint.value, fallback=self._wanted_entrypoint)
            for picker, value in ((ui.entrypoint, train), (ui.test_entrypoint, test)):
                picker.options = options
                picker.value = value
            self._update(entrypoint=train or None, test_entrypoint=test or None)
        datasets = ("",) + state.datasets
        if self._drawn.get("datasets") != datasets:
            self._drawn["datasets"] = datasets
            wanted = self._wanted_dataset if self._wanted_dataset in datasets else ui.dataset.value
            ui.dataset.options = tuple((d or "(none)", d) for d in datasets)
            ui.dataset.value = wanted if wanted in datasets else ""
            self._update(dataset=ui.dataset.value or None)

    def _render_streams(self, state: PanelState, now: float) -> None:
        if self._drawn.get("logs.job") != state.selected_job_id:
            self._drawn["logs.job"] = state.selected_job_id
            self.ui.follow.value = True  # another job: start at its newest line
        # While the user reads older lines (scrolled up: not following) the view is not redrawn,
        # so it stays put; scrolling back to the bottom or ticking Follow log pokes a redraw.
        with self._lock:
            logs_version, series_version = self._logs.version, self._series.version
        if self._drawn.get("logs.version") != logs_version and self.ui.follow.value:
            if now - self._drawn.get("logs.at", 0.0) >= LOG_REDRAW_S:
                with self._lock:
                    logs_version, html = self._logs.version, render_log_html(self._logs)
                self._drawn["logs.version"], self._drawn["logs.at"] = logs_version, now
                self.ui.log.value = html
            else:
                self._poke.set()  # drawn on a later tick
        if self._drawn.get("series.version") != series_version:
            if now - self._drawn.get("plot.at", 0.0) >= PLOT_REDRAW_S:
                with self._lock:
                    series = self._series.snapshot()
                self._drawn["series.version"] = series.version
                if series.names:
                    self.plot.update(series)
                else:
                    self.plot.clear()
                self._drawn["plot.at"] = now
            else:
                self._poke.set()

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Stop the background threads and close the widgets."""
        self._stop.set()
        for event in (self._wake, self._poke, self._metrics_due):
            event.set()
        for thread in self._loops:  # each loop ends within one request; a stuck one is a daemon
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)
        self._client.close()
        super().close()
