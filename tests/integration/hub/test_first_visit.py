"""A new participant's first visit on the embedded hub: sign up, wait for approval, sign in, 0.25 GPU server.

Everything is real: ``arenahub run`` with the accounts authenticator (sign-up with admin
approval), the sandboxed VGPULocalSpawner, configurable-http-proxy, and jupyter-server's
own OAuth sign-in for the browser that reaches the server through the proxy.
"""

from __future__ import annotations

import html

import httpx
import pytest

from tests.integration.test_accounts import Browser

pytestmark = pytest.mark.integration

ADMIN = ("admin", "admin-pass-1")  # arenahub.yaml's default admin_users is ["admin"]
PARTICIPANT = ("pat", "pat-password-1")


def test_a_new_participant_is_approved_signs_in_picks_a_quarter_gpu_and_reaches_the_server(make_hub):
    hub = make_hub({"authenticator": "accounts"})
    with Browser(httpx.Client(base_url=hub.url, timeout=60)) as admin, \
            Browser(httpx.Client(base_url=hub.url, timeout=60)) as pat:
        assert 'id="signup-approved"' in admin.sign_up(*ADMIN).text, hub.log_tail()
        assert admin.sign_in(*ADMIN).status_code == 302

        signed_up = pat.sign_up(*PARTICIPANT)
        assert signed_up.status_code == 200 and 'id="signup-pending"' in signed_up.text
        refused = pat.sign_in(*PARTICIPANT)
        assert refused.status_code == 403
        assert "waiting for an organiser's approval" in html.unescape(refused.text)
        assert pat.get("/hub/spawn").status_code == 302  # not signed in: back to the login page

        assert "Approved pat" in admin.decide("approve", "pat").text
        assert pat.sign_in(*PARTICIPANT).status_code == 302
        form = pat.get("/hub/spawn")
        assert form.status_code == 200 and 'value="gpu-quarter"' in form.text and "0.25 GPU" in form.text
        # the stock spawn page carries no _xsrf field; its script sends the _xsrf cookie's value
        xsrf = pat.client.cookies.get("_xsrf", path="/hub/")
        started = pat.client.post("/hub/spawn", data={"profile": "gpu-quarter", "_xsrf": xsrf})
        assert started.status_code == 302, started.text

        model = hub.wait_ready("pat")
        assert model["user_options"] == {"profile": "gpu-quarter"}
        with hub.api() as api:
            state = api.get("/users/pat").json()["servers"][""]["state"]
        assert state["profile"] == "gpu-quarter" and state["slice"]["fraction"] == 0.25

        # The browser signs in to its own server through the proxy (JupyterHub OAuth), then
        # asks jupyter-server's API with the cookie it was given.
        landing = pat.client.get("/user/pat/api/status")
        assert landing.status_code == 403  # no cookie of the server yet: the API does not redirect
        page = pat.client.get("/user/pat/", follow_redirects=True)
        assert page.status_code == 200 and str(page.url) == f"{hub.url}/user/pat/lab"
        assert any("/hub/api/oauth2/authorize" in str(hop.url) for hop in page.history)
        status = pat.client.get("/user/pat/api/status")
        assert status.status_code == 200 and "last_activity" in status.json(), status.text
        me = pat.client.get("/user/pat/api/me")
        assert me.status_code == 200 and me.json()["identity"]["username"] == "pat"
