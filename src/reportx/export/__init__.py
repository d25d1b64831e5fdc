"""Export: a trained PEFT LoRA adapter becomes GGUF for llama.cpp, with no llama.cpp checkout or build.

- :func:`write_lora_gguf` — PEFT adapter -> GGUF LoRA adapter loaded beside the base GGUF (``Llama(lora_path=...)``);
- :func:`write_base_gguf` — a minimal HF -> GGUF (float32) base writer, gemma3 only for now (tests);
- :func:`check_adapter` — greedy-answer parity between the trained PyTorch model and llama.cpp;
- :func:`export_run` — what ``reportx export RUN_DIR [--out] [--check N]`` does.

Only numpy and gguf are needed to export; the check needs the [train] extra.
"""

from reportx.export.base import write_base_gguf
from reportx.export.check import CheckResult, ExampleCheck, check_adapter
from reportx.export.gguf_io import read_gguf_header, tokenizer_metadata
from reportx.export.lora import LoraExport, export_lora, write_lora_gguf
from reportx.export.run import ExportResult, export_run

__all__ = [
    "CheckResult",
    "ExampleCheck",
    "ExportResult",
    "LoraExport",
    "check_adapter",
    "export_lora",
    "export_run",
    "read_gguf_header",
    "tokenizer_metadata",
    "write_base_gguf",
    "write_lora_gguf",
]
