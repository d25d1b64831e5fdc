"""One :class:`BaseWriter` per llama.cpp architecture: hyper-parameters, tensor names and weight layouts of a
Hugging Face causal LM in GGUF, and the checks that its config is one llama.cpp computes the same way.

Which HF model types each writer takes, the decoder linears' GGUF names and the q / k row permutation come from
the one architecture registry, :mod:`reportx.export.archs` (shared with LoRA export); a writer adds what only a
whole model has: hyper-parameters, norms, embeddings, biases, config checks.

What llama.cpp (the one llama-cpp-python 0.3.36 bundles) assumes, per architecture:

``llama`` (TinyLlama, Llama 2 style; HF ``LlamaForCausalLM``, and ``MistralForCausalLM`` without a sliding window)
    rope in the interleaved ("normal") layout, so the q / k projection rows are permuted from HF's half-split
    layout (:func:`~reportx.export.archs.rope_permute_rows`, as llama.cpp's converter does); SiLU MLP; no biases;
    ``rope.dimension_count`` = head size; an untied ``lm_head`` becomes ``output.weight``; full attention only
    (llama.cpp's llama graph has no sliding window, so a window shorter than the context is refused).
``qwen2`` (Qwen2.5; HF ``Qwen2ForCausalLM``)
    NEOX rope, which is HF's layout: no permutation; q / k / v projections carry biases
    (``blk.N.attn_q.bias`` ...); no sliding window (llama.cpp's qwen2 graph has none); Qwen2.5 0.5B ties
    ``lm_head`` to the embedding.
``gemma3`` (HF ``Gemma3ForCausalLM``; a multimodal ``Gemma3ForConditionalGeneration`` checkpoint is refused)
    - every 6th layer (0-based 5, 11, ...) is global, the others use sliding-window attention of
      ``gemma3.attention.sliding_window`` tokens (HF ``layer_types`` must follow that pattern, a window must be set);
    - local layers use rope base ``rope.freq_base_swa`` (10000 when absent: llama.cpp's converter does not write
      it; this writer does, and the bundled llama.cpp reads it, checked by a test with a base of 20000), global
      layers ``rope.freq_base``; no rope scaling (Gemma 3 4B+ use linear scaling on global layers: not written yet);
    - attention scale ``1/sqrt(head_dim)`` (for every size but the 62-layer 27B): HF ``query_pre_attn_scalar``
      must equal ``head_dim``;
    - no final-logit or attention-logit soft-capping on the sliding-window graph; GELU (tanh approximation) MLP;
      embeddings scaled by ``sqrt(hidden_size)`` (both sides do it);
    - RMSNorm weights: HF's Gemma3RMSNorm computes ``x * (1 + w)``, llama.cpp ``x * w``, so (like llama.cpp's
      converter) 1.0 is added to every ``*norm.weight``;
    - the token embedding doubles as the output projection unless the file has ``output.weight``.

Tensor types follow llama.cpp's converter: 1-D tensors, norms and biases stay float32; 2-D weights take the
output type (f32, f16 or q8_0), and a weight whose rows do not split into q8_0 blocks of 32 falls back to f16.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reportx.errors import ReportxError
from reportx.export.archs import ARCHITECTURES, MODEL_TYPE_TO_ARCH, ArchSpec
from reportx.export.gguf_io import atomic_gguf_writer
from reportx.export.safetensors_io import read_safetensors

Transform = Callable[[np.ndarray, dict[str, Any]], np.ndarray]


@dataclass(frozen=True)
class TensorRule:
    """An HF tensor name pattern -> GGUF name (``{}`` = the layer number), with an optional transform."""

    pattern: str
    gguf: str
    transform: Transform | None = None


def _plus_one(weight: np.ndarray, _config: dict[str, Any]) -> np.ndarray:
    return weight + np.float32(1.0)


def _gguf_rows(spec: ArchSpec, linear: str) -> Transform:
    """The transform that puts ``linear``'s rows in GGUF's order (the architecture's q / k permutation)."""

    def transform(weight: np.ndarray, config: dict[str, Any]) -> np.ndarray:
        return spec.rows_to_gguf(linear, weight, int(config["num_attention_heads"]), _n_kv_heads(config))

    return transform


def _n_kv_heads(config: dict[str, Any]) -> int:
    return int(config.get("num_key_value_heads") or config["num_attention_heads"])


def _layer_rules(
    spec: ArchSpec,
    norms: dict[str, str],
    *,
    norm_transform: Transform | None = None,
    biases: tuple[str, ...] = (),
) -> tuple[TensorRule, ...]:
    """Rules for ``model.layers.N.*``: the architecture's projections (names and row order from the registry,
    shared with LoRA export), the given norms (HF module -> GGUF base name), and biases of the given projections."""
    layer = r"model\.layers\.(\d+)\."
    rules = [
        TensorRule(
            layer + re.escape(hf) + r"\.weight", f"blk.{{}}.{name}.weight", _gguf_rows(spec, hf) if spec.permutes(hf) else None
        )
        for hf, name in spec.linears.items()
    ]
    rules += [TensorRule(layer + re.escape(hf) + r"\.bias", f"blk.{{}}.{spec.linears[hf]}.bias") for hf in biases]
    rules += [TensorRule(layer + re.escape(hf) + r"\.weight", f"blk.{{}}.{name}.weight", norm_transform) for hf, name in norms.items()]
    return tuple(rules)


def _model_rules(norm_transform: Transform | None = None) -> tuple[TensorRule, ...]:
    return (
        TensorRule(r"model\.embed_tokens\.weight", "token_embd.weight"),
        TensorRule(r"model\.norm\.weight", "output_norm.weight", norm_transform),
        TensorRule(r"lm_head\.weight", "output.weight"),
    )


def _rope_params(config: dict[str, Any], layer_type: str | None = None) -> dict[str, Any]:
    """The rope parameters of one layer type: transformers 5 writes ``rope_parameters`` (per layer type for
    gemma3), older configs ``rope_theta`` / ``rope_scaling`` at the top level."""
    params = config.get("rope_parameters") or {}
    if layer_type and isinstance(params.get(layer_type), dict):
        return params[layer_type]
    if params and not any(isinstance(v, dict) for v in params.values()):
        return params
    return {}


def _rope_theta(config: dict[str, Any], layer_type: str | None, legacy_key: str, default: float) -> float:
    theta = _rope_params(config, layer_type).get("rope_theta")
    return float(theta if theta is not None else (config.get(legacy_key) or default))


def _rope_scaled(config: dict[str, Any]) -> bool:
    params = config.get("rope_parameters") or {}
    entries = [v for v in params.values() if isinstance(v, dict)] or ([params] if params else [])
    if any(entry.get("rope_type", "default") != "default" for entry in entries):
        return True
    scaling = config.get("rope_scaling") or {}
    return bool(scaling) and (scaling.get("rope_type") or scaling.get("type")) not in (None, "default")


class BaseWriter:
    """Per-architecture writer. Subclasses set ``spec`` (the architecture in the registry), ``rules`` and write
    the hyper-parameters. (The tokenizer's kind is read from the tokenizer files: see
    :mod:`reportx.export.convert.tokenizer`.)"""

    spec: ArchSpec
    rules: tuple[TensorRule, ...] = ()
    #: HF's default for ``tie_word_embeddings`` when a config does not say
    tie_default: bool = False

    def check_config(self, config: dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def write_hparams(self, writer: Any, config: dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def arch(self) -> str:
        """llama.cpp's architecture name (``general.architecture``)."""
        return self.spec.name

    @property
    def model_types(self) -> tuple[str, ...]:
        """The HF model types this writer converts (the registry's)."""
        return self.spec.model_types

    def refuse(self, why: str) -> None:
        raise ReportxError(f"{self.arch} export: {why}")

    def head_dim(self, config: dict[str, Any]) -> int:
        return int(config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"])

    def tied(self, config: dict[str, Any]) -> bool:
        tied = config.get("tie_word_embeddings")
        return self.tie_default if tied is None else bool(tied)

    def skip(self, name: str, config: dict[str, Any]) -> bool:
        """HF tensors that have no GGUF counterpart on purpose: a tied lm_head (llama.cpp then reads the
        embedding) and rope frequency buffers that older checkpoints saved."""
        return (name == "lm_head.weight" and self.tied(config)) or name.endswith("rotary_emb.inv_freq")

    def vocab_size(self, config: dict[str, Any]) -> int:
        return int(config["vocab_size"])

    def write_common_hparams(self, writer: Any, config: dict[str, Any], default_context: int) -> None:
        writer.add_context_length(int(config.get("max_position_embeddings") or default_context))
        writer.add_embedding_length(int(config["hidden_size"]))
        writer.add_block_count(int(config["num_hidden_layers"]))
        writer.add_feed_forward_length(int(config["intermediate_size"]))
        writer.add_head_count(int(config["num_attention_heads"]))
        writer.add_head_count_kv(_n_kv_heads(config))
        writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps") or 1e-6))

    def convert(self, state: dict[str, np.ndarray], config: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
        """``(GGUF name, float32 array)`` for every HF tensor, transformed; an unknown tensor is refused."""
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
                self.refuse(f"HF tensor {name!r} has no GGUF counterpart")


class _LlamaLike(BaseWriter):
    """What llama and qwen2 share: SiLU MLP, one rope base, no rope scaling written yet."""

    def check_config(self, config: dict[str, Any]) -> None:
        if config.get("hidden_act", "silu") != "silu":
            self.refuse(f"hidden_act {config.get('hidden_act')!r}: llama.cpp's {self.arch} graph uses SiLU")
        if _rope_scaled(config):
            self.refuse("rope scaling is not written yet")
        if config.get("mlp_bias"):
            self.refuse("MLP biases are not written")

    def write_hparams(self, writer: Any, config: dict[str, Any]) -> None:
        self.write_common_hparams(writer, config, default_context=4096)
        head_dim = self.head_dim(config)
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
        writer.add_rope_dimension_count(head_dim)
        writer.add_rope_freq_base(_rope_theta(config, None, "rope_theta", 10000.0))
        writer.add_vocab_size(self.vocab_size(config))


class LlamaWriter(_LlamaLike):
    spec = ARCHITECTURES["llama"]
    rules = _model_rules() + _layer_rules(spec, {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"})

    def check_config(self, config: dict[str, Any]) -> None:
        super().check_config(config)
        if config.get("attention_bias"):
            self.refuse("attention biases are not written for llama")
        window, context = config.get("sliding_window"), config.get("max_position_embeddings")
        if window and (not context or int(window) < int(context)):
            # Mistral 7B v0.1: a 4096-token window that llama.cpp's llama graph does not apply
            self.refuse(f"sliding_window {window}: llama.cpp's llama graph has no sliding-window attention")


class Qwen2Writer(_LlamaLike):
    spec = ARCHITECTURES["qwen2"]
    rules = _model_rules() + _layer_rules(
        spec,
        {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"},
        biases=("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),
    )

    def check_config(self, config: dict[str, Any]) -> None:
        super().check_config(config)
        if config.get("use_sliding_window"):
            self.refuse("use_sliding_window: llama.cpp's qwen2 graph has no sliding-window attention")
        if any(t != "full_attention" for t in config.get("layer_types") or []):
            self.refuse(f"layer_types {config['layer_types']}: llama.cpp's qwen2 graph has full attention only")


class Gemma3Writer(BaseWriter):
    spec = ARCHITECTURES["gemma3"]
    tie_default = True
    #: llama.cpp's fixed gemma3 assumptions (see the module docstring)
    SWA_PERIOD = 6
    LOCAL_ROPE_BASE = 10000.0  # HF's default and llama.cpp's when rope.freq_base_swa is absent
    rules = _model_rules(_plus_one) + _layer_rules(
        spec,
        {
            "input_layernorm": "attn_norm",
            "self_attn.q_norm": "attn_q_norm",
            "self_attn.k_norm": "attn_k_norm",
            "post_attention_layernorm": "post_attention_norm",
            "pre_feedforward_layernorm": "ffn_norm",
            "post_feedforward_layernorm": "post_ffw_norm",
        },
        norm_transform=_plus_one,
    )

    def layer_types(self, config: dict[str, Any]) -> list[str]:
        types = config.get("layer_types")
        if types:
            return list(types)
        period = int(config.get("sliding_window_pattern") or self.SWA_PERIOD)
        return ["sliding_attention" if (i + 1) % period else "full_attention" for i in range(config["num_hidden_layers"])]

    def check_config(self, config: dict[str, Any]) -> None:
        refuse = self.refuse
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

    def write_hparams(self, writer: Any, config: dict[str, Any]) -> None:
        head_dim = self.head_dim(config)
        self.write_common_hparams(writer, config, default_context=32768)
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
        writer.add_rope_freq_base(_rope_theta(config, "full_attention", "rope_theta", 1_000_000.0))
        writer.add_rope_freq_base_swa(_rope_theta(config, "sliding_attention", "rope_local_base_freq", self.LOCAL_ROPE_BASE))
        writer.add_sliding_window(int(config["sliding_window"]))


#: llama.cpp architecture -> writer
BASE_WRITERS: dict[str, BaseWriter] = {w.arch: w for w in (LlamaWriter(), Qwen2Writer(), Gemma3Writer())}


def writer_for(config: dict[str, Any]) -> BaseWriter:
    """The writer for an HF config's ``model_type``, found through the architecture registry. A multimodal
    checkpoint (a config with a ``text_config``) is refused: the writers convert a causal LM's own tensors."""
    model_type = config.get("model_type")
    writer = BASE_WRITERS.get(MODEL_TYPE_TO_ARCH.get(str(model_type), ""))
    if writer is None:
        known = ", ".join(t for w in BASE_WRITERS.values() for t in w.model_types)
        raise ReportxError(f"GGUF export writes {known} models, not {model_type!r}")
    if config.get("text_config") is not None:
        writer.refuse(
            f"{model_type!r} is a multimodal checkpoint; convert its language model (a causal LM checkpoint whose "
            f"model_type is one of {', '.join(writer.model_types)} without a text_config)"
        )
    return writer


#: output type -> (general.file_type, ggml type of the 2-D weights)
OUTPUT_TYPES = {"f32": ("ALL_F32", "F32"), "f16": ("MOSTLY_F16", "F16"), "q8_0": ("MOSTLY_Q8_0", "Q8_0")}


def encode_tensor(name: str, array: np.ndarray, out_type: str) -> tuple[np.ndarray, Any]:
    """``(data, ggml type)`` of one tensor for output type ``out_type`` (llama.cpp's converter's rules: 1-D
    tensors, norms and biases stay float32; a weight q8_0 cannot block falls back to f16)."""
    import gguf

    qtype = gguf.GGMLQuantizationType[OUTPUT_TYPES[out_type][1]]
    if array.ndim <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight"):
        qtype = gguf.GGMLQuantizationType.F32
    try:
        return gguf.quants.quantize(array, qtype), qtype
    except gguf.quants.QuantError:
        return gguf.quants.quantize(array, gguf.GGMLQuantizationType.F16), gguf.GGMLQuantizationType.F16


def read_hf_config(directory: Path) -> dict[str, Any]:
    """config.json of an HF model directory."""
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportxError(f"cannot read {directory / 'config.json'}: {exc}") from None
    return config


def config_and_state(hf_model: Any) -> tuple[dict[str, Any], Callable[[], dict[str, np.ndarray]], str]:
    """(config dict, lazy state dict as numpy, a name) for a transformers model or an HF directory."""
    if isinstance(hf_model, (str, os.PathLike)):
        directory = Path(hf_model)
        config = read_hf_config(directory)
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
        raise ReportxError("GGUF export needs a transformers model or a Hugging Face model directory")
    config = config_obj.to_dict()

    def state_from_module() -> dict[str, np.ndarray]:
        return {k: v.detach().float().cpu().numpy() for k, v in hf_model.state_dict().items()}

    return config, state_from_module, str(getattr(config_obj, "name_or_path", "") or config.get("model_type"))


def write_model_gguf(
    out_path: Path,
    spec: BaseWriter,
    config: dict[str, Any],
    state: dict[str, np.ndarray],
    add_tokenizer: Callable[[Any], object],
    *,
    name: str,
    out_type: str = "f32",
) -> Path:
    """Write one model GGUF: metadata, hyper-parameters, the tokenizer (``add_tokenizer(writer)``) and every
    tensor in ``out_type``. Written atomically (see :func:`~reportx.export.gguf_io.atomic_gguf_writer`)."""
    import gguf

    if out_type not in OUTPUT_TYPES:
        raise ReportxError(f"output type must be one of {', '.join(OUTPUT_TYPES)}, not {out_type!r}")
    with atomic_gguf_writer(Path(out_path), spec.arch) as writer:
        writer.add_type(gguf.GGUFType.MODEL)
        writer.add_name(name)
        writer.add_file_type(gguf.LlamaFileType[OUTPUT_TYPES[out_type][0]])
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        spec.write_hparams(writer, config)
        add_tokenizer(writer)
        names = []
        for gguf_name, array in spec.convert(state, config):
            data, qtype = encode_tensor(gguf_name, array, out_type)
            writer.add_tensor(gguf_name, data, raw_dtype=qtype)
            names.append(gguf_name)
        if "token_embd.weight" not in names:
            raise ReportxError("the model has no token embedding (model.embed_tokens.weight)")
    return Path(out_path)
