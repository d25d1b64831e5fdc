"""PEFT LoRA adapter -> GGUF LoRA adapter that llama.cpp applies beside the base GGUF (llama_cpp.Llama's ``lora_path``).

What llama.cpp expects (src/llama-adapter.cpp, llama-adapter.h of the llama.cpp that llama-cpp-python bundles):

- metadata ``general.type = "adapter"``, ``general.architecture`` = the base's, ``adapter.type = "lora"`` and
  ``adapter.lora.alpha`` (float32);
- tensor pairs ``<base tensor name>.lora_a`` / ``.lora_b``, e.g. ``blk.3.attn_q.weight.lora_a``, each naming a base
  tensor; shapes are checked as ``base->ne[0] == a->ne[0]``, ``base->ne[1] == b->ne[1]``, ``a->ne[1] == b->ne[0]``.
  ggml's ``ne[0]`` is the contiguous (last numpy) dimension, so PEFT's ``lora_A`` (r, in) and ``lora_B`` (out, r)
  are written as they are: A has ne = [in, r], B has ne = [r, out], the base weight ne = [in, out];
- the delta is ``scale * B (A x)`` with ``scale = alpha / rank`` and ``rank = b->ne[0]`` (alpha 0 means scale 1),
  times the user's ``lora_scale`` (1.0 by default). PEFT's delta is ``scaling * B (A x)`` with
  ``scaling = lora_alpha / r`` (``lora_alpha / sqrt(r)`` with rsLoRA; ``alpha_pattern`` / ``rank_pattern`` per
  module). So ``adapter.lora.alpha`` is chosen as ``scaling * r`` of the adapter's default rank, and a module whose
  own scaling differs from ``alpha / r_module`` gets the ratio folded into its ``B``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reportx.errors import ReportxError
from reportx.export.archs import ARCHITECTURES, ArchSpec, arch_of_config, arch_spec
from reportx.export.gguf_io import GGUFError, GGUFHeader, atomic_gguf_writer, read_gguf_header
from reportx.export.safetensors_io import read_safetensors
from reportx.train.runcard import RunCard, is_run_dir, load_run_card

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"

# base_model.model.<module>.lora_A.weight (PEFT strips the adapter name when saving)
_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])\.weight$")
_LAYER = re.compile(r"^(?P<prefix>(?:.+\.)?)layers\.(?P<layer>\d+)\.(?P<linear>[A-Za-z0-9_.]+)$")
# decoder stacks of text models: model.layers (CausalLM), model.language_model.layers (multimodal wrappers)
_TEXT_PREFIXES = {"", "model.", "model.language_model.", "language_model.model.", "model.model."}

#: adapter_config.json settings that change what the adapter computes in ways a GGUF LoRA cannot express
_UNSUPPORTED_SETTINGS = {
    "use_dora": "DoRA adapters (use_dora) have a magnitude vector llama.cpp does not apply; merge the adapter instead",
    "modules_to_save": "modules_to_save trains full copies of whole modules, which a GGUF LoRA cannot carry",
    "trainable_token_indices": "trainable_token_indices changes embedding rows, which a GGUF LoRA cannot carry",
    "lora_bias": "lora_bias adds a bias to lora_B, which llama.cpp does not apply",
    "target_parameters": "LoRA on parameters (target_parameters) has no GGUF counterpart",
    "layer_replication": "layer_replication changes the layer stack, which a GGUF LoRA cannot express",
    "alora_invocation_tokens": "activated LoRA (aLoRA) adapters are not exported yet",
    "use_qalora": "QA-LoRA adapters are not plain LoRA",
    "use_bdlora": "block-diagonal LoRA adapters are not plain LoRA",
    "arrow_config": "Arrow routing of several LoRAs has no GGUF counterpart",
    "megatron_config": "Megatron-parallel LoRA layers are not exported",
    "fan_in_fan_out": "fan_in_fan_out (Conv1D, GPT-2 style) layers are not exported",
    "lora_ga_config": "LoRA-GA initialisation rewrites the base weights; the adapter alone is not the fine-tune",
    "corda_config": "CorDA initialisation rewrites the base weights; the adapter alone is not the fine-tune",
}
#: initialisations that rewrite the base weights (the adapter is relative to a modified base)
_BASE_REWRITING_INITS = ("pissa", "olora", "corda", "loftq", "lora_ga")


@dataclass
class LoraExport:
    """What :func:`write_lora_gguf` wrote."""

    path: Path
    architecture: str
    alpha: float
    rank: int
    n_pairs: int
    modules: list[str] = field(default_factory=list)  # GGUF names, e.g. "blk.0.attn_q.weight"
    folded: list[str] = field(default_factory=list)  # modules whose scale differs and was folded into B
    permuted: list[str] = field(default_factory=list)  # modules whose B rows were rope-permuted (llama q/k)


def locate_adapter(source: str | Path) -> tuple[Path, Path | None, RunCard | None]:
    """``(adapter_dir, run_dir, run_card)`` for a run directory or an adapter directory."""
    source = Path(source)
    if not source.exists():
        raise ReportxError(f"not found: {source}")
    if (source / ADAPTER_CONFIG).is_file():
        run_dir = source.parent if is_run_dir(source.parent) else None
        return source, run_dir, load_run_card(run_dir) if run_dir else None
    if is_run_dir(source):
        card = load_run_card(source)
        adapter_dir = card.adapter_path(source)
        if not (adapter_dir / ADAPTER_CONFIG).is_file():
            raise ReportxError(f"{source} has a run card but no adapter ({adapter_dir / ADAPTER_CONFIG} is missing)")
        return adapter_dir, source, card
    raise ReportxError(f"{source} is neither a training run (no run_card.json) nor a PEFT adapter (no {ADAPTER_CONFIG})")


def read_adapter_config(adapter_dir: Path) -> dict[str, Any]:
    """The adapter's config, refused clearly when it is not a plain LoRA that llama.cpp can apply."""
    path = adapter_dir / ADAPTER_CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportxError(f"{path} is missing") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportxError(f"cannot read {path}: {exc}") from None
    peft_type = str(config.get("peft_type", "")).upper()
    if peft_type != "LORA":
        raise ReportxError(f"{path}: only LoRA adapters can be exported, this one is {peft_type or 'of unknown type'}")
    for key, why in _UNSUPPORTED_SETTINGS.items():
        if config.get(key):
            raise ReportxError(f"cannot export {adapter_dir}: {why}")
    if str(config.get("bias", "none")) != "none":
        raise ReportxError(f"cannot export {adapter_dir}: bias={config['bias']!r} trains base biases, which a GGUF LoRA cannot carry")
    init = config.get("init_lora_weights", True)
    if isinstance(init, str) and init.lower().startswith(_BASE_REWRITING_INITS):
        raise ReportxError(
            f"cannot export {adapter_dir}: init_lora_weights={init!r} rewrites the base weights, so the adapter "
            "only works on that modified base (save it with PEFT's path_initial_model_for_weight_conversion first)"
        )
    if config.get("loftq_config"):
        raise ReportxError(f"cannot export {adapter_dir}: LoftQ adapters work on a LoftQ-modified base")
    return config


