"""The Workbench panel (kernel side, no browser) against a real notebook server and gateway."""

import asyncio
import time

import pytest

from arenahub.widgets.workbench import Workbench
from tests.unit.extensions.servers import register_dataset

pytestmark = pytest.mark.unit


async def until(predicate, what, timeout_s=20.0):
    """Let the in-process servers run until ``predicate()`` holds; the panel's threads do the calls."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s} s for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def workbench(stack):
    (stack.home / "demo").mkdir()
    (stack.home / "demo" / "train.py").write_text("print('hi')\n")
    panel = Workbench("demo", server_url=stack.server.url, token=stack.server.token)
    yield panel
    # close() waits for the panel's threads, whose requests need this event loop to be answered.
    await asyncio.to_thread(panel.close)


async def test_the_panel_connects_picks_train_py_and_a_click_on_train_runs_a_job(stack, workbench):
    ui = workbench.ui
    await until(lambda: not ui.train.disabled, "Train to be enabled")
    assert "Connected to the job gateway" in ui.health.value
    assert ui.entrypoint.value == "train.py"
    assert ui.test.disabled and "No datasets are registered yet" in ui.reasons.value
    ui.train.click()
    await until(lambda: "arenahub-status-succeeded" in ui.job_status.value, "the job to succeed")
    await until(lambda: "line 2" in ui.log.value, "the log lines")
    assert "Train job" in ui.message.value and "1 files" in ui.message.value
    assert len(ui.jobs.options) == 1 and ui.cancel.disabled
    (spec,) = stack.gateway.executor.started
    assert spec.argv[-1] == "train.py"


async def test_an_unreachable_gateway_shows_an_error_disables_the_buttons_and_the_panel_recovers_by_itself(
        stack, workbench):
    ui = workbench.ui
    await until(lambda: not ui.train.disabled, "Train to be enabled")
    await stack.gateway.stop()
    workbench._wake.set()  # poll now rather than in 10 s
    await until(lambda: "not reachable" in ui.health.value, "the outage to show")
    assert "Retrying in" in ui.health.value
    assert ui.train.disabled and "The job gateway is not reachable" in ui.reasons.value
    await stack.gateway.start()  # same port, same database: as after a restart
    await until(lambda: "Connected to the job gateway" in ui.health.value, "the automatic retry", timeout_s=30)
    assert not ui.train.disabled and "Train</b> is unavailable" not in ui.reasons.value


async def test_a_train_click_on_an_empty_folder_shows_the_servers_message_and_submits_nothing(stack, workbench):
    ui = workbench.ui
    await until(lambda: not ui.train.disabled, "Train to be enabled")
    (stack.home / "demo" / "train.py").unlink()
    (stack.home / "demo" / ".arenaignore").write_text("*\n")
    workbench._submit("train")  # the button's handler, with the picker still on train.py
    await until(lambda: "has no files to submit" in ui.message.value, "the refusal")
    assert "Nothing was submitted" in ui.message.value and "✖" in ui.message.value
    assert stack.gateway.executor.started == []
    assert not ui.train.disabled  # fixing the folder is the way forward, so Train stays usable


async def test_train_runs_train_py_and_test_runs_predict_py_without_touching_a_picker(stack, tmp_path):
    await register_dataset(stack.hub, stack.gateway, tmp_path)
    for name in ("predict.py", "train.py", "utils.py"):
        (stack.home / "demo").mkdir(exist_ok=True)
        (stack.home / "demo" / name).write_text("print('hi')\n")
    panel = Workbench("demo", dataset="pts", server_url=stack.server.url, token=stack.server.token)
    try:
        ui = panel.ui
        await until(lambda: not ui.test.disabled and not ui.train.disabled, "Train and Test to be enabled")
        assert (ui.entrypoint.value, ui.test_entrypoint.value) == ("train.py", "predict.py")
        assert ui.entrypoint.description == "Train runs" and ui.test_entrypoint.description == "Test runs"
        ui.train.click()
        await until(lambda: len(stack.gateway.executor.started) == 1 and not ui.test.disabled, "the train job")
        ui.test.click()
        await until(lambda: len(stack.gateway.executor.started) == 2, "the test job")
        await until(lambda: "(test, predict.py)" in ui.job_status.value, "the test job's line")
    finally:
        await asyncio.to_thread(panel.close)
    started = stack.gateway.executor.started
    assert [(s.env.get("ARENAHUB_JOB_KIND"), s.argv[-1]) for s in started] == [("train", "train.py"),
                                                                                ("test", "predict.py")]


async def test_the_old_single_entrypoint_argument_still_picks_the_train_script_and_test_falls_back_to_it(stack):
    (stack.home / "solo").mkdir()
    for name in ("main.py", "train.py"):
        (stack.home / "solo" / name).write_text("")
    panel = Workbench("solo", entrypoint="main.py", server_url=stack.server.url, token=stack.server.token)
    try:
        await until(lambda: panel.ui.entrypoint.value == "main.py", "the entry point")
        assert panel.ui.test_entrypoint.value == "main.py"  # no predict.py: the script named for both, as before
        panel.ui.folder.value = "demo-missing"
        await until(lambda: panel.ui.test_entrypoint.options == ("",), "the empty folder's pickers")
        await until(lambda: "demo-missing&#x27; does not exist" in panel.ui.reasons.value, "the reason")
    finally:
        await asyncio.to_thread(panel.close)


async def test_the_panel_shows_the_users_gpu_slice_figures_from_the_sampler(stack, workbench):
    from tests.unit.extensions.servers import recorded_slice_sample, use_recorded_sampler

    ui = workbench.ui
    await until(lambda: "Connected" in ui.health.value, "the gateway")
    await use_recorded_sampler(stack.gateway, recorded_slice_sample("alice"))
    workbench._wake.set()  # the next poll, rather than in 10 s
    await until(lambda: "your slice: 31 % busy, 5.2 / 8 GiB" in ui.gpu.value, "the GPU line")
    assert ui.gpu.layout.display is None and "#6c757d" not in ui.gpu.value


async def test_without_gpu_readings_the_panel_shows_the_samplers_reason(stack, workbench):
    from arenahub.extensions.gatewayclient import GatewayClient

    direct = GatewayClient(stack.gateway.url, stack.hub.token_for("alice"))
    reason = (await direct.fetch_json("gpus/mine"))["message"]
    await direct.aclose()
    await until(lambda: reason in workbench.ui.gpu.value, "the sampler's reason")
    assert workbench.ui.gpu.layout.display is None and "#6c757d" in workbench.ui.gpu.value


async def test_scrolling_up_pauses_the_log_view_and_scrolling_back_down_catches_up(stack, workbench):
    ui = workbench.ui
    await until(lambda: "Connected" in ui.health.value, "the gateway")
    async with stack.server.client() as http:  # a job that runs until the test ends it
        reply = await http.post("jobs", json={"folder": "demo", "kind": "train", "entrypoint": "train.py",
                                              "env": {"FAKE_END": "hang"}})
    job_id = reply.json()["id"]
    workbench._wake.set()  # the panel opens on the newest job
    await until(lambda: "line 2" in ui.log.value, "the first lines")
    ui.log.following = False  # what the browser sends when the user scrolls up
    assert ui.follow.value is False  # ... and the Follow log box unticks with it
    drawn = ui.log.value
    stack.gateway.executor.emit(job_id, "written while the user reads")
    await until(lambda: workbench._logs.entries[-1].text == "written while the user reads", "the line to arrive")
    await asyncio.sleep(0.6)  # more than two redraw periods
    assert ui.log.value == drawn, "the view moved while the user was reading"
    ui.log.following = True  # scrolled back to the bottom
    await until(lambda: "written while the user reads" in ui.log.value, "the view to catch up")
    stack.gateway.executor.finish(job_id, "succeeded", 0)
