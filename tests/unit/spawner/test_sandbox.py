import pytest

from arenahub.spawner.sandbox import NotebookSandbox, build_bwrap_argv

pytestmark = pytest.mark.unit


def make(**kw):
    base = dict(home_host="/data/homes/alice", home_inside="/home/alice", env={"HOME": "/home/alice"},
                argv=["python", "-m", "x"], readonly_paths=["/opt/venv", "/opt/venv/lib", "/src"],
                hidden_paths=["/src/data", "/elsewhere"], usr_links={"/bin": "usr/bin"})
    base.update(kw)
    return build_bwrap_argv(NotebookSandbox(**base))


def pairs(argv, flag):
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_only_the_users_own_home_is_writable():
    argv = make()
    assert pairs(argv, "--bind") == [("/data/homes/alice", "/home/alice")]
    assert ("/opt/venv", "/opt/venv") in pairs(argv, "--ro-bind")
    assert ("/opt/venv/lib", "/opt/venv/lib") not in pairs(argv, "--ro-bind")  # covered by its parent


def test_hidden_paths_inside_software_paths_are_covered_by_tmpfs():
    argv = make()
    tmpfs = [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"]
    assert "/src/data" in tmpfs and "/elsewhere" not in tmpfs
    assert argv.index("--tmpfs", argv.index("/src")) > argv.index("/src")  # after the bind it covers


def test_environment_is_built_from_scratch_and_processes_are_private():
    argv = make()
    assert "--clearenv" in argv and "--unshare-pid" in argv
    assert pairs(argv, "--setenv") == [("HOME", "/home/alice")]
    assert "--unshare-net" not in argv  # the proxy must reach the server
    assert argv[-4:] == ["--", "python", "-m", "x"]


def test_inner_uid_uses_a_user_namespace_without_capabilities():
    argv = make(inner_uid=200001)
    i = argv.index("--unshare-user")
    assert argv[i:i + 7] == ["--unshare-user", "--uid", "200001", "--gid", "200001", "--cap-drop", "ALL"]
    assert "--unshare-user" not in make()


def test_gpu_devices_are_exposed_only_when_given():
    assert "--dev-bind-try" not in make()
    assert pairs(make(device_paths=["/dev/nvidia0"]), "--dev-bind-try") == [("/dev/nvidia0", "/dev/nvidia0")]
