"""Built-in line templates for ``whitelist``: progress and metric formats of common trainers.

Every part of a template that a program can vary is a capturing group, because a template
line costs the leak budget the bytes its groups capture (at least one byte: which template
matched is itself information). Groups must not nest or repeat; a repeated tail is one group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NAME = r"[A-Za-z][\w./-]{0,39}"
_BAR = r"[\u2588-\u258f #0-9]{0,100}"

BUILTIN_TEMPLATES: dict[str, tuple[str, ...]] = {
    # tqdm (also what PyTorch Lightning, Hugging Face and datasets print): bar with and without total.
    "tqdm": (
        r"([A-Za-z][\w .:/()-]{0,59}: ?|)\s*(\d{1,3})%\|(" + _BAR + r")\| *([\d.]+[kMGT]?/[\d.]+[kMGT]?) "
        r"\[([\d:]+<[\d:?]+), *([?\d.]+ ?[A-Za-z]{0,12}/[A-Za-z]{1,12})((?:, [\w./-]{1,40}=[^,\]]{1,24})*)\]",
        r"([A-Za-z][\w .:/()-]{0,59}: ?|)([\d.]+[kMGT]?)([A-Za-z]{0,12}) \[([\d:]+), *([?\d.]+ ?[A-Za-z]{0,12}/[A-Za-z]{1,12})((?:, [\w./-]{1,40}=[^,\]]{1,24})*)\]",
    ),
    # Keras 2 and 3 Progbar and its epoch header.
    "keras": (
        r"Epoch (\d+)/(\d+)",
        r" *(\d+)/(\d+) (\[[=>.]{0,60}\]|[\u2500-\u257f ]{0,60}|-) ?((?:- )?(?:ETA: [\d:]+|\d+m?s(?: \d+[mu]?s/step)?)?)"
        r"((?: - (?:" + _NAME + r": " + _NUM + r"|\d+m?s/(?:epoch|step)))*)",
    ),
    # PyTorch Lightning's start-up and summary lines (its progress bar is tqdm).
    "lightning": (
        r"(GPU|TPU|HPU|IPU) available: (\w+)(?: \((\w+)\))?, using: ([\w ]{1,40})",
        r"(GPU|TPU|HPU|IPU) available: (\w+)(?: \((\w+)\))?, used: (\w+)",
        r"LOCAL_RANK: (\d+) - CUDA_VISIBLE_DEVICES: \[([\d,]*)\]",
        r"`Trainer\.fit` stopped: `(max_epochs|max_steps|max_time)=(\d+)` reached\.",
        r"([\d.]+ ?[KMGT]?) +(Trainable params|Non-trainable params|Total params|Total estimated model params size \(MB\)|Modules in train mode|Modules in eval mode)",
        r"-{3,}",
    ),
    # Hugging Face Trainer: logged dicts and the "***** Running training *****" block.
    "hf_trainer": (
        r"\{((?:'" + _NAME + r"': (?:" + _NUM + r"|nan|inf|-inf))(?:, '" + _NAME + r"': (?:" + _NUM + r"|nan|inf|-inf))*)\}",
        r"\*{5} (Running training|Running Evaluation|Running Prediction|Running evaluation|Running prediction) \*{5}",
        r"  (Num examples|Num Epochs|Instantaneous batch size per device|Total train batch size \(w\. parallel, distributed & accumulation\)"
        r"|Gradient Accumulation steps|Total optimization steps|Number of trainable parameters|Batch size) = ([\d,]+)",
    ),
    # The PyTorch examples' formats (MNIST, CIFAR tutorial, ImageNet).
    "pytorch": (
        r"Train Epoch: (\d+) \[(\d+)/(\d+) \((\d+)%\)\]\s+Loss: (" + _NUM + r")",
        r"Test set: Average loss: (" + _NUM + r"), Accuracy: (\d+)/(\d+) \((\d+)%\)",
        r"\[(\d+), +(\d+)\] loss: (" + _NUM + r")",
        r"Epoch \[(\d+)/(\d+)\], Step \[(\d+)/(\d+)\], Loss: (" + _NUM + r")",
        r"Epoch: \[(\d+)\]\[ *(\d+)/(\d+)\]((?:\t[A-Za-z][\w@ ]{0,20}? +" + _NUM + r" \( *" + _NUM + r"\))*)",
    ),
    # A line of labelled numbers: 'epoch 3 step 120 loss=0.41 acc: 91.2%' (a blank, ':' or '='
    # between label and number, so that a lone fragment such as 'ab12' is no template line).
    "key_value": (
        r"((?:[\[(]?(?:[A-Za-z][\w./-]{0,31}(?: [A-Za-z][\w./-]{0,31}){0,3})[\])]?(?: ?[:=] ?| )[\[(]?" + _NUM
        + r"(?:/" + _NUM + r")?%?[\])]?[,;|]?\s*(?:-\s+|\|\s+)?)+)",
    ),
}


@dataclass(frozen=True)
class TemplateMatch:
    """A template line: which template matched and what it costs the leak budget in bytes."""

    name: str
    cost_bytes: int


class TemplateSet:
    """The templates of one policy, compiled into one alternation (first match wins)."""

    def __init__(self, names: tuple[str, ...], allow: tuple[tuple[str, str], ...]) -> None:
        """``names``: built-in template names; ``allow``: (name, pattern) of organiser templates."""
        patterns: list[tuple[str, str]] = [(n, p) for n in names for p in BUILTIN_TEMPLATES[n]]
        patterns.extend(allow)
        self._names: list[str] = []
        # For each alternative: (outer group index, first inner group, last inner group + 1).
        self._groups: list[tuple[int, int, int]] = []
        parts = []
        group = 1
        for name, pattern in patterns:
            inner = re.compile(pattern).groups
            parts.append(f"({pattern})")
            self._names.append(name)
            self._groups.append((group, group + 1, group + 1 + inner))
            group += 1 + inner
        self._outer = {outer: i for i, (outer, _, _) in enumerate(self._groups)}
        self._regex = re.compile("|".join(parts)) if parts else None

    def match(self, text: str) -> TemplateMatch | None:
        """The template ``text`` matches in full (trailing blanks ignored), or None."""
        if self._regex is None:
            return None
        text = text.rstrip()
        m = self._regex.fullmatch(text)
        if m is None:
            return None
        index = self._outer[m.lastindex] if m.lastindex in self._outer else self._find(m)
        outer, first, stop = self._groups[index]
        spans = sorted(m.span(g) for g in range(first, stop) if m.start(g) >= 0)
        if stop == first:
            # No groups: the whole line varies.
            return TemplateMatch(self._names[index], max(1, len(text.encode())))
        cost = 0
        covered_to = -1
        for start, end in spans:
            start = max(start, covered_to)
            if end > start:
                cost += len(text[start:end].encode())
                covered_to = end
        return TemplateMatch(self._names[index], max(1, cost))

    def _find(self, m: re.Match[str]) -> int:
        for i, (outer, _, _) in enumerate(self._groups):
            if m.start(outer) >= 0:
                return i
        raise LookupError("a template matched but no alternative group did")
