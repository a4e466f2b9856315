"""Tests of arenahub.logpolicy.filter: verdicts, markers, caps and budgets of the open and filtered policies."""

import base64
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arenahub.core.metricline import format_metric_line
from arenahub.logpolicy import LogFilter, Verdict, build_policy, default_policy
from tests.unit.logpolicy.trainlogs import training_log

pytestmark = pytest.mark.unit

SECRET = random.Random(1).randbytes(120)
B64 = base64.b64encode(SECRET).decode()


def run(policy, lines, *, now=0.0, step_s=0.0, budget=None, is_replay=False):
    """(own decisions per line, shown texts, the filter) after feeding ``lines`` and flushing."""
    log_filter = LogFilter(policy, budget, is_replay=is_replay, backend="python")
    shown = []
    for i, line in enumerate(lines):
        for d in log_filter.feed(line, now + i * step_s):
            if d.is_shown:
                shown.append(d.text)
    shown.extend(d.text for d in log_filter.flush(now + len(lines) * step_s))
    return shown, log_filter


def filtered(**fields):
    return build_policy({"policy": "filtered", **fields})


def test_the_open_policy_shows_encoded_data():
    shown, _ = run(default_policy("open"), ["epoch 1", B64])
    assert shown == ["epoch 1", B64]


def test_the_filtered_policy_withholds_a_line_that_is_mostly_encoded_and_says_so():
    shown, log_filter = run(filtered(), ["epoch 1", B64, "epoch 2"])
    assert shown == ["epoch 1", "[1 line withheld: encoded-data]", "epoch 2"]
    assert log_filter.summary()["reasons"] == {"encoded-data": 1}


def test_the_filtered_policy_redacts_an_encoded_span_inside_a_longer_line():
    line = f"epoch 3 finished after a long day of training on the cluster, checkpoint id {SECRET[:20].hex()} saved to disk"
    log_filter = LogFilter(filtered(), backend="python")
    [decision] = log_filter.feed(line, 0.0)
    assert decision.action is Verdict.REDACT and decision.reason == "encoded-data"
    assert decision.text.endswith("checkpoint id [redacted hex] saved to disk")
    assert decision.original == line


def test_consecutive_withheld_lines_become_one_marker_counting_them():
    shown, _ = run(filtered(), ["training started", B64, B64, SECRET.hex(), "training done"])
    assert shown == ["training started", "[3 lines withheld: encoded-data]", "training done"]


def test_a_marker_names_each_reason_with_its_count():
    fragments = [SECRET.hex()[i:i + 8] for i in range(0, 160, 8)]
    shown, _ = run(filtered(), ["start", *fragments, B64])
    assert shown[-1].startswith("[")
    assert "encoded-data" in shown[-1] and "split-payload" in shown[-1]


def test_withheld_lines_at_the_end_of_the_job_get_their_marker_from_flush():
    shown, _ = run(filtered(), ["start", B64])
    assert shown == ["start", "[1 line withheld: encoded-data]"]


def test_a_payload_split_into_short_fragments_is_withheld_once_the_window_fills():
    fragments = [SECRET.hex()[i:i + 8] for i in range(0, len(SECRET.hex()), 8)]
    policy = filtered()
    log_filter = LogFilter(policy, backend="python")
    verdicts = [log_filter.feed(f, 0.0)[-1].action for f in fragments]
    shown_bytes = sum(len(f) for f, v in zip(fragments, verdicts) if v is Verdict.PASS)
    assert shown_bytes < policy.detection.window_data_bytes
    assert verdicts[-10:] == [Verdict.WITHHOLD] * 10


def test_one_byte_per_line_is_a_split_payload():
    lines = [str(b) for b in SECRET]
    shown, log_filter = run(filtered(), lines)
    assert log_filter.summary()["lines_withheld"] >= len(lines) - 7
    assert "split-payload" in log_filter.summary()["reasons"]


def test_the_window_forgets_data_lines_older_than_window_lines():
    policy = filtered(detection={"window_lines": 10, "window_data_lines": 3, "window_data_bytes": 1000})
    lines = ["a3f29c", *["training step"] * 10, "b4e81d", *["training step"] * 10, "c5d92e"]
    shown, log_filter = run(policy, lines)
    assert log_filter.summary()["lines_withheld"] == 0


def test_a_long_line_is_cut_to_max_line_bytes_with_a_visible_suffix():
    policy = filtered(max_line_bytes=100)
    [decision] = LogFilter(policy, backend="python").feed("word " * 100, 0.0)
    assert decision.action is Verdict.REDACT and decision.reason == "line-too-long"
    assert len(decision.text.encode()) <= 100 and decision.text.endswith("…[line cut]")


def test_a_long_line_is_cut_on_a_character_boundary():
    [decision] = LogFilter(filtered(max_line_bytes=50), backend="python").feed("é" * 100, 0.0)
    assert decision.text.encode().decode() == decision.text and len(decision.text.encode()) <= 50


