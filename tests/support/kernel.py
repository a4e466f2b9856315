"""Run Python code in a kernel of a real notebook server, through the proxy, as its user."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


def run_in_kernel(hub_url: str, user: str, token: str, code: str, timeout: float = 60) -> str:
    """Start a kernel in ``user``'s server, run ``code``, return its stdout (stderr appended)."""
    base = f"{hub_url}/user/{user}/api"
    headers = {"Authorization": f"token {token}"}
    with httpx.Client(headers=headers, timeout=timeout) as http:
        r = http.post(f"{base}/kernels", json={"name": "python3"})
        r.raise_for_status()
        kernel_id = r.json()["id"]
        try:
            return asyncio.run(_execute(base.replace("http", "ws", 1), kernel_id, headers, code, timeout))
        finally:
            http.delete(f"{base}/kernels/{kernel_id}")


async def _execute(ws_base: str, kernel_id: str, headers: dict, code: str, timeout: float) -> str:
    req = HTTPRequest(f"{ws_base}/kernels/{kernel_id}/channels", headers=headers)
    conn = await websocket_connect(req)
    msg_id = uuid.uuid4().hex
    conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False},
    }))
    out: list[str] = []

    async def collect():
        while True:
            raw = await conn.read_message()
            if raw is None:
                raise ConnectionError("kernel websocket closed")
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                out.append("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                return

    try:
        await asyncio.wait_for(collect(), timeout)
    finally:
        conn.close()
    return "".join(out)
