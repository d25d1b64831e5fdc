"""A Hugging Face -> GGUF base-model writer with the tokenizer copied from a model GGUF (float32 by default).

Its purpose is giving a model the exact vocabulary of another GGUF (the embedded default model's), e.g. tiny
randomly initialised models for end-to-end tests that llama.cpp loads. The architectures (model types, decoder
tensor names, the q / k permutation) are the registry's, :mod:`reportx.export.archs`; their hyper-parameters, the
other tensors, and the checks that an HF config matches what llama.cpp assumes, are the writers of
:mod:`reportx.export.convert.writers` (one :class:`BaseWriter` per architecture), shared with the full
conversion that takes the tokenizer from the HF files (:func:`reportx.export.convert.convert_hf_to_gguf`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reportx.errors import ReportxError
from reportx.export.convert.writers import (
    BASE_WRITERS,
    BaseWriter,
    Gemma3Writer,
    LlamaWriter,
    Qwen2Writer,
    TensorRule,
    config_and_state,
    write_model_gguf,
    writer_for,
)
from reportx.export.gguf_io import GGUFHeader, GGUFValue, add_metadata, read_gguf_header, tokenizer_metadata


def write_base_gguf(
    hf_model: Any,
    out_path: str | Path,
    tokenizer_gguf: str | Path | GGUFHeader | dict[str, GGUFValue] | None = None,
    *,
    name: str | None = None,
    out_type: str = "f32",
) -> Path:
    """Write a transformers causal LM (a model object or an HF directory with safetensors) as a GGUF whose
    tokenizer is copied from another GGUF.

    ``tokenizer_gguf`` supplies the vocabulary: a model GGUF whose ``tokenizer.*`` metadata is copied (default:
    the embedded default model), or that metadata already read with :func:`tokenizer_metadata`. Its token count
    must equal the model's ``vocab_size``. ``out_type``: "f32" (default), "f16" or "q8_0".
    """
    config, state, default_name = config_and_state(hf_model)
    writer_spec = writer_for(config)
    writer_spec.check_config(config)
    if tokenizer_gguf is None:
        from reportx.models import default_base_model

        tokenizer_gguf = default_base_model()
    tok_meta = tokenizer_gguf if isinstance(tokenizer_gguf, dict) else tokenizer_metadata(tokenizer_gguf)
    n_tokens = len(tok_meta["tokenizer.ggml.tokens"].value)
    if n_tokens != writer_spec.vocab_size(config):
        raise ReportxError(f"the tokenizer has {n_tokens} tokens but the model's vocab_size is {writer_spec.vocab_size(config)}")
    return write_model_gguf(
        Path(out_path),
        writer_spec,
        config,
        state(),
        lambda writer: add_metadata(writer, tok_meta),
        name=name or default_name or writer_spec.arch,
        out_type=out_type,
    )


def read_base_header(path: str | Path) -> GGUFHeader:
    """The header of a base GGUF (no tokenizer arrays kept)."""
    return read_gguf_header(path, keep=lambda key: False)


__all__ = [
    "BASE_WRITERS",
    "BaseWriter",
    "Gemma3Writer",
    "LlamaWriter",
    "Qwen2Writer",
    "TensorRule",
    "read_base_header",
    "write_base_gguf",
]
