"""A real embedded hub with its gateway, and Debian's Chromium driven by Playwright, for the browser tier.

One hub and one signed-in browser per module: signing in and spawning a JupyterLab server is
the slow part (tens of seconds), and every test reuses them. Screenshots go to
test-artifacts/browser/<test name>/.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page

from tests.support.hub import RunningHub, free_port

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
FAKE_GPUS = [{"index": 0, "name": "FakeGPU", "mem_mib": 16000}]
# Flags the team agreed for every Chromium run: headless, no sandbox (root in CI), nothing that
# calls home, and host resolution pinned so no request can leave loopback.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = [what for what, ok in (("Chromium at /usr/bin/chromium (apt-get install chromium)",
                                      os.access(CHROMIUM, os.X_OK)),
                                     ("bubblewrap (apt-get install bubblewrap)", shutil.which("bwrap") is not None))
               if not ok]
    if missing:
        skip = pytest.mark.skip(reason=f"needs {' and '.join(missing)}; `make test` installs them")
        for item in items:
            if "tests/browser" in str(item.fspath):
                item.add_marker(skip)


@dataclass
class Lab:
    """The signed-in participant: the hub, her token, her contents API and the browser page."""

    hub: RunningHub
    user: str
    token: str
    page: Page
    artifacts: Path

    @property
    def lab_url(self) -> str:
        return f"{self.hub.url}/user/{self.user}/lab"

    def api(self) -> httpx.Client:
        """The user's notebook server's REST API (contents, arenahub) with her token."""
        return httpx.Client(base_url=f"{self.hub.url}/user/{self.user}/",
                            headers={"Authorization": f"token {self.token}"}, timeout=60)

    def put_file(self, path: str, text: str) -> None:
        """Write a text file into the user's home through the Jupyter contents API."""
        with self.api() as api:
            parts = path.split("/")
            for i in range(1, len(parts)):
                api.put(f"api/contents/{'/'.join(parts[:i])}", json={"type": "directory"})
            reply = api.put(f"api/contents/{path}", json={"type": "file", "format": "text", "content": text})
            reply.raise_for_status()

    def put_folder(self, path: str) -> None:
        """Create an (empty) folder in the user's home."""
        with self.api() as api:
            api.put(f"api/contents/{path}", json={"type": "directory"}).raise_for_status()

    def put_notebook(self, path: str, *cells: str) -> None:
        """Write a notebook of code cells (Python 3 kernel) into the user's home."""
        nb = {"nbformat": 4, "nbformat_minor": 5,
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
              "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None,
                         "outputs": [], "source": src} for i, src in enumerate(cells)]}
        with self.api() as api:
            api.put(f"api/contents/{path}", json={"type": "notebook", "content": nb}).raise_for_status()

    def shot(self, name: str, locator: Locator | None = None) -> Path:
        """Save a screenshot of the page (or of ``locator``) under this test's artefacts."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        (locator or self.page).screenshot(path=str(path))
        return path


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    running = RunningHub(tmp_path_factory.mktemp("hub"), {
        "gpus": FAKE_GPUS, "admin_users": ["organiser"], "cull": {"enabled": False},
        "gateway": {"port": free_port()},
    }).start()
    yield running
    try:
        with running.api() as api:
            for user in api.get("/users").json():
                if user["servers"]:
                    api.delete(f"/users/{user['name']}/server")
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1800}, service_workers="block",
        )
        context.set_default_timeout(30_000)
        page = context.pages[0] if context.pages else context.new_page()
        yield page
        context.close()


def sign_in_and_spawn(hub: RunningHub, page: Page, user: str, profile: str, artifacts: Path) -> None:
    """Sign in through the hub's login page, pick ``profile`` on the spawn form, wait for JupyterLab."""
    page.goto(f"{hub.url}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "any-password")
    page.click("input[type=submit], button[type=submit]")
    page.goto(f"{hub.url}/hub/spawn")
    page.check(f"input[name=profile][value={profile}]")
    artifacts.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artifacts / "spawn-form.png"))
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=120_000)
    page.wait_for_selector(".jp-LabShell", timeout=120_000)


@pytest.fixture(scope="module")
def lab(hub: RunningHub, browser_page: Page) -> Lab:
    artifacts = ARTIFACTS / "session"
    sign_in_and_spawn(hub, browser_page, "alice", "gpu-quarter", artifacts)
    return Lab(hub, "alice", hub.user_token("alice"), browser_page, artifacts)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def alice(lab: Lab, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The signed-in session, with screenshots going to this test's own folder (and one on failure)."""
    lab.artifacts = ARTIFACTS / request.node.name
    shutil.rmtree(lab.artifacts, ignore_errors=True)
    yield lab
    if request.node.stash.get(_FAILED, False):
        lab.shot("failure")


def gateway_json(hub: RunningHub, token: str, method: str, path: str, body: dict | None = None) -> httpx.Response:
    """Call the gateway through the hub's proxy with a user's hub token."""
    with httpx.Client(base_url=f"{hub.url}/services/arenahub-gateway/", timeout=60,
                      headers={"Authorization": f"token {token}"}) as http:
        return http.request(method, path, content=None if body is None else json.dumps(body),
                            headers={"Content-Type": "application/json"})
