"""The output frame that carries a Kubernetes test run's outputs: packing, framing, verifying, unpacking, and attacks on each."""

import base64
import io
import os
import sys
import tarfile
from pathlib import Path

import pytest

from arenahub.jobrunner.collector import write_outputs
from arenahub.jobrunner.outputframe import (
    BEGIN,
    END,
    OutputFrameError,
    OutputsRefused,
    OutputsTooLarge,
    build_frame,
    build_refusal,
    pack_outputs,
    read_frame,
    unpack_outputs,
)
from tests.unit.gateway.executors.collectorproc import log_after_sigterm

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[4]


def make_outputs(root: Path) -> Path:
    outputs = root / "outputs"
    (outputs / "nested").mkdir(parents=True)
    (outputs / "00001.json").write_text('{"label": "cat", "count": 3}')
    (outputs / "nested" / "table.csv").write_text("id,label\n1,cat\n")
    return outputs


def archive_of(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def member(name: str, *, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def test_outputs_survive_pack_frame_read_and_unpack_unchanged(tmp_path):
    outputs = make_outputs(tmp_path)
    packed = pack_outputs(outputs)
    archive = read_frame(["some line before", *build_frame(packed.archive, line_chars=64), "a line after"])
    dest = tmp_path / "dest"
    dest.mkdir()
    assert unpack_outputs(archive, dest) == 2
    assert (packed.files, packed.skipped) == (2, ())
    assert (dest / "00001.json").read_text() == '{"label": "cat", "count": 3}'
    assert (dest / "nested" / "table.csv").read_text() == "id,label\n1,cat\n"


def test_a_missing_outputs_folder_packs_as_an_empty_archive(tmp_path):
    packed = pack_outputs(tmp_path / "never-written")
    dest = tmp_path / "dest"
    dest.mkdir()
    assert packed.files == 0
    assert unpack_outputs(read_frame(build_frame(packed.archive)), dest) == 0
    assert list(dest.iterdir()) == []


def test_symlinks_out_of_the_outputs_folder_are_skipped_never_followed(tmp_path):
    outputs = make_outputs(tmp_path)
    (outputs / "passwd.json").symlink_to("/etc/passwd")
    (outputs / "etc").symlink_to("/etc", target_is_directory=True)
    (outputs / "dangling.json").symlink_to(tmp_path / "nowhere")
    packed = pack_outputs(outputs)
    with tarfile.open(fileobj=io.BytesIO(packed.archive)) as tar:
        names = sorted(tar.getnames())
    assert names == ["00001.json", "nested", "nested/table.csv"]
    assert sorted(packed.skipped) == ["dangling.json", "etc", "passwd.json"]


def test_a_symlinked_outputs_folder_packs_nothing_from_its_target(tmp_path):
    (tmp_path / "outputs").symlink_to("/etc", target_is_directory=True)
    packed = pack_outputs(tmp_path / "outputs")
    assert (packed.files, packed.file_bytes) == (0, 0)


def test_fifos_are_skipped_without_blocking(tmp_path):
    outputs = make_outputs(tmp_path)
    os.mkfifo(outputs / "pipe.json")
    packed = pack_outputs(outputs)
    assert packed.skipped == ("pipe.json",) and packed.files == 2


@pytest.mark.parametrize("caps, what", [
    ({"max_bytes": 200}, "compressed outputs are larger than the cap of 200 bytes"),
    ({"max_files": 2}, "more than 2 files and folders"),
    ({"max_file_bytes": 30}, "add up to more than"),
])
def test_packing_refuses_outputs_over_a_cap(tmp_path, caps, what):
    outputs = make_outputs(tmp_path)
    (outputs / "big.csv").write_bytes(os.urandom(4096))
    with pytest.raises(OutputsTooLarge, match=what):
        pack_outputs(outputs, **caps)


def test_packing_gives_up_at_its_deadline(tmp_path):
    outputs = make_outputs(tmp_path)
    ticks = iter(range(100))
    with pytest.raises(OutputsRefused, match="took longer"):
        pack_outputs(outputs, deadline=0.5, clock=lambda: next(ticks))


def test_a_frame_whose_hash_does_not_match_its_contents_is_refused(tmp_path):
    archive = pack_outputs(make_outputs(tmp_path)).archive
    forged = bytearray(archive)
    forged[-5] ^= 0xFF  # same length, one byte changed
    lines = build_frame(archive)
    with pytest.raises(OutputFrameError, match="SHA-256 does not match"):
        read_frame([lines[0], base64.b64encode(bytes(forged)).decode(), lines[-1]])


def test_a_frame_with_a_wrong_byte_count_is_refused(tmp_path):
    archive = pack_outputs(make_outputs(tmp_path)).archive
    lines = build_frame(archive)
    wrong = f"bytes={len(archive) + 1}"
    lines[0] = lines[0].replace(f"bytes={len(archive)}", wrong)
    lines[-1] = lines[-1].replace(f"bytes={len(archive)}", wrong)
    with pytest.raises(OutputFrameError, match="announces"):
        read_frame(lines)


def test_a_truncated_frame_is_refused(tmp_path):
    lines = build_frame(pack_outputs(make_outputs(tmp_path)).archive, line_chars=16)
    with pytest.raises(OutputFrameError, match="truncated"):
        read_frame(lines[:-3])


def test_end_marker_of_another_frame_is_refused(tmp_path):
    first = build_frame(pack_outputs(make_outputs(tmp_path)).archive)
    other = build_frame(b"something else")
    with pytest.raises(OutputFrameError, match="end marker does not match"):
        read_frame([*first[:-1], other[-1]])


def test_a_log_without_a_frame_is_refused():
    with pytest.raises(OutputFrameError, match="no output frame"):
        read_frame(["arenahub collector: 0 output files", f"{BEGIN} v1 bytes=abc sha256=xyz"])


def test_a_frame_over_the_cap_is_refused_before_its_body_is_read(tmp_path):
    lines = build_frame(pack_outputs(make_outputs(tmp_path)).archive)
    with pytest.raises(OutputsTooLarge, match="over the cap of 10"):
        read_frame(iter([lines[0]]), max_bytes=10)


def test_a_body_that_is_not_base64_is_refused(tmp_path):
    lines = build_frame(pack_outputs(make_outputs(tmp_path)).archive)
    with pytest.raises(OutputFrameError, match="not valid base64"):
        read_frame([lines[0], "!!!not base64!!!", lines[-1]])


def test_a_refusal_line_gives_the_collectors_reason_on_one_line():
    line = build_refusal("the outputs hold more than\n100000 files")
    assert "\n" not in line
    with pytest.raises(OutputsRefused, match="^the outputs hold more than 100000 files$"):
        read_frame(["arenahub collector starting", line])


@pytest.mark.parametrize("bad", [
    member("../escape.json"),
    member("nested/../../escape.json"),
    member("link.json", kind=tarfile.SYMTYPE, linkname="/etc/passwd"),
    member("hard.json", kind=tarfile.LNKTYPE, linkname="/etc/passwd"),
    member("dev", kind=tarfile.CHRTYPE),
    member("fifo", kind=tarfile.FIFOTYPE),
])
def test_unpacking_refuses_members_that_leave_the_folder_or_are_not_plain_files(tmp_path, bad):
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(OutputFrameError):
        unpack_outputs(archive_of([(member("ok.json"), b"{}"), (bad, b"x")]), dest)
    assert not (tmp_path / "escape.json").exists()
    assert all(not p.is_symlink() for p in dest.rglob("*"))


def test_an_absolute_member_name_stays_inside_the_folder(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    unpack_outputs(archive_of([(member(str(tmp_path / "abs.json")), b"{}")]), dest)
    assert not (tmp_path / "abs.json").exists()
    assert [p.name for p in dest.rglob("abs.json")] == ["abs.json"]


def test_unpacking_stops_at_the_member_and_size_caps(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    many = archive_of([(member(f"{i}.json"), b"{}") for i in range(5)])
    with pytest.raises(OutputsTooLarge, match="more than 3 files"):
        unpack_outputs(many, dest, max_files=3)
    bomb = archive_of([(member("zeros.csv"), bytes(1 << 20))])
    assert len(bomb) < 5000
    with pytest.raises(OutputsTooLarge, match="add up to more than"):
        unpack_outputs(bomb, dest, max_file_bytes=1 << 16)
    assert not (dest / "zeros.csv").exists()


def test_unpacking_a_damaged_archive_says_so(tmp_path):
    with pytest.raises(OutputFrameError, match="cannot be unpacked"):
        unpack_outputs(b"\x1f\x8b\x08\x00 not really gzip", tmp_path)


def test_the_collector_writes_a_summary_and_one_frame(tmp_path):
    outputs = make_outputs(tmp_path)
    (outputs / ("x\nARENAHUB-OUTPUTS-BEGIN v1 bytes=1 sha256=" + "0" * 64)).symlink_to("/etc/passwd")
    out = io.BytesIO()
    assert write_outputs(out, outputs, max_bytes=1 << 20, deadline_s=30)
    lines = out.getvalue().decode().splitlines()
    assert lines[0].startswith("arenahub collector: 2 output files") and "skipped 1" in lines[0]
    assert lines[1].startswith(BEGIN) and lines[-1].startswith(END)
    dest = tmp_path / "dest"
    dest.mkdir()
    assert unpack_outputs(read_frame(lines), dest) == 2


def test_the_collector_prints_a_refusal_when_over_its_cap(tmp_path):
    outputs = make_outputs(tmp_path)
    (outputs / "noise.bin").write_bytes(os.urandom(64 << 10))
    out = io.BytesIO()
    assert not write_outputs(out, outputs, max_bytes=16 << 10, deadline_s=30)
    with pytest.raises(OutputsRefused, match="larger than the cap of 16384 bytes"):
        read_frame(out.getvalue().decode().splitlines())


def test_the_collector_process_waits_for_sigterm_then_prints_the_frame_using_only_the_stdlib(tmp_path):
    outputs = make_outputs(tmp_path)
    # -S: no site-packages, so an import of anything but the stdlib (and arenahub itself) fails,
    # as in the job-runner image, which installs the arenahub wheel with --no-deps.
    launcher = (f"import sys, runpy; sys.path.insert(0, {str(REPO)!r}); sys.argv[1:] = {['--outputs', str(outputs)]!r}; "
                "runpy.run_module('arenahub.jobrunner.collector', run_name='__main__')")
    stdout = log_after_sigterm([sys.executable, "-S", "-c", launcher], still_waiting_after_s=0.2)
    dest = tmp_path / "dest"
    dest.mkdir()
    assert unpack_outputs(read_frame(stdout.splitlines()), dest) == 2
