"""Tests of arenahub.gateway.parentwatch: a hub-managed gateway stops once the hub that started it is gone."""

import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.unit

# The "hub" starts the "gateway" and exits; the gateway records the SIGTERM its watcher sends it.
HUB = textwrap.dedent("""
    import subprocess, sys
    gateway = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], start_new_session=True)
    print(gateway.pid, flush=True)
    sys.stdin.readline()
""")
GATEWAY = textwrap.dedent("""
    import os, signal, sys, time
    from arenahub.gateway.parentwatch import stop_when_parent_exits
    signal.signal(signal.SIGTERM, lambda *_: (open(sys.argv[1], "w").write("stopped"), os._exit(0)))
    stop_when_parent_exits(os.getppid(), interval_s=0.05)
    open(sys.argv[1], "w").write("watching")
    time.sleep(30)
    open(sys.argv[1], "w").write("outlived its hub")
""")


def wait_for_text(path, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    return path.read_text() if path.exists() else ""


def test_a_gateway_started_by_a_hub_stops_when_the_hub_exits(tmp_path):
    marker = tmp_path / "gateway-state"
    with subprocess.Popen([sys.executable, "-c", HUB, GATEWAY, str(marker)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as hub:
        try:
            hub.stdout.readline()
            assert wait_for_text(marker) == "watching"  # alive while its hub lives
            time.sleep(0.3)
            assert marker.read_text() == "watching"
            hub.stdin.write("exit\n")
            hub.stdin.flush()
            hub.wait(10)
        finally:
            hub.kill()
    deadline = time.monotonic() + 10
    while marker.read_text() == "watching" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "stopped"
