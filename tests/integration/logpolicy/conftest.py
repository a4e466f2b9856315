"""Fixtures for log-policy attack tests: the gateway suite's hub and databases, reused as they are."""

from tests.integration.gateway.conftest import database_url, gateway, hub, postgres  # noqa: F401
