"""YAML files checked against a pydantic model, with errors that name the file line.

Used by the site config (``arenahub.yaml``) and competition files. Pure: takes text.
"""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A config file is invalid; ``problems`` lists 'file:line: path: message' strings."""

    def __init__(self, source: str, problems: list[str]):
        self.source, self.problems = source, problems
        super().__init__(f"{source} is invalid:\n  " + "\n  ".join(problems))


def _line_index(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """Map each key path in a composed YAML document to its 1-based line."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = (*path, k.value)
            lines[key] = k.start_mark.line + 1
            for sub, line in _line_index(v, key).items():
                lines.setdefault(sub, line)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            lines.update(_line_index(v, (*path, i)))
    return lines


def _nearest_line(lines: dict[tuple, int], loc: tuple) -> int:
    loc = tuple(str(x) if not isinstance(x, int) else x for x in loc)
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


def load_yaml(text: str, source: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML; returns (data, line index). Syntax errors become ConfigError with a line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ConfigError(source, [f"{source}:{line}: YAML syntax: {getattr(e, 'problem', e)}"]) from None
    return (data if data is not None else {}), (_line_index(node) if node is not None else {})


def validate_yaml(model: type[M], text: str, source: str) -> M:
    """Parse ``text`` and validate it as ``model``; raise ConfigError listing every problem."""
    data, lines = load_yaml(text, source)
    if not isinstance(data, dict):
        raise ConfigError(source, [f"{source}:1: the file must be a mapping of settings"])
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            path = ".".join(str(x) for x in loc) or "(top)"
            problems.append(f"{source}:{_nearest_line(lines, loc)}: {path}: {err['msg']}")
        raise ConfigError(source, problems) from None
