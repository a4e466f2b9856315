"""first_by_reason: the audit's 'first line held back' event is per reason, for the earliest such line."""

import pytest

from arenahub.gateway.logstore import WithheldOriginal
from arenahub.gateway.policyaudit import first_by_reason

pytestmark = pytest.mark.unit


def held(seq, rule, action="withhold"):
    return WithheldOriginal(record_seq=seq, ts=1.0, stream="stdout", original=f"line {seq}", action=action, rule=rule)


def test_each_reason_keeps_its_earliest_line_in_order_of_first_appearance():
    lines = [held(3, "encoded-data", "redact"), held(4, "split-payload"), held(5, "encoded-data"), held(9, "split-payload")]
    first = first_by_reason(lines)
    assert list(first) == ["encoded-data", "split-payload"]
    assert (first["encoded-data"].record_seq, first["split-payload"].record_seq) == (3, 4)


def test_a_line_without_a_rule_is_named_by_its_action_and_nothing_held_gives_nothing():
    assert list(first_by_reason([held(1, "")])) == ["withhold"]
    assert first_by_reason([]) == {}
