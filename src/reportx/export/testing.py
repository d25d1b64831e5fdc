"""Tiny randomly initialised models for testing export end to end on a CPU in seconds (needs the [train] extra).

:func:`build_tiny_run` makes what a training run leaves behind, with a real llama.cpp-loadable base:

    root/base.gguf           tiny gemma3, float32, tokenizer copied from the default model (262144 tokens)
    root/run/adapter/        PEFT LoRA (q/k/v/o/gate/up/down) with random, non-zero lora_B
    root/run/run_card.json   base_model {kind: gguf, path, sha256, architecture: gemma3}, schema, data.val_file
    root/val.jsonl           a few labelled reports (only when ``val_reports`` are given)

The tiny config keeps what llama.cpp's gemma3 graph assumes (see :mod:`reportx.export.base`) and is chosen so
that transformers reads ``base.gguf`` back into the very same model (``from_pretrained(dir, gguf_file=...)``,
checked to give identical logits): transformers' GGUF loader takes ``head_dim`` from ``attention.key_length`` but
leaves ``query_pre_attn_scalar`` at its default 256, so ``head_dim`` is 256 here. With 6 layers, layer 5 is a
global-attention layer and layers 0-4 use a sliding window of 8 tokens, so a 16-token check exercises both rope
bases and the window.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportx.export.gguf_io import GGUFValue

TINY_GEMMA3: dict[str, Any] = {
    "vocab_size": 262144,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 6,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 256,
    "query_pre_attn_scalar": 256,
    "sliding_window": 8,
    "max_position_embeddings": 2048,
}

ALL_LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def tiny_gemma3(seed: int = 0, *, embed_std: float = 0.1, **overrides: Any):
    """A random ``Gemma3ForCausalLM`` (float32, eval mode). Norm weights are random too (so the +1 that GGUF
    export adds is exercised), and the (tied) embedding has std ``embed_std`` so that logits are spread enough
    for greedy decoding to have clear winners."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    config = Gemma3TextConfig(**{**TINY_GEMMA3, **overrides})
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = Gemma3ForCausalLM(config).float().eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
            elif name.endswith("embed_tokens.weight"):
                param.copy_(torch.randn(param.shape, generator=generator) * embed_std)
    return model


def add_random_lora(
    model: Any,
    *,
    r: int = 4,
    lora_alpha: float = 8,
    use_rslora: bool = False,
    target_modules: tuple[str, ...] = ALL_LINEARS,
    seed: int = 1,
    b_std: float = 0.05,
    **lora_kwargs: Any,
):
    """Wrap ``model`` (in place) in a PEFT LoRA whose ``lora_B`` weights are random and non-zero, so the adapter
    really changes the outputs. Returns the ``PeftModel`` (use ``with peft_model.disable_adapter():`` for the
    base)."""
    import torch
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=r,
        lora_alpha=lora_alpha,  # type: ignore[arg-type]  # PEFT annotates int but scales by alpha / r in floats
        use_rslora=use_rslora,
        target_modules=list(target_modules),
        lora_dropout=0.0,
        **lora_kwargs,
    )
    peft_model = get_peft_model(model, config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * b_std)
    return peft_model.eval()


@dataclass
class TinyBase:
    gguf: Path  # float32 base GGUF with the default model's tokenizer: llama.cpp and transformers both load it
    hf_dir: Path | None  # the same weights as a Hugging Face directory (safetensors), or None
    model: Any  # the Gemma3ForCausalLM itself


