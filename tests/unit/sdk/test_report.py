import io
import math
import subprocess
import sys
from pathlib import Path

import pytest

from arenahub.core.metricline import MetricLineError, parse_metric_line
from arenahub.sdk import Reporter, report

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("step, metrics", [
    (0, {"loss": 0.5}),
    (7, {"loss": 0.41, "val/acc": 0.875, "lr": 1e-4}),
    (2**53 - 1, {"x": -3}),
    (3, {"nan_loss": math.inf}),
])
def test_a_reported_line_parses_back_to_the_same_step_and_values(step, metrics):
    out = io.StringIO()
    line = Reporter(out).report(step, **metrics)
    assert out.getvalue() == line + "\n"
    point = parse_metric_line(out.getvalue())
    assert point.step == step
    assert point.values == {k: float(v) for k, v in metrics.items()}


def test_nan_survives_the_round_trip():
    point = parse_metric_line(Reporter(io.StringIO()).report(1, loss=math.nan))
    assert math.isnan(point.values["loss"])


@pytest.mark.parametrize("step, metrics, message", [
    (-1, {"loss": 1.0}, "step must be between"),
    (1.5, {"loss": 1.0}, "step must be an integer"),
    (1, {}, "at least one named value"),
    (1, {"loss": "low"}, "must be a number"),
    (1, {"ok": True}, "must be a number"),
    (1, {"1loss": 1.0}, "is invalid"),
    (1, {"bad name": 1.0}, "is invalid"),
])
def test_bad_steps_names_and_values_raise_a_clear_error_and_print_nothing(step, metrics, message):
    out = io.StringIO()
    with pytest.raises(MetricLineError, match=message):
        Reporter(out).report(step, **metrics)
    assert out.getvalue() == ""


def test_numpy_scalars_become_floats_and_arrays_are_refused_with_a_hint():
    np = pytest.importorskip("numpy")
    out = io.StringIO()
    Reporter(out).report(2, loss=np.float32(0.25), n=np.int64(3))
    assert parse_metric_line(out.getvalue()).values == {"loss": 0.25, "n": 3.0}
    with pytest.raises(MetricLineError, match=r"value\.item\(\)"):
        Reporter(out).report(3, loss=np.array([1.0, 2.0]))


def test_the_module_level_report_writes_to_the_current_stdout(capsys):
    line = report(4, loss=0.1)
    assert capsys.readouterr().out == line + "\n"


def test_the_sdk_imports_with_only_the_standard_library():
    # -S -I: no site-packages at all; only the sources of arenahub.core and arenahub.sdk on the path.
    code = (
        "import importlib.util, sys, types\n"
        "from pathlib import Path\n"
        "root = Path(sys.argv[1])\n"
        "pkg = types.ModuleType('arenahub'); pkg.__path__ = [str(root / 'arenahub')]; sys.modules['arenahub'] = pkg\n"
        "spec = importlib.util.spec_from_file_location('arenahub.sdk', root / 'extensions/sdk/__init__.py',"
        " submodule_search_locations=[str(root / 'extensions' / 'sdk')])\n"
        "mod = importlib.util.module_from_spec(spec); sys.modules['arenahub.sdk'] = mod; spec.loader.exec_module(mod)\n"
        "mod.report(1, loss=0.5)\n"
        "third_party = sorted(n for n in sys.modules if n.split('.')[0] not in sys.stdlib_module_names"
        " and n.split('.')[0] not in ('arenahub', '__main__'))\n"
        "print('third-party:', third_party)\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-S", "-I", "-c", code, str(root)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '@@arenahub.metric {"step":1,"loss":0.5}' in done.stdout
    assert "third-party: []" in done.stdout
