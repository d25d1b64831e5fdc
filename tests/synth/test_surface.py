"""Surface forms round-trip through the conventions module, and the word lists cannot leak a status."""

from __future__ import annotations

import itertools
import random

import pytest

from reportx.schema import STATUS_WORDS, parse_hours, parse_money, parse_project_name, parse_status, parse_ticket_id
from reportx.schema.conventions import fold
from reportx.synth import lexicon_en, lexicon_es, vocab
from reportx.synth.noise import is_status_text, strip_accents, typo_template, voice_template
from reportx.synth.records import make_record
from reportx.synth.surface import (
    HOUR_WEIGHTS,
    STATUS_KINDS,
    duration_forms,
    money_forms,
    project_forms,
    render_money,
    render_money_pair,
    render_status,
    render_ticket,
    status_wordings,
    ticket_forms,
)

LANGS = ("es", "en")


def _amounts(rng: random.Random, k: int) -> list[float]:
    out = [500.0, 1000.0, 4500.0, 12300.0, 12300.5, 999.99, 1_000_000.0, 1_250_000.0, 2_000_000.0, 4050.0, 4250.0]
    for _ in range(k):
        scale = rng.choice([1_000, 10_000, 100_000, 1_000_000])
        units = rng.randint(1, 2 * scale) // rng.choice([1, 10, 50, 100, 10_000]) * rng.choice([1, 10, 50, 100, 10_000])
        units = max(units, 1)
        out.append(units + (rng.randint(1, 99) / 100 if rng.random() < 0.3 else 0))
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_every_money_form_parses_back(lang):
    rng = random.Random(11)
    for amount in _amounts(rng, 300):
        forms = money_forms(amount, lang)
        assert forms, amount
        for form in forms:
            assert parse_money(form) == round(amount, 2), (form, amount)


@pytest.mark.parametrize("lang", LANGS)
def test_rendered_money_and_spent_of_total_parse_to_the_amount_spent(lang):
    rng = random.Random(12)
    for amount in _amounts(rng, 300):
        for voice in (False, True):
            assert parse_money(render_money(rng, amount, lang, voice)) == round(amount, 2)
            total = amount * rng.choice([1.5, 2, 4]) + 1000
            pair = render_money_pair(rng, amount, total, lang, voice)
            assert parse_money(pair) == round(amount, 2), pair


def test_scaled_money_forms_appear_only_when_exact():
    assert "4,5k€" in money_forms(4500, "es")
    assert "4.5k EUR" in money_forms(4500, "en")
    assert not any("k" in f for f in money_forms(4500.5, "es"))  # cents cannot be written as thousands
    assert not any("k" in f for f in money_forms(4005, "es"))  # 4,005k would read as 4005 thousand
    assert "1,25 millones de euros" in money_forms(1_250_000, "es")
    assert "12.300,50 €" in money_forms(12300.5, "es") and "EUR 12,300" in money_forms(12300, "en")


@pytest.mark.parametrize("lang", LANGS)
def test_every_duration_form_parses_back(lang):
    for hours in HOUR_WEIGHTS:
        for voice, rich in itertools.product((False, True), repeat=2):
            forms = duration_forms(hours, lang, voice, rich)
            assert forms, hours
            for form in forms:
                assert parse_hours(form) == hours, (form, hours)
        assert set(duration_forms(hours, lang, voice=True)) <= set(duration_forms(hours, lang))
        assert set(duration_forms(hours, lang)) <= set(duration_forms(hours, lang, rich=True))
    rich_only = {f for h in HOUR_WEIGHTS for f in set(duration_forms(h, lang, rich=True)) - set(duration_forms(h, lang))}
    assert {"toda la jornada", "un par de horas"} <= rich_only or {"all day", "a couple of hours"} <= rich_only


def test_brief_duration_forms_are_rendered():
    es = {f for h in HOUR_WEIGHTS for f in duration_forms(h, "es")}
    en = {f for h in HOUR_WEIGHTS for f in duration_forms(h, "en")}
    for form in ("2 horas", "3h", "media hora", "90 minutos", "45 min", "1,5 horas", "hora y media", "un día",
                 "una jornada", "día y medio", "2 días", "medio día"):
        assert form in es, form
    for form in ("2 hours", "half an hour", "90 minutes", "a day", "a day and a half", "2 days", "half a day", "1.5 hours"):
        assert form in en, form


def _ticket_ids(rng: random.Random, k: int) -> list[str]:
    ids = ["9812", "4471", "JIRA-482", "INC-20931", "BUG-77", "SR-1042", "PAY-311"]
    for _ in range(k):
        if rng.random() < 0.5:
            ids.append(str(rng.randint(100, 99999)))
        else:
            domain = rng.choice(vocab.DOMAINS)
            ids.append(f"{rng.choice(vocab.TICKET_KEYS[domain])}-{rng.randint(1, 9999)}")
    return ids


@pytest.mark.parametrize("lang", LANGS)
def test_every_ticket_form_parses_back(lang):
    rng = random.Random(13)
    for tid in _ticket_ids(rng, 300):
        for where in ("plain", "paren", "article", "voice"):
            for form in ticket_forms(tid, lang, where):
                assert parse_ticket_id(form) == tid, (form, tid)
                assert parse_ticket_id(form.upper()) == tid.upper()
            assert parse_ticket_id(render_ticket(rng, tid, lang, where)) == tid


