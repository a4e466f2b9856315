"""The in-job SDK: ``report(step, **metrics)`` prints metric lines; stdlib only, safe in any sandbox."""

from arenahub.core.metricline import MetricLineError
from arenahub.sdk.report import Reporter, disable_tensorboard, enable_tensorboard, report

__all__ = ["MetricLineError", "Reporter", "disable_tensorboard", "enable_tensorboard", "report"]
