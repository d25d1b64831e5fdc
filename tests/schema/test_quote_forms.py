"""Quotes as a model copies them from a report, and the value each normalises to ("the model quotes, the code
normalises"). Every form a person writes for a field is asserted here; the rules for the ambiguous ones ("hora y
pico", "el otro día", a bare "✅", a change of status) are stated in conventions.py where they live.
"""

from __future__ import annotations

import pytest

from reportx.schema import builtin_schema
from reportx.schema.conventions import parse_hours, parse_money, parse_status, parse_ticket_id

# Durations -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quote, hours",
    [
        # a whole working day
        ("la jornada completa", 8), ("toda la jornada", 8), ("jornada completa", 8), ("all day", 8),
        ("the whole day", 8), ("a full day", 8), ("another full day", 8), ("otra jornada completa", 8),
        # a couple is two
        ("un par de horas", 2), ("a couple of hours", 2), ("un par de días", 16), ("otro par de horas", 2),
        # one more / another: as many as stated, one when no number is written
        ("otra jornada", 8), ("otro día", 8), ("another day", 8), ("otra hora", 1), ("another hour", 1),
        ("another 2 hours", 2), ("otras 2 horas", 2), ("otras dos horas", 2), ("otros 2 días", 16),
        ("another two days", 16), ("otra media hora", 0.5), ("another half hour", 0.5), ("another half day", 4),
        ("one more hour", 1), ("2 more hours", 2), ("two more days", 16), ("una hora más", 1), ("un día más", 8),
        ("an extra day", 8), ("2 extra hours", 2), ("2 horas extra", 2), ("an additional hour", 1),
        ("2 additional hours", 2),
        # half a day
        ("half a day", 4), ("medio día", 4), ("media jornada", 4),
        # an approximate quantity reads as the number stated; "y pico" / "y algo" adds an unstated part, not guessed
        ("hora y pico", 1), ("una hora y pico", 1), ("hora y algo", 1), ("2 horas y pico", 2), ("día y pico", 8),
        ("an hour or so", 1), ("another hour or so", 1), ("about an hour", 1), ("una hora más o menos", 1),
        # written short
        ("3h", 3), ("3 h", 3), ("3hrs", 3), ("3HRS", 3), ("1h", 1), ("1h30", 1.5), ("1.5h", 1.5), ("1,5h", 1.5),
        ("0.5h", 0.5),
    ],
)
def test_duration_quotes(quote, hours):
    assert parse_hours(quote) == pytest.approx(hours)


@pytest.mark.parametrize(
    "quote",
    [
        # unquantified: no number stated
        "unas horas", "a few hours", "more hours", "otros días",
        # a range states no one duration
        "2-3 horas", "another 2-3 hours",
        # "twenty-odd hours": the "pico" is in the number (21 to 29), not read
        "20 y pico horas", "veintipico horas",
        # when, not how long: "the other day" is recently, "every other day" how often
        "el otro día", "the other day", "la otra jornada", "every other day",
    ],
)
def test_duration_quotes_that_state_no_single_quantity_are_none(quote):
    assert parse_hours(quote) is None


@pytest.mark.parametrize("quote", ["otro", "another", "extra", "más"])
def test_another_without_a_unit_is_no_duration(quote):
    with pytest.raises(ValueError):
        parse_hours(quote)


# Status ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quote, status",
    [
        # RAG words and letters
        ("RAG: A", "Amarillo"), ("RAG amber", "Amarillo"), ("R/A/G: G", "Verde"), ("RAG: Amber", "Amarillo"),
        ("RAG G", "Verde"), ("RAG status amber", "Amarillo"), ("RAG: R", "Rojo"),
        # traffic-light emoji, with or without a variation selector (U+FE0F emoji style, U+FE0E text style)
        ("🟢", "Verde"), ("🟡", "Amarillo"), ("🟠", "Amarillo"), ("🔴", "Rojo"), ("🟢\ufe0f", "Verde"),
        ("🔴\ufe0f", "Rojo"), ("🟡\ufe0e", "Amarillo"), ("🟠\ufe0f", "Amarillo"),
        # a check mark is green only after a status label
        ("Estado: ✅", "Verde"), ("Status: ✅\ufe0f", "Verde"), ("Estado: OK ✅", "Verde"),
        # upper case and punctuation
        ("VERDE", "Verde"), ("AT RISK", "Amarillo"), ("Verde.", "Verde"), ("(verde)", "Verde"), ("*Rojo*", "Rojo"),
        ("**Amber**", "Amarillo"), ("_green_", "Verde"), ("`red`", "Rojo"), ("[Amber]", "Amarillo"),
        ("«Verde»", "Verde"), ('"green"', "Verde"), ("ROJO!!", "Rojo"), ("Verde 🟢", "Verde"),
    ],
)
def test_status_quotes(quote, status):
    assert parse_status(quote) == status


