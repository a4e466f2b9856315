"""Executors: how the gateway starts, follows and stops sandboxed runs.

The interface lives in ``base``; the bubblewrap executor is ``arenahub.gateway.executors.local.LocalExecutor``
(not imported here: every sandbox supervisor imports this package and must start fast).
"""

from arenahub.gateway.executors.base import (
    Executor,
    LogRecord,
    Mount,
    OutputsUnavailable,
    RunHandle,
    RunLimits,
    RunResult,
    RunSpec,
)

__all__ = ["Executor", "LogRecord", "Mount", "OutputsUnavailable", "RunHandle", "RunLimits", "RunResult", "RunSpec"]
