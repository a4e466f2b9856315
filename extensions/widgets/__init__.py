"""The notebook panel: ``from arenahub.widgets import Workbench; Workbench()``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arenahub.widgets.workbench import Workbench

__all__ = ["Workbench"]


def __getattr__(name: str) -> Any:
    # Imported on first use: ipywidgets and bqplot load only when the panel is wanted.
    if name == "Workbench":
        from arenahub.widgets.workbench import Workbench

        return Workbench
    raise AttributeError(name)
