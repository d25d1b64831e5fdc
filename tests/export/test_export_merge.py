"""Merged export (``reportx export RUN --merge``): base GGUF + LoRA folded into one GGUF model.

Measured on the tiny gemma3 of reportx.export.testing (16 tokens, logits up to about 4.5; llama.cpp with an f32 KV
cache), max |llama.cpp merged - PyTorch merged (PEFT merge_and_unload)|: 6.0e-3 for f16 (f16 rounding of the merged
weights; base + f32 adapter is 2.2e-3 in test_export_parity), 0.16 for q8_0 (Q8_0 rounding of every merged matrix of
a random model), 1.0 for q4_k_m (Q4_K / Q5_0 of everything), while merging moves the logits by about 5.7. The
tolerances below sit at about 3x those; "the merge is applied" is judged against the adapter's own effect.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("llama_cpp")
pytestmark = [pytest.mark.train, pytest.mark.model]

from test_export_parity import TOKENS  # noqa: E402
from test_export_parity import llama_logits as parity_logits  # noqa: E402

from reportx.errors import ReportxError  # noqa: E402
from reportx.export import export_lora, merge_run  # noqa: E402
from reportx.export.gguf_io import read_gguf_header  # noqa: E402
from reportx.export.merge import tensor_bytes, _tensor_f32, merge_lora_gguf  # noqa: E402

TOLERANCE = {"f16": 2e-2, "q8_0": 0.5, "q4_k_m": 3.0}


def llama_logits(model, lora=None) -> np.ndarray:
    """llama.cpp's logits on the parity test's tokens (f32 KV cache, one thread)."""
    return parity_logits(model, lora, TOKENS)


@pytest.fixture(scope="module")
def merged_torch(tiny_run):
    """PyTorch's merged model (PEFT merge_and_unload of a copy of the trained model): its logits and weights."""
    import torch

    from reportx.export.testing import torch_threads

    with torch_threads(1), torch.no_grad():
        merged = copy.deepcopy(tiny_run.model).merge_and_unload().eval()
        logits = merged(torch.tensor([TOKENS])).logits[0].numpy()
        with tiny_run.model.disable_adapter():
            base_logits = tiny_run.model(torch.tensor([TOKENS])).logits[0].numpy()
    weights = {name: p.detach().numpy().copy() for name, p in merged.named_parameters()}
    return logits, base_logits, weights


def gguf_name(hf_name: str) -> str | None:
    """``model.layers.3.self_attn.q_proj.weight`` -> ``blk.3.attn_q.weight`` (gemma3 needs no row permutation)."""
    from reportx.export.archs import STANDARD_LINEARS

    parts = hf_name.split(".")
    if len(parts) != 6 or parts[:2] != ["model", "layers"] or parts[-1] != "weight":
        return None
    linear = STANDARD_LINEARS.get(".".join(parts[3:5]))
    return f"blk.{parts[2]}.{linear}.weight" if linear else None


@pytest.mark.parametrize("quant", ["f16", "q8_0"])
def test_merged_gguf_matches_peft_merge(tiny_run, merged_torch, tmp_path, one_torch_thread, quant):
    result = merge_run(tiny_run.run_dir, tmp_path / "m.gguf", quant, base_gguf=tiny_run.base_gguf, n_threads=1)
    assert result.path == tmp_path / "m.gguf" and result.base_gguf == tiny_run.base_gguf
    assert len(result.merged) == 42 and set(result.merged.values()) == {quant.upper()} and not result.fallbacks
    assert result.copied == 80 - 42 and result.adapter == tiny_run.adapter_dir
    kept = np.array(list(result.delta_kept.values()))
    assert len(kept) == 42 and np.abs(kept - 1).max() < (1e-3 if quant == "f16" else 0.05), kept

    # weights: each merged tensor is PEFT's merged weight, up to the rounding of the written type
    merged = read_gguf_header(result.path, keep=lambda k: False)
    base = read_gguf_header(tiny_run.base_gguf, keep=lambda k: False)
    want_logits, base_logits, weights = merged_torch
    checked = 0
    for hf_name, want in weights.items():
        name = gguf_name(hf_name)
        if name is None:
            continue
        got = _tensor_f32(merged, name)
        # f16: half an ulp of f16 relative; Q8_0: half a step of 1/127 of the block's largest value
        bound = np.abs(want) * 2.0**-11 + 1e-7 if quant == "f16" else np.abs(want).max() / 127 * 0.51
        assert (np.abs(got - want) <= bound).all(), name
        assert np.abs(got - _tensor_f32(base, name)).max() > 1e-3, f"{name}: the delta is not applied"
        checked += 1
    assert checked == 42

    got_logits = llama_logits(result.path)
    diff = float(np.abs(got_logits - want_logits).max())
    effect = float(np.abs(want_logits - base_logits).max())
    print(f"{quant}: max |llama.cpp merged - torch merged| = {diff:.2e}; merge effect {effect:.2f}")
    assert diff < TOLERANCE[quant]
    assert float(np.abs(got_logits - base_logits).max()) > 10 * TOLERANCE[quant]