@pytest.mark.parametrize(
    "quote, status",
    [
        # a change of status states the latest one: after the (last) arrow, "to", " a ", "now"
        ("Red → Amber", "Amarillo"), ("rojo -> ámbar", "Amarillo"), ("de amarillo a verde", "Verde"),
        ("from red to amber", "Amarillo"), ("moved from Amber to Green", "Verde"), ("Red->Green", "Verde"),
        ("Amber => Red", "Rojo"), ("verde → rojo", "Rojo"), ("🔴 → 🟢", "Verde"), ("🔴→🟡", "Amarillo"),
        ("Red to Amber", "Amarillo"), ("pasa de rojo a ámbar", "Amarillo"), ("Rojo → Ámbar → Verde", "Verde"),
        ("Amber ➡️ Green", "Verde"), ("Red ➞ Amber", "Amarillo"), ("was red, now amber", "Amarillo"),
        ("from green to at risk", "Amarillo"), ("de en riesgo a en plazo", "Verde"), ("Amber, back to Green", "Verde"),
        ("**Red** → **Amber**", "Amarillo"), ("Verde 🟢 → Rojo 🔴", "Rojo"), ("RAG: R → A", "Amarillo"),
        ("RAG: G to R", "Rojo"), ("status changed to amber", "Amarillo"), ("cambia a verde", "Verde"),
        ("Red → Red", "Rojo"),
    ],
)
def test_a_change_of_status_states_the_latest(quote, status):
    assert parse_status(quote) == status


@pytest.mark.parametrize(
    "quote",
    [
        # two statuses not written as a change state none
        "verde o rojo", "green, red", "green and red", "red (was green)", "green, close to red",
        # a bare check mark marks a task done, not a colour
        "✅", "✔️",
    ],
)
def test_status_quotes_that_state_no_one_status_raise(quote):
    with pytest.raises(ValueError):
        parse_status(quote)


# Ticket ids ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quote, ticket",
    [
        # a tracker's name is the tool, not the id
        ("JIRA COS-145", "COS-145"), ("Jira: OPS-12", "OPS-12"), ("Jira OPS-12", "OPS-12"),
        ("JIRA ticket COS-145", "COS-145"), ("ticket Jira COS-145", "COS-145"), ("JIRA #145", "145"),
        ("jira: #145", "145"), ("Redmine #4471", "4471"), ("GitHub issue #77", "77"),
        ("ServiceNow INC0012345", "INC0012345"), ("Azure DevOps #123", "123"), ("JIRA: COS-145 (login)", "COS-145"),
        # the words before an id, with "de" / "of" and an article
        ("número de incidencia 6630", "6630"), ("incidencia nº 6630", "6630"), ("incidencia n.º 6630", "6630"),
        ("nº de incidencia 6630", "6630"), ("ID de incidencia: 6630", "6630"), ("número de ticket 4471", "4471"),
        ("incidencia número 6630", "6630"), ("ticket number 4471", "4471"), ("number of issue 5", "5"),
        ("issue #77", "77"), ("issue no. 77", "77"), ("el ticket #9812", "9812"), ("la incidencia 6630", "6630"),
        ("the issue 77", "77"), ("el bug 12", "12"),
        # a non-ASCII hyphen, brackets
        ("ticket OPS\u201112", "OPS-12"), ("ticket OPS\u201312", "OPS-12"), ("ticket OPS\u221212", "OPS-12"),
        ("Jira COS\u2011145", "COS-145"), ("(#9812)", "9812"),
        # a key spelled like a tracker or an article stays whole
        ("JIRA-482", "JIRA-482"), ("jira-482", "jira-482"), ("JIRAX-1", "JIRAX-1"), ("DE-12", "DE-12"),
        ("LA-3", "LA-3"),
    ],
)
def test_ticket_quotes(quote, ticket):
    assert parse_ticket_id(quote) == ticket


def test_a_tracker_name_alone_names_no_ticket():
    assert parse_ticket_id("JIRA") is None


@pytest.mark.parametrize("quote", ["incidencia de red", "ticket de Juan"])
def test_de_joins_only_words_of_the_list(quote):
    # "incidencia de red" is a network incident, not ticket "red"
    with pytest.raises(ValueError):
        parse_ticket_id(quote)


# Money -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quote, euros",
    [
        ("16.000 €", 16000), ("15.750,00 €", 15750), ("12,5k", 12500), ("12,5 k€", 12500), ("12,5 K €", 12500),
        ("€1.2M", 1_200_000), ("€1.2 M", 1_200_000), ("€ 1,2 M", 1_200_000), ("1.2M €", 1_200_000),
        ("1,2 millones de euros", 1_200_000), ("EUR 3.400", 3400), ("EUR 3.400,00", 3400), ("3400 euros", 3400),
        ("3400 eur", 3400), ("3.400 EUR gastados de 10.000", 3400), ("3.400 € de 10.000 €", 3400),
        ("3.400€ de 10k€", 3400),
    ],
)
def test_money_quotes(quote, euros):
    assert parse_money(quote) == pytest.approx(euros)


# Through the schema ----------------------------------------------------------------------------------------------


def test_the_schema_normalises_the_quoted_forms():
    record = builtin_schema().validate({
        "project_name": "Alpha", "status": "Red → Amber", "client": None, "budget_used_eur": "€1.2M",
        "key_milestone_completed": None, "next_step": None,
        "blockers_today": [{"ticket_id": "JIRA COS-145", "delay_hours": "otra jornada"},
                           {"ticket_id": "número de incidencia 6630", "delay_hours": "another hour"},
                           {"ticket_id": None, "delay_hours": "hora y pico"}],
    })
    assert record["status"] == "Amarillo" and record["budget_used_eur"] == 1_200_000
    assert record["blockers_today"] == [{"ticket_id": "COS-145", "delay_hours": 8},
                                        {"ticket_id": "6630", "delay_hours": 1},
                                        {"ticket_id": None, "delay_hours": 1}]
