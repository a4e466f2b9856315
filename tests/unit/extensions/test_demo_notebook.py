"""The demo home's "Start here" notebook opens a panel on which Train runs train.py and Test runs predict.py."""

import asyncio
import shutil

import pytest

from arenahub.cli.demo import DEMO_JOB, starter_notebook
from arenahub.demo import DEMO_DATASET
from tests.unit.extensions.servers import register_dataset
from tests.unit.extensions.test_workbench import until

pytestmark = pytest.mark.unit


def test_the_welcome_text_asks_for_no_picker_change_before_test():
    welcome, cell = (c.source for c in starter_notebook().cells)
    assert "Click **Train**" in welcome and "Click **Test**" in welcome
    assert "Pick **predict.py**" not in welcome and "Nothing to change first" in welcome
    assert 'test_entrypoint="predict.py"' in cell


async def test_running_the_starter_cell_gives_a_panel_whose_train_and_test_start_the_demo_scripts(
        stack, tmp_path, monkeypatch):
    await register_dataset(stack.hub, stack.gateway, tmp_path, DEMO_DATASET)
    shutil.copytree(DEMO_JOB, stack.home / "demo-job")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", stack.server.url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", stack.server.token)
    cell = starter_notebook().cells[1].source
    namespace: dict = {}
    exec(compile(cell.replace("\nWorkbench(", "\npanel = Workbench("), "Start here.ipynb", "exec"), namespace)
    panel = namespace["panel"]
    try:
        ui = panel.ui
        await until(lambda: not ui.train.disabled and not ui.test.disabled, "Train and Test to be enabled")
        assert (ui.entrypoint.value, ui.test_entrypoint.value, ui.dataset.value) == ("train.py", "predict.py",
                                                                                     DEMO_DATASET)
        ui.train.click()
        await until(lambda: len(stack.gateway.executor.started) == 1 and not ui.test.disabled, "the train job")
        ui.test.click()
        await until(lambda: len(stack.gateway.executor.started) == 2, "the test job")
    finally:
        await asyncio.to_thread(panel.close)
    assert [s.argv[-1] for s in stack.gateway.executor.started] == ["train.py", "predict.py"]
