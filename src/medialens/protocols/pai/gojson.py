"""Decode request bodies with the type rules and error texts of the Go (Echo) server behind PAI.

Clients and scripts match on these messages, e.g. ``Unmarshal type error: expected=string, got=number,
field=image, offset=42, internal=json: cannot unmarshal number into Go struct field ImageRequest.image of type
string``. Python's json gives no positions, so a small span walker records where each value ends (Go reports the
offset after the offending value).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from json.decoder import scanstring
from typing import Any

_WS = re.compile(r"[ \t\n\r]*")
_decoder = json.JSONDecoder()


class GoJSONError(ValueError):
    """The body is not valid JSON, or a field has the wrong type; ``str()`` is the Echo message."""


@dataclass
class Node:
    value: Any
    end: int  # character index just after the value
    children: dict[str, Node] | list[Node] = field(default_factory=dict)


def _span(s: str, idx: int) -> Node:
    idx = _WS.match(s, idx).end()
    if idx < len(s) and s[idx] == "{":
        obj: dict[str, Node] = {}
        idx = _WS.match(s, idx + 1).end()
        if s[idx : idx + 1] == "}":
            return Node({}, idx + 1, obj)
        while True:
            if s[idx : idx + 1] != '"':
                raise json.JSONDecodeError("expecting property name enclosed in double quotes", s, idx)
            key, idx = scanstring(s, idx + 1)
            idx = _WS.match(s, idx).end()
            if s[idx : idx + 1] != ":":
                raise json.JSONDecodeError("expecting ':' delimiter", s, idx)
            obj[key] = child = _span(s, idx + 1)
            idx = _WS.match(s, child.end).end()
            if s[idx : idx + 1] == ",":
                idx = _WS.match(s, idx + 1).end()
                continue
            if s[idx : idx + 1] == "}":
                return Node({k: v.value for k, v in obj.items()}, idx + 1, obj)
            raise json.JSONDecodeError("expecting ',' delimiter", s, idx)
    if idx < len(s) and s[idx] == "[":
        items: list[Node] = []
        idx = _WS.match(s, idx + 1).end()
        if s[idx : idx + 1] == "]":
            return Node([], idx + 1, items)
        while True:
            items.append(child := _span(s, idx))
            idx = _WS.match(s, child.end).end()
            if s[idx : idx + 1] == ",":
                idx += 1
                continue
            if s[idx : idx + 1] == "]":
                return Node([n.value for n in items], idx + 1, items)
            raise json.JSONDecodeError("expecting ',' delimiter", s, idx)
    value, end = _decoder.raw_decode(s, idx)
    return Node(value, end)


def _non_finite(node: Node) -> Node | None:
    """The first NaN/Infinity (or overflowing 1e999) number inside ``node``, if any."""
    if isinstance(node.value, float):
        return None if math.isfinite(node.value) else node
    children = node.children.values() if isinstance(node.children, dict) else node.children
    for child in children:
        found = _non_finite(child)
        if found is not None:
            return found
    return None


def go_kind(value: Any) -> str:
    """The JSON kind as Go's UnmarshalTypeError names it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# Field types: "string", "object" (map[string]interface {}), ["string"] ([]string), or a nested Struct list.
@dataclass(frozen=True)
class Struct:
    name: str
    fields: dict[str, Any]


def _go_type(t: Any) -> str:
    if t == "string":
        return "string"
    if t == "object":
        return "map[string]interface {}"
    if isinstance(t, list):
        return "[]" + _go_type(t[0])
    return t.name


def _zero(t: Any) -> Any:
    """Go's zero value of a field type, as decoded data."""
    if t == "string":
        return ""
    if isinstance(t, list):
        return []
    return {} if isinstance(t, Struct) else None


def _lookup(children: dict[str, Node], name: str) -> Node | None:
    """Go matches JSON keys to struct fields exactly first, then case-insensitively."""
    if name in children:
        return children[name]
    for key, node in children.items():
        if key.lower() == name.lower():
            return node
    return None


def decode(raw: bytes, struct: Struct) -> dict[str, Any]:
    """Decode ``raw`` into a dict holding the struct's fields (absent or null fields are left out)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise GoJSONError(f"Syntax error: offset={err.start}, error=invalid UTF-8 in string") from err
    try:
        root = _span(text, 0)
        trailing = _WS.match(text, root.end).end()
        if trailing != len(text):
            raise json.JSONDecodeError("invalid character after top-level value", text, trailing)
    except json.JSONDecodeError as err:
        offset = len(text[: err.pos].encode())
        raise GoJSONError(f"Syntax error: offset={offset}, error={err.msg}") from err
    except RecursionError as err:
        raise GoJSONError("Syntax error: offset=0, error=exceeded max depth") from err

    def byte_offset(node: Node) -> int:
        return len(text[: node.end].encode())

    def fail(expected: Any, node: Node, path: str, owner: str) -> GoJSONError:
        got = go_kind(node.value)
        where = f"Go struct field {owner}.{path}" if path else "Go value"
        internal = f"json: cannot unmarshal {got} into {where} of type {_go_type(expected)}"
        return GoJSONError(
            f"Unmarshal type error: expected={_go_type(expected)}, got={got}, field={path}, "
            f"offset={byte_offset(node)}, internal={internal}"
        )

    def check(t: Any, node: Node, path: str, owner: str) -> Any:
        if node.value is None:
            return None
        if t == "string":
            if not isinstance(node.value, str):
                raise fail(t, node, path, owner)
            return node.value
        if t == "object":
            if not isinstance(node.value, dict):
                raise fail(t, node, path, owner)
            # Python's json takes NaN, Infinity and 1e999 (as inf); Go refuses them, and PostgreSQL's json cannot
            # store them, so they must not get as far as a job's inputs.
            bad = _non_finite(node)
            if bad is not None:
                why = "number is not finite (NaN, Infinity and 1e999 are not valid JSON)"
                raise GoJSONError(f"Syntax error: offset={byte_offset(bad)}, error={why}")
            return node.value
        if isinstance(t, list):
            if not isinstance(node.value, list):
                raise fail(t, node, path, owner)
            # Go leaves a null element at its zero value: "" in a []string, an empty struct in a []Struct
            items = [check(t[0], child, path, owner) for child in node.children]  # type: ignore[union-attr]
            return [_zero(t[0]) if item is None else item for item in items]
        if not isinstance(node.value, dict):
            raise fail(t, node, path, owner)
        out = {}
        for name, ftype in t.fields.items():
            child = _lookup(node.children, name)  # type: ignore[arg-type]
            if child is not None:
                sub = f"{path}.{name}" if path else name
                value = check(ftype, child, sub, owner)
                if value is not None:
                    out[name] = value
        return out

    if not isinstance(root.value, dict):
        got = go_kind(root.value) if root.value is not None else None
        if got is None:
            return {}
        raise GoJSONError(
            f"Unmarshal type error: expected={struct.name}, got={got}, field=, offset={byte_offset(root)}, "
            f"internal=json: cannot unmarshal {got} into Go value of type {struct.name}"
        )
    return check(struct, root, "", struct.name)
