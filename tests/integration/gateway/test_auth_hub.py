"""Gateway auth against a real JupyterHub: own jobs only (others are 404), admins see all, no token 401."""

import pytest

from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status

pytestmark = pytest.mark.integration


@pytest.fixture
async def two_users_and_a_job(gateway):
    ada, bob = unique_user("ada"), unique_user("bob")
    tokens = {"ada": gateway.hub.token_for(ada), "bob": gateway.hub.token_for(bob)}
    async with gateway.client(tokens["ada"]) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_END": "hang"}})).json()
        await wait_for_status(client, job["id"], {"running"})
    return tokens, job


@pytest.mark.parametrize("method, path", [
    ("GET", "/jobs/{id}"),
    ("POST", "/jobs/{id}/cancel"),
    ("GET", "/jobs/{id}/logs"),
    ("GET", "/jobs/{id}/logs?format=json"),
    ("GET", "/jobs/{id}/metrics"),
])
async def test_another_users_job_is_not_found(gateway, two_users_and_a_job, method, path):
    tokens, job = two_users_and_a_job
    async with gateway.client(tokens["bob"]) as client:
        reply = await client.request(method, path.format(id=job["id"]))
        missing = await client.request(method, path.format(id="0123456789abcdef"))
    assert reply.status_code == 404
    assert reply.json() == missing.json() | {"message": reply.json()["message"]}
    assert reply.json()["error"] == "job-not-found"
    assert job["id"] not in gateway.executor.cancelled


async def test_another_users_jobs_are_not_listed(gateway, two_users_and_a_job):
    tokens, job = two_users_and_a_job
    async with gateway.client(tokens["bob"]) as client:
        listed = (await client.get("/jobs")).json()["jobs"]
        as_filter = (await client.get("/jobs", params={"user": "anyone"})).json()["jobs"]
    assert job["id"] not in [j["id"] for j in listed + as_filter]


async def test_an_admin_sees_lists_and_cancels_everyones_jobs(gateway, two_users_and_a_job):
    tokens, job = two_users_and_a_job
    organiser = gateway.hub.token_for(gateway.hub.ORGANISER)
    async with gateway.client(organiser) as client:
        shown = await client.get(f"/jobs/{job['id']}")
        listed = (await client.get("/jobs")).json()["jobs"]
        only_ada = (await client.get("/jobs", params={"user": job["user"]})).json()["jobs"]
        cancelled = await client.post(f"/jobs/{job['id']}/cancel")
        withheld = await client.get(f"/jobs/{job['id']}/withheld")
    assert shown.status_code == 200 and shown.json()["user"] == job["user"]
    assert job["id"] in [j["id"] for j in listed]
    assert [j["user"] for j in only_ada] == [job["user"]]
    assert cancelled.status_code == 202
    assert withheld.status_code == 200


async def test_withheld_lines_are_for_admins_only(gateway, two_users_and_a_job):
    tokens, job = two_users_and_a_job
    async with gateway.client(tokens["ada"]) as client:
        reply = await client.get(f"/jobs/{job['id']}/withheld")
    assert reply.status_code == 403 and reply.json()["error"] == "admin-only"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "token not-a-real-token"}, {"Authorization": "Basic abc"}])
async def test_requests_without_a_valid_token_are_unauthorised(gateway, headers):
    async with gateway.client(None) as client:
        for method, path in [("GET", "/jobs"), ("POST", "/jobs"), ("GET", "/jobs/0123/logs"), ("GET", "/datasets")]:
            reply = await client.request(method, path, headers=headers)
            assert reply.status_code == 401, (method, path, reply.text)
            assert reply.json()["error"] in ("token-missing", "token-invalid")


async def test_bearer_tokens_work_like_token_headers(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(None) as client:
        reply = await client.get("/jobs", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200


async def test_a_token_without_the_submit_scope_is_forbidden(gateway):
    token = gateway.hub.token_for(unique_user("carl"), scopes=["read:users:name!user"])
    async with gateway.client(token) as client:
        reply = await submit(client, {"kind": "train", "entrypoint": "train.py"})
    assert reply.status_code == 403
    assert "custom:arenahub-jobs:submit" in reply.json()["message"]
    assert gateway.stored_jobs() == 0
