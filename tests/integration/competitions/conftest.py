"""Competition tests reuse the gateway suite's fixtures: a real hub, SQLite and PostgreSQL, served gateways."""

from tests.integration.gateway.conftest import database_url, gateway, hub, postgres  # noqa: F401
