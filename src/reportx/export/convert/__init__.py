"""Full Hugging Face -> GGUF conversion in pure Python (the ``gguf`` package; no llama.cpp checkout or build),
for the families reportx supports: llama (TinyLlama), qwen2 (Qwen2.5) and gemma3 (text).

- :func:`convert_hf_to_gguf` — an HF model directory or hub id -> GGUF (f32, f16, q8_0, or q4_k_m through
  llama.cpp's quantiser), tokenizer and chat template included;
- :func:`export_merged_hf` — a training run on an HF base -> the adapter merged into the base -> GGUF.

:mod:`~reportx.export.convert.writers` holds one writer per architecture (hyper-parameters, tensor names and
layouts, config checks), :mod:`~reportx.export.convert.tokenizer` the tokenizer conversion.
"""

from reportx.export.convert.hf import QUANTS, convert_hf_to_gguf, export_merged_hf, merge_adapter, resolve_model_dir
from reportx.export.convert.tokenizer import add_hf_tokenizer
from reportx.export.convert.writers import BASE_WRITERS, BaseWriter, writer_for

__all__ = [
    "BASE_WRITERS",
    "BaseWriter",
    "QUANTS",
    "add_hf_tokenizer",
    "convert_hf_to_gguf",
    "export_merged_hf",
    "merge_adapter",
    "resolve_model_dir",
    "writer_for",
]
