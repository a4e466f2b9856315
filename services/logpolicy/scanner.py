"""Per-line encoded-data features: the pure-Python reference for the native scanner.

A scanner turns one line of bytes into a ``LineScan``: flags (control characters, invalid
UTF-8, metric prefix), encoded spans (base64/base32/hex/decimal runs, random tokens, number
lists, random non-ASCII runs) and whether the line holds only data tokens (the input of the
split-payload window). ``arenahub_logscan`` (services/logpolicy_native) implements the same
rules in Rust; tests/unit/logpolicy/test_native.py runs both on the same inputs. The rules are
written out in docs/log-policy.md ("Detection rules"); change both implementations together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from arenahub.core.metricline import METRIC_PREFIX
from arenahub.logpolicy.policy import Detection

FLAG_CONTROL = 1  # a byte below 0x20 other than tab, or DEL (carriage returns, ANSI escapes)
FLAG_NON_UTF8 = 2
FLAG_METRIC = 4

KIND_BASE64, KIND_BASE32, KIND_HEX, KIND_DECIMAL = 1, 2, 3, 4
KIND_TOKEN, KIND_LONG_TOKEN, KIND_NUMBERS, KIND_UNICODE = 5, 6, 7, 8
KIND_PRINTABLE, KIND_UUENCODE = 9, 10
KIND_NAMES = {
    KIND_BASE64: "base64", KIND_BASE32: "base32", KIND_HEX: "hex", KIND_DECIMAL: "decimal",
    KIND_TOKEN: "random-token", KIND_LONG_TOKEN: "long-token", KIND_NUMBERS: "number-list",
    KIND_UNICODE: "unicode-data", KIND_PRINTABLE: "printable-data", KIND_UUENCODE: "uuencode",
}

# Alphabet sizes a run is judged against, in the order of the threshold tables' rows
# (94: every printable ASCII character but space, for base85/ascii85 and similar tokens).
ALPHABETS = (10, 16, 26, 32, 36, 52, 62, 64, 94)
_K10, _K16, _K26, _K32, _K36, _K52, _K62, _K64, _K94 = range(9)
# The smallest uuencoded line (its length character counts the bytes) that is encoded data.
UUENCODE_MIN_BYTES = 8

_METRIC = METRIC_PREFIX.encode()
_RUN = re.compile(rb"[A-Za-z0-9+/_-]+")
_DENSE = re.compile(rb"[!-~]+")
_RUN_OR_PAD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-=")
_UU_BODY = re.compile(rb"[ -`]*")
_HEX_RUN = re.compile(rb"[0-9a-fA-F]+")
_DIGIT_RUN = re.compile(rb"[0-9]+")
_TOKEN = re.compile(rb"[^ \t,;\[\](){}]+")
_NUMBER = re.compile(rb"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|0[xX][0-9a-fA-F]+|[0-9a-fA-F]{1,2}")
_DATA_TOKEN = re.compile(rb"[!-~]*[A-Za-z0-9][!-~]*")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_LOWER, _UPPER, _DIGITS = frozenset(b"abcdefghijklmnopqrstuvwxyz"), frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"), frozenset(b"0123456789")
_SYMS = frozenset(b"+/_-")
_HEX_LETTERS = frozenset(b"abcdefABCDEF")
_HEX_SYMBOLS = _HEX_LETTERS | _DIGITS
_BASE32_DIGITS = frozenset(b"234567")
_VOWELS = frozenset(b"aeiouyAEIOUY")


@dataclass(frozen=True)
class ScanParams:
    """Detector settings in the integer form both scanners use (no floating point in the rules)."""

    is_detecting: bool
    max_line_bytes: int
    base64_min_chars: int
    hex_min_chars: int
    decimal_min_digits: int
    number_list_min: int
    token_min_chars: int
    long_token_chars: int
    unicode_min_chars: int
    unicode_distinct_percent: int
    # run_min_distinct[a][n]: distinct symbols a run of length n over ALPHABETS[a] needs to be random.
    run_min_distinct: tuple[tuple[int, ...], ...]
    token_min_distinct: tuple[tuple[int, ...], ...]


class LineScan(NamedTuple):
    """What the scanner found in one line: flags, (start, end, kind) byte spans sorted and
    merged, whether the line holds only data tokens, and their bytes. A tuple, so the native
    scanner's plain tuples convert cheaply and compare equal.
    """

    flags: int = 0
    spans: tuple[tuple[int, int, int], ...] = ()
    is_data_only: bool = False
    data_bytes: int = 0


PLAIN = LineScan(0, (), False, 0)


def _min_distinct(k: int, n: int, percent: int) -> int:
    """Distinct symbols needed: ``percent`` of those expected in n random draws from k symbols."""
    expected = k * (1.0 - (1.0 - 1.0 / k) ** n)
    needed = int(expected * percent / 100.0)
    return needed if needed * 100 >= expected * percent else needed + 1


def make_scan_params(detection: Detection, max_line_bytes: int, is_detecting: bool) -> ScanParams:
    """ScanParams for a policy's detection settings; tables are computed once here."""
    length = detection.long_token_chars
    run = tuple(tuple(_min_distinct(k, n, detection.randomness_percent) for n in range(length + 1)) for k in ALPHABETS)
    token = tuple(tuple(_min_distinct(k, n, detection.token_randomness_percent) for n in range(length + 1)) for k in ALPHABETS)
    return ScanParams(
        is_detecting=is_detecting,
        max_line_bytes=max_line_bytes,
        base64_min_chars=detection.base64_min_chars,
        hex_min_chars=detection.hex_min_chars,
        decimal_min_digits=detection.decimal_min_digits,
        number_list_min=detection.number_list_min,
        token_min_chars=detection.token_min_chars,
        long_token_chars=detection.long_token_chars,
        unicode_min_chars=detection.unicode_min_chars,
        unicode_distinct_percent=detection.unicode_distinct_percent,
        run_min_distinct=run,
        token_min_distinct=token,
    )


