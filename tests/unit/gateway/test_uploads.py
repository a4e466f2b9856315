"""Tests of arenahub.gateway.uploads: only plain files and folders inside the job folder get unpacked."""

import hashlib
import os
import stat

import pytest

from arenahub.core.errors import InvalidInput, PayloadTooLarge
from arenahub.gateway.uploads import ArchiveLimits, check_archive, extract_archive
from tests.integration.gateway.archives import HOSTILE_MEMBERS, make_archive, member

pytestmark = pytest.mark.unit

LIMITS = ArchiveLimits(upload_max_bytes=1 << 20, extract_max_bytes=1 << 20, extract_max_files=50)


def test_a_plain_job_folder_is_unpacked_with_its_sha256(tmp_path):
    data = make_archive({"train.py": "print(1)\n", "src/model.py": "x = 1\n"})
    manifest = check_archive(data, LIMITS)
    extract_archive(data, manifest, tmp_path / "code")
    assert manifest.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.files == {"train.py", "src/model.py"}
    assert (tmp_path / "code" / "src" / "model.py").read_text() == "x = 1\n"


def test_an_uncompressed_tar_is_accepted_too():
    manifest = check_archive(make_archive({"train.py": "1"}, gzip=False), LIMITS)
    assert manifest.files == {"train.py"}


@pytest.mark.parametrize("case", sorted(HOSTILE_MEMBERS))
def test_hostile_members_are_refused_before_anything_is_written(case, tmp_path):
    data = make_archive({"train.py": "print(1)\n"}, extra=[HOSTILE_MEMBERS[case]])
    with pytest.raises(InvalidInput) as caught:
        check_archive(data, LIMITS)
    assert caught.value.reason == "archive-unsafe"
    assert "nothing was unpacked" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_an_archive_over_the_upload_limit_is_too_large():
    data = make_archive({"big.bin": os.urandom(4096)})
    with pytest.raises(PayloadTooLarge):
        check_archive(data, ArchiveLimits(upload_max_bytes=1024, extract_max_bytes=1 << 20, extract_max_files=50))


def test_an_archive_that_unpacks_too_big_is_refused():
    data = make_archive({"zeros.bin": b"\0" * 200_000})  # compresses to a few hundred bytes
    with pytest.raises(InvalidInput) as caught:
        check_archive(data, ArchiveLimits(upload_max_bytes=1 << 20, extract_max_bytes=100_000, extract_max_files=50))
    assert caught.value.reason == "archive-too-large-unpacked"


def test_an_archive_with_too_many_files_is_refused():
    data = make_archive({f"f{n}.txt": "x" for n in range(60)})
    with pytest.raises(InvalidInput) as caught:
        check_archive(data, LIMITS)
    assert caught.value.reason == "archive-too-many-files"


@pytest.mark.parametrize("data", [b"", b"not a tarball at all", b"\x1f\x8b\x08\x00garbage"])
def test_something_that_is_not_a_tar_is_unreadable(data):
    with pytest.raises(InvalidInput) as caught:
        check_archive(data, LIMITS)
    assert caught.value.reason in ("archive-unreadable", "archive-unsafe")


def test_a_path_given_twice_is_refused():
    data = make_archive({"train.py": "a"}, extra=[member("train.py", b"0", size=1)])
    with pytest.raises(InvalidInput, match="appears twice"):
        check_archive(data, LIMITS)


def test_a_path_that_is_both_file_and_folder_is_refused():
    data = make_archive({"src": "a", "src/x.py": "b"})
    with pytest.raises(InvalidInput, match="both a file and a folder"):
        check_archive(data, LIMITS)


def test_setuid_bits_are_dropped_and_exec_bits_kept(tmp_path):
    data = make_archive({}, extra=[member("run.sh", b"0", size=3, mode=0o4755), member("data.txt", b"0", size=3, mode=0o6666)])
    extract_archive(data, check_archive(data, LIMITS), tmp_path / "code")
    run_mode = (tmp_path / "code" / "run.sh").stat().st_mode
    data_mode = (tmp_path / "code" / "data.txt").stat().st_mode
    assert run_mode & stat.S_ISUID == 0 and run_mode & stat.S_IXUSR
    assert data_mode & (stat.S_ISUID | stat.S_ISGID) == 0 and not data_mode & stat.S_IXUSR


def test_dot_prefixed_paths_are_normalised(tmp_path):
    data = make_archive({"./train.py": "1", "./src/./a.py": "2"})
    manifest = check_archive(data, LIMITS)
    assert manifest.files == {"train.py", "src/a.py"}
