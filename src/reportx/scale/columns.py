"""Extraction results as Arrow columns, and back: the row layout of :func:`reportx.scale.extract_dataset`.

Each output row is the input row's columns, then one typed column per schema field (a fixed Arrow type derived
from the JSON Schema, so that every block has the same schema and Parquet files line up), then:

- ``_record``: the record as JSON text, exactly as the JSONL output writes it (``4500`` stays an int, ``4500.5``
  a float, a user schema's extra keys kept); null for a failed report. The typed columns are for queries, this
  one is the lossless copy the driver writes to JSONL / CSV / SQLite.
- ``_meta``: the provenance (source, sha256, model, adapter, mode, constrained, attempts, tokens, seconds, and
  where present input_notes, spans, notes, confidence and review) as JSON text, the same object the JSONL output's ``_meta`` holds.
- ``error``: null for an extracted report, else why it failed (the report's row is never dropped).
- ``raw_output``: the model's last answer for a failed report (what the errors file keeps), else null.
"""

from __future__ import annotations

import json
from typing import Any

from reportx.extract.extractor import ExtractionResult
from reportx.schema import ReportSchema
from reportx.schema.nodes import deref_node, node_types

#: Columns every output row carries after the record's fields.
RESULT_COLUMNS = ("_record", "_meta", "error", "raw_output")
_JSON_TEXT = "json"  # marker: a field with no fixed Arrow type is stored as JSON text

_SCALARS = {"string": "string", "number": "float64", "integer": "int64", "boolean": "bool_"}


def arrow_type(schema: ReportSchema, node: dict, depth: int = 0) -> Any:
    """The Arrow type of a JSON Schema node, or ``"json"`` when it has none (mixed types, free objects).

    Nullability is Arrow's default, so ``anyOf: [X, null]`` is X. An array of objects with properties (the
    built-in ``blockers_today``) becomes ``list<struct<...>>``.
    """
    import pyarrow as pa

    node = deref_node(schema, node)
    types = node_types(schema, node) - {"null"}
    if depth > 8 or len(types) != 1:
        # "number" with "integer" is still a number; anything else mixed has no single Arrow type
        return pa.float64() if types == {"number", "integer"} else _JSON_TEXT
    kind = next(iter(types))
    if kind in _SCALARS:
        return getattr(pa, _SCALARS[kind])()
    branch = _typed_branch(schema, node)
    if kind == "array":
        item = arrow_type(schema, branch.get("items", {}), depth + 1)
        return _JSON_TEXT if item == _JSON_TEXT else pa.list_(item)
    props = branch.get("properties")
    if not isinstance(props, dict) or not props or branch.get("additionalProperties", False) is not False:
        return _JSON_TEXT  # keys not known in advance: no struct type fits every record
    fields = [(name, arrow_type(schema, sub, depth + 1)) for name, sub in props.items()]
    if any(t == _JSON_TEXT for _, t in fields):
        return _JSON_TEXT
    return pa.struct(fields)


def _typed_branch(schema: ReportSchema, node: dict) -> dict:
    """The non-null branch of ``anyOf`` / ``oneOf`` (where ``items`` / ``properties`` live), else the node."""
    for key in ("anyOf", "oneOf"):
        for branch in node.get(key, []):
            branch = deref_node(schema, branch)
            if node_types(schema, branch) - {"null"}:
                return branch
    return node


def record_types(schema: ReportSchema) -> dict[str, Any]:
    """Field name -> Arrow type (or ``"json"``), in the schema's key order."""
    props = schema.json_schema.get("properties", {})
    return {key: arrow_type(schema, props.get(key, {})) for key in schema.keys}


def result_columns(schema: ReportSchema, results: list[ExtractionResult]) -> dict[str, Any]:
    """The record's typed columns and the four result columns for ``results``, as Arrow arrays."""
    import pyarrow as pa

    columns: dict[str, Any] = {}
    for key, kind in record_types(schema).items():
        values = [r.record.get(key) if r.record is not None else None for r in results]
        if kind == _JSON_TEXT:
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
            kind = pa.string()
        columns[key] = _typed_array(values, kind)
    columns["_record"] = pa.array([None if r.record is None else json.dumps(r.record, ensure_ascii=False)
                                   for r in results], type=pa.string())
    columns["_meta"] = pa.array([json.dumps(r.meta, ensure_ascii=False) for r in results], type=pa.string())
    columns["error"] = pa.array([r.error for r in results], type=pa.string())
    columns["raw_output"] = pa.array([None if r.ok else r.raw_output for r in results], type=pa.string())
    return columns


def _typed_array(values: list[Any], kind: Any) -> Any:
    """``values`` as an Arrow array of type ``kind``; a value that does not fit (3.5 in an integer field of a
    JSON Schema that validated it) is null there, and stays exact in ``_record``: a block never fails on it."""
    import pyarrow as pa

    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        fitted = []
        for value in values:
            try:
                pa.array([value], type=kind)
                fitted.append(value)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
                fitted.append(None)
        return pa.array(fitted, type=kind)


def result_from_row(row: dict[str, Any]) -> ExtractionResult:
    """An :class:`ExtractionResult` rebuilt from an output row, for the sinks (``meta`` and ``to_error()`` give
    back what the actor's result gave)."""
    meta = json.loads(row["_meta"])
    record = json.loads(row["_record"]) if row.get("_record") is not None else None
    return ExtractionResult(
        source=meta.get("source"), sha256=meta["sha256"], record=record, error=row.get("error"),
        raw_output=row.get("raw_output"), model=meta.get("model"), adapter=meta.get("adapter"),
        mode=meta.get("mode"), constrained=bool(meta.get("constrained")), attempts=int(meta.get("attempts") or 0),
        prompt_tokens=int(meta.get("prompt_tokens") or 0), completion_tokens=int(meta.get("completion_tokens") or 0),
        seconds=float(meta.get("seconds") or 0.0), input_notes=list(meta.get("input_notes") or []),
        spans=meta.get("spans"), notes=list(meta.get("notes") or []), confidence=meta.get("confidence"),
        review=meta.get("review"),
    )
