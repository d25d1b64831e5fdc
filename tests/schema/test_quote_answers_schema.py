"""Quote answers (reportx.schema.quotes): the answer schema, grounding a quote in the text, normalising quotes."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field

from reportx.schema import RecordInvalid, ReportSchema, builtin_schema, load_schema
from reportx.schema.quotes import ANY_CASE, QUOTE_KEYWORD, answer_schema, find_quote, label_choices, locate, same_length_fold, to_record

TEXT = ("Informe del proyecto 'Atenea'. Estado: ámbar. Cliente: Financiera Andina. Gastado 15.750,00 € de 40.000 €. "
        "Bug #9812 retrasó el testing 2 días; otro bug #77 nos costó medio día. Terminada la migración.")
ANSWER = {"project_name": "Atenea", "status": "ámbar", "client": "Financiera Andina", "budget_used_eur": "15.750,00 €",
          "key_milestone_completed": "la migración", "blockers_today": [
              {"ticket_id": "9812", "delay_hours": "2 días"}, {"ticket_id": "77", "delay_hours": "medio día"}],
          "next_step": None}


def test_the_answer_schema_quotes_every_string_and_number_leaf():
    schema = answer_schema(builtin_schema())
    props = schema["properties"]
    assert props["project_name"] == {"type": "string", QUOTE_KEYWORD: True, **{k: props["project_name"][k]
                                                                                for k in ("title", "description")}}
    for key in ("client", "budget_used_eur", "key_milestone_completed", "next_step"):
        assert props[key]["type"] == ["string", "null"] and props[key][QUOTE_KEYWORD] is True
    assert props["status"]["type"] == ["string", "null"] and props["status"][QUOTE_KEYWORD] == ANY_CASE  # a label
    item = props["blockers_today"]["items"]
    assert item["properties"]["ticket_id"]["type"] == ["string", "null"]
    assert item["properties"]["delay_hours"][QUOTE_KEYWORD] and item["required"] == ["ticket_id", "delay_hours"]
    assert "$ref" not in str(schema) and "pattern" not in str(schema)  # ticket patterns apply to values, not quotes


def test_a_field_can_opt_out_of_quoting():
    class Ticket(BaseModel):
        title: str
        severity: str | None = Field(None, json_schema_extra={QUOTE_KEYWORD: False})
        done: bool = False

    props = answer_schema(ReportSchema.from_model(Ticket))["properties"]
    assert props["title"][QUOTE_KEYWORD] is True
    assert props["severity"][QUOTE_KEYWORD] is False and "anyOf" in props["severity"]  # left as the record has it
    assert props["done"]["type"] == "boolean"


def test_locate_gives_the_offsets_of_every_quote_and_blockers_in_order():
    spans, notes = locate(TEXT, ANSWER, builtin_schema())
    assert notes == []
    for span in (spans["project_name"], spans["budget_used_eur"], *spans["blockers_today"][1].values()):
        start, end, quote = span
        assert TEXT[start:end] == quote
    assert spans["next_step"] is None
    assert spans["blockers_today"][0]["ticket_id"][0] < spans["blockers_today"][1]["ticket_id"][0]


def test_a_misspelt_quote_is_not_grounded():
    spans, notes = locate(TEXT, {**ANSWER, "client": "Finanzas Andina"}, builtin_schema())
    assert spans["client"] is None and notes == ["client: 'Finanzas Andina' is not a quote of the report"]


def test_quotes_normalise_to_the_record():
    record, notes = to_record(builtin_schema(), ANSWER)
    assert notes == []
    assert record["status"] == "Amarillo" and record["budget_used_eur"] == 15750
    assert record["blockers_today"] == [{"ticket_id": "9812", "delay_hours": 16}, {"ticket_id": "77", "delay_hours": 4}]
    assert record["project_name"] == "Atenea" and record["client"] == "Financiera Andina"


def test_a_quote_that_does_not_normalise_is_null_with_a_note_never_a_guess():
    answer = {**ANSWER, "budget_used_eur": "el cliente", "blockers_today": [{"ticket_id": "9812", "delay_hours": "mañana"}]}
    record, notes = to_record(builtin_schema(), answer)
    assert record["budget_used_eur"] is None and record["blockers_today"] == [{"ticket_id": "9812", "delay_hours": None}]
    assert len(notes) == 2 and notes[0].startswith("budget_used_eur: 'el cliente' does not normalise")
    assert "blockers_today[0].delay_hours" in notes[1]


def test_a_required_field_that_does_not_normalise_is_still_an_error():
    with pytest.raises(RecordInvalid):
        to_record(builtin_schema(), {**ANSWER, "project_name": "''"})


def test_a_json_schema_reads_numbers_from_quotes(tmp_path):
    path = tmp_path / "site.json"
    path.write_text('{"type": "object", "properties": {"site": {"type": "string"}, "workers": {"type": "integer"}, '
                    '"cost": {"type": ["number", "null"]}}, "required": ["site", "workers", "cost"]}', encoding="utf-8")
    schema = load_schema(path)
    record, notes = to_record(schema, {"site": "Obra Norte", "workers": "12 operarios", "cost": "sin datos"})
    assert record == {"site": "Obra Norte", "workers": 12, "cost": None} and notes == ["cost: 'sin datos' holds no number: null"]


def test_the_fold_keeps_offsets():
    text = "ÁMBAR Ñandú Straße İ"
    folded = same_length_fold(text)
    assert len(folded) == len(text) and folded.startswith("ambar nandu strasse"[:5])


def test_a_label_is_located_in_any_case_and_its_span_holds_the_reports_characters():
    text = "El proyecto Atenea está BLOQUEADO desde ayer; ÁMBAR la semana pasada."
    spans, notes = locate(text, {"project_name": "Atenea", "status": "bloqueado"}, builtin_schema())
    assert spans["status"] == [24, 33, "BLOQUEADO"] and not notes
    assert find_quote(text, "ámbar", any_case=True).quote == "ÁMBAR"
    assert find_quote(text, "bloqueado") is None  # exact case elsewhere
    spans, notes = locate(text, {"project_name": "atenea"}, builtin_schema())  # a name keeps its case
    assert spans["project_name"] is None and notes


def test_a_schema_can_ask_for_or_refuse_any_case_quotes():
    class Item(BaseModel):
        colour: str | None = Field(None, json_schema_extra={QUOTE_KEYWORD: ANY_CASE})
        grade: Literal["A", "B"] | None = Field(None, json_schema_extra={QUOTE_KEYWORD: True})
        level: Literal["low", "high"] | None = None

    props = answer_schema(ReportSchema.from_model(Item))["properties"]
    assert props["colour"][QUOTE_KEYWORD] == ANY_CASE
    assert props["grade"][QUOTE_KEYWORD] is True
    assert props["level"][QUOTE_KEYWORD] == ANY_CASE


def test_label_choices_are_the_runs_of_words_that_read_as_a_status():
    choose = label_choices(builtin_schema())["status"]
    text = "Todo esto es del proyecto Tritón. El proyecto está BLOQUEADO. Semáforo: 🔴."
    choices = choose(text)
    assert {"BLOQUEADO", "está BLOQUEADO", "🔴"} <= set(choices)
    assert "Todo esto" not in choices and "Tritón" not in choices
    assert all(builtin_schema().validate({**ANSWER, "status": c})["status"] == "Rojo" for c in choices)
    assert choose("Sin estado hoy; el cliente está contento.") == ()
    assert set(label_choices(builtin_schema())) == {"status"}  # names and amounts are quoted freely


def test_label_choices_of_a_json_schema_enum():
    schema = ReportSchema.from_json_schema({"type": "object", "properties": {
        "level": {"type": "string", "enum": ["low", "high"]}, "note": {"type": "string"}}})
    choose = label_choices(schema)["level"]
    assert choose("Risk: high. Not low-key.") == ("high",)


@pytest.mark.parametrize(("text", "blockers", "kept"), [
    ("Bloqueo: ticket SR-3409, un día y medio. Fin.",
     [{"ticket_id": "SR-3409", "delay_hours": "un día y medio"}] * 2, 1),  # stated once, written twice: a loop
    ("Un corte de luz, 2 horas; un fallo de disco, 2 horas.",
     [{"ticket_id": None, "delay_hours": "2 horas"}] * 2, 2),  # stated twice: two blockers
    ("Dos problemas sin más detalle.", [{"ticket_id": None, "delay_hours": None}] * 2, 2),  # no quotes: kept
    ("ticket #77 (2h) y #78 (2h)", [{"ticket_id": "77", "delay_hours": "2h"}, {"ticket_id": "78", "delay_hours": "2h"}],
     2),  # equal delays, different tickets
])
def test_repeated_list_items_are_dropped_only_beyond_what_the_report_states(text, blockers, kept):
    from reportx.schema.quotes import drop_repeats

    answer = {"project_name": None, "blockers_today": blockers}
    out, notes = drop_repeats(text, answer, builtin_schema())
    assert out["blockers_today"] == blockers[:kept]
    assert len(notes) == len(blockers) - kept
    assert answer["blockers_today"] == blockers  # the input is left as it was
