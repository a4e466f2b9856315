"""Helpers for talking to a gateway under test: unique users, submissions, waiting for a status."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import httpx

from tests.integration.gateway.archives import TRAIN_PY, make_archive


def unique_user(prefix: str) -> str:
    """A user name no other test uses (the hub lives for the whole session)."""
    return f"{prefix}-{os.urandom(3).hex()}"


async def submit(client: httpx.AsyncClient, spec: dict[str, Any], code: bytes | None = None) -> httpx.Response:
    """POST /jobs with ``spec`` and a job folder holding train.py (or ``code``)."""
    archive = code if code is not None else make_archive({"train.py": TRAIN_PY})
    return await client.post("/jobs", files={"code": ("job.tar.gz", archive, "application/gzip")},
                             data={"spec": json.dumps(spec)})


async def wait_for_status(client: httpx.AsyncClient, job_id: str, statuses: set[str], timeout_s: float = 20) -> dict[str, Any]:
    """Poll GET /jobs/{id} until its status is one of ``statuses``; returns the job."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = (await client.get(f"/jobs/{job_id}")).json()
        if job.get("status") in statuses:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} is {job.get('status')}, not {statuses}, after {timeout_s} s: {job}")
        await asyncio.sleep(0.05)


async def all_lines(client: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    """Every stored log line of the job, paged through GET /jobs/{id}/logs (JSON)."""
    lines: list[dict[str, Any]] = []
    after = -1
    while True:
        page = (await client.get(f"/jobs/{job_id}/logs", params={"format": "json", "after": after, "limit": 5000})).json()
        lines += page["lines"]
        after = page["next_after"]
        if page.get("finished") or not page["lines"]:
            return lines
