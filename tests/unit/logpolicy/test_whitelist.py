"""Tests of the whitelist policy: built-in trainer templates, organiser templates, tracebacks, costs."""

import pytest

from arenahub.core.metricline import format_metric_line
from arenahub.logpolicy import LogFilter, Verdict, build_policy, default_policy
from arenahub.logpolicy.templates import TemplateSet
from tests.unit.logpolicy.trainlogs import tqdm_bar

pytestmark = pytest.mark.unit


def own_decisions(lines, policy=None):
    """The decision each line got itself (markers for earlier lines left out)."""
    log_filter = LogFilter(policy or default_policy("whitelist"), is_replay=True, backend="python")
    return [[d for d in log_filter.feed(line, 0.0) if d.action is not Verdict.MARKER][-1] for line in lines]


@pytest.mark.parametrize("template, line", [
    ("pytorch", "Train Epoch: 1 [12800/60000 (21%)]\tLoss: 0.412345"),
    ("pytorch", "Test set: Average loss: 0.0331, Accuracy: 9893/10000 (99%)"),
    ("pytorch", "[1,  2000] loss: 2.187"),
    ("pytorch", "Epoch [1/5], Step [100/600], Loss: 0.2134"),
    ("pytorch", "Epoch: [0][100/500]\tTime  0.213 (0.250)\tData  0.010 (0.020)\tLoss 2.3010e+00 (2.3101e+00)\tAcc@1  12.50 ( 10.20)"),
    ("lightning", "GPU available: True (cuda), used: True"),
    ("lightning", "TPU available: False, using: 0 TPU cores"),
    ("lightning", "LOCAL_RANK: 0 - CUDA_VISIBLE_DEVICES: [0]"),
    ("lightning", "101 K     Trainable params"),
    ("lightning", "`Trainer.fit` stopped: `max_epochs=3` reached."),
    ("hf_trainer", "{'loss': 0.6931, 'grad_norm': 3.1416, 'learning_rate': 4.5e-05, 'epoch': 0.33}"),
    ("hf_trainer", "***** Running training *****"),
    ("hf_trainer", "  Num examples = 25,000"),
    ("tqdm", "Epoch 0:  45%|####5     | 422/938 [00:03<00:04, 120.31it/s, v_num=0, train_loss=0.412]"),
    ("tqdm", "Map: 100%|██████████| 25000/25000 [00:02<00:00, 9876.54 examples/s]"),
    ("tqdm", "1563it [00:12, 125.04it/s]"),
    ("keras", "Epoch 3/10"),
    ("keras", "1875/1875 [==============================] - 4s 2ms/step - loss: 0.2961 - accuracy: 0.9143"),
    ("keras", "469/469 - 3s - loss: 0.2100 - accuracy: 0.9400 - 3s/epoch - 6ms/step"),
    ("keras", "938/938 ━━━━━━━━━━━━━━━━━━━━ 3s 3ms/step - accuracy: 0.9312 - loss: 0.2290"),
    ("key_value", "epoch 3 step 1200 loss=0.4123 acc: 93.1% lr=1.00e-03"),
])
def test_progress_and_metric_lines_of_common_trainers_pass(template, line):
    policy = build_policy({"policy": "whitelist", "whitelist": {"templates": [template]}})
    [decision] = own_decisions([line], policy)
    assert decision.action is Verdict.PASS, decision


def test_a_real_tqdm_bar_passes_as_its_final_redraw():
    [decision] = own_decisions([tqdm_bar(469, "epoch 1", {"loss": 0.123})])
    assert decision.action is Verdict.PASS and decision.text.startswith("epoch 1: 100%")


@pytest.mark.parametrize("line", [
    "Using device: cuda",
    "my secret label is cat",
    "hello world",
    "  (fc1): Linear(in_features=9216, out_features=128, bias=True)",
])
def test_free_form_lines_are_withheld_as_not_whitelisted(line):
    [decision] = own_decisions([line])
    assert (decision.action, decision.reason) == (Verdict.WITHHOLD, "not-whitelisted")


def test_metric_lines_pass_the_whitelist_and_are_parsed():
    [decision] = own_decisions([format_metric_line(3, {"loss": 0.41})])
    assert decision.is_metric and decision.metric.values == {"loss": 0.41}


def test_a_traceback_keeps_user_frames_and_the_exception_type_and_drops_library_detail():
    lines = [
        "Traceback (most recent call last):",
        '  File "/job/train.py", line 61, in main',
        "    out = model(x)",
        '  File "/usr/local/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1511, in _call_impl',
        "    return forward(*args)",
        "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x784 and 128x10)",
    ]
    decisions = own_decisions(lines)
    assert [d.action for d in decisions] == [Verdict.PASS, Verdict.PASS, Verdict.WITHHOLD, Verdict.WITHHOLD, Verdict.WITHHOLD, Verdict.PASS]
    assert {d.reason for d in decisions[2:5]} == {"traceback-detail"}


def test_a_long_exception_message_is_truncated_and_says_so():
    secret = "the first test image is a cat, the second a dog, the third a bird and so on " * 5
    [decision] = own_decisions([f"ValueError: {secret}"])
    assert decision.action is Verdict.REDACT and decision.reason == "exception-truncated"
    assert decision.text == f"ValueError: {secret[:100]}…"


def test_the_exception_message_length_is_the_organisers_choice():
    policy = build_policy({"policy": "whitelist", "whitelist": {"exception_message_chars": 5}})
    [decision] = own_decisions(["KeyError: 'image_00042.png'"], policy)
    assert decision.text == "KeyError: 'imag…"


def test_a_warning_line_passes_with_its_message_cut():
    line = "/job/train.py:12: UserWarning: " + "x" * 300
    [decision] = own_decisions([line])
    assert decision.reason == "exception-truncated" and len(decision.text) < 160


def test_encoded_data_inside_a_template_line_is_still_caught():
    line = "epoch 3 step 1200 loss=" + "1234567890" * 4
    [decision] = own_decisions([line])
    assert decision.action is Verdict.WITHHOLD or "[redacted" in decision.text


def test_an_organisers_allow_pattern_passes_its_lines_and_costs_only_its_groups():
    policy = build_policy({"policy": "whitelist", "leak_budget_bytes": 100, "whitelist": {
        "templates": [], "allow": [{"name": "fold", "pattern": r"fold (\d+) of 5 done"}]}})
    log_filter = LogFilter(policy, is_replay=True, backend="python")
    [decision] = log_filter.feed("fold 3 of 5 done", 0.0)
    assert decision.action is Verdict.PASS and log_filter.budget_used == 1


def test_template_lines_spend_the_leak_budget_by_their_variable_parts():
    templates = TemplateSet(("pytorch",), ())
    match = templates.match("Train Epoch: 1 [12800/60000 (21%)]\tLoss: 0.412345")
    assert match is not None and match.name == "pytorch"
    assert match.cost_bytes == len("1" + "12800" + "60000" + "21" + "0.412345")


def test_the_whitelist_leak_budget_withholds_template_lines_beyond_it():
    policy = build_policy({"policy": "whitelist", "leak_budget_bytes": 50})
    lines = [f"epoch {i} loss={i / 7:.6f}" for i in range(40)]
    log_filter = LogFilter(policy, is_replay=True, backend="python")
    for line in lines:
        log_filter.feed(line, 0.0)
    assert log_filter.budget_used <= 50
    assert log_filter.summary()["reasons"] == {"leak-budget": log_filter.summary()["lines_withheld"]}
    assert [d.text for d in log_filter.flush(0.0)][0].endswith("withheld: leak-budget]")