def _alphabet(symbols: set[int]) -> int:
    """Row of ALPHABETS a run is judged against, from the character classes it uses."""
    lower, upper, digit = bool(symbols & _LOWER), bool(symbols & _UPPER), bool(symbols & _DIGITS)
    if symbols & _SYMS:
        return _K64
    if lower and upper:
        return _K62 if digit else _K52
    if not (lower or upper):
        return _K10
    letters = symbols - _DIGITS
    if letters <= _HEX_LETTERS:
        return _K16
    if digit:
        return _K32 if upper and (symbols & _DIGITS) <= _BASE32_DIGITS else _K36
    return _K26


def _run_spans(line: bytes, p: ScanParams, out: list[tuple[int, int, int]]) -> None:
    shortest = min(p.token_min_chars, p.hex_min_chars, p.decimal_min_digits)
    for m in _RUN.finditer(line):
        start, end = m.span()
        n = end - start
        if n < shortest:
            continue
        if n >= p.long_token_chars:
            out.append((start, end, KIND_LONG_TOKEN))
            continue
        run = m.group()
        symbols = set(run)
        alphabet = _alphabet(symbols)
        if n >= p.base64_min_chars and len(symbols) >= p.run_min_distinct[alphabet][n]:
            kind = {_K10: KIND_DECIMAL, _K16: KIND_HEX, _K32: KIND_BASE32}.get(alphabet, KIND_BASE64)
            out.append((start, end, kind))
            continue
        if (
            p.token_min_chars <= n < p.base64_min_chars
            and symbols & _LOWER and symbols & _UPPER and symbols & _DIGITS
            and len(symbols) >= p.token_min_distinct[alphabet][n]
        ):
            out.append((start, end, KIND_TOKEN))
            continue
        for h in _HEX_RUN.finditer(run):
            sub = h.group()
            if len(sub) >= p.hex_min_chars and set(sub) & _DIGITS and set(sub) & _HEX_LETTERS:
                out.append((start + h.start(), start + h.end(), KIND_HEX))
        for d in _DIGIT_RUN.finditer(run):
            if d.end() - d.start() >= p.decimal_min_digits:
                out.append((start + d.start(), start + d.end(), KIND_DECIMAL))


def _dense_spans(line: bytes, p: ScanParams, out: list[tuple[int, int, int]]) -> None:
    """Random-looking runs of printable non-blank ASCII that the base64 rule cannot see because
    they hold other punctuation (base85, ascii85, packed binary): judged against 94 symbols."""
    for m in _DENSE.finditer(line):
        start, end = m.span()
        n = end - start
        if n < p.base64_min_chars:
            continue
        symbols = set(m.group())
        if symbols <= _RUN_OR_PAD:
            continue  # the base64 rule judges these
        if len(symbols) >= p.run_min_distinct[_K94][min(n, p.long_token_chars)]:
            out.append((start, end, KIND_PRINTABLE))


def _uuencode_span(line: bytes, p: ScanParams, out: list[tuple[int, int, int]]) -> None:
    """A whole uuencoded line: a length character for n >= UUENCODE_MIN_BYTES bytes, then
    4 characters per 3 bytes (up to 4 fewer when trailing blanks were stripped, up to 2 more
    for checksums) from ' ' to '`', with as many distinct ones as random data has."""
    if len(line) < 2:
        return
    count = (line[0] - 32) & 63
    if count < UUENCODE_MIN_BYTES or not 0x21 <= line[0] <= 0x60:
        return
    body = line[1:]
    expected = (count + 2) // 3 * 4
    if not expected - 4 <= len(body) <= expected + 2 or not _UU_BODY.fullmatch(body):
        return
    if len(set(body)) >= p.run_min_distinct[_K64][min(len(body), p.long_token_chars)]:
        out.append((0, len(line), KIND_UUENCODE))


def _is_plain_word(token: bytes) -> bool:
    if len(token) < 2 or not token.isalpha() or not set(token) & _VOWELS:
        return False
    return token.islower() or token.isupper() or (token[:1].isupper() and token[1:].islower())