def test_brief_ticket_forms_are_rendered():
    forms = set(ticket_forms("9812", "es", "plain")) | set(ticket_forms("9812", "es", "paren"))
    assert {"#9812", "ID: 9812", "ticket 9812", "ticket #9812"} <= forms
    assert "ticket PAY-311" in ticket_forms("PAY-311", "en")


def test_ticket_keys_survive_prefix_stripping():
    # A key starting like a stripped prefix ("ID", "NO", "ISSUE") would lose letters: "NOVA-12" -> "VA-12".
    for keys in vocab.TICKET_KEYS.values():
        for key in keys:
            assert parse_ticket_id(f"{key}-12") == f"{key}-12"


@pytest.mark.parametrize("status", list(STATUS_WORDS))
@pytest.mark.parametrize("lang", LANGS)
def test_every_status_wording_parses_back(status, lang):
    rng = random.Random(14)
    wordings = status_wordings(status, lang)
    assert wordings
    for word, _kind in wordings:
        for variant in (word, word.upper(), word.lower(), word[:1].upper() + word[1:]):
            assert parse_status(variant) == status
            assert parse_status(f"Estado: {variant}") == status
    for _ in range(50):
        word, _kind = render_status(rng, status, lang)
        assert parse_status(word) == status


def test_every_status_wording_has_a_sentence_kind():
    assert {w for words in STATUS_WORDS.values() for w in words} == set(STATUS_KINDS)
    # Between the two languages every wording of the brief can be written.
    for status, words in STATUS_WORDS.items():
        written = {w for lang in LANGS for w, _ in status_wordings(status, lang)}
        assert written == set(words)


def test_project_forms_parse_back_to_the_bare_name():
    for name in vocab.PROJECTS_SINGLE + vocab.PROJECTS_MULTI + vocab.PROJECTS_CODE:
        for form in project_forms(name):
            assert parse_project_name(form) == name
        assert parse_project_name(f"proyecto {name}") == name
        assert parse_project_name(f"Project: {name}") == name


# Lexicon hygiene -------------------------------------------------------------------------------------------------

def _strings(value, path=""):
    """Every string in a nested lexicon value, with where it sits."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def _key_shape(value):
    if isinstance(value, dict):
        return {k: _key_shape(v) for k, v in value.items()}
    return type(value).__name__


def test_lexicons_have_the_same_keys():
    assert _key_shape(lexicon_es.LEXICON) == _key_shape(lexicon_en.LEXICON)
    for name in ("MILESTONES", "READY", "NEXT_STEPS", "NEXT_ACTIONS", "CAUSES", "ACTS"):
        assert getattr(lexicon_es, name).keys() == getattr(lexicon_en, name).keys(), name


@pytest.mark.parametrize("lex", [lexicon_es, lexicon_en], ids=["es", "en"])
def test_no_status_wording_outside_status_templates(lex):
    # A report with status null is assembled from these; one "red" or "OK" would state a status.
    for path, text in _strings(lex.LEXICON):
        if path.startswith(".status_"):
            continue
        assert not is_status_text(text.replace("{", " ").replace("}", " ")), (path, text)
    for name in ("MILESTONES", "READY", "NEXT_STEPS", "NEXT_ACTIONS", "NEXT_TICKET", "CAUSES", "ACTS"):
        for path, text in _strings(getattr(lex, name)):
            assert not is_status_text(text), (name, path, text)


def test_no_status_wording_in_names():
    names = (vocab.PROJECTS_SINGLE + vocab.PROJECTS_MULTI + vocab.PROJECTS_CODE + vocab.ALL_CLIENTS + vocab.VENDORS
             + tuple(n for n, _ in vocab.PEOPLE_ES + vocab.PEOPLE_EN))
    for name in names:
        assert not is_status_text(name), name


def test_client_names_do_not_hide_in_other_vocabulary():
    # "client is null" is checked by looking for every client name in the text: no other list may contain one.
    others = (vocab.PROJECTS_SINGLE + vocab.PROJECTS_MULTI + vocab.PROJECTS_CODE + vocab.VENDORS
              + tuple(n for n, _ in vocab.PEOPLE_ES + vocab.PEOPLE_EN))
    lexicon_text = " ".join(t for lex in (lexicon_es, lexicon_en) for _, t in _strings(lex.LEXICON))
    for client in vocab.ALL_CLIENTS:
        key = fold(client)
        assert not any(key in fold(o) for o in others), client
        assert key not in fold(lexicon_text), client
    assert len(set(vocab.ALL_CLIENTS)) == len(vocab.ALL_CLIENTS)


def test_typos_and_dictation_leave_placeholders_alone():
    rng = random.Random(15)
    template = "Hubo {cause} ({t}) que retrasó {act} {d}, pero ya está solucionado."
    for _ in range(200):
        noisy = typo_template(template, rng, "es", rate=0.9)
        for placeholder in ("{cause}", "{t}", "{act}", "{d}"):
            assert noisy.count(placeholder) == 1, noisy
        assert not is_status_text(noisy.replace("{", " ").replace("}", " "))
    assert voice_template("Estado: {w}. ({t})") == "estado {w} {t} "


def test_strip_accents():
    assert strip_accents("Orión, Junta de Andalucía, Müller") == "Orion, Junta de Andalucia, Muller"
    assert strip_accents("España", keep_enye=True) == "España"
    assert strip_accents("España") == "Espana"


def test_records_are_drawn_from_their_own_random_source():
    a = [make_record(random.Random(3), "es") for _ in range(3)]
    assert a[0] == a[1] == a[2]
    assert make_record(random.Random(4), "es") != a[0]
