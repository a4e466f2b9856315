"""Browser-side panel figures (issue 5): metric line printed in the job -> point drawn, and redraw cost with 10k points.

Runs the real stack: ``arenahub run`` (hub, proxy, gateway), a sandboxed JupyterLab server, a
bubblewrap job, and Debian's Chromium driven by Playwright.

1. Latency. A job prints ``report(<ms since 00:00 UTC>, n=k)`` ``--rate`` times a second (the
   step carries the print time: the log policy rounds metric values, not steps). In the
   page, a MutationObserver records (Date.now(), points in the chart's SVG path) each time the
   line is redrawn; point k counts as drawn at the first record with at least k points. The
   floor beside it is the same line's arrival on the extension's SSE log stream, read by a
   plain HTTP client in this process (job -> sandbox -> gateway -> extension, no widget).
2. Redraw cost. A notebook cell pushes a fresh 10,000-point series to a MetricPlot ``--redraws``
   times: arenahub's default (decimated to 1500 points) against the baseline that sends all
   10,000 points. Measured: kernel-side update() time, update() call -> path redrawn in the
   page, and main-thread long tasks (>50 ms) reported by Chromium while it draws.

Usage: .venv/bin/python benchmarks/notebook_plot_latency.py [--steps 150] [--rate 5] [--redraws 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, FAKE_GPUS, Lab, sign_in_and_spawn  # noqa: E402
from tests.browser.panel_page import open_and_run, shut_down_kernels, wait_for_idle_kernel, wait_text  # noqa: E402
from tests.support.hub import RunningHub, free_port  # noqa: E402

JOB = """import time
from arenahub.sdk import report
steps, pause = {steps}, 1.0 / {rate}
for k in range(1, steps + 1):
    report(int(time.time() % 86400 * 1000), n=k)  # the step is the print time: ms since 00:00 UTC
    time.sleep(pause)
print('done', flush=True)
"""

# Records every redraw of the first chart's line: (ms since epoch, points in the path).
OBSERVER = """() => {
  window.__draws = [];
  window.__longtasks = [];
  new PerformanceObserver(list => { for (const e of list.getEntries())
      window.__longtasks.push([performance.timeOrigin + e.startTime, e.duration]); })
    .observe({entryTypes: ['longtask']});
  const count = d => d ? (d.match(/L/g) || []).length + 1 : 0;
  const watch = () => {
    const path = document.querySelector('.jp-NotebookPanel .arenahub-chart path.line');
    if (!path) { setTimeout(watch, 20); return; }
    window.__draws.push([Date.now(), count(path.getAttribute('d'))]);
    new MutationObserver(() => window.__draws.push([Date.now(), count(path.getAttribute('d'))]))
      .observe(path, {attributes: true, attributeFilter: ['d']});
  };
  watch();
}"""

REDRAW_CELL = """import json, math, random, time
from IPython.display import display
from arenahub.widgets.plot import MetricPlot
from arenahub.widgets.series import MetricSeries
plot = MetricPlot(max_points={max_points})
display(plot.widget)
timings = []
for r in range({redraws}):
    time.sleep(1.5)  # let the page finish the previous redraw
    rng = random.Random(r)
    series = MetricSeries()
    n = 10_000 + r  # a new count, so update() cannot skip it
    series.add_rows({{"cursor": i + 1, "step": i, "name": "loss", "value": math.exp(-i / 3000) + rng.random() * 0.1}}
                    for i in range(n))
    started = time.time()
    plot.update(series)
    timings.append((started, time.time(), len(plot._charts["loss"][1].x)))
time.sleep(3)
print("TIMINGS " + json.dumps(timings))
"""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def follow_sse(lab: Lab, job_id: str, arrivals: dict[int, float], stop: threading.Event) -> None:
    """Record when each metric line of ``job_id`` arrives on the extension's SSE stream."""
    with lab.api() as api, api.stream("GET", f"arenahub/jobs/{job_id}/logs",
                                      headers={"Accept": "text/event-stream"}, timeout=None) as reply:
        for raw in reply.iter_lines():
            if stop.is_set():
                return
            if raw.startswith("data:") and ('"action": "metric"' in raw or '"action":"metric"' in raw):
                line = json.loads(raw[5:])
                step = json.loads(line["text"].split(" ", 1)[1])["step"]
                arrivals.setdefault(step, time.time())
            if raw.startswith("event: end"):
                return


