"""The minimal HF -> GGUF base writer (gemma3): what it writes, and the configs llama.cpp would run differently."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gguf import GGUFValueType

from reportx.errors import ReportxError
from reportx.export import read_gguf_header, write_base_gguf
from reportx.export.gguf_io import GGUFValue
from reportx.export.safetensors_io import read_safetensors

TINY = {
    "model_type": "gemma3_text", "vocab_size": 4, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 2,
    "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 4, "query_pre_attn_scalar": 4, "sliding_window": 8,
    "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "hidden_activation": "gelu_pytorch_tanh",
}
FOUR_TOKENS = {
    "tokenizer.ggml.model": GGUFValue(GGUFValueType.STRING, b"llama"),
    "tokenizer.ggml.tokens": GGUFValue(GGUFValueType.ARRAY, [b"<pad>", b"<eos>", b"<bos>", b"a"], GGUFValueType.STRING),
}


def hf_dir(tmp_path, **overrides):
    directory = tmp_path / "hf"
    directory.mkdir(exist_ok=True)
    (directory / "config.json").write_text(json.dumps({**TINY, **overrides}))
    (directory / "model.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    return directory


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"layer_types": ["full_attention", "sliding_attention"]}, "every 6th layer"),
        ({"sliding_window": None}, "sliding_window"),
        ({"query_pre_attn_scalar": 256}, "query_pre_attn_scalar"),
        ({"final_logit_softcapping": 30.0}, "soft-capping"),
        ({"rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
                              "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}}, "rope scaling"),
        ({"hidden_activation": "silu"}, "GELU"),
        ({"model_type": "phi3"}, "gemma3_text"),
        ({"vocab_size": 5}, "4 tokens"),
    ],
)
def test_refuses_configs_llama_cpp_would_run_differently(tmp_path, overrides, message):
    with pytest.raises(ReportxError, match=message):
        write_base_gguf(hf_dir(tmp_path, **overrides), tmp_path / "base.gguf", FOUR_TOKENS)
    assert not (tmp_path / "base.gguf").exists()


@pytest.mark.train
@pytest.mark.model
def test_tiny_base_gguf_contents(tiny_run, gemma_tokenizer):
    header = read_gguf_header(tiny_run.base_gguf)
    config = tiny_run.model.base_model.model.config
    arch = lambda key: header.get(f"gemma3.{key}")  # noqa: E731
    assert header.get("general.architecture") == "gemma3" and header.get("general.type") == "model"
    assert (arch("embedding_length"), arch("block_count"), arch("feed_forward_length")) == (64, 6, 128)
    assert (arch("attention.head_count"), arch("attention.head_count_kv")) == (2, 1)
    assert (arch("attention.key_length"), arch("attention.value_length")) == (256, 256)
    assert arch("attention.sliding_window") == 8 and arch("context_length") == config.max_position_embeddings
    assert arch("rope.freq_base") == 1e6 and arch("rope.freq_base_swa") == 1e4
    assert arch("attention.layer_norm_rms_epsilon") == pytest.approx(1e-6)
    # the tokenizer is copied as it is
    for key, value in gemma_tokenizer.items():
        assert header.metadata[key] == value, key
    # weights: f32, norms + 1 (Gemma3RMSNorm computes x * (1 + w)), the embedding tied (no output.weight)
    hf = read_safetensors(tiny_run.root / "hf" / "model.safetensors")
    assert "output.weight" not in header.tensors and len(header.tensors) == 2 + 6 * 13
    assert np.array_equal(header.read_f32("token_embd.weight"), hf["model.embed_tokens.weight"])
    assert np.array_equal(header.read_f32("blk.5.attn_q.weight"), hf["model.layers.5.self_attn.q_proj.weight"])
    assert np.allclose(header.read_f32("blk.2.attn_k_norm.weight"), hf["model.layers.2.self_attn.k_norm.weight"] + 1)
    assert np.allclose(header.read_f32("blk.0.post_ffw_norm.weight"), hf["model.layers.0.post_feedforward_layernorm.weight"] + 1)
    assert np.allclose(header.read_f32("output_norm.weight"), hf["model.norm.weight"] + 1)


@pytest.mark.train
@pytest.mark.model
def test_hf_directory_and_model_object_write_the_same_tensors(tiny_run, gemma_tokenizer, tmp_path):
    out = write_base_gguf(tiny_run.root / "hf", tmp_path / "from_dir.gguf", gemma_tokenizer)
    a, b = read_gguf_header(out, keep=lambda k: False), read_gguf_header(tiny_run.base_gguf, keep=lambda k: False)
    assert set(a.tensors) == set(b.tensors)
    for name in ("token_embd.weight", "blk.3.ffn_down.weight", "blk.4.attn_norm.weight"):
        assert np.array_equal(a.read_f32(name), b.read_f32(name))
    hparams = lambda h: {k: v for k, v in h.metadata.items() if k.startswith("gemma3.")}  # noqa: E731
    assert hparams(a) == hparams(b)
