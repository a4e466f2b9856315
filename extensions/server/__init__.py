"""The arenahub jupyter-server extension: snapshot a job folder, submit it to the gateway, proxy its logs.

Enabled in spawned servers by ``"arenahub.extensions": true`` under ``jpserver_extensions``.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from arenahub.extensions.app import ArenaExtension

    return [{"module": "arenahub.extensions", "app": ArenaExtension}]
