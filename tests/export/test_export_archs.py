"""One architecture registry (reportx.export.archs) for the LoRA writer and reader, the HF converter's writers and
training's record of a base: same model types, same tensor names, the q / k permutation in one place."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reportx.errors import ReportxError
from reportx.export.archs import (
    ARCHITECTURES,
    MODEL_TYPE_TO_ARCH,
    arch_of_config,
    arch_spec,
    rope_permute_rows,
    rope_unpermute_rows,
)
from reportx.export.convert.writers import BASE_WRITERS, LlamaWriter, writer_for


def test_every_architecture_has_one_writer_that_takes_the_registrys_model_types():
    assert set(BASE_WRITERS) == set(ARCHITECTURES)
    for name, writer in BASE_WRITERS.items():
        assert writer.spec is ARCHITECTURES[name] and writer.arch == name
        assert writer.model_types == ARCHITECTURES[name].model_types
    assert {mt: w.arch for w in BASE_WRITERS.values() for mt in w.model_types} == MODEL_TYPE_TO_ARCH


def test_the_writers_decoder_tensors_are_the_registrys():
    for name, writer in BASE_WRITERS.items():
        spec = ARCHITECTURES[name]
        weights = {rule.gguf for rule in writer.rules if rule.gguf.startswith("blk.") and rule.gguf.endswith(".weight")}
        assert {spec.gguf_linear(linear, "{}") for linear in spec.linears} <= weights


def test_the_q_k_permutation_is_the_registrys_in_the_converter_and_in_lora_export():
    rng = np.random.default_rng(0)
    config = {"num_attention_heads": 4, "num_key_value_heads": 2}
    llama = ARCHITECTURES["llama"]
    rules = {rule.gguf: rule for rule in LlamaWriter.rules}
    q, k, v = rng.normal(size=(32, 8)), rng.normal(size=(16, 8)), rng.normal(size=(16, 8))
    assert np.array_equal(rules["blk.{}.attn_q.weight"].transform(q, config), rope_permute_rows(q, 4))
    assert np.array_equal(rules["blk.{}.attn_k.weight"].transform(k, config), rope_permute_rows(k, 2))
    assert rules["blk.{}.attn_v.weight"].transform is None
    assert np.array_equal(llama.rows_to_gguf("self_attn.q_proj", q, 4, 2), rope_permute_rows(q, 4))
    assert np.array_equal(llama.rows_from_gguf("self_attn.k_proj", rope_permute_rows(k, 2), 4, 2), k)
    assert llama.rows_to_gguf("self_attn.v_proj", v, None, None) is v
    assert np.array_equal(rope_unpermute_rows(rope_permute_rows(q, 4), 4), q)
    with pytest.raises(ValueError, match="head counts"):
        llama.rows_to_gguf("self_attn.q_proj", q, None, 2)
    for name in ("gemma3", "qwen2"):
        assert not any(ARCHITECTURES[name].permutes(linear) for linear in ARCHITECTURES[name].linears)
        writer = BASE_WRITERS[name]
        assert all(rule.transform is None for rule in writer.rules if ".attn_q." in rule.gguf or ".attn_k." in rule.gguf)


@pytest.mark.parametrize(
    ("config", "arch"),
    [
        ({"model_type": "gemma3_text"}, "gemma3"),
        ({"model_type": "gemma3", "text_config": {"model_type": "gemma3_text"}}, "gemma3"),
        ({"model_type": "some_wrapper", "text_config": {"model_type": "qwen2"}}, "qwen2"),
        ({"model_type": "mistral"}, "llama"),
        ({"model_type": "phi3"}, None),
        ({}, None),
    ],
)
def test_arch_of_config(config, arch):
    assert arch_of_config(config) == arch


def test_arch_spec_takes_llama_cpp_names_and_hf_model_types():
    assert arch_spec("gemma3") is arch_spec("gemma3_text") is ARCHITECTURES["gemma3"]
    assert arch_spec("mistral") is ARCHITECTURES["llama"]
    assert arch_spec("phi3") is None and arch_spec(None) is None


def test_writer_for_goes_through_the_registry():
    assert writer_for({"model_type": "mistral"}) is BASE_WRITERS["llama"]
    with pytest.raises(ReportxError, match="multimodal"):
        writer_for({"model_type": "gemma3", "text_config": {"model_type": "gemma3_text"}})
    with pytest.raises(ReportxError, match="gemma3_text.*not 'phi3'"):
        writer_for({"model_type": "phi3"})


@pytest.mark.parametrize(("window", "refused"), [(4096, True), (None, False), (32768, False)])
def test_a_sliding_window_llama_cpp_would_not_apply_is_refused(window, refused):
    config = {"model_type": "mistral", "hidden_act": "silu", "sliding_window": window, "max_position_embeddings": 32768}
    writer = writer_for(config)
    if refused:
        with pytest.raises(ReportxError, match="sliding-window"):
            writer.check_config(config)
    else:
        writer.check_config(config)


def test_training_records_the_registrys_architecture(tmp_path):
    from reportx.train.base_model import resolve_base

    for model_type, arch in (("mistral", "llama"), ("gemma3_text", "gemma3"), ("phi3", "phi3")):
        (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
        assert resolve_base(str(tmp_path)).architecture == arch
