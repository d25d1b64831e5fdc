"""Quote answers: the model quotes the report, the code normalises (BRIEF section 3).

A *quote answer* has the record's keys and shape, but every quoted leaf is the exact text of the report that
states the value (``"budget_used_eur": "4.500 €"``, ``"delay_hours": "2 días"``, ``"status": "ámbar"``) or null.
The schema's own field types turn it into the record (``ReportSchema.validate``: ``Euros`` parses "4.500 €",
``Hours`` "2 días", ``Status`` "ámbar"), so users get the same keys and normalised values as before, and each
value can say where it came from: :func:`locate` finds every quote's character offsets in the source text.

Which leaves are quoted: every string or number leaf (``Status``, ``Euros``, ``Hours``, ``TicketId``, ``Text``, a
user's ``str`` or ``float`` field), unless its JSON Schema says ``"x-reportx-quote": false`` (a label the report
never writes, a free-text summary): those are answered as values. Booleans and integers-as-counts are whatever
the user's type says; only strings and numbers are quoted.

An enumerated leaf (a ``Status``: ``enum`` in its schema) is quoted in *any case*: "bloqueado" quotes a report's
"BLOQUEADO", since a label's case carries no meaning; its span holds the report's own characters. A field's
schema may ask for that explicitly (``"x-reportx-quote": "any-case"``) or refuse it (``true``: exact case).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from reportx.schema.conventions import NUMBER_RE, parse_number
from reportx.schema.foreign import blank, foreign_spans, record_keys
from reportx.schema.loader import RecordInvalid, ReportSchema, one_line
from reportx.schema.nodes import deref_node, enum_values, node_types

#: The JSON Schema keyword that marks a quoted leaf in an answer schema (and opts a record field out with false).
QUOTE_KEYWORD = "x-reportx-quote"
#: The keyword's value for a quote whose letters may differ from the report's in case (labels).
ANY_CASE = "any-case"
#: What a quote answer's leaves may be.
_QUOTED_TYPES = {"string", "number"}


@dataclass(frozen=True)
class Span:
    """Where a value came from: ``text[start:end] == quote`` in the source the reader produced."""

    start: int
    end: int
    quote: str

    def as_json(self) -> list[Any]:
        return [self.start, self.end, self.quote]


def is_quoted(schema: ReportSchema, node: Any) -> bool:
    """Whether a record field's node is quoted in answers: a string or number leaf not opted out."""
    node = deref_node(schema, node)
    if node.get(QUOTE_KEYWORD) is False:
        return False
    types = node_types(schema, node) - {"null"}
    return bool(types) and types <= _QUOTED_TYPES | {"integer"} and "object" not in types


def is_any_case(schema: ReportSchema, node: Any) -> bool:
    """Whether a quoted leaf's quote may differ from the report in case: asked for with ``"any-case"``, or an
    enumerated leaf (``enum`` in it or in one of its ``anyOf`` / ``oneOf`` branches) not marked ``true``."""
    node = deref_node(schema, node)
    keyword = node.get(QUOTE_KEYWORD)
    if keyword == ANY_CASE:
        return True
    if keyword is True:
        return False
    return bool(enum_values(schema, node))


#: Longest label wording, in words, that :func:`label_choices` looks for ("de amarillo a verde").
MAX_LABEL_WORDS = 4
_EDGE_PUNCTUATION = ".,;:!?()[]{}<>\"'«»“”‘’¡¿-–—*_#/|"
_CHUNK = re.compile(r"\S+")


def label_choices(schema: ReportSchema) -> dict[str, Callable[[str], tuple[str, ...]]]:
    """For each top-level any-case quoted field (a label: the built-in ``status``), a function from a report's
    text to the quotes of it that the field's type reads as a value: every run of 1-4 words of the text (edge
    punctuation trimmed) that normalises to non-null ("Status: yellow", "semáforo rojo", "🔴"). Constrained decoding
    then lets the model choose only among them, instead of leaving it a quote that means nothing ("Todo esto").
    Without a Pydantic model, an ``enum`` value the text writes (in any case) is the choice."""
    out: dict[str, Callable[[str], tuple[str, ...]]] = {}
    for key, node in (schema.json_schema.get("properties") or {}).items():
        if is_quoted(schema, node) and is_any_case(schema, node):
            out[key] = _label_chooser(schema, key, node)
    return out


