"""Log and metric leak control: the open, filtered and whitelist policies every job line passes.

Use ``load_policy`` once per competition and one ``LogFilter`` per job::

    policy = load_policy(Path("policy.yaml"))
    f = LogFilter(policy)
    for decision in f.feed(line, now): ...
    f.flush(now); f.summary()
"""

from arenahub.logpolicy.decision import REASONS, Decision, Verdict
from arenahub.logpolicy.filter import ChunkResult, LogFilter
from arenahub.logpolicy.loading import load_policy
from arenahub.logpolicy.metrics import metric_channel_bits
from arenahub.logpolicy.policy import Policy, PolicyError, build_policy, default_policy, parse_policy

__all__ = [
    "REASONS",
    "ChunkResult",
    "Decision",
    "LogFilter",
    "Policy",
    "PolicyError",
    "Verdict",
    "build_policy",
    "default_policy",
    "load_policy",
    "metric_channel_bits",
    "parse_policy",
]
