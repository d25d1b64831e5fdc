"""reportx score: aligning predictions to gold by text sha256, id or order, and scoring invalid answers."""

import json
import subprocess
import sys

import pytest

from reportx.errors import ReportxError
from reportx.eval.score import score_files, text_key
from reportx.eval.runner import parse_system

GOLD = [
    {"id": "a", "text": "Proyecto Alpha. Estado: Verde. Cliente: ACME Corp.",
     "record": {"project_name": "Alpha", "status": "Verde", "client": "ACME Corp", "budget_used_eur": None,
                "key_milestone_completed": None, "blockers_today": [], "next_step": None}},
    {"id": "b", "text": "Beta: en riesgo, gastados 1.200 €.",
     "record": {"project_name": "Beta", "status": "Amarillo", "client": None, "budget_used_eur": 1200,
                "key_milestone_completed": None, "blockers_today": [], "next_step": None}},
]


def write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def gold_file(tmp_path):
    return write(tmp_path / "gold.jsonl", GOLD)


def test_perfect_predictions_by_sha256_in_any_order(tmp_path, gold_file):
    preds = [{**g["record"], "_meta": {"sha256": text_key(g["text"]), "seconds": 1.0, "prompt_tokens": 10,
                                       "completion_tokens": 5}} for g in reversed(GOLD)]
    summary, _ = score_files(gold_file, [write(tmp_path / "p.jsonl", preds)])
    assert summary["field_accuracy"] == 1.0
    assert summary["schema_valid_rate"] == 1.0
    assert summary["reports_per_second"] == 1.0


def test_error_records_and_missing_predictions_are_invalid(tmp_path, gold_file):
    errors = [{"error": "output invalid after retry", "raw_output": '{"project_name": "Alpha"',
               "_meta": {"sha256": text_key(GOLD[0]["text"])}}]
    summary, scored = score_files(gold_file, [write(tmp_path / "e.jsonl", errors)])
    assert summary["schema_valid_rate"] == 0.0
    assert summary["missing_predictions"] == 1
    assert summary["field_accuracy"] == 0.0
    assert scored[0].invalid_reason == "output invalid after retry"


def test_alignment_by_id_and_loose_values_normalised(tmp_path, gold_file):
    preds = [{"id": "b", "output": json.dumps({**GOLD[1]["record"], "status": "en riesgo", "budget_used_eur": "1.200 €"})},
             {"id": "a", "prediction": {**GOLD[0]["record"], "client": "Acme Corp."}}]
    summary, _ = score_files(gold_file, [write(tmp_path / "p.jsonl", preds)])
    assert summary["field_accuracy"] == 1.0


def test_line_order_needs_equal_counts(tmp_path, gold_file):
    with pytest.raises(ReportxError, match="count"):
        score_files(gold_file, [write(tmp_path / "p.jsonl", [GOLD[0]["record"]])])
    summary, _ = score_files(gold_file, [write(tmp_path / "p2.jsonl", [g["record"] for g in GOLD])])
    assert summary["field_accuracy"] == 1.0


def test_schema_invalid_prediction(tmp_path, gold_file):
    preds = [{"id": "a", "output": {"project_name": "Alpha", "invented": 1}}, {"id": "b", "output": "not json"}]
    summary, scored = score_files(gold_file, [write(tmp_path / "p.jsonl", preds)])
    assert summary["json_parse_rate"] == 0.5 and summary["schema_valid_rate"] == 0.0
    assert "invented" in scored[0].invalid_reason


def test_score_cli_prints_table_and_fails_cleanly(tmp_path, gold_file):
    preds = write(tmp_path / "p.jsonl", [g["record"] for g in GOLD])
    ok = subprocess.run([sys.executable, "-m", "reportx", "score", str(gold_file), str(preds)], capture_output=True, text=True)
    assert ok.returncode == 0 and "**100.0**" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "reportx", "score", str(gold_file), str(tmp_path / "none.jsonl")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_parse_system():
    spec = parse_system("ft=mode=finetuned, constrained=true, shots=0")
    assert (spec.name, spec.mode, spec.constrained, spec.shots) == ("ft", "finetuned", True, 0)
    assert parse_system("x=adapter=a.gguf").mode == "finetuned"
    merged = parse_system("m=model=merged.gguf,merged=true")
    assert (merged.mode, merged.merged, merged.adapter) == ("finetuned", True, None)
    assert parse_system("b=batch=16").batch == 16 and parse_system("b=batch=16").describe()["batch"] == 16
    assert parse_system("f=full_head=true").full_head and not parse_system("s=mode=finetuned").describe()["full_head"]
    for bad in ["noequals", "x=color=red", "x=constrained=maybe", "x=mode=zero", "x=merged=perhaps", "x=batch=0",
                "x=full_head=maybe"]:
        with pytest.raises(ReportxError):
            parse_system(bad)


def test_predictions_of_another_data_set_are_an_error_not_zero_percent(tmp_path, gold_file):
    other = [{"project_name": "X", "_meta": {"sha256": text_key("another report")}}]
    with pytest.raises(ReportxError, match="none of the 1 predictions matches any of the 2 gold reports"):
        score_files(gold_file, [write(tmp_path / "other.jsonl", other)])


def test_a_missing_errors_file_is_skipped_with_a_note(tmp_path, gold_file):
    preds = [{**g["record"], "_meta": {"sha256": text_key(g["text"])}} for g in GOLD]
    notes: list[str] = []
    summary, _ = score_files(gold_file, [write(tmp_path / "p.jsonl", preds), tmp_path / "p.errors.jsonl"], notes=notes)
    assert summary["field_accuracy"] == 1.0 and notes and "p.errors.jsonl does not exist" in notes[0]
    with pytest.raises(ReportxError, match="not found"):
        score_files(gold_file, [tmp_path / "nothing.jsonl"])


def test_blocker_f1_counts_the_blockers_of_invalid_answers_as_missed(tmp_path):
    gold = [{**GOLD[0], "record": {**GOLD[0]["record"], "blockers_today": [{"ticket_id": "9812", "delay_hours": 2}]}}]
    errors = [{"error": "invalid", "_meta": {"sha256": text_key(GOLD[0]["text"])}}]
    summary, _ = score_files(write(tmp_path / "g.jsonl", gold), [write(tmp_path / "e.jsonl", errors)])
    assert summary["schema_valid_rate"] == 0.0
    assert summary["list_recall"] == 0.0 and summary["list_f1"] == 0.0


def test_score_cli_says_how_many_reports_had_no_prediction(tmp_path, gold_file):
    preds = [{**GOLD[0]["record"], "_meta": {"sha256": text_key(GOLD[0]["text"])}}]
    r = subprocess.run([sys.executable, "-m", "reportx", "score", str(gold_file), str(write(tmp_path / "p.jsonl", preds))],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "2 gold reports, 1 with a prediction, 1 without (scored as invalid)" in r.stderr
