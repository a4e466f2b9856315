"""End to end in Chromium: sign in, spawn the 0.25 GPU profile, run the panel in JupyterLab, Train, Test, Cancel.

Everything is real: the hub, the proxy, the sandboxed notebook server with the arenahub
extension, the gateway started by the hub, the bubblewrap job sandbox and the demo job.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, gateway_json
from tests.browser.panel_page import LOSS_RGB, colour_pixels, open_and_run, shut_down_kernels, wait_text

pytestmark = pytest.mark.browser

DEMO_JOB = Path(__file__).resolve().parents[2] / "arenahub" / "demo" / "job"
PANEL_CELL = "from arenahub.widgets import Workbench\nWorkbench({args})"
LONG_JOB = "import time\nfor i in range(600):\n    print(f'still working {i}', flush=True)\n    time.sleep(0.5)\n"


@pytest.fixture(autouse=True)
def one_panel_at_a_time(lab: Lab):
    yield
    shut_down_kernels(lab)


def put_demo(lab: Lab, folder: str = "demo") -> None:
    for name in ("train.py", "predict.py"):
        lab.put_file(f"{folder}/{name}", (DEMO_JOB / name).read_text())


def job_ids(lab: Lab) -> list[str]:
    with lab.api() as api:
        return [j["id"] for j in api.get("arenahub/jobs").json()["jobs"]]


def train_button(panel: Locator, enabled: bool = True) -> Locator:
    button = panel.locator("button.arenahub-train")
    if enabled:
        panel.locator("button.arenahub-train:not([disabled])").wait_for(timeout=60_000)
    return button


def test_the_participant_spawned_the_quarter_gpu_profile(alice: Lab):
    with alice.hub.api() as api:
        server = api.get("/users/alice").json()["servers"][""]
    assert server["ready"] and server["user_options"].get("profile") == "gpu-quarter"
    assert alice.page.locator(".jp-LabShell").is_visible()


def test_train_streams_log_lines_and_grows_the_loss_curve_until_the_job_succeeds(alice: Lab):
    put_demo(alice)
    alice.put_notebook("train.ipynb", PANEL_CELL.format(args='"demo"'))
    panel = open_and_run(alice, "train.ipynb")
    train_button(panel).click()
    status = panel.locator(".arenahub-job-status")
    wait_text(status, "running")
    log = panel.locator(".arenahub-log")
    wait_text(log, "step 20/200")
    chart = panel.locator(".arenahub-chart").first
    chart.wait_for(state="visible")
    early = colour_pixels(alice.shot("plot-early", chart).read_bytes(), LOSS_RGB)
    wait_text(log, "step 120/200")
    later = colour_pixels(alice.shot("plot-later", chart).read_bytes(), LOSS_RGB)
    wait_text(status, "succeeded", timeout_s=90)
    # The status comes from the job list, the lines from the log stream: the last lines may
    # follow the status by a moment, but every line the job printed must arrive.
    wait_text(log, "done: held-out accuracy", timeout_s=30)
    alice.shot("train-succeeded")
    text = log.inner_text()
    assert "no training data mounted" in text
    assert "@@arenahub.metric" in text  # metric lines are shown as lines too, in their own colour
    final = colour_pixels(alice.shot("plot-final", chart).read_bytes(), LOSS_RGB)
    assert early > 30, "the loss line drew no pixels of its colour"
    assert final > later > early, f"the curve did not grow: {early} -> {later} -> {final} pixels"
    assert panel.locator(".arenahub-chart").count() == 2  # loss and acc


def test_cancel_stops_a_long_job_and_the_panel_says_so(alice: Lab):
    alice.put_file("long/train.py", LONG_JOB)
    alice.put_notebook("long.ipynb", PANEL_CELL.format(args='"long"'))
    panel = open_and_run(alice, "long.ipynb")
    train_button(panel).click()
    status = panel.locator(".arenahub-job-status")
    wait_text(status, "running")
    wait_text(panel.locator(".arenahub-log"), "still working 2")
    panel.locator("button.arenahub-cancel:not([disabled])").click()
    wait_text(status, "cancelled", timeout_s=60)
    alice.shot("cancelled")
    assert panel.locator("button.arenahub-cancel").is_disabled()


def test_test_runs_on_the_demo_competitions_hidden_inputs_and_shows_the_score_and_rank(alice: Lab, tmp_path: Path):
    from arenahub.demo import DEMO_DATASET, install

    demo = install(tmp_path)
    for path in [demo.dataset_dir, *demo.dataset_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # read inside the sandbox by the job's own uid
    organiser = alice.hub.user_token("organiser")
    reply = gateway_json(alice.hub, organiser, "POST", "competitions", {"source": demo.yaml_text})
    assert reply.status_code == 201, reply.text
    put_demo(alice)
    # The panel as a newcomer opens it: no entry point named; Test must pick predict.py by itself.
    alice.put_notebook("test.ipynb", PANEL_CELL.format(args=f'"demo", dataset="{DEMO_DATASET}"'))
    panel = open_and_run(alice, "test.ipynb")
    test_picker = panel.locator(".arenahub-test-entrypoint select")
    train_picker = panel.locator(".arenahub-entrypoint select")
    panel.locator("button.arenahub-test:not([disabled])").wait_for(timeout=60_000)
    assert (train_picker.input_value(), test_picker.input_value()) == ("train.py", "predict.py")
    panel.locator("button.arenahub-test").click()
    status = panel.locator(".arenahub-job-status")
    wait_text(status, "(test, predict.py)")
    wait_text(status, "succeeded", timeout_s=90)
    log = wait_text(panel.locator(".arenahub-log"), "wrote 100 answers to ")
    assert "(0 baseline answers)" in log
    shown = wait_text(status, "(rank 1)", timeout_s=90)
    score = float(shown.split("score ", 1)[1].split(" ", 1)[0])
    assert 0.5 < score <= 1.0, shown  # the demo predictor gets most clouds right
    wait_text(panel.locator("table.arenahub-leaderboard"), "alice")
    alice.shot("test-scored")


def submit_as(lab: Lab, token: str, script: str) -> str:
    """Submit a one-file train job straight to the gateway with ``token``; returns its id."""
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        info.size = len(script.encode())
        tar.addfile(info, io.BytesIO(script.encode()))
    spec = {"kind": "train", "entrypoint": "train.py", "gpus": 0, "time_limit_s": 60}
    with httpx.Client(base_url=f"{lab.hub.url}/services/arenahub-gateway/", timeout=60,
                      headers={"Authorization": f"token {token}"}) as http:
        reply = http.post("jobs", files={"code": ("job.tar.gz", raw.getvalue(), "application/gzip")},
                          data={"spec": json.dumps(spec)})
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def test_tensorboard_shows_the_users_scalars_and_refuses_another_user(alice: Lab):
    bob = alice.hub.user_token("bob")
    bobs_job = submit_as(alice, bob, "from arenahub.sdk import report\nreport(1, loss=0.5)\n")
    put_demo(alice)
    with alice.api() as api:  # a short run of her own, so the test does not depend on the others
        job = api.post("arenahub/jobs", json={"folder": "demo", "kind": "train", "entrypoint": "train.py",
                                               "args": ["--steps", "20", "--step-seconds", "0"]}).json()
        for _ in range(600):
            if api.get(f"arenahub/jobs/{job['id']}").json()["status"] == "succeeded":
                break
            time.sleep(0.1)
    alice.put_notebook("tb.ipynb", PANEL_CELL.format(args='"demo"'))
    panel = open_and_run(alice, "tb.ipynb")
    link = panel.locator(".arenahub-tensorboard a")
    link.wait_for(timeout=60_000)
    with alice.page.context.expect_page() as opened:
        link.click()
    board = opened.value
    board.wait_for_load_state()
    with alice.api() as api:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            tags = api.get("arenahub/tensorboard/data/plugin/scalars/tags")
            if tags.status_code == 200 and any("loss" in t for t in tags.json().values()):
                break
            time.sleep(1)
    runs = tags.json()
    assert any("loss" in t for t in runs.values()), runs
    assert not any(run.endswith(bobs_job) for run in runs), "bob's job shows in alice's TensorBoard"
    assert all(run.split("-")[-1] in job_ids(alice) for run in runs)
    newest_train = next(run for run in runs if run.endswith(job["id"]))
    try:
        board.get_by_text(newest_train).first.wait_for(timeout=90_000)  # the run list on the left
    finally:
        board.screenshot(path=str(alice.artifacts / "tensorboard.png"))
        board.close()
    with httpx.Client(base_url=f"{alice.hub.url}/user/alice/", headers={"Authorization": f"token {bob}"},
                      timeout=30, follow_redirects=False) as as_bob:
        refused = as_bob.get("arenahub/tensorboard/data/plugin/scalars/tags")
    assert refused.status_code == 403


def test_bad_folders_show_a_clear_message_and_submit_nothing(alice: Lab):
    alice.put_folder("empty")
    alice.put_file("ignored/train.py", "print('hi')\n")
    alice.put_file("big/train.py", "print('hi')\n")
    before = job_ids(alice)
    alice.put_notebook(
        "bad.ipynb",
        # The contents API refuses hidden files, so the notebook writes .arenaignore, as a user would.
        "open('ignored/.arenaignore', 'w').write('*\\n')\n"
        "open('big/weights.bin', 'wb').truncate(60 * 2**20)  # sparse, 60 MiB",
        "from arenahub.widgets import Workbench\nempty, ignored, big = Workbench('empty'), Workbench('ignored'), "
        "Workbench('big')\nempty",
        "ignored", "big",
    )
    open_and_run(alice, "bad.ipynb")
    empty, ignored, big = (alice.page.locator(".jp-NotebookPanel .arenahub-workbench").nth(i) for i in range(3))
    wait_text(empty.locator(".arenahub-reasons"), "Choose the entry point")
    assert empty.locator("button.arenahub-train").is_disabled()
    train_button(ignored).click()
    wait_text(ignored.locator(".arenahub-message"), "has no files to submit")
    train_button(big).click()
    message = wait_text(big.locator(".arenahub-message"), "the limit is 50.0 MiB")
    assert "weights.bin" in message and "Nothing was submitted" in message
    alice.shot("bad-folders")
    assert "Nothing was submitted" in ignored.locator(".arenahub-message").inner_text()
    assert job_ids(alice) == before


def _gateway_pid(hub_data_dir: Path) -> int:
    gateway_dir = str(hub_data_dir / "gateway")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if b"arenahub.gateway" in cmdline and os.readlink(proc / "cwd") == gateway_dir:
                return int(proc.name)
        except OSError:
            continue
    raise AssertionError(f"no gateway process runs in {gateway_dir}")


def test_a_stopped_gateway_shows_a_clear_message_submits_nothing_and_the_panel_recovers(alice: Lab):
    put_demo(alice)
    alice.put_notebook("outage.ipynb", PANEL_CELL.format(args='"demo"'))
    panel = open_and_run(alice, "outage.ipynb")
    train = train_button(panel)
    before = job_ids(alice)
    os.kill(_gateway_pid(alice.hub.data_dir), signal.SIGKILL)  # the hub restarts it within its poll interval
    train.click()
    message = wait_text(panel.locator(".arenahub-message"), "not reachable")
    assert "nothing was sent" in message
    wait_text(panel.locator(".arenahub-health"), "Retrying in")
    alice.shot("gateway-stopped")
    wait_text(panel.locator(".arenahub-health"), "Connected to the job gateway", timeout_s=120)
    alice.shot("gateway-back")
    assert job_ids(alice) == before


def test_the_panel_shows_the_gpu_line_the_gateways_sampler_gives_for_the_users_slice(alice: Lab):
    put_demo(alice)
    alice.put_notebook("gpu.ipynb", PANEL_CELL.format(args='"demo"'))
    panel = open_and_run(alice, "gpu.ipynb")
    with alice.api() as api:  # the same figures (or reason) the panel gets, through the same proxy
        reply = api.get("arenahub/gpus/mine").json()
    assert reply["available"] is True, reply
    expected = reply["slices"][0]["message"] if reply["slices"] else reply["message"]
    shown = wait_text(panel.locator(".arenahub-gpu"), expected)
    if not reply["slices"]:  # this machine has no GPU: the sampler says why, not a blank
        assert reply["message"].startswith(("No GPU readings on this machine", "You hold no GPU")), reply
    alice.shot("gpu-line")
    assert shown.startswith("GPU ")


TICKING_JOB = "import time\nfor i in range(3000):\n    print(f'tick {i:04d}', flush=True)\n    time.sleep(0.05)\n"
SCROLL_STATE = "b => ({top: b.scrollTop, gap: b.scrollHeight - b.scrollTop - b.clientHeight, height: b.scrollHeight})"


def last_tick(text: str) -> int:
    return max(int(line.split()[1]) for line in text.splitlines() if line.startswith("tick "))


def test_the_log_follows_new_lines_pauses_when_scrolled_up_and_resumes_at_the_bottom(alice: Lab):
    alice.put_file("ticks/train.py", TICKING_JOB)
    alice.put_notebook("ticks.ipynb", PANEL_CELL.format(args='"ticks"'))
    panel = open_and_run(alice, "ticks.ipynb")
    train_button(panel).click()
    box = panel.locator(".arenahub-log .arenahub-log-box")
    follow = panel.locator(".arenahub-follow input")
    wait_text(box, "tick 0060")  # more lines than the box shows
    samples = []
    for _ in range(6):
        samples.append(box.evaluate(SCROLL_STATE))
        time.sleep(0.4)
    assert all(s["gap"] <= 4 for s in samples), f"the view left the bottom while following: {samples}"
    assert samples[-1]["height"] > samples[0]["height"] and samples[0]["top"] > 0, samples

    box.hover()
    alice.page.mouse.wheel(0, -400)  # the user scrolls up to read
    deadline = time.monotonic() + 10
    while follow.is_checked() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not follow.is_checked(), "scrolling up did not pause following"
    time.sleep(0.5)  # let the wheel's smooth scroll settle
    paused, text = box.evaluate(SCROLL_STATE), box.inner_text()
    assert paused["gap"] > 100, paused
    time.sleep(2.5)  # ~50 more lines are printed meanwhile
    alice.shot("log-paused")
    assert box.evaluate(SCROLL_STATE) == paused and box.inner_text() == text, "the view moved while paused"
    with alice.api() as api:  # the job did print more lines than the paused view shows
        job_id = api.get("arenahub/jobs").json()["jobs"][0]["id"]
        page = api.get(f"arenahub/jobs/{job_id}/logs", params={"format": "json", "limit": 5000}).json()
    assert max(int(line["text"].split()[1]) for line in page["lines"] if line["text"].startswith("tick ")) \
        > last_tick(text) + 20

    alice.page.mouse.wheel(0, 100_000)  # back to the bottom
    deadline = time.monotonic() + 10
    while not follow.is_checked() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert follow.is_checked(), "scrolling back to the bottom did not resume following"
    deadline = time.monotonic() + 10
    while last_tick(box.inner_text()) <= last_tick(text) + 20 and time.monotonic() < deadline:
        time.sleep(0.2)
    resumed = box.evaluate(SCROLL_STATE)
    alice.shot("log-resumed")
    assert last_tick(box.inner_text()) > last_tick(text) + 20 and resumed["gap"] <= 4, resumed
    panel.locator("button.arenahub-cancel:not([disabled])").click()
    wait_text(panel.locator(".arenahub-job-status"), "cancelled", timeout_s=60)