def _pattern_value(patterns: dict[str, Any], module: str, default: Any) -> Any:
    """PEFT's ``get_pattern_key``: the first pattern that matches the end of the module name."""
    for key, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?({key})$", module):
            return value
    return default


def peft_scaling(config: dict[str, Any], module: str, rank: int) -> float:
    """The scaling PEFT applies to ``B A`` for ``module`` (its key inside the base model)."""
    alpha = float(_pattern_value(config.get("alpha_pattern") or {}, module, config.get("lora_alpha", 8)))
    if config.get("use_rslora"):
        return alpha / math.sqrt(rank)
    return alpha / rank


def gguf_alpha(config: dict[str, Any]) -> float:
    """``adapter.lora.alpha`` for which llama.cpp's ``alpha / r`` equals PEFT's scaling at the default rank."""
    r = int(config.get("r", 8))
    alpha = float(config.get("lora_alpha", 8))
    return alpha * math.sqrt(r) if config.get("use_rslora") else alpha


@dataclass
class _BaseShapes:
    """What is known about the base: per-architecture hyper-parameters and the GGUF tensor shapes (ne order)."""

    architecture: str | None = None
    n_head: int | None = None
    n_head_kv: int | None = None
    n_layer: int | None = None
    tensors: dict[str, tuple[int, ...]] | None = None
    where: str = ""


def _base_from_gguf(path: Path) -> _BaseShapes:
    header: GGUFHeader = read_gguf_header(path, keep=lambda key: False)
    head_kv = header.arch_get("attention.head_count_kv")
    head = header.arch_get("attention.head_count")
    return _BaseShapes(
        architecture=header.architecture,
        n_head=head if isinstance(head, int) else None,
        n_head_kv=head_kv if isinstance(head_kv, int) else head if isinstance(head, int) else None,
        n_layer=header.arch_get("block_count"),
        tensors={name: info.shape for name, info in header.tensors.items()},
        where=str(path),
    )


