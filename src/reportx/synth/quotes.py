"""The quote form of a synthetic gold record: for each field, the text of the report that states it.

The synthesizer knows every surface it may write for a value (``surface.money_forms``, ``duration_forms``,
the status wordings, the names and phrases of the record), so it finds each one in the rendered text instead
of guessing: the first occurrence, case- and accent-insensitively (the run-on style drops accents, the caps
style shouts), and the quote is the text's own characters at those offsets. A quote is kept only when the
schema's normaliser turns it back into the gold value (text fields: within the metric's similarity); a record
with a field that cannot be quoted gets no quote form, and the dataset counts it.
"""

from __future__ import annotations

from typing import Any

from reportx.eval.metrics import TEXT_THRESHOLD, indel_similarity
from reportx.schema.conventions import STATUS_WORDS
from reportx.schema.loader import ReportSchema
from reportx.schema.quotes import Span, same_length_fold
from reportx.synth import surface
from reportx.synth.records import Phrase, Record

_TEXT_FIELDS = ("key_milestone_completed", "next_step")


class Unquotable(ValueError):
    """A gold value whose surface the text does not hold (a template bug or a rewritten value)."""


def _occurrences(folded: str, forms: list[str], number: bool = False) -> list[tuple[int, int]]:
    """Every (start, end) where one of the forms occurs as whole words, the longest form at each start. A number
    is not part of a longer one: "4.500" is not read in "14.500" nor in "4.500,50"."""
    found: dict[int, int] = {}
    for form in {same_length_fold(f) for f in forms if f}:
        at = folded.find(form)
        while at >= 0:
            end = at + len(form)
            if _whole(folded, at, end, form, number):
                found[at] = max(found.get(at, 0), end)
            at = folded.find(form, at + 1)
    return sorted(found.items())


def _whole(text: str, start: int, end: int, form: str, number: bool) -> bool:
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    if form[:1].isalnum() and (before.isalnum() or before == "_" or (number and before in ".,")):
        return False
    if after.isalnum() or after == "_":
        return not form[-1:].isalnum() and not number  # "€" then a word is fine; "4500" then "0" is not
    return not (number and after in ".," and text[end + 1:end + 2].isdigit())


def _find(folded: str, forms: list[str], start: int = 0, number: bool = False) -> tuple[int, int] | None:
    """The earliest (then longest) occurrence of any form at or after ``start``, as (start, end)."""
    return next((o for o in _occurrences(folded, forms, number) if o[0] >= start), None)


def _nearest(folded: str, forms: list[str], start: int, anchor: int | None) -> tuple[int, int] | None:
    """A blocker's duration: the occurrence nearest its ticket (``anchor``), else the first at or after ``start``
    (the previous blocker), else the first anywhere."""
    found = _occurrences(folded, forms, number=True)
    after = [o for o in found if o[0] >= start]
    if anchor is not None and after:
        return min(after, key=lambda o: abs(o[0] - anchor))
    candidates = after or found
    return candidates[0] if candidates else None


def _money_candidates(amount: float, lang: str) -> list[str]:
    forms = surface.money_forms(amount, lang) + surface.money_forms(amount, "en" if lang == "es" else "es")
    for kind, mults in (("plain", ("",)), ("k", ("k", " mil")), ("M", (" M", "M", " millones", " million"))):
        for style in ("es", "en"):
            for group in (False, True):
                core = surface.money_core(amount, kind, style, group)
                if core is not None:
                    forms += [core + mult for mult in mults]
    return forms


def _duration_candidates(hours: float, lang: str) -> list[str]:
    forms: list[str] = []
    for language in (lang, "en" if lang == "es" else "es"):
        try:
            forms += surface.duration_forms(hours, language, rich=True)
        except ValueError:
            pass
    return forms


def _phrase_candidates(gold: str | None, phrase: Phrase | None) -> list[str]:
    found = [gold] if gold else []
    if phrase is not None:
        found += [phrase.bare, phrase.text]
    return found


