"""The spawn form: one radio button per profile, with how much GPU is free right now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from arenahub.core.profiles import Profile, default_profile


def render_profile_form(profiles: Sequence[Profile], free: Mapping[int, float]) -> str:
    """HTML for JupyterHub's spawn page. ``free`` maps GPU index to its free share (0..1)."""
    chosen = default_profile(profiles).slug
    rows = []
    for p in profiles:
        available = not p.uses_gpu or any(f + 1e-9 >= p.gpu_fraction for f in free.values())
        note = "" if available else " — no slice free right now"
        rows.append(
            f'<label class="arenahub-profile" style="display:block;margin:.4em 0">'
            f'<input type="radio" name="profile" value="{escape(p.slug)}"'
            f'{" checked" if p.slug == chosen else ""}{"" if available else " disabled"}> '
            f"<strong>{escape(p.display_name)}</strong> <small>({escape(p.summary())}){note}</small>"
            f'<br><small style="margin-left:1.6em">{escape(p.description)}</small></label>'
        )
    gpus = len(free)
    total_free = sum(free.values())
    header = f"<p>{total_free:g} of {gpus} GPU(s) free for notebooks.</p>" if gpus else ""
    return header + "\n".join(rows)