def build_tiny_base(
    root: str | Path,
    tokenizer_gguf: str | Path | dict[str, GGUFValue] | None = None,
    *,
    seed: int = 0,
    hf_dir: bool = True,
    hf_tokenizer: bool = False,
    model_overrides: dict[str, Any] | None = None,
) -> TinyBase:
    """A tiny random gemma3 base for end-to-end tests: ``root/base.gguf`` and (``hf_dir``) ``root/hf``.

    Either can be a ``base_model`` for ``reportx train``: the GGUF is what the embedded default is (transformers
    de-quantises it; reading its 262k-token vocabulary takes 10-30 s), the HF directory loads in about a second
    but training also needs a tokenizer there: ``hf_tokenizer=True`` converts the default model's GGUF tokenizer
    with transformers and saves it into ``root/hf`` (about 15 s). A run trained on the HF directory is exported
    and checked with ``reportx export RUN --check N --base root/base.gguf``.
    """
    from reportx.export.base import write_base_gguf

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    from reportx.models import default_base_model

    model = tiny_gemma3(seed, **(model_overrides or {}))
    if tokenizer_gguf is None:
        tokenizer_gguf = default_base_model()
    gguf = write_base_gguf(model, root / "base.gguf", tokenizer_gguf, name="tiny gemma3 (reportx tests)")
    directory = None
    if hf_dir:
        directory = root / "hf"
        model.save_pretrained(str(directory))
        if hf_tokenizer:
            from transformers import AutoTokenizer

            # transformers needs the file itself (pre-read metadata will not do)
            source = Path(tokenizer_gguf) if isinstance(tokenizer_gguf, (str, Path)) else default_base_model()
            tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=str(source.resolve()))
            tokenizer.save_pretrained(str(directory))
    return TinyBase(gguf=gguf, hf_dir=directory, model=model)


@dataclass
class TinyRun:
    root: Path
    base_gguf: Path
    run_dir: Path
    adapter_dir: Path
    model: Any  # the PeftModel (base + adapter), float32, eval mode
    val_file: Path | None = None


def build_tiny_run(
    root: str | Path,
    tokenizer_gguf: str | Path | dict[str, GGUFValue] | None = None,
    *,
    seed: int = 0,
    val_reports: list[dict[str, Any]] | None = None,
    schema: str | None = None,
    model_overrides: dict[str, Any] | None = None,
    base_kind: str = "gguf",
    **lora: Any,
) -> TinyRun:
    """Write a tiny gemma3 base GGUF and a training-run directory with a random LoRA (see the module docstring).

    ``tokenizer_gguf``: the model GGUF (or its :func:`~reportx.export.gguf_io.tokenizer_metadata`) whose vocabulary
    the base gets; default the embedded default model. ``base_kind="hf"`` also saves the base as a Hugging Face
    directory ``root/hf`` (safetensors, no tokenizer files) and makes the run card point at it, as a run trained on
    an HF base would (transformers loads it in a second, where reading ``base.gguf`` back takes tens of seconds:
    transformers parses the 262k-token vocabulary). ``lora`` goes to :func:`add_random_lora`.
    """
    from reportx.models import sha256_file
    from reportx.train.runcard import ADAPTER_DIR, RUN_CARD_VERSION, CardBase, CardData, RunCard

    if base_kind not in ("gguf", "hf"):
        raise ValueError(f"base_kind must be 'gguf' or 'hf', not {base_kind!r}")
    root = Path(root)
    base = build_tiny_base(root, tokenizer_gguf, seed=seed, hf_dir=base_kind == "hf", model_overrides=model_overrides)
    model, base_gguf = base.model, base.gguf
    base_path = base_gguf if base_kind == "gguf" else base.hf_dir
    assert base_path is not None
    peft_model = add_random_lora(model, seed=seed + 1, **lora)
    run_dir = root / "run"
    adapter_dir = run_dir / "adapter"
    peft_model.save_pretrained(str(adapter_dir))
    val_file = None
    if val_reports:
        val_file = root / "val.jsonl"
        val_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in val_reports), encoding="utf-8")
    card = RunCard(
        reportx_run=RUN_CARD_VERSION,
        base_model=CardBase(
            source=str(base_path),
            kind=base_kind,
            path=str(base_path.resolve()),
            sha256=sha256_file(base_gguf) if base_kind == "gguf" else None,
            architecture="gemma3",
        ),
        schema=schema,
        prompt="reportx.prompts.finetuned_prompt",
        data=CardData(train_file=None, val_file=str(val_file) if val_file else None),
        adapter_dir=ADAPTER_DIR,
    )
    card.write(run_dir)
    return TinyRun(root=root, base_gguf=base_gguf, run_dir=run_dir, adapter_dir=adapter_dir, model=peft_model, val_file=val_file)


@contextlib.contextmanager
def torch_threads(n: int):
    """Run a block with ``n`` torch threads (tests use 1: on a shared 2-core machine, 2 threads that lose a core
    to another process wait on each other at every parallel region)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
