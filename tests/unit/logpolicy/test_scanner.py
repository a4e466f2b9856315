"""Tests of arenahub.logpolicy.scanner: the per-line encoded-data rules (pure-Python reference)."""

import base64
import binascii
import random

import pytest

from arenahub.logpolicy import default_policy
from arenahub.logpolicy.chunks import PythonScanner, chunk_events
from arenahub.logpolicy.scanner import (
    FLAG_CONTROL,
    FLAG_METRIC,
    FLAG_NON_UTF8,
    KIND_NAMES,
    PLAIN,
    make_scan_params,
)

pytestmark = pytest.mark.unit

RNG = random.Random(20261123)
SECRET = RNG.randbytes(96)
PARAMS = make_scan_params(default_policy("filtered").detection, 2000, True)
SCANNER = PythonScanner(PARAMS)


def kinds(line: str | bytes) -> list[str]:
    data = line.encode() if isinstance(line, str) else line
    return [KIND_NAMES[kind] for _, _, kind in SCANNER.scan_line(data).spans]


@pytest.mark.parametrize("line, expected", [
    (base64.b64encode(SECRET).decode(), ["base64"]),
    (f"payload={base64.b64encode(SECRET).decode()}", ["base64"]),
    (base64.urlsafe_b64encode(SECRET).decode(), ["base64"]),
    (base64.b32encode(SECRET).decode(), ["base32"]),
    (SECRET.hex(), ["hex"]),
    (f"debug: {SECRET.hex()}", ["hex"]),
    ("".join(str(b) for b in SECRET[:30]), ["decimal"]),
    (str(list(SECRET)), ["number-list"]),
    (" ".join(f"0x{b:02x}" for b in SECRET[:20]), ["number-list"]),
    (base64.a85encode(SECRET).decode(), ["printable-data"]),
    (base64.b85encode(SECRET).decode(), ["printable-data"]),
    (binascii.b2a_uu(bytes(b & 0xCF for b in SECRET[:45]), backtick=False).decode().rstrip("\n"), ["uuencode"]),
    ("x" * 250, ["long-token"]),
    ("run id " + base64.urlsafe_b64encode(SECRET[:18]).decode() + " started", ["random-token"]),
    ("".join(chr(0x4E00 + n) for n in RNG.sample(range(20000), 60)), ["unicode-data"]),
])
def test_each_encoding_of_random_bytes_is_found_as_its_kind(line, expected):
    assert kinds(line) == expected


@pytest.mark.parametrize("line", [
    "Train Epoch: 1 [12800/60000 (21%)]\tLoss: 0.412345",
    "epoch 3 step 1200 loss=0.4123 acc=0.9312 lr=1.00e-03",
    "Saving model checkpoint to ./results/checkpoint-1563",
    "/usr/local/lib/python3.11/site-packages/torch/utils/data/dataloader.py:558: UserWarning: This DataLoader",
    "  (fc1): Linear(in_features=9216, out_features=128, bias=True)",
    "{'loss': 0.4123, 'grad_norm': 3.2156, 'learning_rate': 4.5e-05, 'epoch': 0.33}",
    "Epoch 1:  45%|████▌     | 422/938 [00:03<00:04, 120.31it/s, v_num=0, train_loss=0.412]",
    "-----------------------------------------------------",
    "commit_message: fix the data loader for the new dataset version",
    "",
])
def test_ordinary_training_output_is_plain(line):
    assert SCANNER.scan_line(line.encode()) == PLAIN


@pytest.mark.parametrize("line, is_data_only", [
    ("aGVsbG8gd29y", True),
    ("a3f29c", True),
    ("ab1234", True),
    ("KRSXG5DSMF3T", True),
    ("17 201 33 4", True),
    ("9jqo^BlbD-", True),
    ("Training finished.", False),
    ("Done", True),
    ("saved epoch_001.pt", False),
    ("42 epochs done", False),
])
def test_data_only_lines_are_those_made_of_numbers_and_random_fragments(line, is_data_only):
    assert SCANNER.scan_line(line.encode()).is_data_only is is_data_only


def test_flags_mark_control_bytes_invalid_utf8_and_metric_lines():
    assert SCANNER.scan_line(b"\x1b[32mok\x1b[0m").flags & FLAG_CONTROL
    assert SCANNER.scan_line(b"bad \xff byte").flags & FLAG_NON_UTF8
    assert SCANNER.scan_line(b'@@arenahub.metric {"step":1,"loss":0.5}').flags & FLAG_METRIC


def test_the_open_policy_scans_flags_but_never_spans():
    params = make_scan_params(default_policy("open").detection, 16000, False)
    scan = PythonScanner(params).scan_line(base64.b64encode(SECRET))
    assert scan == PLAIN


def test_a_run_of_low_variety_characters_is_not_random():
    assert kinds("=" * 80) == []
    assert kinds("A" * 60) == []
    assert kinds("0" * 23) == []


def test_chunk_events_group_plain_lines_and_single_out_notable_ones():
    data = b"epoch one\nepoch two\n" + base64.b64encode(SECRET) + b"\nepoch three\repoch four\nepoch five"
    count, events = chunk_events(data, PARAMS)
    assert count == 5
    assert [e[0] for e in events] == [0, 1, 0]
    assert events[0][1] == 2 and events[0][4] == b"epoch one\nepoch two\n"
    assert events[1][1] == 2
    assert events[2][4] == b"epoch four\nepoch five\n"
