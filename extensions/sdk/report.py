"""``report(step, **metrics)``: print one metric line for the gateway to parse and plot.

Runs inside sandboxed jobs, so it needs only the standard library (and the stdlib-only
``arenahub.core.metricline``). The line format is documented in docs/notebook.md ("Metric line format").
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO

from arenahub.core.metricline import MetricLineError, format_metric_line
from arenahub.sdk.tbevents import ScalarEventWriter


def _as_number(name: str, value: object) -> object:
    """Plain numbers pass; numpy scalars and one-element tensors become floats; the rest is left to fail."""
    if isinstance(value, (bool, int, float)) or isinstance(value, (str, bytes)):
        return value
    if hasattr(value, "__float__"):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise MetricLineError(
                f"metric {name!r} must be one number, got {type(value).__name__} ({exc}); "
                f"report a scalar, e.g. {name}=value.item()."
            ) from None
    return value


class Reporter:
    """Writes metric lines to ``stream`` and, once enabled, scalars to a TensorBoard event file."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._writer: ScalarEventWriter | None = None

    def report(self, step: int, /, **metrics: object) -> str:
        """Print the metric line for ``step`` and ``metrics`` and return it (without newline).

        Raises MetricLineError (a ValueError) naming the bad step, name or value; nothing is
        printed then.
        """
        values = {name: _as_number(name, value) for name, value in metrics.items()}
        line = format_metric_line(step, values)  # type: ignore[arg-type]
        stream = self._stream or sys.stdout
        with self._lock:
            # One write call per line, flushed at once: the gateway reads lines as they come.
            stream.write(line + "\n")
            stream.flush()
            if self._writer is not None:
                self._writer.add_scalars(step, {k: float(v) for k, v in values.items()})  # type: ignore[arg-type]
        return line

    def enable_tensorboard(self, logdir: str | os.PathLike[str]) -> str:
        """Also write every reported value to a new TensorBoard event file in ``logdir``; returns its path."""
        with self._lock:
            if self._writer is not None:
                self._writer.close()
            self._writer = ScalarEventWriter(logdir)
            return str(self._writer.path)

    def disable_tensorboard(self) -> None:
        """Stop writing event files (metric lines are still printed)."""
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None


_default = Reporter()


def report(step: int, /, **metrics: object) -> str:
    """Print one metric line, e.g. ``report(3, loss=0.41, acc=0.9)``; returns the line.

    ``step`` is a non-negative integer; each metric name starts with a letter and uses letters,
    digits and ``_ . / -``; each value is a number (numpy scalars and one-element tensors are
    converted). Raises MetricLineError (a ValueError) saying which rule a value breaks.
    """
    return _default.report(step, **metrics)


def enable_tensorboard(logdir: str | os.PathLike[str]) -> str:
    """Also write what ``report()`` prints to a TensorBoard event file in ``logdir``; returns its path."""
    return _default.enable_tensorboard(logdir)


def disable_tensorboard() -> None:
    """Stop writing TensorBoard event files from ``report()``."""
    _default.disable_tensorboard()
