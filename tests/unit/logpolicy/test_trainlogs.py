"""False positives on realistic training logs (tests/unit/logpolicy/trainlogs.py): filtered
withholds at most 1 % of lines, whitelist keeps every metric and progress line."""

import random

import pytest

from arenahub.logpolicy import LogFilter, Verdict, default_policy
from tests.unit.logpolicy.trainlogs import STYLES, training_log

pytestmark = pytest.mark.unit

SEEDS = range(8)


def own_verdicts(kind: str, seed: int) -> list[tuple[str, str, Verdict]]:
    """(line kind, text, verdict of the line itself) for one generated log."""
    log_filter = LogFilter(default_policy(kind), is_replay=True, backend="python")
    out = []
    for line_kind, text in training_log(seed):
        own = [d for d in log_filter.feed(text, 0.0) if d.action is not Verdict.MARKER]
        out.append((line_kind, text, own[-1].action))
    return out


def test_the_filtered_policy_withholds_at_most_one_percent_of_real_training_lines():
    verdicts = [v for seed in SEEDS for v in own_verdicts("filtered", seed)]
    withheld = [(k, t) for k, t, action in verdicts if action is Verdict.WITHHOLD]
    assert len(withheld) <= 0.01 * len(verdicts), withheld[:10]


def test_the_filtered_policy_redacts_nothing_in_real_training_lines():
    redacted = [t for seed in SEEDS for _, t, action in own_verdicts("filtered", seed) if action is Verdict.REDACT]
    assert redacted == []


def test_the_whitelist_policy_keeps_every_metric_and_progress_line():
    lost = [(k, t) for seed in SEEDS for k, t, action in own_verdicts("whitelist", seed)
            if k in ("metric", "progress") and action is Verdict.WITHHOLD]
    assert lost == []


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_training_style_keeps_its_metric_and_progress_lines_under_whitelist(style):
    log_filter = LogFilter(default_policy("whitelist"), is_replay=True, backend="python")
    for kind, text in STYLES[style](random.Random(1), 2):
        own = [d for d in log_filter.feed(text, 0.0) if d.action is not Verdict.MARKER]
        if kind in ("metric", "progress"):
            assert own[-1].action is not Verdict.WITHHOLD, text


def test_the_open_policy_shows_every_real_training_line():
    assert all(action is Verdict.PASS for seed in SEEDS for _, _, action in own_verdicts("open", seed))
