"""Unit tests for the run log format: line splitting, record encoding and parsing with offsets."""

import pytest

from arenahub.gateway.executors.logfile import LineSplitter, encode_record, parse_records

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("chunks, lines", [
    ([b"a\nb\n"], ["a", "b"]),
    ([b"par", b"tial\n"], ["partial"]),
    ([b"windows\r\n"], ["windows"]),
    ([b"\n\n"], ["", ""]),
    ([b"caf\xc3", b"\xa9\n"], ["café"]),
    ([b"bad \xff byte\n"], ["bad \ufffd byte"]),
])
def test_splitter_turns_chunks_into_lines(chunks, lines):
    splitter = LineSplitter()
    assert [line for chunk in chunks for line in splitter.feed(chunk)] == lines


def test_splitter_cuts_long_lines_without_breaking_characters():
    splitter = LineSplitter(max_line_bytes=10)
    pieces = splitter.feed("éééééééé".encode() + b"\n")  # 16 bytes
    assert pieces == ["ééééé", "ééé"]


def test_splitter_emits_an_unterminated_line_once_it_reaches_the_cap():
    splitter = LineSplitter(max_line_bytes=4)
    assert splitter.feed(b"abcdef") == ["abcd"]
    assert splitter.flush() == ["ef"]
    assert splitter.flush() == []


def test_records_parse_back_with_the_offset_after_each_line():
    data = encode_record(0, 1.5, "stdout", "hello") + encode_record(1, 2.0, "system", "bye ü")
    records, used = parse_records(data, start_offset=100)
    assert [(r.seq, r.stream, r.text) for r in records] == [(0, "stdout", "hello"), (1, "system", "bye ü")]
    assert records[-1].offset == 100 + len(data) == 100 + used
    assert records[0].offset == 100 + data.index(b"\n") + 1


def test_an_unterminated_last_line_is_left_for_the_next_read():
    line = encode_record(0, 1.0, "stdout", "x")
    records, used = parse_records(line + line[:5], start_offset=0)
    assert len(records) == 1 and used == len(line)


def test_a_line_that_is_not_a_record_is_reported_with_its_position():
    with pytest.raises(ValueError, match="byte 0 is not a record"):
        parse_records(b"not json\n", start_offset=0)
