"""Tests of arenahub.gateway.loggate: verdicts become shown lines, audit originals and metrics, in order."""

import pytest

from arenahub.gateway.executors.base import LogRecord
from arenahub.gateway.loggate import LogGate, LogVerdict

pytestmark = pytest.mark.unit


def records(*texts, stream="stdout", first=0):
    return [LogRecord(seq=first + n, offset=10 * (first + n + 1), ts=100.0 + n, stream=stream, text=t)
            for n, t in enumerate(texts)]


class ScriptedPolicy:
    """A test policy: 'SECRET' lines are withheld (a marker precedes the next shown line),
    'KEY=...' lines are redacted, 'M <step> <value>' lines are loss metrics."""

    def __init__(self):
        self.withheld = 0

    def feed(self, text, now):
        if text.startswith("SECRET"):
            self.withheld += 1
            return [LogVerdict("withhold", text, "encoded-data")]
        out = self.flush(now)
        if text.startswith("KEY="):
            return out + [LogVerdict("redact", "KEY=[redacted]", "encoded-data", original=text)]
        if text.startswith("M "):
            _, step, value = text.split()
            return out + [LogVerdict("pass", text, metric=[(int(step), "loss", float(value))])]
        return out + [LogVerdict("pass", text)]

    def flush(self, now):
        if not self.withheld:
            return []
        marker, self.withheld = LogVerdict("marker", f"[{self.withheld} lines withheld: encoded-data]", "encoded-data"), 0
        return [marker]


def test_passed_lines_are_numbered_and_the_offset_is_the_last_records():
    released = LogGate(ScriptedPolicy()).feed(records("a", "b"), now=0)
    assert [(l.seq, l.text, l.action) for l in released.lines] == [(0, "a", "pass"), (1, "b", "pass")]
    assert released.offset == 20 and released.withheld == [] and released.metrics == []


def test_withheld_lines_are_not_shown_but_audited_and_a_marker_stands_for_them():
    released = LogGate(ScriptedPolicy()).feed(records("ok", "SECRET1", "SECRET2", "after"), now=0)
    assert [(l.text, l.action, l.stream) for l in released.lines] == [
        ("ok", "pass", "stdout"), ("[2 lines withheld: encoded-data]", "marker", "system"), ("after", "pass", "stdout")
    ]
    assert [(w.record_seq, w.original, w.action) for w in released.withheld] == [(1, "SECRET1", "withhold"), (2, "SECRET2", "withhold")]
    assert all("SECRET" not in l.text for l in released.lines)


def test_redacted_lines_are_shown_redacted_with_the_original_audited():
    released = LogGate(ScriptedPolicy()).feed(records("KEY=c2VjcmV0"), now=0)
    assert [(l.text, l.action) for l in released.lines] == [("KEY=[redacted]", "redact")]
    assert [(w.original, w.rule) for w in released.withheld] == [("KEY=c2VjcmV0", "encoded-data")]


def test_metric_lines_become_metrics_pointing_at_their_shown_line():
    released = LogGate(ScriptedPolicy(), next_seq=5).feed(records("x", "M 3 0.5"), now=0)
    assert [(l.seq, l.action) for l in released.lines] == [(5, "pass"), (6, "metric")]
    assert [(m.seq, m.step, m.name, m.value) for m in released.metrics] == [(6, 3, "loss", 0.5)]


def test_supervisor_lines_bypass_the_policy():
    released = LogGate(ScriptedPolicy()).feed(records("SECRET but from the supervisor", stream="system"), now=0)
    assert [(l.text, l.action) for l in released.lines] == [("SECRET but from the supervisor", "pass")]


def test_the_end_of_run_flush_shows_the_final_marker_without_moving_the_offset():
    gate = LogGate(ScriptedPolicy())
    fed = gate.feed(records("SECRET"), now=0)
    owed = gate.flush(now=1, last=records("SECRET")[0])
    assert fed.lines == [] and fed.offset == 10
    assert [(l.seq, l.action) for l in owed.lines] == [(0, "marker")] and owed.offset is None
