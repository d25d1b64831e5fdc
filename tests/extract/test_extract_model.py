"""Extraction with the real embedded model (Gemma 3 270M, few-shot): prefix caching, constrained validity,
safety, errors, user schemas, fine-tuned mode with an adapter. Marked ``model``; one model per session."""

from __future__ import annotations

import json

import jsonschema
import pytest

from reportx.errors import ReportxError
from reportx.extract import Extractor
from reportx.schema import builtin_schema

from .conftest import SAMPLES

pytestmark = pytest.mark.model

SCHEMA = builtin_schema()


def _jsonschema_valid(record, schema=SCHEMA):
    jsonschema.validate(record, schema.json_schema)


def test_the_few_shot_prefix_is_evaluated_once(engine):
    ex = Extractor(engine=engine, shots=3)
    texts = ["Proyecto Lince: hoy cerramos la auditoría. Estado: verde.",
             "Kestrel update: finished the login page, no blockers, spent EUR 2,000. Status: at risk.",
             "Informe de Cedro. Cliente: Grupo Ártico. Gasto 800 €. Próximo paso: pruebas."]
    engine.llm.reset()  # a cold cache, as in a new process
    results = [ex.extract(t) for t in texts]
    evaluated = [r.evaluated_tokens for r in results]
    prompts = [r.prompt_tokens for r in results]
    print(f"\nprompt tokens {prompts}, evaluated {evaluated}, seconds {[round(r.seconds, 2) for r in results]}")
    assert evaluated[0] >= 0.9 * prompts[0]
    for r in results[1:]:
        assert r.evaluated_tokens < 0.1 * r.prompt_tokens  # only the report's own tokens
    assert all(r.ok for r in results), [r.error for r in results]


def test_constrained_mode_is_schema_valid_on_20_synthetic_reports(constrained_extractor, synthetic_reports):
    results = [constrained_extractor.extract(x.text, source=x.id) for x in synthetic_reports]
    bad = [(r.source, r.error, r.raw_output) for r in results if not r.ok]
    assert not bad, bad
    for r in results:
        assert r.constrained and r.attempts == 1
        assert list(r.record) == SCHEMA.keys
        _jsonschema_valid(r.record)
        assert SCHEMA.validate(r.record) == r.record
    mean = sum(r.seconds for r in results[1:]) / (len(results) - 1)
    chosen = sum(r.completion_tokens for r in results) / len(results)
    forced = sum(r.forced_tokens for r in results) / len(results)
    print(f"\nconstrained: {mean:.2f} s/report, {chosen:.0f} chosen + {forced:.0f} forced tokens per report")


def test_free_mode_retries_constrained_and_never_returns_an_invalid_record(extractor, synthetic_reports):
    results = [extractor.extract(x.text) for x in synthetic_reports[:6]]
    for r in results:
        assert r.attempts in (1, 2)
        assert r.ok or r.error.startswith("invalid output after 2 attempts")
        if r.ok:
            _jsonschema_valid(r.record)
        if r.attempts == 2:
            assert r.constrained


def test_report_text_is_data_not_instructions(extractor):
    text = (SAMPLES / "team-b" / "quasar.txt").read_text(encoding="utf-8")
    r = extractor.extract(text)
    assert r.ok, r.error
    assert r.record["project_name"] and r.record != {}
    assert "Quasar" in r.record["project_name"]


def test_empty_and_oversized_reports_are_errors(extractor):
    assert extractor.extract("  \n ").error == "empty report"
    long = "El proyecto Faro avanza según lo previsto y el equipo sigue con las pruebas. " * 400
    r = extractor.extract(long, source="long.txt")
    assert not r.ok and r.error.startswith("report is longer than the context")
    assert r.to_error()["source"] == "long.txt" and r.to_error()["sha256"] == r.sha256


