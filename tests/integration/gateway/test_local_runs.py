"""The gateway with the real bubblewrap LocalExecutor: datasets, exit codes, time limits, metrics."""

import os
import shutil

import pytest

from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.gateway.archives import make_archive

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                       reason="the LocalExecutor needs root and bubblewrap (make test-deps installs it)"),
]

PROBE = """
import os
print("train:", sorted(os.listdir("/data/train")))
print("test inputs visible:", os.path.exists("/data/test/inputs"))
print("annotations visible:", os.path.exists("/data/test/annotations"))
try:
    open("/data/train/planted.txt", "w").write("x")
    print("dataset write: allowed")
except OSError:
    print("dataset write: refused")
print('@@arenahub.metric {"step":1,"loss":0.5}')
"""


@pytest.fixture
async def local_gateway(gateway):
    from arenahub.gateway.executors.local import LocalExecutor

    await gateway.served[-1].stop()
    await gateway.start(executor=LocalExecutor(gateway.state_dir))
    return gateway


async def stdout_of(client, job_id):
    page = (await client.get(f"/jobs/{job_id}/logs", params={"format": "json"})).json()
    return [line["text"] for line in page["lines"] if line["stream"] == "stdout"]


async def test_a_train_job_reads_its_dataset_read_only_and_never_sees_annotations(local_gateway, tmp_path):
    gateway = local_gateway
    data = tmp_path / "dataset"
    for part in ("train", "test/inputs", "test/annotations"):
        (data / part).mkdir(parents=True)
    (data / "train" / "a.jpg").write_bytes(b"img")
    (data / "test" / "annotations" / "truth.json").write_text("{}")
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as organiser:
        assert (await organiser.post("/datasets", json={"name": "probe", "path": str(data)})).status_code == 201
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        job = (await submit(ada, {"kind": "train", "entrypoint": "probe.py", "dataset": "probe"},
                            code=make_archive({"probe.py": PROBE}))).json()
        done = await wait_for_status(ada, job["id"], {"succeeded", "failed"}, timeout_s=60)
        out = await stdout_of(ada, job["id"])
        metrics = (await ada.get(f"/jobs/{job['id']}/metrics")).json()["metrics"]
    assert done["status"] == "succeeded", (done, out)
    assert out[:4] == ["train: ['a.jpg']", "test inputs visible: False", "annotations visible: False", "dataset write: refused"]
    assert [(m["name"], m["value"]) for m in metrics] == [("loss", 0.5)]
    assert not (data / "train" / "planted.txt").exists()


async def test_exit_codes_and_time_limits_become_the_job_status(local_gateway):
    gateway = local_gateway
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        failing = (await submit(ada, {"kind": "train", "entrypoint": "fail.py"},
                                code=make_archive({"fail.py": "import sys\nprint('bye')\nsys.exit(3)\n"}))).json()
        sleeper = (await submit(ada, {"kind": "train", "entrypoint": "sleep.py", "time_limit_s": 2},
                                code=make_archive({"sleep.py": "import time\nprint('zz', flush=True)\ntime.sleep(60)\n"}))).json()
        failed = await wait_for_status(ada, failing["id"], {"succeeded", "failed"}, timeout_s=60)
        timed_out = await wait_for_status(ada, sleeper["id"], {"succeeded", "failed", "timeout"}, timeout_s=60)
    assert (failed["status"], failed["exit_code"]) == ("failed", 3)
    assert timed_out["status"] == "timeout"


async def test_cancelling_a_sandboxed_job_stops_it(local_gateway):
    gateway = local_gateway
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        job = (await submit(ada, {"kind": "train", "entrypoint": "loop.py"},
                            code=make_archive({"loop.py": "import time\nwhile True:\n    print('.', flush=True)\n    time.sleep(0.1)\n"}))).json()
        await wait_for_status(ada, job["id"], {"running"}, timeout_s=30)
        assert (await ada.post(f"/jobs/{job['id']}/cancel")).status_code == 202
        done = await wait_for_status(ada, job["id"], {"cancelled", "failed", "succeeded"}, timeout_s=30)
    assert done["status"] == "cancelled"


ATTACK = """
import glob, os, socket, sys
for name, port in [("gateway", {gateway_port}), ("hub", {hub_port})]:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2)
        print(name, "port: CONNECTED")
    except OSError as exc:
        print(name, "port: blocked")
for name, path in [("gateway state", {state_dir!r}), ("gateway database", {database!r})]:
    print(name + ":", "VISIBLE" if os.path.exists(path) else "absent")
tokens = [k for k in os.environ if "TOKEN" in k or k.startswith(("JUPYTERHUB", "ARENAHUB_GATEWAY"))]
print("secrets in env:", tokens)
try:
    init_env = open("/proc/1/environ", "rb").read()
    print("init env has token:", b"TOKEN" in init_env)
except OSError:
    print("init env has token: False")
print("other jobs:", sorted(glob.glob("/runs/*") + glob.glob("/jobs/*")))
"""


async def test_a_job_through_the_gateway_cannot_reach_the_gateway_the_hub_or_their_files(local_gateway):
    gateway = local_gateway
    hub_port = int(gateway.hub.api_url.split(":")[2].split("/")[0])
    gateway_port = int(gateway.url.rsplit(":", 1)[1])
    source = ATTACK.format(gateway_port=gateway_port, hub_port=hub_port, state_dir=str(gateway.state_dir),
                           database=gateway.database_url.removeprefix("sqlite:///"))
    async with gateway.client(gateway.hub.token_for(unique_user("mallory"))) as mallory:
        job = (await submit(mallory, {"kind": "train", "entrypoint": "attack.py"},
                            code=make_archive({"attack.py": source}))).json()
        done = await wait_for_status(mallory, job["id"], {"succeeded", "failed"}, timeout_s=60)
        out = await stdout_of(mallory, job["id"])
    assert done["status"] == "succeeded", (done, out)
    assert out == [
        "gateway port: blocked",
        "hub port: blocked",
        "gateway state: absent",
        "gateway database: absent",
        "secrets in env: []",
        "init env has token: False",
        "other jobs: []",
    ]
