"""Reading a report schema's JSON Schema nodes: local ``$ref`` followed, the JSON types a node allows.

One place for the sinks (CSV columns, SQLite tables), Ray's Arrow columns, quote answers and the constrained
decoder's compiler (:func:`follow_ref`).
"""

from __future__ import annotations

from typing import Any

from reportx.schema.loader import ReportSchema

#: More ``$ref`` hops in a row than this is a recursive ``$ref``.
MAX_REF_HOPS = 32


class RefError(ValueError):
    """A ``$ref`` that cannot be followed: not local, recursive, or pointing at nothing."""


def follow_ref(root: Any, node: Any, max_hops: int = MAX_REF_HOPS) -> Any:
    """``node`` with its local ``$ref`` (``#/$defs/Blocker``, JSON-pointer escapes read) followed in ``root``, hop
    after hop; keywords beside a ``$ref`` are kept over the target's (JSON Schema 2019+ reads them together).
    The one resolver for the sinks, Ray's columns, quote answers and the constrained decoder's compiler."""
    hops = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise RefError(f"only local $ref is supported, got {ref!r}")
        target: Any = root
        for part in [p for p in ref[1:].split("/") if p]:
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or key not in target:
                raise RefError(f"$ref {ref!r} points at nothing")
            target = target[key]
        if not isinstance(target, dict):
            raise RefError(f"$ref {ref!r} is not a schema")
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        hops += 1
        if hops > max_hops:
            raise RefError("recursive $ref")
    return node


def deref_node(schema: ReportSchema, node: Any) -> dict:
    """``node`` with its local ``$ref`` followed ({} if it cannot be: the schema was checked when loaded)."""
    try:
        node = follow_ref(schema.json_schema, node)
    except RefError:
        return {}
    return node if isinstance(node, dict) else {}


def enum_values(schema: ReportSchema, node: Any) -> list[Any]:
    """The ``enum`` values a node allows, through ``anyOf`` / ``oneOf`` ([] for a node without any)."""
    node = deref_node(schema, node)
    found = list(node.get("enum", []))
    for key in ("anyOf", "oneOf"):
        for branch in node.get(key, []):
            found += enum_values(schema, branch)
    return found


def node_types(schema: ReportSchema, node: Any) -> set[str]:
    """The JSON types a node allows, through ``anyOf`` / ``oneOf`` ("object" / "array" also from its keywords)."""
    node = deref_node(schema, node)
    kind = node.get("type")
    found = set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()
    for key in ("anyOf", "oneOf"):
        for branch in node.get(key, []):
            found |= node_types(schema, branch)
    if "properties" in node:
        found.add("object")
    if "items" in node:
        found.add("array")
    return found
