"""Runs the gateway with uvicorn on the host and port of its hub service URL."""

from __future__ import annotations

import logging
import os
import sys
from urllib.parse import urlsplit

import uvicorn
from pydantic import ValidationError

from arenahub.gateway.app import create_app
from arenahub.gateway.parentwatch import stop_when_parent_exits
from arenahub.gateway.settings import get_settings


def main() -> int:
    """Start the gateway; returns a process exit status (2 for unusable settings)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = get_settings()
    except ValidationError as exc:
        logging.getLogger("arenahub.gateway").error("The gateway's settings are unusable:\n%s", exc)
        return 2
    if settings.hub.stop_with_hub:
        stop_when_parent_exits(os.getppid())
    url = urlsplit(settings.hub.service_url)
    uvicorn.run(
        create_app(settings),
        host=url.hostname or "127.0.0.1",
        port=url.port or 10101,
        log_config=None,
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
