"""What export knows about each llama.cpp architecture: where an HF module's weight lives in GGUF, and how
llama.cpp's converter re-orders it.

Adding an architecture means adding an :class:`ArchSpec` here (LoRA export) and, for base-model export, a writer
in :mod:`reportx.export.base`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class ArchSpec:
    """One llama.cpp architecture (``general.architecture``)."""

    name: str
    #: HF model types (config.json ``model_type``) that convert to this architecture
    model_types: tuple[str, ...]
    linears: dict[str, str] = field(default_factory=lambda: dict(STANDARD_LINEARS))
    #: llama.cpp's converter permutes the q / k projection rows (the rope layout of ``LlamaModel.permute``)
    rope_permute_qk: bool = False


ARCHITECTURES: dict[str, ArchSpec] = {
    spec.name: spec
    for spec in (
        ArchSpec("gemma3", ("gemma3_text", "gemma3")),
        ArchSpec("llama", ("llama", "mistral"), rope_permute_qk=True),
        ArchSpec("qwen2", ("qwen2",)),
    )
}

#: HF ``model_type`` -> llama.cpp architecture
MODEL_TYPE_TO_ARCH: dict[str, str] = {mt: spec.name for spec in ARCHITECTURES.values() for mt in spec.model_types}


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
