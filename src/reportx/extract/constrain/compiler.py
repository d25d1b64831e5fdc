"""JSON Schema -> the automaton's node tree (:mod:`reportx.extract.constrain.nodes`).

Supported: objects with their fixed keys, strings (bounded length; a ``pattern`` of the identifier shape
``^[...][...]*$`` / ``^[...]+$`` enforced character by character), numbers (``minimum`` >= 0 as "no minus
sign"), enums / consts, null, booleans, arrays (bounded), ``anyOf`` / ``oneOf`` / type lists, a one-schema
``allOf``, local ``$ref``. Anything else raises :class:`SchemaNotSupported`.

A string leaf marked ``"x-reportx-quote": true`` (``{"type": "string", ...}`` or ``{"type": ["string", "null"],
...}``) compiles to a :class:`~reportx.extract.constrain.nodes.QuoteNode`: an exact quote of the report
(:mod:`reportx.extract.constrain.quote`); its ``maxLength`` bounds it, ``minLength`` and ``pattern`` are left
to validation (a quote is never empty), an ``enum`` / ``const`` takes precedence over the mark.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reportx.extract.constrain.nodes import (
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_STRING_BYTES,
    ArrNode,
    EnumNode,
    LitNode,
    Node,
    NumNode,
    ObjNode,
    PatternStrNode,
    Prop,
    QuoteNode,
    StrNode,
    UnionNode,
    first_bytes,
)
from reportx.extract.constrain.quote import ANY_CASE, QUOTE_KEYWORD
from reportx.schema.nodes import MAX_REF_HOPS, RefError, follow_ref

#: Given a report's text, the quotes a field may take there.
Chooser = Callable[[str], Sequence[str]]
MAX_DEPTH = 24  # deeper than this is a recursive schema
_ANY_SCALAR = ["string", "number", "boolean", "null"]  # what an unconstrained value ({} or true) may be


class SchemaNotSupported(ValueError):
    """A JSON Schema construct the automaton cannot express."""


def compile_schema(schema: dict[str, Any], choices: Mapping[str, Chooser] | None = None) -> Node:
    """Compile a JSON Schema (the record's) into the automaton's node tree. ``choices``: for top-level quoted
    properties, what quotes a report allows (``reportx.schema.quotes.label_choices``), applied when a report binds."""
    node = _compile(schema, schema, depth=0)
    if choices and isinstance(node, ObjNode):
        node = ObjNode(tuple(Prop(p.key, _with_choices(p.node, choices[p.key]) if p.key in choices else p.node)
                             for p in node.props))
    return node


def _with_choices(node: Node, chooser: Chooser) -> Node:
    """The property's tree with its quote node(s) taking ``chooser`` (in a union: the quote branch)."""
    if isinstance(node, QuoteNode):
        return node._replace(choices=chooser)
    if isinstance(node, UnionNode):
        done = {id(b): _with_choices(b, chooser) for b in node.branches}
        return UnionNode(tuple(done[id(b)] for b in node.branches),
                         {k: done.get(id(v), v) for k, v in node.route.items()})
    return node


def _resolve(node: dict, root: dict) -> dict:
    try:
        return follow_ref(root, node, MAX_REF_HOPS)
    except RefError as exc:
        raise SchemaNotSupported(str(exc)) from None


def _nonneg(node: dict) -> bool:
    for key in ("minimum", "ge", "exclusiveMinimum", "gt"):  # "ge": pydantic writes it for Annotated unions
        value = node.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return True
    return False


def _compile(node: Any, root: dict, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise SchemaNotSupported("schema nested too deeply (recursive?)")
    if node is True or node == {}:
        node = {"type": _ANY_SCALAR}
    if not isinstance(node, dict):
        raise SchemaNotSupported(f"unsupported schema node {node!r}")
    node = _resolve(node, root)
    combined = _compile_combination(node, root, depth)
    if combined is not None:
        return combined
    types = node.get("type")
    if isinstance(types, list):
        return _union([_compile({**node, "type": t}, root, depth + 1) for t in types])
    if types is None:
        if "properties" in node:
            types = "object"
        elif "items" in node:
            types = "array"
        else:
            return _compile({**node, "type": _ANY_SCALAR}, root, depth + 1)
    return _compile_type(types, node, root, depth)


def _compile_combination(node: dict, root: dict, depth: int) -> Node | None:
    """The node of a ``const``, ``enum``, ``anyOf`` / ``oneOf`` or ``allOf`` schema; None for any other."""
    if "const" in node:
        return EnumNode((json.dumps(node["const"], ensure_ascii=False).encode(),))
    if "enum" in node:
        values = [v for v in node["enum"]]
        allowed = node.get("type")
        if allowed is not None:  # an enum inside {"type": "string", "enum": [...]}: keep values of that type
            types = allowed if isinstance(allowed, list) else [allowed]
            values = [v for v in values if _json_type(v) in types or (_json_type(v) == "integer" and "number" in types)]
        return EnumNode(tuple(json.dumps(v, ensure_ascii=False).encode() for v in values))
    for key in ("anyOf", "oneOf"):
        if key in node:
            base = {k: v for k, v in node.items() if k not in (key, "description", "title", "default")}
            branches = [_compile({**base, **b} if isinstance(b, dict) else b, root, depth + 1) for b in node[key]]
            return _union(branches)
    if "allOf" in node:
        parts = node["allOf"]
        if len(parts) != 1:
            raise SchemaNotSupported("allOf with more than one schema")
        merged = {**{k: v for k, v in node.items() if k != "allOf"}, **_resolve(parts[0], root)}
        return _compile(merged, root, depth + 1)
    return None


def _compile_type(types: Any, node: dict, root: dict, depth: int) -> Node:
    """The node of a schema of one ``type``."""
    if types == "null":
        return LitNode(b"null")
    if types == "boolean":
        return EnumNode((b"true", b"false"))
    if types == "string":
        return _compile_string(node)
    if types in ("number", "integer"):
        return NumNode(types == "integer", _nonneg(node))
    if types == "array":
        item = _compile(node.get("items", {}), root, depth + 1)
        lo = int(node.get("minItems", 0))
        hi = int(node.get("maxItems", max(DEFAULT_MAX_ITEMS, lo)))
        return ArrNode(item, lo, hi)
    if types == "object":
        props = node.get("properties") or {}
        return ObjNode(tuple(Prop(k, _compile(v, root, depth + 1)) for k, v in props.items()))
    raise SchemaNotSupported(f"unsupported type {types!r}")


def _compile_string(node: dict) -> Node:
    quote = node.get(QUOTE_KEYWORD)
    if quote is True or quote == ANY_CASE:
        max_chars = node.get("maxLength")
        return QuoteNode(1 << 30 if max_chars is None else max(1, int(max_chars)) * 4, any_case=quote == ANY_CASE)
    charset = charset_pattern(node["pattern"]) if isinstance(node.get("pattern"), str) else None
    if charset is not None:
        limit = node.get("maxLength")
        first, rest = charset
        return PatternStrNode(first, rest, int(limit) if limit is not None else DEFAULT_MAX_STRING_BYTES)
    min_chars = int(node.get("minLength", 0))
    max_chars = node.get("maxLength")
    # maxLength counts characters; allow up to 4 bytes each so that any character fits.
    max_bytes = DEFAULT_MAX_STRING_BYTES if max_chars is None else max(1, int(max_chars)) * 4
    return StrNode(min_chars, max(max_bytes, min_chars * 4), int(max_chars) if max_chars is not None else 1 << 30)


_CLASS_PATTERN = re.compile(r"\^\[((?:\\.|[^\]\\])+)\](?:\[((?:\\.|[^\]\\])+)\]\*|(\+))\$")


def _char_class(body: str) -> frozenset[int] | None:
    """The bytes of a regex character class body ("A-Za-z0-9_\\-"), or None for anything but plain ASCII
    characters, ranges and escaped punctuation."""
    chars: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body) or body[i + 1].isalnum():
                return None  # \d, \w, \s...: not written out here
            c = body[i + 1]
            i += 1
        elif c == "^" and i == 0:
            return None  # a negated class
        if i + 2 < len(body) and body[i + 1] == "-":
            end = body[i + 2]
            if end == "\\" or ord(end) < ord(c):
                return None
            chars.extend(chr(x) for x in range(ord(c), ord(end) + 1))
            i += 3
            continue
        chars.append(c)
        i += 1
    if not chars or any(ord(c) < 0x20 or ord(c) > 0x7E or c in '"\\' for c in chars):
        return None
    return frozenset(ord(c) for c in chars)


def charset_pattern(pattern: str) -> tuple[frozenset[int], frozenset[int]] | None:
    """(allowed first bytes, allowed later bytes) for a ``pattern`` of the form ``^[...][...]*$`` or ``^[...]+$``
    (the shape of an identifier, like the ticket ids of the built-in schema), or None for any other pattern.

    Only this shape is enforced while decoding: it is the one that keeps free text out of id-like fields and
    needs no regex engine in the automaton. Other patterns are left to validation after decoding.
    """
    m = _CLASS_PATTERN.fullmatch(pattern)
    if m is None:
        return None
    first = _char_class(m.group(1))
    rest = first if m.group(3) else _char_class(m.group(2))
    if first is None or rest is None:
        return None
    return first, rest


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "array"


# How general a branch is, for routing a first byte that two branches of a union share.
_RANK: dict[type, int] = {StrNode: 3, PatternStrNode: 3, QuoteNode: 3, NumNode: 2, ObjNode: 2, ArrNode: 2, EnumNode: 1,
                          LitNode: 0}


def _union(branches: list[Node]) -> Node:
    # Flatten nested unions, then route each first byte to one branch. Where branches overlap, the more
    # general one wins: a free string over a string enum or a quote, a number over an integer.
    flat: list[Node] = []
    for b in branches:
        flat.extend(b.branches if isinstance(b, UnionNode) else [b])
    route: dict[int, Node] = {}
    for b in flat:
        for byte in first_bytes(b):
            current = route.get(byte)
            if current is None:
                route[byte] = b
            elif isinstance(current, EnumNode) and isinstance(b, EnumNode):
                merged = EnumNode(tuple(dict.fromkeys(current.options + b.options)))
                for k, v in route.items():
                    if v is current:
                        route[k] = merged
                route[byte] = merged
            elif _RANK[type(b)] > _RANK[type(current)] or (
                isinstance(b, NumNode) and isinstance(current, NumNode) and current.integer
            ) or (isinstance(b, StrNode) and isinstance(current, QuoteNode)):
                route[byte] = b
    if len(flat) == 1:
        return flat[0]
    return UnionNode(tuple(flat), route)
