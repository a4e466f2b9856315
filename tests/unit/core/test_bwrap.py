"""Unit tests for the pure bubblewrap argv builder."""

import struct

import pytest

from arenahub.core.bwrap import (
    Bind,
    SandboxSpec,
    Symlink,
    Tmpfs,
    build_bwrap_argv,
    build_keyring_seccomp,
    make_system_mounts,
)

pytestmark = pytest.mark.unit


def _pairs(argv: list[str], flag: str, width: int = 1) -> list[tuple[str, ...]]:
    return [tuple(argv[i + 1 : i + 1 + width]) for i, a in enumerate(argv) if a == flag]


def test_default_spec_unshares_every_namespace_but_user_and_starts_from_a_clear_environment():
    argv = build_bwrap_argv(SandboxSpec(argv=("python", "train.py")))
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--new-session",
                 "--die-with-parent", "--clearenv"):
        assert flag in argv
    assert "--unshare-user" not in argv
    assert argv[0] == "/usr/bin/bwrap"
    assert argv[-3:] == ["--", "python", "train.py"]


def test_command_comes_after_the_separator_even_when_it_looks_like_an_option():
    argv = build_bwrap_argv(SandboxSpec(argv=("--help",)))
    assert argv[-2:] == ["--", "--help"]


def test_environment_is_set_variable_by_variable_after_clearenv():
    argv = build_bwrap_argv(SandboxSpec(argv=("env",), env=(("HOME", "/tmp"), ("A", "1 2"))))
    assert _pairs(argv, "--setenv", 2) == [("HOME", "/tmp"), ("A", "1 2")]
    assert argv.index("--clearenv") < argv.index("--setenv")


def test_binds_map_to_read_only_writable_device_and_try_flags():
    spec = SandboxSpec(argv=("x",), binds=(
        Bind("/data/train", "/data/train"),
        Bind("/runs/j1/work", "/workspace", writable=True),
        Bind("/dev/nvidia0", "/dev/nvidia0", device=True),
        Bind("/etc/localtime", "/etc/localtime", required=False),
    ))
    argv = build_bwrap_argv(spec)
    assert ("/data/train", "/data/train") in _pairs(argv, "--ro-bind", 2)
    assert ("/runs/j1/work", "/workspace") in _pairs(argv, "--bind", 2)
    assert ("/dev/nvidia0", "/dev/nvidia0") in _pairs(argv, "--dev-bind", 2)
    assert ("/etc/localtime", "/etc/localtime") in _pairs(argv, "--ro-bind-try", 2)


def test_tmpfs_carries_its_size_and_mode_right_before_it():
    argv = build_bwrap_argv(SandboxSpec(argv=("x",), tmpfs=(Tmpfs("/tmp", 1048576, 0o1777),)))
    i = argv.index("--tmpfs")
    assert argv[i - 4 : i + 2] == ["--perms", "1777", "--size", "1048576", "--tmpfs", "/tmp"]


def test_parent_folders_of_mount_points_are_created_traversable_once():
    spec = SandboxSpec(argv=("x",), binds=(
        Bind("/root/.pyenv/versions/3.11.7", "/root/.pyenv/versions/3.11.7"),
        Bind("/root/.pyenv/versions/3.12.0", "/root/.pyenv/versions/3.12.0"),
    ))
    dirs = _pairs(build_bwrap_argv(spec), "--dir")
    assert dirs == [("/root",), ("/root/.pyenv",), ("/root/.pyenv/versions",)]
    argv = build_bwrap_argv(spec)
    assert argv[argv.index("--dir") - 2 : argv.index("--dir")] == ["--perms", "0755"]


def test_no_folder_is_created_inside_a_host_bind():
    spec = SandboxSpec(argv=("x",), binds=(Bind("/srv/ds", "/data"), Bind("/srv/ds2/x", "/data/inner/x")))
    assert ("/data/inner",) not in _pairs(build_bwrap_argv(spec), "--dir")


def test_mounts_are_ordered_parents_first_whatever_the_input_order():
    spec = SandboxSpec(argv=("x",), binds=(Bind("/a/b", "/data/test/inputs"), Bind("/a", "/data")),
                       tmpfs=(Tmpfs("/dev/shm", 10),))
    argv = build_bwrap_argv(spec)
    assert argv.index("/data") < argv.index("/data/test/inputs")
    assert argv.index("--dev") < argv.index("/dev/shm")


