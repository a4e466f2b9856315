"""The gateway's /metrics on a real hub and database: refused without the scope, counters move after jobs."""

import pytest

from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.observability.scrape import parse_scrape, value

pytestmark = pytest.mark.integration


async def scrape(gateway, token):
    async with gateway.client(token) as client:
        return await client.get("/metrics")


async def test_metrics_are_refused_without_a_token_and_without_the_metrics_scope(gateway):
    anonymous = await scrape(gateway, None)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "token-missing"
    participant = await scrape(gateway, gateway.hub.token_for(unique_user("ada")))
    assert participant.status_code == 403 and "arenahub-metrics" in participant.json()["message"]


async def test_a_job_and_a_refused_submission_move_the_counters_seen_by_prometheus(gateway):
    prometheus = gateway.hub.prometheus_token
    before = parse_scrape((await scrape(gateway, prometheus)).text)
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py", "gpus": 1,
                                     "env": {"FAKE_LINES": "3"}})).json()
        await wait_for_status(client, job["id"], {"succeeded"})
        refused = await submit(client, {"kind": "train", "entrypoint": "train.py", "gpus": 99})
        assert refused.status_code == 422
    reply = await scrape(gateway, prometheus)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    after = parse_scrape(reply.text)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("arenahub_jobs_finished_total", status="succeeded") == 1
    assert value(after, "arenahub_jobs", status="succeeded") >= 1
    assert moved("arenahub_queue_wait_seconds_count", gpus="1") == 1
    assert moved("arenahub_log_lines_total", action="passed", reason="") >= 3
    assert moved("arenahub_gateway_refusals_total", status="422", reason="gpus-over-cap") == 1
    assert value(after, "arenahub_queue_length") == 0
    assert ("arenahub_gpu_seconds_charged_total", frozenset({("source", "job")})) in after
    assert value(after, "arenahub_gpu_sampler_up") == 0  # no GPU on this machine


async def test_an_admin_token_may_scrape_and_sees_the_gpu_view_say_there_is_no_gpu(gateway):
    token = gateway.hub.token_for(gateway.hub.ORGANISER)
    assert (await scrape(gateway, token)).status_code == 200
    async with gateway.client(token) as client:
        view = (await client.get("/gpus")).json()
    assert view["gpus"] == [] and view["message"].startswith("No GPU readings on this machine")


async def test_a_participant_asks_for_their_slice_and_is_told_why_there_is_none(gateway):
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as client:
        reply = await client.get("/gpus/mine")
        admin_view = await client.get("/gpus")
    assert reply.status_code == 200 and reply.json()["slices"] == []
    assert reply.json()["message"].startswith("No GPU readings on this machine")
    assert admin_view.status_code == 403
