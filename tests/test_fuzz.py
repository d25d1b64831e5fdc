"""Property-based fuzzing of what reads untrusted text, no model needed: the input reader, the value conventions,
schema validation and the output sinks. Each takes arbitrary input and either gives its result or raises only its
documented exception (``NotText``, ``ValueError``, ``RecordInvalid``, ``ReportxError``), never another.

Deterministic (``derandomize=True``, no example database): the same commit and pytest command test the same
examples. Hypothesis also draws literal constants from the project modules that are loaded, so another test
selection or a source edit can change the examples; the failures found so far are pinned with ``@example``. Sized
for CI: nine fuzzers of 100 examples and three sinks of 40, 1020 examples (plus the pinned ones), about 15 s.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reportx.errors import ReportxError
from reportx.extract.extractor import ExtractionResult
from reportx.extract.inputs import InputItem, NotText, decode_bytes, item_from_bytes, read_jsonl
from reportx.extract.outputs import CsvSink, JsonlSink, SqliteSink
from reportx.schema import RecordInvalid, ReportSchema, builtin_schema
from reportx.schema.conventions import (
    TICKET_ID_PATTERN,
    parse_hours,
    parse_money,
    parse_number,
    parse_project_name,
    parse_status,
    parse_text,
    parse_ticket_id,
)

FUZZ = settings(max_examples=100, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SLOW = settings(FUZZ, max_examples=40)  # the sinks fsync every record

SCHEMA = builtin_schema()
SHA = re.compile(r"^[0-9a-f]{64}$")

# Text as reports, model answers and file names bring it: any code point, lone surrogates included (a file
# name's undecodable bytes under surrogateescape, a model's "\ud800" JSON escape), and the characters that
# break naive writers: quotes, separators, line breaks of every kind, NUL and other controls.
SPECIALS = ['"', "'", ",", ";", "\n", "\r", "\r\n", "\x00", "\x1b", "\x85", "\u2028", "\ufeff", "\\", "\ud800",
            "\udcff", "€", "á", "JIRA-12", "4.500 €", "2 horas", "Verde"]
any_text = st.lists(st.text(alphabet=st.characters(exclude_categories=()), max_size=8) | st.sampled_from(SPECIALS),
                    max_size=6).map("".join)
utf8_text = st.lists(st.text(max_size=8) | st.sampled_from([s for s in SPECIALS if s not in ("\ud800", "\udcff")]),
                     max_size=6).map("".join)


# Inputs ---------------------------------------------------------------------------------------------------

BOMS = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"]
ENCODINGS = ["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "cp1252", "latin-1", "cp1251"]
report_bytes = st.one_of(
    st.binary(max_size=300),
    st.tuples(st.sampled_from(BOMS), st.binary(max_size=200)).map(b"".join),
    st.tuples(st.sampled_from(BOMS), utf8_text, st.sampled_from(ENCODINGS)).map(
        lambda t: t[0] + t[1].encode(t[2], errors="ignore")),
)


def check_item(item: InputItem) -> None:
    assert isinstance(item, InputItem)
    assert (item.text is None) != (item.error is None), item
    if item.text is not None:
        assert "\r" not in item.text
        item.text.encode("utf-8")  # a report's text is valid Unicode (it is hashed and written as UTF-8)
    assert SHA.match(item.sha256) or (item.error and item.sha256 == ""), item


@FUZZ
@given(report_bytes)
def test_decode_bytes_gives_text_or_not_text(data):
    try:
        text, encoding = decode_bytes(data)
    except NotText as exc:
        assert str(exc)
        return
    assert isinstance(text, str) and encoding
    assert "\r" not in text
    text.encode("utf-8")


@FUZZ
@given(report_bytes)
def test_item_from_bytes_always_gives_an_item(data):
    check_item(item_from_bytes(data, "fuzz.txt"))


json_line = st.one_of(
    st.dictionaries(st.sampled_from(["text", "input", "id"]), any_text | st.integers() | st.none(), max_size=3).map(json.dumps),
    any_text.map(lambda t: json.dumps(t)),  # JSON, but not an object
    utf8_text,  # not JSON
    st.integers(900, 3000).map(lambda n: '{"text": ' + "[" * n),  # nesting past the recursion limit
)
jsonl_bytes = st.one_of(
    st.lists(json_line, max_size=5).map(lambda lines: "\n".join(lines).encode("utf-8")),
    report_bytes,
)


@FUZZ
@given(jsonl_bytes)
@example(b'{"text": ' + b"[" * 3000)  # nesting past the recursion limit: found by this fuzzer
@example(b'{"text": "\\ud800"}\n{"text": "ok"}')  # a lone surrogate escape
def test_read_jsonl_gives_one_item_per_line_never_an_exception(data):
    items = list(read_jsonl(data, "fuzz.jsonl", "text"))
    for item in items:
        check_item(item)


# Value conventions --------------------------------------------------------------------------------------------

convention_text = st.one_of(
    any_text,
    st.from_regex(r"[0-9][0-9., ]{0,12}\s?(k|mil|M|m|millones)?\s?(€|eur|EUR)?", fullmatch=True),
    st.from_regex(r"(un|una|dos|media|medio|half an?|[0-9]{1,3}([.,][0-9])?)\s(horas?|d[ií]as?|days?|hours?|min|h)"
                  r"(\sy\smedi[ao]|\sand\sa\shalf)?", fullmatch=True),
    st.from_regex(r"[0-9]{1,3}\s?h\s?[0-9]{1,2}", fullmatch=True),
    st.integers(10, 6000).map(lambda n: "9" * n),  # more digits than a float holds, or int() converts
)
convention_value = convention_text | st.none() | st.booleans() | st.integers() | st.floats() | st.lists(st.integers(), max_size=2)
# numbers at the edges, as a model's JSON can write them (json.loads reads Infinity and NaN) or spell them in text
edge_number = st.sampled_from([math.inf, -math.inf, math.nan, -0.0, 0, -1, 1e308, "9" * 400, "1" + "0" * 310 + " €"])
amount_value = edge_number | convention_value


@FUZZ
@given(amount_value)
def test_parse_money_and_hours_give_a_non_negative_number_or_value_error(value):
    for parse in (parse_money, parse_hours):
        try:
            result = parse(value)
        except ValueError:
            continue
        # never negative; NaN and infinity pass through, and the schema's finite check refuses them (below)
        assert result is None or (isinstance(result, float) and not result < 0), (parse.__name__, value, result)


@FUZZ
@given(convention_value)
def test_status_ticket_and_text_parsers_give_a_value_or_value_error(value):
    # A ticket id parsed from text is one TICKET_ID_PATTERN accepts; an integer is taken as written (-1 gives "-1",
    # which the schema's pattern then refuses).
    ticket = (lambda r: bool(re.fullmatch(TICKET_ID_PATTERN, r))) if isinstance(value, str) else (lambda r: isinstance(r, str))
    for parse, check in (
        (parse_status, lambda r: r in ("Verde", "Amarillo", "Rojo")),
        (parse_ticket_id, ticket),
        (parse_text, lambda r: isinstance(r, str) and r == r.strip() and r),
        (parse_project_name, lambda r: isinstance(r, str) and r),
    ):
        try:
            result = parse(value)
        except ValueError:
            continue
        assert result is None or check(result), (parse.__name__, value, result)


@FUZZ
@given(convention_text)
def test_parse_number_gives_a_non_negative_float_or_value_error(token):
    try:
        assert parse_number(token) >= 0
    except ValueError:
        pass


# Schema validation ----------------------------------------------------------------------------------------------

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=12,
)
# plausible values per field (what a model might write), and anything JSON for type confusion
field_values = {
    "project_name": any_text,
    "status": st.sampled_from(["verde", "at risk", "Rojo", "OK", "bloqueado", "", None]) | any_text,
    "client": st.none() | any_text,
    "budget_used_eur": amount_value,
    "key_milestone_completed": st.none() | any_text,
    "blockers_today": st.lists(st.fixed_dictionaries({}, optional={"ticket_id": convention_value,
                                                                    "delay_hours": amount_value}), max_size=3),
    "next_step": st.none() | any_text,
}
VALID = {"project_name": "Alpha", "status": "Verde", "client": None, "budget_used_eur": 4500,
         "key_milestone_completed": None, "blockers_today": [], "next_step": None}
record_like = st.one_of(
    # a valid record with one field changed: validation gets past the other fields and checks that one's result
    st.sampled_from(sorted(field_values)).flatmap(lambda key: field_values[key].map(lambda v: {**VALID, key: v})),
    st.fixed_dictionaries({}, optional={key: values | json_like for key, values in field_values.items()}),
    st.dictionaries(any_text, json_like, max_size=4),
    json_like,
)


def check_record(schema: ReportSchema, record: dict) -> None:
    assert isinstance(record, dict)
    assert [k for k in record if k in schema.keys] == [k for k in schema.keys if k in record]  # schema order
    json.dumps(record, allow_nan=False)  # finite numbers: the record is valid JSON


@FUZZ
@given(record_like)
@example({**VALID, "budget_used_eur": "9" * 400})  # parses to inf: found by this fuzzer, refused since
@example({**VALID, "budget_used_eur": math.inf})  # json.loads reads a model's Infinity
@example({**VALID, "blockers_today": [{"ticket_id": "7", "delay_hours": "9" * 400 + " horas"}]})
@example({"\n": None})  # a key with a line break, in a one-line reason
def test_builtin_schema_validate_gives_a_record_or_record_invalid(data):
    try:
        record = SCHEMA.validate(data)
    except RecordInvalid as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    check_record(SCHEMA, record)
    assert record["budget_used_eur"] is None or record["budget_used_eur"] >= 0
    for blocker in record["blockers_today"]:
        assert blocker["ticket_id"] is None or re.fullmatch(TICKET_ID_PATTERN, blocker["ticket_id"])
        assert blocker["delay_hours"] is None or blocker["delay_hours"] >= 0


@FUZZ
@given(any_text | st.binary(max_size=200) | st.integers(900, 3000).map(lambda n: "[" * n + "]" * n))
@example(b"\x80")  # bytes that are not UTF-8
@example("[" * 3000 + "]" * 3000)  # nesting past the recursion limit
def test_validate_on_raw_text_gives_a_record_or_record_invalid(data):
    try:
        check_record(SCHEMA, SCHEMA.validate(data))
    except RecordInvalid:
        pass


USER_SCHEMA = ReportSchema.from_json_schema({
    "type": "object",
    "$defs": {"Amount": {"type": ["number", "null"], "minimum": 0}},
    "properties": {"site": {"type": "string", "minLength": 1}, "spent": {"$ref": "#/$defs/Amount"},
                   "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["site"],
    "additionalProperties": False,
})


@FUZZ
@given(st.fixed_dictionaries({}, optional={"site": json_like, "spent": json_like, "tags": json_like}) | json_like)
def test_json_schema_validate_gives_a_record_or_record_invalid(data):
    try:
        record = USER_SCHEMA.validate(data)
    except RecordInvalid:
        return
    assert isinstance(record, dict) and "site" in record


# Sinks -------------------------------------------------------------------------------------------------------------

maybe_text = st.none() | any_text
amount = st.none() | st.integers(0, 10**12) | st.floats(0, 1e12)
records = st.fixed_dictionaries({
    "project_name": any_text,
    "status": st.sampled_from([None, "Verde", "Amarillo", "Rojo"]),
    "client": maybe_text,
    "budget_used_eur": amount,
    "key_milestone_completed": maybe_text,
    "blockers_today": st.lists(st.fixed_dictionaries({"ticket_id": maybe_text, "delay_hours": amount}), max_size=3),
    "next_step": maybe_text,
})
results = st.builds(
    ExtractionResult,
    source=any_text,
    sha256=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    record=records,
    model=maybe_text,
    adapter=maybe_text,
    mode=st.sampled_from([None, "fewshot", "finetuned"]),
    constrained=st.booleans(),
    attempts=st.integers(0, 3),
    prompt_tokens=st.integers(0, 10**6),
    completion_tokens=st.integers(0, 10**4),
    seconds=st.floats(0, 1e5),
)
# a batch never writes one (source, sha256) twice: it skips what the output holds
batches = st.lists(results, min_size=1, max_size=4, unique_by=lambda r: (r.source, r.sha256))


# lone surrogates everywhere (found by these fuzzers: every sink raised UnicodeEncodeError), quotes, line breaks
SURROGATES = [ExtractionResult(
    source="r\udcff.txt", sha256="0" * 64, adapter="\ud800", mode="fewshot",
    record={**VALID, "project_name": '\ud800 "x",\n=1', "blockers_today": [{"ticket_id": "\udcff", "delay_hours": 2}]},
), ExtractionResult(source="pair", sha256="1" * 64, record={**VALID, "project_name": "\ud800\udc00"})]


def as_json_reads(text: str | None) -> str | None:
    """``text`` as JSON reads it back once the sink has written its lone surrogates as escapes: a high and a low
    one in a row (two code points in a Python str, never valid Unicode) are one escaped pair, so one character."""
    return None if text is None else text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def write_all(sink_factory, batch) -> bool:
    """Write ``batch`` into a new sink; False when the sink refused a record with ``ReportxError`` (allowed)."""
    try:
        with sink_factory() as sink:
            for result in batch:
                sink.write(result)
    except ReportxError:
        return False
    return True


@SLOW
@given(batches)
@example(SURROGATES)
def test_jsonl_sink_writes_lines_that_parse_back(batch):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.jsonl"
        if not write_all(lambda: JsonlSink(path), batch):
            return
        lines = path.read_bytes().decode("utf-8").split("\n")  # strict UTF-8; "\n" only (not str.splitlines)
        assert lines[-1] == "" and len(lines) - 1 == len(batch)
        for line, result in zip(lines, batch):
            obj = json.loads(line)
            assert obj["_meta"]["source"] == as_json_reads(result.source)
            assert obj["project_name"] == as_json_reads(result.record["project_name"])
        with JsonlSink(path) as again:  # a re-run skips them all
            assert again.keys == {(as_json_reads(r.source), r.sha256) for r in batch}


@SLOW
@given(batches)
@example(SURROGATES)
def test_csv_sink_writes_one_row_per_record(batch):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.csv"
        if not write_all(lambda: CsvSink(path, SCHEMA), batch):
            return
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert len(rows) == 1 + len(batch) and all(len(row) == len(rows[0]) for row in rows)
        CsvSink(path, SCHEMA).close()  # reopening (resume) reads it back


@SLOW
@given(batches)
@example(SURROGATES)
def test_sqlite_sink_writes_one_row_per_record(batch):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.db"
        if not write_all(lambda: SqliteSink(path, SCHEMA), batch):
            return
        conn = sqlite3.connect(str(path))
        try:
            assert conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == len(batch)
            blockers = sum(len(r.record["blockers_today"]) for r in batch)
            assert conn.execute("SELECT COUNT(*) FROM blockers").fetchone()[0] == blockers
            for (text,) in conn.execute("SELECT record_json FROM reports"):
                json.loads(text)
        finally:
            conn.close()

