"""End to end through a real gateway and the bubblewrap LocalExecutor: a test job is scored onto the leaderboard."""

import json
import os
import shutil

import pytest

from arenahub.demo import install
from arenahub.scoring import sample_split
from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.gateway.archives import make_archive
from tests.support.scores import wait_for_score

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                       reason="the LocalExecutor needs root and bubblewrap (make test-deps installs it)"),
]

# Answers "cat" for every sample with the right count, and plants a symlink to the real
# annotation (whose host path it was given) as sample 00001's output: the scorer must refuse it.
PREDICT = """
import json, os, pathlib
inputs = pathlib.Path(os.environ["ARENAHUB_DATA_DIR"]) / "test" / "inputs"
out = pathlib.Path(os.environ["ARENAHUB_OUTPUT_DIR"])
out.mkdir(parents=True, exist_ok=True)
print("annotations visible:", os.path.exists("/data/test/annotations"))
for path in sorted(inputs.glob("*.json")):
    if path.stem == "00001":
        os.symlink(os.environ["PLANTED"], out / "00001.json")
        continue
    points = json.loads(path.read_text())["points"]
    (out / path.name).write_text(json.dumps({"label": "cat", "count": len(points)}))
print("wrote outputs")
"""


def expected_scores(dataset_dir, seed, public_fraction):
    per_split = {"public": [], "private": []}
    for path in sorted((dataset_dir / "test" / "annotations").glob("*.json")):
        truth = json.loads(path.read_text())
        value = 0.0 if path.stem == "00001" else 0.5 + 0.5 * (truth["label"] == "cat")
        per_split[sample_split(path.stem, seed, public_fraction)].append(value)
    return {k: sum(v) / len(v) for k, v in per_split.items()}


@pytest.fixture
async def local_gateway(gateway):
    from arenahub.gateway.executors.local import LocalExecutor

    await gateway.served[-1].stop()
    await gateway.start(executor=LocalExecutor(gateway.state_dir))
    return gateway


async def test_a_test_job_is_scored_onto_the_leaderboard_and_reasons_stay_with_admins(local_gateway, tmp_path):
    gateway = local_gateway
    demo = install(tmp_path / "demo")
    board = demo.spec.leaderboard
    expected = expected_scores(demo.dataset_dir, board.split_seed, board.public_fraction)
    planted = str(demo.dataset_dir / "test" / "annotations" / "00001.json")
    ada_name = unique_user("ada")
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as organiser, \
            gateway.client(gateway.hub.token_for(ada_name)) as ada:
        created = await organiser.post("/competitions", json={"source": demo.yaml_text})
        assert created.status_code == 201, created.text
        assert (await ada.post("/competitions", json={"source": demo.yaml_text})).status_code == 403

        job = (await submit(ada, {"kind": "test", "entrypoint": "predict.py", "dataset": "demo-points",
                                  "env": {"PLANTED": planted}},
                            code=make_archive({"predict.py": PREDICT}))).json()
        done = await wait_for_status(ada, job["id"], {"succeeded", "failed"}, timeout_s=90)
        assert done["status"] == "succeeded", done
        score = await wait_for_score(ada, job["id"])
        lines = (await ada.get(f"/jobs/{job['id']}/logs", params={"format": "json"})).json()["lines"]

        assert "annotations visible: False" in [line["text"] for line in lines]
        assert score["status"] == "scored"
        assert score["score"] == pytest.approx(expected["public"])
        assert "private_score" not in score  # hidden until the competition closes

        ranked = (await ada.get("/leaderboard")).json()
        assert ranked["competition"] == "demo" and ranked["split"] == "public"
        row = next(r for r in ranked["rows"] if r["user"] == ada_name)
        assert (row["rank"], row["submissions"]) == (1, 1)
        assert row["score"] == pytest.approx(expected["public"])
        assert row["code_sha256"] == done["code_sha256"] and row["job_id"] == job["id"]

        refused = await ada.get(f"/jobs/{job['id']}/score/samples")
        assert refused.status_code == 403
        samples = (await organiser.get(f"/jobs/{job['id']}/score/samples")).json()["samples"]
        by_id = {s["sample_id"]: s for s in samples}
        assert len(by_id) == 100
        assert by_id["00001"]["score"] == 0 and "symbolic link" in by_id["00001"]["reason"]

        closed = await organiser.post("/competitions/demo/close")
        assert closed.status_code == 200, closed.text
        after = (await ada.get("/competitions/demo/leaderboard")).json()
        row = next(r for r in after["rows"] if r["user"] == ada_name)
        assert after["split"] == "private"
        assert row["score"] == pytest.approx(expected["private"])
        assert row["public_score"] == pytest.approx(expected["public"])
        assert (await ada.get(f"/jobs/{job['id']}/score")).json()["private_score"] == pytest.approx(expected["private"])


async def test_a_competitions_own_log_policy_applies_to_jobs_on_its_dataset(local_gateway, tmp_path):
    gateway = local_gateway
    demo = install(tmp_path / "demo")
    suffix = unique_user("p").replace("_", "-").lower()
    source = (demo.yaml_text.replace("name: demo-points", f"name: points-{suffix}")
              .replace("id: demo\n", f"id: policy-{suffix}\n").replace("log_policy: filtered", "log_policy: whitelist"))
    assert "log_policy: whitelist" in source and f"id: policy-{suffix}" in source
    ada_name = unique_user("ada")
    job_code = "print('the labels are cat dog bird', flush=True)\nprint('Epoch 1/1', flush=True)\n"
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as organiser, \
            gateway.client(gateway.hub.token_for(ada_name)) as ada:
        created = await organiser.post("/competitions", json={"source": source})
        assert created.status_code == 201, created.text
        on_it = (await submit(ada, {"kind": "train", "entrypoint": "job.py", "dataset": f"points-{suffix}"},
                              code=make_archive({"job.py": job_code}))).json()
        off_it = (await submit(ada, {"kind": "train", "entrypoint": "job.py"},
                               code=make_archive({"job.py": job_code}))).json()
        shown = {}
        for job in (on_it, off_it):
            done = await wait_for_status(ada, job["id"], {"succeeded", "failed"}, timeout_s=90)
            assert done["status"] == "succeeded", done
            lines = (await ada.get(f"/jobs/{job['id']}/logs", params={"format": "json"})).json()["lines"]
            shown[job["id"]] = [line["text"] for line in lines]
    assert "the labels are cat dog bird" not in shown[on_it["id"]], "the competition's whitelist was not applied"
    assert any("withheld" in text for text in shown[on_it["id"]])
    assert "the labels are cat dog bird" in shown[off_it["id"]], "the gateway's own policy should apply off-competition"
