"""The extension is switched on in every spawned notebook server and loads through its extension point."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SERVER_CONFIG = Path(__file__).resolve().parents[3] / "spawner" / "server_config" / "jupyter_server_config.json"


def test_the_spawners_server_config_enables_the_arenahub_extension():
    config = json.loads(SERVER_CONFIG.read_text())
    assert config["ServerApp"]["jpserver_extensions"]["arenahub.extensions"] is True


def test_jupyter_server_finds_the_extension_app_through_its_extension_point():
    from jupyter_server.extension.manager import ExtensionPackage

    from arenahub.extensions.app import ArenaExtension

    package = ExtensionPackage(name="arenahub.extensions", enabled=True)
    assert package.validate()
    (point,) = package.extension_points.values()
    assert isinstance(point.app, ArenaExtension) and point.module.__name__ == "arenahub.extensions"
