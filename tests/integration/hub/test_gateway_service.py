"""The embedded hub starts the job gateway as its managed service; notebook servers submit jobs with their own token."""

import json
import os
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.hub import RunningHub, free_port
from tests.support.kernel import run_in_kernel

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                       reason="the hub's servers and the gateway's jobs need root and bubblewrap (make test-deps)"),
]

TWO_GPUS = [{"index": 0, "name": "FakeGPU", "mem_mib": 16000}, {"index": 1, "name": "FakeGPU", "mem_mib": 16000}]
FINAL = {"succeeded", "failed", "cancelled", "timeout", "lost"}

# Runs in alice's notebook kernel: exactly what the notebook extension does, with the server's env.
SUBMIT_FROM_THE_NOTEBOOK = r'''
import io, json, os, tarfile, time
import httpx

def archive(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()

url = os.environ["ARENAHUB_GATEWAY_URL"]
with httpx.Client(base_url=url, headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}, timeout=30) as gw:
    reply = gw.post("jobs", files={"code": ("job.tgz", archive({"hello.py": "print('hello from the sandbox', flush=True)\n"}))},
                    data={"spec": json.dumps({"kind": "train", "entrypoint": "hello.py", "time_limit_s": 60})})
    job = reply.json()
    if reply.status_code == 201:
        deadline = time.monotonic() + 90
        while job["status"] not in ("succeeded", "failed", "cancelled", "timeout", "lost") and time.monotonic() < deadline:
            time.sleep(0.3)
            job = gw.get(f"jobs/{job['id']}").json()
        job["stdout"] = [l["text"] for l in gw.get(f"jobs/{job['id']}/logs", params={"format": "json"}).json()["lines"]
                         if l["stream"] == "stdout"]
print("RESULT " + json.dumps({"status_code": reply.status_code, "url": url, "job": job}))
'''


def gateway_pids_of(hub_pid: int) -> list[int]:
    """Processes running ``-m arenahub.gateway`` whose parent is ``hub_pid``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if b"arenahub.gateway" in argv and ppid == hub_pid:
            found.append(int(proc.name))
    return found


def wait_for(check, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not happen within {timeout_s} s")


def answers(url):
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_hub(data_dir: Path) -> RunningHub:
    hub = RunningHub(data_dir, {"gpus": TWO_GPUS, "admin_users": ["organiser"], "gateway": {"port": free_port()}})
    hub.start()
    return hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    running = start_hub(tmp_path_factory.mktemp("gateway-hub"))
    gateway_url = f"http://127.0.0.1:{running.settings['gateway']['port']}"
    try:
        wait_for(lambda: answers(f"{gateway_url}/health"), 60, "the hub's gateway answering /health")
    except TimeoutError:
        running.stop()
        raise
    yield running
    with running.api() as api:
        for user in api.get("/users").json():
            if user["servers"]:
                api.delete(f"/users/{user['name']}/server")
    for name in ("alice",):
        try:
            running.wait_stopped(name, timeout=30)
        except (TimeoutError, KeyError):
            pass
    running.stop()


def gateway(hub, token):
    return httpx.Client(base_url=f"http://127.0.0.1:{hub.settings['gateway']['port']}",
                        headers={"Authorization": f"token {token}"}, timeout=30)


def test_the_hub_starts_the_gateway_and_proxies_it_under_services(hub):
    assert len(gateway_pids_of(hub.proc.pid)) == 1, hub.log_tail()
    proxied = httpx.get(f"{hub.url}/services/arenahub-gateway/openapi.json", timeout=10)
    assert proxied.status_code == 200 and proxied.json()["info"]["title"] == "arenahub job gateway"
    assert (hub.data_dir / "gateway" / "gateway.sqlite").exists()


def test_a_notebook_server_submits_a_job_with_its_own_token_and_reads_it(hub):
    token = hub.user_token("alice")
    with hub.api(token) as api:
        reply = api.post("/users/alice/server", json={"user_options": {"profile": "gpu-quarter"}})
    assert reply.status_code in (201, 202), reply.text
    hub.wait_ready("alice")
    out = run_in_kernel(hub.url, "alice", token, SUBMIT_FROM_THE_NOTEBOOK, timeout=150)
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[len("RESULT "):])
    job = result["job"]
    assert result["url"] == f"http://127.0.0.1:{hub.settings['gateway']['port']}/"
    assert result["status_code"] == 201, job
    assert (job["user"], job["status"]) == ("alice", "succeeded"), job
    assert job["stdout"] == ["hello from the sandbox"]

    with gateway(hub, hub.user_token("bob")) as bob:
        assert bob.get(f"/jobs/{job['id']}").status_code == 404
        assert bob.get(f"/jobs/{job['id']}/logs", params={"format": "json"}).status_code == 404
        assert job["id"] not in [j["id"] for j in bob.get("/jobs").json()["jobs"]]
    with gateway(hub, hub.user_token("organiser")) as organiser:
        shown = organiser.get(f"/jobs/{job['id']}")
        listed = organiser.get("/jobs").json()["jobs"]
    assert shown.status_code == 200 and shown.json()["user"] == "alice"
    assert job["id"] in [j["id"] for j in listed]


def test_a_users_own_hub_token_submits_and_reads_through_the_proxy(hub):
    prefix = f"{hub.url}/services/arenahub-gateway"
    headers = {"Authorization": f"token {hub.user_token('carol')}"}
    with httpx.Client(base_url=prefix, headers=headers, timeout=30) as carol:
        listed = carol.get("/jobs")
        anonymous = httpx.get(f"{prefix}/jobs", timeout=10)
    assert listed.status_code == 200 and listed.json()["jobs"] == []
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "token-missing"


def is_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for a reaper counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def test_the_gateway_stops_when_its_hub_is_killed(tmp_path):
    hub = start_hub(tmp_path / "hub")
    pids: list[int] = []
    try:
        pids = wait_for(lambda: gateway_pids_of(hub.proc.pid), 60, "the hub starting its gateway")
        hub.stop(kill=True)
        wait_for(lambda: not any(is_alive(pid) for pid in pids), 15, "the orphaned gateway exiting")
    finally:
        hub.stop()
        for pid in pids:  # never leave a gateway behind, even when the assertion failed
            if is_alive(pid):
                os.kill(pid, signal.SIGKILL)
