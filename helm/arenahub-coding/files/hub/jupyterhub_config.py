"""JupyterHub config of the arenahub-coding chart: read the mounted chart values, apply them, then extraConfig.

Like Zero-to-JupyterHub's: this file and chartconfig.py come from the chart (a ConfigMap mounted
at /usr/local/etc/jupyterhub), everything else (hub_config/, the spawner, the gateway's roles)
from the hub image. Secrets arrive as environment variables from the chart's Secret.
"""

import os
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # chartconfig.py sits next to this file

import arenahub.hub_config  # noqa: E402 - after the path change above
from chartconfig import apply_config, build_hub_config  # noqa: E402

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file
_mounted = yaml.safe_load(Path(os.environ.get("ARENAHUB_CHART_VALUES", HERE / "values.yaml")).read_text())
_culler_config = Path(arenahub.hub_config.__file__).parent / "culler_config.py"
apply_config(c, build_hub_config(_mounted["chart"], _mounted["values"], os.environ, _culler_config))

# hub.extraConfig: site additions in key order, like Zero-to-JupyterHub's
for _name, _code in sorted((_mounted["values"]["hub"].get("extraConfig") or {}).items()):
    exec(compile(_code, f"hub.extraConfig.{_name}", "exec"))  # noqa: S102 - operator-owned values
