"""The Workbench panel (kernel side, no browser) against a real notebook server and gateway."""

import asyncio
import time

import pytest

from arenahub.widgets.workbench import Workbench

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
