"""End to end on a tiny random gemma3: `reportx train` a few steps on CPU, resume, export the adapter to GGUF,
and llama.cpp's logits for base + adapter match PyTorch's for the adapted model (and differ from the base's)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reportx.export.testing import torch_threads

pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("trl")
pytest.importorskip("llama_cpp")

#: llama.cpp and PyTorch both in float32 (f32 KV cache): measured max |difference| is about 2e-3 on this model.
TOLERANCE = 1e-2


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    from reportx.export.testing import build_tiny_base

    with torch_threads(1):
        return build_tiny_base(tmp_path_factory.mktemp("tiny-train"), hf_tokenizer=True)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    from reportx.schema import builtin_schema
    from reportx.synth import synthesize

    schema = builtin_schema()
    root = tmp_path_factory.mktemp("labelled")
    examples = synthesize(n=12, seed=3)
    for name, part in (("train", examples[:8]), ("val", examples[8:])):
        with (root / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for e in part:
                f.write(json.dumps({"id": e.id, "input": e.text, "output": schema.dumps(e.gold)}, ensure_ascii=False) + "\n")
    return root


def _config(tiny_base, labelled, out, **extra):
    from reportx.train import load_config

    overrides = {
        "base_model": str(tiny_base.hf_dir), "train_file": str(labelled / "train.jsonl"),
        "val_file": str(labelled / "val.jsonl"), "output_dir": str(out), "max_steps": 2, "gradient_accumulation": 2,
        "learning_rate": 0.02, "lora_r": 4, "lora_alpha": 8, "eval_every": 1, "save_every": 1, "logging_every": 1,
        "max_eval_examples": 2, "threads": 1, "warmup_ratio": 0.0, "lr_scheduler": "constant", **extra,
    }
    return load_config(None, [f"{k}={v}" for k, v in overrides.items()])


@pytest.fixture(scope="module")
def trained_run(tiny_base, labelled, tmp_path_factory):
    from reportx.train import train

    out = tmp_path_factory.mktemp("run") / "run"
    first = train(_config(tiny_base, labelled, out), show_progress=False)
    assert first.run_card.result.optimizer_steps == 2
    resumed = train(_config(tiny_base, labelled, out, max_steps=3), resume=True, show_progress=False)
    return resumed


def test_run_card_and_resume(trained_run, tiny_base):
    from reportx.train import load_run_card

    card = trained_run.run_card
    assert card.result.optimizer_steps == 3 and card.result.resumed is True
    assert card.base_model.kind == "hf" and card.base_model.architecture == "gemma3"
    assert card.backend.name == "hf" and "CPU" in card.backend.reason
    assert isinstance(card.backend.bf16_head_backward, bool)
    assert card.config["lora_r"] == 4 and card.data.train_examples == 8
    assert card.result.train_loss and card.result.final_eval_loss is not None
    assert (trained_run.output_dir / "run_card.md").read_text().startswith("# reportx run card")
    # what train wrote is what load_run_card reads back, with the keys a card has always had
    written = json.loads((trained_run.output_dir / "run_card.json").read_text())
    assert load_run_card(trained_run.output_dir) == card and card.to_dict() == written
    assert list(written) == [
        "reportx_run", "base_model", "schema", "prompt", "data", "backend", "config", "environment", "result", "adapter_dir"
    ]
    assert (trained_run.adapter_dir / "adapter_model.safetensors").is_file()


def test_existing_run_is_not_overwritten(trained_run, tiny_base, labelled):
    from reportx.errors import ReportxError
    from reportx.train import train

    with pytest.raises(ReportxError, match="already holds a run"):
        train(_config(tiny_base, labelled, trained_run.output_dir), show_progress=False)


TOKENS = [2, 818, 5279, 529, 506, 2228, 236761, 107, 236782, 236775, 17654, 1245, 6368, 1289, 236775]


def _torch_logits(tiny_base, adapter_dir):
    """PyTorch logits of TOKENS with the adapter, and without it."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    with torch_threads(1), torch.no_grad():
        base = AutoModelForCausalLM.from_pretrained(str(tiny_base.hf_dir), dtype=torch.float32).eval()
        adapted = PeftModel.from_pretrained(base, str(adapter_dir)).eval()
        want = adapted(torch.tensor([TOKENS])).logits[0].numpy()
        with adapted.disable_adapter():
            want_base = adapted(torch.tensor([TOKENS])).logits[0].numpy()
    return want, want_base


