"""Page helpers for the browser tests: open a notebook, run it, read the panel, and measure the plot's pixels."""

from __future__ import annotations

import io
import time
from pathlib import Path

from playwright.sync_api import Locator

from tests.browser.conftest import Lab

# The first chart's line colour (arenahub.widgets.plot.PALETTE[0]).
LOSS_RGB = (0x1F, 0x77, 0xB4)


def open_and_run(lab: Lab, notebook: str) -> Locator:
    """Open ``notebook`` alone in JupyterLab, run all its cells, and return the (first) panel's locator."""
    page = lab.page
    page.goto(f"{lab.lab_url}/tree/{notebook}?reset")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    wait_for_idle_kernel(lab)
    # Shift+Enter in the first cell runs it and moves on: once per cell runs the whole notebook.
    # A run sent while the page is still connecting its kernel is dropped, so try again until
    # the first cell's prompt shows it was taken ([*] or [1]).
    first_prompt = page.locator(".jp-NotebookPanel .jp-Cell .jp-InputPrompt").first
    for _attempt in range(5):
        page.click(".jp-NotebookPanel .jp-Cell .jp-InputArea-editor >> nth=0")
        for _ in range(page.locator(".jp-NotebookPanel .jp-CodeCell").count()):
            page.keyboard.press("Shift+Enter")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and first_prompt.inner_text().strip() in ("[ ]:", ""):
            time.sleep(0.2)
        if first_prompt.inner_text().strip() not in ("[ ]:", ""):
            break
    panel = page.locator(".jp-NotebookPanel .arenahub-workbench").first
    panel.wait_for(state="visible", timeout=60_000)
    return panel


def wait_for_idle_kernel(lab: Lab, timeout_s: float = 60.0) -> None:
    """Wait until the user's server has a kernel that reports idle (the notebook's own)."""
    deadline = time.monotonic() + timeout_s
    with lab.api() as api:
        while time.monotonic() < deadline:
            if any(k["execution_state"] == "idle" for k in api.get("api/kernels").json()):
                return
            time.sleep(0.3)
    raise AssertionError(f"no idle kernel after {timeout_s} s")


def shut_down_kernels(lab: Lab) -> None:
    """Stop every kernel of the user's server (each panel polls while its kernel lives)."""
    with lab.api() as api:
        for kernel in api.get("api/kernels").json():
            api.delete(f"api/kernels/{kernel['id']}")


def wait_text(locator: Locator, words: str, timeout_s: float = 60.0) -> str:
    """Wait until ``locator``'s text contains ``words``; returns the text."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = locator.inner_text()
        if words in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout_s} s for {words!r}; the element shows:\n{text}")


def colour_pixels(png: bytes | Path, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels of the PNG are within ``tolerance`` (per channel) of ``rgb``."""
    from PIL import Image

    source = io.BytesIO(png) if isinstance(png, bytes) else png
    with Image.open(source) as image:
        pixels = image.convert("RGB").getdata()
        return sum(1 for p in pixels if all(abs(p[i] - rgb[i]) <= tolerance for i in range(3)))
