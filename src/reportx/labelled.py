"""Reading labelled data: JSONL lines that pair a report's text with its gold record.

Training and evaluation both read it, from the synthesizer or from a user's own labelling. Accepted line forms:

- ``{"input": TEXT, "output": RECORD}`` — the instruction/input/output form that ``reportx synth`` writes;
- ``{"text": TEXT, "record" | "gold" | "output": RECORD}`` — the plainest form for one's own data;
- ``{"messages": [..., {"role": "user", ...}, {"role": "assistant", "content": RECORD}]}`` — chat form; the text is
  the user message after its ``Report:`` line when it has one.

RECORD is a JSON object or a string holding one. Every gold record is validated (and normalised) by the schema;
a line that is not usable stops the read with its line number, since training on broken gold is never wanted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportx.errors import ReportxError
from reportx.schema import RecordInvalid, ReportSchema


def iter_json_objects(path: Path, what: str = "file") -> Iterator[tuple[str, dict[str, Any]]]:
    """``("path:line", object)`` for each non-blank line of a JSONL file; a line that is not a JSON object stops
    the read with its line number."""
    path = Path(path)
    if not path.is_file():
        raise ReportxError(f"{what} not found: {path}")
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReportxError(f"{where}: not JSON: {exc.msg}") from None
            if not isinstance(item, dict):
                raise ReportxError(f"{where}: expected a JSON object per line")
            yield where, item


@dataclass(frozen=True)
class LabelledReport:
    """One report text with its validated gold record."""

    id: str
    text: str
    gold: dict[str, Any]
    quotes: dict[str, Any] | None = None  # the gold's quote form (``quotes`` of a synth line), when the line has one


def report_text(item: dict[str, Any]) -> Any:
    """The report text of a JSONL object in any of the forms above (``input``, ``text`` or the user message of
    ``messages``): what train, score, eval and extract read when no field is named. None when there is none."""
    return _text_and_record(item)[0]


def _text_and_record(item: dict[str, Any]) -> tuple[Any, Any]:
    if "messages" in item:
        messages = item["messages"]
        user = [m.get("content", "") for m in messages if m.get("role") == "user"]
        answer = [m.get("content") for m in messages if m.get("role") == "assistant"]
        if not user or not answer:
            return None, None
        text = user[-1]
        marker = "Report:\n"
        return (text.split(marker, 1)[1] if marker in text else text), answer[-1]
    text = item.get("input", item.get("text"))
    for key in ("output", "record", "gold"):
        if key in item:
            return text, item[key]
    return text, None


def _quotes(value: Any, where: str) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ReportxError(f"{where}: 'quotes' is not JSON") from None
    if value is not None and not isinstance(value, dict):
        raise ReportxError(f"{where}: 'quotes' must be a JSON object")
    return value


def read_labelled(path: Path, schema: ReportSchema, limit: int | None = None) -> list[LabelledReport]:
    """Read up to ``limit`` labelled reports from a JSONL file, gold validated against ``schema``."""
    path = Path(path)
    reports: list[LabelledReport] = []
    for where, item in iter_json_objects(path, "labelled data"):
        if limit is not None and len(reports) >= limit:
            break
        text, record = _text_and_record(item)
        if not isinstance(text, str) or not text.strip():
            raise ReportxError(f"{where}: no report text (expected 'input', 'text' or 'messages')")
        if record is None:
            raise ReportxError(f"{where}: no gold record (expected 'output', 'record', 'gold' or 'messages')")
        try:
            gold = schema.validate(record)
        except RecordInvalid as exc:
            raise ReportxError(f"{where}: gold record invalid: {exc}") from None
        line = where.rsplit(":", 1)[1]
        reports.append(LabelledReport(id=str(item.get("id", f"{path.stem}-{line}")), text=text, gold=gold,
                                      quotes=_quotes(item.get("quotes"), where)))
    if not reports:
        raise ReportxError(f"{path} holds no labelled reports")
    return reports
