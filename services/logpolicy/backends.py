"""Chooses the scanner: the Rust ``arenahub_logscan`` extension when installed, else pure Python.

Build the extension with ``services/logpolicy_native/build.sh .venv`` (needs cargo; cached under
~/.cache/arenahub/logscan). Both give identical scans (tests/unit/logpolicy/test_native.py);
benchmarks/RESULTS.md has the speed of each.
"""

from __future__ import annotations

import importlib
from typing import Literal, Protocol

from arenahub.logpolicy.chunks import PythonScanner
from arenahub.logpolicy.scanner import LineScan, ScanParams

Backend = Literal["auto", "native", "python"]
NATIVE_MODULE = "arenahub_logscan"


class Scanner(Protocol):
    """What the filter needs from a scanner (see arenahub.logpolicy.chunks.PythonScanner)."""

    name: str

    def scan_line(self, line: bytes) -> LineScan: ...

    def scan_chunk(self, data: bytes) -> tuple[int, list[tuple]]: ...


class NativeScanner:
    """Adapts ``arenahub_logscan.Scanner`` (plain tuples) to the Scanner interface."""

    name = "native"

    def __init__(self, params: ScanParams, module: object) -> None:
        self._core = module.Scanner(  # type: ignore[attr-defined]
            params.is_detecting,
            params.max_line_bytes,
            params.base64_min_chars,
            params.hex_min_chars,
            params.decimal_min_digits,
            params.number_list_min,
            params.token_min_chars,
            params.long_token_chars,
            params.unicode_min_chars,
            params.unicode_distinct_percent,
            [list(row) for row in params.run_min_distinct],
            [list(row) for row in params.token_min_distinct],
        )

    def scan_line(self, line: bytes) -> LineScan:
        """The LineScan of one line."""
        return LineScan._make(self._core.scan_line(line))

    def scan_chunk(self, data: bytes) -> tuple[int, list[tuple]]:
        """(number of lines, events) like arenahub.logpolicy.chunks.chunk_events."""
        count, events = self._core.scan_chunk(data)
        make = LineScan._make
        return count, [e if e[0] == 0 else (1, e[1], e[2], e[3], make(e[4])) for e in events]


def native_module() -> object | None:
    """The imported native extension, or None when it is not installed."""
    try:
        return importlib.import_module(NATIVE_MODULE)
    except ImportError:
        return None


def make_scanner(params: ScanParams, backend: Backend = "auto") -> Scanner:
    """A scanner for ``params``; 'native' raises ImportError when the extension is missing."""
    if backend == "python":
        return PythonScanner(params)
    module = native_module()
    if module is None:
        if backend == "native":
            raise ImportError(
                f"The native log scanner ({NATIVE_MODULE}) is not installed. Build it with "
                "'services/logpolicy_native/build.sh .venv' (needs cargo), or use backend='python'."
            )
        return PythonScanner(params)
    return NativeScanner(params, module)
