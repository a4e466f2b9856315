"""The native filter core (arenahub_logscan.Filter) decides every line exactly as the pure-Python
reference does: verdict, reason, shown and redacted text, markers, metric points and counters,
line by line and chunk by chunk; skipped when the extension is not built."""

import base64
import json
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arenahub.logpolicy import LogFilter, build_policy, default_policy
from arenahub.logpolicy.backends import native_module
from benchmarks.make_training_log import encoded_lines
from tests.unit.logpolicy.trainlogs import training_log

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(native_module() is None, reason="arenahub_logscan is not built; run services/logpolicy_native/build.sh .venv"),
]

TRAINING_LINES = [text for seed in range(3) for _, text in training_log(seed, 1)]
SMALL = {"base64_min_chars": 16, "token_min_chars": 10, "hex_min_chars": 8, "decimal_min_digits": 8,
         "number_list_min": 4, "long_token_chars": 40, "unicode_min_chars": 8, "window_lines": 8,
         "window_data_lines": 3, "window_data_bytes": 24}
POLICIES = {
    "filtered": default_policy("filtered"),
    "open": default_policy("open"),
    "small-budget": build_policy({"policy": "filtered", "leak_budget_bytes": 3000, "max_line_bytes": 80}),
    "shown-cap": build_policy({"policy": "filtered", "max_shown_bytes": 2500, "leak_budget_bytes": None,
                               "metrics": {"max_points_per_job": 40, "max_names": 3, "significant_digits": 2}}),
    "small-detector": build_policy({"policy": "filtered", "max_line_bytes": 64, "detection": SMALL,
                                    "metrics": {"name_pattern": "(loss|acc|lr)[0-9]?", "max_name_chars": 5,
                                                "max_step": 1000, "significant_digits": 17}}),
    "open-capped": build_policy({"policy": "open", "leak_budget_bytes": 2000, "max_line_bytes": 40,
                                 "max_lines_per_s": 3, "burst_lines": 5,
                                 "metrics": {"max_points_per_s": 2, "burst_points": 3}}),
}
NAMES = ["loss", "acc", "lr", "val/acc", "loss1", "a" * 40, "Bad Name", "step2", "x.y-z_1"]


@st.composite
def metric_lines(draw):
    """Metric lines: valid ones, and every way of breaking or stretching the format."""
    names = draw(st.lists(st.sampled_from(NAMES) | st.text("abcXYZ019_./-", min_size=1, max_size=6), min_size=0, max_size=5))
    number = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10**30, 10**30) | st.sampled_from(
        [0.125, 2.5, 1e-31, 9.9996e29, -0.0, 1e16, 123456789012345678, 10**400])
    values = {name: draw(number) for name in names}
    step = draw(st.integers(0, 2000) | st.sampled_from([-1, 2**53 - 1, 2**53, 1.0, True, "3", None]))
    body = "{" + ",".join([f'"step":{json.dumps(step)}', *(f"{json.dumps(n)}:{json.dumps(v)}" for n, v in values.items())]) + "}"
    mutation = draw(st.sampled_from(["none"] * 6 + ["spaces", "duplicate", "string", "nested", "escape", "cut",
                                                     "surrogate", "trailing", "empty", "newline-name", "order"]))
    if mutation == "spaces":
        body = " " + body.replace(",", " ,\t").replace(":", ": ") + " "
    elif mutation == "duplicate" and values:
        name = next(iter(values))
        body = body[:-1] + f',"{name}":"text","{name}":1.5' + "}"
    elif mutation == "string":
        body = body[:-1] + ',"note":"x"}'
    elif mutation == "nested":
        body = body[:-1] + ',"deep":[[1,{"a":2}]],"deep":3}'
    elif mutation == "escape":
        body = body.replace('"step"', '"\\u0073tep"', 1).replace('"loss"', '"lo\\u0073s"')
    elif mutation == "cut":
        body = body[: draw(st.integers(0, len(body)))]
    elif mutation == "surrogate":
        body = body[:-1] + ',"\\ud800x":1}'
    elif mutation == "trailing":
        body = body[:-1] + ",}"
    elif mutation == "empty":
        body = draw(st.sampled_from(["{}", '{"step":3}', "[]", "1", "", "null"]))
    elif mutation == "newline-name":
        body = body[:-1] + ',"loss\\n":1}'
    elif mutation == "order":
        body = "{" + body[1:].replace('"step"', '"z"', 1) + "," * 0
    return "@@arenahub.metric " + body


