"""Reading a report schema's JSON Schema nodes: local ``$ref`` followed, the JSON types a node allows.

One place for the sinks (CSV columns, SQLite tables) and Ray's Arrow columns; the constrained decoder's compiler
merges a ``$ref``'s sibling keywords as well and keeps its own resolver.
"""

from __future__ import annotations

from typing import Any

from reportx.schema.loader import ReportSchema


def deref_node(schema: ReportSchema, node: Any) -> dict:
    """``node`` with its local ``$ref`` (``#/$defs/Blocker``) followed, a few levels at most ({} if none)."""
    for _ in range(16):
        if not isinstance(node, dict) or "$ref" not in node:
            break
        target: Any = schema.json_schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node if isinstance(node, dict) else {}


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