def _label_chooser(schema: ReportSchema, key: str, node: Any) -> Callable[[str], tuple[str, ...]]:
    reads = _field_reader(schema, key, node)

    def choose(text: str) -> tuple[str, ...]:
        seen: dict[str, bool] = {}
        for quote in _word_runs(text):
            if quote not in seen:
                seen[quote] = reads(quote)
        return tuple(q for q, ok in seen.items() if ok)

    return choose


def _field_reader(schema: ReportSchema, key: str, node: Any) -> Callable[[str], bool]:
    """Whether a quote reads as a non-null value of the field."""
    if schema.model is not None and key in schema.model.model_fields:
        adapter = TypeAdapter(schema.model.model_fields[key].rebuild_annotation())

        def reads(quote: str) -> bool:
            try:
                return adapter.validate_python(quote) is not None
            except (ValidationError, ValueError, TypeError):
                return False

        return reads
    values = {v for v in enum_values(schema, node) if isinstance(v, str)}
    return values.__contains__


def _word_runs(text: str) -> Iterator[str]:
    """Every run of 1 to MAX_LABEL_WORDS whitespace-separated chunks of ``text``, edge punctuation trimmed."""
    chunks = [m.span() for m in _CHUNK.finditer(text)]
    for i in range(len(chunks)):
        for j in range(i, min(i + MAX_LABEL_WORDS, len(chunks))):
            quote = text[chunks[i][0]:chunks[j][1]].strip(_EDGE_PUNCTUATION)
            if quote:
                yield quote


def answer_schema(schema: ReportSchema) -> dict[str, Any]:
    """The JSON Schema of a quote answer: the record's shape with each quoted leaf a string marked
    ``x-reportx-quote`` (nullable when the field is), for constrained decoding. Other leaves keep their schema."""
    return _answer_node(schema, schema.json_schema)


def _answer_node(schema: ReportSchema, node: Any) -> dict[str, Any]:
    node = deref_node(schema, node)
    types = node_types(schema, node)
    if "object" in types and "properties" in node:
        out = {k: v for k, v in node.items() if k not in ("properties", "$defs")}
        out["properties"] = {key: _answer_node(schema, child) for key, child in node["properties"].items()}
        return out
    if "array" in types and isinstance(node.get("items"), dict):
        out = {k: v for k, v in node.items() if k != "items"}
        out["items"] = _answer_node(schema, node["items"])
        return out
    if is_quoted(schema, node):
        quoted: dict[str, Any] = {"type": ["string", "null"] if "null" in types else "string",
                                  QUOTE_KEYWORD: ANY_CASE if is_any_case(schema, node) else True}
        for key in ("title", "description"):
            if key in node:
                quoted[key] = node[key]
        return quoted
    return node


def same_length_fold(text: str) -> str:
    """Lower case without accents, one character for one (so offsets into it are offsets into ``text``)."""
    out = []
    for char in same_length_lower(text):
        base = unicodedata.normalize("NFD", char)[:1]
        out.append(base if base and len(unicodedata.normalize("NFD", char)) > 1 else char)
    return "".join(out)


def same_length_lower(text: str) -> str:
    """Lower case, one character for one (a character whose lower case is longer, like "İ", is kept)."""
    return "".join(low if len(low := char.lower()) == 1 else char for char in text)


def find_quote(text: str, quote: str, start: int = 0, any_case: bool = False) -> Span | None:
    """The first exact occurrence of ``quote`` in ``text`` at or after ``start`` (else anywhere), or None;
    ``any_case``: letters may differ in case, and the span holds the text's own characters."""
    if not quote:
        return None
    haystack, needle = (same_length_lower(text), same_length_lower(quote)) if any_case else (text, quote)
    at = haystack.find(needle, start)
    if at < 0 and start:
        at = haystack.find(needle)
    return Span(at, at + len(quote), text[at:at + len(quote)]) if at >= 0 else None


