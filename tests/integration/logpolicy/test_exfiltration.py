"""Attack jobs through a real gateway and the bubblewrap sandbox: a participant's job reads a
protected dataset file and tries to smuggle it out through its log and metrics under the
filtered policy. What the participant can read back must not hold the file; the audit store
keeps what was withheld, for admins only."""

import base64
import os
import shutil

import pytest

from tests.integration.gateway.api_helpers import all_lines, submit, unique_user, wait_for_status
from tests.integration.gateway.archives import make_archive

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                       reason="the LocalExecutor needs root and bubblewrap (make test-deps installs it)"),
]

SECRET = os.urandom(600)
POLICY = """\
policy: filtered
leak_budget_bytes: 8192
metrics:
  max_points_per_job: 40
  max_names: 4
  significant_digits: 3
"""

# Each attack prints the dataset file one way, with ordinary training output in between.
ATTACK = r'''
import base64, binascii, json
secret = open("/data/train/labels.bin", "rb").read()
b64, hx = base64.b64encode(secret).decode(), secret.hex()
print("epoch 1 step 10 loss=0.52", flush=True)
print(b64)                                              # one base64 line
print(base64.b32encode(secret).decode())                # base32
for i in range(0, len(hx), 64):                          # hex, 64 characters a line
    print("debug", hx[i:i + 64])
print(binascii.b2a_uu(secret[:45]).decode().rstrip())   # uuencode
print(str(list(secret[:200])))                          # a byte list
for i, b in enumerate(secret[:150]):                     # one number per line
    print(b)
for i in range(0, 400, 8):                               # base64 split in 8-character lines
    print(b64[i:i + 8])
    if i % 32 == 0:
        print(f"epoch 2 step {i} loss=0.41", flush=True)
for i in range(0, 300, 3):                               # metric values and names
    value = int.from_bytes(secret[i:i + 3], "big")
    name = "m" + secret[i:i + 2].hex()
    print("@@arenahub.metric " + json.dumps({"step": i, "loss": value / 7, name: value}))
print("training finished", flush=True)
'''


async def start_sandboxed(gateway, tmp_path, policy_text: str):
    """Restart the test's gateway with the real sandbox and ``policy_text`` as its policy file,
    and register the protected dataset."""
    from arenahub.gateway.executors.local import LocalExecutor

    policy = tmp_path / "policy.yaml"
    policy.write_text(policy_text)
    await gateway.served[-1].stop()
    gateway.settings_overrides["logs"] = {"policy_file": policy}
    await gateway.start(executor=LocalExecutor(gateway.state_dir))
    data = tmp_path / "dataset"
    for part in ("train", "test/inputs", "test/annotations"):
        (data / part).mkdir(parents=True)
    (data / "train" / "labels.bin").write_bytes(SECRET)
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as organiser:
        response = await organiser.post("/datasets", json={"name": "protected", "path": str(data)})
        assert response.status_code == 201, response.text
    return gateway


@pytest.fixture
async def filtered_gateway(gateway, tmp_path):
    """The gateway with the real sandbox and the filtered policy from a YAML file."""
    return await start_sandboxed(gateway, tmp_path, POLICY)


async def test_a_job_cannot_exfiltrate_a_dataset_file_through_its_log_or_metrics(filtered_gateway):
    gateway = filtered_gateway
    async with gateway.client(gateway.hub.token_for(unique_user("mallory"))) as mallory:
        job = (await submit(mallory, {"kind": "train", "entrypoint": "attack.py", "dataset": "protected"},
                            code=make_archive({"attack.py": ATTACK}))).json()
        done = await wait_for_status(mallory, job["id"], {"succeeded", "failed"}, timeout_s=90)
        lines = await all_lines(mallory, job["id"])
        metrics = (await mallory.get(f"/jobs/{job['id']}/metrics", params={"limit": 10000})).json()["metrics"]
        audit = await mallory.get(f"/jobs/{job['id']}/withheld")
    texts = [line["text"] for line in lines if line["stream"] != "system" or line["action"] == "marker"]
    assert done["status"] == "succeeded", (done, texts[-20:])
    assert "training finished" in texts and "epoch 1 step 10 loss=0.52" in texts

    # No encoding of the file shows, whole or in pieces beyond the split-payload allowance.
    shown = "\n".join(texts)
    b64, hx = base64.b64encode(SECRET).decode(), SECRET.hex()
    for encoding in (b64, base64.b32encode(SECRET).decode(), hx):
        assert not any(encoding[i:i + 24] in shown for i in range(0, len(encoding) - 24)), "a 24-character piece leaked"
    fragments = [t for t in texts if len(t) >= 2 and (t in b64 or t in hx)]
    assert sum(map(len, fragments)) <= 96
    bare_numbers = [t for t in texts if t.isdigit()]
    assert len(bare_numbers) < 8
    assert any("withheld: " in t for t in texts)

    # Metric values carry 3 significant digits, 40 points and 4 names at most.
    assert len(metrics) <= 40 and len({m["name"] for m in metrics}) <= 4
    assert all(float(f"{m['value']:.2e}") == m["value"] for m in metrics)

    # The participant cannot read the audit store.
    assert audit.status_code in (403, 404)

    # The organiser can, and it holds the withheld originals with their reasons.
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as organiser:
        withheld = (await organiser.get(f"/jobs/{job['id']}/withheld", params={"limit": 5000})).json()["lines"]
    originals = {w["original"] for w in withheld}
    assert b64 in originals
    assert {"encoded-data", "split-payload"} <= {w["rule"] for w in withheld}


LABELS_ATTACK = r'''
import json
names = ["cat", "dog", "bird", "horse", "ship", "truck", "frog", "deer"]
secret = open("/data/train/labels.bin", "rb").read()
print("Epoch 1/2")
for b in secret[:64]:                       # one label word per line: no encoding to detect
    print(names[b % 8])
    print(f"label: {names[b % 8]}")
print("1875/1875 [==============================] - 4s 2ms/step - loss: 0.2961 - accuracy: 0.9143")
print("@@arenahub.metric " + json.dumps({"step": 1, "loss": 0.25}))
'''


async def test_the_whitelist_policy_shows_progress_and_metrics_but_no_label_words(gateway, tmp_path):
    gateway = await start_sandboxed(gateway, tmp_path, "policy: whitelist\n")
    async with gateway.client(gateway.hub.token_for(unique_user("eve"))) as eve:
        job = (await submit(eve, {"kind": "train", "entrypoint": "labels.py", "dataset": "protected"},
                            code=make_archive({"labels.py": LABELS_ATTACK}))).json()
        done = await wait_for_status(eve, job["id"], {"succeeded", "failed"}, timeout_s=90)
        lines = await all_lines(eve, job["id"])
        metrics = (await eve.get(f"/jobs/{job['id']}/metrics")).json()["metrics"]
    texts = [line["text"] for line in lines if line["stream"] != "system" or line["action"] == "marker"]
    assert done["status"] == "succeeded", (done, texts)
    assert texts[0] == "Epoch 1/2"
    assert "1875/1875 [==============================] - 4s 2ms/step - loss: 0.2961 - accuracy: 0.9143" in texts
    assert [(m["name"], m["value"]) for m in metrics] == [("loss", 0.25)]
    names = {"cat", "dog", "bird", "horse", "ship", "truck", "frog", "deer"}
    assert not any(name in text for text in texts for name in names)
    assert "[128 lines withheld: not-whitelisted]" in texts
