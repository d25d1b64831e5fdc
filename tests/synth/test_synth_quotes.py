"""The quote form of the synthetic gold records: every quote is the text at its offsets and normalises back to the
gold (BRIEF section 3: the model quotes, the code normalises)."""

from __future__ import annotations

from collections import Counter

from reportx.eval.metrics import TEXT_THRESHOLD, indel_similarity
from reportx.schema import builtin_schema
from reportx.schema.quotes import iter_spans, locate, to_record

TEXT_FIELDS = ("key_milestone_completed", "next_step")


def test_almost_every_record_has_a_quote_form(corpus):
    missing = [e for e in corpus if e.quotes is None]
    assert len(missing) <= len(corpus) // 100, Counter(e.unquoted.split(":")[0] for e in missing)
    assert all(e.unquoted for e in missing) and all(e.spans is None for e in missing)


def test_every_quote_is_the_text_at_its_offsets_and_normalises_to_the_gold(corpus):
    schema = builtin_schema()
    checked = 0
    for e in corpus:
        if e.quotes is None:
            continue
        for _, start, end, quote in iter_spans(e.spans):
            assert e.text[start:end] == quote, (e.id, quote)
            checked += 1
        record, notes = to_record(schema, e.quotes)
        assert notes == []
        for key, want in e.gold.items():
            if key in TEXT_FIELDS and want is not None:
                assert indel_similarity(want, record[key]) >= TEXT_THRESHOLD, (e.id, key)
            else:
                assert record[key] == want, (e.id, key, e.quotes[key])
    assert checked > 5 * len(corpus)


def test_locate_finds_the_synthesizer_spans_from_the_quotes_alone(corpus):
    """What extraction does with a model's quote answer gives the synthesizer's own offsets, blockers included
    (a duration that also occurs earlier in a distractor sentence is the exception: locate takes the first)."""
    schema = builtin_schema()
    quoted = [e for e in corpus if e.quotes is not None]
    same = 0
    for e in quoted:
        spans, notes = locate(e.text, e.quotes, schema)
        assert notes == []
        same += spans == e.spans
    assert same >= 0.97 * len(quoted)


def test_status_quotes_are_the_texts_own_wording(corpus):
    words = Counter(e.quotes["status"].lower() for e in corpus if e.quotes and e.quotes["status"])
    assert {"verde", "green", "amber", "rojo"} <= set(words)
    assert "Verde" not in {e.quotes["status"] for e in corpus if e.quotes and e.lang == "en" and e.quotes["status"]}
