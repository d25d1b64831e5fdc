import json

import pytest

from reportx.schema import ProjectReport, RecordInvalid, builtin_schema

ALPHA = {
    "project_name": "Alpha", "status": "Verde", "client": "ACME Corp", "budget_used_eur": 4500,
    "key_milestone_completed": "Despliegue del módulo de pagos",
    "blockers_today": [{"ticket_id": "9812", "delay_hours": 2}],
    "next_step": "Integración con el sistema de facturación",
}
KEYS = ["project_name", "status", "client", "budget_used_eur", "key_milestone_completed", "blockers_today", "next_step"]


def test_json_schema_has_the_seven_keys_in_order_all_required():
    schema = ProjectReport.model_json_schema()
    assert list(schema["properties"]) == KEYS
    assert schema["required"] == KEYS
    assert schema["additionalProperties"] is False


def test_brief_example_round_trips_unchanged():
    schema = builtin_schema()
    assert schema.validate(ALPHA) == ALPHA
    assert json.loads(schema.dumps(ALPHA)) == ALPHA
    assert '"budget_used_eur":4500,' in schema.dumps(schema.validate(ALPHA))  # not 4500.0


def test_loose_model_output_is_normalised():
    loose = {
        "project_name": "'Proyecto Alpha'", "status": "todo OK", "client": "", "budget_used_eur": "4.500 €",
        "key_milestone_completed": " Despliegue ", "blockers_today": {"ticket_id": "#9812", "delay_hours": "90 minutos"},
        "next_step": "null",
    }
    assert builtin_schema().validate(loose) == {
        "project_name": "Alpha", "status": "Verde", "client": None, "budget_used_eur": 4500,
        "key_milestone_completed": "Despliegue", "blockers_today": [{"ticket_id": "9812", "delay_hours": 1.5}],
        "next_step": None,
    }


def test_null_blockers_mean_none():
    assert builtin_schema().validate({**ALPHA, "blockers_today": None})["blockers_today"] == []


@pytest.mark.parametrize(
    "change, reason",
    [({"status": "purple"}, "status"), ({"invented": 1}, "invented"), ({"budget_used_eur": "80%"}, "budget_used_eur"),
     ({"project_name": ""}, "project_name"), ({"blockers_today": [{"ticket_id": "1"}]}, "delay_hours")],
)
def test_invalid_records_say_why(change, reason):
    with pytest.raises(RecordInvalid, match=reason):
        builtin_schema().validate({**ALPHA, **change})


def test_missing_key_is_invalid():
    record = dict(ALPHA)
    del record["client"]
    with pytest.raises(RecordInvalid, match="client"):
        builtin_schema().validate(record)


def test_broken_json_is_invalid():
    with pytest.raises(RecordInvalid, match="not JSON"):
        builtin_schema().validate('{"project_name": "Alpha",')


def test_every_nullable_field_accepts_null():
    record = {**ALPHA, "status": None, "client": None, "budget_used_eur": None, "key_milestone_completed": None,
              "blockers_today": [{"ticket_id": None, "delay_hours": None}], "next_step": None}
    assert builtin_schema().validate(record) == record


def test_numbers_keep_their_json_schema_bounds():
    props = ProjectReport.model_json_schema()["properties"]
    assert {"type": "number", "minimum": 0} in props["budget_used_eur"]["anyOf"]