@st.composite
def payload_lines(draw):
    """A random secret encoded as base64, base32, hex, a decimal byte list or one byte per line,
    split over 1-50 lines."""
    secret = random.Random(draw(st.integers(0, 2**32))).randbytes(draw(st.integers(64, 600)))
    encoding = draw(st.sampled_from(["base64", "base32", "hex", "decimal", "bytes"]))
    if encoding == "bytes":
        return [str(b) for b in secret[: draw(st.integers(1, 50))]]
    text = {"base64": lambda: base64.b64encode(secret).decode(), "base32": lambda: base64.b32encode(secret).decode(),
            "hex": secret.hex, "decimal": lambda: " ".join(map(str, secret))}[encoding]()
    parts = draw(st.integers(1, 50))
    size = max(1, math.ceil(len(text) / parts))
    return [text[i:i + size] for i in range(0, len(text), size)]


ODD_LINES = ["\x1b[32mgreen\x1b[0m epoch 1", "50%|#####     | 5/10\r100%|##########| 10/10", "\r\r", "bad \xff byte",
             "tab\tand\x07bell", "back\bspace", "\r@@arenahub.metric {\"step\":1,\"loss\":0.5}", "é" * 60, "",
             "x" * 3000, "é" * 1500, "ab" + "\x1b]0;title\x07" + "cd", "a\x00b", " " * 50, "0123456789abcdef" * 4]


@st.composite
def job_logs(draw):
    """Training output interleaved with payloads, metric lines and odd lines (escapes, \\r, long lines)."""
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["training", "training", "payload", "metric", "metric", "odd", "encoded"]))
        if kind == "training":
            start = draw(st.integers(0, len(TRAINING_LINES) - 1))
            lines.extend(TRAINING_LINES[start:start + draw(st.integers(1, 30))])
        elif kind == "payload":
            lines.extend(draw(payload_lines()))
        elif kind == "metric":
            lines.extend(draw(st.lists(metric_lines(), min_size=1, max_size=8)))
        elif kind == "encoded":
            lines.extend(encoded_lines(random.Random(draw(st.integers(0, 10**6)))))
        else:
            lines.append(draw(st.sampled_from(ODD_LINES)))
    return lines


def _raw(lines: list[str]) -> bytes:
    return "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n"


def _summary(log_filter: LogFilter) -> dict:
    return {k: v for k, v in log_filter.summary().items() if k not in ("scanner", "core")}


def _same(a, b) -> bool:
    """Equal decisions, NaN metric values included (repr tells 0.0 from -0.0 too)."""
    return repr(a) == repr(b)


def _by_lines(policy, lines, is_replay):
    log_filter = LogFilter(policy, is_replay=is_replay, backend="native")
    reference = LogFilter(policy, is_replay=is_replay, backend="python")
    assert (log_filter.core_name, reference.core_name) == ("native", "python")
    for i, line in enumerate(lines):
        now = i * 0.05
        assert _same(log_filter.feed(line, now), reference.feed(line, now)), (i, line)
    assert _same(log_filter.flush(99.0), reference.flush(99.0))
    assert _summary(log_filter) == _summary(reference)


def _by_chunks(policy, data, cuts):
    results = []
    for backend in ("native", "python"):
        log_filter = LogFilter(policy, is_replay=True, backend=backend)
        shown, audit, at = [], [], 0
        for cut in [*sorted(cuts), len(data)]:
            cut = data.rfind(b"\n", 0, cut) + 1 if cut < len(data) else cut
            if cut > at:
                result = log_filter.feed_bytes(data[at:cut], 0.0)
                shown.append(result.shown)
                audit.extend(result.audit)
                at = cut
        results.append((b"".join(shown), audit, log_filter.flush(0.0), _summary(log_filter)))
    assert _same(results[0], results[1])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lines=job_logs(), which=st.sampled_from(sorted(POLICIES)), is_replay=st.booleans())
def test_native_and_python_filters_agree_on_every_decision_line_by_line(lines, which, is_replay):
    _by_lines(POLICIES[which], lines, is_replay)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lines=job_logs(), which=st.sampled_from(sorted(POLICIES)), cuts=st.lists(st.integers(0, 20000), max_size=4))
def test_native_and_python_filters_agree_on_whole_chunks(lines, which, cuts):
    _by_chunks(POLICIES[which], _raw(lines), cuts)


@settings(max_examples=300, deadline=None)
@given(line=metric_lines(), which=st.sampled_from(sorted(POLICIES)))
def test_native_and_python_filters_agree_on_every_metric_line(line, which):
    _by_lines(POLICIES[which], [line, line], is_replay=True)


@pytest.mark.parametrize("which", sorted(POLICIES))
def test_native_and_python_filters_agree_on_generated_training_logs(which):
    rng = random.Random(11)
    lines: list[str] = []
    for seed in range(4):
        for _, text in training_log(seed, 2):
            lines.append(text)
            if rng.random() < 0.02:
                lines.extend(encoded_lines(rng))
    _by_lines(POLICIES[which], lines, is_replay=True)
    _by_chunks(POLICIES[which], _raw(lines), [len(lines) * 30, len(lines) * 60])


