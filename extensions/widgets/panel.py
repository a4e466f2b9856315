"""The panel's widget tree (ipywidgets 8): inputs, buttons, jobs, log, plot slot, quota, GPU line, leaderboard."""

from __future__ import annotations

import ipywidgets as w

from arenahub.widgets.logwidget import LogView

TIME_LIMITS = (("5 min", 300), ("15 min", 900), ("1 hour", 3600), ("2 hours", 7200), ("6 hours", 21600),
               ("24 hours", 86400))


def _html(css_class: str, value: str = "") -> w.HTML:
    widget = w.HTML(value)
    widget.add_class(css_class)
    return widget


class PanelWidgets:
    """Every widget of the panel, named; ``layout()`` arranges them around the plot."""

    def __init__(self, folder: str, *, gpus: int, time_limit_s: int) -> None:
        label = {"description_width": "initial"}
        self.title = w.HTML("<b>arenahub</b> — train and test your code on whole GPUs")
        self.health = _html("arenahub-health")
        self.folder = w.Text(folder, description="Job folder", style=label, continuous_update=False,
                             layout=w.Layout(width="340px"))
        self.folder.add_class("arenahub-folder")
        # Train and Test usually start different scripts (train.py, predict.py): one picker each.
        self.entrypoint = w.Dropdown(options=("",), description="Train runs", style=label,
                                     layout=w.Layout(width="220px"), tooltip="The script a Train job starts")
        self.entrypoint.add_class("arenahub-entrypoint")
        self.test_entrypoint = w.Dropdown(options=("",), description="Test runs", style=label,
                                          layout=w.Layout(width="220px"),
                                          tooltip="The script a Test job starts on the hidden test inputs")
        self.test_entrypoint.add_class("arenahub-test-entrypoint")
        self.dataset = w.Dropdown(options=(("(none)", ""),), value="", description="Dataset", style=label,
                                  layout=w.Layout(width="220px"))
        self.dataset.add_class("arenahub-dataset")
        self.gpus = w.BoundedIntText(gpus, min=0, max=16, description="GPUs", style=label,
                                     layout=w.Layout(width="120px"), tooltip="Whole GPUs; 0 runs on CPU")
        self.gpus.add_class("arenahub-gpus")
        limits = dict(TIME_LIMITS)
        if time_limit_s not in limits.values():
            limits[f"{time_limit_s} s"] = time_limit_s
        self.time_limit = w.Dropdown(options=tuple(limits.items()), value=time_limit_s, description="Time limit",
                                     style=label, layout=w.Layout(width="200px"))
        self.time_limit.add_class("arenahub-time-limit")
        self.train = w.Button(description="Train", button_style="primary", icon="play", disabled=True)
        self.train.add_class("arenahub-train")
        self.test = w.Button(description="Test", button_style="success", icon="check", disabled=True)
        self.test.add_class("arenahub-test")
        self.cancel = w.Button(description="Cancel", button_style="danger", icon="stop", disabled=True)
        self.cancel.add_class("arenahub-cancel")
        self.reasons = _html("arenahub-reasons")
        self.message = _html("arenahub-message")
        self.quota_bar = w.FloatProgress(0.0, min=0.0, max=1.0, description="Quota", bar_style="info")
        self.quota_label = _html("arenahub-quota-text")
        self.quota_box = w.HBox([self.quota_bar, self.quota_label], layout=w.Layout(display="none"))
        self.quota_box.add_class("arenahub-quota")
        self.gpu = _html("arenahub-gpu")
        self.gpu.layout = w.Layout(display="none")
        self.jobs = w.Select(options=(), rows=8, layout=w.Layout(width="100%"))
        self.jobs.add_class("arenahub-jobs")
        self.job_status = _html("arenahub-job-status")
        self.follow = w.Checkbox(True, description="Follow log", indent=False, layout=w.Layout(width="120px"))
        self.follow.add_class("arenahub-follow")
        self.log = LogView(layout=w.Layout(width="100%"))
        self.log.add_class("arenahub-log")
        w.link((self.log, "following"), (self.follow, "value"))  # scrolling up unticks Follow log
        self.tensorboard = _html("arenahub-tensorboard")
        self.leaderboard = _html("arenahub-leaderboard")
        self.leaderboard.layout = w.Layout(display="none")

    def layout(self, plot: w.Widget) -> list[w.Widget]:
        """The panel's rows, top to bottom."""
        inputs = w.HBox([self.folder, self.entrypoint, self.test_entrypoint, self.dataset],
                        layout=w.Layout(flex_flow="row wrap"))
        actions = w.HBox([self.gpus, self.time_limit, self.train, self.test, self.cancel],
                         layout=w.Layout(flex_flow="row wrap", align_items="center"))
        jobs = w.VBox([w.HTML("<b>Your jobs</b>"), self.jobs], layout=w.Layout(width="34%"))
        log = w.VBox([w.HBox([w.HTML("<b>Log</b>"), self.follow], layout=w.Layout(justify_content="space-between")),
                      self.log], layout=w.Layout(width="66%"))
        return [
            self.title, self.health, inputs, actions, self.reasons, self.message, self.quota_box, self.gpu,
            self.job_status, w.HBox([jobs, log], layout=w.Layout(width="100%")),
            w.HBox([w.HTML("<b>Metrics</b>"), self.tensorboard], layout=w.Layout(justify_content="space-between")),
            plot, self.leaderboard,
        ]
