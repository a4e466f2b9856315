"""Property tests: a random secret encoded the usual ways and smuggled through a job's log does
not come out of the filtered and whitelist policies (beyond the split-payload window's allowance)."""

import base64
import binascii
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arenahub.logpolicy import LogFilter, Verdict, build_policy
from tests.unit.logpolicy.trainlogs import training_log

pytestmark = pytest.mark.unit

NOISE = [text for seed in range(3) for _, text in training_log(seed, 1)]
WHOLE_LINE_ENCODINGS = {
    "base64": lambda s: base64.b64encode(s).decode(),
    "base64url": lambda s: base64.urlsafe_b64encode(s).decode().rstrip("="),
    "base32": lambda s: base64.b32encode(s).decode(),
    "hex": lambda s: s.hex(),
    "HEX": lambda s: s.hex().upper(),
    "ascii85": lambda s: base64.a85encode(s).decode(),
    "base85": lambda s: base64.b85encode(s).decode(),
    "decimal list": lambda s: str(list(s)),
    "decimal bytes": lambda s: " ".join(map(str, s)),
    "hex bytes": lambda s: " ".join(f"0x{b:02x}" for b in s),
}
SPLIT_ENCODINGS = ("base64", "base32", "hex", "decimal bytes", "one byte per line")


def secret_of(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def feed_attack(policy, payload_lines, rng: random.Random, max_noise: int) -> int:
    """Bytes of payload lines the participant sees (shown unchanged or inside a redacted line)."""
    log_filter = LogFilter(policy, is_replay=True, backend="python")
    shown = 0
    for line in payload_lines:
        for _ in range(rng.randrange(max_noise + 1)):
            log_filter.feed(rng.choice(NOISE), 0.0)
        own = [d for d in log_filter.feed(line, 0.0) if d.action is not Verdict.MARKER][-1]
        if own.action is not Verdict.WITHHOLD and line in own.text:
            shown += len(line)
    return shown


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), size=st.integers(64, 4096), encoding=st.sampled_from(sorted(WHOLE_LINE_ENCODINGS)),
       line_chars=st.integers(80, 4000), kind=st.sampled_from(["filtered", "whitelist"]))
def test_an_encoded_secret_in_long_lines_is_never_shown(seed, size, encoding, line_chars, kind):
    text = WHOLE_LINE_ENCODINGS[encoding](secret_of(seed, size))
    lines = [text[i:i + line_chars] for i in range(0, len(text), line_chars)]
    # 80 characters hold at least number_list_min (16) numbers of a byte list; a shorter tail
    # is the split case below.
    lines = [line for line in lines if len(line) >= 80]
    shown = feed_attack(build_policy({"policy": kind, "leak_budget_bytes": None}), lines, random.Random(seed), 2)
    assert shown == 0


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), size=st.integers(64, 4096), encoding=st.sampled_from(SPLIT_ENCODINGS),
       pieces=st.integers(1, 50), kind=st.sampled_from(["filtered", "whitelist"]))
def test_a_secret_split_across_lines_between_training_output_stays_within_the_window_allowance(seed, size, encoding, pieces, kind):
    """filtered lets at most two windows' worth of data fragments through (window_data_bytes
    before a window fills, once more when noise pushes the first fragments out); whitelist none."""
    secret = secret_of(seed, size)
    if encoding == "one byte per line":
        lines = [str(b) for b in secret]
    else:
        text = WHOLE_LINE_ENCODINGS[encoding](secret)
        width = -(-len(text) // pieces)
        lines = [text[i:i + width] for i in range(0, len(text), width)]
    policy = build_policy({"policy": kind, "leak_budget_bytes": None})
    shown = feed_attack(policy, lines, random.Random(seed), 2)
    allowance = 2 * policy.detection.window_data_bytes if kind == "filtered" else 0
    assert shown <= allowance


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), budget=st.integers(0, 2000), kind=st.sampled_from(["filtered", "whitelist"]))
def test_whatever_the_encoding_a_job_never_shows_more_free_form_bytes_than_its_budget(seed, budget, kind):
    """Word-shaped encodings pass the detectors by design; the leak budget bounds them."""
    rng = random.Random(seed)
    words = ["cat", "dog", "bird", "loss", "epoch", "step", "acc", "done"]
    lines = [f"epoch {rng.randrange(100)} {rng.choice(words)} {rng.choice(words)} loss={rng.random():.4f}" for _ in range(300)]
    log_filter = LogFilter(build_policy({"policy": kind}), budget, is_replay=True, backend="python")
    for line in lines:
        log_filter.feed(line, 0.0)
    log_filter.flush(0.0)
    assert log_filter.budget_used <= budget


def test_uuencoded_secret_lines_are_withheld():
    secret = secret_of(3, 450)
    lines = [binascii.b2a_uu(secret[i:i + 45]).decode().rstrip("\n") for i in range(0, len(secret), 45)]
    assert feed_attack(build_policy({"policy": "filtered"}), lines, random.Random(3), 1) == 0