def test_untouched_tensors_keep_the_quantised_base_bytes(tiny_run, tmp_path, one_torch_thread):
    from reportx.export.quantize import quantize_gguf

    # a quantised base as llama.cpp writes one: Q8_0 matrices (blocks of 32 fit the tiny model's 64-wide rows)
    q8 = quantize_gguf(tiny_run.base_gguf, tmp_path / "base-q8.gguf", "q8_0", n_threads=1)
    assert q8.file_type == 7 and q8.types["Q8_0"] == 43 and not q8.fallbacks
    adapter = export_lora(tiny_run.run_dir, tmp_path / "adapter.gguf", base=q8.path, dtype="f32").path
    result = merge_lora_gguf(q8.path, adapter, tmp_path / "merged.gguf", "f16")

    base = read_gguf_header(q8.path)
    merged = read_gguf_header(result.path)
    assert list(merged.tensors) == list(base.tensors)  # same tensors, same order
    # every key/value of the base, as stored (tokenizer, hyper-parameters, file type), and what the adapter answers
    from reportx.models import ANSWER_KEY

    assert {k: v for k, v in merged.metadata.items() if k != ANSWER_KEY} == base.metadata
    assert merged.get(ANSWER_KEY) == "values"
    for name, info in base.tensors.items():
        if name in result.merged:
            assert merged.tensors[name].ggml_type == 1  # F16
        else:
            assert merged.tensors[name].ggml_type == info.ggml_type
            assert np.array_equal(tensor_bytes(merged, merged.tensors[name]), tensor_bytes(base, info)), name
    assert {base.tensors["token_embd.weight"].ggml_type, base.tensors["blk.0.attn_norm.weight"].ggml_type} == {8, 0}

    # the merged model answers like the quantised base + adapter in llama.cpp (both GGUF). They differ by the f16
    # rounding of de-quantised weight + delta, and mostly by the activations: llama.cpp rounds them to Q8_0 for a
    # Q8_0 weight, to f16 for an f16 one (measured 0.12 here, against an adapter effect of about 5.7)
    with_adapter = llama_logits(q8.path, lora=adapter)
    diff = float(np.abs(llama_logits(result.path) - with_adapter).max())
    effect = float(np.abs(llama_logits(q8.path) - with_adapter).max())
    print(f"merged f16 vs Q8_0 base + adapter in llama.cpp: max |diff| = {diff:.2e}, adapter effect {effect:.2f}")
    assert diff < TOLERANCE["q8_0"] and effect > 10 * TOLERANCE["q8_0"]


def test_q4_k_m_is_requantised_by_llama_cpp(tiny_run, merged_torch, tmp_path, one_torch_thread):
    result = merge_run(tiny_run.run_dir, tmp_path / "m.gguf", "q4_k_m", base_gguf=tiny_run.base_gguf, n_threads=1)
    header = read_gguf_header(result.path, keep=lambda k: False)
    assert result.file_type == 15 and header.get("general.file_type") == 15  # LLAMA_FTYPE_MOSTLY_Q4_K_M
    # attn_output rows (512) split into Q4_K blocks of 256; the 64- and 128-wide rows fall back as llama.cpp decides
    assert result.merged["blk.0.attn_output.weight"] == "Q4_K"
    assert result.merged["blk.0.attn_q.weight"] != "F16" and "blk.0.attn_q.weight" in result.fallbacks
    assert "blocks of 256" in result.fallbacks["blk.0.attn_q.weight"]
    assert not list(tmp_path.glob(".merge-*")), "the f16 intermediate is removed"

    # the random adapter's change is large next to the tiny model's 4-bit steps, so most of it survives here (with a
    # trained LoRA on a 4-bit base it does not: see test_summary_warns_when_the_change_is_rounded_away)
    assert 0.5 < result.median_delta_kept < 1.5
    want_logits, base_logits, _ = merged_torch
    got = llama_logits(result.path)
    diff = float(np.abs(got - want_logits).max())
    print(f"q4_k_m: max |llama.cpp merged - torch merged| = {diff:.2e}")
    assert diff < TOLERANCE["q4_k_m"]
    # closer to the fine-tuned model than the base is: the merge survives the quantisation
    assert diff < float(np.abs(base_logits - want_logits).max()) / 2


def test_summary_warns_when_the_change_is_rounded_away(tmp_path):
    from reportx.export import MergeResult
    from reportx.export.merge import delta_kept

    rng = np.random.default_rng(0)
    base = np.round(rng.normal(size=(8, 64)) * 8) / 8  # weights on a grid of step 1/8
    delta = rng.normal(size=base.shape) * 0.01  # a change far below the step
    assert delta_kept(base + delta, base, delta) == pytest.approx(1.0)
    rounded = np.round((base + delta) * 8) / 8  # re-quantised onto the same grid: the change is gone
    assert abs(delta_kept(rounded, base, delta)) < 0.05
    result = MergeResult(path=tmp_path / "m.gguf", quant="q4_k_m", architecture="gemma3", base_gguf=None,
                         adapter=tmp_path, delta_kept={"a": 0.08, "b": 0.1, "c": 0.05})
    assert "adapter change kept 8%" in result.summary() and "WARNING" in result.summary()
    result.delta_kept = {"a": 1.0}
    assert "kept 100%" in result.summary() and "WARNING" not in result.summary()


def test_modelfile(tiny_run, tmp_path, one_torch_thread):
    from reportx.prompts import finetuned_prompt
    from reportx.schema import load_schema

    result = merge_run(tiny_run.run_dir, tmp_path / "out" / "tiny.gguf", base_gguf=tiny_run.base_gguf, ollama=True)
    assert result.modelfile == tmp_path / "out" / "Modelfile"
    text = result.modelfile.read_text()
    lines = text.splitlines()
    assert "FROM ./tiny.gguf" in lines
    template = finetuned_prompt("{{ .Prompt }}", load_schema(None))
    assert f'TEMPLATE """{template}"""' in text and template.endswith("JSON:\n")
    assert "PARAMETER temperature 0" in lines
    assert "PARAMETER num_ctx 2048" in lines  # extract's 4096, capped at the tiny model's trained context
    assert "PARAMETER num_predict 256" in lines
    stops = {json.loads(line.split(" ", 2)[2]) for line in lines if line.startswith("PARAMETER stop ")}
    assert {"<eos>", "<end_of_turn>"} <= stops


def test_check_against_pytorch_and_against_the_adapter(tiny_run, tmp_path, one_torch_thread):
    out = tmp_path / "m.gguf"
    result = merge_run(
        tiny_run.run_dir, out, base_gguf=tiny_run.base_gguf, check=2, max_tokens=8, torch_model=tiny_run.model,
        n_threads=1,
    )
    check = result.check
    assert check.reference == "pytorch" and (check.n, check.matches) == (2, 2)
    assert all(len(e.gguf_tokens) == 8 and e.gguf_tokens == e.torch_tokens for e in check.examples)
    assert result.check_file == tmp_path / "m.check.json" and json.loads(result.check_file.read_text())["rate"] == 1.0
    assert "2/2 answers identical to the trained model's" in result.summary()

    result = merge_run(
        tiny_run.run_dir, out, base_gguf=tiny_run.base_gguf, check=2, max_tokens=8, check_against="adapter", n_threads=1
    )
    check = result.check
    assert check.reference.startswith("llama.cpp: ") and (check.n, check.matches) == (2, 2)
    assert check.adapter_gguf is None and check.base_gguf == str(out)


