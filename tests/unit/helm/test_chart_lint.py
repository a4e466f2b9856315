"""yamllint and `helm lint` over both charts and every values set's rendered output."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.unit.helm.charts import (
    CODING_CHART,
    KUBE_VERSION,
    TRAINING_CHART,
    VALUES_SETS,
    ValuesSet,
    helm_binary,
    render_text,
    run_helm,
    values_file,
)

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(helm_binary() is None, reason="helm not built: run scripts/k8s-harness build"),
]

# yamllint's defaults, minus rules that fight Helm's output (long lines of embedded Python,
# document-start markers helm adds itself) and with comments allowed right after content.
YAMLLINT = YamlLintConfig("""
extends: default
rules:
  line-length: disable
  document-start: disable
  comments: {min-spaces-from-content: 1}
  comments-indentation: disable
  truthy: {check-keys: false}
  braces: {max-spaces-inside: 1}
  brackets: {max-spaces-inside: 1}
  indentation: {spaces: consistent, indent-sequences: whatever}
""")


def _problems(text: str) -> list[str]:
    return [f"{p.line}:{p.column} {p.rule}: {p.desc}" for p in linter.run(text, YAMLLINT)]


@pytest.mark.parametrize("path", [
    CODING_CHART / "Chart.yaml", CODING_CHART / "values.yaml",
    TRAINING_CHART / "Chart.yaml", TRAINING_CHART / "values.yaml",
], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_chart_files_pass_yamllint(path: Path):
    assert _problems(path.read_text()) == []


@pytest.mark.parametrize("values_set", VALUES_SETS, ids=lambda s: s.name)
def test_rendered_manifests_pass_yamllint(values_set: ValuesSet):
    assert _problems(render_text(values_set)) == []


# `helm lint` cannot assume extra API versions (the Kueue set needs kueue.x-k8s.io/v1beta1);
# rendering and the k8s tests cover that set.
@pytest.mark.parametrize("values_set", [s for s in VALUES_SETS if not s.api_versions], ids=lambda s: s.name)
def test_helm_lint_passes_in_strict_mode_for_every_values_set(values_set: ValuesSet):
    with tempfile.TemporaryDirectory() as tmp:
        args = ["lint", "--strict", str(values_set.chart), "-f", str(values_file(values_set.values, Path(tmp))),
                "--kube-version", KUBE_VERSION]
        out = run_helm(args)
    assert "0 chart(s) failed" in out