def _base_from_hf_dir(path: Path) -> _BaseShapes:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportxError(f"cannot read the base model's config {path / 'config.json'}: {exc}") from None
    text = config.get("text_config") or config
    n_head = text.get("num_attention_heads")
    return _BaseShapes(
        architecture=arch_of_config(config),
        n_head=n_head,
        n_head_kv=text.get("num_key_value_heads") or n_head,
        n_layer=text.get("num_hidden_layers"),
        where=str(path),
    )


def _base_from_hub_cache(model_id: str) -> _BaseShapes:
    """A hub base's config from the local Hugging Face cache (never the network); empty when unavailable."""
    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(model_id, local_files_only=True, trust_remote_code=False).to_dict()
    except Exception:  # noqa: BLE001 - no transformers, not cached, or not a model id: the caller asks for the arch
        return _BaseShapes(where=model_id)
    text = config.get("text_config") or config
    return _BaseShapes(
        architecture=arch_of_config(config),
        n_head=text.get("num_attention_heads"),
        n_head_kv=text.get("num_key_value_heads") or text.get("num_attention_heads"),
        n_layer=text.get("num_hidden_layers"),
        where=model_id,
    )


def _describe_base(base: str | Path | None, card: RunCard | None) -> _BaseShapes:
    if base is None and card is not None:
        info = card.base_model
        path = info.path
        if path and Path(path).exists():
            base = path
        elif info.kind == "hub" and path:
            found = _base_from_hub_cache(path)
            return found if found.architecture else _BaseShapes(architecture=info.architecture, where=path)
        else:
            return _BaseShapes(architecture=info.architecture)
    if base is None:
        return _BaseShapes()
    base = Path(base)
    if base.is_file():
        return _base_from_gguf(base)
    if base.is_dir():
        return _base_from_hf_dir(base)
    raise ReportxError(f"base model not found: {base}")


def write_lora_gguf(
    run_dir_or_adapter_dir: str | Path,
    out_path: str | Path,
    architecture: str | None = None,
    *,
    base: str | Path | None = None,
    dtype: str = "f16",
) -> Path:
    """Convert a PEFT LoRA adapter to a GGUF LoRA adapter for llama.cpp and return the written path.

    ``run_dir_or_adapter_dir`` is a training run directory (``run_card.json`` + ``adapter/``) or a PEFT adapter
    directory. ``architecture`` (llama.cpp's name: gemma3, llama, qwen2) defaults to the base's, found from
    ``base`` (a base GGUF file or HF model directory) or the run card. When the base is a GGUF file, every adapted
    tensor is checked against it (name and shape) before writing. Raises ``ReportxError`` for what cannot be
    exported: DoRA, modules_to_save, LoRA biases, modules with no GGUF counterpart, missing files.

    ``dtype`` is the tensors' type, "f16" (half the size; llama.cpp's own converter writes f16 too) or "f32".
    """
    return export_lora(run_dir_or_adapter_dir, out_path, architecture, base=base, dtype=dtype).path


