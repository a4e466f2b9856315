"""Dataset registration: admins only, layout checked; jobs get the right part mounted read-only."""

import pytest

from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status

pytestmark = pytest.mark.integration


def make_dataset(root, parts=("train", "test/inputs", "test/annotations")):
    for part in parts:
        (root / part).mkdir(parents=True)
    return root


@pytest.fixture
async def organiser(gateway):
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as client:
        yield client


async def test_an_admin_registers_a_dataset_and_jobs_see_only_their_part(gateway, organiser, tmp_path):
    folder = make_dataset(tmp_path / "faces")
    reply = await organiser.post("/datasets", json={"name": "faces", "path": str(folder), "description": "Faces"})
    assert reply.status_code == 201, reply.text
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        listed = (await ada.get("/datasets")).json()["datasets"]
        train = (await submit(ada, {"kind": "train", "entrypoint": "train.py", "dataset": "faces"})).json()
        test = (await submit(ada, {"kind": "test", "entrypoint": "train.py", "dataset": "faces"})).json()
        await wait_for_status(ada, train["id"], {"succeeded"})
        await wait_for_status(ada, test["id"], {"succeeded"})
    assert listed == [{"name": "faces", "description": "Faces", "path": None, "registered_by": None, "registered_at": None}]
    mounts = {spec.job_id: [(str(m.host), m.target, m.writable) for m in spec.mounts] for spec in gateway.executor.started}
    assert mounts[train["id"]] == [(str(folder / "train"), "/data/train", False)]
    assert mounts[test["id"]] == [(str(folder / "test/inputs"), "/data/test/inputs", False)]


async def test_admins_see_where_datasets_live(gateway, organiser, tmp_path):
    await organiser.post("/datasets", json={"name": "cars", "path": str(make_dataset(tmp_path / "cars"))})
    listed = (await organiser.get("/datasets")).json()["datasets"]
    assert listed[0]["path"] == str((tmp_path / "cars").resolve()) and listed[0]["registered_by"] == "organiser"


async def test_a_participant_cannot_register_a_dataset(gateway, tmp_path):
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        reply = await ada.post("/datasets", json={"name": "mine", "path": str(make_dataset(tmp_path / "mine"))})
        listed = (await ada.get("/datasets")).json()["datasets"]
    assert reply.status_code == 403 and listed == []


@pytest.mark.parametrize("parts, missing", [
    (("train", "test/inputs"), "test/annotations/"),
    (("test/inputs", "test/annotations"), "train/"),
])
async def test_a_folder_with_a_wrong_layout_is_refused_and_not_registered(gateway, organiser, tmp_path, parts, missing):
    reply = await organiser.post("/datasets", json={"name": "broken", "path": str(make_dataset(tmp_path / "d", parts))})
    assert reply.status_code == 400 and missing in reply.json()["message"]
    assert (await organiser.get("/datasets")).json()["datasets"] == []


async def test_a_taken_name_is_409_and_a_bad_name_422(gateway, organiser, tmp_path):
    folder = str(make_dataset(tmp_path / "d"))
    assert (await organiser.post("/datasets", json={"name": "d1", "path": folder})).status_code == 201
    again = await organiser.post("/datasets", json={"name": "d1", "path": folder})
    bad = await organiser.post("/datasets", json={"name": "Bad Name", "path": folder})
    assert (again.status_code, again.json()["error"]) == (409, "dataset-exists")
    assert (bad.status_code, bad.json()["error"]) == (422, "dataset-name-invalid")