def locate(text: str, answer: dict[str, Any], schema: ReportSchema) -> tuple[dict[str, Any], list[str]]:
    """The spans of a quote answer's quoted leaves in ``text`` (same shape as the answer: a ``[start, end,
    quote]`` triple or null per leaf; per list item a dict or a triple), and one note per quote that is not an
    exact substring of the text. Items of a list are searched left to right, each after the previous one's start.
    Text that is not the report's own statement (:mod:`reportx.schema.foreign`) is no source: a quote found only
    there gets a note, as constrained decoding could not have written it."""
    notes: list[str] = []
    spans = _locate_node(_own_text(text, schema), answer, schema, schema.json_schema, "", notes, [0])
    return spans if isinstance(spans, dict) else {}, notes


def _locate_node(text: str, value: Any, schema: ReportSchema, node: Any, path: str, notes: list[str],
                 cursor: list[int]) -> Any:
    node = deref_node(schema, node)
    if isinstance(value, dict) and "properties" in node:
        return {key: _locate_node(text, value.get(key), schema, child, f"{path}.{key}".lstrip("."), notes, cursor)
                for key, child in node["properties"].items() if key in value}
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        out = []
        item_cursor = [0]
        for i, item in enumerate(value):
            out.append(_locate_node(text, item, schema, node["items"], f"{path}[{i}]", notes, item_cursor))
        return out
    if not isinstance(value, str) or not is_quoted(schema, node):
        return None
    span = find_quote(text, value, cursor[0], is_any_case(schema, node))
    if span is None:
        notes.append(f"{path}: {value!r} is not a quote of the report")
        return None
    cursor[0] = span.start
    return span.as_json()


def drop_repeats(text: str, answer: dict[str, Any], schema: ReportSchema) -> tuple[dict[str, Any], list[str]]:
    """The answer without the list items that repeat an earlier item of their list more often than the report
    writes it, and one note per item dropped. Two equal items need two occurrences of each of their quotes: a
    model that writes the blocker "SR-3409, un día y medio" twice from a report that states it once is repeating
    itself (a small model's loop), not reading two blockers; items without quotes (all null) are never dropped.
    Occurrences are counted in any case, in the report's own text (:mod:`reportx.schema.foreign`)."""
    notes: list[str] = []
    own = same_length_lower(_own_text(text, schema))
    return _drop_repeats_node(own, answer, schema, schema.json_schema, "", notes), notes


def _drop_repeats_node(own: str, value: Any, schema: ReportSchema, node: Any, path: str, notes: list[str]) -> Any:
    node = deref_node(schema, node)
    if isinstance(value, dict) and "properties" in node:
        props = node["properties"]
        return {key: _drop_repeats_node(own, v, schema, props[key], f"{path}.{key}".lstrip("."), notes)
                if key in props else v for key, v in value.items()}
    if not (isinstance(value, list) and isinstance(node.get("items"), dict)):
        return value
    kept: list[Any] = []
    for i, item in enumerate(value):
        quotes = [q for q in (item.values() if isinstance(item, dict) else ()) if isinstance(q, str) and q]
        copies = sum(1 for earlier in kept if earlier == item)
        if copies and quotes and copies >= min(own.count(same_length_lower(q)) for q in quotes):
            notes.append(f"{path}[{i}]: repeats an earlier item more often than the report writes it: dropped")
            continue
        kept.append(_drop_repeats_node(own, item, schema, node["items"], f"{path}[{i}]", notes))
    return kept


def _own_text(text: str, schema: ReportSchema) -> str:
    """``text`` with what is not the report's own statement (:mod:`reportx.schema.foreign`) blanked by NUL, offsets
    kept: NUL never occurs in a quote (constrained decoding refuses control characters), so no quote matches there."""
    return blank(text, foreign_spans(text, record_keys(schema.json_schema)), "\0")


def quote_errors(text: str, answer: dict[str, Any], schema: ReportSchema) -> list[str]:
    """Why a quote answer is not grounded: one line per quoted string that is not a substring of ``text``."""
    return locate(text, answer, schema)[1]