def _llama_logits(tiny_base, lora):
    from reportx.llamacpp import load_llama

    llm = load_llama(str(tiny_base.gguf), lora_path=str(lora) if lora else None, n_ctx=64, n_batch=64, logits_all=True,
                     n_threads=1, type_k=0, type_v=0, verbose=False)  # type 0: an f32 KV cache
    llm.eval(TOKENS)
    logits = np.array(llm.scores[: len(TOKENS)], dtype=np.float32)
    llm.close()
    return logits


def _assert_llama_cpp_applies(adapter_gguf, tiny_base, adapter_dir):
    want, want_base = _torch_logits(tiny_base, adapter_dir)
    got, got_base = _llama_logits(tiny_base, adapter_gguf), _llama_logits(tiny_base, None)
    diff = float(np.abs(got - want).max())
    effect = float(np.abs(want - want_base).max())
    print(f"trained adapter: max |llama.cpp - torch| = {diff:.2e}; adapter effect {effect:.3f}")
    assert diff < TOLERANCE
    assert (got.argmax(1) == want.argmax(1)).all()
    assert float(np.abs(got - got_base).max()) > 5 * TOLERANCE  # the adapter is really applied
    assert effect > 5 * TOLERANCE


def test_exported_adapter_matches_pytorch_in_llama_cpp(trained_run, tiny_base, tmp_path):
    from reportx.export import write_lora_gguf

    adapter_gguf = write_lora_gguf(trained_run.output_dir, tmp_path / "adapter.gguf")
    _assert_llama_cpp_applies(adapter_gguf, tiny_base, trained_run.adapter_dir)


def test_lora_on_the_last_layers_only_exports_and_applies(tiny_base, labelled, tmp_path):
    from gguf import GGUFReader
    from safetensors import safe_open

    from reportx.errors import ReportxError
    from reportx.export import write_lora_gguf
    from reportx.train import train

    with pytest.raises(ReportxError, match="has 6 decoder layers"):
        train(_config(tiny_base, labelled, tmp_path / "too-many", lora_layers=7), show_progress=False)

    run = train(_config(tiny_base, labelled, tmp_path / "run", lora_layers=2, max_steps=2), show_progress=False)
    assert run.run_card.config["lora_layers"] == 2
    with safe_open(str(run.adapter_dir / "adapter_model.safetensors"), "pt") as f:
        layers = {int(key.split(".layers.")[1].split(".")[0]) for key in f.keys()}
    assert layers == {4, 5}  # the tiny model has 6 layers

    adapter_gguf = write_lora_gguf(run.output_dir, tmp_path / "adapter.gguf")
    blocks = {t.name.split(".")[1] for t in GGUFReader(str(adapter_gguf)).tensors}
    assert blocks == {"4", "5"}
    _assert_llama_cpp_applies(adapter_gguf, tiny_base, run.adapter_dir)


def test_training_continues_from_an_exported_adapter(trained_run, tiny_base, labelled, tmp_path):
    from safetensors.numpy import load_file

    from reportx.errors import ReportxError
    from reportx.export import write_lora_gguf
    from reportx.train import train

    adapter_gguf = write_lora_gguf(trained_run.output_dir, tmp_path / "adapter.gguf", dtype="f32")
    # A learning rate too small to move anything: the continued run's adapter is the exported one.
    run = train(_config(tiny_base, labelled, tmp_path / "continued", init_adapter=adapter_gguf, max_steps=1,
                        learning_rate=1e-12), show_progress=False)
    want = load_file(str(trained_run.adapter_dir / "adapter_model.safetensors"))
    got = load_file(str(run.adapter_dir / "adapter_model.safetensors"))
    assert set(got) == set(want) and any(np.abs(w).max() > 1e-3 for k, w in want.items() if "lora_B" in k)
    for key, value in want.items():
        assert np.allclose(got[key], value, atol=1e-6), key
    assert run.run_card.config["init_adapter"] == str(adapter_gguf)
    with pytest.raises(ReportxError, match="rank 4"):
        train(_config(tiny_base, labelled, tmp_path / "other-rank", init_adapter=adapter_gguf, lora_r=8),
              show_progress=False)
