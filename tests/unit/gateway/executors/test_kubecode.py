"""A run's code on Kubernetes: the snapshot cut into ConfigMap parts, their index, volume, and the init step's script run for real."""

import base64
import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arenahub.gateway.executors.kubecode import (
    CONFIGMAP_LIMIT_BYTES,
    CodeIndex,
    build_code_configmaps,
    build_code_volume,
    build_unpack_container,
    check_snapshot_size,
    index_archive,
    owned_by_job,
    part_path,
    split_archive,
)
from arenahub.gateway.executors.kubejobs import job_outcome
from arenahub.gateway.executors.kubernetes import pack_snapshot

pytestmark = pytest.mark.unit

CHUNK = CONFIGMAP_LIMIT_BYTES


@pytest.mark.parametrize("size, parts, last", [
    (0, 0, None),
    (1, 1, 1),
    (CHUNK - 1, 1, CHUNK - 1),
    (CHUNK, 1, CHUNK),
    (CHUNK + 1, 2, 1),
    (3 * CHUNK, 3, CHUNK),
    (3 * CHUNK + 500_000, 4, 500_000),
])
def test_an_archive_is_cut_into_configmap_sized_parts_at_the_boundary(size, parts, last):
    archive = os.urandom(size)
    cut = split_archive(archive)
    assert len(cut) == parts == index_archive(archive).parts
    assert all(len(part) == CHUNK for part in cut[:-1])
    assert (len(cut[-1]) if cut else None) == last
    assert b"".join(cut) == archive


@given(st.binary(max_size=200), st.integers(min_value=1, max_value=64))
def test_the_parts_join_back_in_order_and_the_index_counts_them(archive, part_bytes):
    cut = split_archive(archive, part_bytes)
    assert b"".join(cut) == archive
    assert index_archive(archive, part_bytes) == CodeIndex(len(cut), len(archive), hashlib.sha256(archive).hexdigest())


def test_a_part_size_of_zero_is_refused():
    with pytest.raises(ValueError, match="positive"):
        split_archive(b"abc", 0)


def test_each_part_is_an_immutable_labelled_configmap_named_by_its_position():
    archive = os.urandom(2 * CHUNK + 10)
    configmaps = build_code_configmaps("arenahub-run-j1", "ns", archive, {"arenahub.io/job-id": "j1"})
    assert [c["metadata"]["name"] for c in configmaps] == [f"arenahub-run-j1-code-{i}" for i in range(3)]
    assert [c["metadata"]["labels"] for c in configmaps] == [
        {"arenahub.io/job-id": "j1", "arenahub.io/code-part": str(i)} for i in range(3)]
    assert all(c["immutable"] is True and c["metadata"]["namespace"] == "ns" for c in configmaps)
    assert b"".join(base64.b64decode(c["binaryData"]["part"]) for c in configmaps) == archive


def test_an_owned_part_names_the_job_and_the_builder_output_is_left_as_it_was():
    configmap = build_code_configmaps("n", "ns", b"abc", {})[0]
    owned = owned_by_job(configmap, "n", "uid-1")
    assert owned["metadata"]["ownerReferences"] == [
        {"apiVersion": "batch/v1", "kind": "Job", "name": "n", "uid": "uid-1", "blockOwnerDeletion": True}]
    assert "ownerReferences" not in configmap["metadata"]


def test_the_volume_projects_every_part_in_order():
    volume = build_code_volume("n", CodeIndex(parts=3, size=1, sha256="x"))
    assert volume["projected"]["defaultMode"] == 0o444
    assert [(s["configMap"]["name"], s["configMap"]["items"]) for s in volume["projected"]["sources"]] == [
        (f"n-code-{i}", [{"key": "part", "path": f"part-000{i}"}]) for i in range(3)]


def test_a_snapshot_at_the_cap_passes_and_one_byte_more_is_refused_with_what_to_do():
    check_snapshot_size(1000, 1000)
    with pytest.raises(ValueError, match=r"at most 1\.0 KiB \(1024 bytes.*MAX_SNAPSHOT_BYTES.*\.arenaignore.*/data"):
        check_snapshot_size(1025, 1024)


# -- the init step's script, run as the init container runs it, over a folder laid out as the
#    projected volume is (part-0000, part-0001, ...) ------------------------------------------