def to_record(schema: ReportSchema, answer: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Normalise a quote answer into the record (``ReportSchema.validate``), and the notes on what was dropped.

    A quote that does not normalise ("a while" for a duration is null by the conventions, but "the client" for
    an amount is no amount at all) becomes null with a note, never an invented value and never a failed report,
    when its field may be null. A JSON Schema (no Pydantic types) gets its number leaves read by the plain
    number reader (the first number of the quote). Raises ``RecordInvalid`` when what is left is still invalid.
    """
    notes: list[str] = []
    data = _numbers_read(schema, schema.json_schema, json.loads(json.dumps(answer)), "", notes)
    for _ in range(32):  # one pass per bad leaf at most, bounded
        if schema.model is None:
            return schema.validate(data), notes
        try:
            return schema.model.model_validate(data).model_dump(mode="json"), notes
        except ValidationError as exc:
            if not _null_bad_leaves(schema, data, exc, notes):
                raise RecordInvalid(one_line(exc)) from None
    return schema.validate(data), notes


def _null_bad_leaves(schema: ReportSchema, data: dict[str, Any], exc: ValidationError, notes: list[str]) -> bool:
    """Set each quoted, nullable leaf that failed to null (with a note); False when none could be."""
    changed = False
    for error in exc.errors():
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-", "constrained-")))]
        holder, node = _leaf(schema, data, loc)
        if holder is None or node is None or not is_quoted(schema, node) or "null" not in node_types(schema, node):
            continue
        key = loc[-1]
        if holder[key] is None:
            continue
        notes.append(f"{_path(loc)}: {holder[key]!r} does not normalise ({error['msg']}): null")
        holder[key] = None
        changed = True
    return changed


def _leaf(schema: ReportSchema, data: Any, loc: list[Any]) -> tuple[Any, Any]:
    """The container holding the value at ``loc`` and the schema node of that value (None, None if not found)."""
    node: Any = schema.json_schema
    holder: Any = None
    value: Any = data
    for part in loc:
        node = deref_node(schema, node)
        if isinstance(part, int) and isinstance(value, list) and part < len(value):
            node = node.get("items", {})
        elif isinstance(part, str) and isinstance(value, dict) and part in value:
            node = node.get("properties", {}).get(part, {})
        else:
            return None, None
        holder, value = value, value[part]
    return holder, node


def _path(loc: list[Any]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _numbers_read(schema: ReportSchema, node: Any, value: Any, path: str, notes: list[str]) -> Any:
    """For a JSON Schema without Pydantic types: quoted number leaves read from their quote."""
    if schema.model is not None:
        return value
    node = deref_node(schema, node)
    if isinstance(value, dict):
        props = node.get("properties", {})
        return {k: _numbers_read(schema, props.get(k, {}), v, f"{path}.{k}".lstrip("."), notes) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_read(schema, node.get("items", {}), v, f"{path}[{i}]", notes) for i, v in enumerate(value)]
    types = node_types(schema, node)
    if isinstance(value, str) and types & {"number", "integer"} and "string" not in types and is_quoted(schema, node):
        match = NUMBER_RE.search(value)
        try:
            number = parse_number(match.group(0)) if match else None
        except ValueError:
            number = None
        if number is None and "null" not in types:
            return value  # left for validation to refuse, with the schema's own message
        if number is None:
            notes.append(f"{path}: {value!r} holds no number: null")
        elif "integer" in types and "number" not in types and float(number).is_integer():
            return int(number)
        return number
    return value


def iter_spans(spans: Any, path: str = "") -> Iterator[tuple[str, int, int, str]]:
    """Every located quote of a spans tree (as :func:`locate` builds it): ``(path, start, end, quote)`` with paths
    like ``budget_used_eur`` and ``blockers_today[0].delay_hours``."""
    if isinstance(spans, list) and len(spans) == 3 and isinstance(spans[0], int) and isinstance(spans[2], str):
        yield path, spans[0], spans[1], spans[2]
    elif isinstance(spans, dict):
        for key, value in spans.items():
            yield from iter_spans(value, f"{path}.{key}".lstrip("."))
    elif isinstance(spans, list):
        for i, value in enumerate(spans):
            yield from iter_spans(value, f"{path}[{i}]")
