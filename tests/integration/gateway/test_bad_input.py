"""Bad submissions get a clear 4xx and change nothing: no job row, no unpacked files, no run."""

import json
import os

import pytest

from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.gateway.archives import HOSTILE_MEMBERS, TRAIN_PY, make_archive

pytestmark = pytest.mark.integration


def assert_nothing_changed(gateway):
    assert gateway.stored_jobs() == 0
    assert gateway.snapshot_folders() == []
    assert gateway.executor.started == []


@pytest.fixture
async def ada(gateway):
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as client:
        yield client


async def test_an_upload_over_the_size_limit_is_413(gateway, ada):
    huge = make_archive({"train.py": TRAIN_PY, "weights.bin": os.urandom(300 * 1024)})
    reply = await submit(ada, {"kind": "train", "entrypoint": "train.py"}, code=huge)
    assert reply.status_code == 413 and reply.json()["error"] == "upload-too-large"
    assert "MiB" in reply.json()["message"]
    assert_nothing_changed(gateway)


async def test_a_chunked_upload_over_the_limit_is_413_without_reading_it_all(gateway, ada):
    async def body():
        yield b"--b\r\nContent-Disposition: form-data; name=\"code\"; filename=\"x.tgz\"\r\n\r\n"
        for _ in range(64):
            yield os.urandom(16 * 1024)

    reply = await ada.post("/jobs", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert reply.status_code == 413
    assert_nothing_changed(gateway)


@pytest.mark.parametrize("case", sorted(HOSTILE_MEMBERS))
async def test_a_hostile_archive_is_400_and_nothing_is_unpacked(gateway, ada, case):
    code = make_archive({"train.py": TRAIN_PY}, extra=[HOSTILE_MEMBERS[case]])
    reply = await submit(ada, {"kind": "train", "entrypoint": "train.py"}, code=code)
    assert reply.status_code == 400 and reply.json()["error"] == "archive-unsafe"
    assert_nothing_changed(gateway)
    assert not os.path.exists("/tmp/arenahub-escape.py")


async def test_an_unknown_dataset_is_400_listing_the_known_ones(gateway, ada):
    reply = await submit(ada, {"kind": "train", "entrypoint": "train.py", "dataset": "no-such-data"})
    assert reply.status_code == 400 and reply.json()["error"] == "dataset-unknown"
    assert "Available:" in reply.json()["message"]
    assert_nothing_changed(gateway)


@pytest.mark.parametrize("gpus, reason", [(-1, "gpus-negative"), (3, "gpus-over-cap"), (1000, "gpus-over-cap")])
async def test_gpus_below_zero_or_over_the_cap_are_422(gateway, ada, gpus, reason):
    reply = await submit(ada, {"kind": "train", "entrypoint": "train.py", "gpus": gpus})
    assert reply.status_code == 422 and reply.json()["error"] == reason
    assert_nothing_changed(gateway)


@pytest.mark.parametrize("spec, status, reason", [
    ("{not json", 400, "spec-not-json"),
    (json.dumps({"kind": "train"}), 422, "spec-invalid"),
    (json.dumps({"kind": "train", "entrypoint": "missing.py"}), 400, "entrypoint-missing"),
    (json.dumps({"kind": "train", "entrypoint": "train.py", "time_limit_s": 10**9}), 422, "time-limit-out-of-range"),
])
async def test_a_bad_spec_is_refused_with_its_reason(gateway, ada, spec, status, reason):
    reply = await ada.post("/jobs", files={"code": ("job.tgz", make_archive({"train.py": TRAIN_PY}))}, data={"spec": spec})
    assert (reply.status_code, reply.json()["error"]) == (status, reason)
    assert_nothing_changed(gateway)


async def test_a_submission_without_its_parts_is_400(gateway, ada):
    no_code = await ada.post("/jobs", data={"spec": json.dumps({"kind": "train", "entrypoint": "train.py"})},
                             files={"other": ("x", b"1")})
    not_multipart = await ada.post("/jobs", json={"kind": "train"})
    assert (no_code.status_code, no_code.json()["error"]) == (400, "form-invalid")
    assert (not_multipart.status_code, not_multipart.json()["error"]) == (400, "form-invalid")
    assert_nothing_changed(gateway)


async def test_cancelling_a_finished_job_is_409_and_keeps_its_status(gateway, ada):
    job = (await submit(ada, {"kind": "train", "entrypoint": "train.py"})).json()
    done = await wait_for_status(ada, job["id"], {"succeeded"})
    reply = await ada.post(f"/jobs/{job['id']}/cancel")
    after = (await ada.get(f"/jobs/{job['id']}")).json()
    assert reply.status_code == 409 and reply.json()["error"] == "job-finished"
    assert after == done
    assert gateway.executor.cancelled == []


async def test_unknown_endpoints_answer_in_the_error_shape(gateway, ada):
    reply = await ada.get("/nope")
    assert reply.status_code == 404 and set(reply.json()) == {"error", "message"}
