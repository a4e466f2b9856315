"""Unattended GPU servers are culled early on a real hub: nobody connected to a kernel, idle past the short timeout.

The real culler (jupyterhub-idle-culler with arenahub's arbiter) asks each server's own
``api/kernels`` through the proxy; a browser is stood in for by a kernel websocket held open
through the proxy, exactly what a JupyterLab tab with a notebook open keeps.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

pytestmark = pytest.mark.integration

ONE_GPU_PER_USER = [{"index": i, "name": "FakeGPU", "mem_mib": 16000} for i in range(2)]
PROFILES = [
    {"slug": "gpu-whole", "display_name": "1 GPU", "gpu_fraction": 1, "mem_gib": 2, "cpu": 1, "default": True,
     "unattended_timeout_s": 4, "kernel_idle_timeout_s": 0},
]


def start_server(hub, name: str) -> str:
    token = hub.user_token(name)
    with hub.api(token) as api:
        r = api.post(f"/users/{name}/server", json={"user_options": {"profile": "gpu-whole"}})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(name)
    return token


def servers(hub) -> set[str]:
    with hub.api() as api:
        return {u["name"] for u in api.get("/users").json() if u["servers"]}


async def wait_for_servers(hub, expected: set[str], timeout_s: float) -> float:
    """Wait until exactly ``expected`` users have servers; returns the seconds it took."""
    began = time.monotonic()
    while (running := await asyncio.to_thread(servers, hub)) != expected:
        assert time.monotonic() - began < timeout_s, f"servers {running}, expected {expected}\n{hub.log_tail()}"
        await asyncio.sleep(0.5)
    return time.monotonic() - began


async def culling_with_one_attached_browser(hub, token: str) -> tuple[float, float]:
    headers = {"Authorization": f"token {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        kernel = (await http.post(f"{hub.url}/user/attached/api/kernels", json={"name": "python3"})).json()
    ws_url = f"{hub.url.replace('http', 'ws', 1)}/user/attached/api/kernels/{kernel['id']}/channels"
    browser = await websocket_connect(HTTPRequest(ws_url, headers=headers))
    try:
        left_culled_s = await wait_for_servers(hub, {"attached"}, timeout_s=60)
        await asyncio.sleep(10)  # well past the 4 s unattended timeout and several culler rounds
        assert await asyncio.to_thread(servers, hub) == {"attached"}, "a server with a connected tab was culled"
    finally:
        browser.close()  # the tab is closed: now nobody is attached to the kernel
    attached_culled_s = await wait_for_servers(hub, set(), timeout_s=60)
    return left_culled_s, attached_culled_s


def test_an_idle_gpu_server_nobody_is_connected_to_is_culled_while_one_with_an_open_notebook_stays(make_hub):
    hub = make_hub({"gpus": ONE_GPU_PER_USER, "profiles": PROFILES, "gateway": {"enabled": False},
                    "cull": {"timeout_s": 3600, "every_s": 2}})
    start_server(hub, "left")
    token = start_server(hub, "attached")
    left_culled_s, attached_culled_s = asyncio.run(culling_with_one_attached_browser(hub, token))
    assert left_culled_s < 40 and attached_culled_s < 40
    assert "Culling server left" in hub.log_tail(2000) and "Culling server attached" in hub.log_tail(2000)
    start_server(hub, "next")  # the slices came back
