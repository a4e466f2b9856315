import shutil

import pytest

from tests.support.hub import RunningHub

TWO_GPUS = [{"index": 0, "name": "FakeGPU", "mem_mib": 16000}, {"index": 1, "name": "FakeGPU", "mem_mib": 16000}]


def pytest_collection_modifyitems(items):
    if shutil.which("bwrap") is None:
        skip = pytest.mark.skip(reason="bubblewrap is not installed (make test installs it)")
        for item in items:
            if "integration/hub" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture
def make_hub(tmp_path):
    hubs: list[RunningHub] = []

    def start(settings=None, extra_config="", data_dir=None):
        hub = RunningHub(data_dir or tmp_path / f"hub{len(hubs)}", {"gpus": TWO_GPUS, **(settings or {})},
                         extra_config=extra_config)
        hubs.append(hub)
        return hub.start()

    yield start
    for hub in hubs:
        _stop_all_servers(hub)
        hub.stop()


def _stop_all_servers(hub):
    if not hub.proc or hub.proc.poll() is not None:
        return
    try:
        with hub.api() as api:
            for user in api.get("/users").json():
                if user["servers"]:
                    api.delete(f"/users/{user['name']}/server")
            for user in api.get("/users").json():
                if user["servers"]:
                    hub.wait_stopped(user["name"], timeout=30)
    except Exception:  # noqa: BLE001 - best-effort cleanup, the hub is stopped next anyway
        pass