def _class_of(byte: int) -> int:
    if byte in _LOWER:
        return 1
    if byte in _UPPER:
        return 2
    return 3 if byte in _DIGITS else 0


def _looks_random(token: bytes) -> bool:
    """A data fragment rather than a word or identifier: not a plain word, and either at least
    a quarter of its adjacent letter/digit pairs switch class (lower, upper, digit), or it
    alternates letters and digits at least three times in all (``KRSXG5DSMF3T``), or it is
    four or more hex digits mixing letters and digits (``ab1234``)."""
    if _is_plain_word(token):
        return False
    pairs = switches = 0
    previous = 0
    runs = 0
    last_run = 0
    for byte in token:
        cls = _class_of(byte)
        if cls and previous:
            pairs += 1
            switches += cls != previous
        if cls:
            kind = 3 if cls == 3 else 1  # letters (either case) vs digits
            if kind != last_run:
                runs += 1
                last_run = kind
        previous = cls
    if pairs == 0 or switches * 4 >= pairs or runs >= 4:
        return True
    symbols = set(token)
    return len(token) >= 4 and symbols <= _HEX_SYMBOLS and bool(symbols & _DIGITS) and bool(symbols & _HEX_LETTERS)


def _token_spans(line: bytes, p: ScanParams, out: list[tuple[int, int, int]]) -> tuple[bool, int]:
    """Number-list spans into ``out``; returns (is_data_only, data_bytes) for the window.

    A line is data-only when every token is a number or a random-looking fragment, or when it
    is one lone printable token of two or more characters, word-like or not: one word per line
    is how labels or a word-alphabet encoding would be smuggled out.
    """
    is_data_only, data_bytes, count = True, 0, 0
    list_start = list_end = 0
    tokens = lone_bytes = 0
    for m in _TOKEN.finditer(line):
        tokens += 1
        token = m.group()
        if _NUMBER.fullmatch(token):
            if count == 0:
                list_start = m.start()
            count += 1
            list_end = m.end()
            data_bytes += len(token)
            continue
        if count >= p.number_list_min:
            out.append((list_start, list_end, KIND_NUMBERS))
        count = 0
        if tokens == 1 and len(token) >= 2 and _DATA_TOKEN.fullmatch(token):
            lone_bytes = len(token)
        if is_data_only and _DATA_TOKEN.fullmatch(token) and _looks_random(token):
            data_bytes += len(token)
        else:
            is_data_only = False
    if count >= p.number_list_min:
        out.append((list_start, list_end, KIND_NUMBERS))
    if tokens == 1 and lone_bytes:
        return True, lone_bytes
    if not tokens or not is_data_only:
        return False, 0
    return True, data_bytes


def _is_excluded_char(code: int) -> bool:
    # Box drawing and block elements (progress bars, tables), general and CJK punctuation.
    return 0x2500 <= code <= 0x259F or 0x2000 <= code <= 0x206F or 0x3000 <= code <= 0x303F


def _unicode_spans(line: bytes, p: ScanParams, out: list[tuple[int, int, int]]) -> None:
    text = line.decode("utf-8")
    offset = 0
    run_start = run_chars = 0
    distinct: set[str] = set()
    for ch in text + "\0":
        code = ord(ch)
        if code >= 0x80 and not _is_excluded_char(code):
            if run_chars == 0:
                run_start, distinct = offset, set()
            run_chars += 1
            distinct.add(ch)
        else:
            if run_chars >= p.unicode_min_chars and len(distinct) * 100 >= p.unicode_distinct_percent * run_chars:
                out.append((run_start, offset, KIND_UNICODE))
            run_chars = 0
        offset += len(ch.encode("utf-8")) if code >= 0x80 else 1


def _merge(spans: list[tuple[int, int, int]]) -> tuple[tuple[int, int, int], ...]:
    if not spans:
        return ()
    spans.sort()
    merged = [spans[0]]
    for start, end, kind in spans[1:]:
        last_start, last_end, last_kind = merged[-1]
        if start < last_end:
            merged[-1] = (last_start, max(last_end, end), last_kind)
        else:
            merged.append((start, end, kind))
    return tuple(merged)


def scan_line(line: bytes, p: ScanParams) -> LineScan:
    """The LineScan of one line (bytes without the newline)."""
    flags = 0
    if _CONTROL.search(line):
        flags |= FLAG_CONTROL
    is_ascii = line.isascii()
    is_utf8 = True
    if not is_ascii:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            flags |= FLAG_NON_UTF8
            is_utf8 = False
    if line.startswith(_METRIC):
        flags |= FLAG_METRIC
    if not p.is_detecting:
        return LineScan(flags, (), False, 0) if flags else PLAIN
    spans: list[tuple[int, int, int]] = []
    _run_spans(line, p, spans)
    _dense_spans(line, p, spans)
    _uuencode_span(line, p, spans)
    is_data_only, data_bytes = _token_spans(line, p, spans)
    if not is_ascii and is_utf8:
        _unicode_spans(line, p, spans)
    if not (flags or spans or is_data_only):
        return PLAIN
    return LineScan(flags, _merge(spans), is_data_only, data_bytes)
