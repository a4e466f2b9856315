"""Sandboxed jobs see their own code copy, the datasets read-only, and nothing else of the host."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from arenahub.gateway.executors import Mount

pytestmark = pytest.mark.integration


@pytest.fixture
def other_home():
    """Another user's home on the host, with a secret in it."""
    home = Path("/home") / f"arenahub-test-{uuid.uuid4().hex[:8]}"
    home.mkdir(parents=True)
    (home / "secret.txt").write_text("other user's secret")
    yield home
    shutil.rmtree(home)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A registered dataset: train/, test/inputs/ and the hidden test/annotations/."""
    root = tmp_path / "datasets" / "faces"
    for sub in ("train", "test/inputs", "test/annotations"):
        (root / sub).mkdir(parents=True)
    (root / "train" / "data.csv").write_text("id,label\n1,cat\n")
    (root / "test" / "inputs" / "img1.txt").write_text("pixels")
    (root / "test" / "annotations" / "labels.json").write_text('{"canary": "ANNOTATION-CANARY-7f3a"}')
    return root


async def test_job_cannot_see_another_users_home_or_host_paths(run_job, other_home, state_dir):
    job = await run_job(f"""
        import os
        for path in ["{other_home}/secret.txt", "/home", "{state_dir}", "/etc/shadow", "/run", "/sys", "/root/.ssh",
                     "/work/main/services", "/var"]:
            print(path, "EXISTS" if os.path.exists(path) else "absent")
        print("users", [l.split(":")[0] for l in open("/etc/passwd")])
    """)
    assert job.result.status == "succeeded", job.text
    assert "EXISTS" not in job.text
    assert job.stdout[-1] == "users ['root', 'sandbox', 'nobody']"


async def test_job_cannot_see_another_jobs_run_folder(run_job, executor):
    first = await run_job("""
        open("model.ckpt", "w").write("first job's weights")
        print("saved")
    """)
    assert first.result.status == "succeeded", first.text
    first_file = Path(first.handle.run_dir) / "work" / "model.ckpt"
    assert first_file.exists()
    second = await run_job(f"""
        import os
        for path in ["{first_file}", "{first.handle.run_dir}", "{Path(first.handle.run_dir).parent}"]:
            print(path, "EXISTS" if os.path.exists(path) else "absent")
        print("workspace", sorted(os.listdir("/workspace")))
    """)
    assert second.result.status == "succeeded", second.text
    assert "EXISTS" not in second.text
    assert second.stdout[-1] == "workspace ['main.py']"


async def test_job_reads_the_dataset_but_cannot_change_it(run_job, dataset):
    data = dataset / "train" / "data.csv"
    before = (data.read_bytes(), data.stat().st_mtime_ns)
    job = await run_job("""
        import os
        print("read", open("/data/train/data.csv").read().splitlines()[1])
        attempts = {
            "overwrite": lambda: open("/data/train/data.csv", "w").write("poisoned"),
            "append": lambda: open("/data/train/data.csv", "a").write("poisoned"),
            "create": lambda: open("/data/train/new.csv", "w").write("x"),
            "delete": lambda: os.remove("/data/train/data.csv"),
            "chmod": lambda: os.chmod("/data/train/data.csv", 0o777),
            "rename": lambda: os.rename("/data/train/data.csv", "/data/train/moved.csv"),
        }
        for name, attempt in attempts.items():
            try:
                attempt()
                print("CHANGED", name)
            except OSError as exc:
                print("refused", name, exc.errno)
    """, mounts=[Mount(dataset / "train", "/data/train")])
    assert job.result.status == "succeeded", job.text
    assert job.stdout[0] == "read 1,cat"
    assert "CHANGED" not in job.text
    assert all(int(line.split()[-1]) in (1, 13, 30) for line in job.stdout[1:])  # EPERM, EACCES, EROFS
    assert (data.read_bytes(), data.stat().st_mtime_ns) == before
    assert sorted(p.name for p in data.parent.iterdir()) == ["data.csv"]


async def test_test_job_sees_inputs_but_never_the_annotations(run_job, dataset):
    job = await run_job(f"""
        import os
        print("inputs", sorted(os.listdir("/data/test/inputs")))
        for path in ["/data/test/annotations", "{dataset}/test/annotations/labels.json", "/data/test"]:
            print(path, "EXISTS" if os.path.exists(path) and path != "/data/test" else "ok")
        print("data/test holds", sorted(os.listdir("/data/test")))
        skip = ("/proc", "/sys", "/dev", "/usr", "/work/main/.venv", "/root/.pyenv", "/work/main/arenahub",
                "/work/main/extensions")
        hits = []
        for root, dirs, files in os.walk("/"):
            dirs[:] = [d for d in dirs if not os.path.join(root, d).startswith(skip)]
            for name in files:
                try:
                    with open(os.path.join(root, name), "rb") as f:
                        if ("ANNOTATION-" + "CANARY").encode() in f.read(1 << 20):
                            hits.append(os.path.join(root, name))
                except OSError:
                    pass
        print("canary found in", hits)
    """, mounts=[Mount(dataset / "test" / "inputs", "/data/test/inputs")])
    assert job.result.status == "succeeded", job.text
    assert job.stdout[0] == "inputs ['img1.txt']"
    assert "EXISTS" not in job.text
    assert "data/test holds ['inputs']" in job.stdout
    assert job.stdout[-1] == "canary found in []"


async def test_code_copy_is_writable_and_owned_by_the_job_while_the_snapshot_stays_intact(run_job, tmp_path):
    job = await run_job("""
        import os
        open("main.py", "a").write("# EDITED")
        os.makedirs("outputs", exist_ok=True)
        open("outputs/predictions.json", "w").write("[]")
        print("uid", os.getuid(), "owner", os.stat("main.py").st_uid == os.getuid())
    """)
    assert job.result.status == "succeeded", job.text
    assert job.stdout[0] == f"uid {job.uid} owner True"
    work = Path(job.handle.run_dir) / "work"
    assert (work / "outputs" / "predictions.json").read_text() == "[]"
    snapshots = [p for p in tmp_path.glob("code-*/main.py")]
    assert (work / "main.py").read_text().endswith("# EDITED")
    assert snapshots and all(not p.read_text().endswith("# EDITED") for p in snapshots)
