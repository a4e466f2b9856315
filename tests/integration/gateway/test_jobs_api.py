"""Gateway job API with a FakeExecutor: submit, run, logs (JSON and SSE), metrics, list, cancel."""

import asyncio
import json

import pytest

from arenahub.core.metricline import format_metric_line

from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status

pytestmark = pytest.mark.integration


async def test_a_submitted_job_runs_and_keeps_its_code_hash_spec_and_exit_status(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        reply = await submit(client, {"kind": "train", "entrypoint": "train.py", "gpus": 1, "env": {"FAKE_LINES": "2"}})
        assert reply.status_code == 201, reply.text
        job = reply.json()
        assert job["status"] in ("queued", "running", "succeeded")
        assert len(job["code_sha256"]) == 64
        done = await wait_for_status(client, job["id"], {"succeeded"})
    assert done["exit_code"] == 0
    assert done["gpus"] == [0] and done["node"] == "local"
    assert done["started_at"] >= done["created_at"] and done["finished_at"] >= done["started_at"]
    assert done["spec"]["time_limit_s"] == 3600 and done["spec"]["entrypoint"] == "train.py"
    started = gateway.executor.started[-1]
    assert started.argv == ["python3", "train.py"] and started.gpus == [0]
    assert (started.code_dir / "train.py").is_file()


async def test_logs_come_back_as_json_pages(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_LINES": "5"}})).json()
        await wait_for_status(client, job["id"], {"succeeded"})
        first = (await client.get(f"/jobs/{job['id']}/logs", params={"format": "json", "limit": 3})).json()
        rest = (await client.get(f"/jobs/{job['id']}/logs", params={"after": first["next_after"]},
                                 headers={"Accept": "application/json"})).json()
    assert [line["text"] for line in first["lines"]] == ["line 0", "line 1", "line 2"]
    assert first["finished"] is False
    assert [line["seq"] for line in rest["lines"]] == [3, 4]
    assert rest["finished"] is True


async def read_sse(client, url, headers=None):
    events, current = [], {}
    async with client.stream("GET", url, headers=headers or {}) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        async for line in reply.aiter_lines():
            if not line:
                if current:
                    events.append(current)
                    if current.get("event") == "end":
                        break
                current = {}
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            current[key] = value.removeprefix(" ")
    return events


async def test_logs_stream_as_server_sent_events_ending_with_the_status(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_LINES": "3"}})).json()
        events = await read_sse(client, f"/jobs/{job['id']}/logs")
    assert [(e["event"], e.get("id")) for e in events] == [("line", "0"), ("line", "1"), ("line", "2"), ("end", None)]
    assert json.loads(events[1]["data"])["text"] == "line 1"
    assert json.loads(events[-1]["data"])["status"] == "succeeded"


async def test_a_stream_resumes_after_the_last_event_id(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_LINES": "4"}})).json()
        events = await read_sse(client, f"/jobs/{job['id']}/logs", headers={"Last-Event-ID": "1"})
    assert [e.get("id") for e in events] == ["2", "3", None]


async def test_a_live_stream_delivers_lines_as_they_are_printed(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py",
                                     "env": {"FAKE_LINES": "1", "FAKE_END": "hang"}})).json()
        await wait_for_status(client, job["id"], {"running"})
        seen = []
        async with client.stream("GET", f"/jobs/{job['id']}/logs") as reply:
            async for line in reply.aiter_lines():
                if line.startswith("data:"):
                    seen.append(json.loads(line[5:])["text"] if "text" in line else line)
                    if len(seen) == 1:
                        gateway.executor.emit(job["id"], "printed later")
                    if len(seen) == 2:
                        gateway.executor.finish(job["id"], "succeeded", 0)
                if line.startswith("event: end"):
                    break
    assert seen[:2] == ["line 0", "printed later"]


async def test_metric_lines_are_stored_as_metrics_and_shown_rebuilt(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    lines = ["starting", format_metric_line(1, {"loss": 0.9}), format_metric_line(2, {"loss": 0.5, "acc": 0.75}), "boom"]
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py",
                                     "env": {"FAKE_PRINT": "|".join(lines), "FAKE_END": "fail"}})).json()
        done = await wait_for_status(client, job["id"], {"failed"})
        page = (await client.get(f"/jobs/{job['id']}/metrics", params={"limit": 2})).json()
        rest = (await client.get(f"/jobs/{job['id']}/metrics", params={"after": page["next_after"]})).json()
        logs = (await client.get(f"/jobs/{job['id']}/logs", params={"format": "json"})).json()
    assert done["exit_code"] == 1
    assert [(m["step"], m["name"], m["value"]) for m in page["metrics"] + rest["metrics"]] == [
        (1, "loss", 0.9), (2, "loss", 0.5), (2, "acc", 0.75)
    ]
    assert [(l["action"], l["text"]) for l in logs["lines"]][1] == ("metric", format_metric_line(1, {"loss": 0.9}))


