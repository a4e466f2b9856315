"""Health route for the hub, load balancers and operators (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter

from arenahub.gateway.deps import GatewayDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(gateway: GatewayDep) -> dict[str, object]:
    """``{"status": "ok", "followed_jobs": n}`` while the gateway runs."""
    return {"status": "ok", "followed_jobs": len(gateway.scheduler.followed_jobs)}
