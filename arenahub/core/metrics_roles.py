"""The hub scope and roles for reading the gateway's metrics and GPU figures (pure, merged into the hub config)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

METRICS_SCOPE = "custom:arenahub-gateway:metrics"
# What the gateway's own token needs to map notebook servers' processes to users (spawner state: pid, slice).
SAMPLER_SCOPES = ("list:users", "read:servers", "admin:server_state")


def observability_roles(
    *,
    service_name: str = "arenahub-gateway",
    admin_users: Iterable[str] = (),
    metrics_services: Iterable[str] = (),
) -> dict[str, Any]:
    """``custom_scopes`` and ``load_roles`` entries to merge into the hub config.

    ``arenahub-metrics``: admins and ``metrics_services`` (e.g. a ``prometheus`` service whose token
    Prometheus scrapes with) may read the gateway's ``/metrics`` and the hub's ``/hub/metrics``.
    ``arenahub-gateway-sampler``: the gateway service may read servers' spawner state, so the GPU
    sampler knows which process belongs to which notebook server.
    """
    return {
        "custom_scopes": {
            METRICS_SCOPE: {"description": "Read the arenahub gateway's Prometheus metrics and GPU usage of everyone."},
        },
        "load_roles": [
            {
                "name": "arenahub-metrics",
                "description": "Scrape arenahub's hub and gateway metrics",
                "scopes": [METRICS_SCOPE, "read:metrics", f"access:services!service={service_name}"],
                "users": sorted(set(admin_users)),
                "services": sorted(set(metrics_services)),
            },
            {
                "name": "arenahub-gateway-sampler",
                "description": "The gateway reads notebook servers' GPU slices and pids for its GPU sampler",
                "scopes": list(SAMPLER_SCOPES),
                "services": [service_name],
            },
        ],
    }
