"""Waiting for the gateway to score a test job, over its HTTP API."""

from __future__ import annotations

import asyncio
import time

import httpx


async def wait_for_score(client: httpx.AsyncClient, job_id: str, timeout_s: float = 60, poll_s: float = 0.1) -> dict:
    """``GET /jobs/{job_id}/score`` until it says "scored" or "error"; TimeoutError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while (score := (await client.get(f"/jobs/{job_id}/score")).json()).get("status") not in ("scored", "error"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} has no score after {timeout_s} s: {score}")
        await asyncio.sleep(poll_s)
    return score
