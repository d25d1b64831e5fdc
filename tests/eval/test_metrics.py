"""Each metric of BRIEF section 5 pinned on hand-made cases."""

import pytest

from reportx.eval.metrics import (
    bootstrap_interval,
    field_kinds,
    indel_similarity,
    normalise,
    score_field,
    score_report,
    summarise,
)
from reportx.schema import ProjectReport

KINDS = field_kinds(ProjectReport.model_json_schema())
GOLD = {"project_name": "Alpha", "status": "Verde", "client": "ACME Corp", "budget_used_eur": 4500,
        "key_milestone_completed": "Despliegue del módulo de pagos",
        "blockers_today": [{"ticket_id": "9812", "delay_hours": 2}, {"ticket_id": None, "delay_hours": 8}],
        "next_step": None}


def test_builtin_field_kinds():
    assert KINDS == {"project_name": "exact", "status": "exact", "client": "exact", "budget_used_eur": "number",
                     "key_milestone_completed": "text", "blockers_today": "list", "next_step": "text"}


def test_null_vs_null_is_correct():
    assert score_field("exact", None, None).correct
    assert score_field("text", None, None).correct
    assert score_field("list", [], []).correct


def test_hallucination_and_omission():
    h = score_field("exact", None, "Verde")
    assert (h.correct, h.null_error, h.gold_null) == (False, "hallucination", True)
    o = score_field("number", 4500, None)
    assert (o.correct, o.null_error, o.gold_null) == (False, "omission", False)
    assert score_field("list", [], [{"ticket_id": "1", "delay_hours": None}]).null_error == "hallucination"


@pytest.mark.parametrize("predicted", [4500, 4500.0, "4500", 4500.4])
def test_number_forms_and_tolerance(predicted):
    assert score_field("number", 4500, predicted).correct


def test_number_off_by_half_is_wrong():
    assert not score_field("number", 4500, 4500.5).correct


@pytest.mark.parametrize("predicted", ["acme corp", "ACME Corp.", "  Acme   CORP ", "ÁCME Corp"])
def test_exact_fields_ignore_case_accents_punctuation_whitespace(predicted):
    assert score_field("exact", "ACME Corp", predicted).correct


def test_exact_field_different_value_is_wrong():
    assert not score_field("exact", "ACME Corp", "ACME Inc").correct


def test_blockers_match_one_to_one_regardless_of_order():
    gold = [{"ticket_id": "9812", "delay_hours": 2}, {"ticket_id": None, "delay_hours": 8}]
    swapped = [{"ticket_id": None, "delay_hours": 8.0}, {"ticket_id": "9812", "delay_hours": 2}]
    assert score_field("list", gold, swapped).correct
    duplicated = [{"ticket_id": "9812", "delay_hours": 2}, {"ticket_id": "9812", "delay_hours": 2}]
    s = score_field("list", gold, duplicated)
    assert not s.correct and s.matched == 1 and s.predicted_items == 2 and s.gold_items == 2


def test_similarity_threshold():
    assert indel_similarity("abc", "abc") == 1.0
    assert indel_similarity("", "") == 1.0
    # "abcdefghij" vs "abcdefg": LCS 7 -> 14 / 17 = 0.8235
    assert indel_similarity("abcdefghij", "abcdefg") == pytest.approx(14 / 17)
    # "abcdefghij" vs "abcd": 8 / 14 = 0.571 -> under 0.7
    assert not score_field("text", "abcdefghij", "abcd").correct
    assert score_field("text", "abcdefghij", "abcdefg").correct
    assert score_field("text", "Despliegue del módulo de pagos", "despliegue modulo de pagos").correct


def test_normalise():
    assert normalise("  Integración   con SAP. ") == "integracion con sap"


def test_report_and_summary():
    perfect = score_report(KINDS, GOLD, dict(GOLD), parsed=True, valid=True)
    assert perfect.field_accuracy(list(KINDS)) == 1.0
    wrong = dict(GOLD, status=None, next_step="Facturación", budget_used_eur=5000)
    partial = score_report(KINDS, GOLD, wrong, parsed=True, valid=True)
    assert partial.field_accuracy(list(KINDS)) == pytest.approx(4 / 7)
    invalid = score_report(KINDS, GOLD, None, parsed=False, valid=False)
    summary = summarise(KINDS, [perfect, partial, invalid])
    assert summary["field_accuracy"] == pytest.approx((1 + 4 / 7 + 0) / 3)
    assert summary["json_parse_rate"] == pytest.approx(2 / 3)
    assert summary["schema_valid_rate"] == pytest.approx(2 / 3)
    assert summary["all_fields_correct_rate"] == pytest.approx(1 / 3)
    # two valid reports: gold null slots = next_step twice; one hallucinated ("Facturación")
    assert summary["hallucination_rate"] == pytest.approx(1 / 2)
    # gold value slots = 6 per report; one omission (status)
    assert summary["omission_rate"] == pytest.approx(1 / 12)
    assert summary["per_field_accuracy"]["status"] == pytest.approx(1 / 3)
    low, high = summary["field_accuracy_ci95"]
    assert low <= summary["field_accuracy"] <= high


def test_bootstrap_interval_narrows_with_more_reports():
    few = bootstrap_interval([1, 0] * 10)
    many = bootstrap_interval([1, 0] * 500)
    assert few[1] - few[0] > many[1] - many[0] > 0
    assert bootstrap_interval([1.0] * 30) == (1.0, 1.0)


def test_costs():
    kinds = {"a": "exact"}
    scores = [score_report(kinds, {"a": "x"}, {"a": "x"}, parsed=True, valid=True)] * 4
    costs = [{"seconds": s, "prompt_tokens": 100, "completion_tokens": 50} for s in (1.0, 1.0, 2.0, 4.0)]
    summary = summarise(kinds, scores, costs)
    assert summary["reports_per_second"] == pytest.approx(4 / 8)
    assert summary["latency_p50_s"] == pytest.approx(1.5)
    assert summary["prompt_tokens_per_report"] == 100
