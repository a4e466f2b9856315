"""The panel's log view (bounded, withheld markers) and metric plot (decimated, batched redraws)."""

import math

import pytest

from arenahub.widgets.logview import LogBuffer, classify, render_log_html
from arenahub.widgets.series import MetricSeries, decimate

pytestmark = pytest.mark.unit


def line(seq, text, action="show", stream="stdout"):
    return {"seq": seq, "text": text, "action": action, "stream": stream}


@pytest.mark.parametrize("gateway_line, kind", [
    (line(0, "epoch 1"), "line"),
    (line(0, '@@arenahub.metric {"step":1,"loss":0.5}', "metric"), "metric"),
    (line(0, "path /data/train/[redacted]", "redact"), "redacted"),
    (line(0, "", "withhold"), "withheld"),
    (line(0, "[12 lines withheld: encoded-data]", "marker"), "withheld"),
    (line(0, "[3 lines withheld]"), "withheld"),
])
def test_gateway_lines_are_classified_by_their_policy_action(gateway_line, kind):
    assert classify(gateway_line) == kind


def test_the_log_keeps_only_the_last_lines_and_says_how_many_scrolled_out():
    buffer = LogBuffer(max_lines=100)
    buffer.add(line(i, f"epoch {i}") for i in range(1000))
    assert len(buffer.entries) == 100 and buffer.dropped == 900
    assert buffer.entries[0].text == "epoch 900" and buffer.entries[-1].text == "epoch 999"
    html = render_log_html(buffer)
    assert "900 earlier lines are not shown here" in html
    assert "epoch 999" in html and "epoch 899<" not in html


def test_a_run_of_withheld_lines_becomes_one_marker_with_its_count():
    buffer = LogBuffer()
    buffer.add([line(0, "start"), *(line(i, "", "withhold") for i in range(1, 6)), line(6, "end")])
    assert [(e.kind, e.count) for e in buffer.entries] == [("line", 1), ("withheld", 5), ("line", 1)]
    html = render_log_html(buffer)
    assert "[5 lines withheld by the log policy]" in html and 'class="arenahub-log-withheld"' in html


def test_the_policys_own_markers_are_shown_as_markers_unchanged():
    buffer = LogBuffer()
    buffer.add([line(0, "[12 lines withheld: encoded-data]", "marker"), line(1, "[1 line withheld: too long]", "marker")])
    html = render_log_html(buffer)
    assert [e.count for e in buffer.entries] == [1, 1]
    assert "⚠ [12 lines withheld: encoded-data]" in html and "⚠ [1 line withheld: too long]" in html


def test_lines_seen_before_are_skipped_when_a_stream_resumes():
    buffer = LogBuffer()
    buffer.add([line(0, "a"), line(1, "b")])
    version = buffer.version
    buffer.add([line(1, "b"), line(2, "c")])
    assert [e.text for e in buffer.entries] == ["a", "b", "c"]
    assert buffer.version == version + 1


def test_log_text_is_escaped_and_stderr_is_red():
    buffer = LogBuffer()
    buffer.add([line(0, "<script>alert(1)</script>", stream="stderr")])
    html = render_log_html(buffer)
    assert "<script>" not in html and "&lt;script&gt;" in html and "#b00020" in html
    assert "No log lines yet." in render_log_html(LogBuffer())


def test_metric_rows_are_grouped_by_name_and_the_cursor_skips_repeats():
    series = MetricSeries()
    rows = [{"cursor": i + 1, "step": i // 2, "name": "loss" if i % 2 == 0 else "acc", "value": i} for i in range(6)]
    assert series.add_rows(rows) == 6
    assert series.add_rows(rows[-2:]) == 0
    assert series.names == ["loss", "acc"] and series.steps["loss"] == [0, 1, 2]
    assert series.cursor == 6 and series.point_count() == 6


def test_decimation_bounds_ten_thousand_points_and_keeps_spikes_and_ends():
    xs = [float(i) for i in range(10_000)]
    ys = [math.exp(-i / 3000) for i in range(10_000)]
    ys[4321] = 50.0  # a spike the plot must not lose
    ys[7000] = float("nan")
    dx, dy = decimate(xs, ys, 1500)
    assert len(dx) <= 1500
    assert 50.0 in dy and dx[0] == 0.0 and dx[-1] == 9999.0
    assert all(math.isfinite(v) for v in dy)
    assert dx == sorted(dx)


def test_the_plot_draws_ten_thousand_points_as_one_bounded_batch_and_skips_unchanged_redraws():
    from arenahub.widgets.plot import MetricPlot

    plot = MetricPlot(max_points=1500)
    series = MetricSeries()
    series.add_rows({"cursor": i + 1, "step": i, "name": "loss", "value": 1 / (i + 1)} for i in range(10_000))
    assert plot.update(series) is True
    fig, lines = plot._charts["loss"]
    assert len(lines.x) <= 1500 and lines.x[-1] == 9999 and lines.marker is None
    assert plot.points_drawn == 1500 and plot.empty.layout.display == "none"
    assert plot.update(series) is False  # nothing new: nothing sent
    series.add_rows([{"cursor": 10_001, "step": 10_000, "name": "acc", "value": 0.5}])
    assert plot.update(series) is True
    assert len(plot.grid.children) == 2 and plot._charts["acc"][1].marker == "circle"
    plot.clear()
    assert plot.grid.children == () and plot.points_drawn == 0


def test_every_chart_gets_explicit_axis_bounds_widened_for_a_flat_line_or_a_single_point():
    from arenahub.widgets.plot import MetricPlot, axis_range

    assert axis_range([0.925, 0.925]) == pytest.approx((0.87875, 0.97125))
    assert axis_range([0.0, 0.0]) == (-0.5, 0.5)
    assert axis_range([0.2, 0.1, 0.3]) == (0.1, 0.3)
    assert axis_range([]) == (0.0, 1.0)
    plot = MetricPlot()
    series = MetricSeries()
    series.add_rows([{"cursor": 1, "step": 3, "name": "loss", "value": 2.0}])
    plot.update(series)
    scales = plot._charts["loss"][1].scales
    assert (scales["x"].min, scales["x"].max) == pytest.approx((2.85, 3.15))
    series.add_rows([{"cursor": 2, "step": 4, "name": "loss", "value": 1.0}])
    plot.update(series)  # the second point: bounds follow the data
    assert (scales["x"].min, scales["x"].max, scales["y"].min, scales["y"].max) == (3.0, 4.0, 1.0, 2.0)