def _span(text: str, where: tuple[int, int] | None, what: str) -> Span:
    if where is None:
        raise Unquotable(f"{what}: no surface found")
    return Span(where[0], where[1], text[where[0]:where[1]])


def quote_form(text: str, gold: dict[str, Any], rec: Record, schema: ReportSchema) -> tuple[dict, dict]:
    """(quote answer, spans) for a synthetic report; :class:`Unquotable` when a field's surface is not found or
    does not normalise back to the gold value."""
    folded = same_length_fold(text)
    lang = rec.lang
    spans: dict[str, Any] = dict.fromkeys(gold)
    spans["blockers_today"] = []
    spans["project_name"] = _span(text, _find(folded, [gold["project_name"]]), "project_name")
    if gold["client"]:
        spans["client"] = _span(text, _find(folded, [gold["client"]]), "client")
    if gold["status"]:
        spans["status"] = _span(text, _find(folded, list(STATUS_WORDS[gold["status"]])), "status")
    if gold["budget_used_eur"] is not None:
        forms = _money_candidates(gold["budget_used_eur"], lang)
        spans["budget_used_eur"] = _span(text, _find(folded, forms, number=True), "budget_used_eur")
    phrases = {"key_milestone_completed": rec.milestone, "next_step": rec.next_step}
    for key in _TEXT_FIELDS:
        if gold[key]:  # the phrase as the gold writes it, else without its article, else as the text reads
            found = (_find(folded, [form]) for form in _phrase_candidates(gold[key], phrases[key]))
            spans[key] = _span(text, next((f for f in found if f), None), key)
    cursor = 0  # blockers are written in the gold's order: each one is searched after the previous one
    for i, blocker in enumerate(gold["blockers_today"]):
        item: dict[str, Span | None] = {"ticket_id": None, "delay_hours": None}
        ticket = None
        if blocker["ticket_id"]:
            ticket = _span(text, _find(folded, [blocker["ticket_id"]], cursor) or _find(folded, [blocker["ticket_id"]]),
                           f"blockers_today[{i}].ticket_id")
            item["ticket_id"] = ticket
        if blocker["delay_hours"] is not None:
            forms = _duration_candidates(blocker["delay_hours"], lang)
            where = _nearest(folded, forms, cursor, ticket.start if ticket else None)
            item["delay_hours"] = _span(text, where, f"blockers_today[{i}].delay_hours")
        cursor = max([cursor] + [s.start for s in item.values() if s is not None])
        spans["blockers_today"].append(item)
    answer = _quotes_of(spans)
    _check(answer, gold, schema)
    return answer, _as_json(spans)


def _quotes_of(spans: Any) -> Any:
    if isinstance(spans, Span):
        return spans.quote
    if isinstance(spans, dict):
        return {k: _quotes_of(v) for k, v in spans.items()}
    if isinstance(spans, list):
        return [_quotes_of(v) for v in spans]
    return spans


def _as_json(spans: Any) -> Any:
    if isinstance(spans, Span):
        return spans.as_json()
    if isinstance(spans, dict):
        return {k: _as_json(v) for k, v in spans.items()}
    if isinstance(spans, list):
        return [_as_json(v) for v in spans]
    return spans


def _check(answer: dict, gold: dict, schema: ReportSchema) -> None:
    """The quote answer normalises to the gold record (text fields: similar enough for the metric)."""
    try:
        record = schema.validate(answer)
    except Exception as exc:  # a quote the normalisers refuse
        raise Unquotable(f"quotes do not validate: {exc}") from None
    for key, want in gold.items():
        got = record[key]
        if key in _TEXT_FIELDS and want is not None and got is not None:
            if indel_similarity(want, got) < TEXT_THRESHOLD:
                raise Unquotable(f"{key}: {got!r} is too far from {want!r}")
        elif got != want:
            raise Unquotable(f"{key}: {got!r} != {want!r}")