def test_the_cli_path_skips_audit_decisions_unless_asked():
    data = _raw(TRAINING_LINES + encoded_lines(random.Random(3)) * 3)
    quiet = LogFilter(default_policy("filtered"), is_replay=True).feed_bytes(data, 0.0, is_audited=False)
    audited = LogFilter(default_policy("filtered"), is_replay=True).feed_bytes(data, 0.0)
    assert quiet.shown == audited.shown and quiet.audit == [] and audited.audit


LITERALS = ["0.12345", "0.12355", "0.12344999", "0.1236", "9.9995", "9.99961", "99999.7", "0.000099996", "1e-5",
            "1.5e+3", "-0", "-0.0", "0", "100", "1234", "12345", "123456789012345678901234567890", "1e29", "9.9996e29",
            "1e-30", "1.00006e-30", "9.99996e-31", "1e400", "-1e400", "1e-400", "2.675", "1.0000000000000002", "5e-324",
            "1.7976931348623157e308", "0.30000000000000004", "4.35", "4.45", "-12.34567e-3", "1E2", "7e+00"]


@pytest.mark.parametrize("literal", LITERALS)
@pytest.mark.parametrize("digits", [1, 2, 4, 8, 14, 15, 17])
def test_native_and_python_filters_round_metric_literals_alike(literal, digits):
    policy = build_policy({"policy": "filtered", "metrics": {"significant_digits": digits}})
    _by_lines(policy, [f'@@arenahub.metric {{"step":1,"v":{literal},"w":-{literal}}}'], is_replay=True)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lines=job_logs(), which=st.sampled_from(sorted(POLICIES)), cuts=st.lists(st.integers(0, 20000), max_size=6),
       has_last_newline=st.booleans())
def test_a_stream_cut_anywhere_is_decided_like_whole_lines(lines, which, cuts, has_last_newline):
    data = _raw(lines)[: None if has_last_newline else -1]
    whole = LogFilter(POLICIES[which], is_replay=True, backend="python")
    expected = (whole.feed_bytes(data, 0.0).shown if data else b"", whole.flush(0.0))
    for backend in ("native", "python"):
        log_filter = LogFilter(POLICIES[which], is_replay=True, backend=backend)
        points = [0, *sorted(c for c in cuts if c < len(data)), len(data)]
        shown = b"".join(log_filter.feed_stream(data[a:b], 0.0).shown for a, b in zip(points, points[1:]))
        shown += log_filter.end_stream(0.0).shown
        assert _same((shown, log_filter.flush(0.0)), expected), backend


@st.composite
def near_midpoint_literals(draw):
    """JSON number literals whose digits after the kept ones sit at or near a rounding midpoint."""
    head = draw(st.text("0123456789", min_size=1, max_size=14))
    tail = draw(st.sampled_from(["4", "5"])) + draw(st.sampled_from(["9", "0"])) * draw(st.integers(0, 17))
    tail += draw(st.sampled_from(["", "1", "8", "9", "0"]))
    point = draw(st.integers(1, len(head)))
    exponent = draw(st.sampled_from(["", f"e{draw(st.integers(-40, 40))}", f"E+{draw(st.integers(0, 40))}"]))
    return draw(st.sampled_from(["", "-"])) + head[:point].lstrip("0").rjust(1, "0") + "." + head[point:] + tail + exponent


@settings(max_examples=400, deadline=None)
@given(literal=near_midpoint_literals(), digits=st.integers(1, 17))
def test_native_and_python_filters_round_literals_near_midpoints_alike(literal, digits):
    policy = build_policy({"policy": "open", "metrics": {"significant_digits": digits}})
    _by_lines(policy, [f'@@arenahub.metric {{"step":1,"v":{literal}}}'], is_replay=True)


@pytest.mark.parametrize("backend", ["native", "python"])
def test_a_stream_written_as_it_is_decided_shows_the_same_bytes(backend):
    rng = random.Random(4)
    lines = [text for seed in range(3) for _, text in training_log(seed, 3)]
    for at in range(0, len(lines), 25):
        lines[at:at] = encoded_lines(rng)
    data = _raw(lines) * 16  # large enough for the native core's scanning thread
    shown = []
    for write in (None, shown.append):
        log_filter = LogFilter(default_policy("filtered"), is_replay=True, backend=backend)
        pieces = [log_filter.feed_stream(data[i:i + 300_000], 0.0, write=write).shown for i in range(0, len(data), 300_000)]
        pieces.append(log_filter.end_stream(0.0, write=write).shown)
        if write is None:
            expected = b"".join(pieces)
        else:
            assert not any(pieces)
    assert len(data) > 1_000_000 and b"".join(shown) == expected
