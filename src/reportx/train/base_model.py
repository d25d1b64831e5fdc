"""Finding and loading the base model a LoRA is trained on: the embedded default GGUF, any GGUF file
(transformers de-quantises it to float32), a local Hugging Face directory or a hub id."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reportx.errors import ReportxError
from reportx.models import sha256_file


@dataclass(frozen=True)
class BaseModelInfo:
    """Where a base model comes from; recorded in the run card so export and extract find the same base."""

    source: str  # what the user gave
    kind: str  # "gguf" | "hf" | "hub"
    path: str  # absolute .gguf file or HF directory, or the hub id
    sha256: str | None
    architecture: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sha256_dir(path: Path) -> str:
    # The weights and config identify a HF model directory; hash them in a fixed order.
    digest = hashlib.sha256()
    for file in sorted(p for p in path.iterdir() if p.suffix in {".json", ".safetensors", ".model"}):
        digest.update(file.name.encode())
        digest.update(sha256_file(file).encode())
    return digest.hexdigest()


def gguf_architecture(path: Path) -> str:
    """``general.architecture`` of a GGUF file."""
    from gguf import GGUFReader

    field = GGUFReader(str(path)).get_field("general.architecture")
    if field is None:
        raise ReportxError(f"{path} has no general.architecture: not a model GGUF")
    return str(field.contents())


def _hf_architecture(config_file: Path) -> str | None:
    """llama.cpp's architecture name for an HF model's config.json (the export registry's, so that export finds
    the same architecture the run card records), else the config's own model_type."""
    from reportx.export.archs import arch_of_config

    config = json.loads(config_file.read_text(encoding="utf-8"))
    return arch_of_config(config) or config.get("model_type")


def resolve_base(spec: str) -> BaseModelInfo:
    """Turn a config's ``base_model`` into a ``BaseModelInfo`` without loading weights."""
    if spec in ("default", "", None):
        from reportx.models import default_base_model

        path = default_base_model()
        return BaseModelInfo(spec or "default", "gguf", str(path), sha256_file(path), gguf_architecture(path))
    path = Path(spec).expanduser()
    if spec.endswith(".gguf"):
        if not path.is_file():
            raise ReportxError(f"base model file not found: {path}")
        return BaseModelInfo(spec, "gguf", str(path.resolve()), sha256_file(path), gguf_architecture(path))
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise ReportxError(f"{path} is not a Hugging Face model directory (no config.json)")
        return BaseModelInfo(spec, "hf", str(path.resolve()), _sha256_dir(path), _hf_architecture(config))
    if path.exists() or spec.startswith((".", "/", "~")):
        raise ReportxError(f"base model {spec!r}: expected a .gguf file, a model directory or a hub id")
    return BaseModelInfo(spec, "hub", spec, None, None)


def load_hf_model(info: BaseModelInfo, *, dtype: Any = None, quantization_config: Any = None):
    """Load ``(model, tokenizer)`` with transformers. GGUF weights are de-quantised to float32.

    Never runs remote code. A hub id needs a network; offline, the error says so in one line.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = dtype or torch.float32
    kwargs: dict[str, Any] = {"trust_remote_code": False}
    if info.kind == "gguf":
        # An absolute gguf_file: a bare name would pick up a same-named file in the working directory first.
        location, kwargs["gguf_file"] = str(Path(info.path).parent), str(Path(info.path).resolve())
    else:
        location = info.path
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            location, dtype=dtype, quantization_config=quantization_config, **kwargs
        )
    except OSError as exc:
        raise ReportxError(f"cannot load base model {info.source!r}: {str(exc).splitlines()[0]}") from None
    if info.kind == "gguf":
        _forget_gguf_quantizer(model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _forget_gguf_quantizer(model: Any) -> None:
    # transformers de-quantises GGUF weights to plain float tensors but still tags the model as "quantised with
    # GGUF", and its Trainer refuses to train such a model. The tensors are ordinary float32 parameters, so the
    # tag is dropped: a LoRA trains on them like on any float model.
    model.hf_quantizer = None
    model.is_quantized = False
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