def measure_latency(lab: Lab, steps: int, rate: float) -> dict[str, list[float]]:
    """Latencies (ms) from print to SSE arrival and from print to point drawn, per step."""
    lab.put_file("latency/train.py", JOB.format(steps=steps, rate=rate))
    lab.put_notebook("latency.ipynb", "from arenahub.widgets import Workbench\n"
                     f"Workbench('latency', time_limit_s=300)")
    panel = open_and_run(lab, "latency.ipynb")
    panel.locator("button.arenahub-train:not([disabled])").wait_for(timeout=60_000)
    lab.page.evaluate(OBSERVER)
    panel.locator("button.arenahub-train").click()
    job_id = ""
    deadline = time.monotonic() + 60
    while not job_id and time.monotonic() < deadline:
        with lab.api() as api:
            jobs = api.get("arenahub/jobs").json()["jobs"]
        job_id = jobs[0]["id"] if jobs else ""
        time.sleep(0.1)
    arrivals: dict[int, float] = {}
    stop = threading.Event()
    reader = threading.Thread(target=follow_sse, args=(lab, job_id, arrivals, stop), daemon=True)
    reader.start()
    wait_text(panel.locator(".arenahub-job-status"), "succeeded", timeout_s=steps / rate + 120)
    time.sleep(2)
    stop.set()
    draws = lab.page.evaluate("window.__draws")
    with lab.api() as api:
        rows = api.get(f"arenahub/jobs/{job_id}/metrics", params={"limit": 10_000}).json()["metrics"]
    # Metric values are rounded by the log policy, steps are not: the step carries the print time.
    day = time.time() // 86400 * 86400
    steps_ms = sorted(int(r["step"]) for r in rows if r["name"] == "n")
    to_sse = [(arrivals[s] - (day + s / 1000)) * 1000 for s in steps_ms if s in arrivals]
    to_plot = []
    for k, s in enumerate(steps_ms, start=1):  # the k-th printed point is drawn once the path has k points
        drawn = next((t / 1000 for t, n in draws if n >= k), None)
        if drawn is not None:
            to_plot.append((drawn - (day + s / 1000)) * 1000)
    shut_down_kernels(lab)
    return {"sse": to_sse, "plot": to_plot, "points": [float(len(steps_ms))]}


def measure_redraws(lab: Lab, max_points: int, redraws: int) -> dict[str, list[float]]:
    """Kernel update() ms, update() -> redrawn ms, and long-task ms per redraw, for one max_points."""
    lab.put_notebook(f"redraw{max_points}.ipynb", REDRAW_CELL.format(max_points=max_points, redraws=redraws))
    lab.page.goto(f"{lab.lab_url}/tree/redraw{max_points}.ipynb?reset")
    lab.page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    lab.page.evaluate(OBSERVER)
    wait_for_idle_kernel(lab)
    lab.page.click(".jp-NotebookPanel .jp-Cell .jp-InputArea-editor >> nth=0")
    lab.page.keyboard.press("Shift+Enter")
    output = lab.page.locator(".jp-NotebookPanel .jp-OutputArea-output").filter(has_text="TIMINGS")
    output.wait_for(timeout=redraws * 30_000 + 60_000)
    timings = json.loads(output.inner_text().split("TIMINGS ", 1)[1].strip())
    draws = lab.page.evaluate("window.__draws")
    longtasks = lab.page.evaluate("window.__longtasks")
    kernel_ms, drawn_ms, blocked_ms = [], [], []
    for i, (started, returned, sent_points) in enumerate(timings):
        end = timings[i + 1][0] if i + 1 < len(timings) else returned + 3
        kernel_ms.append((returned - started) * 1000)
        drawn = next((t / 1000 for t, n in draws if started <= t / 1000 < end and n == sent_points), None)
        if drawn is not None:
            drawn_ms.append((drawn - started) * 1000)
        blocked_ms.append(sum(d for t, d in longtasks if started <= t / 1000 < end))
    shut_down_kernels(lab)
    return {"kernel": kernel_ms, "drawn": drawn_ms, "longtask": blocked_ms,
            "points": [float(timings[0][2])] if timings else []}


def summary(values: list[float]) -> str:
    """'p50 / p95 ms (n)' of ``values``."""
    if not values:
        return "n/a"
    return f"{statistics.median(values):.0f} / {percentile(values, 95):.0f} ms (n={len(values)})"


def main() -> int:
    """Run both measurements and print a Markdown table; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=150, help="metric lines the latency job prints")
    parser.add_argument("--rate", type=float, default=5.0, help="metric lines per second")
    parser.add_argument("--redraws", type=int, default=8, help="10k-point redraws per configuration")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="arenahub-bench-") as tmp:
        hub = RunningHub(Path(tmp) / "hub", {"gpus": FAKE_GPUS, "cull": {"enabled": False},
                                             "gateway": {"port": free_port()}}).start()
        try:
            with sync_playwright() as pw:
                context = pw.chromium.launch_persistent_context(
                    str(Path(tmp) / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                    viewport={"width": 1400, "height": 1800}, service_workers="block")
                context.set_default_timeout(60_000)
                page = context.pages[0] if context.pages else context.new_page()
                sign_in_and_spawn(hub, page, "bench", "gpu-quarter", Path(tmp) / "shots")
                lab = Lab(hub, "bench", hub.user_token("bench"), page, Path(tmp) / "shots")
                latency = measure_latency(lab, args.steps, args.rate)
                decimated = measure_redraws(lab, 1500, args.redraws)
                raw = measure_redraws(lab, 1_000_000, args.redraws)
                context.close()
        finally:
            with hub.api() as api:
                api.delete("/users/bench/server")
            time.sleep(2)
            hub.stop()
    print(f"metric lines: {int(latency['points'][0])} at {args.rate:g}/s")
    print("| path | p50 / p95 |")
    print("|---|---|")
    print(f"| job print -> point drawn in the panel's plot (Chromium) | {summary(latency['plot'])} |")
    print(f"| floor: job print -> line on the extension's SSE stream | {summary(latency['sse'])} |")
    print()
    print("| 10,000-point redraw | points sent | kernel update() p50 / p95 | update() -> drawn p50 / p95 "
          "| main-thread long tasks per redraw p50 / p95 |")
    print("|---|---|---|---|---|")
    for name, result in (("arenahub (decimated to 1500)", decimated), ("baseline: all points", raw)):
        print(f"| {name} | {int(result['points'][0]) if result['points'] else 'n/a'} | {summary(result['kernel'])} "
              f"| {summary(result['drawn'])} | {summary(result['longtask'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
