"""The one registry of the llama.cpp architectures export knows: which Hugging Face model types convert to each,
where an HF decoder module's weight lives in GGUF, and how llama.cpp's converter re-orders it.

Every part of export reads it: the LoRA writer and reader (:mod:`reportx.export.lora`), the merger (which merges
the GGUF LoRA those write, :mod:`reportx.export.merge`), the HF -> GGUF converter's writers
(:mod:`reportx.export.convert.writers`) and training's record of a base's architecture
(:mod:`reportx.train.base_model`).

Adding an architecture means adding an :class:`ArchSpec` here and, for base-model and merged export from a Hugging
Face checkpoint, a writer (hyper-parameters, norms, config checks) in :mod:`reportx.export.convert.writers`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: HF decoder-layer module (relative to ``layers.N.``) -> llama.cpp tensor base name (``blk.N.<name>.weight``).
#: The same for every llama-style architecture llama.cpp supports.
STANDARD_LINEARS: dict[str, str] = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}

#: the linears whose output rows carry rope, and which head count groups them: q by the attention heads, k by the
#: key/value heads
ROPE_LINEARS: dict[str, str] = {"self_attn.q_proj": "n_head", "self_attn.k_proj": "n_head_kv"}


@dataclass(frozen=True)
class ArchSpec:
    """One llama.cpp architecture (``general.architecture``)."""

    name: str
    #: HF model types (config.json ``model_type``) whose decoder converts to this architecture
    model_types: tuple[str, ...]
    linears: dict[str, str] = field(default_factory=lambda: dict(STANDARD_LINEARS))
    #: llama.cpp's converter permutes the q / k projection rows (the rope layout of ``LlamaModel.permute``)
    rope_permute_qk: bool = False

    def gguf_linear(self, linear: str, layer: int | str) -> str:
        """The GGUF tensor of an HF decoder linear (``self_attn.q_proj``) in ``layer``: ``blk.3.attn_q.weight``."""
        return f"blk.{layer}.{self.linears[linear]}.weight"

    def permutes(self, linear: str) -> bool:
        """Whether llama.cpp's converter re-orders the output rows of this HF decoder linear."""
        return self.rope_permute_qk and linear in ROPE_LINEARS

    def rows_to_gguf(self, linear: str, weight: np.ndarray, n_head: int | None, n_head_kv: int | None) -> np.ndarray:
        """``weight`` (a full projection or a LoRA ``B``: its rows are the outputs) with its rows in GGUF's order
        for this linear: rope-permuted for q / k where the architecture permutes them (:func:`rope_permute_rows`),
        as it is otherwise. Raises ``ValueError`` when the head count the permutation needs is unknown or does not
        divide the rows."""
        return self._reorder(linear, weight, n_head, n_head_kv, rope_permute_rows)

    def rows_from_gguf(self, linear: str, weight: np.ndarray, n_head: int | None, n_head_kv: int | None) -> np.ndarray:
        """The inverse of :meth:`rows_to_gguf`: rows in GGUF's order back in HF's."""
        return self._reorder(linear, weight, n_head, n_head_kv, rope_unpermute_rows)

    def _reorder(
        self,
        linear: str,
        weight: np.ndarray,
        n_head: int | None,
        n_head_kv: int | None,
        permutation: Callable[[np.ndarray, int], np.ndarray],
    ) -> np.ndarray:
        if not self.permutes(linear):
            return weight
        heads = n_head if ROPE_LINEARS[linear] == "n_head" else n_head_kv
        if not heads:
            raise ValueError(f"{self.name} {linear} rows are rope-permuted in GGUF: the head counts are needed")
        return permutation(weight, int(heads))

ARCHITECTURES: dict[str, ArchSpec] = {
    spec.name: spec
    for spec in (
        # gemma3: Gemma3ForCausalLM (gemma3_text) and the multimodal Gemma3ForConditionalGeneration (gemma3), whose
        # language model has the same decoder (its config's text_config is a gemma3_text config)
        ArchSpec("gemma3", ("gemma3_text", "gemma3")),
        # llama.cpp's converter writes Mistral checkpoints as llama (same decoder, same rope permutation)
        ArchSpec("llama", ("llama", "mistral"), rope_permute_qk=True),
        ArchSpec("qwen2", ("qwen2",)),
    )
}

#: HF ``model_type`` -> llama.cpp architecture
MODEL_TYPE_TO_ARCH: dict[str, str] = {mt: spec.name for spec in ARCHITECTURES.values() for mt in spec.model_types}


def arch_spec(name: str | None) -> ArchSpec | None:
    """The architecture named ``name``: llama.cpp's name (``gemma3``) or an HF model type (``gemma3_text``)."""
    if not name:
        return None
    return ARCHITECTURES.get(MODEL_TYPE_TO_ARCH.get(name, name))


def arch_of_config(config: dict[str, Any]) -> str | None:
    """llama.cpp's architecture for an HF config (a dict of config.json): from its ``model_type``, else its
    ``text_config``'s (a multimodal wrapper); None when export does not know the model type."""
    text = config.get("text_config") or {}
    for model_type in (config.get("model_type"), text.get("model_type") if isinstance(text, dict) else None):
        if model_type in MODEL_TYPE_TO_ARCH:
            return MODEL_TYPE_TO_ARCH[model_type]
    return None


def rope_permute_rows(weight: np.ndarray, n_head: int) -> np.ndarray:
    """Reorder the output rows of a q or k projection from HF's rope layout to llama.cpp's (the ``permute`` of
    convert_hf_to_gguf.py's ``LlamaModel``): within each head, the rows ``[x0 .. x(d/2-1), y0 .. y(d/2-1)]`` become
    interleaved ``[x0, y0, x1, y1, ...]``. Applied to a full weight or to a LoRA ``B`` (rows are outputs), since
    ``P(W + B A) = P W + (P B) A``. ``n_head`` is the head count for q and the kv-head count for k."""
    rows = weight.shape[0]
    if n_head <= 0 or rows % (2 * n_head):
        raise ValueError(f"cannot rope-permute {rows} rows over {n_head} heads")
    return (
        weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def rope_unpermute_rows(weight: np.ndarray, n_head: int) -> np.ndarray:
    """The inverse of :func:`rope_permute_rows`."""
    rows = weight.shape[0]
    if n_head <= 0 or rows % (2 * n_head):
        raise ValueError(f"cannot rope-permute {rows} rows over {n_head} heads")
    return (
        weight.reshape(n_head, rows // n_head // 2, 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )
