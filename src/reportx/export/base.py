"""A minimal Hugging Face -> GGUF base-model writer (float32), with the tokenizer copied from a model GGUF.

Today it writes the ``gemma3`` architecture only; its purpose is testing export end to end with tiny randomly
initialised models that llama.cpp loads. Each architecture is a :class:`BaseWriter` (hyper-parameters, tensor
names, weight transforms, and the checks that the HF config matches what llama.cpp assumes), registered in
:data:`BASE_WRITERS`; llama / qwen2, tokenizers from HF files and quantisation are to be added the same way.

What llama.cpp assumes for gemma3 (llama-model.cpp / models/gemma3.cpp of the llama.cpp that llama-cpp-python
0.3.36 bundles) and the HF config must therefore match, checked by :meth:`Gemma3Writer.check_config`:

- every 6th layer (0-based 5, 11, ...) is global, the others use sliding-window attention of
  ``gemma3.attention.sliding_window`` tokens (HF ``layer_types`` must follow that pattern, a window must be set);
- local layers use rope base ``rope.freq_base_swa`` (10000 when absent: llama.cpp's converter does not write
  it; this writer does, and the bundled llama.cpp reads it, checked by a test with a base of 20000), global layers
  ``rope.freq_base``; no rope scaling (Gemma 3 4B+ use linear scaling on global layers: not written yet);
- attention scale ``1/sqrt(head_dim)`` (for every size but the 62-layer 27B): HF ``query_pre_attn_scalar`` must
  equal ``head_dim``;
- no final-logit or attention-logit soft-capping on the sliding-window graph; GELU (tanh approximation) MLP;
  embeddings scaled by ``sqrt(hidden_size)`` (both sides do it);
- RMSNorm weights: HF's Gemma3RMSNorm computes ``x * (1 + w)``, llama.cpp ``x * w``, so (like llama.cpp's
  converter) 1.0 is added to every ``*norm.weight``;
- the token embedding doubles as the output projection unless the file has ``output.weight``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from reportx.errors import ReportxError
from reportx.export.gguf_io import (
    GGUFHeader,
    GGUFValue,
    add_metadata,
    atomic_gguf_writer,
    read_gguf_header,
    tokenizer_metadata,
)
from reportx.export.safetensors_io import read_safetensors


@dataclass(frozen=True)
class TensorRule:
    """An HF tensor name pattern -> GGUF name (``{}`` = the layer number), with an optional transform."""

    pattern: str
    gguf: str
    transform: Callable[[np.ndarray, dict[str, Any]], np.ndarray] | None = None


def _plus_one(weight: np.ndarray, _config: dict[str, Any]) -> np.ndarray:
    return weight + np.float32(1.0)


class BaseWriter:
    """Per-architecture base writer. Subclasses set ``arch``, ``model_types``, ``rules`` and write the
    hyper-parameters."""

    arch: str = ""
    model_types: tuple[str, ...] = ()
    rules: tuple[TensorRule, ...] = ()

    def check_config(self, config: dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def write_hparams(self, writer: Any, config: dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def skip(self, name: str, config: dict[str, Any]) -> bool:
        """HF tensors that have no GGUF counterpart on purpose (e.g. a tied lm_head)."""
        return False

    def vocab_size(self, config: dict[str, Any]) -> int:
        return int(config["vocab_size"])

    def convert(self, state: dict[str, np.ndarray], config: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
        compiled = [(re.compile(f"^{rule.pattern}$"), rule) for rule in self.rules]
        for name in state:
            if self.skip(name, config):
                continue
            for regex, rule in compiled:
                match = regex.match(name)
                if match:
                    gguf_name = rule.gguf.format(*match.groups())
                    array = np.asarray(state[name], dtype=np.float32)
                    if rule.transform is not None:
                        array = rule.transform(array, config)
                    yield gguf_name, np.ascontiguousarray(array, dtype=np.float32)
                    break
            else:
                raise ReportxError(f"{self.arch} base export: HF tensor {name!r} has no GGUF counterpart")


def _rope_theta(config: dict[str, Any], layer_type: str, legacy_key: str, default: float) -> float:
    params = config.get("rope_parameters") or {}
    if isinstance(params.get(layer_type), dict) and params[layer_type].get("rope_theta") is not None:
        return float(params[layer_type]["rope_theta"])
    return float(config.get(legacy_key) or default)


def _rope_scaled(config: dict[str, Any]) -> bool:
    params = config.get("rope_parameters") or {}
    for entry in ([params.get("full_attention"), params.get("sliding_attention")] if params else []):
        if isinstance(entry, dict) and entry.get("rope_type", "default") != "default":
            return True
    scaling = config.get("rope_scaling")
    return bool(scaling) and (scaling.get("rope_type") or scaling.get("type")) not in (None, "default")


class Gemma3Writer(BaseWriter):
    arch = "gemma3"
    model_types = ("gemma3_text",)
    #: llama.cpp's fixed gemma3 assumptions (see the module docstring)
    SWA_PERIOD = 6
    LOCAL_ROPE_BASE = 10000.0  # HF's default and llama.cpp's when rope.freq_base_swa is absent
    rules = (
        TensorRule(r"model\.embed_tokens\.weight", "token_embd.weight"),
        TensorRule(r"model\.norm\.weight", "output_norm.weight", _plus_one),
        TensorRule(r"lm_head\.weight", "output.weight"),
        TensorRule(r"model\.layers\.(\d+)\.input_layernorm\.weight", "blk.{}.attn_norm.weight", _plus_one),
        TensorRule(r"model\.layers\.(\d+)\.self_attn\.q_proj\.weight", "blk.{}.attn_q.weight"),
        TensorRule(r"model\.layers\.(\d+)\.self_attn\.k_proj\.weight", "blk.{}.attn_k.weight"),
        TensorRule(r"model\.layers\.(\d+)\.self_attn\.v_proj\.weight", "blk.{}.attn_v.weight"),
        TensorRule(r"model\.layers\.(\d+)\.self_attn\.o_proj\.weight", "blk.{}.attn_output.weight"),
        TensorRule(r"model\.layers\.(\d+)\.self_attn\.q_norm\.weight", "blk.{}.attn_q_norm.weight", _plus_one),
        TensorRule(r"model\.layers\.(\d+)\.self_attn\.k_norm\.weight", "blk.{}.attn_k_norm.weight", _plus_one),
        TensorRule(r"model\.layers\.(\d+)\.post_attention_layernorm\.weight", "blk.{}.post_attention_norm.weight", _plus_one),
        TensorRule(r"model\.layers\.(\d+)\.pre_feedforward_layernorm\.weight", "blk.{}.ffn_norm.weight", _plus_one),
        TensorRule(r"model\.layers\.(\d+)\.post_feedforward_layernorm\.weight", "blk.{}.post_ffw_norm.weight", _plus_one),
        TensorRule(r"model\.layers\.(\d+)\.mlp\.gate_proj\.weight", "blk.{}.ffn_gate.weight"),
        TensorRule(r"model\.layers\.(\d+)\.mlp\.up_proj\.weight", "blk.{}.ffn_up.weight"),
        TensorRule(r"model\.layers\.(\d+)\.mlp\.down_proj\.weight", "blk.{}.ffn_down.weight"),
    )

    @staticmethod
    def head_dim(config: dict[str, Any]) -> int:
        return int(config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"])

    def layer_types(self, config: dict[str, Any]) -> list[str]:
        types = config.get("layer_types")
        if types:
            return list(types)
        period = int(config.get("sliding_window_pattern") or self.SWA_PERIOD)
        return ["sliding_attention" if (i + 1) % period else "full_attention" for i in range(config["num_hidden_layers"])]

    def check_config(self, config: dict[str, Any]) -> None:
        def refuse(why: str) -> None:
            raise ReportxError(f"gemma3 base export: {why}")

        n_layer = int(config["num_hidden_layers"])
        expected = [
            "sliding_attention" if i % self.SWA_PERIOD < self.SWA_PERIOD - 1 else "full_attention" for i in range(n_layer)
        ]
        if self.layer_types(config) != expected:
            refuse(f"llama.cpp makes every {self.SWA_PERIOD}th layer global; layer_types {self.layer_types(config)} differ")
        if not config.get("sliding_window"):
            refuse("a sliding_window is required (llama.cpp's gemma3 graph has sliding-window layers)")
        if _rope_scaled(config):
            refuse("rope scaling is not written yet")
        head_dim = self.head_dim(config)
        scalar = config.get("query_pre_attn_scalar", 256)
        if float(scalar) != float(head_dim):
            refuse(f"query_pre_attn_scalar {scalar} must equal head_dim {head_dim} (llama.cpp scales by 1/sqrt(head_dim))")
        if n_layer == 62:
            refuse("the 62-layer (27B) variant's attention scale is not handled")
        if config.get("final_logit_softcapping") or config.get("attn_logit_softcapping"):
            refuse("logit soft-capping is not applied by llama.cpp's gemma3 graph")
        if config.get("hidden_activation", "gelu_pytorch_tanh") not in ("gelu_pytorch_tanh", "gelu_tanh"):
            refuse(f"hidden_activation {config.get('hidden_activation')!r}: llama.cpp uses tanh-approximated GELU")
        if config.get("attention_bias"):
            refuse("attention biases are not written")
        if config.get("use_bidirectional_attention"):
            refuse("bidirectional attention is not a causal LM")

    def skip(self, name: str, config: dict[str, Any]) -> bool:
        return name == "lm_head.weight" and bool(config.get("tie_word_embeddings", True))

    def write_hparams(self, writer: Any, config: dict[str, Any]) -> None:
        head_dim = self.head_dim(config)
        writer.add_context_length(int(config.get("max_position_embeddings", 32768)))
        writer.add_embedding_length(int(config["hidden_size"]))
        writer.add_block_count(int(config["num_hidden_layers"]))
        writer.add_feed_forward_length(int(config["intermediate_size"]))
        writer.add_head_count(int(config["num_attention_heads"]))
        writer.add_head_count_kv(int(config.get("num_key_value_heads") or config["num_attention_heads"]))
        writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
        writer.add_rope_freq_base(_rope_theta(config, "full_attention", "rope_theta", 1_000_000.0))
        writer.add_rope_freq_base_swa(_rope_theta(config, "sliding_attention", "rope_local_base_freq", self.LOCAL_ROPE_BASE))
        writer.add_sliding_window(int(config["sliding_window"]))


#: llama.cpp architecture -> base writer
BASE_WRITERS: dict[str, BaseWriter] = {w.arch: w for w in (Gemma3Writer(),)}


def _config_and_state(hf_model: Any) -> tuple[dict[str, Any], Callable[[], dict[str, np.ndarray]], str]:
    """(config dict, lazy state dict as float32 numpy, a name) for a transformers model or an HF directory."""
    if isinstance(hf_model, (str, os.PathLike)):
        directory = Path(hf_model)
        try:
            config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ReportxError(f"cannot read {directory / 'config.json'}: {exc}") from None
        files = sorted(directory.glob("*.safetensors"))
        if not files:
            raise ReportxError(f"{directory} has no .safetensors weights (pickled .bin weights are never loaded)")

        def state() -> dict[str, np.ndarray]:
            merged: dict[str, np.ndarray] = {}
            for file in files:
                merged.update(read_safetensors(file))
            return merged

        return config, state, directory.name
    config_obj = getattr(hf_model, "config", None)
    if config_obj is None or not hasattr(hf_model, "state_dict"):
        raise ReportxError("write_base_gguf needs a transformers model or a Hugging Face model directory")
    config = config_obj.to_dict()

    def state_from_module() -> dict[str, np.ndarray]:
        return {k: v.detach().float().cpu().numpy() for k, v in hf_model.state_dict().items()}

    return config, state_from_module, str(getattr(config_obj, "name_or_path", "") or config.get("model_type"))


def write_base_gguf(
    hf_model: Any,
    out_path: str | Path,
    tokenizer_gguf: str | Path | GGUFHeader | dict[str, GGUFValue] | None = None,
    *,
    name: str | None = None,
) -> Path:
    """Write a transformers causal LM (a model object or an HF directory with safetensors) as a float32 GGUF.

    ``tokenizer_gguf`` supplies the vocabulary: a model GGUF whose ``tokenizer.*`` metadata is copied (default:
    the embedded default model), or that metadata already read with :func:`tokenizer_metadata`. Its token count
    must equal the model's ``vocab_size``. Only the gemma3 architecture (``Gemma3ForCausalLM``) is written today.
    """
    config, state, default_name = _config_and_state(hf_model)
    model_type = config.get("model_type")
    writer_spec = next((w for w in BASE_WRITERS.values() if model_type in w.model_types), None)
    if writer_spec is None:
        raise ReportxError(
            f"base export writes {', '.join(t for w in BASE_WRITERS.values() for t in w.model_types)} models, not {model_type!r}"
        )
    writer_spec.check_config(config)
    if tokenizer_gguf is None:
        from reportx.models import default_base_model

        tokenizer_gguf = default_base_model()
    tok_meta = tokenizer_gguf if isinstance(tokenizer_gguf, dict) else tokenizer_metadata(tokenizer_gguf)
    n_tokens = len(tok_meta["tokenizer.ggml.tokens"].value)
    if n_tokens != writer_spec.vocab_size(config):
        raise ReportxError(f"the tokenizer has {n_tokens} tokens but the model's vocab_size is {writer_spec.vocab_size(config)}")

    import gguf

    out_path = Path(out_path)
    with atomic_gguf_writer(out_path, writer_spec.arch) as writer:
        writer.add_type(gguf.GGUFType.MODEL)
        writer.add_name(name or default_name or writer_spec.arch)
        writer.add_file_type(gguf.LlamaFileType.ALL_F32)
        writer_spec.write_hparams(writer, config)
        add_metadata(writer, tok_meta)
        names = []
        for gguf_name, array in writer_spec.convert(state(), config):
            writer.add_tensor(gguf_name, array)
            names.append(gguf_name)
        if "token_embd.weight" not in names:
            raise ReportxError("the model has no token embedding (model.embed_tokens.weight)")
    return out_path


def read_base_header(path: str | Path) -> GGUFHeader:
    """The header of a base GGUF (no tokenizer arrays kept)."""
    return read_gguf_header(path, keep=lambda key: False)


__all__ = ["BASE_WRITERS", "BaseWriter", "Gemma3Writer", "TensorRule", "read_base_header", "write_base_gguf"]