def export_lora(
    run_dir_or_adapter_dir: str | Path,
    out_path: str | Path,
    architecture: str | None = None,
    *,
    base: str | Path | None = None,
    dtype: str = "f16",
) -> LoraExport:
    """:func:`write_lora_gguf` returning the details of what was written."""
    if dtype not in ("f16", "f32"):
        raise ReportxError(f"adapter dtype must be f16 or f32, got {dtype!r}")
    out_type = np.float16 if dtype == "f16" else np.float32
    adapter_dir, _run_dir, card = locate_adapter(run_dir_or_adapter_dir)
    config = read_adapter_config(adapter_dir)
    weights_path = adapter_dir / ADAPTER_WEIGHTS
    if not weights_path.is_file():
        if (adapter_dir / "adapter_model.bin").is_file():
            raise ReportxError(
                f"{adapter_dir} holds adapter_model.bin (a pickle, never loaded by reportx); save the adapter with "
                "safe_serialization=True (adapter_model.safetensors)"
            )
        raise ReportxError(f"{weights_path} is missing")
    base_info = _describe_base(base, card)
    spec = _architecture(architecture, base_info, config, adapter_dir)
    arch_name = spec.name

    tensors = read_safetensors(weights_path)
    pairs = _pair_tensors(tensors, spec, adapter_dir)
    alpha = gguf_alpha(config)
    default_rank = int(config.get("r", 8))
    if alpha == 0.0:
        # llama.cpp reads alpha 0 as "no scaling" (scale 1): use the rank, and fold the (zero) scaling into B
        alpha = float(default_rank)
    result = LoraExport(path=Path(out_path), architecture=arch_name, alpha=alpha, rank=default_rank, n_pairs=len(pairs))
    out_tensors: list[tuple[str, np.ndarray]] = []
    for (layer, linear), ab in sorted(pairs.items()):
        module_key, a, b = ab["module"], ab["A"], ab["B"]
        gguf_base = spec.gguf_linear(linear, layer)
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
            raise ReportxError(f"{module_key}: lora_A {tuple(a.shape)} and lora_B {tuple(b.shape)} do not pair up")
        rank = a.shape[0]
        _check_against_base(gguf_base, a, b, base_info)
        b = np.asarray(b, dtype=np.float64)
        wanted = peft_scaling(config, module_key, rank)
        applied = alpha / rank
        if not math.isclose(wanted, applied, rel_tol=1e-6, abs_tol=0.0):
            b = b * (wanted / applied)
            result.folded.append(gguf_base)
        if spec.permutes(linear):
            if not (base_info.n_head and base_info.n_head_kv):
                raise ReportxError(
                    f"exporting a {arch_name} adapter needs the base model's head counts (q/k rows are rope-permuted "
                    "in GGUF); pass base= the base GGUF or HF directory"
                )
            try:
                b = spec.rows_to_gguf(linear, b, base_info.n_head, base_info.n_head_kv)
            except ValueError as exc:
                raise ReportxError(f"{module_key}: {exc}") from None
            result.permuted.append(gguf_base)
        out_tensors.append((gguf_base + ".lora_a", np.ascontiguousarray(a, dtype=out_type)))
        out_tensors.append((gguf_base + ".lora_b", np.ascontiguousarray(b, dtype=out_type)))
        result.modules.append(gguf_base)
    _write_adapter(Path(out_path), arch_name, alpha, out_tensors, name=adapter_dir.parent.name or "adapter",
                   answer=card.answer if card is not None else "values")
    return result


def _architecture(architecture: str | None, base: _BaseShapes, config: dict[str, Any], adapter_dir: Path) -> ArchSpec:
    """The adapter's architecture: ``architecture`` (llama.cpp's name or an HF model type) or the base's, which
    must agree when both are known."""
    name = architecture or base.architecture
    if not name:
        model_type = (config.get("auto_mapping") or {}).get("base_model_class", "")
        raise ReportxError(
            f"cannot tell the base model's architecture for {adapter_dir} {model_type and f'({model_type})'}; "
            f"pass architecture= one of {', '.join(ARCHITECTURES)}"
        )
    spec = arch_spec(name)
    if spec is None:
        raise ReportxError(f"LoRA export supports the {', '.join(ARCHITECTURES)} architectures, not {name!r}")
    base_spec = arch_spec(base.architecture)
    if base.architecture and (base_spec is None or base_spec.name != spec.name):
        raise ReportxError(
            f"architecture {spec.name!r} does not match the base model's ({base.architecture}, {base.where})"
        )
    return spec


def _pair_tensors(tensors: dict[str, np.ndarray], spec: ArchSpec, adapter_dir: Path) -> dict[tuple[int, str], dict[str, Any]]:
    pairs: dict[tuple[int, str], dict[str, Any]] = {}
    for key, value in tensors.items():
        match = _KEY.match(key)
        if match is None:
            raise ReportxError(f"cannot export {adapter_dir}: tensor {key!r} is not a LoRA A/B weight ({_what(key)})")
        module = match["module"]
        layer = _LAYER.match(module)
        if layer is None or layer["prefix"] not in _TEXT_PREFIXES or layer["linear"] not in spec.linears:
            raise ReportxError(
                f"cannot export {adapter_dir}: module {module!r} has no GGUF counterpart in {spec.name} "
                f"(LoRA on {', '.join(m.split('.')[-1] for m in spec.linears)} of the decoder layers can be exported)"
            )
        slot = pairs.setdefault((int(layer["layer"]), layer["linear"]), {"module": module})
        if slot["module"] != module:
            raise ReportxError(f"cannot export {adapter_dir}: two modules map to the same GGUF tensor ({slot['module']}, {module})")
        slot[match["ab"]] = value
    if not pairs:
        raise ReportxError(f"{adapter_dir / ADAPTER_WEIGHTS} holds no LoRA weights")
    for (_, _), slot in pairs.items():
        if "A" not in slot or "B" not in slot:
            raise ReportxError(f"cannot export {adapter_dir}: {slot['module']} has lora_{'A' if 'A' not in slot else 'B'} missing")
    return pairs


