"""Export: a trained PEFT LoRA adapter becomes GGUF for llama.cpp, with no llama.cpp checkout or build.

- :func:`write_lora_gguf` — PEFT adapter -> GGUF LoRA adapter loaded beside the base GGUF (llama_cpp.Llama's ``lora_path``);
- :func:`reportx.export.convert.convert_hf_to_gguf` — a Hugging Face checkpoint (llama, qwen2, gemma3) -> GGUF with
  its tokenizer and chat template (f32 / f16 / q8_0 / q4_k_m); :func:`write_base_gguf` writes a model already in
  memory the same way (the tests' tiny bases);
- :func:`check_adapter` / :func:`check_gguf` — greedy-answer parity between the trained PyTorch model and llama.cpp
  (base + adapter, or a merged model); :func:`compare_ggufs` — the same between two GGUF models in llama.cpp;
- :func:`export_run` — what ``reportx export RUN_DIR [--out] [--check N]`` does;
- :func:`merge_run` — what ``reportx export RUN_DIR --merge [--quant] [--ollama]`` does: one GGUF model with the
  adapter merged in (:func:`merge_lora_gguf` for a base GGUF + GGUF LoRA), optionally re-quantised by llama.cpp
  (:func:`quantize_gguf`) and with an Ollama Modelfile (:func:`write_modelfile`).

Only numpy and gguf are needed to export; the check needs the [train] extra.
"""

from reportx.export.base import write_base_gguf
from reportx.export.check import CheckResult, ExampleCheck, check_adapter, check_gguf, compare_ggufs
from reportx.export.gguf_io import read_gguf_header, tokenizer_metadata
from reportx.export.lora import LoraExport, export_lora, write_lora_gguf
from reportx.export.merge import MergeResult, merge_lora_gguf, merge_run, write_modelfile
from reportx.export.quantize import QuantizeResult, quantize_gguf
from reportx.export.run import ExportResult, export_run

__all__ = [
    "CheckResult",
    "ExampleCheck",
    "ExportResult",
    "LoraExport",
    "MergeResult",
    "QuantizeResult",
    "check_adapter",
    "check_gguf",
    "compare_ggufs",
    "export_lora",
    "export_run",
    "merge_lora_gguf",
    "merge_run",
    "quantize_gguf",
    "read_gguf_header",
    "tokenizer_metadata",
    "write_base_gguf",
    "write_lora_gguf",
    "write_modelfile",
]
