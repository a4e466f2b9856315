"""Where build.sh caches the harness's binaries, and whether they are all there."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

HARNESS_DIR = Path(__file__).resolve().parent
BUILD_SCRIPT = HARNESS_DIR / "build.sh"
VERSIONS_FILE = HARNESS_DIR / "versions.env"
STAGES_FILE = HARNESS_DIR / "kwok-stages.yaml"

# binary name -> the versions.env key it is built at
BINARY_VERSION_KEYS = {
    "etcd": "ETCD_VERSION",
    "kube-apiserver": "K8S_VERSION",
    "kube-controller-manager": "K8S_VERSION",
    "kube-scheduler": "K8S_VERSION",
    "kwok": "KWOK_VERSION",
    "helm": "HELM_VERSION",
}
KWOK_CRD_FILES = ("kwok.x-k8s.io_logs.yaml", "kwok.x-k8s.io_clusterlogs.yaml")


class HarnessNotBuilt(RuntimeError):
    """The cached binaries are missing or were built at other versions."""


def parse_versions(text: str) -> dict[str, str]:
    """KEY=VALUE pairs of a versions.env text; comments and blank lines are skipped."""
    versions = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        versions[key.strip()] = value.strip()
    return versions


def load_versions(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The harness's versions: versions.env, overridden by the same keys in `env` (as build.sh does)."""
    env = os.environ if env is None else env
    versions = parse_versions(VERSIONS_FILE.read_text())
    return {key: env.get(key) or value for key, value in versions.items()}


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """The folder build.sh caches into: $ARENAHUB_CACHE/k8s, default ~/.cache/arenahub/k8s."""
    env = os.environ if env is None else env
    base = env.get("ARENAHUB_CACHE") or str(Path(env.get("HOME", str(Path.home()))) / ".cache" / "arenahub")
    return Path(base) / "k8s"


@dataclass(frozen=True)
class HarnessBinaries:
    """Paths of one cached build: the bin folder and the kwok CRD folder beside it."""

    version_dir: Path
    versions: Mapping[str, str]

    @property
    def bin_dir(self) -> Path:
        return self.version_dir / "bin"

    @property
    def kwok_crd_dir(self) -> Path:
        return self.version_dir / "kwok-crds"

    def path(self, name: str) -> Path:
        """Absolute path of binary `name` (one of BINARY_VERSION_KEYS)."""
        if name not in BINARY_VERSION_KEYS:
            raise KeyError(f"No harness binary {name!r}. Known: {', '.join(BINARY_VERSION_KEYS)}.")
        return self.bin_dir / name

    def missing(self) -> list[str]:
        """Names of binaries (and 'kwok-crds') that are absent or stamped with another version."""
        missing = []
        for name, key in BINARY_VERSION_KEYS.items():
            stamp = self.bin_dir / f".{name}.version"
            wanted = self.versions[key]
            if not self.path(name).is_file() or not stamp.is_file() or stamp.read_text().strip() != wanted:
                missing.append(name)
        if not all((self.kwok_crd_dir / f).is_file() for f in KWOK_CRD_FILES):
            missing.append("kwok-crds")
        return missing

    def require(self) -> "HarnessBinaries":
        """Return self, or raise HarnessNotBuilt naming what is missing and how to build it."""
        missing = self.missing()
        if missing:
            raise HarnessNotBuilt(
                f"Kubernetes harness binaries not built: {', '.join(missing)} missing in "
                f"{self.bin_dir}. Build them once (about 20-40 min cold, cached afterwards) with "
                f"`{BUILD_SCRIPT.relative_to(HARNESS_DIR.parents[2])}` or `scripts/k8s-harness build`."
            )
        return self


def find_binaries(env: Mapping[str, str] | None = None) -> HarnessBinaries:
    """The cached build for the current versions (it may not be built yet; see .require())."""
    versions = load_versions(env)
    return HarnessBinaries(version_dir=cache_root(env) / versions["K8S_VERSION"], versions=versions)
