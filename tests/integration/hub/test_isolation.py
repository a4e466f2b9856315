"""Attack tests from inside a user's server: other homes and the hub's files do not exist."""

import json

import pytest

from tests.support.kernel import run_in_kernel

pytestmark = pytest.mark.integration

PROBE = r'''
import json, os, subprocess
targets = {paths}
result = {{}}
for name, path in targets.items():
    try:
        if os.path.isdir(path):
            result[name] = "listed:" + ",".join(os.listdir(path))
        else:
            with open(path, "rb") as f:
                result[name] = "read:%d" % len(f.read())
    except OSError as e:
        result[name] = type(e).__name__
shell = subprocess.run(["bash", "-c", "cat {alice_file} 2>&1; ls {homes} 2>&1"], capture_output=True, text=True)
result["shell"] = shell.stdout
result["procs"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
try:
    result["environ_1"] = open("/proc/1/environ", "rb").read().decode(errors="replace")
except OSError as e:
    result["environ_1"] = type(e).__name__
result["uid"] = os.getuid()
print(json.dumps(result))
'''


def test_a_user_cannot_read_another_home_or_the_hub_database(make_hub):
    hub = make_hub()
    tokens = {}
    for name in ("alice", "bob"):
        tokens[name] = hub.user_token(name)
        with hub.api(tokens[name]) as api:
            assert api.post(f"/users/{name}/server", json={"user_options": {"profile": "cpu"}}).status_code in (201, 202)
        hub.wait_ready(name)
    run_in_kernel(hub.url, "alice", tokens["alice"], "open('secret.txt', 'w').write('alice-only')")
    homes = hub.data_dir / "homes"
    alice_file = homes / "alice" / "secret.txt"
    assert alice_file.read_text() == "alice-only"  # it is really there on the host
    targets = {
        "alice_home_host_path": str(homes / "alice"),
        "alice_file_host_path": str(alice_file),
        "alice_home_inside_path": "/home/alice",
        "homes_root": str(homes),
        "hub_db": str(hub.data_dir / "hub" / "jupyterhub.sqlite"),
        "cookie_secret": str(hub.data_dir / "hub" / "jupyterhub_cookie_secret"),
        "proxy_token": str(hub.data_dir / "hub" / "proxy_token"),
        "data_dir": str(hub.data_dir),
    }
    code = PROBE.format(paths=json.dumps(targets), alice_file=alice_file, homes=homes)
    out = run_in_kernel(hub.url, "bob", tokens["bob"], code)
    result = json.loads(out.strip().splitlines()[-1])
    for name in targets:
        if name == "data_dir":
            # the data dir path may exist as an empty mount point, but holds nothing
            assert result[name] in ("FileNotFoundError", "listed:"), (name, result[name])
        else:
            assert result[name] in ("FileNotFoundError", "PermissionError"), (name, result[name])
    assert "alice-only" not in result["shell"]
    # bob sees his own processes only, and pid 1 carries no hub secret
    assert max(result["procs"]) < 100
    assert tokens["alice"] not in out and hub.admin_token not in out
    assert result["uid"] != 0  # the server never runs as root
