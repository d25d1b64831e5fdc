"""Hugging Face checkpoint -> GGUF, and a training run's adapter merged into its Hugging Face base -> GGUF."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from reportx.errors import ReportxError
from reportx.export.convert.tokenizer import add_hf_tokenizer
from reportx.export.convert.writers import OUTPUT_TYPES, config_and_state, write_model_gguf, writer_for
from reportx.train.runcard import RunCard

#: output types: those written here, and q4_k_m (written as f16, then quantised by llama.cpp)
QUANTS = (*OUTPUT_TYPES, "q4_k_m")
#: what a GGUF export needs from a hub repository (no pickled weights, no other formats)
HUB_PATTERNS = ["*.json", "*.safetensors", "tokenizer.model", "*.jinja"]
#: tokenizer files a merged model takes from its base directory
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "tokenizer.model",
    "chat_template.jinja",
    "chat_template.json",
)


def resolve_model_dir(model: str | Path) -> Path:
    """A local HF model directory, or a hub id resolved to its snapshot: the local Hugging Face cache first,
    then a download (which needs a network)."""
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ReportxError(f"{path} is not a Hugging Face model directory (no config.json)")
        return path
    spec = str(model)
    if path.exists() or spec.startswith((".", "/", "~")) or spec.endswith(".gguf"):
        raise ReportxError(f"{spec!r}: expected a Hugging Face model directory or a hub id")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ReportxError(f"{spec!r} looks like a hub id; resolving it needs huggingface_hub") from None
    try:
        cached = Path(snapshot_download(spec, allow_patterns=HUB_PATTERNS, local_files_only=True))
        if (cached / "config.json").is_file() and any(cached.glob("*.safetensors")):
            return cached
    except Exception:  # noqa: BLE001 - not cached (or a partial cache): download below
        pass
    try:
        return Path(snapshot_download(spec, allow_patterns=HUB_PATTERNS))
    except Exception as exc:  # noqa: BLE001 - offline, unknown repo, gated model: one line for the user
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReportxError(f"cannot fetch {spec!r} from the Hugging Face hub: {first}") from None


def convert_hf_to_gguf(model_dir: str | Path, out: str | Path, quant: str = "f16", *, name: str | None = None) -> Path:
    """Convert a Hugging Face causal LM (llama / TinyLlama, qwen2 / Qwen2.5, gemma3 text) to a GGUF that
    llama.cpp loads: hyper-parameters, tensors, and the tokenizer from the HF files (vocabulary, merges or
    scores, special tokens, chat template).

    ``model_dir``: a directory with config.json, safetensors weights and tokenizer.json, or a hub id (from the
    local Hugging Face cache, else downloaded). ``quant``: "f32", "f16" (default), "q8_0" (1-D tensors and norms
    stay f32, as llama.cpp's converter does) or "q4_k_m" (f16 first, then llama.cpp's quantiser through
    :func:`reportx.export.quantize.quantize_gguf`). Returns ``out``.
    """
    quant = quant.lower()
    if quant not in QUANTS:
        raise ReportxError(f"quant must be one of {', '.join(QUANTS)}, not {quant!r}")
    directory = resolve_model_dir(model_dir)
    out = Path(out)
    if quant == "q4_k_m":
        try:
            from reportx.export.quantize import quantize_gguf
        except ImportError:
            raise ReportxError("q4_k_m output needs reportx.export.quantize (llama.cpp's quantiser)") from None
        f16 = out.with_name(f".{out.name}.f16.gguf")
        try:
            convert_hf_to_gguf(directory, f16, "f16", name=name)
            quantize_gguf(f16, out, "q4_k_m")
        finally:
            f16.unlink(missing_ok=True)
        return out
    config, state, default_name = config_and_state(directory)
    spec = writer_for(config)
    spec.check_config(config)
    vocab_size = spec.vocab_size(config)
    return write_model_gguf(
        out,
        spec,
        config,
        state(),
        lambda writer: add_hf_tokenizer(writer, directory, vocab_size),
        name=name or (str(model_dir) if not Path(model_dir).expanduser().is_dir() else default_name),
        out_type=quant,
    )


def _hf_base_of_run(card: RunCard, run_dir: Path) -> Path:
    kind, location = card.base_model.kind, card.base_model.path or card.base_model.source
    if kind not in ("hf", "hub") or not location:
        raise ReportxError(
            f"{run_dir}: the run's base is {kind or 'unknown'} ({location}), not a Hugging Face model; "
            "merged export here needs a Hugging Face base"
        )
    return resolve_model_dir(location)


def merge_adapter(base_dir: Path, adapter_dir: Path, out_dir: Path) -> Path:
    """Load the HF base (float32) and the PEFT adapter, merge (``merge_and_unload``) and save the merged model to
    ``out_dir`` as safetensors, with the base's tokenizer files. Needs the [train] extra."""
    try:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM
    except ImportError as exc:
        raise ReportxError(f"merging an adapter needs the [train] extra (torch, transformers, peft): {exc}") from None
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32, trust_remote_code=False)
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(str(out_dir))
    for file in TOKENIZER_FILES:
        if (base_dir / file).is_file():
            shutil.copy2(base_dir / file, out_dir / file)
    if not (out_dir / "tokenizer.json").is_file():
        # a base with only a slow tokenizer: transformers writes the tokenizer.json that export reads
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(str(base_dir)).save_pretrained(str(out_dir))
    return out_dir


def export_merged_hf(run_dir: str | Path, out: str | Path, quant: str = "f16") -> Path:
    """A training run whose base is a Hugging Face model (local directory or hub id) -> one merged GGUF: the
    adapter is merged into the base with PEFT (``merge_and_unload``), saved to a temporary directory and
    converted by :func:`convert_hf_to_gguf` (``quant`` as there). Returns ``out``."""
    from reportx.export.lora import locate_adapter

    adapter_dir, found_run, card = locate_adapter(run_dir)
    if card is None or found_run is None:
        raise ReportxError(f"{run_dir}: merged export needs a training run (run_card.json says which base to merge into)")
    base_dir = _hf_base_of_run(card, found_run)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # beside the output: the merged checkpoint is as large as the base, often too large for a tmpfs /tmp
    with tempfile.TemporaryDirectory(prefix=".reportx-merged-", dir=out.parent) as tmp:
        merged = merge_adapter(base_dir, adapter_dir, Path(tmp))
        return convert_hf_to_gguf(merged, out, quant, name=f"{base_dir.name} + {found_run.name} (merged)")
