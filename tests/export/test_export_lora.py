"""PEFT adapter -> GGUF LoRA: layout, scale, the llama rope permutation, and clear refusals (numpy only, fast)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from reportx.errors import ReportxError
from reportx.export import export_lora as _export_lora
from reportx.export import read_gguf_header
from reportx.export import write_lora_gguf as _write_lora_gguf
from reportx.export.archs import rope_permute_rows, rope_unpermute_rows
from reportx.export.lora import gguf_alpha, peft_scaling


# These tests compare tensor values exactly, so they export in f32; f16 (the default) has its own test below.
def write_lora_gguf(*args, **kwargs):
    return _write_lora_gguf(*args, **{"dtype": "f32", **kwargs})


def export_lora(*args, **kwargs):
    return _export_lora(*args, **{"dtype": "f32", **kwargs})


Q = "model.layers.0.self_attn.q_proj"
K = "model.layers.0.self_attn.k_proj"
V = "model.layers.0.self_attn.v_proj"
DOWN = "model.layers.0.mlp.down_proj"


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed * 1000 + sum(shape)).standard_normal(shape).astype(np.float32)


def fake_base_gguf(path, arch="gemma3", layers=1, hidden=16, q_out=16, kv_out=8, ff=32, heads=2, kv_heads=1):
    """A GGUF with the tensor table of a small base (zeros); enough for export's shape checks."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_block_count(layers)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    shapes = {"attn_q": (q_out, hidden), "attn_k": (kv_out, hidden), "attn_v": (kv_out, hidden),
              "attn_output": (hidden, q_out), "ffn_gate": (ff, hidden), "ffn_up": (ff, hidden), "ffn_down": (hidden, ff)}
    for layer in range(layers):
        for name, shape in shapes.items():
            writer.add_tensor(f"blk.{layer}.{name}.weight", np.zeros(shape, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def qv_adapter(write_adapter, r=4, **config):
    return write_adapter({Q: (rand(r, 16), rand(16, r, seed=1)), V: (rand(r, 16, seed=2), rand(8, r, seed=3))}, r=r, **config)


# Layout ------------------------------------------------------------------------------------------------------


def test_writes_the_tensors_and_metadata_llama_cpp_expects(tmp_path, write_adapter):
    adapter = qv_adapter(write_adapter)
    base = fake_base_gguf(tmp_path / "base.gguf")
    out = write_lora_gguf(adapter, tmp_path / "out" / "adapter.gguf", base=base)
    header = read_gguf_header(out)
    assert header.get("general.architecture") == "gemma3"
    assert header.get("general.type") == "adapter"
    assert header.get("adapter.type") == "lora"
    assert header.get("adapter.lora.alpha") == pytest.approx(8.0)
    assert sorted(header.tensors) == [
        "blk.0.attn_q.weight.lora_a", "blk.0.attn_q.weight.lora_b", "blk.0.attn_v.weight.lora_a", "blk.0.attn_v.weight.lora_b",
    ]
    # llama.cpp: base->ne[0] == a->ne[0], base->ne[1] == b->ne[1], a->ne[1] == b->ne[0]
    base_header = read_gguf_header(base)
    for name in ("blk.0.attn_q.weight", "blk.0.attn_v.weight"):
        a, b, w = header.tensors[name + ".lora_a"].shape, header.tensors[name + ".lora_b"].shape, base_header.tensors[name].shape
        assert (w[0], w[1], a[1]) == (a[0], b[1], b[0])
    # PEFT's A (r, in) and B (out, r) are stored unchanged for gemma3
    assert np.array_equal(header.read_f32("blk.0.attn_q.weight.lora_a"), rand(4, 16))
    assert np.array_equal(header.read_f32("blk.0.attn_v.weight.lora_b"), rand(8, 4, seed=3))


def test_bfloat16_adapters_are_widened_exactly(tmp_path, write_adapter):
    a = rand(4, 16)
    adapter = write_adapter({Q: (a, rand(16, 4, seed=1))}, bf16=(Q,))
    out = write_lora_gguf(adapter, tmp_path / "a.gguf", architecture="gemma3")
    truncated = (a.view(np.uint32) & 0xFFFF0000).view(np.float32)
    assert np.array_equal(read_gguf_header(out).read_f32("blk.0.attn_q.weight.lora_a"), truncated)


def test_run_dir_gives_adapter_base_and_architecture(tmp_path, write_adapter):
    adapter = qv_adapter(write_adapter)
    run = tmp_path / "run"
    run.mkdir()
    adapter.rename(run / "adapter")
    base = fake_base_gguf(tmp_path / "base.gguf")
    card = {"base_model": {"kind": "gguf", "path": str(base), "architecture": "gemma3", "sha256": None}, "schema": None}
    (run / "run_card.json").write_text(json.dumps(card))
    result = export_lora(run, run / "adapter.gguf")
    assert result.architecture == "gemma3" and result.n_pairs == 2 and result.rank == 4
    assert result.modules == ["blk.0.attn_q.weight", "blk.0.attn_v.weight"]
    assert (run / "adapter.gguf").is_file()


# Scale: llama.cpp applies alpha / rank (rank = b->ne[0]); PEFT lora_alpha / r, or lora_alpha / sqrt(r) (rsLoRA) --


@pytest.mark.parametrize(("r", "alpha", "rslora"), [(4, 8, False), (16, 16, False), (8, 4, True), (16, 32, True)])
def test_gguf_alpha_over_rank_is_peft_scaling(r, alpha, rslora):
    config = {"r": r, "lora_alpha": alpha, "use_rslora": rslora}
    expected = alpha / math.sqrt(r) if rslora else alpha / r
    assert peft_scaling(config, Q, r) == pytest.approx(expected)
    assert gguf_alpha(config) / r == pytest.approx(expected)


@pytest.mark.train
@pytest.mark.parametrize(("r", "alpha", "rslora"), [(4, 8, False), (8, 4, True)])
def test_scale_agrees_with_peft_itself(tmp_path, write_adapter, r, alpha, rslora):
    torch = pytest.importorskip("torch")
    peft = pytest.importorskip("peft")

    class Toy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q_proj = torch.nn.Linear(16, 16, bias=False)

    model = peft.get_peft_model(Toy(), peft.LoraConfig(r=r, lora_alpha=alpha, use_rslora=rslora, target_modules=["q_proj"]))
    peft_scale = model.base_model.model.q_proj.scaling["default"]
    adapter = write_adapter({Q: (rand(r, 16), rand(16, r, seed=1))}, r=r, lora_alpha=alpha, use_rslora=rslora)
    result = export_lora(adapter, tmp_path / "a.gguf", architecture="gemma3")
    assert read_gguf_header(result.path).get("adapter.lora.alpha") / r == pytest.approx(peft_scale, rel=1e-6)
    assert result.folded == []


def test_per_module_rank_and_alpha_are_folded_into_b(tmp_path, write_adapter):
    # q: default r=4, alpha 8 -> scaling 2 = llama's 8/4; v: rank 2 (rank_pattern) and alpha 6 (alpha_pattern)
    # -> PEFT scaling 3, llama's 8/2 = 4, so B_v is written times 3/4
    bv = rand(8, 2, seed=3)
    adapter = write_adapter(
        {Q: (rand(4, 16), rand(16, 4, seed=1)), V: (rand(2, 16, seed=2), bv)},
        rank_pattern={"v_proj": 2}, alpha_pattern={"v_proj": 6},
    )
    result = export_lora(adapter, tmp_path / "a.gguf", architecture="gemma3")
    header = read_gguf_header(result.path)
    assert result.folded == ["blk.0.attn_v.weight"]
    assert header.get("adapter.lora.alpha") == pytest.approx(8.0)
    assert np.allclose(header.read_f32("blk.0.attn_v.weight.lora_b"), bv * 0.75, rtol=1e-6)
    assert np.array_equal(header.read_f32("blk.0.attn_q.weight.lora_b"), rand(16, 4, seed=1))


def test_zero_alpha_is_an_exact_no_op(tmp_path, write_adapter):
    # llama.cpp reads adapter.lora.alpha 0 as "scale 1"; a PEFT adapter with lora_alpha 0 does nothing
    adapter = qv_adapter(write_adapter, lora_alpha=0)
    result = export_lora(adapter, tmp_path / "a.gguf", architecture="gemma3")
    header = read_gguf_header(result.path)
    assert header.get("adapter.lora.alpha") != 0
    assert not header.read_f32("blk.0.attn_q.weight.lora_b").any()


# The llama rope permutation ----------------------------------------------------------------------------------


def hf_rope(q: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """transformers' rotate_half rope: dimension i pairs with i + d/2 (q: heads x d)."""
    half = q.shape[-1] // 2
    x1, x2 = q[:, :half], q[:, half:]
    return np.concatenate([x1 * np.cos(angles) - x2 * np.sin(angles), x2 * np.cos(angles) + x1 * np.sin(angles)], axis=-1)


def ggml_rope_norm(q: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """llama.cpp's rope for llama (LLAMA_ROPE_TYPE_NORM): dimension 2i pairs with 2i + 1."""
    out = q.copy()
    x, y = q[:, 0::2], q[:, 1::2]
    out[:, 0::2] = x * np.cos(angles) - y * np.sin(angles)
    out[:, 1::2] = x * np.sin(angles) + y * np.cos(angles)
    return out


def test_rope_permutation_interleaves_each_head():
    rows = rope_permute_rows(np.arange(16)[:, None], 2)[:, 0]
    assert rows.tolist() == [0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15]
    w = rand(24, 5)
    assert np.array_equal(rope_unpermute_rows(rope_permute_rows(w, 3), 3), w)
    with pytest.raises(ValueError):
        rope_permute_rows(rand(10, 3), 3)


def test_rope_permutation_turns_hf_rope_into_llama_cpp_rope():
    n_head, n_kv, d, n_in, pos = 3, 1, 8, 5, 7
    angles = pos * 10000.0 ** (-np.arange(d // 2) * 2 / d)
    wq, wk, x = rand(n_head * d, n_in), rand(n_kv * d, n_in, seed=1), rand(n_in, seed=2)
    hf_q = hf_rope((wq @ x).reshape(n_head, d), angles)
    hf_k = hf_rope((wk @ x).reshape(n_kv, d), angles)
    gg_q = ggml_rope_norm((rope_permute_rows(wq, n_head) @ x).reshape(n_head, d), angles)
    gg_k = ggml_rope_norm((rope_permute_rows(wk, n_kv) @ x).reshape(n_kv, d), angles)
    # the rotated vectors are the HF ones, permuted; so every q.k attention score is unchanged
    assert np.allclose(gg_q.reshape(-1), rope_permute_rows(hf_q.reshape(-1, 1), n_head)[:, 0], atol=1e-5)
    assert np.allclose(gg_q @ gg_k.T, hf_q @ hf_k.T, atol=1e-4)


def test_permuting_lora_b_permutes_the_adapted_weight():
    w, a, b, scale = rand(16, 6), rand(4, 6, seed=1), rand(16, 4, seed=2), 2.0
    assert np.allclose(rope_permute_rows(w + scale * b @ a, 2), rope_permute_rows(w, 2) + scale * rope_permute_rows(b, 2) @ a, atol=1e-5)


def test_llama_export_permutes_q_and_k_lora_b_only(tmp_path, write_adapter):
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps(
        {"model_type": "llama", "num_attention_heads": 2, "num_key_value_heads": 1, "num_hidden_layers": 1, "hidden_size": 16}
    ))
    bq, bk, bv = rand(16, 4, seed=1), rand(8, 4, seed=3), rand(8, 4, seed=5)
    adapter = write_adapter({Q: (rand(4, 16), bq), K: (rand(4, 16, seed=2), bk), V: (rand(4, 16, seed=4), bv)})
    result = export_lora(adapter, tmp_path / "a.gguf", base=hf)
    header = read_gguf_header(result.path)
    assert result.architecture == "llama" and header.get("general.architecture") == "llama"
    assert result.permuted == ["blk.0.attn_k.weight", "blk.0.attn_q.weight"]
    assert np.array_equal(header.read_f32("blk.0.attn_q.weight.lora_b"), rope_permute_rows(bq, 2))
    assert np.array_equal(header.read_f32("blk.0.attn_k.weight.lora_b"), rope_permute_rows(bk, 1))
    assert np.array_equal(header.read_f32("blk.0.attn_v.weight.lora_b"), bv)
    assert np.array_equal(header.read_f32("blk.0.attn_q.weight.lora_a"), rand(4, 16))
    # without the base's head counts the permutation cannot be done
    with pytest.raises(ReportxError, match="head counts"):
        export_lora(adapter, tmp_path / "b.gguf", architecture="llama")


@pytest.mark.parametrize("arch", ["gemma3", "qwen2"])
def test_other_architectures_are_not_permuted(tmp_path, write_adapter, arch):
    bq = rand(16, 4, seed=1)
    adapter = write_adapter({Q: (rand(4, 16), bq)})
    result = export_lora(adapter, tmp_path / "a.gguf", architecture=arch)
    assert result.permuted == []
    assert np.array_equal(read_gguf_header(result.path).read_f32("blk.0.attn_q.weight.lora_b"), bq)


# Refusals ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"use_dora": True}, "DoRA"),
        ({"modules_to_save": ["lm_head"]}, "modules_to_save"),
        ({"lora_bias": True}, "lora_bias"),
        ({"bias": "all"}, "bias"),
        ({"init_lora_weights": "pissa_niter_4"}, "rewrites the base"),
        ({"init_lora_weights": "olora"}, "rewrites the base"),
        ({"peft_type": "IA3"}, "only LoRA"),
        ({"trainable_token_indices": [1, 2]}, "trainable_token_indices"),
        ({"target_parameters": ["experts.gate_up_proj"]}, "target_parameters"),
    ],
)
def test_refuses_adapters_a_gguf_lora_cannot_express(tmp_path, write_adapter, config, message):
    adapter = qv_adapter(write_adapter, **config)
    with pytest.raises(ReportxError, match=message):
        write_lora_gguf(adapter, tmp_path / "a.gguf", architecture="gemma3")
    assert not (tmp_path / "a.gguf").exists()


@pytest.mark.parametrize(
    ("raw_key", "shape", "message"),
    [
        ("base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector", (16,), "DoRA"),
        ("base_model.model.lm_head.modules_to_save.default.weight", (16, 16), "modules_to_save"),
        ("base_model.model.model.embed_tokens.lora_embedding_A", (4, 100), "embedding"),
        ("base_model.model.lm_head.lora_A.weight", (4, 16), "no GGUF counterpart"),
        ("base_model.model.model.vision_tower.layers.0.self_attn.q_proj.lora_A.weight", (4, 16), "no GGUF counterpart"),
        ("base_model.model.model.layers.0.mlp.fc1.lora_A.weight", (4, 16), "no GGUF counterpart"),
    ],
)
def test_refuses_tensors_with_no_gguf_counterpart(tmp_path, write_adapter, raw_key, shape, message):
    adapter = write_adapter({Q: (rand(4, 16), rand(16, 4))}, raw={raw_key: rand(*shape)})
    with pytest.raises(ReportxError, match=message):
        write_lora_gguf(adapter, tmp_path / "a.gguf", architecture="gemma3")


def test_refuses_half_a_pair(tmp_path, write_adapter):
    adapter = write_adapter({}, raw={f"base_model.model.{Q}.lora_A.weight": rand(4, 16)})
    with pytest.raises(ReportxError, match="lora_B missing"):
        write_lora_gguf(adapter, tmp_path / "a.gguf", architecture="gemma3")


def test_refuses_missing_files(tmp_path, write_adapter):
    with pytest.raises(ReportxError, match="not found"):
        write_lora_gguf(tmp_path / "nope", tmp_path / "a.gguf", architecture="gemma3")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReportxError, match="neither a training run"):
        write_lora_gguf(empty, tmp_path / "a.gguf", architecture="gemma3")
    adapter = qv_adapter(write_adapter)
    (adapter / "adapter_model.safetensors").unlink()
    with pytest.raises(ReportxError, match="adapter_model.safetensors is missing"):
        write_lora_gguf(adapter, tmp_path / "a.gguf", architecture="gemma3")
    (adapter / "adapter_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ReportxError, match="pickle"):
        write_lora_gguf(adapter, tmp_path / "a.gguf", architecture="gemma3")
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_card.json").write_text("{}")
    with pytest.raises(ReportxError, match="no adapter"):
        write_lora_gguf(run, tmp_path / "a.gguf")
    (adapter / "adapter_model.safetensors").write_bytes(b"garbage!" * 4)
    with pytest.raises(ReportxError, match="not a safetensors file"):
        write_lora_gguf(adapter, tmp_path / "a.gguf", architecture="gemma3")


def test_refuses_what_does_not_fit_the_base(tmp_path, write_adapter):
    base = fake_base_gguf(tmp_path / "base.gguf")
    wrong_width = write_adapter({Q: (rand(4, 32), rand(16, 4))})
    with pytest.raises(ReportxError, match="another base model"):
        write_lora_gguf(wrong_width, tmp_path / "a.gguf", base=base)
    too_deep = write_adapter({"model.layers.3.self_attn.q_proj": (rand(4, 16), rand(16, 4))})
    with pytest.raises(ReportxError, match="1 layers"):
        write_lora_gguf(too_deep, tmp_path / "a.gguf", base=base)
    adapter = qv_adapter(write_adapter)
    with pytest.raises(ReportxError, match="does not match the base"):
        write_lora_gguf(adapter, tmp_path / "a.gguf", architecture="llama", base=base)
    with pytest.raises(ReportxError, match="not 'phi3'"):
        write_lora_gguf(adapter, tmp_path / "a.gguf", architecture="phi3")
    with pytest.raises(ReportxError, match="architecture"):
        write_lora_gguf(adapter, tmp_path / "a.gguf")
    mismatched = write_adapter({Q: (rand(4, 16), rand(16, 3))})
    with pytest.raises(ReportxError, match="do not pair up"):
        write_lora_gguf(mismatched, tmp_path / "a.gguf", architecture="gemma3")


def test_default_f16_export_halves_the_size_and_keeps_values(tmp_path, write_adapter):
    adapter = qv_adapter(write_adapter)
    small = _write_lora_gguf(adapter, tmp_path / "f16.gguf", "gemma3")
    full = _write_lora_gguf(adapter, tmp_path / "f32.gguf", "gemma3", dtype="f32")
    from gguf import GGUFReader

    tensors16 = {t.name: t for t in GGUFReader(str(small)).tensors}
    tensors32 = {t.name: t for t in GGUFReader(str(full)).tensors}
    assert {t.tensor_type.name for t in tensors16.values()} == {"F16"}
    for name, t in tensors32.items():
        np.testing.assert_allclose(np.asarray(tensors16[name].data, dtype=np.float32), np.asarray(t.data), rtol=1e-3, atol=1e-4)
    assert sum(t.n_bytes for t in tensors16.values()) * 2 == sum(t.n_bytes for t in tensors32.values())
    with pytest.raises(ReportxError, match="f16 or f32"):
        _write_lora_gguf(adapter, tmp_path / "bad.gguf", "gemma3", dtype="q8")


# Reading back (continued fine-tuning starts from an exported adapter) ------------------------------------------


def test_read_lora_gguf_inverts_the_export_permutation_included(tmp_path, write_adapter):
    from reportx.export.lora import read_lora_gguf

    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps(
        {"model_type": "llama", "num_attention_heads": 2, "num_key_value_heads": 1, "num_hidden_layers": 1, "hidden_size": 16}
    ))
    tensors = {Q: (rand(4, 16), rand(16, 4, seed=1)), K: (rand(4, 16, seed=2), rand(8, 4, seed=3)),
               DOWN: (rand(4, 32, seed=4), rand(16, 4, seed=5))}
    result = export_lora(write_adapter(tensors), tmp_path / "a.gguf", base=hf)
    back = read_lora_gguf(result.path, n_head=2, n_head_kv=1)
    assert back.architecture == "llama" and back.alpha == result.alpha
    assert set(back.pairs) == {"layers.0.self_attn.q_proj", "layers.0.self_attn.k_proj", "layers.0.mlp.down_proj"}
    for module, (a, b) in tensors.items():
        got_a, got_b = back.pairs[module.removeprefix("model.")]
        assert np.array_equal(got_a, a) and np.array_equal(got_b, b), module
    with pytest.raises(ReportxError, match="head counts"):
        read_lora_gguf(result.path)


def test_read_lora_gguf_refuses_what_is_not_an_adapter(tmp_path):
    from reportx.export.lora import read_lora_gguf

    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(ReportxError, match="cannot read"):
        read_lora_gguf(empty)
    with pytest.raises(ReportxError, match="not a GGUF LoRA adapter"):
        read_lora_gguf(fake_base_gguf(tmp_path / "base.gguf"))


def test_the_adapter_says_what_it_answers(tmp_path, write_adapter):
    """``reportx.answer``: the run card's answer form (quotes), values for an adapter without a card; extraction
    reads it with reportx.models.answer_format."""
    import shutil

    from reportx.models import ANSWER_KEY, answer_format
    from reportx.train.runcard import RunCard

    base = fake_base_gguf(tmp_path / "base.gguf")
    plain = write_lora_gguf(qv_adapter(write_adapter), tmp_path / "plain.gguf", base=base)
    assert read_gguf_header(plain).get(ANSWER_KEY) == "values" and answer_format(plain) == "values"
    run = tmp_path / "run"
    run.mkdir()
    shutil.copytree(qv_adapter(write_adapter), run / "adapter")
    RunCard(config={"answer": "quotes"}).write(run)
    quoted = write_lora_gguf(run, tmp_path / "quotes.gguf", base=base)
    assert answer_format(quoted) == "quotes" and answer_format(None) == "values"
