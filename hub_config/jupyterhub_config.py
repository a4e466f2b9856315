"""JupyterHub config of an embedded arenahub: load the settings, apply them, then drop-ins."""

import os
from pathlib import Path

from arenahub.hub_config.settings import load_settings
from arenahub.hub_config.wiring import configure

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file
settings = load_settings()
configure(c, settings)

# Drop-in files (*.py, sorted) for site-specific additions, like Zero-to-JupyterHub's extraConfig.
for extra in sorted((settings.data_dir / "hub" / "config.d").glob("*.py")):
    exec(compile(extra.read_text(), str(extra), "exec"))  # noqa: S102 - operator-owned files
for extra in os.environ.get("ARENAHUB_EXTRA_CONFIG", "").split(os.pathsep):
    if extra:
        exec(compile(Path(extra).read_text(), extra, "exec"))  # noqa: S102
