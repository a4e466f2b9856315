from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def scoring_plugins_importable(monkeypatch):
    """Let templates name ``scoring_plugins:function`` entry points (this folder's helper module)."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
