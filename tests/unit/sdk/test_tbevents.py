import struct

import pytest

from arenahub.sdk import Reporter
from arenahub.sdk.tbevents import ScalarEventWriter, crc32c, frame_record, masked_crc32c

pytestmark = pytest.mark.unit


def test_crc32c_matches_the_published_check_value():
    # RFC 3720 B.4 / the CRC catalogue: CRC-32C of "123456789" is 0xE3069283.
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


def test_a_frame_holds_the_length_its_checksums_and_the_data():
    frame = frame_record(b"hello")
    (length,) = struct.unpack("<Q", frame[:8])
    assert length == 5
    assert struct.unpack("<I", frame[8:12])[0] == masked_crc32c(frame[:8])
    assert frame[12:17] == b"hello"
    assert struct.unpack("<I", frame[17:])[0] == masked_crc32c(b"hello")


def _read_scalars(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_reads_the_scalars_written_without_tensorflow(tmp_path):
    with ScalarEventWriter(tmp_path, clock=lambda: 1_700_000_000.0) as writer:
        writer.add_scalars(0, {"loss": 1.0, "val/acc": 0.5})
        writer.add_scalars(1, {"loss": 0.5})
        writer.add_scalars(2**40, {"loss": 0.25})
    assert _read_scalars(tmp_path) == {
        "loss": [(0, 1.0), (1, 0.5), (2**40, 0.25)],
        "val/acc": [(0, 0.5)],
    }


def test_report_also_writes_event_files_once_tensorboard_is_enabled(tmp_path):
    import io

    reporter = Reporter(io.StringIO())
    reporter.report(0, loss=9.0)  # before enabling: printed only
    path = reporter.enable_tensorboard(tmp_path / "runs")
    reporter.report(1, loss=2.0)
    reporter.disable_tensorboard()
    reporter.report(2, loss=1.0)  # after disabling: printed only
    assert path.startswith(str(tmp_path / "runs"))
    assert _read_scalars(tmp_path / "runs") == {"loss": [(1, 2.0)]}
