"""Quota tests reuse the gateway's fixtures: a real hub, SQLite and PostgreSQL, gateways served by uvicorn."""

from tests.integration.gateway.conftest import database_url, gateway, hub, postgres  # noqa: F401  (fixtures)