def test_merge_from_a_gguf_adapter_like_the_bundled_one(tiny_run, tmp_path, one_torch_thread):
    # the bundled adapter ships as run_card.json + adapter.gguf (f16), with no PEFT adapter directory
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / "run_card.json").write_text((tiny_run.run_dir / "run_card.json").read_text())
    export_lora(tiny_run.run_dir, bundled / "adapter.gguf", base=tiny_run.base_gguf)
    result = merge_run(bundled, base_gguf=tiny_run.base_gguf, check=2, max_tokens=8, n_threads=1)
    assert result.path == bundled / "merged-f16.gguf" and result.adapter == bundled / "adapter.gguf"
    assert len(result.merged) == 42
    assert result.check.reference.startswith("llama.cpp") and result.check.matches == 2  # auto: against the adapter
    with pytest.raises(ReportxError, match="no PEFT adapter"):
        merge_run(bundled, base_gguf=tiny_run.base_gguf, check=1, check_against="pytorch")


def test_merge_refusals(tiny_run, tmp_path, monkeypatch):
    with pytest.raises(ReportxError, match="--quant must be one of"):
        merge_run(tiny_run.run_dir, tmp_path / "m.gguf", "q5_k")
    with pytest.raises(ReportxError, match="--check-against"):
        merge_run(tiny_run.run_dir, tmp_path / "m.gguf", check_against="torch")
    with pytest.raises(ReportxError, match="not a training run"):
        merge_run(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "run_card.json").write_text("{}")
    with pytest.raises(ReportxError, match="neither a PEFT adapter"):
        merge_run(empty)
    with pytest.raises(ReportxError, match="overwrite its own input"):
        merge_lora_gguf(tiny_run.base_gguf, tmp_path / "a.gguf", tiny_run.base_gguf)
    with pytest.raises(ReportxError, match="not a GGUF LoRA adapter"):
        merge_lora_gguf(tiny_run.base_gguf, tiny_run.base_gguf, tmp_path / "m.gguf")
    # the tiny run's base is a Hugging Face directory: without --base it goes to the HF converter
    monkeypatch.setitem(sys.modules, "reportx.export.convert", None)  # as if the converter were not installed
    with pytest.raises(ReportxError, match="needs the HF -> GGUF converter"):
        merge_run(tiny_run.run_dir, tmp_path / "m.gguf")


def test_merge_refuses_an_adapter_for_another_base(tiny_run, tmp_path, gemma_tokenizer, one_torch_thread):
    from reportx.export.testing import build_tiny_base

    wider = build_tiny_base(tmp_path / "wider", gemma_tokenizer, hf_dir=False, model_overrides={"hidden_size": 96})
    adapter = export_lora(tiny_run.run_dir, tmp_path / "adapter.gguf", base=tiny_run.base_gguf).path
    with pytest.raises(ReportxError, match="another base model"):
        merge_lora_gguf(wider.gguf, adapter, tmp_path / "m.gguf")


def run_cli(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "reportx", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def test_cli_merge(tiny_run, tmp_path):
    out = tmp_path / "tiny-q8.gguf"
    result = run_cli("export", str(tiny_run.run_dir), "--merge", "--quant", "q8_0", "--ollama", "--base",
                     str(tiny_run.base_gguf), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.is_file() and (tmp_path / "Modelfile").is_file()
    assert "42 merged tensors as Q8_0, 38 copied from the base" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--quant", "q8_0"], "--quant applies to a merged model: add --merge"),
        (["--ollama"], "--ollama applies to a merged model: add --merge"),
        (["--check-against", "adapter"], "--check-against applies to a merged model"),
        (["--merge", "--dtype", "f32"], "with --merge use --quant"),
        (["--merge", "--quant", "q2_k"], "'q2_k' is not one of 'f16', 'q8_0', 'q4_k_m'"),
    ],
)
def test_cli_merge_errors_are_one_line(tiny_run, args, message):
    result = run_cli("export", str(tiny_run.run_dir), *args)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("reportx: error:") and message in lines[0], result.stderr
