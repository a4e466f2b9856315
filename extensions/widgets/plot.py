"""The live metric plot: one small bqplot chart per metric, redrawn in batches with decimated points."""

from __future__ import annotations

import bqplot as bq
import ipywidgets as w
import numpy as np

from arenahub.widgets.series import MetricSeries, decimate

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MARKER_MAX_POINTS = 60  # draw dots while a line is short, so a single point is visible


def axis_range(values: list[float]) -> tuple[float, float]:
    """The axis bounds for ``values``: their min and max, widened when they are all equal.

    The panel always sets the bounds itself: bqplot draws nothing for a zero-width domain (a flat
    line or one point), and switching a scale between fixed and automatic bounds leaves it stale.
    """
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) * 0.05 or 0.5
        return low - pad, high + pad
    return low, high


class MetricPlot:
    """A grid of charts (one per metric name) that follows a MetricSeries."""

    def __init__(self, *, max_points: int = 1500, max_charts: int = 12) -> None:
        self.max_points = max_points
        self.max_charts = max_charts
        self.empty = w.HTML('<div style="color:#666">No metrics yet: call arenahub.sdk.report(step, loss=...) '
                            "in your job to plot them here.</div>")
        self.grid = w.GridBox(layout=w.Layout(grid_template_columns="repeat(2, minmax(0, 1fr))", width="100%"))
        self.widget = w.VBox([self.empty, self.grid])
        self.widget.add_class("arenahub-plot")
        self._charts: dict[str, tuple[bq.Figure, bq.Lines]] = {}
        self._drawn: dict[str, int] = {}
        self.points_drawn = 0

    def _chart(self, name: str) -> tuple[bq.Figure, bq.Lines]:
        x, y = bq.LinearScale(), bq.LinearScale()
        color = PALETTE[len(self._charts) % len(PALETTE)]
        line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[color],
                        stroke_width=2, enable_hover=False)
        fig = bq.Figure(
            marks=[line],
            axes=[bq.Axis(scale=x, label="step", num_ticks=5), bq.Axis(scale=y, orientation="vertical", num_ticks=5,
                                                                      tick_format=".3g")],
            title=name, animation_duration=0,
            fig_margin={"top": 30, "bottom": 40, "left": 55, "right": 10},
            layout=w.Layout(width="100%", height="220px"),
        )
        fig.add_class("arenahub-chart")
        self._charts[name] = (fig, line)
        self.grid.children = [f for f, _ in self._charts.values()]
        return fig, line

    def update(self, series: MetricSeries) -> bool:
        """Push every changed metric's decimated points; returns True when anything was sent."""
        sent = False
        for name in series.names[: self.max_charts]:
            count = len(series.values[name])
            if self._drawn.get(name) == count:
                continue
            _, line = self._charts.get(name) or self._chart(name)
            xs, ys = decimate(series.steps[name], series.values[name], self.max_points)
            x_scale, y_scale = line.scales["x"], line.scales["y"]
            with line.hold_sync(), x_scale.hold_sync(), y_scale.hold_sync():
                line.marker = "circle" if len(xs) <= MARKER_MAX_POINTS else None
                line.x, line.y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
                x_scale.min, x_scale.max = axis_range(xs)
                y_scale.min, y_scale.max = axis_range(ys)
            self._drawn[name] = count
            sent = True
        if sent or not series.names:
            self.empty.layout.display = "none" if series.names else None
            self.points_drawn = sum(min(n, self.max_points) for n in self._drawn.values())
        return sent

    def clear(self) -> None:
        """Remove every chart (another job was selected)."""
        for fig, line in self._charts.values():
            for axis in fig.axes:
                axis.scale.close()
                axis.close()
            line.close()
            fig.close()
        self._charts.clear()
        self._drawn.clear()
        self.grid.children = []
        self.empty.layout.display = None
        self.points_drawn = 0
