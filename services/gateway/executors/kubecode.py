"""Pure builders for a run's code on the training cluster: the snapshot split into ConfigMap-sized
parts, its index (size, SHA-256), the projected volume of the parts, and the init step's unpack script."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# ConfigMap validation caps data + binaryData at 1 MiB (1,048,576 bytes) and etcd's request limit
# is 1.5 MiB; a part of at most 10^6 raw bytes (protobuf keeps binaryData raw in etcd) leaves room
# for the metadata. The JSON sent to the API server holds it as base64 (4/3), far below its 3 MiB.
CONFIGMAP_LIMIT_BYTES = 1_000_000
DEFAULT_MAX_SNAPSHOT_BYTES = 16 << 20
PART_KEY = "part"  # the one binaryData key of each part's ConfigMap
PART_LABEL = "arenahub.io/code-part"  # the part's position, so `kubectl get cm -l` lists them in order
SNAPSHOT_MOUNT = "/snapshot"
UNPACK_CONTAINER = "unpack-code"
PARTS_ENV, BYTES_ENV, SHA256_ENV = "ARENAHUB_CODE_PARTS", "ARENAHUB_CODE_BYTES", "ARENAHUB_CODE_SHA256"

# Runs in the init step as `python3 -c UNPACK_SCRIPT <parts folder> <workspace>`: join the parts
# in order, check the count, size and SHA-256 the gateway put in the environment, then unpack into
# the workspace refusing links and paths that leave it (tarfile's "data" filter). Any failure
# exits non-zero with one line saying what was wrong (the pod's termination message).
UNPACK_SCRIPT = r"""
import hashlib, io, os, sys, tarfile
src, dest = sys.argv[1], sys.argv[2]
parts, size = int(os.environ['ARENAHUB_CODE_PARTS']), int(os.environ['ARENAHUB_CODE_BYTES'])
want = os.environ['ARENAHUB_CODE_SHA256']
def fail(what):
    sys.exit('arenahub: the code snapshot cannot be unpacked: ' + what + '. The run cannot start; '
             'submit it again, and tell the organisers if this repeats.')
data = bytearray()
for i in range(parts):
    path = os.path.join(src, 'part-%04d' % i)
    if not os.path.isfile(path):
        fail('part %d of %d (%s) is missing' % (i, parts, path))
    with open(path, 'rb') as f:
        data += f.read(size - len(data) + 1)
    if len(data) > size:
        fail('the parts hold more than the %d bytes it has' % size)
if len(data) != size:
    fail('its %d parts hold %d bytes, not %d' % (parts, len(data), size))
got = hashlib.sha256(data).hexdigest()
if got != want:
    fail('its SHA-256 is %s, not %s (a part is damaged or from another run)' % (got, want))
# The gateway made this archive from an upload it had checked (no links, devices or names leaving
# the folder); checked again here, and by the data filter where the image's Python has it (3.11.4+).
guard = {'filter': 'data'} if hasattr(tarfile, 'data_filter') else {}
with tarfile.open(fileobj=io.BytesIO(bytes(data)), mode='r:gz') as t:
    members = t.getmembers()
    for m in members:
        if m.name.startswith('/') or '..' in m.name.split('/'):
            fail('its member %r lies outside the destination' % m.name)
        if not (m.isfile() or m.isdir()):
            fail('its member %r is not a plain file or folder' % m.name)
    t.extractall(dest, members=members, **guard)
"""


@dataclass(frozen=True)
class CodeIndex:
    """What the init step checks before unpacking: how many parts, the archive's size and SHA-256."""

    parts: int
    size: int
    sha256: str


def split_archive(archive: bytes, part_bytes: int = CONFIGMAP_LIMIT_BYTES) -> list[bytes]:
    """``archive`` cut in order into parts of ``part_bytes`` (the last one shorter); none when empty."""
    if part_bytes <= 0:
        raise ValueError(f"part_bytes must be positive, not {part_bytes}.")
    return [archive[i:i + part_bytes] for i in range(0, len(archive), part_bytes)]


