import json

import pytest

from reportx.errors import ReportxError
from reportx.labelled import read_labelled
from reportx.prompts import chat_messages
from reportx.schema import builtin_schema

GOLD = {"project_name": "Beta", "status": "Verde", "client": "Stark Industries", "budget_used_eur": 1200,
        "key_milestone_completed": "Módulo de login listo", "blockers_today": [], "next_step": "SSO"}
TEXT = "Update de 'Beta'. El módulo de login está listo. Cliente: Stark Industries. Estado: Verde. Gastado: 1200€."


def write_lines(path, items):
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")


def test_every_accepted_form_reads_the_same(tmp_path):
    schema = builtin_schema()
    forms = [
        {"input": TEXT, "output": json.dumps(GOLD, ensure_ascii=False)},
        {"text": TEXT, "record": GOLD},
        {"text": TEXT, "gold": {**GOLD, "budget_used_eur": "1.200 €"}},
        {"messages": chat_messages(TEXT, schema, answer=json.dumps(GOLD))},
    ]
    path = tmp_path / "data.jsonl"
    write_lines(path, forms)
    reports = read_labelled(path, schema)
    assert len(reports) == 4
    assert all(r.text.strip() == TEXT and r.gold == GOLD for r in reports)


def test_limit(tmp_path):
    path = tmp_path / "data.jsonl"
    write_lines(path, [{"text": TEXT, "record": GOLD}] * 5)
    assert len(read_labelled(path, builtin_schema(), limit=2)) == 2


@pytest.mark.parametrize(
    "line, message",
    [('{"text": "x"}', "no gold"), ('{"record": {}}', "no report text"), ("[1]", "expected a JSON object"), ("{bad", "not JSON"),
     ('{"text": "x", "record": {"project_name": "A"}}', "gold record invalid")],
)
def test_bad_lines_name_their_line(tmp_path, line, message):
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps({"text": TEXT, "record": GOLD}) + "\n" + line + "\n")
    with pytest.raises(ReportxError, match=f"data.jsonl:2: {message}"):
        read_labelled(path, builtin_schema())


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ReportxError, match="not found"):
        read_labelled(tmp_path / "none.jsonl", builtin_schema())
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ReportxError, match="no labelled"):
        read_labelled(tmp_path / "empty.jsonl", builtin_schema())
