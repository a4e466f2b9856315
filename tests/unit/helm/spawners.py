"""Helpers for the Helm chart tests: a VGPUKubeSpawner configured by the hub config file the chart renders."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from arenahub.spawner.kube import VGPUKubeSpawner
from tests.unit.helm.charts import CODING_CHART, ValuesSet, only, render
from tests.unit.helm.test_chart_hub_config import ENV as HUB_ENV  # the secrets the chart's Secret gives the hub


def load_rendered_hub_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, values: Mapping[str, Any]) -> Config:
    """The traitlets Config that the hub config file the chart renders for ``values`` builds, run
    as the hub runs it (its files in ``tmp_path/hub``, the chart Secret's variables set)."""
    configmap = only(render(ValuesSet("hub-config", CODING_CHART, values)), "ConfigMap", "arena-arenahub-coding-hub")
    folder = tmp_path / "hub"
    folder.mkdir()
    for name, text in configmap["data"].items():
        (folder / name).write_text(text)
    monkeypatch.setenv("ARENAHUB_CHART_VALUES", str(folder / "values.yaml"))
    for name, value in HUB_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the config file prepends its own folder
    monkeypatch.delitem(sys.modules, "chartconfig", raising=False)
    c = Config()
    path = folder / "jupyterhub_config.py"
    exec(compile(path.read_text(), str(path), "exec"), {"get_config": lambda: c, "__file__": str(path)})
    return c


def spawner_from_rendered_chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, values: Mapping[str, Any],
                                **spawner_traits: Any) -> VGPUKubeSpawner:
    """A VGPUKubeSpawner configured by the hub config file the chart renders for ``values``, with
    ``spawner_traits`` set on it too (call it in a running loop, with conftest's ``kube_client_settings``)."""
    c = load_rendered_hub_config(tmp_path, monkeypatch, values)
    return VGPUKubeSpawner(config=c, _mock=True, **spawner_traits)
