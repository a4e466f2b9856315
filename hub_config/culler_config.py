"""Config file for jupyterhub-idle-culler: installs arenahub's per-profile (and unattended) arbiter."""

import json
import os

from arenahub.hub_config.culling import TIMEOUTS_ENV, make_kernel_fetcher, make_profile_arbiter, make_unattended_arbiter

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file
_timeouts = json.loads(os.environ.get(TIMEOUTS_ENV, "{}"))
if _timeouts.get("unattended") and _timeouts.get("proxy_url"):
    c.IdleCuller.cull_arbiter_hook = make_unattended_arbiter(
        _timeouts.get("profiles", {}), _timeouts["unattended"], _timeouts.get("default_profile", ""),
        make_kernel_fetcher(_timeouts["proxy_url"], os.environ["JUPYTERHUB_API_TOKEN"]),
    )
else:  # no profile has an unattended timeout (or no proxy URL was given): the per-profile idle rule only
    c.IdleCuller.cull_arbiter_hook = make_profile_arbiter(
        _timeouts.get("profiles", {}), _timeouts.get("default_profile", "")
    )
