"""The Kubernetes executor's streamed pod log: chunks give the records of the whole log, from any stored offset."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arenahub.gateway.executors.kubelogs import MAX_LINE_BYTES, LogSplitter, split_log_lines

pytestmark = pytest.mark.unit

LINES = st.lists(st.one_of(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
                           st.just(b"x" * (MAX_LINE_BYTES + 7))), max_size=8)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


def stream(data: bytes, cuts: list[int], position: int, seq: int | None, *, complete: bool = True):
    lines = LogSplitter(position, seq)
    records = [r for chunk in chunked(data, cuts) for r in lines.feed(chunk)]
    if complete:
        records += lines.finish()
    return records, lines


def whole(data: bytes, position: int):
    records, _ = split_log_lines(data[position:], position, data[:position].count(b"\n"), final=True)
    return [(r.seq, r.offset, r.text) for r in records]


@given(LINES, st.booleans(), st.lists(st.integers(0, 3 * MAX_LINE_BYTES), max_size=6), st.data())
def test_any_chunking_from_any_record_boundary_gives_the_records_of_the_whole_log(lines, last_newline, cuts, data):
    log = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    boundaries = [0] + [r.offset for r in split_log_lines(log, 0, 0, final=True)[0]]
    position = data.draw(st.sampled_from(boundaries))
    records, _ = stream(log, cuts, position, None)
    assert [(r.seq, r.offset, r.text) for r in records] == whole(log, position)


def test_a_line_cut_across_chunks_comes_out_once_when_its_newline_arrives():
    lines = LogSplitter(0, None)
    assert lines.feed(b"epoch 1 lo") == []
    assert [(r.seq, r.offset, r.text) for r in lines.feed(b"ss=0.5\nepoch 2")] == [(0, 17, "epoch 1 loss=0.5")]
    assert [(r.seq, r.offset, r.text) for r in lines.feed(b"\n")] == [(1, 25, "epoch 2")]
    assert (lines.position, lines.seq) == (25, 2)


def test_the_skipped_offset_spans_chunks_and_numbers_the_next_line_after_the_skipped_ones():
    lines = LogSplitter(9, None)  # the log is "a\nbb\nccc\ndd\ne": its first three lines were stored before
    assert lines.feed(b"a\nbb\n") == [] and lines.feed(b"cc") == []
    assert lines.seq is None  # not known until the whole stored part went by
    assert [(r.seq, r.offset, r.text) for r in lines.feed(b"c\ndd\ne")] == [(3, 12, "dd")]
    assert [(r.seq, r.text) for r in lines.finish()] == [(4, "e")]


def test_a_reconnect_keeps_the_known_seq_and_skips_to_the_last_position():
    first = LogSplitter(0, None)
    records = first.feed(b"one\ntwo\nthr")  # the stream drops here: "thr" is not a line yet
    again = LogSplitter(first.position, first.seq)
    records += again.feed(b"one\ntwo\nthree\n")
    assert [(r.seq, r.text) for r in records] == [(0, "one"), (1, "two"), (2, "three")]


def test_a_runaway_line_is_cut_at_max_line_bytes_and_never_held_whole():
    lines = LogSplitter(0, None)
    records = []
    for _ in range(5):
        records += lines.feed(b"y" * (MAX_LINE_BYTES // 2 + 1))
        assert len(lines._partial) < MAX_LINE_BYTES
    assert [len(r.text) for r in records] == [MAX_LINE_BYTES, MAX_LINE_BYTES]
    assert [r.offset for r in records] == [MAX_LINE_BYTES, 2 * MAX_LINE_BYTES]


def test_an_unfinished_last_line_counts_only_when_the_response_is_complete():
    records, lines = stream(b"done\nhalf", [3], 0, None, complete=False)
    assert [r.text for r in records] == ["done"] and lines.position == 5
    assert [r.text for r in lines.finish()] == ["half"]
