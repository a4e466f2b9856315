"""The log view's browser side (an anywidget): it follows the newest line, and pauses while the user scrolls up.

The usual terminal behaviour: while the view is scrolled to the bottom, each redraw keeps it
there; scrolling up sets ``following`` to False (the kernel then stops redrawing, so the lines
being read stay put), and scrolling back to the bottom, or ticking *Follow log*, resumes.
"""

from __future__ import annotations

import anywidget
from traitlets import Bool, Int, Unicode

# The box scrolls itself; "at the bottom" allows a few pixels of rounding (zoomed pages).
_ESM = r"""
const SLACK_PX = 4;

function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "arenahub-log-box";
  box.style.cssText = "overflow-y:auto;font-family:var(--jp-code-font-family,monospace);font-size:12px;" +
    "white-space:pre-wrap;overflow-wrap:anywhere;border:1px solid #ddd;padding:4px;" +
    `height:${model.get("height_px")}px`;
  el.appendChild(box);
  const atBottom = () => box.scrollHeight - box.scrollTop - box.clientHeight <= SLACK_PX;
  const toBottom = () => { box.scrollTop = box.scrollHeight; };
  const draw = () => {
    box.innerHTML = model.get("value");
    if (model.get("following")) toBottom();
  };
  const setFollowing = (following) => {
    if (following !== model.get("following")) {
      model.set("following", following);
      model.save_changes();
    }
  };
  const onScroll = () => setFollowing(atBottom());
  // A wheel turn up pauses at once, before its smooth scroll ends: a redraw arriving meanwhile
  // must not pull the view back down. A turn down at the bottom resumes (also when nothing overflows).
  const onWheel = (event) => {
    if (event.deltaY < 0 && box.scrollHeight > box.clientHeight) setFollowing(false);
    else if (event.deltaY > 0 && atBottom()) setFollowing(true);
  };
  const onFollowing = () => { if (model.get("following")) toBottom(); };
  box.addEventListener("scroll", onScroll);
  box.addEventListener("wheel", onWheel, { passive: true });
  model.on("change:value", draw);
  model.on("change:following", onFollowing);
  draw();
  return () => {
    box.removeEventListener("scroll", onScroll);
    box.removeEventListener("wheel", onWheel);
    model.off("change:value", draw);
    model.off("change:following", onFollowing);
  };
}

export default { render };
"""


class LogView(anywidget.AnyWidget):
    """A scrolling box of log HTML that sticks to the bottom while ``following`` is True."""

    _esm = _ESM
    value = Unicode("", help="The log's HTML (from logview.render_log_html).").tag(sync=True)
    following = Bool(True, help="True while the view sticks to the newest line; the browser sets it "
                     "when the user scrolls up or back to the bottom.").tag(sync=True)
    height_px = Int(260, help="Height of the box in pixels.").tag(sync=True)
