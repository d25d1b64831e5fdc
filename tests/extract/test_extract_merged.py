"""Finetuned mode on a merged model (``Extractor(merged=True)``): the short fine-tuned prompt, no adapter, and
never the bundled one (it belongs to the default base). Marked ``model``; the default GGUF stands in for a merged
model, which llama.cpp loads like any other."""

from __future__ import annotations

import pytest

from reportx.errors import ReportxError
from reportx.extract import Extractor
from reportx.prompts import finetuned_prompt
from reportx.schema import builtin_schema

pytestmark = pytest.mark.model


def test_a_merged_model_runs_in_finetuned_mode_without_an_adapter(engine):
    ex = Extractor(engine=engine, merged=True, constrained=True, max_tokens=96)
    assert ex.mode == "finetuned" and ex.adapter_id is None and ex.prompt_format == "completion"
    prefix, suffix = ex.prompt_parts("Proyecto Tilo: todo OK.")
    assert prefix + suffix == finetuned_prompt("Proyecto Tilo: todo OK.", builtin_schema())
    result = ex.extract("Proyecto Tilo: todo OK. Cliente: Fundación Roble.")
    assert result.ok, result.error
    assert result.meta["mode"] == "finetuned" and result.meta["adapter"] is None


def test_a_merged_model_takes_no_adapter_and_no_few_shot_mode(engine, tmp_path):
    with pytest.raises(ReportxError, match="merged"):
        Extractor(engine=engine, merged=True, mode="fewshot")
    with pytest.raises(ReportxError, match="merged"):
        Extractor(model=tmp_path / "merged.gguf", adapter=tmp_path / "adapter.gguf", merged=True)