def test_lines_beyond_the_rate_cap_are_withheld_until_the_bucket_refills():
    policy = filtered(max_lines_per_s=10, burst_lines=5)
    log_filter = LogFilter(policy, backend="python")
    burst = [log_filter.feed(f"line {i}", 100.0)[-1].action for i in range(8)]
    assert burst == [Verdict.PASS] * 5 + [Verdict.WITHHOLD] * 3
    later = log_filter.feed("after a second", 101.0)
    assert [d.action for d in later] == [Verdict.MARKER, Verdict.PASS]
    assert later[0].text == "[3 lines withheld: rate-limit]"


def test_a_replayed_log_ignores_the_rate_cap():
    shown, _ = run(filtered(max_lines_per_s=1, burst_lines=1), [f"line {i}" for i in range(50)], is_replay=True)
    assert len(shown) == 50


def test_the_leak_budget_stops_free_form_output_and_one_final_marker_says_why():
    lines = [f"free text line number {i:04d}" for i in range(100)]
    shown, log_filter = run(filtered(), lines, budget=300)
    summary = log_filter.summary()
    assert summary["leak_budget_used_bytes"] <= 300
    assert shown[-1] == f"[{summary['lines_withheld']} lines withheld: leak-budget]"
    assert sum(len(s) + 1 for s in shown[:-1]) <= 300


def test_metric_lines_do_not_spend_the_leak_budget():
    lines = [format_metric_line(i, {"loss": 1 / (i + 1)}) for i in range(50)]
    shown, log_filter = run(filtered(), lines, budget=10)
    assert len(shown) == 50 and log_filter.summary()["leak_budget_used_bytes"] == 0


def test_the_shown_bytes_cap_counts_every_shown_byte_metric_lines_included():
    lines = [format_metric_line(i, {"loss": 0.5}) for i in range(100)]
    shown, log_filter = run(filtered(max_shown_bytes=1000), lines)
    assert log_filter.summary()["bytes_passed"] <= 1000 + len(shown[-1]) + 1
    assert shown[-1].endswith("withheld: shown-bytes-cap]")


def test_the_open_policy_still_caps_line_length_and_rate():
    policy = build_policy({"policy": "open", "max_line_bytes": 20, "max_lines_per_s": 1, "burst_lines": 2})
    log_filter = LogFilter(policy, backend="python")
    actions = [log_filter.feed("x " * 30, 5.0)[-1] for _ in range(3)]
    assert [a.action for a in actions] == [Verdict.REDACT, Verdict.REDACT, Verdict.WITHHOLD]
    assert actions[0].reason == "line-too-long"


def test_terminal_redraws_and_colours_are_normalised_before_deciding():
    shown, _ = run(filtered(), ["\x1b[32mgreen\x1b[0m", "10%|#  |\r50%|##### |\r100%|##########|", "ab\bc"])
    assert shown == ["green", "100%|##########|", "ac"]


def test_invalid_utf8_is_replaced_not_passed_raw():
    [decision] = LogFilter(filtered(), backend="python").feed("ok", 0.0)
    chunk = LogFilter(filtered(), backend="python").feed_bytes(b"bad \xff byte\n", 0.0)
    assert decision.text == "ok" and chunk.shown == "bad \ufffd byte\n".encode()


def test_a_summary_counts_lines_and_declares_the_bits_a_job_can_show():
    shown, log_filter = run(filtered(), ["epoch one", B64, "epoch two"], budget=1000)
    summary = log_filter.summary()
    assert (summary["lines_in"], summary["lines_passed"], summary["lines_withheld"]) == (3, 2, 1)
    assert summary["declared_bits_per_job"] >= 8 * 1000


# -- feed_bytes (the bulk path) gives the same verdicts as feeding lines one by one -----------

LINES = [text for seed in range(2) for _, text in training_log(seed, 1)]


@st.composite
def job_logs(draw):
    rng = random.Random(draw(st.integers(0, 2**32)))
    lines = [rng.choice(LINES) for _ in range(draw(st.integers(0, 60)))]
    for _ in range(draw(st.integers(0, 6))):
        payload = rng.randbytes(rng.randrange(4, 100))
        lines.insert(rng.randrange(len(lines) + 1), rng.choice([base64.b64encode(payload).decode(), payload.hex(), str(payload[0])]))
    return lines


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=job_logs(), budget=st.one_of(st.none(), st.integers(0, 3000)),
       kind=st.sampled_from(["open", "filtered", "whitelist"]), chunks=st.integers(1, 4))
def test_feeding_whole_chunks_shows_exactly_what_feeding_line_by_line_shows(lines, budget, kind, chunks):
    policy = build_policy({"policy": kind, "max_shown_bytes": 6000, "max_line_bytes": 300})
    one_by_one, by_line = run(policy, lines, budget=budget, is_replay=True)
    chunked = LogFilter(policy, budget, is_replay=True, backend="python")
    raw = [(line + "\n").encode() for line in lines]
    size = max(1, len(raw) // chunks)
    shown = b"".join(chunked.feed_bytes(b"".join(raw[i:i + size]), 0.0).shown for i in range(0, len(raw), size))
    shown += b"".join(d.text.encode() + b"\n" for d in chunked.flush(0.0))
    assert shown.decode().splitlines() == [s for text in one_by_one for s in text.split("\n")]
    assert chunked.summary() == by_line.summary()