def test_a_user_json_schema_and_pydantic_model_in_constrained_mode(engine):
    from pydantic import BaseModel, Field

    user_json = {
        "title": "SiteLog", "type": "object",
        "properties": {
            "site": {"type": "string", "description": "Construction site name."},
            "weather_stop": {"type": "boolean", "description": "Did weather stop the work?"},
            "workers": {"type": ["integer", "null"], "description": "Workers on site."},
            "phase": {"enum": ["foundations", "structure", "finishing", None]},
        },
        "required": ["site", "weather_stop", "workers", "phase"],
    }

    class Visit(BaseModel):
        customer: str = Field(description="Customer visited.")
        minutes: float | None = Field(description="Length of the visit in minutes.")
        products: list[str] = Field(description="Products discussed.")

    texts = ["Obra Ribera: 12 operarios, la lluvia paró los trabajos dos horas. Fase de estructura.",
             "Site Harbour View: foundations, 7 workers, sunny, no stops."]
    for schema in (user_json, Visit):
        ex = Extractor(engine=engine, schema=schema, constrained=True)
        assert any("zero-shot" in n for n in ex.notices)
        for t in texts:
            r = ex.extract(t)
            assert r.ok, (r.error, r.raw_output)
            jsonschema.validate(r.record, ex.schema.json_schema)
            assert list(r.record) == ex.schema.keys


def test_finetuned_mode_loads_an_adapter_and_uses_the_short_prompt(model_path, tmp_path):
    from reportx.prompts import finetuned_prompt

    adapter = _zero_lora(model_path, tmp_path / "zero-lora.gguf")
    ex = Extractor(model=model_path, adapter=adapter, constrained=True, n_ctx=1024, max_tokens=64)
    assert ex.mode == "finetuned" and not ex.notices
    prefix, suffix = ex.prompt_parts("Proyecto Tilo: todo OK.")
    assert prefix + suffix == finetuned_prompt("Proyecto Tilo: todo OK.", SCHEMA)
    r = ex.extract("Proyecto Tilo: todo OK. Cliente: Fundación Roble.")
    assert r.ok, r.error
    assert r.adapter.startswith("zero-lora.gguf@") and r.meta["mode"] == "finetuned"
    assert r.prompt_tokens < 80  # the short prompt: no worked examples


def test_mode_errors(engine):
    with pytest.raises(ReportxError, match="adapter"):
        Extractor(engine=engine, mode="finetuned")
    with pytest.raises(ReportxError, match="mode"):
        Extractor(engine=engine, mode="zeroshot")


def _zero_lora(model_path, out):
    """A rank-2 GGUF LoRA adapter whose B matrix is zero: it loads like a trained one and changes nothing."""
    import numpy as np
    from gguf import GGUFReader, GGUFWriter

    shapes = {t.name: [int(x) for x in t.shape] for t in GGUFReader(str(model_path)).tensors}
    writer = GGUFWriter(str(out), "gemma3")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", 4.0)
    for name in ("blk.0.attn_q.weight", "blk.0.attn_v.weight"):
        n_in, n_out = shapes[name][:2]
        writer.add_tensor(name + ".lora_a", np.random.default_rng(0).standard_normal((2, n_in)).astype(np.float32))
        writer.add_tensor(name + ".lora_b", np.zeros((n_out, 2), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def test_records_carry_a_confidence_per_field_and_the_review_list(engine, synthetic_reports):
    from reportx.extract.config import ExtractConfig

    config = ExtractConfig.make(constrained=True, review_below=0.5)
    ex = Extractor.from_config(config, engine=engine)
    results = [ex.extract(x.text) for x in synthetic_reports[:3]]
    for r in results:
        assert r.ok, r.error
        confidence = r.meta["confidence"]
        assert list(confidence) == SCHEMA.keys and all(0.0 <= p <= 1.0 for p in confidence.values())
        assert r.meta["review"] == [k for k, p in confidence.items() if p < 0.5]
        assert set(r.scores) == set(SCHEMA.keys)
    # Every chosen token's probability is the model's own: a field is never more certain than its least sure token.
    assert all(s["joint"] <= s["minimum"] + 1e-9 for r in results for s in r.scores.values())
