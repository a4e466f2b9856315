import asyncio
import json

import pytest

from arenahub.extensions.tbmanager import TensorBoardManager
from tests.unit.extensions.servers import parse_sse

pytestmark = pytest.mark.unit

METRIC = '@@arenahub.metric {"step":%d,"loss":%s}'


def write(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


async def submit(http, folder="demo", **fields):
    body = {"folder": folder, "kind": "train", "entrypoint": "train.py", **fields}
    return await http.post("jobs", json=body)


async def wait_for_status(http, job_id, statuses, timeout_s=20):
    for _ in range(int(timeout_s / 0.05)):
        job = (await http.get(f"jobs/{job_id}")).json()
        if job["status"] in statuses:
            return job
        await asyncio.sleep(0.05)
    raise TimeoutError(f"job {job_id} stayed {job['status']}")


async def test_train_snapshots_the_folder_without_ignored_files_and_the_job_succeeds(stack):
    write(stack.home / "demo", {"train.py": "print('hi')\n", "data/big.bin": "x" * 100, ".arenaignore": "data/\n"})
    async with stack.server.client() as http:
        reply = await submit(http, env={"FAKE_LINES": "2"})
        assert reply.status_code == 201, reply.text
        job = reply.json()
        assert job["user"] == "alice" and job["kind"] == "train" and job["spec"]["entrypoint"] == "train.py"
        assert job["snapshot"]["files"] == 2  # train.py and .arenaignore; data/ is left out
        assert job["snapshot"]["ignored"] == 1
        assert job["code_sha256"] == job["snapshot"]["sha256"]  # the gateway got exactly this archive
        done = await wait_for_status(http, job["id"], {"succeeded"})
        listed = (await http.get("jobs")).json()["jobs"]
    assert done["exit_code"] == 0
    assert [j["id"] for j in listed] == [job["id"]]


async def test_the_log_stream_passes_lines_and_the_end_through_and_resumes_after_last_event_id(stack):
    write(stack.home / "demo", {"train.py": ""})
    lines = ["epoch 1", METRIC % (1, "0.5"), "epoch 2", METRIC % (2, "0.25")]
    async with stack.server.client() as http:
        job = (await submit(http, env={"FAKE_PRINT": "|".join(lines)})).json()
        await wait_for_status(http, job["id"], {"succeeded"})
        full = await http.get(f"jobs/{job['id']}/logs", headers={"Accept": "text/event-stream"})
        resumed = await http.get(f"jobs/{job['id']}/logs", headers={"Accept": "text/event-stream", "Last-Event-ID": "1"})
        page = await http.get(f"jobs/{job['id']}/logs", params={"format": "json", "after": 2})
        metrics = (await http.get(f"jobs/{job['id']}/metrics")).json()
    assert full.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(full.text)
    assert [e for e, _ in events] == ["line"] * 4 + ["end"]
    assert [d["text"] for _, d in events[:4]][::2] == ["epoch 1", "epoch 2"]
    assert [d["action"] == "metric" for _, d in events[:4]] == [False, True, False, True]
    assert events[-1][1]["status"] == "succeeded"
    assert [d["seq"] for e, d in parse_sse(resumed.text) if e == "line"] == [2, 3]
    assert [line["seq"] for line in page.json()["lines"]] == [3]
    assert [(m["step"], m["name"], m["value"]) for m in metrics["metrics"]] == [(1, "loss", 0.5), (2, "loss", 0.25)]


async def test_cancel_stops_a_running_job(stack):
    write(stack.home / "demo", {"train.py": ""})
    async with stack.server.client() as http:
        job = (await submit(http, env={"FAKE_END": "hang"})).json()
        await wait_for_status(http, job["id"], {"running"})
        reply = await http.post(f"jobs/{job['id']}/cancel")
        assert reply.status_code == 202
        done = await wait_for_status(http, job["id"], {"cancelled"})
    assert done["status"] == "cancelled"


@pytest.mark.parametrize("files, reason, words", [
    ({}, "folder-empty", "has no files to submit"),
    ({".arenaignore": "*\n"}, "folder-empty", "has no files to submit"),
    ({"train.py": "", ".ipynb_checkpoints/x.py": ""}, None, None),
    ({"main.py": ""}, "entrypoint-missing", "Scripts there: main.py"),
])
async def test_bad_folders_get_a_clear_error_and_submit_nothing(stack, files, reason, words):
    (stack.home / "demo").mkdir()
    write(stack.home / "demo", files)
    async with stack.server.client() as http:
        reply = await submit(http)
        listed = (await http.get("jobs")).json()["jobs"]
    if reason is None:
        assert reply.status_code == 201 and reply.json()["snapshot"]["files"] == 1
        return
    assert reply.status_code == 400
    assert reply.json()["error"] == reason
    assert words in reply.json()["message"] and "Nothing was submitted" in reply.json()["message"]
    assert listed == [] and stack.gateway.executor.started == []


async def test_a_folder_over_the_size_limit_is_refused_before_anything_is_sent(stack):
    write(stack.home / "demo", {"train.py": ""})
    with open(stack.home / "demo" / "weights.bin", "wb") as f:
        f.truncate(60 * 2**20)  # sparse: the check must refuse it without reading it
    async with stack.server.client() as http:
        reply = await submit(http)
        listed = (await http.get("jobs")).json()["jobs"]
    assert reply.status_code == 413
    body = reply.json()
    assert body["error"] == "folder-too-large"
    assert "60.0 MiB" in body["message"] and "50.0 MiB" in body["message"] and "weights.bin" in body["message"]
    assert listed == []


async def test_a_missing_folder_and_a_folder_outside_the_home_are_refused(stack):
    async with stack.server.client() as http:
        missing = await submit(http, folder="nope")
        outside = await submit(http, folder="/etc")
        climbing = await submit(http, folder="../..")
    assert (missing.status_code, missing.json()["error"]) == (400, "folder-missing")
    assert (outside.status_code, outside.json()["error"]) == (400, "folder-outside-root")
    assert (climbing.status_code, climbing.json()["error"]) == (400, "folder-outside-root")


async def test_a_stopped_gateway_gives_a_clear_503_and_nothing_is_submitted(stack):
    write(stack.home / "demo", {"train.py": ""})
    await stack.gateway.stop()
    async with stack.server.client() as http:
        reply = await submit(http)
        listing = await http.get("jobs")
    assert reply.status_code == 503
    assert reply.json()["error"] == "gateway-unreachable"
    assert "not reachable" in reply.json()["message"] and "nothing was sent" in reply.json()["message"]
    assert listing.status_code == 503
    assert stack.gateway.executor.started == []


async def test_the_gateways_own_refusals_reach_the_user_unchanged(stack):
    write(stack.home / "demo", {"train.py": ""})
    async with stack.server.client() as http:
        too_many_gpus = await submit(http, gpus=5)
        test_without_dataset = await submit(http, kind="test")
        bad_kind = await submit(http, kind="deploy")
    assert too_many_gpus.status_code == 422 and too_many_gpus.json()["error"] == "gpus-over-cap"
    assert "at most 1 whole GPUs" in too_many_gpus.json()["message"]
    assert test_without_dataset.json()["error"] == "dataset-missing"
    assert bad_kind.status_code == 422 and "Valid: train, test" in bad_kind.json()["message"]


async def test_requests_without_the_servers_auth_are_refused(stack):
    import httpx

    async with httpx.AsyncClient(base_url=stack.server.url + "arenahub/") as anonymous:
        reply = await anonymous.get("jobs")
    assert reply.status_code == 403


async def test_entrypoints_quota_and_leaderboard_answer_for_the_panel(stack):
    write(stack.home / "demo", {"train.py": "", "eval.sh": "", "src/model.py": "", "notes.txt": ""})
    async with stack.server.client() as http:
        scripts = (await http.get("entrypoints", params={"folder": "demo"})).json()
        missing = (await http.get("entrypoints", params={"folder": "nope"})).json()
        quota = (await http.get("quota")).json()
        board = (await http.get("leaderboard")).json()
        config = (await http.get("config")).json()
        datasets = (await http.get("datasets")).json()
    assert scripts == {"folder": "demo", "exists": True, "entrypoints": ["eval.sh", "src/model.py", "train.py"]}
    assert missing["exists"] is False and missing["entrypoints"] == []
    assert quota["available"] is True and quota["user"] == "alice" and "gpu_hours_used" in quota
    assert board == {"available": False}  # no competition yet: the panel hides the leaderboard
    assert config["gateway_configured"] is True and config["tensorboard_url"] == "/arenahub/tensorboard/"
    assert datasets == {"datasets": []}


async def test_tensorboard_event_files_are_written_from_the_stored_metrics(stack, tmp_path):
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    write(stack.home / "demo", {"train.py": ""})
    async with stack.server.client() as http:
        job = (await submit(http, env={"FAKE_PRINT": "|".join(METRIC % (s, 1 / (s + 1)) for s in range(5))})).json()
        await wait_for_status(http, job["id"], {"succeeded"})
    ext = stack.server.app.extension_manager.extension_apps["arenahub.extensions"]
    manager = TensorBoardManager(logdir=tmp_path / "tb", socket_path=tmp_path / "tb.sock", path_prefix="/tb")
    manager.reset()
    assert await manager.sync(next(iter(ext)).gateway) == 5
    assert await manager.sync(next(iter(ext)).gateway) == 0  # nothing new
    runs = EventMultiplexer().AddRunsFromDirectory(str(tmp_path / "tb"))
    runs.Reload()
    (run,) = runs.Runs()
    assert run.endswith(job["id"])
    assert [(e.step, round(e.value, 4)) for e in runs.Scalars(run, "loss")] == [(s, round(1 / (s + 1), 4)) for s in range(5)]
    await manager.stop()


def test_sse_parsing_helper_reads_multi_field_events():
    body = 'event: line\nid: 3\ndata: {"a": 1}\n\n: ping\n\nevent: end\ndata: {"status": "ok"}\n\n'
    assert parse_sse(body) == [("line", {"a": 1}), ("end", {"status": "ok"})]
    assert json.loads('{"a": 1}') == {"a": 1}


async def test_tensorboard_files_hold_only_the_jobs_of_the_token_owner(stack, tmp_path):
    from arenahub.extensions.gatewayclient import GatewayClient
    from arenahub.extensions.snapshot import SnapshotLimits, build_snapshot

    write(stack.home / "demo", {"train.py": ""})
    async with stack.server.client() as http:
        alices = (await submit(http, env={"FAKE_PRINT": METRIC % (1, 0.5)})).json()
        await wait_for_status(http, alices["id"], {"succeeded"})
    bob = GatewayClient(stack.gateway.url, stack.hub.token_for("bob"))
    archive = build_snapshot(stack.home / "demo", SnapshotLimits(), folder_label="demo", entrypoint="train.py").archive
    bobs = await bob.submit_job(archive, {"kind": "train", "entrypoint": "train.py",
                                          "env": {"FAKE_PRINT": METRIC % (1, 9.0)}})
    for _ in range(200):
        if (await bob.fetch_json(f"jobs/{bobs['id']}"))["status"] == "succeeded":
            break
        await asyncio.sleep(0.05)
    manager = TensorBoardManager(logdir=tmp_path / "tb", socket_path=tmp_path / "tb.sock", path_prefix="/tb")
    manager.reset()
    assert await manager.sync(bob) == 1
    assert [p.name.rsplit("-", 1)[-1] for p in (tmp_path / "tb").iterdir()] == [bobs["id"]]
    await manager.stop()
    await bob.aclose()
    assert alices["id"] != bobs["id"]


async def test_a_jobs_score_is_proxied_and_says_why_a_train_job_has_none(stack):
    write(stack.home / "demo", {"train.py": ""})
    async with stack.server.client() as http:
        job = (await submit(http)).json()
        score = (await http.get(f"jobs/{job['id']}/score")).json()
        unknown = (await http.get("jobs/nosuchjob/score")).json()
    assert score["available"] is True and score["status"] == "not-scored"
    assert "Only test jobs on a competition's dataset are scored." in score["message"]
    assert unknown == {"available": False}


async def test_the_gpu_figures_of_the_users_own_slice_are_proxied_from_the_gateway(stack):
    from tests.unit.extensions.servers import recorded_slice_sample, use_recorded_sampler

    await use_recorded_sampler(stack.gateway, recorded_slice_sample("alice"))
    async with stack.server.client() as http:
        mine = (await http.get("gpus/mine")).json()
    assert mine["available"] is True
    assert mine["message"] == "your slice: 31 % busy, 5.2 / 8 GiB"
    assert [(s["kind"], s["key"]) for s in mine["slices"]] == [("notebook", "alice/")]  # not bob's slice


async def test_without_gpu_readings_the_gpu_view_passes_the_gateways_reason_on_unchanged(stack):
    from arenahub.extensions.gatewayclient import GatewayClient

    async with stack.server.client() as http:
        mine = (await http.get("gpus/mine")).json()
    direct = GatewayClient(stack.gateway.url, stack.hub.token_for("alice"))
    straight = await direct.fetch_json("gpus/mine")  # the gateway's own answer on this machine
    await direct.aclose()
    assert mine == {"available": True, **straight}
    assert mine["slices"] == [] and mine["message"]
    await stack.gateway.stop()
    async with stack.server.client() as http:
        down = await http.get("gpus/mine")
    assert down.status_code == 503 and down.json()["error"] == "gateway-unreachable"
