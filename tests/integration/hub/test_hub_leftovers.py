"""The test hub's stop leaves nothing running: not after a crash, not after a start that failed."""

import os
import signal
from pathlib import Path

import pytest

from tests.integration.hub.conftest import TWO_GPUS
from tests.support.hub import RunningHub, free_port

pytestmark = pytest.mark.integration

BROKEN_SERVICE = """
import sys
c.JupyterHub.services = list(c.JupyterHub.services) + [{{
    'name': 'broken', 'url': 'http://127.0.0.1:{port}',
    'command': [sys.executable, '-c', 'raise SystemExit(3)'],
}}]
"""


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (zombies count as gone)."""
    running = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            running.add(pid)
    return running


def cullers_of(hub: RunningHub) -> set[int]:
    """Live idle cullers talking to this hub's API (found without the code under test)."""
    marker = f":{hub.settings['hub_port']}/hub/api".encode()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and "jupyterhub_idle_culler" in command_of(int(entry)):
            try:
                if marker in Path(f"/proc/{entry}/environ").read_bytes():
                    found.add(int(entry))
            except OSError:
                pass
    return found


def test_stopping_a_hub_that_crashed_kills_the_services_and_proxy_it_left(tmp_path):
    hub = RunningHub(tmp_path / "hub", {"gpus": TWO_GPUS}).start()
    try:
        started = hub.started_processes()
        commands = " | ".join(command_of(pid) for pid in started)
        assert cullers_of(hub) <= started and cullers_of(hub), commands
        assert "configurable-http-proxy" in commands and "arenahub.gateway" in commands, commands
        hub.proc.send_signal(signal.SIGKILL)  # the hub dies; what it started lives on, re-parented
        hub.proc.wait(10)
        assert alive(started - {hub.proc.pid}), "nothing outlived the hub: this test checks nothing"
    finally:
        hub.stop()
    assert alive(started) == set(), [command_of(pid) for pid in alive(started)]
    assert hub.started_processes() == set()


def test_a_hub_whose_start_fails_leaves_no_service_running(tmp_path):
    hub = RunningHub(tmp_path / "hub", {"gpus": TWO_GPUS}, extra_config=BROKEN_SERVICE.format(port=free_port()))
    with pytest.raises(RuntimeError) as failure:
        hub.start(timeout=90)
    assert "broken" in str(failure.value)
    assert cullers_of(hub) == set()
    proxy = f"--api-port {hub.settings['proxy_api_port']} "
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and proxy in command_of(int(pid))]
    assert hub.started_processes() == set(), [command_of(pid) for pid in hub.started_processes()]


def ignores_sigint(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    raise AssertionError(f"no SigIgn line for {pid}")


def test_a_hub_started_with_sigint_ignored_still_gives_its_services_sigint(tmp_path):
    # `arenahub run &` from a script or CI starts with SIGINT ignored; JupyterHub stops its
    # services with SIGINT, so they must not inherit that (each stop waited ~30 s out).
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        hub = RunningHub(tmp_path / "hub", {"gpus": TWO_GPUS}).start()
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        cullers = cullers_of(hub)
        assert cullers, "no idle culler found: this test checks nothing"
        assert not ignores_sigint(hub.proc.pid)
        assert not any(ignores_sigint(pid) for pid in cullers)
    finally:
        hub.stop()
