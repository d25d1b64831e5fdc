"""One interface over the three kinds of schema reportx accepts: the built-in model, a user's Pydantic model
(``module:Class`` or ``path/to/file.py:Class``) and a JSON Schema file."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from reportx.errors import ReportxError
from reportx.schema.report import ProjectReport

BUILTIN_NAMES = ("builtin", "reportx", "ProjectReport")


class RecordInvalid(ValueError):
    """A record (usually a model's answer) that does not satisfy the schema; the message says why, in one line."""


@dataclass(frozen=True)
class ReportSchema:
    """A schema that validates and normalises records.

    ``model`` is set for Pydantic schemas (validation applies the model's normalisers); ``json_schema`` is
    always set, with properties in the record's key order.
    """

    name: str
    json_schema: dict[str, Any]
    model: type[BaseModel] | None = None
    _validator: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_model(cls, model: type[BaseModel]) -> ReportSchema:
        return cls(name=model.__name__, json_schema=model.model_json_schema(), model=model)

    @classmethod
    def from_json_schema(cls, schema: dict[str, Any], name: str | None = None) -> ReportSchema:
        validator_cls = jsonschema.validators.validator_for(schema)
        try:
            validator_cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ReportxError(f"not a valid JSON Schema: {exc.message}") from None
        except RecursionError:  # jsonschema recurses per subschema level
            raise ReportxError("not a valid JSON Schema: nested too deeply") from None
        if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
            raise ReportxError('a report schema must be an object schema with "properties"')
        check_refs(schema)
        return cls(name=name or schema.get("title", "UserSchema"), json_schema=schema, _validator=validator_cls(schema))

    @property
    def keys(self) -> list[str]:
        """The record's keys, in order."""
        return list(self.json_schema.get("properties", {}))

    def validate(self, data: Any) -> dict[str, Any]:
        """Validate a record (a dict or a JSON string) and return it normalised, keys in schema order.

        Raises ``RecordInvalid`` with a one-line reason.
        """
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise RecordInvalid(f"not JSON: {exc.msg} at position {exc.pos}") from None
            except UnicodeDecodeError:  # bytes that are not UTF-8 (json.loads decodes bytes before parsing)
                raise RecordInvalid("not JSON: not UTF-8 text") from None
            except RecursionError:  # json's C decoder recurses per nesting level
                raise RecordInvalid("not JSON: nested too deeply") from None
        if not isinstance(data, dict):
            raise RecordInvalid(f"expected a JSON object, got {type(data).__name__}")
        if self.model is not None:
            try:
                return self.model.model_validate(data).model_dump(mode="json")
            except ValidationError as exc:
                raise RecordInvalid(one_line(exc)) from None
        errors = sorted(self._validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = "/".join(_path_part(p) for p in first.absolute_path) or "record"
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise RecordInvalid(f"{where}: {first.message}{more}")
        return {k: data[k] for k in self.keys if k in data} | {k: v for k, v in data.items() if k not in self.keys}

    def dumps(self, record: dict[str, Any]) -> str:
        """The record as one line of compact JSON, keys in schema order, non-ASCII kept: the form gold answers take.

        Compact separators save about 15% of the answer's tokens on the default model, and the answer's tokens
        are most of an extraction's time.
        """
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def check_refs(schema: dict[str, Any]) -> None:
    """Resolve every ``$ref`` of a JSON Schema; raise ``ReportxError`` naming the first one that resolves to nothing.

    ``check_schema`` only checks that a ``$ref`` is a string: a dangling one would otherwise surface when the
    constrained decoder or an output sink follows it, after the model has loaded. ``referencing`` (what jsonschema
    itself resolves with) walks the subschemas, so a property *named* "$ref" or a "$ref" key inside ``const`` /
    ``enum`` / ``examples`` data is not taken for a reference, and ``$id`` scoping is honoured. Nothing is fetched:
    a reference outside the schema (another file, a URL) resolves only to the JSON Schema metaschemas.
    """
    from jsonschema_specifications import REGISTRY as METASCHEMAS
    from referencing import Resource
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    # DRAFT202012 without "$schema": the dialect jsonschema.validators.validator_for picks by default
    root = Resource.from_contents(schema, default_specification=DRAFT202012)
    registry = METASCHEMAS.with_resource(root.id() or "", root)
    pending = [(root, registry.resolver(base_uri=root.id() or ""))]
    while pending:  # a stack, not recursion: a deeply nested schema must not hit the recursion limit
        resource, resolver = pending.pop()
        contents = resource.contents
        ref = contents.get("$ref") if isinstance(contents, dict) else None
        if isinstance(ref, str):
            try:
                resolver.lookup(ref)
            except Unresolvable as exc:
                raise ReportxError(f"the schema's $ref {ref!r} does not resolve: {_unresolvable_reason(exc)}") from None
        for sub in resource.subresources():
            pending.append((sub, resolver.in_subresource(sub)))


def _unresolvable_reason(exc: Exception) -> str:
    """Why a reference did not resolve, short: ``referencing``'s own messages quote the whole schema."""
    from referencing.exceptions import NoSuchAnchor, PointerToNowhere

    if isinstance(exc, PointerToNowhere):
        return f"the schema has nothing at {exc.ref!r}"
    if isinstance(exc, NoSuchAnchor):
        return f"the schema has no anchor {exc.anchor!r}"
    # a plain Unresolvable: the document itself is unknown (no registry entry, and nothing is retrieved)
    return "it points outside the schema (another file or URL), which reportx does not fetch"


def _path_part(part: Any) -> str:
    """A key or index of a record path as written in a message: a key with a line break or another unprintable
    character (a record's keys are any JSON strings) in its escaped ``repr``, so that the reason stays one line."""
    if isinstance(part, str) and not part.isprintable():
        return repr(part)
    return str(part)


def one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(_path_part(p) for p in err["loc"]) or "record"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def builtin_schema() -> ReportSchema:
    """The built-in ``ProjectReport`` schema."""
    return ReportSchema.from_model(ProjectReport)


def load_schema(spec: str | Path | None = None) -> ReportSchema:
    """Load a schema from ``None``/"builtin", ``module:Class``, ``file.py:Class`` or a JSON Schema file.

    Raises ``ReportxError`` with a one-line reason when the spec cannot be loaded.
    """
    if spec is None or str(spec) in BUILTIN_NAMES:
        return builtin_schema()
    text = str(spec)
    path = Path(text)
    if path.suffix.lower() == ".json" or path.is_file():
        return _load_json_schema(path)
    if ":" in text:
        return ReportSchema.from_model(_load_model_class(text))
    raise ReportxError(f"schema {text!r}: expected a JSON Schema file or module:Class")


def _load_json_schema(path: Path) -> ReportSchema:
    if not path.is_file():
        raise ReportxError(f"schema file not found: {path}")
    try:
        schema = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportxError(f"schema file {path} is not JSON: {exc}") from None
    except RecursionError:  # json's C decoder recurses per nesting level
        raise ReportxError(f"schema file {path} is not JSON: nested too deeply") from None
    if not isinstance(schema, dict):
        raise ReportxError(f"schema file {path} must hold a JSON object")
    return ReportSchema.from_json_schema(schema, name=schema.get("title") or path.stem)


def _load_model_class(spec: str) -> type[BaseModel]:
    module_part, _, class_name = spec.rpartition(":")
    if not module_part or not class_name:
        raise ReportxError(f"schema {spec!r}: expected module:Class")
    try:
        if module_part.endswith(".py"):
            file = Path(module_part)
            if not file.is_file():
                raise ReportxError(f"schema module file not found: {file}")
            mod_spec = importlib.util.spec_from_file_location(f"reportx_user_schema_{file.stem}", file)
            if mod_spec is None or mod_spec.loader is None:
                raise ReportxError(f"cannot import {module_part!r}: Python has no loader for {file}")
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[mod_spec.name] = module
            mod_spec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))  # a user's module beside their data, as Python itself would
            module = importlib.import_module(module_part)
    except ReportxError:
        raise
    except Exception as exc:  # an import error of any kind is the user's to fix, in one line
        raise ReportxError(f"cannot import {module_part!r}: {type(exc).__name__}: {exc}") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ReportxError(f"{module_part!r} has no {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise ReportxError(f"{spec!r} is not a Pydantic model class")
    return cls
