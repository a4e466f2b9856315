"""Route paths: how a template points at one value (or a list of values) in a JSON or XML output.

JSON routes look like ``people[0].age@num`` or ``objects[*].box``: dotted keys, ``[N]`` list
indices (negative counts from the end), ``[*]`` for every element, ``["odd key"]`` for keys
with dots or spaces, and an optional cast at the end: ``@num``, ``@str`` or ``@bool``. A
leading ``$`` (the whole document) is allowed. XML routes are XPath 1.0 expressions, with the
same optional cast at the end (``//person[1]/age@num``, ``//object/@score@num``). Routes are
compiled when the template loads, so a bad one is reported before any scoring starts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lxml import etree

Cast = Literal["num", "str", "bool"]
CASTS: tuple[Cast, ...] = ("num", "str", "bool")
_KEY = re.compile(r"[^.\[\]@\s\"']+")
_XPATH_CAST = re.compile(r"(?<=[\w\])'\"*])@(num|str|bool)\s*$")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


class RoutePathError(ValueError):
    """A route path that cannot be compiled (raised when the template loads)."""


class ExtractionError(ValueError):
    """A value the route points at is missing or has the wrong type (scores the sample 0)."""


@dataclass(frozen=True)
class JsonRoute:
    """A compiled JSON route: steps are keys (str), indices (int) or ``None`` for ``[*]``."""

    text: str
    steps: tuple[str | int | None, ...]
    cast: Cast | None

    @property
    def is_many(self) -> bool:
        """True when the route has a ``[*]`` and so selects a list."""
        return None in self.steps


@dataclass(frozen=True)
class XPathRoute:
    """A compiled XPath route for XML documents."""

    text: str
    xpath: etree.XPath
    cast: Cast | None

    @property
    def is_many(self) -> bool:
        """XPath always selects a node set; a scalar rule needs exactly one node."""
        return True


Route = JsonRoute | XPathRoute


def _bad(text: str, column: int, what: str) -> RoutePathError:
    return RoutePathError(
        f"Bad route path {text!r} at column {column + 1}: {what}. Route paths look like "
        "people[0].age@num, objects[*].box or label@str."
    )


def _split_cast(text: str, body: str) -> tuple[str, Cast | None]:
    at = body.rfind("@")
    if at < 0 or at < body.rfind("]"):
        return body, None  # an '@' inside a quoted key such as ["e@mail"] is no cast
    cast = body[at + 1 :].strip()
    if cast not in CASTS:
        raise _bad(text, at, f"unknown cast '@{cast}'; use one of @num, @str, @bool")
    return body[:at], cast  # type: ignore[return-value]


def compile_json_route(text: str) -> JsonRoute:
    """Compile a JSON route path; raises RoutePathError naming the column of the problem."""
    body, cast = _split_cast(text, text.strip())
    if not body:
        raise _bad(text, 0, "the path is empty; use $ for the whole document")
    steps: list[str | int | None] = []
    i = 0
    if body.startswith("$"):
        i = 1
    expect_key = i == 0  # a key may start the path without a dot
    while i < len(body):
        ch = body[i]
        if ch == ".":
            if i + 1 >= len(body) or body[i + 1] in ".[":
                raise _bad(text, i, "expected a key after '.'")
            i += 1
            expect_key = True
            continue
        if ch == "[":
            close = body.find("]", i)
            if close < 0:
                raise _bad(text, i, "'[' is never closed with ']'")
            inner = body[i + 1 : close].strip()
            if inner == "*":
                steps.append(None)
            elif re.fullmatch(r"-?\d+", inner):
                steps.append(int(inner))
            elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "\"'":
                steps.append(inner[1:-1])
            else:
                raise _bad(text, i, f"'[{inner}]' is not an index, [*] or a quoted key")
            i = close + 1
            expect_key = False
            continue
        if not expect_key:
            raise _bad(text, i, f"unexpected {ch!r}; separate keys with '.'")
        match = _KEY.match(body, i)
        if not match:
            raise _bad(text, i, f"unexpected {ch!r}")
        steps.append(match.group())
        i = match.end()
        expect_key = False
    return JsonRoute(text, tuple(steps), cast)


def compile_xpath_route(text: str) -> XPathRoute:
    """Compile an XPath route (with an optional trailing cast); raises RoutePathError."""
    body = text.strip()
    cast: Cast | None = None
    match = _XPATH_CAST.search(body)
    if match:
        cast, body = match.group(1), body[: match.start()]  # type: ignore[assignment]
    if not body:
        raise RoutePathError(f"Bad XPath route {text!r}: it is empty. Example: //object/name@str.")
    try:
        return XPathRoute(text, etree.XPath(body), cast)
    except etree.XPathSyntaxError as err:
        raise RoutePathError(
            f"Bad XPath route {text!r}: {err}. Example: //person[1]/age@num."
        ) from None


def compile_route(text: str, fmt: Literal["json", "xml"]) -> Route:
    """Compile ``text`` as a JSON route or an XPath route, by document format."""
    return compile_json_route(text) if fmt == "json" else compile_xpath_route(text)


def _where(steps: Sequence[str | int | None]) -> str:
    out = ""
    for step in steps:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step is None:
            out += "[*]"
        else:
            out += f".{step}" if out else step
    return out or "the top level"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _walk_json(value: Any, steps: Sequence[str | int | None], done: int, out: list[Any]) -> None:
    for pos in range(done, len(steps)):
        step = steps[pos]
        here = _where(steps[:pos])
        if step is None:
            if not isinstance(value, list):
                raise ExtractionError(f"{here} is {_kind(value)}, not a list")
            for item in value:
                _walk_json(item, steps, pos + 1, out)
            return
        if isinstance(step, int):
            if not isinstance(value, list):
                raise ExtractionError(f"{here} is {_kind(value)}, not a list")
            if not -len(value) <= step < len(value):
                raise ExtractionError(f"{here} has {len(value)} elements; there is no [{step}]")
            value = value[step]
            continue
        if not isinstance(value, dict):
            raise ExtractionError(f"{here} is {_kind(value)}, not an object with key {step!r}")
        if step not in value:
            raise ExtractionError(f"no key {step!r} in {here}")
        value = value[step]
    out.append(value)


def select(document: Any, route: Route) -> list[Any]:
    """Every node ``route`` selects in ``document`` (a parsed JSON value or an lxml element).

    Raises ExtractionError when a JSON step is missing or has the wrong type.
    """
    if isinstance(route, JsonRoute):
        out: list[Any] = []
        _walk_json(document, route.steps, 0, out)
        return out
    try:
        result = route.xpath(document)
    except etree.XPathEvalError as err:
        raise ExtractionError(f"XPath {route.text!r} failed: {err}") from None
    return list(result) if isinstance(result, list) else [result]


def node_value(node: Any) -> Any:
    """Plain value of a selected node: an XML element becomes its text, anything else stays."""
    if isinstance(node, etree._Element):
        return "".join(node.itertext()).strip()
    if isinstance(node, str):
        return str(node)  # lxml's smart strings keep a reference to their tree
    return node


def apply_cast(value: Any, cast: Cast | None, where: str) -> Any:
    """Cast a plain value; raises ExtractionError saying what was found instead."""
    if cast is None:
        return value
    if cast == "num":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ExtractionError(f"{where} is {_kind(value)}, expected a number")
        try:
            number = float(value)
        except (ValueError, OverflowError):
            raise ExtractionError(f"{where} is {value!r}, expected a number") from None
        if not math.isfinite(number):
            raise ExtractionError(f"{where} is {value!r}, expected a finite number")
        return number
    if cast == "str":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))  # 3.0 and 3 read the same as text
        if isinstance(value, (str, int, float)):
            return str(value)
        raise ExtractionError(f"{where} is {_kind(value)}, expected text")
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ExtractionError(f"{where} is {value!r}, expected true or false")


def extract_one(document: Any, route: Route) -> Any:
    """The single value ``route`` points at, cast; raises ExtractionError unless exactly one."""
    nodes = select(document, route)
    if len(nodes) != 1:
        found = "nothing" if not nodes else f"{len(nodes)} values"
        raise ExtractionError(f"{route.text} should point at one value but found {found}")
    return apply_cast(node_value(nodes[0]), route.cast, _without_cast(route))


def extract_many(document: Any, route: Route, *, keep_nodes: bool = False) -> list[Any]:
    """The list of values ``route`` points at, each cast.

    A JSON route without ``[*]`` that lands on a list yields that list's items. With
    ``keep_nodes`` the raw nodes are returned (for sub-routes such as a box's fields).
    """
    nodes = select(document, route)
    if isinstance(route, JsonRoute) and not route.is_many:
        nodes = nodes[0] if isinstance(nodes[0], list) else nodes
    if keep_nodes:
        return nodes
    where = _without_cast(route)
    return [apply_cast(node_value(n), route.cast, f"{where} item {k}") for k, n in enumerate(nodes)]


def _without_cast(route: Route) -> str:
    text = route.text.strip()
    return text[: text.rfind("@")] if route.cast else text
