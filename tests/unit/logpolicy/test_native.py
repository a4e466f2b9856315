"""The native scanner (arenahub_logscan, built by services/logpolicy_native/build.sh) gives the
same scans and chunk events as the pure-Python reference; skipped when it is not installed."""

import base64
import binascii
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arenahub.logpolicy import LogFilter, build_policy, default_policy
from arenahub.logpolicy.backends import NativeScanner, make_scanner, native_module
from arenahub.logpolicy.chunks import PythonScanner
from arenahub.logpolicy.scanner import make_scan_params
from tests.unit.logpolicy.trainlogs import training_log

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(native_module() is None, reason="arenahub_logscan is not built; run services/logpolicy_native/build.sh .venv"),
]

TRAINING_LINES = [text for seed in range(3) for _, text in training_log(seed, 1)]
POLICIES = [
    default_policy("filtered"),
    default_policy("open"),
    build_policy({"policy": "filtered", "max_line_bytes": 64, "detection": {
        "base64_min_chars": 16, "token_min_chars": 10, "hex_min_chars": 8, "decimal_min_digits": 8,
        "number_list_min": 4, "long_token_chars": 40, "unicode_min_chars": 8}}),
]


def _pair(policy):
    params = make_scan_params(policy.detection, policy.max_line_bytes, policy.policy != "open")
    return PythonScanner(params), NativeScanner(params, native_module())


PAIRS = [_pair(p) for p in POLICIES]


@st.composite
def log_lines(draw):
    """One line: training output, an encoding of random bytes, random printable or raw bytes."""
    kind = draw(st.sampled_from(["training", "encoded", "printable", "bytes", "unicode", "mixed"]))
    if kind == "training":
        return draw(st.sampled_from(TRAINING_LINES)).encode()
    if kind == "encoded":
        secret = random.Random(draw(st.integers(0, 2**32))).randbytes(draw(st.integers(1, 120)))
        encode = draw(st.sampled_from([
            base64.b64encode, base64.b32encode, base64.a85encode, base64.b85encode, base64.urlsafe_b64encode,
            lambda s: s.hex().encode(), lambda s: " ".join(map(str, s)).encode(), lambda s: str(list(s)).encode(),
            lambda s: binascii.b2a_uu(s[:45]).rstrip(b"\n"),
        ]))
        data = encode(secret)
        cut = draw(st.integers(0, len(data)))
        return data[:cut] if draw(st.booleans()) else data
    if kind == "printable":
        return draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300)).encode()
    if kind == "unicode":
        return draw(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"), max_size=120)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200)).replace(b"\n", b" ")
    return b" ".join(draw(st.lists(log_lines(), min_size=2, max_size=3)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=log_lines(), which=st.integers(0, len(PAIRS) - 1))
def test_native_and_python_scanners_agree_on_every_line(line, which):
    python, native = PAIRS[which]
    assert native.scan_line(line) == python.scan_line(line)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(log_lines(), max_size=30), which=st.integers(0, len(PAIRS) - 1), ends_with_newline=st.booleans(),
       crs=st.lists(st.integers(0, 29), max_size=4))
def test_native_and_python_scanners_agree_on_whole_chunks(lines, which, ends_with_newline, crs):
    python, native = PAIRS[which]
    lines = list(lines)
    for i in crs:
        if i < len(lines):
            lines[i] = b"\r" + lines[i] + b"\r"  # tqdm-style redraws take the bulk path's other branch
    data = b"\n".join(lines) + (b"\n" if ends_with_newline and lines else b"")
    assert native.scan_chunk(data) == python.scan_chunk(data)


def test_the_filter_picks_the_native_scanner_when_it_is_installed():
    assert make_scanner(make_scan_params(default_policy("filtered").detection, 2000, True)).name == "native"
    assert LogFilter(default_policy("filtered")).summary()["scanner"] == "native"


def test_filters_on_native_and_python_scanners_show_the_same_log():
    rng = random.Random(5)
    lines = [text for _, text in training_log(1)]
    for at in range(0, len(lines), 40):
        lines.insert(at, base64.b64encode(rng.randbytes(rng.randrange(10, 200))).decode())
    data = "\n".join(lines).encode() + b"\n"
    shown = {}
    for backend in ("native", "python"):
        log_filter = LogFilter(default_policy("filtered"), is_replay=True, backend=backend)
        shown[backend] = (log_filter.feed_bytes(data, 0.0).shown, log_filter.summary()["reasons"])
    assert shown["native"] == shown["python"]
