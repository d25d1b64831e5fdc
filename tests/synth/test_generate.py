"""synthesize / write_dataset: determinism, splits, valid gold, coverage of the conventions, faithfulness."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from reportx.prompts import chat_messages, instruction
from reportx.schema import STATUS_WORDS, builtin_schema, parse_hours, parse_money
from reportx.schema.conventions import fold
from reportx.synth import FAMILIES, STYLE_SPLITS, synthesize, write_dataset
from reportx.synth import vocab
from reportx.synth.generate import stated_statuses

SPLITS = ("train", "val", "test")
FILES = [f"{s}{suffix}" for s in SPLITS for suffix in (".jsonl", ".messages.jsonl")] + ["stats.json", "README.md"]
NULLABLE = ("status", "client", "budget_used_eur", "key_milestone_completed", "next_step")

# Money mentions: a number with a currency before or after it, or the first number of "X de/of/ Y".
_NUM = r"\d+(?:[.,]\d+)*"
_MULT = r"(?: ?(?:k|mil|m|millones|million)\b)?"
_CUR_AFTER = r"\s?(?:€|eur\b|euros\b|de euros\b)"
_CUR_BEFORE = r"(?:€|\beur\s)"
_JOIN = r"\s?(?:de|of|out of|/)\s?(?:un total de\s|a total of\s)?"
MONEY_RE = re.compile(
    rf"{_CUR_BEFORE}{_NUM}{_MULT}|{_NUM}{_MULT}{_CUR_AFTER}|{_NUM}{_MULT}(?={_JOIN}(?:{_CUR_BEFORE}\d|{_NUM}{_MULT}{_CUR_AFTER}))",
    re.IGNORECASE,
)
SPENT_OF_TOTAL_RE = re.compile(
    rf"(?:{_CUR_BEFORE})?{_NUM}{_MULT}(?:{_CUR_AFTER})?{_JOIN}(?:{_CUR_BEFORE})?{_NUM}{_MULT}(?:{_CUR_AFTER})?",
    re.IGNORECASE,
)
# Durations, on folded text.
_QTY = (r"(?:\d+(?:[.,]\d+)?|half an|half a|un|una|a|an|one|dos|two|tres|three|cuatro|four|cinco|five|seis|six|ocho|"
        r"eight|diez|ten|doce|twelve|media|medio)")
_UNIT = r"(?:horas?|hours?|hrs?|h|minutos?|minutes?|mins?|dias?|days?|jornadas?|workdays?)"
_HALF = r"\s(?:y medi[oa]|and a half)"
DURATION_RE = re.compile(rf"\b\d+h\d{{2}}\b|\b{_QTY}\s?{_UNIT}\b(?:{_HALF})?|\b{_UNIT}{_HALF}")


def money_values(text: str) -> list[float]:
    values = []
    for m in MONEY_RE.finditer(text):
        try:
            values.append(parse_money(m.group(0)))
        except ValueError:
            pass
    return values


def spent_of_total_phrases(text: str) -> list[str]:
    # Dates ("12/03", "5/26") also read "X/Y": a spent-of-total phrase names a currency.
    return [m.group(0) for m in SPENT_OF_TOTAL_RE.finditer(text) if re.search(r"€|eur", m.group(0), re.IGNORECASE)]


def duration_values(text: str) -> list[float]:
    values = []
    for m in DURATION_RE.finditer(fold(text)):
        try:
            value = parse_hours(m.group(0))
        except ValueError:
            continue
        if value is not None:
            values.append(value)
    return values


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9ñ]+", fold(text)))


def read_all(path) -> dict[str, bytes]:
    return {name: (path / name).read_bytes() for name in FILES}


# Determinism -----------------------------------------------------------------------------------------------------

def test_same_seed_gives_byte_identical_files(tmp_path):
    write_dataset(synthesize(300, 7), tmp_path / "a")
    write_dataset(synthesize(300, 7), tmp_path / "b")
    assert read_all(tmp_path / "a") == read_all(tmp_path / "b")


def test_different_seed_gives_different_texts():
    a = [e.text for e in synthesize(100, 7)]
    b = [e.text for e in synthesize(100, 8)]
    assert sum(x != y for x, y in zip(a, b)) > 90


def test_output_does_not_depend_on_the_hash_seed(tmp_path):
    code = "import sys; from reportx.synth import synthesize, write_dataset; write_dataset(synthesize(150, 3), sys.argv[1])"
    for hash_seed, name in (("1", "h1"), ("2", "h2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], env=env, check=True, timeout=120)
    assert read_all(tmp_path / "h1") == read_all(tmp_path / "h2")


def test_a_smaller_run_is_a_prefix_of_a_larger_one():
    assert synthesize(40, 5) == synthesize(120, 5)[:40]


# Files -------------------------------------------------------------------------------------------------------------

def test_written_files_hold_every_example_in_both_formats(corpus_run):
    examples, stats, out, _ = corpus_run
    schema = builtin_schema()
    task = instruction(schema)
    by_id = {e.id: e for e in examples}
    seen = []
    for split in SPLITS:
        rows = [json.loads(line) for line in (out / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]
        chats = [json.loads(line) for line in (out / f"{split}.messages.jsonl").read_text(encoding="utf-8").splitlines()]
        assert [r["id"] for r in rows] == [c["id"] for c in chats]
        for row, chat in zip(rows, chats):
            e = by_id[row["id"]]
            quoted = {"quotes", "spans"} if e.quotes is not None else set()
            assert set(row) == {"id", "lang", "family", "instruction", "input", "output"} | quoted
            if quoted:
                assert json.loads(row["quotes"]) == e.quotes and json.loads(row["spans"]) == e.spans
            assert (row["lang"], row["family"], e.split) == (e.lang, e.family, split)
            assert row["instruction"] == task and row["input"] == e.text
            assert row["output"] == schema.dumps(e.gold) and json.loads(row["output"]) == e.gold
            assert set(chat) == {"id", "lang", "family", "messages"}
            assert chat["messages"] == chat_messages(e.text, schema, answer=row["output"])
            seen.append(row["id"])
    assert sorted(seen) == sorted(by_id) and len(seen) == len(examples)
    raw = (out / "train.jsonl").read_bytes()
    assert raw.endswith(b"\n") and "é".encode() in raw  # ensure_ascii=False
    assert json.loads((out / "stats.json").read_text(encoding="utf-8")) == stats
    pretty = json.dumps(stats, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert (out / "stats.json").read_text(encoding="utf-8") == pretty


def test_stats_count_what_was_written(corpus_run):
    examples, stats, _, _ = corpus_run
    n = len(examples)
    assert stats["n"] == n == 2000 and stats["seed"] == 0
    assert stats["splits"] == dict(Counter(e.split for e in examples)) | {s: stats["splits"][s] for s in SPLITS}
    assert sum(stats["splits"].values()) == n
    assert stats["languages"] == {"es": sum(e.lang == "es" for e in examples), "en": sum(e.lang == "en" for e in examples)}
    for name, info in stats["families"].items():
        assert info["count"] == sum(e.family == name for e in examples)
    for key in NULLABLE:
        count = sum(e.gold[key] is None for e in examples)
        assert stats["nulls"][key] == {"count": count, "rate": round(count / n, 4)}
    assert stats["no_blockers"]["count"] == sum(not e.gold["blockers_today"] for e in examples)


def test_synthesize_and_write_are_fast(corpus_run):
    # The goal is well under 3 s on 2 cores; the bound leaves room for a loaded machine.
    assert corpus_run[3] < 20


# Splits ------------------------------------------------------------------------------------------------------------

def test_families_per_language_and_split():
    for lang in ("es", "en"):
        fams = [f for f in FAMILIES if f.lang == lang]
        assert len(fams) >= 12
        assert sum(f.split == "test" for f in fams) >= 2
        assert sum(f.split == "val" for f in fams) >= 1
        assert all(f.name == f"{lang}_{f.style}" and f.split == STYLE_SPLITS[f.style] for f in fams)


def test_held_out_families_never_appear_in_train(corpus):
    family_split = {f.name: f.split for f in FAMILIES}
    for e in corpus:
        assert e.split == family_split[e.family]
    train = {e.family for e in corpus if e.split == "train"}
    held_out = {e.family for e in corpus if e.split in ("val", "test")}
    val, test = ({e.family for e in corpus if e.split == s} for s in ("val", "test"))
    assert not train & held_out and not val & test
    assert len(train) == sum(f.split == "train" for f in FAMILIES)  # every family is used


def test_split_and_language_proportions(corpus):
    n = len(corpus)
    share = {s: sum(e.split == s for e in corpus) / n for s in SPLITS}
    assert 0.65 <= share["train"] <= 0.75
    assert 0.10 <= share["val"] <= 0.15
    assert 0.15 <= share["test"] <= 0.20
    assert 0.62 <= sum(e.lang == "es" for e in corpus) / n <= 0.78
    for split in SPLITS:
        assert {e.lang for e in corpus if e.split == split} == {"es", "en"}


# Gold records ------------------------------------------------------------------------------------------------------

def test_every_gold_record_is_valid_and_normalised(corpus):
    schema = builtin_schema()
    for e in corpus:
        assert list(e.gold) == schema.keys
        assert schema.validate(e.gold) == e.gold
        assert schema.validate(schema.dumps(e.gold)) == e.gold


def test_null_rates(corpus):
    n = len(corpus)
    for key in NULLABLE:
        rate = sum(e.gold[key] is None for e in corpus) / n
        assert 0.15 <= rate <= 0.30, (key, rate)
    no_blockers = sum(not e.gold["blockers_today"] for e in corpus) / n
    assert 0.35 <= no_blockers <= 0.45
    blockers = [b for e in corpus for b in e.gold["blockers_today"]]
    assert any(b["ticket_id"] is None for b in blockers) and any(b["delay_hours"] is None for b in blockers)
    assert any(len(e.gold["blockers_today"]) == 3 for e in corpus)


def test_no_duplicate_texts(corpus):
    texts = [e.clean_text for e in corpus]
    assert len(set(texts)) >= 0.995 * len(texts)


# Coverage of the conventions ---------------------------------------------------------------------------------------

def test_every_status_wording_occurs(corpus):
    folded = "\n".join(fold(e.clean_text) for e in corpus)
    for words_ in STATUS_WORDS.values():
        for word in words_:
            assert re.search(rf"(?<![a-z0-9]){re.escape(fold(word))}(?![a-z0-9])", folded), word


MONEY_FORMATS = {
    "spent of total (4500€ de 5000€)": r"\d[\d.,]*\s?k?\s?(?:€|EUR)?\s(?:de|of)\s\d[\d.,]*\s?k?\s?(?:€|EUR|euros)",
    "plain with euro sign (4500€)": r"(?<![\d.,])\d{4,}€",
    "dotted thousands (4.500 €)": r"(?<![\d.,])\d{1,3}(?:\.\d{3})+(?![\d,])\s€",
    "k (4,5k€)": r"\d+,\d{1,2}k€",
    "k EUR (4.5k EUR)": r"\d+\.\d{1,2}k EUR",
    "EUR prefix (EUR 12,300)": r"\bEUR \d{1,3}(?:,\d{3})+(?![\d.])",
    "euro prefix (€12,300)": r"€\d{1,3}(?:,\d{3})+(?![\d.])",
    "cents (12.300,50 €)": r"\d{1,3}(?:\.\d{3})+,\d{2}\s?€",
    "euros word (12300 euros)": r"(?<![\d.,])\d{4,} euros",
    "se han gastado (phrase)": r"[Ss]e han gastado \d",
    "presupuesto consumido (phrase)": r"[Pp]resupuesto consumido: \d",
}


@pytest.mark.parametrize("name", list(MONEY_FORMATS))
def test_every_money_format_occurs(corpus, name):
    pattern = re.compile(MONEY_FORMATS[name])
    hits = [e for e in corpus if e.gold["budget_used_eur"] is not None and pattern.search(e.clean_text)]
    assert hits, name


def test_budget_distractors_occur_with_null_gold(corpus):
    nulls = [e.clean_text for e in corpus if e.gold["budget_used_eur"] is None]
    total = re.compile(r"presupuesto (?:total|aprobado)|total (?:project )?budget|approved budget", re.IGNORECASE)
    remaining = re.compile(r"quedan|restante|remaining|left", re.IGNORECASE)
    percent = re.compile(r"\d+\s?% (?:del presupuesto|of the budget|consumido|gastado|used|spent)", re.IGNORECASE)
    assert sum(bool(total.search(t) and money_values(t)) for t in nulls) >= 20
    assert sum(bool(remaining.search(t) and money_values(t)) for t in nulls) >= 10
    assert sum(bool(percent.search(t)) for t in nulls) >= 20
    # ...and a percentage also appears next to an amount that is spent: never the gold.
    assert any(percent.search(e.clean_text) for e in corpus if e.gold["budget_used_eur"] is not None)


DURATION_FORMS = {
    "2 horas": r"\b\d+ horas\b", "3h": r"\b\d+h\b", "media hora": r"\bmedia hora\b", "90 minutos": r"\b\d+ minutos\b",
    "45 min": r"\b\d+ min\b", "1,5 horas": r"\b\d+,5 horas\b", "hora y media": r"\bhora y media\b", "un día": r"\bun día\b",
    "una jornada": r"\buna jornada\b", "día y medio": r"\bdía y medio\b", "2 días": r"\b\d+ días\b",
    "medio día": r"\bmedio día\b", "2 hours": r"\b\d+ hours\b", "half an hour": r"\bhalf an hour\b",
    "90 minutes": r"\b\d+ minutes\b", "a day": r"\ba day\b", "a day and a half": r"\ba day and a half\b",
    "2 days": r"\b\d+ days\b", "half a day": r"\bhalf a day\b", "1.5 hours": r"\b\d+\.5 hours\b",
}


@pytest.mark.parametrize("form", list(DURATION_FORMS))
def test_every_duration_form_occurs_in_a_blocker(corpus, form):
    pattern = re.compile(DURATION_FORMS[form], re.IGNORECASE)
    hits = [e for e in corpus if pattern.search(e.clean_text)
            and any(b["delay_hours"] is not None for b in e.gold["blockers_today"])]
    assert hits, form


def test_unquantified_blockers_occur(corpus):
    assert sum(b["delay_hours"] is None for e in corpus for b in e.gold["blockers_today"]) >= 100
    assert sum(b["ticket_id"] is None for e in corpus for b in e.gold["blockers_today"]) >= 100


def test_distractor_numbers_occur(corpus):
    text = "\n".join(e.clean_text for e in corpus)
    for pattern in (r"\d+% completado", r"\bv\d+\.\d+\.\d+", r"\brelease \d+\.\d+", r"\d+ personas", r"team of \d+",
                    r"\d{2}/\d{2}", r"\d+ de (?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre)",
                    r"(?:January|February|March|April|May|June|July|August|September|October) \d+(?:st|nd|rd|th)",
                    r"dedicó \d+ horas", r"\d+ hours (?:on|into)"):
        assert re.search(pattern, text, re.IGNORECASE), pattern


# Faithfulness --------------------------------------------------------------------------------------------------------

def test_gold_values_are_stated_in_the_text(corpus):
    for e in corpus:
        g, text, folded = e.gold, e.clean_text, fold(e.clean_text)
        assert fold(g["project_name"]) in folded, e.id
        if g["client"]:
            assert fold(g["client"]) in folded, e.id
        if g["budget_used_eur"] is not None:
            assert g["budget_used_eur"] in money_values(text), (e.id, g["budget_used_eur"], text)
        durations = duration_values(text)
        for b in g["blockers_today"]:
            if b["ticket_id"]:
                assert b["ticket_id"] in text, e.id
            if b["delay_hours"] is not None:
                assert b["delay_hours"] in durations, (e.id, b, text)
        for key in ("key_milestone_completed", "next_step"):
            if g[key]:
                assert words(g[key]) <= words(text), (e.id, key, g[key], text)


def test_status_is_stated_only_when_gold_has_one(corpus):
    for e in corpus:
        expected = {e.gold["status"]} if e.gold["status"] else set()
        assert stated_statuses(e.clean_text) == expected, (e.id, e.clean_text)
    # A stated-nothing status alongside blockers is common: status is never inferred from them.
    assert sum(e.gold["status"] is None and bool(e.gold["blockers_today"]) for e in corpus) >= 100


def test_null_client_means_no_client_named(corpus):
    clients = [fold(c) for c in vocab.ALL_CLIENTS]
    for e in corpus:
        if e.gold["client"] is None:
            folded = fold(e.clean_text)
            assert not [c for c in clients if c in folded], (e.id, e.clean_text)


TOTAL_OR_REMAINING = re.compile(r"total|aprobado|restante|quedan?|remaining|left|approved", re.IGNORECASE)


def test_null_budget_means_no_amount_spent(corpus):
    # With nothing spent stated, every amount in the text is a total or a remainder, said so next to it.
    checked = 0
    for e in corpus:
        if e.gold["budget_used_eur"] is None:
            assert not spent_of_total_phrases(e.clean_text), (e.id, e.clean_text)
            for m in MONEY_RE.finditer(e.clean_text):
                window = e.clean_text[max(0, m.start() - 60):m.end() + 30]
                assert TOTAL_OR_REMAINING.search(window), (e.id, m.group(0), e.clean_text)
                checked += 1
    assert checked >= 100


def test_distractor_tickets_are_never_blockers(corpus):
    with_distractors = [e for e in corpus if e.distractor_tickets]
    assert len(with_distractors) >= 300
    for e in with_distractors:
        gold_ids = {b["ticket_id"] for b in e.gold["blockers_today"]}
        for tid in e.distractor_tickets:
            assert tid in e.clean_text, e.id
            assert tid not in gold_ids, e.id
    planned = [e for e in corpus if e.gold["next_step"] and any(t in e.gold["next_step"] for t in e.distractor_tickets)]
    assert len(planned) >= 30


def test_upper_case_and_unaccented_families_write_names_as_shown(corpus):
    caps = [e for e in corpus if e.family.endswith("_caps")]
    runon = [e for e in corpus if e.family.endswith("_runon")]
    assert caps and runon
    for e in caps:
        assert e.clean_text == e.clean_text.upper()
        assert e.gold["project_name"] == e.gold["project_name"].upper() and e.gold["project_name"] in e.clean_text
        if e.gold["client"]:
            assert e.gold["client"] in e.clean_text
    for e in runon:
        assert e.gold["project_name"] in e.clean_text
        if e.gold["client"]:
            assert e.gold["client"] in e.clean_text
    # Milestones keep their accents and sentence case whatever the text shows.
    milestones = [e.gold["key_milestone_completed"] for e in runon if e.gold["key_milestone_completed"]]
    assert any(re.search(r"[áéíóú]", m) for m in milestones)
    assert all(not e.gold["key_milestone_completed"] or not e.gold["key_milestone_completed"].isupper() for e in caps)


# Injected snippets (report text is data) ------------------------------------------------------------------------------

def test_injections_only_in_train_and_leave_gold_and_other_reports_unchanged(corpus):
    from reportx.synth.injection import TRAIN_INJECTION_SHARE, TRAIN_KINDS

    assert not any(e.injection for e in corpus)  # off by default: the data the bundled adapter was trained on
    injected_run = synthesize(2000, 0, inject_share=TRAIN_INJECTION_SHARE)
    injected = [e for e in injected_run if e.injection]
    train = [e for e in injected_run if e.split == "train"]
    assert all(e.split == "train" for e in injected)
    assert abs(len(injected) / len(train) - TRAIN_INJECTION_SHARE) < 0.04
    assert {e.injection_kind for e in injected} == set(TRAIN_KINDS)
    # The draw has its own random source: every report's clean text, gold and split are as without injections.
    for a, b in zip(corpus, injected_run):
        assert a.text == b.clean_text and a.gold == b.gold and a.split == b.split
        assert b.text == a.text or (b.injection and b.injection in b.text)


def test_injected_rows_are_marked_and_feed_the_continue_set(tmp_path):
    from reportx.synth.injection import write_continue_set

    out = tmp_path / "data"
    write_dataset(synthesize(300, 0, inject_share=0.3), out)
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    marked = [r for r in rows if "injection" in r]
    assert marked and len(marked) < len(rows)
    n = write_continue_set(str(out), str(tmp_path / "continue.jsonl"), clean_per_injected=0.5)
    assert n == len(marked) + round(0.5 * len(marked))
    plain = tmp_path / "plain"
    write_dataset(synthesize(50, 0), plain)
    with pytest.raises(ValueError, match="no injected"):
        write_continue_set(str(plain), str(tmp_path / "none.jsonl"))


def test_held_out_injection_kinds_never_reach_training():
    import random

    from reportx.synth.injection import HELD_OUT_KINDS, TRAIN_INJECTION_SHARE, TRAIN_KINDS, inject

    assert not set(HELD_OUT_KINDS) & set(TRAIN_KINDS)
    run = synthesize(2000, 0, inject_share=TRAIN_INJECTION_SHARE)
    train_text = "\n".join(e.text for e in run if e.split == "train")
    for marker in ("SYSTEM OVERRIDE", "### SYSTEM", "```json", "</report>", "<!-- AI"):
        assert marker not in train_text
    rng = random.Random(3)
    text, snippet, kind = inject(rng, "Proyecto Alpha. Estado: verde.", "es", HELD_OUT_KINDS)
    assert kind in HELD_OUT_KINDS and snippet in text and "Alpha" in text


# Rich training reports -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rich_corpus():
    return synthesize(2000, 0, rich=True)


def test_rich_changes_only_the_training_reports(corpus, rich_corpus):
    assert any(plain.text != rich.text for plain, rich in zip(corpus, rich_corpus) if plain.split == "train")
    for plain, rich in zip(corpus, rich_corpus):
        assert plain.split == rich.split and plain.family == rich.family
        if plain.split != "train":
            assert plain == rich  # val and test are the same reports either way


def _blocker_counts(examples):
    blockers = [b for e in examples if e.split == "train" for b in e.gold["blockers_today"]]
    return len(blockers), sum(b["ticket_id"] is None for b in blockers)


def test_rich_training_reports_have_more_blockers_and_fewer_tickets(corpus, rich_corpus):
    plain_total, plain_ticketless = _blocker_counts(corpus)
    rich_total, rich_ticketless = _blocker_counts(rich_corpus)
    assert rich_total > 1.15 * plain_total
    assert rich_ticketless / rich_total > plain_ticketless / plain_total + 0.1


def test_rich_training_reports_use_the_rich_wordings(rich_corpus):
    train_text = "\n".join(e.text for e in rich_corpus if e.split == "train")
    for form in ("toda la jornada", "un par de horas", "all day", "a couple of hours", "sin ticket", "no ticket"):
        assert form in train_text, form
    assert re.search(r"^\s*(?:a\)|1\.|·|•) ", train_text, re.MULTILINE)  # list markers other than "-"


def test_rich_gold_is_valid_stated_and_quotable(rich_corpus):
    schema = builtin_schema()
    train = [e for e in rich_corpus if e.split == "train"]
    for e in train:
        assert schema.validate(e.gold) == e.gold
        assert fold(e.gold["project_name"]) in fold(e.text), e.id
        assert stated_statuses(e.text) == ({e.gold["status"]} if e.gold["status"] else set()), e.id
    quoted = [e for e in train if e.quotes is not None]
    assert len(quoted) >= 0.99 * len(train)
    for e in quoted:  # every blocker quote is the text at its offsets and reads back as the gold value
        for item, gold in zip(e.spans["blockers_today"], e.gold["blockers_today"], strict=True):
            if item["delay_hours"] is not None:
                start, end, quote = item["delay_hours"]
                assert e.text[start:end] == quote and parse_hours(quote) == gold["delay_hours"], (e.id, quote)
