import pytest

from arenahub.core.bwrap import build_bwrap_argv
from arenahub.spawner.sandbox import NotebookSandbox, make_notebook_spec

pytestmark = pytest.mark.unit
LAYOUT = {"/usr": None, "/bin": "usr/bin", "/lib": "usr/lib"}


def make(**kw):
    base = dict(home_host="/data/homes/alice", home_inside="/home/alice", env={"HOME": "/home/alice"},
                argv=["python", "-m", "x"], uid=200001, etc_dir="/data/server-etc/alice",
                system_layout=LAYOUT, software_paths=["/opt/venv", "/opt/venv/lib", "/src", "/usr/lib/python3"],
                hidden_paths=["/src/data", "/elsewhere"])
    base.update(kw)
    return build_bwrap_argv(make_notebook_spec(NotebookSandbox(**base)))


def pairs(argv, flag):
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_only_the_users_own_home_is_writable():
    argv = make()
    assert pairs(argv, "--bind") == [("/data/homes/alice", "/home/alice")]
    ro = pairs(argv, "--ro-bind")
    assert ("/opt/venv", "/opt/venv") in ro and ("/src", "/src") in ro
    assert ("/opt/venv/lib", "/opt/venv/lib") not in ro        # covered by its parent
    assert ("/usr/lib/python3", "/usr/lib/python3") not in ro  # covered by /usr
    assert ("/data/server-etc/alice/passwd", "/etc/passwd") in ro


def test_hidden_paths_inside_software_paths_are_covered_by_tmpfs():
    argv = make()
    tmpfs = [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"]
    assert "/src/data" in tmpfs and "/elsewhere" not in tmpfs
    assert argv.index("/src/data") > argv.index("/src")  # mounted over the bind it covers


def test_the_server_drops_to_its_uid_with_no_capabilities_and_keeps_the_host_network():
    argv = make()
    assert "--unshare-net" not in argv and "--unshare-pid" in argv and "--clearenv" in argv
    assert "--die-with-parent" not in argv  # servers survive a hub restart
    cmd = argv[argv.index("--") + 1:]
    assert cmd[:3] == ["/usr/bin/setpriv", "--reuid=200001", "--regid=200001"]
    assert "--bounding-set=-all" in cmd and cmd[-3:] == ["python", "-m", "x"]
    assert pairs(argv, "--setenv") == [("HOME", "/home/alice")]


def test_without_root_the_uid_comes_from_a_user_namespace():
    argv = make(as_root=False)
    assert "--unshare-user" in argv and argv[argv.index("--uid") + 1] == "200001"
    assert "/usr/bin/setpriv" not in argv


def test_gpu_devices_are_exposed_only_when_given():
    assert "--dev-bind-try" not in make()
    assert pairs(make(device_paths=["/dev/nvidia0"]), "--dev-bind-try") == [("/dev/nvidia0", "/dev/nvidia0")]
