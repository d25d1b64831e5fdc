"""Confidence in scoring: ECE / AUROC / selective accuracy of ``_meta.confidence`` and of raw scores, the table."""

import json

import pytest

from reportx.eval.report import markdown_table
from reportx.eval.score import score_files, text_key

GOLD = [
    {"id": "a", "text": "Proyecto Alpha. Estado: Verde.",
     "record": {"project_name": "Alpha", "status": "Verde", "client": None, "budget_used_eur": None,
                "key_milestone_completed": None, "blockers_today": [], "next_step": None}},
    {"id": "b", "text": "Beta: en riesgo, gastados 1.200 €.",
     "record": {"project_name": "Beta", "status": "Amarillo", "client": None, "budget_used_eur": 1200,
                "key_milestone_completed": None, "blockers_today": [], "next_step": None}},
    {"id": "c", "text": "Gamma sin novedades.",
     "record": {"project_name": "Gamma", "status": None, "client": None, "budget_used_eur": None,
                "key_milestone_completed": None, "blockers_today": [], "next_step": None}},
]


def write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_confidence_metrics_of_records_that_carry_it(tmp_path):
    gold = write(tmp_path / "gold.jsonl", GOLD)
    a = {**GOLD[0]["record"], "_meta": {"sha256": text_key(GOLD[0]["text"]),
                                        "confidence": dict.fromkeys(GOLD[0]["record"], 0.99)}}
    wrong_b = {**GOLD[1]["record"], "budget_used_eur": 12, "status": "Rojo"}  # two fields wrong, and unsure of them
    conf_b = {**dict.fromkeys(wrong_b, 0.99), "budget_used_eur": 0.2, "status": 0.3}
    b = {**wrong_b, "_meta": {"sha256": text_key(GOLD[1]["text"]), "confidence": conf_b}}
    c = {"sha256": text_key(GOLD[2]["text"]), "error": "invalid output", "raw_output": "{"}  # no answer: conf 0
    summary, _ = score_files(gold, [write(tmp_path / "p.jsonl", [a, b, c])])
    conf = summary["confidence"]
    assert conf["fields"] == 21
    # Right fields (12) all at 0.99; wrong ones: 2 at 0.2 / 0.3 and the error report's 7 at 0: a perfect ranking.
    assert conf["auroc"] == pytest.approx(1.0)
    assert conf["accuracy_at_80"] == pytest.approx(12 / 17)
    # ECE: bin [0.9, 1]: 12 fields at 0.99, all right (0.01); the others: 0.2 / 0.3 / 0 wrong.
    expected = (12 * 0.01 + 0.2 + 0.3 + 7 * 0.0) / 21
    assert conf["ece"] == pytest.approx(expected)
    table = markdown_table({"sys": summary})
    assert "Per-field confidence" in table and "| sys | _meta.confidence |" in table


def test_no_confidence_no_table(tmp_path):
    gold = write(tmp_path / "gold.jsonl", GOLD)
    preds = [{**g["record"], "_meta": {"sha256": text_key(g["text"])}} for g in GOLD]
    summary, _ = score_files(gold, [write(tmp_path / "p.jsonl", preds)])
    assert "confidence" not in summary and "Per-field confidence" not in markdown_table({"sys": summary})
