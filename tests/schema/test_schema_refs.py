"""Every ``$ref`` of a JSON Schema file resolves when it is loaded: a dangling one is a one-line error of
``reportx schema`` and ``reportx extract`` (exit 2) before any model work, not a crash after the model loaded; so is
a schema nested past Python's recursion limit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reportx.errors import ReportxError
from reportx.schema import load_schema

REPORT = Path(__file__).resolve().parents[2] / "samples" / "reports" / "2026-05-04" / "zafiro.txt"


def schema_with(status: dict, **extra) -> dict:
    return {
        "title": "SiteReport",
        "type": "object",
        "$defs": {"Status": {"enum": ["Verde", "Amarillo", "Rojo"]}, "Ticket": {"$anchor": "ticket", "type": "string"}},
        "properties": {"site": {"type": "string"}, "status": status},
        "required": ["site", "status"],
        **extra,
    }


def write(tmp_path: Path, schema: dict) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    return path


@pytest.mark.parametrize("status", [
    {"$ref": "#/$defs/Status"},
    {"$ref": "#ticket"},
    {"anyOf": [{"$ref": "#/$defs/Status"}, {"type": "null"}]},
    {"$ref": "https://json-schema.org/draft/2020-12/schema"},  # a metaschema: known without fetching
    # data that looks like a reference is not one
    {"const": {"$ref": "#/nowhere"}},
    {"type": "object", "properties": {"$ref": {"type": "string"}}},
])
def test_schemas_whose_refs_resolve_load(tmp_path, status):
    assert load_schema(write(tmp_path, schema_with(status))).keys == ["site", "status"]


@pytest.mark.parametrize("status, ref", [
    ({"$ref": "#/$defs/Missing"}, "#/$defs/Missing"),
    ({"anyOf": [{"type": "null"}, {"$ref": "#/definitions/Status"}]}, "#/definitions/Status"),
    ({"type": "array", "items": {"$ref": "#nowhere"}}, "#nowhere"),
    ({"$ref": "other.json#/$defs/Status"}, "other.json#/$defs/Status"),
    ({"$ref": "https://example.com/schemas/status.json"}, "https://example.com/schemas/status.json"),
])
def test_a_dangling_ref_is_a_one_line_error_naming_it(tmp_path, status, ref):
    with pytest.raises(ReportxError) as info:
        load_schema(write(tmp_path, schema_with(status)))
    message = str(info.value)
    assert f"$ref {ref!r} does not resolve" in message and "\n" not in message, message


def test_a_ref_in_a_definition_is_checked_too(tmp_path):
    schema = schema_with({"$ref": "#/$defs/Status"})
    schema["$defs"]["Status"] = {"$ref": "#/$defs/Gone"}
    with pytest.raises(ReportxError, match=r"'#/\$defs/Gone' does not resolve"):
        load_schema(write(tmp_path, schema))


@pytest.mark.parametrize("text", ["[" * 5000, '{"type": "object", "properties": {"a": ' + '{"items": ' * 600 + "{}" + "}" * 601 + "}"])
def test_a_schema_nested_past_the_recursion_limit_is_a_one_line_error(tmp_path, text):
    path = tmp_path / "deep.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReportxError, match="nested too deeply"):
        load_schema(path)


def reportx(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reportx", *args], capture_output=True, text=True, timeout=120)


def test_cli_schema_and_extract_refuse_a_dangling_ref_before_any_model_work(tmp_path):
    path = write(tmp_path, schema_with({"$ref": "#/$defs/Missing"}))
    expected = ["reportx: error: the schema's $ref '#/$defs/Missing' does not resolve: the schema has nothing at "
                "'/$defs/Missing'"]
    result = reportx("schema", "--schema", str(path))
    assert (result.returncode, result.stderr.splitlines()) == (2, expected), result.stderr
    # an empty --model file: llama.cpp would fail on it, so the schema error proves nothing was loaded first
    model = tmp_path / "model.gguf"
    model.write_bytes(b"")
    result = reportx("extract", str(REPORT), "--schema", str(path), "--model", str(model), "-o", str(tmp_path / "out.jsonl"))
    assert (result.returncode, result.stderr.splitlines()) == (2, expected), result.stderr