def index_archive(archive: bytes, part_bytes: int = CONFIGMAP_LIMIT_BYTES) -> CodeIndex:
    """The CodeIndex of ``archive`` as split_archive cuts it."""
    return CodeIndex(parts=-(-len(archive) // part_bytes), size=len(archive),
                     sha256=hashlib.sha256(archive).hexdigest())


def part_name(job: str, position: int) -> str:
    """The name of the ConfigMap holding part ``position`` of Job ``job``'s code."""
    return f"{job}-code-{position}"


def part_path(position: int) -> str:
    """The part's file name in the init step's snapshot folder (as UNPACK_SCRIPT reads it)."""
    return f"part-{position:04d}"


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"


def snapshot_refusal(size_bytes: int, cap_bytes: int) -> str:
    """The message for a code archive of ``size_bytes`` over the training cluster's cap."""
    return (
        f"The code archive is {_size(size_bytes)} compressed; jobs on this gateway run on a Kubernetes "
        f"training cluster, which takes code archives of at most {_size(cap_bytes)} "
        f"({cap_bytes} bytes, ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__MAX_SNAPSHOT_BYTES). Leave data, "
        "checkpoints and caches out of the job folder (list them in .arenaignore): your job reads its "
        "data from the competition's dataset, mounted read-only under /data."
    )


def check_snapshot_size(size_bytes: int, cap_bytes: int) -> None:
    """Raises ValueError (with snapshot_refusal's message) when ``size_bytes`` is over ``cap_bytes``."""
    if size_bytes > cap_bytes:
        raise ValueError(snapshot_refusal(size_bytes, cap_bytes))


def build_code_configmaps(job: str, namespace: str, archive: bytes, labels: Mapping[str, str],
                          part_bytes: int = CONFIGMAP_LIMIT_BYTES) -> list[dict[str, Any]]:
    """One immutable ConfigMap per part of ``archive``, in order, named part_name(job, i) and
    labelled with ``labels`` plus the part's position (owner references are added once the Job exists)."""
    return [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": part_name(job, i), "namespace": namespace,
                      "labels": {**labels, PART_LABEL: str(i)}},
         "binaryData": {PART_KEY: base64.b64encode(part).decode()},
         "immutable": True}
        for i, part in enumerate(split_archive(archive, part_bytes))
    ]


def owned_by_job(configmap: Mapping[str, Any], job: str, job_uid: str) -> dict[str, Any]:
    """``configmap`` owned by the Job (uid ``job_uid``): deleting the Job (cancel, TTL) deletes it too."""
    metadata = {**configmap["metadata"], "ownerReferences": [{
        "apiVersion": "batch/v1", "kind": "Job", "name": job, "uid": job_uid, "blockOwnerDeletion": True,
    }]}
    return {**configmap, "metadata": metadata}


def build_code_volume(job: str, code: CodeIndex) -> dict[str, Any]:
    """The ``snapshot`` volume: every part's ConfigMap projected into one read-only folder, as part_path(i)."""
    return {"name": "snapshot", "projected": {"defaultMode": 0o444, "sources": [
        {"configMap": {"name": part_name(job, i), "items": [{"key": PART_KEY, "path": part_path(i)}]}}
        for i in range(code.parts)
    ]}}


def build_unpack_container(image: str, code: CodeIndex, security: Mapping[str, Any]) -> dict[str, Any]:
    """The init step that checks and unpacks the parts into /workspace; on failure its last log
    line becomes the container's termination message."""
    return {
        "name": UNPACK_CONTAINER,
        "image": image,
        "command": ["python3", "-I", "-c", UNPACK_SCRIPT, SNAPSHOT_MOUNT, "/workspace"],
        "env": [{"name": PARTS_ENV, "value": str(code.parts)}, {"name": BYTES_ENV, "value": str(code.size)},
                {"name": SHA256_ENV, "value": code.sha256}],
        "securityContext": dict(security),
        "terminationMessagePolicy": "FallbackToLogsOnError",
        # the joined archive is held in memory once (at most max_snapshot_bytes, 64 MiB by validation)
        "resources": {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "volumeMounts": [{"name": "snapshot", "mountPath": SNAPSHOT_MOUNT, "readOnly": True},
                         {"name": "workspace", "mountPath": "/workspace"}],
    }
