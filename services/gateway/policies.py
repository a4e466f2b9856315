"""Builds each run's log policy from the settings, on top of arenahub.logpolicy's LogFilter."""

from __future__ import annotations

import logging
from typing import Any

from arenahub.core.errors import UnprocessableInput
from arenahub.gateway.loggate import LogPolicy, LogPolicyFactory, LogVerdict
from arenahub.gateway.settings import LogSettings
from arenahub.logpolicy import Decision, LogFilter, Policy, PolicyError, build_policy, default_policy, load_policy

log = logging.getLogger(__name__)


class FilterPolicy:
    """The gateway's LogPolicy hook backed by one ``arenahub.logpolicy.LogFilter`` (one per run)."""

    def __init__(self, policy: Policy) -> None:
        self.filter = LogFilter(policy)
        self.name = policy.policy  # open, filtered or whitelist: what the audit trail calls it

    def feed(self, text: str, now: float) -> list[LogVerdict]:
        """The filter's decisions for one line, as verdicts."""
        return [_verdict(d) for d in self.filter.feed(text, now)]

    def flush(self, now: float) -> list[LogVerdict]:
        """The filter's end-of-run decisions (a final marker), as verdicts."""
        return [_verdict(d) for d in self.filter.flush(now)]


def _verdict(decision: Decision) -> LogVerdict:
    point = decision.metric if decision.is_metric else None
    return LogVerdict(
        action=decision.action.value,  # type: ignore[arg-type]  # the four Verdict values
        text=decision.text,
        reason=decision.reason,
        original=decision.original,
        metric=[(point.step, name, value) for name, value in point.values.items()] if point else None,
    )


def load_log_policy(logs: LogSettings) -> Policy:
    """The competition's policy: ``policy_file`` when set, else the named kind with its defaults.

    Raises UnprocessableInput naming every problem of an unusable policy.
    """
    try:
        return load_policy(logs.policy_file) if logs.policy_file else default_policy(logs.policy)
    except PolicyError as exc:
        raise UnprocessableInput(
            f"The gateway's log policy is unusable: {exc}. Fix ARENAHUB_GATEWAY_LOGS__POLICY_FILE or "
            "ARENAHUB_GATEWAY_LOGS__POLICY (open, filtered or whitelist).",
            reason="log-policy-invalid",
        ) from exc


def competition_policy(rules: str | dict[str, Any]) -> Policy:
    """A competition file's ``log_policy``: a kind with its defaults, or an inline policy mapping."""
    if isinstance(rules, str):
        return default_policy(rules)
    return build_policy(rules, "competition log_policy")


def make_policy_factory(logs: LogSettings) -> LogPolicyFactory:
    """A function returning a fresh LogPolicy per run (budgets are per run); checks the policy now.

    Called with the competition's ``log_policy`` when the job's dataset belongs to a competition,
    which then wins over the gateway's own policy; a competition policy that cannot be built
    (it was checked when the competition was created) falls back to the gateway's, loudly.
    """
    policy = load_log_policy(logs)

    def new_run_policy(rules: str | dict[str, Any] | None = None) -> LogPolicy:
        if rules is None:
            return FilterPolicy(policy)
        try:
            return FilterPolicy(competition_policy(rules))
        except PolicyError:
            log.exception("A competition's log policy is unusable; this run uses the gateway's")
            return FilterPolicy(policy)

    return new_run_policy