def test_system_layout_turns_symlinked_folders_into_symlinks_and_real_ones_into_binds():
    binds, links = make_system_mounts({"/usr": None, "/bin": "usr/bin", "/lib64": "usr/lib64"}, ("/etc/ld.so.cache",))
    assert Bind("/usr", "/usr") in binds
    assert Bind("/etc/ld.so.cache", "/etc/ld.so.cache", required=False) in binds
    assert set(links) == {Symlink("usr/bin", "/bin"), Symlink("usr/lib64", "/lib64")}
    argv = build_bwrap_argv(SandboxSpec(argv=("x",), binds=binds, symlinks=links))
    assert ("usr/bin", "/bin") in _pairs(argv, "--symlink", 2)


def test_capabilities_are_dropped_before_the_kept_ones_are_added():
    argv = build_bwrap_argv(SandboxSpec(argv=("x",), cap_add=("CAP_SETUID",)))
    assert argv.index("--cap-drop") < argv.index("--cap-add")
    assert _pairs(argv, "--cap-drop") == [("ALL",)]


def test_status_and_seccomp_fds_are_passed_through():
    argv = build_bwrap_argv(SandboxSpec(argv=("x",), json_status_fd=5, seccomp_fd=6))
    assert _pairs(argv, "--json-status-fd") == [("5",)]
    assert _pairs(argv, "--seccomp") == [("6",)]


@pytest.mark.parametrize("spec, message", [
    (SandboxSpec(argv=()), "argv is empty"),
    (SandboxSpec(argv=("x",), binds=(Bind("/a", "data"),)), "must be absolute"),
    (SandboxSpec(argv=("x",), binds=(Bind("/a", "/data/../etc"),)), "without '..'"),
    (SandboxSpec(argv=("x",), binds=(Bind("/a", "/d"), Bind("/b", "/d"))), "share the target /d"),
    (SandboxSpec(argv=("x",), env=(("BAD-NAME", "1"),)), "not a valid"),
    (SandboxSpec(argv=("x",), uid=1000), "need unshare_user"),
    (SandboxSpec(argv=("x",), unshare_uts=False), "needs unshare_uts"),
    (SandboxSpec(argv=("x",), tmpfs=(Tmpfs("/tmp", 0),)), "must be positive"),
    (SandboxSpec(argv=("x",), cap_add=("setuid",)), "CAP_SETUID"),
])
def test_invalid_specs_are_refused_with_a_reason(spec, message):
    with pytest.raises(ValueError, match=message):
        build_bwrap_argv(spec)


def test_user_namespace_spec_maps_the_requested_ids():
    argv = build_bwrap_argv(SandboxSpec(argv=("x",), unshare_user=True, uid=1000, gid=100))
    assert _pairs(argv, "--uid") == [("1000",)] and _pairs(argv, "--gid") == [("100",)]


def _run_bpf(program: bytes, arch: int, nr: int) -> int:
    """A tiny interpreter of the instructions build_keyring_seccomp emits."""
    insns = [struct.unpack("<HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]
    data = {0: nr, 4: arch}
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:
            acc, pc = data[k], pc + 1
        elif code in (0x15, 0x35):
            hit = acc == k if code == 0x15 else acc >= k
            pc += 1 + (jt if hit else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


@pytest.mark.parametrize("nr, verdict", [(250, 0x00050001), (248, 0x00050001), (249, 0x00050001),
                                         (0, 0x7FFF0000), (57, 0x7FFF0000), (0x40000000 | 250, 0x00050001)])
def test_keyring_seccomp_refuses_keyring_syscalls_and_allows_the_rest(nr, verdict):
    assert _run_bpf(build_keyring_seccomp("x86_64"), 0xC000003E, nr) == verdict


def test_keyring_seccomp_refuses_syscalls_of_another_abi():
    assert _run_bpf(build_keyring_seccomp("x86_64"), 0x40000003, 1) == 0x00050000 | 38


def test_keyring_seccomp_names_known_architectures_for_an_unknown_one():
    with pytest.raises(ValueError, match="aarch64, x86_64"):
        build_keyring_seccomp("sparc")
