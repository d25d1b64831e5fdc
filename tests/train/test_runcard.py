"""The run card: one typed model, one loader; the bundled adapter's card and cards of earlier versions load, and a
card is written back with the keys it was given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reportx.errors import ReportxError
from reportx.train import RunCard, load_run_card
from reportx.train.runcard import is_run_dir

BUNDLED = Path(__file__).resolve().parents[2] / "src" / "reportx" / "data" / "adapters" / "default"


def test_the_bundled_adapters_card_loads_and_round_trips():
    card = load_run_card(BUNDLED)
    assert card.base_model.kind == "gguf" and card.base_model.architecture == "gemma3"
    assert card.base_model.source == "default" and card.schema_spec is None
    assert card.data.val_file and card.result.optimizer_steps == 354 and card.result.train_loss[0].step == 5
    assert card.config["lora_r"] == 16 and card.adapter_dir == "adapter"
    raw = json.loads((BUNDLED / "run_card.json").read_text(encoding="utf-8"))
    assert card.to_dict() == raw and list(card.to_dict()) == list(raw)
    # the markdown beside it is what the card renders
    assert card.markdown() == (BUNDLED / "run_card.md").read_text(encoding="utf-8")
    assert load_run_card(BUNDLED / "run_card.json") == card


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"base_model": {"kind": "hf", "path": "/models/tiny"}},
        {"base_model": {"kind": "gguf", "path": "/b.gguf", "architecture": "gemma3", "sha256": None}, "schema": None},
        {"reportx_run": 1, "base_model": {"source": "x", "kind": "hub", "path": "x", "sha256": None,
                                          "architecture": None}, "data": {"train_file": None, "val_file": "v.jsonl"}},
    ],
)
def test_partial_and_earlier_cards_load_and_keep_their_keys(tmp_path, raw):
    (tmp_path / "run_card.json").write_text(json.dumps(raw))
    card = load_run_card(tmp_path)
    assert card.to_dict() == raw
    assert card.adapter_path(tmp_path) == tmp_path / "adapter"
    assert card.data.val_file == (raw.get("data") or {}).get("val_file")


def test_unknown_keys_survive_a_load_and_a_write(tmp_path):
    raw = {"reportx_run": 2, "future": {"a": 1}, "base_model": {"kind": "gguf", "quant": "q4_k_m"},
           "metrics": {"field accuracy": 0.97}}
    (tmp_path / "run_card.json").write_text(json.dumps(raw))
    card = load_run_card(tmp_path)
    (tmp_path / "again").mkdir()
    card.write(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "run_card.json").read_text()) == raw
    assert "| field accuracy | 0.97 |" in (tmp_path / "again" / "run_card.md").read_text()


def test_what_is_not_a_run_card_is_refused_in_one_line(tmp_path):
    assert not is_run_dir(tmp_path)
    with pytest.raises(ReportxError, match="not a training run"):
        load_run_card(tmp_path)
    card = tmp_path / "run_card.json"
    refusals = [
        ("{oops", "cannot read"),
        ("[1, 2]", "expected a JSON object"),
        ('{"base_model": "default"}', "base_model"),
        ('{"result": {"train_loss": [{"step": "x"}]}}', r"result\.train_loss\.0"),
    ]
    for text, message in refusals:
        card.write_text(text)
        with pytest.raises(ReportxError, match=message):
            load_run_card(tmp_path)


def test_base_gguf_follows_the_card(tmp_path):
    from reportx.models import sha256_file

    base = tmp_path / "base.gguf"
    base.write_bytes(b"GGUF not really")
    card = RunCard.model_validate({"base_model": {"kind": "gguf", "path": str(base), "sha256": sha256_file(base)}})
    assert card.base_gguf() == base
    assert card.base_gguf(base) == base
    with pytest.raises(ReportxError, match="base GGUF not found"):
        card.base_gguf(tmp_path / "missing.gguf")
    card.base_model.sha256 = "0" * 64
    with pytest.raises(ReportxError, match="not the base the adapter was trained on"):
        card.base_gguf()
    card.base_model.path, card.base_model.source = str(tmp_path / "gone.gguf"), "my-base.gguf"
    with pytest.raises(ReportxError, match="is gone"):
        card.base_gguf()
    with pytest.raises(ReportxError, match="--base"):
        RunCard.model_validate({"base_model": {"kind": "hf", "path": str(tmp_path)}}).base_gguf()
    with pytest.raises(ReportxError, match="--base"):
        RunCard().base_gguf()
