"""Config file for jupyterhub-idle-culler: installs arenahub's per-profile arbiter."""

import json
import os

from arenahub.hub_config.culling import TIMEOUTS_ENV, make_profile_arbiter

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file
_timeouts = json.loads(os.environ.get(TIMEOUTS_ENV, "{}"))
c.IdleCuller.cull_arbiter_hook = make_profile_arbiter(
    _timeouts.get("profiles", {}), _timeouts.get("default_profile", "")
)
