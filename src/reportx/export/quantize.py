"""Re-quantising a whole GGUF model with llama.cpp's own quantizer, through llama-cpp-python's binding.

``llama_model_quantize`` is the function behind llama.cpp's ``llama-quantize`` tool, compiled into the library
that llama-cpp-python ships, so no llama.cpp checkout or build is needed. It picks each tensor's type by the file
type's mixture (Q4_K_M: Q4_K for most matrices, Q6_K for half of the ``attn_v`` / ``ffn_down`` layers, Q6_K or Q8_0
for the output / tied embedding), falls back per tensor where a row does not split into whole blocks (Q4_K and
Q6_K blocks hold 256 values, so Gemma 3 270M's 640-wide matrices become Q5_0 and Q8_0; Q8_0 blocks hold 32), keeps
norms and other vectors in F32, and copies a tensor unchanged when it already has the type chosen for it.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from reportx.errors import ReportxError
from reportx.export.gguf_io import read_gguf_header
from reportx.llamacpp import captured_stderr, quantize_model

#: reportx's quantisation names -> llama.cpp file types (``enum llama_ftype``)
FILE_TYPES: dict[str, int] = {"f16": 1, "q8_0": 7, "q4_k_m": 15}
#: the block size (values per block) of the default tensor type of each file type
_BLOCK = {"f16": 1, "q8_0": 32, "q4_k_m": 256}


@dataclass
class QuantizeResult:
    """What :func:`quantize_gguf` wrote: the file type, the count of tensors per type, the tensors whose type
    changed, and the tensors that fell back to another type than the mixture's because of their shape."""

    path: Path
    quant: str
    file_type: int
    types: dict[str, int] = field(default_factory=dict)  # ggml type name -> number of tensors
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # tensor -> (type before, type after)
    fallbacks: dict[str, str] = field(default_factory=dict)  # tensor -> why it is not the file type's block type


def quantize_gguf(src: str | Path, dst: str | Path, quant: str, *, n_threads: int | None = None) -> QuantizeResult:
    """Quantise the GGUF model ``src`` to ``dst`` with llama.cpp (``llama_model_quantize``), file type ``quant``:
    ``f16``, ``q8_0`` or ``q4_k_m``. ``n_threads`` defaults to every core.

    Tensors that are already quantised are re-quantised when the mixture asks for another type
    (``allow_requantize``): a merged model keeps its untouched tensors in the base's quantisation, which for a
    base quantised by llama.cpp to the same file type is what the mixture picks again, so those are copied as they
    are and only the merged float tensors are quantised. ``dst`` appears only once complete.
    """
    import gguf

    if quant not in FILE_TYPES:
        raise ReportxError(f"quantisation must be one of {', '.join(FILE_TYPES)}, got {quant!r}")
    src, dst = Path(src), Path(dst)
    before = read_gguf_header(src, keep=lambda key: False)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    try:
        with captured_stderr() as log_tail:  # llama.cpp logs a line per tensor
            status = quantize_model(src, tmp, FILE_TYPES[quant], n_threads=n_threads)
            if status != 0 or not tmp.is_file():
                detail = log_tail()
                raise ReportxError(f"llama.cpp could not quantise {src} to {quant}" + (f": {detail}" if detail else ""))
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)

    after = read_gguf_header(dst, keep=lambda key: False)
    name = lambda t: gguf.GGMLQuantizationType(t).name  # noqa: E731
    result = QuantizeResult(path=dst, quant=quant, file_type=int(after.get("general.file_type", -1)))
    result.types = dict(Counter(name(info.ggml_type) for info in after.tensors.values()))
    block = _BLOCK[quant]
    for tensor, info in after.tensors.items():
        old = before.tensors.get(tensor)
        if old is not None and old.ggml_type != info.ggml_type:
            result.changed[tensor] = (name(old.ggml_type), name(info.ggml_type))
        quantised = info.ggml_type not in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16)
        if quantised and len(info.shape) > 1 and info.shape[0] % block:
            result.fallbacks[tensor] = (
                f"rows of {info.shape[0]} values do not split into {quant} blocks of {block}: "
                f"llama.cpp wrote {name(info.ggml_type)}"
            )
    return result