async def test_a_run_the_sandbox_refuses_fails_with_a_reason(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_END": "refuse"}})).json()
        done = await wait_for_status(client, job["id"], {"failed"})
    assert "could not start" in done["reason"] and job["id"] in done["reason"]


async def test_cancelling_a_running_job_stops_its_run(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_END": "hang"}})).json()
        await wait_for_status(client, job["id"], {"running"})
        reply = await client.post(f"/jobs/{job['id']}/cancel")
        assert reply.status_code == 202 and reply.json()["cancel_requested"] is True
        done = await wait_for_status(client, job["id"], {"cancelled"})
    assert job["id"] in gateway.executor.cancelled
    assert done["finished_at"] is not None


async def test_a_job_waits_for_gpus_and_says_why(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        big = (await submit(client, {"kind": "train", "entrypoint": "train.py", "gpus": 2, "env": {"FAKE_END": "hang"}})).json()
        await wait_for_status(client, big["id"], {"running"})
        waiting = (await submit(client, {"kind": "train", "entrypoint": "train.py", "gpus": 1})).json()
        await wait_for_status(client, waiting["id"], {"queued"})
        for _ in range(40):
            job = (await client.get(f"/jobs/{waiting['id']}")).json()
            if job["reason"]:
                break
            await asyncio.sleep(0.05)
        assert job["status"] == "queued" and "free GPUs" in job["reason"]
        cancelled = (await client.post(f"/jobs/{waiting['id']}/cancel")).json()
        assert cancelled["status"] == "cancelled"
        gateway.executor.finish(big["id"], "succeeded", 0)
        await wait_for_status(client, big["id"], {"succeeded"})


async def test_listing_shows_a_users_jobs_newest_first_and_filters_by_status(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        first = (await submit(client, {"kind": "train", "entrypoint": "train.py"})).json()
        second = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_END": "fail"}})).json()
        await wait_for_status(client, second["id"], {"failed"})
        await wait_for_status(client, first["id"], {"succeeded"})
        listed = (await client.get("/jobs")).json()["jobs"]
        failed = (await client.get("/jobs", params={"status": "failed"})).json()["jobs"]
        bad = await client.get("/jobs", params={"status": "exploded"})
    assert [j["id"] for j in listed] == [second["id"], first["id"]]
    assert [j["id"] for j in failed] == [second["id"]]
    assert bad.status_code == 422 and "succeeded" in bad.json()["message"]


async def test_the_api_is_described_at_openapi_json_also_under_the_service_prefix(gateway):
    async with gateway.client(None) as client:
        plain = (await client.get("/openapi.json")).json()
        prefixed = await client.get("/services/arenahub-gateway/openapi.json")
        health = await client.get("/services/arenahub-gateway/health")
    assert {"/jobs", "/jobs/{job_id}/logs", "/jobs/{job_id}/cancel", "/datasets"} <= set(plain["paths"])
    assert "multipart/form-data" in plain["paths"]["/jobs"]["post"]["requestBody"]["content"]
    assert prefixed.status_code == 200 and health.json()["status"] == "ok"


async def test_a_filtered_policy_withholds_payloads_from_the_participant_but_not_from_admins(gateway):
    await gateway.served[-1].stop()
    gateway.settings_overrides = {"logs": {"policy": "filtered"}}
    await gateway.start()
    payload = "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHNlY3JldCBwYXlsb2FkIGZyb20gdGhlIHRlc3Qgc2V0IQ=="
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py",
                                     "env": {"FAKE_PRINT": f"epoch 1|{payload}|epoch 2"}})).json()
        await wait_for_status(client, job["id"], {"succeeded"})
        shown = (await client.get(f"/jobs/{job['id']}/logs", params={"format": "json"})).json()["lines"]
        streamed = await read_sse(client, f"/jobs/{job['id']}/logs")
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as organiser:
        audit = (await organiser.get(f"/jobs/{job['id']}/withheld")).json()["lines"]
    assert payload not in json.dumps(shown) and payload not in json.dumps(streamed)
    assert [line["action"] for line in shown] == ["pass", "marker", "pass"]
    assert [(a["record_seq"], a["original"]) for a in audit] == [(1, payload)]
