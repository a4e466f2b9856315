"""TensorBoard event files written with the standard library only (no TensorFlow, no protobuf).

An event file is a sequence of TFRecord frames, each holding one serialized ``tensorboard.Event``
protobuf. Only the few fields scalar curves need are encoded here:

- frame: ``uint64 length``, ``uint32 masked_crc32c(length)``, ``data``, ``uint32 masked_crc32c(data)``
  (https://www.tensorflow.org/tutorials/load_data/tfrecord#tfrecords_format_details);
- ``Event``: ``wall_time`` (1, double), ``step`` (2, int64), ``file_version`` (3, string),
  ``summary`` (5); ``Summary.value`` (1, repeated); ``Summary.Value``: ``tag`` (1, string),
  ``simple_value`` (2, float) — see tensorboard/compat/proto/event.proto and summary.proto.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Callable, Mapping
from pathlib import Path

FILE_VERSION = "brain.Event:2"


def _make_crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _make_crc32c_table()


def crc32c(data: bytes) -> int:
    """The CRC-32C (Castagnoli) checksum of ``data``, as TFRecord frames use it."""
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C TFRecord stores (a rotation plus a constant, mod 2**32)."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame_record(data: bytes) -> bytes:
    """One TFRecord frame around ``data``."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # int64 fields encode negatives as ten-byte two's complement
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def make_version_event(wall_time: float) -> bytes:
    """The serialized first event of every file, naming the file format version."""
    return b"\x09" + struct.pack("<d", wall_time) + _length_delimited(3, FILE_VERSION.encode())


def make_scalar_event(wall_time: float, step: int, values: Mapping[str, float]) -> bytes:
    """A serialized Event holding one scalar per ``values`` entry (tag -> value) at ``step``."""
    summary = b"".join(
        _length_delimited(1, _length_delimited(1, tag.encode()) + b"\x15" + struct.pack("<f", float(value)))
        for tag, value in values.items()
    )
    return b"\x09" + struct.pack("<d", wall_time) + b"\x10" + _varint(step) + _length_delimited(5, summary)


class ScalarEventWriter:
    """Appends scalar events to one new event file in ``logdir``; TensorBoard reads it while it grows.

    ``clock`` returns Unix seconds (the events' wall time when none is given).
    """

    def __init__(self, logdir: str | os.PathLike[str], *, clock: Callable[[], float] = time.time) -> None:
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        now = clock()
        name = f"events.out.tfevents.{int(now):010d}.{socket.gethostname()}.{os.getpid()}.{time.monotonic_ns()}"
        self.path = self.logdir / name
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for appends until close()
        self._file.write(frame_record(make_version_event(now)))
        self._file.flush()

    def add_scalars(self, step: int, values: Mapping[str, float], wall_time: float | None = None) -> None:
        """Append one event with ``values`` (tag -> number) at ``step`` and flush it to disk."""
        when = self.clock() if wall_time is None else wall_time
        self._file.write(frame_record(make_scalar_event(when, step, values)))
        self._file.flush()

    def close(self) -> None:
        """Close the file; later add_scalars calls raise ValueError."""
        self._file.close()

    def __enter__(self) -> ScalarEventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