def code_folder(tmp_path: Path) -> bytes:
    """A job folder with incompressible weights, packed as the executor packs it."""
    code = tmp_path / "code"
    (code / "pkg").mkdir(parents=True)
    (code / "train.py").write_text("print('hi')\n")
    (code / "pkg" / "weights.bin").write_bytes(os.urandom(5000))
    return pack_snapshot(code)


def lay_out(tmp_path: Path, archive: bytes, part_bytes: int) -> tuple[Path, CodeIndex]:
    folder = tmp_path / "snapshot"
    folder.mkdir()
    for i, part in enumerate(split_archive(archive, part_bytes)):
        (folder / part_path(i)).write_bytes(part)
    return folder, index_archive(archive, part_bytes)


def run_unpack(snapshot: Path, workspace: Path, code: CodeIndex) -> subprocess.CompletedProcess:
    container = build_unpack_container("image", code, {})
    command = [sys.executable, *container["command"][1:]]
    assert command[-2:] == ["/snapshot", "/workspace"]
    command[-2:] = [str(snapshot), str(workspace)]
    env = {e["name"]: e["value"] for e in container["env"]}
    workspace.mkdir(exist_ok=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_the_init_step_joins_the_parts_and_unpacks_the_folder(tmp_path):
    archive = code_folder(tmp_path)
    snapshot, code = lay_out(tmp_path, archive, part_bytes=1500)
    assert code.parts >= 3
    done = run_unpack(snapshot, tmp_path / "workspace", code)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "workspace" / "train.py").read_text() == "print('hi')\n"
    assert (tmp_path / "workspace" / "pkg" / "weights.bin").read_bytes() == \
        (tmp_path / "code" / "pkg" / "weights.bin").read_bytes()


def test_the_init_step_refuses_a_missing_part_naming_it(tmp_path):
    snapshot, code = lay_out(tmp_path, code_folder(tmp_path), part_bytes=1500)
    (snapshot / part_path(1)).unlink()
    done = run_unpack(snapshot, tmp_path / "workspace", code)
    assert done.returncode == 1
    assert f"part 1 of {code.parts}" in done.stderr and "is missing" in done.stderr
    assert list((tmp_path / "workspace").iterdir()) == []


def test_the_init_step_refuses_parts_whose_hash_does_not_match(tmp_path):
    archive = code_folder(tmp_path)
    snapshot, code = lay_out(tmp_path, archive, part_bytes=1500)
    damaged = bytearray((snapshot / part_path(0)).read_bytes())
    damaged[100] ^= 0xFF
    (snapshot / part_path(0)).write_bytes(bytes(damaged))
    done = run_unpack(snapshot, tmp_path / "workspace", code)
    assert done.returncode == 1 and "SHA-256" in done.stderr and code.sha256 in done.stderr
    assert list((tmp_path / "workspace").iterdir()) == []


@pytest.mark.parametrize("change", ["shorter", "longer"])
def test_the_init_step_refuses_parts_of_the_wrong_total_size(tmp_path, change):
    snapshot, code = lay_out(tmp_path, code_folder(tmp_path), part_bytes=1500)
    last = snapshot / part_path(code.parts - 1)
    data = last.read_bytes()
    last.write_bytes(data[:-1] if change == "shorter" else data + b"x")
    done = run_unpack(snapshot, tmp_path / "workspace", code)
    assert done.returncode == 1 and "bytes" in done.stderr and "cannot be unpacked" in done.stderr


def test_the_init_step_still_refuses_members_that_leave_the_workspace(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.py")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"x=1"))
    snapshot, code = lay_out(tmp_path, buffer.getvalue(), part_bytes=40)
    done = run_unpack(snapshot, tmp_path / "workspace", code)
    assert done.returncode == 1 and "outside the destination" in done.stderr
    assert not (tmp_path / "escape.py").exists()


def test_a_job_whose_code_could_not_be_unpacked_says_why():
    job = {"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}}
    pod = {"status": {"initContainerStatuses": [{"name": "unpack-code", "state": {"terminated": {
        "exitCode": 1, "message": "Traceback ...\narenahub: the code snapshot cannot be unpacked: part 2 of 4 is missing."}}}]}}
    outcome = job_outcome(job, [pod], now=5.0)
    assert (outcome.status, outcome.exit_code) == ("failed", None)
    assert outcome.reason == "arenahub: the code snapshot cannot be unpacked: part 2 of 4 is missing."
