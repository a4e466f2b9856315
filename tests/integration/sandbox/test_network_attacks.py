"""Sandboxed jobs cannot open any network connection: not to host loopback, not to the internet."""

from __future__ import annotations

import socket

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def host_server():
    """A TCP server on the host's 127.0.0.1, standing in for the hub's and the gateway's ports."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


async def test_job_cannot_connect_to_a_server_on_host_loopback(run_job, host_server):
    port = host_server.getsockname()[1]
    job = await run_job(f"""
        import socket
        for host in ("127.0.0.1", "localhost", "::1"):
            try:
                socket.create_connection((host, {port}), timeout=2)
                print("CONNECTED", host)
            except OSError as exc:
                print("blocked", host, type(exc).__name__)
        print("interfaces", [name for _, name in socket.if_nameindex()])
    """)
    assert job.result.status == "succeeded", job.text
    assert "CONNECTED" not in job.text
    assert job.stdout[:3] == [
        "blocked 127.0.0.1 ConnectionRefusedError",
        "blocked localhost ConnectionRefusedError",
        "blocked ::1 ConnectionRefusedError",
    ]
    assert job.stdout[3] == "interfaces ['lo']"
    with pytest.raises(BlockingIOError):
        host_server.accept()  # nothing ever reached the host's listener


async def test_job_can_neither_resolve_names_nor_reach_public_addresses(run_job):
    job = await run_job("""
        import socket
        try:
            socket.getaddrinfo("pypi.org", 443)
            print("RESOLVED")
        except OSError as exc:
            print("dns blocked", type(exc).__name__)
        for family, kind, addr in [(socket.AF_INET, socket.SOCK_STREAM, ("1.1.1.1", 53)),
                                   (socket.AF_INET, socket.SOCK_DGRAM, ("8.8.8.8", 53)),
                                   (socket.AF_INET6, socket.SOCK_STREAM, ("2606:4700:4700::1111", 53))]:
            s = socket.socket(family, kind)
            s.settimeout(2)
            try:
                if kind == socket.SOCK_DGRAM:
                    s.sendto(b"x", addr)
                else:
                    s.connect(addr)
                print("REACHED", addr[0])
            except OSError as exc:
                print("unreachable", addr[0], exc.errno)
    """)
    assert job.result.status == "succeeded", job.text
    assert "RESOLVED" not in job.text and "REACHED" not in job.text
    assert job.stdout[0] == "dns blocked gaierror"
    assert [line.split()[0] for line in job.stdout[1:]] == ["unreachable"] * 3
