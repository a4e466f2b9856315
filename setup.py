"""Maps DESIGN.md's top-level folders to import names under ``arenahub``.

setuptools cannot discover a package whose parts live in several top-level folders, so the
map is written once here and every sub-package below a mapped folder is found by walking it.
"""

from pathlib import Path

from setuptools import setup

PACKAGE_DIRS = {
    "arenahub": "arenahub",
    "arenahub.hub_config": "hub_config",
    "arenahub.spawner": "spawner",
    "arenahub.extensions": "extensions/server",
    "arenahub.widgets": "extensions/widgets",
    "arenahub.sdk": "extensions/sdk",
    "arenahub.gateway": "services/gateway",
    "arenahub.logpolicy": "services/logpolicy",
    "arenahub.scoring": "services/scoring",
    "arenahub.quota": "services/quota",
}


def find_packages() -> list[str]:
    found = []
    for name, folder in PACKAGE_DIRS.items():
        root = Path(folder)
        if not (root / "__init__.py").exists():
            continue
        for init in sorted(root.rglob("__init__.py")):
            rel = init.parent.relative_to(root)
            found.append(".".join([name, *rel.parts]) if rel.parts else name)
    return found


setup(
    packages=find_packages(),
    package_dir=PACKAGE_DIRS,
    package_data={
        "": ["*.yaml", "*.yml", "*.ini", "*.mako", "*.json", "*.html", "*.js", "*.css", "*.py.tmpl"],
        # folders that are data, not packages: the notebook servers' config, the demo job
        "arenahub.spawner": ["server_config/*.json", "server_config/labconfig/*.json"],
        "arenahub.demo": ["job/*.py"],
    },
)
