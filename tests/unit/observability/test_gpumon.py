"""Tests of arenahub.gateway.gpumon over recorded NVML readings: attribution, slice status, sample records."""

import pytest

from arenahub.gateway.gpumon import (
    GIB,
    NvmlSnapshot,
    Owner,
    ProcessReading,
    attribute_usage,
    find_owner,
    make_slice_status,
    make_usage_records,
    no_gpu_message,
    owners_from_hub_users,
)
from arenahub.gateway.gpumon_nvml import NvmlReader, parse_ppid
from tests.unit.observability.nvml_fixtures import load_recording

pytestmark = pytest.mark.unit


@pytest.fixture
def recording():
    return load_recording("two_h100_mps.json")


def test_hub_reply_yields_only_servers_that_hold_a_slice(recording):
    _, _, owners, raw = recording
    notebooks = owners_from_hub_users(raw["hub_users"])
    assert [(o.key, o.root_pid, o.gpu_fraction, o.mem_limit_bytes) for o in notebooks] == [
        ("ada/", 47011, 0.25, 8 * GIB), ("grace/", 47554, 0.25, 8 * GIB)]
    assert notebooks[0].profile == "gpu-quarter" and notebooks[0].gpu_indices == (0,)


def test_a_kernel_process_belongs_to_the_server_whose_sandbox_is_its_ancestor(recording):
    _, parents, owners, _ = recording
    roots = {o.root_pid: o for o in owners}
    assert find_owner(48213, parents, roots).key == "ada/"
    assert find_owner(60118, parents, roots).key == "j-4f2a"
    assert find_owner(51002, parents, roots) is None


def test_a_loop_in_the_process_table_ends_the_walk_without_an_owner():
    assert find_owner(10, {10: 11, 11: 10}, {}) is None


def test_usage_is_summed_per_owner_and_gpu_and_strays_are_reported(recording):
    snapshot, parents, owners, _ = recording
    usages, strangers = attribute_usage(snapshot, parents, owners)
    by_key = {u.owner.key: u for u in usages}
    assert by_key["ada/"].util_ratio == pytest.approx(0.08)
    assert by_key["ada/"].mem_used_bytes == 5583470592
    assert by_key["grace/"].util_ratio == 0.0
    assert [p.pid for p in strangers] == [51002]


def test_a_sole_owner_without_per_process_figures_gets_the_gpus_busy_share(recording):
    snapshot, parents, owners, _ = recording
    usages, _ = attribute_usage(snapshot, parents, owners)
    job = next(u for u in usages if u.owner.key == "j-4f2a")
    assert job.util_ratio == pytest.approx(0.97)


def test_two_owners_without_per_process_figures_stay_unknown_rather_than_guessed():
    a = Owner("notebook", "a/", "a", root_pid=100, gpu_fraction=0.5, gpu_indices=(0,))
    b = Owner("notebook", "b/", "b", root_pid=200, gpu_fraction=0.5, gpu_indices=(0,))
    snapshot, _, _, _ = load_recording("two_h100_mps.json")
    procs = NvmlSnapshot(snapshot.taken_at, snapshot.gpus, (ProcessReading(0, 101, GIB), ProcessReading(0, 201, GIB)))
    usages, _ = attribute_usage(procs, {101: 100, 201: 200}, [a, b])
    assert [u.util_ratio for u in usages] == [None, None]
    status = make_slice_status(a, usages)
    assert status.busy_ratio is None
    assert status.message == "your slice: busy unknown, 1.0 GiB"


def test_the_participant_line_reads_busy_share_of_the_slice_and_memory_against_its_cap(recording):
    snapshot, parents, owners, _ = recording
    usages, _ = attribute_usage(snapshot, parents, owners)
    ada = next(o for o in owners if o.key == "ada/")
    status = make_slice_status(ada, usages, gpus=snapshot.gpus)
    assert status.busy_ratio == pytest.approx(0.32)
    assert status.message == "your slice: 32 % busy, 5.2 / 8 GiB"


def test_a_job_line_uses_its_whole_gpus_memory_as_the_limit(recording):
    snapshot, parents, owners, _ = recording
    usages, _ = attribute_usage(snapshot, parents, owners)
    job = next(o for o in owners if o.kind == "job")
    assert make_slice_status(job, usages, gpus=snapshot.gpus).message == "job j-4f2a: 97 % busy, 57.0 / 80 GiB"


def test_an_idle_slice_with_no_process_is_zero_busy_and_zero_memory():
    idle = Owner("notebook", "zoe/", "zoe", root_pid=5, gpu_fraction=0.25, gpu_indices=(0,), mem_limit_bytes=8 * GIB)
    status = make_slice_status(idle, [])
    assert (status.busy_ratio, status.mem_used_bytes, status.message) == (0.0, 0, "your slice: 0 % busy, 0.0 / 8 GiB")


def test_sample_records_cover_idle_holders_and_skip_owners_without_gpus(recording):
    snapshot, parents, owners, _ = recording
    usages, _ = attribute_usage(snapshot, parents, owners)
    records = make_usage_records(snapshot, owners, usages, interval_s=10)
    assert {r.key: (r.allocated_gpus, round(r.used_gpus, 2)) for r in records} == {
        "ada/": (0.25, 0.08), "grace/": (0.25, 0.0), "j-4f2a": (1.0, 0.97)}
    job = next(r for r in records if r.kind == "job")
    assert (job.competition, job.profile, job.interval_s) == ("faces-2026", "job-1gpu", 10)


def test_without_a_driver_the_reader_reports_no_gpus_and_says_why():
    reader = NvmlReader()
    if reader.available:
        pytest.skip("this machine has an NVIDIA driver; tests/gpu covers it")
    snapshot = reader.read(0.0)
    assert not snapshot.has_gpus
    assert no_gpu_message(snapshot).startswith("No GPU readings on this machine: NVML could not start")
    reader.close()


@pytest.mark.parametrize("stat, ppid", [
    ("48213 (python) S 48190 48213 47011 0 -1", 48190),
    ("7 (my (odd) name) R 1 7 7 0 -1", 1),
])
def test_parent_pid_is_read_after_the_process_name_even_with_parentheses(stat, ppid):
    assert parse_ppid(stat) == ppid