def _what(key: str) -> str:
    if "lora_magnitude_vector" in key:
        return "a DoRA magnitude vector"
    if "modules_to_save" in key:
        return "a fully trained module copy (modules_to_save)"
    if "lora_embedding" in key:
        return "a LoRA on an embedding, not exported"
    if key.endswith(".bias"):
        return "a bias"
    return "unexpected"


def _check_against_base(gguf_name: str, a: np.ndarray, b: np.ndarray, base: _BaseShapes) -> None:
    layer = int(gguf_name.split(".")[1])
    if base.n_layer is not None and layer >= int(base.n_layer):
        raise ReportxError(f"the adapter has layer {layer} but the base model ({base.where}) has {base.n_layer} layers")
    if base.tensors is None:
        return
    shape = base.tensors.get(gguf_name)
    if shape is None:
        raise ReportxError(f"the base model ({base.where}) has no tensor {gguf_name} for the adapter to modify")
    n_in, n_out = shape[0], shape[1] if len(shape) > 1 else 1
    if (a.shape[1], b.shape[0]) != (n_in, n_out):
        raise ReportxError(
            f"{gguf_name}: the adapter maps {a.shape[1]} -> {b.shape[0]} features but the base tensor maps "
            f"{n_in} -> {n_out} (is this adapter for another base model?)"
        )


def _write_adapter(out_path: Path, arch: str, alpha: float, tensors: list[tuple[str, np.ndarray]], name: str,
                   answer: str = "values") -> None:
    import gguf

    from reportx.models import ANSWER_KEY

    with atomic_gguf_writer(out_path, arch) as writer:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_name(f"reportx LoRA ({name})")
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_string(ANSWER_KEY, answer)  # what extraction must read the answers as (reportx.models)
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        for tensor_name, array in tensors:
            writer.add_tensor(tensor_name, array)


@dataclass
class LoraWeights:
    """A GGUF LoRA adapter read back in PEFT's terms: per HF module (``layers.N.self_attn.q_proj``) its ``A``
    (r, in) and ``B`` (out, r) with llama.cpp's ``alpha / r`` scale, rope permutation undone where it was done."""

    architecture: str
    alpha: float
    pairs: dict[str, tuple[np.ndarray, np.ndarray]]


def read_lora_gguf(path: str | Path, n_head: int | None = None, n_head_kv: int | None = None) -> LoraWeights:
    """The inverse of :func:`write_lora_gguf`: so that training can continue from an exported adapter (the bundled
    one ships only as GGUF). ``n_head`` / ``n_head_kv`` are needed for architectures whose q / k rows are
    rope-permuted in GGUF (llama)."""
    try:
        header = read_gguf_header(path, keep=lambda key: False)
    except GGUFError as exc:
        raise ReportxError(f"cannot read {path} as a GGUF LoRA adapter: {exc.reason}") from None
    arch = header.architecture
    if header.get("general.type") != "adapter" or header.get("adapter.type") != "lora":
        raise ReportxError(f"{path} is not a GGUF LoRA adapter (general.type / adapter.type)")
    spec = ARCHITECTURES.get(str(arch))
    if spec is None:
        raise ReportxError(f"{path}: architecture {arch!r} is not one reportx knows ({', '.join(ARCHITECTURES)})")
    alpha = float(header.get("adapter.lora.alpha") or 0.0)
    linear_of = {gguf_name: hf for hf, gguf_name in spec.linears.items()}
    halves: dict[str, dict[str, np.ndarray]] = {}
    for name in header.tensors:
        match = re.fullmatch(r"blk\.(\d+)\.(\w+)\.weight\.lora_([ab])", name)
        if match is None or match[2] not in linear_of:
            raise ReportxError(f"{path}: tensor {name} is not a LoRA pair of a {arch} decoder linear")
        module = f"layers.{match[1]}.{linear_of[match[2]]}"
        try:
            halves.setdefault(module, {})[match[3]] = header.read_f32(name)
        except ValueError as exc:
            raise ReportxError(f"{path}: {exc}") from None
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for module, ab in halves.items():
        if set(ab) != {"a", "b"}:
            raise ReportxError(f"{path}: {module} has only lora_{''.join(ab)}")
        try:
            b = spec.rows_from_gguf(module.split(".", 2)[2], ab["b"], n_head, n_head_kv)
        except ValueError as exc:
            raise ReportxError(f"{path}: {module}: {exc} (pass the base model's n_head / n_head_kv)") from None
        pairs[module] = (ab["a"], b)
    if not pairs:
        raise ReportxError(f"{path} holds no LoRA weights")
    return LoraWeights(architecture=str(arch), alpha=alpha, pairs=pairs)
